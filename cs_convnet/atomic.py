"""Write a file so that a reader sees the old file or the whole new one, never half of it.

The one writer of results, checkpoints, reports and exports (``cs_convnet`` and
``autograder`` both use it; ``cs_convnet`` never imports ``autograder``):

1. write into a temporary file in the destination's folder (same file system);
2. flush it and ``fsync`` it;
3. ``os.replace`` it over the destination (or, with ``overwrite=False``, link it
   there, which fails if the destination exists: no check-then-write race);
4. ``fsync`` the folder, so that the rename itself survives a crash.

On any failure (an exception inside the ``with`` block included) the temporary
file is removed and the destination is untouched.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path


def check_target(path):
    """Raise a one-line ``IsADirectoryError`` when ``path`` is an existing folder (we write files)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; expected the path of a file to write")
    return path


def _new_file_mode(path):
    """The permissions ``path`` gets: those of the file it replaces, else 0o666 less the umask.

    ``mkstemp`` creates its file owner-only (0o600); a plain ``open`` would honour the umask,
    and readers such as a TA's account or a web server serving the reports rely on that.
    """
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder):
    try:  # POSIX: makes the rename durable; not possible everywhere, and not needed for atomicity
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode="w", *, overwrite=True, encoding="utf-8", newline=None):
    """Open a temporary file that becomes ``path`` when the ``with`` block ends without error.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder is created if missing.
    mode : "w" (text) or "wb" (binary).
    overwrite : bool
        Replace an existing ``path`` (default); when False an existing file
        raises ``FileExistsError`` and is kept.
    encoding, newline : as for :func:`open` in text mode.

    Raises
    ------
    IsADirectoryError
        If ``path`` is a folder.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = check_target(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists; it was left as it is")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _new_file_mode(path))
        text = {"encoding": encoding, "newline": newline} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"{path} already exists; it was left as it is") from None
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def write_bytes(path, data, *, overwrite=True):
    """Write ``data`` (bytes) to ``path`` atomically; return ``path`` as a Path."""
    with atomic_open(path, "wb", overwrite=overwrite) as handle:
        handle.write(data)
    return Path(path)


def write_text(path, text, *, overwrite=True, encoding="utf-8"):
    """Write ``text`` to ``path`` atomically; return ``path`` as a Path."""
    with atomic_open(path, "w", overwrite=overwrite, encoding=encoding) as handle:
        handle.write(text)
    return Path(path)


def write_json(path, data, *, indent=1, overwrite=True, allow_nan=True, final_newline=False):
    """Write ``data`` as JSON to ``path`` atomically; return ``path`` as a Path."""
    with atomic_open(path, "w", overwrite=overwrite) as handle:
        json.dump(data, handle, indent=indent, allow_nan=allow_nan)
        if final_newline:
            handle.write("\n")
    return Path(path)

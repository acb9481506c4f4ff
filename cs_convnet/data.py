"""CIFAR-10: finding it, fetching it, loading it.

Provided code. The loaders keep CS231n's names and contracts:

- ``load_CIFAR_batch(filename)`` and ``load_CIFAR10(root)`` return images as
  float64 arrays of shape (N, 32, 32, 3) (H, W, C order) and labels as int64
  arrays of shape (N,);
- ``get_CIFAR10_data(...)`` returns a dict of ready-to-train arrays in
  (N, C, H, W) order, with the mean training image subtracted.

Where the data comes from (first match wins):

1. the ``root`` argument,
2. the environment variable ``CS_CONVNET_CIFAR10``,
3. ``datasets/cifar-10-batches-py`` in the source checkout, then in the
   current directory.

``root`` and ``CS_CONVNET_CIFAR10`` may name the ``cifar-10-batches-py``
folder, the folder that contains it, or a ``.tar.gz`` archive in the official
layout. An archive is extracted once into a cache folder
(``CS_CONVNET_CACHE``, else ``$XDG_CACHE_HOME/cs_convnet``, else
``~/.cache/cs_convnet``) and reused afterwards.

``python datasets/get_cifar10.py`` (or ``cs-convnet data``) fetches the
official archive, checks its MD5 and extracts it; offline it takes a local
archive (``--archive``) or folder (``--folder``). See ``main``.
"""

import argparse
import hashlib
import http.client
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from .atomic import atomic_open

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
# Non-official copies we know about: sha256 of the archive -> description.
KNOWN_UNOFFICIAL_ARCHIVES = {
    "51f6c4a045c39417a3d8580ba2ec109c8361bbdd77e602aaaf66526d0c0753db":
        "the project's reconstructed (lossy, JPEG-derived) CIFAR-10 copy",
}
BATCH_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
ENV_DATA = "CS_CONVNET_CIFAR10"
ENV_CACHE = "CS_CONVNET_CACHE"
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3 * 32 * 32
DOWNLOAD_TIMEOUT = 10.0  # seconds without a byte before giving up

REPO_ROOT = Path(__file__).resolve().parent.parent


def _offline_options():
    return (
        f"run `cs-convnet data --archive PATH/cifar-10-python.tar.gz` or `--folder PATH/{BATCH_FOLDER}` "
        f"(or `python datasets/get_cifar10.py` with the same options), or set the environment variable "
        f"{ENV_DATA} to the archive, the {BATCH_FOLDER} folder or its parent"
    )


def _how_to_get_data():
    return (
        "To get CIFAR-10, run `python datasets/get_cifar10.py` (or `cs-convnet data`), which downloads "
        f"and checks the official archive; offline, {_offline_options()}."
    )


# --------------------------------------------------------------------------- loading

class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and plain containers, and nothing else.

    A pickle can run arbitrary code when loaded; a CIFAR batch only needs these
    globals, so anything else in a file is refused rather than executed.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # protocol 5
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes written by Python 3 with protocol 2
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: a CIFAR-10 batch holds only numpy arrays and lists"
            )
        return super().find_class(module, name)


def _unpickle(filename):
    filename = Path(filename)
    if not filename.is_file():
        raise FileNotFoundError(f"CIFAR-10 file {filename} does not exist. {_how_to_get_data()}")
    try:
        with open(filename, "rb") as f:
            return _ArrayUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise ValueError(f"{filename} is not a CIFAR-10 python batch (unpickling failed: {error})") from error


def _load_batch_uint8(filename):
    """Return (X, y) of one batch: X uint8 of shape (N, 3, 32, 32), y int64 of shape (N,)."""
    batch = _unpickle(filename)
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        keys = sorted(map(str, batch)) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"{filename} is not a CIFAR-10 batch: expected a dict with 'data' and 'labels', got {keys}")
    data, labels = batch["data"], np.asarray(batch["labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        described = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(
            f"{filename}: 'data' must be a uint8 array of shape (N, {PIXELS}) (10000 rows in the official "
            f"batches; R, G, B planes of 32x32), got {described}"
        )
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{filename}: 'labels' must be {data.shape[0]} integers (one per row of 'data'), "
            f"got {labels.dtype} array of shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{filename}: labels must lie in 0..9, got values from {labels.min()} to {labels.max()}")
    return data.reshape(-1, *IMAGE_SHAPE), labels.astype(np.int64)


def load_CIFAR_batch(filename, dtype=np.float64):
    """Load one CIFAR-10 batch file.

    Parameters
    ----------
    filename : str or Path
        A pickled batch (``data_batch_1`` ... ``data_batch_5``, ``test_batch``).
    dtype : numpy dtype
        dtype of the returned images (CS231n: float64).

    Returns
    -------
    X : ndarray of shape (N, 32, 32, 3)
        Pixel values 0..255, in (H, W, C) order; N = 10000 for the official batches.
    Y : ndarray of int64, shape (N,)
        Labels 0..9.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a CIFAR-10 batch (wrong keys, shapes, dtype or labels).
    """
    X, Y = _load_batch_uint8(filename)
    return X.transpose(0, 2, 3, 1).astype(dtype), Y


def load_CIFAR10(root=None, dtype=np.float64):
    """Load all of CIFAR-10.

    Parameters
    ----------
    root : str or Path, optional
        The ``cifar-10-batches-py`` folder, its parent, or a ``.tar.gz``
        archive; by default the environment variable ``CS_CONVNET_CIFAR10``,
        then ``datasets/cifar-10-batches-py`` (see ``find_cifar10``).
    dtype : numpy dtype
        dtype of the returned images (CS231n: float64; float64 costs 1.4 GB).

    Returns
    -------
    Xtr : ndarray of shape (50000, 32, 32, 3)
    Ytr : ndarray of int64, shape (50000,)
    Xte : ndarray of shape (10000, 32, 32, 3)
    Yte : ndarray of int64, shape (10000,)
    """
    folder = find_cifar10(root)
    Xtr, Ytr = _load_training(folder, None)
    Xte, Yte = _load_batch_uint8(folder / TEST_BATCH)
    return (Xtr.transpose(0, 2, 3, 1).astype(dtype), Ytr,
            Xte.transpose(0, 2, 3, 1).astype(dtype), Yte)


def _load_training(folder, num_rows):
    """Concatenate training batches (uint8, N C H W) until ``num_rows`` rows (None: all)."""
    images, labels, have = [], [], 0
    for name in TRAIN_BATCHES:
        if num_rows is not None and have >= num_rows:
            break
        X, y = _load_batch_uint8(folder / name)
        images.append(X)
        labels.append(y)
        have += len(y)
    return np.concatenate(images), np.concatenate(labels)


def load_label_names(root=None):
    """Class names in label order, read from ``batches.meta`` (CIFAR10_CLASSES if it is absent)."""
    meta = find_cifar10(root) / META_FILE
    if not meta.is_file():
        return list(CIFAR10_CLASSES)
    names = _unpickle(meta).get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise ValueError(f"{meta}: expected 'label_names', a list of 10 class names, got {names!r}")
    return names


def _count(value, name, maximum, available):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if value > maximum:
        raise ValueError(f"{name} = {value} is more than the {maximum} images available ({available})")
    return int(value)


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000,
                     subtract_mean=True, root=None, dtype=np.float32):
    """Load CIFAR-10 and prepare it for a classifier, as in CS231n.

    The training set is the first ``num_training`` training images, the
    validation set the ``num_validation`` training images that follow them,
    the test set the first ``num_test`` test images. With ``subtract_mean``
    the mean training image (computed on the training set only, in float64)
    is subtracted from all three.

    Parameters
    ----------
    num_training, num_validation : int
        ``num_training + num_validation <= 50000``; ``num_training >= 1``.
    num_test : int
        At most 10000.
    subtract_mean : bool
    root : str or Path, optional
        Where the data is (see ``load_CIFAR10``).
    dtype : numpy dtype
        dtype of the images (float32 by default, as the course's models use).

    Returns
    -------
    dict with
        ``X_train`` (num_training, 3, 32, 32), ``y_train`` (num_training,),
        ``X_val`` (num_validation, 3, 32, 32), ``y_val`` (num_validation,),
        ``X_test`` (num_test, 3, 32, 32), ``y_test`` (num_test,);
        images in ``dtype``, labels int64.
    """
    num_training = _count(num_training, "num_training", 50000, "CIFAR-10 has 50000 training images")
    num_validation = _count(num_validation, "num_validation", 50000 - num_training,
                            f"validation images come from the 50000 training images after the first {num_training}")
    num_test = _count(num_test, "num_test", 10000, "CIFAR-10 has 10000 test images")
    if num_training < 1:
        raise ValueError("num_training must be at least 1 (the mean image is computed on the training set)")
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a floating dtype, got {np.dtype(dtype)}")
    folder = find_cifar10(root)
    X, y = _load_training(folder, num_training + num_validation)
    if len(y) < num_training + num_validation:
        raise ValueError(
            f"{folder} holds {len(y)} training images, fewer than num_training + num_validation = "
            f"{num_training} + {num_validation}"
        )
    X_test, y_test = _load_batch_uint8(folder / TEST_BATCH) if num_test else (X[:0], y[:0])
    if len(y_test) < num_test:
        raise ValueError(f"{folder / TEST_BATCH} holds {len(y_test)} images, fewer than num_test = {num_test}")

    train = slice(0, num_training)
    val = slice(num_training, num_training + num_validation)
    images = {"X_train": X[train], "X_val": X[val], "X_test": X_test[:num_test]}
    data = {key: raw.astype(dtype) for key, raw in images.items()}
    if subtract_mean:
        # Summed in float64 for accuracy, subtracted in dtype so no float64 copy of the set is made.
        mean_image = X[train].mean(axis=0, dtype=np.float64).astype(dtype)
        for key in images:
            data[key] -= mean_image
    data["y_train"], data["y_val"], data["y_test"] = y[train].copy(), y[val].copy(), y_test[:num_test].copy()
    order = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
    return {key: data[key] for key in order}


# --------------------------------------------------------------------------- locating

def cache_dir():
    """Folder where archives are extracted: CS_CONVNET_CACHE, else $XDG_CACHE_HOME/cs_convnet, else ~/.cache/cs_convnet."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cs_convnet"


def default_data_dir():
    """``datasets/`` of the source checkout if there is one, else ``./datasets``."""
    if (REPO_ROOT / "datasets").is_dir() and (REPO_ROOT / "setup.py").is_file():
        return REPO_ROOT / "datasets"
    return Path.cwd() / "datasets"


def _batch_folder_in(path):
    """``path`` or ``path/cifar-10-batches-py`` if it holds data_batch_1, else None."""
    for candidate in (path, path / BATCH_FOLDER):
        if (candidate / TRAIN_BATCHES[0]).is_file():
            return candidate
    return None


def _is_archive(path):
    return path.is_file() and (path.name.endswith((".tar.gz", ".tgz", ".tar")))


def find_cifar10(root=None, *, cache=None):
    """Return the ``cifar-10-batches-py`` folder to load from.

    Parameters
    ----------
    root : str or Path, optional
        A batch folder, its parent, or a ``.tar.gz`` archive (extracted once
        into ``cache``). Without it: ``CS_CONVNET_CIFAR10``, then
        ``datasets/cifar-10-batches-py`` in the checkout and in the current directory.
    cache : str or Path, optional
        Where archives are extracted (default ``cache_dir()``).

    Raises
    ------
    FileNotFoundError
        If no data is found; the message says how to get it.
    """
    if root is not None or os.environ.get(ENV_DATA):
        origin = "root argument" if root is not None else f"environment variable {ENV_DATA}"
        path = Path(root if root is not None else os.environ[ENV_DATA]).expanduser()
        if _is_archive(path):
            return extract_cached(path, cache)
        folder = _batch_folder_in(path) if path.is_dir() else None
        if folder is None:
            state = "does not exist" if not path.exists() else (
                f"holds no {TRAIN_BATCHES[0]} (nor {BATCH_FOLDER}/{TRAIN_BATCHES[0]})" if path.is_dir()
                else "is neither a folder nor a .tar.gz archive")
            raise FileNotFoundError(f"CIFAR-10 not found: {path} (from the {origin}) {state}. {_how_to_get_data()}")
        return folder
    tried = []
    for base in dict.fromkeys([default_data_dir(), Path.cwd() / "datasets"]):
        folder = _batch_folder_in(base / BATCH_FOLDER)
        if folder is not None:
            return folder
        tried.append(str(base / BATCH_FOLDER))
    raise FileNotFoundError(
        f"CIFAR-10 not found: {ENV_DATA} is not set and there is no {', nor '.join(tried)}. {_how_to_get_data()}"
    )


def extract_cached(archive, cache=None):
    """Extract ``archive`` once into the cache and return its batch folder.

    The cache entry is named after the archive's path, size and modification
    time, so a replaced archive is extracted again.
    """
    archive = Path(archive).resolve()
    stat = archive.stat()
    key = hashlib.sha256(f"{archive}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    target = Path(cache if cache is not None else cache_dir()) / f"cifar10-{key}"
    if not target.is_dir():
        safe_extract(archive, target)
    folder = _batch_folder_in(target)
    if folder is None:
        raise ValueError(f"{archive} does not contain the CIFAR-10 python batches ({BATCH_FOLDER}/{TRAIN_BATCHES[0]})")
    return folder


# --------------------------------------------------------------------------- archives

def _check_member(member, archive):
    name = PurePosixPath(member.name.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or any(":" in part for part in name.parts[:1]):
        raise ValueError(f"refusing to extract {archive}: member {member.name!r} points outside the target folder")
    if not (member.isfile() or member.isdir()):
        kind = "link" if member.issym() or member.islnk() else "special file"
        raise ValueError(f"refusing to extract {archive}: member {member.name!r} is a {kind}; "
                         f"a CIFAR-10 archive holds only files and folders")


def safe_extract(archive, target):
    """Extract a tar archive into the new folder ``target``, atomically.

    Every member is checked before anything is written: absolute paths,
    ``..`` components, links and special files are refused with ValueError.
    The archive is extracted into a temporary sibling folder that is renamed
    to ``target`` at the end, so ``target`` either is complete or does not
    exist. If another process created ``target`` meanwhile, theirs is kept.
    """
    archive, target = Path(archive), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as error:
        raise ValueError(f"{archive} is not a readable tar archive ({error})") from error
    with tar, tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.tmp-") as tmp:
        try:
            members = tar.getmembers()
            for member in members:
                _check_member(member, archive)
            # Python >= 3.11.4 re-checks every member itself with the "data" filter.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, members=members, **extra)
        except (tarfile.TarError, EOFError, zlib.error) as error:  # truncated or corrupt archive
            raise ValueError(f"could not extract {archive} (corrupt, truncated or unsafe): {error}") from error
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # else another process extracted it first: keep theirs
                raise
    return target


def file_digests(path, chunk=1 << 20):
    """Return (md5, sha256) hex digests of a file, read once."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            md5.update(block)
            sha256.update(block)
    return md5.hexdigest(), sha256.hexdigest()


def verify_archive(archive, md5=CIFAR10_MD5, allow_unofficial=False):
    """Check an archive's MD5; a mismatch raises ValueError unless ``allow_unofficial`` (then it warns)."""
    actual, sha256 = file_digests(archive)
    if actual == md5:
        return True
    known = KNOWN_UNOFFICIAL_ARCHIVES.get(sha256)
    what = f"This is {known} (sha256 {sha256})." if known else f"Its sha256 is {sha256}."
    message = f"{archive} has MD5 {actual}, not the official CIFAR-10 archive's {md5}. {what}"
    if not allow_unofficial:
        raise ValueError(f"{message} To use a copy you trust anyway, pass --allow-unofficial "
                         "(allow_unofficial=True).")
    warnings.warn(f"{message} Using it because unofficial archives were allowed.", stacklevel=2)
    return False


def download(url, destination, md5=None, timeout=DOWNLOAD_TIMEOUT, progress=True):
    """Download ``url`` to ``destination`` atomically, checking its MD5 before it appears.

    The bytes go to a temporary file next to ``destination`` that is renamed
    only once the download is complete and its MD5 matches.

    Raises
    ------
    ConnectionError
        If the server cannot be reached or stops answering for ``timeout`` seconds.
    ValueError
        If the MD5 of the downloaded file is not ``md5``.
    """
    from tqdm.auto import tqdm

    destination = Path(destination)
    digest = hashlib.md5()
    try:  # cs_convnet.atomic: an exception inside the block discards the temporary file
        with atomic_open(destination, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=destination.name, disable=not progress) as bar:
                while block := response.read(1 << 20):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
            if total is not None and out.tell() != total:
                raise ConnectionError(f"download of {url} stopped after {out.tell()} of {total} bytes")
            if md5 is not None and digest.hexdigest() != md5:
                raise ValueError(f"the file downloaded from {url} has MD5 {digest.hexdigest()}, expected {md5}; "
                                 "it was discarded (corrupted transfer or a different file)")
    except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as error:
        # unreachable host, refused, timed out, cut transfer (a full disk is an OSError raised as is)
        reason = getattr(error, "reason", error)
        raise ConnectionError(
            f"could not download {url}: {reason}. Without network, copy the archive from a machine that has "
            f"it and {_offline_options()}."
        ) from error
    return destination


def _install_folder(folder, dest):
    """Copy a batch folder to ``dest/cifar-10-batches-py`` atomically (temp copy, then rename)."""
    target = Path(dest) / BATCH_FOLDER
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=f".{BATCH_FOLDER}.tmp-") as tmp:
        staged = Path(tmp) / BATCH_FOLDER
        shutil.copytree(folder, staged)
        os.rename(staged, target)
    return target


def check_folder(folder):
    """Raise ValueError unless ``folder`` holds the six CIFAR-10 batches, each a valid batch."""
    folder = Path(folder)
    missing = [name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{folder} is not a complete CIFAR-10 batch folder: missing {', '.join(missing)}")
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        _load_batch_uint8(folder / name)
    return folder


def prepare_cifar10(dest=None, *, archive=None, folder=None, url=CIFAR10_URL, md5=CIFAR10_MD5,
                    allow_unofficial=False, force=False, timeout=DOWNLOAD_TIMEOUT, progress=True):
    """Make ``dest/cifar-10-batches-py`` hold CIFAR-10 and return its path.

    Sources, first match wins: ``folder`` (a batch folder or its parent,
    copied), ``archive`` (checked against ``md5`` then extracted), the
    environment variable ``CS_CONVNET_CIFAR10`` (either of the two), else a
    download of ``url`` (checked against ``md5`` before extraction). An
    existing valid ``dest/cifar-10-batches-py`` is kept unless ``force``.

    Raises
    ------
    ConnectionError
        If the download is needed and fails (offline); the message says what to do.
    ValueError
        If an archive's MD5 differs (and not ``allow_unofficial``), an archive
        is unsafe, or the data is not in the CIFAR-10 layout.
    FileNotFoundError
        If ``archive`` or ``folder`` does not exist.
    """
    dest = Path(dest) if dest is not None else default_data_dir()
    target = dest / BATCH_FOLDER
    if target.exists() and not force:
        try:
            return check_folder(target)
        except ValueError as error:
            raise ValueError(f"{error}; pass --force (force=True) to replace it") from error
    if archive is None and folder is None and os.environ.get(ENV_DATA):
        env_path = Path(os.environ[ENV_DATA]).expanduser()
        archive, folder = (env_path, None) if env_path.is_file() else (None, env_path)
    for given, name in ((archive, "archive"), (folder, "folder")):
        if given is not None and not Path(given).expanduser().exists():
            raise FileNotFoundError(f"the {name} {given} does not exist. {_how_to_get_data()}")

    if folder is not None:
        source = _batch_folder_in(Path(folder).expanduser())
        if source is None:
            raise ValueError(f"{folder} holds no {TRAIN_BATCHES[0]} (nor {BATCH_FOLDER}/{TRAIN_BATCHES[0]})")
        check_folder(source)
        if target.exists() and source.resolve() == target.resolve():
            return target  # already in place; never delete the source
        if target.exists():
            shutil.rmtree(target)
        return check_folder(_install_folder(source, dest))

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".cifar10-download-") as tmp:
        if archive is None:
            archive = download(url, Path(tmp) / PurePosixPath(url).name, md5=md5, timeout=timeout,
                               progress=progress)
        else:
            archive = Path(archive).expanduser()
            verify_archive(archive, md5=md5, allow_unofficial=allow_unofficial)
        extracted = safe_extract(archive, Path(tmp) / "extracted")
        source = _batch_folder_in(extracted)
        if source is None:
            raise ValueError(f"{archive} does not contain {BATCH_FOLDER}/{TRAIN_BATCHES[0]}")
        check_folder(source)
        if target.exists():
            shutil.rmtree(target)
        os.rename(source, target)
    return target


def main(argv=None, prog="cs-convnet data"):
    """Command line: fetch or install CIFAR-10 into ``datasets/cifar-10-batches-py``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Fetch the official CIFAR-10 python archive, check its MD5 and extract it "
                    f"(or, offline, install a local archive or folder). Without --archive/--folder, "
                    f"the environment variable {ENV_DATA} is used when set.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--archive", type=Path, help="a local cifar-10-python.tar.gz (no download)")
    source.add_argument("--folder", type=Path, help=f"a local {BATCH_FOLDER} folder or its parent (no download)")
    parser.add_argument("--dest", type=Path, default=None,
                        help=f"where to put {BATCH_FOLDER} (default: {default_data_dir()})")
    parser.add_argument("--allow-unofficial", action="store_true",
                        help="accept a local archive whose MD5 is not the official one (warns)")
    parser.add_argument("--force", action="store_true", help="replace an existing copy")
    parser.add_argument("--url", default=CIFAR10_URL, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=DOWNLOAD_TIMEOUT,
                        help="seconds to wait for the server before giving up (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, *a, **k: print(f"warning: {message}", file=sys.stderr)
            path = prepare_cifar10(args.dest, archive=args.archive, folder=args.folder, url=args.url,
                                   allow_unofficial=args.allow_unofficial, force=args.force,
                                   timeout=args.timeout)
    except (OSError, ValueError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    print(f"CIFAR-10 is ready in {path}")
    return 0

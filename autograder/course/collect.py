"""Collect a folder of submissions (zips or folders) into the course directory.

Each entry of the inbox is one learner's submission: the zip made by
``cs-convnet submit``, a zip or folder from an LMS bulk download, or any zip or
folder holding notebooks and ``cs_convnet/`` files. Notebooks are matched to
assignments by file name and copied to ``submitted/<student>/<assignment>/``;
files under ``cs_convnet/`` go to ``packages/<student>/cs_convnet/`` (what
``grade-one`` grades).

Who: the entry's name decides the student id, never its content
(:func:`parse_entry_name`):

- Canvas, ``lastfirst_12345_6789012_file.zip`` (late work:
  ``lastfirst_LATE_12345_6789012_file.zip``): ``lastfirst_12345``, the name and
  the learner's Canvas user id;
- Moodle, ``Full Name_12345_assignsubmission_file_`` (folder, or
  ``..._file_name.zip``): ``Full_Name_12345``, the name and participant id;
- otherwise the name without ``.zip`` and without the ``submission-`` prefix
  that ``cs-convnet submit`` gives (``alice.zip``, ``submission-alice.zip`` and
  a folder ``alice`` are all ``alice``).

Characters other than letters, digits and ``_.@-`` become ``_``. A
``manifest.json``/``submission.json`` inside that names another student gets a
note; the files still go to the student the entry's name gives. Two entries of
one inbox with the same id are a conflict: neither is collected, and the note
of each names the other (delete or rename one, then collect again), so a
learner's work is never silently replaced by another entry.

Every entry stands alone: one that cannot be read (not a zip or a folder -- a
notebook on its own included --, truncated, a corrupted member, an unreadable
file, over the size limits), that holds nothing
to collect, or whose id is in conflict is skipped with a note naming it and
why; it stays where it is in the inbox, nothing of it is collected, and the
learner's earlier collected work is kept. The others are collected. Members
that may not be extracted (absolute paths, ``..``, links, oversized files) are
left out with a note. A collected learner's files are written into a staging
folder of the course (same file system), then swapped in with renames:
re-collecting replaces what was collected for them before, never half of it.
Re-collecting the same inbox gives the same files.

``cs-convnet-course collect`` prints one line per entry, its notes, and a
summary line; exit status 0 when every entry was collected, 1 when any was
skipped, 2 when the inbox is missing or not a folder.
"""

import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cs_convnet.atomic import write_json

from .layout import Course
from .nbgrader_grading import read_notebook

MAX_FILES = 2000
MAX_FILE_BYTES = 50 * 1024**2
MAX_TOTAL_BYTES = 300 * 1024**2
MAX_ENTRY_BYTES = MAX_TOTAL_BYTES   # a zip bigger than this on disk is not opened
MANIFESTS = ("manifest.json", "submission.json")
IGNORED_ENTRIES = ("__MACOSX",)
_ID = re.compile(r"[^A-Za-z0-9_.@-]+")
_CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_LATE)?_(?P<number>\d+)_(?P<attachment>\d+)_(?P<file>.+)$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<number>\d+)_assignsubmission_[A-Za-z]+_(?P<file>.*)$")

# why an entry was skipped, as counted in the summary line
UNREADABLE, TOO_LARGE, CONFLICT, EMPTY, UNWRITABLE = (
    "unreadable", "too large", "id conflict", "nothing to collect", "could not be written")


class Skip(Exception):
    """An entry that is not collected; ``reason`` is one of the categories above."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class EntryName:
    """What an inbox entry's name says: the student id, its format, and the learner's own file name."""
    student: str
    source: str            # "canvas", "moodle" or "plain"
    late: bool = False
    original: str = ""     # the learner's file name inside an LMS name ("" for plain names)


def _clean(text):
    return _ID.sub("_", text).strip("._-") or "unnamed"


def _strip_zip(name):
    return name[:-4] if name.lower().endswith(".zip") else name


def _plain(name):
    stem = _strip_zip(name)
    return _clean(stem[len("submission-"):] if stem.startswith("submission-") else stem)


def parse_entry_name(name):
    """The :class:`EntryName` of an inbox entry (the rule is in the module docstring)."""
    stem = _strip_zip(name)
    canvas = _CANVAS.match(stem)
    if canvas:
        return EntryName(_clean(f"{canvas['name']}_{canvas['number']}"), "canvas", bool(canvas["late"]),
                         canvas["file"])
    moodle = _MOODLE.match(stem)
    if moodle:
        return EntryName(_clean(f"{moodle['name']}_{moodle['number']}"), "moodle", False, moodle["file"])
    return EntryName(_plain(name), "plain")


def student_id(name):
    """The student id of an inbox entry named ``name`` (``alice.zip`` -> ``alice``)."""
    return parse_entry_name(name).student


def _unsafe(name):
    """Why a member path may not be extracted, or None."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in path.parts:
        return "a '..' component (path traversal)"
    if not path.parts or "\0" in name:
        return "an empty or invalid name"
    return None


def read_zip(path, notes):
    """``{relative posix path: bytes}`` of the safe regular files of a zip.

    Raises :class:`Skip` when the zip cannot be read whole (every member that
    is extracted is read to its end, so a corrupted one is found) or is too large.
    """
    size = os.stat(path).st_size
    if size > MAX_ENTRY_BYTES:
        raise Skip(TOO_LARGE, f"{size} bytes, more than {MAX_ENTRY_BYTES}")
    files, total, seen = {}, 0, set()
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_FILES:
                raise Skip(TOO_LARGE, f"{len(members)} members, more than {MAX_FILES}")
            for info in members:
                if info.is_dir():
                    continue
                reason = _unsafe(info.filename)
                if reason is None and stat.S_ISLNK(info.external_attr >> 16):
                    reason = "a symbolic link"
                if reason is None and info.file_size > MAX_FILE_BYTES:
                    reason = f"{info.file_size} bytes, more than {MAX_FILE_BYTES}"
                if reason:
                    notes.append(f"skipped zip member {info.filename!r}: {reason}")
                    continue
                rel = PurePosixPath(info.filename.replace("\\", "/")).as_posix()
                if rel in seen:
                    notes.append(f"zip member {info.filename!r} appears more than once; the last copy was used")
                seen.add(rel)
                with archive.open(info) as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
                if len(data) > MAX_FILE_BYTES:  # the header lied about the size
                    notes.append(f"skipped zip member {info.filename!r}: larger than its header says")
                    continue
                total += len(data)
                if total > MAX_TOTAL_BYTES:
                    raise Skip(TOO_LARGE, f"more than {MAX_TOTAL_BYTES} bytes uncompressed")
                files[rel] = data
    except Skip:
        raise
    except Exception as error:  # BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ...
        detail = str(error).strip().partition("\n")[0] or "no detail"
        raise Skip(UNREADABLE, f"not a readable zip ({type(error).__name__}: {detail})") from error
    return files


def read_directory(path, notes):
    """``{relative posix path: bytes}`` of the regular files under ``path`` (links skipped, never followed)."""
    files, total = {}, 0
    for folder, subfolders, names in os.walk(path, followlinks=False):
        subfolders.sort()
        for name in sorted(names) + [d for d in subfolders if os.path.islink(os.path.join(folder, d))]:
            item = Path(folder, name)
            rel = item.relative_to(path).as_posix()
            if item.is_symlink():
                notes.append(f"skipped {rel!r}: a symbolic link")
                continue
            if not item.is_file():
                continue
            size = item.stat().st_size
            if size > MAX_FILE_BYTES:
                notes.append(f"skipped {rel!r}: {size} bytes, more than {MAX_FILE_BYTES}")
                continue
            total += size
            if total > MAX_TOTAL_BYTES:
                raise Skip(TOO_LARGE, f"more than {MAX_TOTAL_BYTES} bytes")
            if len(files) >= MAX_FILES:
                raise Skip(TOO_LARGE, f"more than {MAX_FILES} files")
            try:
                files[rel] = item.read_bytes()
            except OSError as error:
                raise Skip(UNREADABLE, f"{rel} could not be read ({error.strerror or error})") from error
    return files


def manifest_student(files):
    """The student id a manifest inside the submission claims (cleaned), or None."""
    for rel, data in sorted(files.items()):
        if PurePosixPath(rel).name in MANIFESTS:
            try:
                manifest = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                continue
            if isinstance(manifest, dict):
                value = manifest.get("student") or manifest.get("student_id")
                if isinstance(value, str) and value.strip():
                    return _clean(value.strip())
    return None


def _manifest_note(entry, parsed, files):
    claimed = manifest_student(files)
    if claimed is None:
        return None
    agreeing = {parsed.student.lower()} | ({_plain(parsed.original).lower()} if parsed.original else set())
    if claimed.lower() in agreeing:
        return None
    return (f"{entry} holds a manifest naming the student {claimed!r}, but its name gives {parsed.student!r}; "
            f"collected as {parsed.student!r} (the entry's name decides)")


def _plan(course, files, notes):
    """Where each file goes: ``({(assignment, name): bytes}, {rel under packages/<student>: bytes})``."""
    known = course.notebooks()
    notebooks, package = {}, {}
    for rel, data in sorted(files.items()):
        parts = PurePosixPath(rel).parts
        if any(part.startswith(".") or part == "__pycache__" for part in parts):
            continue
        name = parts[-1]
        if name.endswith(".ipynb"):
            if name not in known:
                notes.append(f"ignored {rel}: no assignment has a notebook named {name}")
                continue
            assignment = known[name]
            target = (assignment, name)
            if target in notebooks and assignment not in parts[:-1]:
                notes.append(f"ignored {rel}: {name} was submitted twice")
                continue
            notebooks[target] = data
        elif "cs_convnet" in parts and name.endswith(".py"):
            start = len(parts) - 1 - parts[::-1].index("cs_convnet")
            package[PurePosixPath(*parts[start:]).as_posix()] = data
    return notebooks, package


def _swap(new, dest, trash):
    """Put folder ``new`` at ``dest`` (absent ``new``: remove ``dest``) by renames on one file system."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        os.rename(dest, trash)
    if new.exists():
        os.rename(new, dest)


def place(course, student, files, notes):
    """Lay one submission's files out in the course; return what went where.

    Raises :class:`Skip` (nothing changed) when the submission holds nothing to
    collect or cannot be written.
    """
    notebooks, package = _plan(course, files, notes)
    if not notebooks and not package:
        raise Skip(EMPTY, "it holds no course notebook and no cs_convnet/*.py file")
    course.grading.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".collect-", dir=course.grading))
    try:
        try:
            for (assignment, name), data in notebooks.items():
                dest = staging / "submitted" / assignment / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                nb, problem = read_notebook(dest)
                if nb is None:
                    notes.append(f"{assignment}/{name} is not a valid notebook ({problem})")
            for rel, data in package.items():
                dest = staging / "packages" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
        except OSError as error:
            raise Skip(UNWRITABLE, f"its files could not be written ({error})") from error
        _swap(staging / "submitted", course.submitted / student, staging / "old-submitted")
        _swap(staging / "packages", course.packages / student, staging / "old-packages")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"notebooks": sorted(f"{a}/{n}" for a, n in notebooks), "package_files": sorted(package)}


def inbox_entries(inbox):
    """The entries of ``inbox`` that are submissions (hidden files and ``__MACOSX`` left out), sorted."""
    return sorted(e for e in Path(inbox).iterdir() if not e.name.startswith(".") and e.name not in IGNORED_ENTRIES)


def _read(entry, notes):
    if entry.is_symlink():
        raise Skip(UNREADABLE, "a symbolic link (not followed)")
    if entry.is_dir():
        return read_directory(entry, notes)
    if not entry.is_file():
        raise Skip(UNREADABLE, "not a regular file or folder")
    if entry.suffix.lower() in (".ipynb", ".py") and not zipfile.is_zipfile(entry):
        raise Skip(UNREADABLE, f"a single {entry.suffix} file; collect takes one zip or folder per learner "
                               "(put the learner's files in a folder named by their id)")
    return read_zip(entry, notes)


def _skipped(summary, entry, student, skip):
    summary.update(status="skipped", reason=skip.reason)
    summary["notes"].append(f"{entry.name} skipped ({skip.reason}): {skip}; nothing was collected from it "
                            f"and any earlier collected work of {student!r} is kept")


def collect(course_dir, inbox):
    """Collect every entry of ``inbox``; return one summary dict per entry.

    Each dict has ``source`` (the entry's name), ``student``, ``status``
    (``"collected"`` or ``"skipped"``), ``reason`` (why skipped, else None),
    ``late`` (Canvas's LATE mark), ``notebooks``, ``package_files`` and
    ``notes``. Never raises for a bad entry.
    """
    course = Course(course_dir)
    course.collect_notes.mkdir(parents=True, exist_ok=True)
    for stale in course.grading.glob(".collect-*"):   # staging left by an interrupted collect
        shutil.rmtree(stale, ignore_errors=True)
    entries = inbox_entries(inbox)
    parsed = {entry: parse_entry_name(entry.name) for entry in entries}
    claims = defaultdict(list)
    for entry in entries:
        claims[parsed[entry].student].append(entry.name)
    results = []
    for entry in entries:
        name = parsed[entry]
        student, notes = name.student, []
        summary = {"source": entry.name, "student": student, "status": "collected", "reason": None,
                   "late": name.late, "notebooks": [], "package_files": [], "notes": notes}
        results.append(summary)
        if name.late:
            notes.append(f"{entry.name} is marked LATE by Canvas")
        others = [other for other in claims[student] if other != entry.name]
        try:
            if others:
                raise Skip(CONFLICT, f"{', '.join(others)} also map{'s' if len(others) == 1 else ''} to the "
                                     f"student id {student!r}; neither is collected (remove or rename one, "
                                     "then collect again)")
            files = _read(entry, notes)
            mismatch = _manifest_note(entry.name, name, files)
            if mismatch:
                notes.append(mismatch)
            summary.update(place(course, student, files, notes))
            write_json(course.collect_notes / f"{student}.json", notes)
        except Skip as skip:
            _skipped(summary, entry, student, skip)
        except Exception as error:  # an entry never stops the others
            reason = UNWRITABLE if isinstance(error, OSError) else UNREADABLE
            _skipped(summary, entry, student, Skip(reason, f"{type(error).__name__}: {error}"))
    return results


def summary_line(results, inbox=None):
    """One line: how many entries were collected, how many skipped and why."""
    where = f" from {inbox}" if inbox is not None else ""
    if not results:
        return f"no submissions found{where} (the folder is empty)"
    skipped = Counter(r["reason"] for r in results if r["status"] == "skipped")
    line = f"collected {len(results) - sum(skipped.values())} of {len(results)} submissions{where}"
    if skipped:
        line += f"; skipped {sum(skipped.values())} (" + ", ".join(
            f"{count} {reason}" for reason, count in sorted(skipped.items())) + ")"
    return line

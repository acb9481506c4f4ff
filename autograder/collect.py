"""Collect a folder of submissions (zips or directories) into the course directory.

Each entry of the folder is one student's submission: the zip made by
``cs-convnet submit`` (or any zip or directory holding notebooks and
``cs_convnet/`` files). The student id comes from a ``manifest.json`` inside
(key ``student`` or ``student_id``) or else from the entry's name.

Notebooks are matched to assignments by file name and copied to
``submitted/<student>/<assignment>/``; files under ``cs_convnet/`` go to
``packages/<student>/cs_convnet/`` (what ``grade-one`` grades). Re-collecting a
student replaces what was collected for them before.

A bad entry gets a note and never stops the others: not a zip, members with
absolute paths, ``..`` or links (skipped), oversized content, notebooks that
are not valid notebook JSON (kept, so autograde reports them too).
"""

import json
import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from .course import Course
from .nbgrader_grading import read_notebook

MAX_FILES = 2000
MAX_FILE_BYTES = 50 * 1024**2
MAX_TOTAL_BYTES = 300 * 1024**2
MANIFESTS = ("manifest.json", "submission.json")
_ID = re.compile(r"[^A-Za-z0-9_.@-]+")


def student_id(name):
    """A safe student id from a file or folder name (``alice.zip`` -> ``alice``)."""
    stem = name[:-4] if name.lower().endswith(".zip") else name
    stem = stem[len("submission-"):] if stem.startswith("submission-") else stem  # cs-convnet submit's name
    cleaned = _ID.sub("_", stem).strip("._-")
    return cleaned or "unnamed"


def _unsafe(name):
    """Why a member path may not be extracted, or None."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in path.parts:
        return "a '..' component (path traversal)"
    return None


def read_zip(path, notes):
    """``{relative posix path: bytes}`` of the safe regular files of a zip."""
    files, total = {}, 0
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_FILES:
            raise ValueError(f"{len(members)} members, more than {MAX_FILES}")
        for info in members:
            if info.is_dir():
                continue
            reason = _unsafe(info.filename)
            mode = info.external_attr >> 16
            if reason is None and stat.S_ISLNK(mode):
                reason = "a symbolic link"
            if reason is None and info.file_size > MAX_FILE_BYTES:
                reason = f"{info.file_size} bytes, more than {MAX_FILE_BYTES}"
            if reason:
                notes.append(f"skipped zip member {info.filename!r}: {reason}")
                continue
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise ValueError(f"more than {MAX_TOTAL_BYTES} bytes uncompressed")
            with archive.open(info) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:  # the header lied about the size
                notes.append(f"skipped zip member {info.filename!r}: larger than its header says")
                continue
            files[PurePosixPath(info.filename.replace("\\", "/")).as_posix()] = data
    return files


def read_directory(path, notes):
    """``{relative posix path: bytes}`` of the regular files under ``path`` (links skipped)."""
    files, total = {}, 0
    for item in sorted(Path(path).rglob("*")):
        rel = item.relative_to(path).as_posix()
        if item.is_symlink():
            notes.append(f"skipped {rel!r}: a symbolic link")
            continue
        if not item.is_file():
            continue
        size = item.stat().st_size
        total += size
        if size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES or len(files) >= MAX_FILES:
            notes.append(f"skipped {rel!r}: over the size or file-count limit")
            continue
        files[rel] = item.read_bytes()
    return files


def _manifest_id(files):
    for rel, data in files.items():
        if PurePosixPath(rel).name in MANIFESTS:
            try:
                manifest = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue
            if isinstance(manifest, dict):
                value = manifest.get("student") or manifest.get("student_id")
                if isinstance(value, str) and value.strip():
                    return student_id(value.strip())
    return None


def place(course, student, files, notes):
    """Lay one submission's files out in the course; return what went where."""
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
            notebooks[target] = (rel, data)
        elif "cs_convnet" in parts:
            start = len(parts) - 1 - parts[::-1].index("cs_convnet")
            if name.endswith(".py"):
                package[PurePosixPath(*parts[start:]).as_posix()] = data
    for folder in (course.submitted / student, course.packages / student):
        shutil.rmtree(folder, ignore_errors=True)
    for (assignment, name), (rel, data) in notebooks.items():
        dest = course.submitted / student / assignment / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        nb, problem = read_notebook(dest)
        if nb is None:
            notes.append(f"{assignment}/{name} is not a valid notebook ({problem})")
    for rel, data in package.items():
        dest = course.packages / student / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    if not notebooks and not package:
        notes.append("the submission holds no course notebook and no cs_convnet file")
    return {"notebooks": sorted(f"{a}/{n}" for a, n in notebooks), "package_files": sorted(package)}


def collect(course_dir, inbox):
    """Collect every zip or directory in ``inbox``; return one summary dict per entry."""
    course = Course(course_dir)
    course.collect_notes.mkdir(parents=True, exist_ok=True)
    results = []
    for entry in sorted(Path(inbox).iterdir()):
        if entry.name.startswith("."):
            continue
        notes = []
        student = student_id(entry.name)
        summary = {"source": entry.name, "student": student, "notebooks": [], "package_files": []}
        try:
            if entry.is_dir() and not entry.is_symlink():
                files = read_directory(entry, notes)
            elif zipfile.is_zipfile(entry):
                files = read_zip(entry, notes)
            else:
                raise ValueError("not a zip file or a directory")
        except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as error:
            notes.append(f"{entry.name} could not be read ({error}); nothing was collected from it")
            files = None
        if files is not None:
            student = _manifest_id(files) or student
            summary["student"] = student
            summary.update(place(course, student, files, notes))
        summary["notes"] = notes
        if files is not None or not (course.collect_notes / f"{student}.json").exists():
            path = course.collect_notes / f"{student}.json"
            path.write_text(json.dumps(notes, indent=1), encoding="utf-8")
        results.append(summary)
    return results

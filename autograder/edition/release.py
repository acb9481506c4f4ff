"""Build the student edition of the course: ``cs-convnet-course release``.

From the instructor tree (solutions and hidden tests included) this writes a
folder (default ``release/student/``) and a zip of it (default
``release/cs-convnet-student.zip``) holding:

- ``assignments/<assignment>/*.ipynb``: the notebooks as produced by the real
  ``nbgrader generate_assignment`` (solution regions replaced by stubs, hidden
  tests and outputs removed), each stub raising ``NotImplementedError`` with the
  hint stored in its cell's metadata;
- ``cs_convnet/``: the package, every solution region replaced by
  ``raise NotImplementedError("<one-line hint>")`` and all code outside the
  regions kept;
- ``setup.py``, ``pyproject.toml``, ``cython_ext/`` (sources only), ``datasets/``
  (the fetch command, never data), ``environment.yml`` and the students'
  ``README.md``.

Nothing else from the instructor tree is copied: not ``autograder/``, not
``tests/``, not the source notebooks or their generators. Before the zip is
written the edition is scanned for leaks (solution lines, hidden tests, markers
and instructor paths); a leak aborts the release.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from cs_convnet.atomic import atomic_open
from cs_convnet.boundary import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, MARKERS, RegionError,
                                 marked_regions, marker_of, source_lines)

from .builder import EditionError, copyable, write_package_edition

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO_ROOT / "release" / "student"
ZIP_NAME = "cs-convnet-student.zip"
ZIP_TOP = "cs-convnet-student"
STAMP = ".cs-convnet-student-edition"  # marks a folder this command may overwrite

# What learners get besides the package and the notebooks.
TOP_LEVEL_FILES = ("setup.py", "pyproject.toml")
SOURCE_SUFFIXES = {".pyx", ".pxd", ".pxi", ".h", ".py", ".md", ".txt", ".sh"}
# Paths that must never appear in the student edition.
FORBIDDEN_PARTS = ("autograder", "tests", "notebook_sources", "source", ".git")
FORBIDDEN_NAMES = ("nbgrader_config.py", "build_notebooks.py", "gradebook.db", "CONTRIBUTING.md")


class ReleaseError(RuntimeError):
    """The student edition could not be built, or it would leak instructor material."""


# --------------------------------------------------------------------------
# Copying
# --------------------------------------------------------------------------

def _copy_folder(source, target, suffixes=SOURCE_SUFFIXES):
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and copyable(rel) and path.suffix in suffixes:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / rel)


def student_pyproject(text):
    """The repository's pyproject.toml without its ``[tool.pytest.*]`` tables: they name
    the course's ``tests/`` folder, which the student edition does not ship."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        header = line.strip()
        if header.startswith("[") and not header.startswith("[["):
            skipping = header.startswith("[tool.pytest")
        elif header.startswith("[["):
            skipping = skipping and header.startswith("[[tool.pytest")
        if not skipping:
            kept.append(line)
    return "".join(kept).rstrip("\n") + "\n"


def _copy_support_files(repo_root, out):
    for name in TOP_LEVEL_FILES:
        if (repo_root / name).exists():
            shutil.copy2(repo_root / name, out / name)
    if (out / "pyproject.toml").exists():
        (out / "pyproject.toml").write_text(student_pyproject((out / "pyproject.toml").read_text(encoding="utf-8")),
                                            encoding="utf-8")
    _copy_folder(repo_root / "cython_ext", out / "cython_ext")
    _copy_folder(repo_root / "datasets", out / "datasets")
    # The students' README replaces the instructors' one; the conda environment is shared.
    shutil.copy2(repo_root / "assignments" / "student" / "README.md", out / "README.md")
    if (repo_root / "environment.yml").exists():
        shutil.copy2(repo_root / "environment.yml", out / "environment.yml")


# --------------------------------------------------------------------------
# Notebooks through nbgrader
# --------------------------------------------------------------------------

def assignment_names(repo_root=REPO_ROOT):
    source = Path(repo_root) / "assignments" / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _nbgrader_command():
    executable = Path(sys.executable).with_name("nbgrader")
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "nbgrader"]


def generate_notebooks(repo_root, out, names):
    """Run ``nbgrader generate_assignment`` for each assignment in a scratch copy of the course."""
    with tempfile.TemporaryDirectory(prefix="cs-convnet-release-") as scratch:
        scratch = Path(scratch)
        course = scratch / "course"
        shutil.copytree(repo_root / "assignments" / "source", course / "source",
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        shutil.copy2(repo_root / "assignments" / "nbgrader_config.py", course / "nbgrader_config.py")
        env = dict(os.environ)
        # nbgrader runs `alembic` from PATH: make the tools of this Python's environment visible.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
            env[var] = str(scratch / var.lower())  # no personal jupyter/nbgrader config can interfere
        # nbgrader globs the assignment id: one run ("*") releases every assignment at once.
        patterns = ["*"] if set(names) == set(assignment_names(repo_root)) else names
        for pattern in patterns:
            command = _nbgrader_command() + [
                "generate_assignment", pattern, "--force", "--log-level=WARN",
                f"--CourseDirectory.root={course}",
                f"--CourseDirectory.db_url=sqlite:///{scratch / 'gradebook.db'}",
            ]
            result = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise ReleaseError(f"nbgrader generate_assignment {pattern} failed "
                                   f"(exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
        for name in names:
            released = course / "release" / name
            if not any(released.glob("*.ipynb")):
                raise ReleaseError(f"nbgrader generate_assignment wrote no notebook for {name}")
            for path in sorted(released.rglob("*")):
                rel = path.relative_to(released)
                if path.is_file() and copyable(rel):
                    target = out / "assignments" / name / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
                    if path.suffix == ".ipynb":
                        _insert_hints(target)


def _insert_hints(path):
    """Give each notebook stub the hint of its cell (``metadata.cs_convnet.hint``)."""
    from nbgrader.utils import compute_checksum

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        hint = cell.metadata.get("cs_convnet", {}).get("hint")
        if cell.cell_type == "code" and hint:
            cell.source = cell.source.replace("raise NotImplementedError()", f"raise NotImplementedError({hint!r})")
            if "checksum" in cell.metadata.get("nbgrader", {}):  # keep nbgrader's record of the stub exact
                cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
    nbformat.write(nb, path)


# --------------------------------------------------------------------------
# Leak scan
# --------------------------------------------------------------------------

def _secret_line_numbers(text, filename, notebook=False):
    """1-based numbers of the lines inside (and of) the solution regions of ``text``, and of its hidden
    tests when ``notebook``."""
    pairs = [(BEGIN_SOLUTION, END_SOLUTION)] + ([(BEGIN_HIDDEN, END_HIDDEN)] if notebook else [])
    inside = set()
    try:
        for begin_marker, end_marker in pairs:
            for begin, end in marked_regions(text, begin_marker, end_marker, filename):
                inside.update(range(begin, end + 1))
    except RegionError as error:
        raise ReleaseError(str(error)) from None
    return inside


def _notebook_parts(path):
    """(public lines, secret lines) of a source notebook."""
    nb = nbformat.read(path, as_version=4)
    public, secret = [], []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        lines = source_lines(cell.source)
        if cell.cell_type == "markdown" and meta.get("solution"):
            secret.extend(lines)  # a written answer: the whole reference answer is secret
            continue
        inside = _secret_line_numbers(cell.source, f"{path.name} cell {meta.get('grade_id', '?')}", notebook=True)
        for number, line in enumerate(lines, start=1):
            if number not in inside:
                public.append(line)
            elif marker_of(line) is None:
                secret.append(line)
    return public, secret


def secret_lines(repo_root=REPO_ROOT, min_length=12):
    """Distinctive lines of every solution region and hidden test in the instructor tree.

    A line counts when, stripped, it is at least ``min_length`` characters long
    and does not also occur outside the secret regions (in provided code or
    visible notebook cells), where it would legitimately be public.
    """
    repo_root = Path(repo_root)
    public, secret = set(), set()
    shipped = [p for folder in ("cs_convnet", "cython_ext", "datasets") for p in (repo_root / folder).rglob("*")
               if p.is_file() and copyable(p.relative_to(repo_root)) and p.suffix in SOURCE_SUFFIXES]
    shipped += [repo_root / name for name in TOP_LEVEL_FILES if (repo_root / name).exists()]
    for path in shipped:
        text = path.read_text(encoding="utf-8")
        inside = _secret_line_numbers(text, path.relative_to(repo_root).as_posix())
        for number, line in enumerate(source_lines(text), start=1):
            (secret if number in inside else public).add(line.strip())
    for path in (repo_root / "assignments" / "source").rglob("*.ipynb"):
        pub, sec = _notebook_parts(path)
        public.update(line.strip() for line in pub)
        secret.update(line.strip() for line in sec)
    return sorted(line for line in secret - public if len(line) >= min_length and line not in MARKERS)


def find_leaks(edition, repo_root=REPO_ROOT):
    """Every instructor-only thing found in ``edition`` (a folder or a zip), as readable strings."""
    edition = Path(edition)
    if edition.suffix == ".zip":
        with zipfile.ZipFile(edition) as archive:
            files = {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    else:
        files = {str(p.relative_to(edition)): p.read_bytes() for p in edition.rglob("*") if p.is_file()}
    secrets = secret_lines(repo_root)
    leaks = []
    for name, data in sorted(files.items()):
        parts = Path(name).parts
        if set(parts) & set(FORBIDDEN_PARTS) or parts[-1] in FORBIDDEN_NAMES:
            leaks.append(f"{name}: instructor-only file")
        text = data.decode("utf-8", errors="replace")
        if name.endswith(".ipynb"):  # compare the cells' text, not its JSON escaping
            try:
                text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
            except Exception as error:  # an unreadable notebook is itself a release bug
                leaks.append(f"{name}: not a valid notebook ({error})")
        lines = {line.strip() for line in text.splitlines()}
        found = {marker_of(line) for line in lines}
        leaks.extend(f"{name}: contains the marker {marker!r}" for marker in MARKERS if marker in found)
        for secret in secrets:
            if secret in lines:
                leaks.append(f"{name}: contains the solution/hidden-test line {secret!r}")
    return leaks


# --------------------------------------------------------------------------
# The whole release
# --------------------------------------------------------------------------

def _prepare_output(out):
    if out.exists():
        if not (out / STAMP).exists() and any(out.iterdir()):
            raise ReleaseError(f"{out} exists and is not a student edition made by this command; "
                               "choose another --output or remove it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / STAMP).write_text("made by cs-convnet-course release; overwritten by the next release\n")


def _write_zip(out, zip_path):
    with atomic_open(zip_path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(out.rglob("*")):
            if path.is_file():   # the stamp too: the zip is the same edition as the folder
                info = zipfile.ZipInfo(f"{ZIP_TOP}/{path.relative_to(out).as_posix()}", (1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())


def build_student_edition(output=DEFAULT_OUTPUT, zip_path=None, assignments=None, repo_root=REPO_ROOT,
                          make_zip=True):
    """Build the student edition into ``output`` and (by default) a zip next to it.

    Parameters
    ----------
    output : path of the folder to write (replaced if it holds a previous edition)
    zip_path : path of the zip; default ``<output>/../cs-convnet-student.zip``
    assignments : names of the assignments to release (default: all in assignments/source)
    repo_root : the instructor tree
    make_zip : write the zip too

    Returns
    -------
    dict with 'output', 'zip' (or None), 'assignments', 'stubbed' (package files with stubs)

    Raises
    ------
    ReleaseError
        If nbgrader fails, or if the edition would leak solutions, hidden tests
        or instructor files (nothing is zipped then).
    """
    repo_root, output = Path(repo_root), Path(output).resolve()
    names = list(assignments) if assignments else assignment_names(repo_root)
    unknown = sorted(set(names) - set(assignment_names(repo_root)))
    if unknown:
        raise ReleaseError(f"unknown assignment(s) {unknown}; available: {assignment_names(repo_root)}")
    _prepare_output(output)
    try:
        stubbed = write_package_edition(output, repo_root / "cs_convnet")
    except EditionError as error:
        raise ReleaseError(str(error)) from None
    _copy_support_files(repo_root, output)
    generate_notebooks(repo_root, output, names)
    leaks = find_leaks(output, repo_root)
    if leaks:
        raise ReleaseError("the student edition would leak instructor material:\n  " + "\n  ".join(leaks))
    zip_path = Path(zip_path) if zip_path else output.parent / ZIP_NAME
    if make_zip:
        _write_zip(output, zip_path)
    return {"output": output, "zip": zip_path if make_zip else None, "assignments": names, "stubbed": stubbed}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="cs-convnet-course release",
        description="Build the student edition: notebooks through nbgrader generate_assignment, the package "
                    "with its solutions replaced by stubs, and what learners need to install it; then a zip.")
    parser.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT,
                        help=f"folder to write (default: {DEFAULT_OUTPUT.relative_to(REPO_ROOT)})")
    parser.add_argument("--zip", type=Path, default=None, dest="zip_path",
                        help=f"zip to write (default: {ZIP_NAME} next to the output folder)")
    parser.add_argument("--no-zip", action="store_true", help="write the folder only")
    parser.add_argument("--assignment", "-a", action="append", dest="assignments",
                        help="release only this assignment (repeatable; default: all)")
    args = parser.parse_args(argv)
    try:
        result = build_student_edition(args.output, args.zip_path, args.assignments, make_zip=not args.no_zip)
    except ReleaseError as error:
        print(f"release failed: {error}", file=sys.stderr)
        return 1
    print(f"student edition: {result['output']}")
    print(f"  assignments: {', '.join(result['assignments'])}")
    print(f"  package files with stubs: {', '.join(result['stubbed'])}")
    if result["zip"]:
        print(f"  zip: {result['zip']}")
    print("  leak scan: no solution line, hidden test or instructor file found")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``cs-convnet submit``: collect a learner's work into one zip.

The zip holds, at the same relative paths as in the student edition, the
notebooks (``assignments/<assignment>/*.ipynb``) and the ``cs_convnet`` files
learners edit, plus ``submission.json`` (who, when, and a SHA-256 of every
file). The grader reads exactly these paths; anything missing counts as not
implemented, so the command lists what is missing and which functions still
raise ``NotImplementedError``.

On a JupyterHub with nbgrader's exchange, ``cs-convnet submit --into-assignment
~/ASSIGNMENT`` instead copies the ``cs_convnet`` files learners edit into the
fetched assignment folder, so that ``nbgrader submit ASSIGNMENT`` hands them in
with the notebooks.
"""

import argparse
import ast
import datetime
import getpass
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

from .atomic import atomic_open, write_bytes
from .boundary import LEARNER_FILES
from .cli import CommandError

NOTEBOOK_GLOB = "assignments/*/*.ipynb"
MANIFEST = "submission.json"


def find_root(start=None):
    """The student-edition folder containing ``start`` (default: the current directory), or None."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "cs_convnet").is_dir() and (folder / "assignments").is_dir():
            return folder
    return None


def unimplemented_functions(source):
    """Names of the functions in ``source`` whose body still raises NotImplementedError."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise) and inner.exc is not None:
                    target = inner.exc.func if isinstance(inner.exc, ast.Call) else inner.exc
                    if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                        names.append(node.name)
                        break
    return names


def collect(root):
    """The files of a submission and what is wrong with it.

    Returns
    -------
    files : list of relative paths (str) that exist, learner files first
    problems : list of str, one per missing or broken file
    todo : dict relative path -> functions that still raise NotImplementedError
    """
    root = Path(root)
    files, problems, todo = [], [], {}
    for rel in LEARNER_FILES:
        path = root / rel
        if not path.is_file():
            problems.append(f"missing {rel} (it will be graded as not implemented)")
            continue
        files.append(rel)
        try:
            pending = unimplemented_functions(path.read_text(encoding="utf-8"))
        except SyntaxError as error:
            problems.append(f"{rel} has a syntax error at line {error.lineno}: {error.msg}")
            continue
        if pending:
            todo[rel] = pending
    notebooks = sorted(p for p in root.glob(NOTEBOOK_GLOB) if ".ipynb_checkpoints" not in p.parts)
    if not notebooks:
        problems.append(f"no notebooks found under {root / 'assignments'}")
    for path in notebooks:
        rel = path.relative_to(root).as_posix()
        files.append(rel)
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            problems.append(f"{rel} is not valid notebook JSON ({error}); reopen and save it in JupyterLab")
    return files, problems, todo


def _safe_name(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"


def write_submission(root, output, student):
    """Write the zip and return ``(output, files, problems, todo)``."""
    root, output = Path(root), Path(output)
    files, problems, todo = collect(root)
    manifest = {
        "student": student,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "files": {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in files},
        "not_implemented": todo,
    }
    with atomic_open(output, "wb") as handle, zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for rel in files:
            archive.write(root / rel, rel)
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return output, files, problems, todo


def copy_into_assignment(root, assignment_dir):
    """Copy the learner's package files into a fetched nbgrader assignment folder.

    ``nbgrader submit`` then carries them through the exchange as
    ``<assignment>/cs_convnet/...``, where ``cs-convnet-course autograde`` finds
    them after ``nbgrader collect``. A ``cs_convnet/`` folder already there is
    replaced by the current files. Returns ``(copied, problems, todo)`` as
    :func:`collect` does (notebooks are not checked: nbgrader submits the ones
    of the assignment folder).
    """
    root, assignment_dir = Path(root), Path(assignment_dir)
    if not assignment_dir.is_dir() or not any(assignment_dir.glob("*.ipynb")):
        what = "does not exist" if not assignment_dir.exists() else "holds no notebook"
        raise CommandError(f"--into-assignment {assignment_dir} {what}; expected the folder "
                           "`nbgrader fetch_assignment` made (e.g. ~/02_convolution)")
    if assignment_dir.resolve() == root.resolve():
        raise CommandError(f"--into-assignment {assignment_dir} is the student-edition folder itself; "
                           "expected the fetched assignment folder")
    files, problems, todo = collect(root)
    problems = [p for p in problems if not p.startswith("no notebooks found")]
    copied = [rel for rel in files if rel in LEARNER_FILES]
    target = assignment_dir / "cs_convnet"
    if target.is_symlink() or target.is_file():
        raise CommandError(f"{target} is not a folder; remove it and run this again")
    for stale in (target.rglob("*.py") if target.is_dir() else ()):   # a file no longer submitted must go
        if stale.relative_to(assignment_dir).as_posix() not in copied:
            stale.unlink()
    for rel in copied:
        write_bytes(assignment_dir / rel, (root / rel).read_bytes())
    return copied, problems, todo


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="cs-convnet submit",
        description="Collect your notebooks and the cs_convnet files you edit into one zip to hand in.")
    parser.add_argument("--root", type=Path, default=None,
                        help="the student-edition folder (default: the one containing the current directory)")
    parser.add_argument("--name", default=None, help="your name or student id (default: your login name)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--output", "-o", type=Path, default=None,
                        help="zip to write (default: submission-<name>.zip in the student-edition folder)")
    target.add_argument("--into-assignment", type=Path, default=None, metavar="FOLDER",
                        help="instead of a zip, copy the cs_convnet files you edit into this fetched nbgrader "
                             "assignment folder, to hand in with `nbgrader submit` (see the course README)")
    args = parser.parse_args(argv)

    if args.root is not None:
        root = args.root.resolve()
        if not (root / "cs_convnet").is_dir():
            what = "does not exist" if not root.exists() else "has no cs_convnet/ folder"
            raise CommandError(f"--root {args.root} {what}; expected the student-edition folder "
                               "(the one with cs_convnet/ and assignments/)")
    else:
        root = find_root()
        if root is None:
            raise CommandError("run this inside the student-edition folder (the one with cs_convnet/ and "
                               "assignments/), or pass --root")
    if args.into_assignment is not None:
        copied, problems, todo = copy_into_assignment(root, args.into_assignment)
        print(f"copied {len(copied)} package files into {args.into_assignment / 'cs_convnet'}; "
              f"now run `nbgrader submit {args.into_assignment.resolve().name}`")
        _report(copied, problems, todo)
        return 0 if copied else 1
    student = args.name or getpass.getuser()
    output = args.output or root / f"submission-{_safe_name(student)}.zip"
    output, files, problems, todo = write_submission(root, output, student)

    print(f"wrote {output} ({len(files)} files)")
    _report(files, problems, todo)
    return 0 if files else 1


def _report(files, problems, todo):
    for rel in files:
        print(f"  {rel}")
    for rel, names in todo.items():
        print(f"note: {rel} still raises NotImplementedError in: {', '.join(names)}")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

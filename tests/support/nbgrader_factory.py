"""Factory helpers: a tiny, real nbgrader assignment for the autograder's tests.

The course notebooks take minutes to run; these tests need seconds. The tiny
assignment has what the real ones have -- a locked markdown cell, solution
cells, autograded test cells with visible and hidden tests -- and each test
writes the student edits it needs (a warning, a crash, a deleted cell, ...).
"""

import io
import json
import sys
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "tiny"
NOTEBOOK = "squares"
HIDDEN_MARKER = "HIDDEN_SECRET_INPUT_4242"
# This folder: fake grade-one scripts put it on sys.path to import this module.
SUPPORT = Path(__file__).resolve().parent


def _cell(cell, grade_id, *, solution=False, grade=False, locked=False, points=0):
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked,
            "schema_version": 3}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def source_notebook():
    """The instructor's notebook: solutions and hidden tests included."""
    cells = [
        _cell(new_markdown_cell("# Squares\nImplement `square` and `cube`."), "intro", locked=True),
        _cell(new_code_cell("import numpy as np"), "imports", locked=True),
        _cell(new_code_cell(
            "def square(x):\n"
            "    ### BEGIN SOLUTION\n"
            "    return np.asarray(x) ** 2\n"
            "    ### END SOLUTION"), "square_solution", solution=True),
        _cell(new_code_cell(
            "assert np.allclose(square([1, 2]), [1, 4]), 'square is wrong'\n"
            "### BEGIN HIDDEN TESTS\n"
            f"assert np.allclose(square([3.0]), [9.0])  # {HIDDEN_MARKER}\n"
            "### END HIDDEN TESTS"), "square_test", grade=True, locked=True, points=2),
        _cell(new_code_cell(
            "def cube(x):\n"
            "    ### BEGIN SOLUTION\n"
            "    return np.asarray(x) ** 3\n"
            "    ### END SOLUTION"), "cube_solution", solution=True),
        # a locked markdown cell right before a test: nbgrader 0.9.6 cannot re-insert that test
        _cell(new_markdown_cell("The test below checks `cube`."), "cube_note", locked=True),
        _cell(new_code_cell(
            "assert np.allclose(cube([2]), [8]), 'cube is wrong'"), "cube_test",
            grade=True, locked=True, points=3),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_source(source_root):
    """Write ``source/tiny/squares.ipynb`` under ``source_root``; return the assignment dir."""
    folder = Path(source_root) / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(), folder / f"{NOTEBOOK}.ipynb")
    return folder


def prepare_tiny_course(root):
    """A course prepared at ``root`` (a real gradebook, no course assignments) holding the tiny assignment's source."""
    from autograder.course import prepare as prepare_mod

    root = Path(root)
    course = prepare_mod.prepare(root, source_dir=root.parent / "nothing", assignments=[])
    write_source(course.source)
    return course


def student_notebook(release_dir, *, square_body=None, cube_body=None, before_tests="",
                     delete_cell=None, edit_locked=None):
    """A learner's notebook built from the released one.

    ``square_body``/``cube_body`` replace the solution stubs (None keeps the stub);
    ``before_tests`` is appended to the square solution cell (e.g. a monkeypatch);
    ``delete_cell`` removes the cell with that grade_id; ``edit_locked`` maps a
    grade_id to new source for a locked cell.
    """
    nb = nbformat.read(Path(release_dir) / f"{NOTEBOOK}.ipynb", as_version=4)
    bodies = {"square_solution": square_body, "cube_solution": cube_body}
    cells = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == delete_cell:
            continue
        body = bodies.get(grade_id)
        if body is not None:
            name = grade_id.split("_")[0]
            cell.source = f"def {name}(x):\n" + "\n".join("    " + line for line in body.splitlines())
        if grade_id == "square_solution" and before_tests:
            cell.source += "\n" + before_tests
        if edit_locked and grade_id in edit_locked:
            cell.source = edit_locked[grade_id]
        cells.append(cell)
    nb.cells = cells
    return nb


CORRECT = {"square_body": "return np.asarray(x) ** 2", "cube_body": "return np.asarray(x) ** 3"}


def write_submission(folder, nb):
    """Write a learner notebook into a submission folder (as ``collect`` lays it out)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, str):
        (folder / f"{NOTEBOOK}.ipynb").write_text(nb, encoding="utf-8")
    else:
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
    return folder


def package_zip(layers="x = 1\n", manifest=None, compression=zipfile.ZIP_STORED):
    """Bytes of a submission zip holding cs_convnet/layers.py (and a manifest naming ``manifest``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.writestr("cs_convnet/layers.py", layers)
        if manifest is not None:
            archive.writestr("submission.json", json.dumps({"student": manifest}))
    return buffer.getvalue()


def package_report(score_fraction=1.0):
    """A grade-one report in F1's format, for tests that do not run the sandbox."""
    checks = [
        {"name": "relu_forward_shapes", "function": "relu_forward", "max_points": 2.0},
        {"name": "conv_backward_numeric", "function": "conv_backward_naive", "max_points": 3.0},
    ]
    for check in checks:
        check["points"] = check["max_points"] * score_fraction
        check["passed"] = score_fraction == 1.0
        check["message"] = "ok" if check["passed"] else "dx differs at [0, 1, 2, 3]"
    report = {"score": sum(c["points"] for c in checks), "max_score": 5.0,
              "isolation": "test", "checks": checks}
    return json.loads(json.dumps(report))


def prepare_submitted_course(base, students, edits=CORRECT):
    """A course prepared at ``base/course`` from the tiny assignment's source (written to
    ``base/src``), where each of ``students`` has submitted the released notebook with ``edits``."""
    from autograder.course import prepare as prepare_mod

    base = Path(base)
    write_source(base / "src")
    course = prepare_mod.prepare(base / "course", source_dir=base / "src")
    released = course.root / "release" / ASSIGNMENT
    for student in students:
        write_submission(course.submitted / student / ASSIGNMENT, student_notebook(released, **edits))
    return course


# A stand-in for grade-one (`script SUBMISSION --json OUT`) that gives every package full marks.
FULL_MARKS_GRADE_ONE = f"""
import json, sys
sys.path.insert(0, {str(SUPPORT)!r})
import nbgrader_factory as f
json.dump(f.package_report(1.0), open(sys.argv[3], "w"))
"""


def full_marks_grade_one(folder):
    """Write :data:`FULL_MARKS_GRADE_ONE` to ``folder/fake_grade_one.py``; return the command that runs it."""
    script = Path(folder) / "fake_grade_one.py"
    script.write_text(FULL_MARKS_GRADE_ONE)
    return [sys.executable, str(script)]

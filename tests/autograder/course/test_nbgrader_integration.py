"""Notebook autograding through real nbgrader 0.9.6, on a tiny real assignment.

One module-scoped course is prepared with ``nbgrader generate_assignment``; a
class of learners, each showing one pitfall, is autograded by the batch (two at
a time); the tests then read the gradebook, the notes and the feedback HTML.
The package side uses a stand-in ``grade-one`` command here (tests of the real
one live with the sandbox); its report format is the real one.
"""

import json
import sys

import nbformat
import pytest
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.course import collect, export, feedback, gradebook, prepare as prepare_mod
from autograder.course.layout import PACKAGE_ASSIGNMENT
from autograder.course.nbgrader_grading import monkeypatch_findings
from autograder.course.preprocessors import CrashTolerantExecute, StderrIsNotFailure
from autograder.engine import batch
from support import nbgrader_factory as factory
from nbgrader import utils
from nbgrader.preprocessors import Execute

FAKE_GRADE_ONE = """
import json, os, sys
sys.path.insert(0, {support!r})
import nbgrader_factory as f
submission, out = sys.argv[1], sys.argv[3]
full = os.path.exists(os.path.join(submission, "cs_convnet", "layers.py"))
json.dump(f.package_report(1.0 if full else 0.0), open(out, "w"))
"""

WARNS = "import warnings\nwarnings.warn('float64 promoted', RuntimeWarning)\nreturn np.asarray(x) ** 2"
LEARNERS = {
    # name: (edits of the released notebook, expected {cell: score})
    "correct": (factory.CORRECT, {"square_test": 2, "cube_test": 3}),
    "warns": ({"square_body": WARNS, "cube_body": "return np.asarray(x) ** 3"}, {"square_test": 2, "cube_test": 3}),
    "wrong_cube": ({"square_body": "return np.asarray(x) ** 2", "cube_body": "return x"},
                   {"square_test": 2, "cube_test": 0}),
    "deletes_test": ({**factory.CORRECT, "delete_cell": "cube_test"}, {"square_test": 2, "cube_test": 3}),
    "edits_test": ({"square_body": "return 0", "cube_body": "return np.asarray(x) ** 3",
                    "edit_locked": {"square_test": "pass  # trust me"}}, {"square_test": 0, "cube_test": 3}),
    "crashes": ({"square_body": "return np.asarray(x) ** 2", "cube_body": "import os\nos._exit(3)"},
                {"square_test": 2, "cube_test": 0}),
    "patches_numpy": ({"square_body": "return 0", "cube_body": "return 0",
                       "before_tests": "np.allclose = lambda *a, **k: True"}, {"square_test": 0, "cube_test": 0}),
    "loops": ({"square_body": "return np.asarray(x) ** 2", "cube_body": "while True:\n    pass"},
              {"square_test": 2, "cube_test": 0}),
}


SPY = """for attempt, path, mode in [("read", {gradebook!r}, "rb"), ("write", {planted!r}, "w")]:
    try:
        open(path, mode).close()
        print("SPY", attempt, "succeeded")
    except OSError as error:
        print("SPY", attempt, "blocked:", type(error).__name__)
try:
    print(open("squares.ipynb").read())   # the notebook being graded holds the hidden tests
except OSError:
    pass
return np.asarray(x) ** 2"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A tiny course, a class of learners collected from folders and zips, autograded and exported."""
    base = tmp_path_factory.mktemp("nbgrader")
    factory.write_source(base / "src")
    course = prepare_mod.prepare(base / "course", source_dir=base / "src")
    released = course.root / "release" / factory.ASSIGNMENT
    inbox = base / "inbox"
    for name, (edits, _) in LEARNERS.items():
        factory.write_submission(inbox / name / "assignments" / factory.ASSIGNMENT,
                                 factory.student_notebook(released, **edits))
    spy = SPY.format(gradebook=str(course.gradebook_path), planted=str(course.root / "planted.txt"))
    factory.write_submission(inbox / "spy" / "assignments" / factory.ASSIGNMENT,
                             factory.student_notebook(released, square_body=spy, cube_body="return np.asarray(x) ** 3"))
    (inbox / "correct" / "cs_convnet").mkdir()
    (inbox / "correct" / "cs_convnet" / "layers.py").write_text("# learner's layers\n")
    factory.write_submission(inbox / "broken_json", '{"cells": [ this is not json')
    script = base / "fake_grade_one.py"
    script.write_text(FAKE_GRADE_ONE.format(support=str(factory.SUPPORT)))
    collected = collect.collect(course.root, inbox)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("CS_CONVNET_CELL_TIMEOUT", "15")
    try:
        summary = batch.autograde(course.root, jobs=2, progress=False,
                                  grade_one=[sys.executable, str(script)])
    finally:
        monkeypatch.undo()
    return {"course": course, "summary": summary, "collected": collected}


def _cells(course, student):
    rows = gradebook.cell_rows(course)
    return {r["cell"]: r for r in rows if r["student"] == student and r["assignment"] == factory.ASSIGNMENT}


def _notes(course, student):
    record = json.loads((course.records / f"{student}.json").read_text())
    return record["notes"] + [n for a in record["assignments"].values() for n in a["notes"]]


def test_every_learner_is_graded_without_failure(graded):
    """Does one batch grade the whole class, hostile notebooks included?"""
    assert graded["summary"]["failed"] == {}
    assert sorted(graded["summary"]["graded"]) == sorted([*LEARNERS, "broken_json", "spy"])


@pytest.mark.parametrize("student", list(LEARNERS))
def test_each_test_cell_scores_what_it_should(graded, student):
    """Does each learner get exactly the points of the tests their notebook passes?"""
    cells = _cells(graded["course"], student)
    assert {name: row["auto_score"] for name, row in cells.items()} == LEARNERS[student][1]


def test_stderr_pitfall_is_real_in_nbgrader():
    """Does nbgrader 0.9.6 give 0 to a passing grade cell that wrote to stderr, and do we undo it?"""
    cell = new_code_cell("square([1])")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 2,
                                 "locked": True, "schema_version": 3}
    cell.outputs = [new_output("stream", name="stderr", text="RuntimeWarning: float64 promoted\n")]
    assert utils.determine_grade(cell) == (0, 2.0)
    nb = new_notebook(cells=[cell])
    StderrIsNotFailure().preprocess(nb, {})
    assert utils.determine_grade(nb.cells[0]) == (2.0, 2.0)
    assert "RuntimeWarning" in nb.cells[0].outputs[0].text


def test_stderr_fix_keeps_failing_tests_at_zero():
    """Does a grade cell that raised still score 0 when it also wrote to stderr?"""
    cell = new_code_cell("assert False")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 2,
                                 "locked": True, "schema_version": 3}
    cell.outputs = [new_output("stream", name="stderr", text="warning\n"),
                    new_output("error", ename="AssertionError", evalue="", traceback=[])]
    nb = new_notebook(cells=[cell])
    StderrIsNotFailure().preprocess(nb, {})
    assert utils.determine_grade(nb.cells[0]) == (0, 2.0)


def test_dead_kernel_pitfall_and_fix(tmp_path):
    """Does a dead kernel abort nbgrader's Execute, while ours keeps the cells that ran before?"""
    nb = new_notebook(cells=[new_code_cell("x = 1\nprint('before')"), new_code_cell("import os; os._exit(1)"),
                             new_code_cell("print('after')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    resources = {"metadata": {"path": str(tmp_path)}}
    with pytest.raises(DeadKernelError):
        Execute(timeout=60).preprocess(nbformat.from_dict(nb), resources)
    executed, _ = CrashTolerantExecute(timeout=60).preprocess(nbformat.from_dict(nb), resources)
    assert executed.cells[0].outputs[0].text == "before\n"
    assert executed.cells[1].outputs[-1].ename == "KernelDied"
    assert executed.cells[2].outputs[0].ename == "NotRunAfterKernelDeath"


def test_crash_is_noted_and_scored_not_none(graded):
    """Does a learner whose code kills the kernel get the earlier points, 0 (not None) after, and a note?"""
    cells = _cells(graded["course"], "crashes")
    assert cells["cube_test"]["auto_score"] == 0 and not cells["cube_test"]["needs_manual_grade"]
    assert any("kernel died in cell cube_test" in n for n in _notes(graded["course"], "crashes"))


def test_deleted_test_cell_is_reinserted_even_after_a_locked_markdown_cell(graded):
    """Is a deleted test re-inserted and run (where nbgrader 0.9.6's own code raises KeyError)?"""
    assert any("cube_test was deleted; nbgrader re-inserted" in n for n in _notes(graded["course"], "deletes_test"))
    autograded = graded["course"].autograded / "deletes_test" / factory.ASSIGNMENT / f"{factory.NOTEBOOK}.ipynb"
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nbformat.read(autograded, as_version=4).cells]
    assert ids.index("cube_test") == ids.index("cube_note") + 1


def test_vanilla_overwrite_cells_fails_on_that_deletion(graded):
    """Is the KeyError of nbgrader 0.9.6's add_missing_cells real (so the fix is needed)?"""
    from nbgrader.preprocessors import OverwriteCells

    course = graded["course"]
    nb = factory.student_notebook(course.root / "release" / factory.ASSIGNMENT, delete_cell="cube_test")
    resources = {"nbgrader": {"notebook": factory.NOTEBOOK, "assignment": factory.ASSIGNMENT,
                              "db_url": course.db_url}}
    with pytest.raises(KeyError):
        OverwriteCells(add_missing_cells=True).preprocess(nb, resources)


def test_edited_locked_test_is_restored_and_noted(graded):
    """Does replacing a test with `pass` earn nothing, with a note saying the cell was restored?"""
    assert _cells(graded["course"], "edits_test")["square_test"]["auto_score"] == 0
    assert any("locked cell square_test was edited" in n for n in _notes(graded["course"], "edits_test"))
    assert not any("was edited" in n for n in _notes(graded["course"], "correct"))


def test_monkeypatching_numpy_fools_no_test_and_is_noted(graded):
    """Does `np.allclose = lambda *a, **k: True` in the kernel leave the trusted scores at 0, with a note?"""
    cells = _cells(graded["course"], "patches_numpy")
    # the tests are scored in the grader's process, with its own numpy: wrong functions earn nothing
    assert {name: c["auto_score"] for name, c in cells.items()} == {"square_test": 0, "cube_test": 0}
    assert not any(c["needs_manual_grade"] for c in cells.values())
    assert any("np.allclose = ..." in n and "changes no score" in n for n in _notes(graded["course"], "patches_numpy"))


def test_monkeypatch_scan_ignores_ordinary_code():
    """Does the scan leave ordinary solutions alone and catch setattr too?"""
    nb = new_notebook(cells=[new_code_cell("import numpy as np\ny = np.zeros(3)\ny[0] = 1\nnp.random.seed(0)"),
                             new_code_cell("setattr(np.testing, 'assert_allclose', print)")])
    findings = monkeypatch_findings(nb)
    assert len(findings) == 1 and "setattr(np.testing" in findings[0]


def test_cell_timeout_scores_zero_and_the_notebook_goes_on(graded):
    """Does an infinite loop cost only its test, within the per-cell timeout?"""
    assert _cells(graded["course"], "loops")["square_test"]["auto_score"] == 2
    autograded = graded["course"].autograded / "loops" / factory.ASSIGNMENT / f"{factory.NOTEBOOK}.ipynb"
    outputs = [o for c in nbformat.read(autograded, as_version=4).cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.get("ename") == "CellTimeoutError" for o in outputs)


def test_invalid_notebook_json_is_noted_and_scores_zero(graded):
    """Does a notebook that is not JSON get 0 for its tests, its package points, and a clear note?"""
    cells = _cells(graded["course"], "broken_json")
    assert {c["auto_score"] for c in cells.values()} == {0}
    notes = _notes(graded["course"], "broken_json")
    assert any("is not a valid notebook" in n for n in notes)
    collected = next(e for e in graded["collected"] if e["student"] == "broken_json")
    assert any("is not a valid notebook" in n for n in collected["notes"])


def test_package_checks_live_in_the_same_gradebook(graded):
    """Are grade-one's checks in nbgrader's gradebook, one grade cell per check?"""
    rows = [r for r in gradebook.cell_rows(graded["course"]) if r["assignment"] == PACKAGE_ASSIGNMENT]
    correct = {r["cell"]: r["score"] for r in rows if r["student"] == "correct"}
    assert correct == {"relu_forward_shapes": 2.0, "conv_backward_numeric": 3.0}
    assert gradebook.scores(graded["course"])["warns"][PACKAGE_ASSIGNMENT] == (0.0, 5.0)


@pytest.fixture(scope="module")
def delivered(graded):
    """Feedback HTML and CSV exports of the graded class."""
    course = graded["course"]
    return {"feedback": feedback.generate(course.root), "exports": export.export(course.root)}


def test_feedback_never_shows_hidden_tests(graded, delivered):
    """Do hidden tests (source and tracebacks) stay out of the feedback, though graded?"""
    course = graded["course"]
    autograded = (course.autograded / "edits_test" / factory.ASSIGNMENT / f"{factory.NOTEBOOK}.ipynb").read_text()
    assert factory.HIDDEN_MARKER in autograded          # hidden tests were run ...
    pages = [p for p in delivered["feedback"] if p.parent.name == factory.ASSIGNMENT]
    assert len(pages) == len(LEARNERS) + 1              # every learner with a gradable notebook
    for page in pages:
        assert factory.HIDDEN_MARKER not in page.read_text()   # ... and never shown
    # even when the learner's code printed the notebook it ran from
    spy = (course.autograded / "spy" / factory.ASSIGNMENT / f"{factory.NOTEBOOK}.ipynb").read_text()
    assert spy.count(factory.HIDDEN_MARKER) > 1
    assert "output withheld" in (course.feedback / "spy" / factory.ASSIGNMENT / f"{factory.NOTEBOOK}.html").read_text()


def test_feedback_lists_package_checks_and_notes(graded, delivered):
    """Does each student's package page give the checks' messages and the grading notes?"""
    page = graded["course"].feedback / "broken_json" / PACKAGE_ASSIGNMENT / f"{PACKAGE_ASSIGNMENT}.html"
    html = page.read_text()
    assert "dx differs at [0, 1, 2, 3]" in html and "conv_backward_naive" in html
    assert "is not a valid notebook" in html


def test_csv_exports_hold_every_score(graded, delivered):
    """Do nbgrader's CSV export and the per-cell CSV hold the notebook and package scores?"""
    import csv

    per_assignment, per_cell = delivered["exports"]
    rows = list(csv.DictReader(per_assignment.open()))
    correct = {r["assignment"]: float(r["score"]) for r in rows if r["student_id"] == "correct"}
    assert correct == {factory.ASSIGNMENT: 5.0, PACKAGE_ASSIGNMENT: 5.0}
    cells = list(csv.DictReader(per_cell.open()))
    assert len(cells) == (len(LEARNERS) + 2) * (2 + 2)


def test_notebook_kernel_cannot_touch_the_course(graded):
    """Is the learner's kernel unable to read the gradebook or write into the course, yet graded?"""
    from autograder.sandbox.notebook_kernel import _bwrap_usable

    if not _bwrap_usable():
        pytest.skip("bubblewrap does not work here: kernels run with rlimits only (reported in the notes)")
    course = graded["course"]
    autograded = course.autograded / "spy" / factory.ASSIGNMENT / f"{factory.NOTEBOOK}.ipynb"
    text = "".join(o.get("text", "") for c in nbformat.read(autograded, as_version=4).cells
                   if c.cell_type == "code" for o in c.outputs)
    assert "SPY read blocked" in text and "SPY read succeeded" not in text
    # a write may succeed inside the sandbox's throw-away file system, but never reaches the course
    assert not (course.root / "planted.txt").exists()
    assert {r["auto_score"] for r in _cells(course, "spy").values()} == {2, 3}
    record = json.loads((course.records / "spy.json").read_text())
    assert record["assignments"][factory.ASSIGNMENT]["kernel_isolation"].startswith("bubblewrap")

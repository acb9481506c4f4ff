"""The instructor's review: feedback that waits for a person, package checks in formgrader.

A tiny course (tests/support/nbgrader_factory.py) graded with a fake grade-one; each
test reads what the instructor would see: the feedback page, the warnings of
``feedback``, formgrader's own API (the lists its pages show) and the gradebook
after a manual override and a regrade.
"""

import json
import sys
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from autograder import cli
from autograder.course import feedback, gradebook
from autograder.course.layout import PACKAGE_ASSIGNMENT, PACKAGE_NOTEBOOK
from autograder.engine import batch
from support import nbgrader_factory as factory

FAKE_GRADE_ONE = f"""
import json, sys
sys.path.insert(0, {str(factory.SUPPORT)!r})
import nbgrader_factory as f
json.dump(f.package_report(float(open(sys.argv[0] + ".fraction").read())), open(sys.argv[3], "w"))
"""


def _grade_one(course, fraction=1.0):
    script = course.root.parent / "fake_grade_one.py"
    script.write_text(FAKE_GRADE_ONE)
    Path(str(script) + ".fraction").write_text(str(fraction))
    return [sys.executable, str(script)]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Two learners, both correct, graded; ``waits`` has a cell that still needs a person."""
    base = tmp_path_factory.mktemp("review")
    course = factory.prepare_submitted_course(base, ["waits", "done"])
    batch.autograde(course.root, progress=False, grade_one=_grade_one(course))
    with gradebook.open_gradebook(course) as gb:     # what a written answer looks like before grading
        grade = gb.find_grade("cube_test", factory.NOTEBOOK, factory.ASSIGNMENT, "waits")
        grade.auto_score, grade.needs_manual_grade = None, True
        gb.db.commit()
    return course


def _page(course, student, assignment=factory.ASSIGNMENT, notebook=factory.NOTEBOOK):
    return course.feedback / student / assignment / f"{notebook}.html"


def test_feedback_says_not_graded_yet_and_warns(course):
    """Does a cell waiting for a person read "not graded yet" (not 0.0), with one warning line?"""
    warnings = []
    files = feedback.generate(course.root, warn=warnings.append)
    html = _page(course, "waits").read_text()
    assert _page(course, "waits") in files
    assert "Score: not graded yet / 3.0" in html
    assert "Score: 2 so far, 1 cell not graded yet / 5.0" in html
    assert "not graded yet" not in _page(course, "done").read_text()
    assert warnings == [f"warning: waits/{factory.ASSIGNMENT}: 1 cell needs manual grading in formgrader; "
                        "its feedback shows them as not graded yet"]


def test_require_graded_skips_the_waiting_page(course, capsys):
    """With --require-graded, is the waiting learner's page left unwritten (and said so on stderr)?"""
    import shutil

    shutil.rmtree(course.feedback, ignore_errors=True)
    assert cli.main(["--course-dir", str(course.root), "feedback", "--require-graded"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"warning: waits/{factory.ASSIGNMENT}: 1 cell needs manual grading in formgrader; "
                   "its feedback is not written until they are graded (--require-graded)"]
    assert not _page(course, "waits").exists()
    assert _page(course, "done").is_file()
    assert _page(course, "waits", PACKAGE_ASSIGNMENT, PACKAGE_NOTEBOOK).is_file()


def _formgrader_api(course):
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()
    return NbGraderAPI(CourseDirectory(config=config), config=config), config


def test_formgrader_lists_the_package_checks_without_a_banner(course):
    """Does formgrader list the package checks with their points, the exchange exist, the config print?"""
    api, config = _formgrader_api(course)
    assert not api.exchange_missing and api.course_id == "cs-convnet"
    listed = {a["name"]: a for a in api.get_assignments()}
    assert {factory.ASSIGNMENT, PACKAGE_ASSIGNMENT} <= set(listed)
    assert listed[PACKAGE_ASSIGNMENT]["max_score"] == 5.0
    submissions = api.get_notebook_submissions(PACKAGE_ASSIGNMENT, PACKAGE_NOTEBOOK)
    assert {s["student"] for s in submissions} == {"waits", "done"}
    json.dumps(config)        # formgrader's "Formgrader config is not serializable" otherwise
    # formgrader's list does not make the package checks a notebook assignment to collect or run
    assert PACKAGE_ASSIGNMENT not in course.assignments()


def test_a_package_check_override_survives_a_regrade(course):
    """Does a manual score on a package check stand through autograde --force, until its result changes?"""
    def row():
        return next(r for r in gradebook.cell_rows(course)
                    if r["student"] == "done" and r["cell"] == "conv_backward_numeric")

    with gradebook.open_gradebook(course) as gb:    # what formgrader does when a score is typed
        grade = gb.find_grade("conv_backward_numeric", PACKAGE_NOTEBOOK, PACKAGE_ASSIGNMENT, "done")
        grade.manual_score, grade.needs_manual_grade = 1.0, False
        gb.db.commit()
    batch.autograde(course.root, students=["done"], force=True, progress=False, grade_one=_grade_one(course))
    assert (row()["score"], row()["needs_manual_grade"]) == (1.0, False)
    batch.autograde(course.root, students=["done"], force=True, progress=False,
                    grade_one=_grade_one(course, fraction=0.0))
    assert (row()["manual_score"], row()["auto_score"], row()["needs_manual_grade"]) == (1.0, 0.0, True)

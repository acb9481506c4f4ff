"""The batch: resumable, interruptible, one gradebook transaction per student."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.course import gradebook
from autograder.course.layout import PACKAGE_ASSIGNMENT
from autograder.engine import batch
from support import nbgrader_factory as factory
from support.paths import REPO

STUDENTS = ["s1", "s2", "s3", "s4"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    course = factory.prepare_submitted_course(base, STUDENTS)
    factory.full_marks_grade_one(base)
    return course


def _grade_one(course):
    return [sys.executable, str(course.root.parent / "fake_grade_one.py")]


def _processes_inside(folder):
    """Live processes whose working directory is inside ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(Path(os.readlink(proc / "cwd"))).startswith(str(folder)):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_interrupted_batch_resumes_without_losing_grades(course):
    """Killed midway, does a rerun grade the rest and leave earlier grades untouched, with no process left?"""
    script = (f"import sys; sys.path[:0] = [{str(REPO)!r}, {str(factory.SUPPORT)!r}]\n"
              "from autograder.engine import batch\n"
              f"batch.autograde({str(course.root)!r}, jobs=1, progress=False, grade_one={_grade_one(course)!r})\n")
    runner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not list(course.records.glob("*.json")) and time.monotonic() < deadline and runner.poll() is None:
        time.sleep(0.2)
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=60) != 0, "the batch finished before it could be interrupted"
    time.sleep(0.5)
    assert _processes_inside(course.root) == []          # no nbgrader or kernel left behind

    first = {p.stem: (p.read_bytes(), p.stat().st_mtime_ns) for p in course.records.glob("*.json")}
    assert 1 <= len(first) < len(STUDENTS)
    recorded = gradebook.cell_rows(course)
    in_gradebook = {r["student"] for r in recorded}
    assert set(first) <= in_gradebook                    # a record is written only after the grades
    assert all(r["auto_score"] is not None for r in recorded)   # no half-written student

    summary = batch.autograde(course.root, jobs=2, progress=False, grade_one=_grade_one(course))
    assert sorted(summary["graded"] + summary["skipped"]) == STUDENTS
    assert set(summary["skipped"]) == set(first)
    for student, (data, mtime) in first.items():
        path = course.records / f"{student}.json"
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime
    table = gradebook.scores(course)
    assert all(table[s] == {factory.ASSIGNMENT: (5.0, 5.0), PACKAGE_ASSIGNMENT: (5.0, 5.0)} for s in STUDENTS)
    assert not any(course.scratch.iterdir())


def test_batch_killed_outright_leaves_no_process_and_resumes(tmp_path):
    """After SIGKILL (no clean-up possible), is no grading process left, and does a rerun finish?"""
    small = factory.prepare_submitted_course(tmp_path, ["k1", "k2"])
    grade_one = factory.full_marks_grade_one(tmp_path)
    script = (f"import sys; sys.path[:0] = [{str(REPO)!r}, {str(factory.SUPPORT)!r}]\n"
              "from autograder.engine import batch\n"
              f"batch.autograde({str(small.root)!r}, jobs=2, progress=False, grade_one={grade_one!r})\n")
    runner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not any(small.scratch.glob("*/autograded")) and time.monotonic() < deadline and runner.poll() is None:
        time.sleep(0.1)   # until nbgrader is at work
    runner.kill()
    runner.wait(timeout=60)
    time.sleep(1.0)
    assert _processes_inside(small.root) == []
    kernel_dirs = [Path(os.readlink(link)) for link in small.scratch.glob("*/runtime")]
    assert kernel_dirs
    summary = batch.autograde(small.root, jobs=2, progress=False, grade_one=grade_one)
    assert not any(folder.exists() for folder in kernel_dirs)   # the killed run's leftovers are gone
    assert sorted(summary["graded"] + summary["skipped"]) == ["k1", "k2"]
    assert all(v[factory.ASSIGNMENT] == (5.0, 5.0) for v in gradebook.scores(small).values())


def test_rerun_skips_unchanged_and_regrades_changed(course):
    """Does a rerun grade only students whose collected files changed (or everyone with force)?"""
    batch.autograde(course.root, progress=False, grade_one=_grade_one(course))
    released = course.root / "release" / factory.ASSIGNMENT
    factory.write_submission(course.submitted / "s2" / factory.ASSIGNMENT,
                             factory.student_notebook(released, square_body="return 0", cube_body="return 0"))
    summary = batch.autograde(course.root, progress=False, grade_one=_grade_one(course))
    assert summary["graded"] == ["s2"]
    assert gradebook.scores(course)["s2"][factory.ASSIGNMENT] == (0.0, 5.0)
    forced = batch.autograde(course.root, students=["s1"], force=True, progress=False, grade_one=_grade_one(course))
    assert forced["graded"] == ["s1"]


def test_manual_scores_survive_a_regrade(course):
    """Does a regrade keep a grader's manual score, and ask for a person again only when the answer changed?"""
    def square_row():
        return next(r for r in gradebook.cell_rows(course) if r["student"] == "s3" and r["cell"] == "square_test")

    with gradebook.open_gradebook(course) as gb:
        grade = gb.find_grade("square_test", factory.NOTEBOOK, factory.ASSIGNMENT, "s3")
        grade.manual_score = 1.5
        grade.needs_manual_grade = False      # what formgrader does when a person saves a score
        gb.db.commit()
    batch.autograde(course.root, students=["s3"], force=True, progress=False, grade_one=_grade_one(course))
    assert (square_row()["manual_score"], square_row()["score"], square_row()["needs_manual_grade"]) == (1.5, 1.5, False)

    released = course.root / "release" / factory.ASSIGNMENT
    factory.write_submission(course.submitted / "s3" / factory.ASSIGNMENT,
                             factory.student_notebook(released, square_body="return np.asarray(x) * x"))
    batch.autograde(course.root, students=["s3"], force=True, progress=False, grade_one=_grade_one(course))
    assert (square_row()["manual_score"], square_row()["needs_manual_grade"]) == (1.5, True)


def test_a_student_is_recorded_in_one_transaction(course):
    """Does a failure halfway through recording leave no trace of that student in the gradebook?"""
    report = factory.package_report()
    del report["checks"][1]["points"]            # breaks after the student and cells were added
    with pytest.raises(KeyError):
        gradebook.record_student(course, "halfway", {}, report)
    with gradebook.open_gradebook(course) as gb:
        assert "halfway" not in {s.id for s in gb.students}


def test_a_failing_grade_one_is_retried_and_reported_never_a_zero(course, tmp_path):
    """When grade-one itself fails, is it retried, reported, and the learner's earlier grade left alone?"""
    batch.autograde(course.root, students=["s4"], progress=False, grade_one=_grade_one(course))
    before = (course.records / "s4.json").read_bytes()
    runs = tmp_path / "runs"
    broken = tmp_path / "broken_grade_one.py"
    broken.write_text(f"import sys; open({str(runs)!r}, 'a').write('x'); sys.exit('grade-one exploded')")
    summary = batch.autograde(course.root, students=["s4"], force=True, progress=False,
                              grade_one=[sys.executable, str(broken)])
    assert summary["graded"] == [] and list(summary["failed"]) == ["s4"]
    assert "package checks could not run" in summary["failed"]["s4"] and "grade-one exploded" in summary["failed"]["s4"]
    assert runs.read_text() == "x" * batch.MAX_ATTEMPTS
    assert (course.records / "s4.json").read_bytes() == before
    assert gradebook.scores(course)["s4"][PACKAGE_ASSIGNMENT] == (5.0, 5.0)

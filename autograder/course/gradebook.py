"""The course gradebook: nbgrader's SQLite database, written one student at a time.

Only the batch's main process writes here, and each student's grades land in a
single transaction (:func:`record_student`): an interrupted batch leaves every
student either fully recorded or untouched. nbgrader's ``Gradebook`` commits
after each call; :func:`_one_transaction` turns those commits into flushes.

The package checks of ``grade-one`` are stored as the assignment
``package_checks`` with one notebook of the same name and one grade cell per
check, so nbgrader's own views, exports and feedback include them. Formgrader
lists only assignments with a source folder, so :func:`_write_package_source`
keeps ``source/package_checks/package_checks.ipynb`` (one grade cell per check)
for it: the instructor reviews and overrides a check there (Manual Grading), and
the override stands through regrades while the check's result is unchanged.
"""

import hashlib
import json
import shutil
import sqlite3
from contextlib import contextmanager

import nbformat

from nbgrader.api import (Comment, Grade, GradeCell, Gradebook, MissingEntry, SubmittedAssignment,
                         SubmittedNotebook)

from cs_convnet.atomic import write_json, write_text

from .layout import PACKAGE_ASSIGNMENT, PACKAGE_NOTEBOOK, ensure_alembic_on_path

_STUDENT_TABLES = ("grade", "comment", "submitted_notebook", "submitted_assignment", "student")


def open_gradebook(course):
    ensure_alembic_on_path()
    return Gradebook(course.db_url, course_id="cs-convnet")


def assignment_names(course):
    if not course.gradebook_path.exists():
        return set()
    with open_gradebook(course) as gb:
        return {a.name for a in gb.assignments}


def snapshot_structure(course):
    """Copy the gradebook without any student into ``grading/assignments.db``."""
    course.grading.mkdir(parents=True, exist_ok=True)
    partial = course.template_db.with_suffix(".partial")
    with sqlite3.connect(course.gradebook_path) as source, sqlite3.connect(partial) as copy:
        source.backup(copy)
        for table in _STUDENT_TABLES:
            copy.execute(f"DELETE FROM {table}")
        copy.commit()
    partial.replace(course.template_db)


def seed_gradebook(course, dest):
    """Write a structure-only gradebook at ``dest`` (a student's private grading run)."""
    shutil.copyfile(course.template_db, dest)


@contextmanager
def _one_transaction(gb):
    session = gb.db
    commit = session.commit
    session.commit = session.flush
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    finally:
        del session.commit
    commit()


def _ensure_package_cells(gb, checks):
    """Create the package_checks assignment and a grade cell for each check (idempotent)."""
    try:
        gb.find_assignment(PACKAGE_ASSIGNMENT)
    except MissingEntry:
        gb.add_assignment(PACKAGE_ASSIGNMENT)
    try:
        notebook = gb.find_notebook(PACKAGE_NOTEBOOK, PACKAGE_ASSIGNMENT)
    except MissingEntry:
        notebook = gb.add_notebook(PACKAGE_NOTEBOOK, PACKAGE_ASSIGNMENT)
    # one query for the cells already there: a batch records thousands of students with the same checks
    known = dict(gb.db.query(GradeCell.name, GradeCell.max_score).filter(GradeCell.notebook_id == notebook.id))
    for check in checks:
        if known.get(check["name"]) != float(check["max_points"]):
            gb.update_or_create_grade_cell(check["name"], PACKAGE_NOTEBOOK, PACKAGE_ASSIGNMENT,
                                           max_score=float(check["max_points"]), cell_type="code")


def _write_package_source(course, checks):
    """``source/package_checks/package_checks.ipynb``: what formgrader lists for the package checks."""
    intro = ("# Package checks\n\nGraded by `grade-one` on each learner's `cs_convnet` package "
             "(`autograde` runs it), not by running this notebook: do not generate or release it. "
             "To override a check, type a manual score in Manual Grading; it stands through "
             "`autograde --force` until that check's result changes.")
    cells = [nbformat.v4.new_markdown_cell(intro, id="intro")]
    for index, check in enumerate(checks):
        cells.append(nbformat.from_dict({
            "id": f"check-{index}", "cell_type": "code", "execution_count": None, "outputs": [],
            "source": f"# {check['function']}: {check['name']}",
            "metadata": {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": check["name"],
                                      "points": float(check["max_points"]), "schema_version": 3}}}))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = course.source / PACKAGE_ASSIGNMENT / f"{PACKAGE_NOTEBOOK}.ipynb"
    text = nbformat.writes(nb) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text)


def _submission(gb, assignment, student):
    """The student's submission, created (as ``Gradebook.add_submission`` does) with a grade row per cell."""
    created = []
    with gb.db.no_autoflush:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            submission = SubmittedAssignment(assignment=gb.find_assignment(assignment),
                                             student=gb.find_student(student))
            created.append(submission)
        have = {nb.notebook.name: nb for nb in submission.notebooks}
        for notebook in submission.assignment.notebooks:
            submitted = have.get(notebook.name)
            if submitted is None:
                submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
                created.append(submitted)
            graded = {grade.cell_id for grade in submitted.grades}
            commented = {comment.cell_id for comment in submitted.comments}
            for cell in [*notebook.grade_cells, *notebook.task_cells]:
                if cell.id not in graded:
                    created.append(Grade(cell_id=cell.id, notebook=submitted))
            for cell in [*notebook.solution_cells, *notebook.task_cells]:
                if cell.id not in commented:
                    created.append(Comment(cell_id=cell.id, notebook=submitted))
        for item in created:
            gb.db.add(item)
    gb.db.flush()
    return submission


def record_student(course, student, notebook_scores, package_report=None, review=None):
    """Write one student's grades in one transaction.

    Parameters
    ----------
    notebook_scores : dict
        ``{assignment: {notebook: {grade cell: auto score or None}}}``; None keeps
        the cell for manual grading (written answers).
    package_report : dict or None
        grade-one's report (``checks`` with ``name``, ``points``, ``max_points``).
    review : dict or None
        ``{assignment: [notebook, ...]}`` whose grades are flagged "needs manual grade".
    """
    review = review or {}
    with open_gradebook(course) as gb, _one_transaction(gb):
        gb.update_or_create_student(student)
        if package_report is not None:
            _ensure_package_cells(gb, package_report["checks"])
            notebook_scores = dict(notebook_scores)
            scores = {check["name"]: float(check["points"]) for check in package_report["checks"]}
            cells = gb.find_notebook(PACKAGE_NOTEBOOK, PACKAGE_ASSIGNMENT).grade_cells
            # a check missing from this report (an older or failed run) earns nothing
            notebook_scores[PACKAGE_ASSIGNMENT] = {
                PACKAGE_NOTEBOOK: {cell.name: scores.get(cell.name, 0.0) for cell in cells}}
        graded_answers = _read_graded_answers(course)
        for assignment, notebooks in notebook_scores.items():
            submission = _submission(gb, assignment, student)
            for submitted in submission.notebooks:
                cells = notebooks.get(submitted.notebook.name, {})
                flagged = submitted.notebook.name in review.get(assignment, ())
                answers = _answer_digests(course, student, assignment, submitted.notebook.name)
                key = f"{student}/{assignment}/{submitted.notebook.name}"
                before = graded_answers.get(key, {})
                for grade in submitted.grades:
                    if grade.name not in cells:
                        continue
                    grade.auto_score = cells[grade.name]
                    # A person's score stands for the answer they read: a regrade asks for
                    # them again only if that answer changed (or the notebook is flagged).
                    graded_same_answer = (grade.manual_score is not None and grade.name in answers
                                          and before.get(grade.name) == answers[grade.name])
                    grade.needs_manual_grade = flagged or (
                        (grade.auto_score is None or grade.manual_score is not None) and not graded_same_answer)
                if answers:
                    graded_answers[key] = answers
        write_json(_graded_answers_path(course), graded_answers)
    if package_report is not None and package_report["checks"]:
        _write_package_source(course, package_report["checks"])


def _graded_answers_path(course):
    return course.grading / "graded_answers.json"


def _read_graded_answers(course):
    """``{"student/assignment/notebook": {cell: digest}}`` of the answers last recorded."""
    path = _graded_answers_path(course)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _answer_digests(course, student, assignment, notebook):
    """Digest of the learner's answer behind each grade cell of the autograded notebook.

    A written answer is its own cell; a test cell's answer is the learner's
    solution cells since the previous grade cell; a package check's, its result
    (the cell's output). Empty when there is no notebook.
    """
    path = course.autograded / student / assignment / f"{notebook}.ipynb"
    if not path.is_file():
        return {}
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):  # unreadable: no answers to compare, so a person looks again
        return {}
    digests, pending = {}, []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            pending.append(cell.source)
        if meta.get("grade"):
            answer = [cell.source] if meta.get("solution") else pending
            if assignment == PACKAGE_ASSIGNMENT:
                answer = [output.get("text", "") for output in cell.get("outputs", [])]
            digests[meta["grade_id"]] = hashlib.sha256("\0".join(answer).encode()).hexdigest()
            pending = []
    return digests


def scores(course):
    """``{student: {assignment: (score, max_score)}}`` read from the gradebook."""
    table = {}
    with open_gradebook(course) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                table.setdefault(submission.student.id, {})[assignment.name] = (
                    float(submission.score), float(submission.max_score))
    return table


def cell_rows(course):
    """One row per (student, assignment, notebook, grade cell) with auto, manual and final score."""
    rows = []
    with open_gradebook(course) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        rows.append({
                            "student": submission.student.id, "assignment": assignment.name,
                            "notebook": notebook.notebook.name, "cell": grade.name,
                            "auto_score": grade.auto_score, "manual_score": grade.manual_score,
                            "score": float(grade.score), "max_score": float(grade.max_score),
                            "needs_manual_grade": bool(grade.needs_manual_grade),
                        })
    return sorted(rows, key=lambda r: (r["student"], r["assignment"], r["notebook"], r["cell"]))

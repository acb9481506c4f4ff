"""The course gradebook: nbgrader's SQLite database, written one student at a time.

Only the batch's main process writes here, and each student's grades land in a
single transaction (:func:`record_student`): an interrupted batch leaves every
student either fully recorded or untouched. nbgrader's ``Gradebook`` commits
after each call; :func:`_one_transaction` turns those commits into flushes.

The package checks of ``grade-one`` are stored as the assignment
``package_checks`` with one notebook of the same name and one grade cell per
check, so nbgrader's own views, exports and feedback include them.
"""

import shutil
import sqlite3
from contextlib import contextmanager

from nbgrader.api import (Comment, Grade, GradeCell, Gradebook, MissingEntry, SubmittedAssignment,
                         SubmittedNotebook)

from .course import PACKAGE_ASSIGNMENT, PACKAGE_NOTEBOOK, ensure_alembic_on_path

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
        for assignment, notebooks in notebook_scores.items():
            submission = _submission(gb, assignment, student)
            for submitted in submission.notebooks:
                cells = notebooks.get(submitted.notebook.name, {})
                flagged = submitted.notebook.name in review.get(assignment, ())
                for grade in submitted.grades:
                    if grade.name not in cells:
                        continue
                    grade.auto_score = cells[grade.name]
                    grade.needs_manual_grade = (flagged or grade.auto_score is None
                                                or grade.manual_score is not None)


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

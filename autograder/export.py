"""Grades out of the gradebook as CSV.

``exports/grades.csv`` is nbgrader's own export (one row per student and
assignment, package checks included as the assignment ``package_checks``);
``exports/grades_by_cell.csv`` has one row per graded cell or check.
"""

import csv

from . import gradebook
from .course import Course


def export(course_dir, out_dir=None):
    """Write both CSV files; return their paths."""
    course = Course(course_dir)
    out = course.exports if out_dir is None else out_dir
    out.mkdir(parents=True, exist_ok=True)
    per_assignment = out / "grades.csv"
    done = course.nbgrader("export", f"--to={per_assignment}")
    if done.returncode != 0 or not per_assignment.is_file():
        raise RuntimeError(f"nbgrader export failed:\n{done.stdout}{done.stderr}")
    per_cell = out / "grades_by_cell.csv"
    rows = gradebook.cell_rows(course)
    fields = ["student", "assignment", "notebook", "cell", "auto_score", "manual_score", "score",
              "max_score", "needs_manual_grade"]
    with open(per_cell, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return [per_assignment, per_cell]

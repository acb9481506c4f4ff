"""Per-student HTML feedback through ``nbgrader generate_feedback``.

Every assignment with autograded notebooks gets nbgrader's feedback HTML, with
hidden tests and their tracebacks removed by the course configuration
(``ClearHiddenTestsAndTracebacks``). The package checks are the assignment
``package_checks``: one page per student listing each check, its points and its
message, headed by the grading notes (what collect and autograde had to say).

A cell that still needs a person (a written answer, or a notebook flagged for
review) reads "not graded yet" in the page (``GetGradesMarkUngraded``), and
:func:`generate` warns once per student and assignment on stderr. With
``require_graded`` those students' pages of that assignment are not written
(an earlier page stays as it was) until every cell is graded.
"""

import sys
from collections import Counter

from .layout import Course


def pending_manual_grades(course):
    """``{(student, assignment): number of cells that still need a person}``."""
    from .gradebook import cell_rows

    return dict(Counter((row["student"], row["assignment"]) for row in cell_rows(course)
                        if row["needs_manual_grade"]))


def generate(course_dir, student=None, require_graded=False, warn=None):
    """Write ``feedback/<student>/<assignment>/*.html`` (every student by default); return the files.

    ``warn`` (default: print to stderr) gets one line per student and assignment
    whose cells still need manual grading; ``require_graded`` skips those pages.
    """
    warn = warn or (lambda line: print(line, file=sys.stderr))
    course = Course(course_dir)
    if not course.autograded.is_dir():
        raise FileNotFoundError(f"nothing autograded in {course.root} yet (run `autograde` first)")
    assignments = sorted({p.name for s in course.autograded.iterdir() if s.is_dir()
                          for p in s.iterdir() if p.is_dir()})
    pending = {key: count for key, count in pending_manual_grades(course).items()
               if student is None or key[0] == student}
    for (name, assignment), count in sorted(pending.items()):
        cells = "cell needs" if count == 1 else "cells need"
        then = ("its feedback is not written until they are graded (--require-graded)" if require_graded
                else "its feedback shows them as not graded yet")
        warn(f"warning: {name}/{assignment}: {count} {cells} manual grading in formgrader; {then}")
    for assignment in assignments:
        waiting = sorted(name for name, a in pending if a == assignment) if require_graded else []
        if student is not None and student in waiting:
            continue
        args = ["generate_feedback", assignment, "--force"]
        if student:
            args += ["--student", student]
        if waiting:
            args.append(f"--CourseDirectory.student_id_exclude={','.join(waiting)}")
        done = course.nbgrader(*args)
        if done.returncode != 0:
            errors = [line for line in (done.stdout + done.stderr).splitlines() if "Error" in line]
            raise RuntimeError(f"nbgrader generate_feedback {assignment} failed: "
                               + " | ".join(errors[-3:]))
    skipped = {(name, a) for name, a in pending} if require_graded else set()
    return sorted(p for p in course.feedback.rglob("*.html")
                  if (student is None or p.relative_to(course.feedback).parts[0] == student)
                  and p.relative_to(course.feedback).parts[:2] not in skipped)

"""Per-student HTML feedback through ``nbgrader generate_feedback``.

Every assignment with autograded notebooks gets nbgrader's feedback HTML, with
hidden tests and their tracebacks removed by the course configuration
(``ClearHiddenTestsAndTracebacks``). The package checks are the assignment
``package_checks``: one page per student listing each check, its points and its
message, headed by the grading notes (what collect and autograde had to say).
"""

from .course import Course


def generate(course_dir, student=None):
    """Write ``feedback/<student>/<assignment>/*.html`` (every student by default); return the files."""
    course = Course(course_dir)
    if not course.autograded.is_dir():
        raise FileNotFoundError(f"nothing autograded in {course.root} yet (run `autograde` first)")
    assignments = sorted({p.name for s in course.autograded.iterdir() if s.is_dir()
                          for p in s.iterdir() if p.is_dir()})
    for assignment in assignments:
        args = ["generate_feedback", assignment, "--force"]
        if student:
            args += ["--student", student]
        done = course.nbgrader(*args)
        if done.returncode != 0:
            errors = [line for line in (done.stdout + done.stderr).splitlines() if "Error" in line]
            raise RuntimeError(f"nbgrader generate_feedback {assignment} failed: "
                               + " | ".join(errors[-3:]))
    return sorted(p for p in course.feedback.rglob("*.html")
                  if student is None or p.relative_to(course.feedback).parts[0] == student)

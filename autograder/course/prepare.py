"""``cs-convnet-course prepare``: create or refresh a course directory and register its assignments.

Above both :mod:`autograder.course.layout` (the folder's layout) and
:mod:`autograder.course.gradebook` (nbgrader's database): making a course needs the
two, and neither of them needs this.
"""

import shutil
from pathlib import Path

from . import gradebook
from .layout import ASSIGNMENTS_DIR, COURSE_CONFIG, Course, write_config


def prepare(course_dir, source_dir=None, config=COURSE_CONFIG, assignments=None):
    """Create or refresh the course directory and register each assignment in the gradebook.

    Source notebooks are copied from ``source_dir`` (default ``assignments/source``);
    an assignment new to the gradebook goes through ``nbgrader generate_assignment``,
    which records its cells, points and checksums. The structure-only copy of the
    gradebook (``grading/assignments.db``) seeds each student's private grading run.
    """
    course = Course(course_dir)
    if course.root.exists() and not course.root.is_dir():
        raise NotADirectoryError(f"{course.root} is a file; expected a course folder (or a path where one can be made)")
    source_dir = Path(source_dir or ASSIGNMENTS_DIR / "source")
    available = sorted(p.name for p in source_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))) \
        if source_dir.is_dir() else []
    wanted = available if assignments is None else list(assignments)
    unknown = [name for name in wanted if not (source_dir / name).is_dir() and not (course.source / name).is_dir()]
    if unknown:   # before anything is made: a typo leaves no half-made course behind
        raise ValueError(f"no assignment {', '.join(map(repr, unknown))} in {source_dir} "
                         f"(known: {', '.join(available) or 'none'})")
    for folder in (course.root, course.grading, course.records, course.collect_notes, course.scratch,
                   course.root / "exchange"):
        folder.mkdir(parents=True, exist_ok=True)
    write_config(course.root, config)
    known = gradebook.assignment_names(course)
    for name in wanted:
        if name not in known or not (course.source / name).is_dir():
            shutil.copytree(source_dir / name, course.source / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        if name not in known:
            done = course.nbgrader("generate_assignment", name, "--force")
            if done.returncode != 0 or name not in gradebook.assignment_names(course):
                raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{done.stdout}{done.stderr}")
    if not course.gradebook_path.exists():  # no assignment yet: an empty gradebook all the same
        gradebook.open_gradebook(course).close()
    gradebook.snapshot_structure(course)
    return course

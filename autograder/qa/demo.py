"""``cs-convnet-course demo``: the whole instructor loop on the shipped sample submissions.

1. release: the student edition (``autograder.edition.release``), folder and zip;
2. prepare a course directory and register the demo's notebook assignment(s);
3. collect the samples of :mod:`autograder.qa.samples` -- the reference and the
   realistic buggy packages -- each with the notebooks a learner would hand
   in (the released notebooks with the solution cells filled in), so the
   notebooks run against that sample's own ``cs_convnet``;
4. autograde them ``jobs`` at a time, print the grade table;
5. write the HTML feedback and the CSV exports.
"""

import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from ..course import collect, export, feedback, prepare as prepare_mod
from ..course.layout import DEMO_ASSIGNMENTS
from ..engine import batch
from ..report.table import format_table


def solved_notebook(released_path, source_path):
    """The released notebook with each solution cell taken from the instructor's source."""
    released = nbformat.read(released_path, as_version=4)
    source = nbformat.read(source_path, as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    return released


def build_inbox(course, inbox, assignments=()):
    """One submission folder per shipped sample: its package files plus solved notebooks."""
    from . import samples

    written = samples.materialize_all(inbox)
    for target in written.values():
        for assignment in assignments:
            for released in sorted((course.root / "release" / assignment).glob("*.ipynb")):
                dest = target / "assignments" / assignment / released.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(solved_notebook(released, course.source / assignment / released.name), dest)
    return sorted(written)


def run_demo(course_dir=None, jobs=2, assignments=None, progress=True, say=print):
    """Run the demo; return 0 when every sample was graded."""
    from ..edition import release

    assignments = DEMO_ASSIGNMENTS if assignments is None else assignments
    course_dir = Path(course_dir or tempfile.mkdtemp(prefix="cs-convnet-demo-"))
    started = time.perf_counter()
    say(f"[1/5] release: student edition of {', '.join(assignments) or 'the package'}")
    edition = release.build_student_edition(course_dir / "student_edition", zip_path=course_dir / "student_edition.zip",
                                            assignments=assignments or None)
    say(f"      {edition['output']} and {edition['zip']}")
    say(f"[2/5] course directory {course_dir}")
    course = prepare_mod.prepare(course_dir, assignments=assignments or [])
    inbox = course_dir / "inbox"
    shutil.rmtree(inbox, ignore_errors=True)
    names = build_inbox(course, inbox, assignments)
    for entry in collect.collect(course_dir, inbox):
        for note in entry["notes"]:
            say(f"      note for {entry['student']}: {note}")
    say(f"[3/5] autograde {len(names)} samples ({', '.join(names)}), {jobs} at a time")
    summary = batch.autograde(course_dir, jobs=jobs, progress=progress)
    for student, why in summary["failed"].items():
        say(f"      {student} failed: {why}")
    say("[4/5] grades (from the gradebook)")
    say(format_table(course))
    say("[5/5] feedback and exports")
    files = feedback.generate(course_dir)
    csvs = export.export(course_dir)
    say(f"      {len(files)} feedback pages under {course.feedback}")
    say(f"      {', '.join(str(p) for p in csvs)}")
    say(f"done in {time.perf_counter() - started:.0f} s")
    return 0 if not summary["failed"] and len(summary["graded"]) + len(summary["skipped"]) == len(names) else 1

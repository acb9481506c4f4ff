"""``cs-convnet-course autograde``: grade every collected submission, then print the grade table."""

from cs_convnet.cli import positive_float, positive_int

from .arguments import scheduler_address

HELP = "grade every collected submission"


def add_arguments(parser):
    backend = parser.add_mutually_exclusive_group()
    backend.add_argument("--jobs", "-j", type=positive_int, default=1,
                         help="local worker processes grading in parallel (default 1: in this process)")
    backend.add_argument("--scheduler", metavar="tcp://HOST:PORT", type=scheduler_address,
                         help="grade on the workers of this Dask scheduler (pip install .[dask])")
    backend.add_argument("--dask-workers", type=positive_int, metavar="N",
                         help="grade on a local Dask cluster of N single-threaded workers (pip install .[dask])")
    parser.add_argument("--force", action="store_true", help="regrade students already graded")
    parser.add_argument("--student", action="append", dest="students",
                        help="only this collected student (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--timeout", type=positive_float, default=None,
                        help="seconds for one student's notebook run, greater than 0 (default: nbgrader's setting)")


def run(args, course_dir):
    """The counts of the run, each failure's reason, the grade table; exit 1 when a submission failed to grade."""
    from collections import Counter

    from ..course.layout import Course
    from ..course.nbgrader_grading import NBGRADER_TIMEOUT
    from ..engine.batch import autograde
    from ..report.table import format_table

    course = Course(course_dir).require()
    summary = autograde(course.root, jobs=args.jobs, force=args.force, students=args.students,
                        progress=not args.no_progress, timeout=args.timeout or NBGRADER_TIMEOUT,
                        scheduler=args.scheduler, dask_workers=args.dask_workers)
    learner = Counter(o.replace("_", " ") for o in summary["outcomes"].values() if o != "graded")
    details = ", ".join(f"{count} {outcome}" for outcome, count in sorted(learner.items()))
    print(f"graded {len(summary['graded'])}" + (f" ({details})" if details else "")
          + f", already graded {len(summary['skipped'])}, failed {len(summary['failed'])}")
    for student, why in summary["failed"].items():
        print(f"    {student}: {why}")
    print(format_table(course))
    return 1 if summary["failed"] else 0

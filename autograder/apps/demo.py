"""``cs-convnet-course demo``: release, autograde the sample submissions, print the grades, write feedback."""

import os

from cs_convnet.cli import positive_int

from ..course.layout import DEMO_ASSIGNMENTS

HELP = "release, autograde the sample submissions, print the grades, write feedback"


def add_arguments(parser):
    parser.add_argument("--jobs", "-j", type=positive_int, default=2, help="samples graded in parallel")
    parser.add_argument("--assignment", "-a", action="append", dest="assignments",
                        help=f"notebook assignments to grade too (default: {', '.join(DEMO_ASSIGNMENTS)})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args, course_dir):
    """The demo's own course, unless a course directory was named (--course-dir or $CS_CONVNET_COURSE_DIR)."""
    from ..qa.demo import run_demo

    return run_demo(course_dir if args.course_dir or os.environ.get("CS_CONVNET_COURSE_DIR") else None,
                    jobs=args.jobs, assignments=args.assignments, progress=not args.no_progress)

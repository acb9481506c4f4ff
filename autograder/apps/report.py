"""``cs-convnet-course report``: the class report of one assignment (HTML and CSV)."""

from pathlib import Path

from .arguments import output_folder

HELP = "class report of one assignment: statistics per check, common mistakes"


def add_arguments(parser):
    parser.add_argument("assignment", help="a notebook assignment, or `package` for the package checks")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the report, its files replaced (default: COURSE/reports/ASSIGNMENT)")


def run(args, course_dir):
    """The paths written, one a line."""
    from ..course.layout import Course
    from ..report.analysis import write_report

    for path in write_report(Course(course_dir).require().root, args.assignment, output_folder(args.out, "--out")):
        print(path)
    return 0

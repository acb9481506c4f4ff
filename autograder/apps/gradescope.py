"""``cs-convnet-course gradescope``: a Gradescope autograder zip."""

from pathlib import Path

from ..course.gradescope import VISIBILITIES, visibility
from .arguments import output_file

HELP = "build a Gradescope autograder zip (setup.sh, run_autograder, the grader as a wheel)"


def add_arguments(parser):
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="notebook assignments to grade too (nbgrader, as autograde); the package checks "
                             "(package_checks) are always graded")
    parser.add_argument("--output", "-o", type=Path, default=Path("autograder.zip"), help="the zip to write (replaced)")
    parser.add_argument("--visibility", action="append", default=[], metavar="NAME=VISIBILITY",
                        type=visibility, help="visibility of one check, of every check of a function, or "
                        "of a notebook's grade cell (hidden, after_due_date, after_published, visible; repeatable)")
    parser.add_argument("--hidden-visibility", default="after_published", choices=VISIBILITIES,
                        help="visibility of the other checks and grade cells (they are hidden checks)")
    parser.add_argument("--stdout-visibility", default="hidden", choices=VISIBILITIES,
                        help="results.json's stdout_visibility: who sees the autograder's printed output")


def run(args, course_dir):
    from ..course.gradescope import build

    path, config = build(output_file(args.output, "--output"), args.assignments, args.visibility,
                         args.hidden_visibility, stdout_visibility=args.stdout_visibility)
    print(f"Gradescope autograder -> {path}: package checks"
          + "".join(f", {assignment}" for assignment in config["notebooks"]))
    return 0

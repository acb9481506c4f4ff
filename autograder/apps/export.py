"""``cs-convnet-course export``: the grades as CSV files, or as an LMS gradebook import file."""

import sys
from pathlib import Path

from cs_convnet.cli import CommandError

from .arguments import canvas_assignment_id, output_folder

HELP = ("write grades CSV files: grades.csv and grades_by_cell.csv, or an LMS gradebook import "
        "file (FORMAT_grades.csv); existing ones are replaced")


def add_arguments(parser):
    parser.add_argument("--to", type=Path, default=None, help="folder for the CSV files (default: COURSE/exports)")
    parser.add_argument("--format", choices=("csv", "canvas", "moodle"), default="csv", dest="export_format",
                        help="csv: the course's files; canvas, moodle: that LMS's gradebook import file "
                             "(needs --roster)")
    parser.add_argument("--roster", type=Path, default=None, metavar="ROSTER.csv",
                        help="CSV mapping student_id to the LMS's ids (see README \"Send grades to Canvas/Moodle\")")
    parser.add_argument("--canvas-id", action="append", type=canvas_assignment_id, metavar="ASSIGNMENT=ID",
                        help="Canvas assignment id of an assignment: its column becomes `ASSIGNMENT (ID)` "
                             "(repeatable)")


def run(args, course_dir):
    """The paths written, one a line; the LMS export's notes go to stderr."""
    from ..course.export import export, export_lms
    from ..course.layout import Course

    course = Course(course_dir).require()
    to = output_folder(args.to, "--to")
    if args.export_format == "csv":
        if args.roster is not None or args.canvas_id is not None:
            raise CommandError("--roster and --canvas-id go with --format canvas or moodle; "
                               "--format csv writes the course's own files")
        for path in export(course.root, to):
            print(path)
        return 0
    if args.roster is None:
        raise CommandError(f"--format {args.export_format} needs --roster ROSTER.csv "
                           "(student_id and the LMS's ids; see README \"Send grades to Canvas/Moodle\")")
    if args.canvas_id is not None and args.export_format != "canvas":
        raise CommandError("--canvas-id goes with --format canvas")
    named = [name for name, _ in args.canvas_id or []]
    if len(set(named)) != len(named):
        twice = sorted({name for name in named if named.count(name) > 1})
        raise CommandError(f"--canvas-id gives {', '.join(twice)} more than once; expected one id per assignment")
    path, notes = export_lms(course.root, args.export_format, args.roster, to, dict(args.canvas_id or []))
    for note in notes:
        print(note, file=sys.stderr)
    print(path)
    return 0

"""cs-convnet-course: the instructor's command line (also python -m autograder).

    cs-convnet-course release [-o DIR]                  student edition (folder + zip)
    cs-convnet-course grade-one SUBMISSION --json OUT   sandboxed package checks of one submission
    cs-convnet-course [--course-dir DIR] prepare [-a ASSIGNMENT]   create the course directory
    cs-convnet-course [--course-dir DIR] collect INBOX  zips/dirs -> the course directory
    cs-convnet-course [--course-dir DIR] autograde [--jobs N | --scheduler ADDR | --dask-workers N]
                                                   [--force] [--student S] [--timeout SECONDS]
    cs-convnet-course [--course-dir DIR] feedback [--student S] [--require-graded]
    cs-convnet-course [--course-dir DIR] export [--to DIR] [--format csv|canvas|moodle --roster ROSTER.csv]
    cs-convnet-course [--course-dir DIR] table
    cs-convnet-course [--course-dir DIR] report ASSIGNMENT [--out DIR]   class report (HTML + CSV)
    cs-convnet-course demo [--course-dir DIR] [--jobs N]
    cs-convnet-course bench-grading [--class-size N] [--modes serial,jobs2,dask2] [--json OUT]
    cs-convnet-course gradescope [ASSIGNMENT...] -o autograder.zip   Gradescope autograder zip

Only prepare and collect (and demo, for its own course) create a course
directory; the other course commands fail with one line when it does not exist.
Errors: one line, "cs-convnet-course COMMAND: error: ...", exit status 1 (2 for
a usage error, 130 when interrupted); an unexpected exception also names a log
file holding its traceback (--debug prints it instead). collect exits 1 when
it skipped an entry.
"""

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from cs_convnet.cli import CommandError, DefaultsHelpFormatter, positive_float, positive_int, run_command

from .course.gradescope import VISIBILITIES as GRADESCOPE_VISIBILITIES, visibility as gradescope_visibility

PROG = "cs-convnet-course"
DELEGATED = {"release": "autograder.edition.release", "grade-one": "autograder.engine.grade_one"}
SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")   # a remote scheduler's (inproc is in-process only)


def _course_dir(value):
    return Path(value or os.environ.get("CS_CONVNET_COURSE_DIR", "course"))


def scheduler_address(text):
    """argparse type: a Dask scheduler address, ``[SCHEME://]HOST:PORT`` (the scheme defaults to tcp)."""
    address = text if "://" in text else f"tcp://{text}"
    expected = f"expected a Dask scheduler address like tcp://HOST:8786, got {text!r}"
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{expected} ({error})") from None
    if parts.scheme not in SCHEDULER_SCHEMES:
        raise argparse.ArgumentTypeError(f"{expected} (unknown scheme {parts.scheme!r})")
    if not parts.hostname or not port:
        raise argparse.ArgumentTypeError(f"{expected} ({'no port' if parts.hostname else 'no host'})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{expected} (unexpected text after the port)")
    return address


def inbox_folder(text):
    """argparse type: an existing folder of submissions (a usage error otherwise, before any course is made)."""
    path = Path(text)
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}; expected a folder holding one zip or folder per learner")
    return path


def output_folder(path, option):
    """``path`` for an option naming a folder to write into; CommandError if it is an existing file."""
    if path is not None and path.exists() and not path.is_dir():
        raise CommandError(f"{option} {path} is a file; expected a folder to write into "
                           "(files already in that folder are replaced)")
    return path


def output_file(path, option):
    """``path`` for an option naming a file to write; CommandError if it is a folder."""
    if path is not None and path.is_dir():
        raise CommandError(f"{option} {path} is a folder; expected the path of a file to write")
    return path


def canvas_assignment_id(text):
    """argparse type: ``ASSIGNMENT=ID``, a course assignment and its Canvas assignment id (digits)."""
    name, _, number = text.rpartition("=")
    if not name or not number.isdigit():
        raise argparse.ArgumentTypeError(f"expected ASSIGNMENT=ID with a numeric Canvas assignment id, "
                                         f"like 02_convolution=123456, got {text!r}")
    return name, number


def build_parser():
    from .course.layout import DEMO_ASSIGNMENTS

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--course-dir", help="the course directory (default: $CS_CONVNET_COURSE_DIR or ./course)")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, text):
        return sub.add_parser(name, help=text, description=text, formatter_class=DefaultsHelpFormatter)

    sub.add_parser("release", help="build the student edition (see `release --help`)", add_help=False)
    sub.add_parser("grade-one", help="grade one submission directory (see `grade-one --help`)", add_help=False)

    p = add("prepare", "create the course directory and register the assignments")
    p.add_argument("--assignment", "-a", action="append", dest="assignments",
                   help="only this assignment (repeatable; default: all of assignments/source)")

    p = add("collect", "collect a folder of submission zips or folders (exit 1 when any was skipped)")
    p.add_argument("inbox", type=inbox_folder, help="folder holding one zip or folder per learner")
    p.add_argument("--assignment", "-a", action="append", dest="assignments",
                   help="assignments to register if the course is new (default: all)")

    p = add("autograde", "grade every collected submission")
    backend = p.add_mutually_exclusive_group()
    backend.add_argument("--jobs", "-j", type=positive_int, default=1,
                         help="local worker processes grading in parallel (default 1: in this process)")
    backend.add_argument("--scheduler", metavar="tcp://HOST:PORT", type=scheduler_address,
                         help="grade on the workers of this Dask scheduler (pip install .[dask])")
    backend.add_argument("--dask-workers", type=positive_int, metavar="N",
                         help="grade on a local Dask cluster of N single-threaded workers (pip install .[dask])")
    p.add_argument("--force", action="store_true", help="regrade students already graded")
    p.add_argument("--student", action="append", dest="students",
                   help="only this collected student (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--timeout", type=positive_float, default=None,
                   help="seconds for one student's notebook run, greater than 0 (default: nbgrader's setting)")

    p = add("feedback", "write per-student HTML feedback")
    p.add_argument("--student", default=None, help="only this collected student (default: everyone)")
    p.add_argument("--require-graded", action="store_true",
                   help="skip a student's assignment while cells still need manual grading (a warning names each)")

    p = add("export", "write grades CSV files: grades.csv and grades_by_cell.csv, or an LMS gradebook import "
                      "file (FORMAT_grades.csv); existing ones are replaced")
    p.add_argument("--to", type=Path, default=None, help="folder for the CSV files (default: COURSE/exports)")
    p.add_argument("--format", choices=("csv", "canvas", "moodle"), default="csv", dest="export_format",
                   help="csv: the course's files; canvas, moodle: that LMS's gradebook import file (needs --roster)")
    p.add_argument("--roster", type=Path, default=None, metavar="ROSTER.csv",
                   help="CSV mapping student_id to the LMS's ids (see README \"Send grades to Canvas/Moodle\")")
    p.add_argument("--canvas-id", action="append", type=canvas_assignment_id, metavar="ASSIGNMENT=ID",
                   help="Canvas assignment id of an assignment: its column becomes `ASSIGNMENT (ID)` (repeatable)")

    add("table", "print the grade table")

    p = add("report", "class report of one assignment: statistics per check, common mistakes")
    p.add_argument("assignment", help="a notebook assignment, or `package` for the package checks")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the report, its files replaced (default: COURSE/reports/ASSIGNMENT)")

    p = add("demo", "release, autograde the sample submissions, print the grades, write feedback")
    p.add_argument("--jobs", "-j", type=positive_int, default=2, help="samples graded in parallel")
    p.add_argument("--assignment", "-a", action="append", dest="assignments",
                   help=f"notebook assignments to grade too (default: {', '.join(DEMO_ASSIGNMENTS)})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = add("gradescope", "build a Gradescope autograder zip (setup.sh, run_autograder, the grader as a wheel)")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help="notebook assignments to grade too (nbgrader, as autograde); the package checks "
                        "(package_checks) are always graded")
    p.add_argument("--output", "-o", type=Path, default=Path("autograder.zip"), help="the zip to write (replaced)")
    p.add_argument("--visibility", action="append", default=[], metavar="NAME=VISIBILITY",
                   type=gradescope_visibility, help="visibility of one check, of every check of a function, or "
                   "of a notebook's grade cell (hidden, after_due_date, after_published, visible; repeatable)")
    p.add_argument("--hidden-visibility", default="after_published", choices=GRADESCOPE_VISIBILITIES,
                   help="visibility of the other checks and grade cells (they are hidden checks)")
    p.add_argument("--stdout-visibility", default="hidden", choices=GRADESCOPE_VISIBILITIES,
                   help="results.json's stdout_visibility: who sees the autograder's printed output")

    p = add("bench-grading", "measure grading throughput and latency: serial, local processes, Dask")
    p.add_argument("--class-size", type=positive_int, default=24, help="synthetic submissions")
    p.add_argument("--modes", default="serial,jobs2,dask2", help="comma-separated: serial, jobsN, daskN")
    p.add_argument("--assignment", "-a", action="append", dest="assignments",
                   help="notebook assignments to grade too (default: package checks only)")
    p.add_argument("--json", type=Path, dest="json_path", help="write every measurement here")
    p.add_argument("--work-dir", type=Path, help="folder for the courses graded (default: a temporary one)")
    p.add_argument("--progress", action="store_true", help="progress bars")
    return parser


def _delegate(command, rest):
    import importlib

    return importlib.import_module(DELEGATED[command]).main(rest)


def main(argv=None):
    """Run ``cs-convnet-course``; return the exit status (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for index, word in enumerate(argv):
        if word in DELEGATED:
            return run_command(PROG, word, _delegate, word, argv[index + 1:], debug="--debug" in argv[:index])
        if not word.startswith("-") and (index == 0 or argv[index - 1] != "--course-dir"):
            break
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:   # --help (0) or a usage error (2), already printed by argparse
        return exit_.code
    return run_command(PROG, args.command, _run, args, _course_dir(args.course_dir), debug=args.debug,
                       interrupted="interrupted; recorded grades are kept, run it again to do the rest")


def _run(args, course_dir):
    from .course import layout as course_mod, prepare as prepare_mod

    course = course_mod.Course(course_dir)
    if args.command == "prepare":
        course = prepare_mod.prepare(course_dir, assignments=args.assignments)
        print(f"course directory {course.root}: assignments {', '.join(course.assignments()) or 'none'}")
    elif args.command == "collect":
        return _collect(args, course_dir)
    elif args.command == "autograde":
        return _autograde(args, course.require())
    elif args.command == "feedback":
        from .course.feedback import generate

        if args.student is not None:
            course.require().check_students([args.student])
        files = generate(course.require().root, args.student, require_graded=args.require_graded)
        print(f"{len(files)} feedback files under {course.feedback}")
    elif args.command == "export":
        return _export(args, course.require())
    elif args.command == "table":
        from .report.table import format_table

        print(format_table(course.require()))
    elif args.command == "report":
        from .report.analysis import write_report

        for path in write_report(course.require().root, args.assignment, output_folder(args.out, "--out")):
            print(path)
    elif args.command == "gradescope":
        from .course.gradescope import build

        path, config = build(output_file(args.output, "--output"), args.assignments, args.visibility,
                             args.hidden_visibility, stdout_visibility=args.stdout_visibility)
        print(f"Gradescope autograder -> {path}: package checks"
              + "".join(f", {assignment}" for assignment in config["notebooks"]))
    elif args.command == "bench-grading":
        from .qa.bench_grading import main as bench

        output_file(args.json_path, "--json")
        return bench(args.class_size, args.modes, args.assignments, args.json_path, args.work_dir, args.progress)
    elif args.command == "demo":
        from .qa.demo import run_demo

        return run_demo(course_dir if args.course_dir or os.environ.get("CS_CONVNET_COURSE_DIR") else None,
                        jobs=args.jobs, assignments=args.assignments, progress=not args.no_progress)
    return 0


def _collect(args, course_dir):
    from .course import layout as course_mod, prepare as prepare_mod
    from .course.collect import collect, summary_line

    inbox = args.inbox
    if not course_mod.Course(course_dir).is_prepared():
        prepare_mod.prepare(course_dir, assignments=args.assignments)
    results = collect(course_dir, inbox)
    for entry in results:
        got = ", ".join(entry["notebooks"] + entry["package_files"]) or "nothing"
        print(f"{entry['student']:<20} from {entry['source']}: {got if entry['status'] == 'collected' else 'SKIPPED'}")
        for note in entry["notes"]:
            print(f"    note: {note}")
    print(summary_line(results, inbox))
    return 1 if any(entry["status"] == "skipped" for entry in results) else 0


def _export(args, course):
    from .course.export import export, export_lms

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


def _autograde(args, course):
    from collections import Counter

    from .course.nbgrader_grading import NBGRADER_TIMEOUT
    from .engine.batch import autograde
    from .report.table import format_table

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


if __name__ == "__main__":
    sys.exit(main())

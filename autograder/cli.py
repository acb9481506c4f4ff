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

This module holds what every command shares: the top-level parser, the
error handling (:func:`cs_convnet.cli.run_command`) and the dispatch through
:data:`COMMANDS`. Each command's options, its calls into the library and its
printing live in its module of :mod:`autograder.apps`; release and grade-one
are their own modules' mains (:data:`DELEGATED`).
"""

import argparse
import importlib
import os
import sys
from pathlib import Path

from cs_convnet.cli import DefaultsHelpFormatter, run_command

from .apps import autograde, bench_grading, collect, demo, export, feedback, gradescope, prepare, report, table

PROG = "cs-convnet-course"
DELEGATED = {"release": "autograder.edition.release", "grade-one": "autograder.engine.grade_one"}
# command -> its module of autograder.apps (HELP, add_arguments(parser), run(args, course_dir)), in --help's order
COMMANDS = {"prepare": prepare, "collect": collect, "autograde": autograde, "feedback": feedback, "export": export,
            "table": table, "report": report, "demo": demo, "gradescope": gradescope, "bench-grading": bench_grading}


def _course_dir(value):
    return Path(value or os.environ.get("CS_CONVNET_COURSE_DIR", "course"))


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--course-dir", help="the course directory (default: $CS_CONVNET_COURSE_DIR or ./course)")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("release", help="build the student edition (see `release --help`)", add_help=False)
    sub.add_parser("grade-one", help="grade one submission directory (see `grade-one --help`)", add_help=False)
    for name, app in COMMANDS.items():
        app.add_arguments(sub.add_parser(name, help=app.HELP, description=app.HELP,
                                         formatter_class=DefaultsHelpFormatter))
    return parser


def _delegate(command, rest):
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
    return run_command(PROG, args.command, COMMANDS[args.command].run, args, _course_dir(args.course_dir),
                       debug=args.debug,
                       interrupted="interrupted; recorded grades are kept, run it again to do the rest")


if __name__ == "__main__":
    sys.exit(main())

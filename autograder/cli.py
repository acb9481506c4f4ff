"""``cs-convnet-course``: the instructor's command line (also ``python -m autograder``).

    cs-convnet-course release [-o DIR]                  student edition (folder + zip)
    cs-convnet-course grade-one SUBMISSION --json OUT   sandboxed package checks of one submission
    cs-convnet-course [--course-dir DIR] collect INBOX  zips/dirs -> the course directory
    cs-convnet-course [--course-dir DIR] autograde [--jobs N | --scheduler ADDR | --dask-workers N]
                                                   [--force] [--student S]
    cs-convnet-course [--course-dir DIR] feedback [--student S]
    cs-convnet-course [--course-dir DIR] export [--to DIR]
    cs-convnet-course [--course-dir DIR] table
    cs-convnet-course [--course-dir DIR] report ASSIGNMENT [--out DIR]   class report (HTML + CSV)
    cs-convnet-course demo [--course-dir DIR] [--jobs N]
    cs-convnet-course bench-grading [--class-size N] [--modes serial,jobs2,dask2] [--json OUT]
"""

import argparse
import os
import sys
from pathlib import Path

DELEGATED = {"release": "autograder.release", "grade-one": "autograder.grade_one"}


def _course_dir(value):
    return Path(value or os.environ.get("CS_CONVNET_COURSE_DIR", "course"))


def build_parser():
    parser = argparse.ArgumentParser(prog="cs-convnet-course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-dir", help="the course directory (default: $CS_CONVNET_COURSE_DIR or ./course)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("release", help="build the student edition (see `release --help`)", add_help=False)
    sub.add_parser("grade-one", help="grade one submission directory (see `grade-one --help`)", add_help=False)

    p = sub.add_parser("prepare", help="create the course directory and register the assignments")
    p.add_argument("--assignment", "-a", action="append", dest="assignments",
                   help="only this assignment (repeatable; default: all of assignments/source)")

    p = sub.add_parser("collect", help="collect a folder of submission zips or directories")
    p.add_argument("inbox", type=Path)
    p.add_argument("--assignment", "-a", action="append", dest="assignments",
                   help="assignments to register if the course is new (default: all)")

    p = sub.add_parser("autograde", help="grade every collected submission")
    backend = p.add_mutually_exclusive_group()
    backend.add_argument("--jobs", "-j", type=int, default=1,
                         help="local worker processes grading in parallel (default 1: in this process)")
    backend.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                         help="grade on the workers of this Dask scheduler (pip install .[dask])")
    backend.add_argument("--dask-workers", type=int, metavar="N",
                         help="grade on a local Dask cluster of N single-threaded workers (pip install .[dask])")
    p.add_argument("--force", action="store_true", help="regrade students already graded")
    p.add_argument("--student", action="append", dest="students", help="only this student (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--timeout", type=float, default=None, help="seconds for one student's notebook run")

    p = sub.add_parser("feedback", help="write per-student HTML feedback")
    p.add_argument("--student", default=None)

    p = sub.add_parser("export", help="write grades CSV files")
    p.add_argument("--to", type=Path, default=None, help="folder for the CSV files (default: COURSE/exports)")

    sub.add_parser("table", help="print the grade table")

    p = sub.add_parser("report", help="class report of one assignment: statistics per check, common mistakes")
    p.add_argument("assignment", help="a notebook assignment, or `package` for the package checks")
    p.add_argument("--out", type=Path, default=None, help="folder for the report (default: COURSE/reports/ASSIGNMENT)")

    p = sub.add_parser("demo", help="release, autograde the sample submissions, print the grades, write feedback")
    p.add_argument("--jobs", "-j", type=int, default=2)
    p.add_argument("--assignment", "-a", action="append", dest="assignments",
                   help="notebook assignments to grade too (default: see `demo --help`)")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("bench-grading", help="measure grading throughput and latency: serial, local processes, Dask")
    p.add_argument("--class-size", type=int, default=24, help="synthetic submissions (default 24)")
    p.add_argument("--modes", default="serial,jobs2,dask2", help="comma-separated: serial, jobsN, daskN")
    p.add_argument("--assignment", "-a", action="append", dest="assignments",
                   help="notebook assignments to grade too (default: package checks only)")
    p.add_argument("--json", type=Path, dest="json_path", help="write every measurement here")
    p.add_argument("--work-dir", type=Path, help="folder for the courses graded (default: a temporary one)")
    p.add_argument("--progress", action="store_true", help="progress bars")
    return parser


def _delegate(command, rest):
    import importlib

    module = importlib.import_module(DELEGATED[command])
    return module.main(rest) or 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    for index, word in enumerate(argv):
        if word in DELEGATED:
            return _delegate(word, argv[index + 1:])
        if not word.startswith("-") and (index == 0 or argv[index - 1] != "--course-dir"):
            break
    args = build_parser().parse_args(argv)
    course_dir = _course_dir(args.course_dir)
    try:
        return _run(args, course_dir)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"cs-convnet-course {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"cs-convnet-course {args.command}: interrupted; recorded grades are kept, "
              "run it again to grade the rest", file=sys.stderr)
        return 130


def _run(args, course_dir):
    from . import course as course_mod
    from .report import format_table

    if args.command == "prepare":
        course = course_mod.prepare(course_dir, assignments=args.assignments)
        print(f"course directory {course.root}: assignments {', '.join(course.assignments()) or 'none'}")
    elif args.command == "collect":
        from .collect import collect

        if not course_mod.Course(course_dir).template_db.is_file():
            course_mod.prepare(course_dir, assignments=args.assignments)
        for entry in collect(course_dir, args.inbox):
            got = ", ".join(entry["notebooks"] + entry["package_files"]) or "nothing"
            print(f"{entry['student']:<20} from {entry['source']}: {got}")
            for note in entry["notes"]:
                print(f"    note: {note}")
    elif args.command == "autograde":
        from collections import Counter

        from .batch import autograde
        from .nbgrader_grading import NBGRADER_TIMEOUT

        summary = autograde(course_dir, jobs=args.jobs, force=args.force, students=args.students,
                            progress=not args.no_progress, timeout=args.timeout or NBGRADER_TIMEOUT,
                            scheduler=args.scheduler, dask_workers=args.dask_workers)
        learner = Counter(o.replace("_", " ") for o in summary["outcomes"].values() if o != "graded")
        details = ", ".join(f"{count} {outcome}" for outcome, count in sorted(learner.items()))
        print(f"graded {len(summary['graded'])}" + (f" ({details})" if details else "")
              + f", already graded {len(summary['skipped'])}, failed {len(summary['failed'])}")
        for student, why in summary["failed"].items():
            print(f"    {student}: {why}")
        print(format_table(course_mod.Course(course_dir)))
        return 1 if summary["failed"] else 0
    elif args.command == "feedback":
        from .feedback import generate

        files = generate(course_dir, args.student)
        print(f"{len(files)} feedback files under {course_mod.Course(course_dir).feedback}")
    elif args.command == "export":
        from .export import export

        for path in export(course_dir, args.to):
            print(path)
    elif args.command == "table":
        print(format_table(course_mod.Course(course_dir)))
    elif args.command == "report":
        from .class_report import write_report

        for path in write_report(course_dir, args.assignment, args.out):
            print(path)
    elif args.command == "bench-grading":
        from .bench_grading import main as bench

        return bench(args.class_size, args.modes, args.assignments, args.json_path, args.work_dir, args.progress)
    elif args.command == "demo":
        from .demo import run_demo

        return run_demo(course_dir if args.course_dir or os.environ.get("CS_CONVNET_COURSE_DIR") else None,
                        jobs=args.jobs, assignments=args.assignments, progress=not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``cs-convnet-course bench-grading``: grading throughput and latency, serial, local processes and Dask."""

from pathlib import Path

from cs_convnet.cli import positive_int

from .arguments import output_file

HELP = "measure grading throughput and latency: serial, local processes, Dask"


def add_arguments(parser):
    parser.add_argument("--class-size", type=positive_int, default=24, help="synthetic submissions")
    parser.add_argument("--modes", default="serial,jobs2,dask2", help="comma-separated: serial, jobsN, daskN")
    parser.add_argument("--assignment", "-a", action="append", dest="assignments",
                        help="notebook assignments to grade too (default: package checks only)")
    parser.add_argument("--json", type=Path, dest="json_path", help="write every measurement here")
    parser.add_argument("--work-dir", type=Path, help="folder for the courses graded (default: a temporary one)")
    parser.add_argument("--progress", action="store_true", help="progress bars")


def run(args, course_dir):
    from ..qa.bench_grading import main as bench

    output_file(args.json_path, "--json")
    return bench(args.class_size, args.modes, args.assignments, args.json_path, args.work_dir, args.progress)

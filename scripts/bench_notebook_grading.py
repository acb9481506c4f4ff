"""Notebook grading cost of one submission: test cells scored in the learner's kernel vs in the trusted process.

    python scripts/bench_notebook_grading.py [--rounds 3] [--assignment A ...] [--json OUT]

Prepares a course in a temporary folder, hands in the reference package with
every solved notebook, then grades one assignment at a time with
``grade_notebooks`` (nbgrader autograde in the sandboxed kernel), each run in a
fresh process of its own, alternating the two ways:

- ``kernel``: the autograde preprocessor set back to ``CrashTolerantExecute``
  (every test cell runs, and is scored, in the learner's kernel);
- ``trusted``: as shipped, ``TrustedTestsExecute`` (the scores come from the
  trusted process; see ``autograder/sandbox/trusted_tests.py``).

Prints min and median seconds per assignment and for all of them, and the
scores (which must agree). Speed stays out of the test suite; this reports it.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MODES = ("kernel", "trusted")
KERNEL_SIDE = ("\nc.Autograde.autograde_preprocessors = [p.replace('TrustedTestsExecute', 'CrashTolerantExecute') "
               "for p in c.Autograde.autograde_preprocessors]\n")


def prepare(root):
    """A course at ``root/course`` with the reference submission collected as student ``reference``."""
    import nbformat

    from autograder.course import collect, prepare as prepare_mod
    from autograder.qa import samples
    from autograder.qa.demo import solved_notebook

    course = prepare_mod.prepare(root / "course")
    entry = samples.write_submission(samples.reference_files(), root / "inbox" / "reference")
    for assignment in course.assignments():
        for source in sorted((course.source / assignment).glob("*.ipynb")):
            dest = entry / "assignments" / assignment / source.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(solved_notebook(course.root / "release" / assignment / source.name, source), dest)
    collect.collect(course.root, root / "inbox")
    return course


def run_one(course_root, mode, assignment):
    """Grade ``assignment`` of the reference submission in this process; print one JSON line."""
    import shutil

    from autograder.course import nbgrader_grading
    from autograder.course.layout import Course
    from autograder.sandbox.root import prepare_root

    if mode == "kernel":
        write_config = nbgrader_grading.write_config
        nbgrader_grading.write_config = lambda folder, *a, extra="", **k: write_config(
            folder, *a, extra=extra + KERNEL_SIDE, **k)
    course = Course(course_root)
    root = prepare_root(course.package_root("reference"))
    started = time.perf_counter()
    graded = nbgrader_grading.grade_notebooks(course, "reference", assignment, root.path)
    seconds = time.perf_counter() - started
    shutil.rmtree(graded["scratch"], ignore_errors=True)
    score = sum(value or 0.0 for cells in graded["scores"].values() for value in cells.values())
    print(json.dumps({"mode": mode, "assignment": assignment, "seconds": round(seconds, 2), "score": score}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per mode and assignment")
    parser.add_argument("--assignment", action="append", help="only these assignments (default: all)")
    parser.add_argument("--json", type=Path, help="also write every run as JSON lines here")
    parser.add_argument("--run", nargs=3, metavar=("COURSE", "MODE", "ASSIGNMENT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        return run_one(Path(args.run[0]), args.run[1], args.run[2])
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    with tempfile.TemporaryDirectory(prefix="bench-notebook-grading-") as scratch:
        course = prepare(Path(scratch))
        assignments = args.assignment or course.assignments()
        unknown = sorted(set(assignments) - set(course.assignments()))
        if unknown:
            parser.error(f"unknown assignment(s) {', '.join(unknown)}; expected some of {', '.join(course.assignments())}")
        runs = []
        for round_ in range(args.rounds):
            for assignment in assignments:
                for mode in MODES:
                    done = subprocess.run([sys.executable, __file__, "--run", str(course.root), mode, assignment],
                                          capture_output=True, text=True, check=True)
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                    print(f"round {round_ + 1} {assignment:24s} {mode:8s} {runs[-1]['seconds']:6.1f} s  "
                          f"score {runs[-1]['score']:g}", flush=True)
    if args.json:
        args.json.write_text("".join(json.dumps(run) + "\n" for run in runs))
    seconds = {(r["assignment"], r["mode"]): [] for r in runs}
    for run in runs:
        seconds[run["assignment"], run["mode"]].append(run["seconds"])
    print(f"\n{'assignment':24s} " + "  ".join(f"{mode + ' min/median':>22s}" for mode in MODES) + "  ratio")
    rows = [(a, [seconds[a, m] for m in MODES]) for a in assignments]
    rows.append(("all (sum per round)", [[sum(seconds[a, m][i] for a in assignments) for i in range(args.rounds)]
                                         for m in MODES]))
    for name, (kernel, trusted) in rows:
        print(f"{name:24s} " + "  ".join(f"{min(s):9.1f} / {statistics.median(s):6.1f} s" for s in (kernel, trusted))
              + f"  {statistics.median(trusted) / statistics.median(kernel):.1f}x")
    scores = {(r["assignment"], r["mode"]): r["score"] for r in runs}
    differ = [a for a in assignments if scores[a, "kernel"] != scores[a, "trusted"]]
    if differ:
        print(f"scores differ between the two ways for {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

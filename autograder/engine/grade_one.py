"""Grade one submission directory with the hidden checks.

Trusted code: this process decides the score and never imports the
submission. It draws hidden inputs (seeded per run from ``os.urandom`` unless
a seed is given), computes the expected outputs with the instructor's
reference, sends only the inputs to a sandboxed worker
(:mod:`autograder.sandbox`), reads back arrays with ``allow_pickle=False``
and compares.

Usage::

    python -m autograder.engine.grade_one SUBMISSION_DIR --json OUT.json

where SUBMISSION_DIR holds the learner-edited files at their student-edition
paths (``cs_convnet/layers.py``, ``cs_convnet/optim.py``,
``cs_convnet/classifiers/fc_net.py``, ``cs_convnet/classifiers/cnn.py``);
missing files count as not implemented. The JSON report is::

    {"score": float, "max_score": float, "isolation": str, "notes": [str],
     "sandbox_ready": float, "learner_failures": [{"check", "function", "kind", "detail"}],
     "checks": [{"name", "function", "points", "max_points", "passed", "message"}]}

``sandbox_ready`` is when the sandboxed worker first said it was ready (seconds
since the epoch). ``learner_failures`` lists what the sandbox observed of the
learner's code beyond wrong answers: ``kind`` is ``"timeout"``, ``"crash"``
(the worker died), ``"protocol"`` (it broke the pipe's protocol) or
``"memory"`` (the kernel's counters, read by this process, show the sandbox ran
out of memory: see :meth:`autograder.sandbox.isolation.Worker.memory_exhausted`). A
``MemoryError`` the learner's code raises under the address-space limit is
only that function's error: the worker's word decides no label.

When the sandbox itself cannot start -- a problem of the grading machine,
never of the submission -- ``grade-one`` writes no report and exits with
status 75 (``EX_TEMPFAIL``), so a batch retries it elsewhere.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from cs_convnet.atomic import write_json
from cs_convnet.boundary import LEARNER_FILES
from cs_convnet.cli import positive_float

from ..checks import all_checks
from ..checks.oracle import ReferenceOracle
from ..sandbox.isolation import SandboxError, Worker
from ..sandbox.protocol import WorkerFailure, decode, encode
from ..sandbox.root import prepare_root

EXIT_SANDBOX_UNAVAILABLE = 75   # EX_TEMPFAIL: the machine's fault, worth a retry elsewhere


def _module_of(rel):
    return rel[:-3].replace("/", ".")


def grade(submission, *, seed=None, isolation="auto", timeout=None, checks=None):
    """Grade ``submission`` (a directory); return the report dict.

    Parameters
    ----------
    seed : int, optional. Fixes the hidden inputs (tests); default: fresh from os.urandom.
    isolation : "auto" (bubblewrap if it works, else rlimits), "bubblewrap" or "rlimits".
    timeout : float, optional. Seconds per check (default: each check's own, 10 s).
    checks : list of :class:`autograder.checks.Check`, optional (default: all).
    """
    submission = Path(submission)
    if timeout is not None and not 0 < timeout < float("inf"):
        raise ValueError(f"timeout must be a number of seconds greater than 0, got {timeout!r}")
    if not submission.is_dir():
        raise ValueError(f"submission must be a directory, got {str(submission)!r}")
    started = time.monotonic()
    checks = all_checks() if checks is None else list(checks)
    rng = np.random.default_rng(seed if seed is not None else int.from_bytes(os.urandom(16), "little"))
    root = prepare_root(submission)
    notes = list(root.notes)
    if not root.overlaid:
        notes.extend(_misplaced_hint(submission))
    results, failures, worker = [], [], None
    try:
        worker = Worker(root.path, isolation=isolation)
        worker.start()
        sandbox_ready = time.time()
        broken = _probe_imports(worker, root, notes, max(5.0, timeout or 10.0))
        poisoned = {}   # function -> why later checks of it are not run
        for check in checks:
            results.append(_run_check(check, worker, rng, broken, poisoned, timeout, failures))
    finally:
        if worker is not None:
            worker.stop()
        root.cleanup()
    score = sum(r["points"] for r in results)
    return {
        "score": float(round(score, 6)),
        "max_score": float(sum(r["max_points"] for r in results)),
        "isolation": worker.isolation,
        "notes": notes,
        "seconds": round(time.monotonic() - started, 2),
        "sandbox_ready": sandbox_ready,
        "learner_failures": failures,
        "checks": results,
    }


def _misplaced_hint(submission):
    """A note when no learner file is where it belongs but a ``cs_convnet`` folder sits deeper."""
    deeper = sorted(p.parent for p in submission.glob("*/**/cs_convnet") if p.is_dir() and not p.is_symlink())
    if not deeper:
        return []
    where = deeper[0].relative_to(submission).as_posix()
    return [f"no learner file at SUBMISSION/cs_convnet/, but a cs_convnet folder is in {where}/: "
            f"grade that folder ({submission / where}) instead"]


def _probe_imports(worker, root, notes, timeout):
    """Import each learner module in the sandbox; put the stub back for those that fail.

    Returns {module: reason}. A module that does not import loses only its
    own checks: the others run against the student-edition stub in its place.
    """
    broken = {}
    # the package's own modules first: the classifiers import layers.py
    for rel in sorted(LEARNER_FILES, key=lambda rel: (rel.count("/"), rel)):
        module = _module_of(rel)
        if rel not in root.overlaid:
            continue
        try:
            reply, _ = worker.request({"program": "import", "module": module}, timeout=timeout)
            if reply.get("ok"):
                continue
            reason = reply.get("error", "an error")
        except WorkerFailure as failure:
            reason = failure.detail
        broken[module] = f"{rel} could not be imported: {reason}"
        notes.append(broken[module] + " -- its functions get no points; the others are graded")
        root.restore_stub(rel)
        worker.stop()   # drop the half-imported module; restarted on the next request
    return broken


def _record(check, passed, message):
    return {"name": check.name, "function": check.function, "points": float(check.points if passed else 0.0),
            "max_points": float(check.points), "passed": bool(passed), "message": "" if passed else message}


def _run_check(check, worker, rng, broken, poisoned, timeout, failures):
    if check.module in broken:
        return _record(check, False, broken[check.module])
    case = check.build(rng)
    request = case.request
    forward = request.get("forward")
    if check.function in poisoned:
        return _record(check, False, f"not run: {poisoned[check.function]}")
    if forward in poisoned:
        request = dict(request, skip_forward=True)
    arrays = []
    header = {key: encode(value, arrays) for key, value in request.items()}
    limit = timeout if timeout is not None else check.timeout
    oracle = ReferenceOracle(time.monotonic() + limit) if case.oracle else None
    try:
        reply, reply_arrays = worker.request(header, arrays, timeout=limit, oracle=oracle)
    except WorkerFailure as failure:
        if failure.kind == "timeout":
            why = f"{check.function} did not finish within {limit:g} s (an endless loop?)"
        elif failure.kind == "crash":
            why = f"{check.function} stopped the worker: {failure.detail}"
        elif failure.kind == "memory":
            why = f"{check.function} ran out of memory: {failure.detail}"
        else:
            why = f"{check.function} broke the grading protocol: {failure.detail}"
        culprit = forward if forward and forward not in poisoned and forward != check.function and \
            failure.kind == "timeout" and not request.get("skip_forward") else check.function
        poisoned.setdefault(culprit, why)
        failures.append({"check": check.name, "function": check.function, "kind": failure.kind, "detail": why})
        return _record(check, False, why + " -- the worker was restarted")
    try:
        decoded = {key: decode(value, reply_arrays) for key, value in reply.items()}
        passed, message = case.judge(decoded)
    except Exception as error:  # a malformed reply is the submission's fault, never the grader's crash
        passed, message = False, f"unexpected reply from {check.function} ({error.__class__.__name__}: {error})"
    return _record(check, passed, message)


def write_report(report, path):
    """Write the JSON report atomically (a reader never sees half a file); an existing file is replaced."""
    write_json(path, report, indent=2, final_newline=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cs-convnet-course grade-one",
                                     description="Grade one submission with the hidden checks.")
    parser.add_argument("submission", help="directory with the learner-edited files at their student-edition paths")
    parser.add_argument("--json", dest="json_path",
                        help="write the report here, replacing an existing file (default: print it)")
    parser.add_argument("--seed", type=int, help="fix the hidden inputs (for debugging the grader)")
    parser.add_argument("--isolation", choices=["auto", "bubblewrap", "rlimits"], default="auto")
    parser.add_argument("--timeout", type=positive_float, help="seconds per check, greater than 0 (default 10)")
    options = parser.parse_args(argv)
    if not Path(options.submission).is_dir():
        parser.error(f"submission must be a directory, got {options.submission!r}")
    if options.json_path and Path(options.json_path).is_dir():
        parser.error(f"--json {options.json_path} is a folder; expected the path of the report file to write")
    try:
        report = grade(options.submission, seed=options.seed, isolation=options.isolation, timeout=options.timeout)
    except SandboxError as error:
        print(f"cs-convnet-course grade-one: error: the sandbox could not start: {error}", file=sys.stderr)
        return EXIT_SANDBOX_UNAVAILABLE
    if options.json_path:
        write_report(report, options.json_path)
        failed = [c for c in report["checks"] if not c["passed"]]
        print(f"{report['score']:g} / {report['max_score']:g} points, {len(failed)} failing checks "
              f"-> {options.json_path}")
        for note in report["notes"]:
            print(f"    note: {note}")
    else:
        json.dump(report, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

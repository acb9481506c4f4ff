"""One grading task: a self-contained spec in, a plain result dict out.

:func:`grade_task` is what every back end of :mod:`autograder.engine.executors` runs,
in the client, in a local worker process or on a Dask worker. It needs no
shared file system: the spec carries the submission's files as bytes and the
shared *assets* carry what nbgrader needs of the course (source and released
notebooks, the structure-only gradebook). It grades in a private temporary
folder and touches nothing else; only the client writes the gradebook.

The spec (built by :mod:`autograder.engine.batch`)::

    {"student", "key", "grader_version", "attempt", "queued", "submitted",
     "package": {"cs_convnet/layers.py": bytes, ...},
     "notebooks": {assignment: {"squares.ipynb": bytes, ...}},
     "notes": [str], "grade_one": [str] or None, "timeout": float,
     "scratch_root": str or None}

and the result::

    {"student", "key", "grader_version", "attempt", "outcome", "error",
     "learner_failures": [{"where", "kind", "detail", ...}],
     "notes": [str], "package": grade-one's report or None,
     "assignments": {assignment: {"scores", "notes", "review", "log_tail",
                                  "kernel_isolation", "autograded": {rel: bytes}}},
     "timestamps": {"queued", "submitted", "started", "sandbox_ready", "checks_done"},
     "worker": {"id", "host", "pid"}}

Outcomes
--------
``graded``; ``learner_timeout`` and ``learner_crash`` (a crash or running out
of memory) when the sandbox observed them -- the points earned are kept, the
task is never retried; ``infrastructure_error`` when the grading machine
failed (the sandbox did not start, grade-one died or crashed, a worker runs
another grader version), which the client retries and never turns into a
grade. Time and memory limits (:mod:`autograder.limits`) live on the
sandboxed processes, not on the task: Dask cannot cancel a running task and
its nanny's memory limit ignores child processes. Each limit kills the
learner's whole process group. Running out of memory is read by trusted code
from the kernel's counters (the sandbox's memory cgroup, its scratch tmpfs),
never taken from what the learner's process reports: a learner failure of
kind ``"memory"`` whose detail says which limit was reached.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path, PurePosixPath

GRADED = "graded"
LEARNER_TIMEOUT = "learner_timeout"
LEARNER_CRASH = "learner_crash"              # a crash or running out of memory
INFRASTRUCTURE_ERROR = "infrastructure_error"
OUTCOMES = (GRADED, LEARNER_TIMEOUT, LEARNER_CRASH, INFRASTRUCTURE_ERROR)

# BLAS/OpenMP pools of one thread: each worker grades one submission on one core.
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_PACKAGE = Path(__file__).resolve().parents[1]   # the whole autograder package, not only engine/
# Build products and caches that are not part of the grading code (mirrors .gitignore).
_SKIPPED_DIRS = frozenset({"__pycache__", "build", "dist", ".pytest_cache", ".ipynb_checkpoints"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd")
_CYTHON_OUTPUTS = (".c", ".html")   # cythonize's C file and annotation, next to their .pyx


class InfrastructureError(RuntimeError):
    """The grading machine failed; the submission is not to blame."""


def grader_version():
    """``autograder.__version__`` plus a digest of everything that decides a grade.

    That is the grading code, the hidden checks, the course's nbgrader settings
    and the instructor's ``cs_convnet`` (the reference and the provided files
    of the student edition), and the sandbox limits in force (read from the
    environment on each call). Editing any of them changes every task key.
    """
    from .. import __version__, limits

    digest = hashlib.sha256(_sources_digest().encode())
    for profile in sorted(limits.DEFAULTS):
        digest.update(f"\0{profile}: {limits.load(profile)!r}".encode())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def grader_folders():
    """The folders (and the one course file) whose every file decides a grade.

    The whole ``autograder`` package (checks, sandbox, engine, course
    integration), the instructor's ``cs_convnet`` (the reference and the
    provided files of the student edition), the Cython sources next to it,
    and the course's nbgrader settings. Whole folders, not lists of names:
    adding, renaming, removing or editing any file changes the version.

    Returns
    -------
    list of (label, Path)
        Labels are stable names recorded in the digest in place of the
        machine's absolute paths.
    """
    from ..course.layout import COURSE_CONFIG
    from ..sandbox.root import reference_package

    reference = reference_package()
    return [("autograder", _PACKAGE), ("cs_convnet", reference),
            ("cython_ext", reference.parent / "cython_ext"), ("nbgrader_config.py", Path(COURSE_CONFIG))]


def tree_digest(roots):
    """SHA-256 over every file under ``roots``, walked in a fixed order.

    Each file contributes its label-relative POSIX path and its bytes, in
    sorted path order, so the digest is the same on every machine and changes
    when a file is added, renamed, removed or edited. Caches and build
    products are skipped: ``__pycache__`` and build folders, compiled modules,
    and the ``.c`` and ``.html`` that Cython generates from a ``.pyx`` of the
    same name.

    Parameters
    ----------
    roots : list of (label, Path)
        Folders (walked recursively) or single files.

    Raises
    ------
    FileNotFoundError
        When a root does not exist: a missing folder is never skipped.
    """
    entries = []
    for label, root in roots:
        root = Path(root)
        if root.is_file():
            entries.append((label, root))
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"grader version: {label} not found at {root}; the grader version hashes "
                                    "the course's source checkout (install it with pip install -e)")
        for path in root.rglob("*"):
            rel = path.relative_to(root)
            if path.is_file() and not _is_build_product(rel, path):
                entries.append((f"{label}/{rel.as_posix()}", path))
    digest = hashlib.sha256()
    for name, path in sorted(entries):
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def _is_build_product(rel, path):
    if _SKIPPED_DIRS.intersection(rel.parts[:-1]) or any(part.endswith(".egg-info") for part in rel.parts):
        return True
    if path.suffix in _SKIPPED_SUFFIXES:
        return True
    return path.suffix in _CYTHON_OUTPUTS and path.with_suffix(".pyx").is_file()


@lru_cache(maxsize=1)
def _sources_digest():
    return tree_digest(grader_folders())


def worker_identity():
    """Who runs this task: the Dask worker's address, else host and process."""
    ident = {"host": socket.gethostname(), "pid": os.getpid(), "id": f"{socket.gethostname()}:{os.getpid()}"}
    distributed = sys.modules.get("distributed")
    if distributed is not None:
        try:
            ident["id"] = distributed.get_worker().address
        except ValueError:   # not inside a Dask worker
            pass
    return ident


def grade_task(spec, assets=None):
    """Grade one submission described by ``spec``; return the result dict (see the module docstring).

    Learner failures come back as outcomes; so does any failure of the grading
    machine (``infrastructure_error`` with ``error``). Only an interrupt
    (KeyboardInterrupt) propagates.
    """
    started = time.time()
    result = {"student": spec["student"], "key": spec["key"], "grader_version": None,
              "attempt": spec.get("attempt", 1), "outcome": None, "error": None, "learner_failures": [],
              "notes": list(spec.get("notes", [])), "package": None, "assignments": {},
              "timestamps": {"queued": spec.get("queued"), "submitted": spec.get("submitted"), "started": started},
              "worker": worker_identity()}
    work = Path(tempfile.mkdtemp(prefix=f"{spec['student']}-", dir=spec.get("scratch_root")))
    try:
        result["grader_version"] = grader_version()
        if spec.get("grader_version") not in (None, result["grader_version"]):
            raise InfrastructureError(f"this worker runs grader {result['grader_version']}, "
                                      f"the client {spec['grader_version']}: install the same version everywhere")
        _grade(spec, assets or {}, work, result)
        result["outcome"] = classify(result["learner_failures"])
    except InfrastructureError as error:
        result.update(outcome=INFRASTRUCTURE_ERROR, error=str(error))
    except Exception as error:  # a bug or a broken machine: never the learner's fault
        result.update(outcome=INFRASTRUCTURE_ERROR, error=f"{type(error).__name__}: {error}")
    finally:
        result["timestamps"]["checks_done"] = time.time()
        shutil.rmtree(work, ignore_errors=True)
    result["timestamps"].setdefault("sandbox_ready", None)
    return result


def classify(failures):
    """The outcome of a submission from the learner failures the sandboxes observed.

    A crash or out-of-memory anywhere outranks a timeout; no failure is ``graded``.
    """
    kinds = {failure["kind"] for failure in failures}
    if kinds & {"crash", "memory", "protocol"}:
        return LEARNER_CRASH
    if "timeout" in kinds:
        return LEARNER_TIMEOUT
    return GRADED


def _write_files(root, files):
    """Write ``{relative posix path: bytes}`` under ``root``; refuse paths leaving it."""
    for rel, data in files.items():
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
            raise ValueError(f"refusing the file path {rel!r} in a task spec")
        path = Path(root, *parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _grade(spec, assets, work, result):
    submission = work / "package"
    submission.mkdir()
    _write_files(submission, spec.get("package", {}))
    result["timestamps"]["sandbox_ready"] = time.time()   # replaced by grade-one's own, when it reports one
    report, notes, failures = run_package_checks(submission, work, spec.get("grade_one"))
    result["package"] = report
    result["notes"] += notes
    result["learner_failures"] += [dict(failure, where="package") for failure in failures]
    if report is not None and report.get("sandbox_ready"):
        result["timestamps"]["sandbox_ready"] = report["sandbox_ready"]
    if spec.get("notebooks"):
        _grade_notebooks(spec, assets, work, submission, result)


def run_package_checks(submission, work, grade_one=None, timeout=None):
    """Run ``grade-one`` on ``submission``; return (report or None, notes, learner failures).

    ``timeout``: seconds for all its checks (default: the package limits' ``wall_seconds``).

    Raises :class:`InfrastructureError` when grade-one could not grade: the
    sandbox did not start, grade-one was killed or crashed, or wrote no report.
    """
    from .. import limits
    from ..course.layout import REPO_ROOT, tool_env
    from ..processes import run_in_session
    from .grade_one import EXIT_SANDBOX_UNAVAILABLE

    timeout = limits.package().wall_seconds if timeout is None else timeout
    command = list(grade_one or (sys.executable, "-m", "autograder.engine.grade_one"))
    out = work / "package_report.json"
    env = tool_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
    env.update(SINGLE_THREADED)
    code, log = run_in_session([*command, str(submission), "--json", str(out)], cwd=work, env=env, timeout=timeout)
    if code is None:
        why = f"package checks took longer than {timeout:g} s and were stopped"
        return None, [why], [{"kind": "timeout", "detail": why}]
    tail = (log.strip().splitlines()[-1:] or ["no output"])[0][:300]
    if code == EXIT_SANDBOX_UNAVAILABLE:
        raise InfrastructureError(f"the sandbox could not start on this worker: {tail}")
    if code < 0:
        raise InfrastructureError(f"grade-one was killed by {_signal_name(-code)}")
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
        if not isinstance(report.get("checks"), list):
            raise ValueError("no 'checks' list")
    except (OSError, ValueError) as error:
        raise InfrastructureError(f"package checks could not run ({error}; exit {code}: {tail})") from None
    return report, [], list(report.get("learner_failures", []))


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _private_course(root, student, notebooks, assets):
    """A course folder holding only what nbgrader needs to grade ``student``'s ``notebooks``."""
    from ..course.layout import Course

    course = Course(root)
    for assignment, files in notebooks.items():
        _write_files(course.source / assignment, assets["source"][assignment])
        _write_files(course.root / "release" / assignment, assets.get("release", {}).get(assignment, {}))
        _write_files(course.submitted / student / assignment, files)
    course.grading.mkdir(parents=True, exist_ok=True)
    course.template_db.write_bytes(assets["template_db"])
    return course


def _grade_notebooks(spec, assets, work, submission, result):
    from .. import limits
    from ..course.nbgrader_grading import grade_notebooks
    from ..sandbox import notebook_kernel
    from ..sandbox.root import prepare_root

    student = spec["student"]
    course = _private_course(work / "course", student, spec["notebooks"], assets)
    package_root = prepare_root(submission)   # the learner's cs_convnet for the kernels
    try:
        for assignment in sorted(spec["notebooks"]):
            graded = grade_notebooks(course, student, assignment, package_root.path,
                                     spec.get("timeout") or limits.notebook().wall_seconds,
                                     scratch_dir=spec.get("scratch_root") or work)
            try:
                graded["kernel_oom"] = notebook_kernel.kernel_memory_events(Path(graded["scratch"]) / "jupyter")
                folder = Path(graded["autograded"]) if graded["autograded"] else None
                autograded = {p.relative_to(folder).as_posix(): p.read_bytes()
                              for p in sorted(folder.rglob("*")) if p.is_file()} if folder else {}
            finally:
                shutil.rmtree(graded["scratch"], ignore_errors=True)
            result["learner_failures"] += notebook_failures(assignment, graded, autograded)
            result["assignments"][assignment] = {
                "assignment": assignment, "scores": graded["scores"], "notes": graded["notes"],
                "review": graded["review"], "log_tail": graded["log_tail"],
                "kernel_isolation": graded["kernel_isolation"], "autograded": autograded}
    finally:
        package_root.cleanup()


def notebook_failures(assignment, graded, autograded):
    """Learner failures of one nbgrader run: its time limit, its kernels' memory, the error outputs of its notebooks.

    ``graded["kernel_oom"]`` counts the out-of-memory events of the kernels'
    memory cgroups (:func:`autograder.sandbox.notebook_kernel.kernel_memory_events`,
    read by trusted code). The rest is read from what nbgrader recorded in the
    autograded notebooks: a cell over its time limit (``CellTimeoutError``), a
    kernel that died or hung (:mod:`autograder.course.preprocessors`). A
    ``MemoryError`` the learner's code raised is only that cell's error.
    """
    from ..course.preprocessors import KERNEL_DIED, KERNEL_HUNG

    kinds = {"CellTimeoutError": "timeout", KERNEL_HUNG: "timeout", KERNEL_DIED: "crash"}
    failures = []
    if graded.get("timed_out"):
        failures.append({"where": assignment, "kind": "timeout",
                         "detail": f"{assignment}: the notebook run was stopped"})
    if graded.get("kernel_oom"):
        failures.append({"where": assignment, "kind": "memory",
                         "detail": f"{assignment}: the notebook kernel ran out of memory (its memory cgroup "
                                   f"counted {graded['kernel_oom']} out-of-memory event(s))"})
    for rel, data in autograded.items():
        if not rel.endswith(".ipynb"):
            continue
        try:
            cells = json.loads(data.decode("utf-8")).get("cells", [])
        except (UnicodeDecodeError, ValueError):
            continue
        for cell in cells:
            for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
                kind = kinds.get(output.get("ename")) if isinstance(output, dict) else None
                if kind:
                    cell_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
                    failures.append({"where": f"{assignment}/{rel}", "kind": kind,
                                     "detail": f"{assignment}/{rel}, {cell_id}: {output.get('ename')}"})
    return failures

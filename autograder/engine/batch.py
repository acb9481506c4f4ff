"""Autograde every collected submission: one task per student, on any executor, resumable.

One task (:func:`autograder.engine.tasks.grade_task`) grades one student completely:
their package files through ``grade-one`` (the sandboxed, authoritative
checks) and each submitted assignment through ``nbgrader autograde`` in a
private scratch course. Tasks run on an executor (:mod:`autograder.engine.executors`):
in this process, in ``jobs`` local processes, or on a Dask cluster. Workers
return results as data; only this process writes the course. For each result
it writes the autograded notebooks, records the grades in one gradebook
transaction, writes ``grading/records/<student>.json``, and last the result
file ``grading/results/<key>.json`` (:mod:`autograder.engine.results`).

Resuming: a student whose record and stored result carry the task's current
key -- a digest of their collected files, the grader's version and the course
files graded against -- is skipped unless ``force``. Stopping the batch
(Ctrl-C, SIGTERM) kills the tasks in flight with their processes (on Dask,
cancels them; the sandbox's limits end any still running); what was stored
stays, the rest is graded on the next run.

Outcomes: a learner timeout or crash (out-of-memory included) is recorded
like any grade -- the points earned are kept -- and never retried. An
infrastructure error (a worker or grade-one died, the sandbox did not start)
is retried up to ``max_attempts`` times, on another worker when there is one;
if it persists, the student is reported in ``failed`` and nothing is recorded
for them: it never counts against the learner.
"""

import fcntl
import hashlib
import json
import os
import shutil
import signal
import threading
import time
from collections import Counter, deque
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from cs_convnet.atomic import write_json, write_text

from ..course import gradebook
from ..course.layout import PACKAGE_ASSIGNMENT, PACKAGE_NOTEBOOK, Course
from ..course.nbgrader_grading import NBGRADER_TIMEOUT
from ..processes import kill_in_flight, stopping
from . import executors, tasks
from .results import ResultStore, storable, task_key

MAX_ATTEMPTS = 3   # tries of a task failing for infrastructure reasons
# Tasks in flight: twice the executor's slots, so a worker finds its next task waiting while
# specs (which hold the submission's files) are read only shortly before they run.
WINDOW_REFRESH = 5.0   # seconds between two looks at the executor's size


def fingerprint(course, student):
    """Hash of everything collected for ``student`` (names and bytes)."""
    digest = hashlib.sha256()
    for base in (course.submitted / student, course.packages / student):
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()):
            digest.update(str(path.relative_to(course.root)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _read_tree(folder):
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def read_submission(course, student):
    """What was collected for ``student``: ``{"package": {rel: bytes}, "notebooks": {assignment: {rel: bytes}}}``."""
    notebooks = {a: _read_tree(course.submitted / student / a) for a in course.assignments()
                 if (course.submitted / student / a).is_dir()}
    package_root = course.package_root(student)   # packages/<student>, or an nbgrader exchange submission
    package = _read_tree(package_root / "cs_convnet") if package_root else {}
    return {"package": {f"cs_convnet/{rel}": data for rel, data in package.items()}, "notebooks": notebooks}


def course_assets(course):
    """What a task needs of the course to run nbgrader, as bytes, and a digest per assignment.

    Returns ``(assets, digests)``: assets ``{"source": {assignment: {rel: bytes}},
    "release": {...}, "template_db": bytes}`` (empty without assignments) and
    ``{assignment: hex digest of its source and released files}``.
    """
    assignments = course.assignments()
    if not assignments:
        return {}, {}
    assets = {"source": {}, "release": {}, "template_db": course.template_db.read_bytes()}
    digests = {}
    for assignment in assignments:
        assets["source"][assignment] = _read_tree(course.source / assignment)
        assets["release"][assignment] = _read_tree(course.root / "release" / assignment)
        digest = hashlib.sha256()
        for kind in ("source", "release"):
            for rel, data in sorted(assets[kind][assignment].items()):
                digest.update(f"{kind}/{rel}\0".encode() + hashlib.sha256(data).digest())
        digests[assignment] = digest.hexdigest()
    return assets, digests


def _course_digest(digests, submission):
    return ",".join(f"{a}:{digests.get(a, '')}" for a in sorted(submission["notebooks"]))


def _collect_notes(course, student):
    path = course.collect_notes / f"{student}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _write_tree(files, dest):
    """Replace folder ``dest`` by ``{rel: bytes}`` (written aside first, then renamed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(dest.name + ".incoming")
    shutil.rmtree(staging, ignore_errors=True)
    for rel, data in files.items():
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    staging.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)


def package_notebook(student, report, notes, kernel_isolation=()):
    """An autograded-style notebook of the package checks, so nbgrader's feedback renders them."""
    header = [f"# Package checks of {student}"]
    if report is not None:
        header.append(f"Score: {report['score']:g} / {report['max_score']:g}; "
                      f"isolation: {report.get('isolation', 'unknown')}.")
    for isolation in sorted(set(kernel_isolation)):
        header.append(f"Notebook kernels ran under: {isolation}.")
    if notes:
        header.append("**Grading notes**\n\n" + "\n".join(f"- {note}" for note in notes))
    cells = [nbformat.v4.new_markdown_cell("\n\n".join(header))]
    for index, check in enumerate((report or {}).get("checks", [])):
        text = ("passed" if check["passed"] else "FAILED") + (f": {check['message']}" if check["message"] else "")
        # built as plain data: nbformat.v4.new_code_cell validates each cell, a cost paid per student
        cells.append(nbformat.from_dict({
            "id": f"check-{index}", "cell_type": "code", "execution_count": None,
            "source": f"# {check['function']}: {check['name']}",
            "metadata": {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": check["name"],
                                      "points": float(check["max_points"]), "schema_version": 3}},
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text + "\n"}]}))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def record(course, result):
    """Client only: put one task's result into the course (autograded notebooks, gradebook, record).

    The result file is written afterwards by :func:`store`; until then a
    re-run grades the student again.
    """
    student = result["student"]
    scores, review = {}, {}
    all_notes = list(result["notes"])
    for assignment, graded in result["assignments"].items():
        scores[assignment] = graded["scores"]
        review[assignment] = graded["review"]
        all_notes += graded["notes"]
        if graded.get("autograded"):
            _write_tree(graded["autograded"], course.autograded / student / assignment)
    report = result["package"]
    if report is None:  # grade-one was stopped: the package earns nothing this run, and says why
        report = {"score": 0.0, "max_score": 0.0, "checks": [], "isolation": "none"}
    folder = course.autograded / student / PACKAGE_ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    isolations = [g["kernel_isolation"] for g in result["assignments"].values() if g.get("kernel_isolation")]
    notebook = package_notebook(student, report, all_notes, isolations)
    write_text(folder / f"{PACKAGE_NOTEBOOK}.ipynb", nbformat.writes(notebook) + "\n")
    gradebook.record_student(course, student, scores, report, review)
    result["timestamps"]["recorded"] = time.time()
    kept = storable(result)
    kept["fingerprint"] = fingerprint(course, student)
    write_json(course.records / f"{student}.json", kept)


def store(course, result):
    """Record ``result`` in the course, then store it under its key (the commit of a task)."""
    record(course, result)
    ResultStore(course).write(result)
    result["timestamps"]["stored"] = time.time()


def is_current(course, student, key):
    """Whether ``student`` was recorded and stored under ``key``."""
    try:
        recorded = json.loads((course.records / f"{student}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("key") == key and key in ResultStore(course)


def submission_key(course, student, submission=None, digests=None, grade_one=None):
    """The task key of ``student``'s collected files (see :func:`autograder.engine.results.task_key`)."""
    submission = read_submission(course, student) if submission is None else submission
    digests = course_assets(course)[1] if digests is None else digests
    return task_key(student, submission, tasks.grader_version(), _course_digest(digests, submission), grade_one)


def pending(course, students=None, force=False, digests=None, grade_one=None):
    """Students to grade: collected, and not stored under their current key (everyone with ``force``)."""
    students = students or course.students()
    if force:
        return list(students)
    digests = course_assets(course)[1] if digests is None else digests
    return [s for s in students if not is_current(course, s, submission_key(course, s, None, digests, grade_one))]


def _spec(course, student, digests, grade_one, timeout, scratch_root, attempt, queued):
    submission = read_submission(course, student)
    return {"student": student, "key": submission_key(course, student, submission, digests, grade_one),
            "grader_version": tasks.grader_version(), "attempt": attempt, "queued": queued,
            "submitted": time.time(), "package": submission["package"], "notebooks": submission["notebooks"],
            "notes": _collect_notes(course, student), "grade_one": list(grade_one) if grade_one else None,
            "timeout": timeout, "scratch_root": scratch_root}


def autograde(course_dir, jobs=1, force=False, students=None, progress=True, timeout=NBGRADER_TIMEOUT,
              grade_one=None, scheduler=None, dask_workers=None, max_attempts=MAX_ATTEMPTS):
    """Grade every pending student; return a summary dict.

    Parameters
    ----------
    jobs : int
        Local worker processes (1: in this process). Exclusive with the Dask options.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:PORT``) whose workers grade.
    dask_workers : int, optional
        Grade on a local Dask cluster of this many single-threaded worker processes.
    grade_one : list of str, optional
        The command grading a package submission (``SUBMISSION --json OUT`` are
        appended); default ``python -m autograder.engine.grade_one``. Tests pass quicker ones.
    max_attempts : int
        Tries of a task that fails for infrastructure reasons.

    Returns
    -------
    dict
        ``graded`` (students recorded, whatever their outcome), ``skipped``
        (already stored under their key), ``failed`` ``{student: reason}``
        (persistent infrastructure errors, or a result the course could not
        record), ``outcomes`` ``{student: outcome}``, ``jobs`` ``{student:
        {outcome, attempts, worker, timestamps}}`` with the timestamps
        ``queued``, ``submitted``, ``started``, ``sandbox_ready``,
        ``checks_done``, ``received``, ``recorded``, ``stored`` (seconds since
        the epoch), and ``backend``.
    """
    course = Course(course_dir).require()
    _check_settings(jobs, dask_workers, timeout, max_attempts)
    if students:
        course.check_students(students)
    lock = _exclusive(course)
    try:
        for link in course.scratch.glob("*/runtime"):      # kernel folders of a killed run
            if link.is_symlink() and Path(os.readlink(link)).name.startswith("csk-"):
                shutil.rmtree(os.readlink(link), ignore_errors=True)
        shutil.rmtree(course.scratch, ignore_errors=True)  # left by an interrupted run
        course.scratch.mkdir(parents=True, exist_ok=True)
        everyone = students or course.students()
        assets, digests = course_assets(course)
        todo = pending(course, everyone, force, digests, grade_one)
        summary = {"graded": [], "skipped": [s for s in everyone if s not in todo], "failed": {},
                   "outcomes": {}, "jobs": {}, "backend": None}
        if todo:
            _run(course, todo, summary, assets, digests, jobs=jobs, scheduler=scheduler, dask_workers=dask_workers,
                 grade_one=grade_one, timeout=timeout, max_attempts=max_attempts, progress=progress)
    finally:
        lock.close()
    return summary


def _check_settings(jobs, dask_workers, timeout, max_attempts):
    """ValueError (one line) for a setting that would make learners fail for the grader's reasons."""
    for name, value in (("jobs", jobs), ("dask_workers", dask_workers), ("max_attempts", max_attempts)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    if not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ValueError(f"timeout must be a number of seconds greater than 0, got {timeout!r}")


def _run(course, todo, summary, assets, digests, *, jobs, scheduler, dask_workers, grade_one, timeout,
         max_attempts, progress):
    stopping.clear()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
    bar = tqdm(total=len(todo), desc="autograde", unit="student", disable=not progress)
    executor = None
    try:
        executor = executors.make_executor(jobs, scheduler, dask_workers, assets)
        summary["backend"] = executor.name
        scratch_root = str(course.scratch) if executor.shared_filesystem else None
        queue, attempts, avoid, in_flight = deque(todo), Counter(), {}, 0
        window, sized = 2, None
        queued = time.time()
        while queue or in_flight:
            if sized is None or time.monotonic() - sized > WINDOW_REFRESH:   # a Dask cluster may grow
                window, sized = max(2, 2 * executor.slots()), time.monotonic()
            while queue and in_flight < window:
                student = queue.popleft()
                attempts[student] += 1
                spec = _spec(course, student, digests, grade_one, timeout, scratch_root, attempts[student], queued)
                executor.submit(spec, avoid=avoid.get(student))
                in_flight += 1
            for done in executor.completed(timeout=0.5):
                in_flight -= 1
                student = done.spec["student"]
                result = done.result
                if done.failure is not None or result["outcome"] == tasks.INFRASTRUCTURE_ERROR:
                    reason = done.failure or result["error"]
                    if attempts[student] < max_attempts:
                        avoid[student] = done.worker or (result or {}).get("worker", {}).get("id")
                        queue.appendleft(student)
                        continue
                    summary["failed"][student] = (f"infrastructure error ({attempts[student]} attempts; "
                                                  f"never counted against the learner): {reason}")
                    summary["jobs"][student] = {"outcome": tasks.INFRASTRUCTURE_ERROR, "attempts": attempts[student],
                                                "worker": done.worker, "timestamps": (result or {}).get("timestamps")}
                    bar.update(1)
                    continue
                result["timestamps"]["received"] = time.time()
                result["attempts"] = attempts[student]
                try:
                    store(course, result)
                    summary["graded"].append(student)
                    summary["outcomes"][student] = result["outcome"]
                    summary["jobs"][student] = {"outcome": result["outcome"], "attempts": attempts[student],
                                                "worker": result["worker"]["id"], "timestamps": result["timestamps"]}
                except KeyboardInterrupt:
                    raise
                except Exception as error:  # one student's failure never stops the batch
                    summary["failed"][student] = f"{type(error).__name__}: {error}"
                bar.update(1)
        executor.close()
    except BaseException:
        if executor is not None:
            executor.close(cancel=True)
        kill_in_flight()
        raise
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exclusive(course):
    """Hold the course's batch lock (one autograde at a time per course)."""
    handle = open(course.grading / "batch.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(f"another autograde is running on {course.root}") from None
    return handle


def _main_thread():
    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")

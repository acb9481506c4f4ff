"""Autograde every collected submission, ``jobs`` at a time, resumable.

One unit of work is one student: their package files through ``grade-one``
(the sandboxed, authoritative checks) and each submitted assignment through
``nbgrader autograde`` in a private scratch course. Units run in worker threads,
each driving its own subprocesses, so ``jobs`` nbgrader/grade-one processes run
at once. Only the main thread writes the course: when a unit is done it moves
the autograded notebooks into place, records the grades in one gradebook
transaction, then writes ``grading/records/<student>.json``.

Resuming: a student whose record exists and whose submission fingerprint
(a hash of the collected files) is unchanged is skipped unless ``force``.
Stopping the batch (Ctrl-C, SIGTERM) kills the units in flight with all their
processes; what was recorded stays, what was in flight is graded on the next run.
"""

import fcntl
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from . import gradebook
from .course import PACKAGE_ASSIGNMENT, PACKAGE_NOTEBOOK, Course, REPO_ROOT, tool_env
from .nbgrader_grading import NBGRADER_TIMEOUT, grade_notebooks
from .processes import kill_in_flight, run_in_session, stopping

GRADE_ONE_TIMEOUT = 1800
GRADE_ONE = (sys.executable, "-m", "autograder.grade_one")



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


def grade_package(course, student, scratch, grade_one=GRADE_ONE):
    """Run ``grade-one`` on the student's package files; return (report or None, notes)."""
    submission = course.packages / student
    if not submission.is_dir():
        submission = scratch / "empty-submission"
        submission.mkdir(exist_ok=True)
    out = scratch / "package_report.json"
    env = tool_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
    code, log = run_in_session([*grade_one, str(submission), "--json", str(out)],
                               cwd=scratch, env=env, timeout=GRADE_ONE_TIMEOUT)
    if code is None:
        return None, [f"package checks took longer than {GRADE_ONE_TIMEOUT} s and were stopped"]
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
        if not isinstance(report.get("checks"), list):
            raise ValueError("no 'checks' list")
    except (OSError, ValueError) as error:
        tail = log.strip().splitlines()[-1:] or ["no output"]
        return None, [f"package checks could not run ({error}; exit {code}: {tail[0][:200]})"]
    return report, []


def _package_root(course, student, scratch):
    """The learner's cs_convnet for notebook kernels: the student edition with their files laid over."""
    try:
        from . import sandbox
    except ImportError:
        return None, None
    root = sandbox.prepare_root(course.packages / student if (course.packages / student).is_dir()
                                else scratch / "empty-submission")
    return root, root.path


def grade_student(course, student, timeout=NBGRADER_TIMEOUT, grade_one=GRADE_ONE):
    """Grade one student completely, touching nothing of the course but its scratch folder."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{student}-", dir=course.scratch))
    result = {"student": student, "fingerprint": fingerprint(course, student), "notes": [],
              "assignments": {}, "package": None, "scratch": [str(scratch)]}
    notes_file = course.collect_notes / f"{student}.json"
    if notes_file.is_file():
        result["notes"] += json.loads(notes_file.read_text(encoding="utf-8"))
    report, notes = grade_package(course, student, scratch, grade_one)
    result["package"], result["notes"] = report, result["notes"] + notes
    assignments = [a for a in course.assignments() if (course.submitted / student / a).is_dir()]
    sandbox_root = None
    if assignments:
        sandbox_root, package_root = _package_root(course, student, scratch)
        try:
            for assignment in assignments:
                graded = grade_notebooks(course, student, assignment, package_root, timeout)
                result["assignments"][assignment] = graded
                result["scratch"].append(graded["scratch"])
        finally:
            if sandbox_root is not None:
                sandbox_root.cleanup()
    return result


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
    for check in (report or {}).get("checks", []):
        cell = nbformat.v4.new_code_cell(f"# {check['function']}: {check['name']}")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                     "grade_id": check["name"], "points": float(check["max_points"]),
                                     "schema_version": 3}
        text = ("passed" if check["passed"] else "FAILED") + (f": {check['message']}" if check["message"] else "")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _replace_dir(source, dest):
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(dest.name + ".incoming")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)


def record(course, result):
    """Main thread only: move outputs into the course, write the grades, then the record."""
    student = result["student"]
    scores, review = {}, {}
    all_notes = list(result["notes"])
    for assignment, graded in result["assignments"].items():
        scores[assignment] = graded["scores"]
        review[assignment] = graded["review"]
        all_notes += graded["notes"]
        if graded["autograded"]:
            _replace_dir(Path(graded["autograded"]), course.autograded / student / assignment)
    report = result["package"]
    if report is None:  # grade-one failed: the package earns nothing this run, and says why
        report = {"score": 0.0, "max_score": 0.0, "checks": [], "isolation": "none"}
    folder = course.autograded / student / PACKAGE_ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    isolations = [g["kernel_isolation"] for g in result["assignments"].values() if g.get("kernel_isolation")]
    nbformat.write(package_notebook(student, report, all_notes, isolations), folder / f"{PACKAGE_NOTEBOOK}.ipynb")
    gradebook.record_student(course, student, scores, report, review)
    kept = {k: v for k, v in result.items() if k != "scratch"}
    for graded in kept["assignments"].values():
        graded.pop("scratch", None)
        graded.pop("autograded", None)
    partial = course.records / f"{student}.json.partial"
    partial.write_text(json.dumps(kept, indent=1), encoding="utf-8")
    partial.replace(course.records / f"{student}.json")
    for path in result["scratch"]:
        shutil.rmtree(path, ignore_errors=True)


def pending(course, students=None, force=False):
    """Students to grade: collected, and not recorded with the same fingerprint (unless ``force``)."""
    todo = []
    for student in students or course.students():
        done = course.records / f"{student}.json"
        if not force and done.is_file():
            try:
                if json.loads(done.read_text(encoding="utf-8")).get("fingerprint") == fingerprint(course, student):
                    continue
            except ValueError:
                pass
        todo.append(student)
    return todo


def autograde(course_dir, jobs=1, force=False, students=None, progress=True, timeout=NBGRADER_TIMEOUT,
              grade_one=GRADE_ONE):
    """Grade every pending student; return ``{"graded": [...], "skipped": [...], "failed": {...}}``.

    ``grade_one`` is the command grading a package submission (``SUBMISSION --json OUT``
    are appended); tests of the notebook side pass a quicker one.
    """
    course = Course(course_dir)
    if not course.template_db.is_file():
        raise FileNotFoundError(f"{course.root} is not a prepared course (run `collect` first)")
    lock = _exclusive(course)
    for link in course.scratch.glob("*/runtime"):      # kernel folders of a killed run
        if link.is_symlink() and Path(os.readlink(link)).name.startswith("csk-"):
            shutil.rmtree(os.readlink(link), ignore_errors=True)
    shutil.rmtree(course.scratch, ignore_errors=True)  # left by an interrupted run
    course.scratch.mkdir(parents=True, exist_ok=True)
    everyone = students or course.students()
    todo = pending(course, everyone, force)
    summary = {"graded": [], "skipped": [s for s in everyone if s not in todo], "failed": {}}
    stopping.clear()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
    bar = tqdm(total=len(todo), desc="autograde", unit="student", disable=not progress or not todo)
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            running = {pool.submit(grade_student, course, s, timeout, grade_one): s for s in todo}
            try:
                while running:
                    done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in done:
                        student = running.pop(future)
                        try:
                            record(course, future.result())
                            summary["graded"].append(student)
                        except KeyboardInterrupt:
                            raise
                        except Exception as error:  # one student's failure never stops the batch
                            summary["failed"][student] = f"{type(error).__name__}: {error}"
                        bar.update(1)
            except BaseException:
                for future in running:
                    future.cancel()
                kill_in_flight()
                raise
    finally:
        bar.close()
        lock.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return summary


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

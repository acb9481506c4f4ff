"""Gradescope autograder: build its zip, and grade one Gradescope submission.

Build (instructor's machine)::

    cs-convnet-course gradescope [ASSIGNMENT...] -o autograder.zip

writes a zip in Gradescope's autograder format: ``setup.sh`` and
``run_autograder`` at its root, ``wheels/`` (this project, grader and
reference package, as one pure-Python wheel built with ``pip wheel --no-deps``)
and ``gradescope.json`` (what to grade, and each check's visibility).
Gradescope unpacks it to ``/autograder/source`` and runs ``setup.sh`` once;
``setup.sh`` makes ``/autograder/venv`` and installs the wheel there, its
dependencies from the package index.

Grade (inside Gradescope's container, once per submission)::

    /autograder/venv/bin/python -m autograder.course.gradescope run

reads the learner's files from ``/autograder/submission`` (the contents of a
``cs-convnet submit`` zip, that zip itself, or ``layers.py``, ``optim.py``,
``fc_net.py``, ``cnn.py`` uploaded one by one), runs ``grade-one``'s sandboxed
package checks (as ``autograde`` does: :func:`autograder.engine.tasks.run_package_checks`,
same limits) and writes
``/autograder/results/results.json``: one test per check (its message, never
its inputs), ``score``, ``execution_time`` and an ``output`` naming the
isolation in force. Whatever happens, a ``results.json`` is written: a
learner's crash, time-out or memory blow-up fails that check; a failure of the
grader itself gives score 0 and an output that says so.

Notebook assignments named at build time are graded too, as ``autograde``
grades them (:func:`autograder.engine.tasks.grade_task`: nbgrader in the notebook
kernel's sandbox, against the learner's own ``cs_convnet``): the zip then
carries ``assets/`` (the assignments' source and released notebooks, the
structure-only gradebook of a course prepared at build time, and the course's
``nbgrader_config.py``) and ``setup.sh`` installs the wheel's ``course`` extra
(nbgrader) and puts that config where :data:`autograder.course.layout.COURSE_CONFIG`
points in the installed package. One test per grade cell;
written answers wait for a person and are listed in the output.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from cs_convnet.atomic import atomic_open, write_json
from cs_convnet.boundary import LEARNER_FILES

ROOT = Path("/autograder")            # Gradescope's fixed layout
CONFIG = "gradescope.json"
TEMPLATE_DB = "assets/template.db"
NBGRADER_CONFIG = "assets/nbgrader_config.py"
TEMPLATE = Path(__file__).with_name("gradescope_template")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
HIDDEN_DEFAULT = "after_published"    # the package checks are hidden checks
_SOURCE_FILES = ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in")
_SOURCE_FOLDERS = ("cs_convnet", "autograder")


# --------------------------------------------------------------------------
# Building the zip
# --------------------------------------------------------------------------

def visibility(text):
    """argparse type: ``NAME=VISIBILITY`` (a check, a function or a grade cell) -> (NAME, VISIBILITY)."""
    name, sep, value = text.partition("=")
    if not sep or not name or value not in VISIBILITIES:
        raise argparse.ArgumentTypeError(f"expected NAME=VISIBILITY (NAME a check, function or grade cell) with "
                                         f"VISIBILITY one of "
                                         f"{', '.join(VISIBILITIES)}, got {text!r}")
    return name, value


def _check_assignments(assignments):
    from .layout import ASSIGNMENTS_DIR, PACKAGE_ASSIGNMENT

    known = sorted(p.name for p in (ASSIGNMENTS_DIR / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    wanted = list(dict.fromkeys([PACKAGE_ASSIGNMENT, *(assignments or [])]))   # the package checks always
    unknown = [a for a in wanted if a != PACKAGE_ASSIGNMENT and a not in known]
    if unknown:
        raise ValueError(f"unknown assignment {unknown[0]!r}; expected {PACKAGE_ASSIGNMENT} or one of "
                         f"{', '.join(known)}")
    return wanted


def _check_names(overrides, cells):
    from ..checks import all_checks

    checks = all_checks()
    names = {c.name for c in checks} | {c.function for c in checks}
    names |= {cell for notebooks in cells.values() for grades in notebooks.values() for cell in grades}
    for name, _ in overrides:
        if name not in names:
            raise ValueError(f"--visibility {name}: no check, function or grade cell of that name; expected a "
                             "check name such as relu_forward[...], a function name such as relu_forward "
                             "or a notebook's grade cell id")


def _course_assets(folder, notebooks):
    """Prepare a course with ``notebooks`` in ``folder``; return (its task assets, grade cells).

    The cells are ``{assignment: {notebook: {cell id: {"points": float, "manual": bool}}}}``.
    """
    from nbgrader.api import Gradebook

    from ..engine.batch import course_assets
    from .prepare import prepare

    course = prepare(folder, assignments=notebooks)
    assets, _ = course_assets(course)
    cells = {}
    with Gradebook(f"sqlite:///{course.template_db}") as gradebook:
        for assignment in notebooks:
            cells[assignment] = {}
            for notebook in gradebook.find_assignment(assignment).notebooks:
                solutions = {cell.name for cell in notebook.solution_cells}
                cells[assignment][notebook.name] = {
                    cell.name: {"points": float(cell.max_score), "manual": cell.name in solutions}
                    for cell in notebook.grade_cells}
    return assets, cells


def build_wheel(dest):
    """Build this project as a pure-Python wheel in ``dest``; return its path.

    The source is copied first (the shared working tree gets no ``build/``),
    and the Cython extensions are left out (``CS_CONVNET_NO_CYTHON``) so the
    wheel installs on any Python 3.11+ Gradescope image; the fast layers then
    run on numpy, which grading does not need.
    """
    from .layout import REPO_ROOT

    if not (REPO_ROOT / "setup.py").is_file():
        raise RuntimeError(f"{REPO_ROOT} is not the instructor's source tree (no setup.py): "
                           "build the Gradescope zip from a checkout of the course")
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="cs-convnet-wheel-") as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        for name in _SOURCE_FILES:
            if (REPO_ROOT / name).is_file():
                shutil.copy2(REPO_ROOT / name, source / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.c", "*.egg-info", "build")
        for name in _SOURCE_FOLDERS:
            shutil.copytree(REPO_ROOT / name, source / name, ignore=ignore)
        command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(dest), "-q"]
        try:
            import setuptools  # noqa: F401  (present: build offline, without an isolated build environment)
            command.append("--no-build-isolation")
        except ImportError:
            pass
        env = dict(os.environ, CS_CONVNET_NO_CYTHON="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"pip wheel failed (exit status {done.returncode}): {tail[0]}")
    wheels = sorted(dest.glob("cs_convnet-*-py3-none-any.whl"))
    if not wheels:
        raise RuntimeError(f"pip wheel made no pure-Python cs_convnet wheel in {dest}")
    return wheels[-1]


def build(output, assignments=None, overrides=(), hidden_visibility=HIDDEN_DEFAULT,
          results_visibility="visible", stdout_visibility="hidden"):
    """Write the autograder zip at ``output``; return ``(output, config)``.

    overrides : pairs (check or function name, visibility), e.g. ``("relu_forward", "visible")``.
    hidden_visibility : every other check's visibility.
    results_visibility, stdout_visibility : results.json's top-level ``visibility`` and ``stdout_visibility``.
    """
    from .layout import PACKAGE_ASSIGNMENT

    for what, value in (("hidden visibility", hidden_visibility), ("results visibility", results_visibility),
                        ("stdout visibility", stdout_visibility)):
        if value not in VISIBILITIES:
            raise ValueError(f"{what} must be one of {', '.join(VISIBILITIES)}, got {value!r}")
    wanted = _check_assignments(assignments)
    notebooks = [a for a in wanted if a != PACKAGE_ASSIGNMENT]
    overrides = list(overrides)
    config = {
        "notebooks": notebooks,
        "cells": {},
        "hidden_visibility": hidden_visibility,
        "visibility": dict(overrides),
        "results_visibility": results_visibility,
        "stdout_visibility": stdout_visibility,
    }
    with tempfile.TemporaryDirectory(prefix="cs-convnet-gradescope-") as tmp:
        assets = {}
        if notebooks:
            assets, config["cells"] = _course_assets(Path(tmp) / "course", notebooks)
        _check_names(overrides, config["cells"])
        wheel = build_wheel(tmp)
        with atomic_open(output, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in ("setup.sh", "run_autograder"):
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o100755 << 16     # executable: Gradescope runs them directly
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, (TEMPLATE / name).read_bytes())
            archive.write(wheel, f"wheels/{wheel.name}")
            for kind in ("source", "release"):
                for assignment, files in assets.get(kind, {}).items():
                    for rel, data in files.items():
                        archive.writestr(f"assets/{kind}/{assignment}/{rel}", data)
            if assets:
                from .layout import COURSE_CONFIG

                archive.writestr(TEMPLATE_DB, assets["template_db"])
                # setup.sh puts it where autograder.course.layout expects it
                archive.write(COURSE_CONFIG, NBGRADER_CONFIG)
            archive.writestr(CONFIG, json.dumps(config, indent=2) + "\n")
    return Path(output), config


# --------------------------------------------------------------------------
# Grading one submission
# --------------------------------------------------------------------------

def submission_files(folder, notes, notebook_names=None):
    """``({learner file: bytes}, {assignment: {notebook: bytes}})`` of a Gradescope submission folder.

    Package files are placed by path (``.../cs_convnet/layers.py``) or,
    uploaded one by one, by name (``layers.py``); notebooks by name
    (``notebook_names``: ``{"convolution.ipynb": "02_convolution"}``). A zip
    among them (the ``cs-convnet submit`` zip, not unpacked) is read too. A
    file found by its path wins over a loose one of the same name; every choice
    that drops a file is noted.
    """
    from .collect import Skip, read_directory, read_zip

    notebook_names = notebook_names or {}
    found = read_directory(folder, notes)
    for rel in sorted(r for r in found if r.lower().endswith(".zip")):
        data = found.pop(rel)
        with tempfile.NamedTemporaryFile(suffix=".zip") as handle:
            handle.write(data)
            handle.flush()
            try:
                for inner, content in read_zip(handle.name, notes).items():
                    found.setdefault(f"{rel}/{inner}", content)
            except Skip as skip:
                notes.append(f"skipped {rel}: {skip}")
    wanted = sorted(LEARNER_FILES)
    by_name = {PurePosixPath(rel).name: rel for rel in wanted}
    by_path, loose, notebooks = {}, {}, {}
    for rel, data in sorted(found.items()):
        parts = PurePosixPath(rel).parts
        if any(part.startswith(".") or part in ("__pycache__", "__MACOSX") for part in parts):
            continue
        if parts[-1] in notebook_names:
            assignment = notebook_names[parts[-1]]
            if parts[-1] in notebooks.get(assignment, {}):
                notes.append(f"{parts[-1]} was submitted twice; {rel} was used")
            notebooks.setdefault(assignment, {})[parts[-1]] = data
        elif "cs_convnet" in parts:
            start = len(parts) - 1 - parts[::-1].index("cs_convnet")
            target = PurePosixPath(*parts[start:]).as_posix()
            if target in wanted:
                if target in by_path:
                    notes.append(f"{target} was submitted twice; {rel} was used")
                by_path[target] = data
        elif parts[-1] in by_name:
            target = by_name[parts[-1]]
            if target in loose:
                notes.append(f"{parts[-1]} was submitted twice; {rel} was used")
            loose[target] = data
    for target in sorted(set(loose) & set(by_path)):
        notes.append(f"a loose {PurePosixPath(target).name} was ignored: {target} was submitted at its path")
    return {**loose, **by_path}, notebooks


def _visibility(config, *names):
    for name in names:
        if name in config["visibility"]:
            return config["visibility"][name]
    return config["hidden_visibility"]


def _package_tests(report, config):
    return [{"name": check["name"], "score": check["points"], "max_score": check["max_points"],
             "status": "passed" if check["passed"] else "failed", "output": check["message"] or "passed",
             "visibility": _visibility(config, check["name"], check["function"])}
            for check in report["checks"]]


def _notebook_tests(config, result, submitted, lines):
    """One test per autograded grade cell of each notebook assignment; written answers listed in ``lines``."""
    tests = []
    for assignment in config["notebooks"]:
        graded = result["assignments"].get(assignment)
        if graded is not None:
            lines.append(f"Notebook kernel isolation ({assignment}): {graded['kernel_isolation']}")
            lines += [f"Note ({assignment}): {note}" for note in graded["notes"]]
        for notebook, cells in sorted(config["cells"][assignment].items()):
            scores = (graded or {}).get("scores", {}).get(notebook, {})
            for cell, spec in cells.items():
                if spec["manual"]:
                    lines.append(f"Written answer {assignment}/{notebook}.ipynb {cell} ({spec['points']:g} points): "
                                 "graded by your instructor, not by this autograder.")
                    continue
                score = scores.get(cell)
                if notebook + ".ipynb" not in submitted.get(assignment, {}):
                    why = f"{notebook}.ipynb was not submitted"
                elif score is None:
                    why = "this cell was not graded (see the notes above)"
                elif score < spec["points"]:
                    why = "the cell's tests failed"
                else:
                    why = "passed"
                tests.append({"name": f"{assignment}/{notebook}.ipynb: {cell}", "score": float(score or 0.0),
                              "max_score": spec["points"], "status": "passed" if why == "passed" else "failed",
                              "output": why, "visibility": _visibility(config, cell)})
    return tests


def _stopped_report(notes):
    """grade-one's report when the whole package run was stopped (its wall time): every check failed."""
    from ..checks import all_checks

    why = "; ".join(notes) or "the package checks were stopped"
    checks = [{"name": c.name, "function": c.function, "points": 0.0, "max_points": float(c.points),
               "passed": False, "message": why} for c in all_checks()]
    return {"score": 0.0, "max_score": sum(c["max_points"] for c in checks), "notes": [],
            "isolation": "unknown (the package checks were stopped before reporting it)", "checks": checks}


def _results(config, result, submitted, started):
    report = result["package"] or _stopped_report(result["notes"])
    failed = sum(not c["passed"] for c in report["checks"])
    lines = [f"Package checks: {report['score']:g} / {report['max_score']:g} points, {failed} failing checks.",
             f"Isolation: {report['isolation']}"]
    lines += [f"Note: {note}" for note in result["notes"] + report["notes"]]
    tests = _package_tests(report, config) + _notebook_tests(config, result, submitted, lines)
    return {
        "score": float(round(sum(test["score"] for test in tests), 6)),
        "execution_time": max(1, round(time.monotonic() - started)),
        "output": "\n".join(lines),
        "visibility": config["results_visibility"],
        "stdout_visibility": config["stdout_visibility"],
        "tests": tests,
    }


def _failure(started, why):
    return {"score": 0.0, "execution_time": max(1, round(time.monotonic() - started)),
            "output": (f"The autograder itself failed, not your submission: {why}. "
                       "Your score is 0 until it is fixed; please tell your instructor."),
            "tests": []}


def _load_assets(source):
    assets = {"source": {}, "release": {}}
    for kind in assets:
        for folder in sorted((source / "assets" / kind).glob("*")):
            assets[kind][folder.name] = {p.relative_to(folder).as_posix(): p.read_bytes()
                                         for p in sorted(folder.rglob("*")) if p.is_file()}
    assets["template_db"] = (source / TEMPLATE_DB).read_bytes()
    return assets


def run(root=ROOT):
    """Grade ``root/submission`` and write ``root/results/results.json``; return the results dict.

    The grading is the grading step of ``autograde``'s task (:func:`autograder.engine.tasks.grade_task`):
    grade-one's sandboxed package checks, then nbgrader on the submitted notebooks of the assignments
    built in.
    """
    from ..engine.tasks import InfrastructureError, _grade

    started = time.monotonic()
    root = Path(root)
    try:
        config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
        assets = _load_assets(root / "source") if config["notebooks"] else {}
        names = {name: assignment for assignment in config["notebooks"]
                 for name in assets["release"][assignment] if name.endswith(".ipynb")}
        notes = []
        if (root / "submission").is_dir():
            package, notebooks = submission_files(root / "submission", notes, names)
        else:
            package, notebooks = {}, {}
            notes.append(f"no submission folder at {root / 'submission'}")
        spec = {"student": "gradescope", "package": package, "notebooks": notebooks}
        result = {"notes": notes, "package": None, "assignments": {}, "learner_failures": [], "timestamps": {}}
        work = Path(tempfile.mkdtemp(prefix="cs-convnet-gradescope-"))
        try:
            # grade_task's grading step, without its grader version: that digest hashes a source
            # checkout (cython_ext/, assignments/), which the installed wheel does not have.
            _grade(spec, assets, work, result)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        results = _results(config, result, notebooks, started)
    except InfrastructureError as error:
        results = _failure(started, str(error))
    except Exception as error:  # the grader's fault, never the learner's: still write results.json
        results = _failure(started, f"{type(error).__name__}: {error}")
    write_json(root / "results" / "results.json", results, indent=2, final_newline=True)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.course.gradescope",
                                     description="Grade the Gradescope submission (run by run_autograder).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="grade /autograder/submission into /autograder/results/results.json")
    p.add_argument("--root", type=Path, default=ROOT, help="Gradescope's folder")
    options = parser.parse_args(argv)
    results = run(options.root)
    print(results["output"])
    print(f"score {results['score']:g} -> {options.root / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

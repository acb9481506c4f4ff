"""Does the Gradescope autograder grade like grade-one, in Gradescope's own layout?

The zip is built by ``cs-convnet-course gradescope``, unpacked as Gradescope
does (``/autograder/source``), and ``setup.sh`` and ``run_autograder`` run in
a throwaway root bind-mounted at ``/autograder`` by bubblewrap. To stay fast
and offline, ``setup.sh`` is pointed at this project's installed dependencies
(``CS_CONVNET_DEPENDENCY_SITE``, ``PIP_NO_INDEX``): the course's wheel is still
installed into a fresh virtual environment. Every ``results.json`` is checked
against a JSON Schema written from Gradescope's specification.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from autograder import cli

from autograder.course import gradescope
from autograder.engine import grade_one
from autograder.qa.samples import materialize, reference_files, replace_function, write_submission
from autograder.sandbox.isolation import bwrap_works

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap does not work on this machine")

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
# Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
# the fields it documents, nothing else; our contract also requires score, output and tests.
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "execution_time", "output", "tests"],
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "leaderboard": {"type": "array"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "status", "output", "visibility"],
                "additionalProperties": False,
                "properties": {
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string", "minLength": 1},
                    "name_format": {"type": "string"},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
            },
        },
    },
}
HOSTILE = {
    # fakes a perfect score where Gradescope reads it, then returns a wrong answer
    "relu_forward": '''
        def relu_forward(x):
            import json, os
            for folder in ("/autograder/results", "/autograder"):
                try:
                    os.makedirs(folder, exist_ok=True)
                    with open(os.path.join(folder, "results.json"), "w") as handle:
                        json.dump({"score": 1000, "tests": []}, handle)
                except OSError:
                    pass
            return x * 2.0, x
    ''',
    # kills its own worker
    "affine_forward": '''
        def affine_forward(x, w, b):
            import os, signal
            os.kill(os.getpid(), signal.SIGKILL)
    ''',
    # blows up the memory
    "relu_backward": '''
        def relu_backward(dout, cache):
            import numpy
            hog = [numpy.ones(2**27) for _ in range(64)]
            return hog[0]
    ''',
}


def bwrap_at_autograder(root, *command, env=None, timeout=300, without_bwrap=False):
    """Run ``command`` with ``root`` bind-mounted at /autograder, as Gradescope's container has it.

    without_bwrap: bubblewrap unusable inside (its binary masked), as in a container without user namespaces.
    """
    bwrap = shutil.which("bwrap")
    mask = []
    if without_bwrap:
        mask = [arg for path in {bwrap, "/usr/bin/bwrap"} if os.path.exists(path)
                for arg in ("--ro-bind", "/dev/null", path)]
    return subprocess.run([bwrap, "--dev-bind", "/", "/", "--bind", str(root), "/autograder", *mask, *command],
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A Gradescope root after setup.sh: {root, zip, config, setup}."""
    work = tmp_path_factory.mktemp("gradescope")
    archive = work / "autograder.zip"
    assert cli.main(["gradescope", "02_convolution", "-o", str(archive),
                     "--visibility", "relu_forward=visible"]) == 0
    root = work / "root"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        for info in opened.infolist():
            opened.extract(info, root / "source")
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777 or 0o644)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    env = dict(os.environ, CS_CONVNET_PYTHON=sys._base_executable, PIP_NO_INDEX="1",
               CS_CONVNET_DEPENDENCY_SITE=str(Path(np.__file__).resolve().parents[1]))
    setup = bwrap_at_autograder(root, "/autograder/source/setup.sh", env=env)
    return {"root": root, "names": names, "setup": setup, "env": env}


def run_autograder(installed, submission_files, without_bwrap=False):
    """Put ``{name: bytes}`` in /autograder/submission, run run_autograder; return (results, process)."""
    root = installed["root"]
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    for rel, data in submission_files.items():
        (root / "submission" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / rel).write_bytes(data)
    env = {"PATH": os.environ["PATH"], "HOME": str(root)}
    done = bwrap_at_autograder(root, "/autograder/run_autograder", env=env, without_bwrap=without_bwrap)
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, RESULTS_SCHEMA)
    return results, done


def as_bytes(files):
    return {rel: text.encode() for rel, text in files.items()}


def sample_files(name, tmp_path):
    path = materialize(name, tmp_path / name)
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*.py")}, path


def hostile_files():
    files = reference_files()
    for function, source in HOSTILE.items():
        files["cs_convnet/layers.py"] = replace_function(files["cs_convnet/layers.py"], function,
                                                         textwrap.dedent(source))
    return files


def test_zip_has_gradescope_layout(installed):
    """Are setup.sh and run_autograder at the zip's root, executable, and does setup.sh install the grader?"""
    assert {"setup.sh", "run_autograder", "gradescope.json"} <= set(installed["names"])
    assert any(n.startswith("wheels/cs_convnet-") and n.endswith("-py3-none-any.whl") for n in installed["names"])
    assert os.access(installed["root"] / "source" / "setup.sh", os.X_OK)
    assert installed["setup"].returncode == 0, installed["setup"].stderr[-2000:]
    python = installed["root"] / "venv" / "bin" / "python"
    done = subprocess.run([python, "-c", "import autograder, cs_convnet; print(autograder.__file__)"],
                          capture_output=True, text=True, cwd=installed["root"])
    assert done.returncode == 0 and str(installed["root"] / "venv") in done.stdout, done.stderr


def package_tests(results):
    return [t for t in results["tests"] if "/" not in t["name"]]


def notebook_tests(results):
    return [t for t in results["tests"] if t["name"].startswith("02_convolution/")]


def solved_notebook(installed):
    """The learner's convolution.ipynb with every solution cell filled in (as `demo` makes it)."""
    import nbformat

    from autograder.qa.demo import solved_notebook

    assets = installed["root"] / "source" / "assets"
    notebook = solved_notebook(assets / "release" / "02_convolution" / "convolution.ipynb",
                               assets / "source" / "02_convolution" / "convolution.ipynb")
    return nbformat.writes(notebook).encode()


def test_reference_with_its_notebook_gets_full_marks(installed, tmp_path):
    """Does the reference, with its solved notebook, get every package check and every autograded cell?"""
    files, path = sample_files("reference", tmp_path)
    files["assignments/02_convolution/convolution.ipynb"] = solved_notebook(installed)
    results, done = run_autograder(installed, files)
    expected = grade_one.grade(path)
    assert sum(t["score"] for t in package_tests(results)) == expected["score"] == expected["max_score"]
    cells = notebook_tests(results)
    assert cells and all(t["status"] == "passed" and t["score"] == t["max_score"] > 0 for t in cells), cells
    assert results["score"] == expected["score"] + sum(t["max_score"] for t in cells)
    assert "Written answer 02_convolution/convolution.ipynb conv-inline-sharing-written" in results["output"]
    assert "Notebook kernel isolation (02_convolution): bubblewrap" in results["output"]


@pytest.mark.parametrize("name", ["reference", "conv_padding_off_by_one", "relu_backward_masks_dout"])
def test_samples_score_as_grade_one(installed, name, tmp_path):
    """Does each sample (package files only) get grade-one's score, one test per check, hidden checks after publishing?"""
    files, path = sample_files(name, tmp_path)
    if name == "conv_padding_off_by_one":      # uploaded one by one: loose layers.py, optim.py, ...
        files = {Path(rel).name: data for rel, data in files.items()}
    elif name == "relu_backward_masks_dout":   # the `cs-convnet submit` zip itself, not unpacked
        zipped = tmp_path / "submission.zip"
        with zipfile.ZipFile(zipped, "w") as archive:
            for rel, data in files.items():
                archive.writestr(rel, data)
        files = {"submission-alice.zip": zipped.read_bytes()}
    results, done = run_autograder(installed, files)
    expected = grade_one.grade(path)
    assert results["score"] == expected["score"], results["output"]
    assert [t["name"] for t in package_tests(results)] == [c["name"] for c in expected["checks"]]
    failing = {t["name"] for t in package_tests(results) if t["status"] == "failed"}
    assert failing == {c["name"] for c in expected["checks"] if not c["passed"]}
    assert sum(t["max_score"] for t in package_tests(results)) == expected["max_score"]
    for test in results["tests"]:
        assert test["visibility"] == ("visible" if test["name"].startswith("relu_forward[") else "after_published")
        assert (test["score"] == test["max_score"]) == (test["status"] == "passed")
    assert notebook_tests(results) and all(t["output"] == "convolution.ipynb was not submitted"
                                           for t in notebook_tests(results))
    assert "Isolation: bubblewrap" in results["output"]
    assert results["stdout_visibility"] == "hidden"


def test_hostile_submission_fails_only_its_functions(installed, tmp_path):
    """Do a crash, a memory blow-up and a faked results.json fail their checks, and only theirs?"""
    files = hostile_files()
    results, done = run_autograder(installed, as_bytes(files))
    expected = grade_one.grade(write_submission(files, tmp_path / "hostile"))
    failed = {t["name"].partition("[")[0] for t in results["tests"] if t["status"] == "failed"}
    assert set(HOSTILE) <= failed
    assert results["score"] == expected["score"] < 1000
    messages = {t["name"].partition("[")[0]: t["output"] for t in results["tests"] if t["status"] == "failed"}
    assert "stopped the worker" in messages["affine_forward"]
    assert "memory" in messages["relu_backward"].lower()


def test_without_bubblewrap_falls_back_and_says_so(installed, tmp_path):
    """Without a working bubblewrap, is the hostile submission still graded as grade-one's rlimits, and said so?"""
    files = hostile_files()
    results, done = run_autograder(installed, as_bytes(files), without_bwrap=True)
    assert "NOT in force: bubblewrap unavailable" in results["output"], results["output"]
    expected = grade_one.grade(write_submission(files, tmp_path / "hostile"), isolation="rlimits")
    assert results["score"] == expected["score"] < 1000   # the learner's own results.json was replaced


def test_infrastructure_failure_still_writes_results(installed):
    """Does a broken install give a results.json with score 0 that blames the autograder, not the learner?"""
    database = installed["root"] / "source" / "assets" / "template.db"
    saved = database.read_bytes()
    database.unlink()
    try:
        results, _ = run_autograder(installed, as_bytes(reference_files()))
    finally:
        database.write_bytes(saved)
    assert results["score"] == 0 and results["tests"] == []
    assert "The autograder itself failed, not your submission" in results["output"]


def test_missing_venv_still_writes_results(installed):
    """Does run_autograder write a score-0 results.json when the grader cannot even start?"""
    venv = installed["root"] / "venv"
    venv.rename(venv.with_name("venv-away"))
    try:
        results, _ = run_autograder(installed, as_bytes(reference_files()))
    finally:
        venv.with_name("venv-away").rename(venv)
    assert results["score"] == 0
    assert "failed before grading" in results["output"]


def test_submission_files_map_loose_and_nested_paths(tmp_path):
    """Are loose files mapped to their package paths, and does a file at its path win over a loose one?"""
    (tmp_path / "deep" / "cs_convnet").mkdir(parents=True)
    (tmp_path / "deep" / "cs_convnet" / "layers.py").write_text("# nested")
    (tmp_path / "layers.py").write_text("# loose")
    (tmp_path / "fc_net.py").write_text("# loose fc")
    (tmp_path / "notes.txt").write_text("ignored")
    notes = []
    (tmp_path / "deep" / "convolution.ipynb").write_text("{}")
    files, notebooks = gradescope.submission_files(tmp_path, notes, {"convolution.ipynb": "02_convolution"})
    assert files == {"cs_convnet/layers.py": b"# nested", "cs_convnet/classifiers/fc_net.py": b"# loose fc"}
    assert notebooks == {"02_convolution": {"convolution.ipynb": b"{}"}}
    assert any("loose layers.py was ignored" in note for note in notes)


def test_package_run_stopped_fails_every_check():
    """When the whole package run is stopped (its wall time), does every check fail with why, none vanish?"""
    config = {"notebooks": [], "cells": {}, "visibility": {}, "hidden_visibility": "after_published",
              "results_visibility": "visible", "stdout_visibility": "hidden"}
    why = "package checks took longer than 1800 s and were stopped"
    results = gradescope._results(config, {"package": None, "notes": [why], "assignments": {}}, {}, 0.0)
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert results["score"] == 0 and results["tests"]
    assert all(t["status"] == "failed" and t["output"] == why for t in results["tests"])


@pytest.mark.parametrize("argv, message", [
    (["gradescope", "no_such_assignment"], "unknown assignment 'no_such_assignment'"),
    (["gradescope", "--visibility", "relu_forward=public"], "expected NAME=VISIBILITY"),
    (["gradescope", "--visibility", "no_such_check=visible"], "no check, function or grade cell of that name"),
])
def test_bad_build_options_are_one_line_errors(argv, message, tmp_path, capsys):
    """Does a bad assignment or visibility stop the build with one line naming it, writing no zip?"""
    status = cli.main(argv + ["-o", str(tmp_path / "a.zip")])
    assert status in (1, 2)
    assert message in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()

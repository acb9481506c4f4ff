"""Does grade-one give correct work full marks, and each sample bug exactly the points it breaks?"""

import json

import numpy as np
import pytest

from autograder.checks import all_checks
from autograder.checks.layers import all_checks as layer_checks
from autograder.engine import grade_one
from autograder.qa import samples
from autograder.qa.samples import reference_files, replace_function, write_submission
from autograder.sandbox.isolation import bwrap_works
from cs_convnet.boundary import LEARNER_FILES

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap does not work on this machine")

LAYERS = "cs_convnet/layers.py"


@pytest.mark.parametrize("name", samples.names())
def test_sample_loses_exactly_its_checks(tmp_path, name):
    """Does each shipped sample fail exactly the checks listed for it (the reference none)?"""
    path = samples.materialize(name, tmp_path / name)
    report = grade_one.grade(path)
    failing = sorted(c["name"] for c in report["checks"] if not c["passed"])
    assert failing == sorted(samples.load(name)["expected_failing"])
    assert report["score"] == report["max_score"] - sum(
        c["max_points"] for c in report["checks"] if not c["passed"])
    for check in report["checks"]:
        assert check["passed"] == (check["message"] == "")


def test_cli_writes_the_documented_json(tmp_path):
    """Does `python -m autograder.engine.grade_one DIR --json OUT` write the documented report?"""
    path = samples.materialize("relu_backward_masks_dout", tmp_path / "sub")
    out = tmp_path / "out" / "report.json"
    assert grade_one.main([str(path), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert isinstance(report["score"], float) and isinstance(report["max_score"], float)
    assert report["max_score"] == sum(c.points for c in all_checks())
    assert report["isolation"].startswith("bubblewrap")
    for check in report["checks"]:
        assert set(check) == {"name", "function", "points", "max_points", "passed", "message"}
    wrong = [c for c in report["checks"] if not c["passed"]]
    assert {c["function"] for c in wrong} == {"relu_backward"}
    assert all("mask" in c["message"] and "dout" in c["message"] for c in wrong)


def test_missing_files_count_as_not_implemented(tmp_path):
    """Does an empty submission get zero, with a note per missing file?"""
    (tmp_path / "empty").mkdir()
    report = grade_one.grade(tmp_path / "empty", seed=1)
    assert report["score"] == 0
    assert len([n for n in report["notes"] if "missing" in n]) == len(LEARNER_FILES)
    assert "NotImplementedError" in report["checks"][0]["message"]


def test_messages_do_not_reveal_hidden_values(tmp_path):
    """Do failure messages stay free of expected values (no long float literals)?"""
    path = samples.materialize("conv_padding_off_by_one", tmp_path / "sub")
    report = grade_one.grade(path)
    import re

    for check in report["checks"]:
        assert not re.search(r"\d\.\d{4,}", check["message"]), check["message"]
    conv = [c for c in report["checks"] if c["function"] == "conv_forward_naive"]
    assert all("padded by pad + 1" in c["message"] for c in conv)


ALTERNATIVE = '''
def affine_forward(x, w, b):
    flat = np.einsum("ni,ij->nj", x.reshape(len(x), -1), w)
    return flat + b, {"x": x, "w": w, "note": "a dict cache"}


def affine_backward(dout, cache):
    x, w = cache["x"], cache["w"]
    return (dout @ w.T).reshape(x.shape), np.einsum("ni,nj->ij", x.reshape(len(x), -1), dout), dout.sum(0)


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // s + 1, (W - pw) // s + 1
    out = np.zeros((N, C, Ho, Wo))
    switches = {}
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    k = int(np.argmax(win))
                    switches[n, c, i, j] = (i * s + k // pw, j * s + k % pw)
                    out[n, c, i, j] = win.flat[k]
    return out, (x.shape, switches)


def max_pool_backward_naive(dout, cache):
    shape, switches = cache
    dx = np.zeros(shape)
    for (n, c, i, j), (r, q) in switches.items():
        dx[n, c, r, q] += dout[n, c, i, j]
    return dx
'''


def test_any_correct_implementation_gets_full_marks(tmp_path):
    """Do other caches and other vectorisations (dicts, switches, einsum) get full marks?"""
    files = reference_files()
    text = files[LAYERS]
    for name in ("affine_forward", "affine_backward", "max_pool_forward_naive", "max_pool_backward_naive"):
        source = ALTERNATIVE.split(f"def {name}(", 1)[1]
        source = f"def {name}(" + source.split("\n\n\ndef ", 1)[0]
        text = replace_function(text, name, source)
    files[LAYERS] = text
    report = grade_one.grade(write_submission(files, tmp_path / "sub"))
    assert [c["message"] for c in report["checks"] if not c["passed"]] == []


def test_hidden_inputs_change_between_runs(tmp_path):
    """Are hidden inputs drawn afresh per run (unseeded) and reproducible with a seed?"""
    check = next(c for c in layer_checks() if c.name.startswith("conv_forward_naive[nonsquare-stride2]"))
    draws = [check.build(np.random.default_rng(seed)).request["args"][0] for seed in (1, 1, 2)]
    assert np.array_equal(draws[0], draws[1])
    assert draws[0].shape != draws[2].shape or not np.array_equal(draws[0], draws[2])


def _numeric_gradient(f, x, dout, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        plus = f()
        x[index] = old - h
        minus = f()
        x[index] = old
        grad[index] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


@pytest.mark.parametrize("check", [c for c in layer_checks() if c.name.split("[")[0] in {
    "affine_backward", "relu_backward", "conv_backward_naive", "max_pool_backward_naive",
    "avg_pool_backward_naive", "batchnorm_backward", "spatial_batchnorm_backward"}
    and "ties" not in c.name], ids=lambda c: c.name)
def test_reference_backward_matches_numerical_gradients_on_the_hidden_families(check):
    """Is the reference every backward check compares with a true gradient (centred differences)?

    Max-pool families with ties are left out: there the gradient is defined by
    the documented convention (first maximum), not by differences.
    """
    import cs_convnet.layers as ref

    case = check.build(np.random.default_rng(7))
    request = case.request
    forward = getattr(ref, request["forward"])
    args = [a.copy() if isinstance(a, np.ndarray) else dict(a) for a in request["args"]]
    dout = request["dout"]
    _, cache = forward(*[a.copy() if isinstance(a, np.ndarray) else dict(a) for a in args])
    analytic = getattr(ref, request["backward"])(dout, cache)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    arrays = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    for position, grad in zip(arrays, analytic):
        def f():
            call = [a if i == position or not isinstance(a, dict) else dict(a) for i, a in enumerate(args)]
            return forward(*call)[0]
        numeric = _numeric_gradient(f, args[position], dout)
        error = np.max(np.abs(grad - numeric)) / max(1e-8, np.max(np.abs(numeric)))
        assert error < 1e-6, f"input {position}: relative error {error:.1e}"


def test_rlimits_fallback_grades_the_same_and_says_so(tmp_path):
    """Without bubblewrap, is the grade the same and the weaker isolation reported?"""
    path = samples.materialize("max_pool_backward_assign", tmp_path / "sub")
    report = grade_one.grade(path, isolation="rlimits")
    assert report["isolation"].startswith("rlimits") and "no file-system or network isolation" in report["isolation"]
    failing = sorted(c["name"] for c in report["checks"] if not c["passed"])
    assert failing == sorted(samples.load("max_pool_backward_assign")["expected_failing"])


def test_the_grading_process_never_imports_the_submission(tmp_path):
    """After grading, is no module of this process loaded from the submission or the sandbox?"""
    import sys

    path = samples.materialize("reference", tmp_path / "sub")
    grade_one.grade(path, seed=3)
    loaded = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
    assert not [f for f in loaded if f.startswith(str(tmp_path)) or "cs-convnet-grade-" in f]


@pytest.mark.parametrize("layout", ["empty", "one-level-too-deep"])
def test_cli_prints_why_it_gave_zero(tmp_path, capsys, layout):
    """Does `grade-one` print its notes under the score line, and name the folder to grade instead? (#11.7)"""
    from autograder import cli

    submission = tmp_path / "unzipped"
    submission.mkdir()
    if layout == "one-level-too-deep":
        (submission / "ada" / "cs_convnet").mkdir(parents=True)
        (submission / "ada" / "cs_convnet" / "layers.py").write_text(reference_files()["cs_convnet/layers.py"])
    assert cli.main(["grade-one", str(submission), "--json", str(tmp_path / "report.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("0 / ") and "points" in lines[0]
    assert "    note: cs_convnet/layers.py is missing from the submission: its functions count as not implemented" \
        in lines[1:]
    assert any("a cs_convnet folder is in ada/" in line for line in lines) == (layout == "one-level-too-deep")
    assert json.loads((tmp_path / "report.json").read_text())["notes"] == [line[10:] for line in lines[1:]]

"""The learner's loop in a real kernel: edit a file of the package, rerun a cell, read the error."""

import os
import re
import sys

import numpy as np
import pytest

from support.paths import REPO

sys.path.insert(0, str(REPO / "assignments" / "notebook_sources"))
from cellkit import SETUP  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")

BEFORE = '''
"""A learner's module."""


def affine(x):
    """Docstring of affine: the wrong place to look."""
    return x + 1


def conv(x):
    raise NotImplementedError("write conv")
'''

# The learner writes conv: the body grows and the bug sits on a line far below
# where conv started; a helper inserted above conv moves it down as well.
AFTER = '''
"""A learner's module."""


def affine(x):
    """Docstring of affine: the wrong place to look."""
    return x + 1


def helper(x):
    return x * 2


def conv(x):
    padded = helper(x)
    total = 0
    for value in range(padded):
        total += value
    raise ValueError("the bug is here")  # learner's line
'''


@pytest.fixture
def kernel(tmp_path):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client, code):
    """Execute ``code``; return (stdout text, traceback text without colours, or None)."""
    stdout, traceback = [], []

    def collect(msg):
        if msg["msg_type"] == "stream":
            stdout.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            traceback.extend(msg["content"]["traceback"])

    client.execute_interactive(code, timeout=60, output_hook=collect)
    return "".join(stdout), ANSI.sub("", "\n".join(traceback)) if traceback else None


def setup_magics():
    """The reload magics of the notebooks' setup cell, as learners run them."""
    return "\n".join(line for line in SETUP.splitlines() if line.startswith("%"))


def test_a_traceback_after_an_edit_shows_the_edited_line(kernel, tmp_path):
    """After editing a learner file under autoreload, does the traceback show the right line and source?"""
    module = tmp_path / "learner_module.py"
    module.write_text(BEFORE.lstrip(), encoding="utf-8")
    _, error = run(kernel, setup_magics() + "\nfrom learner_module import conv\n")
    assert error is None, error
    _, error = run(kernel, "conv(3)")
    assert "NotImplementedError" in error

    module.write_text(AFTER.lstrip(), encoding="utf-8")
    os.utime(module, (module.stat().st_mtime + 2,) * 2)  # a new mtime even within the same clock tick
    _, error = run(kernel, "conv(3)")
    assert error is not None and "ValueError: the bug is here" in error, error
    lines = AFTER.lstrip().splitlines()
    bug_line = next(number for number, line in enumerate(lines, 1) if "learner's line" in line)
    assert f"learner_module.py:{bug_line}, in conv" in error, error
    assert f'---> {bug_line} raise ValueError("the bug is here")' in error, error
    assert "Docstring of affine" not in error, error


@pytest.fixture(scope="module")
def checks():
    """The notebooks' check helpers, as the CHECKS cell defines them."""
    from cellkit import CHECKS

    namespace = {"np": np}
    exec(compile(CHECKS, "<checks cell>", "exec"), namespace)
    return namespace


def _conv_without_padding(x, w):
    """A learner's conv forward that forgot to pad: windows at the edge come out short."""
    out = np.zeros((x.shape[0], w.shape[0], 2, 2))
    for i in range(2):
        for j in range(2):
            window = x[0, :, 2 * i + 1:2 * i + 1 + 4, 2 * j + 1:2 * j + 1 + 4]
            out[0, 0, i, j] = np.sum(window * w[0])
    return out


def test_a_shape_error_inside_learner_code_is_told_in_course_terms(checks):
    """Does numpy's broadcast error inside the learner's function come out as a course message?"""
    x, w = np.ones((1, 3, 4, 4)), np.ones((1, 3, 4, 4))
    with pytest.raises(AssertionError, match=r"conv_forward_naive failed inside your code: numpy could not "
                       r"combine two arrays .*missing padding.* Hint: pad first") as caught:
        with checks["calling"]("conv_forward_naive", hint="pad first", x=x, w=w):
            _conv_without_padding(x, w)
    assert isinstance(caught.value.__cause__, ValueError), "the original error stays in the traceback"


def test_an_input_modified_in_place_is_named(checks):
    """Is a backward pass that writes into dout caught, naming the input, before values are compared?"""
    x, dout = np.array([[-1.0, 2.0], [3.0, -4.0]]), np.ones((2, 2))

    def relu_backward_in_place(dout, x):
        dout[x <= 0] = 0
        return dout

    with pytest.raises(AssertionError, match=r"relu_backward modified its input dout in place \(2 entries"):
        with checks["calling"]("relu_backward", dout=dout, x=x):
            relu_backward_in_place(dout, x)
    with checks["calling"]("relu_backward", dout=np.ones(2), x=x):
        pass  # untouched inputs pass


@pytest.mark.parametrize("got, message", [
    (np.full((2, 3), np.nan), r"has shape \(2, 3\), expected \(3, 2\)"),
    (np.zeros((3, 2), dtype=np.int64), r"has dtype int64, expected float64: an integer or boolean array"),
    (np.zeros((3, 2), dtype=np.float32), r"has dtype float32, expected float64: an intermediate array"),
    (np.array([[0.0, 1.0], [np.inf, 0.0], [np.nan, 0.0]]), r"NaN or inf at 2 of 6 entries \(first at index \(1, 0\)\)"),
    (np.ones((3, 2)), r"6 of 6 entries differ"),
], ids=["shape-before-nan", "integer-dtype", "float32", "nan-inf", "values"])
def test_check_close_diagnoses_before_it_compares(checks, got, message):
    """Does check_close report shape, then dtype, then NaN/inf, and only then values, keeping the hint?"""
    with pytest.raises(AssertionError, match=message + r".*Hint: the hint"):
        checks["check_close"]("out", got, np.zeros((3, 2)), hint="the hint")

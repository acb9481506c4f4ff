"""Stub hints, instructions and hidden tests agree.

Each case below is a solution written from the visible words only (the stub's
hint, the instructions, the variable names), taken at their most literal: if
it passes the visible checks, the hidden tests must pass too. A learner should
never follow the text, see every visible check pass, and lose the points.
"""

import sys
import textwrap

import nbformat
import numpy as np
import pytest

from cs_convnet.boundary import BEGIN_HIDDEN as BEGIN
from cs_convnet.boundary import BEGIN_SOLUTION
from cs_convnet.boundary import END_HIDDEN as END
from support.paths import REPO

sys.path.insert(0, str(REPO / "assignments" / "notebook_sources"))
from cellkit import CHECKS  # noqa: E402

CONVOLUTION = REPO / "assignments" / "source" / "02_convolution" / "convolution.ipynb"


def cells_by_id(path):
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nbformat.read(path, as_version=4).cells
            if "nbgrader" in cell.metadata and "grade_id" in cell.metadata["nbgrader"]}


def hint_of(cell):
    return cell.metadata["cs_convnet"]["hint"]


def square_padding_dx(cells):
    """conv_dx_via_forward padding dout by HH-1-pad on both axes, unless the hint says otherwise."""
    hint = hint_of(cells["conv-dx-via-forward"])
    columns = "WW - 1 - pad" if "WW-1-pad" in hint else "HH - 1 - pad"
    return textwrap.dedent(f'''
        from cs_convnet.layers import conv_forward_naive

        def conv_dx_via_forward(dout, w, pad):
            F, C, HH, WW = w.shape
            flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
            padded = np.pad(dout, ((0, 0), (0, 0), (HH - 1 - pad, HH - 1 - pad), ({columns}, {columns})))
            return conv_forward_naive(padded, flipped, np.zeros(C), {{"stride": 1, "pad": 0}})[0]
    ''')


def sharing_answers_by_name(cells):
    """Inline question 1 answered from the variable names: a name that says weights counts weights only."""
    names = cells["conv-inline-sharing"].source.split(BEGIN_SOLUTION)[1]
    per_neuron = next(line.split("=")[0].strip() for line in names.splitlines() if "_per_neuron" in line)
    count = "11 * 11 * 3" if "weights" in per_neuron else "11 * 11 * 3 + 1"
    return textwrap.dedent(f'''
        alexnet_neurons = 55 * 55 * 96
        {per_neuron} = {count}
        params_without_sharing = alexnet_neurons * {per_neuron}
        params_with_sharing = 96 * {per_neuron}
        layer_output_shape = (32, 32, 10)
        layer_params = 10 * (5 * 5 * 3 + 1)
    ''')


CASES = [
    pytest.param(CONVOLUTION, "conv-dx-via-forward-tests", square_padding_dx, id="conv_dx_via_forward-square-padding"),
    pytest.param(CONVOLUTION, "conv-inline-sharing-tests", sharing_answers_by_name, id="inline-sharing-by-name"),
]


def namespace():
    """What the notebook's setup and check cells define that the checks use."""
    from cs_convnet import gradient_check

    names = {"np": np, "QUICK": True, **{name: getattr(gradient_check, name) for name in
                                           ("eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error")}}
    exec(compile(CHECKS, "<checks cell>", "exec"), names)
    return names


def runs(source, names):
    try:
        exec(compile(source, "<cell>", "exec"), names)
    except (AssertionError, NotImplementedError) as error:
        return f"{type(error).__name__}: {error}"
    return None


@pytest.mark.parametrize("notebook, tests_id, solution", CASES)
def test_following_the_visible_text_never_fails_only_the_hidden_tests(notebook, tests_id, solution):
    """Does a solution that passes the visible checks by following the text also pass the hidden tests?"""
    cells = cells_by_id(notebook)
    visible, hidden = cells[tests_id].source.split(BEGIN)
    hidden = hidden.split(END)[0]
    names = namespace()
    exec(compile(solution(cells), "<solution from the text>", "exec"), names)
    visible_failure = runs(visible, names)
    if visible_failure is None:
        hidden_failure = runs(hidden, names)
        assert hidden_failure is None, (
            f"following the visible text passes the visible checks of {tests_id} but fails its hidden tests: "
            f"{hidden_failure}")
    else:
        # The learner is told at once, by the visible checks, what the text did not say.
        assert visible_failure.startswith(("AssertionError", "NotImplementedError"))

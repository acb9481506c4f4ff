"""Helpers that make nbgrader cells, shared by the notebook generators."""

import textwrap

import nbformat
import numpy as np

from cs_convnet.boundary import marked_regions

SCHEMA = 3


def _src(text):
    return textwrap.dedent(text).strip("\n")


def _meta(grade_id, *, solution=False, grade=False, locked=False, task=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


class Cells:
    """Collects the cells of one notebook; ids are prefixed with the assignment's short name."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.cells = []
        self._provided = 0

    def md(self, text):
        self.cells.append(nbformat.v4.new_markdown_cell(_src(text)))

    def code(self, text, trusted=False):
        """Provided code, locked so that grading can trust it.

        ``trusted``: the grader runs this cell in its own process too (the check
        helpers and setup the test cells use; see ``autograder/sandbox/trusted_tests.py``),
        so the learner's notebook cannot replace what the tests call.
        """
        self._provided += 1
        grade_id = f"{self.prefix}-provided-{self._provided:02d}"
        meta = _meta(grade_id, locked=True)
        if trusted:
            meta["cs_convnet"] = {"trusted_helpers": True}
        self.cells.append(nbformat.v4.new_code_cell(_src(text), metadata=meta))

    def solution(self, grade_id, text, hint):
        """A code cell with a solution region; ``hint`` is the student stub's error message."""
        source = _src(text)
        if not marked_regions(source, filename=f"solution cell {grade_id}"):   # RegionError if unbalanced
            raise ValueError(f"solution cell {grade_id} has no solution region")
        meta = _meta(f"{self.prefix}-{grade_id}", solution=True)
        meta["cs_convnet"] = {"hint": hint}
        self.cells.append(nbformat.v4.new_code_cell(source, metadata=meta))

    def tests(self, grade_id, points, text):
        """An autograded test cell (locked; hidden tests are stripped on release)."""
        self.cells.append(nbformat.v4.new_code_cell(
            _src(text), metadata=_meta(f"{self.prefix}-{grade_id}", grade=True, locked=True, points=points)))

    def written(self, grade_id, points, answer):
        """A manually graded written answer; ``answer`` is the reference answer."""
        self.cells.append(nbformat.v4.new_markdown_cell(
            _src(answer), metadata=_meta(f"{self.prefix}-{grade_id}", solution=True, grade=True,
                                         points=points)))


def fill(template, **values):
    """Dedent ``template``, then replace each ``<<name>>`` with ``values[name]``
    (multi-line values keep the indentation of their marker)."""
    text = textwrap.dedent(template).strip("\n")
    for name, value in values.items():
        marker = f"<<{name}>>"
        lines = []
        for line in text.split("\n"):
            if marker in line:
                indent = line[: len(line) - len(line.lstrip())]
                value_lines = str(value).strip("\n").split("\n")
                line = line.replace(marker, ("\n" + indent).join(value_lines))
            lines.append(line)
        text = "\n".join(lines)
    if "<<" in text and ">>" in text and "<<" in text.split(">>")[0]:
        missing = text.split("<<", 1)[1].split(">>", 1)[0]
        if missing.isidentifier():
            raise KeyError(f"no value for <<{missing}>>")
    return text


def literal(array, digits=9, width=76):
    """Python source for a float64 array that stays on screen: its values flat, to ``digits``
    significant digits (far below the checks' 1e-7 tolerance), wrapped at ``width``
    columns, then reshaped."""
    array = np.asarray(array, dtype=np.float64)
    values = [f"{value:.{digits}g}" for value in array.ravel()]
    lines, line = [], ""
    for value in values:
        if line and len(line) + len(value) + 2 > width:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {value}" if line else value
    lines.append(line)
    body = "\n    ".join(lines)
    return f"np.array([\n    {body}]).reshape{array.shape}" if array.ndim > 1 else f"np.array([\n    {body}])"


SETUP = '''
# Setup: reload cs_convnet automatically when you edit its files. Whole-module
# reloads (--full) keep tracebacks pointing at the right lines of the edited file.
%load_ext autoreload
%autoreload 2 --full

import os
import cs_convnet  # first: it tells numpy's BLAS threads to sleep when idle (cs_convnet/idle_threads.py)
import numpy as np
import matplotlib.pyplot as plt

import cs_convnet.fast_layers  # a note about the fast-layer backend, if any, shows here, not in a graded cell
from cs_convnet.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

# Long-running cells shorten themselves while the course autograder runs
# (nbgrader sets NBGRADER_EXECUTION) and under the course's own tests.
QUICK = bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get("CS_CONVNET_QUICK") == "1"
plt.rcParams["figure.figsize"] = (8.0, 4.0)
plt.rcParams["image.interpolation"] = "nearest"
plt.rcParams["image.cmap"] = "gray"
print(f"cs_convnet {cs_convnet.__version__} imported from {os.path.dirname(cs_convnet.__file__)}")
'''

CHECKS = '''
# Checks used below. Each raises an AssertionError that says what is wrong;
# a cell that finishes without error has passed.

def _where(bad, shape):
    """Describe where the wrong entries are, and guess a likely cause."""
    index = tuple(int(i) for i in bad[0])
    text = f"first wrong entry at index {index}"
    if len(shape) == 4 and min(shape[2:]) > 2:
        rows, cols = bad[:, 2], bad[:, 3]
        on_border = (rows == 0) | (rows == shape[2] - 1) | (cols == 0) | (cols == shape[3] - 1)
        if on_border.all():
            text += "; every wrong entry lies on the border of the image: check the zero padding"
    return index, text


def check_close(name, got, expected, tol=1e-7, hint="", floor=1e-8):
    """Assert that array ``got`` equals ``expected`` up to relative error ``tol``.

    Diagnoses before it compares: a missing result, the shape, the dtype and
    NaN/inf come first, then the values. The relative error of each entry is
    |got - expected| / max(floor, |got| + |expected|).
    """
    hint = f" Hint: {hint}" if hint else ""
    if got is None:
        raise AssertionError(f"{name} is None: did you forget to return it or to assign it?{hint}")
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"{name} has shape {got.shape}, expected {expected.shape}.{hint}")
    if np.issubdtype(expected.dtype, np.floating) and got.dtype != expected.dtype:
        cause = ("an integer or boolean array cannot hold the results: make the output with np.zeros(shape) "
                 "or .astype(float)" if not np.issubdtype(got.dtype, np.inexact) else
                 "an intermediate array was made with another dtype: create arrays with dtype=x.dtype")
        raise AssertionError(f"{name} has dtype {got.dtype}, expected {expected.dtype}: {cause}.{hint}")
    finite = np.isfinite(got)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise AssertionError(f"{name} contains NaN or inf at {int(np.sum(~finite))} of {got.size} entries "
                             f"(first at index {index}): look for a division by zero or an overflow.{hint}")
    error = np.abs(got - expected) / np.maximum(floor, np.abs(got) + np.abs(expected))
    bad = np.argwhere(error > tol)
    if len(bad):
        index, where = _where(bad, got.shape)
        raise AssertionError(
            f"{name}: {len(bad)} of {got.size} entries differ (largest relative error {error.max():.2e}, "
            f"tolerance {tol:.0e}); {where}: got {got[index]:.6g}, expected {expected[index]:.6g}.{hint}")


class calling:
    """``with calling("conv_forward_naive", x=x, w=w): ...`` runs your function and then checks
    that it left its inputs unchanged; numpy's shape errors inside it come out in course terms."""

    def __init__(self, function, hint="", **inputs):
        self.function, self.hint, self.inputs = function, f" Hint: {hint}" if hint else "", inputs
        self.copies = {name: np.array(value, copy=True) for name, value in inputs.items()}

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is ValueError and "could not be broadcast" in str(error):
            raise AssertionError(
                f"{self.function} failed inside your code: numpy could not combine two arrays of different "
                f"shapes ({error}). The traceback above shows the line; print the shapes of the arrays on it. "
                f"In these layers it is usually a window cut short at the edge (missing padding, or slice "
                f"bounds off by one) or height and width swapped.{self.hint}") from error
        if kind is IndexError:
            raise AssertionError(
                f"{self.function} failed inside your code: an index ran past the end of an array ({error}). "
                f"Check the loop bounds against the output size and the padding.{self.hint}") from error
        if kind is not None:
            return False
        for name, before in self.copies.items():
            after = np.asarray(self.inputs[name])
            if after.shape != before.shape or not np.array_equal(after, before, equal_nan=True):
                changed = after.size if after.shape != before.shape else int(np.sum(
                    ~((after == before) | (np.isnan(after) & np.isnan(before)))))
                raise AssertionError(
                    f"{self.function} modified its input {name} in place ({changed} entries changed): the caller "
                    f"still needs it. Work on a copy (np.pad, x.copy(), np.where return new arrays; "
                    f"x[...] = and += on an input write into it).{self.hint}")
        return False


def answered(*names):
    """The values of the named answers, or NotImplementedError naming those still missing."""
    missing = [name for name in names if globals().get(name) is None]
    if missing:
        raise NotImplementedError(f"answer the question above first: {', '.join(missing)} not set yet")
    return [globals()[name] for name in names]


def numerical_param_gradient(model, name, X, y):
    """The numerical gradient of ``model.loss(X, y)[0]`` with respect to ``model.params[name]``."""
    params, loss = model.params, model.loss   # looked up once: two requests per step when graded
    value = np.array(params[name], copy=True)

    def loss_at(point):
        params[name] = point
        return loss(X, y)[0]

    try:
        return eval_numerical_gradient(loss_at, value, verbose=False)
    finally:
        params[name] = value


def check_gradient(name, analytic, numeric, tol=1e-6, hint=""):
    """Assert that a backward pass agrees with the numerical gradient."""
    # Entries far below the gradient's scale carry only round-off of the
    # centred difference, so they are compared against that scale instead.
    floor = max(1e-8, 1e-5 * float(np.max(np.abs(numeric), initial=0.0)))
    check_close(f"{name} (analytic) vs the numerical gradient", analytic, numeric, tol,
                hint or "the numerical gradient is the truth here: re-derive the backward pass", floor)
'''

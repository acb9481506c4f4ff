"""Helpers that make nbgrader cells, shared by the notebook generators."""

import textwrap

import nbformat
import numpy as np

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

    def code(self, text):
        """Provided code, locked so that grading can trust it."""
        self._provided += 1
        grade_id = f"{self.prefix}-provided-{self._provided:02d}"
        self.cells.append(nbformat.v4.new_code_cell(_src(text), metadata=_meta(grade_id, locked=True)))

    def solution(self, grade_id, text, hint):
        """A code cell with a solution region; ``hint`` is the student stub's error message."""
        source = _src(text)
        if "### BEGIN SOLUTION" not in source:
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


def literal(array):
    """Python source for a float64 array with every digit (round-trips exactly)."""
    array = np.asarray(array, dtype=np.float64)
    return f"np.array({array.tolist()!r})"


SETUP = '''
# Setup: reload cs_convnet automatically when you edit its files.
%load_ext autoreload
%autoreload 2

import os
import numpy as np
import matplotlib.pyplot as plt

import cs_convnet
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

    The relative error of each entry is |got - expected| / max(floor, |got| + |expected|).
    """
    hint = f" Hint: {hint}" if hint else ""
    if got is None:
        raise AssertionError(f"{name} is None: did you forget to return it or to assign it?{hint}")
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"{name} has shape {got.shape}, expected {expected.shape}.{hint}")
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{name} contains NaN or inf at {int(np.sum(~np.isfinite(got)))} entries.{hint}")
    error = np.abs(got - expected) / np.maximum(floor, np.abs(got) + np.abs(expected))
    bad = np.argwhere(error > tol)
    if len(bad):
        index, where = _where(bad, got.shape)
        raise AssertionError(
            f"{name}: {len(bad)} of {got.size} entries differ (largest relative error {error.max():.2e}, "
            f"tolerance {tol:.0e}); {where}: got {got[index]:.6g}, expected {expected[index]:.6g}.{hint}")


def answered(*names):
    """The values of the named answers, or NotImplementedError naming those still missing."""
    missing = [name for name in names if globals().get(name) is None]
    if missing:
        raise NotImplementedError(f"answer the question above first: {', '.join(missing)} not set yet")
    return [globals()[name] for name in names]


def check_gradient(name, analytic, numeric, tol=1e-6, hint=""):
    """Assert that a backward pass agrees with the numerical gradient."""
    # Entries far below the gradient's scale carry only round-off of the
    # centred difference, so they are compared against that scale instead.
    floor = max(1e-8, 1e-5 * float(np.max(np.abs(numeric), initial=0.0)))
    check_close(f"{name} (analytic) vs the numerical gradient", analytic, numeric, tol,
                hint or "the numerical gradient is the truth here: re-derive the backward pass", floor)
'''

"""What a learner reads in the check cells: calls wrapped in course messages, arrays on screen.

Static checks of the generated notebooks (assignments/source): fast, no kernel.
"""

import ast
import re

import nbformat
import pytest

from support.paths import REPO

SOURCE = REPO / "assignments" / "source"
NOTEBOOKS = sorted(SOURCE.glob("*/*.ipynb"))
HIDDEN = "### BEGIN HIDDEN TESTS"
SCALAR_FUNCTIONS = {"output_size"}   # integers in and out: no array for calling() to diagnose
MAX_WIDTH = 100           # a line of numbers wider than this runs off a JupyterLab cell


def _visible_checks(nb):
    """``(grade_id, visible source)`` of each autograded test cell."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            yield meta["grade_id"], cell.source.split(HIDDEN)[0]


def _learner_functions(nb, tree):
    """Names the check calls that are the learner's: imported from cs_convnet's learner modules,
    defined in the notebook's solution cells, or a model's ``loss``."""
    names = {"loss"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in (
                "cs_convnet.layers", "cs_convnet.optim", "cs_convnet.classifiers"):
            names |= {alias.asname or alias.name for alias in node.names if alias.name[0].islower()}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            names |= set(re.findall(r"^def (\w+)", cell.source, flags=re.M))
    return names


def _called(node):
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def calls(nb, source):
    """``(called, wrapped)``: learner functions a visible check calls (outside lambdas), and
    those it calls inside ``with calling(...)``."""
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%")))
    learner = _learner_functions(nb, tree)
    wrapped, called, in_lambda = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            in_lambda |= {id(n) for n in ast.walk(node)}
        if isinstance(node, ast.With) and any(
                isinstance(item.context_expr, ast.Call) and _called(item.context_expr) == "calling"
                for item in node.items):
            wrapped |= {_called(n) for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in in_lambda and _called(node) in learner:
            called.add(_called(node))
    return called, wrapped


def unwrapped_calls(nb, sources):
    """Learner functions the checks call but none of them calls inside ``with calling(...)``."""
    called, wrapped = set(), set()
    for source in sources:
        c, w = calls(nb, source)
        called, wrapped = called | c, wrapped | w
    return sorted(called - wrapped - SCALAR_FUNCTIONS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_visible_checks_call_learner_code_through_calling(path):
    """Does each learner function the visible checks call run inside ``calling(...)`` in one of them?
    (Later checks may call it bare, e.g. a forward pass for a backward check's cache.)"""
    nb = nbformat.read(path, as_version=4)
    assert unwrapped_calls(nb, [source for _, source in _visible_checks(nb)]) == []


def test_the_wrapper_finder_sees_a_bare_call():
    nb = nbformat.v4.new_notebook()
    bare = "from cs_convnet.layers import relu_forward\nout, _ = relu_forward(x)\n"
    wrapped = "from cs_convnet.layers import relu_forward\nwith calling('relu_forward', x=x):\n    out, _ = relu_forward(x)\n"
    assert unwrapped_calls(nb, [bare]) == ["relu_forward"] and unwrapped_calls(nb, [wrapped, bare]) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_expected_arrays_stay_on_screen(path):
    """Is every line holding an expected array's numbers at most MAX_WIDTH characters wide?"""
    nb = nbformat.read(path, as_version=4)
    number = re.compile(r"-?\d+\.\d{4,}")     # an expected value, not a setting like 0.05
    wide = [(len(line), line[:60]) for cell in nb.cells if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(number.findall(line)) >= 4 and len(line) > MAX_WIDTH]
    assert wide == []

"""Hidden tests fail with messages a learner can act on, and the feedback shows them.

A hidden check's message says what was wrong (which output, its shape, how far
off, a hint) and never the hidden inputs: no interpolated hidden value other
than a shape, and no quoted hidden call.
"""

import ast

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from support.paths import REPO

NOTEBOOKS = sorted((REPO / "assignments" / "source").glob("*/*.ipynb"))
BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CHECKS = {"check_close", "check_gradient"}
# Interpolating these attributes of a hidden array tells its shape or a name, never its values.
HARMLESS_ATTRIBUTES = {"shape", "ndim", "dtype", "__name__"}


def hidden_regions():
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and BEGIN in cell.source:
                region = cell.source.split(BEGIN, 1)[1].split(END, 1)[0]
                yield pytest.param(region, id=cell.metadata["nbgrader"]["grade_id"])


def _is_literal_data(node):
    """A number, or a tuple/list of them: a hidden input written in the test."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, (ast.Tuple, ast.List)):
        return any(_is_literal_data(element) for element in node.elts)
    return isinstance(node, ast.UnaryOp) and _is_literal_data(node.operand)


def _makes_data(node):
    """Does ``node`` build a hidden input (random numbers, a numpy array, a literal)?"""
    if _is_literal_data(node):
        return True
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name) \
                and sub.func.value.id in {"rng", "np"}:
            return True
    return False


def hidden_input_names(tree):
    """Names bound to hidden inputs: loop variables over literal cases, and assigned data."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.iter, (ast.List, ast.Tuple)):
            targets = node.target.elts if isinstance(node.target, ast.Tuple) else [node.target]
            for position, target in enumerate(targets):
                values = [case.elts[position] if isinstance(node.target, ast.Tuple) and isinstance(case, ast.Tuple)
                          else case for case in node.iter.elts]
                if isinstance(target, ast.Name) and any(_is_literal_data(value) for value in values):
                    names.add(target.id)
        elif isinstance(node, ast.Assign) and _makes_data(node.value):
            for target in node.targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
    return names


def messages(tree):
    """(description, message expression) of every failure message in the region; None where one is missing."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            yield f"assert on line {node.lineno}", node.msg
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                and getattr(node.exc.func, "id", "") == "AssertionError":
            yield f"AssertionError on line {node.lineno}", node.exc.args[0] if node.exc.args else None
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in CHECKS:
            yield f"{node.func.id} on line {node.lineno}", node.args[0] if node.args else None
            hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
            if hint is not None:
                yield f"{node.func.id} hint on line {node.lineno}", hint


def _names_outside_shapes(node):
    """Names read in ``node``, except under a harmless attribute such as ``x.shape``."""
    if isinstance(node, ast.Attribute) and node.attr in HARMLESS_ATTRIBUTES:
        return set()
    if isinstance(node, ast.Name):
        return {node.id}
    return set().union(*(_names_outside_shapes(child) for child in ast.iter_child_nodes(node)))


def leaks(message, hidden_names, calls):
    """What in ``message`` would show a hidden input: interpolated names or quoted calls."""
    found = []
    for node in ast.walk(message):
        if isinstance(node, ast.FormattedValue):
            used = _names_outside_shapes(node.value) & hidden_names
            if used:
                found.append(f"interpolates {', '.join(sorted(used))}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [f"quotes {call}" for call in calls if call in node.value]
    return found


@pytest.mark.parametrize("region", list(hidden_regions()))
def test_every_hidden_check_says_what_is_wrong_without_its_inputs(region):
    """Does every hidden assert and check carry a message, and does none show a hidden input?"""
    tree = ast.parse(region)
    hidden_names = hidden_input_names(tree)
    calls = {ast.get_source_segment(region, node) for node in ast.walk(tree)
             if isinstance(node, ast.Call) and any(_is_literal_data(arg) for arg in node.args)}
    problems = []
    for where, message in messages(tree):
        if message is None:
            problems.append(f"{where}: no message")
        else:
            problems += [f"{where}: {leak}" for leak in leaks(message, hidden_names, calls)]
    assert problems == []


def test_the_leak_finder_sees_hidden_inputs():
    """Would the check above catch a message that quotes hidden inputs?"""
    region = ("for shape, stride in [((2, 3), 2)]:\n"
              "    x = rng.standard_normal(shape)\n"
              "    check_close(f'conv {shape}', out, ref)\n"
              "    check_close(f'conv {x}', out, ref)\n"
              "    check_close(f'conv {x.shape}', out, ref)\n"
              "assert output_size(32, 5, 1, 2) == 32, 'output_size(32, 5, 1, 2) is wrong'\n"
              "assert y == 3\n")
    tree = ast.parse(region)
    names = hidden_input_names(tree)
    calls = {ast.get_source_segment(region, node) for node in ast.walk(tree)
             if isinstance(node, ast.Call) and any(_is_literal_data(arg) for arg in node.args)}
    found = {where: leaks(message, names, calls) if message else "none" for where, message in messages(tree)}
    assert found == {"check_close on line 3": ["interpolates shape"], "check_close on line 4": ["interpolates x"],
                     "check_close on line 5": [], "assert on line 6": ["quotes output_size(32, 5, 1, 2)"],
                     "assert on line 7": "none"}


def test_feedback_shows_a_hidden_checks_message_but_not_its_code():
    """Does the feedback keep a failing hidden check's message while dropping the traceback that quotes it?"""
    from autograder.course.preprocessors import ClearHiddenTestsAndTracebacks

    hidden_line = 'check_gradient("hidden check: dx", conv_dx_via_forward(dout, w, 0), dx_num)'
    message = "hidden check: dx has shape (1, 2, 5, 10), expected (1, 2, 5, 8). Hint: pad the columns by WW-1-pad"
    cell = new_code_cell(f"check_close('visible', a, b)\n{BEGIN}\n{hidden_line}\n{END}",
                         metadata={"nbgrader": {"grade": True, "grade_id": "t", "locked": True, "points": 3,
                                                "solution": False, "schema_version": 3}})
    cell.outputs = [new_output("error", ename="AssertionError", evalue=message,
                               traceback=["Traceback", f"----> 3 {hidden_line}", f"AssertionError: {message}"])]
    nb, _ = ClearHiddenTestsAndTracebacks().preprocess(new_notebook(cells=[cell]), {})
    shown = nbformat.writes(nb)
    assert "conv_dx_via_forward(dout, w, 0)" not in shown and BEGIN not in shown
    [output] = nb.cells[0].outputs
    assert output.output_type == "error" and output.evalue == message
    assert output.traceback[0] == f"AssertionError: {message}"

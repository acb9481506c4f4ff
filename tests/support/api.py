"""Checks of a module's public functions: shapes in their docstrings, signatures that extend CS231n's."""

import inspect
import re

# Arguments that are not arrays (dicts, callables, flags), so need no shape in a docstring.
NON_ARRAY_ARGUMENTS = {"cache", "conv_param", "pool_param", "bn_param", "dropout_param", "config", "f",
                       "verbose", "h", "num_checks", "seed", "need_dx"}


def undocumented_shapes(function):
    """What the numpydoc docstring of ``function`` leaves out: the Parameters or Returns
    section, an array argument whose entry names no shape, or a Returns section with no shape."""
    doc = inspect.getdoc(function) or ""
    _, has_params, params = doc.partition("Parameters\n----------")
    params, has_returns, returns = params.partition("Returns\n-------")
    if not (has_params and has_returns):
        return ["Parameters and Returns sections"]
    missing = [name for name in inspect.signature(function).parameters if name not in NON_ARRAY_ARGUMENTS
               and not re.search(rf"^(?:\w+, )*{name}(?:, \w+)* :.*shape", params, flags=re.MULTILINE)]
    if not re.search(r"shape|^\w+ : (?:float|list of float)\b", returns, flags=re.MULTILINE):
        missing.append("the shape of what it returns")
    return missing


def public_functions(module):
    """The public functions defined in ``module``, by name."""
    return {name: value for name, value in vars(module).items()
            if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")}


def assert_extends_signature(function, expected):
    """Assert ``function`` takes the arguments ``expected`` (a list of (name, default), default
    ``inspect.Parameter.empty`` for none) first and in order, and only optional extras after them."""
    parameters = list(inspect.signature(function).parameters.values())
    actual = [(p.name, p.default) for p in parameters[:len(expected)]]
    assert actual == list(expected), f"{function.__qualname__}: {actual} != {list(expected)}"
    extras = [p.name for p in parameters[len(expected):] if p.default is inspect.Parameter.empty
              and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert not extras, f"{function.__qualname__}: extra required arguments {extras}"

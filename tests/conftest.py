"""Shared tolerances and fixtures of the test suite.

Tolerances live here, once, per dtype. Import them in a test module with
``from conftest import RTOL, ATOL, GRAD_TOL, assert_close, assert_gradient_close``.
"""

import inspect
import os
import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

# Forward values against an independent computation, per dtype of the result.
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
ATOL = {np.float32: 1e-6, np.float64: 1e-12}

# Largest rel_error (cs_convnet.gradient_check) between an analytic gradient and
# centred differences with h = 1e-5, both in float64. Measured on the layer and
# sandwich tests: median 6e-11, worst 1.4e-7 (small entries of conv-bn-relu's
# dw, where round-off of the difference quotient dominates); the wrong
# gradients tried against these tests are off by 1e-3 or more.
GRAD_TOL = 1e-6
# A gradient that is zero in exact arithmetic (the bias before a batchnorm)
# comes out as round-off on both sides; rel_error of two noises is meaningless,
# so such gradients are compared in absolute terms instead.
ZERO_GRAD_ATOL = 1e-8

FLOAT_DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]


def tolerance(dtype):
    """(rtol, atol) for results of the given dtype."""
    kind = np.dtype(dtype).type
    return RTOL[kind], ATOL[kind]


def assert_close(actual, expected, dtype=None):
    """Assert ``actual`` equals ``expected`` within the table's tolerance for ``dtype``
    (default: the dtype of ``actual``)."""
    rtol, atol = tolerance(dtype if dtype is not None else np.asarray(actual).dtype)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def assert_gradient_close(analytic, numeric, name="gradient"):
    """Assert an analytic gradient matches centred differences: rel_error < GRAD_TOL,
    or both below ZERO_GRAD_ATOL when the true gradient is zero."""
    from cs_convnet.gradient_check import rel_error

    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    assert analytic.shape == numeric.shape, f"{name}: shape {analytic.shape}, expected {numeric.shape}"
    if np.abs(numeric).max(initial=0.0) < ZERO_GRAD_ATOL:
        assert np.abs(analytic).max(initial=0.0) < ZERO_GRAD_ATOL, f"{name}: should be zero, got {analytic}"
        return
    error = rel_error(analytic, numeric)
    assert error < GRAD_TOL, f"{name}: rel_error {error:.2e} >= {GRAD_TOL:.0e}"


@pytest.fixture
def blas_single_thread():
    """Run the test with one BLAS thread.

    On a small machine shared with other jobs, a multithreaded BLAS spinning on
    busy cores makes small matrix products up to 100x slower; one thread keeps
    such tests fast and their timing stable. Use with
    ``pytestmark = pytest.mark.usefixtures("blas_single_thread")``.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def rng():
    """A seeded generator, so every test draws the same numbers on every run."""
    return np.random.default_rng(231)


def cifar10_archive_path():
    """Path of the reconstructed CIFAR-10 archive, or None when it is absent."""
    candidates = []
    if os.environ.get("CS_CONVNET_CIFAR10"):
        candidates.append(Path(os.environ["CS_CONVNET_CIFAR10"]))
    candidates.append(REPO.parent / "shared" / "datasets" / "cifar-10-python-reconstructed.tar.gz")
    return next((path for path in candidates if path.exists()), None)


@pytest.fixture(scope="session")
def cifar10_archive():
    """Path of the CIFAR-10 python archive (or extracted folder); skips the test when absent."""
    path = cifar10_archive_path()
    if path is None:
        pytest.skip(
            "CIFAR-10 not found: set CS_CONVNET_CIFAR10 to the python archive or folder, or place "
            "cifar-10-python-reconstructed.tar.gz in ../shared/datasets/ next to the repository"
        )
    return path


@pytest.fixture(scope="session")
def cifar10_folder(cifar10_archive, tmp_path_factory):
    """The batch folder of ``cifar10_archive``, extracted once per session into a temporary
    cache (never into the user's ~/.cache); skips the test when the data is absent."""
    from cs_convnet.data import find_cifar10

    return find_cifar10(cifar10_archive, cache=tmp_path_factory.mktemp("cifar-cache"))


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

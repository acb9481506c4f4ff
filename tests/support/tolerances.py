"""The tolerance table of the test suite, once, per dtype, and the assertions that use it."""

import numpy as np

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

"""Tests of cs_convnet.fast_optim: the in-place Adam against the learner's rule."""

import numpy as np
import pytest

from cs_convnet import fast_optim, kernels, optim
from support.tolerances import DTYPE_IDS, FLOAT_DTYPES

BACKENDS = ["numpy"] + (["cython"] if "cython" in kernels.AVAILABLE_BACKENDS
                         and kernels.compiled("adam_cython", "cython") is not None else [])
TOL = {np.float32: dict(rtol=1e-5, atol=1e-7), np.float64: dict(rtol=1e-12, atol=1e-15)}


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The default backend for the test (CS_CONVNET_BACKEND's choice, as the fast Adam honours it)."""
    with kernels.use_backend(request.param):
        yield request.param


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [(7, 13), (1,), (2, 3, 4, 5)], ids=["matrix", "one", "4d"])
def test_matches_the_reference_rule(shape, dtype, backend):
    """Over several steps, with non-default hyperparameters, are w, m, v and t those of optim.adam?"""
    rng = np.random.default_rng(0)
    w_ref = rng.standard_normal(shape).astype(dtype)
    w_fast = w_ref.copy()
    hyper = {"learning_rate": 3e-2, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}
    ref_config, fast_config = dict(hyper), dict(hyper)
    for _ in range(6):
        dw = rng.standard_normal(shape).astype(dtype)
        w_ref, ref_config = optim.adam(w_ref, dw, ref_config)
        w_fast, fast_config = fast_optim.adam(w_fast, dw, fast_config)
        assert w_fast.dtype == dtype and w_fast.shape == shape
    np.testing.assert_allclose(w_fast, w_ref, **TOL[dtype])
    for key in ("m", "v"):
        np.testing.assert_allclose(fast_config[key], ref_config[key], **TOL[dtype], err_msg=key)
    assert fast_config["t"] == ref_config["t"] == 6


def test_updates_in_place(backend):
    """Is the returned weight array the one passed in, updated, with m and v updated in place too?"""
    w = np.ones((4, 5), np.float32)
    next_w, config = fast_optim.adam(w, np.full_like(w, 0.5), None)
    m, v = config["m"], config["v"]
    again, config = fast_optim.adam(next_w, np.full_like(w, 0.5), config)
    assert next_w is w and again is w and config["m"] is m and config["v"] is v
    assert np.all(w < 1)


@pytest.mark.parametrize("case", ["transposed-w", "float64-state-for-float32-w"])
def test_awkward_layouts_and_state(case, backend):
    """Are a non-contiguous w and state arrays of another dtype handled (as the reference rule does)?"""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    dw = rng.standard_normal((6, 4)).astype(np.float32)
    config = {}
    if case == "transposed-w":
        w, dw = w.T, dw.T
    else:
        config = {"m": np.zeros((6, 4)), "v": np.zeros((6, 4))}
    expected, _ = optim.adam(w.copy(), dw, {k: v.copy() for k, v in config.items()})
    got, config = fast_optim.adam(w, dw, config)
    np.testing.assert_allclose(got, expected, **TOL[np.float32])
    assert got.dtype == np.float32 and config["m"].dtype == np.float32


@pytest.mark.parametrize("config, message", [
    ({"beta1": 1.0}, r"config\['beta1'\] must lie in \[0, 1\)"),
    ({"momentum": 0.9}, r"unknown config keys \['momentum'\]"),
    ({"t": -1}, r"config\['t'\] must be an integer >= 0"),
])
def test_bad_config_raises(config, message):
    """Does a bad config raise the reference rule's ValueError?"""
    with pytest.raises(ValueError, match=message):
        fast_optim.adam(np.zeros(3), np.zeros(3), config)


def test_bad_gradient_shape_raises():
    """Does a gradient of the wrong shape raise before anything is modified?"""
    w = np.ones(3)
    with pytest.raises(ValueError, match=r"dw must be an array of the shape of w \(3,\)"):
        fast_optim.adam(w, np.ones(4), None)
    assert np.array_equal(w, np.ones(3))

"""Tests of cs_convnet.fast_batchnorm: the fused spatial batchnorm + ReLU against the layers it replaces."""

import numpy as np
import pytest

from cs_convnet import fast_batchnorm, kernels, layers
from cs_convnet.classifiers.convnet import FUSED, ConvNet
from cs_convnet.gradient_check import eval_numerical_gradient_array
from support.tolerances import DTYPE_IDS, FLOAT_DTYPES, assert_gradient_close

BACKENDS = ["numpy"] + (["cython"] if "cython" in kernels.AVAILABLE_BACKENDS
                         and kernels.compiled("batchnorm_relu_cython", "cython") is not None else [])
# Fused-layer results against the two reference layers: float32 round-off of a
# normalization over a few hundred values, and float64 round-off.
TOL = {np.float32: dict(rtol=1e-4, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}

# (N, C, H, W): non-square planes, planes shorter than and not a multiple of the
# kernels' 8 partial sums, N=1, one channel.
SHAPES = [
    pytest.param((4, 3, 5, 7), id="nonsquare"),
    pytest.param((1, 2, 6, 6), id="N1"),
    pytest.param((3, 1, 1, 3), id="C1-tiny-plane"),
    pytest.param((2, 5, 8, 8), id="plane-multiple-of-8"),
]


def _inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (3.0 * rng.standard_normal(shape) + 1.5).astype(dtype)
    gamma = rng.uniform(0.5, 2.0, shape[1]).astype(dtype)
    beta = rng.standard_normal(shape[1]).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    return x, gamma, beta, dout


def _reference(x, gamma, beta, dout, bn_param):
    normalized, bn_cache = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    out, relu_cache = layers.relu_forward(normalized)
    if bn_param["mode"] == "test":
        return out, None
    dx, dgamma, dbeta = layers.spatial_batchnorm_backward(layers.relu_backward(dout, relu_cache), bn_cache)
    return out, (dx, dgamma, dbeta)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_batchnorm_then_relu(shape, dtype, backend):
    """Do the fused forward, backward and running averages equal spatial_batchnorm then relu?"""
    x, gamma, beta, dout = _inputs(shape, dtype)
    ref_param, fast_param = {"mode": "train", "momentum": 0.8}, {"mode": "train", "momentum": 0.8}
    expected, expected_grads = _reference(x, gamma, beta, dout, ref_param)
    out, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, gamma, beta, fast_param, backend=backend)
    grads = fast_batchnorm.spatial_batchnorm_relu_backward_fast(dout, cache)
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_allclose(out, expected, **TOL[dtype])
    for name, got, want in zip(("dx", "dgamma", "dbeta"), grads, expected_grads):
        assert got.dtype == dtype and got.shape == want.shape, name
        np.testing.assert_allclose(got, want, **TOL[dtype], err_msg=name)
    for key in ("running_mean", "running_var"):
        assert fast_param[key].dtype == dtype, key
        np.testing.assert_allclose(fast_param[key], ref_param[key], **TOL[dtype], err_msg=key)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_test_mode_uses_running_averages(dtype, backend):
    """In test mode, is the output relu(gamma * (x - running_mean) / sqrt(running_var + eps) + beta),
    with the running averages left as they were?"""
    x, gamma, beta, dout = _inputs((3, 4, 5, 6), dtype)
    stats = {"running_mean": np.linspace(-1, 1, 4).astype(dtype), "running_var": np.linspace(0.5, 4, 4).astype(dtype)}
    ref_param = {"mode": "test", **{k: v.copy() for k, v in stats.items()}}
    fast_param = {"mode": "test", **{k: v.copy() for k, v in stats.items()}}
    expected, _ = _reference(x, gamma, beta, dout, ref_param)
    out, _ = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, gamma, beta, fast_param, backend=backend)
    np.testing.assert_allclose(out, expected, **TOL[dtype])
    for key, value in stats.items():
        assert np.array_equal(fast_param[key], value), key


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_non_contiguous_inputs(layout, backend):
    """Are non-contiguous x and dout handled like their contiguous copies?"""
    x, gamma, beta, dout = _inputs((3, 4, 6, 5), np.float64)
    if layout == "transposed":
        x_view, dout_view = x.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2), dout.T.copy().T
    else:
        x_view = np.repeat(x, 2, axis=3)[..., ::2]
        dout_view = np.repeat(dout, 2, axis=3)[..., ::2]
    assert not x_view.flags.c_contiguous and not dout_view.flags.c_contiguous
    out, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x_view, gamma, beta, {"mode": "train"}, backend)
    grads = fast_batchnorm.spatial_batchnorm_relu_backward_fast(dout_view, cache)
    expected, expected_grads = _reference(x, gamma, beta, dout, {"mode": "train"})
    np.testing.assert_allclose(out, expected, **TOL[np.float64])
    for got, want in zip(grads, expected_grads):
        np.testing.assert_allclose(got, want, **TOL[np.float64])


@pytest.mark.parametrize("backend", BACKENDS)
def test_dead_units_pass_no_gradient_even_a_nan(backend):
    """Where the ReLU's output is 0, does no upstream gradient get through, NaN and inf included, on every backend?"""
    x, gamma, beta, dout = _inputs((3, 4, 6, 5), np.float32)
    out, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, gamma, beta, {"mode": "train"}, backend)
    dead = out <= 0
    assert dead.any() and not dead.all()
    poisoned = dout.copy()
    poisoned[dead] = np.where(np.arange(dead.sum()) % 2, np.nan, np.inf)
    grads = fast_batchnorm.spatial_batchnorm_relu_backward_fast(poisoned, cache)
    clean = fast_batchnorm.spatial_batchnorm_relu_backward_fast(np.where(dead, 0, dout).astype(np.float32), cache)
    for got, want in zip(grads, clean):
        assert np.isfinite(got).all()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [pytest.param((2, 3, 4, 5), id="nonsquare"), pytest.param((1, 2, 3, 3), id="N1")])
def test_numerical_gradients(shape, backend):
    """Do dx, dgamma and dbeta match centred differences of the fused forward pass in float64?"""
    x, gamma, beta, dout = _inputs(shape, np.float64, seed=3)

    def forward(x_, gamma_, beta_):
        return fast_batchnorm.spatial_batchnorm_relu_forward_fast(x_, gamma_, beta_, {"mode": "train"}, backend)[0]

    _, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, gamma, beta, {"mode": "train"}, backend)
    dx, dgamma, dbeta = fast_batchnorm.spatial_batchnorm_relu_backward_fast(dout, cache)
    assert_gradient_close(dx, eval_numerical_gradient_array(lambda v: forward(v, gamma, beta), x, dout), "dx")
    assert_gradient_close(dgamma, eval_numerical_gradient_array(lambda v: forward(x, v, beta), gamma, dout), "dgamma")
    assert_gradient_close(dbeta, eval_numerical_gradient_array(lambda v: forward(x, gamma, v), beta, dout), "dbeta")


@pytest.mark.parametrize("call, message", [
    (lambda x, g, b: fast_batchnorm.spatial_batchnorm_relu_forward_fast(x[0], g, b, {"mode": "train"}),
     r"x must have 4 dimensions"),
    (lambda x, g, b: fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, g[:2], b, {"mode": "train"}),
     r"gamma must have shape \(3,\)"),
    (lambda x, g, b: fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, g, b, {"mode": "eval"}),
     r"bn_param\['mode'\] must be 'train' or 'test'"),
    (lambda x, g, b: fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, g, b, {"mode": "train"}, "gpu"),
     r"backend must be None, 'numpy' or 'cython'"),
    (lambda x, g, b: fast_batchnorm.spatial_batchnorm_relu_backward_fast(
        x[:1], fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, g, b, {"mode": "train"})[1]),
     r"dout must have the shape of the forward output"),
])
def test_bad_input_raises(call, message):
    """Does bad input raise a ValueError that names the problem?"""
    x, gamma, beta, _ = _inputs((2, 3, 4, 4), np.float64)
    with pytest.raises(ValueError, match=message):
        call(x, gamma, beta)


def test_convnet_fuses_bn_relu_and_keeps_its_gradients():
    """Does a ConvNet with conv-bn-relu blocks use the fused layer, and give the loss and gradients
    of the same net run layer by layer?"""
    spec = "conv3-4 bn relu pool2 conv3-6 bn relu fc5"
    model = ConvNet(spec, input_dim=(2, 6, 8), dtype=np.float64, seed=1)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 2, 6, 8)), np.array([0, 4, 2])
    _, caches = model._stack.forward(X, model.params)
    assert sum(cache is FUSED for cache in caches) == 2
    loss, grads = model.loss(X, y)

    unfused = ConvNet(spec, input_dim=(2, 6, 8), dtype=np.float64, seed=1)
    original = fast_batchnorm.spatial_batchnorm_relu_forward_fast
    calls = []

    def layer_by_layer(x, gamma, beta, bn_param):
        calls.append(x.shape)
        normalized, bn_cache = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
        out, relu_cache = layers.relu_forward(normalized)
        return out, (bn_cache, relu_cache)

    def layer_by_layer_backward(dout, cache):
        bn_cache, relu_cache = cache
        return layers.spatial_batchnorm_backward(layers.relu_backward(dout, relu_cache), bn_cache)

    try:
        fast_batchnorm.spatial_batchnorm_relu_forward_fast = layer_by_layer
        backward, fast_batchnorm.spatial_batchnorm_relu_backward_fast = (
            fast_batchnorm.spatial_batchnorm_relu_backward_fast, layer_by_layer_backward)
        expected_loss, expected_grads = unfused.loss(X, y)
    finally:
        fast_batchnorm.spatial_batchnorm_relu_forward_fast = original
        fast_batchnorm.spatial_batchnorm_relu_backward_fast = backward
    assert len(calls) == 2
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-12)
    for name in expected_grads:
        np.testing.assert_allclose(grads[name], expected_grads[name], rtol=1e-9, atol=1e-12, err_msg=name)

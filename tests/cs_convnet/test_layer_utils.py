"""Tests of cs_convnet.layer_utils: each sandwich equals the composition of the naive
layers, and its backward matches centred differences."""

import inspect

import numpy as np
import pytest

from cs_convnet import layer_utils, layers
from cs_convnet.gradient_check import eval_numerical_gradient_array
from support.api import public_functions, undocumented_shapes
from support.tolerances import DTYPE_IDS, FLOAT_DTYPES, assert_close, assert_gradient_close


pytestmark = pytest.mark.usefixtures("blas_single_thread")  # see conftest: small products, busy machine

CONV_PARAM = {"stride": 2, "pad": 1}
POOL_PARAM = {"pool_height": 3, "pool_width": 3, "stride": 2}  # overlapping windows


def naive_affine_relu(x, w, b):
    a, c1 = layers.affine_forward(x, w, b)
    out, c2 = layers.relu_forward(a)
    return out, lambda d: layers.affine_backward(layers.relu_backward(d, c2), c1)


def naive_affine_bn_relu(x, w, b, gamma, beta, bn_param):
    a, c1 = layers.affine_forward(x, w, b)
    an, c2 = layers.batchnorm_forward(a, gamma, beta, bn_param)
    out, c3 = layers.relu_forward(an)

    def backward(d):
        dan, dgamma, dbeta = layers.batchnorm_backward(layers.relu_backward(d, c3), c2)
        return (*layers.affine_backward(dan, c1), dgamma, dbeta)
    return out, backward


def naive_conv_relu(x, w, b, conv_param):
    a, c1 = layers.conv_forward_naive(x, w, b, conv_param)
    out, c2 = layers.relu_forward(a)
    return out, lambda d: layers.conv_backward_naive(layers.relu_backward(d, c2), c1)


def naive_conv_relu_pool(x, w, b, conv_param, pool_param):
    a, c1 = layers.conv_forward_naive(x, w, b, conv_param)
    s, c2 = layers.relu_forward(a)
    out, c3 = layers.max_pool_forward_naive(s, pool_param)
    return out, lambda d: layers.conv_backward_naive(
        layers.relu_backward(layers.max_pool_backward_naive(d, c3), c2), c1)


def naive_conv_bn_relu(x, w, b, gamma, beta, conv_param, bn_param):
    a, c1 = layers.conv_forward_naive(x, w, b, conv_param)
    an, c2 = layers.spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, c3 = layers.relu_forward(an)

    def backward(d):
        dan, dgamma, dbeta = layers.spatial_batchnorm_backward(layers.relu_backward(d, c3), c2)
        return (*layers.conv_backward_naive(dan, c1), dgamma, dbeta)
    return out, backward


def make_inputs(name, rng, dtype=np.float64):
    """Inputs (arrays first, then dicts) for each sandwich, non-square where it matters."""
    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)
    if name == "affine_relu":
        return (r(3, 2, 5), r(10, 4), r(4)), ()
    if name == "affine_bn_relu":
        return (r(6, 5), r(5, 4), r(4), r(4), r(4)), ({"mode": "train"},)
    if name == "conv_relu":
        return (r(2, 3, 7, 5), r(4, 3, 3, 3), r(4)), (CONV_PARAM,)
    if name == "conv_relu_pool":
        # conv 3x3 s2 p1: (9 - 3 + 2)/2 + 1 = 5 by (13 - 3 + 2)/2 + 1 = 7; pool 3x3 s2: 2 by 3
        # a negative bias makes whole pooling windows negative, so the ReLU's gradient matters
        return (r(2, 3, 9, 13), r(4, 3, 3, 3), r(4) - dtype(2.5)), (CONV_PARAM, POOL_PARAM)
    if name == "conv_bn_relu":
        return (r(2, 3, 6, 4), r(3, 3, 2, 2), r(3), r(3), r(3)), (CONV_PARAM, {"mode": "train"})
    raise KeyError(name)


SANDWICHES = {
    "affine_relu": (layer_utils.affine_relu_forward, layer_utils.affine_relu_backward, naive_affine_relu),
    "affine_bn_relu": (layer_utils.affine_bn_relu_forward, layer_utils.affine_bn_relu_backward,
                       naive_affine_bn_relu),
    "conv_relu": (layer_utils.conv_relu_forward, layer_utils.conv_relu_backward, naive_conv_relu),
    "conv_relu_pool": (layer_utils.conv_relu_pool_forward, layer_utils.conv_relu_pool_backward,
                       naive_conv_relu_pool),
    "conv_bn_relu": (layer_utils.conv_bn_relu_forward, layer_utils.conv_bn_relu_backward, naive_conv_bn_relu),
}


def copy_dicts(dicts):
    return tuple(dict(d) for d in dicts)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", list(SANDWICHES))
def test_sandwich_equals_naive_composition(name, dtype, rng):
    """Do the sandwich's forward and backward equal the naive layers composed by hand?"""
    forward, backward, naive = SANDWICHES[name]
    arrays, dicts = make_inputs(name, rng, dtype)
    out, cache = forward(*arrays, *copy_dicts(dicts))
    expected_out, expected_backward = naive(*arrays, *copy_dicts(dicts))
    assert out.dtype == dtype
    assert 0 < np.count_nonzero(out) < out.size  # the ReLU is active somewhere and not everywhere
    assert_close(out, expected_out)
    dout = rng.standard_normal(out.shape).astype(dtype)
    grads = backward(dout, cache)
    expected = expected_backward(dout)
    assert len(grads) == len(arrays)
    for grad, exp, array in zip(grads, expected, arrays):
        assert grad.shape == array.shape and grad.dtype == dtype
        rtol = 1e-4 if dtype == np.float32 else 1e-9
        np.testing.assert_allclose(grad, exp, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", list(SANDWICHES))
def test_sandwich_backward_numerical(name, rng):
    """Does each sandwich's backward match centred differences in float64?"""
    forward, backward, _ = SANDWICHES[name]
    arrays, dicts = make_inputs(name, rng)
    out, cache = forward(*arrays, *copy_dicts(dicts))
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    for index, (grad, array) in enumerate(zip(grads, arrays)):
        numeric = eval_numerical_gradient_array(lambda _: forward(*arrays, *copy_dicts(dicts))[0], array, dout)
        assert_gradient_close(grad, numeric, f"gradient of argument {index}")


@pytest.mark.parametrize("name", ["conv_relu", "conv_relu_pool", "conv_bn_relu"])
def test_conv_sandwich_can_skip_dx(name, rng):
    """With need_dx=False, is dx None and are the parameter gradients unchanged?"""
    forward, backward, _ = SANDWICHES[name]
    arrays, dicts = make_inputs(name, rng)
    out, cache = forward(*arrays, *copy_dicts(dicts))
    dout = rng.standard_normal(out.shape)
    full = backward(dout, cache)
    skipped = backward(dout, cache, need_dx=False)
    assert skipped[0] is None
    for a, b in zip(full[1:], skipped[1:]):
        assert np.array_equal(a, b)


def test_sandwiches_reject_bad_input():
    """Do the sandwiches pass the layers' shape errors through?"""
    with pytest.raises(ValueError, match="not a whole number"):
        layer_utils.conv_relu_pool_forward(np.zeros((1, 3, 8, 8)), np.zeros((2, 3, 3, 3)), np.zeros(2),
                                           {"stride": 1, "pad": 1}, POOL_PARAM)
    with pytest.raises(ValueError, match="channels disagree"):
        layer_utils.conv_relu_forward(np.zeros((1, 2, 8, 8)), np.zeros((2, 3, 3, 3)), np.zeros(2), CONV_PARAM)


CS231N_SIGNATURES = {
    "affine_relu_forward": "(x, w, b)", "affine_relu_backward": "(dout, cache)",
    "affine_bn_relu_forward": "(x, w, b, gamma, beta, bn_param)", "affine_bn_relu_backward": "(dout, cache)",
    "conv_relu_forward": "(x, w, b, conv_param)", "conv_relu_backward": "(dout, cache, need_dx=True)",
    "conv_relu_pool_forward": "(x, w, b, conv_param, pool_param)",
    "conv_relu_pool_backward": "(dout, cache, need_dx=True)",
    "conv_bn_relu_forward": "(x, w, b, gamma, beta, conv_param, bn_param)",
    "conv_bn_relu_backward": "(dout, cache, need_dx=True)",
}


def test_sandwiches_have_cs231n_signatures_and_document_every_shape():
    """Are the sandwiches CS231n's (plus need_dx, defaulting to CS231n's behaviour), with every shape documented?"""
    functions = public_functions(layer_utils)
    assert sorted(functions) == sorted(CS231N_SIGNATURES)
    for name, signature in CS231N_SIGNATURES.items():
        assert str(inspect.signature(functions[name])) == signature, name
        assert undocumented_shapes(functions[name]) == [], name

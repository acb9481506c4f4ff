"""Tests of cs_convnet.layers: forwards against independent computations,
backwards against centred differences in float64, dtypes, and every bad input."""

import inspect
import re

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from cs_convnet import layers
from cs_convnet.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from support.api import public_functions, undocumented_shapes
from support.tolerances import DTYPE_IDS, FLOAT_DTYPES, assert_close, assert_gradient_close


pytestmark = pytest.mark.usefixtures("blas_single_thread")  # see conftest: small products, busy machine


# --------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------

def conv_reference(x, w, b, stride, pad):
    """Convolution as one einsum over all windows (no loops, no im2col)."""
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    HH, WW = w.shape[2:]
    windows = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]


def pool_reference(x, pool_height, pool_width, stride, reduce):
    """Pooling as a reduction over the window offsets: for each offset (di, dj),
    one strided slice of the whole input (chainer's formulation)."""
    H_out = (x.shape[2] - pool_height) // stride + 1
    W_out = (x.shape[3] - pool_width) // stride + 1
    shifted = [
        x[:, :, di:di + stride * (H_out - 1) + 1:stride, dj:dj + stride * (W_out - 1) + 1:stride]
        for di in range(pool_height) for dj in range(pool_width)
    ]
    return reduce(np.stack(shifted), axis=0)


def numeric_grads(forward, inputs, dout):
    """Centred-difference gradients of sum(forward(*inputs) * dout) w.r.t. each input."""
    return [
        eval_numerical_gradient_array(lambda _: forward(*inputs), array, dout)
        for array in inputs
    ]


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

# (N, C, H, W, F, HH, WW, stride, pad)
CONV_CASES = [
    pytest.param((1, 2, 5, 7, 3, 3, 2, 1, 0), id="N1-nonsquare-3x2-s1-p0"),
    pytest.param((2, 3, 7, 5, 2, 3, 3, 2, 1), id="nonsquare-3x3-s2-p1"),
    pytest.param((2, 1, 8, 12, 2, 3, 4, 3, 2), id="kernel3x4-s3-p2"),
    pytest.param((1, 2, 4, 3, 2, 5, 5, 1, 3), id="kernel-larger-than-input-s1-p3"),
    pytest.param((3, 4, 5, 7, 5, 1, 1, 2, 0), id="1x1-s2-p0"),
]

# (N, C, H, W, pool_height, pool_width, stride)
POOL_CASES = [
    pytest.param((2, 3, 4, 6, 2, 2, 2), id="2x2-s2"),
    pytest.param((1, 2, 7, 9, 3, 3, 2), id="N1-overlapping-3x3-s2"),
    pytest.param((2, 1, 5, 6, 2, 3, 1), id="nonsquare-2x3-s1"),
    pytest.param((1, 2, 6, 9, 3, 3, 3), id="3x3-s3"),
    pytest.param((2, 2, 3, 4, 3, 4, 1), id="window-equals-input"),
]


def conv_inputs(case, rng, dtype=np.float64):
    N, C, H, W, F, HH, WW, stride, pad = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    return x, w, b, {"stride": stride, "pad": pad}


# --------------------------------------------------------------------------
# Affine and ReLU
# --------------------------------------------------------------------------

def test_affine_forward_matches_cs231n_example():
    """Does affine_forward reproduce CS231n's published example?"""
    input_shape, output_dim = (4, 5, 6), 3
    D = int(np.prod(input_shape))
    x = np.linspace(-0.1, 0.5, num=2 * D).reshape(2, *input_shape)
    w = np.linspace(-0.2, 0.3, num=D * output_dim).reshape(D, output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = layers.affine_forward(x, w, b)
    expected = np.array([[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]])
    assert rel_error(out, expected) < 1e-8  # the published values have 8 decimals


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("x_shape", [(1, 6), (3, 2, 3), (4, 2, 1, 3)], ids=["N1-flat", "3d", "4d"])
def test_affine_forward_matches_loops(x_shape, dtype, rng):
    """Is affine_forward the dot product of each flattened example with each column, plus b?"""
    N, D, M = x_shape[0], int(np.prod(x_shape[1:])), 5
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((D, M)).astype(dtype)
    b = rng.standard_normal(M).astype(dtype)
    out, _ = layers.affine_forward(x, w, b)
    expected = np.array([[sum(x[n].ravel()[d] * w[d, m] for d in range(D)) + b[m] for m in range(M)]
                         for n in range(N)])
    assert out.dtype == dtype
    assert_close(out, expected)


@pytest.mark.parametrize("x_shape", [(1, 6), (3, 2, 3), (4, 2, 1, 3)], ids=["N1-flat", "3d", "4d"])
def test_affine_backward_numerical(x_shape, rng):
    """Do affine_backward's dx, dw, db match centred differences?"""
    D, M = int(np.prod(x_shape[1:])), 5
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((D, M)), rng.standard_normal(M)
    out, cache = layers.affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    grads = layers.affine_backward(dout, cache)
    expected = numeric_grads(lambda *a: layers.affine_forward(*a)[0], (x, w, b), dout)
    for name, grad, numeric in zip("x w b".split(), grads, expected):
        assert grad.shape == numeric.shape, name
        assert_gradient_close(grad, numeric, name)


def test_relu_forward_matches_cs231n_example():
    """Does relu_forward reproduce CS231n's published example?"""
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = layers.relu_forward(x)
    expected = np.array([[0, 0, 0, 0], [0, 0, 0.04545455, 0.13636364], [0.22727273, 0.31818182, 0.40909091, 0.5]])
    assert np.array_equal(out == 0, expected == 0)
    assert np.abs(out - expected).max() < 1e-8


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_relu_keeps_dtype_and_gradient_flows_where_positive(dtype, rng):
    """Does ReLU keep the dtype, and is its gradient dout where x > 0 and 0 elsewhere?"""
    x = rng.standard_normal((3, 4, 5)).astype(dtype)
    x[0, 0, 0] = 0.0  # the gradient at exactly 0 is taken as 0
    out, cache = layers.relu_forward(x)
    dout = rng.standard_normal(x.shape).astype(dtype)
    dx = layers.relu_backward(dout, cache)
    assert out.dtype == dtype and dx.dtype == dtype
    assert np.array_equal(out, np.where(x > 0, x, 0))
    assert np.array_equal(dx, np.where(x > 0, dout, 0))


def test_relu_backward_numerical(rng):
    """Does relu_backward match centred differences (away from the kink)?"""
    x = rng.standard_normal((4, 6))
    x[np.abs(x) < 1e-3] = 0.5  # keep the difference quotient off the kink
    dout = rng.standard_normal(x.shape)
    _, cache = layers.relu_forward(x)
    numeric = eval_numerical_gradient_array(lambda v: layers.relu_forward(v)[0], x, dout)
    assert_gradient_close(layers.relu_backward(dout, cache), numeric)


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------

def svm_reference(x, y):
    return sum(max(0.0, x[i, j] - x[i, y[i]] + 1) for i in range(len(y)) for j in range(x.shape[1])
               if j != y[i]) / len(y)


def softmax_reference(x, y):
    return -sum(np.log(np.exp(x[i, y[i]]) / np.exp(x[i]).sum()) for i in range(len(y))) / len(y)


@pytest.mark.parametrize("loss_fn, reference", [(layers.svm_loss, svm_reference),
                                                (layers.softmax_loss, softmax_reference)],
                         ids=["svm", "softmax"])
@pytest.mark.parametrize("N", [1, 7], ids=["N1", "N7"])
def test_loss_value_and_gradient(loss_fn, reference, N, rng):
    """Do the losses equal a per-example loop, with gradients matching centred differences?"""
    x = rng.standard_normal((N, 5))
    y = rng.integers(5, size=N)
    loss, dx = loss_fn(x, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(reference(x, y), rel=1e-12)
    numeric = eval_numerical_gradient(lambda v: loss_fn(v, y)[0], x, verbose=False)
    assert_gradient_close(dx, numeric)


@pytest.mark.parametrize("loss_fn", [layers.svm_loss, layers.softmax_loss], ids=["svm", "softmax"])
def test_losses_of_integer_scores_equal_those_of_float_scores(loss_fn):
    """Are integer scores scored like the same scores in float64, with a float64 gradient?"""
    x, y = np.array([[1, 2, 3], [3, 1, 0], [0, 0, 5]]), np.array([0, 1, 2])
    loss, dx = loss_fn(x, y)
    expected_loss, expected_dx = loss_fn(x.astype(np.float64), y)
    assert loss == expected_loss and dx.dtype == np.float64 and np.array_equal(dx, expected_dx)


def test_losses_at_chance():
    """With tiny scores, is the SVM loss C - 1 and the softmax loss log(C)?"""
    rng = np.random.default_rng(0)
    x, y = 1e-3 * rng.standard_normal((50, 10)), rng.integers(10, size=50)
    assert layers.svm_loss(x, y)[0] == pytest.approx(9.0, abs=1e-2)
    assert layers.softmax_loss(x, y)[0] == pytest.approx(np.log(10), abs=1e-2)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_softmax_is_stable_for_huge_scores(dtype):
    """Does softmax_loss stay finite for scores whose exp overflows, and keep the dtype?"""
    x = np.array([[1e4, 0.0, -1e4], [3e4, 3e4, 0.0]], dtype=dtype)
    loss, dx = layers.softmax_loss(x, np.array([0, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(dx)) and dx.dtype == dtype
    assert loss == pytest.approx((0.0 + (3e4 + np.log(2))) / 2, rel=1e-6)


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------

def test_conv_forward_matches_cs231n_example():
    """Does conv_forward_naive reproduce CS231n's published example (stride 2, pad 1)?"""
    x = np.linspace(-0.1, 0.5, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=3 * 3 * 4 * 4).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = layers.conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    expected = np.array([
        [[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
         [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
         [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
        [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
         [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
         [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]],
    ])
    assert rel_error(out, expected) < 1e-7  # the published values have 8 decimals


def test_conv_forward_hand_computed():
    """Is a 2x2 filter of ones with pad 1 the sum of each padded 2x2 window, plus b?"""
    x = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)  # [[1 2 3], [4 5 6]]
    w = np.ones((1, 1, 2, 2))
    out, _ = layers.conv_forward_naive(x, w, np.array([0.5]), {"stride": 1, "pad": 1})
    expected = np.array([[1, 3, 5, 3], [5, 12, 16, 9], [4, 9, 11, 6]]) + 0.5
    assert np.array_equal(out[0, 0], expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_matches_einsum(case, dtype, rng):
    """Does the loop convolution equal an einsum over all windows, in the input's dtype?"""
    x, w, b, conv_param = conv_inputs(case, rng, dtype)
    out, _ = layers.conv_forward_naive(x, w, b, conv_param)
    N, C, H, W, F, HH, WW, stride, pad = case
    assert out.shape == (N, F, (H - HH + 2 * pad) // stride + 1, (W - WW + 2 * pad) // stride + 1)
    assert out.dtype == dtype
    expected = conv_reference(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), stride, pad)
    assert_close(out, expected)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_backward_numerical(case, rng):
    """Do conv_backward_naive's dx, dw, db match centred differences in float64?"""
    x, w, b, conv_param = conv_inputs(case, rng)
    out, cache = layers.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    grads = layers.conv_backward_naive(dout, cache)
    forward = lambda x_, w_, b_: conv_reference(x_, w_, b_, conv_param["stride"], conv_param["pad"])
    for name, grad, numeric in zip("x w b".split(), grads, numeric_grads(forward, (x, w, b), dout)):
        assert grad.shape == numeric.shape, name
        assert_gradient_close(grad, numeric, name)


def test_conv_backward_through_the_naive_forward(rng):
    """Does the backward agree with differences of conv_forward_naive itself (not only the reference)?"""
    x, w, b, conv_param = conv_inputs((2, 2, 5, 4, 2, 3, 2, 1, 1), rng)
    out, cache = layers.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    forward = lambda x_, w_, b_: layers.conv_forward_naive(x_, w_, b_, conv_param)[0]
    for grad, numeric in zip(layers.conv_backward_naive(dout, cache), numeric_grads(forward, (x, w, b), dout)):
        assert_gradient_close(grad, numeric)


def test_conv_float32_backward_keeps_dtype(rng):
    """Does a float32 convolution return float32 gradients close to the float64 ones?"""
    x, w, b, conv_param = conv_inputs((2, 3, 7, 5, 2, 3, 3, 2, 1), rng)
    out64, cache64 = layers.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out64.shape)
    _, cache32 = layers.conv_forward_naive(*(a.astype(np.float32) for a in (x, w, b)), conv_param)
    for g32, g64 in zip(layers.conv_backward_naive(dout.astype(np.float32), cache32),
                        layers.conv_backward_naive(dout, cache64)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)


def test_conv_accepts_non_contiguous_input(rng):
    """Is a strided view of x convolved like its contiguous copy?"""
    big = rng.standard_normal((2, 6, 10, 7))
    x = big[:, ::2, ::2, :5]  # (2, 3, 5, 5), not contiguous
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    out, _ = layers.conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    assert_close(out, layers.conv_forward_naive(np.ascontiguousarray(x), w, b, {"stride": 2, "pad": 1})[0])


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------

POOL_LAYERS = {
    "max": (layers.max_pool_forward_naive, layers.max_pool_backward_naive),
    "avg": (layers.avg_pool_forward_naive, layers.avg_pool_backward_naive),
}


def pool_param_of(case):
    return {"pool_height": case[4], "pool_width": case[5], "stride": case[6]}


def test_max_pool_forward_matches_cs231n_example():
    """Does max_pool_forward_naive reproduce CS231n's published example (2x2, stride 2)?"""
    x = np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    out, _ = layers.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    expected = np.array([
        [[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
         [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
         [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
        [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
         [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
         [[0.32631579, 0.34105263], [0.38526316, 0.4]]],
    ])
    assert rel_error(out, expected) < 1e-7


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_forward_matches_offset_reduction(kind, case, dtype, rng):
    """Does pooling equal a reduction over the window offsets, in the input's dtype?"""
    x = rng.standard_normal(case[:4]).astype(dtype)
    forward = POOL_LAYERS[kind][0]
    out, _ = forward(x, pool_param_of(case))
    expected = pool_reference(x.astype(np.float64), *case[4:], np.max if kind == "max" else np.mean)
    assert out.dtype == dtype
    assert out.shape == expected.shape
    assert_close(out, expected)


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_backward_numerical(kind, case, rng):
    """Do the pooling backwards match centred differences (no ties: distinct values)?"""
    # A permutation spaced by 0.01 keeps every window's maximum unique and
    # far from the others compared with h = 1e-5.
    x = rng.permutation(np.prod(case[:4])).reshape(case[:4]) * 0.01
    forward, backward = POOL_LAYERS[kind]
    pool_param = pool_param_of(case)
    out, cache = forward(x, pool_param)
    dout = rng.standard_normal(out.shape)
    numeric = eval_numerical_gradient_array(lambda v: forward(v, pool_param)[0], x, dout)
    dx = backward(dout, cache)
    assert dx.shape == x.shape
    assert_gradient_close(dx, numeric)


def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order():
    """When entries of a window tie for the maximum, does the first (row-major) get the gradient?"""
    x = np.array([[0.0, 1.0, 1.0],
                  [1.0, 1.0, 0.0],
                  [0.0, 0.0, 0.0],
                  [1.0, 0.0, 1.0]]).reshape(1, 1, 4, 3)
    pool_param = {"pool_height": 2, "pool_width": 3, "stride": 2}
    out, cache = layers.max_pool_forward_naive(x, pool_param)
    dx = layers.max_pool_backward_naive(np.array([[[[10.0], [20.0]]]]), cache)
    expected = np.zeros((4, 3))
    expected[0, 1] = 10.0  # window 1: ties at (0,1), (0,2), (1,0), (1,1) -> (0,1)
    expected[3, 0] = 20.0  # window 2: ties at (3,0), (3,2) -> (3,0)
    assert np.array_equal(out.ravel(), [1.0, 1.0])
    assert np.array_equal(dx[0, 0], expected)


def test_max_pool_overlapping_ties_accumulate():
    """With 3x3 stride-2 windows over a constant input, does each window's top-left entry
    receive its gradient, and do shared entries add up?"""
    x = np.zeros((1, 2, 5, 5))
    out, cache = layers.max_pool_forward_naive(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    dout = np.arange(1.0, 9.0).reshape(1, 2, 2, 2)
    dx = layers.max_pool_backward_naive(dout, cache)
    expected = np.zeros((1, 2, 5, 5))
    for c in range(2):
        for i in range(2):
            for j in range(2):
                expected[0, c, 2 * i, 2 * j] += dout[0, c, i, j]
    assert np.array_equal(dx, expected)

    # A maximum shared by all four windows receives the sum of their gradients.
    x[0, :, 2, 2] = 1.0
    _, cache = layers.max_pool_forward_naive(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    dx = layers.max_pool_backward_naive(dout, cache)
    assert np.array_equal(dx[0, :, 2, 2], dout[0].sum(axis=(1, 2)))
    assert np.count_nonzero(dx) == 2


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_floor_option_drops_the_ragged_edge(kind, rng):
    """With floor=True, is a 5x7 input pooled like its top-left 4x6 part, with zero gradient outside?"""
    forward, backward = POOL_LAYERS[kind]
    x = rng.standard_normal((2, 3, 5, 7))
    param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    with pytest.raises(ValueError, match="not a whole number"):
        forward(x, param)
    with pytest.raises(ValueError, match="not a whole number"):
        forward(x, {**param, "floor": False})
    out, cache = forward(x, {**param, "floor": True})
    assert_close(out, forward(x[:, :, :4, :6], param)[0])
    dx = backward(np.ones_like(out), cache)
    assert dx.shape == x.shape
    assert not dx[:, :, 4:, :].any() and not dx[:, :, :, 6:].any()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_backward_keeps_dtype(kind, dtype, rng):
    """Does the pooling backward return dx in the dtype of x?"""
    forward, backward = POOL_LAYERS[kind]
    x = rng.standard_normal((2, 3, 7, 7)).astype(dtype)
    out, cache = forward(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    assert backward(np.ones_like(out), cache).dtype == dtype


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_accepts_non_contiguous_input(kind, rng):
    """Is a strided view of x pooled like its contiguous copy, forward and backward?"""
    forward, backward = POOL_LAYERS[kind]
    x = rng.standard_normal((2, 3, 14, 9)).transpose(0, 1, 3, 2)[:, :, :, ::2]  # (2, 3, 9, 7)
    param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    out, cache = forward(x, param)
    out_c, cache_c = forward(np.ascontiguousarray(x), param)
    assert_close(out, out_c)  # the mean may sum in another order: equal to rounding
    dout = rng.standard_normal(out.shape)
    assert_close(backward(dout, cache), backward(dout, cache_c))


# --------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_batchnorm_train_forward_and_running_stats(dtype, rng):
    """In training mode, is the output gamma * standardised x + beta, and do the running
    averages follow momentum * old + (1 - momentum) * batch statistic?"""
    x = (5 + 3 * rng.standard_normal((40, 4))).astype(dtype)
    gamma, beta = np.array([1.0, 2.0, 0.5, 3.0], dtype), np.array([0.0, -1.0, 4.0, 0.5], dtype)
    bn_param = {"mode": "train", "momentum": 0.8}
    out, _ = layers.batchnorm_forward(x, gamma, beta, bn_param)
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=0), ((x64 - x64.mean(axis=0)) ** 2).mean(axis=0)
    assert out.dtype == dtype
    assert_close(out, gamma * (x64 - mean) / np.sqrt(var + 1e-5) + beta)
    assert_close(bn_param["running_mean"], 0.2 * mean, dtype)
    assert_close(bn_param["running_var"], 0.2 * var, dtype)

    x2 = (rng.standard_normal((40, 4)) - 2).astype(dtype)
    layers.batchnorm_forward(x2, gamma, beta, bn_param)
    x2 = x2.astype(np.float64)
    assert_close(bn_param["running_mean"], 0.8 * 0.2 * mean + 0.2 * x2.mean(axis=0), dtype)
    assert_close(bn_param["running_var"], 0.8 * 0.2 * var + 0.2 * x2.var(axis=0), dtype)


def test_batchnorm_test_mode_uses_running_stats(rng):
    """In test mode, is x normalised with the running averages, which stay unchanged?"""
    D = 3
    running_mean, running_var = rng.standard_normal(D), rng.random(D) + 0.5
    bn_param = {"mode": "test", "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    x, gamma, beta = rng.standard_normal((5, D)), rng.standard_normal(D), rng.standard_normal(D)
    out, _ = layers.batchnorm_forward(x, gamma, beta, bn_param)
    assert_close(out, gamma * (x - running_mean) / np.sqrt(running_var + 1e-5) + beta)
    assert np.array_equal(bn_param["running_mean"], running_mean)
    assert np.array_equal(bn_param["running_var"], running_var)


def test_batchnorm_running_stats_converge():
    """After many training batches, does test mode give outputs with mean beta and std gamma
    (CS231n's check)?"""
    rng = np.random.default_rng(1)
    W1, W2 = rng.standard_normal((10, 20)), rng.standard_normal((20, 3))
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, -1.0])
    bn_param = {"mode": "train"}
    for _ in range(60):
        a = np.maximum(0, rng.standard_normal((200, 10)) @ W1) @ W2
        layers.batchnorm_forward(a, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    a = np.maximum(0, rng.standard_normal((2000, 10)) @ W1) @ W2
    out, _ = layers.batchnorm_forward(a, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=0.15)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=0.1)


@pytest.mark.parametrize("backward", [layers.batchnorm_backward, layers.batchnorm_backward_alt],
                         ids=["graph", "alt"])
@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("N", [3, 9], ids=["N3", "N9"])
def test_batchnorm_backward_numerical(backward, mode, N, rng):
    """Do both batchnorm backwards match centred differences, in train and test mode?"""
    D = 4
    x = 3 * rng.standard_normal((N, D)) + 2
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    stats = {"running_mean": rng.standard_normal(D), "running_var": rng.random(D) + 0.5}

    def forward(x_, gamma_, beta_):
        return layers.batchnorm_forward(x_, gamma_, beta_, {"mode": mode, **{k: v.copy() for k, v in stats.items()}})[0]

    out, cache = layers.batchnorm_forward(x, gamma, beta, {"mode": mode, **{k: v.copy() for k, v in stats.items()}})
    dout = rng.standard_normal(out.shape)
    for name, grad, numeric in zip("x gamma beta".split(), backward(dout, cache),
                                   numeric_grads(forward, (x, gamma, beta), dout)):
        assert_gradient_close(grad, numeric, name)


@pytest.mark.parametrize("spatial", [False, True], ids=["batchnorm", "spatial"])
def test_batchnorm_numpy_scalar_hyperparameters_keep_float32(spatial, rng):
    """Do eps and momentum given as numpy float64 scalars (say from np.logspace) leave float32
    activations, running statistics and gradients in float32?"""
    shape = (4, 3, 2, 5) if spatial else (6, 3)
    x = rng.standard_normal(shape).astype(np.float32)
    gamma, beta = np.ones(3, np.float32), np.zeros(3, np.float32)
    forward, backward = ((layers.spatial_batchnorm_forward, layers.spatial_batchnorm_backward) if spatial
                         else (layers.batchnorm_forward, layers.batchnorm_backward))
    bn_param = {"mode": "train", "eps": np.float64(1e-5), "momentum": np.float64(0.9)}
    out, cache = forward(x, gamma, beta, bn_param)
    assert out.dtype == np.float32
    assert bn_param["running_mean"].dtype == bn_param["running_var"].dtype == np.float32
    assert all(grad.dtype == np.float32 for grad in backward(np.ones_like(out), cache))
    bn_param["mode"] = "test"
    assert forward(x, gamma, beta, bn_param)[0].dtype == np.float32


def test_batchnorm_backward_versions_agree(rng):
    """Do the step-by-step and the simplified backward give the same gradients?"""
    x, gamma, beta = rng.standard_normal((30, 6)), rng.standard_normal(6), rng.standard_normal(6)
    out, cache = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dout = rng.standard_normal(out.shape)
    for a, b in zip(layers.batchnorm_backward(dout, cache), layers.batchnorm_backward_alt(dout, cache)):
        assert rel_error(a, b) < 1e-10


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_spatial_batchnorm_forward(dtype, rng):
    """Is each channel normalised over N, H and W together, then scaled and shifted?"""
    x = (4 + 2 * rng.standard_normal((3, 2, 4, 5))).astype(dtype)
    gamma, beta = np.array([1.5, 0.5], dtype), np.array([-1.0, 2.0], dtype)
    bn_param = {"mode": "train"}
    out, _ = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=(0, 2, 3), keepdims=True), x64.var(axis=(0, 2, 3), keepdims=True)
    expected = gamma[:, None, None] * (x64 - mean) / np.sqrt(var + 1e-5) + beta[:, None, None]
    assert out.shape == x.shape and out.dtype == dtype
    assert_close(out, expected)
    assert bn_param["running_mean"].shape == (2,)
    assert_close(bn_param["running_mean"], 0.1 * mean.ravel(), dtype)

    bn_param["mode"] = "test"
    out, _ = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    rm, rv = (bn_param[k].astype(np.float64)[:, None, None] for k in ("running_mean", "running_var"))
    assert_close(out, gamma[:, None, None] * (x64 - rm) / np.sqrt(rv + 1e-5) + beta[:, None, None])


@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_backward_numerical(mode, rng):
    """Does spatial_batchnorm_backward match centred differences?"""
    x = rng.standard_normal((2, 3, 4, 3)) * 2 + 1
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    stats = {"running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}
    fresh = lambda: {"mode": mode, **{k: v.copy() for k, v in stats.items()}}
    out, cache = layers.spatial_batchnorm_forward(x, gamma, beta, fresh())
    dout = rng.standard_normal(out.shape)
    forward = lambda x_, g_, b_: layers.spatial_batchnorm_forward(x_, g_, b_, fresh())[0]
    grads = layers.spatial_batchnorm_backward(dout, cache)
    for name, grad, numeric in zip("x gamma beta".split(), grads, numeric_grads(forward, (x, gamma, beta), dout)):
        assert grad.shape == numeric.shape, name
        assert_gradient_close(grad, numeric, name)


# --------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.25, 0.6, 1.0])
def test_dropout_keeps_a_fraction_p_and_preserves_the_mean(p):
    """Does inverted dropout keep about a fraction p of the units, scaled by 1/p, so that
    the expected output equals x?"""
    x = np.random.default_rng(3).standard_normal((500, 500)) + 10
    out, _ = layers.dropout_forward(x, {"mode": "train", "p": p, "seed": 0})
    kept = out != 0
    assert abs(kept.mean() - p) < 5e-3
    assert_close(out[kept], x[kept] / p)
    assert abs(out.mean() - x.mean()) < 0.05


def test_dropout_test_mode_is_identity(rng):
    """Is test-mode dropout the identity, with the gradient passed through unchanged?"""
    x = rng.standard_normal((4, 5))
    out, cache = layers.dropout_forward(x, {"mode": "test", "p": 0.3})
    assert np.array_equal(out, x)
    dout = rng.standard_normal(x.shape)
    assert np.array_equal(layers.dropout_backward(dout, cache), dout)


def test_dropout_seed_is_reproducible(rng):
    """Does a seed fix the mask, and do different seeds give different masks?"""
    x = rng.standard_normal((20, 30))
    a = layers.dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 7})[0]
    b = layers.dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 7})[0]
    c = layers.dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 8})[0]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_dropout_backward(dtype, rng):
    """Is the gradient masked and scaled like the forward, in the input's dtype, matching
    centred differences, even if the dict's mode is changed after the forward?"""
    x = rng.standard_normal((6, 7)).astype(dtype)
    param = {"mode": "train", "p": 0.4, "seed": 11}
    out, cache = layers.dropout_forward(x, param)
    dout = rng.standard_normal(x.shape).astype(dtype)
    dx = layers.dropout_backward(dout, cache)
    assert out.dtype == dtype and dx.dtype == dtype
    assert np.array_equal(dx == 0, out == 0)
    if dtype == np.float64:
        numeric = eval_numerical_gradient_array(lambda v: layers.dropout_forward(v, dict(param))[0], x, dout)
        assert_gradient_close(dx, numeric)
    param["mode"] = "test"  # a model switching modes must not change an earlier backward
    assert np.array_equal(layers.dropout_backward(dout, cache), dx)


# --------------------------------------------------------------------------
# Integer inputs: computed in float64, like the fast layers
# --------------------------------------------------------------------------

def test_integer_inputs_are_computed_in_float64_like_the_fast_layers():
    """Is an integer image (np.arange, uint8 pixels) pooled and convolved in float64, with the
    values and dtypes of the fast layers: an average of 3 and 4 is 3.5, never truncated to 3?"""
    from cs_convnet import fast_layers

    x = np.arange(2 * 2 * 4 * 6).reshape(2, 2, 4, 6)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = layers.avg_pool_forward_naive(x, pool_param)
    assert out.dtype == np.float64
    assert out[0, 0, 0, 0] == np.mean([0, 1, 6, 7]) == 3.5
    pairs = [
        (layers.avg_pool_forward_naive, layers.avg_pool_backward_naive,
         fast_layers.avg_pool_forward_fast, fast_layers.avg_pool_backward_fast, (x, pool_param)),
        (layers.max_pool_forward_naive, layers.max_pool_backward_naive,
         fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast, (x, pool_param)),
        (layers.conv_forward_naive, layers.conv_backward_naive,
         fast_layers.conv_forward_fast, fast_layers.conv_backward_fast,
         (x, np.arange(3 * 2 * 3 * 3).reshape(3, 2, 3, 3) % 5 - 2, np.array([1, -2, 0]), {"stride": 1, "pad": 1})),
    ]
    for naive_forward, naive_backward, fast_forward, fast_backward, inputs in pairs:
        out, cache = naive_forward(*inputs)
        out_fast, cache_fast = fast_forward(*inputs)
        assert out.dtype == out_fast.dtype and np.array_equal(out, out_fast), naive_forward.__name__
        dout = np.ones(out.shape, dtype=np.int64)
        grads, grads_fast = naive_backward(dout, cache), fast_backward(dout, cache_fast)
        if isinstance(grads, np.ndarray):  # pooling has one gradient, conv three
            grads, grads_fast = (grads,), (grads_fast,)
        for grad, grad_fast in zip(grads, grads_fast, strict=True):
            assert grad.dtype == grad_fast.dtype == np.float64, naive_backward.__name__
            assert np.array_equal(grad, grad_fast), naive_backward.__name__


# --------------------------------------------------------------------------
# Bad input: ValueError naming the shapes, values and formula
# --------------------------------------------------------------------------

def _conv(x_shape=(2, 3, 5, 5), w_shape=(4, 3, 3, 3), b_shape=(4,), **conv_param):
    conv_param = {"stride": 1, "pad": 1, **conv_param}
    return layers.conv_forward_naive(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), conv_param)


CONV_ERRORS = [
    pytest.param(dict(x_shape=(1, 1, 5, 5), w_shape=(1, 1, 2, 2), b_shape=(1,), stride=2, pad=0),
                 r"\(W - F \+ 2P\)/S \+ 1 = \(5 - 2 \+ 2\*0\)/2 \+ 1 = 2\.5 is not a whole number",
                 id="not-whole-output"),
    pytest.param(dict(x_shape=(1, 1, 6, 7), w_shape=(1, 1, 3, 3), b_shape=(1,), stride=2, pad=1),
                 r"invalid height.*\(6 - 3 \+ 2\*1\)/2 \+ 1", id="not-whole-height-only"),
    pytest.param(dict(w_shape=(4, 2, 3, 3)),
                 r"x of shape \(2, 3, 5, 5\) has C=3 channels but w of shape \(4, 2, 3, 3\) expects C=2",
                 id="channels"),
    pytest.param(dict(x_shape=(3, 5, 5)), r"x must have 4 dimensions \(N, C, H, W\), got shape \(3, 5, 5\)",
                 id="x-ndim"),
    pytest.param(dict(w_shape=(4, 3, 3)), r"w must have 4 dimensions \(F, C, HH, WW\), got shape \(4, 3, 3\)",
                 id="w-ndim"),
    pytest.param(dict(stride=0), r"conv_param\['stride'\] must be >= 1, got 0", id="stride-0"),
    pytest.param(dict(stride=1.5), r"conv_param\['stride'\] must be an integer, got 1\.5", id="stride-float"),
    pytest.param(dict(pad=-1), r"conv_param\['pad'\] must be >= 0, got -1", id="negative-pad"),
    pytest.param(dict(x_shape=(1, 3, 3, 3), w_shape=(1, 3, 6, 6), b_shape=(1,), pad=1),
                 r"window height 6 is larger than the padded input height 3 \+ 2\*1 = 5",
                 id="window-larger-than-padded-input"),
    pytest.param(dict(b_shape=(4, 1)), r"b must have shape \(F,\) = \(4,\).*got \(4, 1\)", id="b-2d"),
    pytest.param(dict(b_shape=(3,)), r"b must have shape \(F,\) = \(4,\).*got \(3,\)", id="b-length"),
    pytest.param(dict(dilation=2), r"unknown \['dilation'\]", id="unknown-key"),
]


@pytest.mark.parametrize("kwargs, message", CONV_ERRORS)
def test_conv_rejects_bad_input(kwargs, message):
    """Does a bad convolution raise a ValueError naming the shapes, values and formula?"""
    with pytest.raises(ValueError, match=message):
        _conv(**kwargs)


def test_conv_rejects_missing_key():
    """Is a conv_param without 'pad' rejected, naming the missing key?"""
    with pytest.raises(ValueError, match=r"missing \['pad'\]"):
        layers.conv_forward_naive(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), np.zeros(1), {"stride": 1})


POOL_ERRORS = [
    pytest.param((1, 1, 5, 5), dict(pool_height=2, pool_width=2, stride=2),
                 r"\(W - F \+ 2P\)/S \+ 1 = \(5 - 2 \+ 2\*0\)/2 \+ 1 = 2\.5 is not a whole number",
                 id="not-whole"),
    pytest.param((1, 1, 2, 4), dict(pool_height=3, pool_width=2, stride=1),
                 r"window height 3 is larger than the padded input height 2", id="window-too-large"),
    pytest.param((1, 4, 4), dict(pool_height=2, pool_width=2, stride=2),
                 r"x must have 4 dimensions \(N, C, H, W\), got shape \(1, 4, 4\)", id="x-ndim"),
    pytest.param((1, 1, 4, 4), dict(pool_height=2, pool_width=2, stride=0),
                 r"pool_param\['stride'\] must be >= 1, got 0", id="stride-0"),
    pytest.param((1, 1, 4, 4), dict(pool_height=0, pool_width=2, stride=2),
                 r"pool_param\['pool_height'\] must be >= 1, got 0", id="empty-window"),
    pytest.param((1, 1, 4, 4), dict(pool_height=2, pool_width=2, stride=2, floor="yes"),
                 r"pool_param\['floor'\] must be True or False, got 'yes'", id="floor-not-bool"),
]


@pytest.mark.parametrize("x_shape, pool_param, message", POOL_ERRORS)
@pytest.mark.parametrize("forward", [layers.max_pool_forward_naive, layers.avg_pool_forward_naive],
                         ids=["max", "avg"])
def test_pool_rejects_bad_input(forward, x_shape, pool_param, message):
    """Does a bad pooling raise a ValueError naming the shapes, values and formula?"""
    with pytest.raises(ValueError, match=message):
        forward(np.zeros(x_shape), pool_param)


@pytest.mark.parametrize("loss_fn", [layers.svm_loss, layers.softmax_loss], ids=["svm", "softmax"])
@pytest.mark.parametrize("y, message", [
    (np.array([0, 3, 5]), r"labels out of range: y holds values in \[0, 5\] but scores have C=5 classes"),
    (np.array([0, -1, 2]), r"labels out of range: y holds values in \[-1, 2\]"),
    (np.array([0, 1]), r"y must be an array of shape \(N,\) = \(3,\), got \(2,\)"),
    (np.array([0.0, 1.0, 2.0]), r"y must hold integer class labels, got dtype float64"),
], ids=["too-large", "negative", "wrong-length", "float-labels"])
def test_losses_reject_bad_labels(loss_fn, y, message):
    """Are labels outside [0, C) or of the wrong shape or type rejected, naming the range?"""
    with pytest.raises(ValueError, match=message):
        loss_fn(np.zeros((3, 5)), y)


def test_losses_reject_non_matrix_scores():
    with pytest.raises(ValueError, match=r"x must have 2 dimensions \(N, C\), got shape \(3,\)"):
        layers.softmax_loss(np.zeros(3), np.array([0, 1, 2]))


def test_affine_rejects_bad_shapes():
    """Are mismatched affine shapes rejected, naming D and the shapes?"""
    with pytest.raises(ValueError, match=r"x of shape \(2, 3, 4\) has D = 3 \* 4 = 12 .* w of shape \(10, 5\)"):
        layers.affine_forward(np.zeros((2, 3, 4)), np.zeros((10, 5)), np.zeros(5))
    with pytest.raises(ValueError, match=r"b must have shape \(M,\) = \(5,\), got \(5, 1\)"):
        layers.affine_forward(np.zeros((2, 10)), np.zeros((10, 5)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match=r"w must have 2 dimensions"):
        layers.affine_forward(np.zeros((2, 10)), np.zeros(10), np.zeros(5))


@pytest.mark.parametrize("name, call, message", [
    ("affine", lambda: layers.affine_backward(np.zeros((2, 4)), layers.affine_forward(
        np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(5))[1]), r"\(N, M\) = \(2, 5\), got \(2, 4\)"),
    ("conv", lambda: layers.conv_backward_naive(np.zeros((2, 4, 5, 4)), _conv()[1]),
     r"\(N, F, H', W'\) = \(2, 4, 5, 5\), got \(2, 4, 5, 4\)"),
    ("max-pool", lambda: layers.max_pool_backward_naive(np.zeros((1, 1, 3, 3)), layers.max_pool_forward_naive(
        np.zeros((1, 1, 4, 4)), {"pool_height": 2, "pool_width": 2, "stride": 2})[1]),
     r"\(N, C, H', W'\) = \(1, 1, 2, 2\), got \(1, 1, 3, 3\)"),
    ("batchnorm", lambda: layers.batchnorm_backward(np.zeros((3, 2)), layers.batchnorm_forward(
        np.ones((3, 4)), np.ones(4), np.zeros(4), {"mode": "train"})[1]), r"\(N, D\) = \(3, 4\), got \(3, 2\)"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_backward_rejects_dout_of_the_wrong_shape(name, call, message):
    """Does a backward refuse an upstream gradient whose shape is not the forward output's?"""
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output " + message):
        call()


def test_batchnorm_rejects_bad_input():
    """Are bad gamma shapes, modes and hyperparameters of batchnorm rejected?"""
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\) to match x of shape \(4, 3\)"):
        layers.batchnorm_forward(x, np.ones(4), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"bn_param\['mode'\] must be 'train' or 'test', got 'eval'"):
        layers.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "eval"})
    with pytest.raises(ValueError, match=r"bn_param\['momentum'\] must be a number in \[0, 1\], got 1.5"):
        layers.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train", "momentum": 1.5})
    with pytest.raises(ValueError, match=r"bn_param\['eps'\] must be a number > 0, got 0"):
        layers.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train", "eps": 0})
    with pytest.raises(ValueError, match=re.escape("gamma must have shape (2,) to match x of shape (1, 2, 3, 3) "
                                                   "(N, C, H, W), got (3,)")):
        layers.spatial_batchnorm_forward(np.zeros((1, 2, 3, 3)), np.ones(3), np.zeros(3), {"mode": "train"})


@pytest.mark.parametrize("param, message", [
    ({"mode": "train", "p": 0}, r"keep probability and must lie in \(0, 1\], got 0"),
    ({"mode": "train", "p": 1.5}, r"got 1\.5"),
    ({"mode": "train", "p": True}, r"got True"),
    ({"mode": "train"}, r"got None"),
    ({"mode": "predict", "p": 0.5}, r"dropout_param\['mode'\] must be 'train' or 'test', got 'predict'"),
    ({"mode": "train", "p": 0.5, "seed": -1}, r"dropout_param\['seed'\] must be None or an integer >= 0, got -1"),
    ({"mode": "train", "p": 0.5, "seed": 1.5}, r"dropout_param\['seed'\] must be None or an integer >= 0, got 1\.5"),
], ids=["p-0", "p-above-1", "p-bool", "p-missing", "bad-mode", "negative-seed", "float-seed"])
def test_dropout_rejects_bad_param(param, message):
    with pytest.raises(ValueError, match=message):
        layers.dropout_forward(np.zeros((2, 2)), param)


def test_dropout_accepts_numpy_float_p():
    """Is a numpy float32 keep probability accepted like a Python float?"""
    out, _ = layers.dropout_forward(np.ones((4, 4), np.float32), {"mode": "train", "p": np.float32(0.5), "seed": 0})
    assert set(np.unique(out)) <= {0.0, 2.0}


# --------------------------------------------------------------------------
# The API: CS231n's names and signatures, and docstrings that state every shape
# --------------------------------------------------------------------------

CS231N_SIGNATURES = {
    "affine_forward": "(x, w, b)", "affine_backward": "(dout, cache)",
    "relu_forward": "(x)", "relu_backward": "(dout, cache)",
    "svm_loss": "(x, y)", "softmax_loss": "(x, y)",
    "conv_forward_naive": "(x, w, b, conv_param)", "conv_backward_naive": "(dout, cache)",
    "max_pool_forward_naive": "(x, pool_param)", "max_pool_backward_naive": "(dout, cache)",
    "avg_pool_forward_naive": "(x, pool_param)", "avg_pool_backward_naive": "(dout, cache)",
    "batchnorm_forward": "(x, gamma, beta, bn_param)", "batchnorm_backward": "(dout, cache)",
    "batchnorm_backward_alt": "(dout, cache)",
    "spatial_batchnorm_forward": "(x, gamma, beta, bn_param)", "spatial_batchnorm_backward": "(dout, cache)",
    "dropout_forward": "(x, dropout_param)", "dropout_backward": "(dout, cache)",
}


def test_layers_have_cs231n_names_and_signatures():
    """Does cs_convnet.layers offer exactly CS231n's layer functions, with CS231n's signatures?"""
    functions = public_functions(layers)
    assert sorted(functions) == sorted(CS231N_SIGNATURES)
    for name, signature in CS231N_SIGNATURES.items():
        assert str(inspect.signature(functions[name])) == signature, name


@pytest.mark.parametrize("name", sorted(CS231N_SIGNATURES))
def test_layer_docstrings_state_every_shape(name):
    """Does each layer's docstring give the shape of every array it takes and returns?"""
    assert undocumented_shapes(getattr(layers, name)) == []

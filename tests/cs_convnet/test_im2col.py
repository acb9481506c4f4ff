"""Tests of the im2col/col2im and pooling kernels, numpy and compiled, against loop definitions."""

import itertools

import numpy as np
import pytest

from cs_convnet import fast_layers
from cs_convnet import im2col as numpy_kernels

try:
    from cs_convnet._compiled import im2col_cython, pool_cython
except ImportError:  # not built: only the numpy kernels are tested here
    im2col_cython = pool_cython = None

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
KERNELS = [pytest.param(numpy_kernels, id="numpy")]
if im2col_cython is not None:
    KERNELS.append(pytest.param(im2col_cython, id="cython"))

# (N, C, H, W, HH, WW, pad, stride): non-square inputs and filters, pad 0-3, stride 1-3,
# filters as large as the padded input, windows that read only padding.
GEOMETRIES = [
    pytest.param((2, 3, 5, 7, 3, 2, 1, 1), id="nonsquare-pad1-s1"),
    pytest.param((1, 2, 7, 6, 3, 2, 0, 2), id="N1-pad0-s2"),
    pytest.param((2, 2, 9, 8, 3, 2, 3, 3), id="pad3-s3"),
    pytest.param((3, 1, 4, 4, 5, 5, 2, 1), id="filter-fills-padded-input"),
    pytest.param((1, 2, 2, 3, 1, 1, 3, 2), id="1x1-pad3-s2-windows-in-padding"),
    pytest.param((2, 2, 6, 5, 2, 3, 2, 2), id="pad2-s2-nonsquare-filter"),
]


def output_shape(H, W, HH, WW, pad, stride):
    return (H - HH + 2 * pad) // stride + 1, (W - WW + 2 * pad) // stride + 1


def reference_cols(x, HH, WW, pad, stride):
    """im2col by its definition, one entry at a time."""
    N, C, H, W = x.shape
    H_out, W_out = output_shape(H, W, HH, WW, pad, stride)
    cols = np.zeros((C * HH * WW, N * H_out * W_out), dtype=x.dtype)
    for c in range(C):
        for ki in range(HH):
            for kj in range(WW):
                for n in range(N):
                    for i in range(H_out):
                        for j in range(W_out):
                            h, w = ki - pad + stride * i, kj - pad + stride * j
                            if 0 <= h < H and 0 <= w < W:
                                cols[(c * HH + ki) * WW + kj, (n * H_out + i) * W_out + j] = x[n, c, h, w]
    return cols


def reference_col2im(cols, x_shape, HH, WW, pad, stride):
    """col2im by its definition: every column entry added back where im2col read it."""
    N, C, H, W = x_shape
    H_out, W_out = output_shape(H, W, HH, WW, pad, stride)
    dx = np.zeros(x_shape, dtype=cols.dtype)
    for c in range(C):
        for ki in range(HH):
            for kj in range(WW):
                for n in range(N):
                    for i in range(H_out):
                        for j in range(W_out):
                            h, w = ki - pad + stride * i, kj - pad + stride * j
                            if 0 <= h < H and 0 <= w < W:
                                dx[n, c, h, w] += cols[(c * HH + ki) * WW + kj, (n * H_out + i) * W_out + j]
    return dx


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_im2col_matches_definition(kernels, dtype, geometry, rng):
    """Does im2col put x[n, c, ki - pad + stride*i, kj - pad + stride*j] (0 in the padding) at its row and column?"""
    N, C, H, W, HH, WW, pad, stride = geometry
    H_out, W_out = output_shape(H, W, HH, WW, pad, stride)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    cols = np.full((C * HH * WW, N * H_out * W_out), np.nan, dtype=dtype)  # every entry must be written
    kernels.im2col(x, cols, HH, WW, pad, stride, H_out, W_out)
    np.testing.assert_array_equal(cols, reference_cols(x, HH, WW, pad, stride))


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_col2im_matches_definition_and_is_the_adjoint(kernels, dtype, geometry, rng):
    """Does col2im overwrite dx with the sum of the columns, and satisfy <im2col(x), c> = <x, col2im(c)>?"""
    N, C, H, W, HH, WW, pad, stride = geometry
    H_out, W_out = output_shape(H, W, HH, WW, pad, stride)
    cols = rng.standard_normal((C * HH * WW, N * H_out * W_out)).astype(dtype)
    dx = np.full((N, C, H, W), np.nan, dtype=dtype)  # stale contents must not leak through
    kernels.col2im(cols, dx, HH, WW, pad, stride, H_out, W_out)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dx, reference_col2im(cols, (N, C, H, W), HH, WW, pad, stride), rtol=rtol, atol=rtol)

    x = rng.standard_normal((N, C, H, W))
    x_cols = reference_cols(x, HH, WW, pad, stride)
    assert np.isclose(np.sum(x_cols * cols), np.sum(x * dx), rtol=rtol)


def test_valid_range_is_exactly_the_positions_inside_the_input():
    """Does valid_range return the run of output positions whose input index lies in [0, in_size)?"""
    for k, pad, stride, out_size, in_size in itertools.product(range(4), range(4), (1, 2, 3), (1, 3, 6), (1, 2, 5)):
        inside = [o for o in range(out_size) if 0 <= k - pad + stride * o < in_size]
        start, stop, first = numpy_kernels.valid_range(k, pad, stride, out_size, in_size)
        case = f"k={k} pad={pad} stride={stride} out_size={out_size} in_size={in_size}"
        assert list(range(start, stop)) == inside, case
        if inside:
            assert first == k - pad + stride * inside[0], case


@pytest.mark.skipif(im2col_cython is None, reason="compiled kernels not built")
def test_compiled_kernels_reject_inconsistent_shapes():
    """Do the compiled kernels raise ValueError, instead of writing out of bounds, for a wrong buffer or geometry?"""
    x = np.zeros((2, 3, 5, 5))
    with pytest.raises(ValueError, match="cols must have shape"):
        im2col_cython.im2col(x, np.zeros((27, 49)), 3, 3, 1, 1, 5, 5)
    with pytest.raises(ValueError, match="inconsistent convolution geometry"):
        im2col_cython.im2col(x, np.zeros((27, 2 * 36)), 3, 3, 1, 1, 6, 6)
    with pytest.raises(ValueError, match="inconsistent pooling geometry"):
        pool_cython.max_pool_forward(x, np.zeros((2, 3, 3, 3)), 2, 2, 2)
    with pytest.raises((ValueError, TypeError)):  # mixed dtypes have no specialisation
        im2col_cython.im2col(x.astype(np.float32), np.zeros((27, 50)), 3, 3, 1, 1, 5, 5)


@pytest.mark.skipif(im2col_cython is None, reason="compiled kernels not built")
@pytest.mark.parametrize("threads", [1, 2], ids=["1-thread", "2-threads"])
def test_compiled_kernels_give_the_same_result_on_any_number_of_threads(threads, rng):
    """Do the OpenMP loops (over images and planes) give the serial result bit for bit?"""
    x = rng.standard_normal((5, 3, 8, 6))
    H_out, W_out = output_shape(8, 6, 3, 3, 1, 1)
    cols = np.empty((27, 5 * H_out * W_out))
    im2col_cython.im2col(x, cols, 3, 3, 1, 1, H_out, W_out, num_threads=threads)
    np.testing.assert_array_equal(cols, reference_cols(x, 3, 3, 1, 1))
    dx = np.empty_like(x)
    im2col_cython.col2im(cols, dx, 3, 3, 1, 1, H_out, W_out, num_threads=threads)
    expected = np.empty_like(x)
    im2col_cython.col2im(cols, expected, 3, 3, 1, 1, H_out, W_out, num_threads=1)
    np.testing.assert_array_equal(dx, expected)
    out = np.empty((5, 3, 3, 2))
    pool_cython.max_pool_forward(x, out, 3, 3, 2, num_threads=threads)
    np.testing.assert_array_equal(out, fast_layers.max_pool_forward_fast(
        x, {"pool_height": 3, "pool_width": 3, "stride": 2, "floor": True}, backend="numpy")[0])

"""Tests of cs_convnet.fast_layers: both backends against the naive layers and numerical gradients."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from cs_convnet import fast_layers, layers
from cs_convnet.gradient_check import eval_numerical_gradient_array, rel_error
from support.paths import REPO
from support.tolerances import GRAD_TOL, RTOL

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
BACKENDS = [pytest.param(name, id=name) for name in fast_layers.AVAILABLE_BACKENDS]
LAYOUTS = ["contiguous", "transposed", "strided"]

# (x shape, w shape, stride, pad): non-square inputs and filters, stride 1-3, pad 0-3, N=1.
CONV_CASES = [
    pytest.param((2, 3, 7, 9), (4, 3, 3, 2), 1, 1, id="nonsquare-s1-p1"),
    pytest.param((1, 2, 8, 7), (3, 2, 2, 3), 2, 0, id="N1-s2-p0"),
    pytest.param((2, 3, 10, 9), (2, 3, 4, 3), 3, 3, id="s3-p3"),
    pytest.param((3, 2, 5, 6), (2, 2, 5, 4), 1, 2, id="large-filter-p2"),
    pytest.param((2, 4, 7, 5), (5, 4, 1, 1), 2, 1, id="1x1-s2-p1"),
    pytest.param((2, 3, 9, 9), (3, 3, 3, 3), 2, 1, id="square-s2-p1"),
]

# (x shape, pool_height, pool_width, stride, floor)
POOL_CASES = [
    pytest.param((2, 3, 8, 6), 2, 2, 2, False, id="2x2-s2"),
    pytest.param((1, 2, 9, 9), 3, 3, 2, False, id="N1-3x3-s2-overlapping"),
    pytest.param((2, 2, 8, 10), 3, 3, 2, True, id="3x3-s2-floor"),
    pytest.param((2, 3, 7, 9), 2, 2, 2, True, id="2x2-s2-floor-odd"),
    pytest.param((2, 2, 6, 7), 3, 2, 1, False, id="3x2-s1-overlapping"),
    pytest.param((2, 2, 7, 8), 2, 3, 3, True, id="2x3-s3-floor"),
    pytest.param((1, 3, 5, 4), 5, 4, 1, False, id="whole-plane"),
    pytest.param((2, 2, 4, 3), 1, 1, 1, False, id="1x1-identity"),
]


def make_array(rng, shape, dtype, layout="contiguous", ties=False):
    """A random array of ``shape``; 'transposed' and 'strided' layouts are non-contiguous views."""
    def draw(size):
        values = rng.integers(0, 3, size) if ties else rng.standard_normal(size)
        return values.astype(dtype)

    if layout == "contiguous":
        return draw(shape)
    if layout == "transposed":
        return draw(shape[::-1]).T
    if layout == "strided":
        return draw(shape[:-1] + (2 * shape[-1],))[..., ::2]
    raise ValueError(layout)


def assert_matches(actual, expected, dtype):
    """Same shape and dtype, and ``max|actual - expected| <= RTOL[dtype] * max|expected|``."""
    assert actual.shape == expected.shape
    assert actual.dtype == np.dtype(dtype)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(dtype).tiny)
    error = float(np.max(np.abs(actual.astype(np.float64) - expected), initial=0.0)) / scale
    assert error <= RTOL[dtype], f"relative error {error:.3g} > {RTOL[dtype]:g}"


def pool_param(pool_height, pool_width, stride, floor):
    param = {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}
    if floor:
        param["floor"] = True
    return param


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_matches_naive(x_shape, w_shape, stride, pad, backend, dtype, layout, rng):
    """Do the fast conv's out, dx, dw, db equal the naive layer's, in the input dtype, for any memory layout?"""
    x = make_array(rng, x_shape, dtype, layout)
    w = make_array(rng, w_shape, dtype, layout)
    b = make_array(rng, w_shape[:1], dtype)
    conv_param = {"stride": stride, "pad": pad}

    out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=backend)
    # The naive layer in float64 is the reference; the fast one must be as accurate as its dtype allows.
    expected, naive_cache = layers.conv_forward_naive(x.astype(np.float64), w.astype(np.float64),
                                                      b.astype(np.float64), conv_param)
    assert_matches(out, expected, dtype)

    dout = make_array(rng, out.shape, dtype, layout)
    dx, dw, db = fast_layers.conv_backward_fast(dout, cache)
    for actual, reference in zip((dx, dw, db), layers.conv_backward_naive(dout.astype(np.float64), naive_cache)):
        assert_matches(actual, reference, dtype)


@pytest.mark.parametrize("keep_columns", [True, False], ids=["columns-kept", "columns-rebuilt"])
@pytest.mark.parametrize("images_per_chunk", [1, 2], ids=["1-image-chunks", "2-image-chunks-partial-last"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", [CONV_CASES[0], CONV_CASES[2]])
def test_conv_in_chunks_of_images_matches_naive(x_shape, w_shape, stride, pad, backend, dtype, images_per_chunk,
                                                keep_columns, rng, monkeypatch):
    """When the batch is split into chunks of images (the last one shorter), with the columns kept in the
    cache or rebuilt in the backward pass, are out, dx, dw, db unchanged?"""
    monkeypatch.setattr(fast_layers, "KEEP_COLUMNS", keep_columns)
    N, C, H, W = (5,) + x_shape[1:]
    F, _, HH, WW = w_shape
    H_out, W_out = (H - HH + 2 * pad) // stride + 1, (W - WW + 2 * pad) // stride + 1
    monkeypatch.setattr(fast_layers, "CONV_CHUNK_BYTES",
                        images_per_chunk * C * HH * WW * H_out * W_out * np.dtype(dtype).itemsize)
    x, w, b = make_array(rng, (N, C, H, W), dtype, "strided"), make_array(rng, w_shape, dtype), make_array(rng, (F,), dtype)
    conv_param = {"stride": stride, "pad": pad}
    out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=backend)
    expected, naive_cache = layers.conv_forward_naive(x.astype(np.float64), w.astype(np.float64),
                                                      b.astype(np.float64), conv_param)
    assert_matches(out, expected, dtype)
    dout = make_array(rng, out.shape, dtype)
    grads = fast_layers.conv_backward_fast(dout, cache)
    for actual, reference in zip(grads, layers.conv_backward_naive(dout.astype(np.float64), naive_cache)):
        assert_matches(actual, reference, dtype)
    _, dw, db = fast_layers.conv_backward_fast(dout, cache, need_dx=False)
    np.testing.assert_array_equal(dw, grads[1])
    np.testing.assert_array_equal(db, grads[2])
    # dout of another dtype: kept columns are not reused in the wrong precision
    other = np.float64 if dtype == np.float32 else np.float32
    for actual, reference in zip(fast_layers.conv_backward_fast(dout.astype(other), cache), grads):
        assert actual.dtype == np.float64 and np.allclose(actual, reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES[:4])
def test_conv_backward_matches_numerical_gradients(x_shape, w_shape, stride, pad, backend, rng):
    """Are dx, dw, db the centred-difference gradients of sum(out * dout), in float64?"""
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[:1])
    conv_param = {"stride": stride, "pad": pad}
    out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=backend)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = fast_layers.conv_backward_fast(dout, cache)

    def forward(**changed):
        args = {"x": x, "w": w, "b": b, **changed}
        return fast_layers.conv_forward_fast(args["x"], args["w"], args["b"], conv_param, backend=backend)[0]

    assert rel_error(dx, eval_numerical_gradient_array(lambda v: forward(x=v), x, dout)) < GRAD_TOL
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: forward(w=v), w, dout)) < GRAD_TOL
    assert rel_error(db, eval_numerical_gradient_array(lambda v: forward(b=v), b, dout)) < GRAD_TOL


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_backward_without_dx(backend, dtype, rng):
    """Does need_dx=False return None for dx and the very same dw, db?"""
    x, w, b = (make_array(rng, shape, dtype) for shape in ((2, 3, 6, 5), (4, 3, 3, 2), (4,)))
    out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1}, backend=backend)
    dout = make_array(rng, out.shape, dtype)
    dx, dw, db = fast_layers.conv_backward_fast(dout, cache)
    no_dx, dw_only, db_only = fast_layers.conv_backward_fast(dout, cache, need_dx=False)
    assert no_dx is None
    np.testing.assert_array_equal(dw_only, dw)
    np.testing.assert_array_equal(db_only, db)
    assert dw_only.dtype == db_only.dtype == np.dtype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_mixed_dtypes_promote_like_naive(backend, rng):
    """Does a float32 x with float64 weights give float64 results, as the naive layer does?"""
    x = make_array(rng, (2, 3, 5, 5), np.float32)
    w, b = make_array(rng, (2, 3, 3, 3), np.float64), make_array(rng, (2,), np.float64)
    out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1}, backend=backend)
    expected, naive_cache = layers.conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    assert_matches(out, expected, np.float64)
    dout = make_array(rng, out.shape, np.float64)
    for actual, reference in zip(fast_layers.conv_backward_fast(dout, cache),
                                 layers.conv_backward_naive(dout, naive_cache)):
        assert_matches(actual, reference, np.float64)


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_survive_later_calls(backend, rng):
    """Are earlier outputs and caches left intact by later calls that recycle buffers?"""
    conv_param = {"stride": 1, "pad": 1}
    w, b = rng.standard_normal((8, 16, 3, 3)), rng.standard_normal(8)
    x1, x2 = rng.standard_normal((4, 16, 16, 16)), rng.standard_normal((4, 16, 16, 16))  # > 1 MiB columns
    out1, cache1 = fast_layers.conv_forward_fast(x1, w, b, conv_param, backend=backend)
    kept = out1.copy()
    for _ in range(2):  # the second forward could reuse anything the first one released
        out2, cache2 = fast_layers.conv_forward_fast(x2, w, b, conv_param, backend=backend)
        fast_layers.conv_backward_fast(np.ones_like(out2), cache2)
    np.testing.assert_array_equal(out1, kept)
    dout = rng.standard_normal(out1.shape)
    expected, naive_cache = layers.conv_forward_naive(x1[:1], w, b, conv_param)
    dx, dw, _ = fast_layers.conv_backward_fast(dout, cache1)
    naive_dx, _, _ = layers.conv_backward_naive(dout[:1], naive_cache)
    assert_matches(dx[:1], naive_dx, np.float64)
    assert not np.shares_memory(out1, out2)


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride, floor", POOL_CASES)
def test_pool_matches_naive(x_shape, pool_height, pool_width, stride, floor, kind, backend, dtype, layout, rng):
    """Do fast pooling's out and dx equal the naive layer's, ties (first maximum wins) included?"""
    x = make_array(rng, x_shape, dtype, layout, ties=True)  # values in {0, 1, 2}: most windows tie
    param = pool_param(pool_height, pool_width, stride, floor)
    forward = getattr(fast_layers, f"{kind}_pool_forward_fast")
    backward = getattr(fast_layers, f"{kind}_pool_backward_fast")
    naive_forward = getattr(layers, f"{kind}_pool_forward_naive")
    naive_backward = getattr(layers, f"{kind}_pool_backward_naive")

    out, cache = forward(x, param, backend=backend)
    expected, naive_cache = naive_forward(x.astype(np.float64), param)
    assert_matches(out, expected, dtype)
    dout = make_array(rng, out.shape, dtype, layout)
    assert_matches(backward(dout, cache), naive_backward(dout.astype(np.float64), naive_cache), dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride, floor", POOL_CASES[:6])
def test_pool_backward_matches_numerical_gradients(x_shape, pool_height, pool_width, stride, floor, kind,
                                                   backend, rng):
    """Is dx the centred-difference gradient of sum(out * dout), in float64 (distinct values, no ties)?"""
    x = rng.permutation(np.prod(x_shape)).reshape(x_shape) / 7.0  # distinct values 1/7 apart >> h
    param = pool_param(pool_height, pool_width, stride, floor)
    forward = getattr(fast_layers, f"{kind}_pool_forward_fast")
    out, cache = forward(x, param, backend=backend)
    dout = rng.standard_normal(out.shape)
    dx = getattr(fast_layers, f"{kind}_pool_backward_fast")(dout, cache)
    numerical = eval_numerical_gradient_array(lambda v: forward(v, param, backend=backend)[0], x, dout)
    assert rel_error(dx, numerical) < GRAD_TOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool_gradient_goes_to_the_first_maximum(backend):
    """When a window ties, does the first maximum in row-major order get the whole gradient?"""
    x = np.array([[[[1.0, 5.0, 5.0],
                    [5.0, 2.0, 5.0],
                    [0.0, 5.0, 1.0]]]])
    param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    _, cache = fast_layers.max_pool_forward_fast(x, param, backend=backend)
    dx = fast_layers.max_pool_backward_fast(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]), cache)
    # windows: [[1, 5], [5, 2]] -> (0, 1); [[5, 5], [2, 5]] -> (0, 1); [[5, 2], [0, 5]] -> (1, 0);
    # [[2, 5], [5, 1]] -> (1, 2)
    np.testing.assert_array_equal(dx, [[[[0.0, 11.0, 0.0],
                                         [100.0, 0.0, 1000.0],
                                         [0.0, 0.0, 0.0]]]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_pooling_input_keeps_max_dtype(backend):
    """Does max pooling keep an integer dtype (as the naive layer), via the numpy kernels?"""
    x = np.arange(2 * 1 * 4 * 4).reshape(2, 1, 4, 4)
    out, _ = fast_layers.max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2}, backend=backend)
    expected, _ = layers.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, expected)


# --------------------------------------------------------------------------
# Errors: the naive layers' messages, word for word
# --------------------------------------------------------------------------

def _conv_inputs(x_shape=(2, 3, 6, 6), w_shape=(4, 3, 3, 3), b_shape=(4,)):
    return np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape)


BAD_CONV = [
    pytest.param(_conv_inputs(x_shape=(3, 6, 6)), {"stride": 1, "pad": 1}, id="x-3d"),
    pytest.param(_conv_inputs(w_shape=(4, 2, 3, 3)), {"stride": 1, "pad": 1}, id="channels-disagree"),
    pytest.param(_conv_inputs(b_shape=(3,)), {"stride": 1, "pad": 1}, id="b-shape"),
    pytest.param(_conv_inputs(), {"stride": 0, "pad": 1}, id="stride-0"),
    pytest.param(_conv_inputs(), {"stride": 1, "pad": -1}, id="pad-negative"),
    pytest.param(_conv_inputs(), {"stride": 2, "pad": 0}, id="not-whole"),
    pytest.param(_conv_inputs(), {"stride": 1.0, "pad": 1}, id="stride-float"),
    pytest.param(_conv_inputs(), {"stride": 1}, id="pad-missing"),
    pytest.param(_conv_inputs(w_shape=(4, 3, 9, 3)), {"stride": 1, "pad": 1}, id="filter-too-large"),
]

BAD_POOL = [
    pytest.param(np.zeros((2, 3, 6)), {"pool_height": 2, "pool_width": 2, "stride": 2}, id="x-3d"),
    pytest.param(np.zeros((2, 3, 7, 6)), {"pool_height": 2, "pool_width": 2, "stride": 2}, id="not-tiled"),
    pytest.param(np.zeros((2, 3, 6, 6)), {"pool_height": 2, "pool_width": 2, "stride": 2, "floor": 1},
                 id="floor-not-bool"),
    pytest.param(np.zeros((2, 3, 6, 6)), {"pool_height": 7, "pool_width": 2, "stride": 1, "floor": True},
                 id="window-too-large"),
    pytest.param(np.zeros((2, 3, 6, 6)), {"pool_height": 2, "pool_width": 2}, id="stride-missing"),
    pytest.param(np.zeros((2, 3, 6, 6)), {"pool_height": 0, "pool_width": 2, "stride": 2}, id="zero-window"),
]


def _message(function, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        function(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("inputs, conv_param", BAD_CONV)
def test_conv_rejects_what_naive_rejects(inputs, conv_param, backend):
    """Does bad conv input raise the naive layer's ValueError, word for word?"""
    expected = _message(layers.conv_forward_naive, *inputs, conv_param)
    assert _message(fast_layers.conv_forward_fast, *inputs, conv_param, backend=backend) == expected


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x, param", BAD_POOL)
def test_pool_rejects_what_naive_rejects(x, param, kind, backend):
    """Does bad pooling input raise the naive layer's ValueError, word for word?"""
    expected = _message(getattr(layers, f"{kind}_pool_forward_naive"), x, param)
    assert _message(getattr(fast_layers, f"{kind}_pool_forward_fast"), x, param, backend=backend) == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_rejects_a_dout_of_the_wrong_shape(backend):
    """Does a dout that is not shaped like the forward output raise a ValueError naming both shapes?"""
    _, cache = fast_layers.conv_forward_fast(*_conv_inputs(), {"stride": 1, "pad": 1}, backend=backend)
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output .* \(2, 4, 6, 6\)"):
        fast_layers.conv_backward_fast(np.zeros((2, 4, 5, 6)), cache)
    _, cache = fast_layers.max_pool_forward_fast(np.zeros((2, 3, 6, 6)),
                                                 {"pool_height": 2, "pool_width": 2, "stride": 2}, backend=backend)
    with pytest.raises(ValueError, match=r"\(2, 3, 3, 3\)"):
        fast_layers.max_pool_backward_fast(np.zeros((2, 3, 6, 6)), cache)


def test_unknown_backend_is_rejected():
    """Does an unknown backend name raise a ValueError listing the valid ones?"""
    with pytest.raises(ValueError, match="'numpy' or 'cython'"):
        fast_layers.conv_forward_fast(*_conv_inputs(), {"stride": 1, "pad": 1}, backend="torch")


# --------------------------------------------------------------------------
# Backend choice and the no-compiler install
# --------------------------------------------------------------------------

def test_backend_attribute_and_aliases():
    """Does BACKEND name an available backend, and do CS231n's names point at the fast layers?"""
    assert fast_layers.BACKEND in fast_layers.AVAILABLE_BACKENDS
    assert fast_layers.conv_forward_im2col is fast_layers.conv_forward_fast
    assert fast_layers.conv_backward_strides is fast_layers.conv_backward_fast
    with fast_layers.use_backend("numpy"):
        assert fast_layers.BACKEND == "numpy"
        _, cache = fast_layers.conv_forward_fast(*_conv_inputs(), {"stride": 1, "pad": 1})
        assert cache[-1] == "numpy"
    assert fast_layers.BACKEND in fast_layers.AVAILABLE_BACKENDS


_PROBE = """
import json, sys, warnings
import numpy as np
if "block" in sys.argv:  # as if the extensions had never been built
    sys.modules["cs_convnet._compiled.im2col_cython"] = None
    sys.modules["cs_convnet._compiled.pool_cython"] = None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from cs_convnet import fast_layers
    import importlib, cs_convnet.layer_utils  # a second importer must not warn again
from cs_convnet import layers
rng = np.random.default_rng(0)
x, w, b = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
out, _ = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
naive, _ = layers.conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
print(json.dumps({"backend": fast_layers.BACKEND, "file": fast_layers.__file__,
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught
                               if "cs_convnet" in str(w.message)],
                  "max_error": float(np.max(np.abs(out - naive)))}))
"""


def _probe(*args, env=None, **kwargs):
    result = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=120, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # stdout holds the JSON and nothing else: no bare prints


def test_missing_compiled_kernels_fall_back_to_numpy_with_one_warning():
    """Without the compiled modules, is BACKEND 'numpy', with exactly one warning and correct results?"""
    report = _probe("block", env={"CS_CONVNET_BACKEND": ""})
    assert report["backend"] == "numpy"
    assert len(report["warnings"]) == 1 and report["warnings"][0].startswith("RuntimeWarning")
    assert "numpy backend" in report["warnings"][0]
    assert report["max_error"] < 1e-12


def test_environment_variable_forces_the_numpy_backend_silently():
    """Does CS_CONVNET_BACKEND=numpy select numpy without any warning?"""
    report = _probe(env={"CS_CONVNET_BACKEND": "numpy"})
    assert report["backend"] == "numpy" and report["warnings"] == []


def test_environment_variable_with_an_unknown_backend_fails_loudly():
    """Does CS_CONVNET_BACKEND=typo raise a ValueError at import instead of guessing?"""
    result = subprocess.run([sys.executable, "-c", "import cs_convnet.fast_layers"], capture_output=True,
                            text=True, env={**os.environ, "CS_CONVNET_BACKEND": "cuda"}, timeout=60)
    assert result.returncode != 0 and "CS_CONVNET_BACKEND must be 'numpy' or 'cython'" in result.stderr


def test_build_without_a_c_compiler_installs_a_working_numpy_package(tmp_path):
    """With CC=/bin/false, does `pip wheel` still build an installable wheel whose fast layers run on numpy?"""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.html")
    shutil.copytree(REPO / "cs_convnet", source / "cs_convnet", ignore=ignore)
    shutil.copytree(REPO / "cython_ext", source / "cython_ext", ignore=ignore)  # .c kept: skips re-cythonizing
    env = {**os.environ, "CC": "/bin/false", "CXX": "/bin/false", "LDSHARED": "/bin/false"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
         str(source)], capture_output=True, text=True, env=env, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("cs_convnet-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert not [name for name in names if name.endswith((".so", ".pyd"))], "nothing was compiled"
        assert "cs_convnet/fast_layers.py" in names
        archive.extractall(tmp_path / "site")
    report = _probe(env={"PYTHONPATH": str(tmp_path / "site"), "CS_CONVNET_BACKEND": ""}, cwd=tmp_path)
    assert report["file"].startswith(str(tmp_path / "site"))
    assert report["backend"] == "numpy"
    assert len(report["warnings"]) == 1
    assert report["max_error"] < 1e-12


# --------------------------------------------------------------------------
# The benchmark command (runs, no timing asserts)
# --------------------------------------------------------------------------

def test_bench_quick_run_writes_every_figure(tmp_path, capsys):
    """Does `cs-convnet bench --quick --json` time every case on every implementation, each in fresh
    processes with the threads it was given, and save the figures?"""
    from cs_convnet import bench

    path = tmp_path / "bench.json"
    argv = ["--quick", "--rounds", "2", "--repeat", "1", "--scale", "0.04", "--threads", "1", "--dtype", "both",
            "--no-torch", "--json", str(path)]
    assert bench.main(argv) == 0
    results = json.loads(path.read_text())
    impls = results["settings"]["implementations"]
    assert sorted(impls) == sorted(fast_layers.AVAILABLE_BACKENDS)
    timed = {(row["group"], row["case"], row["dtype"], row["pass"], row["impl"]): row for row in results["rows"]}
    for dtype in ("float32", "float64"):
        for impl in impls:
            for case in bench.CONV_CASES:
                assert {("conv", case, dtype, "forward", impl), ("conv", case, dtype, "backward", impl)} <= set(timed)
            for case in bench.POOL_CASES:
                assert {("pool", case, dtype, "forward", impl), ("pool", case, dtype, "backward", impl)} <= set(timed)
            assert ("step", "ThreeLayerConvNet", dtype, "forward+backward", impl) in timed
    for row in timed.values():  # 2 rounds x 1 call, each round a process of its own
        assert row["runs"] == 2 and 0 < row["min_ms"] <= row["median_ms"]
    for impl, info in results["processes"].items():  # the worker had the threads it was given
        assert info["threads"] == info["kernel_threads"] == 1 and info["backend"] == impl
        assert all(lib["threads"] == 1 for lib in info["blas"])
    stages = {stage for entry in results["split"] for stage in entry["forward_ms"]}
    assert "layout" in stages and ({"sharded"} <= stages or {"im2col", "gemm"} <= stages)
    report = capsys.readouterr().out
    assert "conv c backward" in report and "pool 3x3 s2 forward" in report and "1 thread(s) per process" in report


def test_bench_workers_run_in_fresh_processes_alternated(monkeypatch):
    """Does every round start one fresh process per implementation, the first one rotating, with
    every library's threads set in its environment?"""
    from cs_convnet import bench

    calls = []
    real_run = subprocess.run

    def fake_run(command, **kwargs):
        if "--worker" not in command:  # not a worker (platform.platform() runs uname once, say)
            return real_run(command, **kwargs)
        spec = json.loads(command[-1])
        env = kwargs["env"]
        calls.append((spec["impl"], env["CS_CONVNET_THREADS"], env["OMP_NUM_THREADS"], env["OPENBLAS_NUM_THREADS"],
                      env.get("CS_CONVNET_BACKEND")))
        answer = {"info": {"threads": 1}, "rows": [], "split": [], "memory": []}
        return subprocess.CompletedProcess(command, 0, stdout=json.dumps(answer), stderr="")

    monkeypatch.setattr(bench.subprocess, "run", fake_run)
    bench.run(["numpy", "torch"], threads=1, rounds=3, repeat=1)
    assert [impl for impl, *_ in calls] == ["numpy", "torch", "torch", "numpy", "numpy", "torch"]
    assert {call[1:4] for call in calls} == {("1", "1", "1")}
    # our backend is forced in our workers; PyTorch's keep the caller's environment
    assert {impl: backend for impl, *_, backend in calls} == {"numpy": "numpy",
                                                                "torch": os.environ.get("CS_CONVNET_BACKEND")}


def test_bench_scaling_thread_counts_double_up_to_the_cores(monkeypatch):
    """Does --scaling run T = 1, 2, 4, ... and end at the cores available?"""
    from cs_convnet import bench

    for cores, expected in [(1, [1]), (2, [1, 2]), (6, [1, 2, 4, 6]), (16, [1, 2, 4, 8, 16])]:
        monkeypatch.setattr(bench, "available_cores", lambda cores=cores: list(range(cores)))
        assert bench.default_thread_counts() == expected


@pytest.mark.parametrize("argv", [["--rounds", "0"], ["--repeat", "0"], ["--scale", "2"], ["--threads", "0"],
                                  ["--scaling", "--threads", "2"]],
                         ids=["rounds-0", "repeat-0", "scale-above-1", "threads-0", "scaling-with-threads"])
def test_bench_rejects_bad_options(argv, capsys):
    """Does the bench command exit with a usage error (status 2) on contradictory or out-of-range options?"""
    from cs_convnet import bench

    with pytest.raises(SystemExit) as info:
        bench.main(argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_bench_measures_step_memory_and_naive_layers():
    """Does a worker report a positive cold-step peak, and naive conv rows scaled from fewer images?"""
    from cs_convnet import bench

    from threadpoolctl import threadpool_limits

    backend = fast_layers.BACKEND
    with threadpool_limits(limits=None):  # a worker limits BLAS's threads: give them back after
        answer = bench.worker({"impl": backend, "threads": 1, "repeat": 1, "dtypes": ["float32"], "scale": 0.04,
                               "cases": ["step"], "memory": True})
        (probe,) = answer["memory"]
        assert probe["peak_bytes"] > 0 and probe["method"]
        answer = bench.worker({"impl": "naive", "threads": 1, "repeat": 1, "dtypes": ["float32"], "scale": 0.04,
                               "cases": ["conv a"]})
    naive = [row for row in answer["rows"] if row["group"] == "conv"]
    assert len(naive) == 2
    assert all(row["scaled_from_images"] == bench.NAIVE_IMAGES for row in naive)


def test_bench_implementations_named_on_the_command_line_must_exist(monkeypatch):
    """Does --impl keep the order given (once each), and refuse an implementation that is not installed?"""
    import importlib.util

    from cs_convnet import bench

    assert bench.implementations(["numpy", "numpy"]) == ["numpy"]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="cannot time torch: not available here"):
        bench.implementations(["numpy", "torch"])
    assert "torch" not in bench.implementations()

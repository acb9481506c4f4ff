"""Tests of cs_convnet.kernels: one backend choice honoured by every compiled kernel, one thread count,
and every threaded kernel against the naive layers with more than one thread."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cs_convnet import denormals, fast_batchnorm, fast_layers, fast_optim, kernels, layers, optim
from cs_convnet.kernels import backend
from support.tolerances import RTOL

HAS_CYTHON = "cython" in kernels.AVAILABLE_BACKENDS
needs_cython = pytest.mark.skipif(not HAS_CYTHON, reason="the compiled kernels are not built")
THREADS = [1, 2, 3]  # 3 > the cores of a 2-core machine: oversubscribed, still correct


def _close(actual, expected, dtype):
    scale = max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(dtype).tiny)
    error = float(np.max(np.abs(np.asarray(actual, np.float64) - expected), initial=0.0)) / scale
    assert error <= RTOL[dtype], f"relative error {error:.3g} > {RTOL[dtype]:g}"


# --------------------------------------------------------------------------
# The backend choice, in fresh interpreters
# --------------------------------------------------------------------------

_PROBE = """
import json, sys, warnings
import numpy as np
for name in sys.argv[1:]:  # as if these extensions had never been built
    sys.modules["cs_convnet._compiled." + name] = None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from cs_convnet import kernels, fast_layers, fast_batchnorm, fast_optim, denormals, layers
    import cs_convnet.train  # every importer of the kernels: still one warning
x = np.random.default_rng(0).standard_normal((4, 3, 5, 5))
gamma, beta = np.ones(3), np.zeros(3)
out, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, gamma, beta, {"mode": "train"})
ref, _ = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
print(json.dumps({
    "backend": kernels.current_backend(), "threads": kernels.threads(),
    "compiled": {m: kernels.compiled(m) is not None for m in kernels.COMPILED_MODULES},
    "batchnorm_compiled": cache[-1] is not None, "batchnorm_error": float(np.abs(out - np.maximum(ref, 0)).max()),
    "denormals": denormals.supported(),
    "warnings": [f"{w.category.__name__}: {w.message}" for w in caught if "cs_convnet" in str(w.message)]}))
"""


def _probe(*blocked, env=None):
    result = subprocess.run([sys.executable, "-c", _PROBE, *blocked], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "CS_CONVNET_BACKEND": "", "CS_CONVNET_THREADS": "", **(env or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_numpy_backend_turns_off_every_compiled_kernel():
    """With CS_CONVNET_BACKEND=numpy, do conv, pool, batchnorm, Adam and denormals all run their numpy
    twins (no compiled module in use), silently and correctly?"""
    report = _probe(env={"CS_CONVNET_BACKEND": "numpy"})
    assert report["backend"] == "numpy" and report["warnings"] == []
    assert not any(report["compiled"].values())
    assert report["batchnorm_compiled"] is False and report["batchnorm_error"] < 1e-12
    assert report["denormals"] is False


@needs_cython
def test_a_missing_compiled_module_warns_once_and_falls_back_alone():
    """Without the batchnorm and Adam modules, is there exactly one warning naming both, while conv and pool
    stay compiled and batchnorm computes the right thing in numpy?"""
    report = _probe("batchnorm_relu_cython", "adam_cython")
    assert report["backend"] == "cython"
    assert len(report["warnings"]) == 1
    assert "batchnorm_relu_cython" in report["warnings"][0] and "adam_cython" in report["warnings"][0]
    assert report["compiled"]["im2col_cython"] and not report["compiled"]["adam_cython"]
    assert report["batchnorm_compiled"] is False and report["batchnorm_error"] < 1e-12


def test_threads_come_from_the_environment_or_the_available_cores():
    """Is the thread count CS_CONVNET_THREADS when set, else the cores this process may use, capped by
    OMP_NUM_THREADS?"""
    assert _probe(env={"CS_CONVNET_THREADS": "3", "OMP_NUM_THREADS": "1"})["threads"] == 3
    assert _probe(env={"OMP_NUM_THREADS": ""})["threads"] == len(os.sched_getaffinity(0))
    assert _probe(env={"OMP_NUM_THREADS": "1"})["threads"] == 1  # as the grading sandbox runs it


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_thread_count_in_the_environment_fails_loudly(value):
    """Does CS_CONVNET_THREADS=<not a whole number >= 1> stop the import with a message naming it?"""
    result = subprocess.run([sys.executable, "-c", "import cs_convnet.kernels"], capture_output=True, text=True,
                            env={**os.environ, "CS_CONVNET_THREADS": value}, timeout=60)
    assert result.returncode != 0 and "CS_CONVNET_THREADS must be a whole number >= 1" in result.stderr


def test_set_threads_validates_and_using_threads_restores():
    """Does set_threads reject non-positive counts, and using_threads put the previous count back?"""
    before = kernels.threads()
    with kernels.using_threads(5):
        assert kernels.threads() == 5
    assert kernels.threads() == before
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be a whole number >= 1"):
            kernels.set_threads(bad)


def test_use_backend_is_seen_by_every_kernel(monkeypatch):
    """Within use_backend('numpy'), do batchnorm and Adam leave their compiled modules alone?"""
    def refuse(*args, **kwargs):
        raise AssertionError("a compiled kernel ran under use_backend('numpy')")

    for name in ("batchnorm_relu_cython", "adam_cython"):
        module = backend._modules.get(name)
        for function in ("channel_mean_var", "normalize_relu", "batchnorm_relu_backward", "adam_update"):
            if module is not None and hasattr(module, function):
                monkeypatch.setattr(module, function, refuse)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    with kernels.use_backend("numpy"):
        assert fast_layers.BACKEND == "numpy"
        out, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, np.ones(3, np.float32),
                                                                        np.zeros(3, np.float32), {"mode": "train"})
        fast_batchnorm.spatial_batchnorm_relu_backward_fast(np.ones_like(out), cache)
        fast_optim.adam(x.copy(), x, {})


@needs_cython
def test_blas_is_single_threaded_only_inside_the_block():
    """Are the BLAS libraries held to one thread inside blas_single_threaded, and given back after?"""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    with backend.blas_single_threaded():
        inside = [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    after = [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    assert inside and set(inside) == {1}
    assert after == before


# --------------------------------------------------------------------------
# Threaded kernels against the naive layers, T > 1
# --------------------------------------------------------------------------

@needs_cython
@pytest.mark.parametrize("keep_columns", [False, True], ids=["rebuilt", "kept"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("threads", THREADS)
def test_sharded_conv_matches_naive_on_any_thread_count(threads, dtype, keep_columns, monkeypatch):
    """With 1-3 threads (more threads than images per thread, a last thread with fewer), are out, dx, dw
    and db those of the naive layer, for a strided, non-contiguous input, whether or not the caller asks
    to keep the columns (which only the chunked path does)?"""
    monkeypatch.setattr(fast_layers, "KEEP_COLUMNS", keep_columns)
    rng = np.random.default_rng(threads)
    x = rng.standard_normal((5, 3, 9, 18)).astype(dtype)[..., ::2]  # (5, 3, 9, 9), non-contiguous
    w, b = rng.standard_normal((4, 3, 3, 3)).astype(dtype), rng.standard_normal(4).astype(dtype)
    conv_param = {"stride": 2, "pad": 1}
    with kernels.using_threads(threads), kernels.using_conv_strategy("sharded"):
        timings = {}
        out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend="cython", timings=timings)
        assert "sharded" in timings  # the batch-sharded kernel ran
        dout = rng.standard_normal(out.shape).astype(dtype)
        dx, dw, db = fast_layers.conv_backward_fast(dout, cache)
        _, dw_only, _ = fast_layers.conv_backward_fast(dout, cache, need_dx=False)
    expected, naive_cache = layers.conv_forward_naive(x.astype(np.float64), w.astype(np.float64),
                                                      b.astype(np.float64), conv_param)
    _close(out, expected, dtype)
    for actual, reference in zip((dx, dw, db), layers.conv_backward_naive(dout.astype(np.float64), naive_cache)):
        assert actual.dtype == dtype
        _close(actual, reference, dtype)
    np.testing.assert_array_equal(dw_only, dw)


def _winograd_calls(monkeypatch):
    """Counts of the convolutions fast_layers runs by Winograd's F(2x2, 3x3): forward/dx, and dw."""
    calls = {"conv": 0, "dw": 0}
    for name, key in (("_winograd", "conv"), ("_winograd_weight_gradient", "dw")):
        original = getattr(fast_layers, name)

        def spy(*args, _original=original, _key=key, **kwargs):
            calls[_key] += 1
            return _original(*args, **kwargs)
        monkeypatch.setattr(fast_layers, name, spy)
    return calls


@needs_cython
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("N, C, F, H, W, winograd", [
    (2, 8, 9, 7, 10, (1, 1, 1)),    # odd height: the last tile row half outside; non-square
    (1, 16, 8, 8, 8, (1, 1, 1)),    # N = 1, fewer images than threads
    (3, 12, 10, 1, 1, (1, 1, 1)),   # a single pixel: one tile, mostly padding
    (2, 9, 3, 5, 4, (1, 0, 0)),     # F < 8: dx and dw on im2col, forward on Winograd
    (2, 3, 8, 6, 5, (0, 1, 0)),     # C < 8 (the images' layer): forward and dw on im2col, dx on Winograd
])
def test_winograd_conv_matches_naive(N, C, F, H, W, winograd, threads, dtype, monkeypatch):
    """Does the 'winograd' strategy (3x3, stride 1, pad 1) give the naive layer's out, dx, dw and db, on any
    thread count, for a non-contiguous input, and run Winograd exactly where it applies?"""
    calls = _winograd_calls(monkeypatch)
    rng = np.random.default_rng(N * C * F + threads)
    x = rng.standard_normal((N, C, H, 2 * W)).astype(dtype)[..., ::2]  # non-contiguous
    w, b = rng.standard_normal((F, C, 3, 3)).astype(dtype), rng.standard_normal(F).astype(dtype)
    conv_param = {"stride": 1, "pad": 1}
    with kernels.using_threads(threads), kernels.using_conv_strategy("winograd"):
        out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend="cython")
        dout = rng.standard_normal(out.shape).astype(dtype)
        dx, dw, db = fast_layers.conv_backward_fast(dout, cache)
        ran = (calls["conv"], calls["dw"])
        _, dw_only, db_only = fast_layers.conv_backward_fast(dout, cache, need_dx=False)
    assert ran == (winograd[0] + winograd[1], winograd[2])  # (forward, dx, dw) on Winograd
    assert calls["dw"] - ran[1] == (C >= 8)  # without dx, dw is Winograd's whenever x has the channels
    expected, naive_cache = layers.conv_forward_naive(x.astype(np.float64), w.astype(np.float64),
                                                      b.astype(np.float64), conv_param)
    _close(out, expected, dtype)
    for actual, reference in zip((dx, dw, db), layers.conv_backward_naive(dout.astype(np.float64), naive_cache)):
        assert actual.dtype == dtype and actual.shape == reference.shape
        _close(actual, reference, dtype)
    _close(dw_only, layers.conv_backward_naive(dout.astype(np.float64), naive_cache)[1], dtype)
    np.testing.assert_array_equal(db_only, db)
    with kernels.using_threads(threads), kernels.using_conv_strategy("winograd"):  # the same sums again
        again, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend="cython")
        for actual, repeated in zip((dx, dw, db), fast_layers.conv_backward_fast(dout, cache)):
            np.testing.assert_array_equal(repeated, actual)
    np.testing.assert_array_equal(again, out)


@needs_cython
@pytest.mark.parametrize("strategy, C", [("sharded", 1), ("winograd", 8)])
def test_float32_bias_gradient_stays_accurate_on_large_planes(strategy, C):
    """Is db summed to float32 rounding of short blocks, not of a run of 12,000 float32 additions?

    dout near 1 everywhere makes every partial sum large. Eight float32 running sums over a
    512x512 plane (the first version, emulated in numpy) miss the exact db by 7e-7 to 1.1e-6 of
    it; summed in blocks of 256 values, then in double, by 1e-8 to 3e-8.
    """
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, C, 512, 512)).astype(np.float32)
    w, b = rng.standard_normal((2, C, 3, 3)).astype(np.float32), np.zeros(2, np.float32)
    with kernels.using_conv_strategy(strategy):
        out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1}, backend="cython")
        dout = (1.0 + 0.1 * rng.standard_normal(out.shape)).astype(np.float32)
        _, _, db = fast_layers.conv_backward_fast(dout, cache, need_dx=False)
    exact = dout.astype(np.float64).sum(axis=(0, 2, 3))
    assert np.max(np.abs(db - exact) / exact) < 1e-7


@needs_cython
@pytest.mark.parametrize("N, F", [(0, 8), (2, 0)], ids=["no-images", "no-filters"])
def test_winograd_conv_of_empty_batches_and_filter_banks(N, F):
    """No images or no filters: shapes and zeros as the naive layer's, no error."""
    x, w, b = np.ones((N, 8, 5, 6)), np.ones((F, 8, 3, 3)), np.ones(F)
    with kernels.using_conv_strategy("winograd"):
        out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1}, backend="cython")
        dx, dw, db = fast_layers.conv_backward_fast(np.ones(out.shape), cache)
    assert out.shape == (N, F, 5, 6) and dx.shape == x.shape and dw.shape == w.shape and db.shape == (F,)
    assert not dx.any() and not dw.any() and not db.any()


@needs_cython
@pytest.mark.parametrize("x_dtype, w_dtype, dout_dtype", [(np.float32, np.float64, np.float64),
                                                         (np.float32, np.float32, np.float64),
                                                         (np.float64, np.float64, np.float32)])
def test_winograd_conv_with_mixed_dtypes_matches_naive(x_dtype, w_dtype, dout_dtype):
    """Inputs of two float dtypes: computed in the wider one where the naive layer would be, and right."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 8, 6, 6)).astype(x_dtype)
    w, b = rng.standard_normal((9, 8, 3, 3)).astype(w_dtype), rng.standard_normal(9).astype(w_dtype)
    with kernels.using_conv_strategy("winograd"):
        out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1}, backend="cython")
        dout = rng.standard_normal(out.shape).astype(dout_dtype)
        grads = fast_layers.conv_backward_fast(dout, cache)
    expected, naive_cache = layers.conv_forward_naive(x.astype(np.float64), w.astype(np.float64),
                                                      b.astype(np.float64), {"stride": 1, "pad": 1})
    _close(out, expected, out.dtype.type)
    for actual, reference in zip(grads, layers.conv_backward_naive(dout.astype(np.float64), naive_cache)):
        _close(actual, reference, np.float32)


@needs_cython
def test_winograd_entry_points_reject_bad_buffers_and_thread_counts():
    """A wrong work buffer or thread count is a ValueError naming it, never a crash."""
    conv = backend.compiled("conv_cython", "cython")
    x, w = np.ones((1, 8, 4, 4), np.float32), np.ones((8, 8, 3, 3), np.float32)
    U, out, b = np.ones((16, 8, 8), np.float32), np.empty((1, 8, 4, 4), np.float32), np.zeros(8, np.float32)
    v_length, m_length = conv.winograd_workspace(8, 8, 4, 4)
    V, M = np.empty((1, v_length), np.float32), np.empty((1, m_length), np.float32)
    with pytest.raises(ValueError, match="V and M must have shape"):
        conv.winograd_forward(x, U, b, out, V[:, :-1], M, 1)
    with pytest.raises(ValueError, match="V and M must have shape"):
        conv.winograd_forward(x, U, b, out, V, M, 2)  # one row of work space, two threads
    with pytest.raises(ValueError, match="U must have shape"):
        conv.winograd_forward(x, np.ones((16, 4, 8), np.float32), b, out, V, M, 1)
    with pytest.raises(ValueError, match="dU_parts and db_parts must have shape"):
        conv.winograd_backward_weights(x, out, np.empty((1, 5), np.float32), np.empty((1, 8)), V, M, 1)
    for threads in (0, -1):
        with pytest.raises(ValueError, match="num_threads must be >= 1"):
            conv.winograd_weights(w, U, False, threads)
        with pytest.raises(ValueError, match="num_threads must be >= 1"):
            conv.winograd_filter_gradient(np.ones((1, 16 * 64), np.float32), np.empty_like(w), threads)
        with pytest.raises(ValueError, match="num_threads must be >= 1"):
            conv.winograd_forward(x, U, b, out, V, M, threads)


@needs_cython
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_winograd_filter_transforms_match_their_definition(dtype):
    """Are the compiled U = G g G^T (plain and turned for dx) and dw = G^T dU G the matrix products they stand for?"""
    conv = backend.compiled("conv_cython", "cython")
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    rng = np.random.default_rng(7)
    w = rng.standard_normal((5, 3, 3, 3)).astype(dtype)
    U = np.empty((16, 5, 3), dtype=dtype)
    conv.winograd_weights(w, U, False, 2)
    _close(U, np.einsum("ia,fcab,jb->ijfc", G, w, G).reshape(16, 5, 3), dtype)
    turned = np.empty((16, 3, 5), dtype=dtype)
    conv.winograd_weights(w, turned, True, 3)
    _close(turned, np.einsum("ia,cfab,jb->ijfc", G, w[:, :, ::-1, ::-1], G).reshape(16, 3, 5), dtype)
    parts = rng.standard_normal((3, 16 * 5 * 3)).astype(dtype)
    dw = np.empty((5, 3, 3, 3), dtype=dtype)
    conv.winograd_filter_gradient(parts, dw, 2)  # the first two parts
    _close(dw, np.einsum("ia,ijfc,jb->fcab", G, parts[:2].sum(axis=0).reshape(4, 4, 5, 3), G), dtype)


@needs_cython
@pytest.mark.parametrize("threads", THREADS[1:])
@pytest.mark.parametrize("kind, size, stride", [("max", 2, 2), ("max", 3, 2), ("avg", 2, 2)])
def test_threaded_pools_match_naive(kind, size, stride, threads):
    """With 2-3 threads, do max and average pooling give the naive layer's out and dx?"""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (3, 5, 9, 9)).astype(np.float32)  # ties: the first maximum must win
    param = {"pool_height": size, "pool_width": size, "stride": stride, "floor": True}
    with kernels.using_threads(threads):
        out, cache = getattr(fast_layers, f"{kind}_pool_forward_fast")(x, param, backend="cython")
        dout = rng.standard_normal(out.shape).astype(np.float32)
        dx = getattr(fast_layers, f"{kind}_pool_backward_fast")(dout, cache)
    expected, naive_cache = getattr(layers, f"{kind}_pool_forward_naive")(x.astype(np.float64), param)
    _close(out, expected, np.float32)
    _close(dx, getattr(layers, f"{kind}_pool_backward_naive")(dout.astype(np.float64), naive_cache), np.float32)


@needs_cython
@pytest.mark.parametrize("threads", THREADS[1:])
def test_threaded_batchnorm_relu_matches_the_two_layers(threads):
    """With 2-3 threads, does the fused batchnorm+ReLU give batchnorm-then-ReLU's out, dx, dgamma, dbeta?"""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5, 6, 7))
    gamma, beta, dout = rng.uniform(0.5, 2, 5), rng.standard_normal(5), rng.standard_normal((4, 5, 6, 7))
    with kernels.using_threads(threads):
        out, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, gamma, beta, {"mode": "train"},
                                                                        backend="cython")
        grads = fast_batchnorm.spatial_batchnorm_relu_backward_fast(dout, cache)
    assert cache[-1] is not None  # the compiled kernels ran
    normalized, bn_cache = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    relu, relu_cache = layers.relu_forward(normalized)
    np.testing.assert_allclose(out, relu, rtol=1e-10, atol=1e-12)
    expected = layers.spatial_batchnorm_backward(layers.relu_backward(dout, relu_cache), bn_cache)
    for actual, reference in zip(grads, expected):
        np.testing.assert_allclose(actual, reference, rtol=1e-9, atol=1e-11)


@needs_cython
@pytest.mark.parametrize("threads", THREADS[1:])
def test_threaded_adam_matches_the_reference_rule(threads):
    """With 2-3 threads over blocks of weights (the last one partial), is the in-place Adam the learner's rule?"""
    rng = np.random.default_rng(2)
    size = 3 * (1 << 15) + 123
    w, dw = rng.standard_normal(size).astype(np.float32), rng.standard_normal(size).astype(np.float32)
    reference_w, reference_config = w.copy(), None
    config = None
    with kernels.using_threads(threads):
        for _ in range(3):
            w, config = fast_optim.adam(w, dw, config)
            reference_w, reference_config = optim.adam(reference_w, dw, reference_config)
    np.testing.assert_allclose(w, reference_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(config["m"], reference_config["m"], rtol=1e-6)


@needs_cython
@pytest.mark.skipif(not denormals.supported(), reason="this build or processor cannot flush denormals")
def test_flushing_reaches_the_kernels_threads():
    """Inside flush_denormals, do the kernels' OpenMP threads flush too (Adam's moments decaying below the
    normal range become 0 in every block, whichever thread updated it)?"""
    tiny = np.finfo(np.float32).tiny
    size = 4 * (1 << 15)
    w, dw = np.zeros(size, np.float32), np.zeros(size, np.float32)
    config = {"m": np.full(size, tiny, np.float32), "v": np.ones(size, np.float32), "beta1": 0.5}
    with kernels.using_threads(2):
        with denormals.flush_denormals():
            _, flushed = fast_optim.adam(w.copy(), dw, {k: (v.copy() if hasattr(v, "copy") else v)
                                                        for k, v in config.items()})
        _, kept = fast_optim.adam(w.copy(), dw, config)
    assert np.all(flushed["m"] == 0)
    assert np.all(kept["m"] == np.float32(tiny) * np.float32(0.5))


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_auto_conv_strategy_is_winograd_and_can_be_overridden(threads):
    """Is 'auto' Winograd's (batch-sharded) on any thread count, and do the explicit names win?"""
    with kernels.using_threads(threads), kernels.using_conv_strategy("auto"):
        assert kernels.conv_strategy() == "winograd"
    for name in ("chunked", "sharded", "winograd"):
        with kernels.using_threads(threads), kernels.using_conv_strategy(name):
            assert kernels.conv_strategy() == name


def test_conv_strategy_from_the_environment_is_checked(monkeypatch):
    """Is CS_CONVNET_CONV read, and is a misspelt value one clear error?"""
    monkeypatch.setenv("CS_CONVNET_CONV", "Sharded")
    assert backend._conv_strategy_from_environment() == "sharded"
    monkeypatch.setenv("CS_CONVNET_CONV", "fast")
    with pytest.raises(ValueError, match="CS_CONVNET_CONV must be one of auto, winograd, sharded, chunked, got 'fast'"):
        backend._conv_strategy_from_environment()
    with pytest.raises(ValueError, match="conv strategy must be one of"):
        with kernels.using_conv_strategy("fast"):
            pass

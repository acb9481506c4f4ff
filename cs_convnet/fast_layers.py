"""Fast convolution and pooling layers: im2col (or Winograd's F(2x2, 3x3)) + BLAS matrix products.

Provided code (learners write the naive loops in :mod:`cs_convnet.layers`;
these compute the same thing, fast enough to train on CIFAR-10).

A convolution is rewritten as matrix products. im2col copies every input
window into a column of ``cols`` (C*HH*WW, n*H'*W') for a chunk of n images;
then, chunk by chunk::

    out   = w.reshape(F, C*HH*WW) @ cols               (forward GEMM)
    dw   += dout_rows @ cols.T                         (backward GEMM)
    dcols = w.reshape(F, C*HH*WW).T @ dout_rows        (backward GEMM, skipped if need_dx=False)
    dx    = col2im(dcols)                              (sum back into place)

where ``dout_rows`` is the chunk's dout laid out as (F, n*H'*W'). The output
size is the naive layer's ``H' = (H - HH + 2*pad) / stride + 1`` (a whole
number, or a ``ValueError`` from :mod:`cs_convnet.shape_checks`).

Three ways to run it, chosen by :func:`cs_convnet.kernels.backend.conv_strategy`
(``CS_CONVNET_CONV``). With the 'cython' backend, 'sharded' splits the batch over the
kernels' threads in one parallel region (``cython_ext/conv_cython.pyx``): each
thread runs im2col, a single-threaded GEMM and col2im image by image, writing each
image's (F, H'*W') output block in place, so no layout copy surrounds the
GEMMs; each thread sums its own dw and db, added up at the end. 'winograd' (what
'auto' runs) is 'sharded', except that 3x3 convolutions of stride 1 and pad 1 with at
least :data:`WINOGRAD_MIN_CHANNELS` input channels use Winograd's minimal filtering
F(2x2, 3x3) (Lavin and Gray, 2015), in the same batch-sharded region: each image's
4x4 input tiles are transformed, and the 16 products of the transformed tiles with
the transformed filters are 16 GEMMs, 2.25x fewer multiplications than im2col's one
(forward, dx as the convolution of dout with the filters turned 180 degrees, and dw;
the formulas are in ``conv_cython.pyx``). The im2col layers stay the reference: the
tests compare both with the naive layers. The numpy backend (and the compiled one
with 'chunked', or when ``conv_cython`` is missing) runs the formulas above on
chunks of images: batches whose columns exceed :data:`CONV_CHUNK_BYTES` are processed
in chunks, which bounds the memory of one call.

On the chunked path the backward pass rebuilds the columns by default; with :data:`KEEP_COLUMNS`
(or within :func:`keeping_columns`, as ``cs-convnet train`` runs) the cache keeps them
instead, which saves the im2col of the backward pass and holds the whole batch's
columns between the two passes. The sharded paths always rebuild an image's columns
(or tiles) in the thread's own small buffer, which stays in its cache: writing the
whole batch's columns out and reading them back cost more (the deep preset's step:
about 310 ms keeping them, 297 ms rebuilding, A/B alternated on 2 threads).

Large temporaries come from a small pool (:class:`_BufferPool`) to avoid
paying page faults on every call.

Backends and threads
--------------------
Two sets of kernels share one signature:

- ``'cython'``: ``cs_convnet._compiled.conv_cython`` / ``im2col_cython`` /
  ``pool_cython``, compiled from ``cython_ext/`` by ``pip install``; float32 and float64.
- ``'numpy'``: :mod:`cs_convnet.im2col`, vectorised numpy; any dtype.

:mod:`cs_convnet.kernels.backend` chooses between them for every fast path
(``CS_CONVNET_BACKEND``, :func:`use_backend`) and owns the kernels' thread
count (``CS_CONVNET_THREADS``, default: the cores available). :data:`BACKEND`
names the default backend. Every function takes ``backend=None`` (the default
backend) or an explicit ``'numpy'``/``'cython'``, so both can be compared in one
process. Inputs of a dtype other than float32/float64 always run on numpy.
Measured speed: the README's "Measured speed" section and ``cs-convnet bench``.
"""

import contextlib
import sys
import threading
import time

import numpy as np

from . import im2col as _numpy_kernels
from .kernels import backend as _backend
from .kernels.backend import AVAILABLE_BACKENDS, use_backend  # noqa: F401  (part of this module's API)
from .shape_checks import check_upstream, conv_geometry, float_dtype, pool_geometry

_THREADED_KERNELS = ("im2col", "col2im", "max_pool_forward", "max_pool_backward",
                     "avg_pool_forward", "avg_pool_backward")
_KERNEL_NAMES = _THREADED_KERNELS + ("rows_to_nchw", "nchw_to_rows")
# Compiled only: max pooling that records each window's argmax ("switches") for the backward pass.
_SWITCH_KERNELS = ("max_pool_forward_switches", "max_pool_backward_switches")


class _Kernels:
    """One backend's kernels, as attributes named after :mod:`cs_convnet.im2col`'s functions.

    The compiled ones run on :func:`cs_convnet.kernels.threads` threads, read at each call.
    """

    def __init__(self, name, modules, threaded):
        self.name = name
        self._threaded = threaded
        for kernel in _KERNEL_NAMES:
            module = next(m for m in modules if hasattr(m, kernel))
            setattr(self, "_" + kernel, getattr(module, kernel))
        switch_modules = [m for m in modules if all(hasattr(m, kernel) for kernel in _SWITCH_KERNELS)]
        self.has_switches = bool(switch_modules)
        for kernel in _SWITCH_KERNELS if switch_modules else ():
            setattr(self, "_" + kernel, getattr(switch_modules[0], kernel))

    def __getattr__(self, kernel):
        try:
            function = self.__dict__["_" + kernel]
        except KeyError:
            raise AttributeError(f"the {self.__dict__.get('name')} backend has no kernel {kernel!r}") from None
        if self._threaded and kernel in _THREADED_KERNELS + _SWITCH_KERNELS:
            return lambda *args: function(*args, num_threads=_backend.threads())
        return function


_BACKENDS = {"numpy": _Kernels("numpy", [_numpy_kernels], threaded=False)}
if "cython" in AVAILABLE_BACKENDS:
    _BACKENDS["cython"] = _Kernels("cython", [_backend.compiled("im2col_cython", "cython"),
                                              _backend.compiled("pool_cython", "cython")], threaded=True)


def __getattr__(name):
    if name == "BACKEND":  # the default backend now, as cs_convnet.kernels.backend records it
        return _backend.current_backend()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _kernels(backend, dtype):
    """The kernels for ``backend`` (None: the default backend) able to handle ``dtype``."""
    name = _backend.resolve(backend)
    if name == "cython" and dtype not in (np.float32, np.float64):
        name = "numpy"  # compiled for float32/float64 only
    return _BACKENDS[name]


#: Clock of the ``timings`` split (the benchmark sets ``time.thread_time`` for CPU time).
TIMINGS_CLOCK = time.perf_counter


class _Stopwatch:
    """Adds the seconds spent in each stage to ``timings[stage]``; does nothing when timings is None."""

    def __init__(self, timings):
        self.timings = timings
        self.start = TIMINGS_CLOCK() if timings is not None else 0.0

    def lap(self, stage):
        if self.timings is not None:
            now = TIMINGS_CLOCK()
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.start
            self.start = now


class _BufferPool:
    """Large arrays recycled between calls once nothing else refers to them.

    A fresh large array costs a page fault per 4 KiB page on first touch
    (measured: about a third of the time of im2col on conv case (c)). The
    pool keeps the arrays it hands out; :meth:`empty` returns one again only
    when the pool's own reference is the last one (no cache, view or caller
    holds it any more), so a buffer is never shared by two live results.
    Arrays under ``min_bytes`` come from numpy directly; the pool never holds
    more than ``max_bytes``.
    """

    def __init__(self, min_bytes=1 << 20, max_bytes=1 << 30):
        self.min_bytes, self.max_bytes = min_bytes, max_bytes
        self._arrays = {}  # (shape, dtype) -> list of arrays
        self._bytes = 0
        self._lock = threading.Lock()

    def empty(self, shape, dtype):
        """An uninitialised array of ``shape`` and ``dtype`` that no one else references."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if nbytes < self.min_bytes:
            return np.empty(shape, dtype=dtype)
        key = (tuple(shape), dtype.str)
        with self._lock:
            arrays = self._arrays.setdefault(key, [])
            for array in arrays:
                # References: the list, the loop variable, getrefcount's argument.
                if sys.getrefcount(array) <= 3:
                    return array
            array = np.empty(shape, dtype=dtype)
            if self._bytes + nbytes <= self.max_bytes:
                arrays.append(array)
                self._bytes += nbytes
            return array

    def clear(self):
        with self._lock:
            self._arrays.clear()
            self._bytes = 0


_pool = _BufferPool()


def clear_buffers():
    """Release the arrays the fast layers keep for reuse (see ``_BufferPool``)."""
    _pool.clear()


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------

#: Largest column matrix, in bytes, of one chunk of images (at least one image per chunk);
#: see "Chunks" above for the measurements behind 64 MiB.
CONV_CHUNK_BYTES = 64 << 20


#: Keep each chunk's column matrix in the cache for the backward pass (False: rebuild it there);
#: the chunked path only (see the module's docstring).
KEEP_COLUMNS = False


@contextlib.contextmanager
def keeping_columns(keep=True):
    """Within the ``with`` block, chunked conv caches keep their column matrices (faster backward, more memory).

    Sets :data:`KEEP_COLUMNS` for every caller, like :func:`use_backend`.
    """
    global KEEP_COLUMNS
    previous, KEEP_COLUMNS = KEEP_COLUMNS, bool(keep)
    try:
        yield
    finally:
        KEEP_COLUMNS = previous


def _chunk_images(K, P, itemsize):
    """Images per chunk: as many as keep the chunk's columns (K, n*P) within CONV_CHUNK_BYTES."""
    return max(1, int(CONV_CHUNK_BYTES // max(1, K * P * itemsize)))


def _chunk_view(flat, rows, columns):
    """A C-contiguous (rows, columns) matrix at the start of the 1-d buffer ``flat``."""
    return flat[:rows * columns].reshape(rows, columns)


def conv_forward_fast(x, w, b, conv_param, *, backend=None, timings=None):
    """Convolutional layer by matrix products (im2col, or Winograd's F(2x2, 3x3)); same result as
    ``conv_forward_naive``.

    Sharded over the batch, or (the chunked path) in chunks of images whose columns fit in
    :data:`CONV_CHUNK_BYTES` (usually the whole batch at once): see the module's docstring.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W), any strides
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict with int 'stride' (>= 1) and 'pad' (>= 0)
    backend : None, 'numpy' or 'cython'
        None uses :data:`BACKEND`.
    timings : None or dict
        If a dict, the seconds spent in each stage are added to it (used by
        :mod:`cs_convnet.bench`): 'layout', 'im2col', 'gemm' on the chunked path,
        'layout' and 'sharded' (the parallel regions) on the sharded and Winograd ones.

    Returns
    -------
    out : ndarray of shape (N, F, H', W'), dtype of ``x, w, b`` combined, with
        ``H' = (H - HH + 2*pad) / stride + 1``, ``W' = (W - WW + 2*pad) / stride + 1``
    cache : tuple (x, w, b, conv_param, x as a C-contiguous array of the computing dtype,
        kept columns or None, backend name) for :func:`conv_backward_fast`; the kept columns
        (chunked path, :data:`KEEP_COLUMNS`) are ('chunks', images per chunk, [columns of each chunk])

    Raises
    ------
    ValueError
        The naive layer's errors (shapes, channels, stride, pad, non-whole output size).
    """
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    dtype = float_dtype(x, w, b)
    kernels = _kernels(backend, dtype)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    K, P = C * HH * WW, H_out * W_out
    watch = _Stopwatch(timings)
    x_c = np.ascontiguousarray(x, dtype=dtype)
    w_rows = np.ascontiguousarray(w, dtype=dtype).reshape(F, K)
    b_c = np.ascontiguousarray(b, dtype=dtype)
    out = _pool.empty((N, F, H_out, W_out), dtype)
    sharded = _sharded_conv(kernels)
    if sharded is not None:
        threads = _backend.threads()
        if _winograd_applies(C, HH, WW, stride, pad):
            _winograd(sharded, x_c, w_rows.reshape(w.shape), b_c, out, threads, watch)
        else:
            cols = _pool.empty((threads, K * P), dtype)
            watch.lap("layout")
            with _backend.blas_single_threaded():
                sharded.conv_forward(x_c, w_rows, b_c, out.reshape(N, F, P), cols,
                                     HH, WW, pad, stride, H_out, W_out, threads)
            watch.lap("sharded")
        return out, (x, w, b, conv_param, x_c, None, kernels.name)
    out_3d = out.reshape(N, F, P)
    chunk = max(1, min(N, _chunk_images(K, P, dtype.itemsize)))
    kept = [] if KEEP_COLUMNS else None
    cols_flat = None if KEEP_COLUMNS else _pool.empty((K * chunk * P,), dtype)
    rows_flat = _pool.empty((F * chunk * P,), dtype)
    watch.lap("layout")
    for start in range(0, N, chunk):
        stop = min(N, start + chunk)
        if KEEP_COLUMNS:  # a buffer of its own, held by the cache until the backward pass
            cols = _pool.empty((K, (stop - start) * P), dtype)
            kept.append(cols)
        else:
            cols = _chunk_view(cols_flat, K, (stop - start) * P)
        kernels.im2col(x_c[start:stop], cols, HH, WW, pad, stride, H_out, W_out)
        watch.lap("im2col")
        out_rows = _chunk_view(rows_flat, F, (stop - start) * P)
        np.matmul(w_rows, cols, out=out_rows)
        watch.lap("gemm")
        kernels.rows_to_nchw(out_rows, b_c, out_3d[start:stop])  # (F, n*P) -> (n, F, P), plus bias
        watch.lap("layout")
    cache = (x, w, b, conv_param, x_c, None if kept is None else ("chunks", chunk, kept), kernels.name)
    return out, cache


def conv_backward_fast(dout, cache, need_dx=True, *, timings=None):
    """Backward pass of :func:`conv_forward_fast`, image by image on the sharded path, else chunk by chunk::

        dw += dout_rows @ cols.T        db += sums of dout_rows
        dcols = w_rows.T @ dout_rows    dx[chunk] = col2im(dcols)

    where ``dout_rows`` is the chunk's dout laid out as (F, n*H'*W'); on the Winograd path, dw from the
    transformed tiles and dx as the convolution of dout with the filters turned 180 degrees. dw comes
    from Winograd only where dx does too, or with ``need_dx=False``: with C >= 8 but F < 8, dw with and
    without dx agree to rounding, not bit for bit.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W'), upstream gradient
    cache : tuple from :func:`conv_forward_fast`
    need_dx : bool
        False skips the gradient of the input (the first layer of a network,
        whose input is the images), saving a GEMM and col2im.
    timings : None or dict
        If a dict, the seconds spent in each stage ('layout', 'im2col', 'gemm',
        'col2im' on the chunked path; 'layout', 'sharded' on the sharded and Winograd ones) are added to it.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None when ``need_dx`` is False
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    x, w, b, conv_param, x_c, kept, backend = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out = (H - HH + 2 * pad) // stride + 1
    W_out = (W - WW + 2 * pad) // stride + 1
    check_upstream(dout, (N, F, H_out, W_out), "(N, F, H', W')")
    K, P = C * HH * WW, H_out * W_out
    dtype = float_dtype(dout, x_c)
    kernels = _kernels(backend, dtype)
    watch = _Stopwatch(timings)
    x_c = x_c.astype(dtype, copy=False)
    w_rows = np.ascontiguousarray(w, dtype=dtype).reshape(F, K)
    dout_3d = np.ascontiguousarray(dout, dtype=dtype).reshape(N, F, P)
    sharded = _sharded_conv(kernels)
    if kept is not None and (sharded is not None or not kept[-1] or kept[-1][0].dtype != dtype):
        kept = None  # the sharded path rebuilds each image's columns; none kept (N = 0); another dtype: rebuilt
    if sharded is not None:
        threads = _backend.threads()
        # dx is the 3x3 convolution of dout (F channels), pad 1, with the filters turned 180 degrees, C <-> F
        winograd_dx = need_dx and _winograd_applies(F, HH, WW, stride, pad)
        dout_4d = dout_3d.reshape(N, F, H_out, W_out)
        dx = _pool.empty((N, C, H, W), dtype) if need_dx else None
        if _winograd_applies(C, HH, WW, stride, pad) and (winograd_dx or not need_dx):
            dw, db = _winograd_weight_gradient(sharded, x_c, dout_4d, threads, watch)
        else:
            cols = _pool.empty((threads, K * P), dtype)
            dcols = _pool.empty((threads, K * P), dtype) if need_dx and not winograd_dx else None
            dw_rows = np.empty((F, K), dtype=dtype)
            db = np.empty(F, dtype=np.float64)
            dw_parts = _pool.empty((threads, F * K), dtype)
            db_parts = np.empty((threads, F), dtype=np.float64)
            watch.lap("layout")
            with _backend.blas_single_threaded():
                sharded.conv_backward(x_c, w_rows, dout_3d, None if winograd_dx else dx, dw_rows, db, cols, dcols,
                                      dw_parts, db_parts, HH, WW, pad, stride, threads)
            watch.lap("sharded")
            dw = dw_rows.reshape(w.shape)
        if winograd_dx:
            _winograd(sharded, dout_4d, w_rows.reshape(w.shape), np.zeros(C, dtype=dtype), dx, threads, watch,
                      turned=True)
        return dx, dw, db.astype(dtype)
    chunk = kept[1] if kept is not None else max(1, min(N, _chunk_images(K, P, dtype.itemsize)))
    cols_flat = None if kept is not None else _pool.empty((K * chunk * P,), dtype)
    rows_flat = _pool.empty((F * chunk * P,), dtype)
    dcols_flat = _pool.empty((K * chunk * P,), dtype) if need_dx else None
    dx = _pool.empty((N, C, H, W), dtype) if need_dx else None
    dw_t = np.zeros((K, F), dtype=dtype)  # dw transposed, see below
    db = np.zeros(F, dtype=np.float64)
    db_part = np.empty(F, dtype=np.float64)
    watch.lap("layout")
    for index, start in enumerate(range(0, N, chunk)):
        stop = min(N, start + chunk)
        if kept is not None:
            cols = kept[2][index]
        else:
            cols = _chunk_view(cols_flat, K, (stop - start) * P)
            kernels.im2col(x_c[start:stop], cols, HH, WW, pad, stride, H_out, W_out)
        watch.lap("im2col")
        dout_rows = _chunk_view(rows_flat, F, (stop - start) * P)
        kernels.nchw_to_rows(dout_3d[start:stop], dout_rows, db_part)
        db += db_part
        watch.lap("layout")
        # dw.T = cols @ dout_rows.T, into a fresh (K, F) array: measured with two OpenBLAS threads,
        # this orientation is up to 10x faster than dout_rows @ cols.T (conv (a): 13 vs 162 ms),
        # and writing it through matmul's out= hit a 100x slower path (conv (b): 2.7 s vs 24 ms).
        dw_t += cols @ dout_rows.T
        if need_dx:
            dcols = _chunk_view(dcols_flat, K, (stop - start) * P)
            np.matmul(w_rows.T, dout_rows, out=dcols)
            watch.lap("gemm")
            kernels.col2im(dcols, dx[start:stop], HH, WW, pad, stride, H_out, W_out)
            watch.lap("col2im")
        else:
            watch.lap("gemm")
    return dx, np.ascontiguousarray(dw_t.T).reshape(w.shape), db.astype(dtype)


def _sharded_conv(kernels):
    """The compiled batch-sharded convolution module for ``kernels``, or None (chunked im2col path).

    None as well when :func:`cs_convnet.kernels.backend.conv_strategy` is 'chunked'.
    """
    if kernels.name != "cython" or _backend.conv_strategy() == "chunked":
        return None
    return _backend.compiled("conv_cython", "cython")


#: Fewest input channels for which the 'winograd' strategy runs a 3x3 convolution by Winograd's
#: F(2x2, 3x3): its 16 matrix products have C as inner dimension, too short below this to pay off
#: (the images' first layer, C = 3, stays on im2col, whose K = 27 suits BLAS better).
WINOGRAD_MIN_CHANNELS = 8


def _winograd_applies(C, HH, WW, stride, pad):
    """Whether the sharded path runs this convolution (C input channels) by Winograd's F(2x2, 3x3)."""
    return (_backend.conv_strategy() == "winograd" and (HH, WW, stride, pad) == (3, 3, 1, 1)
            and C >= WINOGRAD_MIN_CHANNELS)


def _winograd_buffers(sharded, x_c, F, threads):
    """The V and M work buffers (a row per thread) of the Winograd kernels for x_c (N, C, H, W) and F filters."""
    v_length, m_length = sharded.winograd_workspace(x_c.shape[1], F, *x_c.shape[2:])
    return _pool.empty((threads, v_length), x_c.dtype), _pool.empty((threads, m_length), x_c.dtype)


def _winograd(sharded, x_c, w, b_c, out, threads, watch, turned=False):
    """out = the 3x3, stride-1, pad-1 convolution of x_c (N, C, H, W) with the filters w (F, C, 3, 3)
    (or, if ``turned``, with those of dx's convolution, w turned 180 degrees with C and F swapped), plus b_c."""
    C = x_c.shape[1]
    F = w.shape[1] if turned else w.shape[0]
    V, M = _winograd_buffers(sharded, x_c, F, threads)
    U = np.empty((16, F, C), dtype=x_c.dtype)
    watch.lap("layout")
    with _backend.blas_single_threaded():
        sharded.winograd_weights(w, U, turned, threads)
        sharded.winograd_forward(x_c, U, b_c, out, V, M, threads)
    watch.lap("sharded")


def _winograd_weight_gradient(sharded, x_c, dout, threads, watch):
    """dw (F, C, 3, 3) and db (F,) (float64) of the Winograd convolution of x_c (N, C, H, W), given dout (N, F, H, W).

    Each thread sums dU = sum over tiles of (A dY A^T) (.) (B^T d B) for its images; dw = G^T dU G.
    """
    C, F = x_c.shape[1], dout.shape[1]
    V, M = _winograd_buffers(sharded, x_c, F, threads)
    dU_parts = _pool.empty((threads, 16 * F * C), x_c.dtype)
    db_parts = np.empty((threads, F), dtype=np.float64)
    dw = np.empty((F, C, 3, 3), dtype=x_c.dtype)
    watch.lap("layout")
    with _backend.blas_single_threaded():
        sharded.winograd_backward_weights(x_c, dout, dU_parts, db_parts, V, M, threads)
        sharded.winograd_filter_gradient(dU_parts, dw, threads)
    watch.lap("sharded")
    return dw, db_parts.sum(axis=0)


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------

def _pool_forward(kind, x, pool_param, backend):
    pool_height, pool_width, stride, H_out, W_out = pool_geometry(x, pool_param)
    dtype = x.dtype if kind == "max" else float_dtype(x)
    kernels = _kernels(backend, dtype)
    x_c = np.ascontiguousarray(x, dtype=dtype)
    out = _pool.empty((x.shape[0], x.shape[1], H_out, W_out), dtype)
    switches = None
    if kind == "max" and kernels.has_switches and (pool_height, pool_width, stride) != (2, 2, 2):
        # General windows: record each window's argmax now, so that the backward pass is a
        # scatter. The 2x2 stride-2 kernel finds it again, branch-free, faster than storing it.
        switches = _pool.empty(out.shape, np.intc)
        kernels.max_pool_forward_switches(x_c, out, switches, pool_height, pool_width, stride)
    else:
        getattr(kernels, f"{kind}_pool_forward")(x_c, out, pool_height, pool_width, stride)
    return out, (x, pool_param, kernels.name, switches)


def _pool_backward(kind, dout, cache):
    x, pool_param, backend, switches = cache
    pool_height, pool_width, stride, H_out, W_out = pool_geometry(x, pool_param)
    check_upstream(dout, (x.shape[0], x.shape[1], H_out, W_out), "(N, C, H', W')")
    dtype = float_dtype(x, dout)
    kernels = _kernels(backend, dtype)
    dout_c = np.ascontiguousarray(dout, dtype=dtype)
    dx = _pool.empty(x.shape, dtype)
    if kind == "max" and switches is not None and kernels.has_switches:
        kernels.max_pool_backward_switches(dout_c, switches, dx)
    elif kind == "max":
        x_c = np.ascontiguousarray(x, dtype=dtype)
        kernels.max_pool_backward(x_c, dout_c, dx, pool_height, pool_width, stride)
    else:
        kernels.avg_pool_backward(dout_c, dx, pool_height, pool_width, stride)
    return dx


def max_pool_forward_fast(x, pool_param, *, backend=None):
    """Max pooling over windows of any size and stride (overlapping included).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    pool_param : dict with int 'pool_height', 'pool_width', 'stride' and optional bool 'floor'
        (as ``max_pool_forward_naive``)
    backend : None, 'numpy' or 'cython'

    Returns
    -------
    out : ndarray of shape (N, C, H', W'), ``H' = (H - pool_height) / stride + 1``,
        ``W' = (W - pool_width) / stride + 1`` (floored when ``pool_param['floor']``)
    cache : tuple (x, pool_param, backend name, switches): switches (N, C, H', W') holds the
        offset of each window's first maximum within its (H, W) plane (compiled backend, windows
        other than 2x2 stride 2), else None
    """
    return _pool_forward("max", x, pool_param, backend)


def max_pool_backward_fast(dout, cache):
    """Backward pass of :func:`max_pool_forward_fast`.

    Each window's gradient goes to its first maximum in row-major order (as
    the naive layer and PyTorch); overlapping windows add up.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
    cache : tuple from :func:`max_pool_forward_fast`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    return _pool_backward("max", dout, cache)


def avg_pool_forward_fast(x, pool_param, *, backend=None):
    """Average pooling over windows of any size and stride (overlapping included).

    Same parameters and output shape as :func:`max_pool_forward_fast`; each
    output is the mean of its ``pool_height * pool_width`` inputs.
    """
    return _pool_forward("avg", x, pool_param, backend)


def avg_pool_backward_fast(dout, cache):
    """Backward pass of :func:`avg_pool_forward_fast`: dx of shape (N, C, H, W)."""
    return _pool_backward("avg", dout, cache)


# CS231n's names: its im2col and "strides" variants are one implementation here.
conv_forward_im2col = conv_forward_fast
conv_backward_im2col = conv_backward_fast
conv_forward_strides = conv_forward_fast
conv_backward_strides = conv_backward_fast

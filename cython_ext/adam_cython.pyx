"""Compiled Adam update, in place, in one pass over memory.

The kernel of :func:`cs_convnet.fast_optim.adam`; the numpy twin is in the
same module. float32 and float64 through the fused type ``floating``, computed in
that precision (as the numpy rule does). With t the step count after incrementing::

    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    w = w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)
"""

from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport sqrt, sqrtf

# Weights per block of the parallel loop: large enough to amortise the scheduling, small
# enough that every thread gets blocks on layers of a few hundred thousand weights.
DEF BLOCK = 1 << 15


cdef void _adam(floating* w, const floating* dw, floating* m, floating* v, Py_ssize_t n,
                floating beta1, floating beta2, floating step, floating v_scale, floating eps) noexcept nogil:
    """The update of n weights (a plain loop over pointers, so the compiler vectorizes it)."""
    cdef Py_ssize_t i
    cdef floating g, mi, vi, one = 1
    for i in range(n):
        g = dw[i]
        mi = beta1 * m[i] + (one - beta1) * g
        vi = beta2 * v[i] + (one - beta2) * g * g
        m[i] = mi
        v[i] = vi
        if floating is float:
            w[i] = w[i] - step * mi / (sqrtf(vi * v_scale) + eps)
        else:
            w[i] = w[i] - step * mi / (sqrt(vi * v_scale) + eps)


def adam_update(floating[::1] w, const floating[::1] dw, floating[::1] m, floating[::1] v,
                double learning_rate, double beta1, double beta2, double epsilon, long t, int num_threads=1):
    """Update w, m and v in place (flat views of equal length), in blocks split over num_threads threads."""
    cdef Py_ssize_t n = w.shape[0], blocks, block, start, size
    if dw.shape[0] != n or m.shape[0] != n or v.shape[0] != n:
        raise ValueError(f"w, dw, m and v must have the same length, got {n}, {dw.shape[0]}, "
                         f"{m.shape[0]}, {v.shape[0]}")
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    if n == 0:
        return
    cdef floating b1 = <floating>beta1, b2 = <floating>beta2, eps = <floating>epsilon
    cdef floating step = <floating>(learning_rate / (1.0 - beta1 ** t))
    cdef floating v_scale = <floating>(1.0 / (1.0 - beta2 ** t))
    cdef floating* w_ptr = &w[0]
    cdef const floating* dw_ptr = &dw[0]
    cdef floating* m_ptr = &m[0]
    cdef floating* v_ptr = &v[0]
    blocks = (n + BLOCK - 1) // BLOCK
    if blocks < num_threads:  # a thread per block at most: waking idle threads costs more than small layers' update
        num_threads = <int>blocks
    if num_threads == 1:
        with nogil:
            _adam(w_ptr, dw_ptr, m_ptr, v_ptr, n, b1, b2, step, v_scale, eps)
        return
    for block in prange(blocks, nogil=True, num_threads=num_threads, schedule="static"):
        start = block * BLOCK
        size = min(BLOCK, n - start)
        _adam(w_ptr + start, dw_ptr + start, m_ptr + start, v_ptr + start, size, b1, b2, step, v_scale, eps)

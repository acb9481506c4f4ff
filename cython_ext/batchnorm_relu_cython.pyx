"""Compiled spatial batch normalization fused with the ReLU that follows it.

The kernels of :func:`cs_convnet.fast_batchnorm.spatial_batchnorm_relu_forward_fast`
and its backward pass; the numpy twins are in ``cs_convnet/fast_batchnorm.py``.
float32 and float64 through the fused type ``floating``; the per-channel sums
are accumulated in double. Every loop is over one channel at a time, so the
(N, C, H, W) layout is read as N contiguous H*W planes per channel.

Forward (training):  mean, biased var over (N, H, W) per channel;
                     out = max(0, gamma * (x - mean) * inv_std + beta).
Backward:            dy = dout where out > 0, else 0 (the ReLU);
                     dbeta = sum(dy), dgamma = sum(dy * xhat);
                     dx = gamma * inv_std / M * (M * dy - dbeta - xhat * dgamma), M = N*H*W.
"""

from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport sqrt


include "_plane_sum.pxi"


cdef void _channel_mean_var(const floating* x, Py_ssize_t N, Py_ssize_t plane, Py_ssize_t stride,
                            double* mean, double* var) noexcept nogil:
    """Mean and biased variance of N planes of ``plane`` values, ``stride`` apart.

    Two passes: the squares are of deviations from the mean, which keeps the
    float32 partial sums accurate whatever the offset of x.
    """
    cdef Py_ssize_t n
    cdef double total = 0.0, squares = 0.0, mu
    for n in range(N):
        total = total + _plane_sum(x + n * stride, plane)
    mu = total / (N * plane)
    for n in range(N):
        squares = squares + _plane_squares(x + n * stride, plane, mu)
    mean[0] = mu
    var[0] = squares / (N * plane)


cdef void _channel_normalize_relu(const floating* x, floating* out, Py_ssize_t N, Py_ssize_t plane,
                                  Py_ssize_t stride, floating mean, floating scale, floating beta) noexcept nogil:
    """out = max(0, scale * (x - mean) + beta) over N planes (branch-free, so it vectorizes)."""
    cdef Py_ssize_t n, i
    cdef floating y
    cdef const floating* p
    cdef floating* q
    for n in range(N):
        p = x + n * stride
        q = out + n * stride
        for i in range(plane):
            y = scale * (p[i] - mean) + beta
            q[i] = y if y > 0 else 0


def channel_mean_var(const floating[:, :, :, ::1] x, double[::1] mean, double[::1] var, int num_threads=1):
    """mean[c], var[c] = mean and biased variance of x[:, c] (double precision sums)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], plane = x.shape[2] * x.shape[3], c
    if N == 0 or plane == 0:
        raise ValueError("batch normalization needs at least one value per channel")
    for c in prange(C, nogil=True, num_threads=num_threads, schedule="static"):
        _channel_mean_var(&x[0, c, 0, 0], N, plane, C * plane, &mean[c], &var[c])


def normalize_relu(const floating[:, :, :, ::1] x, const double[::1] mean, const double[::1] scale,
                   const double[::1] beta, floating[:, :, :, ::1] out, int num_threads=1):
    """out[:, c] = max(0, scale[c] * (x[:, c] - mean[c]) + beta[c])."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], plane = x.shape[2] * x.shape[3], c
    if N == 0 or plane == 0:
        return
    for c in prange(C, nogil=True, num_threads=num_threads, schedule="static"):
        _channel_normalize_relu(&x[0, c, 0, 0], &out[0, c, 0, 0], N, plane, C * plane,
                                <floating>mean[c], <floating>scale[c], <floating>beta[c])


cdef void _plane_relu_mask(const floating* dout, const floating* out, floating* dy, Py_ssize_t plane) noexcept nogil:
    """dy = dout where out > 0, else 0 (a select, not a product with the comparison: GCC compiles
    that to a branch per element, mispredicted on half of them, which made this loop 4x the rest
    of the backward pass)."""
    cdef Py_ssize_t i
    cdef floating d
    for i in range(plane):
        d = dout[i]  # loaded unconditionally, so that the select below needs no branch
        dy[i] = d if out[i] > 0 else 0


cdef void _plane_bn_dx(floating* dx, const floating* x, Py_ssize_t plane, floating a, floating b,
                       floating c, floating mean) noexcept nogil:
    """dx = a * dx - b * (x - mean) - c, in place (dx holds dy on entry)."""
    cdef Py_ssize_t i
    for i in range(plane):
        dx[i] = a * dx[i] - b * (x[i] - mean) - c


cdef void _channel_backward(const floating* dout, const floating* x, const floating* out, floating* dx,
                            Py_ssize_t N, Py_ssize_t plane, Py_ssize_t stride, double gamma,
                            double mean, double inv_std, floating* dgamma, floating* dbeta) noexcept nogil:
    """One channel of the backward pass (see the module docstring); dx holds dy in between."""
    cdef Py_ssize_t n
    cdef double sum_dy = 0.0, sum_dy_xhat = 0.0, M = N * plane
    for n in range(N):
        _plane_relu_mask(dout + n * stride, out + n * stride, dx + n * stride, plane)
        sum_dy = sum_dy + _plane_sum(dx + n * stride, plane)
        sum_dy_xhat = sum_dy_xhat + _plane_dot(dx + n * stride, x + n * stride, plane, mean)
    sum_dy_xhat = sum_dy_xhat * inv_std
    dbeta[0] = <floating>sum_dy
    dgamma[0] = <floating>sum_dy_xhat
    # dx = gamma * inv_std * (dy - (sum_dy + xhat * sum_dy_xhat) / M) = a * dy - b * (x - mean) - c
    for n in range(N):
        _plane_bn_dx(dx + n * stride, x + n * stride, plane, <floating>(gamma * inv_std),
                     <floating>(gamma * inv_std * inv_std * sum_dy_xhat / M),
                     <floating>(gamma * inv_std * sum_dy / M), <floating>mean)


def batchnorm_relu_backward(const floating[:, :, :, ::1] dout, const floating[:, :, :, ::1] x,
                            const floating[:, :, :, ::1] out, const double[::1] gamma,
                            const double[::1] mean, const double[::1] inv_std,
                            floating[:, :, :, ::1] dx, floating[::1] dgamma, floating[::1] dbeta,
                            int num_threads=1):
    """dx, dgamma, dbeta of out = relu(batchnorm(x)) from dout, per channel."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], plane = x.shape[2] * x.shape[3], c
    if N == 0 or plane == 0:
        raise ValueError("batch normalization needs at least one value per channel")
    for c in prange(C, nogil=True, num_threads=num_threads, schedule="static"):
        _channel_backward(&dout[0, c, 0, 0], &x[0, c, 0, 0], &out[0, c, 0, 0], &dx[0, c, 0, 0],
                          N, plane, C * plane, gamma[c], mean[c], inv_std[c], &dgamma[c], &dbeta[c])

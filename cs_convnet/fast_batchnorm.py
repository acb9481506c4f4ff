"""Fast spatial batch normalization fused with the ReLU after it (provided, like the fast conv).

``conv -> bn -> relu`` is the block of every deep ConvNet of the course. Run as
three numpy layers, the two elementwise ones cost more than the convolution's
matrix product: each reads and writes the whole (N, C, H, W) volume several
times, and the spatial batchnorm transposes it twice. The fused layer reads
the volume once for the statistics and once for ``relu(gamma * xhat + beta)``,
and its backward pass twice, channel by channel, in compiled code
(``cython_ext/batchnorm_relu_cython.pyx``, channels split over the kernels'
threads); without the compiled module, or with ``CS_CONVNET_BACKEND=numpy``
(:mod:`cs_convnet.kernels`), the numpy code below computes the same thing.

It computes exactly what :func:`cs_convnet.layers.spatial_batchnorm_forward`
followed by :func:`cs_convnet.layers.relu_forward` compute, with the same
``bn_param`` (mode, eps, momentum, running averages); the tests compare the two.
"""

import numpy as np

from .fast_layers import _pool
from .kernels import backend as _backend
from .shape_checks import check_batchnorm, check_upstream


def _compiled_for(x, backend):
    """The compiled module to run on ``x`` (None: the numpy code below), as the backend selector says."""
    module = _backend.compiled("batchnorm_relu_cython", backend)
    if backend == "cython" and module is None:
        raise ValueError(f"backend 'cython' is not available: the compiled batchnorm kernels did not import "
                         f"({_backend.import_error('batchnorm_relu_cython')})")
    return module if x.dtype in (np.float32, np.float64) else None


def spatial_batchnorm_relu_forward_fast(x, gamma, beta, bn_param, backend=None):
    """``relu(spatial_batchnorm(x))`` in one layer.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    gamma, beta : ndarrays of shape (C,), scale and shift
    bn_param : dict, as for :func:`cs_convnet.layers.spatial_batchnorm_forward`:
        'mode' ('train' or 'test'), optional 'eps' (1e-5), 'momentum' (0.9),
        'running_mean', 'running_var' (updated in training mode)
    backend : None (the default backend of :mod:`cs_convnet.kernels`), 'numpy' or 'cython'

    Returns
    -------
    out : ndarray of shape (N, C, H, W), ``max(0, gamma * (x - mean) / sqrt(var + eps) + beta)``
    cache : tuple for :func:`spatial_batchnorm_relu_backward_fast`
    """
    mode, eps, momentum = check_batchnorm(x, gamma, beta, bn_param, ndim=4, layout="(N, C, H, W)")
    N, C, H, W = x.shape
    if N * H * W == 0:
        raise ValueError(f"x of shape {x.shape} has no values to normalize")
    compiled = _compiled_for(x, backend)
    if compiled is not None:
        x = np.ascontiguousarray(x)
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(C, dtype=x.dtype))
    if mode == "train":
        if compiled is not None:
            mean, var = np.empty(C), np.empty(C)
            compiled.channel_mean_var(x, mean, var, _backend.threads())
        else:
            mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
            var = x.var(axis=(0, 2, 3), dtype=np.float64)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean.astype(x.dtype)
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var.astype(x.dtype)
    else:
        mean, var = running_mean.astype(np.float64), running_var.astype(np.float64)
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    scale = gamma.astype(np.float64) * inv_std
    if compiled is not None:
        out = _pool.empty(x.shape, x.dtype)
        compiled.normalize_relu(x, mean, scale, beta.astype(np.float64), out, _backend.threads())
    else:
        column = (slice(None), None, None)
        out = np.maximum((x - mean.astype(x.dtype)[column]) * scale.astype(x.dtype)[column] + beta[column], 0)
    return out, (x, out, gamma, mean, inv_std, compiled)


def spatial_batchnorm_relu_backward_fast(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_relu_forward_fast` (training mode).

    Parameters
    ----------
    dout : ndarray of shape (N, C, H, W), upstream gradient
    cache : from the forward pass

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dgamma, dbeta : ndarrays of shape (C,)
    """
    x, out, gamma, mean, inv_std, compiled = cache
    check_upstream(dout, x.shape, "(N, C, H, W) of x")
    M = x.shape[0] * x.shape[2] * x.shape[3]
    if compiled is not None:
        dout = np.ascontiguousarray(dout, dtype=x.dtype)
        dx = _pool.empty(x.shape, x.dtype)
        dgamma, dbeta = np.empty_like(gamma), np.empty_like(gamma)
        compiled.batchnorm_relu_backward(dout, x, out, gamma.astype(np.float64), mean, inv_std,
                                         dx, dgamma, dbeta, _backend.threads())
        return dx, dgamma, dbeta
    # The same arithmetic in numpy: elementwise in x's dtype, sums in double.
    column = (slice(None), None, None)
    dy = np.where(out > 0, dout, dout.dtype.type(0))  # a select, as the compiled kernel: 0 where out <= 0, even for NaN
    centred = x - mean.astype(x.dtype)[column]
    sum_dy = dy.sum(axis=(0, 2, 3), dtype=np.float64)
    sum_dy_xhat = (dy * centred).sum(axis=(0, 2, 3), dtype=np.float64) * inv_std
    a = gamma * inv_std
    b, c = a * inv_std * sum_dy_xhat / M, a * sum_dy / M
    dx = a.astype(x.dtype)[column] * dy - b.astype(x.dtype)[column] * centred - c.astype(x.dtype)[column]
    return dx.astype(x.dtype, copy=False), sum_dy_xhat.astype(gamma.dtype), sum_dy.astype(gamma.dtype)

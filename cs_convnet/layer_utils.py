"""Sandwich layers: common sequences of layers as one forward/backward pair.

Provided code, as in CS231n. Each forward returns ``(out, cache)`` where the
cache is the tuple of its layers' caches; each backward runs the layers'
backwards in reverse order. Convolutions and pooling use the fast layers
(:mod:`cs_convnet.fast_layers`), which compute the same values as the naive
ones in :mod:`cs_convnet.layers`.

The convolutional backwards take ``need_dx=True``: a network's first layer,
whose input is the images, can pass False to skip the gradient of x (then
returned as None), which saves a matrix product and a col2im.
"""

from .fast_layers import conv_backward_fast, conv_forward_fast, max_pool_backward_fast, max_pool_forward_fast
from .layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward_alt,
    batchnorm_forward,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)


def affine_relu_forward(x, w, b):
    """Affine layer followed by a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k)
    w : ndarray of shape (D, M), D = d_1 * ... * d_k
    b : ndarray of shape (M,)

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : tuple (fc_cache, relu_cache) for :func:`affine_relu_backward`
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of :func:`affine_relu_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
    cache : from :func:`affine_relu_forward`

    Returns
    -------
    dx : ndarray of shape (N, d_1, ..., d_k)
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine layer, batch normalization, ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k)
    w : ndarray of shape (D, M)
    b, gamma, beta : ndarrays of shape (M,)
    bn_param : dict of :func:`cs_convnet.layers.batchnorm_forward`

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : tuple (fc_cache, bn_cache, relu_cache)
    """
    a, fc_cache = affine_forward(x, w, b)
    an, bn_cache = batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (fc_cache, bn_cache, relu_cache)


def affine_bn_relu_backward(dout, cache):
    """Backward pass of :func:`affine_bn_relu_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
    cache : from :func:`affine_bn_relu_forward`

    Returns
    -------
    dx : ndarray of shape (N, d_1, ..., d_k)
    dw : ndarray of shape (D, M)
    db, dgamma, dbeta : ndarrays of shape (M,)
    """
    fc_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = batchnorm_backward_alt(dan, bn_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """Convolution followed by a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict with 'stride' and 'pad'

    Returns
    -------
    out : ndarray of shape (N, F, H', W'), ``H' = (H - HH + 2*pad) / stride + 1``
        and likewise W'
    cache : tuple (conv_cache, relu_cache) for :func:`conv_relu_backward`
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache, need_dx=True):
    """Backward pass of :func:`conv_relu_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
    cache : from :func:`conv_relu_forward`
    need_dx : bool, False returns dx as None (first layer)

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    conv_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return conv_backward_fast(da, conv_cache, need_dx=need_dx)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, max pooling.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict with 'stride' and 'pad'
    pool_param : dict with 'pool_height', 'pool_width', 'stride' (optional 'floor')

    Returns
    -------
    out : ndarray of shape (N, F, H'', W''): the pooled (N, F, H', W') conv output
    cache : tuple (conv_cache, pool_cache, relu_cache) for :func:`conv_relu_pool_backward`

    Notes
    -----
    The ReLU runs after the pooling, on a quarter of the values for 2x2 windows:
    ``max(relu(a)) == relu(max(a))`` because the ReLU never reverses an order, and the
    gradients agree too (both send ``dout`` to the window's maximum where it is positive,
    and nowhere where it is not).
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    pooled, pool_cache = max_pool_forward_fast(a, pool_param)
    out, relu_cache = relu_forward(pooled)
    return out, (conv_cache, pool_cache, relu_cache)


def conv_relu_pool_backward(dout, cache, need_dx=True):
    """Backward pass of :func:`conv_relu_pool_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H'', W'')
    cache : from :func:`conv_relu_pool_forward`
    need_dx : bool, False returns dx as None (first layer)

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    conv_cache, pool_cache, relu_cache = cache
    dpooled = relu_backward(dout, relu_cache)
    da = max_pool_backward_fast(dpooled, pool_cache)
    return conv_backward_fast(da, conv_cache, need_dx=need_dx)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Convolution, spatial batch normalization, ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b, gamma, beta : ndarrays of shape (F,)
    conv_param : dict with 'stride' and 'pad'
    bn_param : dict of :func:`cs_convnet.layers.spatial_batchnorm_forward`

    Returns
    -------
    out : ndarray of shape (N, F, H', W')
    cache : tuple (conv_cache, bn_cache, relu_cache) for :func:`conv_bn_relu_backward`
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache, need_dx=True):
    """Backward pass of :func:`conv_bn_relu_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
    cache : from :func:`conv_bn_relu_forward`
    need_dx : bool, False returns dx as None (first layer)

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
    dw : ndarray of shape (F, C, HH, WW)
    db, dgamma, dbeta : ndarrays of shape (F,)
    """
    conv_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache, need_dx=need_dx)
    return dx, dw, db, dgamma, dbeta

"""Layers of a neural network, each a forward/backward pair.

Learners write the bodies between ``### BEGIN SOLUTION`` and
``### END SOLUTION``; the input checks above each region are provided, so a
bad shape gets the same clear error whoever wrote the body.

The contract, as in CS231n:

- ``*_forward(inputs..., param) -> (out, cache)``
- ``*_backward(dout, cache) -> gradients of the forward's array inputs, in order``

The cache is a plain tuple of whatever the backward pass needs.
"""

import numbers

import numpy as np

from .shape_checks import (
    check_batchnorm,
    check_labels,
    check_ndim,
    check_scores,
    check_upstream,
    conv_geometry,
    float_dtype,
    pool_geometry,
)


# --------------------------------------------------------------------------
# Fully-connected (affine) layer
# --------------------------------------------------------------------------

def affine_forward(x, w, b):
    """Affine (fully-connected) layer: ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k)
        A minibatch of N examples, each of D = d_1 * ... * d_k numbers.
    w : ndarray of shape (D, M)
    b : ndarray of shape (M,)

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : tuple (x, w, b)
    """
    if not isinstance(x, np.ndarray) or x.ndim < 1:
        raise ValueError(f"x must be an array of shape (N, d_1, ..., d_k), got {getattr(x, 'shape', type(x))}")
    check_ndim(w, 2, "w", "(D, M)")
    D = int(np.prod(x.shape[1:]))
    if w.shape[0] != D:
        raise ValueError(
            f"x of shape {x.shape} has D = {' * '.join(map(str, x.shape[1:])) or '1'} = {D} "
            f"features per example but w of shape {w.shape} expects D = {w.shape[0]}"
        )
    if not isinstance(b, np.ndarray) or b.shape != (w.shape[1],):
        raise ValueError(f"b must have shape (M,) = ({w.shape[1]},), got {getattr(b, 'shape', type(b))}")
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], D) @ w + b
    ### END SOLUTION
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : tuple (x, w, b) from :func:`affine_forward`
        x of shape (N, d_1, ..., d_k), w of shape (D, M), b of shape (M,).

    Returns
    -------
    dx : ndarray of shape (N, d_1, ..., d_k)
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    x, w, b = cache
    check_upstream(dout, (x.shape[0], w.shape[1]), "(N, M)")
    ### BEGIN SOLUTION
    x_rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_rows.T @ dout
    db = dout.sum(axis=0)
    ### END SOLUTION
    return dx, dw, db


# --------------------------------------------------------------------------
# ReLU
# --------------------------------------------------------------------------

def relu_forward(x):
    """Rectified linear unit: ``out = max(0, x)`` elementwise.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray, same shape as x
    cache : x
    """
    if not isinstance(x, np.ndarray):
        raise ValueError(f"x must be a numpy array, got {type(x).__name__}")
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    ### END SOLUTION
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`.

    Parameters
    ----------
    dout : ndarray, upstream gradient, same shape as x
    cache : x, the input of the forward pass

    Returns
    -------
    dx : ndarray, same shape as x. The gradient flows where ``x > 0``.
    """
    x = cache
    check_upstream(dout, x.shape, "(same as x)")
    ### BEGIN SOLUTION
    dx = dout * (x > 0)
    ### END SOLUTION
    return dx


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------

def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the minibatch.

    ``L = 1/N * sum_i sum_{j != y_i} max(0, x_ij - x_iy_i + 1)``

    Parameters
    ----------
    x : ndarray of shape (N, C), class scores
    y : int ndarray of shape (N,), labels with 0 <= y[i] < C

    Returns
    -------
    loss : float
    dx : ndarray of shape (N, C), gradient of the loss with respect to x
    """
    check_scores(x)
    check_labels(y, x.shape[0], x.shape[1])
    ### BEGIN SOLUTION
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0
    loss = margins.sum() / N
    positive = (margins > 0).astype(float_dtype(x))  # integer scores give float gradients
    dx = positive
    dx[rows, y] -= positive.sum(axis=1)
    dx /= N
    ### END SOLUTION
    return float(loss), dx


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss, averaged over the minibatch.

    ``L = -1/N * sum_i log(exp(x_iy_i) / sum_j exp(x_ij))``, computed after
    subtracting each row's maximum so that ``exp`` cannot overflow.

    Parameters
    ----------
    x : ndarray of shape (N, C), class scores
    y : int ndarray of shape (N,), labels with 0 <= y[i] < C

    Returns
    -------
    loss : float
    dx : ndarray of shape (N, C), gradient of the loss with respect to x
    """
    check_scores(x)
    check_labels(y, x.shape[0], x.shape[1])
    ### BEGIN SOLUTION
    N = x.shape[0]
    rows = np.arange(N)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / N
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    ### END SOLUTION
    return float(loss), dx


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------

def conv_forward_naive(x, w, b, conv_param):
    """Convolutional layer, written with explicit loops (the teaching version).

    Each of the F filters is slid over the zero-padded input with the given
    stride; at every position the output is the dot product of the filter with
    the input window across all C channels, plus the filter's bias.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict
        'stride': int >= 1, step between neighbouring windows (both axes).
        'pad': int >= 0, zeros added on every side of H and W.

    Returns
    -------
    out : ndarray of shape (N, F, H', W') with
        ``H' = (H - HH + 2*pad) / stride + 1`` and
        ``W' = (W - WW + 2*pad) / stride + 1``; both must be whole numbers.
        Computed in the common floating dtype of x, w and b (float64 if all are integers).
    cache : tuple (x, w, b, conv_param)

    Raises
    ------
    ValueError
        For wrong dimensions, channels of x and w that disagree, stride < 1,
        pad < 0, a filter larger than the padded input, or an output size that
        is not a whole number.
    """
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    ### BEGIN SOLUTION
    N = x.shape[0]
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out), dtype=float_dtype(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x_pad[n, :, top:top + HH, left:left + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    ### END SOLUTION
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass of :func:`conv_forward_naive`, with explicit loops.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W'), upstream gradient
    cache : tuple (x, w, b, conv_param) from :func:`conv_forward_naive`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    x, w, b, conv_param = cache
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    check_upstream(dout, (x.shape[0], w.shape[0], H_out, W_out), "(N, F, H', W')")
    ### BEGIN SOLUTION
    N, F = dout.shape[:2]
    _, _, HH, WW = w.shape
    H, W = x.shape[2], x.shape[3]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad, dtype=float_dtype(dout, w))
    dw = np.zeros_like(w, dtype=float_dtype(dout, x))
    db = dout.sum(axis=(0, 2, 3), dtype=dw.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    g = dout[n, f, i, j]
                    dw[f] += g * x_pad[n, :, top:top + HH, left:left + WW]
                    dx_pad[n, :, top:top + HH, left:left + WW] += g * w[f]
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    ### END SOLUTION
    return dx, dw, db


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------

def max_pool_forward_naive(x, pool_param):
    """Max pooling, written with loops over the output positions.

    Windows may overlap (stride < window, e.g. 3x3 with stride 2).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    pool_param : dict
        'pool_height', 'pool_width': window size (ints >= 1);
        'stride': step between windows (int >= 1);
        'floor' (optional, default False): if True, rows and columns that do
        not fill a whole window at the bottom/right are dropped instead of
        raising an error.

    Returns
    -------
    out : ndarray of shape (N, C, H', W') with
        ``H' = (H - pool_height) / stride + 1`` and
        ``W' = (W - pool_width) / stride + 1``.
    cache : tuple (x, pool_param)
    """
    pool_height, pool_width, stride, H_out, W_out = pool_geometry(x, pool_param)
    ### BEGIN SOLUTION
    N, C = x.shape[:2]
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            window = x[:, :, top:top + pool_height, left:left + pool_width]
            out[:, :, i, j] = window.max(axis=(2, 3))
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Backward pass of :func:`max_pool_forward_naive`.

    Each window passes its upstream gradient to the position of its maximum
    (the "switch"); when several entries tie for the maximum, the first in
    row-major order within the window receives it. Where windows overlap, an
    input can be the maximum of several windows and its gradients add up.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W'), upstream gradient
    cache : tuple (x, pool_param) from :func:`max_pool_forward_naive`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, pool_param = cache
    pool_height, pool_width, stride, H_out, W_out = pool_geometry(x, pool_param)
    check_upstream(dout, x.shape[:2] + (H_out, W_out), "(N, C, H', W')")
    ### BEGIN SOLUTION
    N, C = dout.shape[:2]
    dx = np.zeros_like(x, dtype=float_dtype(x, dout))
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            window = x[:, :, top:top + pool_height, left:left + pool_width]
            flat_argmax = window.reshape(N, C, -1).argmax(axis=2)
            di, dj = np.unravel_index(flat_argmax, (pool_height, pool_width))
            dx[n_idx, c_idx, top + di, left + dj] += dout[:, :, i, j]
    ### END SOLUTION
    return dx


def avg_pool_forward_naive(x, pool_param):
    """Average pooling, written with loops over the output positions.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    pool_param : dict with 'pool_height', 'pool_width', 'stride' and optional
        'floor', as in :func:`max_pool_forward_naive`.

    Returns
    -------
    out : ndarray of shape (N, C, H', W'), the mean of each window, with
        ``H' = (H - pool_height) / stride + 1``, ``W' = (W - pool_width) / stride + 1``;
        float64 for integer x (a mean of integers is not an integer), else the dtype of x.
    cache : tuple (x, pool_param)
    """
    pool_height, pool_width, stride, H_out, W_out = pool_geometry(x, pool_param)
    ### BEGIN SOLUTION
    N, C = x.shape[:2]
    out = np.empty((N, C, H_out, W_out), dtype=float_dtype(x))  # a mean of integers is not an integer
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            out[:, :, i, j] = x[:, :, top:top + pool_height, left:left + pool_width].mean(axis=(2, 3))
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def avg_pool_backward_naive(dout, cache):
    """Backward pass of :func:`avg_pool_forward_naive`.

    Each window spreads its upstream gradient evenly over its
    ``pool_height * pool_width`` inputs; overlapping windows add up.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W'), upstream gradient
    cache : tuple (x, pool_param) from :func:`avg_pool_forward_naive`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, pool_param = cache
    pool_height, pool_width, stride, H_out, W_out = pool_geometry(x, pool_param)
    check_upstream(dout, x.shape[:2] + (H_out, W_out), "(N, C, H', W')")
    ### BEGIN SOLUTION
    dx = np.zeros_like(x, dtype=float_dtype(x, dout))
    share = dout / (pool_height * pool_width)
    for i in range(H_out):
        for j in range(W_out):
            top, left = i * stride, j * stride
            dx[:, :, top:top + pool_height, left:left + pool_width] += share[:, :, i, j, None, None]
    ### END SOLUTION
    return dx


# --------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization over the minibatch, with running statistics.

    In training mode each feature is normalized with the minibatch's mean and
    (biased) variance, then scaled by ``gamma`` and shifted by ``beta``;
    exponential running averages of the mean and variance are kept in
    ``bn_param``::

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var  = momentum * running_var  + (1 - momentum) * sample_var

    In test mode the running averages replace the minibatch statistics.

    Parameters
    ----------
    x : ndarray of shape (N, D)
    gamma : ndarray of shape (D,), scale
    beta : ndarray of shape (D,), shift
    bn_param : dict
        'mode': 'train' or 'test' (required);
        'eps': added to the variance for stability (default 1e-5);
        'momentum': of the running averages (default 0.9);
        'running_mean', 'running_var': ndarrays of shape (D,), created as
        zeros on first use; the dict entries are replaced by the updated
        averages after each training-mode call.

    Returns
    -------
    out : ndarray of shape (N, D)
    cache : whatever :func:`batchnorm_backward` needs; here the tuple
        (mode, x_hat, gamma, inv_std) with x_hat of shape (N, D) and
        inv_std = 1 / sqrt(var + eps) of shape (D,)
    """
    mode, eps, momentum = check_batchnorm(x, gamma, beta, bn_param)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    cache = None
    ### BEGIN SOLUTION
    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    cache = (mode, x_hat, gamma, inv_std)
    ### END SOLUTION
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward`, step by step through the
    computational graph.

    In training mode the minibatch mean and variance depend on every row of
    x, so each input receives gradient through them; in test mode they are
    constants and ``dx = dout * gamma * inv_std``.

    Parameters
    ----------
    dout : ndarray of shape (N, D), upstream gradient
    cache : from :func:`batchnorm_forward`

    Returns
    -------
    dx : ndarray of shape (N, D)
    dgamma : ndarray of shape (D,)
    dbeta : ndarray of shape (D,)
    """
    check_ndim(dout, 2, "dout", "(N, D)")
    ### BEGIN SOLUTION
    mode, x_hat, gamma, inv_std = cache
    check_upstream(dout, x_hat.shape, "(N, D)")
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if mode == "test":
        return dx_hat * inv_std, dgamma, dbeta
    # x_hat = xc * inv_std, with xc = x - mean, var = mean(xc**2) and inv_std = (var + eps)**-1/2
    xc = x_hat / inv_std
    dinv_std = (dx_hat * xc).sum(axis=0)
    dvar = dinv_std * -0.5 * inv_std ** 3
    dxc = dx_hat * inv_std + dvar * 2.0 * xc / N
    dx = dxc - dxc.sum(axis=0) / N
    ### END SOLUTION
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of :func:`batchnorm_forward` in one simplified expression::

        dx = gamma * inv_std / N * (N * dout - sum(dout) - x_hat * sum(dout * x_hat))

    (sums over the minibatch axis), or ``dx = dout * gamma * inv_std`` in test
    mode. Same inputs and outputs as :func:`batchnorm_backward`.

    Parameters
    ----------
    dout : ndarray of shape (N, D), upstream gradient
    cache : the cache of :func:`batchnorm_forward`

    Returns
    -------
    dx : ndarray of shape (N, D)
    dgamma, dbeta : ndarrays of shape (D,)
    """
    check_ndim(dout, 2, "dout", "(N, D)")
    ### BEGIN SOLUTION
    mode, x_hat, gamma, inv_std = cache
    check_upstream(dout, x_hat.shape, "(N, D)")
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    if mode == "test":
        return dout * gamma * inv_std, dgamma, dbeta
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)
    ### END SOLUTION
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch normalization: one mean and variance per channel, over N, H and W.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    gamma, beta : ndarrays of shape (C,)
    bn_param : dict, as in :func:`batchnorm_forward` (running statistics of shape (C,))

    Returns
    -------
    out : ndarray of shape (N, C, H, W)
    cache : used by :func:`spatial_batchnorm_backward`
    """
    check_batchnorm(x, gamma, beta, bn_param, ndim=4, layout="(N, C, H, W)")
    N, C, H, W = x.shape
    ### BEGIN SOLUTION
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out_rows, cache = batchnorm_forward(rows, gamma, beta, bn_param)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H, W)
    cache : from :func:`spatial_batchnorm_forward`

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dgamma, dbeta : ndarrays of shape (C,)
    """
    check_ndim(dout, 4, "dout", "(N, C, H, W)")
    N, C, H, W = dout.shape
    ### BEGIN SOLUTION
    drows = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx_rows, dgamma, dbeta = batchnorm_backward_alt(drows, cache)
    dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------

def dropout_forward(x, dropout_param):
    """Inverted dropout.

    In training mode each unit is kept with probability ``p`` and the kept
    units are divided by ``p``, so that the expected output equals ``x`` and
    test mode is the identity.

    Parameters
    ----------
    x : ndarray of any shape
    dropout_param : dict
        'p': keep probability, 0 < p <= 1 (required);
        'mode': 'train' or 'test' (required);
        'seed': optional int, makes the mask reproducible.

    Returns
    -------
    out : ndarray, same shape as x
    cache : tuple (dropout_param, mask); mask is None in test mode
    """
    if not isinstance(dropout_param, dict):
        raise ValueError(f"dropout_param must be a dict with keys 'p' and 'mode', got {type(dropout_param).__name__}")
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must be a floating-point numpy array, got {getattr(x, 'dtype', type(x).__name__)}")
    p, mode = dropout_param.get("p"), dropout_param.get("mode")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
        raise ValueError(f"dropout_param['p'] is the keep probability and must lie in (0, 1], got {p!r}")
    if mode not in ("train", "test"):
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    seed = dropout_param.get("seed")
    if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise ValueError(f"dropout_param['seed'] must be None or an integer >= 0, got {seed!r}")
    rng = np.random.default_rng(seed)
    mask = None
    ### BEGIN SOLUTION
    if mode == "train":
        mask = (rng.random(x.shape) < p).astype(x.dtype) / x.dtype.type(p)
        out = x * mask
    else:
        out = x
    ### END SOLUTION
    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`.

    Parameters
    ----------
    dout : ndarray, upstream gradient, same shape as x
    cache : tuple (dropout_param, mask) from :func:`dropout_forward`

    Returns
    -------
    dx : ndarray, same shape as x
    """
    dropout_param, mask = cache
    if mask is not None:
        check_upstream(dout, mask.shape, "(same as x)")
    ### BEGIN SOLUTION
    # The mask records what the forward did; the dict's 'mode' may have changed since.
    dx = dout if mask is None else dout * mask
    ### END SOLUTION
    return dx

"""Validation of layer inputs and the spatial arithmetic of conv and pool layers.

Provided code: every layer (naive, numpy, Cython) calls these helpers first, so
all of them accept the same inputs and reject bad ones with the same
``ValueError``, whose message names the shapes, the values and the formula.

The output size of a convolution along one axis (CS231n notes)::

    out = (W - F + 2P) / S + 1

where W is the input size, F the filter size, P the zero padding and S the
stride. It must be a whole number: a filter that does not tile the padded
input is a mistake, so we raise instead of silently flooring.
"""

import numbers

import numpy as np


def _as_int(value, name, minimum):
    """Return ``value`` as an int, or raise if it is not an integer >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_ndim(array, ndim, name, layout):
    """Raise unless ``array`` is an ndarray with ``ndim`` dimensions laid out as ``layout``."""
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of shape {layout}, got {type(array).__name__}")
    if array.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions {layout}, got shape {array.shape} ({array.ndim} dimensions)"
        )


def output_size(size, filter_size, pad, stride, axis, *, floor=False):
    """Output length along one axis: ``(size - filter_size + 2*pad) // stride + 1``.

    Parameters
    ----------
    size, filter_size, pad, stride : int
        Input length W, filter length F, zero padding P, stride S.
    axis : str
        Name of the axis ("height" or "width"), used in error messages.
    floor : bool
        If False (the default), ``(W - F + 2P)`` must be divisible by ``S``.
        If True, windows that would run past the end are dropped, as in
        PyTorch's pooling with ``ceil_mode=False``.

    Raises
    ------
    ValueError
        If the window is larger than the padded input, or the windows do not
        tile the padded input and ``floor`` is False.
    """
    span = size - filter_size + 2 * pad
    formula = f"(W - F + 2P)/S + 1 = ({size} - {filter_size} + 2*{pad})/{stride} + 1"
    if span < 0:
        raise ValueError(
            f"window {axis} {filter_size} is larger than the padded input {axis} "
            f"{size} + 2*{pad} = {size + 2 * pad}; {formula} < 1"
        )
    if span % stride and not floor:
        raise ValueError(
            f"invalid {axis} hyperparameters: {formula} = {span / stride + 1:g} is not a whole number; "
            f"choose a pad or stride so that {stride} divides W - F + 2P = {span}"
        )
    return span // stride + 1


def conv_geometry(x, w, b, conv_param):
    """Validate the inputs of a convolution and return its geometry.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict with int keys 'stride' (>= 1) and 'pad' (>= 0)

    Returns
    -------
    stride, pad, H_out, W_out : int
    """
    check_ndim(x, 4, "x", "(N, C, H, W)")
    check_ndim(w, 4, "w", "(F, C, HH, WW)")
    if not isinstance(b, np.ndarray) or b.shape != (w.shape[0],):
        got = b.shape if isinstance(b, np.ndarray) else type(b).__name__
        raise ValueError(f"b must have shape (F,) = ({w.shape[0]},) to match w of shape {w.shape}, got {got}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"channels disagree: x of shape {x.shape} has C={x.shape[1]} channels "
            f"but w of shape {w.shape} expects C={w.shape[1]}"
        )
    if w.shape[2] < 1 or w.shape[3] < 1:
        raise ValueError(f"filters must be at least 1x1, got w of shape {w.shape} (HH={w.shape[2]}, WW={w.shape[3]})")
    stride, pad = _params(conv_param, "conv_param", {"stride": 1, "pad": 0})
    H_out = output_size(x.shape[2], w.shape[2], pad, stride, "height")
    W_out = output_size(x.shape[3], w.shape[3], pad, stride, "width")
    return stride, pad, H_out, W_out


def pool_geometry(x, pool_param):
    """Validate the inputs of a pooling layer and return its geometry.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    pool_param : dict with int keys 'pool_height', 'pool_width', 'stride' (all >= 1)
        and optional bool 'floor' (default False): drop the last rows and
        columns that do not fill a whole window (PyTorch's default) instead of
        raising.

    Returns
    -------
    pool_height, pool_width, stride, H_out, W_out : int
    """
    check_ndim(x, 4, "x", "(N, C, H, W)")
    pool_height, pool_width, stride = _params(
        pool_param, "pool_param", {"pool_height": 1, "pool_width": 1, "stride": 1}, optional={"floor"}
    )
    floor = pool_param.get("floor", False)
    if not isinstance(floor, (bool, np.bool_)):
        raise ValueError(f"pool_param['floor'] must be True or False, got {floor!r} ({type(floor).__name__})")
    floor = bool(floor)
    H_out = output_size(x.shape[2], pool_height, 0, stride, "height", floor=floor)
    W_out = output_size(x.shape[3], pool_width, 0, stride, "width", floor=floor)
    return pool_height, pool_width, stride, H_out, W_out


def _params(param, name, minimums, optional=()):
    """Read the integer entries ``minimums`` (key -> minimum) from the dict ``param``."""
    if not isinstance(param, dict):
        raise ValueError(f"{name} must be a dict with keys {sorted(minimums)}, got {type(param).__name__}")
    missing = [key for key in minimums if key not in param]
    unknown = [key for key in param if key not in minimums and key not in optional]
    if missing or unknown:
        raise ValueError(
            f"{name} must have the keys {sorted(minimums)}"
            + (f" (optional: {sorted(optional)})" if optional else "")
            + f"; missing {missing}, unknown {unknown}"
        )
    return [_as_int(param[key], f"{name}['{key}']", minimum) for key, minimum in minimums.items()]


def float_dtype(*arrays):
    """The dtype a layer computes in: numpy's common dtype of ``arrays`` if it is floating,
    else float64 (integer images are averaged and convolved in float64, never truncated)."""
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def check_upstream(dout, expected_shape, layout):
    """Raise unless the upstream gradient ``dout`` has the forward output's shape ``expected_shape``."""
    if not isinstance(dout, np.ndarray) or dout.shape != tuple(expected_shape):
        got = dout.shape if isinstance(dout, np.ndarray) else type(dout).__name__
        raise ValueError(
            f"dout must have the shape of the forward output {layout} = {tuple(expected_shape)}, got {got}"
        )


def check_labels(y, num_samples, num_classes):
    """Validate class labels ``y`` of shape (N,) with values in [0, num_classes)."""
    if not isinstance(y, np.ndarray) or y.shape != (num_samples,):
        got = y.shape if isinstance(y, np.ndarray) else type(y).__name__
        raise ValueError(f"y must be an array of shape (N,) = ({num_samples},), got {got}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if num_samples and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"labels out of range: y holds values in [{y.min()}, {y.max()}] "
            f"but scores have C={num_classes} classes, so labels must lie in [0, {num_classes - 1}]"
        )


def check_scores(x, name="x"):
    """Validate a score matrix of shape (N, C) with at least one class."""
    check_ndim(x, 2, name, "(N, C)")
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have at least one class column, got shape {x.shape}")

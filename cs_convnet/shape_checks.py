"""Validation of layer inputs and the spatial arithmetic of conv and pool layers.

Provided code: every layer (naive, numpy, Cython) calls these helpers first, so
all of them accept the same inputs and reject bad ones with the same
``ValueError``, whose message names the shapes, the values and the formula.
The checks of batchnorm's inputs, of the update rules' arguments and of the
models' constructor arguments live here too: the learner files
(:data:`cs_convnet.boundary.LEARNER_FILES`) and the provided fast paths and
models call the same checks, and no provided module reaches into a file
learners edit.

The output size of a convolution along one axis (CS231n notes)::

    out = (W - F + 2P) / S + 1

where W is the input size, F the filter size, P the zero padding and S the
stride. It must be a whole number: a filter that does not tile the padded
input is a mistake, so we raise instead of silently flooring.
"""

import math
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


# --------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------

def check_batchnorm(x, gamma, beta, bn_param, ndim=2, layout="(N, D)", name="x"):
    """Validate batchnorm inputs (features or channels on axis 1); return (mode, eps, momentum)."""
    check_ndim(x, ndim, name, layout)
    D = x.shape[1]
    for param_name, param in (("gamma", gamma), ("beta", beta)):
        if not isinstance(param, np.ndarray) or param.shape != (D,):
            raise ValueError(f"{param_name} must have shape ({D},) to match {name} of shape {x.shape} {layout}, "
                             f"got {getattr(param, 'shape', type(param))}")
    if not isinstance(bn_param, dict):
        raise ValueError(f"bn_param must be a dict with key 'mode', got {type(bn_param).__name__}")
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"bn_param['eps'] must be a number > 0, got {eps!r}")
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
        raise ValueError(f"bn_param['momentum'] must be a number in [0, 1], got {momentum!r}")
    for key in ("running_mean", "running_var"):
        stat = bn_param.get(key)
        if stat is not None and (not isinstance(stat, np.ndarray) or stat.shape != (D,)):
            raise ValueError(f"bn_param['{key}'] must have shape ({D},) to match {name} of shape {x.shape} "
                             f"{layout}, got {getattr(stat, 'shape', type(stat))}")
    # Python floats: a numpy float64 scalar would silently turn float32 activations into float64.
    return mode, float(eps), float(momentum)


# --------------------------------------------------------------------------
# Update rules (cs_convnet.optim, cs_convnet.fast_optim)
# --------------------------------------------------------------------------

def check_config_number(rule, config, key, low, high=None, low_open=False):
    """Raise unless config[key] is a finite real number in [low, high), or (low, high) if low_open
    (high=None means no upper bound); store it back as a Python float."""
    value = config[key]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{rule}: config['{key}'] must be a finite number, got {value!r} ({type(value).__name__})")
    if (value <= low if low_open else value < low) or (high is not None and value >= high):
        interval = f"{'(' if low_open else '['}{low}, {'inf' if high is None else high})"
        raise ValueError(f"{rule}: config['{key}'] must lie in {interval}, got {value!r}")
    # A Python float: a numpy float64 scalar would silently turn float32 state into float64.
    config[key] = float(value)


def prepare_update(rule, w, dw, config, defaults, state):
    """Validate the arguments of an update rule and fill in its defaults.

    ``defaults`` maps hyperparameter names to default values; ``state`` names
    the rule's per-weight state: arrays created as zeros like w, and the
    step counter 't' (created as 0).
    """
    if not isinstance(w, np.ndarray) or not np.issubdtype(w.dtype, np.floating):
        raise ValueError(f"{rule}: w must be a floating-point numpy array, "
                         f"got {getattr(w, 'dtype', type(w).__name__)}")
    if not isinstance(dw, np.ndarray) or dw.shape != w.shape:
        raise ValueError(f"{rule}: dw must be an array of the shape of w {w.shape}, "
                         f"got {getattr(dw, 'shape', type(dw).__name__)}")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValueError(f"{rule}: config must be a dict or None, got {type(config).__name__}")
    known = set(defaults) | set(state)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"{rule}: unknown config keys {unknown}; valid keys are {sorted(known)}")
    for key, value in defaults.items():
        config.setdefault(key, value)
    for key in state:
        if key == "t":
            config.setdefault("t", 0)
            t = config["t"]
            if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral) or t < 0:
                raise ValueError(f"{rule}: config['t'] must be an integer >= 0, got {t!r}")
            continue
        if key not in config:  # not setdefault: that would build a zeros array on every call
            config[key] = np.zeros_like(w)
        if not isinstance(config[key], np.ndarray) or config[key].shape != w.shape:
            raise ValueError(
                f"{rule}: config['{key}'] must be an array of the shape of w {w.shape}, "
                f"got {getattr(config[key], 'shape', type(config[key]).__name__)}"
            )
    check_config_number(rule, config, "learning_rate", 0)
    return config


def prepare_adam(w, dw, config):
    """:func:`_prepare` with Adam's defaults and state, and its betas and epsilon checked
    (shared with :func:`cs_convnet.fast_optim.adam`)."""
    config = prepare_update(
        "adam", w, dw, config,
        {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, {"m", "v", "t"},
    )
    check_config_number("adam", config, "beta1", 0, 1)
    check_config_number("adam", config, "beta2", 0, 1)
    check_config_number("adam", config, "epsilon", 0, low_open=True)
    return config


# --------------------------------------------------------------------------
# Models' constructor and input arguments (cs_convnet.classifiers)
# --------------------------------------------------------------------------

def check_images(X, input_dim, dtype):
    """Raise unless X has shape (N, *input_dim); return it as ``dtype``."""
    if not isinstance(X, np.ndarray) or X.ndim != 4 or X.shape[1:] != tuple(input_dim):
        got = X.shape if isinstance(X, np.ndarray) else type(X).__name__
        raise ValueError(f"X must have shape (N, C, H, W) = (N, {', '.join(map(str, input_dim))}), got {got}")
    return X.astype(dtype, copy=False)


def is_int(value):
    """An integer (Python's or numpy's), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_finite_real(value):
    """A finite real number (Python's or numpy's), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and bool(np.isfinite(value))


def check_int(name, value, minimum, allow_none=False, error=ValueError):
    """Raise ``error`` unless ``value`` is an integer >= ``minimum`` (or None, if allowed); return it as int."""
    if value is None and allow_none:
        return None
    if not is_int(value) or value < minimum:
        expected = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise error(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_number(name, value, positive=False, error=ValueError):
    """Raise ``error`` unless ``value`` is a finite number >= 0 (> 0 if ``positive``); return it as float."""
    if not is_finite_real(value) or value < 0 or (positive and value == 0):
        raise error(f"{name} must be a {'positive' if positive else 'non-negative'} number, got {value!r}")
    return float(value)


def check_training_data(data):
    """Raise ValueError unless ``data`` is a dict of training and validation arrays with matching shapes.

    Returns ``(X_train, y_train, X_val, y_val)``.
    """
    needed = ("X_train", "y_train", "X_val", "y_val")
    if not isinstance(data, dict):
        raise ValueError(f"data must be a dict with keys {list(needed)}, got {type(data).__name__}")
    missing = [key for key in needed if key not in data]
    if missing:
        raise ValueError(f"data is missing the keys {missing}; it must hold {list(needed)}")
    arrays = []
    for split in ("train", "val"):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        if not isinstance(X, np.ndarray) or X.ndim < 2:
            raise ValueError(f"data['X_{split}'] must be an array of shape (N, ...), got "
                             f"{getattr(X, 'shape', type(X).__name__)}")
        if not isinstance(y, np.ndarray) or y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"data['y_{split}'] must be a 1-d integer array of labels, got "
                             f"{getattr(y, 'shape', type(y).__name__)} {getattr(y, 'dtype', '')}")
        if len(X) != len(y):
            raise ValueError(f"data['X_{split}'] has {len(X)} examples but data['y_{split}'] has {len(y)} labels")
        if len(X) == 0:
            raise ValueError(f"data['X_{split}'] is empty")
        arrays += [X, y]
    if arrays[0].shape[1:] != arrays[2].shape[1:]:
        raise ValueError(f"training examples of shape {arrays[0].shape[1:]} and validation examples of shape "
                         f"{arrays[2].shape[1:]} differ")
    return arrays


def check_reg(reg):
    if not is_finite_real(reg) or not 0 <= reg < math.inf:
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
    return float(reg)


def check_positive_ints(**values):
    """Raise unless every value is an integer >= 1 (message names the argument); return them as ints."""
    for name, value in values.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return [int(value) for value in values.values()]


def check_seed(value, name="seed"):
    if value is not None and (not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_))
                              or value < 0):
        raise ValueError(f"{name} must be None or an integer >= 0, got {value!r}")
    return None if value is None else int(value)


def check_keep_ratio(value):
    if not is_finite_real(value) or not 0 < value <= 1:
        raise ValueError(f"dropout_keep_ratio is the keep probability and must lie in (0, 1], got {value!r}")
    return float(value)


def check_normalization(value):
    if value not in (None, "batchnorm"):
        raise ValueError(f"normalization must be None or 'batchnorm', got {value!r}")
    return value


def check_weight_scale(value, he_default=False):
    """A finite standard deviation > 0 (or None, for He initialization, when ``he_default``)."""
    if value is None and he_default:
        return None
    if not is_finite_real(value) or not 0 < value < math.inf:
        expected = "None (He initialization) or a positive float" if he_default else "a positive number"
        raise ValueError(f"weight_scale must be {expected}, got {value!r}")
    return float(value)


def check_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype}")
    return dtype.type

"""First-order update rules, as in CS231n.

Every rule has the signature ``update(w, dw, config=None) -> (next_w, config)``:

- ``w`` : ndarray, the current weights (never modified in place);
- ``dw`` : ndarray of the shape of w, the gradient of the loss with respect to w;
- ``config`` : dict of hyperparameters and of the rule's state (velocity,
  moments, ...). It is filled with defaults on the first call, updated and
  returned; pass the returned dict to the next call for the same weights.

``next_w`` has the dtype of ``w``: float32 weights stay float32.

Learners write the bodies between ``### BEGIN SOLUTION`` / ``### END SOLUTION``;
the defaults and the checks above them are provided.
"""

import numbers

import numpy as np


def _number(rule, config, key, low, high=None, low_open=False):
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


def _prepare(rule, w, dw, config, defaults, state):
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
    _number(rule, config, "learning_rate", 0)
    return config


def _prepare_adam(w, dw, config):
    """:func:`_prepare` with Adam's defaults and state, and its betas and epsilon checked
    (shared with :func:`cs_convnet.fast_optim.adam`)."""
    config = _prepare(
        "adam", w, dw, config,
        {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, {"m", "v", "t"},
    )
    _number("adam", config, "beta1", 0, 1)
    _number("adam", config, "beta2", 0, 1)
    _number("adam", config, "epsilon", 0, low_open=True)
    return config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``w -= learning_rate * dw``.

    Parameters
    ----------
    w : ndarray of any shape, the weights
    dw : ndarray of the shape of w, the gradient of the loss
    config : dict or None
        'learning_rate': float (default 1e-2).

    Returns
    -------
    next_w : ndarray of the shape and dtype of w
    config : dict, with the defaults filled in
    """
    config = _prepare("sgd", w, dw, config, {"learning_rate": 1e-2}, {})
    ### BEGIN SOLUTION
    next_w = w - config["learning_rate"] * dw
    ### END SOLUTION
    return next_w.astype(w.dtype, copy=False), config


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum::

        v = momentum * v - learning_rate * dw
        w = w + v

    Parameters
    ----------
    w : ndarray of any shape, the weights
    dw : ndarray of the shape of w, the gradient of the loss
    config : dict or None, the hyperparameters and the velocity
        'learning_rate': float (default 1e-2);
        'momentum': float in [0, 1) (default 0.9), 0 gives plain sgd;
        'velocity': ndarray of the shape of w, a moving average of the
        gradients (default zeros).

    Returns
    -------
    next_w : ndarray of the shape and dtype of w
    config : dict, holding the new velocity
    """
    config = _prepare("sgd_momentum", w, dw, config, {"learning_rate": 1e-2, "momentum": 0.9}, {"velocity"})
    _number("sgd_momentum", config, "momentum", 0, 1)
    ### BEGIN SOLUTION
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    ### END SOLUTION
    return next_w.astype(w.dtype, copy=False), config


def rmsprop(w, dw, config=None):
    """RMSProp: divide the step by a moving average of squared gradients::

        cache = decay_rate * cache + (1 - decay_rate) * dw**2
        w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    Parameters
    ----------
    w : ndarray of any shape, the weights
    dw : ndarray of the shape of w, the gradient of the loss
    config : dict or None, the hyperparameters and the squared-gradient cache
        'learning_rate': float (default 1e-2);
        'decay_rate': float in [0, 1), decay of the squared-gradient cache (default 0.99);
        'epsilon': float > 0 that avoids dividing by zero (default 1e-8);
        'cache': ndarray of the shape of w, the moving average of squared
        gradients (default zeros).

    Returns
    -------
    next_w : ndarray of the shape and dtype of w
    config : dict, holding the new cache
    """
    config = _prepare(
        "rmsprop", w, dw, config, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}, {"cache"}
    )
    _number("rmsprop", config, "decay_rate", 0, 1)
    _number("rmsprop", config, "epsilon", 0, low_open=True)
    ### BEGIN SOLUTION
    decay = config["decay_rate"]
    cache = decay * config["cache"] + (1 - decay) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    ### END SOLUTION
    return next_w.astype(w.dtype, copy=False), config


def adam(w, dw, config=None):
    """Adam: moving averages of the gradient and its square, with bias correction::

        t = t + 1
        m = beta1 * m + (1 - beta1) * dw
        v = beta2 * v + (1 - beta2) * dw**2
        w = w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)

    The step count t is incremented before the bias correction, so the first
    update uses t = 1.

    Parameters
    ----------
    w : ndarray of any shape, the weights
    dw : ndarray of the shape of w, the gradient of the loss
    config : dict or None, the hyperparameters, the moments and the step count
        'learning_rate': float (default 1e-3);
        'beta1': decay of the first moment m, in [0, 1) (default 0.9);
        'beta2': decay of the second moment v, in [0, 1) (default 0.999);
        'epsilon': float > 0 that avoids dividing by zero (default 1e-8);
        'm', 'v': ndarrays of the shape of w (default zeros);
        't': int, the number of updates done so far (default 0).

    Returns
    -------
    next_w : ndarray of the shape and dtype of w
    config : dict, holding the new m, v and t
    """
    config = _prepare_adam(w, dw, config)
    ### BEGIN SOLUTION
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["t"], config["m"], config["v"] = t, m, v
    ### END SOLUTION
    return next_w.astype(w.dtype, copy=False), config


# The rules a Solver can name as a string.
UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}

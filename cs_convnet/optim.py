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

import numpy as np

from .shape_checks import check_config_number, prepare_adam, prepare_update


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
    config = prepare_update("sgd", w, dw, config, {"learning_rate": 1e-2}, {})
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
    config = prepare_update("sgd_momentum", w, dw, config, {"learning_rate": 1e-2, "momentum": 0.9}, {"velocity"})
    check_config_number("sgd_momentum", config, "momentum", 0, 1)
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
    config = prepare_update(
        "rmsprop", w, dw, config, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}, {"cache"}
    )
    check_config_number("rmsprop", config, "decay_rate", 0, 1)
    check_config_number("rmsprop", config, "epsilon", 0, low_open=True)
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
    config = prepare_adam(w, dw, config)
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

"""Fast Adam for training (provided, like the fast layers).

:func:`cs_convnet.optim.adam`, the learner's version, builds every
intermediate as a new array: on the 4.2M weights of the one-epoch
ThreeLayerConvNet that is about ten passes over 17 MB per step. This one
updates ``w``, ``m`` and ``v`` in place in a single pass
(``cython_ext/adam_cython.pyx``, split over the kernels' threads), or in a few
in-place numpy passes when the compiled module is missing or the backend is
numpy (:mod:`cs_convnet.kernels`). Same rule, same config keys, same defaults; the
tests compare the two.

Unlike the rules of :mod:`cs_convnet.optim`, it MODIFIES ``w`` IN PLACE and
returns it: :class:`cs_convnet.solver.Solver` is fine with that (it stores
copies for its best parameters and checkpoints).
"""

import numpy as np

from .kernels import backend as _backend
from .shape_checks import prepare_adam


def adam(w, dw, config=None):
    """Adam, in place: see :func:`cs_convnet.optim.adam` for the rule and the config keys.

    Parameters
    ----------
    w : ndarray of any shape, float32 or float64, the weights (updated in place)
    dw : ndarray of the shape of w, the gradient
    config : dict or None: 'learning_rate', 'beta1', 'beta2', 'epsilon', 'm', 'v', 't'

    Returns
    -------
    next_w : ``w`` itself, updated
    config : dict, holding the updated m, v and t
    """
    config = prepare_adam(w, dw, config)
    for key in ("m", "v"):  # the state in place needs w's dtype and a contiguous layout
        state = config[key]
        if state.dtype != w.dtype or not state.flags.c_contiguous or not state.flags.writeable:
            config[key] = np.ascontiguousarray(state, dtype=w.dtype).copy()
    t = config["t"] + 1
    lr, beta1, beta2, eps = (config[k] for k in ("learning_rate", "beta1", "beta2", "epsilon"))
    if not (w.flags.c_contiguous and w.flags.writeable):
        w = np.array(w, order="C")
    flat_w, m, v = w.reshape(-1), config["m"].reshape(-1), config["v"].reshape(-1)
    flat_dw = np.ascontiguousarray(dw, dtype=w.dtype).reshape(-1)
    compiled = _backend.compiled("adam_cython")
    if compiled is not None and w.dtype in (np.float32, np.float64):
        compiled.adam_update(flat_w, flat_dw, m, v, lr, beta1, beta2, eps, t, _backend.threads())
    else:
        scratch = np.multiply(flat_dw, 1 - beta1)
        m *= beta1
        m += scratch
        np.multiply(flat_dw, flat_dw, out=scratch)
        scratch *= 1 - beta2
        v *= beta2
        v += scratch
        np.divide(v, 1 - beta2**t, out=scratch)
        np.sqrt(scratch, out=scratch)
        scratch += eps
        np.divide(m, scratch, out=scratch)
        scratch *= lr / (1 - beta1**t)
        flat_w -= scratch
    config["t"] = t
    return w, config

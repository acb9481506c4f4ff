"""Numerical gradients by centred differences, and the relative error used to compare them.

Provided code. Centred differences ``(f(x + h) - f(x - h)) / 2h`` have an
error of order h**2; in float64 with h = 1e-5 a correct analytic gradient
typically agrees to a relative error below 1e-7.
"""

import numbers

import numpy as np


def rel_error(x, y):
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``.

    A relative error is scale-free: an absolute difference of 1e-4 is tiny for
    gradients of size 1e3 and huge for gradients of size 1e-5.

    Parameters
    ----------
    x, y : array_like of one shape (any), compared in float64

    Returns
    -------
    error : float, 0.0 for empty arrays

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error needs arrays of one shape, got {x.shape} and {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _check_point(x, name="x"):
    """Raise unless x is a writeable floating-point array (it is nudged in place)."""
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{name} must be a floating-point numpy array (it is nudged by h in place), "
            f"got {getattr(x, 'dtype', type(x).__name__)}"
        )
    if not x.flags.writeable:
        raise ValueError(f"{name} must be writeable: it is nudged by h in place and restored")


def _check_step(h):
    """Raise unless the step h is a finite number > 0 (h = 0 would divide by zero)."""
    if isinstance(h, (bool, np.bool_)) or not isinstance(h, numbers.Real) or not 0 < h < np.inf:
        raise ValueError(f"h is the step of the centred difference and must be a finite number > 0, got {h!r}")


def _nudged(x, index, delta, evaluate):
    """Evaluate ``evaluate()`` with ``x[index]`` moved by ``delta``, restoring x after.

    The result is copied to float64 BEFORE x is restored: a function may return
    x itself (dropout in test mode) or a view of it.
    """
    old = x[index].copy()
    x[index] = old + delta
    try:
        return np.array(evaluate(), dtype=np.float64, copy=True)
    finally:
        x[index] = old


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numerical gradient of a scalar function ``f`` at ``x``.

    Parameters
    ----------
    f : callable taking x and returning a float
    x : float ndarray of any shape, modified in place during the call and restored
    verbose : bool, print each entry's gradient as it is computed
    h : float, step of the centred difference

    Returns
    -------
    grad : ndarray, same shape as x
    """
    _check_point(x)
    _check_step(h)
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        f_plus = _nudged(x, index, h, lambda: f(x))
        f_minus = _nudged(x, index, -h, lambda: f(x))
        if f_plus.size != 1:
            raise ValueError(f"f must return a scalar, got an array of shape {f_plus.shape}; "
                             "use eval_numerical_gradient_array for array-valued functions")
        grad[index] = (f_plus - f_minus).item() / (2 * h)
        if verbose:
            print(index, grad[index])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of ``sum(f(x) * df)`` with respect to ``x``.

    This is the gradient a backward pass should return when ``df`` is the
    upstream gradient of an array-valued function ``f``.

    Parameters
    ----------
    f : callable taking x and returning an ndarray of the shape of df
    x : float ndarray of any shape, modified in place during the call and restored
    df : ndarray of the shape of f(x), upstream gradient
    h : float, step of the centred difference

    Returns
    -------
    grad : ndarray, same shape as x
    """
    _check_point(x)
    _check_step(h)
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        pos = _nudged(x, index, h, lambda: f(x))
        neg = _nudged(x, index, -h, lambda: f(x))
        if pos.shape != np.shape(df):
            raise ValueError(f"f(x) has shape {pos.shape} but the upstream gradient df has shape {np.shape(df)}")
        grad[index] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None, verbose=True):
    """Compare ``analytic_grad`` with numerical gradients at ``num_checks`` random entries.

    Parameters
    ----------
    f : callable taking x and returning a float
    x : float ndarray of any shape, modified in place during the call and restored
    analytic_grad : ndarray, same shape as x
    num_checks : int, how many random entries to check
    h : float, step of the centred difference
    seed : optional int, for the choice of entries
    verbose : bool, print each comparison (as CS231n does)

    Returns
    -------
    rel_errors : list of float, one per checked entry
    """
    _check_point(x)
    _check_step(h)
    if np.shape(analytic_grad) != x.shape:
        raise ValueError(f"analytic_grad has shape {np.shape(analytic_grad)} but x has shape {x.shape}")
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        index = tuple(int(rng.integers(m)) for m in x.shape)
        numeric = (_nudged(x, index, h, lambda: f(x)) - _nudged(x, index, -h, lambda: f(x))).item() / (2 * h)
        analytic = float(analytic_grad[index])
        error = rel_error(numeric, analytic)
        errors.append(error)
        if verbose:
            print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {error:e}")
    return errors

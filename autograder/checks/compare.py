"""Comparing a learner's output with the reference, and saying what is wrong.

Trusted code. Messages name the output, the shapes, how many entries differ
and where (border rows/columns, overlapping windows, ...) and a likely cause,
but never a hidden input or an expected value.
"""

import itertools

import numpy as np

from ..sandbox.protocol import Unsupported

RTOL = 1e-6     # relative tolerance, float64 results
ATOL = 1e-9     # absolute tolerance, relative to the largest expected magnitude (at least 1)


def describe_value(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, Unsupported):
        return f"a {value.what} (not a numeric array)"
    if value is None:
        return "None"
    if isinstance(value, list):
        return f"a sequence of {len(value)} values"
    return f"a {type(value).__name__}"


def as_array(value):
    """The value as a float64 array, or None if it is not numeric."""
    if isinstance(value, bool) or value is None or isinstance(value, (Unsupported, str, dict, list)):
        return None
    if isinstance(value, (int, float)):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, np.ndarray) and (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
        if np.iscomplexobj(value):
            return None
        return value.astype(np.float64)
    return None


def close_mask(expected, got, rtol=RTOL, atol=ATOL):
    """Boolean array: which entries of ``got`` agree with ``expected``."""
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(got - expected) <= atol * scale + rtol * np.abs(expected)


def compare(label, expected, got, *, hints=(), where=None, rtol=RTOL, atol=ATOL):
    """Return None when ``got`` matches ``expected``, else a message.

    Parameters
    ----------
    label : str, the name of the output ("dx", "loss", ...)
    expected : float or ndarray (trusted reference)
    got : whatever the learner returned
    hints : sequence of (alternative, explanation): if ``got`` matches the
        alternative (a known wrong result computed by trusted code), the
        explanation is given as the likely cause.
    where : optional callable(mismatch_mask) -> str or None, locating the
        differing entries for this kind of layer (e.g. "where windows overlap").
    """
    expected = np.asarray(expected, dtype=np.float64)
    scalar = expected.ndim == 0
    got_array = as_array(got)
    if got_array is None:
        want = "a number" if scalar else f"an array of shape {expected.shape}"
        return f"{label}: expected {want}, got {describe_value(got)}"
    if got_array.shape != expected.shape:
        if scalar and got_array.size == 1:
            got_array = got_array.reshape(())
        else:
            return f"{label}: expected shape {expected.shape}, got {got_array.shape}" + _shape_hint(expected, got_array)
    if isinstance(got, np.ndarray) and not np.issubdtype(got.dtype, np.floating):
        return f"{label}: expected floating-point values, got dtype {got.dtype} (integer or boolean arithmetic?)"
    finite = np.isfinite(got_array)
    if not finite.all():
        bad = int((~finite).sum())
        return (f"{label}: {bad} of {got_array.size} entries are nan or inf -- an overflow or a division by zero "
                "(exp of large scores? subtract each row's maximum before exponentiating)")
    ok = close_mask(expected, got_array, rtol, atol)
    if ok.all():
        return None
    for alternative, explanation in hints:
        alternative = np.asarray(alternative, dtype=np.float64)
        if alternative.shape == got_array.shape and close_mask(alternative, got_array, rtol, atol).all():
            return f"{label}: {'wrong value' if scalar else _extent(ok)}; likely cause: {explanation}"
    if scalar:
        return f"{label}: the value differs from the reference{_factor_hint(expected, got_array)}"
    message = f"{label}: {_extent(ok)}"
    located = where(~ok) if where is not None else None
    if located is None:
        located = _border_hint(~ok)
    if located:
        message += f"; {located}"
    return message + _factor_hint(expected, got_array) + _permutation_hint(expected, got_array)


def _extent(ok):
    bad = ~ok
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    fraction = bad.sum() / bad.size
    text = f"{int(bad.sum())} of {bad.size} entries differ ({fraction:.0%})"
    if bad.ndim and fraction < 1:
        text += f", the first at index {first}"
    return text


def _shape_hint(expected, got):
    if got.size == expected.size:
        if got.shape == expected.shape[::-1]:
            return " (transposed?)"
        if _is_transpose(expected, got):
            return " (the right values with the axes in another order: transposed?)"
        return " (same number of entries: reshape to the documented shape)"
    if 0 in got.shape:
        return " (an empty array: a slice such as [pad:-pad] is empty when pad = 0)"
    if expected.ndim == got.ndim == 4 and got.shape[:2] == expected.shape[:2]:
        return " (spatial size differs: check the output-size formula, the padding and the stride)"
    return ""


def _factor_hint(expected, got):
    """' (everything is k times the reference ...)' when got is a simple multiple of expected.

    Only simple factors (k or 1/k for a whole k, with either sign) are named:
    they point at a missing division or sign; any other ratio would say nothing.
    """
    e, g = expected.ravel(), got.ravel()
    denom = float(e @ e)
    if denom == 0:
        return ""
    if not np.any(g):
        return " (all zeros)"
    factor = float(e @ g) / denom
    if not np.isfinite(factor) or abs(factor - 1) < 1e-6 or abs(factor) < 1e-12:
        return ""
    if not np.allclose(g, factor * e, rtol=1e-6, atol=1e-9 * max(1.0, float(np.max(np.abs(e))))):
        return ""
    for k in (abs(factor), 1 / abs(factor)):
        if round(k) >= 1 and abs(k - round(k)) < 1e-6 * k:
            name = f"{round(k)}" if k == abs(factor) else f"1/{round(k)}"
            sign = "-" if factor < 0 else ""
            return f" (everything is {sign}{name} times the reference: a missing or extra scale factor or sign)"
    return ""


def _is_transpose(expected, got):
    """Whether ``got`` is ``expected`` with its axes permuted (up to 6 axes)."""
    if sorted(got.shape) != sorted(expected.shape) or expected.ndim > 6:
        return False
    return any(expected.transpose(axes).shape == got.shape and close_mask(expected.transpose(axes), got).all()
               for axes in itertools.permutations(range(expected.ndim)))


def _permutation_hint(expected, got):
    """' (the right values in the wrong places ...)' when got is a reordering of expected.

    That is what a transpose, or a reshape to the right shape from the wrong axis
    order, produces; a wrong computation almost never gives the same multiset of values.
    """
    if expected.size < 4 or np.unique(expected).size < 4:
        return ""
    want, have = np.sort(expected.ravel()), np.sort(got.ravel())
    if not close_mask(want, have).all():
        return ""
    return " (the right values in the wrong places: transposed, or reshaped in the wrong axis order?)"


def _border_hint(bad):
    """Say so when only the outer rows/columns of the last two axes differ."""
    if bad.ndim < 3:
        return None
    spatial = bad.reshape(-1, *bad.shape[-2:]).any(axis=0)
    H, W = spatial.shape
    if H < 3 or W < 3 or spatial.all():
        return None
    inner = spatial[1:-1, 1:-1]
    if not inner.any():
        return "only entries in the border rows/columns differ -- likely the padding or the windows at the edges"
    if not spatial[: H // 2 + 1, : W // 2 + 1].any():
        return "only entries towards the bottom/right differ -- likely a loop bound or the stride"
    return None

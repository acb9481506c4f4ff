"""Data augmentation for training batches: random crops with padding, horizontal flips.

Both act on a whole minibatch ``X`` of shape (N, C, H, W) at once, with no
Python loop over images, so augmenting a batch costs a few array copies and
not a noticeable share of the training step.

* ``random_crop(X, rng, padding)``: pad every image with ``padding`` zeros on
  each side, giving (N, C, H + 2P, W + 2P), then cut out an H x W window at an
  offset ``(dy, dx)`` drawn uniformly from ``{0, ..., 2P}^2`` per image. Image
  ``n`` of the result is ``padded[n, :, dy:dy + H, dx:dx + W]``. The windows are
  gathered in one fancy-indexing step over a strided view of all windows
  (``sliding_window_view``), so nothing of size (2P+1)^2 is ever copied.
  Zero is the padding value in the array's own units: on mean-subtracted data
  it stands for the mean image, as in the standard CIFAR-10 recipe.
* ``random_flip(X, rng, p)``: mirror each image left-right with probability p.
* ``Augment(padding, flip)``: both, as the ``augment=callable(X_batch, rng)``
  the Solver takes. It is a small class so it pickles with a checkpoint.

``rng`` is a ``numpy.random.Generator`` (or a legacy ``RandomState``); the same
seed gives the same augmented batch. The input is never modified.
"""

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .shape_checks import check_ndim


def _integers(rng, high, size):
    """Uniform integers in [0, high) from a Generator or a RandomState."""
    if isinstance(rng, np.random.Generator):
        return rng.integers(0, high, size=size)
    if isinstance(rng, np.random.RandomState):
        return rng.randint(0, high, size=size)
    raise ValueError(f"rng must be a numpy.random.Generator or RandomState, got {type(rng).__name__}")


def _uniform(rng, size):
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng.random(size)
    raise ValueError(f"rng must be a numpy.random.Generator or RandomState, got {type(rng).__name__}")


def _check_padding(padding):
    if isinstance(padding, (bool, np.bool_)) or not isinstance(padding, numbers.Integral) or padding < 0:
        raise ValueError(f"padding must be an integer >= 0, got {padding!r}")
    return int(padding)


def crop_windows(X, dy, dx, padding):
    """Cut image ``n`` of the zero-padded batch at offset ``(dy[n], dx[n])``.

    Parameters
    ----------
    X : ndarray of shape (N, C, H, W)
    dy, dx : int ndarrays of shape (N,)
        Offsets into the padded images, each in ``[0, 2 * padding]``;
        ``dy = dx = padding`` returns the image unchanged.
    padding : int
        Zeros added on each side before cropping.

    Returns
    -------
    out : ndarray of shape (N, C, H, W), a new array of X's dtype
        ``out[n] = pad(X)[n, :, dy[n]:dy[n] + H, dx[n]:dx[n] + W]``.
    """
    check_ndim(X, 4, "X", "(N, C, H, W)")
    padding = _check_padding(padding)
    N, C, H, W = X.shape
    dy, dx = np.asarray(dy), np.asarray(dx)
    for name, offsets in (("dy", dy), ("dx", dx)):
        if offsets.shape != (N,) or not np.issubdtype(offsets.dtype, np.integer):
            raise ValueError(f"{name} must be an integer array of shape ({N},), got {offsets.dtype} {offsets.shape}")
        if offsets.size and (offsets.min() < 0 or offsets.max() > 2 * padding):
            raise ValueError(f"{name} must lie in [0, 2*padding] = [0, {2 * padding}], got {offsets.min()}..{offsets.max()}")
    if padding == 0:
        return X.copy()
    padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=X.dtype)
    padded[:, :, padding:padding + H, padding:padding + W] = X
    # windows[n, c, i, j] is the H x W window of image n, channel c at offset (i, j): a view.
    windows = sliding_window_view(padded, (H, W), axis=(2, 3))
    # The two index arrays are split by a slice, so their broadcast axis (N) comes first: (N, C, H, W).
    return windows[np.arange(N), :, dy, dx]


def random_crop(X, rng, padding=4):
    """Random H x W crops of the zero-padded images, one offset per image.

    Parameters
    ----------
    X : ndarray of shape (N, C, H, W)
    rng : numpy.random.Generator or RandomState
    padding : int
        Zeros added on each side; offsets are uniform in ``{0, ..., 2*padding}``.

    Returns
    -------
    out : ndarray of shape (N, C, H, W), same dtype as X
    """
    check_ndim(X, 4, "X", "(N, C, H, W)")
    padding = _check_padding(padding)
    N = X.shape[0]
    offsets = _integers(rng, 2 * padding + 1, (2, N))
    return crop_windows(X, offsets[0], offsets[1], padding)


def random_flip(X, rng, p=0.5):
    """Mirror each image left-right (along W) with probability ``p``.

    Parameters
    ----------
    X : ndarray of shape (N, C, H, W)
    rng : numpy.random.Generator or RandomState
    p : float in [0, 1]

    Returns
    -------
    out : ndarray of shape (N, C, H, W), a new array
        ``out[n] = X[n, :, :, ::-1]`` for the flipped images, ``X[n]`` for the others.
    """
    check_ndim(X, 4, "X", "(N, C, H, W)")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    flip = _uniform(rng, X.shape[0]) < p
    out = X.copy()
    out[flip] = X[flip, :, :, ::-1]
    return out


class Augment:
    """Random crop (with zero padding) then random horizontal flip, per image.

    An instance is the ``augment`` callable of the Solver:
    ``augment(X_batch, rng) -> X_batch`` with X_batch of shape (N, C, H, W).

    Parameters
    ----------
    padding : int
        Crop padding on each side; 0 disables cropping. CIFAR-10 recipes use 4.
    flip : bool
        Whether to mirror half of the images left-right.
    """

    def __init__(self, padding=4, flip=True):
        self.padding = _check_padding(padding)
        if not isinstance(flip, (bool, np.bool_)):
            raise ValueError(f"flip must be True or False, got {flip!r}")
        self.flip = bool(flip)

    def __call__(self, X, rng):
        check_ndim(X, 4, "X", "(N, C, H, W)")
        out = random_crop(X, rng, self.padding) if self.padding else X.copy()
        if self.flip:
            flip = _uniform(rng, X.shape[0]) < 0.5
            out[flip] = out[flip, :, :, ::-1]
        return out

    def __repr__(self):
        return f"Augment(padding={self.padding}, flip={self.flip})"

    def __eq__(self, other):
        return isinstance(other, Augment) and (self.padding, self.flip) == (other.padding, other.flip)

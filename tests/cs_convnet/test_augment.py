"""Tests of cs_convnet.augment: random crops with zero padding and horizontal flips."""

import sys

import numpy as np
import pytest

from cs_convnet.augment import Augment, crop_windows, random_crop, random_flip
from support.tolerances import DTYPE_IDS, FLOAT_DTYPES


SHAPES = [(5, 3, 8, 8), (1, 3, 7, 11), (4, 2, 6, 5)]
SHAPE_IDS = ["square", "N=1-nonsquare", "nonsquare-H>W"]


def crop_reference(X, dy, dx, padding):
    """One image at a time, with np.pad: the definition the vectorised crop must match."""
    N, C, H, W = X.shape
    out = np.empty_like(X)
    for n in range(N):
        padded = np.pad(X[n], ((0, 0), (padding, padding), (padding, padding)))
        out[n] = padded[:, dy[n]:dy[n] + H, dx[n]:dx[n] + W]
    return out


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("padding", [0, 1, 4], ids=["pad0", "pad1", "pad4"])
def test_crop_windows_are_exact_shifted_windows_of_zero_padded_images(shape, dtype, padding, rng):
    """Is every crop exactly the padded image's window at its offset, zeros included?"""
    X = rng.standard_normal(shape).astype(dtype)
    dy = rng.integers(0, 2 * padding + 1, shape[0])
    dx = rng.integers(0, 2 * padding + 1, shape[0])
    out = crop_windows(X, dy, dx, padding)
    assert out.shape == X.shape and out.dtype == X.dtype
    np.testing.assert_array_equal(out, crop_reference(X, dy, dx, padding))


def test_crop_extreme_offsets_shift_in_zeros():
    """Does offset (0, 0) shift the image down-right by P with zero rows/columns on top/left,
    and offset (2P, 2P) shift it up-left with zeros at the bottom/right?"""
    P = 2
    X = np.arange(1, 1 + 2 * 3 * 5 * 6, dtype=np.float64).reshape(2, 3, 5, 6)
    out = crop_windows(X, np.array([0, 2 * P]), np.array([0, 2 * P]), P)
    np.testing.assert_array_equal(out[0, :, :P, :], 0)
    np.testing.assert_array_equal(out[0, :, :, :P], 0)
    np.testing.assert_array_equal(out[0, :, P:, P:], X[0, :, :-P, :-P])
    np.testing.assert_array_equal(out[1, :, -P:, :], 0)
    np.testing.assert_array_equal(out[1, :, :, -P:], 0)
    np.testing.assert_array_equal(out[1, :, :-P, :-P], X[1, :, P:, P:])


def test_centre_offset_is_identity(rng):
    """Does the centre offset (P, P) give back the image unchanged?"""
    X = rng.standard_normal((3, 3, 9, 7))
    centre = np.full(3, 4)
    np.testing.assert_array_equal(crop_windows(X, centre, centre, 4), X)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_random_crop_matches_reference_with_its_drawn_offsets(shape):
    """Does random_crop cut at offsets drawn as documented (dy row then dx row, uniform in [0, 2P])?"""
    X = np.random.default_rng(1).standard_normal(shape)
    out = random_crop(X, np.random.default_rng(7), padding=3)
    offsets = np.random.default_rng(7).integers(0, 7, size=(2, shape[0]))
    np.testing.assert_array_equal(out, crop_reference(X, offsets[0], offsets[1], 3))


def test_random_crop_uses_every_offset_over_many_images(rng):
    """Are all (2P+1)^2 offsets reachable (not only the centre or the corners)?"""
    N, P = 4000, 2
    X = np.zeros((N, 1, 5, 5))
    X[:, 0, 2, 2] = 1.0  # a single bright pixel in the centre: its position after the crop is the offset
    out = random_crop(X, rng, padding=P)
    n, _, i, j = np.nonzero(out)
    np.testing.assert_array_equal(n, np.arange(N))
    assert {(a, b) for a, b in zip(i, j)} == {(a, b) for a in range(5) for b in range(5)}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_flips_are_exact_mirrors(dtype, rng):
    """Is each output image either the input or its exact left-right mirror, with about half flipped?"""
    X = rng.standard_normal((400, 3, 4, 5)).astype(dtype)
    out = random_flip(X, rng)
    mirrored = np.all(out == X[:, :, :, ::-1], axis=(1, 2, 3))
    same = np.all(out == X, axis=(1, 2, 3))
    assert np.all(mirrored ^ same)
    assert 150 < mirrored.sum() < 250
    assert out.dtype == X.dtype


@pytest.mark.parametrize("p, expected", [(0.0, False), (1.0, True)], ids=["p=0", "p=1"])
def test_flip_probability_extremes(p, expected, rng):
    """Does p=0 never flip and p=1 always flip?"""
    X = rng.standard_normal((10, 2, 3, 4))
    reference = X[:, :, :, ::-1] if expected else X
    np.testing.assert_array_equal(random_flip(X, rng, p=p), reference)


def test_augment_is_deterministic_with_seed_and_leaves_input_untouched(rng):
    """Does the same seed give the same batch, a different seed a different one, and X stay unchanged?"""
    X = rng.standard_normal((16, 3, 8, 8)).astype(np.float32)
    before = X.copy()
    aug = Augment(padding=2, flip=True)
    a = aug(X, np.random.default_rng(5))
    b = aug(X, np.random.default_rng(5))
    c = aug(X, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(X, before)
    assert a.shape == X.shape and a.dtype == X.dtype


def test_augment_equals_crop_then_flip():
    """Is Augment exactly random_crop followed by a per-image mirror drawn from the same stream?"""
    X = np.random.default_rng(0).standard_normal((12, 3, 6, 7))
    out = Augment(padding=2, flip=True)(X, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    expected = random_crop(X, rng, padding=2)
    flip = rng.random(12) < 0.5
    expected[flip] = expected[flip, :, :, ::-1]
    np.testing.assert_array_equal(out, expected)


def test_augment_works_with_legacy_randomstate():
    """Does a numpy RandomState work as the rng, deterministically?"""
    X = np.random.default_rng(0).standard_normal((6, 3, 5, 5))
    a = Augment(padding=1)(X, np.random.RandomState(0))
    b = Augment(padding=1)(X, np.random.RandomState(0))
    np.testing.assert_array_equal(a, b)


def count_calls(function, *args):
    """Number of Python and C function calls made while running function(*args)."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(profile)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("step", [Augment(padding=4, flip=True), random_flip, random_crop],
                         ids=["augment", "flip", "crop"])
def test_augmentation_is_vectorised_not_a_loop_over_images(step):
    """Is the number of function calls the same for 2 images as for 256 (no per-image Python loop)?"""
    small = count_calls(step, np.ones((2, 3, 8, 8)), np.random.default_rng(0))
    large = count_calls(step, np.ones((256, 3, 8, 8)), np.random.default_rng(0))
    assert small == large


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda X, r: random_crop(X[0], r), "4 dimensions"),
        (lambda X, r: random_crop(X, r, padding=-1), "padding"),
        (lambda X, r: random_crop(X, r, padding=1.5), "padding"),
        (lambda X, r: random_flip(X, r, p=1.5), "probability"),
        (lambda X, r: random_crop(X, 42), "rng"),
        (lambda X, r: crop_windows(X, np.array([0, 9]), np.array([0, 0]), 2), "dy"),
        (lambda X, r: crop_windows(X, np.array([0]), np.array([0, 0]), 2), "dy"),
        (lambda X, r: Augment(flip="yes"), "flip"),
    ],
    ids=["3d-input", "negative-padding", "float-padding", "p>1", "bad-rng", "offset-too-large",
         "offset-wrong-shape", "flip-not-bool"],
)
def test_bad_input_raises_valueerror(call, message, rng):
    """Does bad input raise a ValueError that names what was wrong?"""
    X = np.zeros((2, 3, 4, 4))
    with pytest.raises(ValueError, match=message):
        call(X, rng)

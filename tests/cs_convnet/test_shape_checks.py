"""Tests of cs_convnet.shape_checks: the output-size formula and the validation every
layer shares."""

import numpy as np
import pytest

from cs_convnet.shape_checks import (
    check_labels,
    check_ndim,
    check_scores,
    check_upstream,
    conv_geometry,
    output_size,
    pool_geometry,
)


@pytest.mark.parametrize("size, F, P, S, expected", [
    (32, 3, 1, 1, 32),   # "same" 3x3 convolution
    (32, 5, 2, 1, 32),
    (227, 11, 0, 4, 55),  # AlexNet's first layer, as in the notes
    (7, 3, 0, 2, 3),     # the notes' 7x7 input, 3x3 filter, stride 2
    (5, 3, 1, 2, 3),
    (4, 2, 0, 2, 2),     # 2x2 pooling
    (3, 5, 1, 1, 1),     # filter larger than the input but not the padded input
], ids=["same-3x3", "same-5x5", "alexnet", "notes-7x7-s2", "s2-p1", "pool", "filter-equals-padded"])
def test_output_size_formula(size, F, P, S, expected):
    """Is the output size (W - F + 2P)/S + 1?"""
    assert output_size(size, F, P, S, "width") == expected


def test_output_size_refuses_to_floor():
    """Does the notes' 7x7 input with stride 3 raise, naming the formula and the values?"""
    with pytest.raises(ValueError) as info:
        output_size(7, 3, 0, 3, "width")
    message = str(info.value)
    assert "(W - F + 2P)/S + 1 = (7 - 3 + 2*0)/3 + 1 = 2.33333 is not a whole number" in message
    assert "choose a pad or stride so that 3 divides W - F + 2P = 4" in message


def test_output_size_floor_drops_partial_windows():
    """With floor=True, are windows that would run past the end dropped?"""
    assert output_size(7, 3, 0, 3, "width", floor=True) == 2
    assert output_size(5, 2, 0, 2, "height", floor=True) == 2


def test_window_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"window height 6 is larger than the padded input height "
                                         r"3 \+ 2\*1 = 5; \(W - F \+ 2P\)/S \+ 1 = \(3 - 6 \+ 2\*1\)/1 \+ 1 < 1"):
        output_size(3, 6, 1, 1, "height")
    with pytest.raises(ValueError, match="larger than the padded input"):
        output_size(3, 6, 1, 1, "height", floor=True)


def test_conv_geometry_returns_stride_pad_and_output_size():
    x, w, b = np.zeros((2, 3, 7, 9)), np.zeros((4, 3, 3, 5)), np.zeros(4)
    assert conv_geometry(x, w, b, {"stride": 2, "pad": 1}) == (2, 1, 4, 4)
    assert conv_geometry(x, w, b, {"stride": np.int64(1), "pad": np.int32(0)}) == (1, 0, 5, 5)


@pytest.mark.parametrize("conv_param, message", [
    ({"stride": True, "pad": 0}, r"conv_param\['stride'\] must be an integer, got True \(bool\)"),
    ({"stride": 2.0, "pad": 0}, r"conv_param\['stride'\] must be an integer, got 2.0 \(float\)"),
    ({"stride": 1, "pad": -2}, r"conv_param\['pad'\] must be >= 0, got -2"),
    ({"stride": 1}, r"conv_param must have the keys \['pad', 'stride'\]; missing \['pad'\], unknown \[\]"),
    ([1, 0], r"conv_param must be a dict with keys \['pad', 'stride'\], got list"),
], ids=["bool-stride", "float-stride", "negative-pad", "missing-pad", "not-a-dict"])
def test_conv_geometry_rejects_bad_conv_param(conv_param, message):
    with pytest.raises(ValueError, match=message):
        conv_geometry(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), np.zeros(1), conv_param)


def test_conv_geometry_rejects_empty_filters_and_non_arrays():
    with pytest.raises(ValueError, match=r"filters must be at least 1x1, got w of shape \(1, 1, 0, 3\)"):
        conv_geometry(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 0, 3)), np.zeros(1), {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"x must be a numpy array of shape \(N, C, H, W\), got list"):
        conv_geometry([[1.0]], np.zeros((1, 1, 3, 3)), np.zeros(1), {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"b must have shape \(F,\) = \(1,\) to match w of shape \(1, 1, 3, 3\), "
                                         r"got list"):
        conv_geometry(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), [0.0], {"stride": 1, "pad": 0})


def test_pool_geometry():
    x = np.zeros((2, 3, 7, 9))
    assert pool_geometry(x, {"pool_height": 3, "pool_width": 3, "stride": 2}) == (3, 3, 2, 3, 4)
    assert pool_geometry(x, {"pool_height": 2, "pool_width": 2, "stride": 2, "floor": True}) == (2, 2, 2, 3, 4)
    assert pool_geometry(x, {"pool_height": 2, "pool_width": 2, "stride": 2, "floor": np.True_})[3:] == (3, 4)
    with pytest.raises(ValueError, match=r"\(7 - 2 \+ 2\*0\)/2 \+ 1 = 3.5 is not a whole number"):
        pool_geometry(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    with pytest.raises(ValueError, match=r"pool_param\['floor'\] must be True or False, got 1 \(int\)"):
        pool_geometry(x, {"pool_height": 2, "pool_width": 2, "stride": 2, "floor": 1})
    with pytest.raises(ValueError, match=r"unknown \['ceil_mode'\]"):
        pool_geometry(x, {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True})


def test_check_ndim():
    check_ndim(np.zeros((2, 3)), 2, "x", "(N, D)")
    with pytest.raises(ValueError, match=r"x must have 2 dimensions \(N, D\), got shape \(2, 3, 4\) \(3 dimensions\)"):
        check_ndim(np.zeros((2, 3, 4)), 2, "x", "(N, D)")


def test_check_labels():
    check_labels(np.array([0, 4, 2]), 3, 5)
    check_labels(np.array([], dtype=int), 0, 5)
    with pytest.raises(ValueError, match=r"labels out of range: y holds values in \[0, 5\] but scores have C=5 "
                                         r"classes, so labels must lie in \[0, 4\]"):
        check_labels(np.array([0, 5, 2]), 3, 5)
    with pytest.raises(ValueError, match=r"y must be an array of shape \(N,\) = \(3,\), got \(3, 1\)"):
        check_labels(np.zeros((3, 1), dtype=int), 3, 5)
    with pytest.raises(ValueError, match=r"y must be an array of shape \(N,\) = \(2,\), got list"):
        check_labels([0, 1], 2, 5)


def test_check_scores():
    with pytest.raises(ValueError, match=r"x must have at least one class column, got shape \(3, 0\)"):
        check_scores(np.zeros((3, 0)))


def test_check_upstream():
    check_upstream(np.zeros((2, 3)), (2, 3), "(N, M)")
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output \(N, M\) = \(2, 3\), "
                                         r"got \(3, 2\)"):
        check_upstream(np.zeros((3, 2)), (2, 3), "(N, M)")
    with pytest.raises(ValueError, match=r"got float"):
        check_upstream(1.0, (2, 3), "(N, M)")

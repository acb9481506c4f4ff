"""Tests of cs_convnet.vis: image grids, filter grids and training-curve figures (headless)."""

import types

import numpy as np
import pytest
from matplotlib.figure import Figure

from cs_convnet.vis import filter_grid, plot_filters, plot_training_curves, visualize_grid

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("N, H, W, C, padding", [
    (1, 3, 5, 3, 1), (4, 2, 2, 1, 0), (5, 4, 3, 3, 2), (10, 7, 7, 3, 1),
], ids=["N=1-nonsquare", "full-2x2-pad0", "N=5-partial-3x3", "N=10-4x4"])
def test_grid_places_each_normalised_image_in_its_tile(N, H, W, C, padding):
    """Is image i rescaled to [0, ubound] and put at row i // G, column i % G, with zero padding between?"""
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(N, H, W, C)) * 7 + 3
    grid = visualize_grid(Xs, ubound=255.0, padding=padding)
    G = int(np.ceil(np.sqrt(N)))
    assert grid.shape == (G * H + (G - 1) * padding, G * W + (G - 1) * padding, C)
    covered = np.zeros(grid.shape[:2], bool)
    for i in range(G * G):
        r, c = divmod(i, G)
        tile = grid[r * (H + padding): r * (H + padding) + H, c * (W + padding): c * (W + padding) + W]
        covered[r * (H + padding): r * (H + padding) + H, c * (W + padding): c * (W + padding) + W] = True
        if i < N:
            expected = 255.0 * (Xs[i] - Xs[i].min()) / (Xs[i].max() - Xs[i].min())
            np.testing.assert_allclose(tile, expected, rtol=1e-12, atol=1e-12)
        else:
            assert not tile.any()  # unused tiles stay black
    assert not grid[~covered].any()  # padding is zero


def test_grid_of_a_constant_image_is_zero_not_nan():
    """Does a flat image (max == min) give a black tile instead of NaNs?"""
    grid = visualize_grid(np.full((2, 3, 3, 3), 5.0), ubound=1.0)
    assert np.isfinite(grid).all() and not grid.any()


def test_grid_accepts_uint8_images():
    """Are uint8 images (raw CIFAR) rescaled without wrap-around?"""
    Xs = np.array([[[[0], [255]], [[10], [20]]]], dtype=np.uint8)
    np.testing.assert_allclose(visualize_grid(Xs, ubound=1.0)[:, :, 0], [[0, 1], [10 / 255, 20 / 255]])


@pytest.mark.parametrize("bad, message", [
    (np.zeros((3, 4, 4)), r"shape \(N, H, W, C\)"), (np.zeros((0, 4, 4, 3)), "non-empty"),
], ids=["3d", "empty"])
def test_grid_rejects_bad_input(bad, message):
    """Is an array that is not (N, H, W, C) rejected with its shape in the message?"""
    with pytest.raises(ValueError, match=message):
        visualize_grid(bad)


def test_filter_grid_shows_conv_weights_as_rgb_tiles():
    """Are (F, C, HH, WW) filters transposed to HH, WW, C tiles, each normalised to [0, 1]?"""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(6, 3, 5, 4))
    grid = filter_grid(w, padding=1)
    assert grid.shape == (3 * 5 + 2, 3 * 4 + 2, 3) and grid.min() == 0 and grid.max() == 1
    tile = grid[6:11, 0:4]  # filter 3: second row of tiles, first column
    f = w[3].transpose(1, 2, 0)
    np.testing.assert_allclose(tile, (f - f.min()) / (f.max() - f.min()))


def test_filter_grid_rejects_non_image_channels():
    """Are filters with 2 channels (not showable as images) rejected with their shape?"""
    with pytest.raises(ValueError, match=r"\(4, 2, 3, 3\)"):
        filter_grid(np.zeros((4, 2, 3, 3)))


@pytest.mark.parametrize("channels", [1, 3], ids=["grey", "rgb"])
def test_plot_filters_writes_a_png(tmp_path, channels):
    """Does plot_filters return a Figure and write a non-empty PNG, creating the folder?"""
    path = tmp_path / "plots" / "filters.png"
    figure = plot_filters(np.random.default_rng(2).normal(size=(32, channels, 7, 7)), path=path)
    assert isinstance(figure, Figure)
    assert path.read_bytes().startswith(PNG_SIGNATURE) and path.stat().st_size > 1000


def _histories():
    rng = np.random.default_rng(3)
    loss = list(2.3 * np.exp(-np.arange(200) / 80) + 0.1 * rng.random(200))
    return loss, [0.1, 0.3, 0.45, 0.5], [0.1, 0.28, 0.4, 0.42]


@pytest.mark.parametrize("form", ["solver", "dict", "short-dict"])
def test_training_curves_from_solver_or_dict(tmp_path, form):
    """Do Solver-like objects and dicts (with or without the _history suffix) give the same curves and a PNG?"""
    loss, train, val = _histories()
    history = {
        "solver": types.SimpleNamespace(loss_history=loss, train_acc_history=train, val_acc_history=val),
        "dict": {"loss_history": loss, "train_acc_history": train, "val_acc_history": val},
        "short-dict": {"loss": loss, "train_acc": train, "val_acc": val},
    }[form]
    path = tmp_path / "curves.png"
    figure = plot_training_curves(history, path=path, title="run")
    loss_ax, acc_ax = figure.axes
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), loss)
    assert len(loss_ax.lines) == 2  # raw loss and its moving average
    np.testing.assert_allclose(loss_ax.lines[1].get_ydata(), np.convolve(loss, np.ones(4) / 4, "valid"))
    assert [line.get_label() for line in acc_ax.lines] == ["train", "val"]
    np.testing.assert_allclose(acc_ax.lines[1].get_ydata(), val)
    assert path.read_bytes().startswith(PNG_SIGNATURE) and path.stat().st_size > 1000


def test_training_curves_with_missing_history_says_what_is_needed():
    """Is an object without the histories rejected with the missing names?"""
    with pytest.raises(ValueError, match="val_acc_history"):
        plot_training_curves({"loss_history": [1.0], "train_acc_history": [0.1]})
    with pytest.raises(ValueError, match="loss_history"):
        plot_training_curves(object())


def test_plot_into_existing_axes():
    """Can filters be drawn into an Axes of the caller's figure?"""
    figure = Figure()
    ax = figure.add_subplot(1, 2, 2)
    assert plot_filters(np.ones((4, 3, 2, 2)) * np.arange(4).reshape(1, 1, 2, 2), ax=ax) is figure
    assert ax.images and not ax.axison


def test_library_never_uses_pyplot():
    """Do the plots leave no pyplot figure open (nothing to show, nothing leaking)?"""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_training_curves({"loss": [1.0, 0.5], "train_acc": [0.2], "val_acc": [0.1]})
    plot_filters(np.random.default_rng(0).normal(size=(3, 3, 3, 3)))
    assert plt.get_fignums() == before

"""Pictures of a network: image grids, first-layer filters, training curves.

Provided code. The plotting functions build a ``matplotlib.figure.Figure``
directly (not through ``pyplot``), so they work without a display, never
open a window and leave no global figure behind. They return the Figure (a
notebook shows it when it is the last expression of a cell) and, given
``path``, also save it as a PNG. Pass ``ax`` to draw into an Axes of your own.
"""

from math import ceil, sqrt
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Tile images into one grid image, each rescaled to [0, ubound] on its own.

    Parameters
    ----------
    Xs : ndarray of shape (N, H, W, C)
        The images (C = 1 or 3 to display the result).
    ubound : float
        Each image is mapped linearly from [min, max] onto [0, ubound]; an
        image with a single value maps to 0.
    padding : int
        Pixels of value 0 between neighbouring tiles.

    Returns
    -------
    grid : ndarray of shape (G*H + (G-1)*padding, G*W + (G-1)*padding, C)
        Float64 grid of G x G tiles, G = ceil(sqrt(N)), filled row by row;
        unused tiles stay 0.
    """
    Xs = np.asarray(Xs)
    if Xs.ndim != 4 or Xs.shape[0] < 1:
        raise ValueError(f"Xs must be a non-empty array of shape (N, H, W, C), got shape {Xs.shape}")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    N, H, W, C = Xs.shape
    G = int(ceil(sqrt(N)))
    low = Xs.min(axis=(1, 2, 3), keepdims=True).astype(np.float64)
    span = Xs.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = ubound * (Xs - low) / np.where(span > 0, span, 1.0)
    grid = np.zeros((G * H + (G - 1) * padding, G * W + (G - 1) * padding, C))
    for i in range(N):
        y0, x0 = (i // G) * (H + padding), (i % G) * (W + padding)
        grid[y0:y0 + H, x0:x0 + W] = scaled[i]
    return grid


def filter_grid(weights, padding=1):
    """Grid image of first-layer conv filters, each normalised to [0, 1].

    Parameters
    ----------
    weights : ndarray of shape (F, C, HH, WW)
        Filters of a conv layer, as in ``model.params['W1']``; C = 3 gives
        RGB tiles, C = 1 grey tiles.
    padding : int
        Pixels between tiles.

    Returns
    -------
    grid : ndarray of shape (G*HH + (G-1)*padding, G*WW + (G-1)*padding, C)
        G = ceil(sqrt(F)).
    """
    weights = np.asarray(weights)
    if weights.ndim != 4 or weights.shape[1] not in (1, 3):
        raise ValueError(
            f"weights must have shape (F, C, HH, WW) with C = 1 or 3 channels to show as images, "
            f"got shape {weights.shape}"
        )
    return visualize_grid(weights.transpose(0, 2, 3, 1), ubound=1.0, padding=padding)


def _figure_and_axes(ax, figsize, ncols=1):
    if ax is not None:
        return ax.figure, [ax]
    figure = Figure(figsize=figsize, layout="constrained")
    return figure, list(np.atleast_1d(figure.subplots(1, ncols)))


def save_figure(figure, path, dpi=100):
    """Save ``figure`` as a PNG at ``path`` (creating its folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, format="png")
    return path


def plot_filters(weights, path=None, ax=None, title="First-layer filters", padding=1):
    """Show the filters of a first conv layer as a grid of small images.

    Parameters
    ----------
    weights : ndarray of shape (F, C, HH, WW)
        C = 1 or 3.
    path : str or Path, optional
        Also save the figure as a PNG here.
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid = filter_grid(weights, padding=padding)
    figure, (axes,) = _figure_and_axes(ax, (5, 5))
    if grid.shape[2] == 1:
        axes.imshow(grid[:, :, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        axes.imshow(grid, vmin=0, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    if title:
        axes.set_title(title)
    if path is not None:
        save_figure(figure, path)
    return figure


def _history(history):
    """Return (loss, train_acc, val_acc) lists from a Solver-like object or a dict."""
    names = ("loss_history", "train_acc_history", "val_acc_history")
    if isinstance(history, dict):
        values = []
        for name in names:
            short = name[: -len("_history")]
            if name in history:
                values.append(history[name])
            elif short in history:
                values.append(history[short])
            else:
                raise ValueError(f"history dict needs '{name}' (or '{short}'), got keys {sorted(history)}")
    else:
        missing = [name for name in names if not hasattr(history, name)]
        if missing:
            raise ValueError(f"{type(history).__name__} has no {', '.join(missing)}; "
                             "pass a Solver or a dict with these lists")
        values = [getattr(history, name) for name in names]
    return [np.asarray(v, dtype=np.float64).ravel() for v in values]


def plot_training_curves(history, path=None, smooth=None, title=None):
    """Loss per iteration and train/validation accuracy per epoch, side by side.

    Parameters
    ----------
    history : Solver or dict
        Anything with ``loss_history`` (one value per iteration),
        ``train_acc_history`` and ``val_acc_history`` (one value per epoch, as
        the Solver records them), as attributes or dict keys (the suffix
        ``_history`` may be left out in a dict).
    path : str or Path, optional
        Also save the figure as a PNG here.
    smooth : int, optional
        Width of the moving average drawn over the raw loss (default: about
        a fiftieth of the iterations; 1 draws none).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    loss, train_acc, val_acc = _history(history)
    figure, (loss_ax, acc_ax) = _figure_and_axes(None, (10, 4), ncols=2)
    iterations = np.arange(1, loss.size + 1)
    loss_ax.plot(iterations, loss, ".", markersize=2, alpha=0.4, color="tab:blue", label="loss")
    window = smooth if smooth is not None else max(1, loss.size // 50)
    if window > 1 and loss.size >= window:
        average = np.convolve(loss, np.ones(window) / window, mode="valid")
        loss_ax.plot(iterations[window - 1:], average, color="tab:blue", label=f"moving average ({window})")
        loss_ax.legend(loc="upper right")
    loss_ax.set(xlabel="iteration", ylabel="training loss", title="Loss")
    for values, label in ((train_acc, "train"), (val_acc, "val")):
        if values.size:
            acc_ax.plot(np.arange(values.size), values, "-o", markersize=3, label=label)
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    if train_acc.size or val_acc.size:
        acc_ax.legend(loc="lower right")
    if title:
        figure.suptitle(title)
    if path is not None:
        save_figure(figure, path)
    return figure

"""Net surgery: turn a ConvNet's fc layers into convolutions (CS231n notes, "Converting FC layers to CONV layers").

Provided code. An fc layer looking at a C x H x W volume computes, for each of
its M outputs, a dot product with all C*H*W inputs: exactly a convolution with
M filters of size H x W, no padding, applied at the one position where it fits.
Every later fc layer sees a 1 x 1 x D volume and becomes a 1x1 convolution.
The weights are only reshaped::

    first fc:  W of shape (C*H*W, M)  ->  W.T.reshape(M, C, H, W)
    later fc:  W of shape (D, M)      ->  W.T.reshape(M, D, 1, 1)

The converted net slides the whole original network over a larger image in
one forward pass, sharing the computation of overlapping crops: with S the
product of the strides of the convs and pools before the first fc (32 for
VGG-16), grid cell (i, j) holds the class scores of the original network on
the crop whose top-left corner is at (i*S, j*S). For VGG-16 trained on
224x224, a 384x384 image gives (384 - 224)/32 + 1 = 6 crops per axis, a 6x6
grid of 1000 scores.

That equality is exact when the convs have no zero padding (``-p0``): with
padding, the crop's borders see zeros in the original net but neighbouring
pixels in the converted one. Batchnorm and dropout run in test mode (running
statistics; no dropout), as at evaluation time.
"""

import copy

import numpy as np

from .classifiers.convnet import LayerStack
from .netspec import (  # convert_layers, convert_spec, output_stride: re-exported, first defined here
    FC,
    BatchNorm,
    check_input_dim,
    convert_layers,
    convert_spec,
    format_spec,
    output_stride,
    plan,
)


class FullyConvNet:
    """A ConvNet after surgery: every fc is a conv, so any large enough image gives a grid of scores.

    Build it with :func:`convert_fc_to_conv`.

    Attributes
    ----------
    spec : str, the converted layers
    input_dim : tuple (C, H, W), the input size of the original network (one crop)
    stride : int, S, the step in pixels between neighbouring crops
    params : dict, the original parameters, fc weights reshaped to conv filters
    bn_params : list of dicts, copies of the original running statistics
    dtype : the original dtype
    """

    def __init__(self, layers, input_dim, params, bn_params, stride, dtype):
        self.layers = list(layers)
        self.spec = format_spec(self.layers)
        self.input_dim = tuple(input_dim)
        self.params = params
        self.stride = stride
        self.dtype = dtype
        self._stack = LayerStack(plan(self.layers, self.input_dim))
        self._stack.bn_params[:] = bn_params
        self._stack.set_mode("test")

    @property
    def bn_params(self):
        return self._stack.bn_params

    def grid_shape(self, image_dim):
        """(H_grid, W_grid): the number of crop positions on an image of size ``image_dim = (C, H, W)``.

        Raises
        ------
        ValueError
            If the image is smaller than one crop, or the crops do not tile it:
            ``(H - H_crop)`` and ``(W - W_crop)`` must be multiples of the stride S.
        """
        C, H, W = check_input_dim(image_dim)
        C0, H0, W0 = self.input_dim
        for axis, size, crop in (("height", H, H0), ("width", W, W0)):
            if size < crop or (size - crop) % self.stride:
                raise ValueError(
                    f"image {axis} {size} does not fit a whole number of crops of {axis} {crop} at stride "
                    f"S={self.stride}: need {axis} = {crop} + k*{self.stride} for some k >= 0")
        if C != C0:
            raise ValueError(f"image has C={C} channels, the network expects C={C0}")
        return (H - H0) // self.stride + 1, (W - W0) // self.stride + 1

    def scores(self, X):
        """Class scores of every crop of X, in one forward pass.

        Parameters
        ----------
        X : ndarray of shape (N, C, H, W), with H = H_crop + i*S and W = W_crop + j*S

        Returns
        -------
        scores : ndarray of shape (N, num_classes, H_grid, W_grid); ``scores[:, :, i, j]``
            are the original network's scores on ``X[:, :, i*S : i*S + H_crop, j*S : j*S + W_crop]``
        """
        if not isinstance(X, np.ndarray) or X.ndim != 4:
            raise ValueError(f"X must be an array of shape (N, C, H, W), got {getattr(X, 'shape', type(X))}")
        grid = self.grid_shape(X.shape[1:])
        plan(self.layers, X.shape[1:])  # a clear error naming the layer, should some layer not tile
        self._stack.set_mode("test")
        out, _ = self._stack.forward(X.astype(self.dtype, copy=False), self.params)
        if out.shape[2:] != grid:
            raise RuntimeError(f"score grid {out.shape[2:]} differs from the expected {grid}")
        return out


def convert_fc_to_conv(model):
    """Net surgery on a trained :class:`~cs_convnet.classifiers.ConvNet`: its fc layers become convs.

    The model is not changed; the returned net holds reshaped copies of its
    fc weights and copies of everything else it needs.

    Parameters
    ----------
    model : ConvNet

    Returns
    -------
    :class:`FullyConvNet`
    """
    for name in ("steps", "params", "input_dim", "dtype", "bn_params"):
        if not hasattr(model, name):
            raise ValueError(f"convert_fc_to_conv needs a ConvNet (with steps, params, bn_params, input_dim, "
                             f"dtype); {type(model).__name__} has no {name}")
    layers = convert_layers([step.layer for step in model.steps], model.input_dim)
    params = {}
    for step, layer in zip(model.steps, layers):
        for name in step.params:
            value = model.params[name]
            if name.startswith("W") and isinstance(step.layer, FC):
                shape = step.input_shape if len(step.input_shape) == 3 else (step.input_shape[0], 1, 1)
                value = value.T.reshape(layer.filters, *shape)
            params[name] = value.copy()
    bn_params = [copy.deepcopy(param) for param in model.bn_params]
    if any(isinstance(step.layer, BatchNorm) for step in model.steps) and not all(
            "running_mean" in param for param in bn_params):
        raise ValueError("the model's batchnorm layers have no running statistics yet: train it (or run one "
                         "training-mode loss) before surgery")
    return FullyConvNet(layers, model.input_dim, params, bn_params, output_stride(layers, model.input_dim),
                        model.dtype)

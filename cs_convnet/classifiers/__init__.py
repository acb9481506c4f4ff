"""Classifiers: complete models with a ``loss(X, y=None)`` the Solver trains.

- :class:`FullyConnectedNet`: affine layers with optional batchnorm and dropout.
- :class:`ThreeLayerConvNet`: conv - relu - 2x2 max pool - affine - relu - affine.
- :class:`ConvNet`: any INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC
  network, from a readable spec such as ``"[conv3-32 relu]x2 pool2 fc10"``.

Each returns class scores of shape (N, num_classes) when ``y`` is None, and
``(loss, grads)`` with ``grads`` keyed like ``params`` otherwise.
"""

from .cnn import ThreeLayerConvNet
from .convnet import ConvNet, parse_spec, plan
from .fc_net import FullyConnectedNet

__all__ = ["ConvNet", "FullyConnectedNet", "ThreeLayerConvNet", "parse_spec", "plan"]

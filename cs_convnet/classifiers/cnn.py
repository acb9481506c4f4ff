"""ThreeLayerConvNet: conv - relu - 2x2 max pool - affine - relu - affine - softmax.

Learners write the forward and backward passes in :meth:`ThreeLayerConvNet.loss`
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, with the fused fast
layers of :mod:`cs_convnet.layer_utils`; the constructor (argument checks,
parameter initialization) is provided in :mod:`cs_convnet.classifiers.model_setup`.
"""

import numpy as np

from ..layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from ..layers import affine_backward, affine_forward, softmax_loss
from ..shape_checks import check_images
from .model_setup import ThreeLayerConvNetSetup


class ThreeLayerConvNet(ThreeLayerConvNetSetup):
    """A three-layer convolutional network::

        conv - relu - 2x2 max pool - affine - relu - affine - softmax

    The convolution has stride 1 and zero padding ``(filter_size - 1) // 2``,
    so it keeps the height and width of its input; the pool halves them.

    Parameters
    ----------
    input_dim : tuple (C, H, W), the size of an input image; H and W must be even
    num_filters : int, F, the number of filters of the conv layer
    filter_size : int, odd, the height and width of the filters
    hidden_dim : int, the number of units of the hidden affine layer
    num_classes : int, the number of scores to produce
    weight_scale : float > 0, standard deviation of the normal initial weights
    reg : float >= 0, L2 regularization strength: the loss adds ``0.5 * reg * sum(W**2)``
    dtype : np.float32 or np.float64; float64 for gradient checks
    seed : None or int >= 0, makes the initial weights reproducible

    Attributes
    ----------
    params : dict
        'W1' (F, C, filter_size, filter_size), 'b1' (F,),
        'W2' (F * H/2 * W/2, hidden_dim), 'b2' (hidden_dim,),
        'W3' (hidden_dim, num_classes), 'b3' (num_classes,)
    conv_param, pool_param : dicts passed to the conv and pool layers
    """

    def loss(self, X, y=None):
        """Class scores, or the softmax loss and its gradients.

        Parameters
        ----------
        X : ndarray of shape (N, C, H, W), (C, H, W) = input_dim
        y : None, or int ndarray of shape (N,) with labels in [0, num_classes)

        Returns
        -------
        If y is None:
            scores : ndarray of shape (N, num_classes)
        Otherwise:
            loss : float, the softmax loss plus ``0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))``
            grads : dict with the keys of self.params, each gradient of its
                parameter's shape and dtype

        The input images need no gradient: call the first layer's backward with
        ``need_dx=False``, which skips that (costly) computation.
        """
        X = check_images(X, self.input_dim, self.dtype)
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        conv_param, pool_param = self.conv_param, self.pool_param

        scores = None
        ### BEGIN SOLUTION
        pooled, conv_cache = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, W2, b2)
        scores, scores_cache = affine_forward(hidden, W3, b3)
        ### END SOLUTION

        if y is None:
            return scores

        loss, grads = 0.0, {}
        ### BEGIN SOLUTION
        loss, dscores = softmax_loss(scores, y)
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, conv_cache, need_dx=False)
        for name in ("W1", "W2", "W3"):
            W = self.params[name]
            loss += 0.5 * self.reg * float(np.vdot(W, W))  # one pass, no W * W temporary
            grads[name] += self.reg * W
        ### END SOLUTION
        return loss, grads

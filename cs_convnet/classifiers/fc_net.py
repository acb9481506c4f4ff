"""A fully-connected network of any depth, with optional batchnorm and dropout.

Learners write the forward and backward passes in :meth:`FullyConnectedNet.loss`
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``; the constructor
(argument checks, parameter initialization, mode plumbing) is provided in
:mod:`cs_convnet.classifiers.model_setup`.
"""

import numpy as np

from ..layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)
from .model_setup import FullyConnectedNetSetup


class FullyConnectedNet(FullyConnectedNetSetup):
    """A fully-connected network with L = len(hidden_dims) + 1 affine layers::

        {affine - [batchnorm] - relu - [dropout]} x (L - 1) - affine - softmax

    Parameters
    ----------
    hidden_dims : list of int, the size of every hidden layer (may be empty:
        softmax regression)
    input_dim : int, D, the number of inputs (3 * 32 * 32 for CIFAR-10 images)
    num_classes : int, the number of classes
    dropout_keep_ratio : float in (0, 1], the keep probability of dropout;
        1 means no dropout
    normalization : None or 'batchnorm'
    reg : float >= 0, L2 regularization strength; the loss adds
        ``0.5 * reg * sum(W**2)`` over every weight matrix
    weight_scale : float > 0, standard deviation of the normal initial weights
    dtype : np.float32 or np.float64; float64 for gradient checks
    seed : None or int >= 0. If given, the initial weights are reproducible and
        dropout uses this seed on every call, so its mask is the same on every
        call (CS231n's convention, for gradient checks).

    Attributes
    ----------
    params : dict
        'W1' (D, H1), 'b1' (H1,), ..., 'W<L>' (H<L-1>, num_classes), 'b<L>';
        with batchnorm also 'gamma<i>', 'beta<i>' of shape (H<i>,) for every
        hidden layer i < L.
    bn_params : list of dicts, one per batchnorm layer (running statistics)
    dropout_param : dict with 'mode', 'p' and, if seeded, 'seed'
    num_layers : int, L
    """

    def loss(self, X, y=None):
        """Class scores, or the softmax loss and its gradients.

        Parameters
        ----------
        X : ndarray of shape (N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim
        y : None, or int ndarray of shape (N,) with labels in [0, num_classes)

        Returns
        -------
        If y is None (test mode: batchnorm uses its running averages, dropout is off):
            scores : ndarray of shape (N, num_classes); scores[i, c] is the score of class c for X[i]
        Otherwise (training mode):
            loss : float, the softmax loss plus ``0.5 * reg * sum(W**2)`` over W1 ... W<L>
            grads : dict with the same keys as self.params, each gradient of the
                shape and dtype of its parameter
        """
        if not isinstance(X, np.ndarray) or X.ndim < 2 or int(np.prod(X.shape[1:])) != self.input_dim:
            got = X.shape if isinstance(X, np.ndarray) else type(X).__name__
            raise ValueError(f"X must have shape (N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim = "
                             f"{self.input_dim}, got {got}")
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

        scores = None
        ### BEGIN SOLUTION
        caches = []
        out = X
        for i in range(1, self.num_layers):
            out, affine_cache = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            bn_cache = dropout_cache = None
            if self.normalization == "batchnorm":
                out, bn_cache = batchnorm_forward(
                    out, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1])
            out, relu_cache = relu_forward(out)
            if self.use_dropout:
                out, dropout_cache = dropout_forward(out, self.dropout_param)
            caches.append((affine_cache, bn_cache, relu_cache, dropout_cache))
        L = self.num_layers
        scores, last_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        ### END SOLUTION

        if mode == "test":
            return scores

        loss, grads = 0.0, {}
        ### BEGIN SOLUTION
        loss, dscores = softmax_loss(scores, y)
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            affine_cache, bn_cache, relu_cache, dropout_cache = caches[i - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, dropout_cache)
            dout = relu_backward(dout, relu_cache)
            if self.normalization == "batchnorm":
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward_alt(dout, bn_cache)
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, affine_cache)
        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * float(np.vdot(W, W))  # one pass, no W * W temporary
            grads[f"W{i}"] += self.reg * W
        ### END SOLUTION
        return loss, grads

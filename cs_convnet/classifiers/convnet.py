"""ConvNet: any network of the pattern the notes recommend, built from a readable spec.

Provided code. The CS231n notes describe the common ConvNet architecture as::

    INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC

:class:`ConvNet` builds any such network from a short string, one token per
layer, with ``[ ... ]xN`` for repetition. For example::

    ConvNet("[conv3-32 relu]x2 pool2 [conv3-64 relu]x2 pool2 fc256 relu fc10")

    # VGG-16 as in the notes (input 3x224x224):
    "[conv3-64 relu]x2 pool2 [conv3-128 relu]x2 pool2 [conv3-256 relu]x3 pool2 "
    "[conv3-512 relu]x3 pool2 [conv3-512 relu]x3 pool2 fc4096 relu fc4096 relu fc1000"

    # with spatial batchnorm and dropout, written out:
    "[conv3-32 bn relu conv3-32 bn relu pool2]x3 dropout0.5 fc10"

The spec language (its tokens, the weight names, the planner) lives in
:mod:`cs_convnet.netspec`; its names are importable from here as well.
:class:`ConvNet` insists on the pattern above (at least one layer, convs and
pools before any fc, ending with an fc).
"""

import math

import numpy as np

from .. import fast_batchnorm, fast_layers
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
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from ..netspec import (  # re-exported: the spec language's names were first defined here
    FC,
    SPEC_HELP,
    SPATIAL_LAYERS,
    WEIGHT_LAYERS,
    BatchNorm,
    Conv,
    Dropout,
    Pool,
    ReLU,
    Step,
    check_input_dim,
    check_pattern,
    format_spec,
    parse_spec,
    plan,
)
from ..shape_checks import (  # check_images re-exported: it was first defined here
    check_dtype,
    check_images,
    check_keep_ratio,
    check_normalization,
    check_reg,
    check_seed,
    check_weight_scale,
)
from ..summary import summarize

# --------------------------------------------------------------------------
# Forward and backward through a planned list of layers
# --------------------------------------------------------------------------

#: The cache of a ReLU computed inside the fused spatial batchnorm + ReLU before it.
FUSED = "relu fused into the batchnorm before it"


class LayerStack:
    """Runs the forward and backward passes of planned layers on a params dict.

    Shared by :class:`ConvNet` and the fully-convolutional nets of
    :mod:`cs_convnet.surgery`. ``bn_params`` and ``dropout_params`` hold one
    dict per bn and dropout layer, in order, as in CS231n. Convolutions and
    pools run on the fast layers; a spatial batchnorm followed by a ReLU runs
    as one fused fast layer (:mod:`cs_convnet.fast_batchnorm`), whose ReLU
    step then keeps the :data:`FUSED` marker as its cache.
    """

    def __init__(self, steps, dropout_seed=None):
        self.steps = list(steps)
        self.bn_params = [{"mode": "train"} for step in self.steps if isinstance(step.layer, BatchNorm)]
        self.dropout_params = [
            {"mode": "train", "p": step.layer.keep} | ({} if dropout_seed is None else {"seed": dropout_seed})
            for step in self.steps if isinstance(step.layer, Dropout)
        ]

    def set_mode(self, mode):
        for param in self.bn_params + self.dropout_params:
            param["mode"] = mode

    def forward(self, x, params):
        """Run every layer on ``x`` of shape (N, C, H, W); return ``(out, caches)``."""
        caches = []
        bn_index = dropout_index = 0
        first_weight = True
        fused_relu = False
        for index, step in enumerate(self.steps):
            layer, names = step.layer, list(step.params)
            if fused_relu:  # this ReLU ran inside the fused spatial batchnorm before it
                out, cache, fused_relu = x, FUSED, False
            elif isinstance(layer, Conv):
                out, cache = fast_layers.conv_forward_fast(x, params[names[0]], params[names[1]], layer.conv_param)
                cache = (cache, first_weight)
            elif isinstance(layer, FC):
                out, cache = affine_forward(x, params[names[0]], params[names[1]])
                cache = (cache, first_weight)
            elif isinstance(layer, Pool):
                forward = fast_layers.avg_pool_forward_fast if layer.average else fast_layers.max_pool_forward_fast
                out, cache = forward(x, layer.pool_param)
            elif isinstance(layer, ReLU):
                out, cache = relu_forward(x)
            elif isinstance(layer, BatchNorm):
                following = self.steps[index + 1].layer if index + 1 < len(self.steps) else None
                fused_relu = x.ndim == 4 and isinstance(following, ReLU)
                if fused_relu:
                    normalize = fast_batchnorm.spatial_batchnorm_relu_forward_fast
                else:
                    normalize = spatial_batchnorm_forward if x.ndim == 4 else batchnorm_forward
                out, cache = normalize(x, params[names[0]], params[names[1]], self.bn_params[bn_index])
                cache = (cache, fused_relu)
                bn_index += 1
            else:
                out, cache = dropout_forward(x, self.dropout_params[dropout_index])
                dropout_index += 1
            first_weight = first_weight and not isinstance(layer, WEIGHT_LAYERS)
            caches.append(cache)
            x = out
        return x, caches

    def backward(self, dout, caches):
        """Backward through every layer; return the gradients as a dict named like ``params``.

        The input images need no gradient, so the first conv or fc skips its dx
        (and everything before it is not visited).
        """
        grads = {}
        for step, cache in zip(reversed(self.steps), reversed(caches)):
            layer, names = step.layer, list(step.params)
            if isinstance(layer, Conv):
                conv_cache, first = cache
                dx, dw, db = fast_layers.conv_backward_fast(dout, conv_cache, need_dx=not first)
                grads[names[0]], grads[names[1]] = dw, db
                if first:
                    break
            elif isinstance(layer, FC):
                affine_cache, first = cache
                dx, dw, db = affine_backward(dout, affine_cache)
                grads[names[0]], grads[names[1]] = dw, db
                if first:
                    break
            elif isinstance(layer, Pool):
                backward = fast_layers.avg_pool_backward_fast if layer.average else fast_layers.max_pool_backward_fast
                dx = backward(dout, cache)
            elif isinstance(layer, ReLU):
                dx = dout if cache is FUSED else relu_backward(dout, cache)
            elif isinstance(layer, BatchNorm):
                cache, fused_relu = cache
                if fused_relu:
                    normalize = fast_batchnorm.spatial_batchnorm_relu_backward_fast
                else:
                    normalize = spatial_batchnorm_backward if dout.ndim == 4 else batchnorm_backward_alt
                dx, grads[names[0]], grads[names[1]] = normalize(dout, cache)
            else:
                dx = dropout_backward(dout, cache)
            dout = dx
        return grads


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------

class ConvNet:
    """A ConvNet of the pattern INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC.

    Parameters
    ----------
    spec : str
        The layers, e.g. ``"[conv3-32 relu]x2 pool2 [conv3-64 relu]x2 pool2 fc256 relu fc10"``;
        see the module docstring for every token. The last fc gives the number
        of classes.
    input_dim : tuple (C, H, W), default (3, 32, 32)
    normalization : None or 'batchnorm'
        'batchnorm' inserts a ``bn`` after every conv and every fc but the last
        (spatial batchnorm after convs), before the ReLU. Or write ``bn``
        tokens in the spec yourself; not both.
    dropout_keep_ratio : float in (0, 1], default 1
        Below 1, inserts ``dropout<p>`` before every fc layer. Or write
        ``dropout<p>`` tokens in the spec yourself; not both.
    weight_scale : None or float > 0
        None (default): He/Kaiming initialization, normal with standard
        deviation ``sqrt(2 / fan_in)`` for layers followed by a ReLU and
        ``sqrt(1 / fan_in)`` for the others (the score layer), where fan_in is
        C*F*F for a conv and D for an fc. A float: that standard deviation for
        every layer. Biases and beta start at 0, gamma at 1.
    reg : float >= 0, L2 regularization strength: the loss adds ``0.5 * reg * sum(W**2)``
        over every conv and fc weight (not biases, gamma or beta).
    dtype : np.float32 or np.float64, of every parameter and computation
    seed : None or int >= 0
        Makes the run reproducible: the initial weights, and the dropout masks,
        which are fresh on every training call, drawn from a generator the model
        keeps (and a pickled model carries, so a resumed run continues exactly).
    dropout_seed : None or int >= 0
        If given, every dropout mask is the same on every call (CS231n's
        convention, for gradient checking); leave None for training.

    Attributes
    ----------
    params : dict, 'W1', 'b1', ..., 'gamma<k>', 'beta<k>' -> ndarray
    steps : list of :class:`Step`, every layer with its input and output shapes
    bn_params, dropout_params : lists of dicts, one per bn and dropout layer
    spec : str, the flat spec with groups written out
    num_classes : int

    Examples
    --------
    >>> model = ConvNet("[conv3-8 relu]x2 pool2 fc10", input_dim=(3, 8, 8), seed=0)
    >>> sorted(model.params)
    ['W1', 'W2', 'W3', 'b1', 'b2', 'b3']
    >>> model.params['W3'].shape  # 8 channels of 4x4 after the pool, flattened
    (128, 10)
    >>> model.summary().total_params  # 3*3*3*8 + 8  +  3*3*8*8 + 8  +  128*10 + 10
    2098
    """

    def __init__(self, spec, input_dim=(3, 32, 32), normalization=None, dropout_keep_ratio=1, weight_scale=None,
                 reg=0.0, dtype=np.float32, seed=None, dropout_seed=None):
        layers = parse_spec(spec)
        check_pattern(layers)
        self.input_dim = check_input_dim(input_dim)
        normalization = check_normalization(normalization)
        dropout_keep_ratio = check_keep_ratio(dropout_keep_ratio)
        weight_scale = check_weight_scale(weight_scale, he_default=True)
        self.reg = check_reg(reg)
        self.dtype = check_dtype(dtype)
        seed, dropout_seed = check_seed(seed), check_seed(dropout_seed, "dropout_seed")
        if normalization == "batchnorm":
            if any(isinstance(layer, BatchNorm) for layer in layers):
                raise ValueError("normalization='batchnorm' inserts a bn after every conv and hidden fc; "
                                 "the spec already has bn tokens: use one or the other")
            layers = _with_batchnorm(layers)
        if dropout_keep_ratio < 1:
            if any(isinstance(layer, Dropout) for layer in layers):
                raise ValueError("dropout_keep_ratio < 1 inserts a dropout before every fc; "
                                 "the spec already has dropout tokens: use one or the other")
            layers = _with_dropout(layers, dropout_keep_ratio)
        self.steps = plan(layers, self.input_dim)
        self.spec = format_spec(layers)
        self.num_classes = layers[-1].units
        self.weight_scale = weight_scale
        init_rng, self._dropout_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.params = _initial_params(self.steps, weight_scale, self.dtype, init_rng)
        self.dropout_seed = dropout_seed
        self._stack = LayerStack(self.steps, dropout_seed)

    def __repr__(self):
        return f"ConvNet({self.spec!r}, input_dim={self.input_dim}, dtype={np.dtype(self.dtype).name})"

    def summary(self):
        """Per-layer output volume, memory and parameters: :func:`cs_convnet.summary.summarize` of this model.

        ``print(model.summary())`` shows the table.
        """
        return summarize(self)

    @property
    def bn_params(self):
        """One dict per bn layer, in order: 'mode' and the running statistics."""
        return self._stack.bn_params

    @bn_params.setter
    def bn_params(self, value):
        if len(value) != len(self._stack.bn_params):
            raise ValueError(f"this ConvNet has {len(self._stack.bn_params)} bn layers, got {len(value)} bn_params")
        self._stack.bn_params[:] = value

    @property
    def dropout_params(self):
        """One dict per dropout layer, in order: 'mode', 'p' and optionally 'seed'."""
        return self._stack.dropout_params

    def loss(self, X, y=None):
        """Class scores, or the softmax loss and its gradients.

        Parameters
        ----------
        X : ndarray of shape (N, C, H, W), (C, H, W) = input_dim
        y : None, or int ndarray of shape (N,) with labels in [0, num_classes)

        Returns
        -------
        If y is None (test mode: batchnorm uses its running averages, dropout is off):
            scores : ndarray of shape (N, num_classes)
        Otherwise (training mode):
            loss : float, data loss plus ``0.5 * reg * sum(W**2)``
            grads : dict, the gradient of the loss for every entry of ``params``
        """
        X = check_images(X, self.input_dim, self.dtype)
        self._stack.set_mode("test" if y is None else "train")
        if y is not None and self.dropout_seed is None:
            for param in self.dropout_params:  # fresh masks, reproducible from `seed`
                param["seed"] = int(self._dropout_rng.integers(2 ** 63))
        scores, caches = self._stack.forward(X, self.params)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = self._stack.backward(dscores, caches)
        for name, W in self.params.items():
            if name.startswith("W"):
                loss += 0.5 * self.reg * float(np.vdot(W, W))  # one pass, no W * W temporary
                grads[name] += self.reg * W
        return loss, {name: grads[name].astype(self.dtype, copy=False) for name in self.params}


def _with_batchnorm(layers):
    """A bn after every conv and every fc but the last."""
    out = []
    for index, layer in enumerate(layers):
        out.append(layer)
        if isinstance(layer, WEIGHT_LAYERS) and index != len(layers) - 1:
            out.append(BatchNorm())
    return out


def _with_dropout(layers, keep):
    """A dropout before every fc."""
    out = []
    for layer in layers:
        if isinstance(layer, FC):
            out.append(Dropout(keep))
        out.append(layer)
    return out


def _initial_params(steps, weight_scale, dtype, rng):
    params = {}
    for index, step in enumerate(steps):
        for name, shape in step.params.items():
            if name.startswith("W"):
                fan_in = math.prod(shape[1:]) if isinstance(step.layer, Conv) else shape[0]
                std = weight_scale if weight_scale is not None else math.sqrt(
                    (2.0 if _feeds_relu(steps, index) else 1.0) / fan_in)
                params[name] = (std * rng.standard_normal(shape)).astype(dtype)
            elif name.startswith("gamma"):
                params[name] = np.ones(shape, dtype=dtype)
            else:
                params[name] = np.zeros(shape, dtype=dtype)
    return params


def _feeds_relu(steps, index):
    """Whether the output of layer ``index`` reaches a ReLU through bn/dropout only."""
    for step in steps[index + 1:]:
        if isinstance(step.layer, ReLU):
            return True
        if not isinstance(step.layer, (BatchNorm, Dropout)):
            return False
    return False

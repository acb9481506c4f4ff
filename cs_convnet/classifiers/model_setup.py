"""The provided half of the two models learners complete: their constructors and specs.

Learners write :meth:`FullyConnectedNet.loss` (``classifiers/fc_net.py``) and
:meth:`ThreeLayerConvNet.loss` (``classifiers/cnn.py``); the classes there extend
the ones here, which check the arguments, initialise ``params`` (the layout is
in each learner class's docstring) and set up the batchnorm, dropout, conv and
pool parameter dicts that ``loss`` uses.
"""

import numpy as np

from ..netspec import check_input_dim
from ..shape_checks import (
    check_dtype,
    check_keep_ratio,
    check_normalization,
    check_positive_ints,
    check_reg,
    check_seed,
    check_weight_scale,
)


class FullyConnectedNetSetup:
    """Constructor and spec of :class:`cs_convnet.classifiers.fc_net.FullyConnectedNet` (see its docstring)."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        if isinstance(hidden_dims, (str, bytes)) or not hasattr(hidden_dims, "__iter__"):
            raise ValueError(f"hidden_dims must be a list of hidden layer sizes such as [100, 100], "
                             f"got {hidden_dims!r}")
        hidden_dims = check_positive_ints(**{f"hidden_dims[{i}]": h for i, h in enumerate(hidden_dims)})
        self.input_dim, self.num_classes = check_positive_ints(input_dim=input_dim, num_classes=num_classes)
        dropout_keep_ratio = check_keep_ratio(dropout_keep_ratio)
        self.normalization = check_normalization(normalization)
        weight_scale = check_weight_scale(weight_scale)
        seed = check_seed(seed)

        self.use_dropout = dropout_keep_ratio != 1
        self.reg = check_reg(reg)
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = check_dtype(dtype)
        self.hidden_dims = hidden_dims

        rng = np.random.default_rng(seed)
        dims = [self.input_dim, *self.hidden_dims, self.num_classes]
        self.params = {}
        for i in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[i - 1], dims[i]
            self.params[f"W{i}"] = (weight_scale * rng.standard_normal((fan_in, fan_out))).astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=self.dtype)
            if normalization == "batchnorm" and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out, dtype=self.dtype)
                self.params[f"beta{i}"] = np.zeros(fan_out, dtype=self.dtype)

        # Dropout and batchnorm behave differently in training and test mode;
        # loss() sets the mode of these dicts before every forward pass.
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]

    @property
    def spec(self):
        """This network in the spec language of :mod:`cs_convnet.classifiers.convnet` (used by the summary)."""
        hidden = [f"fc{h}" + (" bn" if self.normalization else "") + " relu"
                  + (f" dropout{self.dropout_param['p']:g}" if self.use_dropout else "") for h in self.hidden_dims]
        return " ".join([*hidden, f"fc{self.num_classes}"])


class ThreeLayerConvNetSetup:
    """Constructor and spec of :class:`cs_convnet.classifiers.cnn.ThreeLayerConvNet` (see its docstring)."""

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        C, H, W = self.input_dim = check_input_dim(input_dim)
        self.num_filters, self.filter_size, self.hidden_dim, self.num_classes = check_positive_ints(
            num_filters=num_filters, filter_size=filter_size, hidden_dim=hidden_dim, num_classes=num_classes)
        if filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd so that pad = (filter_size - 1) / 2 keeps H and W, "
                             f"got {filter_size}")
        if H % 2 or W % 2:
            raise ValueError(f"the 2x2 stride-2 max pool needs an even height and width, got input_dim {input_dim} "
                             f"(H={H}, W={W}): (H - 2)/2 + 1 must be a whole number")
        weight_scale = check_weight_scale(weight_scale)
        seed = check_seed(seed)
        self.reg = check_reg(reg)
        self.dtype = check_dtype(dtype)
        self.conv_param = {"stride": 1, "pad": (self.filter_size - 1) // 2}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        rng = np.random.default_rng(seed)
        shapes = {
            "W1": (self.num_filters, C, self.filter_size, self.filter_size), "b1": (self.num_filters,),
            "W2": (self.num_filters * (H // 2) * (W // 2), self.hidden_dim), "b2": (self.hidden_dim,),
            "W3": (self.hidden_dim, self.num_classes), "b3": (self.num_classes,),
        }
        self.params = {
            name: (weight_scale * rng.standard_normal(shape) if name.startswith("W") else np.zeros(shape))
            .astype(self.dtype)
            for name, shape in shapes.items()
        }

    @property
    def spec(self):
        """This network in the spec language of :mod:`cs_convnet.classifiers.convnet` (used by the summary)."""
        return f"conv{self.filter_size}-{self.num_filters} relu pool2 fc{self.hidden_dim} relu fc{self.num_classes}"

"""The ConvNet spec language and its planner: what a network is, before any array exists.

Provided code. A spec is a short string, one token per layer, with
``[ ... ]xN`` for repetition, e.g. ``"[conv3-32 relu]x2 pool2 fc10"``.
:func:`parse_spec` turns it into layer objects, :func:`plan` walks them over
an input volume (every layer's output shape and parameter shapes, nothing
allocated), :func:`format_spec` writes layers back as a spec, and
:func:`convert_layers` rewrites fc layers as the equivalent convolutions.

Tokens (case-insensitive; ``<F>``, ``<K>``, ... are whole numbers):

=============================  =====================================================
``conv<F>-<K>``                K filters of size FxF, stride 1, pad (F-1)//2, which
                               keeps H and W for odd F ("same" convolution)
``conv<F>-<K>-s<S>-p<P>``      the same with stride S and/or pad P (either suffix
                               may be left out, e.g. ``conv11-96-s4-p0``)
``conv<FH>x<FW>-<K>-p<P>``     rectangular FH x FW filters (the pad is required)
``pool<F>``                    FxF max pooling with stride F
``pool<F>-s<S>``               FxF max pooling with stride S; overlapping windows
                               (``pool3-s2``) must tile the input exactly...
``pool<F>[-s<S>]-floor``       ...unless ``-floor`` drops the rows and columns that
                               do not fill a window (``pool_param['floor'] = True``)
``avgpool<F>[-s<S>][-floor]``  average pooling, same options
``relu``                       ReLU
``bn``                         batch normalization: spatial (per channel) after a
                               conv or pool, over features after an fc
``dropout<p>``                 inverted dropout with keep probability p in (0, 1]
``fc<M>``                      fully-connected layer with M outputs
``[ ... ]x<N>``                the layers inside, N times (groups may nest)
=============================  =====================================================

Weights are named as in CS231n: ``W1, b1`` for the first conv or fc layer,
``W2, b2`` for the second, ...; a ``bn`` takes the number of the conv or fc
layer it normalizes (``gamma3, beta3`` follow ``W3``).

Used by :class:`cs_convnet.classifiers.convnet.ConvNet` (which runs a plan),
:mod:`cs_convnet.summary` (which describes a plan without allocating it) and
:mod:`cs_convnet.surgery` (which moves an fc net's weights into convolutions).
This module imports none of them. :func:`parse_spec` and :func:`plan` accept
any sequence of tokens; :func:`check_pattern` is the extra rule of
:class:`~cs_convnet.classifiers.convnet.ConvNet`.
"""

import math
import numbers
import re
from dataclasses import dataclass

from .shape_checks import output_size

SPEC_HELP = (
    "tokens are conv<F>-<K>[-s<S>][-p<P>], pool<F>[-s<S>][-floor], avgpool<F>[-s<S>][-floor], "
    "relu, bn, dropout<p>, fc<M>, and groups [ ... ]x<N>"
)


# --------------------------------------------------------------------------
# The layers of a spec: what each token means, its output shape and its parameters
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Conv:
    """``conv<F>-<K>[-s<S>][-p<P>]``: K filters of shape (C, F, F).

    ``conv<FH>x<FW>-<K>-p<P>`` gives rectangular FH x FW filters (the pad must
    then be explicit); net surgery uses them for fc layers on non-square volumes.
    """

    size: int
    filters: int
    stride: int = 1
    pad: int = None  # None: (size - 1) // 2
    width: int = None  # None: size (square filters)

    @property
    def filter_width(self):
        return self.size if self.width is None else self.width

    @property
    def padding(self):
        return (self.size - 1) // 2 if self.pad is None else self.pad

    @property
    def conv_param(self):
        return {"stride": self.stride, "pad": self.padding}

    @property
    def token(self):
        size = f"{self.size}" if self.width is None else f"{self.size}x{self.width}"
        suffix = (f"-s{self.stride}" if self.stride != 1 else "") + (f"-p{self.pad}" if self.pad is not None else "")
        return f"conv{size}-{self.filters}{suffix}"

    @property
    def name(self):
        return self.token.upper()

    def output_shape(self, shape):
        C, H, W = shape
        H_out = output_size(H, self.size, self.padding, self.stride, "height")
        W_out = output_size(W, self.filter_width, self.padding, self.stride, "width")
        return (self.filters, H_out, W_out)

    def param_shapes(self, shape):
        return {"W": (self.filters, shape[0], self.size, self.filter_width), "b": (self.filters,)}


@dataclass(frozen=True)
class Pool:
    """``pool<F>[-s<S>][-floor]`` (max) or ``avgpool<F>...`` (average)."""

    size: int
    stride: int = None  # None: size (non-overlapping windows)
    floor: bool = False
    average: bool = False

    @property
    def step(self):
        return self.size if self.stride is None else self.stride

    @property
    def pool_param(self):
        param = {"pool_height": self.size, "pool_width": self.size, "stride": self.step}
        if self.floor:
            param["floor"] = True
        return param

    @property
    def token(self):
        return (
            ("avgpool" if self.average else "pool") + str(self.size)
            + (f"-s{self.stride}" if self.stride is not None else "") + ("-floor" if self.floor else "")
        )

    @property
    def name(self):
        return self.token.upper()

    def output_shape(self, shape):
        C, H, W = shape
        H_out = output_size(H, self.size, 0, self.step, "height", floor=self.floor)
        W_out = output_size(W, self.size, 0, self.step, "width", floor=self.floor)
        return (C, H_out, W_out)

    def param_shapes(self, shape):
        return {}


@dataclass(frozen=True)
class FC:
    """``fc<M>``: an affine layer from the flattened input volume to M outputs."""

    units: int

    @property
    def token(self):
        return f"fc{self.units}"

    @property
    def name(self):
        return f"FC-{self.units}"

    def output_shape(self, shape):
        return (self.units,)

    def param_shapes(self, shape):
        return {"W": (math.prod(shape), self.units), "b": (self.units,)}


@dataclass(frozen=True)
class ReLU:
    """``relu``."""

    token = "relu"
    name = "RELU"

    def output_shape(self, shape):
        return shape

    def param_shapes(self, shape):
        return {}


@dataclass(frozen=True)
class BatchNorm:
    """``bn``: per channel on a (C, H, W) volume, per feature on a (D,) vector."""

    token = "bn"
    name = "BN"

    def output_shape(self, shape):
        return shape

    def param_shapes(self, shape):
        return {"gamma": (shape[0],), "beta": (shape[0],)}


@dataclass(frozen=True)
class Dropout:
    """``dropout<p>``: inverted dropout keeping each unit with probability p."""

    keep: float

    @property
    def token(self):
        return f"dropout{self.keep!r}"

    @property
    def name(self):
        return self.token.upper()

    def output_shape(self, shape):
        return shape

    def param_shapes(self, shape):
        return {}


WEIGHT_LAYERS = (Conv, FC)
SPATIAL_LAYERS = (Conv, Pool)


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

_NUMBER = r"(\d+)"
_PATTERNS = [
    (re.compile(rf"conv{_NUMBER}(?:x{_NUMBER})?-{_NUMBER}((?:-[sp]\d+)*)"), "conv"),
    (re.compile(rf"(avgpool|pool){_NUMBER}((?:-s\d+)?)(-floor)?"), "pool"),
    (re.compile(rf"fc{_NUMBER}"), "fc"),
    (re.compile(r"relu"), "relu"),
    (re.compile(r"bn"), "bn"),
    (re.compile(r"dropout(\d*\.?\d+(?:e-?\d+)?)"), "dropout"),
]


class _Token:
    """A token of the spec string and where it starts, for error messages."""

    def __init__(self, text, start):
        self.text, self.start = text, start


def _spec_error(spec, token, message):
    """A ValueError that quotes the spec and puts a caret under the bad token."""
    one_line = re.sub(r"\s", " ", spec)  # newlines and tabs would misplace the caret
    caret = " " * (token.start + len("spec: ")) + "^" * max(1, len(token.text))
    return ValueError(f"{message}\nspec: {one_line}\n{caret}\n({SPEC_HELP})")


def _tokenize(spec):
    tokens = []
    for match in re.finditer(r"\[|\]\s*x\s*\d+|\]\s*x?|[^\s\[\]]+", spec, flags=re.IGNORECASE):
        tokens.append(_Token(match.group(), match.start()))
    return tokens


def _positive(spec, token, text, what):
    value = int(text)
    if value < 1:
        raise _spec_error(spec, token, f"{what} in '{token.text}' must be at least 1, got {value}")
    return value


def _parse_layer(spec, token):
    text = token.text.lower()
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        if kind == "conv":
            size = _positive(spec, token, match.group(1), "the filter size F")
            width = _positive(spec, token, match.group(2), "the filter width") if match.group(2) else None
            filters = _positive(spec, token, match.group(3), "the number of filters K")
            options = re.findall(r"-([sp])(\d+)", match.group(4))
            keys = [key for key, _ in options]
            if len(set(keys)) != len(keys):
                raise _spec_error(spec, token, f"'{token.text}' gives the stride (-s) or pad (-p) twice")
            values = dict(options)
            stride = _positive(spec, token, values["s"], "the stride S") if "s" in values else 1
            pad = int(values["p"]) if "p" in values else None
            if width is not None and width != size and pad is None:
                raise _spec_error(spec, token, f"'{token.text}' has rectangular filters: give the pad with -p<P>")
            return Conv(size, filters, stride, pad, None if width == size else width)
        if kind == "pool":
            size = _positive(spec, token, match.group(2), "the window size F")
            stride = _positive(spec, token, match.group(3)[2:], "the stride S") if match.group(3) else None
            return Pool(size, stride, floor=bool(match.group(4)), average=match.group(1) == "avgpool")
        if kind == "fc":
            return FC(_positive(spec, token, match.group(1), "the number of outputs M"))
        if kind == "dropout":
            keep = float(match.group(1))
            if not 0 < keep <= 1:
                raise _spec_error(
                    spec, token, f"'{token.text}': dropout takes the keep probability p, which must lie in (0, 1], "
                    f"got {keep:g}")
            return Dropout(keep)
        return ReLU() if kind == "relu" else BatchNorm()
    if re.fullmatch(r"x\d+", text):
        raise _spec_error(spec, token, f"'{token.text}' repeats a group: close the group with ']{token.text}', "
                          f"e.g. '[conv3-32 relu]x2'")
    raise _spec_error(spec, token, f"unknown layer '{token.text}'")


def parse_spec(spec):
    """Parse a spec string (see the module docstring) into a flat list of layers.

    Parameters
    ----------
    spec : str, or a list/tuple of token strings (joined with spaces)

    Returns
    -------
    layers : list of Conv, Pool, FC, ReLU, BatchNorm and Dropout, groups expanded

    Raises
    ------
    ValueError
        For an unknown token, a bad number, or unbalanced brackets; the message
        quotes the spec with a caret under the offending token.
    """
    if isinstance(spec, (list, tuple)) and all(isinstance(item, str) for item in spec):
        spec = " ".join(spec)
    if not isinstance(spec, str):
        raise ValueError(f"spec must be a string such as 'conv3-16 relu pool2 fc10', got {type(spec).__name__}")
    tokens = _tokenize(spec)
    if not tokens:
        raise ValueError(f"spec is empty; write one token per layer, e.g. 'conv3-16 relu pool2 fc10' ({SPEC_HELP})")
    stack = [(None, [])]  # (opening token, layers collected inside)
    for token in tokens:
        if token.text == "[":
            stack.append((token, []))
        elif token.text.startswith("]"):
            repeat = re.fullmatch(r"\]\s*x\s*(\d+)", token.text, flags=re.IGNORECASE)
            if repeat is None:
                raise _spec_error(spec, token, "a group must close with ']x<N>', e.g. '[conv3-32 relu]x2'")
            if len(stack) == 1:
                raise _spec_error(spec, token, "']' closes a group that was never opened")
            count = _positive(spec, token, repeat.group(1), "the repeat count N")
            opening, inner = stack.pop()
            if not inner:
                raise _spec_error(spec, opening, "empty group '[ ]'")
            stack[-1][1].extend(inner * count)
        else:
            stack[-1][1].append(_parse_layer(spec, token))
    if len(stack) > 1:
        raise _spec_error(spec, stack[-1][0], "'[' is never closed by ']x<N>'")
    return stack[0][1]


def format_spec(layers):
    """The flat spec string of a list of layers (groups written out): ``parse_spec(format_spec(l)) == l``."""
    return " ".join(layer.token for layer in layers)


# --------------------------------------------------------------------------
# Geometry: the shape after every layer, and the parameter names and shapes
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One layer of a planned network.

    Attributes
    ----------
    layer : Conv, Pool, FC, ReLU, BatchNorm or Dropout
    input_shape, output_shape : tuple, (C, H, W) for volumes, (D,) after an fc
    params : dict, parameter name (e.g. 'W3', 'gamma3') -> shape
    """

    layer: object
    input_shape: tuple
    output_shape: tuple
    params: dict


def check_input_dim(input_dim, allow_flat=False):
    """Validate ``input_dim = (C, H, W)`` (or ``(D,)`` if ``allow_flat``) and return it as a tuple of ints."""
    lengths = (3, 1) if allow_flat else (3,)
    if (not isinstance(input_dim, (tuple, list)) or len(input_dim) not in lengths
            or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1 for d in input_dim)):
        expected = "(C, H, W) or (D,)" if allow_flat else "(C, H, W), three positive integers"
        raise ValueError(f"input_dim must be {expected}, got {input_dim!r}")
    return tuple(int(d) for d in input_dim)


def plan(spec, input_dim):
    """Walk a spec over an input volume: every layer's output shape and parameters.

    Nothing is allocated, so a VGG-16 on 3x224x224 is planned in microseconds.

    Parameters
    ----------
    spec : str, list of token strings, or list of layers from :func:`parse_spec`
    input_dim : tuple (C, H, W), or (D,) for a spec of fc layers only

    Returns
    -------
    steps : list of :class:`Step`, one per layer

    Raises
    ------
    ValueError
        When a layer does not fit its input: a conv or pool whose
        ``(W - F + 2P)/S + 1`` is not a whole number or which is larger than its
        padded input, a conv or pool after an fc, or a bn with no conv or fc
        before it to take its number. The message names the layer and its input.
    """
    layers = spec if _is_layer_list(spec) else parse_spec(spec)
    shape = check_input_dim(input_dim, allow_flat=True)
    steps = []
    weight_number, normalized = 0, True
    for position, layer in enumerate(layers, start=1):
        where = f"layer {position} '{layer.token}' on input {_volume(shape)}"
        if isinstance(layer, SPATIAL_LAYERS) and len(shape) != 3:
            kind = "conv" if isinstance(layer, Conv) else "pool"
            raise ValueError(f"{where}: a {kind} needs a (C, H, W) volume, not a vector "
                             f"(convs and pools come before the first fc, which flattens its input)")
        try:
            output_shape = layer.output_shape(shape)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        shapes = layer.param_shapes(shape)
        if isinstance(layer, WEIGHT_LAYERS):
            weight_number += 1
            normalized = False
            names = {f"W{weight_number}": shapes["W"], f"b{weight_number}": shapes["b"]}
        elif isinstance(layer, BatchNorm):
            if normalized:
                raise ValueError(f"{where}: a bn must follow a conv or fc layer that no other bn normalizes yet; "
                                 f"it takes that layer's number (gamma3, beta3 after W3)")
            normalized = True
            names = {f"gamma{weight_number}": shapes["gamma"], f"beta{weight_number}": shapes["beta"]}
        else:
            names = {}
        steps.append(Step(layer, shape, output_shape, names))
        shape = output_shape
    return steps


def _is_layer_list(spec):
    return isinstance(spec, (list, tuple)) and all(isinstance(item, (Conv, Pool, FC, ReLU, BatchNorm, Dropout))
                                                   for item in spec) and len(spec) > 0


def _volume(shape):
    return " x ".join(map(str, shape))


def check_pattern(layers):
    """Raise unless ``layers`` follow INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC."""
    if not layers or not isinstance(layers[-1], FC):
        last = layers[-1].token if layers else "nothing"
        raise ValueError(f"a ConvNet spec must end with the fc layer that gives the class scores, e.g. 'fc10'; "
                         f"this one ends with '{last}'")


# --------------------------------------------------------------------------
# Net surgery on specs: fc layers as convolutions (the weights: cs_convnet.surgery)
# --------------------------------------------------------------------------

def convert_layers(spec, input_dim):
    """The layers of ``spec`` with every fc replaced by the equivalent conv (no weights involved).

    Parameters
    ----------
    spec : str or list of layers
    input_dim : tuple (C, H, W), the input size the spec was designed for

    Returns
    -------
    layers : list; an fc on a C x H x W volume becomes ``conv<H>x<W>-<M>-p0``
        (``conv<H>-<M>-p0`` when H == W), an fc on a vector a ``conv1-<M>-p0``
    """
    layers = []
    for step in plan(spec, check_input_dim(input_dim)):
        layer = step.layer
        if isinstance(layer, FC):
            _, H, W = step.input_shape if len(step.input_shape) == 3 else (None, 1, 1)
            layer = Conv(H, layer.units, stride=1, pad=0, width=None if W == H else W)
        layers.append(layer)
    return layers


def convert_spec(spec, input_dim):
    """:func:`convert_layers` written back as a spec string, e.g. for :mod:`cs_convnet.summary`."""
    return format_spec(convert_layers(spec, input_dim))


def output_stride(spec, input_dim):
    """S: the product of the strides of the convs and pools before the first fc."""
    stride = 1
    for step in plan(spec, check_input_dim(input_dim)):
        if isinstance(step.layer, FC):
            break
        if isinstance(step.layer, Conv):
            stride *= step.layer.stride
        elif isinstance(step.layer, Pool):
            stride *= step.layer.step
    return stride

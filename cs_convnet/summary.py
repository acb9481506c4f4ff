"""Model summary: every layer's output volume, activation memory and parameter count.

Provided code. A summary is computed from a spec (see
:mod:`cs_convnet.netspec`) and an input size, without allocating
any weight, so describing VGG-16 on a 3x224x224 image is instant; or from a
built model, whose actual parameters are then counted too.

Conventions, as in the "VGGNet in detail" table of the CS231n notes:

- One row per layer that produces a new volume (conv, pool, fc), plus the
  input. ReLU, bn and dropout change no shape; they are folded into the row of
  the layer they follow (``CONV3-64 RELU``), their activations are not counted
  again (the notes treat them as in place), and bn's gamma and beta are added to
  that row's parameters.
- ``activations`` is the number of values of the row's output volume; the total
  includes the input image, as in the notes. ``memory`` is that count times the
  bytes of the dtype, for one image and the forward pass only (the backward
  pass keeps about as much again).
- ``weights`` counts W only, as the notes do (CONV3-64 on 3 channels:
  (3*3*3)*64 = 1,728); ``params`` adds biases, gamma and beta (1,792).

For VGG-16 the rows reproduce the notes' numbers, and the totals are 138.3M
weights (138.4M parameters) and 15.2M activations, 61 MB per image in float32.
The notes print "24M * 4 bytes ~= 93MB" as the total, but their own per-layer
rows add up to 15.2M (cs231n.github.io issue #88); we report the sum.

Command line::

    python -m cs_convnet.summary --vgg16
    python -m cs_convnet.summary --spec "[conv3-32 relu]x2 pool2 fc10" --input-dim 3x32x32
    python -m cs_convnet.summary --vgg16 --image-dim 3x384x384   # after net surgery: 6x6 class scores
"""

import argparse
import math
import sys
from dataclasses import asdict, dataclass

import numpy as np

from .netspec import FC, Conv, Pool, check_input_dim, convert_spec, plan

VGG16_SPEC = (
    "[conv3-64 relu]x2 pool2 [conv3-128 relu]x2 pool2 [conv3-256 relu]x3 pool2 "
    "[conv3-512 relu]x3 pool2 [conv3-512 relu]x3 pool2 fc4096 relu fc4096 relu fc1000"
)
"""VGG-16 (configuration D of Simonyan & Zisserman), as tabulated in the CS231n notes."""

VGG16_INPUT_DIM = (3, 224, 224)


@dataclass(frozen=True)
class Row:
    """One row of a summary.

    Attributes
    ----------
    name : str, e.g. 'CONV3-64 RELU'
    output_shape : tuple, (C, H, W), or (D,) after an fc
    activations : int, values in the output volume
    memory : int, bytes of the output volume for one image
    weights : int, entries of W
    params : int, entries of W, b, gamma and beta
    """

    name: str
    output_shape: tuple
    activations: int
    memory: int
    weights: int
    params: int


@dataclass(frozen=True)
class Summary:
    """Rows of a model summary and their totals (see the module docstring)."""

    rows: tuple
    dtype: type

    @property
    def total_activations(self):
        return sum(row.activations for row in self.rows)

    @property
    def total_memory(self):
        return sum(row.memory for row in self.rows)

    @property
    def total_weights(self):
        return sum(row.weights for row in self.rows)

    @property
    def total_params(self):
        return sum(row.params for row in self.rows)

    def as_dicts(self):
        """The rows as a list of plain dicts (keys as in :class:`Row`)."""
        return [asdict(row) for row in self.rows]

    def __str__(self):
        return format_table(self)


def summarize(model_or_spec, input_dim=None, dtype=np.float32):
    """Summarize a spec without building it, or a built model.

    Parameters
    ----------
    model_or_spec : str (a spec), or a model with ``spec``, ``input_dim``, ``dtype``
        and ``params`` attributes (ConvNet, ThreeLayerConvNet, FullyConnectedNet)
    input_dim : tuple (C, H, W) or (D,); required for a spec, taken from a model
    dtype : the dtype of the activations, for a spec (a model's own dtype is used)

    Returns
    -------
    :class:`Summary`

    Raises
    ------
    ValueError
        For a bad spec or a layer that does not fit its input (see
        :func:`cs_convnet.netspec.plan`), or a model whose
        parameters do not match its spec.
    """
    if isinstance(model_or_spec, (str, list, tuple)):
        if input_dim is None:
            raise ValueError("summarizing a spec needs input_dim, e.g. (3, 224, 224)")
        spec, model = model_or_spec, None
    else:
        model = model_or_spec
        missing = [name for name in ("spec", "input_dim", "dtype", "params") if not hasattr(model, name)]
        if missing:
            raise ValueError(f"expected a spec string or a model with spec, input_dim, dtype and params; "
                             f"{type(model).__name__} has no {', '.join(missing)}")
        spec, dtype = model.spec, model.dtype
        input_dim = model.input_dim if isinstance(model.input_dim, (tuple, list)) else (model.input_dim,)
    itemsize = np.dtype(dtype).itemsize
    input_dim = check_input_dim(input_dim, allow_flat=True)
    steps = plan(spec, input_dim)

    rows = [_row("INPUT", input_dim, [], itemsize)]
    for step in steps:
        if isinstance(step.layer, (Conv, Pool, FC)):
            rows.append(_row(step.layer.name, step.output_shape, [step], itemsize))
        else:  # relu, bn, dropout: same volume, folded into the row above
            previous = rows[-1]
            rows[-1] = Row(
                f"{previous.name} {step.layer.name}", previous.output_shape, previous.activations, previous.memory,
                previous.weights, previous.params + sum(math.prod(shape) for shape in step.params.values()),
            )
    summary = Summary(tuple(rows), np.dtype(dtype).type)
    if model is not None:
        actual = sum(int(np.asarray(value).size) for value in model.params.values())
        if actual != summary.total_params:
            raise ValueError(f"the model's params hold {actual:,} numbers but its spec '{spec}' "
                             f"on input {input_dim} needs {summary.total_params:,}")
    return summary


def _row(name, shape, steps, itemsize):
    activations = math.prod(shape)
    weights = sum(math.prod(s) for step in steps for key, s in step.params.items() if key.startswith("W"))
    params = sum(math.prod(s) for step in steps for s in step.params.values())
    return Row(name, tuple(shape), activations, activations * itemsize, weights, params)


def _volume(shape):
    return " x ".join(map(str, shape))


def _bytes(count, decimal=False):
    """Bytes in binary units; with ``decimal``, also the decimal megabytes the notes use."""
    if decimal and count >= 10 ** 6:
        return f"{count / 2 ** 20:.1f} MiB ({count / 1e6:.1f} MB)"
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def _millions(count):
    return f"{count / 1e6:.1f}M" if count >= 1e5 else f"{count:,}"


def format_table(summary):
    """A readable text table of a :class:`Summary`, with totals."""
    header = ("layer", "output (C x H x W)", "activations", "memory", "weights (W)", "params (W, b, ...)")
    lines = [(row.name, _volume(row.output_shape), f"{row.activations:,}", _bytes(row.memory),
              f"{row.weights:,}", f"{row.params:,}") for row in summary.rows]
    total = ("TOTAL", "", f"{summary.total_activations:,}", _bytes(summary.total_memory),
             f"{summary.total_weights:,}", f"{summary.total_params:,}")
    widths = [max(len(line[i]) for line in [header, total, *lines]) for i in range(len(header))]

    def render(cells):
        return "  ".join(cell.ljust(width) if i < 2 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(render(header))
    itemsize = np.dtype(summary.dtype).itemsize
    footer = (
        f"forward activations per image: {_millions(summary.total_activations)} x {itemsize} bytes "
        f"({np.dtype(summary.dtype).name}) = {_bytes(summary.total_memory, decimal=True)}; the backward pass keeps "
        f"about as much again.\n"
        f"parameters: {_millions(summary.total_params)} ({_millions(summary.total_weights)} weights), "
        f"{_bytes(summary.total_params * itemsize, decimal=True)}."
    )
    return "\n".join([render(header), rule, *map(render, lines), rule, render(total), "", footer])


def main(argv=None):
    """``python -m cs_convnet.summary``: print the summary table of a spec (VGG-16 by default)."""
    parser = argparse.ArgumentParser(
        prog="cs-convnet summary",
        description="Per-layer output volume, activation memory and parameter count of a ConvNet spec, "
                    "computed without allocating it.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--spec", help="a ConvNet spec, e.g. \"[conv3-32 relu]x2 pool2 fc10\"")
    which.add_argument("--vgg16", action="store_true", help="VGG-16 as in the CS231n notes (the default)")
    parser.add_argument("--input-dim", default=None, metavar="CxHxW",
                        help="input volume, e.g. 3x32x32 (default: 3x224x224 for VGG-16, 3x32x32 otherwise)")
    parser.add_argument("--image-dim", default=None, metavar="CxHxW",
                        help="summarize the net after surgery (its fc layers turned into convs, see "
                             "cs_convnet.surgery) on a larger image of this size, e.g. 3x384x384 for VGG-16")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args(argv)

    spec = args.spec if args.spec is not None else VGG16_SPEC
    if args.input_dim is not None:
        input_dim = _parse_dim(parser, "--input-dim", args.input_dim)
    else:
        input_dim = (3, 32, 32) if args.spec is not None else VGG16_INPUT_DIM
    try:
        if args.image_dim is not None:
            spec, input_dim = convert_spec(spec, input_dim), _parse_dim(parser, "--image-dim", args.image_dim)
        summary = summarize(spec, input_dim, dtype=np.dtype(args.dtype))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(summary))
    return 0


def _parse_dim(parser, option, text):
    try:
        return tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        parser.error(f"{option} must look like 3x32x32, got {text!r}")


if __name__ == "__main__":
    sys.exit(main())

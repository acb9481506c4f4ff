"""Train a model on CIFAR-10 with the fast layers: ``cs-convnet train`` and :func:`train`.

Provided code. One command (or one function call from a notebook) loads the
data, builds the model, runs the :class:`~cs_convnet.solver.Solver` with a
progress bar, and writes into the output folder ``OUT``::

    OUT/config.json           the full configuration (what --resume reuses)
    OUT/log.json              one entry per epoch (train/val accuracy, mean
                              loss, learning rate, time), then the test accuracy
    OUT/checkpoints/*.pkl     the Solver's checkpoints (atomic): model_epoch_0.pkl
                              after the first iteration, then model_epoch_<k>.pkl
                              after every epoch k
    OUT/curves.png            loss per iteration and train/val accuracy per epoch
    OUT/filters.png           the first layer's filters as images

and finally the accuracy on the held-out test set, computed with the
parameters that had the best validation accuracy.

Examples
--------
Command line::

    cs-convnet train --preset quick
    cs-convnet train --preset three_layer_one_epoch --data ../shared/datasets/cifar-10-python-reconstructed.tar.gz
    cs-convnet train --spec "[conv3-32 bn relu]x2 pool2 fc10" --epochs 5 --schedule cosine --augment
    cs-convnet train --resume runs/deep/checkpoints/model_epoch_3.pkl   # same config, same result

Python::

    from cs_convnet.train import TrainConfig, train
    result = train(TrainConfig(model="ThreeLayerConvNet", epochs=1, num_train=1000, out="runs/try"))
    result.test_acc, result.log_path

Presets (``--preset NAME``; options given explicitly override the preset):

``quick``
    ThreeLayerConvNet (16 filters, hidden 100) on 1,000 images for 2 epochs:
    a smoke test of well under a minute.
``three_layer_one_epoch``
    CS231n's one-epoch settings: ThreeLayerConvNet with weight_scale=0.001,
    hidden_dim=500, reg=0.001, adam, learning rate 1e-3, batch 50, 49,000
    training images, one epoch.
``deep``
    ``[conv3-K bn relu conv3-K bn relu pool2]x3 fc10`` with K = 32, 64, 128
    (a deeper net of the notes' pattern, He initialization), 9 epochs of
    batch 128: Adam with a one-cycle learning rate peaking at 2e-3 and
    decoupled weight decay 1e-2 (AdamW), random 4-pixel crops and flips,
    inputs divided by the per-channel standard deviation (``--normalize``).
    Adam, because SGD with momentum at a one-cycle peak of 0.1 was unstable on
    this net (training loss 2-6 around the peak) in a trial run.

``--resume CHECKPOINT`` reads the run's ``config.json`` (next to its
``checkpoints`` folder), so no other option is needed; options given override
it (e.g. ``--epochs`` to train longer, which changes the schedule from there).
"""

import argparse
import dataclasses
import json
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import atomic, fast_layers, fast_optim
from .augment import Augment
from .cli import DefaultsHelpFormatter
from .denormals import flush_denormals
from .schedules import SCHEDULES, make_schedule
from .shape_checks import check_int, check_number, check_training_data

PROG = "cs-convnet train"
MODELS = ("ThreeLayerConvNet", "FullyConnectedNet", "ConvNet")
_MODEL_ALIASES = {name.lower(): name for name in MODELS} | {
    "three_layer": "ThreeLayerConvNet", "threelayer": "ThreeLayerConvNet", "fc": "FullyConnectedNet",
    "fcnet": "FullyConnectedNet", "fully_connected": "FullyConnectedNet", "convnet": "ConvNet",
}
UPDATE_RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")
DTYPES = ("float32", "float64")

DEEP_SPEC = ("conv3-32 bn relu conv3-32 bn relu pool2 "
             "conv3-64 bn relu conv3-64 bn relu pool2 "
             "conv3-128 bn relu conv3-128 bn relu pool2 fc10")

#: Update rules the training command takes from the provided fast versions (same rule, in place).
FAST_UPDATE_RULES = {"adam": fast_optim.adam}

PRESETS = {
    "quick": dict(
        model="ThreeLayerConvNet", num_train=1000, num_val=500, num_test=1000, epochs=2, batch_size=50,
        update_rule="adam", lr=1e-3, hidden_dim=100, num_filters=16, weight_scale=1e-3, reg=1e-3,
    ),
    "three_layer_one_epoch": dict(
        model="ThreeLayerConvNet", num_train=49000, num_val=1000, epochs=1, batch_size=50,
        update_rule="adam", lr=1e-3, hidden_dim=500, weight_scale=1e-3, reg=1e-3, schedule="constant",
        augment=False, dtype="float32",
    ),
    "deep": dict(
        model="ConvNet", spec=DEEP_SPEC, num_train=49000, num_val=1000, epochs=9, batch_size=128,
        update_rule="adam", lr=2e-3, schedule="onecycle", warmup=0.0, weight_decay=1e-2,
        augment=True, crop_padding=4, normalize=True, weight_scale=None, dtype="float32", tta=True,
    ),
}


class TrainError(ValueError):
    """A bad option or a missing input: the command prints the message and exits non-zero."""


@dataclass
class TrainConfig:
    """Everything that defines a training run. Defaults are a short ThreeLayerConvNet run.

    Attributes
    ----------
    model : 'ThreeLayerConvNet', 'FullyConnectedNet' or 'ConvNet' (which needs ``spec``)
    spec : str, the ConvNet's layers (see :mod:`cs_convnet.classifiers.convnet`)
    data : path of the CIFAR-10 archive or folder; None: ``CS_CONVNET_CIFAR10``
        or ``datasets/`` (see :func:`cs_convnet.data.find_cifar10`)
    epochs, batch_size : int >= 1
    lr : float > 0, the base (peak) learning rate
    update_rule : 'sgd', 'sgd_momentum', 'rmsprop' or 'adam'
    schedule : 'constant', 'step', 'cosine' or 'onecycle' (see :mod:`cs_convnet.schedules`)
    warmup : float >= 0, epochs of linear warm-up (for 'onecycle': epochs to the peak)
    weight_decay : float >= 0, decoupled weight decay (applied by the Solver)
    reg : float >= 0, L2 regularization inside the model's loss
    augment : bool, random crops (``crop_padding`` zeros each side) and horizontal flips
    normalize : bool, divide every image by the per-channel standard deviation of the
        training images (after the mean image is subtracted), so that inputs have unit scale
    num_train, num_val, num_test : int, images of each split
    seed : int, for initialization, minibatch order and augmentation (dropout masks come
        from :func:`cs_convnet.layers.dropout_forward`'s own unseeded generator, so a
        run with dropout is not bit-for-bit reproducible)
    out : path of the output folder
    dtype : 'float32' or 'float64'
    hidden_dim, hidden_dims, num_filters, filter_size, weight_scale, normalization, dropout_keep_ratio :
        model options (None: the model's default)
    progress : bool, show a progress bar
    tta : bool, also report the test accuracy with flip test-time augmentation
        (each test image classified by its mean class probabilities with its mirror image)
    """

    model: str = "ThreeLayerConvNet"
    spec: str = None
    data: str = None
    epochs: int = 1
    batch_size: int = 50
    lr: float = 1e-3
    update_rule: str = "adam"
    schedule: str = "constant"
    warmup: float = 0.0
    weight_decay: float = 0.0
    reg: float = 0.0
    augment: bool = False
    crop_padding: int = 4
    normalize: bool = False
    num_train: int = 49000
    num_val: int = 1000
    num_test: int = 10000
    seed: int = 0
    out: str = "runs/train"
    dtype: str = "float32"
    hidden_dim: int = None
    hidden_dims: list = None
    num_filters: int = None
    filter_size: int = None
    weight_scale: float = None
    normalization: str = None
    dropout_keep_ratio: float = None
    progress: bool = True
    tta: bool = False
    preset: str = None

    @classmethod
    def from_preset(cls, name, **overrides):
        """A config with a preset's values, then ``overrides`` (values of None are ignored)."""
        if name not in PRESETS:
            raise TrainError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
        values = dict(PRESETS[name], preset=name)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    config: TrainConfig
    model: object
    solver: object
    log: dict
    test_acc: float
    best_val_acc: float
    out: Path
    log_path: Path
    plots: dict = field(default_factory=dict)
    test_acc_flip: float = None


# --------------------------------------------------------------------------- validation

def _positive_int(value, name, minimum=1):
    return check_int(name, value, minimum, error=TrainError)


def _number(value, name, *, positive=False):
    return check_number(name, value, positive=positive, error=TrainError)


def canonical_model_name(name):
    """'ThreeLayerConvNet', 'FullyConnectedNet' or 'ConvNet' for a name or alias (any case)."""
    key = str(name).strip().lower()
    if key not in _MODEL_ALIASES:
        raise TrainError(f"unknown model {name!r}; choose from {', '.join(MODELS)} "
                         "(ConvNet takes its layers from --spec)")
    return _MODEL_ALIASES[key]


def validate(config):
    """Check every option of ``config`` and return a normalized copy; raise TrainError naming the bad one."""
    c = dataclasses.replace(config)
    c.model = canonical_model_name(c.model)
    if c.model == "ConvNet" and not c.spec:
        raise TrainError("model ConvNet needs a spec, e.g. --spec \"[conv3-32 relu]x2 pool2 fc10\"")
    if c.spec and c.model != "ConvNet":
        raise TrainError(f"--spec describes a ConvNet, but the model is {c.model}; use --model ConvNet or drop --model")
    c.epochs = _positive_int(c.epochs, "epochs")
    c.batch_size = _positive_int(c.batch_size, "batch size")
    c.num_train = _positive_int(c.num_train, "num_train (the number of training images)")
    c.num_val = _positive_int(c.num_val, "num_val (the number of validation images)")
    c.num_test = _positive_int(c.num_test, "num_test (the number of test images)", minimum=0)
    if c.batch_size > c.num_train:
        raise TrainError(f"batch size {c.batch_size} is larger than the {c.num_train} training images")
    c.lr = _number(c.lr, "learning rate", positive=True)
    c.warmup = _number(c.warmup, "warmup (epochs)")
    if c.warmup >= c.epochs:
        raise TrainError(f"warmup ({c.warmup:g} epochs) must be shorter than the run ({c.epochs} epochs)")
    c.weight_decay = _number(c.weight_decay, "weight decay")
    c.reg = _number(c.reg, "reg")
    c.crop_padding = _positive_int(c.crop_padding, "crop padding", minimum=0)
    c.seed = _positive_int(c.seed, "seed", minimum=0)
    if c.update_rule not in UPDATE_RULES:
        raise TrainError(f"unknown update rule {c.update_rule!r}; choose from {', '.join(UPDATE_RULES)}")
    if c.schedule not in SCHEDULES:
        raise TrainError(f"unknown schedule {c.schedule!r}; choose from {', '.join(SCHEDULES)}")
    if c.dtype not in DTYPES:
        raise TrainError(f"dtype must be one of {', '.join(DTYPES)}, got {c.dtype!r}")
    if c.weight_scale is not None:
        c.weight_scale = _number(c.weight_scale, "weight scale", positive=True)
    for name in ("hidden_dim", "num_filters", "filter_size"):
        if getattr(c, name) is not None:
            setattr(c, name, _positive_int(getattr(c, name), name.replace("_", " ")))
    if c.hidden_dims is not None:
        c.hidden_dims = [_positive_int(h, "each hidden dimension") for h in c.hidden_dims]
    if c.dropout_keep_ratio is not None and not 0 < c.dropout_keep_ratio <= 1:
        raise TrainError(f"dropout keep ratio must lie in (0, 1], got {c.dropout_keep_ratio!r}")
    if c.normalization not in (None, "batchnorm"):
        raise TrainError(f"normalization must be 'batchnorm' or None, got {c.normalization!r}")
    c.out = str(c.out)
    return c


# --------------------------------------------------------------------------- building blocks

def build_model(config, input_dim=(3, 32, 32)):
    """The model a (validated) config describes for images of shape ``input_dim`` (C, H, W),
    initialized with ``config.seed``."""
    from . import classifiers

    dtype = np.dtype(config.dtype).type
    options = {"reg": config.reg, "dtype": dtype}
    if config.weight_scale is not None:
        options["weight_scale"] = config.weight_scale
    if config.model == "ThreeLayerConvNet":
        for name in ("hidden_dim", "num_filters", "filter_size"):
            if getattr(config, name) is not None:
                options[name] = getattr(config, name)
        return _construct(classifiers.ThreeLayerConvNet, dict(options, input_dim=tuple(input_dim)), config.seed)
    if config.model == "FullyConnectedNet":
        hidden = config.hidden_dims or ([config.hidden_dim] if config.hidden_dim else [100, 100])
        if config.normalization:
            options["normalization"] = config.normalization
        if config.dropout_keep_ratio is not None:
            options["dropout_keep_ratio"] = config.dropout_keep_ratio
        options.update(hidden_dims=hidden, input_dim=int(np.prod(input_dim)))
        return _construct(classifiers.FullyConnectedNet, options, config.seed)
    if config.normalization:
        options["normalization"] = config.normalization
    if config.dropout_keep_ratio is not None:
        options["dropout_keep_ratio"] = config.dropout_keep_ratio
    try:
        return classifiers.ConvNet(config.spec, input_dim=tuple(input_dim), seed=config.seed, **options)
    except ValueError as error:
        raise TrainError(f"bad ConvNet spec {config.spec!r}: {error}") from None


def _construct(cls, options, seed):
    """cls(**options, seed=seed) if cls takes a seed, else cls(**options)."""
    import inspect

    if "seed" in inspect.signature(cls).parameters:
        options = dict(options, seed=seed)
    return cls(**options)


def load_data(config):
    """The CIFAR-10 splits of a (validated) config, via :func:`cs_convnet.data.get_CIFAR10_data`."""
    from .data import get_CIFAR10_data

    if config.data is not None and not Path(config.data).expanduser().exists():
        raise TrainError(f"data path {config.data} does not exist; give the CIFAR-10 python archive "
                         "(cifar-10-python.tar.gz) or its extracted folder")
    try:
        return get_CIFAR10_data(num_training=config.num_train, num_validation=config.num_val,
                                num_test=config.num_test, root=config.data, dtype=np.dtype(config.dtype).type)
    except FileNotFoundError as error:
        raise TrainError(str(error)) from None


def check_data(data, config):
    """Raise TrainError unless ``data`` holds the training and validation arrays (and any test split)
    with consistent shapes, and enough training images for one batch."""
    try:
        check_training_data(data)
    except ValueError as error:
        raise TrainError(f"{error}; expected a dict like get_CIFAR10_data's") from None
    if "X_test" in data and len(data["X_test"]) != len(data["y_test"]):
        raise TrainError(f"X_test has {len(data['X_test'])} images but y_test {len(data['y_test'])} labels")
    if config.batch_size > len(data["X_train"]):
        raise TrainError(f"batch size {config.batch_size} is larger than the {len(data['X_train'])} training images")


def normalize(data):
    """A copy of ``data`` with every image divided by the training images' per-channel standard deviation.

    Mean-subtracted CIFAR-10 pixels have a standard deviation near 60: a first
    conv layer followed by batchnorm then gets gradients about 60 times too
    large for its weights' scale, and SGD at usual learning rates diverges.
    Images are (N, C, H, W); the deviation is computed in float64 over N, H, W.
    """
    std = data["X_train"].std(axis=(0, 2, 3), dtype=np.float64, keepdims=True)[0]
    if np.any(std == 0):
        raise TrainError("cannot normalize: a channel of the training images is constant")
    out = dict(data)
    for key in ("X_train", "X_val", "X_test"):
        if key in data:
            out[key] = (data[key] / std).astype(data[key].dtype)
    return out


def iterations_per_epoch(num_train, batch_size):
    """As the Solver counts them: max(num_train // batch_size, 1)."""
    return max(num_train // batch_size, 1)


def _softmax(scores):
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def predictions(model, X, batch_size=100, flip=False):
    """Class predictions of ``model`` (test mode) for X of shape (N, C, H, W), in batches:
    ``(plain, tta)``, ``tta`` None unless ``flip``.

    ``tta`` is flip test-time augmentation: each image classified by the mean of
    the class probabilities of the image and of its mirror image. Both come from
    the same forward passes (one per image, one per mirror image).
    """
    plain = np.empty(len(X), dtype=np.int64)
    tta = np.empty(len(X), dtype=np.int64) if flip else None
    for start in range(0, len(X), batch_size):
        batch = X[start:start + batch_size]
        scores = model.loss(batch)
        plain[start:start + batch_size] = np.argmax(scores, axis=1)
        if flip:
            mirrored = model.loss(np.ascontiguousarray(batch[..., ::-1]))
            tta[start:start + batch_size] = np.argmax(_softmax(scores) + _softmax(mirrored), axis=1)
    return plain, tta


def predict(model, X, batch_size=100, flip=False):
    """Class predictions of ``model`` (test mode) for X of shape (N, C, H, W), in batches; with
    ``flip=True``, flip test-time augmentation (see :func:`predictions`)."""
    plain, tta = predictions(model, X, batch_size, flip)
    return tta if flip else plain


def accuracies(model, X, y, flip=False):
    """``(plain, tta)``: the fractions of X that ``model`` classifies as y without and (``tta``, None
    unless ``flip``) with flip test-time augmentation, from the same forward passes; nan for an empty set."""
    if len(X) == 0:
        return float("nan"), float("nan") if flip else None
    plain, tta = predictions(model, X, flip=flip)
    return float(np.mean(plain == y)), None if tta is None else float(np.mean(tta == y))


def accuracy(model, X, y, flip=False):
    """Fraction of X that ``model`` classifies as y (float in [0, 1]), with flip test-time augmentation
    if ``flip``; nan for an empty set."""
    plain, tta = accuracies(model, X, y, flip)
    return tta if flip else plain


def first_layer_filters(model):
    """The first layer's weights as images (F, C, HH, WW), or None if the model has none that fit."""
    W1 = model.params.get("W1")
    if W1 is None:
        return None
    if W1.ndim == 4:
        return W1
    if W1.ndim == 2 and W1.shape[0] == 3 * 32 * 32:  # an fc first layer sees whole images
        return W1.T.reshape(-1, 3, 32, 32)
    return None


def write_json(path, payload):
    """Write ``payload`` as JSON to ``path`` atomically (a reader never sees half a file)."""
    return atomic.write_json(path, payload, indent=2, allow_nan=True, final_newline=True)


def _backend():
    try:
        from . import fast_layers
    except ImportError:
        return None
    return getattr(fast_layers, "BACKEND", None)


# --------------------------------------------------------------------------- the run

class EpochLog:
    """Writes OUT/log.json after every epoch: called by the Solver at the end of each epoch.

    Each entry: ``epoch`` (1-based), ``train_acc`` and ``val_acc`` (the Solver's
    estimates at the end of the epoch), ``loss`` (mean training loss over the
    epoch's iterations), ``lr`` (learning rate of the epoch's last iteration),
    ``time`` (wall-clock seconds since the run started, summed over resumed
    sessions), ``epoch_time`` (wall-clock seconds of this epoch) and
    ``epoch_cpu_time`` (CPU seconds of the process in this epoch, all threads:
    on a busy machine wall time grows with the load, CPU time much less).
    """

    def __init__(self, path, config, num_iterations, schedule, previous=None, echo=None):
        self.path = Path(path)
        self.config = config
        self.num_iterations = num_iterations
        self.schedule = schedule
        self.iterations_per_epoch = num_iterations // config.epochs
        self.epochs = list(previous or [])
        self.offset = self.epochs[-1]["time"] if self.epochs else 0.0
        self.start = self.last = time.perf_counter()
        self.last_cpu = time.process_time()
        self.payload = {"config": config.to_dict(), "backend": _backend(), "epochs": self.epochs}
        self.echo = echo

    def __call__(self, solver):
        now, cpu = time.perf_counter(), time.process_time()
        epoch = int(solver.epoch)
        per_epoch = self.iterations_per_epoch
        losses = np.asarray(solver.loss_history[(epoch - 1) * per_epoch:epoch * per_epoch], dtype=np.float64)
        last_iteration = min(epoch * per_epoch, self.num_iterations) - 1
        entry = {
            "epoch": epoch,
            "train_acc": float(solver.train_acc_history[-1]),
            "val_acc": float(solver.val_acc_history[-1]),
            "loss": float(losses.mean()) if losses.size else None,
            "lr": _current_lr(solver, self.config.lr * self.schedule(last_iteration, self.num_iterations)),
            "time": round(self.offset + now - self.start, 3),
            "epoch_time": round(now - self.last, 3),
            "epoch_cpu_time": round(cpu - self.last_cpu, 3),
        }
        self.last, self.last_cpu = now, cpu
        self.epochs[:] = [e for e in self.epochs if e["epoch"] < epoch] + [entry]
        self.write()
        if self.echo is not None:
            self.echo(f"epoch {epoch}/{self.config.epochs}: loss {entry['loss']:.4f}, train acc "
                      f"{entry['train_acc']:.4f}, val acc {entry['val_acc']:.4f}, lr {entry['lr']:.3g}, "
                      f"{entry['epoch_time']:.1f} s")

    def write(self, **extra):
        self.payload.update(extra)
        write_json(self.path, self.payload)


def _current_lr(solver, expected):
    """The learning rate the Solver used last (the same for every parameter), else ``expected``."""
    configs = getattr(solver, "optim_configs", None) or {}
    rates = {config.get("learning_rate") for config in configs.values()} - {None}
    return float(rates.pop()) if len(rates) == 1 else float(expected)


def _previous_epochs(log_path, up_to_epoch):
    """Epoch entries of an earlier session's log, up to the epoch a resumed checkpoint holds."""
    if not Path(log_path).is_file():
        return []
    try:
        epochs = json.loads(Path(log_path).read_text()).get("epochs", [])
    except (OSError, json.JSONDecodeError):
        return []
    return [entry for entry in epochs if entry.get("epoch", 0) <= up_to_epoch]


def train(config, data=None, resume=None, echo=None):
    """Train the model ``config`` describes; write the log, checkpoints and plots into ``config.out``.

    Parameters
    ----------
    config : TrainConfig (see :meth:`TrainConfig.from_preset` for presets)
    data : dict, optional
        ``X_train, y_train, X_val, y_val`` and optionally ``X_test, y_test``
        (images (N, C, H, W)), instead of loading CIFAR-10: for tests and for
        other data of the same layout.
    resume : path of a checkpoint written by an earlier run with this config, optional
        The run continues from it; with the same config and seed the result is
        the same as a run that was never interrupted.
    echo : callable(str), optional
        Receives one summary line per epoch (the command prints them).

    Returns
    -------
    TrainResult
        The model holds the parameters of the best validation accuracy; ``test_acc``
        is their accuracy on the test set (nan without test images).

    Raises
    ------
    TrainError
        For a bad option, a bad spec, or missing data (the command prints the message).
    """
    from .solver import Solver

    config = validate(config)
    out = Path(config.out)
    if data is None:
        build_model(config)  # a bad spec fails before the data is loaded
        data = load_data(config)
    else:
        check_data(data, config)
        dtype = np.dtype(config.dtype)
        data = {key: value.astype(dtype, copy=False) if key.startswith("X_") else value for key, value in data.items()}
    if config.normalize:
        data = normalize(data)
    model = build_model(config, input_dim=data["X_train"].shape[1:])
    num_train = len(data["X_train"])
    per_epoch = iterations_per_epoch(num_train, config.batch_size)
    num_iterations = per_epoch * config.epochs
    schedule = make_schedule(config.schedule, warmup=config.warmup / config.epochs)
    augment = Augment(padding=config.crop_padding, flip=True) if config.augment else None
    checkpoints = out / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", config.to_dict())

    solver_data = {key: data[key] for key in ("X_train", "y_train", "X_val", "y_val")}
    options = dict(
        update_rule=FAST_UPDATE_RULES.get(config.update_rule, config.update_rule), optim_config={"learning_rate": config.lr}, lr_decay=1.0,
        batch_size=config.batch_size, num_epochs=config.epochs, num_train_samples=1000, num_val_samples=None,
        checkpoint_name=str(checkpoints / "model"), verbose=False, seed=config.seed, lr_schedule=schedule,
        weight_decay=config.weight_decay, augment=augment, progress=config.progress,
    )
    if resume is not None:
        try:
            solver = Solver.from_checkpoint(resume, model, solver_data, **options)
        except (OSError, pickle.UnpicklingError, EOFError) as error:
            raise TrainError(f"cannot resume from {resume}: {error}") from None
        previous = _previous_epochs(out / "log.json", solver.epoch)
    else:
        solver = Solver(model, solver_data, **options)
        previous = []
    log = EpochLog(out / "log.json", config, num_iterations, schedule, previous, echo)
    solver.epoch_callback = log
    log.write()
    if echo is not None:
        layers = f" [{config.spec}]" if config.model == "ConvNet" else ""
        echo(f"training {config.model}{layers} with {config.update_rule}, lr {config.lr:g} ({config.schedule}), "
             f"batch {config.batch_size}, on {num_train} images ({per_epoch} iterations per epoch, fast layers: "
             f"{_backend()}); writing to {out}")
    # Memory for speed: chunked conv caches keep their im2col columns. Denormal floats flushed to zero: Adam's
    # moments of dead units decay into them and slow every step (see cs_convnet.denormals).
    with fast_layers.keeping_columns(), flush_denormals():
        solver.train()

    best_val_acc = float(getattr(solver, "best_val_acc", max(solver.val_acc_history, default=float("nan"))))
    has_test = "X_test" in data and len(data["X_test"])
    # Flip test-time augmentation, reported beside the plain accuracy (which stays the headline figure).
    test_acc, test_acc_flip = (accuracies(model, data["X_test"], data["y_test"], flip=config.tta) if has_test
                               else (float("nan"), None))
    plots = {"curves": out / "curves.png"}
    from .vis import plot_filters, plot_training_curves

    plot_training_curves(solver, path=plots["curves"], title=_title(config))
    filters = first_layer_filters(model)
    if filters is not None and filters.shape[1] in (1, 3):
        plots["filters"] = out / "filters.png"
        plot_filters(filters, path=plots["filters"])
    log.write(test_acc=test_acc, test_acc_flip_tta=test_acc_flip, num_test=int(len(data["y_test"])) if has_test else 0, best_val_acc=best_val_acc,
              total_time=log.epochs[-1]["time"] if log.epochs else 0.0,
              plots={name: str(path) for name, path in plots.items()})
    return TrainResult(config=config, model=model, solver=solver, log=log.payload, test_acc=test_acc,
                       best_val_acc=best_val_acc, out=out, log_path=log.path, plots=plots,
                       test_acc_flip=test_acc_flip)


def _title(config):
    """One short line for plots and messages (a ConvNet's spec is in config.json and log.json)."""
    what = config.preset or config.model
    return f"{what}: {config.update_rule}, lr {config.lr:g}, {config.schedule}, batch {config.batch_size}"


# --------------------------------------------------------------------------- command line

def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train a model on CIFAR-10 with the fast layers: progress bar, checkpoints, a JSON log of "
                    "every epoch, plots (PNG) and the final test accuracy.",
        epilog=f"presets: {', '.join(PRESETS)}. Options given explicitly override the preset. "
               "Example: cs-convnet train --preset quick --data cifar-10-python.tar.gz",
        formatter_class=DefaultsHelpFormatter,
    )
    # Defaults are None so that a preset (or the resumed run's config) supplies what is not given.
    add = parser.add_argument
    add("--preset", choices=sorted(PRESETS), help="a named set of options")
    add("--model", help=f"one of {', '.join(MODELS)} (default ThreeLayerConvNet)")
    add("--spec", help='ConvNet layers, e.g. "[conv3-32 bn relu]x2 pool2 fc10" (implies --model ConvNet)')
    add("--data", metavar="PATH", help="CIFAR-10 python archive (.tar.gz) or folder; default: $CS_CONVNET_CIFAR10 "
                                       "or datasets/cifar-10-batches-py")
    add("--epochs", type=int)
    add("--batch-size", type=int)
    add("--lr", type=float, help="base (peak) learning rate")
    add("--update-rule", choices=UPDATE_RULES)
    add("--schedule", choices=SCHEDULES, help="learning-rate schedule over the run")
    add("--warmup", type=float, metavar="EPOCHS", help="epochs of linear warm-up (onecycle: epochs to the peak)")
    add("--weight-decay", type=float, help="decoupled weight decay")
    add("--reg", type=float, help="L2 regularization in the model's loss")
    add("--augment", action=argparse.BooleanOptionalAction, help="random crops and horizontal flips")
    add("--crop-padding", type=int, help="zeros on each side before a random crop")
    add("--normalize", action=argparse.BooleanOptionalAction,
        help="divide the images by the training set's per-channel standard deviation (about 60 after mean "
             "subtraction); recommended for ConvNet, whose default He initialization assumes unit-scale inputs")
    add("--num-train", type=int, help="number of training images (a subset of the 49,000)")
    add("--num-val", type=int, help="number of validation images")
    add("--num-test", type=int, help="number of test images for the final accuracy")
    add("--seed", type=int)
    add("--out", metavar="DIR", help="output folder (default runs/<preset or model>)")
    add("--resume", metavar="CHECKPOINT", help="continue a run from one of its checkpoints, with its config")
    add("--dtype", choices=DTYPES)
    add("--hidden-dim", type=int, help="ThreeLayerConvNet's hidden layer width")
    add("--hidden-dims", type=_int_list, metavar="H1,H2,...",
        help="FullyConnectedNet's hidden layer widths")
    add("--num-filters", type=int, help="ThreeLayerConvNet's number of filters")
    add("--filter-size", type=int, help="ThreeLayerConvNet's filter size")
    add("--weight-scale", type=float, help="standard deviation of the initial weights")
    add("--normalization", choices=["batchnorm"])
    add("--dropout", type=float, dest="dropout_keep_ratio", metavar="KEEP", help="dropout keep probability")
    add("--tta", action=argparse.BooleanOptionalAction,
        help="also report test accuracy with flip test-time augmentation")
    add("--no-progress", action="store_true", help="no progress bar")
    return parser


def _int_list(text):
    try:
        return [int(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 100,100, got {text!r}") from None


def config_from_args(args):
    """The TrainConfig of parsed arguments: preset (or resumed run), then the options given."""
    given = {key: value for key, value in vars(args).items()
             if value is not None and key not in ("preset", "resume", "no_progress")}
    given["progress"] = not args.no_progress  # a display choice of this session, never taken from a saved config
    if "spec" in given and "model" not in given:
        given["model"] = "ConvNet"
    if args.resume:
        saved = _saved_config(args.resume)
        saved.update(given)
        return TrainConfig(**saved)
    if args.preset:
        config = TrainConfig.from_preset(args.preset, **given)
    else:
        config = TrainConfig(**given)
    if "out" not in given:
        config.out = str(Path("runs") / (args.preset or canonical_model_name(config.model)))
    return config


def _saved_config(checkpoint):
    """The config.json of the run a checkpoint belongs to (OUT/checkpoints/x.pkl -> OUT/config.json)."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise TrainError(f"checkpoint {checkpoint} does not exist")
    path = checkpoint.parent.parent / "config.json"
    if not path.is_file():
        raise TrainError(f"cannot resume from {checkpoint}: {path} (the run's configuration) is missing")
    saved = json.loads(path.read_text())
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return {key: value for key, value in saved.items() if key in known}


def _echo(line):
    """Print a line to stderr without breaking the progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stderr)


def main(argv=None):
    """Run ``cs-convnet train``; return 0 on success, 1 on a failed run, 2 on bad options."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or argparse's own message for a malformed option
        return exit_.code
    config = None
    try:
        config = config_from_args(args)
        result = train(config, resume=args.resume, echo=_echo)
    except TrainError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        where = f" in {Path(config.out) / 'checkpoints'}" if config is not None else ""
        print(f"{PROG}: interrupted; continue with --resume and the last checkpoint{where}", file=sys.stderr)
        return 130
    if result.test_acc_flip is not None:
        print(f"test accuracy with flip test-time augmentation {result.test_acc_flip:.4f}")
    print(f"test accuracy {result.test_acc:.4f} (best validation accuracy {result.best_val_acc:.4f}); "
          f"log {result.log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

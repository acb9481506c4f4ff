"""The Solver: trains a model with minibatch gradient descent, as in CS231n.

Provided code. A Solver takes a model and a data dict, runs the update rule of
:mod:`cs_convnet.optim` on every parameter for ``num_epochs`` epochs, records
the loss and accuracy histories, keeps the parameters with the best validation
accuracy (swapped into the model at the end) and saves checkpoints from which a
run can resume exactly.

The model interface (CS231n):

- ``model.params``: dict mapping parameter names to arrays;
- ``model.loss(X, y=None)``: the scores of shape (N, C) when ``y`` is None
  (test mode: dropout off, batchnorm on running statistics), else
  ``(loss, grads)`` with ``grads`` holding one array per parameter;
- optionally ``model.bn_params``: a list of batchnorm dicts whose running
  statistics are kept with the best parameters (they are part of the model
  that reached the best validation accuracy).

Example::

    solver = Solver(model, data, update_rule="sgd_momentum",
                    optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    num_epochs=10, batch_size=100, seed=0)
    solver.train()

Beyond CS231n: ``seed`` (reproducible minibatch order, subsampling and
augmentation), ``lr_schedule``, decoupled ``weight_decay``, ``augment``, a
tqdm ``progress`` bar, atomic checkpoints and exact resumption (``resume`` or
:meth:`Solver.from_checkpoint`), and an ``epoch_callback``.
"""

import copy
import os
import pickle
import warnings
from pathlib import Path

import numpy as np

from . import optim
from .atomic import atomic_open
from .shape_checks import check_int, check_training_data, is_finite_real, is_int

#: Runs with at least this many iterations show a progress bar by default when verbose.
LONG_RUN_ITERATIONS = 200

CHECKPOINT_FORMAT = "cs_convnet.solver.checkpoint/1"

_DEFAULTS = {
    "update_rule": "sgd",
    "optim_config": None,
    "lr_decay": 1.0,
    "batch_size": 100,
    "num_epochs": 10,
    "num_train_samples": 1000,
    "num_val_samples": None,
    "checkpoint_name": None,
    "print_every": 10,
    "verbose": True,
    "seed": None,
    "lr_schedule": None,
    "weight_decay": 0.0,
    "augment": None,
    "progress": None,
    "resume": None,
    "epoch_callback": None,
}


def _bn_params(model):
    """The model's batchnorm dicts (CS231n's ``model.bn_params``), or [] if it has none."""
    bn_params = getattr(model, "bn_params", None)
    return bn_params if isinstance(bn_params, list) else []


def _running_stats(model):
    """Copies of the running statistics of every batchnorm dict of the model."""
    return [{key: copy.deepcopy(bn_param[key]) for key in ("running_mean", "running_var") if key in bn_param}
            for bn_param in _bn_params(model)]


def _picklable(value):
    try:
        pickle.dumps(value)
    except Exception:  # lambdas, local functions, open files, ...
        return False
    return True


class _Unpicklable:
    """Stands in a checkpoint for an option that could not be pickled (e.g. a lambda)."""

    def __init__(self, name, value):
        self.name, self.text = name, repr(value)

    def __repr__(self):
        return f"<unpicklable {self.name}: {self.text}>"


class Solver:
    """Train a classification model with minibatch gradient descent.

    Parameters
    ----------
    model : object with ``params`` (dict name -> ndarray) and ``loss(X, y=None)``
    data : dict
        'X_train': ndarray of shape (N_train, d_1, ..., d_k), training examples;
        'y_train': int ndarray of shape (N_train,), their labels;
        'X_val', 'y_val': the same for validation. Other keys are ignored.
    update_rule : str or callable, default 'sgd'
        A name in :mod:`cs_convnet.optim` ('sgd', 'sgd_momentum', 'rmsprop',
        'adam') or a function ``update(w, dw, config) -> (next_w, config)``.
    optim_config : dict, optional
        Hyperparameters of the update rule (e.g. 'learning_rate'); each
        parameter gets its own deep copy, which then holds its state.
    lr_decay : float, default 1.0
        After each epoch every learning rate is multiplied by this.
    batch_size : int, default 100
    num_epochs : int, default 10
        One epoch is ``max(N_train // batch_size, 1)`` iterations; each epoch
        visits the training set in a fresh random order (without replacement;
        the last ``N_train % batch_size`` examples of the order are left out).
    num_train_samples : int or None, default 1000
        Training accuracy is estimated on this many random training examples
        (None: all of them).
    num_val_samples : int or None, default None
        Same for validation accuracy (None: the whole validation set).
    checkpoint_name : str or path, optional
        If given, a checkpoint ``{checkpoint_name}_epoch_{epoch}.pkl`` is
        written atomically after the first iteration and after every epoch.
    print_every : int, default 10
        With ``verbose``, print the loss every this many iterations.
    verbose : bool, default True
        Print the loss and accuracies during training.
    seed : int, optional
        Seed of the generator behind everything random the Solver does
        (minibatch order, accuracy subsampling, ``augment``): the same seed
        gives the same run. The model's own randomness (its initialization,
        dropout) is the model's.
    lr_schedule : callable, optional
        ``lr_schedule(iteration, num_iterations) -> multiplier``: the learning
        rate of iteration t (0 <= t < num_iterations) is the base learning rate
        times ``lr_schedule(t, num_iterations)`` (see :mod:`cs_convnet.schedules`).
        Replaces ``lr_decay``.
    weight_decay : float, default 0.0
        Decoupled weight decay (Loshchilov & Hutter, AdamW): each update of a
        weight, i.e. a parameter whose name starts with 'W', also subtracts
        ``learning_rate * weight_decay * w`` (w before the update). Biases,
        gamma and beta are not decayed.
    augment : callable, optional
        ``augment(X_batch, rng) -> X_batch``, applied to training minibatches
        only, with the Solver's generator (e.g. :class:`cs_convnet.augment.Augment`).
    progress : bool, optional
        Show a tqdm progress bar over the iterations with the latest loss and
        accuracies. Default (None): on when ``verbose`` and the run has at
        least :data:`LONG_RUN_ITERATIONS` iterations.
    resume : str or path, optional
        A checkpoint to continue from (see :meth:`from_checkpoint`, which also
        takes the other options from it).
    epoch_callback : callable, optional
        ``epoch_callback(solver)``, called at the end of every epoch after the
        accuracies are recorded.

    Attributes
    ----------
    loss_history : list of float, one per iteration
    train_acc_history, val_acc_history : list of float, after the first
        iteration and at the end of every epoch
    best_val_acc : float
    best_params : dict, copies of the parameters with the best validation accuracy
    best_bn_stats : list of dicts, copies of the 'running_mean' and 'running_var' of each
        dict in ``model.bn_params`` at the best validation accuracy (empty without batchnorm);
        restored with ``best_params`` at the end of training
    epoch, iteration : int, epochs and iterations completed
    last_checkpoint : Path or None, the checkpoint written last

    Raises
    ------
    ValueError
        For an unknown option, a bad option value, or a bad data dict.
    """

    def __init__(self, model, data, **kwargs):
        unknown = sorted(set(kwargs) - set(_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown Solver option(s) {unknown}; valid options are {sorted(_DEFAULTS)}")
        if not isinstance(getattr(model, "params", None), dict) or not callable(getattr(model, "loss", None)):
            raise ValueError("model must have a dict 'params' and a method 'loss(X, y=None)'")
        self.model = model
        self.X_train, self.y_train, self.X_val, self.y_val = check_training_data(data)
        options = {**_DEFAULTS, **kwargs}
        self._options = options
        self._set_options(options)
        self.epoch_callback = options["epoch_callback"]
        self.last_checkpoint = None
        self._reset()
        if options["resume"] is not None:
            self._restore(_read_checkpoint(options["resume"]), model_given=True)

    # ------------------------------------------------------------------ options

    def _set_options(self, options):
        rule = options["update_rule"]
        if isinstance(rule, str):
            if rule not in optim.UPDATE_RULES:
                raise ValueError(f"update_rule {rule!r} is not one of {sorted(optim.UPDATE_RULES)} "
                                 "(or pass a callable update(w, dw, config))")
            self.update_rule = optim.UPDATE_RULES[rule]
        elif callable(rule):
            self.update_rule = rule
        else:
            raise ValueError(f"update_rule must be a name in {sorted(optim.UPDATE_RULES)} or a callable, got {rule!r}")
        config = options["optim_config"]
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise ValueError(f"optim_config must be a dict, got {type(config).__name__}")
        self.optim_config = config
        lr_decay = options["lr_decay"]
        if not is_finite_real(lr_decay) or lr_decay <= 0:
            raise ValueError(f"lr_decay must be a number > 0, got {lr_decay!r}")
        self.lr_decay = float(lr_decay)
        self.batch_size = check_int("batch_size", options["batch_size"], 1)
        self.num_epochs = check_int("num_epochs", options["num_epochs"], 1)
        self.num_train_samples = check_int("num_train_samples", options["num_train_samples"], 1, allow_none=True)
        self.num_val_samples = check_int("num_val_samples", options["num_val_samples"], 1, allow_none=True)
        name = options["checkpoint_name"]
        if name is not None and not isinstance(name, (str, os.PathLike)):
            raise ValueError(f"checkpoint_name must be a str or path, got {type(name).__name__}")
        self.checkpoint_name = None if name is None else os.fspath(name)
        self.print_every = check_int("print_every", options["print_every"], 1)
        self.verbose = bool(options["verbose"])
        seed = options["seed"]
        if seed is not None and (not is_int(seed) or seed < 0):
            raise ValueError(f"seed must be an integer >= 0 or None, got {seed!r}")
        self.seed = seed
        for key in ("lr_schedule", "augment", "epoch_callback"):
            if options[key] is not None and not callable(options[key]):
                raise ValueError(f"{key} must be callable or None, got {options[key]!r}")
        self.lr_schedule = options["lr_schedule"]
        if self.lr_schedule is not None and self.lr_decay != 1.0:
            warnings.warn("lr_schedule replaces lr_decay; lr_decay is ignored", stacklevel=3)
        weight_decay = options["weight_decay"]
        if not is_finite_real(weight_decay) or weight_decay < 0:
            raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
        self.weight_decay = float(weight_decay)
        self.augment = options["augment"]
        if options["progress"] not in (None, True, False):
            raise ValueError(f"progress must be True, False or None (automatic), got {options['progress']!r}")
        self.progress = options["progress"]
        if options["resume"] is not None and not isinstance(options["resume"], (str, os.PathLike)):
            raise ValueError(f"resume must be the path of a checkpoint, got {options['resume']!r}")

    def _reset(self):
        """Set up the book-keeping of a fresh run."""
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.best_bn_stats = []
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.rng = np.random.default_rng(self.seed)
        self._epoch_order = None
        self.optim_configs = {name: copy.deepcopy(self.optim_config) for name in self.model.params}
        self._base_lr = {}
        if self.lr_schedule is not None or self.weight_decay:
            default_lr = self._default_learning_rate()
            self._base_lr = {name: config.get("learning_rate", default_lr)
                             for name, config in self.optim_configs.items()}

    def _default_learning_rate(self):
        """The update rule's own default learning rate (read from one call on a dummy weight)."""
        if "learning_rate" in self.optim_config:
            return self.optim_config["learning_rate"]
        _, config = self.update_rule(np.zeros(1), np.zeros(1), {})
        if "learning_rate" not in config:
            raise ValueError("lr_schedule and weight_decay need a learning rate: give optim_config['learning_rate'] "
                             "or an update rule whose config holds 'learning_rate'")
        return config["learning_rate"]

    # ------------------------------------------------------------------ training

    @property
    def iterations_per_epoch(self):
        return max(len(self.X_train) // self.batch_size, 1)

    @property
    def num_iterations(self):
        return self.num_epochs * self.iterations_per_epoch

    def _minibatch(self, t):
        """Indices of iteration t's minibatch: a slice of the epoch's random order."""
        per_epoch = self.iterations_per_epoch
        if t % per_epoch == 0 or self._epoch_order is None:
            self._epoch_order = self.rng.permutation(len(self.X_train))
        start = (t % per_epoch) * self.batch_size
        return self._epoch_order[start:start + self.batch_size]

    def _step(self, t):
        """One gradient update (iteration t): minibatch, loss and gradients, parameter updates."""
        indices = self._minibatch(t)
        X_batch, y_batch = self.X_train[indices], self.y_train[indices]
        if self.augment is not None:
            X_batch = self.augment(X_batch, self.rng)
            if not isinstance(X_batch, np.ndarray) or len(X_batch) != len(y_batch):
                raise ValueError(f"augment must return an array of {len(y_batch)} examples, got "
                                 f"{getattr(X_batch, 'shape', type(X_batch).__name__)}")
        loss, grads = self.model.loss(X_batch, y_batch)
        self.loss_history.append(float(loss))
        missing = [name for name in self.model.params if name not in grads]
        if missing:
            raise ValueError(f"model.loss returned no gradient for the parameters {missing}")
        multiplier = None if self.lr_schedule is None else float(self.lr_schedule(t, self.num_iterations))
        for name, w in self.model.params.items():
            config = self.optim_configs[name]
            if multiplier is not None:
                config["learning_rate"] = self._base_lr[name] * multiplier
            if self.weight_decay and name.startswith("W"):
                # Decoupled (AdamW): shrink w by lr * weight_decay, then take the rule's step. Done first,
                # on a new array, so that rules updating w in place (cs_convnet.fast_optim) work too.
                w = w * (1.0 - config.get("learning_rate", self._base_lr[name]) * self.weight_decay)
            next_w, next_config = self.update_rule(w, grads[name], config)
            self.model.params[name] = next_w
            self.optim_configs[name] = next_config

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of the examples that the model classifies correctly.

        Parameters
        ----------
        X : ndarray of shape (N, d_1, ..., d_k)
        y : int ndarray of shape (N,)
        num_samples : int, optional
            If given and smaller than N, use this many examples drawn at random
            without replacement (with the Solver's generator).
        batch_size : int, default 100
            Examples per forward pass (bounds the memory used).

        Returns
        -------
        acc : float in [0, 1]
        """
        if not isinstance(X, np.ndarray) or not isinstance(y, np.ndarray) or len(X) != len(y) or len(y) == 0:
            raise ValueError(f"X and y must be non-empty arrays of the same length, got "
                             f"{getattr(X, 'shape', type(X).__name__)} and {getattr(y, 'shape', type(y).__name__)}")
        check_int("num_samples", num_samples, 1, allow_none=True)
        batch_size = check_int("batch_size", batch_size, 1)
        N = len(X)
        if num_samples is not None and N > num_samples:
            keep = self.rng.choice(N, num_samples, replace=False)
            X, y, N = X[keep], y[keep], num_samples
        y_pred = np.empty(N, dtype=np.int64)
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            y_pred[start:start + batch_size] = np.argmax(scores, axis=1)
        return float(np.mean(y_pred == y))

    def train(self):
        """Run the optimization until ``num_epochs`` epochs are done (continuing a resumed run),
        then put the best validation parameters into the model."""
        num_iterations = self.num_iterations
        per_epoch = self.iterations_per_epoch
        bar = self._progress_bar(num_iterations)
        try:
            for t in range(self.iteration, num_iterations):
                self._step(t)
                self.iteration = t + 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(self._postfix(), refresh=False)
                if self.verbose and t % self.print_every == 0:
                    self._say(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}", bar)

                epoch_end = (t + 1) % per_epoch == 0
                if epoch_end:
                    self.epoch += 1
                    if self.lr_schedule is None and self.lr_decay != 1.0:
                        for name, config in self.optim_configs.items():
                            if "learning_rate" not in config:
                                raise ValueError(f"lr_decay needs a learning rate, but the config of {name!r} "
                                                 "has no 'learning_rate'")
                            config["learning_rate"] *= self.lr_decay
                if t == 0 or t == num_iterations - 1 or epoch_end:
                    self._record_accuracies()
                    if self.verbose:
                        self._say(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: "
                                  f"{self.train_acc_history[-1]:f}; val_acc: {self.val_acc_history[-1]:f}", bar)
                    if bar is not None:
                        bar.set_postfix(self._postfix())
                    path = self._save_checkpoint()
                    if self.verbose and path is not None:
                        self._say(f'Saved checkpoint "{path}"', bar)
                if epoch_end and self.epoch_callback is not None:
                    self.epoch_callback(self)
        finally:
            if bar is not None:
                bar.close()
        if self.best_params:
            for name, value in self.best_params.items():
                self.model.params[name] = value.copy()
            for bn_param, stats in zip(_bn_params(self.model), self.best_bn_stats):
                bn_param.update(copy.deepcopy(stats))

    def _record_accuracies(self):
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if not self.best_params or val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = {name: value.copy() for name, value in self.model.params.items()}
            self.best_bn_stats = _running_stats(self.model)

    def _postfix(self):
        postfix = {"epoch": self.epoch}
        if self.loss_history:
            postfix["loss"] = f"{self.loss_history[-1]:.4g}"
        if self.train_acc_history:
            postfix["train_acc"] = f"{self.train_acc_history[-1]:.3f}"
            postfix["val_acc"] = f"{self.val_acc_history[-1]:.3f}"
        return postfix

    def _progress_bar(self, num_iterations):
        show = self.progress
        if show is None:
            show = self.verbose and num_iterations >= LONG_RUN_ITERATIONS
        if not show or self.iteration >= num_iterations:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=num_iterations, initial=self.iteration, desc="training", unit="it")  # on stderr

    @staticmethod
    def _say(message, bar):
        if bar is not None:
            bar.write(message)
        else:
            print(message)

    # ------------------------------------------------------------------ checkpoints

    def checkpoint_state(self):
        """Everything needed to continue this run exactly, as a picklable dict."""
        options = {}
        for key, value in self._options.items():
            if key in ("resume", "epoch_callback"):
                continue
            options[key] = value if _picklable(value) else _Unpicklable(key, value)
        model = self.model if _picklable(self.model) else None
        return {
            "format": CHECKPOINT_FORMAT,
            "model": model,
            "params": {name: value.copy() for name, value in self.model.params.items()},
            "options": options,
            # CS231n's checkpoint keys, for familiarity
            "update_rule": options["update_rule"],
            "lr_decay": self.lr_decay,
            "optim_config": self.optim_config,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "loss_history": list(self.loss_history),
            "train_acc_history": list(self.train_acc_history),
            "val_acc_history": list(self.val_acc_history),
            # exact resumption
            "iteration": self.iteration,
            "num_train": len(self.X_train),
            "optim_configs": copy.deepcopy(self.optim_configs),
            "base_learning_rates": dict(self._base_lr),
            "best_val_acc": self.best_val_acc,
            "best_params": {name: value.copy() for name, value in self.best_params.items()},
            "best_bn_stats": copy.deepcopy(self.best_bn_stats),
            "rng_state": copy.deepcopy(self.rng.bit_generator.state),
            "epoch_order": None if self._epoch_order is None else self._epoch_order.copy(),
        }

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return None
        path = Path(f"{self.checkpoint_name}_epoch_{self.epoch}.pkl")
        save_checkpoint(self.checkpoint_state(), path)
        self.last_checkpoint = path
        return path

    def _restore(self, state, model_given):
        """Load a checkpoint's state into this solver (and its model)."""
        params = state["params"]
        own = {name: value.shape for name, value in self.model.params.items()}
        saved = {name: value.shape for name, value in params.items()}
        if own != saved:
            raise ValueError(f"the checkpoint's parameters {saved} do not match the model's {own}")
        if state["num_train"] != len(self.X_train) or state["batch_size"] != self.batch_size:
            raise ValueError(
                f"the checkpoint was written with {state['num_train']} training examples and batch size "
                f"{state['batch_size']}; this solver has {len(self.X_train)} and {self.batch_size}, so the "
                "minibatch order could not continue"
            )
        saved_model = state.get("model")
        if saved_model is not None and model_given and saved_model is not self.model:
            if type(saved_model).__name__ != type(self.model).__name__:
                raise ValueError(f"the checkpoint holds a {type(saved_model).__name__} but the model is a "
                                 f"{type(self.model).__name__}")
            # The model's whole state: parameters and the rest (e.g. batchnorm running statistics).
            vars(self.model).update(copy.deepcopy(vars(saved_model)))
        for name, value in params.items():
            self.model.params[name] = value.copy()
        self.epoch = state["epoch"]
        self.iteration = state["iteration"]
        self.loss_history = list(state["loss_history"])
        self.train_acc_history = list(state["train_acc_history"])
        self.val_acc_history = list(state["val_acc_history"])
        self.optim_configs = copy.deepcopy(state["optim_configs"])
        self._base_lr = dict(state["base_learning_rates"]) or self._base_lr
        self.best_val_acc = state["best_val_acc"]
        self.best_params = {name: value.copy() for name, value in state["best_params"].items()}
        self.best_bn_stats = copy.deepcopy(state.get("best_bn_stats", []))
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = copy.deepcopy(state["rng_state"])
        order = state["epoch_order"]
        self._epoch_order = None if order is None else order.copy()

    @classmethod
    def from_checkpoint(cls, path, model=None, data=None, **kwargs):
        """A Solver that continues the run saved in the checkpoint ``path``.

        Parameters
        ----------
        path : str or path, a checkpoint written by a Solver
        model : optional
            The model to train; its state is replaced by the checkpoint's.
            Default: the model pickled in the checkpoint.
        data : dict, the data of :class:`Solver` (not stored in checkpoints)
        **kwargs : options overriding the checkpoint's (e.g. more ``num_epochs``);
            options not given are taken from the checkpoint. Options that
            could not be pickled (a lambda) must be given again.

        Returns
        -------
        Solver, ready for :meth:`train`; with the options of the original run,
        training gives exactly the result the uninterrupted run would have.
        """
        state = _read_checkpoint(path)
        if data is None:
            raise ValueError("from_checkpoint needs the data dict (checkpoints do not store the data)")
        unknown = sorted(set(kwargs) - set(_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown Solver option(s) {unknown}; valid options are {sorted(_DEFAULTS)}")
        options = {**state["options"], **kwargs}
        lost = [key for key, value in options.items() if isinstance(value, _Unpicklable)]
        if lost:
            raise ValueError(f"the checkpoint could not store the options {lost} (not picklable); pass them again")
        options.pop("resume", None)
        model_given = model is not None
        if model is None:
            model = state["model"]
            if model is None:
                raise ValueError("the checkpoint holds no model (it could not be pickled); pass the model")
        solver = cls(model, data, **options)
        solver._restore(state, model_given=model_given)
        return solver


def save_checkpoint(state, path):
    """Pickle ``state`` to ``path`` atomically (:mod:`cs_convnet.atomic`): a crash leaves the old file intact."""
    with atomic_open(path, "wb") as handle:
        pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return Path(path)


def _read_checkpoint(path):
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    with open(path, "rb") as handle:
        state = pickle.load(handle)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a Solver checkpoint (format {CHECKPOINT_FORMAT})")
    return state

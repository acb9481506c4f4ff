"""Tests of cs_convnet.solver.Solver: it learns, it is reproducible, it resumes exactly,
its checkpoints are atomic, and its options do what they say."""

import copy
import pickle
import re

import numpy as np
import pytest

from cs_convnet import fast_optim, layer_utils, layers, optim, solver as solver_module
from cs_convnet.schedules import Cosine
from cs_convnet.solver import Solver


pytestmark = pytest.mark.usefixtures("blas_single_thread")  # see conftest: small products, busy machine


class TinyNet:
    """affine - [batchnorm] - relu - affine - softmax, built from the library's layers.

    Defined here (not taken from cs_convnet.classifiers) so that these tests only
    depend on the layers; module-level so that checkpoints can pickle it.
    """

    def __init__(self, input_dim=12, hidden_dim=40, num_classes=5, batchnorm=False, reg=0.0, seed=0,
                 dtype=np.float64):
        rng = np.random.default_rng(seed)
        self.reg, self.batchnorm = reg, batchnorm
        self.params = {
            "W1": (rng.standard_normal((input_dim, hidden_dim)) / np.sqrt(input_dim)).astype(dtype),
            "b1": np.zeros(hidden_dim, dtype),
            "W2": (rng.standard_normal((hidden_dim, num_classes)) / np.sqrt(hidden_dim)).astype(dtype),
            "b2": np.zeros(num_classes, dtype),
        }
        if batchnorm:
            self.params["gamma1"] = np.ones(hidden_dim, dtype)
            self.params["beta1"] = np.zeros(hidden_dim, dtype)
            self.bn_param = {"mode": "train"}

    def loss(self, X, y=None):
        p = self.params
        if self.batchnorm:
            self.bn_param["mode"] = "test" if y is None else "train"
            h, cache1 = layer_utils.affine_bn_relu_forward(X, p["W1"], p["b1"], p["gamma1"], p["beta1"],
                                                           self.bn_param)
        else:
            h, cache1 = layer_utils.affine_relu_forward(X, p["W1"], p["b1"])
        scores, cache2 = layers.affine_forward(h, p["W2"], p["b2"])
        if y is None:
            return scores
        loss, dscores = layers.softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        grads = {}
        dh, grads["W2"], grads["b2"] = layers.affine_backward(dscores, cache2)
        if self.batchnorm:
            _, grads["W1"], grads["b1"], grads["gamma1"], grads["beta1"] = layer_utils.affine_bn_relu_backward(
                dh, cache1)
        else:
            _, grads["W1"], grads["b1"] = layer_utils.affine_relu_backward(dh, cache1)
        grads["W1"] += self.reg * p["W1"]
        grads["W2"] += self.reg * p["W2"]
        return loss, grads


class ZeroGradModel:
    """A model whose loss is 0 with zero gradients: only weight decay can move its parameters.
    (Its accuracy never changes, so the Solver's best parameters are those after the first
    iteration: tests read the parameters during training through epoch_callback.)"""

    def __init__(self):
        self.params = {"W1": np.ones((3, 2)), "b1": np.ones(2), "gamma1": np.ones(2), "beta1": np.ones(2)}

    def loss(self, X, y=None):
        if y is None:
            return np.zeros((len(X), 2))
        return 0.0, {name: np.zeros_like(value) for name, value in self.params.items()}


class Interrupted(Exception):
    pass


def make_data(num_train=50, num_val=30, dim=12, num_classes=5, seed=0, dtype=np.float64):
    """Gaussian blobs around one centre per class (learnable), plus noise."""
    rng = np.random.default_rng(seed)
    centres = 1.5 * rng.standard_normal((num_classes, dim))

    def split(n):
        y = rng.integers(num_classes, size=n)
        return (centres[y] + rng.standard_normal((n, dim))).astype(dtype), y
    X_train, y_train = split(num_train)
    X_val, y_val = split(num_val)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


def quiet(**options):
    return {"verbose": False, **options}


# --------------------------------------------------------------------------
# Learning
# --------------------------------------------------------------------------

def test_overfits_50_examples():
    """Does the Solver drive a two-layer net to 100% training accuracy on 50 examples?"""
    data = make_data(num_train=50)
    rng = np.random.default_rng(1)
    data["y_train"] = rng.integers(5, size=50)  # random labels: only memorisation fits them
    model = TinyNet(hidden_dim=100)
    solver = Solver(model, data, **quiet(update_rule="adam", optim_config={"learning_rate": 1e-2},
                                         num_epochs=30, batch_size=25, num_train_samples=None, seed=0))
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


def test_overfits_50_cifar10_images(cifar10_folder):
    """CS231n's sanity check: does a three-layer FullyConnectedNet reach 100% training accuracy
    on 50 CIFAR-10 images within 20 epochs?"""
    from cs_convnet.classifiers import FullyConnectedNet
    from cs_convnet.data import get_CIFAR10_data

    data = get_CIFAR10_data(num_training=50, num_validation=100, num_test=0, root=cifar10_folder,
                            dtype=np.float64)
    model = FullyConnectedNet([100, 100], weight_scale=1e-2, dtype=np.float64, seed=0)
    solver = Solver(model, {key: data[key] for key in ("X_train", "y_train", "X_val", "y_val")},
                    **quiet(update_rule="sgd", optim_config={"learning_rate": 1e-2}, num_epochs=20, batch_size=25,
                            num_train_samples=None, seed=0))
    solver.train()
    assert solver.train_acc_history[-1] == 1.0


@pytest.mark.parametrize("update_rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_every_update_rule_lowers_the_loss(update_rule):
    """Does each update rule, named by string, reduce the training loss?"""
    lr = {"sgd": 0.5, "sgd_momentum": 0.1, "rmsprop": 3e-3, "adam": 3e-3}[update_rule]
    solver = Solver(TinyNet(), make_data(), **quiet(update_rule=update_rule, optim_config={"learning_rate": lr},
                                                    num_epochs=10, batch_size=10, seed=0))
    solver.train()
    first, last = np.mean(solver.loss_history[:5]), np.mean(solver.loss_history[-5:])
    assert last < 0.7 * first


def test_histories_and_best_params():
    """Are the histories as long as CS231n's, and are the best validation parameters swapped in?"""
    data = make_data(num_train=60)
    model = TinyNet()
    solver = Solver(model, data, **quiet(update_rule="sgd", optim_config={"learning_rate": 0.3},
                                         num_epochs=4, batch_size=20, seed=3))
    solver.train()
    assert solver.iterations_per_epoch == 3 and solver.num_iterations == 12
    assert len(solver.loss_history) == 12
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 1 + 4  # first iteration + each epoch
    assert solver.epoch == 4 and solver.iteration == 12
    assert solver.best_val_acc == max(solver.val_acc_history)
    for name, value in solver.best_params.items():
        assert np.array_equal(model.params[name], value)
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc


class RunningStatsModel:
    """A model whose validation accuracy depends only on its batchnorm running mean, which every
    training call moves by one (as a real batchnorm's running statistics drift): the validation
    accuracy is 1 when the running mean is 2 (after the second epoch) and 0 otherwise."""

    def __init__(self):
        self.params = {"W1": np.zeros(2)}
        self.bn_params = [{"mode": "train", "running_mean": np.zeros(1), "running_var": np.ones(1)}]

    def loss(self, X, y=None):
        if y is None:
            right = self.bn_params[0]["running_mean"][0] == 2
            return np.tile([1.0, 0.0] if right else [0.0, 1.0], (len(X), 1))
        self.bn_params[0]["running_mean"] = self.bn_params[0]["running_mean"] + 1
        return 0.0, {"W1": -np.ones(2)}


def test_best_model_keeps_its_batchnorm_running_statistics(tmp_path):
    """Is the best model restored whole, running statistics included, so that its validation
    accuracy after training is the best_val_acc recorded (also when resumed from a checkpoint)?"""
    data = {"X_train": np.zeros((4, 3)), "y_train": np.zeros(4, int), "X_val": np.zeros((4, 3)),
            "y_val": np.zeros(4, int)}
    options = quiet(num_epochs=4, batch_size=4, optim_config={"learning_rate": 1.0}, seed=0,
                    checkpoint_name=str(tmp_path / "run"))
    model = RunningStatsModel()
    solver = Solver(model, data, **options)
    solver.train()
    assert solver.val_acc_history == [0.0, 1.0, 0.0, 0.0] and solver.best_val_acc == 1.0
    assert model.bn_params[0]["running_mean"][0] == 2 and np.array_equal(model.params["W1"], [2.0, 2.0])
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc

    resumed_model = RunningStatsModel()
    resumed = Solver(resumed_model, data, resume=tmp_path / "run_epoch_3.pkl", **options)
    resumed.train()
    assert resumed_model.bn_params[0]["running_mean"][0] == 2
    assert resumed.check_accuracy(data["X_val"], data["y_val"]) == 1.0


def test_each_epoch_visits_every_example_once():
    """Does every epoch draw its minibatches from one permutation, without repeats?"""
    seen = []

    class Recorder(ZeroGradModel):
        def loss(self, X, y=None):
            if y is not None:
                seen.append(X[:, 0].astype(int).tolist())
            return super().loss(X, y)

    N = 23  # 23 // 5 = 4 iterations per epoch; 3 examples are left out of each epoch
    data = {"X_train": np.arange(N, dtype=float)[:, None] * np.ones((1, 3)), "y_train": np.zeros(N, int),
            "X_val": np.zeros((2, 3)), "y_val": np.zeros(2, int)}
    Solver(Recorder(), data, **quiet(batch_size=5, num_epochs=3, seed=0)).train()
    assert len(seen) == 12 and all(len(batch) == 5 for batch in seen)
    epochs = [sum(seen[i:i + 4], []) for i in range(0, 12, 4)]
    for indices in epochs:
        assert len(set(indices)) == 20
    assert epochs[0] != epochs[1]


def test_small_training_set_gives_one_full_batch_per_epoch():
    """With fewer examples than batch_size, is each epoch one iteration on all of them?"""
    solver = Solver(TinyNet(), make_data(num_train=7), **quiet(batch_size=100, num_epochs=3, seed=0))
    solver.train()
    assert solver.iterations_per_epoch == 1 and len(solver.loss_history) == 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_parameters_keep_their_dtype(dtype):
    """Does a float32 model stay float32 through training (and float64 stay float64)?"""
    model = TinyNet(dtype=dtype, batchnorm=True)
    solver = Solver(model, make_data(dtype=dtype), **quiet(update_rule="adam", num_epochs=2, batch_size=10, seed=0))
    solver.train()
    assert all(value.dtype == dtype for value in model.params.values())


def test_check_accuracy_batches_and_subsamples():
    """Is check_accuracy independent of its batch size, and does it subsample without replacement?"""
    data = make_data(num_train=53)
    model = TinyNet()
    solver = Solver(model, data, **quiet(seed=0))
    expected = np.mean(np.argmax(model.loss(data["X_train"]), axis=1) == data["y_train"])
    for batch_size in (1, 7, 53, 100):
        assert solver.check_accuracy(data["X_train"], data["y_train"], batch_size=batch_size) == expected
    # num_samples = N - 1 without replacement misses exactly one example
    correct = np.argmax(model.loss(data["X_train"]), axis=1) == data["y_train"]
    acc = solver.check_accuracy(data["X_train"], data["y_train"], num_samples=52)
    assert round(acc * 52) in (correct.sum(), correct.sum() - 1)


@pytest.mark.parametrize("num_train_samples, num_val_samples, expected", [
    (7, 5, [7, 5]), (None, None, [23, 11]), (1000, 3, [23, 3]),
], ids=["both-subsampled", "all", "more-than-available"])
def test_accuracy_sample_sizes(num_train_samples, num_val_samples, expected):
    """Are training and validation accuracies measured on num_train_samples and num_val_samples
    examples (None or more than there are: all of them)?"""
    evaluated = []

    class Counter(ZeroGradModel):
        def loss(self, X, y=None):
            if y is None:
                evaluated.append(len(X))
            return super().loss(X, y)

    data = {"X_train": np.zeros((23, 3)), "y_train": np.zeros(23, int), "X_val": np.zeros((11, 3)),
            "y_val": np.zeros(11, int)}
    Solver(Counter(), data, **quiet(num_epochs=2, batch_size=23, seed=0, num_train_samples=num_train_samples,
                                    num_val_samples=num_val_samples)).train()
    assert evaluated == expected * 2  # one check per epoch (the first iteration ends the first epoch)


# --------------------------------------------------------------------------
# Reproducibility and resumption
# --------------------------------------------------------------------------

def run(seed, **options):
    model = TinyNet(batchnorm=True)
    solver = Solver(model, make_data(), **quiet(update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
                                                num_epochs=3, batch_size=10, seed=seed, augment=flip_noise, **options))
    solver.train()
    return solver, model


def test_same_seed_same_run_different_seed_different_run():
    """Does a seed fix the whole run, and does another seed change the minibatch order?"""
    a, model_a = run(seed=5)
    b, model_b = run(seed=5)
    c, _ = run(seed=6)
    assert a.loss_history == b.loss_history
    assert a.train_acc_history == b.train_acc_history
    for name in model_a.params:
        assert np.array_equal(model_a.params[name], model_b.params[name])
    assert a.loss_history != c.loss_history


def flip_noise(X, rng):
    """A picklable augmentation that consumes the Solver's generator."""
    return X + 0.1 * rng.standard_normal(X.shape)


RESUME_OPTIONS = dict(update_rule="adam", optim_config={"learning_rate": 5e-3}, num_epochs=4, batch_size=8,
                      num_train_samples=20, num_val_samples=15, lr_schedule=Cosine(), weight_decay=0.1,
                      augment=flip_noise, verbose=False)


def uninterrupted(tmp_path):
    model = TinyNet(batchnorm=True, seed=2)
    solver = Solver(model, make_data(), checkpoint_name=str(tmp_path / "full" / "net"), seed=9, **RESUME_OPTIONS)
    solver.train()
    return solver, model


def interrupted_after(tmp_path, epochs_done):
    """Train with the same options, and crash (from the epoch callback) after ``epochs_done`` epochs."""
    model = TinyNet(batchnorm=True, seed=2)

    def crash(solver):
        if solver.epoch == epochs_done:
            raise Interrupted

    solver = Solver(model, make_data(), checkpoint_name=str(tmp_path / "cut" / "net"), seed=9,
                    epoch_callback=crash, **RESUME_OPTIONS)
    with pytest.raises(Interrupted):
        solver.train()
    return tmp_path / "cut" / f"net_epoch_{epochs_done}.pkl"


def assert_same_run(a, model_a, b, model_b):
    assert b.loss_history == a.loss_history
    assert b.train_acc_history == a.train_acc_history and b.val_acc_history == a.val_acc_history
    assert b.best_val_acc == a.best_val_acc and b.epoch == a.epoch and b.iteration == a.iteration
    for name in model_a.params:
        assert np.array_equal(model_b.params[name], model_a.params[name]), name
    for key in ("running_mean", "running_var"):
        assert np.array_equal(model_b.bn_param[key], model_a.bn_param[key]), key


def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path):
    """Does a run resumed from an epoch checkpoint (Solver.from_checkpoint, model taken from the
    checkpoint) end bit-for-bit where the uninterrupted run ends?"""
    full, full_model = uninterrupted(tmp_path)
    path = interrupted_after(tmp_path, 2)
    resumed = Solver.from_checkpoint(path, data=make_data())
    assert resumed.epoch == 2 and resumed.iteration == 2 * resumed.iterations_per_epoch
    resumed.train()
    assert_same_run(full, full_model, resumed, resumed.model)


def test_resume_mid_epoch_with_resume_option(tmp_path):
    """Does resume=<checkpoint after the first iteration> with a fresh model continue exactly?"""
    full, full_model = uninterrupted(tmp_path)
    interrupted_after(tmp_path, 1)
    fresh = TinyNet(batchnorm=True, seed=123)  # different initial weights: the checkpoint replaces them
    resumed = Solver(fresh, make_data(), seed=9, resume=tmp_path / "cut" / "net_epoch_0.pkl", **RESUME_OPTIONS)
    assert resumed.iteration == 1
    resumed.train()
    assert_same_run(full, full_model, resumed, fresh)


def test_checkpoint_contents(tmp_path):
    """Does a checkpoint hold the parameters, optimizer state, counters, histories, best
    parameters and generator state?"""
    solver, model = uninterrupted(tmp_path)
    with open(tmp_path / "full" / "net_epoch_4.pkl", "rb") as handle:
        state = pickle.load(handle)
    for key in ("model", "params", "optim_configs", "epoch", "iteration", "loss_history", "train_acc_history",
                "val_acc_history", "best_params", "best_val_acc", "rng_state", "update_rule", "lr_decay",
                "optim_config", "batch_size", "num_train_samples", "num_val_samples"):
        assert key in state, key
    assert state["epoch"] == 4 and state["iteration"] == solver.num_iterations
    assert state["optim_configs"]["W1"]["t"] == solver.num_iterations
    assert sorted(path.name for path in (tmp_path / "full").iterdir()) == [
        f"net_epoch_{e}.pkl" for e in range(5)]
    assert solver.last_checkpoint == tmp_path / "full" / "net_epoch_4.pkl"


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    """If writing a checkpoint fails half-way, is the previous file intact and no temporary left?"""
    solver = Solver(TinyNet(), make_data(), **quiet(num_epochs=1, batch_size=25, seed=0,
                                                    checkpoint_name=str(tmp_path / "net")))
    solver.train()
    path = tmp_path / "net_epoch_1.pkl"
    before = path.read_bytes()

    def broken_dump(obj, handle, protocol=None):
        handle.write(b"half a pickle")
        raise OSError("disk full")

    monkeypatch.setattr(solver_module.pickle, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        solver_module.save_checkpoint(solver.checkpoint_state(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net_epoch_0.pkl", "net_epoch_1.pkl"]
    monkeypatch.undo()
    assert Solver.from_checkpoint(path, data=make_data()).epoch == 1


def test_resume_refuses_a_mismatched_run(tmp_path):
    """Is a checkpoint refused for a model of other shapes, another batch size, or a non-checkpoint?"""
    solver = Solver(TinyNet(), make_data(), **quiet(num_epochs=1, batch_size=25, seed=0,
                                                    checkpoint_name=str(tmp_path / "net")))
    solver.train()
    path = tmp_path / "net_epoch_1.pkl"
    with pytest.raises(ValueError, match="batch size 25"):
        Solver(TinyNet(), make_data(), resume=path, batch_size=10, verbose=False)
    with pytest.raises(ValueError, match="do not match the model's"):
        Solver.from_checkpoint(path, TinyNet(hidden_dim=7), make_data())
    (tmp_path / "other.pkl").write_bytes(pickle.dumps({"weights": 1}))
    with pytest.raises(ValueError, match="is not a Solver checkpoint"):
        Solver.from_checkpoint(tmp_path / "other.pkl", data=make_data())
    with pytest.raises(ValueError, match="does not exist"):
        Solver(TinyNet(), make_data(), resume=tmp_path / "missing.pkl")


def test_unpicklable_option_must_be_given_again(tmp_path):
    """Is an option that could not be pickled (a lambda) required again on resume?"""
    schedule = lambda t, T: 1.0  # noqa: E731
    solver = Solver(TinyNet(), make_data(), **quiet(num_epochs=1, batch_size=25, seed=0, lr_schedule=schedule,
                                                    optim_config={"learning_rate": 1e-2},
                                                    checkpoint_name=str(tmp_path / "net")))
    solver.train()
    with pytest.raises(ValueError, match=r"could not store the options \['lr_schedule'\]"):
        Solver.from_checkpoint(tmp_path / "net_epoch_1.pkl", data=make_data())
    resumed = Solver.from_checkpoint(tmp_path / "net_epoch_1.pkl", data=make_data(), lr_schedule=schedule)
    assert resumed.epoch == 1


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------

class RecordingRule:
    """An update rule (plain sgd) that records the learning rate of every call."""

    def __init__(self):
        self.rates = []

    def __call__(self, w, dw, config):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        self.rates.append(config["learning_rate"])
        return w - config["learning_rate"] * dw, config


def test_lr_schedule_sets_every_iterations_learning_rate():
    """Is iteration t's learning rate base * lr_schedule(t, T), for every parameter?"""
    rule, schedule = RecordingRule(), Cosine(final=0.1)
    solver = Solver(TinyNet(), make_data(), **quiet(update_rule=rule, optim_config={"learning_rate": 0.2},
                                                    num_epochs=3, batch_size=10, seed=0, lr_schedule=schedule))
    solver.train()
    T, num_params = solver.num_iterations, 4
    expected = [0.2 * schedule(t, T) for t in range(T) for _ in range(num_params)]
    np.testing.assert_allclose(rule.rates, expected, rtol=1e-15)


def test_lr_decay_multiplies_after_each_epoch_and_schedule_overrides_it():
    """Does lr_decay scale the learning rate after every epoch, and does an lr_schedule replace it?"""
    rule = RecordingRule()
    solver = Solver(TinyNet(), make_data(), **quiet(update_rule=rule, optim_config={"learning_rate": 0.1},
                                                    lr_decay=0.5, num_epochs=3, batch_size=25, seed=0))
    solver.train()
    per_epoch_rates = np.array(rule.rates).reshape(3, 2, 4)  # epochs, iterations, parameters
    np.testing.assert_allclose(per_epoch_rates[:, 0, 0], [0.1, 0.05, 0.025])
    rule = RecordingRule()
    with pytest.warns(UserWarning, match="lr_schedule replaces lr_decay"):
        solver = Solver(TinyNet(), make_data(), **quiet(update_rule=rule, optim_config={"learning_rate": 0.1},
                                                        lr_decay=0.5, num_epochs=3, batch_size=25, seed=0,
                                                        lr_schedule=lambda t, T: 1.0))
    solver.train()
    assert set(rule.rates) == {0.1}


@pytest.mark.parametrize("update_rule", ["sgd", "adam", fast_optim.adam], ids=["sgd", "adam", "fast-adam-in-place"])
def test_weight_decay_shrinks_only_weights(update_rule):
    """With zero gradients, does decoupled weight decay multiply each W by (1 - lr * wd) per step
    and leave biases, gamma and beta alone?"""
    model = ZeroGradModel()
    data = {"X_train": np.zeros((10, 3)), "y_train": np.zeros(10, int), "X_val": np.zeros((2, 3)),
            "y_val": np.zeros(2, int)}
    lr, wd = 0.1, 0.5
    snapshots = []
    solver = Solver(model, data, **quiet(update_rule=update_rule, optim_config={"learning_rate": lr},
                                         weight_decay=wd, batch_size=5, num_epochs=3, seed=0,
                                         epoch_callback=lambda s: snapshots.append(copy.deepcopy(s.model.params))))
    solver.train()
    assert len(snapshots) == 3
    for epoch, params in enumerate(snapshots, start=1):
        steps = epoch * solver.iterations_per_epoch
        np.testing.assert_allclose(params["W1"], (1 - lr * wd) ** steps * np.ones((3, 2)), rtol=1e-12)
        for name in ("b1", "gamma1", "beta1"):
            assert np.array_equal(params[name], np.ones_like(params[name])), name


def test_weight_decay_uses_the_scheduled_learning_rate():
    """Is the decay of iteration t scaled by that iteration's learning rate (AdamW)?"""
    model = ZeroGradModel()
    data = {"X_train": np.zeros((4, 3)), "y_train": np.zeros(4, int), "X_val": np.zeros((2, 3)),
            "y_val": np.zeros(2, int)}
    schedule = lambda t, T: (t + 1) / T  # noqa: E731
    snapshots = []
    solver = Solver(model, data, **quiet(update_rule="sgd", optim_config={"learning_rate": 0.1}, weight_decay=1.0,
                                         batch_size=1, num_epochs=2, lr_schedule=schedule, seed=0,
                                         epoch_callback=lambda s: snapshots.append(s.model.params["W1"].copy())))
    solver.train()
    T = solver.num_iterations
    expected = np.prod([1 - 0.1 * schedule(t, T) for t in range(T)])
    np.testing.assert_allclose(snapshots[-1], expected * np.ones((3, 2)), rtol=1e-12)


def test_augment_sees_training_batches_only():
    """Is augment called once per training minibatch with the Solver's generator, and never
    when measuring accuracy?"""
    calls = []

    def augment(X, rng):
        calls.append((X.shape, type(rng)))
        return X[:, ::-1].copy()

    solver = Solver(TinyNet(), make_data(), **quiet(augment=augment, num_epochs=2, batch_size=10, seed=0))
    solver.train()
    assert len(calls) == solver.num_iterations
    assert all(shape == (10, 12) and kind is np.random.Generator for shape, kind in calls)


def test_silent_unless_asked(capsys):
    """Does a run with verbose=False print nothing, on stdout or stderr?"""
    Solver(TinyNet(), make_data(), **quiet(num_epochs=2, batch_size=10, seed=0)).train()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_prints_progress_lines(capsys):
    """Does verbose=True print CS231n's iteration and epoch lines (and no bar on a short run)?"""
    Solver(TinyNet(), make_data(), num_epochs=2, batch_size=10, print_every=3, seed=0).train()
    captured = capsys.readouterr()
    printed = re.findall(r"^\(Iteration (\d+) / 10\) loss: \d+\.\d{6}$", captured.out, flags=re.MULTILINE)
    assert printed == ["1", "4", "7", "10"]  # every print_every-th iteration, counted from the first
    epochs = re.findall(r"^\(Epoch (\d) / 2\) train acc: [\d.]+; val_acc: [\d.]+$", captured.out, flags=re.MULTILINE)
    assert epochs == ["0", "1", "2"]  # after the first iteration and after each epoch
    assert captured.err == ""


def test_progress_bar_is_automatic_on_long_verbose_runs(capsys, monkeypatch):
    """With progress left to None, is there a tqdm bar exactly when verbose and the run is long?"""
    monkeypatch.setattr(solver_module, "LONG_RUN_ITERATIONS", 10)
    for verbose, num_epochs, bar in ((True, 2, True), (True, 1, False), (False, 2, False)):
        Solver(TinyNet(), make_data(), num_epochs=num_epochs, batch_size=10, verbose=verbose,
               print_every=100, seed=0).train()
        err = capsys.readouterr().err
        if bar:
            assert "training" in err and "10/10" in err
        else:
            assert err == "", (verbose, num_epochs)


def test_progress_bar_shows_loss_and_accuracy(capsys):
    """Does progress=True draw a tqdm bar on stderr with the loss and accuracies, and nothing on stdout?"""
    Solver(TinyNet(), make_data(), **quiet(num_epochs=2, batch_size=10, seed=0, progress=True)).train()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "training" in captured.err and "10/10" in captured.err
    assert "loss=" in captured.err and "val_acc=" in captured.err


def test_unknown_option_is_named():
    """Does a misspelt option raise a ValueError naming it and listing the valid ones?"""
    with pytest.raises(ValueError, match=r"unknown Solver option\(s\) \['learning_rate'\]; valid options are "
                                         r"\[.*'optim_config'.*\]"):
        Solver(TinyNet(), make_data(), learning_rate=1e-3)


@pytest.mark.parametrize("options, message", [
    ({"update_rule": "adamw"}, r"update_rule 'adamw' is not one of \['adam', 'rmsprop', 'sgd', 'sgd_momentum'\]"),
    ({"batch_size": 0}, r"batch_size must be an integer >= 1, got 0"),
    ({"num_epochs": 2.5}, r"num_epochs must be an integer >= 1, got 2.5"),
    ({"weight_decay": -1e-4}, r"weight_decay must be a number >= 0, got -0.0001"),
    ({"lr_decay": 0}, r"lr_decay must be a number > 0, got 0"),
    ({"lr_schedule": "cosine"}, r"lr_schedule must be callable or None"),
    ({"optim_config": [1e-3]}, r"optim_config must be a dict"),
    ({"seed": -1}, r"seed must be an integer >= 0 or None, got -1"),
    ({"progress": "yes"}, r"progress must be True, False or None"),
], ids=["rule-name", "batch-size", "epochs-float", "negative-weight-decay", "zero-lr-decay", "schedule-string",
        "config-list", "negative-seed", "progress-string"])
def test_bad_option_values(options, message):
    with pytest.raises(ValueError, match=message):
        Solver(TinyNet(), make_data(), **options)


def test_bad_optimizer_config_fails_on_first_update():
    """Is a negative learning rate refused by the update rule with a ValueError?"""
    solver = Solver(TinyNet(), make_data(), **quiet(optim_config={"learning_rate": -1e-3}, num_epochs=1))
    with pytest.raises(ValueError, match=r"learning_rate'\] must lie in \[0, inf\), got -0.001"):
        solver.train()


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("y_val"), r"data is missing the keys \['y_val'\]"),
    (lambda d: d.update(y_train=d["y_train"][:-1]), r"data\['X_train'\] has 50 examples but data\['y_train'\] has 49"),
    (lambda d: d.update(y_val=d["y_val"].astype(float)), r"data\['y_val'\] must be a 1-d integer array"),
    (lambda d: d.update(X_val=d["X_val"][:, :5]), r"training examples of shape \(12,\) and validation examples "
                                                 r"of shape \(5,\) differ"),
    (lambda d: d.update(X_train=d["X_train"][:0], y_train=d["y_train"][:0]), r"data\['X_train'\] is empty"),
], ids=["missing-key", "length-mismatch", "float-labels", "feature-mismatch", "empty"])
def test_bad_data_dict(change, message):
    data = make_data()
    change(data)
    with pytest.raises(ValueError, match=message):
        Solver(TinyNet(), data)


def test_model_without_the_interface_is_refused():
    with pytest.raises(ValueError, match=r"model must have a dict 'params' and a method 'loss"):
        Solver(object(), make_data())


def test_defaults_are_cs231n_s():
    """Without options, does the Solver use CS231n's defaults?"""
    solver = Solver(TinyNet(), make_data())
    assert solver.update_rule is optim.sgd and solver.optim_config == {}
    assert solver.lr_decay == 1.0 and solver.batch_size == 100 and solver.num_epochs == 10
    assert solver.num_train_samples == 1000 and solver.num_val_samples is None
    assert solver.checkpoint_name is None and solver.print_every == 10 and solver.verbose is True

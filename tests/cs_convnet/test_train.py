"""Tests of cs_convnet.train: the training command end to end, on small data.

Two data sources: a synthetic, learnable set of small images (always), and a
few hundred images of the reconstructed CIFAR-10 copy (skipped when absent).
"""

import json
import pickle

import numpy as np
import pytest

from cs_convnet import cli, optim
from cs_convnet.train import (FAST_UPDATE_RULES, PRESETS, TrainConfig, TrainError, main, normalize, predict,
                              predictions, train, validate)
from support.paths import cifar10_archive_path


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL_SPEC = "conv3-8 relu pool2 fc10"


def synthetic_data(num_train=200, num_val=100, num_test=100, shape=(3, 8, 8), seed=0, dtype=np.float32):
    """Ten classes, each a fixed random template plus noise: learnable in a few epochs by a small net."""
    rng = np.random.default_rng(seed)
    templates = rng.standard_normal((10, *shape))
    data = {}
    for split, n in (("train", num_train), ("val", num_val), ("test", num_test)):
        y = rng.integers(0, 10, n)
        data[f"X_{split}"] = (templates[y] + 1.5 * rng.standard_normal((n, *shape))).astype(dtype)
        data[f"y_{split}"] = y
    return data


def small_config(tmp_path, **overrides):
    values = dict(model="ConvNet", spec=SMALL_SPEC, epochs=3, batch_size=20, lr=1e-2, update_rule="adam",
                  num_train=200, num_val=100, num_test=100, out=str(tmp_path / "run"), progress=False, seed=3)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_data()


def test_loss_decreases_and_accuracy_rises_on_synthetic_data(tmp_path, synthetic):
    """Does a short run lower the training loss and beat chance on held-out data?"""
    result = train(small_config(tmp_path), data=synthetic)
    epochs = result.log["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["loss"] < 0.7 * epochs[0]["loss"]
    loss = np.asarray(result.solver.loss_history)
    assert loss[-10:].mean() < loss[:10].mean()
    assert result.test_acc > 0.5  # chance is 0.1
    assert result.best_val_acc == max(e["val_acc"] for e in epochs)


def test_log_plots_and_checkpoints_are_written(tmp_path, synthetic):
    """Are log.json (after every epoch, then the test accuracy), config.json, the PNG plots and one checkpoint
    per epoch written?"""
    config = small_config(tmp_path, model="ThreeLayerConvNet", spec=None, num_filters=4, filter_size=3,
                          hidden_dim=20, epochs=2, schedule="cosine", augment=True, crop_padding=1)
    out = tmp_path / "run"
    seen = []  # what log.json holds when each epoch's summary line goes out
    result = train(config, data=synthetic,
                   echo=lambda line: seen.append((line, json.loads((out / "log.json").read_text())["epochs"])))
    assert [len(epochs) for line, epochs in seen if line.startswith("epoch")] == [1, 2]
    log = json.loads((out / "log.json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2]
    for entry in log["epochs"]:
        assert set(entry) >= {"epoch", "train_acc", "val_acc", "loss", "lr", "time", "epoch_time", "epoch_cpu_time"}
        assert 0 <= entry["train_acc"] <= 1 and 0 <= entry["val_acc"] <= 1 and entry["loss"] > 0
    assert log["epochs"][0]["time"] <= log["epochs"][1]["time"]
    # cosine over 2 epochs of 10 iterations: the last iteration of epoch 1 is iteration 9 of 20
    assert log["epochs"][0]["lr"] == pytest.approx(1e-2 * 0.5 * (1 + np.cos(np.pi * 9 / 20)))
    assert log["test_acc"] == pytest.approx(result.test_acc) and log["num_test"] == 100
    assert log["config"]["model"] == "ThreeLayerConvNet" and "backend" in log
    assert json.loads((out / "config.json").read_text())["augment"] is True
    for name in ("curves.png", "filters.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    # one after the first iteration (epoch 0), then one per epoch
    assert len(list((out / "checkpoints").glob("*.pkl"))) == 3
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no temporary files behind


def _checkpoint_of_epoch(folder, epoch):
    """The checkpoint written at the end of ``epoch`` (read from the file, not guessed from its name)."""
    for path in sorted(folder.glob("*.pkl")):
        with open(path, "rb") as handle:
            if pickle.load(handle).get("epoch") == epoch:
                return path
    raise AssertionError(f"no checkpoint of epoch {epoch} in {sorted(p.name for p in folder.iterdir())}")


@pytest.mark.parametrize(
    "overrides",
    [dict(schedule="onecycle", augment=True, crop_padding=2, update_rule="sgd_momentum", lr=0.02, weight_decay=1e-3),
     dict(spec="conv3-8 bn relu pool2 fc10", schedule="cosine", warmup=0.5, normalize=True, weight_decay=1e-2)],
    ids=["onecycle-augment-momentum-wd", "batchnorm-cosine-warmup-normalize-fast-adam-wd"],
)
def test_resume_gives_exactly_the_uninterrupted_result(tmp_path, synthetic, overrides):
    """Does resuming from the epoch-1 checkpoint reproduce, bit for bit, the parameters and log of an
    uninterrupted run with the same seed (shuffling, augmentation, batchnorm statistics and schedule included)?"""
    config = small_config(tmp_path, epochs=3, **overrides)
    full = train(config, data=synthetic)
    checkpoint = _checkpoint_of_epoch(tmp_path / "run" / "checkpoints", 1)
    resumed = train(small_config(tmp_path, out=str(tmp_path / "resumed"), epochs=3, **overrides),
                    data=synthetic, resume=checkpoint)
    assert sorted(full.model.params) == sorted(resumed.model.params)
    for name in full.model.params:
        np.testing.assert_array_equal(resumed.model.params[name], full.model.params[name], err_msg=name)
    np.testing.assert_array_equal(resumed.solver.loss_history, full.solver.loss_history)
    assert resumed.test_acc == full.test_acc
    strip = lambda entries: [{k: v for k, v in e.items() if "time" not in k} for e in entries]  # noqa: E731
    # A resumed run writes the epochs it ran (and keeps the earlier ones when its folder holds the old log).
    assert strip(resumed.log["epochs"]) == strip(full.log["epochs"][1:])
    # the run learns, so the comparison is not between two diverged runs
    assert full.log["epochs"][-1]["loss"] < full.log["epochs"][0]["loss"]


def test_fully_connected_net_trains_in_float64(tmp_path):
    """Does the FullyConnectedNet path train in float64 and log (its first layer is not an image, so no
    filter plot)?"""
    data = synthetic_data(dtype=np.float64)
    result = train(small_config(tmp_path, model="FullyConnectedNet", spec=None, hidden_dims=[50], epochs=2,
                                lr=1e-3, dtype="float64"), data=data)
    assert result.test_acc > 0.3
    assert all(value.dtype == np.float64 for value in result.model.params.values())
    assert "filters" not in result.plots and (tmp_path / "run" / "curves.png").is_file()


def test_normalize_divides_by_the_training_per_channel_std_without_touching_the_input(rng):
    """Does normalize give the training images unit per-channel deviation, apply the same divisors to
    validation and test images, keep the dtype, and leave the caller's arrays unchanged?"""
    scales = np.array([60.0, 5.0, 0.5])
    data = {"X_train": (rng.standard_normal((40, 3, 5, 6)) * scales[:, None, None]).astype(np.float32),
            "y_train": np.zeros(40, dtype=np.int64),
            "X_val": np.ones((2, 3, 5, 6), dtype=np.float32), "y_val": np.zeros(2, dtype=np.int64)}
    before = data["X_train"].copy()
    out = normalize(data)
    np.testing.assert_allclose(out["X_train"].std(axis=(0, 2, 3), dtype=np.float64), 1.0, rtol=1e-6)
    std = data["X_train"].std(axis=(0, 2, 3), dtype=np.float64)
    np.testing.assert_allclose(out["X_val"][0, :, 0, 0], 1.0 / std, rtol=1e-6)
    assert out["X_train"].dtype == np.float32 and "X_test" not in out
    np.testing.assert_array_equal(data["X_train"], before)
    data["X_train"][:, 1] = 0.0
    with pytest.raises(TrainError, match="constant"):
        normalize(data)


def test_training_uses_the_fast_adam_with_the_same_result(tmp_path, synthetic, monkeypatch):
    """Does the command train with the in-place fast Adam, and end where the learner's Adam ends?"""
    config = small_config(tmp_path, epochs=2, weight_decay=1e-2)
    fast = train(config, data=synthetic)
    assert fast.solver.update_rule is FAST_UPDATE_RULES["adam"]
    monkeypatch.setitem(FAST_UPDATE_RULES, "adam", "adam")
    reference = train(small_config(tmp_path, out=str(tmp_path / "reference"), epochs=2, weight_decay=1e-2),
                      data=synthetic)
    assert reference.solver.update_rule is optim.adam
    for name, value in reference.model.params.items():
        np.testing.assert_allclose(fast.model.params[name], value, rtol=1e-3, atol=1e-4, err_msg=name)


def test_flip_tta_averages_an_image_and_its_mirror(synthetic, tmp_path):
    """Does --tta classify each test image by the mean probabilities of the image and its mirror image,
    and report that accuracy beside the plain one?"""
    result = train(small_config(tmp_path, epochs=1, tta=True), data=synthetic)
    X, y = synthetic["X_test"], synthetic["y_test"]

    def probabilities(images):
        scores = result.model.loss(images)
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    expected = np.argmax(probabilities(X) + probabilities(X[..., ::-1].copy()), axis=1)
    np.testing.assert_array_equal(predict(result.model, X, batch_size=30, flip=True), expected)
    assert result.test_acc_flip == pytest.approx(np.mean(expected == y))
    # the plain accuracy comes from the same forward passes
    plain, tta = predictions(result.model, X, batch_size=30, flip=True)
    np.testing.assert_array_equal(tta, expected)
    np.testing.assert_array_equal(plain, np.argmax(result.model.loss(X), axis=1))
    assert result.test_acc == pytest.approx(np.mean(plain == y))
    assert json.loads(result.log_path.read_text())["test_acc_flip_tta"] == result.test_acc_flip
    assert TrainConfig.from_preset("deep").tta is True


def test_presets_hold_the_documented_settings():
    """Does the one-epoch preset carry CS231n's settings, and do explicit options override a preset?"""
    one_epoch = TrainConfig.from_preset("three_layer_one_epoch")
    assert (one_epoch.model, one_epoch.weight_scale, one_epoch.hidden_dim, one_epoch.reg) == \
        ("ThreeLayerConvNet", 1e-3, 500, 1e-3)
    assert (one_epoch.update_rule, one_epoch.lr, one_epoch.batch_size, one_epoch.num_train, one_epoch.epochs) == \
        ("adam", 1e-3, 50, 49000, 1)
    assert TrainConfig.from_preset("deep", lr=0.05, epochs=None).lr == 0.05
    for name in PRESETS:
        validate(TrainConfig.from_preset(name))
    with pytest.raises(TrainError, match="unknown preset 'fast'"):
        TrainConfig.from_preset("fast")


def run_main(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "ResNet50"], "unknown model 'ResNet50'"),
        (["--data", "/nonexistent/cifar.tar.gz"], "data path /nonexistent/cifar.tar.gz does not exist"),
        (["--batch-size", "0"], "batch size must be an integer >= 1, got 0"),
        (["--spec", "[conv3-8 relu]x2 pool7 fc10"], "bad ConvNet spec"),
        (["--spec", "conv3-8 wibble fc10"], "bad ConvNet spec"),
        (["--model", "ConvNet"], "needs a spec"),
        (["--epochs", "2", "--warmup", "2"], "warmup"),
        (["--lr", "-1"], "learning rate must be a positive number"),
        (["--num-train", "40", "--batch-size", "50"], "batch size 50 is larger than the 40 training images"),
        (["--resume", "/nonexistent/epoch_1.pkl"], "checkpoint /nonexistent/epoch_1.pkl does not exist"),
    ],
    ids=["unknown-model", "missing-data-path", "batch-size-0", "spec-does-not-tile", "spec-unknown-token",
         "convnet-without-spec", "warmup-too-long", "negative-lr", "batch-larger-than-set", "missing-checkpoint"],
)
def test_bad_options_give_a_clear_error_and_nonzero_exit(argv, message, capsys, tmp_path):
    """Does each bad option end with one clear message naming the problem, a non-zero status, no traceback?"""
    status, out, err = run_main(argv + ["--out", str(tmp_path / "run"), "--no-progress"], capsys)
    assert status != 0
    assert message in err and err.startswith("cs-convnet train: error:")
    assert "Traceback" not in err + out


@pytest.mark.parametrize("argv", [["--preset", "slow"], ["--schedule", "linear"], ["--epochs", "two"]],
                         ids=["unknown-preset", "unknown-schedule", "non-integer-epochs"])
def test_malformed_options_are_usage_errors(argv, capsys):
    """Are malformed options rejected by the parser with status 2 and a message naming the option?"""
    status, _, err = run_main(argv, capsys)
    assert status == 2 and argv[0] in err and "Traceback" not in err


def test_cs_convnet_train_dispatches_here(capsys):
    """Does `cs-convnet train --help` reach this command's parser?"""
    assert cli.main(["train", "--help"]) == 0
    assert "--schedule" in capsys.readouterr().out


@pytest.fixture(scope="module")
def cifar10():
    path = cifar10_archive_path()
    if path is None:
        pytest.skip("CIFAR-10 not found: set CS_CONVNET_CIFAR10 to the python archive or folder, or place "
                    "cifar-10-python-reconstructed.tar.gz in ../shared/datasets/ next to the repository")
    return path


def test_command_trains_on_a_cifar10_slice(cifar10, tmp_path, capsys):
    """Does the command train on 300 real images: exit 0, loss down, log with test accuracy, plots?"""
    out = tmp_path / "cifar"
    status, stdout, err = run_main(
        ["--model", "ThreeLayerConvNet", "--data", str(cifar10), "--num-train", "300", "--num-val", "100",
         "--num-test", "200", "--epochs", "3", "--batch-size", "25", "--num-filters", "8", "--hidden-dim", "50",
         "--lr", "2e-3", "--augment", "--schedule", "cosine", "--out", str(out), "--no-progress"], capsys)
    assert status == 0, err
    log = json.loads((out / "log.json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3]
    assert log["epochs"][-1]["loss"] < log["epochs"][0]["loss"]
    assert 0 <= log["test_acc"] <= 1 and log["num_test"] == 200
    assert f"test accuracy {log['test_acc']:.4f}" in stdout
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / "filters.png").read_bytes()[:8] == PNG_MAGIC

    # --resume alone continues the run with its saved config, in its folder, to the same end
    checkpoint = _checkpoint_of_epoch(out / "checkpoints", 2)
    status, stdout, err = run_main(["--resume", str(checkpoint), "--no-progress"], capsys)
    assert status == 0, err
    resumed = json.loads((out / "log.json").read_text())
    assert [e["epoch"] for e in resumed["epochs"]] == [1, 2, 3]
    assert resumed["epochs"][:2] == log["epochs"][:2]  # kept from the first session
    for key in ("train_acc", "val_acc", "loss", "lr"):
        assert resumed["epochs"][2][key] == log["epochs"][2][key]
    assert resumed["test_acc"] == log["test_acc"]

"""Tests of cs_convnet.optim: CS231n's published values, an independent multi-step
re-derivation, defaults, dtypes and config validation."""

import inspect

import numpy as np
import pytest

from cs_convnet import optim
from cs_convnet.gradient_check import rel_error
from support.api import undocumented_shapes

N, D = 4, 5


def cs231n_arrays():
    """The inputs of CS231n's FullyConnectedNets notebook checks."""
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    return w, dw


# The published expected values have 8 decimals; entries as small as 0.02
# bound the relative error they allow at about 5e-7.
PUBLISHED_TOL = 1e-6


def test_sgd_momentum_matches_cs231n():
    w, dw = cs231n_arrays()
    v = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    next_w, config = optim.sgd_momentum(w, dw, {"learning_rate": 1e-3, "velocity": v})
    expected_next_w = np.asarray([
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    expected_velocity = np.asarray([
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
    assert rel_error(next_w, expected_next_w) < PUBLISHED_TOL
    assert rel_error(config["velocity"], expected_velocity) < PUBLISHED_TOL


def test_rmsprop_matches_cs231n():
    w, dw = cs231n_arrays()
    cache = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    next_w, config = optim.rmsprop(w, dw, {"learning_rate": 1e-2, "cache": cache})
    expected_next_w = np.asarray([
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    expected_cache = np.asarray([
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
    assert rel_error(next_w, expected_next_w) < PUBLISHED_TOL
    assert rel_error(config["cache"], expected_cache) < PUBLISHED_TOL


def test_adam_matches_cs231n():
    """Adam from t = 5: t becomes 6 before the bias correction, as in CS231n's reference."""
    w, dw = cs231n_arrays()
    m = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    v = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)
    next_w, config = optim.adam(w, dw, {"learning_rate": 1e-2, "m": m, "v": v, "t": 5})
    expected_next_w = np.asarray([
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    expected_v = np.asarray([
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    expected_m = np.asarray([
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])
    assert rel_error(next_w, expected_next_w) < PUBLISHED_TOL
    assert rel_error(config["v"], expected_v) < PUBLISHED_TOL
    assert rel_error(config["m"], expected_m) < PUBLISHED_TOL
    assert config["t"] == 6


# --------------------------------------------------------------------------
# Several steps against a scalar re-derivation, element by element
# --------------------------------------------------------------------------

def scalar_reference(rule, w0, grads, hp):
    """Each rule written out for one scalar weight, in plain Python floats."""
    w, state, out = w0, {"v": 0.0, "m": 0.0, "s": 0.0}, []
    for t, g in enumerate(grads, start=1):
        if rule == "sgd":
            w = w - hp["learning_rate"] * g
        elif rule == "sgd_momentum":
            state["v"] = hp["momentum"] * state["v"] - hp["learning_rate"] * g
            w = w + state["v"]
        elif rule == "rmsprop":
            state["s"] = hp["decay_rate"] * state["s"] + (1 - hp["decay_rate"]) * g * g
            w = w - hp["learning_rate"] * g / (state["s"] ** 0.5 + hp["epsilon"])
        elif rule == "adam":
            state["m"] = hp["beta1"] * state["m"] + (1 - hp["beta1"]) * g
            state["v"] = hp["beta2"] * state["v"] + (1 - hp["beta2"]) * g * g
            m_hat = state["m"] / (1 - hp["beta1"] ** t)
            v_hat = state["v"] / (1 - hp["beta2"] ** t)
            w = w - hp["learning_rate"] * m_hat / (v_hat ** 0.5 + hp["epsilon"])
        out.append(w)
    return out


DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


@pytest.mark.parametrize("rule", list(DEFAULTS))
def test_five_steps_with_defaults_match_scalar_reference(rule):
    """Do five steps from an empty config (CS231n's defaults) match the rule written for scalars?"""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((2, 3))
    w = w0.copy()
    grads = [rng.standard_normal((2, 3)) for _ in range(5)]
    update = getattr(optim, rule)
    config, trajectory = None, []
    for g in grads:
        w, config = update(w, g, config)
        trajectory.append(w)
    for key, value in DEFAULTS[rule].items():
        assert config[key] == value, key
    for index in np.ndindex(2, 3):
        expected = scalar_reference(rule, float(w0[index]), [float(g[index]) for g in grads], DEFAULTS[rule])
        np.testing.assert_allclose([step[index] for step in trajectory], expected, rtol=1e-12, atol=1e-15)


def test_adam_first_step_moves_each_weight_by_about_the_learning_rate():
    """With bias correction (t = 1 on the first step), is Adam's first step lr * sign(dw)?"""
    w, dw = np.zeros(4), np.array([1e-3, -2.0, 5.0, -3e-3])
    next_w, config = optim.adam(w, dw)
    np.testing.assert_allclose(next_w, -1e-3 * np.sign(dw), rtol=1e-4)
    assert config["t"] == 1


@pytest.mark.parametrize("rule", list(DEFAULTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_dtype_is_preserved(rule, dtype):
    """Do float32 weights stay float32 (and float64 stay float64), even with a float64 gradient?"""
    w = np.ones((3, 2), dtype)
    update = getattr(optim, rule)
    next_w, config = update(w, np.full((3, 2), 0.5, dtype))
    assert next_w.dtype == dtype
    next_w, _ = update(next_w, np.full((3, 2), 0.5, np.float64), config)
    assert next_w.dtype == dtype


@pytest.mark.parametrize("rule", list(DEFAULTS))
def test_weights_are_not_modified_in_place(rule):
    w = np.ones((2, 2))
    getattr(optim, rule)(w, np.ones((2, 2)))
    assert np.array_equal(w, np.ones((2, 2)))


@pytest.mark.parametrize("rule, config, message", [
    ("sgd", {"learning_rate": -1e-3}, r"sgd.*config\['learning_rate'\] must lie in \[0, inf\), got -0.001"),
    ("sgd", {"learning_rate": "1e-3"}, r"config\['learning_rate'\] must be a finite number, got '1e-3'"),
    ("sgd", {"learning_rate": float("nan")}, r"must be a finite number, got nan"),
    ("sgd", {"lr": 1e-3}, r"sgd: unknown config keys \['lr'\]; valid keys are \['learning_rate'\]"),
    ("sgd_momentum", {"momentum": 1.0}, r"config\['momentum'\] must lie in \[0, 1\), got 1.0"),
    ("sgd_momentum", {"velocity": np.zeros(3)}, r"config\['velocity'\] must be an array of the shape of w \(2, 2\)"),
    ("rmsprop", {"decay_rate": -0.1}, r"config\['decay_rate'\] must lie in \[0, 1\)"),
    ("rmsprop", {"epsilon": 0.0}, r"config\['epsilon'\] must lie in \(0, inf\), got 0.0"),
    ("adam", {"beta2": 1.5}, r"config\['beta2'\] must lie in \[0, 1\), got 1.5"),
    ("adam", {"t": -1}, r"config\['t'\] must be an integer >= 0, got -1"),
    ("adam", {"t": 1.5}, r"config\['t'\] must be an integer >= 0, got 1.5"),
    ("adam", {"learning_rate": True}, r"must be a finite number, got True"),
    ("adam", [1e-3], r"config must be a dict or None, got list"),
], ids=["negative-lr", "string-lr", "nan-lr", "unknown-key", "momentum-1", "velocity-shape", "negative-decay",
        "zero-epsilon", "beta2-above-1", "negative-t", "float-t", "bool-lr", "config-list"])
def test_bad_config_raises(rule, config, message):
    with pytest.raises(ValueError, match=message):
        getattr(optim, rule)(np.ones((2, 2)), np.ones((2, 2)), config)


@pytest.mark.parametrize("rule", list(DEFAULTS))
def test_bad_arrays_raise(rule):
    update = getattr(optim, rule)
    with pytest.raises(ValueError, match=r"dw must be an array of the shape of w \(2, 2\), got \(2, 3\)"):
        update(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"w must be a floating-point numpy array, got int64"):
        update(np.ones((2, 2), dtype=np.int64), np.ones((2, 2)))


@pytest.mark.parametrize("rule", list(DEFAULTS))
def test_rules_have_the_cs231n_signature_and_document_shapes(rule):
    """Is every rule ``update(w, dw, config=None)``, reachable by name, with its shapes documented?"""
    update = getattr(optim, rule)
    assert str(inspect.signature(update)) == "(w, dw, config=None)"
    assert optim.UPDATE_RULES[rule] is update
    assert undocumented_shapes(update) == []


@pytest.mark.parametrize("rule", list(DEFAULTS))
def test_numpy_scalar_hyperparameters_keep_float32_state(rule):
    """Do hyperparameters given as numpy float64 scalars (from np.logspace, say) keep a float32
    rule's state (velocity, cache, m, v) in float32 instead of silently doubling it to float64?"""
    w, dw = np.ones((3, 2), np.float32), np.full((3, 2), 0.5, np.float32)
    config = {key: np.float64(value) for key, value in DEFAULTS[rule].items()}
    update = getattr(optim, rule)
    for _ in range(2):
        w, config = update(w, dw, config)
    assert w.dtype == np.float32
    states = [value for value in config.values() if isinstance(value, np.ndarray)]
    assert len(states) == {"sgd": 0, "sgd_momentum": 1, "rmsprop": 1, "adam": 2}[rule]
    assert all(state.dtype == np.float32 for state in states)

"""Tests of cs_convnet.classifiers: FullyConnectedNet, ThreeLayerConvNet and ConvNet with its spec language."""

import inspect
import math

import numpy as np
import pytest

from cs_convnet import optim
from cs_convnet.classifiers import ConvNet, FullyConnectedNet, ThreeLayerConvNet, parse_spec, plan
from cs_convnet.classifiers.convnet import FC, BatchNorm, Conv, Dropout, Pool, ReLU, format_spec
from cs_convnet.gradient_check import eval_numerical_gradient
from support.api import assert_extends_signature
from support.tolerances import DTYPE_IDS, FLOAT_DTYPES, assert_gradient_close

def assert_gradients(model, X, y):
    """Is every analytic gradient of model.loss within GRAD_TOL (support.tolerances) of centred differences?

    A whole network's loss is a composition of many layers, ReLU kinks included;
    differenced at h = 1e-5, correct gradients land near 1e-8 on the worst entry,
    wrong ones at 1e-2 or more."""
    _, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    for name, param in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param, verbose=False)
        assert_gradient_close(grads[name], numeric, name)


def data(rng, N, shape, num_classes):
    return rng.standard_normal((N, *shape)), rng.integers(num_classes, size=N)


# --------------------------------------------------------------------------
# Gradients, in float64
# --------------------------------------------------------------------------

@pytest.mark.parametrize("normalization, keep, N, reg", [
    (None, 1, 3, 0.0), (None, 1, 1, 3.14), ("batchnorm", 1, 4, 0.7), (None, 0.6, 3, 0.0), ("batchnorm", 0.5, 5, 0.3),
], ids=["plain", "N=1-reg", "batchnorm", "dropout", "batchnorm-dropout"])
def test_fully_connected_net_gradients(rng, normalization, keep, N, reg):
    """Are FullyConnectedNet's gradients right, with batchnorm and seeded dropout?"""
    model = FullyConnectedNet([6, 5], input_dim=12, num_classes=4, normalization=normalization,
                              dropout_keep_ratio=keep, reg=reg, weight_scale=0.5, dtype=np.float64, seed=1)
    X, y = data(rng, N, (3, 2, 2), 4)
    assert_gradients(model, X, y)


@pytest.mark.parametrize("input_dim, filter_size, reg", [((2, 6, 4), 3, 0.0), ((3, 4, 8), 5, 0.5), ((1, 2, 2), 1, 0.1)],
                         ids=["6x4-f3", "4x8-f5-reg", "2x2-f1"])
def test_three_layer_convnet_gradients(rng, input_dim, filter_size, reg):
    """Are ThreeLayerConvNet's gradients right on non-square inputs and odd filter sizes?"""
    model = ThreeLayerConvNet(input_dim=input_dim, num_filters=3, filter_size=filter_size, hidden_dim=5,
                              num_classes=4, weight_scale=0.3, reg=reg, dtype=np.float64, seed=0)
    X, y = data(rng, 2, input_dim, 4)
    assert_gradients(model, X, y)


CONVNET_CASES = {
    "bn-spatial-and-fc": ("[conv3-3 bn relu]x2 pool2 fc5 bn relu fc4", (2, 6, 4), 4),
    "stride2-overlapping-floor-avgpool-dropout": (
        "conv3-3-s2-p1 relu pool3-s2-floor avgpool2 dropout0.6 fc4", (2, 9, 11), 3),
    "pad0-overlapping-pool-reg": ("conv2-4-p0 relu pool3-s2 fc3", (1, 6, 8), 2),
    "fc-first": ("fc6 relu fc3", (2, 3, 2), 3),
    "conv1x1-N=1": ("conv1-3-p0 relu fc3", (2, 2, 3), 1),
}


@pytest.mark.parametrize("spec, input_dim, N", CONVNET_CASES.values(), ids=CONVNET_CASES.keys())
def test_convnet_gradients(rng, spec, input_dim, N):
    """Are ConvNet's gradients right for bn, strides, overlapping and average pools, dropout and 1x1 convs?"""
    model = ConvNet(spec, input_dim=input_dim, dtype=np.float64, reg=0.2, seed=2, dropout_seed=5)
    X, y = data(rng, N, input_dim, model.num_classes)
    assert_gradients(model, X, y)


def test_convnet_normalization_and_dropout_options_gradients(rng):
    """Do normalization='batchnorm' and dropout_keep_ratio insert layers whose gradients are right?"""
    model = ConvNet("conv3-3 relu pool2 fc4 relu fc3", input_dim=(2, 4, 6), normalization="batchnorm",
                    dropout_keep_ratio=0.7, dtype=np.float64, seed=0, dropout_seed=1)
    assert model.spec == "conv3-3 bn relu pool2 dropout0.7 fc4 bn relu dropout0.7 fc3"
    assert {"gamma1", "beta1", "gamma2", "beta2"} <= set(model.params) and "gamma3" not in model.params
    X, y = data(rng, 4, (2, 4, 6), 3)
    assert_gradients(model, X, y)


# --------------------------------------------------------------------------
# Loss values: initial loss, regularization, modes, dtypes
# --------------------------------------------------------------------------

def small_models(dtype=np.float32, reg=0.0):
    """One model of each class with small weights, for 10 classes on 3x8x8 images."""
    return {
        "FullyConnectedNet": FullyConnectedNet([20, 10], input_dim=3 * 8 * 8, weight_scale=1e-3, reg=reg,
                                               dtype=dtype, seed=0),
        "FullyConnectedNet-bn": FullyConnectedNet([20], input_dim=3 * 8 * 8, normalization="batchnorm",
                                                  dropout_keep_ratio=0.5, weight_scale=1e-3, reg=reg,
                                                  dtype=dtype, seed=0),
        "ThreeLayerConvNet": ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3, hidden_dim=10,
                                               reg=reg, dtype=dtype, seed=0),
        "ConvNet": ConvNet("[conv3-4 bn relu]x2 pool2 fc10 relu fc10", input_dim=(3, 8, 8), weight_scale=1e-3,
                           reg=reg, dtype=dtype, seed=0),
    }


MODEL_NAMES = list(small_models())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_initial_loss_is_log_of_num_classes(rng, name):
    """With small weights every class is equally likely, so is the loss near log(10)?"""
    model = small_models()[name]
    X, y = data(rng, 50, (3, 8, 8), 10)
    loss, _ = model.loss(X, y)
    assert abs(loss - math.log(10)) < 0.01


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_regularization_adds_half_reg_sum_of_squared_weights(rng, name):
    """Does reg add exactly 0.5 * reg * sum(W**2) to the loss and reg * W to each weight's gradient?"""
    reg = 0.37
    plain, regularized = small_models(np.float64, 0.0)[name], small_models(np.float64, reg)[name]
    for key in plain.params:  # both start from the same seed; scale the weights so reg matters
        plain.params[key] *= 100 if key.startswith("W") else 1
        regularized.params[key] = plain.params[key].copy()
    X, y = data(rng, 6, (3, 8, 8), 10)
    loss0, grads0 = plain.loss(X, y)
    loss1, grads1 = regularized.loss(X, y)
    weights = [key for key in plain.params if key.startswith("W")]
    expected = 0.5 * reg * sum(np.sum(plain.params[key] ** 2) for key in weights)
    assert loss1 - loss0 == pytest.approx(expected, rel=1e-10)
    for key in plain.params:
        extra = reg * plain.params[key] if key in weights else 0
        np.testing.assert_allclose(grads1[key], grads0[key] + extra, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_dtype_is_preserved(rng, name, dtype):
    """Are params, scores, loss gradients all of the model's dtype, whatever the dtype of X?"""
    model = small_models(dtype)[name]
    X, y = data(rng, 4, (3, 8, 8), 10)  # float64 input
    assert all(param.dtype == dtype for param in model.params.values())
    scores = model.loss(X)
    assert scores.dtype == dtype and scores.shape == (4, 10)
    loss, grads = model.loss(X, y)
    assert isinstance(loss, float)
    assert all(grads[key].dtype == dtype for key in model.params)


@pytest.mark.parametrize("name", ["FullyConnectedNet-bn", "ConvNet"])
def test_test_mode_uses_running_statistics_and_no_dropout(rng, name):
    """Are test-mode scores deterministic and independent of the batch they are computed in?"""
    model = small_models(np.float64)[name]
    X, y = data(rng, 8, (3, 8, 8), 10)
    for _ in range(3):
        model.loss(X, y)  # training mode: fills the running statistics
    scores = model.loss(X)
    np.testing.assert_allclose(model.loss(X), scores, rtol=1e-12)
    np.testing.assert_allclose(model.loss(X[:1]), scores[:1], rtol=1e-12, atol=1e-12)
    assert all(param["mode"] == "test" for param in model.bn_params)


def test_seed_makes_initialization_reproducible():
    """Do two models built with one seed start from the same weights, and other seeds from others?"""
    for build in (lambda seed: FullyConnectedNet([5], input_dim=4, seed=seed),
                  lambda seed: ThreeLayerConvNet(input_dim=(1, 4, 4), num_filters=2, filter_size=3, seed=seed),
                  lambda seed: ConvNet("conv3-2 relu fc3", input_dim=(1, 4, 4), seed=seed)):
        a, b, c = build(7), build(7), build(8)
        assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
        assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_convnet_he_initialization():
    """Does ConvNet draw weights with std sqrt(2/fan_in) before a ReLU, sqrt(1/fan_in) for the scores?"""
    model = ConvNet("conv5-64 relu fc256 bn relu fc100", input_dim=(16, 4, 4), seed=0)
    for key, fan_in, gain in (("W1", 16 * 5 * 5, 2), ("W2", 64 * 4 * 4, 2), ("W3", 256, 1)):
        assert model.params[key].std() == pytest.approx(math.sqrt(gain / fan_in), rel=0.05), key
    assert not model.params["b1"].any() and (model.params["gamma2"] == 1).all()
    fixed = ConvNet("conv5-64 relu fc10", input_dim=(16, 4, 4), weight_scale=0.01, seed=0)
    assert fixed.params["W1"].std() == pytest.approx(0.01, rel=0.05)


def test_convnet_params_are_named_as_in_cs231n():
    """Are weights numbered in order, with each bn named after the layer it normalizes?"""
    model = ConvNet("conv3-4 bn relu pool2 conv3-8 relu pool2 fc6 bn relu fc3", input_dim=(3, 8, 4))
    shapes = {key: value.shape for key, value in model.params.items()}
    assert shapes == {"W1": (4, 3, 3, 3), "b1": (4,), "gamma1": (4,), "beta1": (4,),
                      "W2": (8, 4, 3, 3), "b2": (8,), "W3": (8 * 2 * 1, 6), "b3": (6,),
                      "gamma3": (6,), "beta3": (6,), "W4": (6, 3), "b4": (3,)}
    assert len(model.bn_params) == 2 and model.num_classes == 3


# --------------------------------------------------------------------------
# Training: a tiny set is learned quickly
# --------------------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda: ConvNet("[conv3-8 bn relu]x2 pool2 fc10", input_dim=(3, 8, 8), seed=0),
    lambda: ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=8, filter_size=3, hidden_dim=50, weight_scale=1e-2,
                              seed=0),
    lambda: FullyConnectedNet([50, 50], input_dim=3 * 8 * 8, normalization="batchnorm", weight_scale=5e-2, seed=0),
], ids=["ConvNet-bn", "ThreeLayerConvNet", "FullyConnectedNet-bn"])
def test_overfits_a_tiny_training_set(rng, build):
    """Do 40 Adam steps on 20 images reach 100% training accuracy?"""
    model = build()
    X, y = data(rng, 20, (3, 8, 8), 10)
    configs = {key: {"learning_rate": 1e-2} for key in model.params}
    for _ in range(40):
        _, grads = model.loss(X, y)
        for key in model.params:
            model.params[key], configs[key] = optim.adam(model.params[key], grads[key], configs[key])
    assert (model.loss(X).argmax(axis=1) == y).mean() == 1.0


# --------------------------------------------------------------------------
# The spec language
# --------------------------------------------------------------------------

def test_parse_spec_reads_every_token():
    """Does every token parse to the layer and hyperparameters it names?"""
    layers = parse_spec("CONV3-64 conv11-96-s4-p0 conv5x3-8-p1 relu bn pool2 pool3-s2 pool3-s2-floor "
                        "avgpool2-s1 dropout0.5 fc4096")
    assert layers == [Conv(3, 64), Conv(11, 96, stride=4, pad=0), Conv(5, 8, pad=1, width=3), ReLU(), BatchNorm(),
                      Pool(2), Pool(3, 2), Pool(3, 2, floor=True), Pool(2, 1, average=True), Dropout(0.5), FC(4096)]
    assert layers[0].conv_param == {"stride": 1, "pad": 1}
    assert layers[1].conv_param == {"stride": 4, "pad": 0}
    assert layers[5].pool_param == {"pool_height": 2, "pool_width": 2, "stride": 2}
    assert layers[7].pool_param == {"pool_height": 3, "pool_width": 3, "stride": 2, "floor": True}


def test_groups_repeat_and_nest():
    """Do [ ... ]xN groups expand, nested, and round-trip through format_spec?"""
    layers = parse_spec("[[conv3-8 relu]x2 pool2]x2 fc10")
    assert format_spec(layers) == ("conv3-8 relu conv3-8 relu pool2 conv3-8 relu conv3-8 relu pool2 fc10")
    assert parse_spec(format_spec(layers)) == layers
    assert parse_spec(["[conv3-8", "relu]x2", "fc10"]) == parse_spec("[conv3-8 relu] x 2 fc10")


def test_plan_gives_every_output_shape():
    """Does plan track (C, H, W) through convs with stride and pad, pools, and the flattening fc?"""
    steps = plan("conv11-96-s4-p0 relu pool3-s2 conv5-256 pool3-s2 fc4096", (3, 227, 227))
    assert [step.output_shape for step in steps] == [
        (96, 55, 55), (96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13), (4096,)]
    assert steps[-1].params == {"W3": (256 * 13 * 13, 4096), "b3": (4096,)}


BAD_SPECS = {
    "unknown-token": ("conv3-8 relu poool2 fc10", r"unknown layer 'poool2'"),
    "zero-filters": ("conv3-0 fc10", r"number of filters K in 'conv3-0' must be at least 1"),
    "zero-stride": ("conv3-8-s0 fc10", r"stride S in 'conv3-8-s0' must be at least 1"),
    "stride-twice": ("conv3-8-s2-s1 fc10", r"gives the stride \(-s\) or pad \(-p\) twice"),
    "dropout-above-one": ("dropout1.5 fc10", r"keep probability p, which must lie in \(0, 1\], got 1.5"),
    "dropout-zero": ("dropout0 fc10", r"must lie in \(0, 1\], got 0"),
    "unclosed-group": ("[conv3-8 relu fc10", r"'\[' is never closed"),
    "stray-close": ("conv3-8]x2 fc10", r"'\]' closes a group that was never opened"),
    "missing-repeat": ("[conv3-8 relu] fc10", r"a group must close with '\]x<N>'"),
    "detached-repeat": ("[conv3-8 relu x2 fc10", r"'x2' repeats a group: close the group with '\]x2'"),
    "empty-group": ("[ ]x2 fc10", r"empty group"),
    "zero-repeat": ("[conv3-8]x0 fc10", r"repeat count N in '\]x0' must be at least 1"),
    "rectangular-without-pad": ("conv3x5-8 fc10", r"rectangular filters: give the pad"),
    "empty": ("   ", r"spec is empty"),
}


@pytest.mark.parametrize("spec, message", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_bad_spec_points_at_the_token(spec, message):
    """Does a bad spec raise a ValueError that names the problem and quotes the spec?"""
    with pytest.raises(ValueError, match=message) as error:
        parse_spec(spec)
    if spec.strip():
        assert f"spec: {spec}" in str(error.value) and "^" in str(error.value)


def test_caret_sits_under_the_bad_token():
    """Is the caret line aligned with the offending token?"""
    spec = "conv3-8 relu poool2 fc10"
    with pytest.raises(ValueError) as error:
        parse_spec(spec)
    lines = str(error.value).splitlines()
    spec_line, caret_line = lines[1], lines[2]
    start = caret_line.index("^")
    assert spec_line[start:start + len("poool2")] == "poool2" and caret_line.count("^") == len("poool2")


BAD_GEOMETRY = {
    "conv-does-not-tile": ("conv3-8-s2 fc10", (3, 8, 8), r"layer 1 'conv3-8-s2' on input 3 x 8 x 8: invalid height "
                           r"hyperparameters: \(W - F \+ 2P\)/S \+ 1 = \(8 - 3 \+ 2\*1\)/2 \+ 1 = 4.5"),
    "pool-does-not-tile": ("conv3-8 pool2 fc10", (3, 8, 7), r"layer 2 'pool2' on input 8 x 8 x 7: invalid width"),
    "overlapping-pool-without-floor": ("pool3-s2 fc10", (3, 8, 8), r"layer 1 'pool3-s2'.*= 3.5 is not a whole"),
    "filter-larger-than-input": ("conv5-8-p0 fc10", (3, 4, 4), r"window height 5 is larger than the padded input"),
    "conv-after-fc": ("fc10 conv3-8 fc2", (3, 4, 4), r"layer 2 'conv3-8' on input 10: a conv needs a \(C, H, W\)"),
    "bn-first": ("bn conv3-8 fc2", (3, 4, 4), r"layer 1 'bn'.*must follow a conv or fc"),
    "bn-twice": ("conv3-8 bn relu bn fc2", (3, 4, 4), r"layer 4 'bn'.*no other bn normalizes"),
}


@pytest.mark.parametrize("spec, input_dim, message", BAD_GEOMETRY.values(), ids=BAD_GEOMETRY.keys())
def test_layer_that_does_not_fit_its_input_is_named(spec, input_dim, message):
    """Does a layer that does not fit raise a ValueError naming it, its input and the formula?"""
    with pytest.raises(ValueError, match=message):
        ConvNet(spec, input_dim=input_dim)


def test_overlapping_pool_with_floor_is_accepted():
    """Is 3x3 stride-2 pooling on an even input accepted when (and only when) -floor asks for it?"""
    assert ConvNet("pool3-s2-floor fc10", input_dim=(3, 8, 8)).steps[0].output_shape == (3, 3, 3)


# --------------------------------------------------------------------------
# Bad constructor arguments and inputs
# --------------------------------------------------------------------------

BAD_CONVNET_ARGS = {
    "not-ending-with-fc": (dict(spec="conv3-8 relu"), r"must end with the fc layer.*ends with 'relu'"),
    "spec-not-a-string": (dict(spec=42), r"spec must be a string"),
    "input-dim-2d": (dict(input_dim=(32, 32)), r"input_dim must be \(C, H, W\)"),
    "input-dim-zero": (dict(input_dim=(3, 0, 8)), r"input_dim must be \(C, H, W\)"),
    "normalization": (dict(normalization="layernorm"), r"normalization must be None or 'batchnorm'"),
    "keep-ratio": (dict(dropout_keep_ratio=0), r"dropout_keep_ratio.*\(0, 1\], got 0"),
    "weight-scale": (dict(weight_scale=-1.0), r"weight_scale must be None \(He initialization\) or a positive"),
    "reg": (dict(reg=-0.1), r"reg must be a finite number >= 0"),
    "dtype": (dict(dtype=np.int32), r"dtype must be np.float32 or np.float64"),
    "seed": (dict(seed=1.5), r"seed must be None or an integer"),
    "dropout-seed": (dict(dropout_seed=-1), r"dropout_seed must be None or an integer >= 0, got -1"),
    "bn-twice": (dict(spec="conv3-8 bn relu fc10", normalization="batchnorm"), r"already has bn tokens"),
    "dropout-twice": (dict(spec="dropout0.5 fc10", dropout_keep_ratio=0.5), r"already has dropout tokens"),
}


@pytest.mark.parametrize("kwargs, message", BAD_CONVNET_ARGS.values(), ids=BAD_CONVNET_ARGS.keys())
def test_convnet_rejects_bad_arguments(kwargs, message):
    """Does every bad ConvNet argument raise a ValueError saying what was expected?"""
    kwargs = {"spec": "conv3-8 relu pool2 fc10", "input_dim": (3, 8, 8)} | kwargs
    with pytest.raises(ValueError, match=message):
        ConvNet(**kwargs)


BAD_FC_ARGS = {
    "hidden-dims-int": (dict(hidden_dims=100), r"hidden_dims must be a list"),
    "hidden-dim-zero": (dict(hidden_dims=[10, 0]), r"hidden_dims\[1\] must be a positive integer, got 0"),
    "input-dim": (dict(input_dim=0), r"input_dim must be a positive integer"),
    "num-classes": (dict(num_classes=2.5), r"num_classes must be a positive integer"),
    "normalization": (dict(normalization="batch"), r"normalization must be None or 'batchnorm', got 'batch'"),
    "keep-ratio": (dict(dropout_keep_ratio=1.5), r"dropout_keep_ratio.*\(0, 1\], got 1.5"),
    "weight-scale": (dict(weight_scale=0), r"weight_scale must be a positive number"),
    "reg": (dict(reg=float("nan")), r"reg must be a finite number >= 0"),
    "dtype": (dict(dtype="float16"), r"dtype must be np.float32 or np.float64, got float16"),
    "negative-seed": (dict(seed=-1), r"seed must be None or an integer >= 0, got -1"),
    "keep-ratio-bool": (dict(dropout_keep_ratio=True), r"dropout_keep_ratio.*\(0, 1\], got True"),
    "weight-scale-inf": (dict(weight_scale=float("inf")), r"weight_scale must be a positive number, got inf"),
}


@pytest.mark.parametrize("kwargs, message", BAD_FC_ARGS.values(), ids=BAD_FC_ARGS.keys())
def test_fully_connected_net_rejects_bad_arguments(kwargs, message):
    """Does every bad FullyConnectedNet argument raise a ValueError saying what was expected?"""
    kwargs = {"hidden_dims": [10]} | kwargs
    with pytest.raises(ValueError, match=message):
        FullyConnectedNet(**kwargs)


BAD_THREE_LAYER_ARGS = {
    "even-filter": (dict(filter_size=4), r"filter_size must be odd.*got 4"),
    "odd-height": (dict(input_dim=(3, 7, 8)), r"2x2 stride-2 max pool needs an even height and width.*H=7"),
    "input-dim": (dict(input_dim=(3, 32)), r"input_dim must be \(C, H, W\)"),
    "num-filters": (dict(num_filters=0), r"num_filters must be a positive integer"),
    "hidden-dim": (dict(hidden_dim=None), r"hidden_dim must be a positive integer"),
    "weight-scale": (dict(weight_scale=0.0), r"weight_scale must be a positive number"),
    "weight-scale-bool": (dict(weight_scale=True), r"weight_scale must be a positive number, got True"),
    "negative-seed": (dict(seed=-3), r"seed must be None or an integer >= 0, got -3"),
}


@pytest.mark.parametrize("kwargs, message", BAD_THREE_LAYER_ARGS.values(), ids=BAD_THREE_LAYER_ARGS.keys())
def test_three_layer_convnet_rejects_bad_arguments(kwargs, message):
    """Does every bad ThreeLayerConvNet argument raise a ValueError saying what was expected?"""
    with pytest.raises(ValueError, match=message):
        ThreeLayerConvNet(**kwargs)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_inputs_of_the_wrong_shape_or_labels_are_rejected(rng, name):
    """Do X of the wrong shape and out-of-range labels raise ValueErrors?"""
    model = small_models()[name]
    with pytest.raises(ValueError, match=r"X must have shape"):
        model.loss(rng.standard_normal((2, 3, 8, 6)))
    with pytest.raises(ValueError, match=r"labels out of range"):
        model.loss(rng.standard_normal((2, 3, 8, 8)), np.array([0, 10]))


# --------------------------------------------------------------------------
# The first layer skips the gradient of the images
# --------------------------------------------------------------------------

def recording(monkeypatch, module):
    """Wrap module.conv_backward_fast to record the need_dx of every call."""
    calls, original = [], module.conv_backward_fast

    def conv_backward(dout, cache, need_dx=True):
        calls.append(need_dx)
        return original(dout, cache, need_dx=need_dx)

    monkeypatch.setattr(module, "conv_backward_fast", conv_backward)
    return calls


def test_convnet_first_conv_skips_dx(rng, monkeypatch):
    """Does only ConvNet's first conv (the last backward) pass need_dx=False?"""
    from cs_convnet import fast_layers

    calls = recording(monkeypatch, fast_layers)
    model = ConvNet("[conv3-4 relu]x3 pool2 fc3", input_dim=(2, 4, 4))
    model.loss(*data(rng, 2, (2, 4, 4), 3))
    assert calls == [True, True, False]


def test_three_layer_convnet_first_conv_skips_dx(rng, monkeypatch):
    """Does ThreeLayerConvNet call its conv backward with need_dx=False?"""
    from cs_convnet import layer_utils

    calls = recording(monkeypatch, layer_utils)
    model = ThreeLayerConvNet(input_dim=(2, 4, 4), num_filters=2, filter_size=3, hidden_dim=4)
    model.loss(*data(rng, 2, (2, 4, 4), 10))
    assert calls == [False]


def test_convnet_docstring_examples():
    """Do the examples in the ConvNet docstrings run as written?"""
    import doctest

    from cs_convnet.classifiers import convnet

    assert doctest.testmod(convnet).failed == 0


def test_convnet_dropout_masks_are_fresh_yet_reproducible(rng):
    """Does ConvNet draw a new dropout mask every training call, the same sequence for the same seed,
    continuing exactly after a pickle round trip (as in a checkpoint)?"""
    import pickle

    X, y = data(rng, 4, (2, 4, 4), 3)

    def build():
        return ConvNet("conv3-4 relu dropout0.5 fc3", input_dim=(2, 4, 4), dtype=np.float64, seed=3)

    a, b = build(), build()
    losses = [a.loss(X, y)[0] for _ in range(3)]
    assert len(set(losses)) == 3  # fresh masks
    b.loss(X, y)
    resumed = pickle.loads(pickle.dumps(b))
    assert [b.loss(X, y)[0] for _ in range(2)] == losses[1:] == [resumed.loss(X, y)[0] for _ in range(2)]
    fixed = ConvNet("conv3-4 relu dropout0.5 fc3", input_dim=(2, 4, 4), dtype=np.float64, seed=3, dropout_seed=1)
    assert fixed.loss(X, y)[0] == fixed.loss(X, y)[0]  # CS231n's fixed mask, for gradient checks


def test_solver_trains_a_convnet_with_batchnorm_and_dropout_unchanged(rng):
    """Does the Solver, knowing nothing of ConvNet, overfit 50 images with one (bn, dropout, modes included)?"""
    from cs_convnet.solver import Solver

    X, y = data(rng, 50, (3, 8, 8), 10)
    model = ConvNet("[conv3-8 relu]x2 pool2 fc32 relu fc10", input_dim=(3, 8, 8), normalization="batchnorm",
                    dropout_keep_ratio=0.9, seed=0)
    solver = Solver(model, {"X_train": X, "y_train": y, "X_val": X[:10], "y_val": y[:10]}, update_rule="adam",
                    optim_config={"learning_rate": 1e-2}, num_epochs=15, batch_size=25, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert all(param["mode"] == "test" for param in model.bn_params + model.dropout_params)


def test_constructors_and_loss_have_the_cs231n_signatures():
    """Do the classifiers take CS231n's arguments, in CS231n's order, with CS231n's defaults?"""
    empty = inspect.Parameter.empty
    assert_extends_signature(FullyConnectedNet, [
        ("hidden_dims", empty), ("input_dim", 3 * 32 * 32), ("num_classes", 10), ("dropout_keep_ratio", 1),
        ("normalization", None), ("reg", 0.0), ("weight_scale", 1e-2), ("dtype", np.float32), ("seed", None)])
    assert_extends_signature(ThreeLayerConvNet, [
        ("input_dim", (3, 32, 32)), ("num_filters", 32), ("filter_size", 7), ("hidden_dim", 100),
        ("num_classes", 10), ("weight_scale", 1e-3), ("reg", 0.0), ("dtype", np.float32)])
    for model in (FullyConnectedNet, ThreeLayerConvNet, ConvNet):
        assert str(inspect.signature(model.loss)) == "(self, X, y=None)"

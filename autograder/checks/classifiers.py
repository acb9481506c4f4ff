"""Hidden checks of the classifiers' ``loss``: FullyConnectedNet and ThreeLayerConvNet.

Trusted code. The model is built in the worker with the learner's class,
its parameters are set to hidden fixed values (float64), and ``loss`` is
called for scores (test mode) or for the loss and every gradient. Inside the
worker the layer functions the classifier calls are proxies answered by the
reference layers in this process (:mod:`autograder.checks.oracle`), so a
classifier is graded on how it composes the layers, not on the learner's
layers. The expected values come from the reference classifier here.
"""

import numpy as np

from cs_convnet.classifiers.cnn import ThreeLayerConvNet
from cs_convnet.classifiers.fc_net import FullyConnectedNet

from .base import Case, Check, frozen, pick_dims
from .compare import compare
from .oracle import LAYER_FUNCTIONS

CLASSES = {"FullyConnectedNet": ("cs_convnet.classifiers.fc_net", FullyConnectedNet),
           "ThreeLayerConvNet": ("cs_convnet.classifiers.cnn", ThreeLayerConvNet)}


def _fc_setup(hidden, normalization=None, keep=1.0, reg=0.0, N=None):
    def make(rng):
        n = N or int(rng.integers(3, 6))
        x_shape = (n, *pick_dims(rng, 2, 4, 2))
        C = int(rng.integers(3, 6))
        dims = [int(rng.integers(3, 7)) for _ in range(hidden)]
        init = {"hidden_dims": dims, "input_dim": int(np.prod(x_shape[1:])), "num_classes": C,
                "dropout_keep_ratio": keep, "normalization": normalization, "reg": reg, "dtype": "float64",
                "seed": int(rng.integers(0, 2**31))}
        return init, x_shape, C
    return make


def _cnn_setup(reg=0.0, N=None):
    def make(rng):
        n = N or 2
        H, W = [2 * v for v in pick_dims(rng, 2, 4, 2)]
        init = {"input_dim": (int(rng.integers(1, 4)), H, W), "num_filters": int(rng.integers(2, 4)),
                "filter_size": int(rng.choice([3, 5])), "hidden_dim": int(rng.integers(3, 6)),
                "num_classes": int(rng.integers(3, 6)), "reg": reg, "dtype": "float64"}
        return init, (n, *init["input_dim"]), init["num_classes"]
    return make


def _reference_model(cls, init, params):
    kwargs = dict(init, dtype=np.float64)
    model = cls(**kwargs)
    for name, value in params.items():
        model.params[name] = value.copy()
    return model


def classifier_check(class_name, family, setup, with_labels=True, points=1.0):
    module, cls = CLASSES[class_name]

    def build(rng):
        init, x_shape, C = setup(rng)
        shapes = {k: v.shape for k, v in _reference_model(cls, init, {}).params.items()}
        params = {k: rng.normal(0, 0.4, size=s) for k, s in shapes.items()}
        X = rng.normal(size=x_shape)
        y = rng.integers(0, C, size=x_shape[0]) if with_labels else None
        model = _reference_model(cls, init, frozen(params))
        result = model.loss(X.copy(), y) if with_labels else model.loss(X.copy())
        reg_term = 0.5 * init["reg"] * sum(float(np.sum(v * v)) for k, v in params.items() if k.startswith("W"))

        def judge(reply):
            if not reply.get("ok"):
                return False, f"{class_name}.loss raised {reply.get('error', 'an error')}"
            got = reply.get("result")
            if not with_labels:
                message = compare("scores", result, got)
                return message is None, message or ""
            if not isinstance(got, list) or len(got) != 2 or not isinstance(got[1], dict):
                return False, f"{class_name}.loss(X, y) must return (loss, grads dict)"
            loss, grads = result
            problems = []
            hints = [(loss - reg_term, "the regularization term 0.5 * reg * sum(W**2) is missing"),
                     (loss + reg_term, "the regularization term is reg * sum(W**2); the convention is 0.5 * reg")]
            message = compare("loss", loss, got[0], hints=hints if init["reg"] else ())
            if message:
                problems.append(message)
            missing = sorted(set(grads) - set(got[1]))
            if missing:
                problems.append(f"grads has no entry for {', '.join(missing)}")
            for name in sorted(set(grads) & set(got[1])):
                hints = [(grads[name] - init["reg"] * params[name], "the regularization gradient reg * W is missing")] \
                    if name.startswith("W") and init["reg"] else ()
                message = compare(f"grads['{name}']", grads[name], got[1][name], hints=hints)
                if message:
                    problems.append(message)
            return (not problems), "; ".join(problems)

        request = {"program": "classifier", "module": module, "class": class_name, "init": init,
                   "params": params, "X": X, "y": y, "layer_functions": list(LAYER_FUNCTIONS)}
        return Case(request, judge, oracle=True)

    return Check(f"{class_name}.loss[{family}]", f"{class_name}.loss", module, build, points)


def all_checks():
    return [
        classifier_check("FullyConnectedNet", "scores-2-hidden", _fc_setup(2), with_labels=False),
        classifier_check("FullyConnectedNet", "loss-grads-2-hidden-reg", _fc_setup(2, reg=0.37)),
        classifier_check("FullyConnectedNet", "loss-grads-no-hidden", _fc_setup(0, reg=0.2)),
        classifier_check("FullyConnectedNet", "loss-grads-batchnorm-dropout",
                         _fc_setup(2, normalization="batchnorm", keep=0.75, reg=0.1)),
        classifier_check("FullyConnectedNet", "loss-grads-N=1-3-hidden", _fc_setup(3, N=1)),
        classifier_check("ThreeLayerConvNet", "scores", _cnn_setup(N=1), with_labels=False),
        classifier_check("ThreeLayerConvNet", "loss-grads-reg", _cnn_setup(reg=0.21)),
        classifier_check("ThreeLayerConvNet", "loss-grads", _cnn_setup()),
    ]

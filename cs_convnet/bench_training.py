"""Benchmark of the training step's provided fast paths: fused batchnorm + ReLU and in-place Adam.

    python -m cs_convnet.bench_training [--repeat 7] [--json OUT.json]

Times, side by side in one process (rounds interleaved, median reported):

- the learner's ``spatial_batchnorm_forward`` + ``relu_forward`` and their backward
  passes against :func:`cs_convnet.fast_batchnorm.spatial_batchnorm_relu_forward_fast`
  and its backward, on the largest activation of the deep preset (128x32x32x32);
- :func:`cs_convnet.optim.adam` against :func:`cs_convnet.fast_optim.adam` on the
  4.2M weights of the one-epoch ThreeLayerConvNet (hidden_dim=500);
- a whole training step (loss, gradients, Adam) of the deep preset's ConvNet
  (batch 128) and of the one-epoch ThreeLayerConvNet (batch 50), as
  ``cs-convnet train`` runs them (fused layers, fast Adam, conv caches keeping
  their columns: :func:`cs_convnet.fast_layers.keeping_columns`) and as before.

Speed is reported, never asserted: timings on a shared machine are noisy.
"""

import argparse
import json
import sys
import time

import numpy as np

from . import fast_batchnorm, fast_layers, fast_optim, layers, optim
from .bench import time_interleaved


def _bn_relu_functions(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    gamma, beta = np.ones(shape[1], dtype), np.zeros(shape[1], dtype)

    def layer_by_layer():
        normalized, bn_cache = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
        _, relu_cache = layers.relu_forward(normalized)
        layers.spatial_batchnorm_backward(layers.relu_backward(dout, relu_cache), bn_cache)

    def fused():
        _, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, gamma, beta, {"mode": "train"})
        fast_batchnorm.spatial_batchnorm_relu_backward_fast(dout, cache)

    return {"layer by layer": layer_by_layer, "fused": fused}


def _adam_functions(size, dtype, rng):
    dw = rng.standard_normal(size).astype(dtype)
    states = {"learner": (rng.standard_normal(size).astype(dtype), {}),
              "fast": (rng.standard_normal(size).astype(dtype), {})}

    def run(name, rule):
        def update():
            w, config = states[name]
            states[name] = rule(w, dw, config)
        return update

    return {"learner": run("learner", optim.adam), "fast": run("fast", fast_optim.adam)}


def _step(model, X, y, rule, keep_columns):
    configs = {name: {"learning_rate": 1e-3} for name in model.params}

    def step():
        with fast_layers.keeping_columns(keep_columns):
            _, grads = model.loss(X, y)
        for name, w in model.params.items():
            model.params[name], configs[name] = rule(w, grads[name], configs[name])
    return step


class _LayerByLayer:
    """Within the ``with`` block, ConvNets run spatial batchnorm and ReLU as the learner's two layers."""

    def __enter__(self):
        self.saved = (fast_batchnorm.spatial_batchnorm_relu_forward_fast,
                      fast_batchnorm.spatial_batchnorm_relu_backward_fast)

        def forward(x, gamma, beta, bn_param, backend=None):
            normalized, bn_cache = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
            out, relu_cache = layers.relu_forward(normalized)
            return out, (bn_cache, relu_cache)

        def backward(dout, cache):
            bn_cache, relu_cache = cache
            return layers.spatial_batchnorm_backward(layers.relu_backward(dout, relu_cache), bn_cache)

        fast_batchnorm.spatial_batchnorm_relu_forward_fast = forward
        fast_batchnorm.spatial_batchnorm_relu_backward_fast = backward
        return self

    def __exit__(self, *exc):
        (fast_batchnorm.spatial_batchnorm_relu_forward_fast,
         fast_batchnorm.spatial_batchnorm_relu_backward_fast) = self.saved


def _step_functions(rng):
    from .classifiers.cnn import ThreeLayerConvNet
    from .classifiers.convnet import ConvNet
    from .train import DEEP_SPEC

    deep = ConvNet(DEEP_SPEC, dtype=np.float32, seed=0)
    X_deep = rng.standard_normal((128, 3, 32, 32)).astype(np.float32)
    y_deep = rng.integers(0, 10, 128)
    fused_deep = _step(deep, X_deep, y_deep, fast_optim.adam, True)
    reference_deep = _step(ConvNet(DEEP_SPEC, dtype=np.float32, seed=0), X_deep, y_deep, optim.adam, False)

    def unfused_deep_step():
        with _LayerByLayer():
            reference_deep()
    three = ThreeLayerConvNet(weight_scale=1e-3, hidden_dim=500, reg=1e-3, dtype=np.float32, seed=0)
    X3 = rng.standard_normal((50, 3, 32, 32)).astype(np.float32)
    y3 = rng.integers(0, 10, 50)
    three_ref = ThreeLayerConvNet(weight_scale=1e-3, hidden_dim=500, reg=1e-3, dtype=np.float32, seed=0)
    return {
        "deep ConvNet step, batch 128": {"as before: layer by layer, learner Adam": unfused_deep_step,
                                         "as trained: fused bn+relu, fast Adam, kept columns": fused_deep},
        "ThreeLayerConvNet step, batch 50": {"as before: learner Adam": _step(three_ref, X3, y3, optim.adam, False),
                                             "as trained: fast Adam, kept columns":
                                                 _step(three, X3, y3, fast_optim.adam, True)},
    }


def run(repeat=7, seed=0):
    """{case: {variant: median ms}} of every comparison (see the module docstring)."""
    rng = np.random.default_rng(seed)
    cases = {
        "bn+relu fwd+bwd, 128x32x32x32 float32": _bn_relu_functions((128, 32, 32, 32), np.float32, rng),
        "adam update, 4.2M float32 weights": _adam_functions(4_200_000, np.float32, rng),
        **_step_functions(rng),
    }
    results = {}
    for case, functions in cases.items():
        times = time_interleaved(functions, repeat)
        results[case] = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
    return results


def format_report(results):
    lines = []
    for case, variants in results.items():
        (base_name, base), *others = variants.items()
        lines.append(f"{case}:")
        lines.append(f"    {base_name:<52} {base:9.1f} ms")
        for name, ms in others:
            lines.append(f"    {name:<52} {ms:9.1f} ms   ({base / ms:.1f}x faster)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cs_convnet.bench_training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds per case (median reported)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    started = time.perf_counter()
    results = run(args.repeat)
    print(format_report(results))
    print(f"({args.repeat} rounds, {time.perf_counter() - started:.0f} s; fused kernels compiled: "
          f"{fast_batchnorm._compiled is not None}, Adam compiled: {fast_optim._compiled is not None})")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

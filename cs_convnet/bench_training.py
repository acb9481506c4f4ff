"""Benchmark of the training step as ``cs-convnet train`` runs it, against the learner's code and PyTorch.

    python -m cs_convnet.bench_training [--rounds 5] [--repeat 5] [--threads T] [--json OUT.json]

Cases (float32), each timed in three variants:

- the learner's ``spatial_batchnorm_forward`` + ``relu_forward`` and their backward
  passes, against :func:`cs_convnet.fast_batchnorm.spatial_batchnorm_relu_forward_fast`
  and its backward, on the largest activation of the deep preset (128x32x32x32);
- :func:`cs_convnet.optim.adam` against :func:`cs_convnet.fast_optim.adam` on the
  4.2M weights of the one-epoch ThreeLayerConvNet (hidden_dim=500);
- a whole training step (loss, gradients, Adam) of the deep preset's ConvNet
  (batch 128) and of the one-epoch ThreeLayerConvNet (batch 50): "learner" runs
  the learner's layers and Adam; "fast" runs them as ``cs-convnet train`` does
  (fused batchnorm+ReLU, fast Adam, the default conv strategy, Winograd's for the 3x3
  layers, and :func:`cs_convnet.fast_layers.keeping_columns` as the command sets it);
- "torch": PyTorch's twin of each (``BatchNorm2d`` + ``ReLU``, ``torch.optim.Adam``,
  the same networks built from ``torch.nn``), when PyTorch is installed.

``--profile`` answers a different question: which kernels of the fast training
steps (deep and ThreeLayerConvNet) get faster with a second thread, and which
stay serial. It times each step on T = 1, 2, ... threads, each step and T in fresh
processes of its own (alternated), and splits each step by kernel entry point
(:data:`KERNELS`; cProfile's cumulative time of those functions, per step),
printing each kernel's milliseconds per T and its speed-up over T = 1.

Method: as :mod:`cs_convnet.bench`: every variant runs in a fresh process of
its own with the same threads (``--threads``, default: the cores available),
processes alternate over ``--rounds`` rounds, and the report gives the minimum
and the median of all timed calls. Speed is reported, never asserted.
"""

import argparse
import json
import sys
import time

from .bench import alternate, available_cores, default_thread_counts, machine_load, run_worker, summarize, \
    time_calls, worker_libraries, worker_setup

VARIANTS = ("learner", "fast", "torch")
CASES = {
    "bn+relu fwd+bwd, 128x32x32x32 float32": "bn_relu",
    "adam update, 4.2M float32 weights": "adam",
    "deep ConvNet step, batch 128": "deep_step",
    "ThreeLayerConvNet step, batch 50": "three_step",
}
#: ``--profile``'s kernels of the fast training steps: label -> (module, function) entry points whose
#: cumulative time is the kernel's. Everything else in the step (loss, bookkeeping) is "rest".
KERNELS = {
    "conv forward": (("fast_layers", "conv_forward_fast"),),
    "conv backward": (("fast_layers", "conv_backward_fast"),),
    "max pool fwd+bwd": (("fast_layers", "max_pool_forward_fast"), ("fast_layers", "max_pool_backward_fast")),
    "bn+relu forward": (("fast_batchnorm", "spatial_batchnorm_relu_forward_fast"),),
    "bn+relu backward": (("fast_batchnorm", "spatial_batchnorm_relu_backward_fast"),),
    "affine fwd+bwd (numpy BLAS)": (("layers", "affine_forward"), ("layers", "affine_backward")),
    "relu fwd+bwd (numpy)": (("layers", "relu_forward"), ("layers", "relu_backward")),
    "adam (in place)": (("fast_optim", "adam"),),
}
PROFILED_STEPS = {"deep ConvNet step, batch 128": "deep_step", "ThreeLayerConvNet step, batch 50": "three_step"}
BN_SHAPE = (128, 32, 32, 32)
ADAM_SIZE = 4_200_000


# --------------------------------------------------------------------------
# Our variants
# --------------------------------------------------------------------------

def _bn_relu(variant, rng):
    import numpy as np

    from . import fast_batchnorm, layers

    x = rng.standard_normal(BN_SHAPE).astype(np.float32)
    dout = rng.standard_normal(BN_SHAPE).astype(np.float32)
    gamma, beta = np.ones(BN_SHAPE[1], np.float32), np.zeros(BN_SHAPE[1], np.float32)

    def layer_by_layer():
        normalized, bn_cache = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
        _, relu_cache = layers.relu_forward(normalized)
        layers.spatial_batchnorm_backward(layers.relu_backward(dout, relu_cache), bn_cache)

    def fused():
        _, cache = fast_batchnorm.spatial_batchnorm_relu_forward_fast(x, gamma, beta, {"mode": "train"})
        fast_batchnorm.spatial_batchnorm_relu_backward_fast(dout, cache)

    return layer_by_layer if variant == "learner" else fused


def _adam(variant, rng):
    import numpy as np

    from . import fast_optim, optim

    dw = rng.standard_normal(ADAM_SIZE).astype(np.float32)
    rule = optim.adam if variant == "learner" else fast_optim.adam
    state = [rng.standard_normal(ADAM_SIZE).astype(np.float32), {}]

    def update():
        state[0], state[1] = rule(state[0], dw, state[1])
    return update


def _step(model, X, y, rule, keep_columns):
    from . import fast_layers

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
        from . import fast_batchnorm, layers

        self.module = fast_batchnorm
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
        (self.module.spatial_batchnorm_relu_forward_fast,
         self.module.spatial_batchnorm_relu_backward_fast) = self.saved


def _deep_step(variant, rng):
    import numpy as np

    from . import fast_optim, optim
    from .classifiers.convnet import ConvNet
    from .train import DEEP_SPEC

    model = ConvNet(DEEP_SPEC, dtype=np.float32, seed=0)
    X = rng.standard_normal((128, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    if variant == "fast":
        return _step(model, X, y, fast_optim.adam, True)
    reference = _step(model, X, y, optim.adam, False)

    def unfused_step():
        with _LayerByLayer():
            reference()
    return unfused_step


def _three_step(variant, rng):
    import numpy as np

    from . import fast_optim, optim
    from .classifiers.cnn import ThreeLayerConvNet

    model = ThreeLayerConvNet(weight_scale=1e-3, hidden_dim=500, reg=1e-3, dtype=np.float32, seed=0)
    X = rng.standard_normal((50, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 50)
    if variant == "fast":
        return _step(model, X, y, fast_optim.adam, True)
    return _step(model, X, y, optim.adam, False)


# --------------------------------------------------------------------------
# PyTorch's twins
# --------------------------------------------------------------------------

def _torch_case(case, rng):
    import numpy as np
    import torch

    nn = torch.nn
    if case == "bn_relu":
        x = torch.from_numpy(rng.standard_normal(BN_SHAPE).astype(np.float32)).requires_grad_()
        dout = torch.from_numpy(rng.standard_normal(BN_SHAPE).astype(np.float32))
        layer = nn.Sequential(nn.BatchNorm2d(BN_SHAPE[1]), nn.ReLU())

        def bn_relu():
            torch.autograd.grad(layer(x), [x, *layer.parameters()], dout)
        return bn_relu
    if case == "adam":
        w = nn.Parameter(torch.from_numpy(rng.standard_normal(ADAM_SIZE).astype(np.float32)))
        w.grad = torch.from_numpy(rng.standard_normal(ADAM_SIZE).astype(np.float32))
        optimizer = torch.optim.Adam([w], lr=1e-3)
        return optimizer.step
    if case == "deep_step":
        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        model = nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2),
                              *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
                              *block(64, 128), *block(128, 128), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(128 * 4 * 4, 10))
        images = 128
    else:  # three_step: conv7-32 relu pool2, affine 500 relu, affine 10, L2 reg as the learner's loss
        model = nn.Sequential(nn.Conv2d(3, 32, 7, padding=3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(32 * 16 * 16, 500), nn.ReLU(), nn.Linear(500, 10))
        images = 50
    X = torch.from_numpy(rng.standard_normal((images, 3, 32, 32)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 10, images))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
    return step


def _kernel_times(step, repeat):
    """{kernel label: ms per step} of :data:`KERNELS`, and the step's ms, over ``repeat`` profiled steps."""
    import cProfile
    import os
    import pstats

    step()  # warm-up: buffers allocated
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeat):
        step()
    profile.disable()
    stats = pstats.Stats(profile).stats
    cumulative = {}
    for (filename, _, function), (_, _, _, cumtime, _) in stats.items():
        module = os.path.splitext(os.path.basename(filename))[0]
        if os.path.basename(os.path.dirname(filename)) == "cs_convnet":
            cumulative[module, function] = cumulative.get((module, function), 0.0) + cumtime
    kernels = {label: 1e3 * sum(cumulative.get(point, 0.0) for point in points) / repeat
               for label, points in KERNELS.items()}
    step_ms = 1e3 * cumulative.get(("bench_training", "step"), 0.0) / repeat
    kernels["rest"] = max(0.0, step_ms - sum(kernels.values()))
    return kernels, step_ms


def profile_worker(spec):
    """Per-kernel times of one fast step (``spec['case']``) on ``spec['threads']`` threads, in this fresh process."""
    info = worker_setup(spec["threads"])
    import numpy as np

    builders = {"deep_step": _deep_step, "three_step": _three_step}
    step = builders[PROFILED_STEPS[spec["case"]]]("fast", np.random.default_rng(spec.get("seed", 0)))
    kernels, step_ms = _kernel_times(step, spec["repeat"])
    return {"info": worker_libraries(info), "kernels_ms": kernels, "step_ms": step_ms}


def profile(thread_counts, rounds=3, repeat=3, seed=0):
    """{'settings', 'steps': {case: {kernel: {T: min ms per step}}}}: each step and T in fresh processes of
    its own, alternated; a kernel's figure is its minimum over the rounds."""
    load_before = machine_load()
    runs = [(case, threads) for case in PROFILED_STEPS for threads in thread_counts]
    answers = alternate(runs, rounds, lambda run: run_worker(
        "cs_convnet.bench_training", {"profile": True, "case": run[0], "threads": run[1], "repeat": repeat,
                                      "seed": seed}, run[1]))
    steps = {case: {label: {threads: min(answer["step_ms"] if label == "step" else answer["kernels_ms"][label]
                                         for answer in answers[case, threads])
                            for threads in thread_counts}
                    for label in [*KERNELS, "rest", "step"]}
             for case in PROFILED_STEPS}
    return {"settings": {"threads": list(thread_counts), "rounds": rounds, "repeat": repeat,
                         "loadavg_before": load_before, "loadavg_after": machine_load(),
                         "cores_available": len(available_cores())},
            "processes": {threads: answers[next(iter(PROFILED_STEPS)), threads][0]["info"]
                          for threads in thread_counts},
            "steps": steps}


def format_profile(results):
    settings = results["settings"]
    counts = settings["threads"]
    lines = [f"per-kernel profile of the fast training steps: T = {', '.join(map(str, counts))} thread(s), "
             f"{settings['cores_available']} core(s) available, load average {settings['loadavg_before']} before / "
             f"{settings['loadavg_after']} after; each step and T in fresh processes of its own, alternated "
             f"({settings['rounds']} round(s) x {settings['repeat']} profiled step(s)); min ms per step "
             f"(cProfile, cumulative)"]
    for threads, info in results["processes"].items():
        blas = ", ".join(f"{lib['library']} {lib['version']} {lib['threads']} thr" for lib in info.get("blas", []))
        lines.append(f"  T={threads}: kernel threads {info.get('kernel_threads')}; BLAS: {blas or '?'}")
    base = counts[0]
    for case, kernels in results["steps"].items():
        lines.append(f"{case}:")
        lines.append(f"    {'kernel':<30}" + "".join(f"{'T=' + str(t):>10}" for t in counts)
                     + "".join(f"{'x T=' + str(t):>10}" for t in counts[1:]))
        for label, by_threads in kernels.items():
            row = f"    {label:<30}" + "".join(f"{by_threads[t]:10.2f}" for t in counts)
            for t in counts[1:]:
                row += f"{by_threads[base] / by_threads[t]:9.2f}x" if by_threads[t] > 0 else f"{'-':>10}"
            lines.append(row)
    return "\n".join(lines)


def worker(spec):
    """Time every case of ``spec['variant']`` in this (fresh) process; a JSON-ready dict."""
    if spec.get("profile"):
        return profile_worker(spec)
    variant, threads = spec["variant"], spec["threads"]
    if variant == "torch":
        import torch  # noqa: F401  (loaded first, so that worker_setup limits its threads)
    info = worker_setup(threads)
    import numpy as np

    builders = {"bn_relu": _bn_relu, "adam": _adam, "deep_step": _deep_step, "three_step": _three_step}
    times = {}
    for case, key in CASES.items():
        rng = np.random.default_rng(spec.get("seed", 0))
        function = _torch_case(key, rng) if variant == "torch" else builders[key](variant, rng)
        times[case] = time_calls(function, spec["repeat"])
    return {"info": worker_libraries(info, ours=variant != "torch"), "times_ms": times}


def run(rounds=5, repeat=5, threads=None, torch=True, seed=0):
    """{'settings', 'processes', 'cases': {case: {variant: {'min_ms', 'median_ms', 'runs'}}}}."""
    import importlib.util

    threads = threads or len(available_cores())
    variants = [v for v in VARIANTS if v != "torch" or (torch and importlib.util.find_spec("torch"))]
    load_before = machine_load()
    answers = alternate(variants, rounds, lambda variant: run_worker(
        "cs_convnet.bench_training", {"variant": variant, "threads": threads, "repeat": repeat, "seed": seed},
        threads))
    cases = {case: {variant: summarize([t for answer in answers[variant] for t in answer["times_ms"][case]])
                    for variant in variants} for case in CASES}
    return {"settings": {"threads": threads, "rounds": rounds, "repeat": repeat, "variants": variants,
                         "loadavg_before": load_before, "loadavg_after": machine_load(),
                         "cores_available": len(available_cores())},
            "processes": {variant: answers[variant][0]["info"] for variant in variants},
            "cases": cases}


def format_report(results):
    settings = results["settings"]
    lines = [f"training-step benchmark: {settings['threads']} thread(s) per process, "
             f"{settings['cores_available']} core(s) available, load average {settings['loadavg_before']} "
             f"before / {settings['loadavg_after']} after; each variant in fresh processes, alternated "
             f"({settings['rounds']} round(s) x {settings['repeat']} call(s)); min / median ms"]
    for variant, info in results["processes"].items():
        blas = ", ".join(f"{lib['library']} {lib['version']} {lib['threads']} thr" for lib in info.get("blas", []))
        threads = (f"torch threads {info['torch_threads']}" if "torch_threads" in info
                   else f"kernel threads {info.get('kernel_threads')}, conv {info.get('conv_strategy')}")
        lines.append(f"  {variant}: {threads}; BLAS: {blas or '?'}")
    for case, variants in results["cases"].items():
        lines.append(f"{case}:")
        for variant, figures in variants.items():
            line = f"    {variant:<8} {figures['min_ms']:9.1f} / {figures['median_ms']:9.1f} ms"
            if variant == "fast" and "learner" in variants:
                line += f"   ({variants['learner']['min_ms'] / figures['min_ms']:.1f}x faster than the learner's)"
            if variant == "fast" and "torch" in variants:
                line += (f"   fast / torch {figures['min_ms'] / variants['torch']['min_ms']:.2f}x (min), "
                         f"{figures['median_ms'] / variants['torch']['median_ms']:.2f}x (median)")
            lines.append(line)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cs_convnet.bench_training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per variant, alternated")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per case in each process")
    parser.add_argument("--threads", type=int, default=None, help="threads per process (default: the cores available)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--profile", action="store_true",
                        help="instead: split the fast steps by kernel on T = 1, 2, 4, ... up to --threads (default: "
                             "the cores available) and print each kernel's speed-up over one thread")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    for name in ("rounds", "repeat", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")
    started = time.perf_counter()
    if args.profile:
        results = profile(default_thread_counts(args.threads), args.rounds, args.repeat)
        print(format_profile(results))
    else:
        results = run(args.rounds, args.repeat, args.threads, torch=not args.no_torch)
        print(format_report(results))
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

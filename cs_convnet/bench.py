"""Time our fast layers against PyTorch's (when installed), each in a fresh process of its own.

Run ``python -m cs_convnet.bench`` (or ``cs-convnet bench``); ``--quick`` for a
short run, ``--threads T`` to give every implementation T threads on T cores,
``--scaling`` for the table over T = 1, 2, 4, ... cores, ``--json PATH`` to save
the figures. PyTorch is optional and never a dependency: its column appears
when ``import torch`` works.

What is timed:

- conv (a) x=(50,3,32,32), w=(32,3,7,7), stride 1, pad 3;
  (b) x=(100,3,32,32), w=(64,3,3,3), pad 1; (c) x=(100,64,16,16), w=(128,64,3,3), pad 1;
  forward and backward (dx, dw, db) separately, and the split of our conv into its stages;
- max pool 2x2 stride 2 and 3x3 stride 2 (floored) on x=(100,32,32,32), forward and backward;
- one training step (loss and gradients, no update) of ThreeLayerConvNet with
  its default sizes on 50 images; PyTorch's twin is built from torch.nn.functional;
  and the step's peak memory.

Method (fair by construction). Each implementation runs in a FRESH PROCESS of
its own (``sys.executable -m cs_convnet.bench --worker ...``), so two
libraries' thread pools never share a timed process: their threads spin after
each call and would steal each other's cores. Processes alternate between the
implementations for ``--rounds`` rounds (the first implementation rotating),
so a load that comes and goes hits all of them alike; within a process each
case runs once to warm up, then ``--repeat`` timed calls. The report gives the
minimum (the figure least disturbed by other jobs) and the median of all timed
calls, and the ratios ours / PyTorch of both.

Threads. Every process gets the same T threads (``--threads``, default: the
cores available): ``CS_CONVNET_THREADS`` for our kernels, ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and threadpoolctl's limit for the
BLAS libraries, ``torch.set_num_threads`` for PyTorch, and, where
``os.sched_setaffinity`` allows, T cores. Each process reports the threads and
the BLAS libraries it actually had (threadpoolctl), which the report prints.

Peak memory of the training step: the first thing each process does is one cold
step, whose figure is the growth of the resident set size (peak RSS reset
through /proc/self/clear_refs just before, read from VmHWM after; ``ru_maxrss``
where that is unavailable), the same method for numpy and PyTorch.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

CONV_CASES = {
    "a": ((50, 3, 32, 32), (32, 3, 7, 7), 1, 3),
    "b": ((100, 3, 32, 32), (64, 3, 3, 3), 1, 1),
    "c": ((100, 64, 16, 16), (128, 64, 3, 3), 1, 1),
}
POOL_SHAPE = (100, 32, 32, 32)
POOL_CASES = {
    "2x2 s2": {"pool_height": 2, "pool_width": 2, "stride": 2},
    "3x3 s2": {"pool_height": 3, "pool_width": 3, "stride": 2, "floor": True},
}
STEP_IMAGES = 50
NAIVE_IMAGES = 1
#: The cases of ``--scaling``: the ones whose ratio to PyTorch matters most.
SCALING_CASES = ("conv c", "pool 2x2 s2", "step")


# --------------------------------------------------------------------------
# Fresh processes with pinned threads (shared with cs_convnet.bench_training)
# --------------------------------------------------------------------------

def available_cores():
    """The cores this process may run on, as a sorted list."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def thread_environment(threads, backend=None):
    """The environment of a worker process with ``threads`` threads for every library."""
    env = dict(os.environ)
    for name in ("CS_CONVNET_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    if backend is not None:
        env["CS_CONVNET_BACKEND"] = backend
    return env


def _pin_to_cores(threads):
    """preexec_fn of a worker: run on the first ``threads`` available cores (silently skipped if not allowed)."""
    cores = available_cores()
    if threads < len(cores):
        def pin():
            try:
                os.sched_setaffinity(0, cores[:threads])
            except OSError:
                pass
        return pin
    return None


def run_worker(module, spec, threads, backend=None, timeout=1800):
    """Run ``python -m module --worker JSON`` in a fresh process with ``threads`` threads; its JSON answer."""
    result = subprocess.run([sys.executable, "-m", module, "--worker", json.dumps(spec)],
                            capture_output=True, text=True, timeout=timeout,
                            env=thread_environment(threads, backend), preexec_fn=_pin_to_cores(threads))
    if result.returncode:
        name = spec.get("impl") or spec.get("variant") or spec.get("case")
        raise RuntimeError(f"{module} worker {name} failed: {result.stderr.strip()[-800:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def worker_setup(threads):
    """In a worker: hold the BLAS libraries (and PyTorch, if loaded) to ``threads``; what it then had."""
    info = {"threads": threads, "cores": len(available_cores())}
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        info["threadpoolctl"] = False
    else:
        threadpool_limits(threads)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(threads)
        info["torch_threads"] = torch.get_num_threads()
    return info


def worker_libraries(info, ours=True):
    """Add the BLAS libraries now loaded (and, for ``ours``, our kernels' settings) to a worker's ``info``.

    PyTorch's workers pass ``ours=False``: they never load our compiled kernels (and their OpenMP runtime).
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        libraries = []
    else:
        libraries = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    info["blas"] = [{"library": lib.get("internal_api"), "version": lib.get("version"),
                     "threads": lib.get("num_threads"), "file": os.path.basename(lib.get("filepath", ""))}
                    for lib in libraries]
    if ours:
        from .kernels import backend

        info["kernel_threads"] = backend.threads()
        info["backend"] = backend.current_backend()
        info["conv_strategy"] = backend.conv_strategy()
    return info


def alternate(impls, rounds, run_one):
    """{impl: [answer of each round]}: ``run_one(impl)`` once per round, the first impl rotating."""
    answers = {impl: [] for impl in impls}
    for round_ in range(rounds):
        shift = round_ % len(impls)
        for impl in impls[shift:] + impls[:shift]:
            answers[impl].append(run_one(impl))
    return answers


def summarize(times_ms):
    """{'min_ms', 'median_ms', 'runs'} of a list of milliseconds."""
    return {"min_ms": min(times_ms), "median_ms": statistics.median(times_ms), "runs": len(times_ms)}


def time_calls(function, repeat, warm_up=True):
    """Milliseconds of ``repeat`` calls of ``function`` (after one untimed call)."""
    if warm_up:
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(1e3 * (time.perf_counter() - start))
    return times


def machine_load():
    """The 1-minute load average (None where unknown)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# --------------------------------------------------------------------------
# The cases, built inside a worker for one implementation
# --------------------------------------------------------------------------

def _conv_functions(impl, x_shape, w_shape, stride, pad, dtype, seed):
    """(forward, backward) zero-argument callables of one conv case on ``impl``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) * 0.1).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    conv_param = {"stride": stride, "pad": pad}
    H_out = (x_shape[2] + 2 * pad - w_shape[2]) // stride + 1
    W_out = (x_shape[3] + 2 * pad - w_shape[3]) // stride + 1
    dout = rng.standard_normal((x_shape[0], w_shape[0], H_out, W_out)).astype(dtype)
    if impl == "torch":
        import torch

        tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        tdout = torch.from_numpy(dout)
        t_out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
        return (lambda: torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad),
                lambda: torch.autograd.grad(t_out, (tx, tw, tb), tdout, retain_graph=True))
    from . import fast_layers, layers

    if impl == "naive":
        xs, douts = x[:NAIVE_IMAGES], dout[:NAIVE_IMAGES]
        cache = layers.conv_forward_naive(xs, w, b, conv_param)[1]
        return (lambda: layers.conv_forward_naive(xs, w, b, conv_param),
                lambda: layers.conv_backward_naive(douts, cache))
    cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=impl)[1]
    return (lambda: fast_layers.conv_forward_fast(x, w, b, conv_param, backend=impl),
            lambda: fast_layers.conv_backward_fast(dout, cache))


def _pool_functions(impl, pool_param, dtype, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(POOL_SHAPE).astype(dtype)
    N, C, H, W = POOL_SHAPE
    H_out = (H - pool_param["pool_height"]) // pool_param["stride"] + 1  # floored: the cases allow it
    W_out = (W - pool_param["pool_width"]) // pool_param["stride"] + 1
    dout = rng.standard_normal((N, C, H_out, W_out)).astype(dtype)
    if impl == "torch":
        import torch

        size, stride = (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"]
        tx, tdout = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dout)
        t_out = torch.nn.functional.max_pool2d(tx, size, stride)
        return (lambda: torch.nn.functional.max_pool2d(tx, size, stride),
                lambda: torch.autograd.grad(t_out, tx, tdout, retain_graph=True))
    from . import fast_layers, layers

    if impl == "naive":
        cache = layers.max_pool_forward_naive(x, pool_param)[1]
        return (lambda: layers.max_pool_forward_naive(x, pool_param),
                lambda: layers.max_pool_backward_naive(dout, cache))
    cache = fast_layers.max_pool_forward_fast(x, pool_param, backend=impl)[1]
    return (lambda: fast_layers.max_pool_forward_fast(x, pool_param, backend=impl),
            lambda: fast_layers.max_pool_backward_fast(dout, cache))


def _step_data(dtype, images, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((images, 3, 32, 32)).astype(dtype)
    y = rng.integers(0, 10, images)
    return X, y


def numpy_step(dtype, backend, images):
    """A zero-argument training step (loss and gradients) of ThreeLayerConvNet on ``backend``."""
    from . import fast_layers
    from .classifiers.cnn import ThreeLayerConvNet

    model = ThreeLayerConvNet(dtype=dtype, seed=0, weight_scale=1e-2)
    X, y = _step_data(dtype, images)

    def step():
        with fast_layers.use_backend(backend):
            return model.loss(X, y)
    return step


def torch_step(dtype, images):
    """PyTorch's twin of ThreeLayerConvNet's step: conv7 pad3 - relu - pool2 - fc - relu - fc - softmax."""
    import numpy as np
    import torch

    functional = torch.nn.functional
    rng = np.random.default_rng(0)
    shapes = [(32, 3, 7, 7), (32,), (32 * 16 * 16, 100), (100,), (100, 10), (10,)]
    params = [torch.from_numpy((rng.standard_normal(s) * 1e-2).astype(dtype)).requires_grad_() for s in shapes]
    X, y = _step_data(dtype, images)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        W1, b1, W2, b2, W3, b3 = params
        pooled = functional.max_pool2d(functional.relu(functional.conv2d(tX, W1, b1, padding=3)), 2, 2)
        hidden = functional.relu(pooled.reshape(len(tX), -1) @ W2 + b2)
        loss = functional.cross_entropy(hidden @ W3 + b3, ty)
        return loss.item(), torch.autograd.grad(loss, params)
    return step


def _peak_memory(step):
    """Peak RSS growth (bytes) during one call of ``step`` in this process, and the method used."""
    import gc
    import resource

    gc.collect()

    def status(key):
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        raise OSError(f"{key} not in /proc/self/status")

    try:
        with open("/proc/self/clear_refs", "w") as reset:
            reset.write("5")  # peak RSS := current RSS
        before = status("VmRSS")
        step()
        return status("VmHWM") - before, "VmHWM after clear_refs"
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        step()
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before, "ru_maxrss delta"


def conv_split(impl, x_shape, w_shape, stride, pad, dtype, repeat, seed):
    """Mean milliseconds per stage of our conv's forward and backward (see fast_layers' ``timings``)."""
    import numpy as np

    from . import fast_layers

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    conv_param = {"stride": stride, "pad": pad}
    forward, backward = {}, {}
    out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=impl)
    dout = np.ones_like(out)
    fast_layers.conv_backward_fast(dout, cache)
    for _ in range(repeat):
        out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=impl, timings=forward)
        fast_layers.conv_backward_fast(dout, cache, timings=backward)
    return ({stage: 1e3 * seconds / repeat for stage, seconds in forward.items()},
            {stage: 1e3 * seconds / repeat for stage, seconds in backward.items()})


def _selected(cases, name):
    return cases is None or name in cases or name.rsplit(" ", 1)[0] in cases


def worker(spec):
    """Time every selected case on ``spec['impl']`` in this (fresh) process; a JSON-ready dict."""
    impl, threads = spec["impl"], spec["threads"]
    if impl == "torch":
        import torch  # noqa: F401  (loaded first, so that worker_setup limits its threads)
    info = worker_setup(threads)
    import numpy as np

    repeat, scale, cases = spec["repeat"], spec.get("scale", 1.0), spec.get("cases")
    seed = spec.get("seed", 0)
    rows, split, memory = [], [], []

    def scaled(shape):
        return (max(1, round(shape[0] * scale)),) + tuple(shape[1:])

    def add(group, case, dtype_name, pass_, times, extra=None):
        rows.append({"group": group, "case": case, "dtype": dtype_name, "pass": pass_, "impl": impl,
                     "times_ms": times, **(extra or {})})

    for dtype_name in spec["dtypes"]:
        dtype = np.dtype(dtype_name).type
        images = max(1, round(STEP_IMAGES * scale))
        step = None
        if _selected(cases, "step") and impl != "naive":
            step = torch_step(dtype, images) if impl == "torch" else numpy_step(dtype, impl, images)
            if spec.get("memory") and dtype_name == spec["dtypes"][0]:  # a cold step, before anything else
                peak, method = _peak_memory(step)
                memory.append({"dtype": dtype_name, "impl": impl, "peak_bytes": peak, "method": method})
        for case, (x_shape, w_shape, stride, pad) in CONV_CASES.items():
            if not _selected(cases, f"conv {case}"):
                continue
            functions = _conv_functions(impl, scaled(x_shape), w_shape, stride, pad, dtype, seed)
            for function, pass_ in zip(functions, ("forward", "backward")):
                if impl == "naive":  # pure Python loops: one call, scaled to the batch
                    factor = scaled(x_shape)[0] / min(NAIVE_IMAGES, scaled(x_shape)[0])
                    add("conv", case, dtype_name, pass_, [t * factor for t in time_calls(function, 1, False)],
                        {"scaled_from_images": NAIVE_IMAGES})
                else:
                    add("conv", case, dtype_name, pass_, time_calls(function, repeat))
            if spec.get("split") and impl not in ("torch", "naive"):
                forward, backward = conv_split(impl, scaled(x_shape), w_shape, stride, pad, dtype, repeat, seed)
                split.append({"case": case, "dtype": dtype_name, "impl": impl,
                              "forward_ms": forward, "backward_ms": backward})
        for case, pool_param in POOL_CASES.items():
            if not _selected(cases, f"pool {case}"):
                continue
            functions = _pool_functions(impl, pool_param, dtype, seed)
            for function, pass_ in zip(functions, ("forward", "backward")):
                add("pool", case, dtype_name, pass_, time_calls(function, 1 if impl == "naive" else repeat,
                                                                 warm_up=impl != "naive"))
        if step is not None:
            add("step", "ThreeLayerConvNet", dtype_name, "forward+backward", time_calls(step, repeat))
    return {"info": worker_libraries(info, ours=impl != "torch"), "rows": rows, "split": split, "memory": memory}


# --------------------------------------------------------------------------
# The run: fresh processes, alternated
# --------------------------------------------------------------------------

def implementations(requested=None, naive=False, torch=True):
    """The implementations to time: our available backends, 'naive' if asked, 'torch' if installed."""
    import importlib.util

    from .kernels import AVAILABLE_BACKENDS

    if requested:
        missing = [impl for impl in requested if impl in ("numpy", "cython") and impl not in AVAILABLE_BACKENDS
                   or impl == "torch" and not importlib.util.find_spec("torch")]
        if missing:
            raise RuntimeError(f"cannot time {', '.join(missing)}: not available here "
                               f"(backends: {', '.join(AVAILABLE_BACKENDS)}; PyTorch: pip install torch)")
        return list(dict.fromkeys(requested))
    return ([b for b in ("numpy", "cython") if b in AVAILABLE_BACKENDS] + (["naive"] if naive else [])
            + (["torch"] if torch and importlib.util.find_spec("torch") else []))


def run(impls, threads, rounds, repeat, dtypes=("float32", "float64"), scale=1.0, cases=None,
        memory=True, split=True, seed=0):
    """Time ``impls`` on ``threads`` threads, each round in fresh processes; a JSON-ready dict."""
    load_before = machine_load()

    def run_one(impl):
        spec = {"impl": impl, "threads": threads, "repeat": repeat, "dtypes": list(dtypes), "scale": scale,
                "cases": cases, "seed": seed, "memory": memory, "split": split and impl not in ("torch", "naive")}
        backend = impl if impl in ("numpy", "cython") else None
        return run_worker("cs_convnet.bench", spec, threads, backend)

    answers = alternate(impls, rounds, run_one)
    rows = {}
    for impl, runs in answers.items():
        for answer in runs:
            for row in answer["rows"]:
                key = (row["group"], row["case"], row["dtype"], row["pass"], impl)
                entry = rows.setdefault(key, {k: v for k, v in row.items() if k != "times_ms"} | {"times_ms": []})
                entry["times_ms"] += row["times_ms"]
    for entry in rows.values():
        entry.update(summarize(entry["times_ms"]))
    first = {impl: runs[0] for impl, runs in answers.items()}
    return {
        "settings": {"threads": threads, "rounds": rounds, "repeat": repeat, "scale": scale,
                     "implementations": impls, "cases": cases, "naive_images": NAIVE_IMAGES,
                     "method": "each implementation in fresh processes, alternated; min and median of all calls"},
        "machine": {"platform": platform.platform(), "cores_available": len(available_cores()),
                    "cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": load_before, "loadavg_after": machine_load()},
        "processes": {impl: answer["info"] for impl, answer in first.items()},
        "rows": list(rows.values()),
        "split": [entry for impl in impls for entry in first[impl]["split"]],
        "memory": [entry for impl in impls for answer in answers[impl][:1] for entry in answer["memory"]],
    }


def scaling(impls, rounds, repeat, thread_counts, scale=1.0, seed=0):
    """{threads: run(...)} for each thread count, on :data:`SCALING_CASES` in float32."""
    return {str(count): run(impls, count, rounds, repeat, dtypes=("float32",), scale=scale,
                            cases=list(SCALING_CASES), memory=False, split=False, seed=seed)
            for count in thread_counts}


def default_thread_counts(up_to=None):
    """1, 2, 4, ... up to ``up_to`` (default: the cores available), that count included."""
    cores = up_to or len(available_cores())
    counts, count = [], 1
    while count < cores:
        counts.append(count)
        count *= 2
    return counts + [cores]


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def ours(impls):
    """The implementation that stands for our code in the ratios: 'cython' if timed, else 'numpy'."""
    return "cython" if "cython" in impls else "numpy"


def _cell(rows, group, case, dtype, pass_, impl):
    return next((row for row in rows if (row["group"], row["case"], row["dtype"], row["pass"], row["impl"])
                 == (group, case, dtype, pass_, impl)), None)


def _header(results):
    settings, machine = results["settings"], results["machine"]
    lines = [f"cs_convnet bench: {settings['threads']} thread(s) per process, {machine['cores_available']} "
             f"core(s) available, load average {machine['loadavg_before']} before / {machine['loadavg_after']} after",
             f"method: {settings['method']} ({settings['rounds']} round(s) x {settings['repeat']} call(s))"]
    for impl, info in results["processes"].items():
        blas = ", ".join(f"{lib['library']} {lib['version']} ({lib['file']}) {lib['threads']} thr"
                         for lib in info.get("blas", [])) or "none found (threadpoolctl missing?)"
        threads = (f"torch threads {info['torch_threads']}" if "torch_threads" in info
                   else f"kernel threads {info.get('kernel_threads')}, conv {info.get('conv_strategy')}")
        lines.append(f"  {impl}: {threads}, cores {info.get('cores')}; BLAS: {blas}")
    return lines


def format_report(results):
    """The figures as text tables: min and median in ms, and ratios ours / PyTorch."""
    impls = results["settings"]["implementations"]
    mine = ours(impls)
    rows = results["rows"]
    lines = _header(results)
    lines.append("min / median ms per call" + (f"; ratio = {mine} / torch (min, median)" if "torch" in impls else ""))
    for dtype in dict.fromkeys(row["dtype"] for row in rows):
        lines.append("")
        header = f"{dtype:<28}" + "".join(f"{impl:>19}" for impl in impls)
        lines.append(header + (f"{'ratio':>16}" if "torch" in impls else ""))
        keys = dict.fromkeys((row["group"], row["case"], row["pass"]) for row in rows if row["dtype"] == dtype)
        for group, case, pass_ in keys:
            line = f"{group + ' ' + case + ' ' + pass_:<28}"
            for impl in impls:
                row = _cell(rows, group, case, dtype, pass_, impl)
                text = "-" if row is None else (f"{row['min_ms']:.1f} / {row['median_ms']:.1f}"
                                                + ("*" if row.get("scaled_from_images") else ""))
                line += f"{text:>19}"
            a, b = _cell(rows, group, case, dtype, pass_, mine), _cell(rows, group, case, dtype, pass_, "torch")
            if a and b:
                line += f"{a['min_ms'] / b['min_ms']:>9.2f}x {a['median_ms'] / b['median_ms']:.2f}x"
            lines.append(line)
        if "torch" in impls:
            for group, case in dict.fromkeys((g, c) for g, c, _ in keys if g in ("conv", "pool")):
                pair = [[_cell(rows, group, case, dtype, p, impl) for p in ("forward", "backward")]
                        for impl in (mine, "torch")]
                if all(all(cells) for cells in pair):
                    lo = [sum(c["min_ms"] for c in cells) for cells in pair]
                    mid = [sum(c["median_ms"] for c in cells) for cells in pair]
                    lines.append(f"{group + ' ' + case + ' fwd+bwd':<28}{'':>{19 * len(impls)}}"
                                 f"{lo[0] / lo[1]:>9.2f}x {mid[0] / mid[1]:.2f}x")
    if any(row.get("scaled_from_images") for row in rows):
        lines.append(f"* naive conv timed on {NAIVE_IMAGES} image(s), one call, scaled to the batch")
    if results["split"]:
        lines.append("")
        lines.append("time split of our conv, mean ms per call (the sharded kernel is one parallel region)")
        for entry in results["split"]:
            forward = ", ".join(f"{k} {v:.1f}" for k, v in entry["forward_ms"].items())
            backward = ", ".join(f"{k} {v:.1f}" for k, v in entry["backward_ms"].items())
            lines.append(f"  {entry['dtype']} conv {entry['case']} {entry['impl']:<7} "
                         f"forward: {forward} | backward: {backward}")
    if results["memory"]:
        lines.append("")
        lines.append("peak memory of one cold training step (RSS growth, first thing in a fresh process)")
        for entry in results["memory"]:
            lines.append(f"  {entry['dtype']} {entry['impl']:<7} {entry['peak_bytes'] / 2**20:8.1f} MiB "
                         f"({entry['method']})")
    return "\n".join(lines)


def format_scaling(table):
    """The ``--scaling`` table: per thread count, min ms of our step and PyTorch's, and the ratios."""
    any_run = next(iter(table.values()))
    impls = any_run["settings"]["implementations"]
    mine = ours(impls)
    lines = [f"scaling ({mine} vs torch, float32, min of all calls in fresh processes; ratio = {mine} / torch)",
             f"{'threads':>7} {'load':>6} {'our step':>10} {'torch step':>11} {'step ratio':>11} "
             f"{'conv c ratio':>13} {'pool ratio':>11} {'our speed-up':>13}"]
    first_step = None
    for count, results in table.items():
        rows = results["rows"]

        def total(group, case, impl, passes=("forward", "backward")):
            cells = [_cell(rows, group, case, "float32", p, impl) for p in passes]
            return sum(c["min_ms"] for c in cells) if all(cells) else None

        step = total("step", "ThreeLayerConvNet", mine, ("forward+backward",))
        torch_step_ms = total("step", "ThreeLayerConvNet", "torch", ("forward+backward",))
        conv = [total("conv", "c", impl) for impl in (mine, "torch")]
        pool = [total("pool", "2x2 s2", impl) for impl in (mine, "torch")]
        first_step = first_step or step

        def ratio(pair):
            return f"{pair[0] / pair[1]:.2f}x" if None not in pair and pair[1] else "-"

        def ms(value):
            return f"{value:.1f}" if value is not None else "-"

        lines.append(f"{count:>7} {str(results['machine']['loadavg_before']):>6} {ms(step):>10} "
                     f"{ms(torch_step_ms):>11} {ratio((step, torch_step_ms)):>11} {ratio(conv):>13} "
                     f"{ratio(pool):>11} {ratio((first_step, step)):>13}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(prog="cs-convnet bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a short run: 2 rounds of 3 calls, float32 only, no memory probe")
    parser.add_argument("--rounds", type=int, default=None,
                        help="fresh processes per implementation, alternated (default 5, 2 with --quick)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed calls per case in each process (default 5, 3 with --quick)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads (and cores, where allowed) of every implementation (default: the cores "
                             "available)")
    parser.add_argument("--scaling", action="store_true",
                        help="run conv c, pool 2x2 and the step on T = 1, 2, 4, ... cores and print the table")
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default=None,
                        help="default: both (float32 with --quick)")
    parser.add_argument("--impl", action="append", choices=["cython", "numpy", "naive", "torch"],
                        help="time only these implementations (repeat the option; default: our available "
                             "backends and PyTorch if installed)")
    parser.add_argument("--naive", action="store_true", help="also time the naive loop layers (slow)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the batch sizes by this factor (a smoke test: --scale 0.05)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one implementation's process (JSON spec)
    args = parser.parse_args(argv)
    for name in ("rounds", "repeat", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must lie in (0, 1], got {args.scale}")
    if args.scaling and args.threads is not None:
        parser.error("--scaling runs every thread count itself: leave out --threads")
    return args


def main(argv=None):
    """Run the benchmark and print its tables; return 0."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    rounds = args.rounds or (2 if args.quick else 5)
    repeat = args.repeat or (3 if args.quick else 5)
    dtype = args.dtype or ("float32" if args.quick else "both")
    dtypes = ("float32", "float64") if dtype == "both" else (dtype,)
    impls = implementations(args.impl, naive=args.naive, torch=not args.no_torch)
    if args.scaling:
        table = scaling(impls, rounds, repeat, default_thread_counts(), scale=args.scale)
        print(format_scaling(table))
        results = {"scaling": table}
    else:
        threads = args.threads or len(available_cores())
        results = run(impls, threads, rounds, repeat, dtypes=dtypes, scale=args.scale,
                      memory=not (args.no_memory or args.quick))
        results["settings"]["argv"] = argv
        print(format_report(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

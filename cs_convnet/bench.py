"""Time the naive, numpy and Cython layers, and PyTorch's when it is installed, side by side.

Run ``python -m cs_convnet.bench`` (or ``cs-convnet bench``); ``--quick`` for a
short run, ``--json PATH`` to save the figures. PyTorch is optional and never a
dependency: its column appears when ``import torch`` works.

What is timed (the cases of issue 3):

- conv (a) x=(50,3,32,32), w=(32,3,7,7), stride 1, pad 3;
  (b) x=(100,3,32,32), w=(64,3,3,3), pad 1; (c) x=(100,64,16,16), w=(128,64,3,3), pad 1;
  forward and backward (dx, dw, db) separately, with the split of the Cython
  and numpy times into im2col, GEMM, col2im and layout copies;
- max pool 2x2 stride 2 and 3x3 stride 2 (floored) on x=(100,32,32,32), forward and backward;
- one training step (loss and gradients, no update) of ThreeLayerConvNet with
  its default sizes on 50 images; PyTorch's twin is built from torch.nn.functional;
  and the step's peak memory.

Method. Every implementation of a case runs once per round, in a rotating
order, for ``--repeat`` rounds after one warm-up call; the table shows
medians. Interleaving spreads the load of a shared machine over all columns
alike, but the absolute times still move with it: read the ratios. The naive
conv loops take minutes at full batch size, so they run on ``NAIVE_IMAGES``
images and are scaled linearly to the full batch (marked ``*``); the naive
pools run at full size; there is no naive training step.

Peak memory of the training step: each implementation runs one cold step in
a fresh subprocess; the figure is the growth of the resident set size during
the step (peak RSS reset through /proc/self/clear_refs just before, read from
VmHWM after; ``ru_maxrss`` where that is unavailable), so numpy and PyTorch
are measured by one method. For numpy the tracemalloc peak of the same cold
step is shown too (numpy reports its allocations to tracemalloc; PyTorch's
allocator does not).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

from . import fast_layers, layers

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


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------

#: The clock of :func:`time_interleaved`: wall time, or (``--clock cpu``) the calling thread's CPU time.
CLOCK = time.perf_counter


def time_interleaved(functions, repeat, warm_up=True):
    """Seconds per call of each function: ``{name: [t_1, ..., t_repeat]}``.

    Each function runs once to warm up (unless ``warm_up`` is False), then
    once per round for ``repeat`` rounds, the order rotating every round.
    """
    names = list(functions)
    for name in names if warm_up else ():
        functions[name]()
    times = {name: [] for name in names}
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = CLOCK()
            functions[name]()
            times[name].append(CLOCK() - start)
    return times


def _torch():
    """The torch module, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _conv_functions(x_shape, w_shape, stride, pad, dtype, impls, rng, torch):
    """{impl: (forward, backward)} zero-argument callables for one conv case; naive ones on NAIVE_IMAGES."""
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) * 0.1).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    conv_param = {"stride": stride, "pad": pad}
    out, _ = fast_layers.conv_forward_fast(x, w, b, conv_param, backend="numpy")
    dout = rng.standard_normal(out.shape).astype(dtype)
    functions = {}
    for impl in impls:
        if impl in fast_layers.AVAILABLE_BACKENDS:
            cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=impl)[1]
            functions[impl] = (lambda impl=impl: fast_layers.conv_forward_fast(x, w, b, conv_param, backend=impl),
                               lambda cache=cache: fast_layers.conv_backward_fast(dout, cache))
        elif impl == "naive":
            xs, douts = x[:NAIVE_IMAGES], dout[:NAIVE_IMAGES]
            cache = layers.conv_forward_naive(xs, w, b, conv_param)[1]
            functions[impl] = (lambda: layers.conv_forward_naive(xs, w, b, conv_param),
                               lambda cache=cache: layers.conv_backward_naive(douts, cache))
        elif impl == "torch":
            tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
            tdout = torch.from_numpy(dout)
            t_out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
            functions[impl] = (
                lambda: torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad),
                lambda: torch.autograd.grad(t_out, (tx, tw, tb), tdout, retain_graph=True))
    return functions


def _pool_functions(pool_param, dtype, impls, rng, torch):
    x = rng.standard_normal(POOL_SHAPE).astype(dtype)
    out, _ = fast_layers.max_pool_forward_fast(x, pool_param, backend="numpy")
    dout = rng.standard_normal(out.shape).astype(dtype)
    functions = {}
    for impl in impls:
        if impl in fast_layers.AVAILABLE_BACKENDS:
            cache = fast_layers.max_pool_forward_fast(x, pool_param, backend=impl)[1]
            functions[impl] = (lambda impl=impl: fast_layers.max_pool_forward_fast(x, pool_param, backend=impl),
                               lambda cache=cache: fast_layers.max_pool_backward_fast(dout, cache))
        elif impl == "naive":
            cache = layers.max_pool_forward_naive(x, pool_param)[1]
            functions[impl] = (lambda: layers.max_pool_forward_naive(x, pool_param),
                               lambda cache=cache: layers.max_pool_backward_naive(dout, cache))
        elif impl == "torch":
            size, stride = (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"]
            tx, tdout = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dout)
            t_out = torch.nn.functional.max_pool2d(tx, size, stride)
            functions[impl] = (lambda: torch.nn.functional.max_pool2d(tx, size, stride),
                               lambda: torch.autograd.grad(t_out, tx, tdout, retain_graph=True))
    return functions


def _step_data(dtype, images, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((images, 3, 32, 32)).astype(dtype)
    y = rng.integers(0, 10, images)
    return X, y


def _numpy_step(dtype, backend, images):
    """A zero-argument training step (loss and gradients) of ThreeLayerConvNet on ``backend``."""
    from .classifiers.cnn import ThreeLayerConvNet

    model = ThreeLayerConvNet(dtype=dtype, seed=0, weight_scale=1e-2)
    X, y = _step_data(dtype, images)

    def step():
        with fast_layers.use_backend(backend):
            return model.loss(X, y)
    return step


def _torch_step(torch, dtype, images):
    """PyTorch's twin of ThreeLayerConvNet's step: conv7 pad3 - relu - pool2 - fc - relu - fc - softmax."""
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


def _step_functions(dtype, impls, torch, images):
    functions = {}
    for impl in impls:
        if impl in fast_layers.AVAILABLE_BACKENDS:
            functions[impl] = _numpy_step(dtype, impl, images)
        elif impl == "torch":
            functions[impl] = _torch_step(torch, dtype, images)
    return functions


def conv_split(x_shape, w_shape, stride, pad, dtype, backend, repeat, rng):
    """Mean milliseconds per stage of the fast conv's forward and backward on ``backend``."""
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    conv_param = {"stride": stride, "pad": pad}
    forward, backward = {}, {}
    out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=backend)
    dout = np.ones_like(out)
    fast_layers.conv_backward_fast(dout, cache)
    for _ in range(repeat):
        out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=backend, timings=forward)
        fast_layers.conv_backward_fast(dout, cache, timings=backward)
    return ({stage: 1e3 * seconds / repeat for stage, seconds in forward.items()},
            {stage: 1e3 * seconds / repeat for stage, seconds in backward.items()})


def compare_kernel_threads(dtype, repeat, threads=(1, 2), seed=0):
    """Median ms of conv fwd+bwd, pool fwd+bwd and the training step with the compiled kernels on
    each number of OpenMP ``threads`` (OpenBLAS keeps its own threads), interleaved."""
    if "cython" not in fast_layers.AVAILABLE_BACKENDS:
        raise RuntimeError("the compiled kernels are not built: nothing to compare")
    rng = np.random.default_rng(seed)
    work = {}
    for case, (x_shape, w_shape, stride, pad) in CONV_CASES.items():
        forward, backward = _conv_functions(x_shape, w_shape, stride, pad, dtype, ["cython"], rng, None)["cython"]
        work[f"conv {case} fwd+bwd"] = lambda forward=forward, backward=backward: (forward(), backward())
    for case, pool_param in POOL_CASES.items():
        forward, backward = _pool_functions(pool_param, dtype, ["cython"], rng, None)["cython"]
        work[f"pool {case} fwd+bwd"] = lambda forward=forward, backward=backward: (forward(), backward())
    work["step ThreeLayerConvNet"] = _numpy_step(dtype, "cython", STEP_IMAGES)
    previous = fast_layers.KERNEL_THREADS
    table = {}
    try:
        for name, function in work.items():
            def on(count, function=function):
                def call():
                    fast_layers.KERNEL_THREADS = count
                    function()
                return call
            times = time_interleaved({count: on(count) for count in threads}, repeat)
            table[name] = {count: 1e3 * statistics.median(seconds) for count, seconds in times.items()}
    finally:
        fast_layers.KERNEL_THREADS = previous
    return table


# --------------------------------------------------------------------------
# Memory of the training step
# --------------------------------------------------------------------------

_MEMORY_PROBE = """
import gc, json, resource, sys
import numpy as np
from cs_convnet import bench
impl, dtype, images = sys.argv[1], np.dtype(sys.argv[2]), int(sys.argv[3])
if impl == "torch":
    import torch
    step = bench._torch_step(torch, dtype, images)
else:
    step = bench._numpy_step(dtype, impl, images)
gc.collect()
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
try:
    with open("/proc/self/clear_refs", "w") as reset:
        reset.write("5")  # peak RSS := current RSS
    before = status("VmRSS")
    step()
    peak, method = status("VmHWM") - before, "VmHWM after clear_refs"
except OSError:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    step()
    peak, method = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before, "ru_maxrss delta"
print(json.dumps({"peak_bytes": peak, "method": method}))
"""


def step_memory_subprocess(impl, dtype, images):
    """Peak RSS growth (bytes) during one cold training step, in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, impl, np.dtype(dtype).name, str(images)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode:
        raise RuntimeError(f"memory probe for {impl} failed: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def step_memory_tracemalloc(dtype, backend, images):
    """tracemalloc peak (bytes) of one cold step: the fast layers' recycled buffers are released first."""
    step = _numpy_step(dtype, backend, images)
    fast_layers.clear_buffers()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------

def run(dtypes, impls, repeat, scale=1.0, memory=True, split=True, seed=0, conv_cases=None, step=True):
    """Measure everything (or only ``conv_cases``, a subset of CONV_CASES' keys, and no step if
    ``step`` is False); return the figures as a JSON-ready dict."""
    torch = _torch() if "torch" in impls else None
    impls = [impl for impl in impls if impl != "torch" or torch is not None]
    impls = [impl for impl in impls if impl in ("naive", "torch") or impl in fast_layers.AVAILABLE_BACKENDS]
    rng = np.random.default_rng(seed)

    def scaled(shape):
        return (max(1, round(shape[0] * scale)),) + tuple(shape[1:])

    results = {
        "settings": {"repeat": repeat, "scale": scale, "implementations": impls,
                     "naive_images": NAIVE_IMAGES, "kernel_threads": fast_layers.KERNEL_THREADS,
                     "conv_chunk_bytes": fast_layers.CONV_CHUNK_BYTES,
                     "default_backend": fast_layers.BACKEND},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "torch": torch.__version__ if torch else None,
                    "loadavg_before": list(os.getloadavg())},
        "rows": [], "split": [], "memory": [],
    }

    def record(group, case, dtype, pass_, times, extra=None):
        for impl, seconds in times.items():
            ms = [1e3 * s for s in seconds]
            factor = 1.0
            if impl == "naive" and group == "conv":
                factor = scaled(CONV_CASES[case][0])[0] / min(NAIVE_IMAGES, scaled(CONV_CASES[case][0])[0])
            results["rows"].append({
                "group": group, "case": case, "dtype": np.dtype(dtype).name, "pass": pass_, "impl": impl,
                "median_ms": statistics.median(ms) * factor, "times_ms": ms,
                "scaled_from_images": NAIVE_IMAGES if factor != 1.0 else None, **(extra or {})})

    for dtype in dtypes:
        for case, (x_shape, w_shape, stride, pad) in CONV_CASES.items():
            if conv_cases is not None and case not in conv_cases:
                continue
            functions = _conv_functions(scaled(x_shape), w_shape, stride, pad, dtype, impls, rng, torch)
            for index, pass_ in enumerate(("forward", "backward")):
                fast = {k: v[index] for k, v in functions.items() if k != "naive"}
                record("conv", case, dtype, pass_, time_interleaved(fast, repeat))
                if "naive" in functions:  # pure Python loops: nothing to warm up, one call is plenty
                    record("conv", case, dtype, pass_,
                           time_interleaved({"naive": functions["naive"][index]}, 1, warm_up=False))
            if split:
                for backend in fast_layers.AVAILABLE_BACKENDS:
                    forward, backward = conv_split(scaled(x_shape), w_shape, stride, pad, dtype, backend,
                                                   repeat, rng)
                    results["split"].append({"case": case, "dtype": np.dtype(dtype).name, "impl": backend,
                                             "forward_ms": forward, "backward_ms": backward})
        for case, pool_param in POOL_CASES.items():
            functions = _pool_functions(pool_param, dtype, impls, rng, torch)
            for index, pass_ in enumerate(("forward", "backward")):
                fast = {k: v[index] for k, v in functions.items() if k != "naive"}
                record("pool", case, dtype, pass_, time_interleaved(fast, repeat))
                if "naive" in functions:
                    record("pool", case, dtype, pass_,
                           time_interleaved({"naive": functions["naive"][index]}, 1, warm_up=False))
        if not step:
            continue
        images = max(1, round(STEP_IMAGES * scale))
        record("step", "ThreeLayerConvNet", dtype, "forward+backward",
               time_interleaved(_step_functions(dtype, impls, torch, images), repeat))
        if memory:
            for impl in impls:
                if impl == "naive":
                    continue
                entry = {"dtype": np.dtype(dtype).name, "impl": impl, **step_memory_subprocess(impl, dtype, images)}
                if impl != "torch":
                    entry["tracemalloc_peak_bytes"] = step_memory_tracemalloc(dtype, impl, images)
                results["memory"].append(entry)
    results["machine"]["loadavg_after"] = list(os.getloadavg())
    return results


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def format_report(results):
    """The figures as text tables: medians in ms, and ratios to PyTorch."""
    impls = results["settings"]["implementations"]
    fast = "cython" if "cython" in impls else "numpy"
    lines = []
    machine = results["machine"]
    lines.append(f"cs_convnet bench: {machine['cpus']} CPUs, numpy {machine['numpy']}, torch {machine['torch']}, "
                 f"load average {machine['loadavg_before'][0]:.2f} before / {machine['loadavg_after'][0]:.2f} after")
    clock = "CPU time of the calling thread" if results["settings"].get("clock") == "cpu" else "wall time"
    threads = results["settings"].get("threads")
    lines.append(f"{clock}; threads: {threads or 'library defaults'}")
    lines.append(f"median of {results['settings']['repeat']} interleaved runs, ms (naive: one run); "
                 f"* naive conv timed on {NAIVE_IMAGES} image(s) and scaled to the batch. "
                 "A busy machine moves every column: compare ratios.")
    rows = results["rows"]
    for dtype in dict.fromkeys(row["dtype"] for row in rows):
        lines.append("")
        header = f"{dtype:<26}" + "".join(f"{impl:>11}" for impl in impls)
        if "torch" in impls:
            header += f"{fast + '/torch':>15}"
        lines.append(header)
        keys = dict.fromkeys((row["group"], row["case"], row["pass"]) for row in rows if row["dtype"] == dtype)
        for group, case, pass_ in keys:
            cells = {row["impl"]: row for row in rows
                     if (row["group"], row["case"], row["pass"], row["dtype"]) == (group, case, pass_, dtype)}
            label = f"{group} {case} {pass_}"
            line = f"{label:<26}"
            for impl in impls:
                row = cells.get(impl)
                text = "-" if row is None else f"{row['median_ms']:.1f}" + ("*" if row["scaled_from_images"] else "")
                line += f"{text:>11}"
            if "torch" in impls and fast in cells and "torch" in cells:
                line += f"{cells[fast]['median_ms'] / cells['torch']['median_ms']:>14.2f}x"
            lines.append(line)
        if "torch" in impls:
            for case in CONV_CASES:
                both = [row for row in rows if row["dtype"] == dtype and row["group"] == "conv"
                        and row["case"] == case and row["impl"] in (fast, "torch")]
                total = {impl: sum(r["median_ms"] for r in both if r["impl"] == impl) for impl in (fast, "torch")}
                if total["torch"]:
                    lines.append(f"{'conv ' + case + ' fwd+bwd':<26}{'':>{11 * len(impls)}}"
                                 f"{total[fast] / total['torch']:>14.2f}x")
    if results["split"]:
        lines.append("")
        lines.append(f"time split of the fast conv, mean ms per call ({clock})")
        for entry in results["split"]:
            forward = ", ".join(f"{k} {v:.1f}" for k, v in entry["forward_ms"].items())
            backward = ", ".join(f"{k} {v:.1f}" for k, v in entry["backward_ms"].items())
            lines.append(f"  {entry['dtype']} conv {entry['case']} {entry['impl']:<7} "
                         f"forward: {forward} | backward: {backward}")
    if results["memory"]:
        lines.append("")
        lines.append("peak memory of one cold training step (RSS growth in a fresh process"
                     + "; tracemalloc peak for numpy)")
        for entry in results["memory"]:
            extra = (f", tracemalloc {entry['tracemalloc_peak_bytes'] / 2**20:.1f} MiB"
                     if "tracemalloc_peak_bytes" in entry else "")
            lines.append(f"  {entry['dtype']} {entry['impl']:<7} {entry['peak_bytes'] / 2**20:8.1f} MiB "
                         f"({entry['method']}){extra}")
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="cs-convnet bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a short run: 3 repeats, no naive layers, no memory subprocesses")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per case (default 9, 3 with --quick)")
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop layers")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the batch sizes by this factor (a smoke test: --scale 0.05)")
    parser.add_argument("--kernel-threads", type=int, default=None,
                        help="OpenMP threads of the compiled kernels (default: fast_layers.KERNEL_THREADS)")
    parser.add_argument("--compare-kernel-threads", action="store_true",
                        help="only compare the compiled kernels on 1 and 2 OpenMP threads, interleaved")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit OpenBLAS (through threadpoolctl) and PyTorch to this many threads")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="'cpu': time the calling thread's CPU time, which a busy machine disturbs far "
                             "less than wall time (needs --threads 1)")
    parser.add_argument("--chunk-bytes", type=int, default=None,
                        help="fast_layers.CONV_CHUNK_BYTES for this run (default: the library's)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.chunk_bytes is not None and args.chunk_bytes < 1:
        parser.error(f"--chunk-bytes must be >= 1, got {args.chunk_bytes}")
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu measures one thread's CPU time: use it with --threads 1")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must lie in (0, 1], got {args.scale}")
    if args.kernel_threads is not None and args.kernel_threads < 1:
        parser.error(f"--kernel-threads must be >= 1, got {args.kernel_threads}")
    return args


def main(argv=None):
    """Run the benchmark and print its tables; return 0."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.argv = argv
    repeat = args.repeat or (3 if args.quick else 9)
    dtypes = [np.float32, np.float64] if args.dtype == "both" else [np.dtype(args.dtype).type]
    impls = ["naive", "numpy", "cython", "torch"]
    if args.no_naive or args.quick:
        impls.remove("naive")
    if args.no_torch:
        impls.remove("torch")
    saved = fast_layers.KERNEL_THREADS, fast_layers.CONV_CHUNK_BYTES
    if args.kernel_threads is not None:
        fast_layers.KERNEL_THREADS = args.kernel_threads
    if args.chunk_bytes is not None:
        fast_layers.CONV_CHUNK_BYTES = args.chunk_bytes
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    fast_layers.TIMINGS_CLOCK = CLOCK
    limits = None
    if args.threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            print("cs-convnet bench: --threads needs threadpoolctl (pip install threadpoolctl)", file=sys.stderr)
            return 1
        limits = threadpool_limits(args.threads)
        torch = _torch() if not args.no_torch else None
        if torch is not None:
            torch.set_num_threads(args.threads)
    try:
        return _main(args, repeat, dtypes, impls)
    finally:
        CLOCK = fast_layers.TIMINGS_CLOCK = time.perf_counter
        fast_layers.KERNEL_THREADS, fast_layers.CONV_CHUNK_BYTES = saved
        if limits is not None:
            limits.restore_original_limits()


def _main(args, repeat, dtypes, impls):
    if args.compare_kernel_threads:
        tables = {np.dtype(dtype).name: compare_kernel_threads(dtype, repeat) for dtype in dtypes}
        print(f"compiled kernels on 1 vs 2 OpenMP threads: median of {repeat} interleaved runs, ms; "
              f"load average {os.getloadavg()[0]:.2f}")
        for dtype_name, table in tables.items():
            for name, medians in table.items():
                cells = "".join(f"{count} thread(s) {ms:8.2f}   " for count, ms in medians.items())
                print(f"  {dtype_name} {name:<24} {cells}ratio 2/1 {medians[2] / medians[1]:.2f}")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump({"compare_kernel_threads": tables}, handle, indent=1, default=str)
        return 0
    results = run(dtypes, impls, repeat, scale=args.scale, memory=not (args.no_memory or args.quick))
    results["settings"].update(threads=args.threads, clock=args.clock, argv=args.argv)
    print(format_report(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

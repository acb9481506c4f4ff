"""One place that chooses between the compiled kernels and their numpy twins, and owns the thread count.

Backends
--------
Every provided fast path (convolution and pooling in :mod:`cs_convnet.fast_layers`,
the fused batchnorm+ReLU in :mod:`cs_convnet.fast_batchnorm`, the in-place Adam in
:mod:`cs_convnet.fast_optim`, denormal flushing in :mod:`cs_convnet.denormals`) has a
compiled kernel (``cs_convnet._compiled.*``, built from ``cython_ext/`` by
``pip install``) and a numpy twin that computes the same thing. This module:

- imports the compiled modules once (:data:`COMPILED_MODULES`) and warns ONCE, at
  import, when some are missing (no compiler at install time, a source checkout);
- records the default backend, :func:`current_backend`: ``'cython'`` when the conv and pool
  kernels import, else ``'numpy'``; the environment variable
  ``CS_CONVNET_BACKEND=numpy`` (or ``cython``) forces a choice, and
  :func:`use_backend` changes it for a ``with`` block;
- answers :func:`compiled`: the compiled module a kernel should use now, or None
  (numpy twin), so ``CS_CONVNET_BACKEND=numpy`` turns off every compiled kernel.

Threads
-------
The compiled kernels run one OpenMP parallel region per call, on :func:`threads`
threads: ``CS_CONVNET_THREADS`` if set, else the cores this process may run on
(``len(os.sched_getaffinity(0))``, capped by ``OMP_NUM_THREADS`` when that is set, as in
the grading sandbox); :func:`set_threads` / :func:`using_threads` change it. Between
regions the threads sleep, and so do OpenBLAS's after numpy's matrix products
(:mod:`cs_convnet.idle_threads`, applied when cs_convnet is imported): a pool whose idle
threads spin takes a core from the other.
Inside a region each thread calls BLAS on its own share of the work, so the
BLAS libraries are held to one thread for the region's duration
(:func:`blas_single_threaded`, through threadpoolctl): kernel threads and BLAS
threads never run at the same time.
"""

import contextlib
import importlib
import os
import threading
import warnings

#: The compiled modules and what each one runs.
COMPILED_MODULES = {
    "conv_cython": "convolution, batch sharded over threads (im2col + BLAS GEMM + col2im per image)",
    "im2col_cython": "im2col / col2im and the GEMM layout copies",
    "pool_cython": "max and average pooling",
    "batchnorm_relu_cython": "fused spatial batchnorm + ReLU",
    "adam_cython": "in-place Adam",
    "denormals_cython": "flushing denormal floats to zero",
}
#: Without these two the 'cython' backend does not exist (the others fall back one by one).
_CORE_MODULES = ("im2col_cython", "pool_cython")
_NAMES = ("numpy", "cython")


_modules = {}
_errors = {}
for _name in COMPILED_MODULES:
    try:
        _modules[_name] = importlib.import_module(f"cs_convnet._compiled.{_name}")
    except ImportError as _error:  # not built, or built against a missing library (scipy's BLAS)
        _errors[_name] = _error

#: The backends that can run here: 'numpy' always, 'cython' when its core kernels import.
AVAILABLE_BACKENDS = tuple(sorted(["numpy"] + (["cython"] if all(m in _modules for m in _CORE_MODULES) else [])))


def _missing():
    return "; ".join(f"{name}: {error}" for name, error in _errors.items())


def _initial_backend():
    forced = os.environ.get("CS_CONVNET_BACKEND", "").strip().lower()
    if forced and forced not in _NAMES:
        raise ValueError(f"CS_CONVNET_BACKEND must be 'numpy' or 'cython', got {forced!r}")
    if forced == "numpy":
        return "numpy"
    if forced == "cython" and _errors:
        raise ImportError(
            f"CS_CONVNET_BACKEND=cython but compiled kernels did not import ({_missing()}); "
            "rebuild with `pip install -e '.[course]'` on a machine with a C compiler")
    if _errors:
        fallback = ("the fast layers run on the slower numpy backend" if "cython" not in AVAILABLE_BACKENDS
                    else "those kernels run on their numpy twins")
        warnings.warn(
            f"cs_convnet's compiled Cython kernels are not all available ({_missing()}); {fallback}. "
            "Reinstall with a C compiler (`pip install -e '.[course]'`, as in the README) to build them.",
            RuntimeWarning, stacklevel=3)
    return "cython" if "cython" in AVAILABLE_BACKENDS else "numpy"


_backend = _initial_backend()


def current_backend():
    """The default backend now: 'cython' or 'numpy'."""
    return _backend


def resolve(name=None):
    """``name`` checked ('numpy' or 'cython'), or the default backend when None."""
    if name is None:
        return _backend
    if name not in _NAMES:
        raise ValueError(f"backend must be None, 'numpy' or 'cython', got {name!r}")
    if name not in AVAILABLE_BACKENDS:
        raise ValueError(f"backend 'cython' is not available here ({_missing()}); available: {AVAILABLE_BACKENDS}")
    return name


def compiled(module, backend=None):
    """The compiled module ``module`` (a key of :data:`COMPILED_MODULES`) to use now, or None for numpy.

    None when the backend (``backend``, or the default) is 'numpy' or the module did not import.
    """
    if module not in COMPILED_MODULES:
        raise KeyError(f"unknown compiled module {module!r}; known: {sorted(COMPILED_MODULES)}")
    name = resolve(backend)
    return _modules.get(module) if name == "cython" else None


def import_error(module):
    """Why ``module`` did not import (an ImportError), or None."""
    return _errors.get(module)


@contextlib.contextmanager
def use_backend(name):
    """Within the ``with`` block, make ``name`` ('numpy' or 'cython') the default backend.

    Changes :func:`current_backend` for every caller (every fast layer, batchnorm, Adam,
    denormals), so it is meant for benchmarks and tests, not for threaded code.
    """
    global _backend
    resolve(name)  # raises if unknown or unavailable
    previous, _backend = _backend, name
    try:
        yield
    finally:
        _backend = previous


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------

def available_cores():
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _threads_from_environment():
    text = os.environ.get("CS_CONVNET_THREADS", "").strip()
    if not text:
        # OMP_NUM_THREADS caps the default, as it caps every other OpenMP library (the grading
        # sandbox sets it to 1); the kernels pass their count explicitly, so it must be read here.
        omp = os.environ.get("OMP_NUM_THREADS", "").strip()
        cap = int(omp) if omp.isdigit() and int(omp) >= 1 else None
        return min(available_cores(), cap) if cap else available_cores()
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"CS_CONVNET_THREADS must be a whole number >= 1, got {text!r}")
    return count


_threads = _threads_from_environment()


def threads():
    """Threads of the compiled kernels' parallel regions."""
    return _threads


def set_threads(count=None):
    """Make the kernels use ``count`` threads (None: ``CS_CONVNET_THREADS`` or the available cores)."""
    global _threads
    if count is None:
        _threads = _threads_from_environment()
        return
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {count!r}")
    _threads = count


@contextlib.contextmanager
def using_threads(count):
    """Within the ``with`` block, the kernels use ``count`` threads."""
    previous = _threads
    set_threads(count)
    try:
        yield
    finally:
        set_threads(previous)


# --------------------------------------------------------------------------
# Convolution strategy
# --------------------------------------------------------------------------

#: How the compiled convolution splits its work: 'sharded' (the batch over the threads, one parallel
#: region, a small GEMM per image: conv_cython), 'winograd' ('sharded', with the 3x3 stride-1 pad-1
#: convolutions of 8 or more input channels by Winograd's F(2x2, 3x3), 2.25x fewer multiplications)
#: or 'chunked' (im2col of a chunk of images, one large GEMM whose threads are BLAS's own:
#: im2col_cython). 'auto' is 'winograd': on 2 threads, the deep preset's step took 241-253 ms
#: against 296-306 ms 'sharded' (A/B alternated, 3 rounds), its six convolutions 49 / 107 ms
#: (forward / backward) against 78 / 135 ms. 'sharded' measured faster than 'chunked' on 1 and 2
#: threads once OpenBLAS's idle threads stopped spinning into the parallel regions
#: (cs_convnet.idle_threads): on 2 cores, `cs-convnet bench --scaling` gave a ThreeLayerConvNet step
#: of 30.7 ms (1 thread) and 17.8 ms (2) sharded against 33.9 and 22.6 ms chunked. 'sharded' and
#: 'chunked' stay for comparison; 'chunked' is what runs when conv_cython is not built.
CONV_STRATEGIES = ("auto", "winograd", "sharded", "chunked")


def _conv_strategy_from_environment():
    text = os.environ.get("CS_CONVNET_CONV", "auto").strip().lower() or "auto"
    if text not in CONV_STRATEGIES:
        raise ValueError(f"CS_CONVNET_CONV must be one of {', '.join(CONV_STRATEGIES)}, got {text!r}")
    return text


_conv_strategy = _conv_strategy_from_environment()


def conv_strategy():
    """The compiled convolution's strategy now: 'winograd', 'sharded' or 'chunked' ('auto' is 'winograd')."""
    return "winograd" if _conv_strategy == "auto" else _conv_strategy


@contextlib.contextmanager
def using_conv_strategy(name):
    """Within the ``with`` block, the compiled convolution runs ``name`` (one of :data:`CONV_STRATEGIES`)."""
    global _conv_strategy
    if name not in CONV_STRATEGIES:
        raise ValueError(f"conv strategy must be one of {', '.join(CONV_STRATEGIES)}, got {name!r}")
    previous, _conv_strategy = _conv_strategy, name
    try:
        yield
    finally:
        _conv_strategy = previous


_controller = None
_controller_lock = threading.Lock()


def _blas_controller():
    """threadpoolctl's controller of the BLAS libraries loaded now (created once), or None."""
    global _controller
    with _controller_lock:
        if _controller is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                _controller = False
            else:
                _controller = ThreadpoolController().select(user_api="blas")
        return _controller or None


@contextlib.contextmanager
def blas_single_threaded():
    """Within the ``with`` block, every BLAS library runs on one thread (restored after).

    Around a kernel whose threads each call BLAS: a BLAS library's own threads
    would otherwise compete with them (OpenBLAS even serialises concurrent
    multi-threaded calls). Without threadpoolctl nothing changes.
    """
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1):
        yield


def blas_info():
    """[{'library', 'version', 'threads', 'threading_layer', 'filepath'}] for the BLAS libraries loaded now."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{"library": info.get("internal_api"), "version": info.get("version"),
             "threads": info.get("num_threads"), "threading_layer": info.get("threading_layer"),
             "filepath": info.get("filepath")}
            for info in threadpool_info() if info.get("user_api") == "blas"]

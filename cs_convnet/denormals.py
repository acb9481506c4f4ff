"""Flushing denormal floats to zero while training (provided, like the fast layers).

Adam's first moment of a weight whose gradient stays zero (a dead ReLU unit
of the one-epoch ThreeLayerConvNet, say) shrinks by beta1 = 0.9 per step and
reaches the denormal range of float32 (below 1.2e-38) after about 700 steps.
Arithmetic on denormals takes a slow path in the CPU: measured here, the
in-place Adam went from 5 to 55 ms per step and the loss from 41 to 68 ms
between steps 1-200 and 601-1000 of that model. Within :func:`flush_denormals`
the calling thread writes zero instead of a denormal result and reads a
denormal input as zero (x86's FTZ and DAZ flags, what
``torch.set_flush_denormal`` sets and what GPUs do by default); values that
small are far below anything the training could resolve.

The flags belong to each thread. The block sets them in the calling thread and
in the compiled kernels' OpenMP threads (:mod:`cs_convnet.kernels`), which
their parallel regions reuse; other threads already running, such as the BLAS
library's workers, keep their own. On processors without the flags, without the
compiled module, or with ``CS_CONVNET_BACKEND=numpy``, nothing changes.
"""

import contextlib

from .kernels import backend as _backend


def _module():
    return _backend.compiled("denormals_cython")


def supported():
    """Whether this build, backend and processor can flush denormals."""
    compiled = _module()
    if compiled is None:
        return False
    was = compiled.get_flush_denormal()
    return compiled.set_flush_denormal(was)


@contextlib.contextmanager
def flush_denormals():
    """Within the ``with`` block, the calling thread and the kernels' threads flush denormal floats to zero.

    Yields whether flushing is in effect; the previous setting is restored on exit.
    """
    compiled = _module()
    if compiled is None:
        yield False
        return
    threads = _backend.threads()
    was = compiled.get_flush_denormal()
    active = compiled.set_flush_denormal_threads(True, threads)
    try:
        yield active
    finally:
        compiled.set_flush_denormal_threads(was, threads)

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

The flags belong to the calling thread (and to threads it starts inside the
block, which inherit them); threads already running, such as the BLAS
library's workers, keep their own. On processors without the flags, or
without the compiled module, nothing changes.
"""

import contextlib

try:
    from ._compiled import denormals_cython as _compiled
except ImportError:  # not built
    _compiled = None


def supported():
    """Whether this build and processor can flush denormals."""
    if _compiled is None:
        return False
    was = _compiled.get_flush_denormal()
    ok = _compiled.set_flush_denormal(was)
    return ok


@contextlib.contextmanager
def flush_denormals():
    """Within the ``with`` block, the calling thread flushes denormal floats to zero.

    Yields whether flushing is in effect; the previous setting is restored on exit.
    """
    if _compiled is None:
        yield False
        return
    was = _compiled.get_flush_denormal()
    active = _compiled.set_flush_denormal(True)
    try:
        yield active
    finally:
        _compiled.set_flush_denormal(was)

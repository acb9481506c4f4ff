"""How idle worker threads wait: they sleep soon after their work ends instead of spinning.

Imported by ``cs_convnet/__init__.py`` before anything loads numpy, because
OpenBLAS reads its setting once, when numpy first loads it.

Two thread pools share the cores in a training step: OpenBLAS's, which numpy's
matrix products use (the affine layers), and the OpenMP threads of the compiled
kernels (:mod:`cs_convnet.kernels.backend`). A pool whose idle threads spin
takes a core from the other while it spins:

- OpenBLAS's threads spin for 2**28 CPU cycles (about 0.1 s) after each
  multi-threaded product before sleeping; the kernels' parallel region that
  follows an affine layer then ran with one core busy spinning.
  ``OPENBLAS_THREAD_TIMEOUT=16`` makes them sleep after 2**16 cycles (about
  25 microseconds): still awake between two products of one layer, asleep
  before the next kernel. Measured on 2 cores, 2 threads, a ThreeLayerConvNet
  step (batch 50, fwd+bwd) on the batch-sharded convolution took 29.5 ms with
  OpenBLAS's default and 17.3 ms with 16 (12, 16 and 20 gave the same).
- libgomp's threads spin too unless ``OMP_WAIT_POLICY=PASSIVE``: measured on 2
  busy cores, 10 ThreeLayerConvNet steps took 1.58 s spinning and 0.83 s passive.

A value already in the environment is kept. When numpy was imported before
cs_convnet, its OpenBLAS has read its setting already: export
``OPENBLAS_THREAD_TIMEOUT=16`` before starting Python, or import cs_convnet first.
"""

import os

#: The settings applied (with ``os.environ.setdefault``) when cs_convnet is imported.
SETTINGS = {"OPENBLAS_THREAD_TIMEOUT": "16", "OMP_WAIT_POLICY": "PASSIVE"}


def apply():
    """Set each of :data:`SETTINGS` in ``os.environ`` unless the user set it."""
    for name, value in SETTINGS.items():
        os.environ.setdefault(name, value)

"""Tests of cs_convnet.denormals: flushing denormal floats to zero within a block, and only there."""

import threading

import numpy as np
import pytest

from cs_convnet import denormals

TINY = np.finfo(np.float32).tiny  # the smallest normal float32, 1.2e-38

needs_flags = pytest.mark.skipif(not denormals.supported(), reason="this build or processor cannot flush denormals")


@needs_flags
def test_flushes_inside_the_block_and_restores_after():
    """Inside the block, does a result below the normal range become 0 and a denormal input read as 0;
    outside, is IEEE arithmetic back?"""
    x = np.full(4, TINY, np.float32)
    denormal = np.float32(TINY / 4)
    assert x[0] / np.float32(4) == denormal != 0
    with denormals.flush_denormals() as active:
        assert active
        assert np.all(x / np.float32(4) == 0)                              # FTZ: results
        assert np.all(np.full(3, denormal, np.float32) * np.float32(1e30) == 0)  # DAZ: inputs
        assert np.all(x * np.float32(2) == 2 * TINY)                       # normal values untouched
    assert x[0] / np.float32(4) == denormal


@needs_flags
def test_threads_started_before_the_block_are_not_affected():
    """Does a thread that was already running (as the BLAS library's workers are) keep IEEE arithmetic
    while this one flushes?"""
    seen, go = [], threading.Event()

    def worker():
        go.wait(10)
        seen.append(np.float32(TINY) / np.float32(4))

    thread = threading.Thread(target=worker)
    thread.start()
    with denormals.flush_denormals():
        go.set()
        thread.join()
    assert seen == [np.float32(TINY / 4)] and seen[0] != 0


def test_without_the_compiled_module_nothing_changes(monkeypatch):
    """Without the compiled module, does the block run unchanged and say flushing is off?"""
    monkeypatch.setattr(denormals, "_module", lambda: None)
    assert not denormals.supported()
    with denormals.flush_denormals() as active:
        assert active is False
        assert np.float32(TINY) / np.float32(4) != 0


def test_training_runs_with_denormals_flushed(tmp_path, monkeypatch):
    """Does the training command run the Solver inside flush_denormals (and the fast layers keeping columns)?"""
    import contextlib

    from cs_convnet import fast_layers, solver as solver_module, train as train_module
    from test_train import small_config, synthetic_data

    states = []

    @contextlib.contextmanager
    def recording():
        states.append("entered")
        yield True
        states.append("left")

    original_train = solver_module.Solver.train

    def spy(solver):
        states.append(("training", fast_layers.KEEP_COLUMNS))
        return original_train(solver)

    monkeypatch.setattr(train_module, "flush_denormals", recording)
    monkeypatch.setattr(solver_module.Solver, "train", spy)
    train_module.train(small_config(tmp_path, epochs=1), data=synthetic_data())
    assert states == ["entered", ("training", True), "left"]
    assert fast_layers.KEEP_COLUMNS is False

"""A known bug loses the same checks whatever the hidden inputs drawn.

The hidden checks draw fresh inputs on every grading run. A family whose
inputs only sometimes separate a bug from the right answer grades the same
submission differently from run to run (a learner whose ReLU backward masks
with ``dout > 0`` once got the N=1 check's point when every sign of x and
dout happened to agree). Here every shipped sample is graded on many seeds,
in this process: the sample's ``layers.py`` is imported as a module of its
own, and each request goes through the worker's own ``Server.answer`` and the
grader's own ``_run_check`` and judging. What is left out is the transport
(no sandbox, no encoding of frames, no timeouts or restarts, no oracle
proxies: see :class:`InProcessWorker`), so hundreds of seeds take seconds. The
classic mutants of ``layers.py`` (one textbook bug each) must likewise lose
points on their function whatever the seed.
"""

import importlib.util

import numpy as np
import pytest

from autograder.checks import all_checks
from autograder.checks.layers import all_checks as layer_checks
from autograder.engine import grade_one
from autograder.qa import mutation, samples
from autograder.sandbox.package_guest import Server

LAYERS = "cs_convnet/layers.py"
SEEDS = range(150)


class InProcessWorker:
    """The sandboxed worker's request/reply path, run here with ``layers_module`` as cs_convnet.layers.

    The module is a copy loaded from a file, so a classifier check's proxies (installed where a
    cs_convnet module holds one of its functions) find nothing to replace: the instructor's
    classifiers run on the instructor's layers directly, the values the oracle would return.
    """

    def __init__(self, layers_module):
        self.server = Server(channel=None, np=np)
        self.server.modules["cs_convnet.layers"] = layers_module

    def request(self, header, arrays=(), timeout=None, oracle=None):
        return self.server.answer(header, list(arrays))


def layers_module(files, name, tmp_path):
    """``files[LAYERS]`` imported as a module of the cs_convnet package (its relative imports work)."""
    path = samples.write_submission({LAYERS: files[LAYERS]}, tmp_path / name) / LAYERS
    spec = importlib.util.spec_from_file_location(f"cs_convnet._graded_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_layers(name, tmp_path):
    """The sample's patched layers.py, imported."""
    sample = samples.load(name)
    assert all(patch["file"] == LAYERS for patch in sample["patches"]), \
        f"{name} patches files other than {LAYERS}: widen this test to them"
    return layers_module(samples.apply_patches(samples.reference_files(), sample["patches"], name), name, tmp_path)


def failing_checks(worker, checks, seed):
    rng = np.random.default_rng(seed)
    results = [grade_one._run_check(check, worker, rng, {}, {}, None, []) for check in checks]
    return sorted(r["name"] for r in results if not r["passed"])


@pytest.mark.usefixtures("blas_single_thread")
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the softmax sample's own bug
@pytest.mark.parametrize("name", samples.names())
def test_each_sample_fails_exactly_its_checks_on_every_seed(tmp_path, name):
    """Do the reference and each buggy sample fail the same layer checks on each of 150 seeds?"""
    checks = layer_checks()
    expected = sorted(samples.load(name)["expected_failing"])
    worker = InProcessWorker(sample_layers(name, tmp_path))
    differing = {seed: failing for seed in SEEDS
                 if (failing := failing_checks(worker, checks, seed)) != expected}
    assert not differing, f"{name}: expected {expected} on every seed, got {differing}"


LAYER_MUTANTS = [m for m in mutation.all_mutants("classic") if m.file == LAYERS]


def test_classic_layer_mutants_exist():
    """Are the classic layers.py mutants still found (their text still occurs in the reference)?"""
    assert len(LAYER_MUTANTS) >= 30


@pytest.mark.usefixtures("blas_single_thread")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the mutants' own overflows and invalid values
@pytest.mark.parametrize("mutant", LAYER_MUTANTS, ids=lambda m: m.id)
def test_classic_layer_mutant_loses_points_on_every_seed(tmp_path, mutant):
    """Does each textbook bug in layers.py fail a check of its function on 40 seeds?"""
    files = samples.apply_patches(samples.reference_files(),
                                  [{"file": mutant.file, "old": mutant.old, "new": mutant.new}], mutant.id)
    worker = InProcessWorker(layers_module(files, mutant.id.replace(":", "_"), tmp_path))
    checks = [c for c in layer_checks() if c.function == mutant.function]
    assert checks, f"no hidden check targets {mutant.function}"
    survived = [seed for seed in range(40) if not failing_checks(worker, checks, seed)]
    assert not survived, f"{mutant.id} ({mutant.description}) passed every check of {mutant.function} " \
                         f"on seeds {survived}"


@pytest.mark.usefixtures("blas_single_thread")
def test_the_reference_passes_every_check_on_every_seed(tmp_path):
    """Does the instructor's code pass every hidden check (layers, update rules, classifiers) on 60 seeds?"""
    checks = all_checks()
    worker = InProcessWorker(layers_module(samples.reference_files(), "reference", tmp_path))
    failing = {seed: names for seed in range(60) if (names := failing_checks(worker, checks, seed))}
    assert not failing

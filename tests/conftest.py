"""Fixtures of the test suite; the helpers tests import by name live in ``tests/support/``.

Layout: ``tests/cs_convnet/`` and ``tests/autograder/<subpackage>/`` mirror the packages,
``tests/assignments/`` tests the course notebooks; test file names stay unique across folders.
"""

import numpy as np
import pytest

from support.paths import cifar10_archive_path


@pytest.fixture
def blas_single_thread():
    """Run the test with one BLAS thread.

    On a small machine shared with other jobs, a multithreaded BLAS spinning on
    busy cores makes small matrix products up to 100x slower; one thread keeps
    such tests fast and their timing stable. Use with
    ``pytestmark = pytest.mark.usefixtures("blas_single_thread")``.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def rng():
    """A seeded generator, so every test draws the same numbers on every run."""
    return np.random.default_rng(231)


@pytest.fixture(scope="session")
def cifar10_archive():
    """Path of the CIFAR-10 python archive (or extracted folder); skips the test when absent."""
    path = cifar10_archive_path()
    if path is None:
        pytest.skip(
            "CIFAR-10 not found: set CS_CONVNET_CIFAR10 to the python archive or folder, or place "
            "cifar-10-python-reconstructed.tar.gz in ../shared/datasets/ next to the repository"
        )
    return path


@pytest.fixture(scope="session")
def cifar10_folder(cifar10_archive, tmp_path_factory):
    """The batch folder of ``cifar10_archive``, extracted once per session into a temporary
    cache (never into the user's ~/.cache); skips the test when the data is absent."""
    from cs_convnet.data import find_cifar10

    return find_cifar10(cifar10_archive, cache=tmp_path_factory.mktemp("cifar-cache"))

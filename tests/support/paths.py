"""Paths the tests share: the repository, the tests folder, this package, the CIFAR-10 archive."""

import os
from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
TESTS = SUPPORT.parent
REPO = TESTS.parent


def cifar10_archive_path():
    """Path of the reconstructed CIFAR-10 archive, or None when it is absent."""
    candidates = []
    if os.environ.get("CS_CONVNET_CIFAR10"):
        candidates.append(Path(os.environ["CS_CONVNET_CIFAR10"]))
    candidates.append(REPO.parent / "shared" / "datasets" / "cifar-10-python-reconstructed.tar.gz")
    return next((path for path in candidates if path.exists()), None)

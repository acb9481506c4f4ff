"""The hidden checks: one :class:`Check` per function and shape family.

Trusted code, never shipped to learners and never visible inside the sandbox.
"""

from .base import Case, Check


def all_checks():
    """Every hidden check, in a stable order (layers, update rules, classifiers)."""
    from . import classifiers, layers, optim

    checks = layers.all_checks() + optim.all_checks() + classifiers.all_checks()
    names = [c.name for c in checks]
    if len(names) != len(set(names)):
        raise RuntimeError("duplicate check names")
    return checks


__all__ = ["Case", "Check", "all_checks"]

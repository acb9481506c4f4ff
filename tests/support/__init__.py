"""Helpers the test modules import by name (``pytest`` puts ``tests/`` on ``sys.path``).

* :mod:`support.tolerances`: the one tolerance table per dtype and the assertions that use it.
* :mod:`support.api`: checks of public functions (docstring shapes, signatures).
* :mod:`support.paths`: the repository, this folder, the CIFAR-10 archive.
* :mod:`support.nbgrader_factory`: a tiny nbgrader course and fake grade-one scripts.
* :mod:`support.forgery_cases`: forged submissions for the forgery suite.

Fixtures live in ``tests/conftest.py``; nothing here is a fixture.
"""

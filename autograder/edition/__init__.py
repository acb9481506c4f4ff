"""The student edition: what learners receive, and what the sandbox grades against.

- :mod:`~autograder.edition.builder`: the one builder of the ``cs_convnet``
  package edition (solution regions stubbed), for the release and the sandbox;
- :mod:`~autograder.edition.release`: the whole release (package, notebooks,
  zip), checked for leaks of the instructor tree.
"""

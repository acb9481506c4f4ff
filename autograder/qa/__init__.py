"""Quality of the grader itself: does it catch bugs, grade exactly, and fast?

- :mod:`~autograder.qa.samples`: sample submissions (the reference and known
  bugs) as text patches;
- :mod:`~autograder.qa.mutation`: mutation testing of the hidden checks
  (``mutants/``: the classic bugs);
- :mod:`~autograder.qa.demo`: ``cs-convnet-course demo``, the whole pipeline
  on the samples;
- :mod:`~autograder.qa.bench_grading`: throughput and latency of the grading
  engine, per back end.
"""

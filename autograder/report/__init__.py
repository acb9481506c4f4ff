"""Reports on graded work.

- :mod:`~autograder.report.table`: the grade table of ``cs-convnet-course table``;
- :mod:`~autograder.report.analysis`: the class report (where a class fails,
  and why), with its thresholds in :mod:`~autograder.report.settings`, its
  failure signatures in :mod:`~autograder.report.signatures` and its HTML page
  in :mod:`~autograder.report.page`.
"""

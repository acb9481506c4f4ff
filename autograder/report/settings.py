"""The class report's settings: how the class is cut and when a check is flagged.

Read by the analysis (:mod:`autograder.report.analysis`), which applies them, and by
the page (:mod:`autograder.report.page`), which states them to the reader;
neither imports the other for them.
"""

from ..engine.tasks import INFRASTRUCTURE_ERROR

QUINTILES = 5
NEAR_ZERO = 0.1          # corrected item-total correlation below this: the check barely tracks the rest
MOSTLY_FAILING = 0.9     # a check failed by this share of the class, though not by everyone
RUN_PROBLEMS = 0.05      # a check that times out or crashes for this share of the class
EXCLUDED_OUTCOMES = (INFRASTRUCTURE_ERROR,)   # outcomes left out of the statistics

"""nbgrader 0.9.6 preprocessors that fix the pitfalls of notebook autograding, one per module.

Measured with nbgrader 0.9.6 (see tests/autograder/course/test_nbgrader_integration.py); each
module says which pitfall its class fixes:

- :mod:`~.robust_overwrite_cells`: deleted grade cells come back without a
  ``KeyError`` (sanitize step);
- :mod:`~.crash_tolerant_execute`: a kernel that dies or hangs fails the rest
  of the notebook, not the whole of it;
- :mod:`~.trusted_tests_execute`: the score of every test cell is decided in
  the grader's process, not in the learner's kernel;
- :mod:`~.stderr_is_not_failure`: a warning on stderr does not zero a passing
  test;
- :mod:`~.clear_hidden_tests_and_tracebacks`: hidden tests never reach the
  feedback, nor outputs quoting them;
- :mod:`~.get_grades_mark_ungraded` and :mod:`~.pending_score`: the feedback
  shows a cell still waiting for a person as "not graded yet".

This package's names are the dotted names the autograde and feedback sections
of ``assignments/nbgrader_config.py`` wire in (for example
``autograder.course.preprocessors.TrustedTestsExecute``).
"""

from .clear_hidden_tests_and_tracebacks import ClearHiddenTestsAndTracebacks
from .crash_tolerant_execute import KERNEL_DIED, KERNEL_HUNG, NOT_RUN, CrashTolerantExecute
from .get_grades_mark_ungraded import GetGradesMarkUngraded
from .pending_score import PendingScore, feedback_float
from .robust_overwrite_cells import RobustOverwriteCells
from .stderr_is_not_failure import StderrIsNotFailure
from .trusted_tests_execute import TrustedTestsExecute

__all__ = ["ClearHiddenTestsAndTracebacks", "CrashTolerantExecute", "GetGradesMarkUngraded", "PendingScore",
           "RobustOverwriteCells", "StderrIsNotFailure", "TrustedTestsExecute", "feedback_float",
           "KERNEL_DIED", "KERNEL_HUNG", "NOT_RUN"]

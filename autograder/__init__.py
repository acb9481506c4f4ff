"""The course's autograder: hidden checks run against sandboxed submissions.

Instructor-only: never shipped in the student edition, never visible inside
the sandbox. :mod:`autograder.grade_one` grades one submission directory;
:mod:`autograder.sandbox` isolates the learner's code;
:mod:`autograder.worker` is what runs inside the sandbox;
:mod:`autograder.checks` holds the hidden checks.
A batch (:mod:`autograder.batch`) runs one :mod:`autograder.tasks` task per
submission on a back end of :mod:`autograder.executors`.
"""

__version__ = "0.1.0"   # part of every grading task's key (see autograder.tasks.grader_version)

"""The course's autograder: hidden checks run against sandboxed submissions.

Instructor-only: never shipped in the student edition, never visible inside
the sandbox. The subpackages, from a submission's code to a grade:

- :mod:`autograder.checks`: the hidden checks, compared with the reference;
- :mod:`autograder.sandbox`: where a learner's code runs (the package checks'
  worker, the notebook kernel) and the trusted side that talks to it;
- :mod:`autograder.engine`: grading tasks (:mod:`autograder.engine.grade_one`
  grades one submission directory), run in batches on a back end
  (:mod:`autograder.engine.executors`), their results stored;
- :mod:`autograder.course`: the nbgrader course (folder, gradebook, collect,
  notebooks' autograde, feedback, exports, Gradescope);
- :mod:`autograder.report`: the grade table and the class report;
- :mod:`autograder.edition`: the student edition (the release, and the
  sandbox's copy of the package);
- :mod:`autograder.qa`: the grader's own quality (samples, mutation testing,
  the demo, the grading benchmark).

Shared by several of them: :mod:`autograder.limits` (the sandboxes' time and
memory limits), :mod:`autograder.processes` (child process sessions) and
:mod:`autograder.cli` (``cs-convnet-course``, one module of
:mod:`autograder.apps` per command).
"""

__version__ = "0.1.0"   # part of every grading task's key (see autograder.engine.tasks.grader_version)

"""The grading engine: one task per submission, run on a back end, its result stored.

- :mod:`~autograder.engine.grade_one`: grades one submission directory's
  package checks in the sandbox (``python -m autograder.engine.grade_one``);
- :mod:`~autograder.engine.tasks`: one grading task (package checks and
  notebooks of one student), its outcome and the grader version;
- :mod:`~autograder.engine.results`: the result store, one file per task key;
- :mod:`~autograder.engine.batch`: ``autograde``, the batch over a course's
  students (retries, the gradebook written once the run is over);
- :mod:`~autograder.engine.executors`: the back ends (serial, local worker
  processes, Dask); :mod:`~autograder.engine.local_worker` is the process of
  one local worker, :mod:`~autograder.engine.dask_loopback` a Dask cluster on
  this machine.
"""

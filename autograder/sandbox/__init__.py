"""Where a learner's code runs: a throw-away worker process behind a narrow pipe.

Trusted code. The grading process never imports a submission. It builds a
*sandbox root* -- a temporary folder holding the student edition of
``cs_convnet`` (every solution region replaced by a stub, every provided file
copied from the trusted tree) with the submission's learner-edited files laid
over it -- and starts :mod:`autograder.sandbox.package_guest` on it in a separate process,
in bubblewrap where it works (no network, the root read-only, only two
sized tmpfs writable), else with rlimits only, and in memory and pids cgroups
where they are writable: see :mod:`~autograder.sandbox.isolation`. Whether the
worker ran out of memory is read from the kernel's counters by this (trusted)
process (an OOM kill in the memory cgroup, or a full scratch tmpfs); the
worker's own word is never taken for it.

The pipe carries length-prefixed frames: a JSON header, then arrays as
``.npy`` bytes, which the trusted side reads with ``allow_pickle=False``.

The modules, in the order a grading request meets them:

- :mod:`~autograder.sandbox.root`: the sandbox root (the student edition with
  one submission's learner files laid over it);
- :mod:`~autograder.sandbox.isolation`: bubblewrap, resource limits and
  cgroups around the worker process, and its lifecycle (:class:`~autograder.sandbox.isolation.Worker`);
- :mod:`~autograder.sandbox.protocol`: the frames on the pipe;
- :mod:`~autograder.sandbox.package_guest`: the worker itself, inside the
  sandbox (untrusted territory, standalone);
- :mod:`~autograder.sandbox.cgroups`: the memory and pids cgroups (also run
  as a script, the kernel's supervisor).

A notebook is graded in nbgrader's kernel instead:
:mod:`~autograder.sandbox.notebook_kernel` confines that kernel, and
:mod:`~autograder.sandbox.trusted_tests` scores its test cells in the trusted
process through :mod:`~autograder.sandbox.notebook_guest`, the small guest it
runs in the learner's kernel.
"""

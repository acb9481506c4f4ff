"""Where a learner's code runs: a throw-away worker process behind a narrow pipe.

Trusted code. The grading process never imports a submission. It builds a
*sandbox root* -- a temporary folder holding the student edition of
``cs_convnet`` (every solution region replaced by a stub, every provided file
copied from the trusted tree) with the submission's learner-edited files laid
over it -- and starts :mod:`autograder.sandbox.package_guest` on it in a separate process:

- **bubblewrap** when ``bwrap`` works: new user, pid, network, ipc and uts
  namespaces (``--unshare-all``: no network), the Python installation and the
  sandbox root bound read-only, an empty environment, ``--die-with-parent``
  and ``--new-session``. The only writable places are two tmpfs of a fixed
  size (``--size``): ``/tmp`` (the working directory) and ``/dev/shm``; the
  root and ``/dev`` are remounted read-only. Nothing else of the host file
  system exists inside: not the instructor tree, not ``autograder/``, not the
  gradebook, not other submissions;
- otherwise (or with ``isolation="rlimits"``) the same worker started
  directly, in a new session, with a scrubbed environment and a fresh
  temporary working directory: this protects the grade but not the files.

Both add resource limits (address space, CPU seconds, file size, core dumps)
and, where cgroups are writable (:mod:`autograder.sandbox.cgroups`), a memory cgroup
that counts everything the worker's processes pin (tmpfs, shared memory,
memfd, page cache) and a pids cgroup capping its processes, through which
every process of the worker is killed at the end. All limits come from
:mod:`autograder.limits` (profile ``package``). Whether the worker ran out of
memory is read from the kernel's counters by this (trusted) process: an OOM
kill in the memory cgroup, or a full scratch tmpfs, fails the request with
kind ``"memory"``; the worker's own word is never taken for it.

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

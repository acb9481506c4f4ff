"""The sandbox's resource limits: one frozen record per kind of sandbox, read from the environment.

Two sandboxes run learner code: the worker of the package checks
(:mod:`autograder.sandbox`, profile ``package``) and nbgrader's notebook kernel
(:mod:`autograder.sandbox.notebook_kernel`, profile ``notebook``). Each gets a
:class:`Limits`; every limit of either sandbox is read from here.

A course changes a limit with an environment variable
``CS_CONVNET_<PROFILE>_<FIELD>`` set where grading runs (the instructor's shell
for ``grade-one``/``autograde``, and every Dask worker), e.g.
``CS_CONVNET_PACKAGE_MEMORY=2G`` or ``CS_CONVNET_NOTEBOOK_WALL_SECONDS=3600``.
Sizes take a ``K``, ``M`` or ``G`` suffix (powers of 1024). The limits in force
are part of the grader version (:func:`autograder.engine.tasks.grader_version`):
changing one regrades, and a Dask worker with other limits than the client is
refused instead of grading differently.
"""

import os
import re
from dataclasses import dataclass, fields

MiB = 1024**2
GiB = 1024**3


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox.

    memory : bytes. The memory cgroup's limit on everything the sandbox pins
        (anonymous memory of all its processes, tmpfs, shared memory, memfd,
        page cache), swap included; also each process's address space (``RLIMIT_AS``).
    scratch : bytes. Size of each writable tmpfs (``/tmp`` and ``/dev/shm``);
        their pages count against ``memory``.
    cpu_seconds : CPU time of each process (``RLIMIT_CPU``).
    wall_seconds : wall-clock time of one submission's whole run in this sandbox
        (all package checks; all notebooks of an assignment). Each package check
        also has its own time limit (``Check.timeout``, 10 s).
    processes : tasks (processes and threads) in the sandbox (pids cgroup).
    file_size : largest file a process may write (``RLIMIT_FSIZE``).
    """

    memory: int
    scratch: int
    cpu_seconds: int
    wall_seconds: float
    processes: int
    file_size: int

    def __post_init__(self):
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"limit {spec.name} must be a positive number, got {value!r}")
        if self.scratch > self.memory:
            raise ValueError(f"limit scratch ({self.scratch} bytes) must not exceed memory ({self.memory} bytes): "
                             "tmpfs pages count against the memory limit")

    def describe(self):
        """One line naming every limit, e.g. for the grader version and reports."""
        return (f"memory {describe_size(self.memory)}, scratch tmpfs {describe_size(self.scratch)} each, "
                f"CPU {self.cpu_seconds} s, wall {self.wall_seconds:g} s, {self.processes} processes, "
                f"files {describe_size(self.file_size)}")


DEFAULTS = {
    "package": Limits(memory=1 * GiB, scratch=64 * MiB, cpu_seconds=120, wall_seconds=1800,
                      processes=64, file_size=64 * MiB),
    "notebook": Limits(memory=4 * GiB, scratch=256 * MiB, cpu_seconds=3600, wall_seconds=1800,
                       processes=256, file_size=256 * MiB),
}
_SIZES = {"memory", "scratch", "file_size"}
_UNITS = {"": 1, "K": 1024, "M": MiB, "G": GiB}


def parse_size(text, name="size"):
    """Bytes of ``text`` (``536870912``, ``512M``, ``1.5G``); ValueError naming ``name`` otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValueError(f"{name} must be a size such as 536870912, 512M or 2G, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def env_name(profile, name):
    return f"CS_CONVNET_{profile.upper()}_{name.upper()}"


def load(profile, environ=None):
    """The :class:`Limits` of ``profile`` ("package" or "notebook"): the defaults, overridden by the environment."""
    if profile not in DEFAULTS:
        raise ValueError(f"profile must be one of {sorted(DEFAULTS)}, got {profile!r}")
    environ = os.environ if environ is None else environ
    values = {}
    for spec in fields(Limits):
        variable = env_name(profile, spec.name)
        text = environ.get(variable)
        if text is None:
            values[spec.name] = getattr(DEFAULTS[profile], spec.name)
        elif spec.name in _SIZES:
            values[spec.name] = parse_size(text, variable)
        else:
            try:
                values[spec.name] = float(text) if spec.name == "wall_seconds" else int(text)
            except ValueError:
                raise ValueError(f"{variable} must be a whole number of {spec.name.split('_')[0]}, "
                                 f"got {text!r}") from None
    try:
        return Limits(**values)
    except ValueError as error:
        raise ValueError(f"{profile} sandbox limits from the environment: {error}") from None


def package():
    """Limits of the package checks' worker."""
    return load("package")


def notebook():
    """Limits of nbgrader's notebook kernel."""
    return load("notebook")


def describe_size(value):
    for unit, factor in (("GiB", GiB), ("MiB", MiB)):
        if value >= factor and value % factor == 0:
            return f"{value // factor} {unit}"
    return f"{value} bytes"

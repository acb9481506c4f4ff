"""A sandboxed Python kernel for ``nbgrader autograde``.

nbgrader runs the learner's notebook in a Jupyter kernel. Started the normal
way, that kernel could read the course (the gradebook with every source cell,
other students' files) and write to it. Each private grading run therefore
gets its own kernelspec named ``python3`` (found first through ``JUPYTER_PATH``)
whose command starts the kernel inside bubblewrap:

- no network, user, pid, ipc and uts namespaces of its own (``--unshare-all``),
  ``--die-with-parent``: nothing it forks outlives the run;
- visible: the Python installation (read-only), the learner's ``cs_convnet``
  (student edition + their files, read-only), the notebook's build folder
  (its working directory), the folder holding the kernel's connection file and
  ZeroMQ ``ipc`` sockets, CIFAR-10 (read-only) if configured, and ``/tmp`` and
  ``/dev/shm`` as tmpfs of a fixed size; bubblewrap's own root and ``/dev`` are
  remounted read-only;
- not visible: the course directory, the gradebook (the run's own copy
  included), the instructor tree, ``autograder/``, other students;
- an empty environment but for ``PYTHONPATH`` (the learner's package),
  ``NBGRADER_EXECUTION`` and a few harmless variables;
- rlimits: address space, CPU time, file size, no core dumps;
- a memory cgroup and a pids cgroup, made by a trusted supervisor
  (:func:`autograder.sandbox.cgroups.supervise`, the kernelspec's command, outside the
  sandbox) that records them in the kernelspec's folder, which the kernel
  cannot see. :func:`kernel_memory_events` reads what the kernel's counters
  said and removes groups a killed supervisor left behind.

Every limit comes from :mod:`autograder.limits` (profile ``notebook``). The
kernel talks to nbgrader over ``ipc`` sockets (``KernelManager.transport``),
so it needs no network at all. Where bubblewrap does not work, the kernel
starts with the rlimits (and cgroups, where writable) only, and the run's
notes say so.
"""

import json
import os
import shutil
import sys
from pathlib import Path

from .. import limits as limits_module
from . import cgroups

CGROUP_RECORD = "cgroups.jsonl"   # in the kernelspec's folder: the supervisor's record

def _bwrap_usable():
    try:
        from .isolation import bwrap_works
    except ImportError:
        return False
    return bwrap_works()


def _python_dirs():
    """Folders the kernel's Python needs (interpreter, stdlib, venv), outside /usr."""
    import numpy

    dirs = {sys.base_prefix, sys.prefix, os.path.dirname(sys.executable),
            os.path.dirname(os.path.realpath(sys.executable)),
            str(Path(numpy.__file__).resolve().parent.parent)}
    dirs |= {os.path.realpath(d) for d in dirs}
    keep = sorted(d for d in dirs if os.path.isdir(d) and not (d == "/usr" or d.startswith("/usr/")))
    # drop folders already inside another kept one
    return [d for d in keep if not any(d != o and d.startswith(o + os.sep) for o in keep)]


def _cifar_bind():
    """The CIFAR-10 file or folder to show the kernel read-only, if configured."""
    value = os.environ.get("CS_CONVNET_CIFAR10")
    if value and os.path.exists(value):
        return os.path.realpath(value)
    default = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "cifar-10-python-reconstructed.tar.gz"
    return str(default) if default.exists() else None


def kernel_env(package_root):
    env = {"HOME": "/tmp", "TMPDIR": "/tmp", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp",
           "NBGRADER_EXECUTION": "autograde", "PATH": "/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CS_CONVNET_SANDBOX": "1"}
    if package_root:
        env["PYTHONPATH"] = str(package_root)
    cifar = _cifar_bind()
    if cifar:
        env["CS_CONVNET_CIFAR10"] = cifar
    return env


def kernel_argv(package_root, work_dirs, use_bwrap, record=None, limits=None):
    """The kernelspec ``argv``: the cgroup supervisor (if ``record`` is given) around bubblewrap
    (if usable) around Python with rlimits around ipykernel."""
    limits = limits if limits is not None else limits_module.notebook()
    supervisor = [] if record is None else [sys.executable, "-I", "-S", "-B", cgroups.__file__, str(record),
                                            str(limits.memory), str(limits.processes), "--"]
    python = [shutil.which("prlimit") or "/usr/bin/prlimit", f"--as={limits.memory}",
              f"--cpu={limits.cpu_seconds}", f"--fsize={limits.file_size}", "--core=0",
              sys.executable, "-B", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if not use_bwrap:
        return supervisor + python
    from .isolation import bwrap_base_args, bwrap_read_only_args

    args = supervisor + bwrap_base_args(limits.scratch)
    if Path("/etc").is_dir():  # passwd/hosts/fonts config; nothing of the course lives there
        args += ["--ro-bind", "/etc", "/etc"]
    for folder in _python_dirs():
        args += ["--ro-bind", folder, folder]
    if package_root:
        args += ["--ro-bind", str(package_root), str(package_root)]
    cifar = _cifar_bind()
    if cifar:
        args += ["--ro-bind", cifar, cifar]
    for folder in work_dirs:
        args += ["--bind", str(folder), str(folder)]
    args += bwrap_read_only_args() + ["--clearenv"]
    for key, value in kernel_env(package_root).items():
        args += ["--setenv", key, value]
    return args + python


def install_kernelspec(scratch, package_root, work_dirs, isolation="auto"):
    """Write ``scratch/jupyter/kernels/python3``; return (JUPYTER_PATH entry, isolation description)."""
    use_bwrap = isolation == "bubblewrap" or (isolation == "auto" and _bwrap_usable())
    folder = Path(scratch) / "jupyter" / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    # interrupts travel as messages: a signal to bwrap would not reach the kernel inside
    limits = limits_module.notebook()
    probe = cgroups.SandboxCgroup.create(limits.memory, limits.processes)
    cgroups_in_force = probe.memory is not None and probe.pids is not None
    probe.destroy()
    record = folder / CGROUP_RECORD
    spec = {"argv": kernel_argv(package_root, work_dirs, use_bwrap, record, limits),
            "display_name": "Python 3 (grading sandbox)",
            "language": "python", "interrupt_mode": "message", "metadata": {"debugger": False}}
    if not use_bwrap:
        spec["env"] = kernel_env(package_root)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    size = limits_module.describe_size
    rlimits = (f"rlimits (address space {size(limits.memory)}, CPU {limits.cpu_seconds} s, "
               f"files {size(limits.file_size)}, per process)")
    in_force, missing = [], []
    if use_bwrap:
        in_force.append("bubblewrap (no network, only the Python installation, the learner's package and the "
                        f"notebook's folder visible; /tmp and /dev/shm tmpfs of {size(limits.scratch)} each)")
    else:
        missing.append("bubblewrap (unavailable): the kernel can read the grading machine's files")
    in_force.append(rlimits)
    if cgroups_in_force:
        in_force.append(f"memory cgroup ({size(limits.memory)} for all its processes, tmpfs, shared memory "
                        f"and page cache) + pids cgroup ({limits.processes} processes)")
    else:
        missing.append(f"memory and pids cgroups ({probe.describe_missing() or 'not writable'})")
    described = " + ".join(in_force) + f"; wall time {limits.wall_seconds:g} s in all"
    if missing:
        described += ". NOT in force: " + "; ".join(missing)
    return str(Path(scratch) / "jupyter"), described


def kernel_memory_events(jupyter_path):
    """Out-of-memory events the kernels' memory cgroups counted (read by the trusted side), after
    removing any group a killed supervisor left behind."""
    oom, _ = cgroups.collect_records(Path(jupyter_path) / "kernels" / "python3" / CGROUP_RECORD)
    return oom


def runtime_dir():
    """A short private folder for the kernel's connection file and ipc sockets.

    Unix socket paths are limited to 107 bytes, which a scratch folder deep in a
    course directory easily exceeds.
    """
    import tempfile

    return Path(tempfile.mkdtemp(prefix="csk-"))

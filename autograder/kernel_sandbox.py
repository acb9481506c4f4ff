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
  ZeroMQ ``ipc`` sockets, CIFAR-10 (read-only) if configured, a private ``/tmp``;
- not visible: the course directory, the gradebook (the run's own copy
  included), the instructor tree, ``autograder/``, other students;
- an empty environment but for ``PYTHONPATH`` (the learner's package),
  ``NBGRADER_EXECUTION`` and a few harmless variables;
- rlimits: address space, file size, no core dumps.

The kernel talks to nbgrader over ``ipc`` sockets (``KernelManager.transport``),
so it needs no network at all. Where bubblewrap does not work, the kernel
starts with the rlimits only, and the run's notes say so.
"""

import json
import os
import shutil
import sys
from pathlib import Path

KERNEL_MEMORY = 4 * 1024**3       # address space of the kernel, bytes
KERNEL_FILE_SIZE = 256 * 1024**2  # largest file the kernel may write

def _bwrap_usable():
    try:
        from .sandbox import bwrap_works
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
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar-10-python-reconstructed.tar.gz"
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


def kernel_argv(package_root, work_dirs, use_bwrap):
    """The kernelspec ``argv``: bubblewrap (if usable) around Python with rlimits around ipykernel."""
    python = [shutil.which("prlimit") or "/usr/bin/prlimit", f"--as={KERNEL_MEMORY}",
              f"--fsize={KERNEL_FILE_SIZE}", "--core=0",
              sys.executable, "-B", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if not use_bwrap:
        return python
    from .sandbox import bwrap_base_args

    args = bwrap_base_args()
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
    args += ["--clearenv"]
    for key, value in kernel_env(package_root).items():
        args += ["--setenv", key, value]
    return args + python


def install_kernelspec(scratch, package_root, work_dirs, isolation="auto"):
    """Write ``scratch/jupyter/kernels/python3``; return (JUPYTER_PATH entry, isolation description)."""
    use_bwrap = isolation == "bubblewrap" or (isolation == "auto" and _bwrap_usable())
    folder = Path(scratch) / "jupyter" / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    # interrupts travel as messages: a signal to bwrap would not reach the kernel inside
    spec = {"argv": kernel_argv(package_root, work_dirs, use_bwrap), "display_name": "Python 3 (grading sandbox)",
            "language": "python", "interrupt_mode": "message", "metadata": {"debugger": False}}
    if not use_bwrap:
        spec["env"] = kernel_env(package_root)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    described = ("bubblewrap (no network, only the Python installation, the learner's package and the "
                 "notebook's folder visible) + rlimits" if use_bwrap else
                 "rlimits only (bubblewrap unavailable): the kernel can read the grading machine's files")
    return str(Path(scratch) / "jupyter"), described


def runtime_dir():
    """A short private folder for the kernel's connection file and ipc sockets.

    Unix socket paths are limited to 107 bytes, which a scratch folder deep in a
    course directory easily exceeds.
    """
    import tempfile

    return Path(tempfile.mkdtemp(prefix="csk-"))

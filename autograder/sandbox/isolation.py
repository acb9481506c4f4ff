"""Starting and stopping a sandboxed worker (:class:`Worker`).

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
and, where cgroups are writable (:mod:`autograder.sandbox.cgroups`), a memory
cgroup that counts everything the worker's processes pin and a pids cgroup,
through which every process of the worker is killed at the end. All limits
come from :mod:`autograder.limits` (profile ``package``).
"""

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import limits as limits_module
from . import cgroups
from .protocol import WorkerFailure, receive_message, send_message

STARTUP_TIMEOUT = 30.0            # seconds to import numpy and say "ready"

SCRATCH_PATHS = ("/tmp", "/dev/shm")   # the sandbox's only writable places (bubblewrap), tmpfs of limits.scratch
SCRATCH_FULL_SLACK = 1024**2           # a scratch tmpfs with less free space than this is full
_SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "CS_CONVNET_SANDBOX": "1",
}


class SandboxError(RuntimeError):
    """The sandbox itself could not start: a problem of the grading machine, not of a submission."""


_BWRAP_OK = None
_BWRAP_SIZE = None


def bwrap_path():
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)


def _python_binds():
    """Read-only folders the worker's Python needs: the interpreter, stdlib, venv and numpy."""
    dirs = {sys.base_prefix, sys.prefix, str(Path(np.__file__).resolve().parent.parent),
            str(Path(sys.executable).parent), str(Path(os.path.realpath(sys.executable)).parent)}
    dirs = sorted({os.path.realpath(d) for d in dirs} | dirs)
    keep = []
    for d in dirs:
        if d.startswith("/usr/") or d == "/usr" or not os.path.isdir(d):
            continue
        keep.append(d)
    return keep


def bwrap_base_args(scratch):
    """bubblewrap's command start: every namespace unshared (no network), no capabilities,
    dies with its parent, the system folders (/usr and its usual links) read-only, a
    private /proc and /dev, and /tmp and /dev/shm as tmpfs of ``scratch`` bytes each.

    The private /tmp comes first so that later binds of folders under /tmp (a virtual
    environment or a course checked out there) stay visible instead of being hidden by it.
    Finish the command with :func:`bwrap_read_only_args` after the last mount.
    """
    args = [bwrap_path(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "lib32", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{name}"]
    size = ["--size", str(scratch)] if bwrap_sizes_tmpfs() else []
    return args + ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp", *size, "--tmpfs", "/dev/shm"]


def bwrap_sizes_tmpfs():
    """Whether this bubblewrap has ``--size`` (0.8 and later); without it the scratch tmpfs are unsized."""
    global _BWRAP_SIZE
    if _BWRAP_SIZE is None:
        try:
            text = subprocess.run([bwrap_path(), "--version"], capture_output=True, text=True, timeout=10).stdout
            version = tuple(int(part) for part in text.split()[-1].split(".")[:2])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            version = (0, 0)
        _BWRAP_SIZE = version >= (0, 8)
    return _BWRAP_SIZE


def bwrap_read_only_args():
    """Remount bubblewrap's own tmpfs (the root, /dev) read-only: they have no size limit."""
    return ["--remount-ro", "/dev", "--remount-ro", "/"]


def _bwrap_command(root, worker_args, scratch):
    args = bwrap_base_args(scratch)
    for d in _python_binds():
        args += ["--ro-bind", d, d]
    args += ["--ro-bind", str(root), "/sandbox"] + bwrap_read_only_args() + ["--chdir", "/tmp", "--clearenv"]
    for key, value in _SAFE_ENV.items():
        args += ["--setenv", key, value]
    return args + [sys.executable, "-I", "-S", "-B", "/sandbox/_grading_worker.py", "--root", "/sandbox"] + worker_args


def _worker_args(fd_in, fd_out):
    return ["--site", str(Path(np.__file__).resolve().parent.parent), "--fd-in", str(fd_in), "--fd-out", str(fd_out)]


def bwrap_works():
    """Whether bubblewrap can start a Python here (checked once per process)."""
    global _BWRAP_OK
    if _BWRAP_OK is None:
        _BWRAP_OK = False
        if bwrap_path():
            probe = tempfile.mkdtemp(prefix="cs-convnet-probe-")
            try:
                command = _bwrap_command(probe, [], limits_module.package().scratch)
                command = command[: command.index(sys.executable) + 1] + ["-I", "-S", "-c", "pass"]
                _BWRAP_OK = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, timeout=30).returncode == 0
            except (OSError, subprocess.SubprocessError):
                _BWRAP_OK = False
            finally:
                shutil.rmtree(probe, ignore_errors=True)
    return _BWRAP_OK


def _die_with_parent():
    """Ask the kernel to SIGKILL this (child) process when the grading process dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _sandbox_child(pid):
    """Host pid of the process bubblewrap ``pid`` started in its namespaces (the sandbox's pid 1), or None."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


class Worker:
    """One sandboxed worker process; restart it with :meth:`start` after a failure.

    ``limits`` (an :class:`autograder.limits.Limits`, default the ``package``
    profile) sets the memory cgroup and address space, the scratch tmpfs size,
    CPU time, file size and process count of each start.
    """

    def __init__(self, root, isolation="auto", limits=None):
        if isolation not in ("auto", "bubblewrap", "rlimits"):
            raise ValueError(f"isolation must be 'auto', 'bubblewrap' or 'rlimits', got {isolation!r}")
        use_bwrap = isolation == "bubblewrap" or (isolation == "auto" and bwrap_works())
        if isolation == "bubblewrap" and not bwrap_works():
            raise RuntimeError("bubblewrap was requested but does not work on this machine")
        self.root = Path(root)
        self.requested = isolation
        self.mode = "bubblewrap" if use_bwrap else "rlimits"
        self.limits = limits if limits is not None else limits_module.package()
        self.process = None
        self.cgroup = None          # the SandboxCgroup of the running worker
        self.workdir = None
        self.starts = 0
        self._joined = {}           # controller -> whether every start ran inside its cgroup
        self._cgroup_problems = []
        self._cgroup_version = None
        self._oom_seen = 0          # out-of-memory events of the current cgroup already reported

    @property
    def isolation(self):
        """Every limit in force, and plainly those that were not."""
        lim = self.limits
        size = limits_module.describe_size
        rlimits = (f"rlimits (address space {size(lim.memory)}, CPU {lim.cpu_seconds} s, "
                   f"files {size(lim.file_size)}, per process)")
        missing = []
        if self.mode == "bubblewrap":
            in_force = ["bubblewrap (user/pid/net/ipc namespaces, read-only Python and submission, empty "
                        f"environment; writable only /tmp and /dev/shm, tmpfs of {size(lim.scratch)} each)", rlimits]
            if not bwrap_sizes_tmpfs():
                in_force[0] = in_force[0].replace(f"tmpfs of {size(lim.scratch)} each", "tmpfs")
                missing.append("sized scratch space (bubblewrap older than 0.8 has no --size): /tmp and "
                               "/dev/shm may grow to half the host's memory")
        else:
            why = "not requested" if self.requested == "rlimits" else "unavailable"
            in_force = [rlimits, "new session + scrubbed environment + fresh working directory"]
            missing.append(f"bubblewrap {why}: no file-system or network isolation, no sized scratch space "
                           "(the host's /tmp and /dev/shm are writable)")
        version = f" v{self._cgroup_version}" if self._cgroup_version else ""
        if self._joined.get("memory"):
            in_force.append(f"memory cgroup{version} ({size(lim.memory)} for all its processes, tmpfs, "
                            "shared memory and page cache, swap included)")
        else:
            missing.append("memory cgroup (memory outside the address space is not limited)")
        if self._joined.get("pids"):
            in_force.append(f"pids cgroup ({lim.processes} processes)")
        else:
            missing.append("pids cgroup (no process cap; forked processes may escape the final kill)")
        text = " + ".join(in_force) + f"; wall time {lim.wall_seconds:g} s in all"
        if missing:
            problems = f" [{'; '.join(dict.fromkeys(self._cgroup_problems))}]" if self._cgroup_problems else ""
            text += ". NOT in force: " + "; ".join(missing) + problems
        return text

    def _preexec(self):
        lim = self.limits
        resource.setrlimit(resource.RLIMIT_AS, (lim.memory, lim.memory))
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim.file_size, lim.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _die_with_parent()
        if self.cgroup is not None:
            try:
                self.cgroup.add(os.getpid())
            except OSError:
                pass   # checked after the start: the report then says the cgroup was not in force

    def start(self):
        """Start (or restart) the worker and wait for it to report ready."""
        self.stop()
        self.starts += 1
        self.cgroup = cgroups.SandboxCgroup.create(self.limits.memory, self.limits.processes)
        self._cgroup_problems += self.cgroup.problems
        self._cgroup_version = self._cgroup_version or self.cgroup.version
        self._oom_seen = 0
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        self.workdir = tempfile.mkdtemp(prefix="cs-convnet-work-")
        self.stderr_path = Path(self.workdir) / ".stderr"
        stderr = open(self.stderr_path, "wb")
        if self.mode == "bubblewrap":
            command = _bwrap_command(self.root, _worker_args(to_worker_r, from_worker_w), self.limits.scratch)
            env = {}
            cwd = self.workdir
        else:
            command = [sys.executable, "-I", "-S", "-B", str(self.root / "_grading_worker.py"),
                       "--root", str(self.root)] + _worker_args(to_worker_r, from_worker_w)
            env = dict(_SAFE_ENV, HOME=self.workdir, TMPDIR=self.workdir)
            cwd = self.workdir

        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                cwd=cwd, env=env, start_new_session=True, preexec_fn=self._preexec,
                pass_fds=(to_worker_r, from_worker_w), close_fds=True,
            )
        finally:
            stderr.close()
            os.close(to_worker_r)
            os.close(from_worker_w)
        self.fd_out, self.fd_in = to_worker_w, from_worker_r
        # No learner code runs before "ready" (the learner's modules are imported on request),
        # so a failure here is the machine's, and must not become a zero grade.
        try:
            header, _ = receive_message(self.fd_in, time.monotonic() + STARTUP_TIMEOUT)
        except WorkerFailure as failure:
            try:
                tail = self.stderr_path.read_text(errors="replace")[-2000:]
            except OSError:
                tail = ""
            self.stop()
            raise SandboxError(f"the {self.mode} sandbox did not start ({failure.detail}): {tail}") from None
        if header.get("op") != "ready":
            self.stop()
            raise SandboxError(f"the {self.mode} sandbox did not start: unexpected first message")
        # the report names a cgroup only if every start of the worker really ran inside it
        for controller in ("memory", "pids"):
            group = getattr(self.cgroup, controller)
            try:
                joined = group is not None and str(self.process.pid) in (group / "cgroup.procs").read_text().split()
            except OSError:
                joined = False
            self._joined[controller] = self._joined.get(controller, True) and joined

    def memory_exhausted(self):
        """Why the kernel says the worker ran out of memory since the last look, or None.

        Read by this process, never asked of the worker: an out-of-memory event of
        the memory cgroup (a process killed, an allocation refused at the limit),
        or a scratch tmpfs with no space left.
        """
        reasons = []
        if self.cgroup is not None and self.cgroup.memory is not None:
            events = self.cgroup.memory_events()
            count = max(events.get("oom_kill", 0), events.get("oom", 0))
            if count > self._oom_seen:
                self._oom_seen = count
                reasons.append(f"the sandbox's memory cgroup reached its limit of "
                               f"{limits_module.describe_size(self.limits.memory)} (memory of all its "
                               f"processes, tmpfs, shared memory and memfd; {count} out-of-memory "
                               f"event{'s' if count > 1 else ''}, the kernel killed the largest process)")
        if self.mode == "bubblewrap" and self.process is not None:
            child = _sandbox_child(self.process.pid)
            for path in SCRATCH_PATHS if child else ():
                try:
                    info = os.statvfs(f"/proc/{child}/root{path}")
                except OSError:
                    continue
                if info.f_bavail * info.f_frsize < SCRATCH_FULL_SLACK:
                    reasons.append(f"its scratch space {path} (a tmpfs of "
                                   f"{limits_module.describe_size(self.limits.scratch)}) is full")
        return "; ".join(reasons) or None

    def _fail(self, failure):
        """Stop the worker and raise ``failure``, relabelled "memory" if the kernel saw memory run out."""
        if failure.kind == "crash":
            failure.detail = self._death_note()
        memory = self.memory_exhausted()
        self.stop()
        if memory:
            raise WorkerFailure("memory", f"{memory} -- {failure.detail}") from None
        raise failure

    def _receive(self, deadline):
        try:
            return receive_message(self.fd_in, deadline)
        except WorkerFailure as failure:
            self._fail(failure)

    def _death_note(self):
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the worker closed its pipe"
        if self.mode == "bubblewrap" and code > 128:
            code = 128 - code   # bwrap reports a child killed by signal s as status 128 + s
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = {"SIGSEGV": " (segmentation fault)", "SIGKILL": " (killed: memory or process limit?)",
                    "SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)"}.get(name, "")
            return f"the worker was killed by {name}{hint}"
        return f"the worker's Python exited with status {code}" + (
            " (os._exit, sys.exit or a fatal error in the learner's code?)" if code else "")

    def request(self, header, arrays=(), timeout=10.0, oracle=None):
        """Send one request and return (reply header, arrays).

        ``oracle(header, arrays) -> (header, arrays)`` answers the worker's
        questions asked during the request (trusted reference layers for
        classifier checks). Raises :class:`WorkerFailure` after stopping the
        worker if it dies, breaks the protocol, exceeds ``timeout`` seconds or,
        by the kernel's counters, ran out of memory (kind ``"memory"``, even if
        it answered).
        """
        if self.process is None:
            self.start()
        deadline = time.monotonic() + timeout
        try:
            send_message(self.fd_out, header, list(arrays), deadline)
        except WorkerFailure as failure:
            self._fail(failure)
        while True:
            reply, reply_arrays = self._receive(deadline)
            if reply.get("op") != "oracle":
                break
            if oracle is None:
                self._fail(WorkerFailure("protocol", "unexpected question from the worker"))
            answer, answer_arrays = oracle(reply, reply_arrays)
            try:
                send_message(self.fd_out, answer, answer_arrays, deadline)
            except WorkerFailure as failure:
                self._fail(failure)
        memory = self.memory_exhausted()
        if memory:
            self.stop()
            raise WorkerFailure("memory", memory)
        return reply, reply_arrays

    def stop(self):
        """Kill the worker and every process it started; never leaves one behind."""
        process, self.process = self.process, None
        for fd_name in ("fd_out", "fd_in"):
            fd = getattr(self, fd_name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, fd_name, None)
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.kill()
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.cgroup is not None:   # SIGKILLs what is left inside (setsid escapes included), removes it
            self.cgroup.destroy()
            self.cgroup = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

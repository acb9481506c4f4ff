"""Per-sandbox control groups: a memory limit that counts everything, a process cap, a kill switch.

Trusted code. :meth:`SandboxCgroup.create` makes, for one sandboxed process
tree, a memory cgroup (cgroup v1 ``memory.limit_in_bytes`` and
``memory.memsw.limit_in_bytes``; cgroup v2 ``memory.max`` and
``memory.swap.max``) and a pids cgroup (``pids.max``). The memory cgroup
charges what ``RLIMIT_AS`` never sees: tmpfs and ``/dev/shm`` files, memfd and
``MAP_SHARED`` pages, SysV shared memory and the page cache of written files,
summed over every process of the tree.

They are created as children of the cgroups this process is in (see
``/proc/self/cgroup``), named ``cs-convnet-<pid>-<start time>-<random>`` after
the grading process that owns them. :meth:`destroy` kills every process left
inside and removes them; groups whose owner died without doing so (a killed
grading process or batch worker) are reaped by the next :meth:`create` under
the same parent, or by :func:`reap_stale`.

The trusted side reads the outcome from the kernel's counters
(:meth:`memory_events`): v1 ``memory.oom_control`` (``oom_kill``) and
``memory.failcnt``, v2 ``memory.events`` (``oom``, ``oom_kill``, ``max``).
Where no cgroup is writable, ``create`` returns a group whose ``memory`` and
``pids`` are None, and :meth:`describe_missing` says so.
"""

import json
import os
import re
import signal
import time
import uuid
from pathlib import Path

PREFIX = "cs-convnet-"
_NAME = re.compile(rf"{PREFIX}(\d+)-(\d+)-[0-9a-f]+")


def _mounts():
    """{controller: mount point} of cgroup v1 hierarchies, and "unified" for cgroup v2."""
    found = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fstype, _, options = (right.split(" ") + ["", "", ""])[:3]
        mount_point = left.split(" ")[4]
        if fstype == "cgroup2":
            found.setdefault("unified", mount_point)
        elif fstype == "cgroup":
            for option in options.split(","):
                if option in ("memory", "pids"):
                    found.setdefault(option, mount_point)
    return found


def _own_paths():
    """{controller or "unified": path of this process's cgroup} from /proc/self/cgroup."""
    paths = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            paths["unified"] = path
        for name in controllers.split(","):
            if name in ("memory", "pids"):
                paths[name] = path
    return paths


def parents():
    """{"memory": (dir, version), "pids": (dir, version)} where this process may create sandbox cgroups."""
    mounts, own = _mounts(), _own_paths()
    found = {}
    for controller in ("memory", "pids"):
        if controller in mounts and controller in own:
            found[controller] = (Path(mounts[controller] + own[controller].rstrip("/")), 1)
        elif "unified" in mounts and "unified" in own:
            base = Path(mounts["unified"] + own["unified"].rstrip("/"))
            try:
                if controller in (base / "cgroup.controllers").read_text().split():
                    found[controller] = (base, 2)
            except OSError:
                pass
    return found


def _start_time(pid):
    """The process's start time in clock ticks (field 22 of /proc/PID/stat), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _owner_alive(name):
    match = _NAME.fullmatch(name)
    return match is None or _start_time(int(match.group(1))) == int(match.group(2))


def kill_and_remove(group, attempts=200):
    """SIGKILL every process in ``group`` (a cgroup folder) until it is empty, then remove it; True if removed."""
    for attempt in range(attempts):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return not group.exists()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            group.rmdir()   # fails while a process (even a dying one) is still inside
            return True
        except OSError:
            time.sleep(min(0.0005 * 2**attempt, 0.05))   # dying processes free their memory first: ~10 s at most
    return False


def reap_stale(parent):
    """Remove the sandbox cgroups under ``parent`` whose grading process is gone; return how many."""
    removed = 0
    try:
        children = [child for child in Path(parent).iterdir() if child.name.startswith(PREFIX)]
    except OSError:
        return 0
    for child in children:
        if child.is_dir() and not _owner_alive(child.name) and kill_and_remove(child):
            removed += 1
    return removed


def _write(path, value):
    with open(path, "w") as handle:
        handle.write(str(value))


def _read_keyed(path):
    """{key: int} of a flat-keyed cgroup file (``memory.events``, ``memory.oom_control``)."""
    values = {}
    try:
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(" ")
            if value.strip().lstrip("-").isdigit():
                values[key] = int(value)
    except OSError:
        pass
    return values


def _read_int(path):
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class SandboxCgroup:
    """The memory and pids cgroups of one sandbox; ``memory``/``pids`` are None where not writable."""

    def __init__(self, memory=None, pids=None, version=None, problems=()):
        self.memory, self.pids, self.version = memory, pids, version
        self.problems = list(problems)
        self.memory_limit = None
        self.process_limit = None

    @classmethod
    def create(cls, memory_limit, process_limit):
        """Make fresh cgroups capped at ``memory_limit`` bytes (swap included) and ``process_limit`` tasks."""
        group = cls()
        name = f"{PREFIX}{os.getpid()}-{_start_time(os.getpid())}-{uuid.uuid4().hex[:12]}"
        where = parents()
        made = {}
        for controller in ("memory", "pids"):
            if controller not in where:
                group.problems.append(f"no {controller} cgroup controller mounted for this process")
                continue
            parent, version = where[controller]
            reap_stale(parent)
            path = parent / name
            try:
                if version == 2:
                    _write(parent / "cgroup.subtree_control", f"+{controller}")
                path.mkdir(exist_ok=True)
                made[controller] = path
                if controller == "memory":
                    group._limit_memory(path, version, memory_limit)
                else:
                    _write(path / "pids.max", process_limit)
            except OSError as error:
                group.problems.append(f"the {controller} cgroup under {parent} is not writable "
                                      f"({error.strerror or error})")
                made.pop(controller, None)
                if path not in made.values():
                    kill_and_remove(path, attempts=1)
                continue
            group.version = version
        group.memory, group.pids = made.get("memory"), made.get("pids")
        if group.memory is not None:
            group.memory_limit = memory_limit
        if group.pids is not None:
            group.process_limit = process_limit
        return group

    @staticmethod
    def _limit_memory(path, version, limit):
        if version == 2:
            _write(path / "memory.max", limit)
            if (path / "memory.swap.max").exists():
                _write(path / "memory.swap.max", 0)
            return
        _write(path / "memory.limit_in_bytes", limit)
        if (path / "memory.memsw.limit_in_bytes").exists():   # absent when swap accounting is off
            _write(path / "memory.memsw.limit_in_bytes", limit)

    def procs_files(self):
        """The ``cgroup.procs`` files a process writes its pid into to join (each folder once)."""
        return [group / "cgroup.procs" for group in dict.fromkeys(g for g in (self.memory, self.pids) if g)]

    def add(self, pid):
        """Move process ``pid`` into the groups; raises OSError if one refuses."""
        for procs in self.procs_files():
            _write(procs, pid)

    def pids_inside(self):
        for group in (self.memory, self.pids):
            if group is not None:
                try:
                    return [int(p) for p in (group / "cgroup.procs").read_text().split()]
                except OSError:
                    pass
        return []

    def memory_events(self):
        """Counters of the memory cgroup: ``oom_kill`` (processes the kernel killed for memory),
        ``limit_hit`` (times an allocation reached the limit), ``peak`` (bytes); {} without one."""
        if self.memory is None:
            return {}
        if self.version == 2:
            events = _read_keyed(self.memory / "memory.events")
            return {"oom_kill": events.get("oom_kill", 0), "oom": events.get("oom", 0),
                    "limit_hit": events.get("max", 0),
                    "peak": _read_int(self.memory / "memory.peak")}
        control = _read_keyed(self.memory / "memory.oom_control")
        failures = [_read_int(self.memory / name) or 0 for name in ("memory.failcnt", "memory.memsw.failcnt")]
        return {"oom_kill": control.get("oom_kill", 0), "oom": control.get("oom_kill", 0),
                "limit_hit": max(failures), "peak": _read_int(self.memory / "memory.max_usage_in_bytes")}

    def destroy(self):
        """Kill every process still inside and remove the groups (the pids group first: it holds all)."""
        for group in dict.fromkeys(g for g in (self.pids, self.memory) if g):
            kill_and_remove(group)
        self.memory = self.pids = None

    def describe_missing(self):
        """Why a limit of this group is not in force ('' when both are)."""
        return "; ".join(self.problems)


# --------------------------------------------------------------------------
# Supervising a process that someone else starts (nbgrader's notebook kernel)
# --------------------------------------------------------------------------

def supervise(record, memory_limit, process_limit, command):
    """Run ``command`` inside fresh sandbox cgroups and return its exit status (128 + signal if killed).

    Trusted: runs outside the sandbox, as the kernelspec's command. Appends JSON
    lines to ``record`` (a file the sandboxed process cannot see): the groups
    when made, then their memory counters when ``command`` ends. If this process
    is killed first, the groups outlive it; :func:`collect_records` reads and
    removes them.
    """
    group = SandboxCgroup.create(memory_limit, process_limit)

    def note(**entry):
        with open(record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    note(memory=str(group.memory) if group.memory else None, pids=str(group.pids) if group.pids else None,
         version=group.version, problems=group.problems)
    child = os.fork()
    if child == 0:
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
            group.add(os.getpid())
            os.execvp(command[0], command)
        finally:
            os._exit(127)

    def forward(received, frame):
        try:
            os.kill(child, received)
        except ProcessLookupError:
            pass

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, forward)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            status = 0
            break
        except InterruptedError:
            continue
    note(memory=str(group.memory) if group.memory else None, events=group.memory_events(), ended=True)
    group.destroy()
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def collect_records(record):
    """Read a :func:`supervise` record: remove groups left behind; return (out-of-memory events, problems).

    A group whose supervisor was killed is read here, by the trusted side, before it is removed.
    """
    oom, problems = 0, []
    try:
        lines = Path(record).read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0, []
    started, ended = {}, {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("ended"):
            ended[entry.get("memory")] = entry.get("events") or {}
        else:
            started[entry.get("memory") or f"none-{len(started)}"] = entry
            problems += entry.get("problems") or []
    for memory, entry in started.items():
        events = ended.get(memory)
        if events is None and entry.get("memory"):
            group = SandboxCgroup(Path(entry["memory"]), Path(entry["pids"]) if entry.get("pids") else None,
                                  entry.get("version"))
            events = group.memory_events()
            group.destroy()
        elif events is None and entry.get("pids"):
            kill_and_remove(Path(entry["pids"]))
        events = events or {}
        oom += max(events.get("oom_kill", 0), events.get("oom", 0))
    return oom, list(dict.fromkeys(problems))


def main(argv):
    """``python cgroups.py RECORD MEMORY_BYTES PROCESSES -- COMMAND...`` (see :func:`supervise`)."""
    record, memory_limit, process_limit, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: cgroups.py RECORD MEMORY_BYTES PROCESSES -- COMMAND...")
    return supervise(record, int(memory_limit), int(process_limit), command)


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))

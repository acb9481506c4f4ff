"""Is memory that RLIMIT_AS does not see contained, and labelled out-of-memory by the trusted side?

Each hostile submission's relu_forward pins memory outside its address space
(tmpfs, /dev/shm, memfd, shared mappings held by children, a fork tree, every
writable path), then returns the right answer: only the kernel's counters,
read by the grading process, can fail it. Each must cost relu_forward its
points with a "memory" learner failure, grade every other function normally,
and grow the memory of the cgroup holding the whole grading run (the grading
process, its sandboxes, anything they pinned) by at most the sandbox's limit
plus a small margin. The limits are small (512 MiB) so each run takes seconds.
"""

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from autograder import limits
from autograder.course import prepare as prepare_mod
from autograder.engine import grade_one, tasks
from autograder.qa.samples import reference_files, replace_function, write_submission
from autograder.sandbox import cgroups
from autograder.sandbox.isolation import Worker, bwrap_works
from autograder.sandbox.protocol import decode
from autograder.sandbox.root import prepare_root
from support.paths import REPO

MEMORY = 512 * limits.MiB   # 256 MiB starves the honest convnet check into thrashing
SCRATCH = 32 * limits.MiB
MARGIN = 24 * limits.MiB
LIMITS_ENV = {"CS_CONVNET_PACKAGE_MEMORY": str(MEMORY), "CS_CONVNET_PACKAGE_SCRATCH": str(SCRATCH)}
TIMEOUT = "10"   # seconds per check: the convnet check needs several on a busy 2-core machine

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap does not work on this machine")

FILL = '''
def relu_forward(x):
    import os
    import numpy as np
    chunk = b"x" * (8 << 20)
    for place in PLACES:
        for i in range(10**4):
            try:
                with open(os.path.join(place, f".fill{i}"), "wb") as handle:
                    handle.write(chunk)
            except OSError:
                break
    return np.maximum(x, 0), x
'''
SWEEP = '''
def relu_forward(x):
    import os
    import numpy as np
    chunk = b"x" * (8 << 20)
    with open("/proc/self/mounts") as handle:      # writability is a mount's: try every mount point
        places = {line.split()[1] for line in handle} | {"/"}
    for top in sorted(places):
        if top.startswith(("/proc", "/sys")):
            continue
        for i in range(10**4):
            try:
                with open(os.path.join(top, f".fill{i}"), "wb") as handle:
                    handle.write(chunk)
            except OSError:
                break
    return np.maximum(x, 0), x
'''
MEMFD = '''
def relu_forward(x, _keep=[]):
    import os
    import numpy as np
    chunk = b"x" * (8 << 20)
    try:
        while True:
            fd = os.memfd_create("fill")
            _keep.append(fd)
            for _ in range(4):
                os.write(fd, chunk)
    except OSError:
        pass
    return np.maximum(x, 0), x
'''
SHARED_MAPS = '''
def relu_forward(x):
    import mmap, os, time
    import numpy as np
    for _ in range(40):
        try:
            area = mmap.mmap(-1, 32 << 20, flags=mmap.MAP_SHARED)
            for start in range(0, 32 << 20, 4096):
                area[start] = 1
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            area.close()
        except OSError:
            break
    return np.maximum(x, 0), x
'''
FORK_TREE = '''
def relu_forward(x):
    import os, resource, select, time
    import numpy as np
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    with open("/proc/self/status") as handle:
        used = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))
    size = limit - used - (24 << 20)      # each child: just under its address-space limit
    read, write = os.pipe()
    for _ in range(6):
        if os.fork() == 0:
            block = bytearray(size)
            for start in range(0, size, 4096):
                block[start] = 1
            os.write(write, b"1")
            time.sleep(60)
            os._exit(0)
    os.close(write)
    deadline, ready = time.monotonic() + 3, 0
    while ready < 6 and select.select([read], [], [], max(0, deadline - time.monotonic()))[0]:
        got = os.read(read, 6)
        if not got:
            break
        ready += len(got)
    return np.maximum(x, 0), x
'''
ATTACKS = {
    "tmpfs": FILL.replace("PLACES", '["/tmp"]'),
    "dev-shm": FILL.replace("PLACES", '["/dev/shm"]'),
    "memfd": MEMFD,
    "shared-mappings": SHARED_MAPS,
    "fork-tree": FORK_TREE,
    "every-writable-path": SWEEP,
}
NEEDS_CGROUP = {"memfd", "shared-mappings", "fork-tree"}


def hostile(name):
    files = reference_files()
    files["cs_convnet/layers.py"] = replace_function(files["cs_convnet/layers.py"], "relu_forward",
                                                     textwrap.dedent(ATTACKS[name]))
    return files


def _measuring_parent():
    """(memory cgroup folder to measure runs under, None) or (None, why not)."""
    where = cgroups.parents().get("memory")
    if where is None:
        return None, "no memory cgroup controller for this process"
    parent, version = where
    if version != 1:
        return None, "measuring runs needs cgroup v1 (v2 forbids processes next to child cgroups)"
    probe = cgroups.SandboxCgroup.create(MEMORY, 64)
    made = probe.memory is not None
    probe.destroy()
    if not made:
        return None, f"the memory cgroup is not writable: {probe.describe_missing()}"
    if (parent / "memory.use_hierarchy").read_text().strip() != "1":
        return None, "memory.use_hierarchy is off: a parent would not count its children"
    return parent, None


MEASURE_PARENT, NO_CGROUP = _measuring_parent()
needs_cgroup = pytest.mark.skipif(MEASURE_PARENT is None, reason=f"cgroups not writable here: {NO_CGROUP}")


def run_measured(command, timeout=300):
    """Run ``command`` inside a fresh memory cgroup without limit; return (completed, peak bytes, shmem left)."""
    group = MEASURE_PARENT / f"measure-{uuid.uuid4().hex[:12]}"
    group.mkdir()
    procs = str(group / "cgroup.procs")

    def join():
        with open(procs, "w") as handle:
            handle.write(str(os.getpid()))

    env = dict(os.environ, **LIMITS_ENV, PYTHONPATH=str(REPO))
    try:
        completed = subprocess.run(command, env=env, preexec_fn=join, capture_output=True, text=True,
                                   timeout=timeout, cwd=REPO)
        peak = int((group / "memory.max_usage_in_bytes").read_text())
        stat = dict(line.split() for line in (group / "memory.stat").read_text().splitlines())
        return completed, peak, int(stat["total_shmem"])
    finally:
        cgroups.reap_stale(group)
        cgroups.kill_and_remove(group)


def grade_measured(submission, tmp_path):
    out = tmp_path / f"report-{uuid.uuid4().hex[:6]}.json"
    completed, peak, shmem = run_measured([sys.executable, "-m", "autograder.engine.grade_one", str(submission),
                                           "--json", str(out), "--seed", "5", "--timeout", TIMEOUT])
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(out.read_text()), peak, shmem


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """Peak memory of grading the reference in the measuring cgroup: the grading process and an honest sandbox."""
    folder = tmp_path_factory.mktemp("baseline")
    report, peak, _ = grade_measured(write_submission(reference_files(), folder / "sub"), folder)
    assert report["score"] == report["max_score"]
    return peak


def relu_forward_lost_for_memory(report):
    failing = {c["function"] for c in report["checks"] if not c["passed"]}
    kinds = {f["kind"] for f in report["learner_failures"] if f["function"] == "relu_forward"}
    return failing == {"relu_forward"} and kinds == {"memory"}


@needs_cgroup
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_memory_outside_the_address_space_is_contained_and_labelled(attack, tmp_path, baseline):
    """Does each way of pinning memory outside RLIMIT_AS cost relu_forward, labelled "memory" by the
    kernel's counters, while the whole run grows by at most the limit plus a margin and leaves no shmem?"""
    report, peak, shmem = grade_measured(write_submission(hostile(attack), tmp_path / "sub"), tmp_path)
    assert relu_forward_lost_for_memory(report), report["learner_failures"]
    assert report["score"] == report["max_score"] - sum(
        c["max_points"] for c in report["checks"] if c["function"] == "relu_forward")
    message = next(c["message"] for c in report["checks"] if c["function"] == "relu_forward")
    expected = "is full" if attack in ("tmpfs", "dev-shm", "every-writable-path") else \
        "memory cgroup reached its limit of 512 MiB"
    assert expected in message
    assert peak <= baseline + MEMORY + MARGIN, (peak - baseline) / limits.MiB
    assert shmem < limits.MiB     # nothing left pinned in tmpfs or shared memory
    for limit in ("tmpfs of 32 MiB each", "address space 512 MiB", "memory cgroup v1 (512 MiB", "pids cgroup (64"):
        assert limit in report["isolation"]
    assert "NOT in force" not in report["isolation"]


def test_only_the_sized_scratch_tmpfs_are_writable(tmp_path):
    """Are /tmp and /dev/shm (sized tmpfs) the only writable folders inside bubblewrap?"""
    files = reference_files()
    files["cs_convnet/layers.py"] += textwrap.dedent('''

        def writable_places():
            import os
            found = []
            for top, dirs, _ in os.walk("/"):
                if top.startswith(("/proc", "/sys")):
                    dirs[:] = []
                    continue
                if os.access(top, os.W_OK):
                    try:
                        with open(os.path.join(top, ".probe"), "w"):
                            pass
                        os.unlink(os.path.join(top, ".probe"))
                        found.append(top)
                    except OSError:
                        pass
            sizes = {p: os.statvfs(p).f_blocks * os.statvfs(p).f_frsize for p in found}
            devices = {p: os.stat(p).st_dev for p in found}
            return sorted(found), sizes, devices
    ''')
    root = prepare_root(write_submission(files, tmp_path / "sub"))
    try:
        with Worker(root.path, isolation="bubblewrap", limits=limits.load("package", LIMITS_ENV)) as worker:
            reply, arrays = worker.request({"program": "call", "module": "cs_convnet.layers",
                                            "function": "writable_places", "args": []}, timeout=30)
    finally:
        root.cleanup()
    places, sizes, devices = decode(reply["result"], arrays)
    # Folders inside /tmp are writable too (bubblewrap makes the mount points of a Python that lives
    # under /tmp there): they must lie on the same sized tmpfs, not on a writable mount of their own.
    assert {"/dev/shm", "/tmp"} <= set(places)
    for place in places:
        scratch = "/dev/shm" if place == "/dev/shm" or place.startswith("/dev/shm/") else "/tmp"
        assert place == scratch or place.startswith(scratch + "/"), place
        assert devices[place] == devices[scratch], place
        assert sizes[place] == SCRATCH, place


@pytest.mark.parametrize("attack", ["tmpfs", "dev-shm"])
def test_scratch_sizes_hold_and_are_labelled_without_cgroups(attack, tmp_path, monkeypatch):
    """With no writable cgroup, do the tmpfs sizes still cap a fill, labelled "memory" by the trusted side,
    and does the report say plainly that the memory cgroup was not in force?"""
    monkeypatch.setattr(cgroups, "parents", lambda: {})
    for key, value in LIMITS_ENV.items():
        monkeypatch.setenv(key, value)
    report = grade_one.grade(write_submission(hostile(attack), tmp_path / "sub"), seed=5, timeout=float(TIMEOUT))
    assert relu_forward_lost_for_memory(report)
    assert "(a tmpfs of 32 MiB) is full" in next(c["message"] for c in report["checks"]
                                                 if c["function"] == "relu_forward")
    assert "NOT in force" in report["isolation"] and "memory cgroup" in report["isolation"].split("NOT in force")[1]


def test_a_memory_error_in_the_learners_code_is_not_an_out_of_memory_label(tmp_path):
    """Does a MemoryError the learner raises (or fakes) fail only that function, with no "memory" label?"""
    files = reference_files()
    files["cs_convnet/layers.py"] = replace_function(files["cs_convnet/layers.py"], "relu_forward",
                                                     "def relu_forward(x):\n    raise MemoryError('fake')\n")
    report = grade_one.grade(write_submission(files, tmp_path / "sub"), seed=5, timeout=float(TIMEOUT))
    assert {c["function"] for c in report["checks"] if not c["passed"]} == {"relu_forward"}
    assert report["learner_failures"] == []


@needs_cgroup
def test_two_hostile_submissions_at_once_next_to_an_honest_one(tmp_path, baseline):
    """With --jobs 2, are two memory attacks contained and labelled while an honest submission gets full marks?"""
    course = prepare_mod.prepare(tmp_path / "course", source_dir=tmp_path / "nothing", assignments=[])
    students = {"a_memfd": hostile("memfd"), "b_forks": hostile("fork-tree"), "c_honest": reference_files()}
    for student, files in students.items():
        write_submission(files, course.packages / student)
    script = ("import json, sys\nfrom autograder.engine import batch\n"
              "summary = batch.autograde(sys.argv[1], jobs=2, progress=False, grade_one=[sys.executable, '-m', "
              f"'autograder.engine.grade_one', '--timeout', '{TIMEOUT}'])\n"
              "print(json.dumps(summary['outcomes']))\n")
    completed, peak, shmem = run_measured([sys.executable, "-c", script, str(course.root)])
    assert completed.returncode == 0, completed.stderr[-2000:]
    outcomes = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcomes == {"a_memfd": tasks.LEARNER_CRASH, "b_forks": tasks.LEARNER_CRASH, "c_honest": tasks.GRADED}
    records = {s: json.loads((course.records / f"{s}.json").read_text()) for s in students}
    for student in ("a_memfd", "b_forks"):
        assert {f["kind"] for f in records[student]["learner_failures"]} == {"memory"}
        assert relu_forward_lost_for_memory(records[student]["package"])
    honest = records["c_honest"]["package"]
    assert honest["score"] == honest["max_score"] and records["c_honest"]["learner_failures"] == []
    # the client, two batch workers and two grade-one processes, plus two sandboxes at their limit
    assert peak <= 3 * baseline + 2 * MEMORY + MARGIN, (peak - 3 * baseline) / limits.MiB
    assert shmem < limits.MiB


@needs_cgroup
def test_cgroups_are_removed_and_a_dead_graders_are_reaped(tmp_path):
    """Are a worker's cgroups gone after stop(), and those of a killed grading process reaped by the next one?"""
    root = prepare_root(write_submission(reference_files(), tmp_path / "sub"))
    try:
        with Worker(root.path, limits=limits.load("package", LIMITS_ENV)) as worker:
            worker.start()
            made = [worker.cgroup.memory, worker.cgroup.pids]
            assert all(path is not None and path.is_dir() for path in made)
        assert not any(path.exists() for path in made)
    finally:
        root.cleanup()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        stale = MEASURE_PARENT / f"{cgroups.PREFIX}{os.getpid()}-1-{uuid.uuid4().hex[:12]}"   # wrong start time
        stale.mkdir()
        (stale / "cgroup.procs").write_text(str(sleeper.pid))
        cgroups.reap_stale(MEASURE_PARENT)      # (a sandbox started meanwhile by another test may reap it first)
        assert not stale.exists() and sleeper.wait(timeout=5) == -9
    finally:
        sleeper.kill()


def test_limits_come_from_the_environment_and_bad_values_say_what_was_expected():
    """Does CS_CONVNET_<PROFILE>_<FIELD> change one limit, and does a bad value name the variable?"""
    assert limits.load("package", {}) == limits.DEFAULTS["package"]
    changed = limits.load("package", {"CS_CONVNET_PACKAGE_MEMORY": "2G", "CS_CONVNET_PACKAGE_PROCESSES": "10"})
    assert (changed.memory, changed.processes) == (2 * limits.GiB, 10)
    assert changed.scratch == limits.DEFAULTS["package"].scratch
    with pytest.raises(ValueError, match="CS_CONVNET_PACKAGE_MEMORY must be a size such as"):
        limits.load("package", {"CS_CONVNET_PACKAGE_MEMORY": "lots"})
    with pytest.raises(ValueError, match="CS_CONVNET_NOTEBOOK_CPU_SECONDS must be a whole number"):
        limits.load("notebook", {"CS_CONVNET_NOTEBOOK_CPU_SECONDS": "1.5"})
    with pytest.raises(ValueError, match="scratch .* must not exceed memory"):
        limits.load("package", {"CS_CONVNET_PACKAGE_SCRATCH": "2G"})
    with pytest.raises(dataclasses_frozen_error()):
        changed.memory = 1


def dataclasses_frozen_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_the_grader_version_follows_the_limits(monkeypatch):
    """Does changing a limit change the grader version (so results regrade and mismatched workers are refused)?"""
    before = tasks.grader_version()
    monkeypatch.setenv("CS_CONVNET_PACKAGE_MEMORY", "3G")
    assert tasks.grader_version() != before


KERNEL_PROBE = '''
import os, sys
writable = []
for place in ("/", "/dev", "/tmp", "/dev/shm", "/etc", "/usr"):
    try:
        open(os.path.join(place, ".probe"), "w").close()
        writable.append([place, os.statvfs(place).f_blocks * os.statvfs(place).f_frsize])
    except OSError:
        pass
print(writable, flush=True)
if sys.argv[1] == "hog":
    keep = []
    while True:
        keep.append(os.memfd_create("hog"))
        for _ in range(4):
            os.write(keep[-1], b"x" * (8 << 20))
else:
    import time
    time.sleep(60)
'''


@needs_cgroup
def test_the_notebook_kernel_gets_the_same_limits_and_its_oom_is_read_by_the_trusted_side(tmp_path, monkeypatch):
    """Does the kernelspec's command run the kernel in sized tmpfs and a memory cgroup whose OOM kill
    the trusted side reads back, removing every group, even one whose supervisor was killed?"""
    import ast
    from autograder.sandbox import notebook_kernel

    monkeypatch.setenv("CS_CONVNET_NOTEBOOK_MEMORY", str(MEMORY))
    monkeypatch.setenv("CS_CONVNET_NOTEBOOK_SCRATCH", str(SCRATCH))
    (tmp_path / "work").mkdir()
    jupyter_path, described = notebook_kernel.install_kernelspec(tmp_path, None, [tmp_path / "work"])
    assert "memory cgroup (512 MiB" in described and "NOT in force" not in described
    argv = json.loads((Path(jupyter_path) / "kernels" / "python3" / "kernel.json").read_text())["argv"]
    assert argv[-4:] == ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    command = argv[:-4] + ["-c", KERNEL_PROBE]
    hog = subprocess.run(command + ["hog"], capture_output=True, text=True, timeout=60)
    assert hog.returncode == 137, hog.stderr[-2000:]                      # SIGKILLed by the OOM killer
    assert ast.literal_eval(hog.stdout.strip()) == [["/tmp", SCRATCH], ["/dev/shm", SCRATCH]]
    idle = subprocess.Popen(command + ["idle"], stdout=subprocess.PIPE)
    idle.stdout.readline()
    idle.kill()          # the supervisor dies without cleaning up: its cgroups stay behind for the trusted side
    idle.wait()
    record = (Path(jupyter_path) / "kernels" / "python3" / notebook_kernel.CGROUP_RECORD).read_text().splitlines()
    groups = [Path(json.loads(line)["memory"]) for line in record if not json.loads(line).get("ended")]
    assert len(groups) == 2 and not groups[0].exists() and groups[1].exists()
    assert notebook_kernel.kernel_memory_events(jupyter_path) == 1
    assert not any(group.exists() for group in groups)


def test_a_kernel_out_of_memory_is_a_learner_crash_with_a_memory_label():
    """Does an OOM the kernels' cgroups counted become a "memory" failure and the learner_crash outcome?"""
    failures = tasks.notebook_failures("convnet", {"kernel_oom": 1}, {})
    assert [f["kind"] for f in failures] == ["memory"] and "ran out of memory" in failures[0]["detail"]
    assert tasks.classify(failures) == tasks.LEARNER_CRASH
    assert tasks.notebook_failures("convnet", {"kernel_oom": 0}, {}) == []


def test_cgroup_v2_limits_and_counters_on_a_stand_in_tree(tmp_path, monkeypatch):
    """On cgroup v2 (here a stand-in folder tree), are memory.max, memory.swap.max and pids.max written,
    the controllers enabled in the parent, and memory.events read for the out-of-memory label?"""
    parent = tmp_path / "unified" / "grading"
    parent.mkdir(parents=True)
    (parent / "cgroup.controllers").write_text("cpu memory pids\n")
    monkeypatch.setattr(cgroups, "_mounts", lambda: {"unified": str(tmp_path / "unified")})
    monkeypatch.setattr(cgroups, "_own_paths", lambda: {"unified": "/grading"})
    real_mkdir = Path.mkdir

    def mkdir_with_interface(self, *args, **kwargs):   # the kernel creates a cgroup's files with it
        fresh = not self.exists()
        real_mkdir(self, *args, **kwargs)
        if fresh and self.parent == parent:
            (self / "memory.swap.max").write_text("max\n")
            (self / "cgroup.procs").write_text("")

    monkeypatch.setattr(Path, "mkdir", mkdir_with_interface)
    group = cgroups.SandboxCgroup.create(MEMORY, 32)
    assert group.version == 2 and group.memory == group.pids and group.problems == []
    assert group.procs_files() == [group.memory / "cgroup.procs"]
    assert (group.memory / "memory.max").read_text() == str(MEMORY)
    assert (group.memory / "memory.swap.max").read_text() == "0"
    assert (group.memory / "pids.max").read_text() == "32"
    assert (parent / "cgroup.subtree_control").read_text() == "+pids"   # the last controller enabled
    (group.memory / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n")
    assert group.memory_events()["oom"] == 2 and group.memory_events()["limit_hit"] == 7

"""Per-submission cost of the sandbox's cgroups: making, removing, and reading them after each request.

Usage: ``python scripts/cgroup_cost.py`` (as a user who may write the memory and pids cgroups).
"""

import pathlib
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from autograder import limits  # noqa: E402
from autograder.sandbox import cgroups  # noqa: E402
from autograder.sandbox.isolation import Worker  # noqa: E402
from autograder.sandbox.root import prepare_root  # noqa: E402


def median_ms(samples):
    p95 = sorted(samples)[int(len(samples) * 0.95)]
    return f"median {statistics.median(samples) * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms"


def main():
    lim = limits.package()
    probe = cgroups.SandboxCgroup.create(lim.memory, lim.processes)
    probe.destroy()
    if probe.problems:
        sys.exit(f"cgroups are not writable here: {probe.describe_missing()}")
    made, removed, removed_busy = [], [], []
    for _ in range(200):
        start = time.perf_counter()
        group = cgroups.SandboxCgroup.create(lim.memory, lim.processes)
        middle = time.perf_counter()
        group.destroy()
        made.append(middle - start)
        removed.append(time.perf_counter() - middle)
    for _ in range(50):   # as after a grade: a process left inside to kill first
        group = cgroups.SandboxCgroup.create(lim.memory, lim.processes)
        sleeper = subprocess.Popen(["sleep", "60"])
        group.add(sleeper.pid)
        start = time.perf_counter()
        group.destroy()
        removed_busy.append(time.perf_counter() - start)
        sleeper.wait()
    print("make the memory and pids cgroups:", median_ms(made))
    print("remove them, empty:", median_ms(removed))
    print("remove them, one process to kill:", median_ms(removed_busy))
    root = prepare_root(pathlib.Path("/nonexistent"))
    try:
        with Worker(root.path, limits=lim) as worker:
            worker.start()
            start = time.perf_counter()
            for _ in range(1000):
                worker.memory_exhausted()
            print(f"read the counters after one request: {(time.perf_counter() - start):.3f} ms "
                  f"({worker.mode})")
    finally:
        root.cleanup()


if __name__ == "__main__":
    main()

"""A real Dask cluster on the loopback interface: one ``dask scheduler`` and N ``dask worker`` processes.

The grading benchmark and the fault tests use it to run batches the way a
cluster does -- separate scheduler and worker processes talking TCP -- on one
machine. Each process starts in a session of its own and is stopped by its
process id (its whole process group: a worker's nanny and the worker).
Workers run ``--nthreads 1`` (one grading task at a time).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..course.layout import REPO_ROOT


class LoopbackCluster:
    """Start with :meth:`start` (or ``with LoopbackCluster(2) as cluster:``); ``address`` is the scheduler's.

    Parameters
    ----------
    workers : int
        Worker processes, each ``--nthreads 1``.
    env : dict, optional
        Extra environment variables of the workers.
    log_dir : path, optional
        Where the processes' logs go (default: a temporary folder, kept).
    """

    def __init__(self, workers, env=None, log_dir=None, startup_timeout=120):
        self.n_workers, self.startup_timeout = workers, startup_timeout
        self.env = dict(os.environ, **(env or {}))
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), self.env.get("PYTHONPATH", "")] if p)
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="cs-convnet-dask-"))
        self.scheduler, self.workers, self.address = None, [], None

    def _spawn(self, command, log_name):
        with open(self.log_dir / log_name, "ab") as log:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=self.env, start_new_session=True)

    def start(self):
        """Start the scheduler and the workers; return once every worker has joined."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        info = self.log_dir / "scheduler.json"
        info.unlink(missing_ok=True)
        try:
            self.scheduler = self._spawn([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                          "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
                                         "scheduler.log")
            deadline = time.monotonic() + self.startup_timeout
            while self.address is None:
                if self.scheduler.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the dask scheduler did not start; see {self.log_dir / 'scheduler.log'}")
                try:
                    self.address = json.loads(info.read_text())["address"]
                except (OSError, ValueError, KeyError):
                    time.sleep(0.05)
            for _ in range(self.n_workers):
                self.add_worker()
            self.wait_for_workers(self.n_workers, deadline - time.monotonic())
        except BaseException:
            self.stop()
            raise
        return self

    def add_worker(self):
        """Start one more worker process; return its Popen (pid = its process group)."""
        index = len(self.workers)
        worker = self._spawn([sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                              "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard", "--name", f"grader-{index}"],
                             f"worker-{index}.log")
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count, timeout=60):
        from distributed import Client

        with Client(self.address, timeout=max(1, timeout)) as client:
            client.wait_for_workers(count, timeout=max(1, timeout))

    def kill(self, process):
        """SIGKILL ``process`` and its process group (a worker and its nanny)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait(timeout=30)

    def stop(self):
        """Stop every process started, workers first, by process id: SIGTERM, then SIGKILL after 10 s."""
        processes = [p for p in [*self.workers, self.scheduler] if p is not None]
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

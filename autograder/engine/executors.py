"""Where grading tasks run: one interface, three back ends.

An executor takes task specs (:meth:`submit`) and hands back what finished
(:meth:`completed`), each as a :class:`Completion`: the task's result dict
(learner failures, and errors the task caught itself, are data inside it), or
a ``failure`` when the executor lost the task -- the process or Dask worker
running it died. The batch (:mod:`autograder.engine.batch`) decides what to retry;
executors never write the course.

- :class:`SerialExecutor`: in the calling thread, one task at a time.
- :class:`ProcessExecutor` (``--jobs N``): N local worker processes, one task
  each at a time. A worker process that dies loses only its own task, and is
  replaced.
- :class:`DaskExecutor` (``--scheduler tcp://HOST:PORT``, or ``--dask-workers N``
  for a local cluster of N single-threaded worker processes).

Grading on a cluster
--------------------
Any Dask scheduler will do; start one where the instructor's machine can
reach it (``dask scheduler --port 8786``) and give its address to
``cs-convnet-course autograde --scheduler tcp://HOST:8786``. Workers need this
package (the same grader version as the client: a mismatch is an
infrastructure error, never a grade), bubblewrap for the full sandbox, and
one core each: start them with ``--nthreads 1``, since a task drives one
sandboxed process at a time. They need no shared file system: a task carries
the submission's files and grades in the worker's temporary folder. Whatever
starts the workers, the batch is the same:

- by hand or from any job script: ``dask worker tcp://HOST:8786 --nthreads 1``;
- Slurm or PBS with dask-jobqueue: ``SLURMCluster(cores=1, processes=1,
  memory="6GB", walltime="02:00:00")`` (or ``PBSCluster`` with the same
  arguments), then ``cluster.scale(jobs=64)`` and ``--scheduler
  cluster.scheduler_address``; the Python session holding the cluster object
  hosts the scheduler and must stay open during the batch;
- Kubernetes with dask-kubernetes: a ``KubeCluster`` (or a ``DaskCluster``
  resource) whose worker image has this package installed and whose worker
  command is ``dask worker --nthreads 1``, one CPU per pod. Pods usually lack
  the user namespaces bubblewrap needs; the sandbox then falls back to rlimits
  and every report says so.

Memory: the sandbox caps everything the learner's processes pin (memory
cgroup, where writable) and each one's address space at 1 GiB for the package
checks and 4 GiB for a notebook kernel (:mod:`autograder.limits`; set the same
``CS_CONVNET_*`` limits on every worker as on the client); size each worker's
memory for that. Dask cannot cancel a running task and its nanny's memory
limit ignores child processes, so the limits that count are the sandbox's own,
on the learner's processes. A worker that dies (node lost, job pre-empted) has its tasks
re-run elsewhere by the scheduler; the batch retries what Dask gives up on.

Dask is optional (``pip install .[dask]``) and imported only by
:class:`DaskExecutor`.
"""

import multiprocessing.connection
import os
import socket
import subprocess
import sys
import uuid
from collections import deque
from dataclasses import dataclass

from ..course.layout import REPO_ROOT
from .tasks import grade_task

DASK_MISSING = "Dask is not installed: install the dask extra: pip install .[dask]"


@dataclass
class Completion:
    """A task that finished (``result``) or was lost by the executor (``failure``, a reason)."""

    spec: dict
    result: dict = None
    failure: str = None
    worker: str = None


class SerialExecutor:
    """Run each task in the calling thread (an interrupt stops it with its subprocesses)."""

    name = "serial"
    shared_filesystem = True

    def __init__(self, assets=None):
        self._assets = assets or {}
        self._queue = deque()

    def slots(self):
        return 1

    def submit(self, spec, avoid=None):
        self._queue.append(spec)

    def completed(self, timeout=0.5):
        if not self._queue:
            return []
        spec = self._queue.popleft()
        return [Completion(spec, result=grade_task(spec, self._assets), worker="client")]

    def close(self, cancel=False):
        self._queue.clear()


class _Slot:
    """One local worker process (``python -m autograder.engine.local_worker``) and its socket."""

    def __init__(self, name):
        self.name, self.process, self.conn, self.spec = name, None, None, None

    def start(self, assets):
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "autograder.engine.local_worker", str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
        finally:
            theirs.close()
        self.conn = multiprocessing.connection.Connection(ours.detach())
        self.conn.send(assets)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, kill=True):
        if self.conn is not None:
            self.conn.close()   # end of input: an idle worker exits by itself
        if self.process is not None:
            if kill:
                self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process, self.conn, self.spec = None, None, None


class ProcessExecutor:
    """``workers`` local processes, one task each at a time.

    Each is a fresh ``python -m autograder.engine.local_worker`` (nothing of the
    client's state or main module leaks in) that dies with the client.
    """

    name = "processes"
    shared_filesystem = True

    def __init__(self, workers, assets=None):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._assets = assets or {}
        self._slots = [_Slot(f"process-{index}") for index in range(workers)]
        self._queue = deque()

    def slots(self):
        return len(self._slots)

    def submit(self, spec, avoid=None):
        self._queue.append((spec, avoid))

    def _dispatch(self):
        for slot in self._slots:
            if slot.spec is not None or not self._queue:
                continue
            # a retry goes to another worker than the one that failed it, when there is one
            pick = next((i for i, (_, avoid) in enumerate(self._queue) if avoid != slot.name), 0)
            spec, _ = self._queue[pick]
            del self._queue[pick]
            try:
                if not slot.alive():
                    raise BrokenPipeError
                slot.conn.send(spec)
            except OSError:   # never started, or died while idle: a fresh process takes the task
                slot.stop()
                slot.start(self._assets)
                slot.conn.send(spec)
            slot.spec = spec

    def completed(self, timeout=0.5):
        self._dispatch()
        busy = [slot for slot in self._slots if slot.spec is not None]
        if not busy:
            return []
        # a worker that dies closes its socket, which then reads as end of file
        ready = set(multiprocessing.connection.wait([s.conn for s in busy], timeout))
        done = []
        for slot in busy:
            if slot.conn not in ready:
                continue
            spec = slot.spec
            try:
                done.append(Completion(spec, result=slot.conn.recv(), worker=slot.name))
                slot.spec = None
            except (EOFError, OSError):
                try:
                    code = slot.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = "none yet"
                done.append(Completion(spec, failure=f"local worker process {slot.process.pid} died "
                                                     f"(exit code {code})", worker=slot.name))
                slot.stop()
        self._dispatch()
        return done

    def close(self, cancel=False):
        self._queue.clear()
        for slot in self._slots:
            slot.stop(kill=cancel or slot.spec is not None)


def import_distributed():
    """The ``distributed`` module, or a RuntimeError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise RuntimeError(DASK_MISSING) from None
    return distributed


class DaskExecutor:
    """Tasks on a Dask cluster: the scheduler at ``scheduler``, or a local cluster of ``workers`` processes."""

    name = "dask"

    def __init__(self, assets=None, scheduler=None, workers=None, connect_timeout=60):
        if (scheduler is None) == (workers is None):
            raise ValueError("give either a scheduler address or a number of local Dask workers")
        distributed = import_distributed()
        self._distributed = distributed
        self.cluster, self.client, self._running = None, None, {}   # _running: future -> spec
        if scheduler is None:
            if workers < 1:
                raise ValueError(f"workers must be at least 1, got {workers}")
            self.cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                    dashboard_address=None, host="127.0.0.1")
            scheduler = self.cluster.scheduler_address
        # local workers see the course folder; remote ones grade in their own temporary folder
        self.shared_filesystem = self.cluster is not None
        self.client = distributed.Client(scheduler, timeout=connect_timeout)
        try:
            self.client.wait_for_workers(1, timeout=connect_timeout)
        except (TimeoutError, OSError):
            self.close()
            raise RuntimeError(f"no Dask worker joined the scheduler at {scheduler} within {connect_timeout} s; "
                               f"start some with `dask worker {scheduler} --nthreads 1`") from None
        self._assets_data = assets or {}
        self._assets = self._scatter_assets()

    def _scatter_assets(self):
        """Send the assets to every worker once; tasks refer to them by future."""
        [future] = self.client.scatter([self._assets_data], broadcast=True, hash=False)   # a list: one object
        return future

    def slots(self):
        return max(1, sum(self.client.nthreads().values()))   # workers may join or leave during a batch

    def submit(self, spec, avoid=None):
        if self._assets.status != "finished":   # every worker holding them died
            self._assets = self._scatter_assets()
        others = None
        if avoid:
            others = [address for address in self.client.nthreads() if address != avoid] or None
        key = f"grade-{spec['student']}-{spec['key'][:12]}-{spec.get('attempt', 1)}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(grade_task, spec, self._assets, key=key, pure=False,
                                    workers=others, allow_other_workers=others is not None)
        self._running[future] = spec

    def completed(self, timeout=0.5):
        if not self._running:
            return []
        try:
            self._distributed.wait(list(self._running), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        done = []
        for future in [f for f in self._running if f.done()]:
            spec = self._running.pop(future)
            try:
                result = future.result()
                done.append(Completion(spec, result=result, worker=result.get("worker", {}).get("id")))
            except self._distributed.KilledWorker as error:
                done.append(Completion(spec, failure=f"the Dask workers running it died ({error})"))
            except Exception as error:   # cancelled, lost, or a deserialisation error
                done.append(Completion(spec, failure=f"Dask lost the task ({type(error).__name__}: {error})"))
            finally:
                future.release()
        return done

    def close(self, cancel=False):
        """Disconnect (and stop a local cluster). Dask cannot stop a running task: the
        sandbox's limits end it, and its result is dropped."""
        try:
            if cancel and self._running:
                self.client.cancel(list(self._running))
            self._running = {}
            if self.client is not None:
                self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def make_executor(jobs=1, scheduler=None, dask_workers=None, assets=None):
    """The executor for a batch: Dask if ``scheduler`` or ``dask_workers``, local processes if ``jobs`` > 1."""
    if scheduler is not None and dask_workers is not None:
        raise ValueError("--scheduler and --dask-workers are mutually exclusive")
    if (scheduler is not None or dask_workers is not None) and jobs not in (None, 1):
        raise ValueError("--jobs runs local processes; it cannot be combined with a Dask back end")
    if scheduler is not None or dask_workers is not None:
        return DaskExecutor(assets, scheduler=scheduler, workers=dask_workers)
    if jobs and jobs > 1:
        return ProcessExecutor(jobs, assets)
    return SerialExecutor(assets)

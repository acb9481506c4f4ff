"""Subprocesses of the batch: each in its own session, all killable at once.

A grading subprocess (nbgrader with its kernel, grade-one with its sandbox
worker) may leave children behind when it crashes or times out; they share its
process group, which is killed when the call returns. An interrupted batch
calls :func:`kill_in_flight`. A batch killed outright (SIGKILL, no chance to
clean up) takes its subprocesses with it: each is started under
``setpriv --pdeathsig KILL``, and sandboxed kernels and workers die with
their parent (bubblewrap's ``--die-with-parent``).
"""

import os
import shutil
import signal
import subprocess
import threading

_SETPRIV = shutil.which("setpriv")

_live = set()
_live_lock = threading.Lock()
stopping = threading.Event()   # set when the batch stops: no new subprocess starts


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_in_session(command, cwd=None, env=None, timeout=None):
    """Run ``command``; return ``(returncode or None on timeout, combined output)``."""
    if stopping.is_set():
        raise KeyboardInterrupt("the batch is stopping")
    if _SETPRIV:  # dies with the thread that started it, i.e. with the batch
        command = [_SETPRIV, "--pdeathsig", "KILL", "--", *command]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    with _live_lock:
        _live.add(process.pid)
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        _killpg(process.pid)
        output, _ = process.communicate()
        return None, output
    finally:
        _killpg(process.pid)
        with _live_lock:
            _live.discard(process.pid)


def kill_in_flight():
    """Stop starting subprocesses and kill the process group of every running one."""
    stopping.set()
    with _live_lock:
        for pid in list(_live):
            _killpg(pid)

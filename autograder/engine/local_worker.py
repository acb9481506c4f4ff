"""A local worker process of :class:`autograder.engine.executors.ProcessExecutor`.

``python -m autograder.engine.local_worker FD PARENT_PID``: receives the batch's
assets, then one task spec at a time over the socket ``FD``, and sends back
each result. It ignores Ctrl-C (the client stops it) and dies with the
client (``PR_SET_PDEATHSIG``); the grading subprocesses it starts die with
it in turn.
"""

import multiprocessing.connection
import os
import signal
import sys

from .tasks import grade_task


def main(argv=None):
    fd, parent = (int(value) for value in (sys.argv[1:] if argv is None else argv))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:   # the client died before the line above
        return 1
    conn = multiprocessing.connection.Connection(fd)
    try:
        assets = conn.recv()
        while True:
            conn.send(grade_task(conn.recv(), assets))
    except EOFError:   # the client closed the socket: no more work
        return 0


if __name__ == "__main__":
    sys.exit(main())

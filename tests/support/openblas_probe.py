"""Code that asks the OpenBLAS libraries loaded in a process which spin timeout they parsed at load time.

Run in a fresh interpreter or kernel (after whatever imports the test is about), it prints one JSON
line: ``{"timeouts": [...], "env": {...}}``. Each timeout is the library's own
``openblas_thread_timeout()`` (0: not set; None: not exported by that build), and ``env`` holds
the process's values of :data:`cs_convnet.idle_threads.SETTINGS`.
"""

import pytest

from cs_convnet import idle_threads

PROBE = """
import ctypes, json, os
from threadpoolctl import threadpool_info

def timeout(path):
    function = getattr(ctypes.CDLL(path), "openblas_thread_timeout", None)
    if function is None:
        return None
    function.restype = ctypes.c_int
    return function()

print(json.dumps({"timeouts": [timeout(i["filepath"]) for i in threadpool_info()
                               if i.get("internal_api") == "openblas"],
                  "env": {name: os.environ.get(name) for name in %r}}))
""" % (sorted(idle_threads.SETTINGS),)


def assert_short_timeout(probe_result):
    """Assert that every OpenBLAS exporting the function parsed idle_threads' timeout (skip if none does)."""
    timeouts = [value for value in probe_result["timeouts"] if value is not None]
    if not timeouts:
        pytest.skip("numpy here is not linked to an OpenBLAS that exports openblas_thread_timeout")
    assert timeouts == [int(idle_threads.SETTINGS["OPENBLAS_THREAD_TIMEOUT"])] * len(timeouts)

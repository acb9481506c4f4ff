"""Code that asks the OpenBLAS libraries loaded in a process which spin timeout they parsed at load time.

Run in a fresh interpreter or kernel (after whatever imports the test is about), it prints one JSON
line: ``{"timeouts": [...], "env": {...}}``. Each timeout is the library's own
``openblas_thread_timeout()`` (0: not set; None: not exported by that build), and ``env`` holds
the process's values of :data:`cs_convnet.idle_threads.SETTINGS`.
"""

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


def exported_timeouts(probe_result):
    """The timeouts of the libraries that export the function (an empty list: skip the check)."""
    return [value for value in probe_result["timeouts"] if value is not None]

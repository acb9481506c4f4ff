"""cs_convnet.idle_threads: idle thread pools sleep instead of spinning, set before numpy loads OpenBLAS."""

import json
import subprocess
import sys

import pytest

from cs_convnet import idle_threads
from support.openblas_probe import PROBE, assert_short_timeout

# In a fresh interpreter: import cs_convnet first (as `cs-convnet train` and the benchmarks do), then
# numpy, then ask numpy's OpenBLAS which spin timeout it read at load time.
_PROBE = "import cs_convnet\nimport numpy\n" + PROBE


def _probe(env_overrides, monkeypatch):
    for name in idle_threads.SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env_overrides.items():
        monkeypatch.setenv(name, value)
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_importing_cs_convnet_first_sets_the_defaults(monkeypatch):
    """Are both settings in the environment of a process that imported cs_convnet, with their documented values?"""
    assert _probe({}, monkeypatch)["env"] == idle_threads.SETTINGS


def test_a_value_the_user_set_is_kept(monkeypatch):
    """Does an OPENBLAS_THREAD_TIMEOUT or OMP_WAIT_POLICY already in the environment survive the import?"""
    env = _probe({"OPENBLAS_THREAD_TIMEOUT": "28", "OMP_WAIT_POLICY": "ACTIVE"}, monkeypatch)["env"]
    assert env == {"OPENBLAS_THREAD_TIMEOUT": "28", "OMP_WAIT_POLICY": "ACTIVE"}


def test_numpys_openblas_reads_the_short_timeout(monkeypatch):
    """Does the OpenBLAS that numpy loads after cs_convnet hold the short timeout, so its threads sleep early?

    Read from inside the library: ``openblas_thread_timeout()`` returns what it parsed at load
    time, which is what decides how long its idle threads spin.
    """
    pytest.importorskip("threadpoolctl")
    assert_short_timeout(_probe({}, monkeypatch))

"""Is the sandbox what the grader claims: a student edition, no secrets, no network, no leftovers?"""

import io
import os
import struct
import time

import numpy as np
import pytest

from autograder import limits
from autograder.qa.samples import reference_files, write_submission
from autograder.sandbox import cgroups
from autograder.sandbox.isolation import Worker, bwrap_works
from autograder.sandbox.protocol import WorkerFailure, decode, receive_message
from autograder.sandbox.root import MAX_SUBMITTED_FILE, WORKER_SOURCE, prepare_root, reference_package
from support.paths import REPO

PROBE = '''

def probe():
    import os, socket
    info = {"env": sorted(os.environ), "cwd": os.getcwd()}
    info["sees_reference"] = os.path.exists(REFERENCE)
    info["sees_autograder"] = os.path.exists(AUTOGRADER)
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1).close()
        info["network"] = True
    except OSError:
        info["network"] = False
    try:
        open(os.path.join("/sandbox", "cs_convnet", "x"), "w").close()
        info["writes_submission"] = True
    except OSError:
        info["writes_submission"] = False
    return info


def sleep_forever():
    import time
    time.sleep(1000)
'''


def test_links_and_oversized_files_are_refused(tmp_path):
    """Are symlinked folders, hard links and huge files refused with a note?"""
    package = reference_package()
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "cs_convnet").symlink_to(package)
    root = prepare_root(sub, package)
    try:
        assert not root.overlaid and any("symbolic link" in n for n in root.notes)
    finally:
        root.cleanup()
    other = tmp_path / "other"
    (other / "cs_convnet").mkdir(parents=True)
    original = tmp_path / "layers_original.py"
    original.write_text("x = 1\n")
    os.link(original, other / "cs_convnet" / "layers.py")
    (other / "cs_convnet" / "optim.py").write_bytes(b"#" * (MAX_SUBMITTED_FILE + 1))
    root = prepare_root(other, package)
    try:
        assert any("hard link" in n for n in root.notes) and any("bytes" in n for n in root.notes)
        assert root.overlaid == []
    finally:
        root.cleanup()


def test_answers_with_pickled_objects_are_refused():
    """Does the trusted side refuse an object array (a pickle) from the worker?"""
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    frames = [b'{"op": "result"}', buffer.getvalue()]
    data = struct.pack(">I", 2) + b"".join(struct.pack(">Q", len(f)) + f for f in frames)
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    try:
        with pytest.raises(WorkerFailure, match="unreadable"):
            receive_message(read, time.monotonic() + 5)
    finally:
        os.close(read)


def _probe_root(tmp_path):
    files = reference_files()
    package = reference_package()
    files["cs_convnet/layers.py"] += (f"\nREFERENCE = {str(package / 'layers.py')!r}\n"
                                      f"AUTOGRADER = {str(WORKER_SOURCE.parents[1])!r}\n" + PROBE)
    return prepare_root(write_submission(files, tmp_path / "sub"), package)


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap does not work on this machine")
def test_bubblewrap_hides_everything_but_python_and_the_submission(tmp_path):
    """Inside bubblewrap: no reference, no autograder, no network, no secrets in the environment, read-only?"""
    root = _probe_root(tmp_path)
    os.environ["CS_CONVNET_TEST_SECRET"] = "hunter2"
    try:
        with Worker(root.path, isolation="bubblewrap") as worker:
            reply, arrays = worker.request({"program": "call", "module": "cs_convnet.layers", "function": "probe",
                                            "args": []})
            info = decode(reply["result"], arrays)
            assert worker.isolation.startswith("bubblewrap")
    finally:
        del os.environ["CS_CONVNET_TEST_SECRET"]
        root.cleanup()
    assert info["sees_reference"] is False and info["sees_autograder"] is False
    assert info["network"] is False and info["writes_submission"] is False
    assert "CS_CONVNET_TEST_SECRET" not in info["env"] and info["cwd"] == "/tmp"


@pytest.mark.parametrize("isolation", ["bubblewrap", "rlimits"])
def test_timeout_kills_the_worker_and_it_restarts(tmp_path, isolation):
    """Does a request past its time limit raise, kill the worker, and the next request get a fresh one?"""
    if isolation == "bubblewrap" and not bwrap_works():
        pytest.skip("bubblewrap does not work on this machine")
    root = _probe_root(tmp_path)
    try:
        with Worker(root.path, isolation=isolation) as worker:
            with pytest.raises(WorkerFailure) as failure:
                worker.request({"program": "call", "module": "cs_convnet.layers", "function": "sleep_forever",
                                "args": []}, timeout=1.0)
            assert failure.value.kind == "timeout" and worker.process is None
            reply, _ = worker.request({"program": "import", "module": "cs_convnet.optim"})
            assert reply["ok"] and worker.starts == 2
            assert worker.isolation.startswith(isolation)
    finally:
        root.cleanup()


def test_auto_falls_back_to_rlimits_without_bubblewrap(tmp_path, monkeypatch):
    """With bubblewrap unusable, does 'auto' pick rlimits and say that bubblewrap is unavailable?"""
    from autograder.sandbox import isolation

    monkeypatch.setattr(isolation, "_BWRAP_OK", False)
    root = _probe_root(tmp_path)
    try:
        with Worker(root.path) as worker:
            reply, _ = worker.request({"program": "import", "module": "cs_convnet.layers"})
            assert reply["ok"]
            assert worker.isolation.startswith("rlimits") and "bubblewrap unavailable" in worker.isolation
        with pytest.raises(RuntimeError, match="bubblewrap was requested"):
            Worker(root.path, isolation="bubblewrap")
    finally:
        root.cleanup()


@pytest.mark.parametrize("isolation", ["bubblewrap", "rlimits"])
def test_worker_dies_with_a_killed_grading_process(tmp_path, isolation):
    """If the grading process is killed mid-check, does its busy worker die too?"""
    import signal
    import subprocess
    import sys

    if isolation == "bubblewrap" and not bwrap_works():
        pytest.skip("bubblewrap does not work on this machine")
    files = reference_files()
    files["cs_convnet/layers.py"] += "\n\ndef spin():\n    while True:\n        pass\n"
    sub = write_submission(files, tmp_path / "sub")
    script = (
        "from autograder.sandbox.isolation import Worker\n"
        "from autograder.sandbox.root import prepare_root\n"
        f"root = prepare_root({str(sub)!r})\n"
        f"worker = Worker(root.path, isolation={isolation!r})\n"
        "worker.start()\n"
        "print(root.path, worker.cgroup.pids or worker.cgroup.memory, flush=True)\n"
        "worker.request({'program': 'call', 'module': 'cs_convnet.layers', 'function': 'spin', 'args': []},"
        " timeout=600)\n"
    )
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        root, cgroup = grader.stdout.readline().split()
        time.sleep(1.0)
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()

    def survivors():
        found = []
        if cgroup != "None":
            try:
                found += [int(p) for p in open(os.path.join(cgroup, "cgroup.procs")).read().split()]
            except OSError:
                pass
        for pid in os.listdir("/proc"):
            try:
                if pid.isdigit() and root in open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"):
                    found.append(int(pid))
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 5
    while survivors() and time.monotonic() < deadline:
        time.sleep(0.1)
    leftover = survivors()
    for pid in leftover:
        os.kill(pid, signal.SIGKILL)
    import shutil

    shutil.rmtree(os.path.dirname(root), ignore_errors=True)
    assert not leftover
    if cgroup != "None":   # the killed grader's cgroup is reaped by the next sandbox made under the same parent
        cgroups.SandboxCgroup.create(limits.package().memory, limits.package().processes).destroy()
        assert not os.path.exists(cgroup)


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap does not work on this machine")
def test_bubblewrap_works_for_a_python_that_lives_under_tmp(tmp_path):
    """Does the sandbox still start when the grader's Python environment sits under /tmp
    (a CI clone there), i.e. is the private /tmp mounted before the environment's binds?"""
    import subprocess
    import sys
    from pathlib import Path

    env_dir = Path("/tmp") / f"cs-convnet-venv-probe-{os.getpid()}"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
        site = Path(np.__file__).resolve().parent.parent
        result = subprocess.run(
            [str(env_dir / "bin" / "python"), "-c",
             "from autograder.sandbox.isolation import bwrap_works; print(bwrap_works())"],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True"
    finally:
        import shutil
        shutil.rmtree(env_dir, ignore_errors=True)

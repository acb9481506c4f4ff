"""Do hostile submissions get exactly the points of their correct parts, and nothing more?

Each submission is the reference with one function (or one file) replaced by
something hostile. The grade must fail that function with a clear message,
grade every other function normally, leave no process behind and change
nothing outside the sandbox.
"""

import os
import signal
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from autograder import limits
from autograder.engine import grade_one
from autograder.qa.samples import reference_files, replace_function, write_submission
from autograder.sandbox import cgroups
from autograder.sandbox.isolation import bwrap_works
from autograder.sandbox.root import reference_package

LAYERS = "cs_convnet/layers.py"
OPTIM = "cs_convnet/optim.py"
TIMEOUT = 3.0

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap does not work on this machine")


def submission(tmp_path, function=None, source=None, file=LAYERS, whole_file=None, prefix=""):
    files = reference_files()
    if function:
        files[file] = replace_function(files[file], function, textwrap.dedent(source))
    if whole_file is not None:
        files[file] = whole_file
    if prefix:
        files[file] = textwrap.dedent(prefix) + files[file]
    return write_submission(files, tmp_path / "submission")


def failing(report):
    return {c["name"] for c in report["checks"] if not c["passed"]}


def failing_functions(report):
    return {c["function"] for c in report["checks"] if not c["passed"]}


def message_of(report, function):
    return next(c["message"] for c in report["checks"] if c["function"] == function and not c["passed"])


def grade(path, **kwargs):
    kwargs.setdefault("seed", 5)
    kwargs.setdefault("timeout", TIMEOUT)
    return grade_one.grade(path, **kwargs)


def live_processes_with(marker):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(pid))
            except OSError:
                pass
    return found


def test_monkeypatching_numpy_cannot_fake_a_comparison(tmp_path):
    """Does np.allclose = lambda: True inside the sandbox leave a wrong relu_forward failing?"""
    path = submission(tmp_path, "relu_forward", '''
        def relu_forward(x):
            import numpy
            numpy.allclose = lambda *a, **k: True
            numpy.testing.assert_allclose = lambda *a, **k: None
            numpy.array_equal = lambda *a, **k: True
            return x * 2.0, x
    ''')
    report = grade(path)
    assert failing_functions(report) == {"relu_forward"}
    assert report["score"] == report["max_score"] - 2


def test_patching_the_worker_cannot_gain_points(tmp_path):
    """Does replacing the worker's request handler (the 'checker' inside the sandbox) earn nothing?"""
    path = submission(tmp_path, prefix='''
        import __main__, sys
        for name in ("autograder", "autograder.checks", "pytest"):
            sys.modules[name] = None  # the grader is not importable here; pretend to patch it anyway
        if hasattr(__main__, "Server"):
            __main__.Server.handle = lambda self, header, arrays: ({"op": "result", "ok": True, "result": 0}, [])
    ''')
    report = grade(path)
    layer_checks = [c for c in report["checks"] if c["function"] in {
        "affine_forward", "conv_forward_naive", "relu_backward", "softmax_loss", "adam"}]
    assert layer_checks and not any(c["passed"] for c in layer_checks)


def test_cannot_read_the_reference_gradebook_or_other_submissions_nor_write_them(tmp_path):
    """Are the reference tree, the gradebook and other students' files invisible, and nothing written outside?"""
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_text("grades")
    other = tmp_path / "other_student" / "cs_convnet" / "layers.py"
    other.parent.mkdir(parents=True)
    other.write_text("secret work")
    reference = Path(reference_package()) / "layers.py"
    marker = tmp_path / f"escaped-{uuid.uuid4().hex}"
    path = submission(tmp_path, "relu_forward", f'''
        def relu_forward(x):
            import numpy as np
            seen = []
            for target in ({str(reference)!r}, {str(gradebook)!r}, {str(other)!r}):
                try:
                    with open(target) as handle:
                        seen.append(handle.read(10))
                except OSError:
                    pass
                try:
                    with open(target, "w") as handle:
                        handle.write("hacked")
                except OSError:
                    pass
            try:
                open({str(marker)!r}, "w").write("x")
            except OSError:
                pass
            out = np.maximum(x, 0)
            return (out * 2 if seen else out), x
    ''')
    report = grade(path)
    assert "relu_forward" not in failing_functions(report)   # it saw nothing, so it stayed correct
    assert gradebook.read_text() == "grades"
    assert other.read_text() == "secret work"
    assert "### BEGIN SOLUTION" in reference.read_text()
    assert not marker.exists()
    assert report["isolation"].startswith("bubblewrap")


def test_endless_loop_times_out_only_that_function(tmp_path):
    """Does an endless loop cost only its function, within a bounded time?"""
    path = submission(tmp_path, "conv_forward_naive", '''
        def conv_forward_naive(x, w, b, conv_param):
            while True:
                pass
    ''')
    started = time.monotonic()
    report = grade(path)
    assert failing_functions(report) == {"conv_forward_naive"}
    assert "did not finish" in message_of(report, "conv_forward_naive")
    assert time.monotonic() - started < 4 * TIMEOUT + 20


@pytest.mark.parametrize("hog", ["bytearray(10**11)", "[bytearray(10**8) for _ in range(10**4)]"],
                         ids=["one-huge-allocation", "growing-allocations"])
def test_memory_exhaustion_costs_only_that_function(tmp_path, hog):
    """Does exhausting memory fail only the function that does it?"""
    path = submission(tmp_path, "softmax_loss", f'''
        def softmax_loss(x, y):
            hog = {hog}
            return 0.0, x
    ''')
    report = grade(path)
    assert failing_functions(report) == {"softmax_loss"}
    message = message_of(report, "softmax_loss")
    # refused by the address-space limit, or still paging in memory when the time ran out
    assert "MemoryError" in message or "killed" in message or "did not finish" in message


@pytest.mark.parametrize("death", [
    ("os._exit(3)", "exited with status 3"),
    ("ctypes.string_at(0)", "SIGSEGV"),
    ("os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ("sys.exit(0)", "SystemExit"),
], ids=["os._exit", "segfault", "sigkill-self", "sys.exit"])
def test_killing_the_interpreter_costs_only_that_function(tmp_path, death):
    """Does os._exit, a segfault or a self-kill fail only that function, the rest graded after a restart?"""
    statement, expected = death
    path = submission(tmp_path, "svm_loss", f'''
        def svm_loss(x, y):
            import ctypes, os, signal, sys
            {statement}
    ''')
    report = grade(path)
    assert failing_functions(report) == {"svm_loss"}
    assert expected in message_of(report, "svm_loss")


@pytest.mark.parametrize("isolation", ["bubblewrap", "rlimits"])
def test_forked_and_sleeping_children_never_outlive_the_grade(tmp_path, isolation):
    """Are forked children (even in their own session) killed when the grade ends?"""
    marker = f"{time.time_ns() % 10**9}.{os.getpid()}"
    path = submission(tmp_path, "avg_pool_forward_naive", f'''
        def avg_pool_forward_naive(x, pool_param):
            import os
            for _ in range(3):
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        os.execv("/bin/sleep", ["sleep", "{marker}"])
                    os._exit(0)
            raise RuntimeError("forked")
    ''')
    report = grade(path, isolation=isolation)
    assert failing_functions(report) == {"avg_pool_forward_naive"}
    deadline = time.monotonic() + 5
    while live_processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftover = live_processes_with(marker)
    for pid in leftover:  # clean up before failing, so a bug here does not leave sleepers behind
        os.kill(pid, signal.SIGKILL)
    assert not leftover


def test_import_time_crash_costs_only_that_file(tmp_path):
    """Does a layers.py that raises at import lose only the layers' points?"""
    path = submission(tmp_path, prefix="raise RuntimeError('boom at import')\n")
    report = grade(path)
    from autograder.checks import all_checks

    layer_functions = {c.function for c in all_checks() if c.module == "cs_convnet.layers"}
    assert failing_functions(report) == layer_functions
    assert any("could not be imported" in note and "boom at import" in note for note in report["notes"])


def test_syntax_error_costs_only_that_file(tmp_path):
    """Does a syntax error in optim.py cost the update rules only, with the line in the message?"""
    files = reference_files()
    files[OPTIM] = files[OPTIM].replace("def sgd(w, dw, config=None):", "def sgd(w, dw, config=None)", 1)
    path = write_submission(files, tmp_path / "submission")
    report = grade(path)
    assert failing_functions(report) == {"sgd", "sgd_momentum", "rmsprop", "adam"}
    assert "SyntaxError" in message_of(report, "adam")


def test_import_time_os_exit_costs_only_that_file(tmp_path):
    """Does a file that kills the interpreter at import cost only its own functions?"""
    path = submission(tmp_path, file=OPTIM, prefix="import os\nos._exit(7)\n")
    report = grade(path)
    assert failing_functions(report) == {"sgd", "sgd_momentum", "rmsprop", "adam"}


def test_output_on_stdout_and_the_protocol_pipe_is_harmless(tmp_path):
    """Does printing, or writing garbage into the worker's pipe, cost only that function?"""
    path = submission(tmp_path, "relu_backward", '''
        def relu_backward(dout, cache):
            import os
            print("noise " * 1000)
            for fd in range(3, 12):
                try:
                    os.write(fd, b"\\xff" * 64)
                except OSError:
                    pass
            return dout * (cache > 0)
    ''')
    report = grade(path)
    assert failing_functions(report) <= {"relu_backward"}
    assert "relu_forward" not in failing_functions(report)


def test_hostile_submission_does_not_change_the_next_grade(tmp_path):
    """After a hostile submission, does an honest one still get full marks?"""
    hostile = submission(tmp_path / "a", prefix="import numpy\nnumpy.add = numpy.subtract\n")
    grade(hostile)
    honest = write_submission(reference_files(), tmp_path / "b" / "submission")
    report = grade(honest)
    assert report["score"] == report["max_score"]


def test_symlink_to_the_reference_is_refused(tmp_path):
    """Can a submission smuggle the reference in through a symbolic link? (No: the link is refused.)"""
    path = tmp_path / "submission" / "cs_convnet"
    path.mkdir(parents=True)
    (path / "layers.py").symlink_to(Path(reference_package()) / "layers.py")
    report = grade(tmp_path / "submission")
    assert report["score"] == 0
    assert any("symbolic link" in note for note in report["notes"])


def test_classifier_cannot_abuse_the_reference_layer_oracle(tmp_path):
    """Can a classifier make the trusted process run anything but a small reference layer? (No.)"""
    files = reference_files()
    rel = "cs_convnet/classifiers/fc_net.py"
    text = files[rel]
    marker = "        scores = None\n"
    assert text.count(marker) == 1
    files[rel] = text.replace(marker, marker + textwrap.indent(textwrap.dedent('''
        server = next(c.cell_contents for c in affine_forward.__closure__ if hasattr(c.cell_contents, "channel"))
        answers = []
        for name in ("eval", "__import__", "affine_forward"):
            server.channel.send({"op": "oracle", "function": name, "args": ["1 + 1"]}, [])
            answers.append(server.channel.receive()[0])
        try:
            affine_forward(np.zeros((1000, 1100)), np.zeros((1100, 2)), np.zeros(2))
        except ValueError as error:
            answers.append({"error": str(error)})
        if all("error" in a for a in answers):
            raise RuntimeError("the oracle refused everything")
        '''), "        "), 1)
    report = grade(write_submission(files, tmp_path / "submission"))
    assert failing_functions(report) == {"FullyConnectedNet.loss"}
    assert all("the oracle refused everything" in c["message"]
               for c in report["checks"] if c["function"] == "FullyConnectedNet.loss")


def test_endless_loop_at_import_costs_only_that_file(tmp_path):
    """Does a file that never finishes importing cost only its own functions?"""
    path = submission(tmp_path, file=OPTIM, prefix="while True:\n    pass\n")
    report = grade(path)
    assert failing_functions(report) == {"sgd", "sgd_momentum", "rmsprop", "adam"}
    assert any("could not be imported" in note and "time limit" in note for note in report["notes"])


def _pids_cgroup_available():
    group = cgroups.SandboxCgroup.create(limits.package().memory, limits.package().processes)
    available = group.pids is not None
    group.destroy()
    return available


@pytest.mark.skipif(not _pids_cgroup_available(), reason="no writable pids cgroup: a real fork bomb would be unsafe")
def test_fork_bomb_is_capped_and_cleaned_up(tmp_path):
    """Does a real fork bomb stay within the process cap, cost only its function and leave nothing behind?"""
    marker = f"bomb{time.time_ns() % 10**9}"
    path = submission(tmp_path, "avg_pool_backward_naive", f'''
        def avg_pool_backward_naive(dout, cache):
            import os, sys
            sys.argv[0] = "{marker}"
            while True:
                try:
                    if os.fork() == 0:
                        os.execv("/bin/sleep", ["sleep", "{marker}"]) if os.getpid() % 2 else None
                except OSError:
                    pass
    ''')
    report = grade(path)
    assert failing_functions(report) == {"avg_pool_backward_naive"}
    leftover = live_processes_with(marker)
    for pid in leftover:
        os.kill(pid, signal.SIGKILL)
    assert not leftover

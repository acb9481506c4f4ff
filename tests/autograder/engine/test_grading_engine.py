"""The grading engine: keyed results, outcomes, retries, and faults on a real Dask cluster.

Most tests grade package-only classes with a stand-in for grade-one (a short
script writing a fixed report), so a batch takes seconds; the outcome and
hostile tests run the real, sandboxed grade-one. The Dask tests start a real
``dask scheduler`` and ``dask worker`` processes on 127.0.0.1
(:class:`autograder.engine.dask_loopback.LoopbackCluster`) and stop them by process
id, whatever happens.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autograder import cli
from autograder.course import gradebook, layout as course_mod, prepare as prepare_mod
from autograder.course.layout import PACKAGE_ASSIGNMENT
from autograder.engine import batch, executors, results, tasks
from autograder.qa.samples import reference_files, replace_function, write_submission
from autograder.sandbox import cgroups
from autograder.sandbox.isolation import bwrap_works
from support import nbgrader_factory as factory
from support.paths import REPO

try:
    import distributed  # noqa: F401  (installed by the test extra, so present in CI)
    HAVE_DASK = True
except ImportError:
    HAVE_DASK = False
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason="distributed is not installed (pip install .[dask])")

# A stand-in for grade-one: `fake SUBMISSION --json OUT`. The submission's layers.py names the
# student. Test hooks, honoured by this script only: CS_CONVNET_TEST_MARKERS (a folder where
# each run leaves `<student>.<parent pid>.<pid>`), CS_CONVNET_TEST_GRADE_DELAY (seconds to sleep).
FAKE_GRADE_ONE = """
import json, os, sys, time
submission, out = sys.argv[1], sys.argv[3]
layers = os.path.join(submission, "cs_convnet", "layers.py")
student = open(layers).read().split()[-1] if os.path.exists(layers) else "nobody"
markers = os.environ.get("CS_CONVNET_TEST_MARKERS")
if markers:
    open(os.path.join(markers, f"{{student}}.{{os.getppid()}}.{{os.getpid()}}"), "w").close()
time.sleep(float(os.environ.get("CS_CONVNET_TEST_GRADE_DELAY", "0")))
{extra}
json.dump({report!r}, open(out, "w"))
"""


def fake_grade_one(folder, extra=""):
    script = Path(folder) / f"fake_grade_one_{abs(hash(extra))}.py"
    script.write_text(FAKE_GRADE_ONE.format(extra=textwrap.dedent(extra), report=factory.package_report(1.0)))
    return [sys.executable, "-S", str(script)]


@pytest.fixture(scope="module")
def empty_course(tmp_path_factory):
    """A prepared course without notebook assignments, copied by each test (preparing one takes seconds)."""
    folder = tmp_path_factory.mktemp("empty")
    return prepare_mod.prepare(folder / "course", source_dir=folder / "nothing", assignments=[])


def copy_course(empty, folder):
    shutil.copytree(empty.root, Path(folder) / "course")
    return course_mod.Course(Path(folder) / "course")


@pytest.fixture
def package_course(empty_course, tmp_path):
    """``package_course(students)``: a copy of the empty course whose students each have a layers.py naming them."""
    def make(students):
        course = copy_course(empty_course, tmp_path)
        for student in students:
            write_layers(course, student)
        return course

    return make


def write_layers(course, student, text=None):
    path = course.packages / student / "cs_convnet" / "layers.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text or f"# student {student}\n")


def stored_students(course):
    return sorted(json.loads(p.read_text())["student"] for p in (course.grading / "results").glob("*.json"))


# ---------------------------------------------------------------------------
# Keys and the result store
# ---------------------------------------------------------------------------

def test_rerun_submits_nothing_and_a_changed_file_or_grader_regrades(package_course, tmp_path, monkeypatch):
    """Does a re-run start no task at all, while a changed file or grader version regrades?"""
    students = ["ada", "bob", "cy"]
    course = package_course(students)
    grade_one = fake_grade_one(tmp_path)
    first = batch.autograde(course.root, progress=False, grade_one=grade_one)
    assert sorted(first["graded"]) == students and first["failed"] == {}
    store = results.ResultStore(course)
    keys = {s: json.loads((course.records / f"{s}.json").read_text())["key"] for s in students}
    assert sorted(store.keys()) == sorted(keys.values())
    assert all(store.load(keys[s])["outcome"] == tasks.GRADED for s in students)

    again = batch.autograde(course.root, progress=False, grade_one=grade_one)
    assert again["graded"] == [] and sorted(again["skipped"]) == students
    assert again["backend"] is None                      # no executor was even started

    write_layers(course, "bob", "# student bob, edited\n")
    changed = batch.autograde(course.root, progress=False, grade_one=grade_one)
    assert changed["graded"] == ["bob"]
    assert json.loads((course.records / "bob.json").read_text())["key"] != keys["bob"]

    monkeypatch.setattr(tasks, "grader_version", lambda: "0.0.0+another-grader")
    regraded = batch.autograde(course.root, progress=False, grade_one=grade_one)
    assert sorted(regraded["graded"]) == students


def test_result_files_are_written_whole_or_not_at_all(package_course, tmp_path, monkeypatch):
    """Does a write that fails midway leave no result (and no temporary file), and is a damaged one regraded?"""
    course = package_course(["ada"])
    grade_one = fake_grade_one(tmp_path)
    store = results.ResultStore(course)

    replace = os.replace

    def full_disk_for_results(source, dest):
        if Path(dest).parent == store.folder:
            raise OSError("disk full")
        return replace(source, dest)

    monkeypatch.setattr(os, "replace", full_disk_for_results)   # the one atomic writer, cs_convnet.atomic
    summary = batch.autograde(course.root, progress=False, grade_one=grade_one)
    assert "disk full" in summary["failed"]["ada"]
    assert list(store.folder.iterdir()) == []             # neither a result nor its temporary file
    monkeypatch.undo()

    assert batch.autograde(course.root, progress=False, grade_one=grade_one)["graded"] == ["ada"]
    [path] = store.folder.glob("*.json")
    path.write_text(path.read_text()[:40])                # a torn file, as a crash mid-write would leave
    assert batch.autograde(course.root, progress=False, grade_one=grade_one)["graded"] == ["ada"]
    assert json.loads(path.read_text())["student"] == "ada"


# ---------------------------------------------------------------------------
# Outcomes and retries
# ---------------------------------------------------------------------------

def _hostile(function, body, file="cs_convnet/layers.py"):
    files = reference_files()
    files[file] = replace_function(files[file], function, textwrap.dedent(body))
    return files


# memory the address-space limit never sees: memfd pages, 2 GiB at most, over the sandbox's cgroup limit
MEMFD_HOG = """
def relu_forward(x, _keep=[]):
    import os
    chunk = b"x" * (8 << 20)
    for _ in range(64):
        fd = os.memfd_create("hog")
        _keep.append(fd)
        for _ in range(4):
            os.write(fd, chunk)
    return x, x
"""


def memory_cgroup_writable():
    group = cgroups.SandboxCgroup.create(64 << 20, 8)
    group.destroy()
    return not group.problems


def test_learner_timeout_and_crash_are_recorded_as_data_and_never_retried(empty_course, tmp_path, monkeypatch):
    """Do a loop, an os._exit and a memory hog become their outcomes, points of the rest kept, on one try?"""
    monkeypatch.setenv("CS_CONVNET_PACKAGE_MEMORY", "512M")   # the hog reaches it sooner
    course = copy_course(empty_course, tmp_path)
    submissions = {
        "loops": _hostile("relu_forward", "def relu_forward(x):\n    while True:\n        pass\n"),
        "exits": _hostile("relu_forward", "def relu_forward(x):\n    import os\n    os._exit(3)\n"),
        "hogs": _hostile("relu_forward", MEMFD_HOG),
    }
    for student, files in submissions.items():
        write_submission(files, course.packages / student)
    grade_one = [sys.executable, "-m", "autograder.engine.grade_one", "--timeout", "2"]
    summary = batch.autograde(course.root, jobs=2, progress=False, grade_one=grade_one)
    assert summary["failed"] == {}
    # out of memory is the kernel's word (the memory cgroup's counters); without a writable cgroup the
    # hog is only bounded by its 2 GiB, freed with the worker, and relu_forward just fails
    hogs = (tasks.LEARNER_CRASH, {"memory"}) if memory_cgroup_writable() else (tasks.GRADED, set())
    assert summary["outcomes"] == {"loops": tasks.LEARNER_TIMEOUT, "exits": tasks.LEARNER_CRASH, "hogs": hogs[0]}
    assert {job["attempts"] for job in summary["jobs"].values()} == {1}
    kinds = {s: {f["kind"] for f in json.loads((course.records / f"{s}.json").read_text())["learner_failures"]}
             for s in submissions}
    assert kinds == {"loops": {"timeout"}, "exits": {"crash"}, "hogs": hogs[1]}
    for student, (score, top) in ((s, gradebook.scores(course)[s][PACKAGE_ASSIGNMENT]) for s in submissions):
        assert 0 < score < top, student                  # only relu_forward's checks were lost


def test_infrastructure_errors_are_retried_and_reported_if_they_persist(package_course, tmp_path):
    """Is a passing grade-one failure retried to a grade, and a persistent one reported with nothing recorded?"""
    course = package_course(["flaky", "broken", "fine"])
    tries = tmp_path / "tries"
    tries.mkdir()
    grade_one = fake_grade_one(tmp_path, f"""
        open(os.path.join({str(tries)!r}, student), "a").write("x")
        if student == "broken" or (student == "flaky" and len(open(os.path.join({str(tries)!r}, student)).read()) == 1):
            sys.exit("the grading machine broke")
    """)
    summary = batch.autograde(course.root, progress=False, grade_one=grade_one)
    assert sorted(summary["graded"]) == ["fine", "flaky"]
    assert summary["jobs"]["flaky"]["attempts"] == 2 and summary["jobs"]["fine"]["attempts"] == 1
    assert list(summary["failed"]) == ["broken"] and "the grading machine broke" in summary["failed"]["broken"]
    assert (tries / "broken").read_text() == "x" * batch.MAX_ATTEMPTS
    assert not (course.records / "broken.json").exists()
    assert "broken" not in gradebook.scores(course)       # never a zero for the learner
    assert stored_students(course) == ["fine", "flaky"]


def test_a_killed_local_worker_process_is_retried_on_another(package_course, tmp_path):
    """With --jobs 2, does a worker process killed mid-task cost one retry, on the other worker?"""
    course = package_course(["victim", "s1", "s2", "s3"])
    killed = tmp_path / "killed"
    grade_one = fake_grade_one(tmp_path, f"""
        if student == "victim" and not os.path.exists({str(killed)!r}):
            open({str(killed)!r}, "w").write(str(os.getppid()))
            os.kill(os.getppid(), 9)
            time.sleep(30)
    """)
    summary = batch.autograde(course.root, jobs=2, progress=False, grade_one=grade_one)
    assert sorted(summary["graded"]) == ["s1", "s2", "s3", "victim"] and summary["failed"] == {}
    assert summary["jobs"]["victim"]["attempts"] == 2
    assert summary["jobs"]["victim"]["worker"] != "client"
    assert stored_students(course) == ["s1", "s2", "s3", "victim"]


def test_back_ends_are_exclusive_and_missing_dask_says_how_to_install(monkeypatch):
    """Are --jobs/--scheduler/--dask-workers exclusive, and does a missing Dask give the install command?"""
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["autograde", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"])
    with pytest.raises(ValueError, match="mutually exclusive"):
        executors.make_executor(scheduler="tcp://127.0.0.1:1", dask_workers=2)
    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed now raises ImportError
    with pytest.raises(RuntimeError, match=r"pip install \.\[dask\]"):
        executors.make_executor(scheduler="tcp://127.0.0.1:1")


# ---------------------------------------------------------------------------
# Faults on a real Dask cluster (scheduler and workers on loopback)
# ---------------------------------------------------------------------------

@pytest.fixture
def slow_cluster(tmp_path):
    """Two workers whose stand-in grade-one takes 1.5 s and leaves a marker per run."""
    markers = tmp_path / "markers"
    markers.mkdir()
    cluster = executors_cluster(2, {"CS_CONVNET_TEST_GRADE_DELAY": "1.5", "CS_CONVNET_TEST_MARKERS": str(markers)},
                                tmp_path / "dask")
    try:
        yield cluster, markers
    finally:
        cluster.stop()


def executors_cluster(workers, env, folder):
    """A loopback cluster whose workers keep their temporary files (a killed task's too) in ``folder``."""
    from autograder.engine.dask_loopback import LoopbackCluster

    (Path(folder) / "tmp").mkdir(parents=True)
    env = dict(env, TMPDIR=str(Path(folder) / "tmp"))
    return LoopbackCluster(workers, env=env, log_dir=Path(folder) / "logs").start()


@needs_dask
def test_dask_workers_option_grades_on_a_local_cluster(package_course):
    """Does --dask-workers N grade on a local Dask cluster of its own, and stop it afterwards?"""
    course = package_course(["ada", "bob"])
    summary = batch.autograde(course.root, dask_workers=1, progress=False, grade_one=fake_grade_one(course.root))
    assert summary["backend"] == "dask" and sorted(summary["graded"]) == ["ada", "bob"]
    assert all(job["worker"].startswith("tcp://127.0.0.1:") for job in summary["jobs"].values())


@needs_dask
def test_killing_a_dask_worker_mid_batch_still_grades_everyone_exactly_once(package_course, tmp_path, slow_cluster):
    """Killed while grading, does the worker's task move to the other worker, every student stored once?"""
    cluster, markers = slow_cluster
    students = [f"s{i}" for i in range(6)]
    course = package_course(students)
    grade_one = fake_grade_one(tmp_path)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(
        batch.autograde(course.root, scheduler=cluster.address, progress=False, grade_one=grade_one)))
    runner.start()
    deadline = time.monotonic() + 120
    while not list(markers.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim_student, worker_pid, _ = next(markers.iterdir()).name.split(".")
    [victim] = [w for w in cluster.workers if w.pid == os.getpgid(int(worker_pid))]
    cluster.kill(victim)                                  # the worker and its nanny, by process id
    runner.join(timeout=240)
    assert not runner.is_alive()
    assert sorted(outcome["graded"]) == students and outcome["failed"] == {}
    assert stored_students(course) == students            # one result per student, none twice
    assert sorted(gradebook.scores(course)) == students
    runs = [m.name.split(".") for m in markers.iterdir() if m.name.startswith(victim_student + ".")]
    assert len({parent for _, parent, _ in runs}) >= 2     # started on the killed worker, finished on another


@needs_dask
def test_interrupted_client_rerun_grades_only_what_was_not_stored(package_course, tmp_path, slow_cluster):
    """After the client is stopped midway, does a re-run grade the rest and leave stored results untouched?"""
    cluster, _ = slow_cluster
    students = [f"s{i}" for i in range(6)]
    course = package_course(students)
    grade_one = fake_grade_one(tmp_path)
    script = (f"import sys; sys.path[:0] = [{str(REPO)!r}]\n"
              "from autograder.engine import batch\n"
              f"batch.autograde({str(course.root)!r}, scheduler={cluster.address!r}, progress=False, "
              f"grade_one={grade_one!r})\n")
    client = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results_dir = course.grading / "results"
    deadline = time.monotonic() + 120
    while not list(results_dir.glob("*.json")) and time.monotonic() < deadline and client.poll() is None:
        time.sleep(0.05)
    client.send_signal(signal.SIGTERM)
    assert client.wait(timeout=60) != 0, "the batch finished before it could be interrupted"
    first = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results_dir.glob("*.json")}
    done = stored_students(course)
    assert 1 <= len(done) < len(students)

    summary = batch.autograde(course.root, scheduler=cluster.address, progress=False, grade_one=grade_one)
    assert sorted(summary["skipped"]) == done
    assert sorted(summary["graded"]) == sorted(set(students) - set(done))
    for name, (data, mtime) in first.items():
        assert (results_dir / name).read_bytes() == data and (results_dir / name).stat().st_mtime_ns == mtime
    assert stored_students(course) == students


@needs_dask
@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap does not work on this machine: without its "
                    "pid namespace a hostile submission could signal every process of the user")
def test_a_hostile_submission_does_not_take_the_dask_worker_down(empty_course, tmp_path):
    """Does a submission that kills what it can see, hogs memory and loops leave its Dask worker serving?"""
    course = copy_course(empty_course, tmp_path)
    files = reference_files()
    layers = files["cs_convnet/layers.py"]
    for function, body in [
        ("relu_forward", "def relu_forward(x):\n    import os, signal\n    os.kill(-1, signal.SIGKILL)\n"),
        ("affine_forward", "def affine_forward(x, w, b):\n    import os, signal\n"
                           "    os.kill(os.getppid(), signal.SIGKILL)\n    os.killpg(0, signal.SIGKILL)\n"),
        ("softmax_loss", "def softmax_loss(x, y):\n    hog = [bytearray(10**8) for _ in range(10**4)]\n"),
        ("conv_forward_naive", "def conv_forward_naive(x, w, b, conv_param):\n    while True:\n        pass\n"),
    ]:
        layers = replace_function(layers, function, body)
    files["cs_convnet/layers.py"] = layers
    write_submission(files, course.packages / "a_hostile")
    write_submission(reference_files(), course.packages / "b_reference")
    cluster = executors_cluster(1, {}, tmp_path / "dask")
    try:
        [address] = _worker_addresses(cluster)
        summary = batch.autograde(course.root, scheduler=cluster.address, progress=False,
                                  grade_one=[sys.executable, "-m", "autograder.engine.grade_one", "--timeout", "2"])
        assert _worker_addresses(cluster) == [address]      # the same worker process, never restarted
        assert cluster.workers[0].poll() is None
    finally:
        cluster.stop()
    assert summary["failed"] == {}
    assert summary["outcomes"] == {"a_hostile": tasks.LEARNER_CRASH, "b_reference": tasks.GRADED}
    assert {job["worker"] for job in summary["jobs"].values()} == {address}
    assert summary["jobs"]["a_hostile"]["attempts"] == 1
    score, top = gradebook.scores(course)["b_reference"][PACKAGE_ASSIGNMENT]
    assert score == top


def _worker_addresses(cluster):
    from distributed import Client

    with Client(cluster.address) as client:
        return sorted(client.scheduler_info(n_workers=-1)["workers"])


# ---------------------------------------------------------------------------
# The benchmark command
# ---------------------------------------------------------------------------

@needs_dask
def test_bench_grading_reports_throughput_latency_phases_and_a_projection(tmp_path, capsys):
    """Does `bench-grading` grade a tiny class three ways and write every documented measurement?"""
    out = tmp_path / "bench.json"
    assert cli.main(["bench-grading", "--class-size", "3", "--modes", "serial,jobs2,dask2",
                     "--json", str(out), "--work-dir", str(tmp_path / "work")]) == 0
    report = json.loads(out.read_text())
    assert [m["mode"] for m in report["modes"]] == ["serial", "jobs2", "dask2"]
    for mode in report["modes"]:
        assert mode["submissions"] == 3 and mode["failed"] == 0
        assert mode["makespan_s"] > 0 and mode["throughput_per_min"] > 0
        assert set(mode["latency_s"]) == {"p50", "p95", "p99"}
        assert set(mode["phases_s"]) == {"queue_wait", "setup", "checks", "return", "storing"}
        for job in mode["jobs"]:
            assert job["queued"] <= job["started"] <= job["sandbox_ready"] <= job["checks_done"] \
                <= job["received"] <= job["stored"]
    assert report["modes"][2]["cluster_start_s"] > 0
    projection = report["projection"]
    assert projection["submissions"] == 2000 and projection["cores"] == 64
    assert projection["estimate_s"] == max(projection["worker_bound_s"], projection["client_bound_s"])
    assert projection["limit"]
    assert "projection: 2000 submissions on 64 cores" in capsys.readouterr().out

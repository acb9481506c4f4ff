"""nbgrader's exchange end to end: release, fetch, submit, collect, autograde.

Two learners are simulated by two home folders (``HOME``, ``JUPYTER_CONFIG_DIR``,
``JUPYTER_DATA_DIR`` each), both running as this OS user, so each hands in with
``nbgrader submit --student NAME`` (on a JupyterHub their login name is used).
Every command is the real command-line app in a subprocess. The command log
(commands and exit statuses) is written to ``exchange-flow-log.txt`` in the test's
folder, and also to ``$CS_CONVNET_EXCHANGE_FLOW_LOG`` when that is set.
"""

import json
import os
import shlex
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.course import gradebook
from autograder.course.layout import PACKAGE_ASSIGNMENT, Course, tool_env
from autograder.qa import samples
from cs_convnet.cli import CommandError
from cs_convnet.submission import LEARNER_FILES, copy_into_assignment
from support.paths import REPO

ASSIGNMENT = "02_convolution"
NOTEBOOK = "convolution.ipynb"
COURSE_ID = "cs-convnet"
LEARNERS = {"alice": "reference", "bob": "conv_padding_off_by_one"}


class Log:
    """Runs commands, keeps each with its exit status, fails the test on an unexpected status."""

    def __init__(self, tmp_path):
        self.tmp_path, self.lines = tmp_path, []

    def run(self, who, args, cwd, env, expect=0, keep_output=False):
        started = time.monotonic()
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)
        shown = " ".join(shlex.quote(str(a).replace(str(self.tmp_path), "$TMP")) for a in args)
        for module, command in (("nbgrader", "nbgrader"), ("autograder", "cs-convnet-course"),
                                ("cs_convnet", "cs-convnet")):
            shown = shown.replace(f"{shlex.quote(sys.executable)} -m {module} ", f"{command} ")
        where = str(cwd).replace(str(self.tmp_path), "$TMP")
        self.lines.append(f"[{who}] (cd {where}) $ {shown}\n"
                          f"    -> exit {done.returncode} ({time.monotonic() - started:.1f} s)")
        if keep_output:
            self.lines += ["    " + line for line in done.stdout.strip().splitlines()]
        assert done.returncode == expect, f"{shown} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    def save(self):
        text = "\n".join(self.lines) + "\n"
        targets = [self.tmp_path / "exchange-flow-log.txt"]
        if os.environ.get("CS_CONVNET_EXCHANGE_FLOW_LOG"):
            targets.append(Path(os.environ["CS_CONVNET_EXCHANGE_FLOW_LOG"]))
        for path in targets:
            path.write_text(text, encoding="utf-8")


def _home_env(home):
    """A clean environment for one account: its own home, Jupyter config and data folders."""
    env = {key: value for key, value in tool_env().items()
           if not key.startswith(("JUPYTER", "CS_CONVNET_EXCHANGE", "CS_CONVNET_COURSE"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
               PYTHONPATH=str(REPO))
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def _learner(tmp_path, name, exchange):
    """A learner's home: nbgrader config (what /etc/jupyter holds on a hub) and a student edition."""
    home = tmp_path / "home" / name
    env = _home_env(home)
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(exchange)!r}\n")
    edition = samples.materialize(LEARNERS[name], home / "cs-convnet-student")
    (edition / "assignments").mkdir()
    return home, edition, env


def _grade_one(submission, out, log, env):
    log.run("instructor", [sys.executable, "-m", "autograder", "grade-one", submission, "--json", out],
            submission.parent, env)
    return json.loads(Path(out).read_text(encoding="utf-8"))


@pytest.mark.slow   # runs the 02_convolution notebook four times: about 90 s on 2 busy cores
def test_release_fetch_submit_collect_autograde_grades_like_the_zip_path(tmp_path):
    """Does a submission through nbgrader's exchange carry the package files and grade like a zip?"""
    log = Log(tmp_path)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    instructor = _home_env(tmp_path / "home" / "instructor")
    instructor["CS_CONVNET_EXCHANGE_ROOT"] = str(exchange)
    course = Course(tmp_path / "course")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    log.lines += ["# instructor: CS_CONVNET_EXCHANGE_ROOT=$TMP/exchange (course id: the default, cs-convnet)",
                  "# learners: own HOME, JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR; their nbgrader_config.py sets "
                  f"c.CourseDirectory.course_id = {COURSE_ID!r}, c.Exchange.root = '$TMP/exchange'"]
    try:
        log.run("instructor", [sys.executable, "-m", "autograder", "--course-dir", course.root, "prepare",
                               "-a", ASSIGNMENT], tmp_path, instructor)
        log.run("instructor", [*nbgrader, "release_assignment", ASSIGNMENT], course.root, instructor)
        assert (exchange / COURSE_ID / "outbound" / ASSIGNMENT / NOTEBOOK).is_file()

        inbox = tmp_path / "inbox"   # the zip path, for the same files, under other ids
        inbox.mkdir()
        editions = {}
        for name in LEARNERS:
            home, edition, env = _learner(tmp_path, name, exchange)
            editions[name] = edition
            log.run(name, [*nbgrader, "fetch_assignment", ASSIGNMENT], home, env)
            fetched = home / ASSIGNMENT
            assert (fetched / NOTEBOOK).is_file()
            log.run(name, [sys.executable, "-m", "cs_convnet", "submit", "--root", edition,
                           "--into-assignment", fetched], home, env)
            log.run(name, [*nbgrader, "submit", ASSIGNMENT, "--student", name], home, env)
            # the same notebook and package files, handed in as a `cs-convnet submit` zip
            (edition / "assignments" / ASSIGNMENT).mkdir()
            (edition / "assignments" / ASSIGNMENT / NOTEBOOK).write_bytes((fetched / NOTEBOOK).read_bytes())
            log.run(name, [sys.executable, "-m", "cs_convnet", "submit", "--root", edition,
                           "-o", inbox / f"{name}_zip.zip"], home, env)

        log.run("instructor", [*nbgrader, "collect", ASSIGNMENT, "--CollectApp.check_owner=False"],
                course.root, instructor)
        for name in LEARNERS:
            carried = course.submitted / name / ASSIGNMENT
            assert sorted(p.relative_to(carried).as_posix() for p in carried.rglob("*.py")) == sorted(LEARNER_FILES)
            assert course.package_root(name) == carried
        log.run("instructor", [sys.executable, "-m", "autograder", "--course-dir", course.root, "collect", inbox],
                tmp_path, instructor)
        log.run("instructor", [sys.executable, "-m", "autograder", "--course-dir", course.root, "autograde",
                               "--jobs", "2", "--no-progress"], tmp_path, instructor, keep_output=True)

        scores = gradebook.scores(course)
        log.lines.append("gradebook (score, max): " + "; ".join(
            f"{student} {dict(sorted(row.items()))}" for student, row in sorted(scores.items())))
        for name, sample in LEARNERS.items():
            report = _grade_one(editions[name], tmp_path / f"{name}-grade-one.json", log, instructor)
            failing = sorted(c["name"] for c in report["checks"] if not c["passed"])
            assert failing == sorted(samples.load(sample)["expected_failing"]), name
            assert scores[name][PACKAGE_ASSIGNMENT] == (report["score"], report["max_score"]), name
            assert scores[name] == scores[f"{name}_zip"], name
            assert set(scores[name]) == {PACKAGE_ASSIGNMENT, ASSIGNMENT}, name
        assert scores["bob"][PACKAGE_ASSIGNMENT][0] < scores["alice"][PACKAGE_ASSIGNMENT][0]
        assert scores["bob"][ASSIGNMENT][0] < scores["alice"][ASSIGNMENT][0]   # the kernel ran bob's conv
    finally:
        log.save()


def _fetched(tmp_path):
    folder = tmp_path / ASSIGNMENT
    folder.mkdir()
    (folder / NOTEBOOK).write_text("{}")
    return folder


def test_into_assignment_replaces_earlier_package_files(tmp_path):
    """Does a second --into-assignment replace the first copy, dropping files no longer there?"""
    edition = samples.materialize("reference", tmp_path / "edition")
    fetched = _fetched(tmp_path)
    (fetched / "cs_convnet").mkdir()
    (fetched / "cs_convnet" / "stale.py").write_text("x = 1\n")
    (edition / "cs_convnet" / "optim.py").unlink()
    copied, problems, _ = copy_into_assignment(edition, fetched)
    assert sorted(copied) == sorted(set(LEARNER_FILES) - {"cs_convnet/optim.py"})
    assert problems == ["missing cs_convnet/optim.py (it will be graded as not implemented)"]
    assert sorted(p.relative_to(fetched).as_posix() for p in fetched.rglob("*.py")) == sorted(copied)
    assert (fetched / "cs_convnet" / "layers.py").read_bytes() == (edition / "cs_convnet" / "layers.py").read_bytes()


@pytest.mark.parametrize("case", ["missing", "no notebook", "the edition"])
def test_into_assignment_refuses_a_folder_that_is_not_a_fetched_assignment(tmp_path, case):
    """Is a wrong --into-assignment folder one clear error, with nothing written?"""
    edition = samples.materialize("reference", tmp_path / "edition")
    target = {"missing": tmp_path / "nowhere", "no notebook": tmp_path, "the edition": edition}[case]
    if case == "the edition":
        (edition / "notebook.ipynb").write_text("{}")
    with pytest.raises(CommandError, match="--into-assignment .* expected the (folder `nbgrader fetch|fetched)"):
        copy_into_assignment(edition, target)
    assert not (tmp_path / "cs_convnet").exists()


def test_package_root_prefers_collected_packages_then_the_newest_exchange_submission(tmp_path):
    """Which package files does autograde grade: collect's, else those of the newest nbgrader submission?"""
    course = Course(tmp_path)
    for assignment, stamp in [("01_fully_connected", "2026-12-04 10:00:00.000000 UTC"),
                              ("03_pooling", "2026-12-04 12:00:00.000000 UTC"),
                              ("02_convolution", "2026-12-04 11:00:00.000000 UTC")]:
        folder = course.submitted / "ada" / assignment
        (folder / "cs_convnet").mkdir(parents=True)
        (folder / "timestamp.txt").write_text(stamp)
    (course.submitted / "ada" / "04_im2col_fast_layers").mkdir()   # a submission without package files
    assert course.package_root("ada") == course.submitted / "ada" / "03_pooling"
    assert course.package_root("nobody") is None
    (course.packages / "ada" / "cs_convnet").mkdir(parents=True)
    assert course.package_root("ada") == course.packages / "ada"


def test_the_submit_zip_and_into_assignment_carry_the_same_package_files(tmp_path):
    """Do both ways of handing in take exactly the same package files?"""
    from cs_convnet.submission import write_submission

    edition = samples.materialize("conv_padding_off_by_one", tmp_path / "edition")
    fetched = _fetched(tmp_path)
    copy_into_assignment(edition, fetched)
    output, *_ = write_submission(edition, tmp_path / "s.zip", "ada")
    with zipfile.ZipFile(output) as archive:
        zipped = {n: archive.read(n) for n in archive.namelist() if n.startswith("cs_convnet/")}
    assert zipped == {rel: (fetched / rel).read_bytes() for rel in LEARNER_FILES}

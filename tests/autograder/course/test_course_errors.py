"""Instructor CLI: unknown names and bad settings are one-line errors, never blamed on a learner (#11.3-#11.5)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import cli
from autograder.apps import arguments
from autograder.course import gradebook
from autograder.engine import batch, grade_one
from support.nbgrader_factory import package_zip
from support.paths import REPO


def run(course, *words):
    return cli.main(["--course-dir", str(course.root), *words])


def one_line_error(err, command):
    assert err.startswith(f"cs-convnet-course {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("command", ["autograde", "feedback"])
def test_a_mistyped_student_is_an_error_with_near_matches(course, tmp_path, capsys, command):
    """Does `--student ghost` name the near match 'ghast' and add nobody to the gradebook? (#11.3)"""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "ghast.zip").write_bytes(package_zip())
    assert run(course, "collect", str(inbox)) == 0
    capsys.readouterr()
    assert run(course, command, "--student", "ghost") == 1
    err = one_line_error(capsys.readouterr().err, command)
    assert "no collected student 'ghost' (did you mean 'ghast'?)" in err
    assert "ghost" not in gradebook.scores(course)


@pytest.mark.parametrize("words", [
    ["autograde", "--timeout", "-5"], ["autograde", "--timeout", "0"], ["autograde", "--timeout", "nan"],
    ["autograde", "--jobs", "0"], ["autograde", "--jobs", "-3"], ["autograde", "--dask-workers", "0"],
    ["demo", "--jobs", "0"], ["grade-one", ".", "--timeout", "-1"], ["grade-one", ".", "--timeout", "0"],
], ids=lambda words: " ".join(words))
def test_bad_settings_are_usage_errors(tmp_path, capsys, words):
    """Are non-positive timeouts and worker counts refused before anything runs? (#11.4)"""
    assert cli.main(["--course-dir", str(tmp_path / "course"), *words]) == 2
    err = capsys.readouterr().err
    assert f"cs-convnet-course {words[0]}: error: argument" in err
    assert "greater than 0" in err or "at least 1" in err
    assert not (tmp_path / "course").exists()


@pytest.mark.parametrize("setting", [{"jobs": 0}, {"jobs": -3}, {"dask_workers": 0}, {"timeout": -5},
                                     {"timeout": 0}, {"max_attempts": 0}], ids=str)
def test_the_batch_refuses_bad_settings_too(course, setting):
    """Does the library refuse the settings the CLI refuses (no learner is recorded as timed out)? (#11.4)"""
    with pytest.raises(ValueError, match="must be"):
        batch.autograde(course.root, progress=False, **setting)
    assert gradebook.scores(course) == {}


def test_grade_one_refuses_a_timeout_that_is_not_positive(tmp_path):
    with pytest.raises(ValueError, match="greater than 0"):
        grade_one.grade(tmp_path, timeout=-1)


@pytest.mark.parametrize("address, expected", [("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
                                               ("sched.example:8786", "tcp://sched.example:8786"),
                                               ("tls://[::1]:8786", "tls://[::1]:8786")])
def test_scheduler_addresses_that_parse(address, expected):
    assert arguments.scheduler_address(address) == expected


@pytest.mark.parametrize("address", ["notaurl", "tcp://host", "tcp://:8786", "tcp://host:99999", "tcp://host:0",
                                     "http://host:80", "tcp://host:8786/path"])
def test_a_bad_scheduler_address_is_a_usage_error(course, capsys, address):
    """Is `--scheduler notaurl` a one-line usage error instead of `ValueError: missing port number`? (#11.5)"""
    assert run(course, "autograde", "--scheduler", address) == 2
    assert "expected a Dask scheduler address like tcp://HOST:8786" in capsys.readouterr().err


def test_grade_one_json_into_a_folder_is_refused_leaving_no_temporary_file(tmp_path, capsys):
    """Does `grade-one SUB --json EXISTING_DIR` fail in one line, before grading, leaving no .tmp file? (#11.5)"""
    submission, out = tmp_path / "sub", tmp_path / "out"
    submission.mkdir()
    out.mkdir()
    assert cli.main(["grade-one", str(submission), "--json", str(out)]) == 2
    assert "is a folder; expected the path of the report file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out", "sub"]


@pytest.mark.parametrize("words", [["export", "--to"], ["report", "package", "--out"]], ids=["export", "report"])
def test_an_output_folder_option_naming_a_file_is_refused(course, tmp_path, capsys, words):
    """Do `export --to FILE` and `report --out FILE` fail in one line and keep the file? (#11.5)"""
    existing = tmp_path / "grades.csv"
    existing.write_text("keep me")
    assert run(course, *words, str(existing)) == 1
    assert "is a file; expected a folder" in one_line_error(capsys.readouterr().err, words[0])
    assert existing.read_text() == "keep me"


def test_export_to_a_relative_folder_writes_there(course, tmp_path, capsys, monkeypatch):
    """Does `export --to rel` write into ./rel and keep its other files (nbgrader runs in the course folder)?"""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "mine.txt").write_text("keep me")
    assert run(course, "export", "--to", "rel") == 0
    assert sorted(p.name for p in (tmp_path / "rel").iterdir()) == ["grades.csv", "grades_by_cell.csv", "mine.txt"]
    assert (tmp_path / "rel" / "mine.txt").read_text() == "keep me"
    assert not (course.root / "rel").exists()


@pytest.mark.parametrize("words", [["prepare", "-a", "nosuch"], ["collect", "--assignment", "nosuch", "INBOX"]],
                         ids=["prepare", "collect"])
def test_a_mistyped_assignment_is_one_line_and_makes_no_course(tmp_path, capsys, words):
    """Does `prepare -a nosuch` name the known assignments and leave no half-made course folder?"""
    (tmp_path / "inbox").mkdir()
    words = [str(tmp_path / "inbox") if word == "INBOX" else word for word in words]
    assert cli.main(["--course-dir", str(tmp_path / "course"), *words]) == 1
    err = one_line_error(capsys.readouterr().err, words[0])
    assert "no assignment 'nosuch' in " in err and "02_convolution" in err
    assert not (tmp_path / "course").exists()


def test_a_course_dir_that_is_a_file_is_one_line_and_kept(tmp_path, capsys):
    """Does `--course-dir FILE collect` say the course folder is a file (not 'File exists') and keep the file?"""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "course").write_text("keep me")
    assert cli.main(["--course-dir", str(tmp_path / "course"), "collect", str(tmp_path / "inbox")]) == 1
    assert "course is a file; expected a course folder" in one_line_error(capsys.readouterr().err, "collect")
    assert (tmp_path / "course").read_text() == "keep me"


def test_output_into_a_closed_pipe_is_not_an_error_line(course):
    """Does `cs-convnet-course table | head` stay quiet when head has left (no 'Broken pipe' error)?"""
    child = subprocess.Popen([sys.executable, "-m", "autograder", "--course-dir", str(course.root), "table"],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()   # the reader leaves before the table is printed (the child takes a second to start)
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 1
    assert err == ""


def test_an_unexpected_error_is_one_line_with_a_log_file(course, capsys, monkeypatch, tmp_path):
    """Does a bug print one line naming a log file that holds the traceback, and --debug print it? (#11.5)"""
    from autograder.report import table

    def broken(course):
        raise KeyError("surprise")

    monkeypatch.setattr(table, "format_table", broken)
    monkeypatch.setenv("CS_CONVNET_LOG_DIR", str(tmp_path / "logs"))
    assert run(course, "table") == 1
    err = one_line_error(capsys.readouterr().err, "table")
    log = Path(re.search(r"the traceback is in (\S+)\)", err).group(1))
    assert "unexpected KeyError" in err and log.parent == tmp_path / "logs"
    assert "Traceback" in log.read_text() and "surprise" in log.read_text()
    assert cli.main(["--course-dir", str(course.root), "--debug", "table"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_grade_one_prints_its_notes_under_the_score_line(tmp_path, capsys, monkeypatch):
    """Does grade-one say why it gave 0 (the notes) on the terminal, not only in the JSON? (#11.7)"""
    (tmp_path / "sub").mkdir()
    report = {"score": 0.0, "max_score": 71.0, "notes": ["cs_convnet/layers.py is missing from the submission"],
              "checks": []}
    monkeypatch.setattr(grade_one, "grade", lambda *args, **kwargs: report)
    assert cli.main(["grade-one", str(tmp_path / "sub"), "--json", str(tmp_path / "out.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("0 / 71 points") and lines[1] == "    note: " + report["notes"][0]
    assert json.loads((tmp_path / "out.json").read_text()) == report


def test_grade_one_points_at_a_submission_one_level_too_deep(tmp_path):
    """Is a folder one level too deep named in a note? (#11.7)"""
    (tmp_path / "unzipped" / "ada" / "cs_convnet").mkdir(parents=True)
    [note] = grade_one._misplaced_hint(tmp_path / "unzipped")
    assert "a cs_convnet folder is in ada/" in note


def test_readme_lists_every_instructor_command():
    """Does the README's command list name every `cs-convnet-course` command, prepare and table included? (#11.8)"""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("Instructors (`cs-convnet-course`"):readme.index("## Grading a whole class")]
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    missing = [name for name in commands if f"- `{name}" not in listed]
    assert missing == []


def test_help_texts_say_what_they_mean(capsys):
    """No RST backticks in the top-level help; demo's default assignment named; no "(default: None)". (#11.8)"""
    from cs_convnet.train import build_parser as train_parser

    parser = cli.build_parser()
    assert "``" not in parser.format_help()
    demo = parser._subparsers._group_actions[0].choices["demo"].format_help()
    assert "see `demo --help`" not in demo and "02_convolution" in " ".join(demo.split())
    assert "(default: None)" not in train_parser().format_help()


def test_bench_grading_json_into_a_folder_is_refused(tmp_path, capsys):
    """Does `bench-grading --json EXISTING_DIR` fail in one line before measuring anything? (#11.5)"""
    assert cli.main(["bench-grading", "--json", str(tmp_path)]) == 1
    assert "is a folder; expected the path of a file" in one_line_error(capsys.readouterr().err, "bench-grading")

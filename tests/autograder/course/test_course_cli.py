"""The instructor CLI (`cs-convnet-course`, `python -m autograder`), collect, and the demo."""

import csv
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from autograder import cli
from autograder.course import collect, gradebook, layout as course_mod, prepare as prepare_mod
from autograder.course.layout import PACKAGE_ASSIGNMENT
from support import nbgrader_factory as factory
from support.paths import REPO



def test_module_entry_point_lists_every_command():
    """Does `python -m autograder --help` exit 0 and name every subcommand?"""
    done = subprocess.run([sys.executable, "-m", "autograder", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in ("release", "collect", "autograde", "feedback", "export", "grade-one", "demo"):
        assert command in done.stdout


@pytest.mark.parametrize("command, words", [("release", "student edition"), ("grade-one", "--json")],
                         ids=["release", "grade-one"])
def test_release_and_grade_one_are_delegated(command, words, capsys):
    """Do `release` and `grade-one` reach their own modules' argument parsers?"""
    assert cli.main([command, "--help"]) == 0
    assert words in capsys.readouterr().out


@pytest.fixture
def course(tmp_path):
    """A course directory with the tiny assignment's source (collect needs no gradebook)."""
    course = course_mod.Course(tmp_path / "course")
    factory.write_source(course.source)
    return course


def _notebook_json():
    return json.dumps(factory.source_notebook())


def test_collect_zip_is_filed_under_its_name_and_lays_out_files(course, tmp_path):
    """Does a `cs-convnet submit` zip land in submitted/ and packages/ under the id its name gives?"""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "submission-ada_lovelace.zip", "w") as archive:
        archive.writestr("assignments/tiny/squares.ipynb", _notebook_json())
        archive.writestr("cs_convnet/layers.py", "def relu_forward(x):\n    pass\n")
        archive.writestr("submission.json", json.dumps({"student": "ada lovelace"}))
    [entry] = collect.collect(course.root, inbox)
    assert entry["student"] == "ada_lovelace" and entry["notes"] == [] and entry["status"] == "collected"
    assert (course.submitted / "ada_lovelace" / "tiny" / "squares.ipynb").is_file()
    assert (course.packages / "ada_lovelace" / "cs_convnet" / "layers.py").read_text().startswith("def relu")


def test_collect_refuses_traversal_links_and_non_zips_without_stopping(course, tmp_path):
    """Are '..' members, absolute paths, links and non-zips noted and skipped while the rest is collected?"""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "mallory.zip", "w") as archive:
        archive.writestr("../../outside.py", "print('escaped')")
        archive.writestr("/etc/cron.d/evil", "x")
        link = zipfile.ZipInfo("cs_convnet/optim.py")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
        archive.writestr("cs_convnet/layers.py", "x = 1\n")
    (inbox / "bob.zip").write_text("this is not a zip")
    (inbox / "carol").mkdir()
    (inbox / "carol" / "squares.ipynb").write_text("{ not json")
    (inbox / "carol" / "other.ipynb").write_text(_notebook_json())
    results = {e["student"]: e for e in collect.collect(course.root, inbox)}
    mallory = " ".join(results["mallory"]["notes"])
    assert "path traversal" in mallory and "absolute path" in mallory and "symbolic link" in mallory
    assert results["mallory"]["package_files"] == ["cs_convnet/layers.py"]
    assert not (course.root.parent / "outside.py").exists()
    assert "not a zip" in results["bob"]["notes"][0]
    carol = " ".join(results["carol"]["notes"])
    assert "not a valid notebook" in carol and "no assignment has a notebook named other.ipynb" in carol
    saved = json.loads((course.collect_notes / "mallory.json").read_text())
    assert saved == results["mallory"]["notes"]


def test_recollecting_replaces_earlier_files(course, tmp_path):
    """Does collecting a student again drop files that are no longer submitted?"""
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "dan" / "cs_convnet").mkdir(parents=True)
    (first / "dan" / "cs_convnet" / "optim.py").write_text("a = 1\n")
    (second / "dan" / "cs_convnet").mkdir(parents=True)
    (second / "dan" / "cs_convnet" / "layers.py").write_text("b = 2\n")
    collect.collect(course.root, first)
    collect.collect(course.root, second)
    assert sorted(p.name for p in (course.packages / "dan" / "cs_convnet").iterdir()) == ["layers.py"]


def test_table_and_export_commands_read_the_gradebook(tmp_path, capsys):
    """Do `table` and `export` show package checks recorded in the gradebook?"""
    course = prepare_mod.prepare(tmp_path / "course", source_dir=tmp_path / "nothing", assignments=[])
    gradebook.record_student(course, "ada", {}, factory.package_report(1.0))
    gradebook.record_student(course, "bob", {}, factory.package_report(0.0))
    assert cli.main(["--course-dir", str(course.root), "table"]) == 0
    out = capsys.readouterr().out
    assert "ada" in out and "5/5" in out and "relu_forward_shapes" in out
    assert cli.main(["--course-dir", str(course.root), "export"]) == 0
    rows = list(csv.DictReader(io.StringIO((course.exports / "grades.csv").read_text())))
    assert {(r["student_id"], r["assignment"], float(r["score"])) for r in rows} == {
        ("ada", PACKAGE_ASSIGNMENT, 5.0), ("bob", PACKAGE_ASSIGNMENT, 0.0)}


@pytest.mark.parametrize("command", [["autograde"], ["table"], ["export"], ["feedback"], ["report", "package"],
                                     ["autograde", "--student", "ghost"]],
                         ids=["autograde", "table", "export", "feedback", "report", "autograde-student"])
def test_course_commands_never_create_a_course(tmp_path, capsys, command):
    """Do commands other than prepare/collect fail in one line on a missing course, creating nothing? (#11.5, #11.6)"""
    missing = tmp_path / "typo"
    assert cli.main(["--course-dir", str(missing), *command]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"cs-convnet-course {command[0]}: error: ") and err.count("\n") == 1
    assert "run `prepare` or `collect` first" in err and "Traceback" not in err
    assert not missing.exists()


def test_table_outside_a_course_folder_is_one_line(tmp_path, capsys, monkeypatch):
    """Does `table` in a folder that is not a course say so in one line instead of a SQLAlchemy traceback? (#11.5)"""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "course").mkdir()
    assert cli.main(["table"]) == 1
    err = capsys.readouterr().err
    assert "is not a course folder" in err and err.count("\n") == 1
    assert list((tmp_path / "course").iterdir()) == []


@pytest.mark.slow
def test_demo_grades_every_sample_exactly(tmp_path):
    """Does the demo give the reference full marks and each buggy sample exactly its expected failures?"""
    from autograder.qa import samples
    from autograder.qa.demo import run_demo

    lines = []
    assert run_demo(tmp_path / "demo", jobs=2, progress=False, say=lines.append) == 0
    course = course_mod.Course(tmp_path / "demo")
    for name in samples.names():
        record = json.loads((course.records / f"{name}.json").read_text())
        failed = sorted(c["name"] for c in record["package"]["checks"] if not c["passed"])
        assert failed == sorted(samples.load(name)["expected_failing"]), name
    table = gradebook.scores(course)
    top = table["reference"][PACKAGE_ASSIGNMENT]
    assert top[0] == top[1] > 0
    notebook_rows = [r for r in gradebook.cell_rows(course)
                     if r["student"] == "reference" and r["assignment"] != PACKAGE_ASSIGNMENT]
    assert notebook_rows and all(r["score"] == r["max_score"] for r in notebook_rows if not r["needs_manual_grade"])
    pages = list(course.feedback.rglob("*.html"))
    assert len(pages) == 2 * len(samples.names())
    assert any("reference" in line and "none" in line for line in lines)
    assert os.path.getsize(course.exports / "grades.csv") > 0

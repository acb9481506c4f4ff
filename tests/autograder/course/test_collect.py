"""`collect`: every submission stands alone, and the entry's name -- never its content -- decides who it is (#11)."""

import io
import json
import zipfile

import pytest

from autograder import cli
from autograder.course import collect
from support import nbgrader_factory as factory
from support.nbgrader_factory import package_zip


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def corrupted_member_zip():
    """A deflated zip whose member's compressed data has one flipped byte (a zlib or CRC error on reading)."""
    data = bytearray(package_zip("def f(x):\n    return x\n" * 200, compression=zipfile.ZIP_DEFLATED))
    start = 30 + len("cs_convnet/layers.py")   # local header, then the compressed data
    data[start + 20] ^= 0xFF
    return bytes(data)


def layers(course, student):
    return (course.packages / student / "cs_convnet" / "layers.py").read_bytes()


@pytest.mark.parametrize("bad", ["corrupted-member", "truncated", "not-a-zip", "empty-file", "too-large"])
def test_a_broken_entry_is_skipped_and_never_stops_the_others(course, inbox, capsys, monkeypatch, bad):
    """Is a corrupted, truncated or non-zip entry noted by name and skipped, the entries around it collected,
    and the exit status 1? (#11.1)"""
    good = package_zip("good = 1\n")
    (inbox / "alice.zip").write_bytes(good)
    broken = {"corrupted-member": corrupted_member_zip(), "truncated": good[: len(good) // 2],
              "not-a-zip": b"%PDF-1.4 not a zip", "empty-file": b"", "too-large": package_zip("x" * 5000)}[bad]
    monkeypatch.setattr(collect, "MAX_ENTRY_BYTES", len(good) + 100)
    (inbox / "bob.zip").write_bytes(broken)
    (inbox / "carol.zip").write_bytes(good)
    assert cli.main(["--course-dir", str(course.root), "collect", str(inbox)]) == 1
    out = capsys.readouterr().out
    [note] = [line for line in out.splitlines() if "bob.zip skipped" in line]
    assert ("too large" if bad == "too-large" else "unreadable") in note
    assert "collected 2 of 3 submissions" in out and "skipped 1" in out
    assert layers(course, "carol") == layers(course, "alice") == b"good = 1\n"
    assert not (course.packages / "bob").exists()
    assert (inbox / "bob.zip").read_bytes() == broken   # left where it was


def test_a_broken_resubmission_keeps_the_earlier_good_one(course, inbox):
    """Does a corrupted second submission leave the learner's earlier collected work whole? (#11.1)"""
    (inbox / "dan.zip").write_bytes(package_zip("first = 1\n"))
    collect.collect(course.root, inbox)
    (inbox / "dan.zip").write_bytes(corrupted_member_zip())
    [entry] = collect.collect(course.root, inbox)
    assert entry["status"] == "skipped" and "earlier collected work of 'dan' is kept" in entry["notes"][-1]
    assert layers(course, "dan") == b"first = 1\n"


def test_an_impostor_manifest_never_redirects_files(course, inbox):
    """Does eve.zip claiming to be alice stay eve's, with a note, alice's work untouched? (#11.2)"""
    (inbox / "alice.zip").write_bytes(package_zip("alice = 1\n"))
    collect.collect(course.root, inbox)
    (inbox / "alice.zip").unlink()
    (inbox / "eve.zip").write_bytes(package_zip("eve = 1\n", manifest="alice"))
    [entry] = collect.collect(course.root, inbox)
    assert entry["student"] == "eve" and entry["status"] == "collected"
    assert any("naming the student 'alice'" in note and "eve.zip" in note for note in entry["notes"])
    assert layers(course, "alice") == b"alice = 1\n" and layers(course, "eve") == b"eve = 1\n"


def test_two_entries_with_one_id_are_a_conflict_naming_both(course, inbox, capsys):
    """Are bob.zip and submission-bob.zip both refused, each note naming the other, earlier work kept? (#11.2)"""
    (inbox / "bob.zip").write_bytes(package_zip("old = 1\n"))
    collect.collect(course.root, inbox)
    (inbox / "submission-bob.zip").write_bytes(package_zip("new = 1\n"))
    assert cli.main(["--course-dir", str(course.root), "collect", str(inbox)]) == 1
    out = capsys.readouterr().out
    assert "skipped 2 (2 id conflict)" in out
    results = {e["source"]: e for e in collect.collect(course.root, inbox)}
    assert "submission-bob.zip also maps to the student id 'bob'" in results["bob.zip"]["notes"][-1]
    assert "bob.zip also maps" in results["submission-bob.zip"]["notes"][-1]
    assert layers(course, "bob") == b"old = 1\n"


@pytest.mark.parametrize("name, student, source, late", [
    ("lovelaceada_12345_6789012_submission-ada.zip", "lovelaceada_12345", "canvas", False),
    ("lovelaceada_LATE_12345_6789013_layers.zip", "lovelaceada_12345", "canvas", True),
    ("Ada Lovelace_12345_assignsubmission_file_", "Ada_Lovelace_12345", "moodle", False),
    ("Ada Lovelace_12345_assignsubmission_file_work.zip", "Ada_Lovelace_12345", "moodle", False),
    ("ada.zip", "ada", "plain", False),
    ("submission-ada.zip", "ada", "plain", False),
    ("ada", "ada", "plain", False),
    ("../..", "unnamed", "plain", False),
], ids=["canvas", "canvas-late", "moodle-folder", "moodle-file", "plain-zip", "submit-zip", "folder", "dots"])
def test_the_student_id_rule(name, student, source, late):
    """Does the one id rule read Canvas, Moodle and plain names as documented?"""
    parsed = collect.parse_entry_name(name)
    assert (parsed.student, parsed.source, parsed.late) == (student, source, late)


def test_canvas_late_and_on_time_entries_of_one_learner_conflict(course, inbox):
    """Are a Canvas on-time and LATE entry of one learner a conflict rather than one silently winning?"""
    (inbox / "lovelaceada_12345_1_a.zip").write_bytes(package_zip("a\n"))
    (inbox / "lovelaceada_LATE_12345_2_b.zip").write_bytes(package_zip("b\n"))
    results = collect.collect(course.root, inbox)
    assert [r["reason"] for r in results] == [collect.CONFLICT, collect.CONFLICT]
    assert any("marked LATE" in note for note in results[1]["notes"])


def test_a_loose_notebook_says_what_collect_expects(course, inbox):
    """Is a notebook uploaded on its own (Canvas) skipped with a note saying to put it in a folder or zip?"""
    (inbox / "lovelaceada_12345_6789012_squares.ipynb").write_text(json.dumps(factory.source_notebook()))
    [entry] = collect.collect(course.root, inbox)
    assert entry["reason"] == collect.UNREADABLE and "one zip or folder per learner" in entry["notes"][-1]


def test_a_submission_with_nothing_to_collect_is_skipped(course, inbox):
    """Does an entry with no course notebook and no cs_convnet file count as skipped, earlier work kept?"""
    (inbox / "erin.zip").write_bytes(package_zip("kept\n"))
    collect.collect(course.root, inbox)
    with zipfile.ZipFile(inbox / "erin.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    [entry] = collect.collect(course.root, inbox)
    assert entry["reason"] == collect.EMPTY and layers(course, "erin") == b"kept\n"


def test_an_unreadable_file_in_a_folder_skips_that_entry_only(course, inbox, monkeypatch):
    """Is a folder entry with a file that cannot be read skipped, its neighbour collected?"""
    for name in ("fay", "gus"):
        (inbox / name / "cs_convnet").mkdir(parents=True)
        (inbox / name / "cs_convnet" / "layers.py").write_text(f"{name} = 1\n")
    real = collect.Path.read_bytes

    def read_bytes(self):
        if "fay" in self.parts:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(collect.Path, "read_bytes", read_bytes)
    results = {r["student"]: r for r in collect.collect(course.root, inbox)}
    assert results["fay"]["reason"] == collect.UNREADABLE and "Permission denied" in results["fay"]["notes"][-1]
    assert results["gus"]["status"] == "collected"


def test_collect_of_an_empty_inbox_says_so(course, inbox, capsys):
    """Does `collect` of an empty folder print a line instead of nothing? (#11.8)"""
    assert cli.main(["--course-dir", str(course.root), "collect", str(inbox)]) == 0
    assert "no submissions found" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["missing", "zip-file"])
def test_collect_of_a_bad_inbox_is_one_line_and_creates_no_course(tmp_path, capsys, kind):
    """Does `collect some.zip` or a missing inbox fail in one line without building a course? (#11.5, #11.6)"""
    target = tmp_path / "some.zip"
    if kind == "zip-file":
        target.write_bytes(package_zip())
    assert cli.main(["--course-dir", str(tmp_path / "course"), "collect", str(target)]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("cs-convnet-course collect: error: argument inbox: ")
    assert ("is a file" if kind == "zip-file" else "does not exist") in err and "Traceback" not in err
    assert not (tmp_path / "course").exists()


def test_a_failure_while_writing_keeps_the_earlier_submission_whole(course, inbox, monkeypatch):
    """Does a write that fails halfway (disk full) leave the earlier collection untouched and no staging behind?"""
    (inbox / "hal.zip").write_bytes(package_zip("first = 1\n"))
    collect.collect(course.root, inbox)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cs_convnet/layers.py", "second = 1\n")
        archive.writestr("cs_convnet/optim.py", "second = 2\n")
    (inbox / "hal.zip").write_bytes(buffer.getvalue())
    real, written = collect.Path.write_bytes, []

    def write_bytes(self, data):
        if written:
            raise OSError(28, "No space left on device")
        written.append(self)
        return real(self, data)

    monkeypatch.setattr(collect.Path, "write_bytes", write_bytes)
    [entry] = collect.collect(course.root, inbox)
    assert entry["reason"] == collect.UNWRITABLE and "No space left" in entry["notes"][-1]
    assert sorted(p.name for p in (course.packages / "hal" / "cs_convnet").iterdir()) == ["layers.py"]
    assert layers(course, "hal") == b"first = 1\n"
    assert not list(course.grading.glob(".collect-*"))

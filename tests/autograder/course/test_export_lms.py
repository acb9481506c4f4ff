"""Grades into an LMS: `export --format canvas|moodle --roster ROSTER.csv` on a real graded course.

The course is prepared and graded once for the module (`autograde` with nbgrader
on the tiny assignment; a quick stand-in for grade-one), then exported. The
documentation samples below follow the layouts that Canvas and Moodle document
(see :func:`autograder.course.export.export_lms`); each export must read back under the
same rules as the sample, with its header and every cell exact.
"""

import csv
import io
import re
import shutil
import sys

import pytest

from autograder import cli
from autograder.course import export as export_mod, gradebook, prepare as prepare_mod
from autograder.course.layout import PACKAGE_ASSIGNMENT
from autograder.engine import batch
from support import nbgrader_factory as factory

# Canvas's gradebook export, the layout its import reads (canvas-lms lib/gradebook_exporter.rb and
# app/models/gradebook_importer.rb): five identity columns ending in Section, one column per
# assignment (`Title (assignment id)`), a points-possible row, numbers with two decimals.
CANVAS_DOC_SAMPLE = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (87568490),Lab 2\r\n"
    "    Points Possible,,,,,10.00,5.00\r\n"
    '"Doe, Jane",4021,3012345,jdoe,Section 1,9.50,\r\n')
# Moodle's CSV grade export; its import reads the same format, columns mapped on its preview page
# (docs.moodle.org/311/en/Grade_import; moodle grade/import/csv/classes/load_data.php).
MOODLE_DOC_SAMPLE = (
    "First name,Last name,ID number,Institution,Department,Email address,Assignment: Lab 1 (Real)\r\n"
    "Jane,Doe,3012345,,,jane.doe@example.edu,9.50\r\n")

FAKE_GRADE_ONE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {support!r})
import nbgrader_factory as f
buggy = any("BUG" in p.read_text() for p in Path(sys.argv[1]).rglob("*.py"))
json.dump(f.package_report(0.5 if buggy else 1.0), open(sys.argv[3], "w"))
"""
ROSTER = (
    "student_id,lms_id,name,sis_user_id,sis_login_id,section,email,extra\r\n"
    '"ada","1001","Lovelace, Ada",S1,ada,CS231n-A,ada@uni.example,ignored\r\n'
    'bob,1002,"=HYPERLINK(""http://x"")",S2,+bob,@sec,bob@uni.example,\r\n'
    "carol,1003,\"Carol, C\",,,,carol@uni.example,\r\n"
    "zed,1004,Zed,,-z,,zed@uni.example,\r\n")
EXPECTED_CANVAS = (
    "Student,ID,SIS User ID,SIS Login ID,Section,package_checks,tiny (4242)\r\n"
    "    Points Possible,,,,,5,5\r\n"
    '"Lovelace, Ada",1001,S1,ada,CS231n-A,5,5\r\n'
    '"\'=HYPERLINK(""http://x"")",1002,S2,\'+bob,\'@sec,2.5,3\r\n'
    '"Carol, C",1003,,,,,\r\n'
    "Zed,1004,,'-z,,5,\r\n")
EXPECTED_MOODLE = (
    "Email address,Full name,package_checks,tiny\r\n"
    'ada@uni.example,"Lovelace, Ada",5,5\r\n'
    "bob@uni.example,\"'=HYPERLINK(\"\"http://x\"\")\",2.5,3\r\n"
    'carol@uni.example,"Carol, C",,\r\n'
    "zed@uni.example,Zed,5,\r\n")
UNSUBMITTED = "tiny_later"
EXPECTED_NOTES = [
    f"note: no graded submission of {UNSUBMITTED} yet; no column for it",
    "note: roster student_id 'carol' (Carol, C) has no graded submission; its cells are left empty",
    "note: roster student_id 'zed' (Zed) has no graded tiny; those cells are left empty",
    "note: learner 'eve' is graded but not in the roster; left out of {file}",
]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """ada (all right), bob (buggy package, wrong square), zed and eve (package only) graded; carol absent;
    nobody submitted the second assignment."""
    base = tmp_path_factory.mktemp("lms")
    shutil.copytree(factory.write_source(base / "src"), base / "src" / UNSUBMITTED)
    course = prepare_mod.prepare(base / "course", source_dir=base / "src")
    released = course.root / "release" / factory.ASSIGNMENT
    wrong_square = dict(factory.CORRECT, square_body="return x")
    for student, bodies in [("ada", factory.CORRECT), ("bob", wrong_square)]:
        factory.write_submission(course.submitted / student / factory.ASSIGNMENT,
                                 factory.student_notebook(released, **bodies))
    for student, text in [("bob", "# BUG\n"), ("zed", "# fine\n"), ("eve", "# fine\n")]:
        (course.packages / student / "cs_convnet").mkdir(parents=True)
        (course.packages / student / "cs_convnet" / "layers.py").write_text(text)
    fake = base / "fake_grade_one.py"
    fake.write_text(FAKE_GRADE_ONE.format(support=str(factory.SUPPORT)))
    summary = batch.autograde(course.root, progress=False, grade_one=[sys.executable, str(fake)])
    assert summary["outcomes"] == dict.fromkeys(["ada", "bob", "eve", "zed"], "graded"), summary
    return course


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8", newline="")
    return path


def _read_canvas(text):
    """Read a Canvas gradebook CSV by the rules of Canvas's importer: ``{(ID, column): cell}``,
    ``{column: points possible}``, the assignment columns as ``(title, Canvas id or None)``."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, identity = rows[0], 5
    assert re.search("Student", header[0]) and re.search("ID", header[1])
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    assert re.search("Section", header[identity - 1])
    assignments = header[identity:]
    points = next(row for row in rows[1:] if re.search("Points Possible", row[0]))
    cells = {(row[1], column): value for row in rows[1:] if row is not points
             for column, value in zip(assignments, row[identity:])}
    titles = [re.fullmatch(r"(.+?)(?: \((\d+)\))?", column).groups() for column in assignments]
    return cells, dict(zip(assignments, map(float, points[identity:]))), titles


def _read_moodle(text, grade_columns, identity="Email address"):
    """Read a Moodle grade CSV by the rules of Moodle's CSV import: every row names its user, and each
    grade cell mapped to a grade item is empty or "-" (no grade) or a number, else the import stops."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for row in rows:
        assert row[identity].strip(), row
        for column in grade_columns:
            value = row[column].strip()
            assert value in ("", "-") or float(value) >= 0, (column, value)
    return {row[identity]: row for row in rows}


def test_documentation_samples_read_back_under_the_documented_rules():
    """Do the rules the exports are checked with read the LMS documentation's own samples?"""
    cells, points, titles = _read_canvas(CANVAS_DOC_SAMPLE)
    assert points == {"Quiz 1 (87568490)": 10.0, "Lab 2": 5.0}
    assert cells[("4021", "Quiz 1 (87568490)")] == "9.50" and cells[("4021", "Lab 2")] == ""
    assert titles == [("Quiz 1", "87568490"), ("Lab 2", None)]
    lab = "Assignment: Lab 1 (Real)"
    assert _read_moodle(MOODLE_DOC_SAMPLE, [lab])["jane.doe@example.edu"][lab] == "9.50"


def test_canvas_file_is_exact_and_reads_like_the_documented_layout(course, roster, tmp_path, capsys):
    """Does the Canvas file have the documented columns, the points row, each score, empty cells for
    missing work, defused formulas, no column for an assignment nobody submitted, and a note per
    learner left out or without a submission?"""
    out = tmp_path / "out"
    assert cli.main(["--course-dir", str(course.root), "export", "--format", "canvas", "--roster", str(roster),
                     "--to", str(out), "--canvas-id", "tiny=4242"]) == 0
    captured = capsys.readouterr()
    path = out / "canvas_grades.csv"
    assert captured.out.strip() == str(path.absolute())
    assert captured.err.splitlines() == [line.format(file=path.name) for line in EXPECTED_NOTES]
    text = path.read_bytes().decode("utf-8")
    assert text == EXPECTED_CANVAS
    cells, points, titles = _read_canvas(text)
    assert points == {PACKAGE_ASSIGNMENT: 5.0, "tiny (4242)": 5.0}
    assert titles == [(PACKAGE_ASSIGNMENT, None), ("tiny", "4242")]
    assert cells[("1002", PACKAGE_ASSIGNMENT)] == "2.5" and cells[("1003", "tiny (4242)")] == ""


def test_moodle_file_is_exact_with_an_email_identifier(course, roster, capsys):
    """Does the Moodle file identify learners by email, one column per grade item, into COURSE/exports?"""
    assert cli.main(["--course-dir", str(course.root), "export", "--format", "moodle", "--roster", str(roster)]) == 0
    path = course.exports / "moodle_grades.csv"
    assert path.read_bytes().decode("utf-8") == EXPECTED_MOODLE
    assert capsys.readouterr().err.splitlines() == [line.format(file=path.name) for line in EXPECTED_NOTES]
    by_email = _read_moodle(path.read_text(encoding="utf-8"), [PACKAGE_ASSIGNMENT, "tiny"])
    assert by_email["bob@uni.example"]["tiny"] == "3" and by_email["carol@uni.example"]["tiny"] == ""


def test_export_lms_returns_the_notes_and_adds_names_without_an_id(course, roster, tmp_path):
    """Without --canvas-id, is each column the plain assignment name (Canvas creates or matches it by name)?"""
    path, notes = export_mod.export_lms(course.root, "canvas", roster, tmp_path)
    assert path.read_text(encoding="utf-8").splitlines()[0] == (
        "Student,ID,SIS User ID,SIS Login ID,Section,package_checks,tiny")
    assert notes == [line.format(file=path.name) for line in EXPECTED_NOTES]


def test_waiting_manual_grades_and_near_miss_ids_are_noted(course, tmp_path):
    """Is a score still waiting for a person noted, and a roster id that misses a graded learner's by case hinted?"""
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id\nbob,1\nEve,2\n", encoding="utf-8")
    with gradebook.open_gradebook(course) as gb:
        gb.find_grade("square_test", factory.NOTEBOOK, factory.ASSIGNMENT, "bob").needs_manual_grade = True
        gb.db.commit()
    try:
        _, notes = export_mod.export_lms(course.root, "canvas", roster, tmp_path)
    finally:
        with gradebook.open_gradebook(course) as gb:
            gb.find_grade("square_test", factory.NOTEBOOK, factory.ASSIGNMENT, "bob").needs_manual_grade = False
            gb.db.commit()
    assert notes == [
        f"note: no graded submission of {UNSUBMITTED} yet; no column for it",
        "note: roster student_id 'bob': cells of tiny still need manual grading in formgrader; "
        "the score so far is exported",
        "note: roster student_id 'Eve' has no graded submission (did you mean the graded learner 'eve'?); "
        "its cells are left empty",
        "note: learner 'ada' is graded but not in the roster; left out of canvas_grades.csv",
        "note: learner 'eve' is graded but not in the roster; left out of canvas_grades.csv",
        "note: learner 'zed' is graded but not in the roster; left out of canvas_grades.csv",
    ]


BAD_ROSTERS = {
    "missing-column": ("student_id,name\r\nada,Ada\r\n", "canvas", "no column lms_id (needed for --format canvas)"),
    "missing-email": ("student_id,lms_id\r\nada,1\r\n", "moodle", "no column email (needed for --format moodle)"),
    "duplicate-id": ("student_id,lms_id\r\nada,1\r\nbob,2\r\nada,3\r\n", "canvas",
                     "line 4: student_id 'ada' again (first on line 2)"),
    "duplicate-lms-id": ("student_id,lms_id\r\nada,1\r\nbob,1\r\n", "canvas", "line 3: lms_id '1' again"),
    "empty-lms-id": ("student_id,lms_id\r\nada,\r\n", "canvas", "line 2: empty lms_id"),
    "empty-file": ("", "canvas", "found no header"),
}


@pytest.mark.parametrize("name", list(BAD_ROSTERS), ids=list(BAD_ROSTERS))
def test_a_bad_roster_is_one_line_and_keeps_the_earlier_file(course, tmp_path, capsys, name):
    """Is a roster without a needed column, or with an id twice, refused in one line, the last export kept?"""
    text, fmt, message = BAD_ROSTERS[name]
    bad = tmp_path / "roster.csv"
    bad.write_text(text, encoding="utf-8")
    earlier = tmp_path / f"{fmt}_grades.csv"
    earlier.write_text("earlier export\n")
    assert cli.main(["--course-dir", str(course.root), "export", "--format", fmt, "--roster", str(bad),
                     "--to", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cs-convnet-course export: error: roster ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err
    assert earlier.read_text() == "earlier export\n"


@pytest.mark.parametrize("words, message", [
    (["--format", "canvas"], "--format canvas needs --roster ROSTER.csv"),
    (["--format", "canvas", "--roster", "{missing}"], "does not exist; expected a CSV file"),
    (["--roster", "{roster}"], "--roster and --canvas-id go with --format canvas or moodle"),
    (["--format", "moodle", "--roster", "{roster}", "--canvas-id", "tiny=1"], "--canvas-id goes with --format canvas"),
    (["--format", "canvas", "--roster", "{roster}", "--canvas-id", "tiny2=1"],
     "--canvas-id names tiny2, not an assignment with grades to export; expected one of package_checks, tiny"),
    (["--format", "canvas", "--roster", "{roster}", "--canvas-id", "tiny=1", "--canvas-id", "tiny=2"],
     "--canvas-id gives tiny more than once"),
], ids=["no-roster", "missing-roster", "roster-with-csv", "canvas-id-with-moodle", "unknown-assignment",
        "canvas-id-twice"])
def test_option_mistakes_are_one_line(course, roster, tmp_path, capsys, words, message):
    """Are a missing or stray --roster and a --canvas-id for no assignment refused in one line, writing nothing?"""
    words = [w.format(roster=roster, missing=tmp_path / "nope.csv") for w in words]
    out = tmp_path / "out"
    assert cli.main(["--course-dir", str(course.root), "export", "--to", str(out), *words]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cs-convnet-course export: error: ") and err.count("\n") == 1 and message in err, err
    assert not out.exists() or not any(out.iterdir())


def test_a_malformed_canvas_id_is_a_usage_error(course, roster, capsys):
    """Is --canvas-id without a numeric id a usage error (exit 2) that shows the expected form?"""
    assert cli.main(["--course-dir", str(course.root), "export", "--format", "canvas", "--roster", str(roster),
                     "--canvas-id", "tiny"]) == 2
    assert "expected ASSIGNMENT=ID with a numeric Canvas assignment id" in capsys.readouterr().err

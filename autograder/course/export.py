"""Grades out of the gradebook as CSV: the course's own files, or an LMS gradebook import file.

``exports/grades.csv`` is nbgrader's own export (one row per student and
assignment, package checks included as the assignment ``package_checks``);
``exports/grades_by_cell.csv`` has one row per graded cell or check. Both are
written atomically (:mod:`cs_convnet.atomic`) and replace the files of an
earlier export. :func:`export_lms` writes ``exports/canvas_grades.csv`` or
``exports/moodle_grades.csv`` from the gradebook and a roster (see there).
"""

import csv
import difflib
import io
from pathlib import Path

from cs_convnet.atomic import atomic_open, write_bytes, write_text

from . import gradebook
from .layout import PACKAGE_ASSIGNMENT, Course


def export(course_dir, out_dir=None):
    """Write both CSV files; return their paths."""
    course = Course(course_dir).require()
    # absolute: nbgrader runs in the course folder, where a relative --to would name another folder
    out = course.exports if out_dir is None else Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file; expected a folder for the CSV files")
    out.mkdir(parents=True, exist_ok=True)
    per_assignment = out / "grades.csv"
    staged = out / ".grades.csv.nbgrader"   # nbgrader writes its export in place: staged, then swapped in
    try:
        done = course.nbgrader("export", f"--to={staged}")
        if done.returncode != 0 or not staged.is_file():
            raise RuntimeError(f"nbgrader export failed:\n{done.stdout}{done.stderr}")
        write_bytes(per_assignment, staged.read_bytes())
    finally:
        staged.unlink(missing_ok=True)
    fields = ["student", "assignment", "notebook", "cell", "auto_score", "manual_score", "score",
              "max_score", "needs_manual_grade"]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=fields)
    writer.writeheader()
    writer.writerows(gradebook.cell_rows(course))
    per_cell = write_text(out / "grades_by_cell.csv", text.getvalue())
    return [per_assignment, per_cell]


# --------------------------------------------------------------------------
# Grades into an LMS gradebook: Canvas and Moodle
# --------------------------------------------------------------------------

LMS_FORMATS = ("canvas", "moodle")
ROSTER_COLUMNS = ("student_id", "lms_id", "name", "sis_user_id", "sis_login_id", "section", "email")
ROSTER_REQUIRED = {"canvas": ("student_id", "lms_id"), "moodle": ("student_id", "email")}
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_IDENTITY_FIELDS = ["name", "lms_id", "sis_user_id", "sis_login_id", "section"]
CANVAS_POINTS_ROW = "    Points Possible"   # as Canvas's export writes it; its import matches /Points Possible/
MOODLE_IDENTITY = ["Email address", "Full name"]
MOODLE_IDENTITY_FIELDS = ["email", "name"]


def read_roster(path, fmt):
    """The roster: ``[{column: text}]`` in file order, every ``ROSTER_COLUMNS`` key present ("" when absent).

    Columns (header names exact, any order; other columns are ignored):

    - ``student_id``: the course's student id, as ``collect`` decided it (README
      "Collecting submissions"). Required.
    - ``lms_id``: Canvas's user id (the ``ID`` column of a Canvas gradebook
      export). Required for ``canvas``.
    - ``email``: the Moodle account's email address, which Moodle's import maps
      to the user ("Map from: Email address, Map to: useremail"). Required for
      ``moodle``.
    - ``name``, ``sis_user_id``, ``sis_login_id``, ``section``: copied into the
      Canvas columns ``Student``, ``SIS User ID``, ``SIS Login ID``, ``Section``
      (``name`` also into Moodle's ``Full name``); optional.

    Raises ValueError (one line naming the file, the line and what was expected)
    on a missing required column, an empty required cell, or a ``student_id`` or
    LMS identity that appears twice.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"roster {path} {what}; expected a CSV file with a header line")
    required = ROSTER_REQUIRED[fmt]
    expected = f"expected a header with {', '.join(required)} (optional: " \
               f"{', '.join(c for c in ROSTER_COLUMNS if c not in required)})"
    try:
        text = path.read_text(encoding="utf-8-sig")   # -sig: spreadsheets save a byte-order mark
    except UnicodeDecodeError as error:
        raise ValueError(f"roster {path} is not UTF-8 text ({error.reason}); save it as CSV UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in required if column not in header]
    if missing:
        found = ", ".join(header) if header else "no header"
        raise ValueError(f"roster {path}: no column {', '.join(missing)} (needed for --format {fmt}); "
                         f"found {found}; {expected}")
    reader.fieldnames = header
    entries, first_line = [], {}
    for row in reader:
        line = reader.line_num
        entry = {column: (row.get(column) or "").strip() for column in ROSTER_COLUMNS}
        for column in required:
            if not entry[column]:
                raise ValueError(f"roster {path} line {line}: empty {column}; every row needs "
                                 f"{' and '.join(required)}")
        for column in required:
            key = (column, entry[column])
            if key in first_line:
                raise ValueError(f"roster {path} line {line}: {column} {entry[column]!r} again "
                                 f"(first on line {first_line[key]}); expected one row per learner")
            first_line[key] = line
        entries.append(entry)
    return entries


def _gradebook_scores(course):
    """``(assignments, scores, pending)`` from the gradebook.

    ``assignments``: ``[(name, max points)]``, package checks first, then the
    notebook assignments by name; ``scores``: ``{student: {assignment: points}}``
    for each recorded submission; ``pending``: ``{student: {assignment}}`` with
    cells that still need a person's grade.
    """
    with gradebook.open_gradebook(course) as gb:
        maxima = {assignment.name: float(assignment.max_score) for assignment in gb.assignments}
    names = sorted(maxima, key=lambda name: (name != PACKAGE_ASSIGNMENT, name))
    scores = {student: {name: score for name, (score, _) in by.items()}
              for student, by in gradebook.scores(course).items()}
    pending = {}
    for row in gradebook.cell_rows(course):
        if row["needs_manual_grade"]:
            pending.setdefault(row["student"], set()).add(row["assignment"])
    return [(name, maxima[name]) for name in names], scores, pending


def _column_names(assignments, fmt, canvas_ids):
    unknown = sorted(set(canvas_ids) - {name for name, _ in assignments})
    if unknown:
        raise ValueError(f"--canvas-id names {', '.join(unknown)}, not an assignment with grades to export; "
                         f"expected one of {', '.join(name for name, _ in assignments) or 'none (nothing graded)'}")
    if fmt == "canvas":
        return [f"{name} ({canvas_ids[name]})" if name in canvas_ids else name for name, _ in assignments]
    return [name for name, _ in assignments]


def export_lms(course_dir, fmt, roster_path, out_dir=None, canvas_ids=None):
    """Write the grades as a gradebook import file of Canvas or Moodle; return ``(path, notes)``.

    Scale: points, as in the gradebook (each notebook assignment's points from
    its nbgrader cells; ``package_checks``: the sum of the checks' points). One
    column per gradebook assignment that anyone has a graded submission of (an
    assignment without one gets a note instead), ``package_checks`` first, named
    by the assignment (``NAME (ID)`` in Canvas when ``canvas_ids`` maps it to a
    Canvas assignment id, so that Canvas updates that assignment rather than
    creating one). No total column: the LMS computes its own, and an imported
    total would be one more graded item.

    One row per roster entry, in roster order. A cell is empty where the learner
    has no graded submission of that assignment: both LMSs read an empty cell as
    "no grade", so a learner without a score stays ungraded (never a zero); a
    score already typed into the LMS for that item would be cleared, which
    Canvas lists on its import preview page. ``notes`` (one line each, for
    stderr) name every graded learner absent from the roster (left out of the
    file), every roster entry without a graded submission (with a near-miss
    graded id, if any), and scores still waiting for manual grading.

    Formats, from the LMS's documentation and its importer's source:

    - ``canvas`` -> ``canvas_grades.csv``: the layout of Canvas's own gradebook
      export, which its gradebook import reads: columns ``Student, ID, SIS User
      ID, SIS Login ID, Section``, one column per assignment, and a second row
      ``    Points Possible`` (as Canvas writes it) holding each assignment's
      maximum. Canvas finds the learner by ``ID`` (Canvas user id), else by SIS
      User ID or SIS Login ID, else by name; a column titled ``NAME (ID)``
      updates the assignment with that id, another title matches an assignment
      of that name or creates one. Sources: Instructure's guide "How do I import
      grades in the Gradebook?"
      (community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807),
      Ohio State's import guide (teaching.resources.osu.edu, "Import a CSV file
      to Carmen Grades"), canvas-lms ``lib/gradebook_exporter.rb`` and
      ``app/models/gradebook_importer.rb``.
    - ``moodle`` -> ``moodle_grades.csv``, for Moodle's Grades > Import > CSV
      file: ``Email address, Full name`` then one column per grade item. On the
      preview page map from "Email address" to "useremail" and each grade column
      to its grade item, whose maximum grade should equal the column's points
      (Moodle has no points-possible row); ``Full name`` stays "ignore". Moodle
      stops the whole import at an email it does not know. Sources:
      docs.moodle.org/311/en/Grade_import, moodle
      ``grade/import/csv/classes/load_data.php``.

    Cells that a spreadsheet would run as a formula (starting ``= + - @``) are
    defused as in the class report. Written atomically; an earlier file of the
    same format is replaced.
    """
    if fmt not in LMS_FORMATS:
        raise ValueError(f"unknown LMS format {fmt!r}; expected one of {', '.join(LMS_FORMATS)}")
    from ..report.analysis import _text as cell   # the one CSV-cell formatter (formula defusing included)

    course = Course(course_dir).require()
    roster = read_roster(roster_path, fmt)
    everything, scores, pending = _gradebook_scores(course)
    with_scores = {name for by in scores.values() for name in by}
    # an assignment nobody has a score in yet gets no column: Canvas would create an empty assignment
    assignments = [(name, points) for name, points in everything if name in with_scores]
    columns = _column_names(assignments, fmt, dict(canvas_ids or {}))
    out = course.exports if out_dir is None else Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file; expected a folder for the CSV file")
    path = out / f"{fmt}_grades.csv"

    if fmt == "canvas":
        header, fields = CANVAS_IDENTITY + columns, CANVAS_IDENTITY_FIELDS
        rows = [[CANVAS_POINTS_ROW] + [""] * (len(fields) - 1) + [cell(points) for _, points in assignments]]
    else:
        header, fields, rows = MOODLE_IDENTITY + columns, MOODLE_IDENTITY_FIELDS, []
    notes = [f"note: no graded submission of {name} yet; no column for it" for name, _ in everything
             if name not in with_scores]
    on_roster = {entry["student_id"] for entry in roster}
    unrostered = sorted(set(scores) - on_roster)
    for entry in roster:
        student = entry["student_id"]
        graded = scores.get(student, {})
        rows.append([cell(entry[field]) for field in fields]
                    + [cell(graded[name]) if name in graded else "" for name, _ in assignments])
        who = f"roster student_id {student!r}" + (f" ({entry['name']})" if entry["name"] else "")
        absent = [name for name, _ in assignments if name not in graded]
        if not graded:
            close = difflib.get_close_matches(student, unrostered, n=1, cutoff=0.6)
            hint = f" (did you mean the graded learner {close[0]!r}?)" if close else ""
            notes.append(f"note: {who} has no graded submission{hint}; its cells are left empty")
        elif absent:
            notes.append(f"note: {who} has no graded {', '.join(absent)}; those cells are left empty")
        if pending.get(student):
            notes.append(f"note: {who}: cells of {', '.join(sorted(pending[student]))} still need manual "
                         "grading in formgrader; the score so far is exported")
    for student in unrostered:
        notes.append(f"note: learner {student!r} is graded but not in the roster; left out of {path.name}")

    with atomic_open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([cell(name) for name in header])
        writer.writerows(rows)
    return path, notes

"""The class report of one assignment: how the class did, check by check, and which checks to distrust.

``cs-convnet-course report ASSIGNMENT`` writes into ``COURSE/reports/ASSIGNMENT/``:

    index.html      the page (figures embedded), rendered by :mod:`autograder.report.page`
    scores.csv      one row per learner: one column per check, the total, its quintile, the outcome
    checks.csv      per check: function, max points, failure/zero/full-marks rates, discrimination,
                    mean score per total-score quintile, timeouts, crashes, flags
    functions.csv   the same per learner function (per notebook for a notebook assignment)
    signatures.csv  common mistakes: normalised failure messages with a category, counts, example learners
    outcomes.csv    per learner: how the grading run ended, which checks timed out, crashed or did not run

Scores come from the gradebook (what the learners get); the messages and how
each run ended come from ``grading/records/<student>.json`` (package checks)
and the autograded notebooks (notebook assignments). ASSIGNMENT is a notebook
assignment or ``package`` (the gradebook's ``package_checks``).

Learners whose grading failed for reasons of the grader's own (outcome
``infrastructure_error``) are listed but left out of the statistics: their
zeros say nothing about the checks.
"""

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from nbgrader.api import MissingEntry

from cs_convnet.atomic import atomic_open, write_text

from ..course import gradebook
from ..course.layout import PACKAGE_ASSIGNMENT, Course
from ..engine.tasks import GRADED, INFRASTRUCTURE_ERROR, LEARNER_CRASH, LEARNER_TIMEOUT
from . import signatures
from .page import render
from .settings import EXCLUDED_OUTCOMES, MOSTLY_FAILING, NEAR_ZERO, QUINTILES, RUN_PROBLEMS

ALIASES = {"package": PACKAGE_ASSIGNMENT}
EXAMPLES = 5             # example learners per failure signature
EPS = 1e-9

_TIMEOUT = re.compile(r"did not finish within|ran over the time limit")
_CRASH = re.compile(r"stopped the worker|broke the grading protocol|kernel died")
_NOTEBOOK_TIMEOUT = re.compile(r"cell (\S+) ran over the time limit")
_NOTEBOOK_CRASH = re.compile(r"the kernel died in cell (\S+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FAILURE_CELL = re.compile(r"[^/]+/(.+?), (\S+): \w+$")   # "ASSIGNMENT/NOTEBOOK.ipynb, CELL: ErrorName"
CRASH_KINDS = {"crash", "memory", "protocol"}   # learner failures the engine counts as a learner crash


@dataclass
class Outcome:
    """How one learner's grading run of the assignment ended."""
    outcome: str                 # graded, learner_timeout, learner_crash, infrastructure_error, no record
    source: str                  # "record" (the engine said so), "derived" (from messages and notes), "none"
    timeouts: list = field(default_factory=list)   # checks that ran over their time limit
    crashes: list = field(default_factory=list)    # checks that killed the worker or kernel
    not_run: list = field(default_factory=list)    # checks skipped after an earlier timeout or crash
    notes: list = field(default_factory=list)


@dataclass
class ClassData:
    """Every learner's score on every check of one assignment, with the failure messages."""
    assignment: str              # the gradebook's name
    students: list               # sorted
    checks: list                 # names, in the order the checks run (or the notebook's order)
    functions: list              # the learner function (or notebook) of each check
    max_points: np.ndarray       # (K,)
    scores: np.ndarray           # (S, K): final scores from the gradebook
    messages: dict               # (student, check) -> message of a failed check
    outcomes: dict               # student -> Outcome
    needs_manual: np.ndarray     # (K,): learners whose grade nbgrader flags "needs manual grade"

    @property
    def included(self):
        """(S,) bool: learners counted in the statistics."""
        return np.array([self.outcomes[s].outcome not in EXCLUDED_OUTCOMES for s in self.students], dtype=bool)


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

def resolve(assignment):
    """The gradebook's name of ``assignment`` (``package`` is ``package_checks``)."""
    return ALIASES.get(assignment, assignment)


def load(course, assignment):
    """Read one assignment's grades, messages and outcomes; raise RuntimeError if it has no grades."""
    course = course if isinstance(course, Course) else Course(course)
    name = resolve(assignment)
    if not course.gradebook_path.is_file():
        raise FileNotFoundError(f"{course.root} has no gradebook (run `collect` and `autograde` first)")
    with gradebook.open_gradebook(course) as gb:
        try:
            found = gb.find_assignment(name)
        except MissingEntry:
            known = sorted(a.name for a in gb.assignments)
            raise RuntimeError(f"no assignment {assignment!r} in the gradebook "
                               f"(known: {', '.join(known) or 'none'}; `package` means {PACKAGE_ASSIGNMENT})") from None
        notebooks = [nb.name for nb in found.notebooks]
        cells, grades = {}, {}
        for notebook in found.notebooks:
            for cell in [*notebook.grade_cells, *notebook.task_cells]:
                cells[(notebook.name, cell.name)] = float(cell.max_score)
        for submission in found.submissions:
            for submitted in submission.notebooks:
                for grade in submitted.grades:
                    grades[(submission.student.id, submitted.notebook.name, grade.name)] = (
                        float(grade.score), bool(grade.needs_manual_grade))
    students = sorted({student for student, _, _ in grades})
    if not students:
        raise RuntimeError(f"no grades recorded for {name} yet (run `autograde` first)")

    def key(notebook, cell):
        return cell if len(notebooks) == 1 else f"{notebook}/{cell}"

    records = {s: _read_record(course, s) for s in students}
    order, functions = _check_order(course, name, notebooks, records)
    names = sorted(cells, key=lambda nc: (order.get(key(*nc), len(order)), key(*nc)))
    checks = [key(*nc) for nc in names]
    scores = np.zeros((len(students), len(checks)))
    manual = np.zeros(len(checks), dtype=int)
    for i, student in enumerate(students):
        for j, (notebook, cell) in enumerate(names):
            score, needs_manual = grades.get((student, notebook, cell), (0.0, False))
            scores[i, j] = score
            manual[j] += needs_manual
    if name == PACKAGE_ASSIGNMENT:
        messages, outcomes = _package_messages(students, checks, records)
        check_functions = [functions.get(c) or c.split("[", 1)[0] for c in checks]
    else:
        messages, outcomes = _notebook_messages(course, name, notebooks, students, names, key, records)
        check_functions = [notebook for notebook, _ in names]
    return ClassData(name, students, checks, check_functions, np.array([cells[nc] for nc in names]), scores,
                     messages, outcomes, manual)


def _read_record(course, student):
    path = course.records / f"{student}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _check_order(course, name, notebooks, records):
    """({check: position}, {check: function}): the order the checks run in, or the notebook's cell order."""
    order, functions = {}, {}
    if name == PACKAGE_ASSIGNMENT:
        for record in records.values():
            for check in ((record or {}).get("package") or {}).get("checks") or []:
                if isinstance(check, dict) and "name" in check:
                    order.setdefault(check["name"], len(order))
                    functions.setdefault(check["name"], check.get("function"))
        return order, functions
    for notebook in notebooks:
        for grade_id, _ in _nbgrader_cells(course.source / name / f"{notebook}.ipynb"):
            order.setdefault(grade_id if len(notebooks) == 1 else f"{notebook}/{grade_id}", len(order))
    return order, functions


def _nbgrader_cells(path):
    """``(grade_id, cell)`` of every nbgrader cell of the notebook at ``path``; none if it cannot be read."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            yield grade_id, cell


def _recorded_failures(record, where):
    """The learner failures the grading engine recorded for one part of the submission, or None (older records).

    ``where`` tells which part: ``"package"``, or a notebook assignment (``"tiny"``, ``"tiny/squares.ipynb"``).
    """
    failures = record.get("learner_failures")
    if not isinstance(failures, list):
        return None
    return [f for f in failures if isinstance(f, dict) and (
        f.get("where") == where or str(f.get("where", "")).startswith(f"{where}/"))]


def _part_outcome(record, failures):
    """The outcome of one part: the engine's ``infrastructure_error`` for the whole run, else from its failures.

    The record's own ``outcome`` covers the package and every notebook together; a
    learner failure names the part it happened in, so one part's timeout is not
    blamed on another.
    """
    if record.get("outcome") == INFRASTRUCTURE_ERROR:
        return INFRASTRUCTURE_ERROR
    if failures is None:
        return record.get("outcome") if isinstance(record.get("outcome"), str) else None
    kinds = {f.get("kind") for f in failures}
    if kinds & CRASH_KINDS:
        return LEARNER_CRASH
    return LEARNER_TIMEOUT if "timeout" in kinds else GRADED


def _package_messages(students, checks, records):
    messages, outcomes = {}, {}
    for student in students:
        record = records[student]
        if record is None:
            outcomes[student] = Outcome("no record", "none")
            continue
        report = record.get("package")
        notes = [str(n) for n in record.get("notes") or []]
        outcome = Outcome(GRADED, "derived", notes=notes)
        if isinstance(report, dict):
            for check in report.get("checks") or []:
                if not isinstance(check, dict) or check.get("passed") or check.get("name") not in checks:
                    continue
                message = str(check.get("message") or "")
                messages[(student, check["name"])] = message
                if message.startswith("not run:"):
                    outcome.not_run.append(check["name"])
                elif _TIMEOUT.search(message):
                    outcome.timeouts.append(check["name"])
                elif _CRASH.search(message):
                    outcome.crashes.append(check["name"])
        else:   # grade-one gave no report: every check scored 0 for the reason in the notes
            stopped = any("took longer than" in n for n in notes)
            outcome.outcome = LEARNER_TIMEOUT if stopped else INFRASTRUCTURE_ERROR
            reason = next((n for n in notes if "package checks" in n), notes[-1] if notes else "")
            for check in checks:
                messages[(student, check)] = reason
        failures = _recorded_failures(record, "package")
        if failures is None and isinstance(report, dict) and isinstance(report.get("learner_failures"), list):
            failures = report["learner_failures"]
        if failures is not None:   # what the sandbox observed beats reading the messages
            named = [f for f in failures if isinstance(f, dict) and f.get("check") in checks]
            outcome.timeouts = [f["check"] for f in named if f.get("kind") == "timeout"]
            outcome.crashes = [f["check"] for f in named if f.get("kind") in CRASH_KINDS]
        recorded = _part_outcome(record, failures)
        if recorded:
            outcome.outcome, outcome.source = recorded, "record"
        outcomes[student] = outcome
    return messages, outcomes


def _notebook_messages(course, assignment, notebooks, students, names, key, records):
    """Messages from the error outputs of the autograded notebooks' test cells."""
    messages, outcomes = {}, {}
    wanted = set(names)
    for student in students:
        record = records[student]
        section = ((record or {}).get("assignments") or {}).get(assignment)
        notes = [str(n) for n in (section or {}).get("notes") or []]
        outcome = Outcome(GRADED, "derived", notes=notes) if record else Outcome("no record", "none")
        for notebook in notebooks:
            for grade_id, cell in _nbgrader_cells(course.autograded / student / assignment / f"{notebook}.ipynb"):
                if (notebook, grade_id) not in wanted:
                    continue
                errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                if errors:
                    error = errors[-1]
                    messages[(student, key(notebook, grade_id))] = _ANSI.sub(
                        "", f"{error.get('ename', 'Error')}: {error.get('evalue', '')}").strip()
        for note in notes:
            for pattern, bucket in ((_NOTEBOOK_TIMEOUT, outcome.timeouts), (_NOTEBOOK_CRASH, outcome.crashes)):
                for cell in pattern.findall(note):
                    hit = next((key(nb, c) for nb, c in names if c == cell), None)
                    if hit:
                        bucket.append(hit)
                        messages.setdefault((student, hit), note)
        if record is None:
            outcomes[student] = outcome
            continue
        if any("could not grade" in n for n in notes):
            outcome.outcome = INFRASTRUCTURE_ERROR
        elif any("longer than" in n for n in notes):
            outcome.outcome = LEARNER_TIMEOUT
        failures = _recorded_failures(record, assignment)
        for failure in failures or []:
            found = _FAILURE_CELL.match(str(failure.get("detail", "")))
            if found and (Path(found.group(1)).stem, found.group(2)) in wanted:
                hit = key(Path(found.group(1)).stem, found.group(2))
                bucket = outcome.timeouts if failure.get("kind") == "timeout" else outcome.crashes
                if hit not in bucket:
                    bucket.append(hit)
        recorded = _part_outcome(record, failures)
        if recorded:
            outcome.outcome, outcome.source = recorded, "record"
        outcomes[student] = outcome
    return messages, outcomes


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

def describe(totals):
    """Mean, median, population standard deviation (ddof=0), min and max of the totals."""
    totals = np.asarray(totals, dtype=float)
    if totals.size == 0:
        return {"learners": 0, "mean": np.nan, "median": np.nan, "std": np.nan, "min": np.nan, "max": np.nan}
    return {"learners": int(totals.size), "mean": float(np.mean(totals)), "median": float(np.median(totals)),
            "std": float(np.std(totals)), "min": float(np.min(totals)), "max": float(np.max(totals))}


def corrected_item_total(item, total):
    """Pearson correlation of a check's scores with the total of the other checks (NaN if either is constant).

    Correcting the total (leaving the check out) keeps a check from correlating with itself,
    which inflates the plain item-total correlation when an assignment has few checks.
    """
    item = np.asarray(item, dtype=float)
    rest = np.asarray(total, dtype=float) - item
    if item.size < 3 or np.std(item) < EPS or np.std(rest) < EPS:
        return float("nan")
    return float(np.corrcoef(item, rest)[0, 1])


def quintile_groups(totals):
    """Indices of the learners in each fifth of the class by total, lowest first.

    Equal-sized groups (``np.array_split``) of the learners sorted by total; learners
    with equal totals are ordered by name, so a tie across a boundary is split by name.
    """
    totals = np.asarray(totals, dtype=float)
    order = np.lexsort((np.arange(totals.size), totals))
    return np.array_split(order, QUINTILES)


def _rates(scores, maximum):
    """(failure, zero, full) shares of learners for scores out of ``maximum``."""
    if scores.size == 0:
        return np.nan, np.nan, np.nan
    failed = scores < maximum - EPS
    return float(failed.mean()), float((scores <= EPS).mean()), float((~failed).mean())


def check_flags(scores, maximum, discrimination, failure, run_problems, learners):
    """Reasons to look at a check: constant scores, negative or near-zero discrimination, ..."""
    flags = []
    if scores.size and np.std(scores) < EPS:
        if scores.max() <= EPS < maximum:
            flags.append("every learner got the same score: 0 (a broken check?)")
        elif scores.min() >= maximum - EPS:
            flags.append("every learner got the same score: full marks")
        else:
            flags.append("every learner got the same score")
    elif np.isnan(discrimination):
        flags.append("discrimination undefined")
    elif discrimination < 0:
        flags.append("negative discrimination: stronger learners do worse (broken or misleading check?)")
    elif discrimination < NEAR_ZERO:
        flags.append("near-zero discrimination: unrelated to the rest of the work")
    if MOSTLY_FAILING <= failure < 1:
        flags.append(f"failed by {100 * failure:.1f}% of learners")
    if learners and run_problems / learners >= RUN_PROBLEMS:
        flags.append(f"timed out or crashed for {run_problems} learners (time limit too tight?)")
    return flags


def analyse(data):
    """All the statistics of the report, as rows ready for the CSV files and the page."""
    included = data.included
    students = [s for s, keep in zip(data.students, included) if keep]
    scores = data.scores[included]
    totals = scores.sum(axis=1)
    max_total = float(data.max_points.sum())
    groups = quintile_groups(totals)
    quintile_of = np.zeros(len(students), dtype=int)
    for number, group in enumerate(groups, start=1):
        quintile_of[group] = number
    timeouts = {c: 0 for c in data.checks}
    crashes = {c: 0 for c in data.checks}
    for student in students:
        for check in set(data.outcomes[student].timeouts):
            timeouts[check] = timeouts.get(check, 0) + 1
        for check in set(data.outcomes[student].crashes):
            crashes[check] = crashes.get(check, 0) + 1

    check_rows = []
    for j, check in enumerate(data.checks):
        column, maximum = scores[:, j], float(data.max_points[j])
        failure, zero, full = _rates(column, maximum)
        r = corrected_item_total(column, totals)
        row = {"check": check, "function": data.functions[j], "max_points": maximum,
               "mean_score": float(column.mean()) if column.size else np.nan,
               "failure_pct": 100 * failure, "zero_pct": 100 * zero, "full_pct": 100 * full,
               "discrimination": r}
        for number, group in enumerate(groups, start=1):
            row[f"mean_score_q{number}"] = float(column[group].mean()) if group.size else np.nan
        row["timeouts"], row["crashes"] = timeouts[check], crashes[check]
        row["needs_manual_grade"] = int(data.needs_manual[j])
        row["flags"] = check_flags(column, maximum, r, failure, timeouts[check] + crashes[check], len(students))
        check_rows.append(row)

    function_rows = []
    for function in dict.fromkeys(data.functions):
        columns = [j for j, f in enumerate(data.functions) if f == function]
        subtotal, maximum = scores[:, columns].sum(axis=1), float(data.max_points[columns].sum())
        failure, zero, full = _rates(subtotal, maximum)
        function_rows.append({
            "function": function, "checks": len(columns), "max_points": maximum,
            "mean_score": float(subtotal.mean()) if subtotal.size else np.nan,
            "failure_pct": 100 * failure, "zero_pct": 100 * zero, "full_pct": 100 * full,
            "discrimination": corrected_item_total(subtotal, totals),
            "flagged_checks": sum(1 for j in columns if check_rows[j]["flags"])})

    mistakes = failure_signature_rows(data, students, scores)
    return {
        "assignment": data.assignment, "max_total": max_total, "summary": describe(totals),
        "totals": totals, "students": students, "quintile_of": dict(zip(students, quintile_of.tolist())),
        "checks": check_rows, "functions": function_rows,
        "signatures": mistakes, "categories": category_rows(mistakes),
        "outcomes": outcome_rows(data), "excluded": [s for s, keep in zip(data.students, included) if not keep],
    }


def failure_signature_rows(data, students, scores):
    """Common mistakes: failed checks grouped by (function, normalised message), most learners first."""
    groups = {}
    for i, student in enumerate(students):
        for j, check in enumerate(data.checks):
            if scores[i, j] >= data.max_points[j] - EPS:
                continue
            message = data.messages.get((student, check), "")
            key = (data.functions[j], signatures.normalise(message))
            group = groups.setdefault(key, {"students": set(), "failures": 0, "checks": set(), "message": message})
            group["students"].add(student)
            group["failures"] += 1
            group["checks"].add(check)
    rows = []
    for (function, signature), group in groups.items():
        rows.append({"function": function, "signature": signature,
                     "category": signatures.categorise(signature),
                     "exception": signatures.exception_type(signature),
                     "learners": len(group["students"]), "failures": group["failures"],
                     "checks": sorted(group["checks"], key=data.checks.index),
                     "students": sorted(group["students"]),
                     "example_students": sorted(group["students"])[:EXAMPLES],
                     "example_message": group["message"]})
    rows.sort(key=lambda r: (-r["learners"], -r["failures"], r["function"], r["signature"]))
    return rows


def category_rows(signature_rows):
    """Learners and failures per category of mistake (a learner counts once per category)."""
    learners, failures, count = {}, {}, {}
    for row in signature_rows:
        learners.setdefault(row["category"], set()).update(row["students"])
        failures[row["category"]] = failures.get(row["category"], 0) + row["failures"]
        count[row["category"]] = count.get(row["category"], 0) + 1
    rows = [{"category": c, "learners": len(learners[c]), "failures": failures[c], "signatures": count[c]}
            for c in learners]
    return sorted(rows, key=lambda r: (-r["learners"], -r["failures"], r["category"]))


def outcome_rows(data):
    rows = []
    for student in data.students:
        outcome = data.outcomes[student]
        rows.append({"student": student, "outcome": outcome.outcome, "source": outcome.source,
                     "included_in_statistics": outcome.outcome not in EXCLUDED_OUTCOMES,
                     "timed_out_checks": outcome.timeouts, "crashed_checks": outcome.crashes,
                     "not_run_checks": outcome.not_run, "notes": outcome.notes})
    return rows


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def _text(value):
    """A CSV cell: lists joined, NaN empty, and text that a spreadsheet would run as a formula defused."""
    if isinstance(value, (list, tuple, set)):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{float(value):.6g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _write_csv(path, header, rows):
    with atomic_open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_text(row.get(column, "")) for column in header])
    return path


CHECK_COLUMNS = ["check", "function", "max_points", "mean_score", "failure_pct", "zero_pct", "full_pct",
                 "discrimination", *[f"mean_score_q{q}" for q in range(1, QUINTILES + 1)], "timeouts", "crashes",
                 "needs_manual_grade", "flags"]
FUNCTION_COLUMNS = ["function", "checks", "max_points", "mean_score", "failure_pct", "zero_pct", "full_pct",
                    "discrimination", "flagged_checks"]
SIGNATURE_COLUMNS = ["function", "category", "exception", "signature", "learners", "failures", "checks",
                     "example_students"]
OUTCOME_COLUMNS = ["student", "outcome", "source", "included_in_statistics", "timed_out_checks",
                   "crashed_checks", "not_run_checks", "notes"]


def write_report(course_dir, assignment, out_dir=None):
    """Write the report of ``assignment``; return the paths written (index.html first)."""
    course = Course(course_dir).require()
    data = load(course, assignment)
    out = Path(out_dir) if out_dir is not None else course.root / "reports" / data.assignment
    return write_files(data, analyse(data), out)


def write_files(data, report, out):
    """Write the page and the CSV files of an analysed assignment into ``out``; return their paths."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file; expected a folder for the report")
    out.mkdir(parents=True, exist_ok=True)
    quintile = report["quintile_of"]
    score_rows = []
    for i, student in enumerate(data.students):
        row = {"student": student, "total": float(data.scores[i].sum()), "quintile": quintile.get(student, ""),
               "outcome": data.outcomes[student].outcome}
        row.update({check: float(data.scores[i, j]) for j, check in enumerate(data.checks)})
        score_rows.append(row)
    paths = [out / "index.html"]
    paths.append(_write_csv(out / "scores.csv", ["student", *data.checks, "total", "quintile", "outcome"],
                            score_rows))
    paths.append(_write_csv(out / "checks.csv", CHECK_COLUMNS, report["checks"]))
    paths.append(_write_csv(out / "functions.csv", FUNCTION_COLUMNS, report["functions"]))
    paths.append(_write_csv(out / "signatures.csv", SIGNATURE_COLUMNS, report["signatures"]))
    paths.append(_write_csv(out / "outcomes.csv", OUTCOME_COLUMNS, report["outcomes"]))
    write_text(out / "index.html", render(report, [p.name for p in paths[1:]]))
    return paths

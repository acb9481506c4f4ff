"""The class report (`cs-convnet-course report`) on a synthetic class of 250 learners.

Grading 250 submissions for real takes too long, so the class is synthesised:
its failure messages are real ones, captured once per module by grading a few
buggy submissions (shipped samples, classic mutants, an endless loop and an
``os._exit``) with a subset of the hidden checks, and its grades go through
the real gradebook (:func:`autograder.course.gradebook.record_student`) of a real
prepared course. Planted structure: a check every learner fails, a check the
weaker learners pass and the stronger fail, a cluster of 50 learners with the
padding off by one, a cluster with the stride ignored, learners whose code
times out or kills the worker, a learner whose grading broke (left out of the
statistics), and a student id that is HTML.
"""

import csv
import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from autograder import cli
from autograder.checks import all_checks
from autograder.checks.compare import compare
from autograder.course import gradebook, prepare as prepare_mod
from autograder.engine import grade_one
from autograder.qa import mutation, samples
from autograder.report import analysis
from autograder.report.signatures import NO_MESSAGE, categorise, exception_type, normalise
from support import nbgrader_factory as factory

CHECKS = [
    "affine_forward[2d]", "affine_forward[4d-input]",
    "affine_backward[4d-input]", "affine_backward[N=1-3d-input]",
    "relu_forward[4d]", "relu_forward[N=1-2d]",
    "softmax_loss[random]", "softmax_loss[large-scores]",
    "conv_forward_naive[square-stride1-pad1]", "conv_forward_naive[nonsquare-stride2]",
    "conv_forward_naive[nonsquare-stride3-N=1]", "conv_forward_naive[nonsquare-pad0]",
    "max_pool_backward_naive[overlap-3x3-stride2-ties]", "max_pool_backward_naive[nonsquare-2x3-stride1-N=1]",
]
BROKEN = "max_pool_backward_naive[overlap-3x3-stride2-ties]"    # every learner fails it
REVERSED = "affine_forward[2d]"                                  # passed by the weaker half only
CONV = [c for c in CHECKS if c.startswith("conv_forward_naive")]
STRIDED = ["conv_forward_naive[nonsquare-stride2]", "conv_forward_naive[nonsquare-stride3-N=1]"]
HTML_ID = "<script>"
STUDENTS = sorted([f"s{i:03d}" for i in range(249)] + [HTML_ID])
BROKEN_RUN, STOPPED_RUN = "s240", "s241"   # grade-one could not run / was stopped for the whole package
PADDING_CLUSTER, STRIDE_CLUSTER = 50, 20

LOOP = "def relu_forward(x):\n    while True:\n        pass\n"
EXIT = "def softmax_loss(x, y):\n    import os\n    os._exit(3)\n"


def _classic(function, description):
    mutant = next(m for m in mutation.all_mutants("classic")
                  if m.function == function and m.description == description)
    return [{"file": mutant.file, "old": mutant.old, "new": mutant.new}]


def _capture_messages(tmp):
    """{bug: {check: message}}: real messages of the checks in CHECKS on buggy submissions."""
    checks = [c for c in all_checks() if c.name in CHECKS]
    layers = "cs_convnet/layers.py"
    bugs = {
        "padding": samples.load("conv_padding_off_by_one")["patches"],
        "stride": _classic("conv_forward_naive", "ignores the stride"),
        "reshape": _classic("affine_backward", "dx not reshaped back to x's shape"),
        "bias": _classic("affine_forward", "forgets the bias"),
        "assign": samples.load("max_pool_backward_assign")["patches"],
        "summed": _classic("softmax_loss", "loss summed not averaged"),
    }
    captured = {}
    for bug, patches in bugs.items():
        files = samples.apply_patches(samples.reference_files(), patches, bug)
        report = grade_one.grade(samples.write_submission(files, tmp / bug), seed=5, checks=checks)
        captured[bug] = {c["name"]: c["message"] for c in report["checks"] if not c["passed"]}
    for bug, function, source in (("loop", "relu_forward", LOOP), ("exit", "softmax_loss", EXIT)):
        files = samples.reference_files()
        files[layers] = samples.replace_function(files[layers], function, source)
        report = grade_one.grade(samples.write_submission(files, tmp / bug), seed=5, checks=checks, timeout=1)
        captured[bug] = {c["name"]: c["message"] for c in report["checks"] if not c["passed"]}
    return captured


def _plant(rng, messages):
    """(scores {student: {check: 0/1}}, causes {student: {check: bug}}, clusters) of the synthetic class."""
    ability = dict(zip(STUDENTS, rng.normal(size=len(STUDENTS))))
    ordinary = [s for s in STUDENTS if s not in (BROKEN_RUN, STOPPED_RUN, HTML_ID)]
    weakest = sorted(ordinary, key=ability.get)
    timeouts, crashes = weakest[:4], weakest[4:6]
    rest = [s for s in ordinary if s not in timeouts + crashes]
    weight = np.array([1 / (1 + np.exp(2 * ability[s])) for s in rest])   # weaker learners make more mistakes
    chosen = list(rng.choice(rest, size=PADDING_CLUSTER + STRIDE_CLUSTER - 1, replace=False, p=weight / weight.sum()))
    padding, stride = sorted([HTML_ID, *chosen[:PADDING_CLUSTER - 1]]), sorted(chosen[PADDING_CLUSTER - 1:])
    difficulty = {"affine_forward[4d-input]": -1.0, "affine_backward[4d-input]": -0.3,
                  "affine_backward[N=1-3d-input]": 0.2, "softmax_loss[random]": -0.5,
                  "softmax_loss[large-scores]": 0.4, "max_pool_backward_naive[nonsquare-2x3-stride1-N=1]": 0.0}
    cause_of = {"affine_forward": "bias", "affine_backward": "reshape", "softmax_loss": "summed",
                "max_pool_backward_naive": "assign"}
    scores, causes = {}, {}
    for student in STUDENTS:
        theta, failed = ability[student], {}
        for check in CHECKS:
            function = check.split("[")[0]
            if check == BROKEN:
                failed[check] = "assign"
            elif check == REVERSED:
                if theta > 0:
                    failed[check] = "bias"
            elif check in difficulty:
                if rng.random() > 1 / (1 + np.exp(-3 * (theta - difficulty[check]))):
                    failed[check] = cause_of[function]
        if student in padding:
            failed.update({c: "padding" for c in CONV})
        if student in stride:
            failed.update({c: "stride" for c in STRIDED})
        if student in timeouts:
            failed.update({c: "loop" for c in messages["loop"]})
        if student in crashes:
            failed.update({c: "exit" for c in messages["exit"]})
        if student in (BROKEN_RUN, STOPPED_RUN):
            failed = {c: None for c in CHECKS}
        scores[student] = {c: 0.0 if c in failed else 1.0 for c in CHECKS}
        causes[student] = failed
    clusters = {"padding": padding, "stride": stride, "timeouts": timeouts, "crashes": crashes}
    return scores, causes, clusters


def _record(course, student, scores, causes, messages, notebook, engine=True, notebook_failures=()):
    """Write the student's grades through the gradebook, and a record like the batch's.

    ``engine``: the record carries the grading engine's ``outcome`` and ``learner_failures``
    (as :mod:`autograder.engine.tasks` writes them); otherwise it is an older record without them.
    """
    checks = [{"name": c, "function": c.split("[")[0], "points": scores[c], "max_points": 1.0,
               "passed": scores[c] == 1.0, "message": messages[causes[c]][c] if causes.get(c) else ""}
              for c in CHECKS]
    failures = [{"check": c["name"], "function": c["function"], "detail": c["message"],
                 "kind": "timeout" if " did not finish " in c["message"] else "crash"}
                for c in checks if c["message"].startswith(f"{c['function']} did not finish")
                or c["message"].startswith(f"{c['function']} stopped the worker")]
    report = {"score": sum(scores.values()), "max_score": float(len(CHECKS)), "isolation": "test", "notes": [],
              "learner_failures": failures, "checks": checks}
    record = {"student": student, "fingerprint": "synthetic", "notes": [], "package": report,
              "assignments": {factory.ASSIGNMENT: {"assignment": factory.ASSIGNMENT, "scores": notebook,
                                                   "notes": [], "review": []}}}
    if engine:
        everything = [dict(f, where="package") for f in failures] + list(notebook_failures)
        kinds = {f["kind"] for f in everything}
        record.update(learner_failures=everything, outcome="learner_crash" if "crash" in kinds else
                      "learner_timeout" if "timeout" in kinds else "graded")
    else:
        del report["learner_failures"]
    if student == BROKEN_RUN:
        report = {"score": 0.0, "max_score": 0.0, "checks": [], "isolation": "none"}
        record.update(package=None, outcome="infrastructure_error", learner_failures=[],
                      notes=["package checks could not run (no 'checks' list; exit 1: Killed)"])
    elif student == STOPPED_RUN:
        report = {"score": 0.0, "max_score": 0.0, "checks": [], "isolation": "none"}
        record.update(package=None, notes=["package checks took longer than 1800 s and were stopped"])
    gradebook.record_student(course, student, notebook, report)
    (course.records / f"{student}.json").write_text(json.dumps(record), encoding="utf-8")


def _autograded_notebook(course, student, cube_error=None):
    """The autograded notebook nbgrader would leave: ``cube_error`` (ename, evalue) in the cube test's cell."""
    nb = factory.source_notebook()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "cube_test" and cube_error:
            ename, evalue = cube_error
            cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                                   traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])]
    folder = course.autograded / student / factory.ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{factory.NOTEBOOK}.ipynb")


CUBE_WRONG = ("AssertionError", "cube is wrong")
CELL_TIMEOUT = ("CellTimeoutError", "A cell timed out while it was being executed, after 30 seconds.")


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    base = tmp_path_factory.mktemp("class_report")
    factory.write_source(base / "src")
    with ThreadPoolExecutor(1) as pool:   # nbgrader registers the assignment while the bugs are graded
        preparing = pool.submit(prepare_mod.prepare, base / "course", source_dir=base / "src")
        messages = _capture_messages(base / "bugs")
        course = preparing.result()
    rng = np.random.default_rng(2024)
    scores, causes, clusters = _plant(rng, messages)
    older = {clusters["crashes"][1], STOPPED_RUN}           # records written before the engine kept outcomes
    planted = {s for group in clusters.values() for s in group} | {BROKEN_RUN, STOPPED_RUN}
    clusters["notebook_timeout"] = [next(s for s in STUDENTS if s not in planted)]
    cube_errors = {}
    for student in STUDENTS:
        cube_errors[student] = None if rng.random() < 0.6 else CUBE_WRONG
        slow = []
        if student in clusters["notebook_timeout"]:
            cube_errors[student] = CELL_TIMEOUT
            slow = [{"where": f"{factory.ASSIGNMENT}/{factory.NOTEBOOK}.ipynb", "kind": "timeout",
                     "detail": f"{factory.ASSIGNMENT}/{factory.NOTEBOOK}.ipynb, cube_test: CellTimeoutError"}]
        notebook = {factory.ASSIGNMENT: {factory.NOTEBOOK: {
            "square_test": 2.0, "cube_test": 0.0 if cube_errors[student] else 3.0}}}
        _record(course, student, scores[student], causes[student], messages, notebook,
                engine=student not in older, notebook_failures=slow)
        _autograded_notebook(course, student, cube_errors[student])
    data = analysis.load(course, "package")
    report = analysis.analyse(data)
    paths = analysis.write_files(data, report, course.root / "reports" / data.assignment)
    matrix = np.array([[scores[s][c] for c in CHECKS] for s in STUDENTS])
    return SimpleNamespace(course=course, messages=messages, scores=matrix, clusters=clusters, causes=causes,
                           cube_errors=cube_errors, paths=paths, report=report, out=paths[0].parent)


def _included(klass):
    return np.array([s != BROKEN_RUN for s in STUDENTS])


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------
# Signatures of real messages
# --------------------------------------------------------------------------

def test_real_messages_get_the_category_of_their_bug(klass):
    """Does each captured bug's message fall in the category that names the bug?"""
    expected = {"padding": "padding off by one", "stride": "stride ignored", "reshape": "shape mismatch",
                "bias": "bias missing", "assign": "assigned with = instead of accumulated with +=",
                "summed": "sum instead of mean over N (or the reverse)"}
    for bug, category in expected.items():
        assert klass.messages[bug], f"{bug}: no check failed"
        for check, message in klass.messages[bug].items():
            assert categorise(message) == category, (bug, check, message)
    loop = klass.messages["loop"]
    assert categorise(loop["relu_forward[4d]"]) == "timeout"
    assert categorise(loop["relu_forward[N=1-2d]"]).startswith("not run")
    assert categorise(klass.messages["exit"]["softmax_loss[random]"]) == "crash"


def test_signatures_strip_counts_shapes_and_paths_but_keep_the_hints(klass):
    """Do equal bugs on different inputs share one signature, with numbers gone but the hint's words kept?"""
    padding = {normalise(m) for m in klass.messages["padding"].values()}
    assert padding == {"out: entries differ; likely cause: the input is padded by pad + 1"}
    reshape = {normalise(m) for m in klass.messages["reshape"].values()}
    assert len(reshape) == 1 and "<shape>" in next(iter(reshape))
    for found in klass.messages.values():
        for message in found.values():
            signature = normalise(message)
            assert categorise(signature) == categorise(message)
            assert "cs_convnet/" not in signature
    raised = "max_pool_backward_naive raised IndexError: index 5 is out of bounds (cs_convnet/layers.py, line 366)"
    assert normalise(raised) == ("max_pool_backward_naive raised IndexError: index <n> is out of bounds "
                                 "(<path>, line <n>)")
    assert exception_type(raised) == "IndexError" and categorise(raised) == "exception"
    assert normalise("") == NO_MESSAGE


@pytest.mark.parametrize("got, category", [
    (lambda e: e.transpose(0, 1, 3, 2), "transposed output"),                 # (2, 3, 5, 4): axes reordered
    (lambda e: e.reshape(2, 3, 5, 4), "shape mismatch"),                      # same entries, other shape
    (lambda e: e.reshape(2, 4, 3, 5).transpose(0, 2, 1, 3).reshape(2, 3, 4, 5), "transposed output"),
    (lambda e: 2 * e + 1, "wrong values"),
], ids=["axes-swapped", "reshaped", "right-shape-wrong-order", "wrong-values"])
def test_compare_names_transposes(got, category):
    """Does compare() word a transposed or misordered output so that it is categorised as one?"""
    expected = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    assert categorise(compare("out", expected, got(expected))) == category


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

def test_summary_matches_numpy_and_leaves_out_broken_runs(klass):
    """Are mean, median and standard deviation numpy's, over every learner but the one whose grading broke?"""
    totals = klass.scores[_included(klass)].sum(axis=1)
    summary = klass.report["summary"]
    assert summary["learners"] == len(STUDENTS) - 1 and klass.report["excluded"] == [BROKEN_RUN]
    assert summary["mean"] == pytest.approx(np.mean(totals))
    assert summary["median"] == pytest.approx(np.median(totals))
    assert summary["std"] == pytest.approx(np.std(totals))
    assert klass.report["max_total"] == len(CHECKS)


def test_check_rates_and_flags(klass):
    """Are failure, zero and full rates right, and exactly the broken and the reversed checks flagged?"""
    scores = klass.scores[_included(klass)]
    rows = {r["check"]: r for r in klass.report["checks"]}
    for j, check in enumerate(CHECKS):
        assert rows[check]["failure_pct"] == pytest.approx(100 * np.mean(scores[:, j] < 1))
        assert rows[check]["zero_pct"] == pytest.approx(100 * np.mean(scores[:, j] == 0))
        assert rows[check]["full_pct"] == pytest.approx(100 * np.mean(scores[:, j] == 1))
    broken, reversed_ = rows[BROKEN], rows[REVERSED]
    assert broken["failure_pct"] == 100 and np.isnan(broken["discrimination"])
    assert broken["flags"] == ["every learner got the same score: 0 (a broken check?)"]
    assert reversed_["discrimination"] < 0 and reversed_["flags"][0].startswith("negative discrimination")
    assert reversed_["mean_score_q1"] > reversed_["mean_score_q5"]
    assert {c for c, r in rows.items() if r["flags"]} == {BROKEN, REVERSED}
    padded = rows["conv_forward_naive[square-stride1-pad1]"]
    rest = scores.sum(axis=1) - scores[:, CHECKS.index(padded["check"])]
    assert padded["discrimination"] == pytest.approx(np.corrcoef(scores[:, CHECKS.index(padded["check"])], rest)[0, 1])
    assert padded["mean_score_q1"] < padded["mean_score_q5"]


def test_functions_count_a_learner_failing_any_of_their_checks(klass):
    """Is a function's failure rate the share of learners losing any of its points?"""
    scores = klass.scores[_included(klass)]
    conv = next(r for r in klass.report["functions"] if r["function"] == "conv_forward_naive")
    columns = [CHECKS.index(c) for c in CONV]
    assert conv["checks"] == 4 and conv["max_points"] == 4
    assert conv["failure_pct"] == pytest.approx(100 * np.mean(scores[:, columns].sum(axis=1) < 4))
    assert conv["zero_pct"] == pytest.approx(100 * np.mean(scores[:, columns].sum(axis=1) == 0))


def test_common_mistakes_rank_the_planted_clusters(klass):
    """Are the planted mistakes the top signatures, with their counts, categories and example learners?"""
    rows = klass.report["signatures"]
    assert [r["learners"] for r in rows] == sorted((r["learners"] for r in rows), reverse=True)
    graded = [s for s in STUDENTS if s not in (BROKEN_RUN, STOPPED_RUN)]
    broken = rows[0]   # the broken check fails every learner graded in full the same way
    assert (broken["function"], broken["category"], broken["learners"]) == (
        "max_pool_backward_naive", "assigned with = instead of accumulated with +=", len(graded))
    bias = rows[1]     # the reversed check fails the stronger half
    assert (bias["function"], bias["category"], bias["checks"][0]) == ("affine_forward", "bias missing", REVERSED)
    assert bias["learners"] == sum(1 for s in graded if "bias" in klass.causes[s].values())
    padding = next(r for r in rows if r["function"] == "conv_forward_naive")
    assert padding["category"] == "padding off by one" and padding["checks"] == CONV
    assert (padding["learners"], padding["failures"]) == (PADDING_CLUSTER, 4 * PADDING_CLUSTER)
    assert padding["example_students"] == klass.clusters["padding"][:5] and padding["example_students"][0] == HTML_ID
    stride = next(r for r in rows if r["category"] == "stride ignored")
    assert stride["learners"] == STRIDE_CLUSTER and stride["checks"] == STRIDED
    categories = {r["category"]: r for r in klass.report["categories"]}
    assert categories["timeout"]["learners"] == len(klass.clusters["timeouts"]) + 1   # and the stopped run
    assert categories["crash"]["learners"] == len(klass.clusters["crashes"])


def test_timeouts_crashes_and_recorded_outcomes(klass):
    """Are timeouts and crashes counted per check, from the engine's record when it has one, else derived?"""
    rows = {r["student"]: r for r in klass.report["outcomes"]}
    for student in klass.clusters["timeouts"]:
        assert (rows[student]["outcome"], rows[student]["source"]) == ("learner_timeout", "record")
        assert rows[student]["timed_out_checks"] == ["relu_forward[4d]"]
        assert rows[student]["not_run_checks"] == ["relu_forward[N=1-2d]"]
    recorded, older = klass.clusters["crashes"]
    assert (rows[recorded]["outcome"], rows[recorded]["source"]) == ("learner_crash", "record")
    assert (rows[older]["outcome"], rows[older]["source"]) == ("graded", "derived")
    for student in (recorded, older):
        assert rows[student]["crashed_checks"] == ["softmax_loss[random]"]
    assert (rows[BROKEN_RUN]["outcome"], rows[BROKEN_RUN]["included_in_statistics"]) == ("infrastructure_error", False)
    assert (rows[STOPPED_RUN]["outcome"], rows[STOPPED_RUN]["source"]) == ("learner_timeout", "derived")
    # a notebook's timeout is not the package's
    slow = klass.clusters["notebook_timeout"][0]
    assert (rows[slow]["outcome"], rows[slow]["timed_out_checks"]) == ("graded", [])
    checks = {r["check"]: r for r in klass.report["checks"]}
    assert checks["relu_forward[4d]"]["timeouts"] == 4 and checks["softmax_loss[random]"]["crashes"] == 2


# --------------------------------------------------------------------------
# Files, page and command line
# --------------------------------------------------------------------------

def test_csv_files_have_one_column_per_check(klass):
    """Does scores.csv have a row per learner and a column per check, and the other files their columns?"""
    assert [p.name for p in klass.paths] == ["index.html", "scores.csv", "checks.csv", "functions.csv",
                                            "signatures.csv", "outcomes.csv"]
    assert klass.out == klass.course.root / "reports" / "package_checks"
    scores = _rows(klass.out / "scores.csv")
    assert list(scores[0]) == ["student", *CHECKS, "total", "quintile", "outcome"]
    assert [r["student"] for r in scores] == STUDENTS
    for row, expected in zip(scores, klass.scores):
        assert [float(row[c]) for c in CHECKS] == list(expected)
        assert float(row["total"]) == expected.sum()
    assert list(_rows(klass.out / "checks.csv")[0]) == analysis.CHECK_COLUMNS
    signatures = _rows(klass.out / "signatures.csv")
    assert list(signatures[0]) == analysis.SIGNATURE_COLUMNS
    padding = next(r for r in signatures if r["category"] == "padding off by one")
    assert int(padding["learners"]) == PADDING_CLUSTER
    assert padding["example_students"].startswith(HTML_ID + ";")
    assert list(_rows(klass.out / "outcomes.csv")[0]) == analysis.OUTCOME_COLUMNS
    broken = next(r for r in _rows(klass.out / "checks.csv") if r["check"] == BROKEN)
    assert broken["discrimination"] == "" and "broken check" in broken["flags"]


def test_page_embeds_the_figures_and_escapes_student_ids(klass):
    """Does index.html hold the figures as PNG and show a student id `<script>` as text, never as markup?"""
    page = (klass.out / "index.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 6
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "corrected item-total correlation" in page
    assert "padding off by one" in page and "every learner got the same score" in page


def test_cli_reports_a_notebook_assignment_and_prints_the_paths(klass, tmp_path, capsys):
    """Does `report tiny --out DIR` print the files it wrote, with the notebook's errors as mistakes and timeouts?"""
    out = tmp_path / "tiny"
    assert cli.main(["--course-dir", str(klass.course.root), "report", factory.ASSIGNMENT, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / name) for name in (
        "index.html", "scores.csv", "checks.csv", "functions.csv", "signatures.csv", "outcomes.csv")]
    checks = {r["check"]: r for r in _rows(out / "checks.csv")}
    assert list(checks) == ["square_test", "cube_test"] and checks["square_test"]["max_points"] == "2"
    counted = {s: error for s, error in klass.cube_errors.items() if s != BROKEN_RUN}   # its whole run broke
    wrong = [s for s, error in counted.items() if error == CUBE_WRONG]
    failing = [s for s, error in counted.items() if error]
    assert float(checks["cube_test"]["failure_pct"]) == pytest.approx(100 * len(failing) / len(counted), abs=1e-3)
    assert checks["cube_test"]["timeouts"] == "1"
    top, second = _rows(out / "signatures.csv")[:2]
    assert (top["signature"], top["category"], int(top["learners"])) == (
        "AssertionError: cube is wrong", "assertion failed", len(wrong))
    assert (second["category"], second["exception"], int(second["learners"])) == ("timeout", "CellTimeoutError", 1)
    outcomes = {r["student"]: r for r in _rows(out / "outcomes.csv")}
    slow = klass.clusters["notebook_timeout"][0]
    assert (outcomes[slow]["outcome"], outcomes[slow]["timed_out_checks"]) == ("learner_timeout", "cube_test")
    assert outcomes[klass.clusters["timeouts"][0]]["outcome"] == "graded"   # its package timed out, not this
    assert outcomes[BROKEN_RUN]["outcome"] == "infrastructure_error"


def test_cli_errors_are_clear(klass, tmp_path, capsys):
    """Does `report` say so when the course, the assignment or its grades are missing?"""
    root = str(klass.course.root)
    assert cli.main(["--course-dir", str(tmp_path / "nowhere"), "report", "package"]) == 1
    assert "does not exist; run `prepare` or `collect` first" in capsys.readouterr().err
    assert cli.main(["--course-dir", root, "report", "02_convolution"]) == 1
    assert "no assignment '02_convolution'" in capsys.readouterr().err
    with gradebook.open_gradebook(klass.course) as gb:
        gb.add_assignment("ungraded")
    assert cli.main(["--course-dir", root, "report", "ungraded"]) == 1
    assert "no grades recorded for ungraded" in capsys.readouterr().err

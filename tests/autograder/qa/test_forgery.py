"""Forgery suite (issue 16): a notebook grade a learner can forge is worth nothing.

One course (assignments 01-03) grades, in one batch of two workers:

* ``honest_wrong``: the shipped ``conv_padding_off_by_one`` sample (its package
  convolution pads by ``pad + 1``) with the honest, solved convolution notebook:
  the baseline, 5 of the notebook's 16 autograded points;
* one submission per case of :mod:`forgery_cases`: the same package, with
  solution cells rewritten to forge points; each must earn no more than the
  baseline, and the grade cells it forges must score 0;
* ``reference``: the instructor's package with notebooks 01-03 solved, which
  must keep every autograded point (the trusted path does not penalise honest work);
* a few package mutants and samples (:data:`MUTANTS`) with the solved notebook
  that exercises the mutated function: the grade cells that test it must lose
  their points (:data:`FUNCTION_CELLS`), the others keep theirs.

The package side uses a stand-in ``grade-one`` (an empty report): only the
notebook grades are under test here.
"""

import hashlib
import sys
import time

import nbformat
import pytest

from autograder.course import collect, gradebook, prepare as prepare_mod
from autograder.engine import batch
from autograder.qa import mutation, samples
from autograder.qa.demo import solved_notebook
from support import forgery_cases as forgery

ASSIGNMENTS = ["01_fully_connected", "02_convolution", "03_pooling"]
NOTEBOOKS = {"01_fully_connected": "fully_connected", "02_convolution": "convolution", "03_pooling": "pooling"}
WRITTEN = {"fc-inline-gradcheck", "conv-inline-sharing-written", "pool-inline-pool-written"}   # graded by hand

# Learner function -> the grade cells whose tests call it directly (imported from cs_convnet.layers and
# compared); read off assignments/notebook_sources/nb0[1-3]_*.py. A mutant of the function must lose all of them.
FUNCTION_CELLS = {
    "affine_forward": {"fc-affine-tests"},
    "relu_backward": {"fc-relu-tests"},
    "conv_backward_naive": {"conv-conv-backward-tests"},
    "max_pool_forward_naive": {"pool-max-forward-tests", "pool-max-backward-tests"},   # backward's test runs forward
    "max_pool_backward_naive": {"pool-max-backward-tests"},
}
# Grade cells that use the function indirectly (a network built on it): they may lose points as well.
USED_BY = {"affine_forward": {"fc-fcnet-tests", "fc-overfit-tests"}, "relu_backward": {"fc-fcnet-tests", "fc-overfit-tests"}}

# student: (sample name, or (function, classic mutant description)), its assignment, the mutated function
MUTANTS = {
    "mutant_relu_backward": ("relu_backward_masks_dout", "01_fully_connected", "relu_backward"),
    "mutant_affine_forward": (("affine_forward", "forgets the bias"), "01_fully_connected", "affine_forward"),
    "mutant_conv_backward": (("conv_backward_naive", "dw assigned instead of accumulated"), "02_convolution",
                             "conv_backward_naive"),
    "mutant_max_pool_forward": (("max_pool_forward_naive", "ignores the stride"), "03_pooling",
                                "max_pool_forward_naive"),
    "mutant_max_pool_backward": ("max_pool_backward_assign", "03_pooling", "max_pool_backward_naive"),
}

EMPTY_GRADE_ONE = "import json, sys\njson.dump({'score': 0, 'max_score': 0, 'checks': []}, open(sys.argv[3], 'w'))\n"
CELL_TIMEOUT = "60"


def _package_files(which):
    """{rel: text} of a sample by name, or of the reference with one classic mutant applied."""
    if isinstance(which, str):
        sample = samples.load(which)
        return samples.apply_patches(samples.reference_files(), sample["patches"], which)
    function, description = which
    mutant = next(m for m in mutation.classic_mutants() if (m.function, m.description) == (function, description))
    return samples.apply_patches(samples.reference_files(),
                                 [{"file": mutant.file, "old": mutant.old, "new": mutant.new}], mutant.id)


def _hand_in(course, inbox, student, package, notebooks):
    """An inbox entry: the package files and ``{assignment: notebook}``."""
    entry = samples.write_submission(package, inbox / student)
    for assignment, nb in notebooks.items():
        dest = entry / "assignments" / assignment / f"{NOTEBOOKS[assignment]}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)


def _solved(course, assignment):
    name = f"{NOTEBOOKS[assignment]}.ipynb"
    return solved_notebook(course.root / "release" / assignment / name, course.source / assignment / name)


def _course_digest(course):
    """Digest of what grading must never change: sources, release, the gradebook's template, the config."""
    digest = hashlib.sha256()
    paths = [*sorted(course.source.rglob("*")), *sorted((course.root / "release").rglob("*")),
             course.template_db, course.root / "nbgrader_config.py"]
    for path in paths:
        if path.is_file():
            digest.update(str(path.relative_to(course.root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course, every submission collected and autograded; cell scores per student."""
    base = tmp_path_factory.mktemp("forgery")
    course = prepare_mod.prepare(base / "course", assignments=ASSIGNMENTS)
    inbox = base / "inbox"
    wrong = _package_files(forgery.SAMPLE)
    conv = forgery.ASSIGNMENT
    _hand_in(course, inbox, "honest_wrong", wrong, {conv: _solved(course, conv)})
    _hand_in(course, inbox, "reference", samples.reference_files(), {a: _solved(course, a) for a in ASSIGNMENTS})
    name = f"{forgery.NOTEBOOK}.ipynb"
    for case in forgery.CASES:
        nb = forgery.forged_notebook(course.root / "release" / conv / name, course.source / conv / name,
                                     case.cells, course.root)
        _hand_in(course, inbox, case.name, wrong, {conv: nb})
    for student, (which, assignment, _) in MUTANTS.items():
        _hand_in(course, inbox, student, _package_files(which), {assignment: _solved(course, assignment)})
    collected = collect.collect(course.root, inbox)
    assert all(entry["student"] for entry in collected)
    fake = base / "empty_grade_one.py"
    fake.write_text(EMPTY_GRADE_ONE)
    before = _course_digest(course)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("CS_CONVNET_CELL_TIMEOUT", CELL_TIMEOUT)
    started = time.monotonic()
    try:
        summary = batch.autograde(course.root, jobs=2, progress=False, grade_one=[sys.executable, str(fake)])
    finally:
        monkeypatch.undo()
    scores = {}
    for row in gradebook.cell_rows(course):
        if row["assignment"] in ASSIGNMENTS and row["cell"] not in WRITTEN:
            scores.setdefault(row["student"], {}).setdefault(row["assignment"], {})[row["cell"]] = row["score"]
    return {"course": course, "summary": summary, "scores": scores, "digest_before": before,
            "seconds": time.monotonic() - started}


def _autograded(course, student, assignment):
    return course.autograded / student / assignment / f"{NOTEBOOKS[assignment]}.ipynb"


def test_every_submission_is_graded_to_the_end(graded):
    """Does every submission, hostile ones included, get graded with an autograded notebook and all its grades?"""
    summary, course = graded["summary"], graded["course"]
    students = ["honest_wrong", "reference", *(c.name for c in forgery.CASES), *MUTANTS]
    assert summary["failed"] == {}
    assert sorted(summary["graded"]) == sorted(students)
    for student in students:
        for assignment in graded["scores"][student]:
            assert _autograded(course, student, assignment).is_file(), (student, assignment)
        assert all(score is not None for nb in graded["scores"][student].values() for score in nb.values())


def test_reference_keeps_every_autograded_point(graded):
    """Does the instructor's solution, notebooks 01-03 solved, still get every autograded point?"""
    reference = graded["scores"]["reference"]
    assert sorted(reference) == ASSIGNMENTS
    rows = [r for r in gradebook.cell_rows(graded["course"])
            if r["student"] == "reference" and r["assignment"] in ASSIGNMENTS and r["cell"] not in WRITTEN]
    lost = {r["cell"]: (r["score"], r["max_score"]) for r in rows if r["score"] != r["max_score"]}
    assert rows and lost == {}


def test_honest_wrong_sample_earns_the_baseline(graded):
    """Does the honest notebook with the wrong convolution earn exactly its notebook-side points (5 of 16)?"""
    assert graded["scores"]["honest_wrong"][forgery.ASSIGNMENT] == forgery.HONEST_WRONG


@pytest.mark.parametrize("case", forgery.CASES, ids=lambda case: case.name)
def test_forgery_earns_no_more_than_honest_work(graded, case):
    """Does the forged notebook score no more than honest work with the same package, 0 on what it forges?"""
    honest = sum(graded["scores"]["honest_wrong"][forgery.ASSIGNMENT].values())
    cells = graded["scores"][case.name][forgery.ASSIGNMENT]
    assert set(cells) == set(forgery.HONEST_WRONG)
    forged = {cell: cells[cell] for cell in case.zero if cells[cell] != 0}
    assert forged == {}, f"{case.name} ({case.what}) earned points on the cells it forges"
    assert sum(cells.values()) <= honest, f"{case.name} ({case.what}) scored {cells}"
    assert _autograded(graded["course"], case.name, forgery.ASSIGNMENT).is_file()
    if "course_unchanged" in case.notes:
        course = graded["course"]
        assert _course_digest(course) == graded["digest_before"]
        assert not (course.root / "planted-by-learner.txt").exists()


@pytest.mark.parametrize("student", list(MUTANTS))
def test_package_mutant_loses_the_cells_that_exercise_it(graded, student):
    """Does a wrong package function lose the notebook points of the cells that test it, and only those?"""
    _, assignment, function = MUTANTS[student]
    cells = graded["scores"][student][assignment]
    reference = graded["scores"]["reference"][assignment]
    assert FUNCTION_CELLS[function] <= set(cells)
    assert {cell: cells[cell] for cell in FUNCTION_CELLS[function] if cells[cell] != 0} == {}
    untouched = set(cells) - FUNCTION_CELLS[function] - USED_BY.get(function, set())
    assert {cell: cells[cell] for cell in untouched} == {cell: reference[cell] for cell in untouched}

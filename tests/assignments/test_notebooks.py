"""The source notebooks: well-formed nbgrader notebooks that run end to end with the reference solution."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from support.notebooks import errors_of, run_notebook
from support.paths import REPO

SOURCE = REPO / "assignments" / "source"
NOTEBOOKS = sorted(SOURCE.glob("*/*.ipynb"))
CIFAR10 = Path(os.environ.get("CS_CONVNET_CIFAR10", REPO.parent / "shared" / "datasets"
                              / "cifar-10-python-reconstructed.tar.gz"))


def notebook_id(path):
    return path.parent.name


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def test_every_assignment_has_a_notebook():
    """Are the five assignments of the course all present?"""
    assert [p.parent.name for p in NOTEBOOKS] == [
        "01_fully_connected", "02_convolution", "03_pooling", "04_im2col_fast_layers", "05_convnet_cifar10"]


def test_committed_notebooks_match_their_generators():
    """Are the committed .ipynb exactly what assignments/build_notebooks.py generates?"""
    result = subprocess.run([sys.executable, str(REPO / "assignments" / "build_notebooks.py"), "--check"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_nbgrader_metadata_is_valid(path):
    """Does every nbgrader cell carry consistent metadata, with points, ids and hidden tests where needed?"""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    ids, kinds = [], {"solution": 0, "tests": 0, "written": 0}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        source = cell.source
        if not meta:
            assert "BEGIN SOLUTION" not in source and "BEGIN HIDDEN TESTS" not in source, source[:200]
            continue
        assert meta["schema_version"] == 3
        ids.append(meta["grade_id"])
        if meta["grade"]:
            assert meta.get("points", 0) > 0, f"{meta['grade_id']}: a graded cell needs points"
        if cell.cell_type == "code" and meta["solution"]:
            assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, meta["grade_id"]
            assert not meta["grade"] and not meta["locked"]
            assert cell.metadata.get("cs_convnet", {}).get("hint"), f"{meta['grade_id']}: stub needs a hint"
            kinds["solution"] += 1
        elif cell.cell_type == "code" and meta["grade"]:
            assert meta["locked"] and not meta["solution"]
            assert "### BEGIN HIDDEN TESTS" in source and "### END HIDDEN TESTS" in source, \
                f"{meta['grade_id']}: every autograded test cell has hidden tests on other inputs"
            assert "BEGIN SOLUTION" not in source
            visible = source.split("### BEGIN HIDDEN TESTS")[0]
            assert "assert" in visible or "check_" in visible, f"{meta['grade_id']}: visible checks must assert"
            kinds["tests"] += 1
        elif cell.cell_type == "markdown" and meta["solution"]:
            assert meta["grade"] and meta.get("points", 0) > 0, "written answers are graded by hand"
            kinds["written"] += 1
        else:
            assert meta["locked"] and not meta["solution"] and not meta["grade"], meta
            assert "BEGIN HIDDEN TESTS" not in source and "BEGIN SOLUTION" not in source
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assert kinds["tests"] >= 2 and kinds["written"] >= 1, kinds


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_source_notebook_runs_end_to_end_with_the_reference_solution(path, tmp_path):
    """Does every cell of the instructor notebook run without error, hidden tests included?"""
    env = {"CS_CONVNET_CIFAR10": str(CIFAR10)} if CIFAR10.exists() else {}
    nb = run_notebook(path, tmp_path, env=env, allow_errors=True)
    assert errors_of(nb) == []
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code_cells), "some cells did not run"
    # nbgrader scores a grade cell 0 when it writes anything to stderr (a warning, say).
    noisy = [nbgrader_meta(cell)["grade_id"] for cell in code_cells if nbgrader_meta(cell).get("grade")
             and any(output.get("name") == "stderr" for output in cell.outputs)]
    assert noisy == [], f"grade cells writing to stderr: {noisy}"
    json.dumps(nb)  # outputs are plain JSON

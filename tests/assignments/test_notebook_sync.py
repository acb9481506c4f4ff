"""Editing the source notebooks in Jupyter: ``build_notebooks.py --pull`` writes the edits back.

Every test works on a copy of the real generators (``assignments/notebook_sources``)
built into a temporary notebooks folder: it edits a notebook as Jupyter and
nbgrader's Create Assignment toolbar would save it, pulls, rebuilds, and checks
that the edit and every cell's nbgrader metadata survived, or that a refused
edit is named on one line and nothing is written.
"""

import copy
import importlib.util
import io
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from support.paths import REPO

ASSIGNMENTS_DIR = REPO / "assignments"
POOLING = ("03_pooling", "pooling.ipynb", "nb03_pooling")


def _load(name):
    """The module ``assignments/<name>.py`` (``notebook_sync`` imports ``build_notebooks`` by name)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ASSIGNMENTS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


builder = _load("build_notebooks")
sync = _load("notebook_sync")


# --- a course copy ----------------------------------------------------------------------------------

class Course:
    """A copy of the generators and of the notebooks they build, in a temporary folder."""

    def __init__(self, root):
        self.root, self.generators, self.notebooks = root, root / "generators", root / "notebooks"

    def notebook_path(self, folder=POOLING[0], filename=POOLING[1]):
        return self.notebooks / folder / filename

    def read(self, folder=POOLING[0], filename=POOLING[1]):
        return nbformat.read(self.notebook_path(folder, filename), as_version=4)

    def save(self, nb, folder=POOLING[0], filename=POOLING[1]):
        """Save ``nb`` as Jupyter does after a session: outputs, counts and view state included."""
        nbformat.write(jupyter_noise(nb), self.notebook_path(folder, filename))
        return self.read(folder, filename)

    def pull(self, *names, dry_run=False):
        """(exit status, printed lines) of ``--pull`` on this copy."""
        out = io.StringIO()
        status = sync.main(list(names), self.generators, self.notebooks, dry_run=dry_run, out=out)
        return status, out.getvalue().splitlines()

    def build(self):
        return builder.main(["--generators", str(self.generators), "--notebooks", str(self.notebooks)])

    def check(self):
        return builder.main(["--check", "--generators", str(self.generators), "--notebooks", str(self.notebooks)])

    def files(self):
        """{path: bytes} of every file of the copy (to show that nothing was written)."""
        return {path: path.read_bytes() for path in self.root.rglob("*")
                if path.is_file() and "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def built_copy(tmp_path_factory):
    """The real generators, copied, and the notebooks they build (the committed ones may be mid-rebuild)."""
    course = Course(tmp_path_factory.mktemp("course"))
    shutil.copytree(ASSIGNMENTS_DIR / "notebook_sources", course.generators,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for folder, _, _ in builder.ASSIGNMENTS:
        (course.notebooks / folder).mkdir(parents=True)
    assert course.build() == 0
    return course


@pytest.fixture
def course(built_copy, tmp_path):
    shutil.copytree(built_copy.root, tmp_path / "course")
    return Course(tmp_path / "course")


def jupyter_noise(nb):
    """What Jupyter adds on save and the sources do not hold: outputs, counts, view state, language_info."""
    nb.metadata["language_info"] = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                                    "mimetype": "text/x-python", "name": "python", "version": "3.11.4"}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = index + 1
            cell.outputs = [nbformat.v4.new_output("stream", text="ran\n")]
            cell.metadata["scrolled"] = True
            cell.metadata["execution"] = {"iopub.status.idle": "2026-12-05T07:00:00.000Z"}
        cell.metadata.setdefault("tags", [])
        cell.metadata["jupyter"] = {"source_hidden": False}
    return nb


def toolbar(grade_id, *, grade=False, solution=False, locked=False, task=False, points=None):
    """Cell metadata as nbgrader's Create Assignment toolbar writes it."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": task}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def at(nb, grade_id):
    """Index of the cell with ``grade_id``."""
    return next(i for i, cell in enumerate(nb.cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def heading(nb, prefix):
    """Index of the markdown cell whose text starts with ``prefix``."""
    return next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown" and cell.source.startswith(prefix))


def text(cell):
    """Cell text as the builder gives it back (whitespace-only lines empty, none at the ends)."""
    return "\n".join(line if line.strip() else "" for line in cell.source.split("\n")).strip("\n")


def assert_same_cells(rebuilt, edited):
    """Does ``rebuilt`` have the text and every nbgrader and cs_convnet metadata of ``edited``, cell by cell?"""
    assert len(rebuilt.cells) == len(edited.cells)
    for index, (got, want) in enumerate(zip(rebuilt.cells, edited.cells)):
        assert (got.cell_type, text(got)) == (want.cell_type, text(want)), f"cell {index + 1}"
        assert got.metadata.get("nbgrader") == want.metadata.get("nbgrader"), f"cell {index + 1}"
        assert got.metadata.get("cs_convnet") == want.metadata.get("cs_convnet"), f"cell {index + 1}"
        assert not got.get("outputs") and not got.get("execution_count"), f"cell {index + 1}"


# --- edits that round-trip ------------------------------------------------------------------------------

def edit_markdown(nb):
    cell = nb.cells[heading(nb, "## 1.")]
    cell.source = cell.source.replace("\n", "\n\nAn instructor's new sentence.\n", 1)


def edit_test_source(nb):
    nb.cells[at(nb, "pool-max-backward-tests")].source += "\nassert dx.shape == x.shape  # added in Jupyter"


def edit_points(nb):
    nb.cells[at(nb, "pool-max-backward-tests")].metadata["nbgrader"]["points"] = 6


def edit_fractional_points(nb):
    nb.cells[at(nb, "pool-inline-pool-tests")].metadata["nbgrader"]["points"] = 2.5


def add_markdown_and_tests(nb):
    where = at(nb, "pool-avg-tests") + 1
    nb.cells[where:where] = [
        nbformat.v4.new_markdown_cell("A new remark on **average pooling**.\n\nIts second paragraph, $F = 2$."),
        nbformat.v4.new_code_cell("assert np.allclose(np.ones((2, 2)).mean(), 1.0)",
                                  metadata=toolbar("pool-avg-extra-tests", grade=True, locked=True, points=1)),
    ]


def add_solution(nb):
    where = at(nb, "pool-inline-pool-tests")
    meta = toolbar("pool-extra-answer", solution=True)
    meta["cs_convnet"] = {"hint": "set extra_answer"}
    nb.cells.insert(where, nbformat.v4.new_code_cell(
        "### BEGIN SOLUTION\nextra_answer = 27 * 27 * 96\n### END SOLUTION", metadata=meta))


def add_written(nb):
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "Reference: the receptive field grows.", metadata=toolbar("pool-receptive-field", solution=True,
                                                                  grade=True, points=3)))


def delete_markdown(nb):
    del nb.cells[heading(nb, "## 3.")]


def delete_tests(nb):
    del nb.cells[at(nb, "pool-max-backward-tests")]


def move_tests(nb):
    cell = nb.cells.pop(at(nb, "pool-avg-tests"))  # its text comes from fill(...)
    nb.cells.insert(heading(nb, "## 3."), cell)


def move_markdown(nb):
    cell = nb.cells.pop(heading(nb, "**Inline question 2"))
    nb.cells.insert(heading(nb, "## 4."), cell)


def move_and_edit(nb):
    cell = nb.cells.pop(at(nb, "pool-inline-pool-tests"))
    cell.source += "\nassert pool_params >= 0"
    cell.metadata["nbgrader"]["points"] = 4
    nb.cells.insert(heading(nb, "## 2."), cell)


def edit_solution(nb):
    cell = nb.cells[at(nb, "pool-inline-pool")]
    cell.source = cell.source.replace("### BEGIN SOLUTION", "### BEGIN SOLUTION\n# depth is unchanged by pooling")


def edit_hint(nb):
    nb.cells[at(nb, "pool-inline-pool")].metadata["cs_convnet"]["hint"] = "set both answers first"


def edit_written(nb):
    cell = nb.cells[at(nb, "pool-inline-pool-written")]
    cell.source += "\n\nA further point for the graders."
    cell.metadata["nbgrader"]["points"] = 3


def rename_grade_id(nb):
    nb.cells[at(nb, "pool-avg-tests")].metadata["nbgrader"]["grade_id"] = "pool-average-tests"


def edit_fill_template(nb):
    cell = nb.cells[at(nb, "pool-max-forward-tests")]  # text outside its computed <<EXPECTED>> value
    cell.source = cell.source.replace("import max_pool_forward_naive", "import max_pool_forward_naive  # the layer", 1)


def edit_quotes_and_backslashes(nb):
    nb.cells[heading(nb, "## 1.")].source += '\n\nSay """this""" or \'\'\'that\'\'\', with $\\frac{W}{2}$ and `"\\n"`.'


def jupyter_noise_only(nb):
    pass


ROUND_TRIPS = [edit_markdown, edit_test_source, edit_points, edit_fractional_points, add_markdown_and_tests,
               add_solution, add_written, delete_markdown, delete_tests, move_tests, move_markdown, move_and_edit,
               edit_solution, edit_hint, edit_written, rename_grade_id, edit_fill_template,
               edit_quotes_and_backslashes, jupyter_noise_only]


@pytest.mark.parametrize("edit", ROUND_TRIPS, ids=lambda edit: edit.__name__)
def test_round_trip_keeps_the_edit_and_the_nbgrader_metadata(course, edit):
    """After edit -> pull -> build, does the notebook hold the edit and every cell's nbgrader metadata?"""
    generator = course.generators / f"{POOLING[2]}.py"
    before = generator.read_text(encoding="utf-8")
    others = {path: path.read_bytes() for path in course.generators.glob("*.py") if path != generator}
    nb = course.read()
    edit(nb)
    edited = course.save(nb)

    status, lines = course.pull()
    assert status == 0, lines
    assert not [line for line in lines if "refused" in line or line.startswith("error")], lines
    assert (generator.read_text(encoding="utf-8") == before) == (edit is jupyter_noise_only)
    assert others == {path: path.read_bytes() for path in others}
    assert_same_cells(course.read(), edited)
    assert course.build() == 0
    assert_same_cells(course.read(), edited)
    assert course.check() == 0


def edit_fc_points(nb):
    nb.cells[at(nb, "fc-relu-tests")].metadata["nbgrader"]["points"] = 5


def edit_conv_title_and_tests(nb):
    nb.cells[0].source += "\n\nEdited for this term."
    nb.cells[at(nb, "conv-output-size-tests")].source += "\nassert output_size(7, 3, 1, 0) == 5"


def edit_im2col_solution(nb):
    nb.cells[at(nb, "im2col-inline-memory")].source += "\n# a note for the graders"


def add_cifar_markdown(nb):
    nb.cells.append(nbformat.v4.new_markdown_cell("Good luck with the open part."))


OTHER_NOTEBOOKS = [
    ("01_fully_connected", "fully_connected.ipynb", edit_fc_points),
    ("02_convolution", "convolution.ipynb", edit_conv_title_and_tests),
    ("04_im2col_fast_layers", "im2col_fast_layers.ipynb", edit_im2col_solution),
    ("05_convnet_cifar10", "convnet_cifar10.ipynb", add_cifar_markdown),
]


@pytest.mark.parametrize("folder, filename, edit", OTHER_NOTEBOOKS, ids=[case[0] for case in OTHER_NOTEBOOKS])
def test_each_notebook_round_trips(course, folder, filename, edit):
    """Does a pull work on every notebook of the course, not only on the pooling one?"""
    nb = course.read(folder, filename)
    edit(nb)
    edited = course.save(nb, folder, filename)
    status, lines = course.pull(folder)
    assert status == 0, lines
    assert_same_cells(course.read(folder, filename), edited)
    assert course.check() == 0


def test_a_new_grade_id_gets_the_notebook_prefix(course):
    """Is a new cell's grade_id without the notebook's prefix prefixed, and is that said?"""
    nb = course.read()
    nb.cells.append(nbformat.v4.new_code_cell("assert True", metadata=toolbar("cell-3f2a", grade=True, locked=True,
                                                                               points=1)))
    course.save(nb)
    status, lines = course.pull()
    assert status == 0, lines
    assert any("'cell-3f2a' becomes 'pool-cell-3f2a'" in line for line in lines), lines
    assert course.read().cells[-1].metadata["nbgrader"] == toolbar("pool-cell-3f2a", grade=True, locked=True,
                                                                   points=1)["nbgrader"]
    assert course.check() == 0


def test_a_moved_markdown_cell_keeps_its_call(course):
    """Is a markdown cell moved unchanged reported as moved, its call moved verbatim (not retyped)?"""
    generator = course.generators / f"{POOLING[2]}.py"
    before = generator.read_text(encoding="utf-8")
    nb = course.read()
    move_markdown(nb)
    course.save(nb)
    status, lines = course.pull()
    assert status == 0, lines
    assert any(line.startswith("  moved markdown cell") for line in lines), lines
    assert not any("new cell" in line or "deleted" in line for line in lines), lines
    after = generator.read_text(encoding="utf-8")
    assert after != before
    assert sorted(line for line in after.splitlines() if line) == sorted(line for line in before.splitlines() if line)


def test_provided_cells_are_renumbered(course):
    """Does deleting a provided (locked) cell renumber the later ones, as the builder numbers them?"""
    nb = course.read()
    del nb.cells[at(nb, "pool-provided-03")]
    edited = course.save(nb)
    status, lines = course.pull()
    assert status == 0, lines
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in course.read().cells]
    assert [i for i in ids if i and "-provided-" in i] == ["pool-provided-01", "pool-provided-02", "pool-provided-03"]
    assert [text(cell) for cell in course.read().cells] == [text(cell) for cell in edited.cells]
    assert course.check() == 0


# --- edits that are refused ----------------------------------------------------------------------------

def refuse_setup(nb):
    nb.cells[at(nb, "pool-provided-01")].source += "\nimport scipy"


def refuse_checks(nb):
    nb.cells[at(nb, "pool-provided-02")].source += "\n# one more check"


def refuse_task(nb):
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("Describe pooling.", metadata=toolbar(
        "pool-task", locked=True, task=True, points=2)))


def refuse_autograded_answer(nb):
    nb.cells[at(nb, "pool-inline-pool")].metadata["nbgrader"].update(grade=True, points=1)


def refuse_computed_value(nb):
    cell = nb.cells[at(nb, "pool-max-forward-tests")]
    cell.source = cell.source.replace("np.array([\n    ", "np.array([\n    1.5, ", 1)


def refuse_read_only_markdown(nb):
    nb.cells[heading(nb, "## 1.")].metadata.update(toolbar("pool-readonly", locked=True))


def refuse_tags(nb):
    nb.cells[heading(nb, "## 1.")].metadata["tags"] = ["remove-input"]


REFUSALS = [
    (refuse_setup, r"its text is SETUP, shared by every notebook: edit it in cellkit\.py"),
    (refuse_checks, r"its text is CHECKS, shared by every notebook"),
    (refuse_task, r"'Manually graded task' cell"),
    (refuse_autograded_answer, r"'Autograded answer' cell"),
    (refuse_computed_value, r"changes <<EXPECTED>>, a value computed from the reference solution"),
    (refuse_read_only_markdown, r"read-only markdown cell"),
    (refuse_tags, r"metadata tags not kept"),
]


@pytest.mark.parametrize("edit, why", REFUSALS, ids=[edit.__name__ for edit, _ in REFUSALS])
def test_an_edit_that_cannot_be_written_back_is_refused(course, edit, why):
    """Is an edit the generators cannot hold refused on one line, with status 1, and nothing written?"""
    nb = course.read()
    edit(nb)
    course.save(nb)
    before = course.files()
    status, lines = course.pull()
    assert status == 1, lines
    refused = [line for line in lines if line.lstrip().startswith("refused")]
    assert len(refused) == 1 and re.search(why, refused[0]), lines
    assert course.files() == before


def test_a_partly_refused_pull_writes_the_rest_and_can_be_pulled_again(course):
    """With one edit refused and one not: is the other written, and does undoing the refused one finish it?"""
    nb = course.read()
    refuse_setup(nb)
    edit_markdown(nb)
    course.save(nb)
    status, lines = course.pull()
    assert status == 1, lines
    generator = (course.generators / f"{POOLING[2]}.py").read_text(encoding="utf-8")
    assert "An instructor's new sentence." in generator
    assert "import scipy" in course.read().cells[at(course.read(), "pool-provided-01")].source  # still in Jupyter

    before = course.files()
    again, lines_again = course.pull()  # the same refusal, and nothing more to write
    assert again == 1 and [line for line in lines_again if "refused" in line] == [
        line for line in lines if "refused" in line]
    assert course.files() == before
    nb = course.read()
    nb.cells[at(nb, "pool-provided-01")].source = nb.cells[at(nb, "pool-provided-01")].source.replace(
        "\nimport scipy", "")
    course.save(nb)
    status, lines = course.pull()
    assert status == 0, lines
    assert course.check() == 0


def _refused_whole(lines):
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and len(lines) == 1, lines
    return errors[0]


def test_a_notebook_built_from_older_sources_is_refused(course):
    """Is a notebook whose generator changed since it was built refused on one line, nothing written?"""
    nb = course.read()
    edit_markdown(nb)
    course.save(nb)
    generator = course.generators / f"{POOLING[2]}.py"
    generator.write_text(generator.read_text(encoding="utf-8").replace("# Assignment 3", "# Assignment three"),
                         encoding="utf-8")
    before = course.files()
    status, lines = course.pull()
    assert status == 2
    assert "built from other sources than the generators now hold (its source digest differs)" in _refused_whole(lines)
    assert course.files() == before


def test_a_notebook_without_a_source_digest_is_refused(course):
    """Is a notebook with no source digest (built before digests, or by hand) refused?"""
    nb = course.read()
    del nb.metadata["cs_convnet"]
    course.save(nb)
    before = course.files()
    status, lines = course.pull(POOLING[0])
    assert status == 2
    assert "(it has no source digest)" in _refused_whole(lines)
    assert course.files() == before


def test_two_cells_with_one_grade_id_are_refused(course):
    """Is a copied nbgrader cell (two cells with one grade_id) refused, naming the id?"""
    nb = course.read()
    pasted = copy.deepcopy(nb.cells[at(nb, "pool-avg-tests")])
    pasted["id"] = "pasted-cell"  # Jupyter gives a pasted cell a new id, not a new grade_id
    nb.cells.append(pasted)
    course.save(nb)
    before = course.files()
    status, lines = course.pull()
    assert status == 2
    assert "two cells have the grade_id 'pool-avg-tests'" in _refused_whole(lines)
    assert course.files() == before


def test_an_unknown_notebook_name_is_refused(course):
    """Is a name that is no notebook of the course refused on one line, listing the folders?"""
    status, lines = course.pull("06_transformers")
    assert status == 2
    assert "06_transformers: not a course notebook; expected one of" in _refused_whole(lines)


# --- options --------------------------------------------------------------------------------------------

def test_dry_run_writes_nothing(course):
    """Does --dry-run print the change and the generator's diff, and write nothing?"""
    nb = course.read()
    edit_markdown(nb)
    course.save(nb)
    before = course.files()
    status, lines = course.pull(dry_run=True)
    assert status == 0, lines
    assert "+    An instructor's new sentence." in lines
    assert course.files() == before


def test_a_bare_notebook_file_name_is_found_in_the_notebooks_folder(course):
    """Does ``--pull pooling.ipynb`` pull the notebook of that name in the notebooks folder?"""
    nb = course.read()
    edit_points(nb)
    course.save(nb)
    status, lines = course.pull(POOLING[1])
    assert status == 0, lines
    assert course.read().cells[at(course.read(), "pool-max-backward-tests")].metadata["nbgrader"]["points"] == 6


def test_nothing_to_pull(course):
    """Does a pull with no edited notebook say so, change nothing and succeed?"""
    before = course.files()
    assert course.pull() == (0, ["nothing to pull: every notebook is what its generator builds"])
    assert course.files() == before


def test_command_line_pull_then_check(course):
    """Does ``python assignments/build_notebooks.py --pull --generators G --notebooks N NOTEBOOK`` work?"""
    nb = course.read()
    edit_test_source(nb)
    edited = course.save(nb)
    script = str(ASSIGNMENTS_DIR / "build_notebooks.py")
    folders = ["--generators", str(course.generators), "--notebooks", str(course.notebooks)]
    pulled = subprocess.run([sys.executable, script, "--pull", *folders, str(course.notebook_path())],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert "pool-max-backward-tests: text" in pulled.stdout
    assert_same_cells(course.read(), edited)
    checked = subprocess.run([sys.executable, script, "--check", *folders],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

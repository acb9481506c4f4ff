"""Generate the nbgrader source notebooks of the course from Python.

The notebooks are written as lists of cells in ``assignments/notebook_sources/``
(one module per assignment), so that they can be reviewed as code and
regenerated. Run from the repository root::

    python assignments/build_notebooks.py          # writes assignments/source/*/*.ipynb
    python assignments/build_notebooks.py --check  # fails if a committed notebook is stale

Cell kinds (nbgrader metadata, schema version 3):

- ``md``: teaching prose (markdown, not graded);
- ``code``: provided code, locked (read-only) so that grading can trust it;
- ``solution``: a code cell holding a solution region; learners replace it.
  Its ``hint`` is stored in the cell metadata and becomes the message of the
  ``NotImplementedError`` that the student edition's stub raises;
- ``tests``: an autograded test cell (locked, with points); hidden tests sit in
  a hidden-tests region and are removed from the student edition;
- ``written``: a manually graded written answer (markdown), whose reference
  answer is replaced by "YOUR ANSWER HERE" in the student edition.

Visible checks embed expected values computed here with the reference
solution of ``cs_convnet`` (the instructor tree), so they never depend on
the learner's own code.
"""

import argparse
import importlib
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE / "source"
# (assignment folder, notebook file, generator module in notebook_sources/)
ASSIGNMENTS = [
    ("01_fully_connected", "fully_connected.ipynb", "nb01_fully_connected"),
    ("02_convolution", "convolution.ipynb", "nb02_convolution"),
    ("03_pooling", "pooling.ipynb", "nb03_pooling"),
    ("04_im2col_fast_layers", "im2col_fast_layers.ipynb", "nb04_im2col"),
    ("05_convnet_cifar10", "convnet_cifar10.ipynb", "nb05_convnet_cifar10"),
]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def build(module_name):
    sys.path.insert(0, str(HERE / "notebook_sources"))
    try:
        module = importlib.import_module(module_name)
        cells = module.cells()
    finally:
        sys.path.pop(0)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    _check_ids(nb, module_name)
    nbformat.validate(nb)
    return nb


def _check_ids(nb, module_name):
    seen = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            raise ValueError(f"{module_name}: duplicate nbgrader grade_id {grade_id!r}")
        seen.add(grade_id)


def _normalised(nb):
    """The notebook as text without the random cell ids nbformat assigns."""
    nb = nbformat.from_dict(nb)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:03d}"
    return nbformat.writes(nb)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that the committed notebooks match the generators")
    parser.add_argument("names", nargs="*", help="assignment folders to build (default: all)")
    args = parser.parse_args(argv)
    stale = []
    for folder, filename, module_name in ASSIGNMENTS:
        if args.names and folder not in args.names:
            continue
        text = _normalised(build(module_name))
        path = SOURCE_DIR / folder / filename
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("stale notebooks (run python assignments/build_notebooks.py):\n  " + "\n  ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

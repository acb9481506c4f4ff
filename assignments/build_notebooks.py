"""Generate the nbgrader source notebooks of the course from Python, and pull edits back.

The notebooks are written as lists of cells in ``assignments/notebook_sources/``
(one module per assignment), so that they can be reviewed as code and
regenerated. Run from the repository root::

    python assignments/build_notebooks.py          # writes assignments/source/*/*.ipynb
    python assignments/build_notebooks.py --check  # fails if a committed notebook is stale
    python assignments/build_notebooks.py --pull [NOTEBOOK...]  # edits made in Jupyter -> the generators

``--pull`` writes the edits of a source notebook saved by Jupyter (text, cells
added, removed or moved, and what nbgrader's Create Assignment toolbar sets:
cell kind, grade id, points) back into its generator module, then rebuilds the
notebook; see ``notebook_sync.py``. Each built notebook records a digest of
what it was built from (``metadata.cs_convnet.source_digest``), so that an
edited notebook is never compared with sources that changed since.

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
import contextlib
import hashlib
import importlib.util
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE / "source"
GENERATORS_DIR = HERE / "notebook_sources"
# (assignment folder, notebook file, generator module in notebook_sources/)
ASSIGNMENTS = [
    ("01_fully_connected", "fully_connected.ipynb", "nb01_fully_connected"),
    ("02_convolution", "convolution.ipynb", "nb02_convolution"),
    ("03_pooling", "pooling.ipynb", "nb03_pooling"),
    ("04_im2col_fast_layers", "im2col_fast_layers.ipynb", "nb04_im2col"),
    ("05_convnet_cifar10", "convnet_cifar10.ipynb", "nb05_convnet_cifar10"),
]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
DIGEST_KEY = "source_digest"  # in the notebook's metadata["cs_convnet"]


@contextlib.contextmanager
def _cellkit_from(generators_dir):
    """Make ``import cellkit`` inside a generator find the cellkit of ``generators_dir``."""
    saved = sys.modules.pop("cellkit", None)
    sys.path.insert(0, str(generators_dir))
    try:
        yield
    finally:
        sys.path.remove(str(generators_dir))
        sys.modules.pop("cellkit", None)
        if saved is not None:
            sys.modules["cellkit"] = saved


def load_generator(module_name, generators_dir=GENERATORS_DIR):
    """A fresh module object for ``generators_dir/module_name.py`` (never a cached, older one)."""
    path = Path(generators_dir) / f"{module_name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no generator module {path}")
    spec = importlib.util.spec_from_file_location(f"_notebook_generator_{module_name}", path)
    module = importlib.util.module_from_spec(spec)
    with _cellkit_from(generators_dir):
        spec.loader.exec_module(module)
        module.cellkit = sys.modules["cellkit"]
    return module


def assemble(cells, module_name):
    """The notebook of ``cells``, validated, stamped with the digest of its content."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    _check_ids(nb, module_name)
    nbformat.validate(nb)
    nb.metadata["cs_convnet"] = {DIGEST_KEY: digest(nb)}
    return nb


def build(module_name, generators_dir=GENERATORS_DIR):
    return assemble(load_generator(module_name, generators_dir).cells(), module_name)


def digest(nb):
    """A digest of the notebook's cells and metadata, without the digest itself and cell ids."""
    nb = nbformat.from_dict(nb)
    nb.metadata.get("cs_convnet", {}).pop(DIGEST_KEY, None)
    if not nb.metadata.get("cs_convnet", True):
        del nb.metadata["cs_convnet"]
    return "sha256:" + hashlib.sha256(normalised(nb).encode("utf-8")).hexdigest()[:32]


def recorded_digest(nb):
    return nb.metadata.get("cs_convnet", {}).get(DIGEST_KEY)


def _check_ids(nb, module_name):
    seen = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            raise ValueError(f"{module_name}: duplicate nbgrader grade_id {grade_id!r}")
        seen.add(grade_id)


def normalised(nb):
    """The notebook as text without the random cell ids nbformat assigns."""
    nb = nbformat.from_dict(nb)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:03d}"
    return nbformat.writes(nb)


def write_notebook(folder, filename, module_name, generators_dir=GENERATORS_DIR, notebooks_dir=SOURCE_DIR):
    """Build one notebook and write it atomically; return its path."""
    from cs_convnet.atomic import atomic_open

    path = Path(notebooks_dir) / folder / filename
    text = normalised(build(module_name, generators_dir))
    with atomic_open(path) as handle:
        handle.write(text)
    return path


def stale_notebooks(names=(), generators_dir=GENERATORS_DIR, notebooks_dir=SOURCE_DIR):
    """Paths of the notebooks (of the folders in ``names``, default all) that differ from their build."""
    stale = []
    for folder, filename, module_name in ASSIGNMENTS:
        if names and folder not in names:
            continue
        path = Path(notebooks_dir) / folder / filename
        if not path.exists() or path.read_text(encoding="utf-8") != normalised(build(module_name, generators_dir)):
            stale.append(path)
    return stale


def _shown(path):
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="only check that the committed notebooks match the generators")
    mode.add_argument("--pull", action="store_true",
                      help="write edits made to the notebooks (in Jupyter) back into the generators, then "
                           "rebuild them; NAMES are notebook files or assignment folders (default: every "
                           "notebook that differs from its build)")
    parser.add_argument("--dry-run", action="store_true",
                        help="with --pull: print what would change and the generators' diff; write nothing")
    parser.add_argument("--generators", type=Path, default=GENERATORS_DIR,
                        help="folder of the generator modules (default: %(default)s)")
    parser.add_argument("--notebooks", type=Path, default=SOURCE_DIR,
                        help="folder of the assignment folders with the notebooks (default: %(default)s)")
    parser.add_argument("names", nargs="*", help="assignment folders to build (default: all)")
    args = parser.parse_args(argv)
    if args.dry_run and not args.pull:
        parser.error("--dry-run goes with --pull")
    known = {folder for folder, _, _ in ASSIGNMENTS}
    if args.pull:
        import notebook_sync

        return notebook_sync.main(args.names, args.generators, args.notebooks, dry_run=args.dry_run)
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown assignment folder(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}")
    if args.check:
        stale = stale_notebooks(args.names, args.generators, args.notebooks)
        if stale:
            print("stale notebooks (edited in Jupyter? pull the edits first with python assignments/build_notebooks.py "
                  "--pull; else rebuild with python assignments/build_notebooks.py):\n  "
                  + "\n  ".join(map(str, stale)))
            return 1
        return 0
    for folder, filename, module_name in ASSIGNMENTS:
        if args.names and folder not in args.names:
            continue
        path = write_notebook(folder, filename, module_name, args.generators, args.notebooks)
        print(f"wrote {_shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

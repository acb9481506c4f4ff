"""The student edition of the ``cs_convnet`` package: one builder for the release and the sandbox.

The edition learners receive (``cs-convnet-course release``) and the edition
the grader's sandbox overlays a submission on are made here, by one function,
so they cannot differ: the same package files, the learner files of
:data:`cs_convnet.boundary.LEARNER_FILES` stubbed by
:func:`cs_convnet.boundary.stub_solutions`, every provided file copied byte for
byte. The only difference is that the sandbox also gets the compiled modules
(learners build their own from ``cython_ext/``).
"""

from pathlib import Path

from cs_convnet import boundary

# Never copied, whatever the folder: instructor-only, generated or binary files.
EXCLUDED_DIRS = {"__pycache__", ".ipynb_checkpoints", "cifar-10-batches-py", "build"}
EXCLUDED_SUFFIXES = {".so", ".pyd", ".c", ".html", ".pyc", ".o", ".gz", ".tar", ".zip", ".npz", ".db"}
PACKAGE_SUFFIXES = {".py", ".pyi", ".typed", ".json", ".txt"}   # what the edition's package holds
COMPILED_SUFFIXES = {".so", ".pyd"}                              # the sandbox's extra: compiled kernels


class EditionError(RuntimeError):
    """The student edition of the package cannot be built from this tree."""


def copyable(rel):
    """Whether a file at ``rel`` (a relative path) may be copied into an edition at all."""
    rel = Path(rel)
    return not (set(rel.parts) & EXCLUDED_DIRS) and rel.suffix not in EXCLUDED_SUFFIXES


def reference_package():
    """Folder of the trusted instructor ``cs_convnet`` imported by this process."""
    import cs_convnet

    root = Path(cs_convnet.__file__).resolve().parent
    layers = root.parent / boundary.LEARNER_FILES[0]
    if not boundary.marked_regions(layers.read_text(encoding="utf-8"), filename=str(layers)):
        raise RuntimeError(f"{root} is not the instructor tree (no solution regions in {layers.name}): "
                           "the grader needs the reference solution")
    return root


def package_files(package, compiled=False):
    """Paths (POSIX, relative to ``package``'s parent) of the files an edition of ``package`` holds."""
    package = Path(package)
    suffixes = PACKAGE_SUFFIXES | (COMPILED_SUFFIXES if compiled else set())
    found = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package.parent)
        if path.is_file() and path.suffix in suffixes and not set(rel.parts) & EXCLUDED_DIRS:
            found.append(rel.as_posix())
    return found


def write_package_edition(dest, package=None, compiled=False):
    """Write the student edition of ``package`` (default: the reference) into ``dest/cs_convnet``.

    Parameters
    ----------
    dest : folder to write into (created if needed)
    package : the instructor's ``cs_convnet`` folder
    compiled : also copy the compiled modules (the sandbox's edition)

    Returns
    -------
    list of str : the files written with stubs (the learner files), relative to ``dest``

    Raises
    ------
    EditionError
        If a learner file is missing, holds no solution region or has markers
        that do not pair up, or if a provided file holds a solution region (it
        would ship a solution).
    """
    package = Path(package) if package else reference_package()
    dest = Path(dest)
    files = package_files(package, compiled)
    missing = [rel for rel in boundary.LEARNER_FILES if rel not in files]
    if missing:
        raise EditionError(f"{package}: learner file(s) {', '.join(missing)} missing; "
                           f"expected every file of cs_convnet.boundary.LEARNER_FILES")
    stubbed = []
    for rel in files:
        source, target = package.parent / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not rel.endswith(".py"):
            target.write_bytes(source.read_bytes())
            continue
        text = source.read_text(encoding="utf-8")
        try:
            if rel in boundary.LEARNER_FILES:
                stub = boundary.stub_solutions(text, rel)
                if stub == text:
                    raise EditionError(f"{rel} is a learner file but holds no solution region; expected at "
                                       f"least one {boundary.BEGIN_SOLUTION} / {boundary.END_SOLUTION} pair")
                text = stub
                stubbed.append(rel)
            elif boundary.marked_regions(text, filename=rel):
                raise EditionError(f"{rel} holds a solution region but is not a learner file; add it to "
                                   "cs_convnet.boundary.LEARNER_FILES or remove the markers")
        except boundary.RegionError as error:
            raise EditionError(str(error)) from None
        with open(target, "w", encoding="utf-8", newline="") as handle:   # line ends kept as they are
            handle.write(text)
    return stubbed

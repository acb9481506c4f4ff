"""The learner/provided boundary: one list of learner files, one parser of solution regions, one stubber."""

import re
import textwrap

import pytest

from autograder.edition import builder
from cs_convnet import boundary
from cs_convnet.boundary import BEGIN_SOLUTION as BEGIN
from cs_convnet.boundary import END_SOLUTION as END
from support.paths import REPO


SAMPLE = textwrap.dedent('''
    """Module docstring that mentions ``### BEGIN SOLUTION`` in prose."""


    def double(x):
        """Twice x, elementwise.

        More text.
        """
        check(x)
        ### BEGIN SOLUTION
        y = 2 * x
        ### END SOLUTION
        return y


    class Net:
        def loss(self, X):
            """Loss of the net."""
            if X is None:
                # HINT: compute the scores first
                ### BEGIN SOLUTION
                scores = X @ self.W
                ### END SOLUTION
            return scores

        def step(self):
            def inner():
                ### BEGIN SOLUTION
                return 1
                ### END SOLUTION
            return inner
''').lstrip("\n")
TOP_LEVEL = f"\n\n{BEGIN}\nTOP = 1\n{END}\n"   # a region outside every function (lines 34-36 after SAMPLE)


# --------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------

def test_are_regions_found_with_their_lines_and_enclosing_function():
    """Does the parser give each region's marker lines, indentation, innermost function and docstring summary?"""
    regions = boundary.solution_regions(SAMPLE + TOP_LEVEL, "pkg/mod.py")
    lines = (SAMPLE + TOP_LEVEL).splitlines()
    assert [(r.begin, r.end) for r in regions] == [(10, 12), (21, 23), (28, 30), (34, 36)]
    assert all(lines[r.begin - 1].strip() == BEGIN and lines[r.end - 1].strip() == END for r in regions)
    assert [r.function for r in regions] == ["double", "Net.loss", "Net.step.inner", None]
    assert [r.indent for r in regions] == ["    ", "            ", "            ", ""]
    assert regions[0].summary == "Twice x, elementwise." and regions[3].summary is None


@pytest.mark.parametrize("text, problem", [
    (f"{BEGIN}\nx = 1\n", "bad.py:1: ### BEGIN SOLUTION has no ### END SOLUTION"),
    (f"{BEGIN}\n{BEGIN}\n{END}\n", "bad.py:2: nested ### BEGIN SOLUTION"),
    (f"x = 1\n{END}\n", "bad.py:2: ### END SOLUTION without ### BEGIN SOLUTION"),
    (f"def f(:\n    {BEGIN}\n    {END}\n", "bad.py:1: not valid Python"),
], ids=["unterminated", "nested", "end-without-begin", "not-python"])
def test_malformed_regions_are_refused(text, problem):
    """Does a malformed solution region give one line naming the file, the line and what was expected?"""
    with pytest.raises(boundary.RegionError) as error:
        boundary.stub_solutions(text, "bad.py")
    assert str(error.value).startswith(problem) and "\n" not in str(error.value)


def test_are_prose_mentions_and_non_python_text_handled():
    """Are markers inside prose ignored, and is text that is not Python parsed without its functions?"""
    assert boundary.solution_regions('"""see ``### BEGIN SOLUTION``"""\n') == []
    cython = f"cdef int f():\n    {BEGIN}\n    return 1\n    {END}\n"
    assert boundary.solution_regions(cython, "k.pyx", python=False) == [boundary.Region(2, 4, "    ")]


def test_do_line_numbers_follow_python_line_ends():
    """Do a form feed and a Unicode line separator inside a line keep the line numbers ast uses?"""
    text = f"x = '\u2028'\f\ndef f():\n    {BEGIN}\n    return 1\n    {END}\n"
    (region,) = boundary.solution_regions(text, "odd.py")
    assert (region.begin, region.end, region.function) == (3, 5, "f")
    assert "".join(boundary.source_lines(text)) == text


# --------------------------------------------------------------------------
# The stub
# --------------------------------------------------------------------------

def test_stub_replaces_each_region_keeping_code_and_indentation():
    """Are solution regions replaced by an indented stub with a hint, and the code around them kept?"""
    stubbed = boundary.stub_solutions(SAMPLE, "pkg/mod.py")
    assert "y = 2 * x" not in stubbed and "scores = X @ self.W" not in stubbed
    assert "    check(x)\n    raise NotImplementedError('implement double in pkg/mod.py: Twice x, elementwise.')" in stubbed
    assert "            raise NotImplementedError('compute the scores first')" in stubbed
    assert "    return y" in stubbed and "``### BEGIN SOLUTION``" in stubbed  # prose mentions are not regions
    assert boundary.stub_solutions(SAMPLE + TOP_LEVEL, "pkg/mod.py").endswith(
        "\nraise NotImplementedError('write the missing code in pkg/mod.py (line 34)')\n")
    namespace = {"check": lambda x: None}
    exec(compile(stubbed, "pkg/mod.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="implement double in pkg/mod.py: Twice x, elementwise."):
        namespace["double"](3)


def test_stub_keeps_indentation_and_line_ends():
    """Is a region replaced by one stub line at its indentation, every other byte (CRLF too) kept?"""
    source = "def f(x):\r\n    y = 1\r\n    ### BEGIN SOLUTION\r\n    y = x * 2\r\n    ### END SOLUTION\r\n    return y"
    assert boundary.stub_solutions(source, "f.py") == (
        "def f(x):\r\n    y = 1\r\n    raise NotImplementedError('implement f in f.py')\r\n    return y")
    assert boundary.stub_solutions("x = 1\n", "f.py") == "x = 1\n"


# --------------------------------------------------------------------------
# The one list of learner files
# --------------------------------------------------------------------------

def test_are_the_learner_files_exactly_the_files_with_solution_regions():
    """Does LEARNER_FILES name every package file that holds a solution region, and no other?"""
    with_regions = sorted(path.relative_to(REPO).as_posix() for path in (REPO / "cs_convnet").rglob("*.py")
                          if "__pycache__" not in path.parts
                          and boundary.marked_regions(path.read_text(encoding="utf-8"), filename=str(path)))
    assert with_regions == sorted(boundary.LEARNER_FILES)


def test_do_submit_grading_and_samples_use_the_one_list():
    """Do `cs-convnet submit`, the sandbox and the samples take their learner files from the boundary module?"""
    from autograder.qa import samples
    from autograder.sandbox import root as sandbox_root
    from cs_convnet import submission

    assert submission.LEARNER_FILES is boundary.LEARNER_FILES
    assert sandbox_root.LEARNER_FILES is boundary.LEARNER_FILES
    assert sorted(samples.reference_files()) == sorted(boundary.LEARNER_FILES)


def test_does_every_learner_region_sit_in_a_function():
    """Does each shipped solution region have an enclosing function (so its stub names what to write)?"""
    for rel in boundary.LEARNER_FILES:
        regions = boundary.solution_regions((REPO / rel).read_text(encoding="utf-8"), rel)
        assert regions and all(region.function for region in regions), rel


def test_do_learner_files_hold_only_learner_functions():
    """Does every function a learner file defines hold a solution region (provided code lives elsewhere)?"""
    import ast

    for rel in boundary.LEARNER_FILES:
        text = (REPO / rel).read_text(encoding="utf-8")
        regions = {region.function for region in boundary.solution_regions(text, rel)}
        defined = set()
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef):
                defined.add(node.name)
            elif isinstance(node, ast.ClassDef):
                defined |= {f"{node.name}.{item.name}" for item in node.body if isinstance(item, ast.FunctionDef)}
        assert sorted(defined - regions) == [], rel


# --------------------------------------------------------------------------
# The package edition
# --------------------------------------------------------------------------

def test_student_edition_holds_no_solution_text(tmp_path):
    """Does the package edition contain no line of any solution region, and every learner file still compile?"""
    package = builder.reference_package()
    stubbed = builder.write_package_edition(tmp_path, package, compiled=True)
    assert stubbed == sorted(boundary.LEARNER_FILES)
    for rel in boundary.LEARNER_FILES:
        reference = (package.parent / rel).read_text()
        student = (tmp_path / rel).read_text()
        compile(student, rel, "exec")
        inside, solution_lines = False, []
        for line in reference.splitlines():   # an independent reading of the markers
            if line.strip() == BEGIN:
                inside = True
            elif line.strip() == END:
                inside = False
            elif inside and line.strip():
                solution_lines.append(line)
        assert solution_lines
        assert not any(line in student.splitlines() for line in solution_lines if len(line.strip()) > 12)
    assert not list(tmp_path.rglob("__pycache__"))


def _tiny_package(root, files):
    package = root / "cs_convnet"
    for rel in boundary.LEARNER_FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"def f():\n    {BEGIN}\n    return 1\n    {END}\n")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return package


@pytest.mark.parametrize("files, problem", [
    ({"cs_convnet/provided.py": f"{BEGIN}\nx = 1\n{END}\n"}, "cs_convnet/provided.py holds a solution region"),
    ({"cs_convnet/layers.py": "x = 1\n"}, "cs_convnet/layers.py is a learner file but holds no solution region"),
    ({"cs_convnet/optim.py": f"{BEGIN}\n"}, "cs_convnet/optim.py:1: ### BEGIN SOLUTION has no"),
], ids=["region-in-provided-file", "learner-file-without-region", "unterminated"])
def test_is_a_tree_that_would_ship_a_solution_refused(tmp_path, files, problem):
    """Does the edition refuse a provided file with a region, or a learner file without one, in one line?"""
    package = _tiny_package(tmp_path / "tree", files)
    with pytest.raises(builder.EditionError, match=problem):
        builder.write_package_edition(tmp_path / "out", package)


def test_are_compiled_modules_only_in_the_sandbox_edition(tmp_path):
    """Does only the sandbox's edition carry compiled modules, the files being otherwise the same?"""
    package = _tiny_package(tmp_path / "tree", {"cs_convnet/_compiled/k.so": "binary", "cs_convnet/k.c": "c"})
    released = builder.package_files(package)
    graded = builder.package_files(package, compiled=True)
    assert sorted(set(graded) - set(released)) == ["cs_convnet/_compiled/k.so"]
    assert "cs_convnet/k.c" not in graded


# --------------------------------------------------------------------------
# Nothing private crosses the boundary
# --------------------------------------------------------------------------

LEARNER_MODULES = {rel[:-3].replace("/", ".") for rel in boundary.LEARNER_FILES}


def _module_name(path):
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def _absolute(module, level, name):
    """The absolute name of ``from <level dots><name> import ...`` written in ``module``."""
    if not level:
        return name
    parts = module.split(".")
    if parts[-1] == "__init__":   # a package's own module: one dot is the package itself
        parts = parts[:-1] + ["__init__"]
    return ".".join(parts[:len(parts) - level] + ([name] if name else []))


def _private_crossings(module, text):
    """``[(line, imported module, name)]``: private names ``module`` takes from the other side of the boundary."""
    import ast

    learner = module in LEARNER_MODULES
    tree = ast.parse(text)
    crossings, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, node.level, node.module)
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if target in LEARNER_MODULES or (learner and target.startswith("cs_convnet.")
                                                 and not alias.name.startswith("_")):
                    aliases[alias.asname or alias.name] = target
                if alias.name.startswith("_") and source.startswith("cs_convnet") \
                        and (learner or source in LEARNER_MODULES) and source != module:
                    crossings.append((node.lineno, source, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in LEARNER_MODULES or (learner and alias.name.startswith("cs_convnet")):
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_") \
                and not node.attr.startswith("__") and node.value.id in aliases:
            target = aliases[node.value.id]
            if learner != (target in LEARNER_MODULES):
                crossings.append((node.lineno, target, node.attr))
    return crossings


@pytest.mark.parametrize("path", sorted((REPO / "cs_convnet").rglob("*.py")),
                         ids=lambda p: p.relative_to(REPO).as_posix())
def test_does_no_private_name_cross_the_boundary(path):
    """Do learner files take no private helper from provided code, and provided code none from learner files?"""
    assert _private_crossings(_module_name(path), path.read_text(encoding="utf-8")) == []


def test_does_the_crossing_check_see_a_leak():
    """Would the check above catch the two kinds of leak it replaced?"""
    assert _private_crossings("cs_convnet.classifiers.fc_net", "from .convnet import _check_reg, check_x\n") == [
        (1, "cs_convnet.classifiers.convnet", "_check_reg")]
    provided = "from . import layers\nfrom .layers import _check_bn\nlayers._helper(1)\n"
    assert _private_crossings("cs_convnet.fast_batchnorm", provided) == [
        (2, "cs_convnet.layers", "_check_bn"), (3, "cs_convnet.layers", "_helper")]
    assert _private_crossings("cs_convnet.__init__", "from .layers import _x\n") == [(1, "cs_convnet.layers", "_x")]
    assert _private_crossings("cs_convnet.solver", "from .shape_checks import _as_int\n") == []


# --------------------------------------------------------------------------
# The layout tables of README.md and CONTRIBUTING.md
# --------------------------------------------------------------------------

def _package_modules():
    """Every module of cs_convnet a reader should find in a table (package ``__init__``/``__main__`` aside)."""
    return {path.relative_to(REPO).as_posix() for path in (REPO / "cs_convnet").rglob("*.py")
            if "__pycache__" not in path.parts and path.name not in ("__init__.py", "__main__.py")}


def _layout_rows(markdown):
    """``[(who, [cs_convnet paths])]``: each table row whose first cell names cs_convnet files, with its last cell.

    In a first cell, names after the first ``cs_convnet/...`` one are relative to ``cs_convnet/``.
    """
    rows = []
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = re.findall(r"`([^`]+)`", cells[0]) if len(cells) >= 3 else []
        if not names or not names[0].startswith("cs_convnet/"):
            continue
        rows.append((cells[-1], [name if name.startswith("cs_convnet/") else f"cs_convnet/{name}" for name in names]))
    return rows


def _covered(path, names):
    return any(path == name or (name.endswith("/") and path.startswith(name)) for name in names)


@pytest.mark.parametrize("document, learners", [("README.md", "learners write"), ("CONTRIBUTING.md", "learners")])
def test_do_the_layout_tables_match_the_one_list(document, learners):
    """Does the learners' row name exactly LEARNER_FILES, and a provided row every other module of cs_convnet?"""
    rows = _layout_rows((REPO / document).read_text(encoding="utf-8"))
    written = [name for who, names in rows if who == learners for name in names]
    provided = [name for who, names in rows if who == "provided" for name in names]
    assert sorted(written) == sorted(boundary.LEARNER_FILES)
    assert [name for name in provided if not (REPO / name).exists()] == [], "the table names files that do not exist"
    assert sorted(path for path in boundary.LEARNER_FILES if _covered(path, provided)) == []
    missing = sorted(path for path in _package_modules() - set(boundary.LEARNER_FILES) if not _covered(path, provided))
    assert missing == [], f"{document}: add these modules to a provided row of its layout table"


def _autograder_parts():
    """Every module and folder a reader should find in the autograder table: the top level's, and each subpackage's."""
    package = REPO / "autograder"

    def shown(path):
        return not path.name.startswith(("_", ".")) and (path.is_dir() or path.suffix == ".py")

    parts = set()
    for path in filter(shown, package.iterdir()):
        parts.add(path.relative_to(REPO).as_posix())
        if path.is_dir():
            parts |= {inner.relative_to(REPO).as_posix() for inner in filter(shown, path.iterdir())}
    return parts


def test_does_the_autograder_table_name_every_module_and_folder():
    """Does CONTRIBUTING.md's autograder table name each subpackage, and each module and folder within it?

    A row's first cell names a folder (or top-level modules, the first with its ``autograder/`` path); the
    file and folder names in backticks in its second cell are within that folder.
    """
    named = set()
    for line in (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = re.findall(r"`([^`]+)`", cells[0]) if len(cells) >= 2 else []
        if not names or not names[0].startswith("autograder/"):
            continue
        folder = names[0].rstrip("/") if names[0].endswith("/") else names[0].rpartition("/")[0]
        inner = names[1:] + re.findall(r"`([\w.]+(?:\.py|/))`", cells[1])
        named |= {names[0].rstrip("/")} | {f"{folder}/{name.rstrip('/')}" for name in inner}
    missing = sorted(_autograder_parts() - named)
    assert missing == [], f"CONTRIBUTING.md: name these in its autograder table: {missing}"

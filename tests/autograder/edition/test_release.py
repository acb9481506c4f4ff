"""The student edition: built by autograder/edition/release.py, leak-free, importable, its notebooks fail clearly."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.edition import release
from autograder.sandbox.root import prepare_root
from cs_convnet import boundary
from cs_convnet.boundary import BEGIN_HIDDEN as HIDDEN_BEGIN
from cs_convnet.boundary import BEGIN_SOLUTION as BEGIN
from cs_convnet.boundary import END_HIDDEN as HIDDEN_END
from cs_convnet.boundary import END_SOLUTION as END
from cs_convnet.boundary import LEARNER_FILES, marked_regions
from support.notebooks import errors_of, run_notebook
from support.paths import REPO

SOURCE = REPO / "assignments" / "source"


# --------------------------------------------------------------------------
# The built edition
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    result = release.build_student_edition(out)
    return result


def _zip_texts(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        return {name: archive.read(name).decode("utf-8", errors="replace")
                for name in archive.namelist() if not name.endswith("/")}


def _package_regions():
    """``{(file, region number): [lines]}`` of every solution region of the instructor package."""
    regions = {}
    for path in sorted((REPO / "cs_convnet").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, (begin, end) in enumerate(marked_regions("\n".join(lines))):   # 1-based marker lines
            regions[(str(path.relative_to(REPO)), number)] = [line.strip() for line in lines[begin:end - 1]]
    return regions


def _notebook_secrets():
    """``{(notebook, cell grade_id): [lines]}`` of notebook solutions, written answers and hidden tests."""
    secrets = {}
    for path in sorted(SOURCE.glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta:
                continue
            key = (path.parent.name, meta["grade_id"])
            if cell.cell_type == "markdown" and meta.get("solution"):
                secrets[key] = [line.strip() for line in cell.source.splitlines()]
                continue
            lines, inside = [], False
            for line in cell.source.splitlines():
                if line.strip() in (BEGIN, HIDDEN_BEGIN):
                    inside = True
                elif line.strip() in (END, HIDDEN_END):
                    inside = False
                elif inside:
                    lines.append(line.strip())
            if lines:
                secrets[key] = lines
    return secrets


def _public_lines(texts):
    """Every stripped line of the student edition, notebooks cell by cell."""
    public = set()
    for name, text in texts.items():
        if name.endswith(".ipynb"):
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        public.update(line.strip() for line in text.splitlines())
    return public


def _instructor_public_lines():
    """Lines outside every secret region of the instructor tree (provided code, visible cells)."""
    public = set()
    for folder in ("cs_convnet", "cython_ext", "datasets"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".pyx", ".pxd", ".md"} and "__pycache__" not in path.parts:
                lines = path.read_text(encoding="utf-8").splitlines()
                inside = set()
                for begin, end in marked_regions("\n".join(lines)) if path.suffix == ".py" else []:
                    inside.update(range(begin, end + 1))
                public.update(line.strip() for i, line in enumerate(lines, start=1) if i not in inside)
    for path in SOURCE.glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("solution"):
                continue
            inside = False
            for line in cell.source.splitlines():
                if line.strip() in (BEGIN, HIDDEN_BEGIN):
                    inside = True
                elif line.strip() in (END, HIDDEN_END):
                    inside = False
                elif not inside:
                    public.add(line.strip())
    return public


def test_zip_holds_no_solution_hidden_test_or_instructor_file(edition):
    """Is every solution region, written answer and hidden test absent from every file of the zip?"""
    texts = _zip_texts(edition["zip"])
    names = [name.split("/", 1)[1] for name in texts]
    for name in names:
        parts = Path(name).parts
        assert parts[0] not in {"autograder", "tests", "scripts", ".git", ".ci"}, name
        assert not ({"source", "notebook_sources"} & set(parts)), name
        assert parts[-1] not in {"nbgrader_config.py", "build_notebooks.py", "gradebook.db", "CONTRIBUTING.md"}
        assert Path(name).suffix not in {".so", ".c", ".db"}, name
    student_lines = _public_lines(texts)
    for marker in (BEGIN, END, HIDDEN_BEGIN, HIDDEN_END):
        assert not any(line.startswith(marker) for line in student_lines), f"marker {marker} in the zip"

    instructor_public = _instructor_public_lines()
    secrets = {**_package_regions(), **_notebook_secrets()}
    assert len(secrets) > 20
    for key, lines in secrets.items():
        distinctive = [line for line in lines if len(line) >= 8 and line not in instructor_public]
        assert distinctive, f"{key}: no line distinguishes this secret region from public code; scan is blind to it"
        leaked = [line for line in distinctive if line in student_lines]
        assert leaked == [], f"{key} leaked into the student edition: {leaked}"


def test_zip_mirrors_the_folder_and_has_what_learners_need(edition):
    """Does the zip hold the whole edition: package, notebooks of every assignment, install files?"""
    out = edition["output"]
    texts = _zip_texts(edition["zip"])
    in_zip = {name.split("/", 1)[1] for name in texts}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert in_zip == on_disk and release.STAMP in in_zip
    for needed in ["README.md", "setup.py", "pyproject.toml", "cs_convnet/__init__.py", "cs_convnet/layers.py",
                   "cs_convnet/submission.py", "datasets/get_cifar10.py"]:
        assert needed in in_zip, needed
    assert any(name.startswith("cython_ext/") and name.endswith(".pyx") for name in in_zip)
    for source in SOURCE.glob("*/*.ipynb"):
        name = f"assignments/{source.parent.name}/{source.name}"
        assert name in in_zip, name
        nb = nbformat.reads(texts[f"{release.ZIP_TOP}/{name}"], as_version=4)
        assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    readme = texts[f"{release.ZIP_TOP}/README.md"]
    assert 'pip install -e ".[course]"' in readme and "cs-convnet submit" in readme
    assert "autograder" not in readme


def test_student_pyproject_configures_no_missing_tests_folder(edition):
    """Does the student pyproject.toml keep the build setup but drop pytest's settings for tests/?"""
    import tomllib

    shipped = tomllib.loads((edition["output"] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "pytest" not in shipped.get("tool", {})
    assert not (edition["output"] / "tests").exists()
    ours = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert shipped["build-system"] == ours["build-system"]
    assert {k: v for k, v in ours.get("tool", {}).items() if k != "pytest"} == shipped.get("tool", {})


def test_missing_kernels_hint_is_the_readmes_install_command(monkeypatch):
    """Does the setup cell's "compiled kernels" warning suggest the install command of the students' README?"""
    import re

    from cs_convnet.kernels import backend

    monkeypatch.setattr(backend, "_errors", {"im2col_cython": "No module named 'im2col_cython'"})
    monkeypatch.delenv("CS_CONVNET_BACKEND", raising=False)
    with pytest.warns(RuntimeWarning, match="compiled Cython kernels") as caught:
        backend._initial_backend()
    same_quotes = str.maketrans("'", '"')          # either quoting is the same shell command
    commands = [c.translate(same_quotes) for c in re.findall(r"`(pip install[^`]*)`", str(caught[0].message))]
    readme = (REPO / "assignments" / "student" / "README.md").read_text(encoding="utf-8").translate(same_quotes)
    assert commands and all(command in readme for command in commands)


def test_student_notebook_stubs_carry_their_hints(edition):
    """Does every notebook stub raise NotImplementedError with its own hint, not a bare one?"""
    for path in edition["output"].glob("assignments/*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                assert "raise NotImplementedError('" in cell.source, (path.name, cell.source)
                assert "raise NotImplementedError()" not in cell.source


def _run_student_python(edition, code):
    env = dict(os.environ, PYTHONPATH=str(edition["output"]), PYTHONNOUSERSITE="1")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=edition["output"], timeout=120)


def test_student_package_imports_and_stubs_say_what_to_implement(edition):
    """Does the student package import from the edition, keep provided code whole and stub learner code?"""
    result = _run_student_python(edition, '''
        import json, numpy as np
        import cs_convnet, cs_convnet.layers as L, cs_convnet.fast_layers as fast, cs_convnet.gradient_check as gc
        report = {"file": cs_convnet.__file__}
        x = np.ones((2, 3)); w = np.ones((3, 4)); b = np.zeros(4)
        try:
            L.affine_forward(x, w, b)
        except NotImplementedError as error:
            report["affine"] = str(error)
        try:
            L.affine_forward(np.ones((2, 5)), w, b)   # provided input checks still run first
        except ValueError as error:
            report["checked"] = str(error)
        xc = np.random.default_rng(0).standard_normal((1, 2, 5, 5)); wc = np.ones((3, 2, 3, 3))
        out, _ = fast.conv_forward_fast(xc, wc, np.zeros(3), {"stride": 1, "pad": 1})   # provided: works
        report["fast_shape"] = list(out.shape)
        report["rel_error"] = gc.rel_error(np.ones(3), np.ones(3))
        from cs_convnet import fast_batchnorm, fast_optim, optim   # provided fast paths beside stubbed files
        from cs_convnet.classifiers.cnn import ThreeLayerConvNet
        from cs_convnet.classifiers.fc_net import FullyConnectedNet
        for key, call in [("sgd", lambda: optim.sgd(np.ones(2), np.ones(2))),
                          ("fc", lambda: FullyConnectedNet([4], input_dim=3, seed=0).loss(np.ones((2, 3)))),
                          ("cnn", lambda: ThreeLayerConvNet((1, 4, 4), 2, 3, 4, seed=0).loss(np.ones((1, 1, 4, 4))))]:
            try:
                call()
            except NotImplementedError as error:
                report[key] = str(error)
        report["fast_adam"] = float(fast_optim.adam(np.ones(2), np.ones(2))[0][0])
        print(json.dumps(report))
    ''')
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["file"].startswith(str(edition["output"])), "the kernel imported the instructor package"
    assert report["affine"].startswith("implement affine_forward in cs_convnet/layers.py")
    assert "features per example" in report["checked"]
    assert report["fast_shape"] == [1, 3, 5, 5] and report["rel_error"] == 0.0
    assert report["sgd"].startswith("implement sgd in cs_convnet/optim.py")
    assert report["fc"].startswith("implement FullyConnectedNet.loss in cs_convnet/classifiers/fc_net.py")
    assert report["cnn"].startswith("implement ThreeLayerConvNet.loss in cs_convnet/classifiers/cnn.py")
    assert report["fast_adam"] < 1.0


def test_submit_collects_notebooks_and_learner_files(edition, tmp_path):
    """Does `cs-convnet submit` in the edition zip the notebooks and edited files, and list what is left?"""
    output = tmp_path / "alice.zip"
    result = _run_student_python(edition, f'''
        import sys
        from cs_convnet.cli import main
        sys.exit(main(["submit", "--name", "alice", "--output", {str(output)!r}]))
    ''')
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("submission.json"))
    assert set(LEARNER_FILES) <= names
    notebooks = {f"assignments/{p.parent.name}/{p.name}" for p in SOURCE.glob("*/*.ipynb")}
    assert notebooks <= names
    assert manifest["student"] == "alice" and set(manifest["files"]) == names - {"submission.json"}
    assert "affine_forward" in manifest["not_implemented"]["cs_convnet/layers.py"]
    assert "still raises NotImplementedError in: " in result.stdout


def test_released_graded_and_submitted_editions_agree(edition, tmp_path):
    """Do the edition learners get, the one the sandbox grades against and what `cs-convnet submit` packs
    hold the same package files, learner stubs included, byte for byte?"""
    released = edition["output"]
    output = tmp_path / "untouched.zip"
    result = _run_student_python(edition, f'''
        import sys
        from cs_convnet.cli import main
        sys.exit(main(["submit", "--name", "untouched", "--output", {str(output)!r}]))
    ''')
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(output) as archive:
        submitted = {name: archive.read(name) for name in archive.namelist() if name.startswith("cs_convnet/")}
    (tmp_path / "nothing").mkdir()
    root = prepare_root(tmp_path / "nothing")   # nothing overlaid: the graded edition as built
    try:
        graded = {p.relative_to(root.path).as_posix(): p.read_bytes()
                  for p in (root.path / "cs_convnet").rglob("*") if p.is_file()}
    finally:
        root.cleanup()
    shipped = {p.relative_to(released).as_posix(): p.read_bytes()
               for p in (released / "cs_convnet").rglob("*") if p.is_file()}
    compiled = {rel for rel in graded if rel.startswith("cs_convnet/_compiled/") and rel.endswith((".so", ".pyd"))}
    assert sorted(set(graded) - compiled) == sorted(shipped)   # the sandbox adds only the compiled kernels
    assert {rel: graded[rel] for rel in shipped} == shipped
    assert sorted(submitted) == sorted(LEARNER_FILES)
    assert submitted == {rel: shipped[rel] for rel in LEARNER_FILES}
    for rel in LEARNER_FILES:
        stubs = boundary.solution_regions((REPO / rel).read_text(encoding="utf-8"), rel)
        assert shipped[rel].count(b"raise NotImplementedError('implement ") == len(stubs), rel


@pytest.mark.slow
def test_student_notebooks_fail_only_where_learner_code_is_needed(edition, tmp_path):
    """Does each student notebook run top to bottom, every error a NotImplementedError saying what to write?"""
    notebooks = sorted(edition["output"].glob("assignments/*/*.ipynb"))
    assert len(notebooks) == len(list(SOURCE.glob("*/*.ipynb")))
    for path in notebooks:
        nb = run_notebook(path, path.parent, env={"PYTHONPATH": str(edition["output"])}, allow_errors=True)
        code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert all(cell.execution_count for cell in code_cells), f"{path.name}: the kernel stopped early"
        setup_output = "".join(o.get("text", "") for o in code_cells[0].outputs)
        assert str(edition["output"] / "cs_convnet") in setup_output, f"{path.name} imported the wrong package"
        errors = errors_of(nb)
        assert errors, f"{path.name}: nothing for the learner to do?"
        for index, ename, evalue in errors:
            assert ename == "NotImplementedError", f"{path.name} cell {index}: {ename}: {evalue}"
            assert len(evalue) > 20 and ("implement" in evalue or "write" in evalue or "answer" in evalue
                                         or "assign" in evalue), f"{path.name} cell {index}: unhelpful {evalue!r}"


def test_submit_reports_missing_and_broken_files(tmp_path):
    """Does collect() name missing learner files, syntax errors and notebooks that are not valid JSON?"""
    from cs_convnet import submission

    (tmp_path / "cs_convnet").mkdir()
    (tmp_path / "cs_convnet" / "layers.py").write_text("def f(:\n")
    (tmp_path / "assignments" / "01_x").mkdir(parents=True)
    (tmp_path / "assignments" / "01_x" / "x.ipynb").write_text("{not json")
    files, problems, todo = submission.collect(tmp_path)
    assert files == ["cs_convnet/layers.py", "assignments/01_x/x.ipynb"]
    text = "\n".join(problems)
    assert "missing cs_convnet/optim.py" in text and "layers.py has a syntax error at line 1" in text
    assert "x.ipynb is not valid notebook JSON" in text
    assert submission.find_root(tmp_path / "assignments" / "01_x") == tmp_path


@pytest.mark.slow
def test_student_edition_builds_a_wheel_that_installs_and_imports(edition, tmp_path):
    """Does the student edition's setup.py build (Cython included) and install a working package,
    with the learners' command and without the instructors' one?"""
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    # Offline variant of the README's `pip install -e .`: no build isolation, no dependency download.
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
                            "-w", str(wheels), str(edition["output"])],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("cs_convnet-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert not any(name.startswith(("autograder/", "tests/")) for name in names)
    assert "cs-convnet = cs_convnet.cli:main" in entry_points and "cs-convnet-course" not in entry_points
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                              "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    compiled = any(name.startswith("cs_convnet/_compiled/") and name.endswith(".so") for name in names)
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONNOUSERSITE="1")
    check = subprocess.run([sys.executable, "-c", "import cs_convnet, cs_convnet.fast_layers as f, cs_convnet.layers; "
                            "print(cs_convnet.__file__); print(f.BACKEND)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert check.returncode == 0, check.stderr
    file, backend = check.stdout.split()
    assert file.startswith(str(site))
    assert backend == ("cython" if compiled else "numpy")
    if shutil.which("cc") or shutil.which("gcc"):
        assert compiled, "a C compiler is present, yet the wheel has no compiled fast layers"

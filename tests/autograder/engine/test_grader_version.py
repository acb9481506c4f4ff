"""The grader version digests whole folders, so no change to the grading code goes unnoticed."""

from pathlib import Path

import pytest

from autograder.engine import tasks


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "pkg"
    (root / "checks").mkdir(parents=True)
    (root / "checks" / "layers.py").write_text("POINTS = 3\n")
    (root / "sandbox.py").write_text("LIMIT = 1\n")
    (root / "conv.pyx").write_text("# kernel\n")
    return [("pkg", root)]


def test_is_the_digest_stable_across_two_computations(tree):
    """Does walking the same tree twice give the same digest?"""
    assert tasks.tree_digest(tree) == tasks.tree_digest(tree)


def _rename(root):
    (root / "sandbox.py").rename(root / "isolation.py")


def _add(root):
    (root / "checks" / "optim.py").write_text("")


def _remove(root):
    (root / "checks" / "layers.py").unlink()


def _edit(root):
    (root / "checks" / "layers.py").write_text("POINTS = 4\n")


@pytest.mark.parametrize("change", [_rename, _add, _remove, _edit], ids=["rename", "add", "remove", "edit"])
def test_does_any_change_to_a_file_change_the_digest(tree, change):
    """Does renaming (same bytes), adding, removing or editing one file change the digest?"""
    before = tasks.tree_digest(tree)
    change(tree[0][1])
    assert tasks.tree_digest(tree) != before


def test_are_caches_and_build_products_ignored(tree):
    """Do __pycache__, compiled modules and the .c and .html Cython makes from a .pyx leave the digest alone?"""
    before = tasks.tree_digest(tree)
    root = tree[0][1]
    (root / "checks" / "__pycache__").mkdir()
    (root / "checks" / "__pycache__" / "layers.cpython-311.pyc").write_bytes(b"\0")
    (root / "conv.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\0")
    (root / "conv.c").write_text("/* generated */\n")
    (root / "conv.html").write_text("<html>annotated</html>\n")
    assert tasks.tree_digest(tree) == before


@pytest.mark.parametrize("name", ["helpers.c", "report.html"])
def test_is_a_file_cython_did_not_generate_part_of_the_digest(tree, name):
    """Is a .c or .html without a .pyx of the same name (not a build product) hashed?"""
    before = tasks.tree_digest(tree)
    (tree[0][1] / name).write_text("hand-written\n")
    assert tasks.tree_digest(tree) != before


def test_does_the_digest_not_depend_on_where_the_tree_lives(tree, tmp_path):
    """Do two copies of the same tree in different places digest the same?"""
    import shutil

    copy = tmp_path / "elsewhere" / "pkg"
    shutil.copytree(tree[0][1], copy)
    assert tasks.tree_digest([("pkg", copy)]) == tasks.tree_digest(tree)


def test_does_a_missing_folder_raise_a_clear_error(tree, tmp_path):
    """Is a missing folder an error naming it, never silently skipped?"""
    with pytest.raises(FileNotFoundError, match=r"cython_ext not found at .*nowhere"):
        tasks.tree_digest(tree + [("cython_ext", tmp_path / "nowhere")])


def test_does_the_grader_version_cover_every_grading_folder():
    """Are the autograder package, the reference cs_convnet, cython_ext and the course config all hashed?"""
    labels = {label: path for label, path in tasks.grader_folders()}
    assert set(labels) == {"autograder", "cs_convnet", "cython_ext", "nbgrader_config.py"}
    assert all(path.exists() for path in labels.values())
    import autograder

    # The whole package (not only engine/, where tasks.py lives): every subpackage decides grades.
    assert labels["autograder"] == Path(autograder.__file__).resolve().parent
    for folder in ("checks", "sandbox", "engine", "course", "edition", "report", "qa"):
        assert (labels["autograder"] / folder / "__init__.py").is_file(), folder


def test_does_a_missing_grading_folder_stop_the_grader_version(monkeypatch, tmp_path):
    """Does grader_version raise instead of hashing around a folder that is gone?"""
    monkeypatch.setattr(tasks, "grader_folders", lambda: [("cython_ext", tmp_path / "gone")])
    tasks._sources_digest.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="cython_ext"):
            tasks.grader_version()
    finally:
        tasks._sources_digest.cache_clear()


def test_is_the_grader_version_stable():
    """Do two computations of the real grader version agree?"""
    first = tasks.grader_version()
    tasks._sources_digest.cache_clear()
    assert tasks.grader_version() == first

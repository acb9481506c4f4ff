"""Fuzzing `collect` with hypothesis: broken, hostile and ambiguous entries next to good ones (#11).

For every generated inbox -- good submissions plus broken entries (zips truncated
or with corrupted bytes, not zips, duplicate or non-UTF-8 member names, links,
absolute and ``..`` members, huge members, notebooks with invalid JSON, altered
nbgrader metadata or enormous outputs, empty zips, id collisions, impostor
manifests) -- it asserts: collect never raises; each good submission is collected
byte for byte; nothing is written outside the course folder (the inbox included);
each skipped entry's note names it; the exit status is 1 exactly when an entry was
skipped; running collect again changes nothing.

The examples run per test are set by the hypothesis profile below (``ci``, the
default; ``HYPOTHESIS_PROFILE=thorough`` for a longer search).
"""

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from autograder import cli
from autograder.course import collect, layout as course_mod
from support import nbgrader_factory as factory

settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", max_examples=500, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

# small limits, so that "too large" costs kilobytes, not hundreds of megabytes
LIMITS = {"MAX_FILE_BYTES": 4096, "MAX_TOTAL_BYTES": 64 * 1024, "MAX_ENTRY_BYTES": 64 * 1024, "MAX_FILES": 50}
SKIPPED, COLLECTED, EITHER = "skipped", "collected", "either"


def notebook_bytes(**changes):
    nb = factory.source_notebook()
    for index, cell in enumerate(nb.cells):   # nbformat's random cell ids would make draws differ
        cell.id = f"cell-{index}"
    for key, value in changes.items():
        if key == "drop_metadata":
            for cell in nb.cells:
                cell.metadata.pop("nbgrader", None)
        elif key == "alter_metadata":
            nb.cells[3].metadata["nbgrader"]["points"] = value
        elif key == "output":
            nb.cells[1].outputs = [{"output_type": "stream", "name": "stdout", "text": value}]
    return json.dumps(nb).encode()


def make_zip(members):
    """Zip bytes of ``[(name or ZipInfo, bytes)]`` (duplicates allowed)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")   # "Duplicate name": wanted here
        for name, data in members:
            if isinstance(name, str):   # a fixed date: the same draw gives the same bytes
                name = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(name, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def link_member(name, target):
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = 0o120777 << 16
    return info, target.encode()


LAYERS = st.binary(min_size=1, max_size=300)


@st.composite
def good_submission(draw, index):
    """A good learner: a zip or a folder with layers.py and (maybe) the notebook."""
    files = {"cs_convnet/layers.py": draw(LAYERS)}
    if draw(st.booleans()):
        files["assignments/tiny/squares.ipynb"] = notebook_bytes()
    return {"name": f"good{index}" + (".zip" if draw(st.booleans()) else ""), "files": files}


@st.composite
def broken_entry(draw, index):
    """``(entries, expectation)``: one or two inbox entries ``{name: bytes | {rel: bytes}}`` and what must happen."""
    kind = draw(st.sampled_from(["truncated", "corrupted", "not-a-zip", "duplicates", "non-utf8", "links",
                                 "huge-member", "bad-notebook", "metadata", "enormous-output", "empty-zip",
                                 "conflict", "impostor", "folder-link", "too-many"]))
    name = f"{draw(st.sampled_from(['a', 'z']))}bad{index}-{kind}"   # before or after the good ones
    layers = draw(LAYERS)
    base = [("cs_convnet/layers.py", layers)]
    if kind == "truncated":
        good = make_zip(base + [("assignments/tiny/squares.ipynb", notebook_bytes())])
        return {f"{name}.zip": good[:draw(st.integers(0, len(good) - 1))]}, SKIPPED, kind
    if kind == "corrupted":
        data = bytearray(make_zip(base + [("assignments/tiny/squares.ipynb", notebook_bytes())]))
        for position in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
            data[position] ^= draw(st.integers(1, 255))
        return {f"{name}.zip": bytes(data)}, EITHER, kind
    if kind == "not-a-zip":
        return {f"{name}.zip": b"NOTZIP" + draw(st.binary(max_size=200))}, SKIPPED, kind
    if kind == "duplicates":
        return {f"{name}.zip": make_zip(base + [("cs_convnet/layers.py", draw(LAYERS))])}, COLLECTED, kind
    if kind == "non-utf8":
        marker = "cs_convnet/NAMEMARK.py"
        data = make_zip(base + [(marker, b"x = 1\n")])
        raw = draw(st.binary(min_size=8, max_size=8).filter(lambda b: b"/" not in b and b"\0" not in b))
        return {f"{name}.zip": data.replace(b"NAMEMARK", raw)}, EITHER, kind
    if kind == "links":
        evil = draw(st.sampled_from(["../../outside.py", "/etc/cron.d/evil", "cs_convnet/../../../x.py",
                                     "C:/windows/evil.py", "..\\..\\evil.py"]))
        return {f"{name}.zip": make_zip(base + [(evil, b"escaped"), link_member("cs_convnet/optim.py",
                                                                                  "/etc/passwd")])}, COLLECTED, kind
    if kind == "huge-member":
        big = bytes(range(256)) * (LIMITS["MAX_FILE_BYTES"] // 256) + draw(st.binary(min_size=1, max_size=2000))
        return {f"{name}.zip": make_zip(base + [("cs_convnet/optim.py", big)])}, COLLECTED, kind
    if kind == "bad-notebook":
        text = draw(st.sampled_from([b"{ not json", b"", b"\xff\xfe", b"[]", b'{"cells": 3}']))
        return {f"{name}.zip": make_zip(base + [("squares.ipynb", text)])}, COLLECTED, kind
    if kind == "metadata":
        nb = notebook_bytes(drop_metadata=True) if draw(st.booleans()) else notebook_bytes(alter_metadata=1e9)
        return {f"{name}.zip": make_zip(base + [("assignments/tiny/squares.ipynb", nb)])}, COLLECTED, kind
    if kind == "enormous-output":
        nb = notebook_bytes(output="x" * (LIMITS["MAX_FILE_BYTES"] + 1))
        return {f"{name}.zip": make_zip(base + [("assignments/tiny/squares.ipynb", nb)])}, COLLECTED, kind
    if kind == "empty-zip":
        return {f"{name}.zip": make_zip([("readme.txt", b"hello")] if draw(st.booleans()) else [])}, SKIPPED, kind
    if kind == "conflict":
        return ({f"{name}.zip": make_zip(base), f"submission-{name}.zip": make_zip(base)}, SKIPPED, kind)
    if kind == "impostor":
        manifest = ("submission.json", json.dumps({"student": "good0"}).encode())
        return {f"{name}.zip": make_zip(base + [manifest])}, COLLECTED, kind
    if kind == "folder-link":
        return {name: {"cs_convnet/layers.py": layers, "cs_convnet/optim.py": Path("/etc/passwd")}}, COLLECTED, kind
    # too many members
    return {f"{name}.zip": make_zip([(f"f{i}.txt", b"") for i in range(LIMITS["MAX_FILES"] + 1)])}, SKIPPED, kind


@st.composite
def inboxes(draw):
    goods = [draw(good_submission(i)) for i in range(draw(st.integers(1, 3)))]
    bads = [draw(broken_entry(i)) for i in range(draw(st.integers(1, 3)))]
    return goods, bads


def write_entry(inbox, name, content):
    path = inbox / name
    if isinstance(content, bytes):
        path.write_bytes(content)
        return
    for rel, data in content.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            target.symlink_to(data)
        else:
            target.write_bytes(data)


def snapshot(folder, skip=None):
    """``{relative path: sha256 or link target}`` of everything under ``folder`` (``skip``: a subfolder left out)."""
    found = {}
    for path in sorted(Path(folder).rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[rel] = "folder"
    return found


def run_collect(course, inbox):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = cli.main(["--course-dir", str(course.root), "collect", str(inbox)])
    return status, out.getvalue()


@settings(settings.get_profile(PROFILE))
@given(case=inboxes())
def test_collect_survives_every_generated_inbox(prepared, case):
    goods, bads = case
    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch:
        for name, value in LIMITS.items():
            patch.setattr(collect, name, value)
        scratch = Path(scratch)
        shutil.copytree(prepared.root, scratch / "course")
        course = course_mod.Course(scratch / "course")
        inbox = scratch / "inbox"
        inbox.mkdir()
        for good in goods:
            write_entry(inbox, good["name"], good["files"] if not good["name"].endswith(".zip")
                        else make_zip(sorted(good["files"].items())))
        expected = {}
        for entries, expectation, kind in bads:
            for name, content in entries.items():
                write_entry(inbox, name, content)
                expected[name] = (expectation, kind)
        outside = snapshot(scratch, skip=course.root)

        status, output = run_collect(course, inbox)           # never raises: cli.main returns a status
        collected = snapshot(course.root)
        results = {r["source"]: r for r in collect.collect(course.root, inbox)}   # again, as data
        assert snapshot(course.root) == collected, "collecting the same inbox again changed the course"

        assert snapshot(scratch, skip=course.root) == outside, "something was written outside the course"
        for good in goods:
            student = collect.student_id(good["name"])
            assert results[good["name"]]["status"] == "collected", results[good["name"]]["notes"]
            assert (course.packages / student / "cs_convnet" / "layers.py").read_bytes() == \
                good["files"]["cs_convnet/layers.py"]
            notebook = course.submitted / student / "tiny" / "squares.ipynb"
            assert notebook.is_file() == ("assignments/tiny/squares.ipynb" in good["files"])
            if notebook.is_file():
                assert notebook.read_bytes() == good["files"]["assignments/tiny/squares.ipynb"]
        for name, (expectation, kind) in expected.items():
            result = results[name]
            if expectation != EITHER:
                assert result["status"] == expectation, (kind, result["notes"])
            if result["status"] == "skipped":
                assert any(note.startswith(f"{name} skipped") for note in result["notes"])
                assert f"{name} skipped" in output
            if kind == "impostor":
                assert any("naming the student 'good0'" in note for note in result["notes"])
        skipped = any(r["status"] == "skipped" for r in results.values())
        assert status == (1 if skipped else 0)

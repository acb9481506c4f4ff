"""The one atomic writer (cs_convnet.atomic) and the writers that use it."""

import os
import pickle

import pytest

from cs_convnet import atomic


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_and_replaces_whole_files(tmp_path):
    path = tmp_path / "sub" / "result.json"
    atomic.write_json(path, {"a": 1})
    atomic.write_json(path, {"a": 2}, final_newline=True)
    assert path.read_text() == '{\n "a": 2\n}\n' and leftovers(path.parent) == []


def test_a_failure_inside_the_block_keeps_the_old_file_and_no_temporary(tmp_path):
    """Does an exception while writing leave the old file whole and remove the temporary file?"""
    path = tmp_path / "checkpoint.pkl"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(path, "wb") as handle:
            handle.write(b"half")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_folder_target_is_a_clear_error_leaving_nothing(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder; expected the path of a file"):
        atomic.write_text(tmp_path / "out", "x")
    assert leftovers(tmp_path) == [] and list((tmp_path / "out").iterdir()) == []


def test_no_overwrite_keeps_an_existing_file(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        atomic.write_text(path, "theirs", overwrite=False)
    assert path.read_text() == "mine" and leftovers(tmp_path) == []
    atomic.write_text(tmp_path / "new.csv", "fresh", overwrite=False)
    assert (tmp_path / "new.csv").read_text() == "fresh"


def test_the_file_and_its_folder_are_synced(tmp_path, monkeypatch):
    """Are the data and the rename flushed to disk (fsync of the file, then of the folder)?"""
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.path.isdir(f"/proc/self/fd/{fd}")) or real(fd))
    atomic.write_bytes(tmp_path / "x.bin", b"data")
    assert synced == [False, True]


def test_every_writer_goes_through_the_one_helper(tmp_path, monkeypatch):
    """Do checkpoints, training logs, results and grade-one reports all use cs_convnet.atomic?"""
    from autograder.engine import grade_one, results
    from cs_convnet import solver, train

    used = []
    real = atomic.atomic_open

    def spy(path, *args, **kwargs):
        used.append(os.path.basename(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(atomic, "atomic_open", spy)
    monkeypatch.setattr(solver, "atomic_open", spy)
    solver.save_checkpoint({"epoch": 1}, tmp_path / "ckpt.pkl")
    train.write_json(tmp_path / "log.json", {"epochs": []})
    grade_one.write_report({"score": 1.0}, tmp_path / "report.json")
    results.write_json(tmp_path / "result.json", {"key": "ab"})
    assert used == ["ckpt.pkl", "log.json", "report.json", "result.json"]
    assert pickle.loads((tmp_path / "ckpt.pkl").read_bytes()) == {"epoch": 1}
    assert leftovers(tmp_path) == []


def test_new_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path):
    """Is a new file readable as a plain open() would make it (not mkstemp's 0600), and does a replaced file keep its mode?"""
    old = os.umask(0o022)
    try:
        fresh = atomic.write_text(tmp_path / "report.csv", "a\n")
        assert fresh.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "private.json"
        kept.write_text("{}")
        kept.chmod(0o600)
        atomic.write_json(kept, {"a": 1})
        assert kept.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)

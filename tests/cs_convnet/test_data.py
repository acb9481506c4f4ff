"""Tests of cs_convnet.data: loading, locating, fetching and safely extracting CIFAR-10.

Nothing here touches the internet: downloads are served by a local
http.server on 127.0.0.1 and the offline case points at a closed local port.
Tests on real images use the project's reconstructed copy (CS_CONVNET_CIFAR10
or ../shared/datasets/...) and skip with the reason when it is absent.
"""

import hashlib
import http.server
import io
import os
import pickle
import re
import socket
import tarfile
import threading
import time
import warnings
from inspect import Parameter
from pathlib import Path

import numpy as np
import pytest


from cs_convnet import data
from cs_convnet.data import (BATCH_FOLDER, CIFAR10_MD5, extract_cached, find_cifar10, get_CIFAR10_data,
                             load_CIFAR10, load_CIFAR_batch, load_label_names, prepare_cifar10, safe_extract)
from support.api import assert_extends_signature

ROWS = 10  # rows per fake batch: 50 training and 10 test images


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """Each test sees no CS_CONVNET_CIFAR10 and its own extraction cache."""
    monkeypatch.delenv("CS_CONVNET_CIFAR10", raising=False)
    monkeypatch.setenv("CS_CONVNET_CACHE", str(tmp_path / "cache"))


# --------------------------------------------------------------------------- fake data

def write_batch(path, images, labels, label="fake batch"):
    """Write one batch in the official layout: protocol 2, str keys, uint8 data (N, 3072)."""
    batch = {"batch_label": label, "labels": [int(v) for v in labels], "data": images,
             "filenames": [f"img{i}.png" for i in range(len(labels))]}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def make_cifar_folder(parent, rows=ROWS, seed=0):
    """Create parent/cifar-10-batches-py with six small random batches; return (folder, images, labels).

    images[name] is the (rows, 3072) uint8 array written for batch ``name``.
    """
    rng = np.random.default_rng(seed)
    folder = Path(parent) / BATCH_FOLDER
    folder.mkdir(parents=True)
    images, labels = {}, {}
    for name in (*data.TRAIN_BATCHES, data.TEST_BATCH):
        images[name] = rng.integers(0, 256, size=(rows, 3072), dtype=np.uint8)
        labels[name] = rng.integers(0, 10, size=rows)
        write_batch(folder / name, images[name], labels[name])
    with open(folder / data.META_FILE, "wb") as f:
        pickle.dump({"label_names": list(data.CIFAR10_CLASSES), "num_cases_per_batch": rows}, f, protocol=2)
    return folder, images, labels


def make_archive(path, source_parent):
    """Pack source_parent/cifar-10-batches-py into a .tar.gz at path; return its bytes."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(Path(source_parent) / BATCH_FOLDER, arcname=BATCH_FOLDER)
    return Path(path).read_bytes()


@pytest.fixture
def fake_folder(tmp_path):
    return make_cifar_folder(tmp_path / "src")


@pytest.fixture
def fake_archive(tmp_path, fake_folder):
    path = tmp_path / "cifar-10-python.tar.gz"
    payload = make_archive(path, tmp_path / "src")
    return path, hashlib.md5(payload).hexdigest()


def as_nchw(rows):
    """Independent decoding of the official layout: R, G, B planes of 32 rows of 32 pixels."""
    return np.stack([rows[:, c * 1024:(c + 1) * 1024].reshape(-1, 32, 32) for c in range(3)], axis=1)


# --------------------------------------------------------------------------- loading

def test_load_batch_decodes_the_official_layout(fake_folder):
    """Does load_CIFAR_batch return CS231n's (N, 32, 32, 3) float64 images and int64 labels?"""
    folder, images, labels = fake_folder
    X, y = load_CIFAR_batch(folder / "data_batch_2")
    assert X.shape == (ROWS, 32, 32, 3) and X.dtype == np.float64
    assert y.dtype == np.int64 and np.array_equal(y, labels["data_batch_2"])
    np.testing.assert_array_equal(X, as_nchw(images["data_batch_2"]).transpose(0, 2, 3, 1))
    # pixel (row 3, column 5) of image 1, green channel, read straight from the flat row
    assert X[1, 3, 5, 1] == images["data_batch_2"][1, 1024 + 3 * 32 + 5]


def test_load_CIFAR10_concatenates_batches_in_order(fake_folder):
    """Are the five training batches concatenated in order, and the test batch returned apart?"""
    folder, images, labels = fake_folder
    Xtr, Ytr, Xte, Yte = load_CIFAR10(folder)
    assert Xtr.shape == (5 * ROWS, 32, 32, 3) and Xte.shape == (ROWS, 32, 32, 3)
    assert Xtr.dtype == Xte.dtype == np.float64
    expected = np.concatenate([images[name] for name in data.TRAIN_BATCHES])
    np.testing.assert_array_equal(Xtr, as_nchw(expected).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(Ytr, np.concatenate([labels[name] for name in data.TRAIN_BATCHES]))
    np.testing.assert_array_equal(Yte, labels["test_batch"])
    assert load_label_names(folder) == list(data.CIFAR10_CLASSES)


def _bad_batches():
    good = np.zeros((4, 3072), np.uint8)
    return {
        "float data": ({"data": good.astype(np.float32), "labels": [0] * 4}, "uint8 array of shape"),
        "wrong width": ({"data": np.zeros((4, 3000), np.uint8), "labels": [0] * 4}, "(N, 3072)"),
        "label 10": ({"data": good, "labels": [0, 1, 2, 10]}, "labels must lie in 0..9"),
        "label -1": ({"data": good, "labels": [0, -1, 2, 3]}, "labels must lie in 0..9"),
        "too few labels": ({"data": good, "labels": [0, 1, 2]}, "must be 4 integers"),
        "no labels key": ({"data": good}, "expected a dict with 'data' and 'labels'"),
        "not a dict": ([good], "expected a dict"),
    }


@pytest.mark.parametrize("content, message", _bad_batches().values(), ids=_bad_batches().keys())
def test_bad_batch_raises_a_clear_error(tmp_path, content, message):
    """Is a malformed batch rejected with a ValueError that says what was expected?"""
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(content, protocol=2))
    with pytest.raises(ValueError, match=re.escape(message)):
        load_CIFAR_batch(path)


def test_truncated_batch_raises_valueerror(tmp_path, fake_folder):
    """Is a cut-off file reported as not a batch, rather than an obscure pickle error?"""
    folder, _, _ = fake_folder
    path = tmp_path / "data_batch_1"
    path.write_bytes((folder / "data_batch_1").read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        load_CIFAR_batch(path)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_with_foreign_code_is_refused(tmp_path):
    """Does the loader refuse a pickle that would call an arbitrary function?"""
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": _Exploit(), "labels": []}, protocol=2))
    with pytest.raises(ValueError, match="refusing to load global"):
        load_CIFAR_batch(path)


# --------------------------------------------------------------------------- get_CIFAR10_data

def test_get_data_splits_and_subtracts_the_training_mean(fake_folder):
    """Are train/val/test the CS231n slices, in N,C,H,W, with the training mean subtracted from all?"""
    folder, images, labels = fake_folder
    out = get_CIFAR10_data(num_training=33, num_validation=7, num_test=4, root=folder)
    assert list(out) == ["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"]
    train_rows = as_nchw(np.concatenate([images[name] for name in data.TRAIN_BATCHES])).astype(np.float64)
    train_labels = np.concatenate([labels[name] for name in data.TRAIN_BATCHES])
    mean = train_rows[:33].mean(axis=0)
    expected = {"X_train": train_rows[:33] - mean, "X_val": train_rows[33:40] - mean,
                "X_test": as_nchw(images["test_batch"][:4]) - mean}
    for key, value in expected.items():
        assert out[key].dtype == np.float32 and out[key].shape == value.shape
        np.testing.assert_allclose(out[key], value, atol=1e-4, err_msg=key)
    np.testing.assert_array_equal(out["y_train"], train_labels[:33])
    np.testing.assert_array_equal(out["y_val"], train_labels[33:40])
    np.testing.assert_array_equal(out["y_test"], labels["test_batch"][:4])
    assert all(out[k].dtype == np.int64 for k in ("y_train", "y_val", "y_test"))
    np.testing.assert_allclose(out["X_train"].mean(axis=0), 0, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_get_data_without_mean_keeps_raw_pixels(fake_folder, dtype):
    """With subtract_mean=False, are the pixels exactly the stored bytes, in the requested dtype?"""
    folder, images, _ = fake_folder
    out = get_CIFAR10_data(num_training=12, num_validation=3, num_test=0, subtract_mean=False,
                           root=folder, dtype=dtype)
    assert out["X_train"].dtype == dtype and out["X_test"].shape == (0, 3, 32, 32)
    np.testing.assert_array_equal(out["X_train"][:10], as_nchw(images["data_batch_1"]))
    np.testing.assert_array_equal(out["X_val"], as_nchw(images["data_batch_2"][2:5]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_training=45, num_validation=10), "holds 50 training images"),
    (dict(num_training=0), "num_training must be at least 1"),
    (dict(num_training=-1), "non-negative integer"),
    (dict(num_training=2.5), "non-negative integer"),
    (dict(num_training=True), "non-negative integer"),
    (dict(num_training=49000, num_validation=1001), "after the first 49000"),
    (dict(num_training=10, num_validation=0, num_test=10001), "10000 test images"),
    (dict(num_training=10, num_validation=0, num_test=11), "fewer than num_test = 11"),
    (dict(num_training=10, dtype=np.uint8), "floating dtype"),
], ids=["more-than-stored", "zero-train", "negative", "float-count", "bool-count", "val-past-50000",
        "test-past-10000", "test-more-than-stored", "integer-dtype"])
def test_get_data_rejects_bad_counts(fake_folder, kwargs, message):
    """Do impossible split sizes raise a ValueError naming the numbers?"""
    with pytest.raises(ValueError, match=message):
        get_CIFAR10_data(root=fake_folder[0], **kwargs)


# --------------------------------------------------------------------------- locating

def test_missing_data_says_what_to_do(tmp_path, monkeypatch):
    """With no data anywhere, does the error name the fetch command, the offline options and the variable?"""
    monkeypatch.setattr(data, "default_data_dir", lambda: tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        get_CIFAR10_data()
    message = str(info.value)
    for hint in ("python datasets/get_cifar10.py", "cs-convnet data --archive", "CS_CONVNET_CIFAR10",
                 str(tmp_path / "nowhere" / BATCH_FOLDER)):
        assert hint in message


@pytest.mark.parametrize("where", ["folder", "parent", "archive"])
def test_env_variable_accepts_folder_parent_or_archive(fake_archive, fake_folder, monkeypatch, where):
    """Does CS_CONVNET_CIFAR10 work for the batch folder, its parent and a .tar.gz?"""
    folder = fake_folder[0]
    target = {"folder": folder, "parent": folder.parent, "archive": fake_archive[0]}[where]
    monkeypatch.setenv("CS_CONVNET_CIFAR10", str(target))
    found = find_cifar10()
    assert (found / "data_batch_1").read_bytes() == (folder / "data_batch_1").read_bytes()
    if where == "archive":
        assert Path(os.environ["CS_CONVNET_CACHE"]) in found.parents
    else:
        assert found == folder


def test_root_argument_wins_over_env_and_env_over_default(tmp_path, monkeypatch):
    """Is the precedence root > CS_CONVNET_CIFAR10 > datasets/ ?"""
    first, _, _ = make_cifar_folder(tmp_path / "a", seed=1)
    second, _, _ = make_cifar_folder(tmp_path / "b", seed=2)
    default, _, _ = make_cifar_folder(tmp_path / "c" / "datasets", seed=3)
    monkeypatch.setattr(data, "default_data_dir", lambda: tmp_path / "c" / "datasets")
    assert find_cifar10() == default
    monkeypatch.setenv("CS_CONVNET_CIFAR10", str(second))
    assert find_cifar10() == second
    assert find_cifar10(first) == first


def test_default_also_looks_in_the_current_directory(tmp_path, monkeypatch):
    """Without root or variable, is ./datasets/cifar-10-batches-py found?"""
    folder, _, _ = make_cifar_folder(tmp_path / "datasets")
    monkeypatch.setattr(data, "default_data_dir", lambda: tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path)
    assert find_cifar10() == folder


@pytest.mark.parametrize("bad", ["missing", "empty-folder", "text-file"])
def test_bad_root_names_the_path(tmp_path, bad):
    """Does a root that is not CIFAR-10 raise FileNotFoundError naming it and how to fix it?"""
    path = tmp_path / bad
    if bad == "empty-folder":
        path.mkdir()
    elif bad == "text-file":
        path.write_text("hello")
    with pytest.raises(FileNotFoundError, match="get_cifar10.py") as info:
        find_cifar10(path)
    assert str(path) in str(info.value)


def test_archive_is_extracted_once_and_reused(fake_archive, monkeypatch):
    """Is a .tar.gz root extracted on first use only, and again when the archive changes?"""
    archive, _ = fake_archive
    calls = []
    real_extract = data.safe_extract
    monkeypatch.setattr(data, "safe_extract", lambda *a: calls.append(a) or real_extract(*a))
    first = find_cifar10(archive)
    assert find_cifar10(archive) == first and len(calls) == 1
    os.utime(archive, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert find_cifar10(archive) != first and len(calls) == 2


# --------------------------------------------------------------------------- safe extraction

def _malicious_archive(path, kind):
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo(f"{BATCH_FOLDER}/readme.txt")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"ok"))
        member = tarfile.TarInfo({"dotdot": "../evil.txt", "nested-dotdot": f"{BATCH_FOLDER}/../../evil.txt",
                                  "absolute": "/tmp/evil.txt", "symlink": f"{BATCH_FOLDER}/link",
                                  "hardlink": f"{BATCH_FOLDER}/hard", "device": f"{BATCH_FOLDER}/dev"}[kind])
        if kind == "symlink":
            member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "hardlink":
            member.type, member.linkname = tarfile.LNKTYPE, "/etc/passwd"
        elif kind == "device":
            member.type = tarfile.CHRTYPE
        else:
            member.size = 4
        tar.addfile(member, io.BytesIO(b"evil") if member.isfile() else None)


@pytest.mark.parametrize("kind", ["dotdot", "nested-dotdot", "absolute", "symlink", "hardlink", "device"])
def test_unsafe_archive_members_are_refused(tmp_path, kind):
    """Does extraction refuse a member escaping the target or a link/device, writing nothing at all?"""
    archive = tmp_path / "evil.tar.gz"
    _malicious_archive(archive, kind)
    work = tmp_path / "work"
    with pytest.raises(ValueError, match="refusing to extract"):
        safe_extract(archive, work / "target")
    assert list(work.iterdir()) == []  # neither the target nor a temporary folder is left
    assert not (tmp_path / "evil.txt").exists()


def test_extraction_is_complete_or_absent(fake_archive, tmp_path):
    """Does a successful extraction produce the target in one piece, with no temporary folders left?"""
    target = safe_extract(fake_archive[0], tmp_path / "out" / "target")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["target"]
    assert data.check_folder(target / BATCH_FOLDER)


def test_not_a_tar_archive(tmp_path):
    """Is a corrupt archive reported as such?"""
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not a tar file at all")
    with pytest.raises(ValueError, match="not a readable tar archive"):
        extract_cached(bogus)


# --------------------------------------------------------------------------- download (local server only)

@pytest.fixture
def local_server():
    """A http.server on 127.0.0.1 serving the files put in the returned dict; yields (files, base_url)."""
    files = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            # a path starting with /cut/ announces more bytes than it sends, like a dropped connection
            self.send_header("Content-Length", str(len(body) + (1000 if self.path.startswith("/cut/") else 0)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield files, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_port_url():
    """A URL on a local port nobody listens on: the offline case, refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"


def test_download_checks_md5_and_writes_atomically(local_server, fake_archive, tmp_path):
    """Is a download with the right MD5 saved whole, and a wrong MD5 or a cut transfer discarded without a trace?"""
    files, base = local_server
    archive, md5 = fake_archive
    files["/cifar.tar.gz"] = archive.read_bytes()
    out = data.download(f"{base}/cifar.tar.gz", tmp_path / "dl" / "c.tar.gz", md5=md5, progress=False)
    assert out.read_bytes() == archive.read_bytes()
    with pytest.raises(ValueError, match=f"expected {CIFAR10_MD5}"):
        data.download(f"{base}/cifar.tar.gz", tmp_path / "dl2" / "c.tar.gz", md5=CIFAR10_MD5, progress=False)
    assert list((tmp_path / "dl2").iterdir()) == []
    files["/cut/cifar.tar.gz"] = archive.read_bytes()
    with pytest.raises(ConnectionError, match="could not download"):
        data.download(f"{base}/cut/cifar.tar.gz", tmp_path / "dl3" / "c.tar.gz", md5=md5, timeout=2, progress=False)
    assert list((tmp_path / "dl3").iterdir()) == []


def test_prepare_downloads_verifies_and_extracts(local_server, fake_archive, fake_folder, tmp_path):
    """Does prepare_cifar10 fetch from the URL, verify, and leave a valid datasets/cifar-10-batches-py?"""
    files, base = local_server
    archive, md5 = fake_archive
    files["/cifar-10-python.tar.gz"] = archive.read_bytes()
    dest = tmp_path / "datasets"
    folder = prepare_cifar10(dest, url=f"{base}/cifar-10-python.tar.gz", md5=md5, progress=False)
    assert folder == dest / BATCH_FOLDER
    assert (folder / "test_batch").read_bytes() == (fake_folder[0] / "test_batch").read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == [BATCH_FOLDER]  # no archive or temp folder left


def test_prepare_rejects_a_download_with_the_wrong_md5(local_server, fake_archive, tmp_path):
    """Is a served file whose MD5 is not the official one refused before extraction?"""
    files, base = local_server
    files["/cifar-10-python.tar.gz"] = fake_archive[0].read_bytes()
    dest = tmp_path / "datasets"
    with pytest.raises(ValueError, match="MD5"):
        prepare_cifar10(dest, url=f"{base}/cifar-10-python.tar.gz", progress=False)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("where", ["closed-port", "404"])
def test_offline_fails_fast_and_says_what_to_do(local_server, closed_port_url, tmp_path, where):
    """Without network or path, does the download fail quickly with the offline options in the message?"""
    url = closed_port_url if where == "closed-port" else f"{local_server[1]}/missing.tar.gz"
    start = time.perf_counter()
    with pytest.raises(ConnectionError) as info:
        prepare_cifar10(tmp_path / "datasets", url=url, timeout=2, progress=False)
    assert time.perf_counter() - start < 5
    for hint in ("--archive", "--folder", "CS_CONVNET_CIFAR10", url):
        assert hint in str(info.value)
    assert list((tmp_path / "datasets").iterdir()) == []


def test_local_archive_with_unofficial_md5_needs_the_flag(fake_archive, tmp_path):
    """Is a local archive that is not the official file refused, then accepted with a warning when allowed?"""
    archive, md5 = fake_archive
    with pytest.raises(ValueError, match="--allow-unofficial"):
        prepare_cifar10(tmp_path / "d1", archive=archive)
    assert not (tmp_path / "d1" / BATCH_FOLDER).exists()
    with pytest.warns(UserWarning, match=f"has MD5 {md5}"):
        folder = prepare_cifar10(tmp_path / "d2", archive=archive, allow_unofficial=True)
    assert data.check_folder(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_cifar10(tmp_path / "d3", archive=archive, md5=md5)  # matching MD5: silent


def test_prepare_from_folder_and_env(fake_folder, fake_archive, tmp_path, monkeypatch, closed_port_url):
    """Do --folder and CS_CONVNET_CIFAR10 (folder or archive) install the data without any download?"""
    folder, _, _ = fake_folder
    copied = prepare_cifar10(tmp_path / "d1", folder=folder.parent, url=closed_port_url)
    assert (copied / "data_batch_5").read_bytes() == (folder / "data_batch_5").read_bytes()
    monkeypatch.setenv("CS_CONVNET_CIFAR10", str(folder))
    assert prepare_cifar10(tmp_path / "d2", url=closed_port_url).is_dir()
    monkeypatch.setenv("CS_CONVNET_CIFAR10", str(fake_archive[0]))
    assert prepare_cifar10(tmp_path / "d3", url=closed_port_url, md5=fake_archive[1]).is_dir()


def test_prepare_keeps_existing_copy_unless_forced(fake_folder, tmp_path, closed_port_url):
    """Is an existing valid copy reused, a broken one reported with --force as the fix, and --force obeyed?"""
    folder, _, _ = fake_folder
    dest = tmp_path / "datasets"
    prepare_cifar10(dest, folder=folder)
    assert prepare_cifar10(dest, url=closed_port_url) == dest / BATCH_FOLDER  # no download attempted
    (dest / BATCH_FOLDER / "test_batch").unlink()
    with pytest.raises(ValueError, match="--force"):
        prepare_cifar10(dest, url=closed_port_url)
    assert data.check_folder(prepare_cifar10(dest, folder=folder, force=True))


def test_prepare_rejects_folder_that_is_not_cifar(tmp_path):
    """Are a missing path and a folder without batches reported clearly?"""
    with pytest.raises(FileNotFoundError, match="does not exist"):
        prepare_cifar10(tmp_path / "d", folder=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no data_batch_1"):
        prepare_cifar10(tmp_path / "d", folder=tmp_path / "empty")


def test_command_line_reports_errors_and_warnings(fake_archive, tmp_path, closed_port_url, capsys):
    """Does `cs-convnet data` exit 1 with a one-line reason offline, and 0 with a warning for --allow-unofficial?"""
    status = data.main(["--dest", str(tmp_path / "d"), "--url", closed_port_url, "--timeout", "2"])
    err = capsys.readouterr().err
    assert status == 1 and "error: could not download" in err and "Traceback" not in err
    assert data.main(["--dest", str(tmp_path / "d"), "--archive", str(fake_archive[0])]) == 1
    assert "--allow-unofficial" in capsys.readouterr().err
    assert data.main(["--dest", str(tmp_path / "d"), "--archive", str(fake_archive[0]), "--allow-unofficial"]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "ready in" in captured.out


# --------------------------------------------------------------------------- the real (reconstructed) data

@pytest.fixture(scope="session")
def real_cifar(cifar10_archive, cifar10_folder):
    """(archive or folder, batch folder) of the reconstructed CIFAR-10, extracted once per session
    into a temporary cache; ``cifar10_archive`` (conftest) skips with the reason when it is absent."""
    return cifar10_archive, cifar10_folder


def test_real_batch_has_cs231n_contract(real_cifar):
    """Is a real batch 10000 float64 images (32, 32, 3) in 0..255 with labels 0..9?"""
    X, y = load_CIFAR_batch(real_cifar[1] / "data_batch_1")
    assert X.shape == (10000, 32, 32, 3) and X.dtype == np.float64 and y.shape == (10000,)
    assert X.min() >= 0 and X.max() <= 255 and 0 < X.std()
    assert set(np.unique(y)) == set(range(10))
    assert y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # the official first labels


def test_real_get_data_split_and_mean(real_cifar):
    """On real data: CS231n shapes, float32, zero-mean training set, and val = training rows 49000..49999?"""
    folder = real_cifar[1]
    out = get_CIFAR10_data(root=folder)
    shapes = {k: v.shape for k, v in out.items()}
    assert shapes == {"X_train": (49000, 3, 32, 32), "y_train": (49000,), "X_val": (1000, 3, 32, 32),
                      "y_val": (1000,), "X_test": (1000, 3, 32, 32), "y_test": (1000,)}
    assert out["X_train"].dtype == np.float32
    mean = out["X_train"].mean(axis=0, dtype=np.float64)
    np.testing.assert_allclose(mean, 0, atol=1e-3)
    Xtr, Ytr, Xte, Yte = load_CIFAR10(folder, dtype=np.uint8)
    assert Xtr.shape == (50000, 32, 32, 3) and Xte.shape == (10000, 32, 32, 3)
    assert np.bincount(Yte).tolist() == [1000] * 10
    mean_image = Xtr[:49000].mean(axis=0, dtype=np.float64).transpose(2, 0, 1)
    np.testing.assert_allclose(out["X_val"], Xtr[49000:].transpose(0, 3, 1, 2) - mean_image, atol=1e-3)
    np.testing.assert_allclose(out["X_test"], Xte[:1000].transpose(0, 3, 1, 2) - mean_image, atol=1e-3)
    np.testing.assert_array_equal(out["y_val"], Ytr[49000:])
    np.testing.assert_array_equal(out["y_test"], Yte[:1000])


def test_real_archive_is_recognised_as_unofficial(real_cifar):
    """Is the reconstructed archive refused as the official file, with a message naming what it is?"""
    archive = real_cifar[0]
    if not archive.is_file():
        pytest.skip(f"{archive} is a folder, not the reconstructed archive")
    try:
        data.verify_archive(archive)
    except ValueError as error:
        assert "--allow-unofficial" in str(error) and "reconstructed" in str(error)
    else:
        pytest.skip(f"{archive} is the official CIFAR-10 archive")


def test_real_env_variable_reuses_the_cache(real_cifar, monkeypatch):
    """Does CS_CONVNET_CIFAR10 pointing at the archive find the already-extracted copy?"""
    archive, folder = real_cifar
    monkeypatch.setenv("CS_CONVNET_CIFAR10", str(archive))
    monkeypatch.setenv("CS_CONVNET_CACHE", str(folder.parent.parent if archive.is_file() else folder))
    assert find_cifar10() == folder


def test_force_with_the_target_as_source_keeps_the_data(fake_folder, tmp_path):
    """Does `--folder datasets/cifar-10-batches-py --force` leave the data in place instead of deleting it?"""
    dest = tmp_path / "datasets"
    target = prepare_cifar10(dest, folder=fake_folder[0])
    assert prepare_cifar10(dest, folder=target, force=True) == target
    assert data.check_folder(target)


def test_truncated_archive_is_reported_and_leaves_nothing(fake_archive, tmp_path):
    """Is a cut-off download-like archive refused with a clear error and no partial extraction?"""
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(fake_archive[0].read_bytes()[:5000])
    with pytest.raises(ValueError, match="corrupt, truncated"):
        safe_extract(cut, tmp_path / "work" / "target")
    assert list((tmp_path / "work").iterdir()) == []


def test_loaders_have_the_cs231n_signatures():
    """Do the loaders take CS231n's arguments with CS231n's defaults (extras only after them)?"""
    assert_extends_signature(data.load_CIFAR_batch, [("filename", Parameter.empty)])
    assert_extends_signature(data.load_CIFAR10, [("root", None)])
    assert_extends_signature(data.get_CIFAR10_data, [
        ("num_training", 49000), ("num_validation", 1000), ("num_test", 1000), ("subtract_mean", True)])

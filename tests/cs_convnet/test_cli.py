"""Tests of the `cs-convnet` dispatcher (cs_convnet.cli) and `python -m cs_convnet`."""

import ast
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cs_convnet import __version__, cli
from support.paths import REPO



def make_fake_cifar(parent, rows=2):
    """parent/cifar-10-batches-py with six tiny batches in the official layout."""
    folder = Path(parent) / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": np.zeros((rows, 3072), np.uint8), "labels": [0] * rows, "batch_label": name}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def test_help_lists_every_command(capsys):
    """Does --help exit 0 and name every subcommand with its description?"""
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (_, description) in cli.COMMANDS.items():
        assert f"  {name}" in out and description in out
    assert set(cli.COMMANDS) == {"data", "summary", "bench", "train", "submit"}


def test_no_arguments_is_a_usage_error(capsys):
    """Does a bare `cs-convnet` print the usage to stderr and exit 2?"""
    assert cli.main([]) == 2
    assert "usage: cs-convnet" in capsys.readouterr().err


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"cs-convnet {__version__}"


def test_unknown_command_is_named(capsys):
    """Is an unknown command rejected (exit 2) with its name and the valid choices?"""
    assert cli.main(["trian"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'trian'" in err and "train" in err


@pytest.mark.parametrize("case", ["missing-module", "missing-dependency", "no-main"])
def test_unavailable_subcommand_fails_clearly(tmp_path, monkeypatch, capsys, case):
    """Is a subcommand whose module is absent, broken by a missing import, or lacks main() a message, not a traceback?"""
    (tmp_path / "needs_dep.py").write_text("import surely_not_installed_pkg\ndef main(argv): return 0\n")
    (tmp_path / "no_main.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = {"missing-module": "cs_convnet._no_such_module", "missing-dependency": "needs_dep",
              "no-main": "no_main"}[case]
    monkeypatch.setitem(cli.COMMANDS, "extra", (module, "test"))
    assert cli.main(["extra"]) == 1
    err = capsys.readouterr().err
    expected = {"missing-module": "module cs_convnet._no_such_module is missing",
                "missing-dependency": "needs 'surely_not_installed_pkg'",
                "no-main": "has no main(argv)"}[case]
    assert expected in err and "Traceback" not in err


def test_arguments_and_exit_status_are_passed_through(tmp_path, monkeypatch):
    """Does the dispatcher call main(argv) with the remaining arguments and return its status?"""
    (tmp_path / "echo_cmd.py").write_text(
        "calls = []\n"
        "def main(argv):\n    calls.append(list(argv))\n    return 3 if argv else None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "echo", ("echo_cmd", "test"))
    assert cli.main(["echo", "--a", "1"]) == 3
    assert cli.main(["echo"]) == 0
    import echo_cmd
    assert echo_cmd.calls == [["--a", "1"], []]


def test_data_help_exits_zero(capsys):
    """Does `cs-convnet data --help` show the data options and exit 0 (argparse's SystemExit caught)?"""
    assert cli.main(["data", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: cs-convnet data" in out and "--archive" in out and "--allow-unofficial" in out


def test_data_subcommand_installs_a_local_folder(tmp_path, monkeypatch, capsys):
    """Does `cs-convnet data --folder PATH --dest DIR` install the batches without network?"""
    monkeypatch.delenv("CS_CONVNET_CIFAR10", raising=False)
    source = make_fake_cifar(tmp_path / "src")
    assert cli.main(["data", "--folder", str(source), "--dest", str(tmp_path / "datasets")]) == 0
    assert (tmp_path / "datasets" / "cifar-10-batches-py" / "test_batch").is_file()
    assert "ready in" in capsys.readouterr().out


def test_data_subcommand_bad_option_is_usage_error(capsys):
    assert cli.main(["data", "--no-such-option"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_python_dash_m_and_the_script_work(tmp_path):
    """Do `python -m cs_convnet` and `python datasets/get_cifar10.py` run as separate processes?"""
    run = subprocess.run([sys.executable, "-m", "cs_convnet", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "commands:" in run.stdout
    source = make_fake_cifar(tmp_path / "src")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, str(REPO / "datasets" / "get_cifar10.py"), "--folder", str(source),
                          "--dest", str(tmp_path / "out")], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "cifar-10-batches-py" / "data_batch_5").is_file()


def setup_requirements():
    """{'install': [...], 'course': [...], 'test': [...]}: the distribution names setup.py asks for."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    call = next(node for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup")
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords
                if keyword.arg in ("install_requires", "extras_require")}
    name = lambda requirement: re.match(r"[A-Za-z0-9_.-]+", requirement).group().lower()  # noqa: E731
    return {"install": [name(r) for r in keywords["install_requires"]],
            **{extra: [name(r) for r in reqs] for extra, reqs in keywords["extras_require"].items()}}


def test_conda_environment_installs_what_setup_py_requires():
    """Does environment.yml bring every package that setup.py asks for: the library's, the course's
    and the tests'?"""
    text = (REPO / "environment.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s*-\s*([A-Za-z0-9_.-]+)", text, flags=re.MULTILINE))
    # The "bench" extra (PyTorch as an optional reference) is deliberately not part of the course.
    needed = {name for extra, names in setup_requirements().items() if extra != "bench" for name in names}
    assert needed - {name.lower() for name in listed} == set()



@pytest.mark.parametrize("error, expected", [
    ("ValueError('lr must be positive, got -1')", "cs-convnet boom: error: lr must be positive, got -1\n"),
    ("cli.CommandError('no such run')", "cs-convnet boom: error: no such run\n"),
], ids=["value-error", "command-error"])
def test_expected_failures_are_one_line(tmp_path, monkeypatch, capsys, error, expected):
    """Does an expected failure of a subcommand print `cs-convnet COMMAND: error: ...` and exit 1? (#11.5)"""
    module = f"boom_{abs(hash(error))}"   # one module per case: imported modules stay in sys.modules
    (tmp_path / f"{module}.py").write_text(f"from cs_convnet import cli\ndef main(argv):\n    raise {error}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "boom", (module, "test"))
    assert cli.main(["boom"]) == 1
    assert capsys.readouterr().err == expected


def test_an_unexpected_exception_names_a_log_file_and_debug_shows_it(tmp_path, monkeypatch, capsys):
    """Does a bug print one line with the path of a log holding the traceback, and --debug the traceback? (#11.5)"""
    (tmp_path / "bug_cmd.py").write_text("def main(argv):\n    return {}['missing']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "bug", ("bug_cmd", "test"))
    monkeypatch.setenv("CS_CONVNET_LOG_DIR", str(tmp_path / "logs"))
    assert cli.main(["bug"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cs-convnet bug: error: unexpected KeyError") and err.count("\n") == 1
    [log] = (tmp_path / "logs").iterdir()
    assert str(log) in err and "Traceback" in log.read_text()
    assert cli.main(["--debug", "bug"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_submit_with_a_missing_root_names_the_root(tmp_path, capsys):
    """Does `submit --root MISSING` say that the given root does not exist, not "or pass --root"? (#11.8)"""
    assert cli.main(["submit", "--root", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cs-convnet submit: error: --root") and "does not exist" in err
    assert "or pass --root" not in err


def test_train_help_states_no_default_of_none(capsys):
    """Does `cs-convnet train --help` leave out "(default: None)" after options that state their own? (#11.8)"""
    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "(default: None)" not in out and "default ThreeLayerConvNet" in " ".join(out.split())

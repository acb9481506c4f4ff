"""The notebooks' setup cell, run in a real kernel: numpy's OpenBLAS gets cs_convnet's idle-thread settings."""

import json

import nbformat
import pytest

from cs_convnet import idle_threads
from support.notebooks import errors_of, run_notebook
from support.openblas_probe import PROBE, assert_short_timeout
from support.paths import REPO


def _setup_source():
    """The setup cell of the committed source notebooks (all five share it)."""
    sources = set()
    for path in sorted((REPO / "assignments" / "source").glob("*/*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        setup = [c.source for c in cells if c.cell_type == "code" and "%autoreload" in c.source]
        assert len(setup) == 1, f"{path.name}: expected one setup cell, found {len(setup)}"
        sources.add(setup[0])
    assert len(sources) == 1, "the notebooks' setup cells differ"
    return sources.pop()


@pytest.mark.slow
def test_the_setup_cell_gives_numpys_openblas_the_short_thread_timeout(tmp_path, monkeypatch):
    """In a fresh kernel without the settings in its environment, does the setup cell import
    cs_convnet before numpy, so that the OpenBLAS numpy loads holds the short spin timeout?"""
    pytest.importorskip("threadpoolctl")
    for name in idle_threads.SETTINGS:
        monkeypatch.delenv(name, raising=False)  # the kernel must not inherit this test process's values
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_setup_source()),
                                         nbformat.v4.new_code_cell(PROBE)])
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    executed = run_notebook(path, tmp_path)
    assert errors_of(executed) == []
    probe = json.loads(executed.cells[1].outputs[0]["text"])
    assert probe["env"] == idle_threads.SETTINGS
    assert_short_timeout(probe)

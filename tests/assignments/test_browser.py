"""Both roles in a real browser (headless Chromium, JupyterLab, nbgrader's extensions).

The learner: the student edition in JupyterLab -- notebook 1 runs; in notebook 2
a buggy ``conv_forward_naive`` fails its check with the course message, each edit
of ``layers.py`` is picked up with the traceback on the right line, the fix
passes, Validate answers. The instructor: formgrader lists the assignment and
the package checks without a banner, and a manual score typed in the page is
saved and survives ``autograde --force``.

Screenshots go to ``$CS_CONVNET_SCREENSHOTS`` when set (else the test's tmp dir).
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ASSIGNMENT, NOTEBOOK = "01_fully_connected", "fully_connected.ipynb"
CONV_ASSIGNMENT, CONV_NOTEBOOK = "02_convolution", "convolution.ipynb"

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                                          "(apt-get install chromium)")]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(root, root_dir, cwd=None):
    """A JupyterLab server on ``root_dir`` (state under ``root``); yields (base url, token)."""
    config, data, runtime, ipython = (root / name for name in ("config", "data", "runtime", "ipython"))
    for folder in (config / "labconfig", data, runtime, ipython, root / "settings", root / "workspaces"):
        folder.mkdir(parents=True)
    (config / "labconfig" / "default_setting_overrides.json").write_text(json.dumps({
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    }))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(data),
               JUPYTER_RUNTIME_DIR=str(runtime), IPYTHONDIR=str(ipython), PYTHONPATH=str(root_dir),
               CS_CONVNET_QUICK="1")
    log = open(root / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
         f"--LabApp.user_settings_dir={root / 'settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}",
         "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd or root_dir)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                request = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (root / "server.log").read_text())
                time.sleep(0.5)
        yield base, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server's own process group: it and its kernels
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a fresh student edition; yields (base url, token, edition folder)."""
    from autograder.edition import release

    root = tmp_path_factory.mktemp("lab")
    edition = release.build_student_edition(root / "student", assignments=[ASSIGNMENT, CONV_ASSIGNMENT],
                                            make_zip=False)["output"]
    with jupyter_server(root, edition) as (base, token):
        yield base, token, edition


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def screens(tmp_path_factory):
    folder = Path(os.environ.get("CS_CONVNET_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open_notebook(page, base, token, path):
    """Open ``path`` in JupyterLab and wait for its kernel; return (the notebook panel, the kernel status)."""
    from playwright.sync_api import expect

    name = Path(path).name
    page.goto(f"{base}/lab/tree/{path}?reset&token={token}")
    expect(page.get_by_role("tab", name=name)).to_be_visible(timeout=90_000)
    kernel = page.locator(f'span.jp-StatusBar-TextItem[title="Change kernel for {name}"]')
    expect(kernel).to_contain_text("Idle", timeout=90_000)
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)"), kernel


def test_student_notebook_runs_in_jupyterlab(lab, browser):
    """Do the first cells of a student notebook run in JupyterLab, importing the student package,
    with the first exercise failing on a NotImplementedError that says what to implement?"""
    from playwright.sync_api import expect

    base, token, edition = lab
    page = browser.new_page()
    try:
        page.set_default_timeout(60_000)
        panel, kernel = _open_notebook(page, base, token, f"assignments/{ASSIGNMENT}/{NOTEBOOK}")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator('[data-command="runmenu:run-all"]').click()
        # Run All stops at the first error: the first exercise, which needs the learner's code.
        stderr = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        error = stderr.filter(has_text="NotImplementedError").first  # (a backend note may precede it)
        expect(error).to_contain_text("NotImplementedError", timeout=120_000)
        expect(kernel).to_contain_text("Idle", timeout=60_000)

        setup_output = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]').first
        expect(setup_output).to_contain_text("cs_convnet 0.1.0 imported from")
        assert str(edition / "cs_convnet") in setup_output.inner_text()
        assert "implement affine_forward in cs_convnet/layers.py" in error.inner_text()
        assert panel.locator(".jp-InputArea-prompt", has_text="[*]").count() == 0
    finally:
        page.close()


# conv_forward_naive as a learner might first write it: the padding forgotten
BUGGY_CONV = """\
N = x.shape[0]
    F, _, HH, WW = w.shape
    x_pad = x
    out = np.zeros((N, F, H_out, W_out), dtype=float_dtype(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]"""
FAILING_LINE = "out[n, f, i, j] = np.sum(window * w[f]) + b[f]"


def _cell_indices(notebook):
    """Indices of the setup cell, the checks cell and the conv forward check in the student notebook."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    find = lambda test: next(i for i, cell in enumerate(cells) if test(cell))  # noqa: E731
    return (find(lambda c: "%autoreload" in c.source), find(lambda c: "class calling" in c.source),
            find(lambda c: c.metadata.get("nbgrader", {}).get("grade_id") == "conv-conv-forward-tests"))


def _line_of(path, text):
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_learner_fixes_a_conv_bug_guided_by_the_check(lab, browser, screens):
    """Notebook 2: does a forgotten padding fail with the course message, each edit of layers.py show
    the traceback at its current line, the fix pass, and Validate answer?"""
    from playwright.sync_api import expect

    base, token, edition = lab
    layers = edition / "cs_convnet" / "layers.py"
    stub = next(line for line in layers.read_text().splitlines()
                if "NotImplementedError('implement conv_forward_naive" in line.replace('"', "'"))
    layers.write_text(layers.read_text().replace(stub.strip(), BUGGY_CONV, 1))
    notebook = f"assignments/{CONV_ASSIGNMENT}/{CONV_NOTEBOOK}"
    setup, checks, conv = _cell_indices(edition / notebook)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_default_timeout(60_000)
        panel, kernel = _open_notebook(page, base, token, notebook)
        cells = panel.locator(".jp-Cell")

        def run(index):
            """Run one cell as a learner does (click, Shift+Enter); return its outputs once it finished."""
            prompt = cells.nth(index).locator(".jp-InputArea-prompt")
            before = prompt.inner_text()
            cells.nth(index).locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            deadline = time.monotonic() + 120
            while (prompt.inner_text() == before or "*" in prompt.inner_text()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert re.search(r"\[\d+\]", prompt.inner_text()), f"cell {index} did not finish: {prompt.inner_text()}"
            return cells.nth(index).locator(".jp-OutputArea-output")

        run(setup)
        run(checks)
        error = run(conv).filter(has_text="AssertionError").first
        expect(error).to_contain_text("conv_forward_naive failed inside your code: numpy could not combine")
        line = _line_of(layers, FAILING_LINE)
        expect(error).to_contain_text(f"layers.py:{line}, in conv_forward_naive")
        assert FAILING_LINE in error.inner_text()
        error.scroll_into_view_if_needed()
        page.screenshot(path=str(screens / "learner_error_view.png"))

        # an edit that moves the failing line down: the next run names the new line
        layers.write_text(layers.read_text().replace(
            "    x_pad = x\n", "    # the window slides over the padded input\n    # (to be fixed)\n    x_pad = x\n", 1))
        moved = _line_of(layers, FAILING_LINE)
        assert moved == line + 2
        error = run(conv).filter(has_text="AssertionError").first
        expect(error).to_contain_text(f"layers.py:{moved}, in conv_forward_naive")
        assert FAILING_LINE in error.inner_text()

        layers.write_text(layers.read_text().replace(
            "    x_pad = x\n", "    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n", 1))
        expect(run(conv).first).to_contain_text("conv_forward_naive: both checks passed")

        page.get_by_role("button", name="Validate").click()
        expect(page.get_by_text("Validation Results")).to_be_visible(timeout=120_000)
    finally:
        page.close()


def test_instructor_reviews_in_formgrader(tmp_path, browser, screens):
    """Does formgrader list the assignment and the package checks (no exchange banner), save a
    manual score typed in the page, and keep it through autograde --force?"""
    from playwright.sync_api import expect

    from autograder.course import gradebook
    from autograder.course.layout import PACKAGE_ASSIGNMENT, PACKAGE_NOTEBOOK
    from autograder.engine import batch
    from support import nbgrader_factory as factory

    course = factory.prepare_submitted_course(tmp_path, ["ada", "bob"])
    grade_one = factory.full_marks_grade_one(tmp_path)
    batch.autograde(course.root, progress=False, grade_one=grade_one)
    with gradebook.open_gradebook(course) as gb:
        submission = gb.find_submission_notebook(PACKAGE_NOTEBOOK, PACKAGE_ASSIGNMENT, "ada").id

    (tmp_path / "server").mkdir()
    with jupyter_server(tmp_path / "server", course.root) as (base, token):
        # one browser session, logged in by formgrader's first page (see README, "Reviewing in formgrader")
        session = browser.new_context(viewport={"width": 1280, "height": 800})
        page = session.new_page()
        try:
            page.set_default_timeout(60_000)
            page.goto(f"{base}/formgrader/manage_assignments?token={token}")
            rows = page.locator("tbody#main-table tr")
            expect(rows.filter(has_text=PACKAGE_ASSIGNMENT)).to_have_count(1, timeout=60_000)
            expect(rows.filter(has_text=factory.ASSIGNMENT)).to_have_count(1)
            assert page.locator("#warning-exchange").count() == 0
            page.screenshot(path=str(screens / "formgrader_assignments.png"), full_page=True)

            # the package checks' submission page: a score typed there is saved
            page.goto(f"{base}/formgrader/submissions/{submission}/")
            score = page.locator("input.score#conv_backward_numeric")
            expect(score).to_be_visible()
            with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                                      and r.request.method == "PUT") as saved:
                score.fill("1.5")
                score.press("Tab")
            assert saved.value.status == 200
        finally:
            page.close()
        row = lambda: next(r for r in gradebook.cell_rows(course)  # noqa: E731
                           if r["student"] == "ada" and r["cell"] == "conv_backward_numeric")
        assert (row()["manual_score"], row()["needs_manual_grade"]) == (1.5, False)
        batch.autograde(course.root, students=["ada"], force=True, progress=False, grade_one=grade_one)
        assert (row()["manual_score"], row()["score"], row()["needs_manual_grade"]) == (1.5, 1.5, False)
        page = session.new_page()
        try:
            page.goto(f"{base}/formgrader/submissions/{submission}/")
            expect(page.locator("input.score#conv_backward_numeric")).to_have_value("1.5", timeout=60_000)
        finally:
            session.close()

"""The learners' interface: the student edition opened in JupyterLab in headless Chromium."""

import json
import os
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

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                                          "(apt-get install chromium)")]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a fresh student edition; yields (base url, token, edition folder)."""
    from autograder import release

    root = tmp_path_factory.mktemp("lab")
    edition = release.build_student_edition(root / "student", assignments=[ASSIGNMENT], make_zip=False)["output"]
    config, data, runtime, ipython = (root / name for name in ("config", "data", "runtime", "ipython"))
    for folder in (config / "labconfig", data, runtime, ipython, root / "settings", root / "workspaces"):
        folder.mkdir(parents=True)
    (config / "labconfig" / "default_setting_overrides.json").write_text(json.dumps({
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    }))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(data),
               JUPYTER_RUNTIME_DIR=str(runtime), IPYTHONDIR=str(ipython), PYTHONPATH=str(edition),
               CS_CONVNET_QUICK="1")
    log = open(root / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={edition}",
         f"--LabApp.user_settings_dir={root / 'settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}",
         "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
        yield base, token, edition
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server's own process group: it and its kernels
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_student_notebook_runs_in_jupyterlab(lab):
    """Do the first cells of a student notebook run in JupyterLab, importing the student package,
    with the first exercise failing on a NotImplementedError that says what to implement?"""
    from playwright.sync_api import expect, sync_playwright

    base, token, edition = lab
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/assignments/{ASSIGNMENT}/{NOTEBOOK}?reset&token={token}")
            expect(page.get_by_role("tab", name=NOTEBOOK)).to_be_visible(timeout=90_000)
            kernel = page.locator(f'span.jp-StatusBar-TextItem[title="Change kernel for {NOTEBOOK}"]')
            expect(kernel).to_contain_text("Idle", timeout=90_000)

            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator('[data-command="runmenu:run-all"]').click()
            panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
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
            browser.close()

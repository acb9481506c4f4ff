"""Execute, with the score of every autograded test cell decided in the trusted grader process.

The test code, hidden tests included, runs here (:mod:`autograder.sandbox.trusted_tests`),
talking to the learner's kernel over a comm channel (its guest there is
:mod:`autograder.sandbox.notebook_guest`); the kernel still runs the visible
tests, for the outputs the learner sees in the feedback.
"""

import secrets
from pathlib import Path
from types import SimpleNamespace

import nbformat
from jupyter_core.utils import ensure_async
from nbformat.notebooknode import NotebookNode

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

from .crash_tolerant_execute import KERNEL_DIED, KERNEL_HUNG, CrashTolerantExecute

class TrustedTestsExecute(CrashTolerantExecute):
    """Execute, with the score of every autograded test cell decided in this (trusted) process.

    For a test cell, :func:`autograder.sandbox.trusted_tests.evaluate_cell` first runs
    its whole source here, reading the learner's names from the kernel as plain
    data and calling the learner's functions there; then the kernel runs the
    visible part (hidden tests never reach it), so that its state is what the
    learner's own run leaves. The cell keeps what the kernel printed, but its
    only error output is the trusted outcome's, so ``SaveAutoGrades`` records
    the trusted score and the feedback shows its message. Check helpers come from the source notebook's cells marked
    ``"cs_convnet": {"trusted_helpers": true}``, never from the learner's copy.
    """

    def preprocess(self, nb, resources, km=None):
        from ...sandbox import trusted_tests

        self._namespace = None
        self._helpers = self._helper_sources(resources)
        self._trusted_tests = trusted_tests
        return super().preprocess(nb, resources, km=km)

    def _helper_sources(self, resources):
        info = resources.get("nbgrader", {})
        owner = self.parent
        while owner is not None and not hasattr(owner, "coursedir"):
            owner = getattr(owner, "parent", None)
        if owner is None or "assignment" not in info or "notebook" not in info:
            self.log.warning("Trusted tests: the source notebook is unknown; no trusted check helpers")
            return []
        coursedir = owner.coursedir
        path = (Path(coursedir.root) / coursedir.source_directory / info["assignment"]
                / f"{info['notebook']}.ipynb")
        try:
            source = nbformat.read(path, as_version=4)
        except (OSError, ValueError) as error:
            self.log.warning("Trusted tests: cannot read %s (%s); no trusted check helpers", path, error)
            return []
        helpers = [(cell.metadata.get("nbgrader", {}).get("grade_id", "helpers"), cell.source)
                   for cell in source.cells if cell.cell_type == "code"
                   and cell.metadata.get("cs_convnet", {}).get("trusted_helpers")]
        if not helpers:
            self.log.warning("Trusted tests: %s marks no trusted check helpers", path)
        return helpers

    def _run_in_kernel(self, code, timeout):
        """Run one piece of code silently in the kernel (no history, no ``pre_run_cell`` hooks such as
        autoreload's); its display and error outputs."""
        from nbclient.util import run_sync

        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        return run_sync(self._async_outputs_of)(msg_id, timeout)

    def _open_channel(self, target, timeout):
        """Open the comm ``target`` that the guest registered (see ``notebook_guest.open_channel``)."""
        from nbclient.util import run_sync

        self._comm_id = secrets.token_hex(16)
        return run_sync(self._async_outputs_of)(self._send("comm_open", {"comm_id": self._comm_id,
                                                                         "target_name": target, "data": {}}), timeout)

    def _send_on_channel(self, data, timeout):
        """One request as a comm message: about 2 ms a round trip instead of 5 as code to execute."""
        from nbclient.util import run_sync

        return run_sync(self._async_outputs_of)(self._send("comm_msg", {"comm_id": self._comm_id, "data": data}),
                                                timeout)

    def _send(self, kind, content):
        message = self.kc.session.msg(kind, content)
        self.kc.shell_channel.send(message)
        return message["header"]["msg_id"]

    async def _async_outputs_of(self, msg_id, timeout):
        """Outputs of the request ``msg_id`` until the kernel is idle again; interrupt it on timeout.

        A comm reply counts as a ``display_data`` output. Raises ``GradingLinkBroken`` when the kernel
        dies, or ignores an interrupt.
        """
        import asyncio
        import queue
        import time

        from ...sandbox import notebook_guest
        trusted_tests = self._trusted_tests
        deadline = time.monotonic() + timeout
        outputs, interrupted = [], False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not interrupted:
                await ensure_async(self.km.interrupt_kernel())
                interrupted, deadline = True, time.monotonic() + 10
                continue
            if remaining <= 0:
                raise trusted_tests.GradingLinkBroken(
                    "your code ran over the time limit and the kernel did not respond to an interrupt")
            try:
                msg = await ensure_async(self.kc.get_iopub_msg(timeout=min(1.0, remaining)))
            except (queue.Empty, asyncio.TimeoutError):
                if not await ensure_async(self.km.is_alive()):
                    raise trusted_tests.GradingLinkBroken(
                        "the kernel died while the grader ran your code (os._exit, a segfault or running "
                        "out of memory)")
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data":
                outputs.append({"output_type": kind, "data": content.get("data", {})})
            elif kind == "comm_msg" and notebook_guest.REPLY_MIME in content.get("data", {}):
                outputs.append({"output_type": "display_data", "data": content["data"]})
            elif kind == "error":
                outputs.append({"output_type": kind, "ename": content.get("ename"), "evalue": content.get("evalue")})
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if interrupted:   # whatever the guest answered after the interrupt, the request timed out
            outputs = [o for o in outputs if o["output_type"] != "display_data"]
            outputs.append({"output_type": "error", "ename": "CellTimeoutError", "evalue": ""})
        return outputs

    def preprocess_cell(self, cell, resources, index):
        if (self._dead_in is not None or cell.cell_type != "code" or not utils.is_grade(cell)
                or utils.is_solution(cell)):
            return super().preprocess_cell(cell, resources, index)
        trusted_tests = self._trusted_tests
        name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"#{index}"
        if self._namespace is None:
            link = trusted_tests.KernelLink(self._run_in_kernel, budget=float(self.timeout or 300),
                                            channel=SimpleNamespace(open=self._open_channel,
                                                                    send=self._send_on_channel))
            self._namespace = trusted_tests.TrustedNamespace(link)
        link = self._namespace._link
        if self._helpers is not None:
            helpers, self._helpers = self._helpers, None
            link.start_cell()
            for helper_id, source in helpers:
                try:
                    trusted_tests.run_trusted(self._namespace, source, helper_id)
                except trusted_tests.GradingLinkBroken:
                    break   # the first test reports it
                except Exception as error:
                    self.log.error("Trusted tests: helper cell %s failed: %s: %s", helper_id,
                                   type(error).__name__, error)
        outcome = trusted_tests.evaluate_cell(self._namespace, cell.source, name)
        verdict = "passed" if outcome.passed else f"failed: {outcome.ename}: {str(outcome.evalue)[:200]}"
        self.log.info("Trusted test %s %s (%d kernel requests so far, %.1f s)", name, verdict,
                      link.requests, link.seconds)
        if "not plain data" in str(outcome.evalue) or "accepts only plain data" in str(outcome.evalue):
            self.log.warning("Trusted test %s was handed something that is not plain data", name)
        full = cell.source
        if link.broken is not None:
            # the kernel is gone: mark this cell and the rest as not run, like a death in the cell
            self._dead_in = self._dead_in or name
            self.log.error("Kernel died while executing cell %s", name)
            cell.outputs = outcome.outputs()
            return cell, self.resources
        visible = NotebookNode(cell_type="code", source=full, metadata=cell.metadata, outputs=[])
        ClearHiddenTests().preprocess_cell(visible, resources, index)
        cell.source = visible.source
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = full
        # What the learner's kernel printed stays (the feedback shows it); its errors do not decide
        # the score, except a kernel that died or hung; the trusted verdict comes last.
        kept = [o for o in cell.outputs if o.get("output_type") != "error"
                or o.get("ename") in (KERNEL_DIED, KERNEL_HUNG)]
        cell.outputs = kept + [o for o in outcome.outputs() if o.get("output_type") == "error"]
        return cell, self.resources

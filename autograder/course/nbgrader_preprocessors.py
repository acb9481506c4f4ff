"""nbgrader 0.9.6 preprocessors that fix the pitfalls of notebook autograding.

Measured with nbgrader 0.9.6 (see tests/autograder/course/test_nbgrader_integration.py):

* ``utils.determine_grade`` scores 0 for any grade cell with *stderr* output,
  so a correct cell that triggers a ``RuntimeWarning`` loses its points.
  :class:`StderrIsNotFailure` turns stderr streams of grade cells that raised
  nothing into stdout (the text stays visible) before the grades are saved.
* A kernel that dies (``os._exit``, a segfault, the OOM killer) makes
  ``Execute`` raise ``DeadKernelError`` (and one that ignores the interrupt
  after a cell timeout, ``CellTimeoutError``); nbgrader then deletes the
  autograded notebook and every grade stays ``None``. :class:`CrashTolerantExecute`
  marks the cell that killed the kernel and the cells after it as errors, so
  the cells that ran before keep their points and the notebook exists.
* ``OverwriteCells.add_missing_grade_cells`` raises ``KeyError`` when the cell
  before a deleted grade cell is a locked cell that is neither a grade nor a
  solution cell (a read-only markdown cell, say). :class:`RobustOverwriteCells`
  inserts the missing cell after the nearest earlier source cell still present.
* Autograded notebooks hold the hidden tests (``OverwriteCells`` restores the
  locked source), so the feedback HTML shows them by default.
  :class:`ClearHiddenTestsAndTracebacks` removes the hidden regions from the
  feedback and replaces the tracebacks of those cells, which quote hidden
  lines, by the error's message (hidden checks' messages never quote them).
* Feedback written before a person graded a cell shows its score as
  ``Score: 0.0 / 2.0``. :class:`GetGradesMarkUngraded` shows such a cell (and
  the notebook's total) as not graded yet; :func:`feedback_float` is the
  template's ``float`` filter that lets that mark through.

The classes are wired in by the autograde section of
``assignments/nbgrader_config.py``.
"""

import json
import secrets
from pathlib import Path
from types import SimpleNamespace

import nbformat
from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, Execute, GetGrades, NbGraderPreprocessor, OverwriteCells

KERNEL_DIED = "KernelDied"
KERNEL_HUNG = "KernelHung"   # error name of a cell whose kernel ignored the interrupt after a timeout
NOT_RUN = "NotRunAfterKernelDeath"


def _error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class CrashTolerantExecute(Execute):
    """Execute, but a dead kernel fails the remaining cells instead of the whole notebook."""

    def preprocess(self, nb, resources, km=None):
        self._dead_in = None
        try:
            return super().preprocess(nb, resources, km=km)
        except (DeadKernelError, CellTimeoutError):
            # Raised again while shutting the dead kernel down; the cells are already marked.
            if self._dead_in is None:
                raise
            return self.nb, self.resources

    def preprocess_cell(self, cell, resources, index):
        if self._dead_in is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error_output(
                    NOT_RUN, f"not run: the kernel died in cell {self._dead_in}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as error:
            # CellTimeoutError escapes only when the interrupted kernel stays unresponsive
            name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"#{index}"
            self._dead_in = name
            if isinstance(error, DeadKernelError):
                self.log.error("Kernel died while executing cell %s", name)
                ename = KERNEL_DIED
                why = "the kernel died while running this cell: os._exit, a segfault or running out of memory"
            else:
                self.log.error("Kernel hung while executing cell %s", name)
                ename = KERNEL_HUNG
                why = "this cell ran over the time limit and the kernel did not respond to an interrupt"
            cell.outputs.append(_error_output(ename, f"{why} ({name})"))
            return cell, self.resources


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
        from ..sandbox import trusted_tests

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

        from ..sandbox import notebook_guest
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


class StderrIsNotFailure(NbGraderPreprocessor):
    """Let grade cells that raised nothing keep their points despite stderr output.

    Must run after ``Execute`` and before ``SaveAutoGrades``. A failed test still
    scores 0: it raises, and the error output decides the grade.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        if any(output.output_type == "error" for output in cell.outputs):
            return cell, resources
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                output.name = "stdout"
        return cell, resources


class RobustOverwriteCells(OverwriteCells):
    """OverwriteCells whose re-insertion of deleted grade cells never raises KeyError."""

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_ids = [cell.name for cell in source_nb.source_cells]
        source_by_id = {cell.name: cell for cell in source_nb.source_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}

        def present_ids():
            return [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]

        for grade_cell in source_nb.grade_cells:
            if grade_cell.name in present_ids():
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            new_cell = self.missing_cell_transform(
                source_by_id[grade_cell.name], grade_cell.max_score,
                is_solution=grade_cell.name in solution_ids)
            # After the nearest earlier source cell still in the notebook, else first.
            here = present_ids()
            position = 0
            for earlier in reversed(source_ids[:source_ids.index(grade_cell.name)]):
                if earlier in here:
                    position = here.index(earlier) + 1
                    break
            nb.cells.insert(position, new_cell)
        return nb, resources


class ClearHiddenTestsAndTracebacks(ClearHiddenTests):
    """For feedback: drop hidden test regions, and withhold outputs that would show them.

    Tracebacks of cells with hidden tests quote the failing line; and the
    learner's own code could print the notebook it runs from. Outputs quoting
    a hidden line (verbatim or JSON-escaped) are replaced by a notice. An
    output that encodes the line some other way is not recognised.
    """

    min_quoted = 8   # shorter hidden lines (``)``, ``pass``) are too common to withhold on

    def preprocess(self, nb, resources):
        self._hidden = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
                inside = False
                for line in cell.source.splitlines():
                    if self.begin_test_delimeter in line:
                        inside = True
                    elif self.end_test_delimeter in line:
                        inside = False
                    elif inside and len(line.strip()) >= self.min_quoted:
                        self._hidden |= {line.strip(), json.dumps(line.strip())[1:-1]}
        return super().preprocess(nb, resources)

    def _quotes_hidden(self, output):
        texts = [output.get("text", ""), output.get("evalue", ""), *output.get("traceback", [])]
        texts += [v if isinstance(v, str) else "".join(v) for v in output.get("data", {}).values()
                  if isinstance(v, (str, list))]
        return any(hidden in text for text in texts for hidden in self._hidden)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        had_hidden = self.begin_test_delimeter in cell.source
        if had_hidden:
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
        outputs = []
        for output in cell.get("outputs", []):
            if had_hidden and output.output_type == "error":
                # The traceback quotes the failing hidden line; the message is written for
                # learners (tests/autograder/checks/test_hidden_messages.py), so it stays.
                output.traceback = [
                    f"{output.ename}: {output.evalue}",
                    "(raised in this test cell; the hidden tests' code is not shown)",
                ]
            if self._quotes_hidden(output):
                output = NotebookNode(output_type="stream", name="stdout",
                                      text="[output withheld from the feedback: it quotes a hidden test]\n")
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources


class PendingScore:
    """A score still waiting for a person, as the feedback page prints it.

    nbgrader's feedback template prints ``{{ score | float | round(2) }}``:
    :func:`feedback_float` passes this object through and ``round`` keeps it.
    """

    def __init__(self, value, text):
        self.value, self.text = value, text

    def __round__(self, ndigits=None):
        return self

    def __float__(self):
        return float(self.value)

    def __str__(self):
        return self.text


def feedback_float(value, default=0.0):
    """Jinja's ``float`` filter, except that a :class:`PendingScore` is kept as is."""
    if isinstance(value, PendingScore):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class GetGradesMarkUngraded(GetGrades):
    """GetGrades, but a cell that still needs a person reads "not graded yet", not "0.0"."""

    def preprocess(self, nb, resources):
        self._pending = 0
        nb, resources = super().preprocess(nb, resources)
        if self._pending:
            score = float(resources["nbgrader"]["score"])
            cells = "cell" if self._pending == 1 else "cells"
            resources["nbgrader"]["score"] = PendingScore(
                score, f"{score:g} so far, {self._pending} {cells} not graded yet")
        return nb, resources

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        if grade.needs_manual_grade:
            self._pending += 1
            auto = grade.auto_score
            cell.metadata.nbgrader["score"] = PendingScore(
                grade.score, "not graded yet" if auto is None else f"{auto:g} (not reviewed yet)")

"""Execute, but a kernel that dies or hangs fails the remaining cells instead of the whole notebook.

With nbgrader 0.9.6, a kernel that dies (``os._exit``, a segfault, the OOM
killer) makes ``Execute`` raise ``DeadKernelError`` (and one that ignores the
interrupt after a cell timeout, ``CellTimeoutError``); nbgrader then deletes the
autograded notebook and every grade stays ``None``. :class:`CrashTolerantExecute`
marks the cell that killed the kernel and the cells after it as errors, so the
cells that ran before keep their points and the notebook exists. The error
names it gives those cells (:data:`KERNEL_DIED`, :data:`KERNEL_HUNG`) tell the
grading engine a crash or a timeout from a learner's error.
"""

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

from nbgrader.preprocessors import Execute

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

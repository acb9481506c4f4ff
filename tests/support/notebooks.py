"""Run a notebook in a fresh kernel and read its errors (the source notebooks, the student edition's)."""

import os

import nbformat

CELL_TIMEOUT = 300  # seconds; the whole notebook runs in quick mode far below this


def run_notebook(path, workdir, env=None, allow_errors=False, timeout=CELL_TIMEOUT):
    """Execute a copy of the notebook at ``path`` in a fresh kernel; return the executed notebook.

    ``env`` entries are set for the kernel (it inherits this process's environment);
    the kernel's working directory is ``workdir``.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    kernel_env = dict(os.environ)
    kernel_env.update({"CS_CONVNET_QUICK": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                       "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    kernel_env.update(env or {})
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=kernel_env)
    return nb


def errors_of(nb):
    """``[(cell index, ename, evalue)]`` of every code cell whose output is an error."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.output_type == "error":
                found.append((index, output.ename, output.evalue))
    return found

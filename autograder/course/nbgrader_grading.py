"""Autograde one student's notebooks of one assignment through ``nbgrader autograde``.

Each run is private: a scratch course folder with a structure-only copy of the
gradebook, this student's notebooks, and ``source/`` linked in. nbgrader writes
its grades there; the batch's main process copies them into the course
gradebook only once the run is over (see :mod:`autograder.engine.batch`), so parallel
runs never contend for the SQLite file and a run killed midway records nothing.

What notebook grading can and cannot protect
--------------------------------------------
* The learner's kernel runs in a bubblewrap sandbox (:mod:`autograder.sandbox.notebook_kernel`):
  it cannot read or write the gradebook, the course, the instructor tree or
  other students' files, has no network, and dies with the run. Where
  bubblewrap is unavailable it runs with rlimits only, and the record says so.
* Locked cells (tests, provided code) are restored from the gradebook's source
  by nbgrader's ``OverwriteCells`` whatever the learner did to them, and deleted
  grade cells are re-inserted (``add_missing_cells``), hidden tests included.
* The score of every grade cell is decided in the trusted grader process, not
  in the learner's kernel (:class:`autograder.course.preprocessors.TrustedTestsExecute`,
  :mod:`autograder.sandbox.trusted_tests`). The test code, hidden tests included, runs
  here; each learner name it reads is fetched from the kernel as plain data of
  exact types (``int``, ``float``, ``bool``, ``str``, ``None``, containers of
  them, numeric arrays as ``.npy`` without pickle), anything else is refused and
  the test fails saying so; each learner function it calls runs in the kernel
  on plain inputs and returns plain outputs. The check helpers and numpy are
  the grader's own (the source notebook's cells marked ``trusted_helpers``), so
  rebinding ``np.allclose``, ``AssertionError``, the helpers, ``sys.settrace``
  or ``sys.modules`` inside the kernel changes no score; a kernel that dies or
  hangs scores 0 from that cell on. The kernel still runs the visible tests
  after the learner's code, for the outputs the learner sees in the feedback.
* What it cannot see: a learner function is still the learner's code, so it
  may behave differently when graded (it never sees the hidden tests' expected
  values, only their inputs) or return hard-coded answers for inputs it can
  guess; a value computed in the kernel is trusted as data. The package's
  functions are also checked by ``grade-one`` in its own sandbox.
  :func:`monkeypatch_findings` still reads the learner's cells and notes
  rebinding of module attributes for the instructor; it changes no score.
"""

import ast
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from .. import limits
from ..processes import run_in_session
from ..sandbox import notebook_kernel
from . import gradebook as gradebook_api
from .layout import Course, tool_env, write_config

NBGRADER_TIMEOUT = limits.notebook().wall_seconds   # one student's whole assignment run (cells have their own limit)

_LOG_NOTES = [
    (re.compile(r"Attribute 'points' for cell (\S+) has changed"),
     "the points of cell {0} were edited; the original points were used"),
    (re.compile(r"Missing grade cell (\S+) encountered"),
     "grade cell {0} was deleted; nbgrader re-inserted it from the source"),
    (re.compile(r"Kernel died while executing cell (\S+)"),
     "the kernel died in cell {0} (os._exit, a segfault or out of memory); later cells score 0"),
    (re.compile(r"Kernel hung while executing cell (\S+)"),
     "cell {0} ran over the time limit and the kernel stopped responding; later cells score 0"),
    (re.compile(r"Attribute 'cell_type' for cell (\S+) has changed"),
     "the type of cell {0} was changed; it was graded as the original type"),
]

_RISKY_MODULES = {"numpy", "np", "pytest", "builtins", "__builtins__", "math", "sys", "cs_convnet",
                  "unittest", "nose", "autograder", "importlib"}


def source_cells(course, assignment):
    """``{notebook: {grade cell: is manually graded}}`` from the structure-only gradebook."""
    out = {}
    with gradebook_api.Gradebook(f"sqlite:///{course.template_db}") as gb:
        for notebook in gb.find_assignment(assignment).notebooks:
            solutions = {cell.name for cell in notebook.solution_cells}
            out[notebook.name] = {cell.name: cell.name in solutions for cell in notebook.grade_cells}
    return out


def read_notebook(path):
    """The notebook at ``path``, or (None, reason) when it is not a valid notebook."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        return nb, None
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except Exception as error:  # JSONDecodeError, NotJSONError, ValidationError, ...
        return None, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"


def _module_aliases(tree):
    aliases = set(_RISKY_MODULES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            aliases |= {a.asname or a.name for a in node.names}
    return aliases


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def monkeypatch_findings(nb):
    """Learner-editable cells that rebind attributes of imported modules (``np.allclose = ...``)."""
    code = [c for c in nb.cells if c.cell_type == "code"
            and not c.metadata.get("nbgrader", {}).get("locked", False)]
    trees = []
    for cell in code:
        try:
            trees.append((cell, ast.parse(re.sub(r"^\s*[%!].*$", "", cell.source, flags=re.M))))
        except SyntaxError:
            continue
    aliases = set(_RISKY_MODULES)
    for _, tree in trees:
        aliases |= _module_aliases(tree)
    findings = []
    for cell, tree in trees:
        where = cell.metadata.get("nbgrader", {}).get("grade_id", "an unmarked cell")
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, (ast.Assign, ast.Delete)):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)) and _root_name(target) in aliases:
                    findings.append(f"{where}: `{ast.unparse(target)} = ...`")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in {"setattr", "delattr"} and node.args
                    and _root_name(node.args[0]) in aliases):
                findings.append(f"{where}: `{ast.unparse(node)}`")
    return findings


def locked_cell_changes(nb, released):
    """Notes on locked cells of the learner's notebook that differ from the released notebook."""
    def locked(cells):
        return {c.metadata["nbgrader"]["grade_id"]: c.source for c in cells
                if c.metadata.get("nbgrader", {}).get("locked") and "grade_id" in c.metadata["nbgrader"]}

    given, original = locked(nb.cells), locked(released.cells)
    graded = {c.metadata["nbgrader"]["grade_id"] for c in released.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    notes = []
    for grade_id, source in original.items():
        if grade_id not in given:
            if grade_id not in graded:  # deleted tests are re-inserted, and noted from the log
                notes.append(f"locked cell {grade_id} was deleted; the cells after it ran without it")
        elif given[grade_id] != source:
            notes.append(f"locked cell {grade_id} was edited; it was graded with the original restored")
    return notes


def _notes_from_log(log):
    notes = []
    for pattern, template in _LOG_NOTES:
        for match in pattern.finditer(log):
            note = template.format(match.group(1).rstrip("!.,:"))
            if note not in notes:
                notes.append(note)
    return notes


def _last_error(log):
    errors = [line for line in log.splitlines() if "Error" in line or "ERROR" in line]
    return errors[-1].strip()[:300] if errors else "no error message"


def add_notes_cell(notebook_path, notes):
    """Put the grading notes at the top of an autograded notebook (shown in the feedback)."""
    if not notes:
        return
    nb = nbformat.read(notebook_path, as_version=4)
    text = "**Grading notes**\n\n" + "\n".join(f"- {note}" for note in notes)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))
    nbformat.write(nb, notebook_path)


def grade_notebooks(course, student, assignment, package_root=None, timeout=NBGRADER_TIMEOUT,
                    kernel_isolation="auto", scratch_dir=None):
    """Autograde ``submitted/<student>/<assignment>`` in a private scratch course.

    Parameters
    ----------
    package_root : path or None
        Folder holding the learner's ``cs_convnet`` (student edition overlaid with
        the submission); the kernel's ``PYTHONPATH``.
    kernel_isolation : "auto", "bubblewrap" or "rlimits"
        How the notebook kernel is confined (see :mod:`autograder.sandbox.notebook_kernel`).
    scratch_dir : path, optional
        Folder for the private run (default: the course's ``grading/scratch``).

    Returns
    -------
    dict
        ``scores`` ``{notebook: {cell: score or None}}``, ``notes``, ``review``
        (notebooks to grade by hand), ``timed_out`` (the whole run was stopped at
        ``timeout``), ``autograded`` (folder of the autograded notebooks inside
        ``scratch``) and ``scratch`` (to delete afterwards).
    """
    course = Course(course.root if isinstance(course, Course) else course)
    cells = source_cells(course, assignment)
    notes, review = [], []
    scratch = Path(tempfile.mkdtemp(prefix=f"{student}-{assignment}-", dir=scratch_dir or course.scratch))
    # the kernel talks over ipc sockets in runtime/ (bound into its sandbox): no network needed
    runtime = notebook_kernel.runtime_dir()
    (scratch / "runtime").symlink_to(runtime)  # lets a later batch remove it if this run is killed
    write_config(scratch, extra=(f'c.KernelManager.transport = "ipc"\n'
                                 f'c.KernelManager.connection_file = {str(runtime / "kernel.json")!r}\n'
                                 f'c.KernelManager.ip = {str(runtime / "kernel-ipc")!r}\n'))
    (scratch / "source").symlink_to(course.source)
    gradebook_api.seed_gradebook(course, scratch / "gradebook.db")
    given = course.submitted / student / assignment
    inbox = scratch / "submitted" / student / assignment
    inbox.mkdir(parents=True)
    if (given / "timestamp.txt").is_file():
        shutil.copyfile(given / "timestamp.txt", inbox / "timestamp.txt")
    gradable = []
    for notebook in cells:
        path = given / f"{notebook}.ipynb"
        if not path.is_file():
            notes.append(f"{assignment}/{notebook}.ipynb was not submitted: its tests score 0")
            continue
        nb, problem = read_notebook(path)
        if nb is None:
            notes.append(f"{assignment}/{notebook}.ipynb is not a valid notebook ({problem}): "
                         "its tests score 0; your package is graded separately")
            continue
        released = course.root / "release" / assignment / f"{notebook}.ipynb"
        if released.is_file():
            notes += [f"{assignment}/{notebook}: {note}" for note in
                      locked_cell_changes(nb, nbformat.read(released, as_version=4))]
        findings = monkeypatch_findings(nb)
        if findings:
            notes.append(f"{assignment}/{notebook}.ipynb rebinds module attributes ("
                         + "; ".join(findings[:3]) + "); the notebook's tests are scored in the grader's "
                         "process, so this changes no score")
        nbformat.write(nb, inbox / f"{notebook}.ipynb")
        gradable.append(notebook)

    scores = {nb: {cell: (None if manual else 0.0) for cell, manual in grades.items()}
              for nb, grades in cells.items()}
    autograded = scratch / "autograded" / student / assignment
    isolation, log, timed_out = None, "", False
    try:
        if gradable:
            jupyter_path, isolation = notebook_kernel.install_kernelspec(
                scratch, package_root, [runtime, autograded.parent], kernel_isolation)
            autograded.parent.mkdir(parents=True)
            env = tool_env()
            env.pop("PYTHONPATH", None)
            env.update(JUPYTER_PATH=jupyter_path, JUPYTER_RUNTIME_DIR=str(runtime))
            code, log = run_in_session([sys.executable, "-m", "nbgrader", "autograde", assignment,
                                        "--student", student, "--force"], scratch, env, timeout)
            notes += _notes_from_log(log)
            if code is None:
                timed_out = True
                notes.append(f"{assignment}: grading took longer than {timeout} s and was stopped")
            recorded = _read_scores(scratch, assignment, student)
            if recorded is None:
                notes.append(f"{assignment}: nbgrader could not grade the notebooks ({_last_error(log)}); "
                             "their tests score 0")
            else:
                for notebook in gradable:
                    unfinished = []
                    for cell, manual in cells[notebook].items():
                        value = recorded.get(notebook, {}).get(cell)
                        if value is None and not manual:
                            unfinished.append(cell)
                            value = 0.0
                        scores[notebook][cell] = value
                    if unfinished:
                        notes.append(f"{assignment}/{notebook}: the notebook did not finish grading "
                                     f"({_last_error(log)}); tests {', '.join(unfinished)} score 0")
            for notebook in gradable:
                path = autograded / f"{notebook}.ipynb"
                if path.is_file():
                    add_notes_cell(path, [n for n in notes if f"/{notebook}" in n or n.startswith(
                        ("grade cell", "the kernel", "the points", "the type"))])
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    log_tail = None
    if gradable:
        (scratch / "nbgrader.log").write_text(log, encoding="utf-8")
        if any("did not finish" in n or "could not grade" in n or "longer than" in n for n in notes):
            log_tail = "\n".join(log.splitlines()[-60:])   # kept in the record for the instructor
    return {"assignment": assignment, "scores": scores, "notes": notes, "review": review, "log_tail": log_tail,
            "kernel_isolation": isolation, "timed_out": timed_out,
            "autograded": str(autograded) if autograded.is_dir() else None, "scratch": str(scratch)}


def _read_scores(scratch, assignment, student):
    """``{notebook: {cell: auto_score}}`` of the private run, or None if it recorded nothing."""
    try:
        with gradebook_api.Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
            submission = gb.find_submission(assignment, student)
            return {nb.notebook.name: {g.name: g.auto_score for g in nb.grades}
                    for nb in submission.notebooks}
    except gradebook_api.MissingEntry:
        return None

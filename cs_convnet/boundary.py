"""The one definition of what learners write and what is provided.

Learners write the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
in the files of :data:`LEARNER_FILES`; every other file of the package is
provided. This module is the only place that knows the markers, the list of
learner files and how a solution region is found. The student edition that
``cs-convnet-course release`` ships, the edition the grader's sandbox builds,
the mutants of mutation testing, the sample submissions, what
``cs-convnet submit`` packs and the notebook builder's check all use it.

A *marker line* is a line whose text, stripped of surrounding blanks, starts
with a marker; a marker mentioned inside prose (a docstring) is not a marker
line. Regions are not nested: a BEGIN inside a region, an END outside one, or
a BEGIN never closed is an error (:class:`RegionError`, one line naming the
file, the line and what was expected).
"""

import ast
import re
from dataclasses import dataclass

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
HINT_PREFIX = "# HINT:"   # a comment just above a region: the stub's message

# The package files learners edit, relative to the folder holding ``cs_convnet``
# (the instructor tree, the student edition, a submission). Every other file of
# the package is provided; tests/cs_convnet/test_boundary.py checks that exactly these
# files hold solution regions.
LEARNER_FILES = (
    "cs_convnet/layers.py",
    "cs_convnet/optim.py",
    "cs_convnet/classifiers/fc_net.py",
    "cs_convnet/classifiers/cnn.py",
)

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")   # Python's own line ends, kept


class RegionError(ValueError):
    """Solution markers that do not pair up, or a learner file that is not valid Python."""


@dataclass(frozen=True)
class Region:
    """One solution region of a source text.

    ``begin`` and ``end`` are the 1-based line numbers of its BEGIN and END
    marker lines (the learner's code is on the lines strictly between them);
    ``indent`` is the BEGIN marker's indentation; ``function`` is the qualified
    name (``Class.method``) of the innermost function enclosing it, found with
    :mod:`ast`, and ``summary`` the first paragraph of that function's
    docstring on one line (both None outside a function or for text that is
    not parsed as Python).
    """

    begin: int
    end: int
    indent: str
    function: str = None
    summary: str = None


def source_lines(text):
    """``text`` split into lines with their line ends kept, at Python's line ends only.

    Unlike :meth:`str.splitlines`, a form feed or a Unicode line separator
    inside a line does not end it, so line numbers agree with :mod:`ast`'s and
    ``"".join(source_lines(text)) == text``.
    """
    return _LINE.findall(text)


def marker_of(line):
    """The marker that ``line`` is a marker line of, or None."""
    stripped = line.strip()
    for marker in MARKERS:
        if stripped.startswith(marker):
            return marker
    return None


def marked_regions(text, begin=BEGIN_SOLUTION, end=END_SOLUTION, filename="<text>"):
    """``[(begin_line, end_line)]`` (1-based, marker lines) of every ``begin``/``end`` pair of ``text``.

    Raises
    ------
    RegionError
        For a nested ``begin``, an ``end`` without a ``begin``, or a ``begin``
        never closed.
    """
    regions, opened = [], None
    for number, line in enumerate(source_lines(text), start=1):
        marker = marker_of(line)
        if marker == begin:
            if opened is not None:
                raise RegionError(f"{filename}:{number}: nested {begin} (the region opened at line {opened} "
                                  f"has no {end} before it)")
            opened = number
        elif marker == end:
            if opened is None:
                raise RegionError(f"{filename}:{number}: {end} without {begin} before it")
            regions.append((opened, number))
            opened = None
    if opened is not None:
        raise RegionError(f"{filename}:{opened}: {begin} has no {end}")
    return regions


def _functions(tree):
    """``[(first_line, last_line, qualified_name, docstring_summary)]`` of every def, 1-based."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    doc = (ast.get_docstring(child) or "").strip().split("\n\n")[0]
                    found.append((child.lineno, child.end_lineno, name, " ".join(doc.split())))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def solution_regions(text, filename="<text>", python=True):
    """Every solution region of ``text``, in order, as :class:`Region`.

    Parameters
    ----------
    text : str, a source file or a notebook cell
    filename : str, named in errors
    python : bool, find each region's enclosing function with :mod:`ast`
        (False for text that is not Python: Cython sources, Markdown)

    Raises
    ------
    RegionError
        If the markers do not pair up (nested, unclosed, END without BEGIN),
        or if ``python`` and a text with regions is not valid Python.
    """
    pairs = marked_regions(text, BEGIN_SOLUTION, END_SOLUTION, filename)
    if not pairs:
        return []
    functions = []
    if python:
        try:
            functions = _functions(ast.parse(text, filename=filename))
        except SyntaxError as error:
            raise RegionError(f"{filename}:{error.lineno}: not valid Python ({error.msg})") from None
    lines = source_lines(text)
    regions = []
    for begin, end in pairs:
        line = lines[begin - 1]
        inside = [f for f in functions if f[0] <= begin <= f[1]]
        name = summary = None
        if inside:
            _, _, name, summary = max(inside, key=lambda f: f[0])   # the innermost
        regions.append(Region(begin, end, line[: len(line) - len(line.lstrip())], name, summary))
    return regions


def region_hint(region, lines, relpath):
    """The one-line message of the stub that replaces ``region`` (``lines`` as :func:`source_lines`).

    A ``# HINT:`` comment just above the region if there is one, otherwise the
    enclosing function's name and the summary of its docstring.
    """
    previous = lines[region.begin - 2].strip() if region.begin > 1 else ""
    if previous.startswith(HINT_PREFIX):
        return previous[len(HINT_PREFIX):].strip()
    if region.function is None:
        return f"write the missing code in {relpath} (line {region.begin})"
    hint = f"implement {region.function} in {relpath}"
    if region.summary:
        hint += f": {region.summary}"
    return hint


def stub_solutions(text, relpath):
    """``text`` with each solution region replaced by a NotImplementedError stub: the student edition.

    The stub has the indentation of the region's BEGIN marker and carries the
    hint of :func:`region_hint`; every line outside the regions is kept byte
    for byte, and a text without regions is returned unchanged.

    Raises
    ------
    RegionError
        If the markers do not pair up or the text (or the stubbed text) is not valid Python.
    """
    regions = solution_regions(text, relpath)
    if not regions:
        return text
    lines = source_lines(text)
    out, cursor = [], 0
    for region in regions:
        out.extend(lines[cursor:region.begin - 1])
        end_line = lines[region.end - 1]
        newline = end_line[len(end_line.rstrip("\r\n")):]
        hint = region_hint(region, lines, relpath)
        out.append(f"{region.indent}raise NotImplementedError({hint!r}){newline}")
        cursor = region.end
    out.extend(lines[cursor:])
    stubbed = "".join(out)
    try:
        compile(stubbed, relpath, "exec")   # the stub must still be valid Python
    except SyntaxError as error:
        raise RegionError(f"{relpath}:{error.lineno}: not valid Python once stubbed ({error.msg})") from None
    return stubbed

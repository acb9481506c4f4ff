"""Write edits made to a source notebook in Jupyter back into its generator module.

``python assignments/build_notebooks.py --pull [NOTEBOOK...]`` runs this. The
generator of a notebook (``notebook_sources/nbXX_*.py``) makes its cells with
one ``c.md/code/solution/tests/written(...)`` call each, in order, in its
``cells()`` function. The edited notebook is compared with what the current
generator builds, and each difference becomes an edit of the generator's text
(located with :mod:`ast`, so its comments and layout stay):

- cells are matched by nbgrader ``grade_id``; the others (markdown) by their
  position between matched cells and the similarity of their text;
- changed text -> the call's string literal; for a ``fill(template, ...)``
  call, the template's text outside its ``<<placeholders>>`` (those hold values
  computed from the reference solution, and an edit inside them is refused);
- changed nbgrader metadata (the Create Assignment toolbar: kind, id, points)
  and ``cs_convnet`` metadata (``hint``, ``trusted_helpers``) -> the call's
  method and arguments; other arguments, keywords included, stay as written;
- new cells -> new calls at their place; deleted cells -> their call removed;
  cells moved -> their call moved.

What cannot be written back (text that comes from a shared constant such as
``cellkit.SETUP``, an edit inside a computed value, a cell kind that ``Cells``
has no method for...) is refused with one line naming the cell and why; the
rest is written. Nothing is written unless the rebuilt notebook reproduces
every edit that was not refused. Outputs, execution counts and view state
(collapsed, scrolled...) are not part of the sources.
"""

import ast
import difflib
import inspect
import shutil
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import build_notebooks as builder

KINDS = ("md", "code", "solution", "tests", "written")
TEXT_PARAM = {"md": "text", "code": "text", "solution": "text", "tests": "text", "written": "answer"}
# metadata["cs_convnet"][key] of a kind <-> a parameter of its Cells method
CS_CONVNET_PARAMS = {("solution", "hint"): "hint", ("code", "trusted_helpers"): "trusted"}
# Cell metadata that is view state, not content: not kept, not reported.
VIEW_STATE = {"collapsed", "scrolled", "jupyter", "execution", "ExecuteTime", "trusted",
              "jp-MarkdownHeadingCollapsed"}
SIMILAR = 0.5  # least text similarity for two unmatched cells to count as one cell edited


class SyncError(ValueError):
    """The notebook as a whole cannot be pulled (one line: what and why)."""


def kind_of(cell):
    """The ``Cells`` method that makes a cell like ``cell``, or ``(None, why)``."""
    meta = cell.metadata.get("nbgrader") or {}
    solution, grade, locked, task = (bool(meta.get(k)) for k in ("solution", "grade", "locked", "task"))
    markdown = cell.cell_type == "markdown"
    if cell.cell_type not in ("markdown", "code"):
        return None, f"a {cell.cell_type} cell (the course has markdown and code cells only)"
    if task:
        return None, "a 'Manually graded task' cell (Cells has no method for it)"
    if solution and grade:
        return ("written", None) if markdown else (None, "an 'Autograded answer' cell (Cells has no method "
                                                         "for it: use a solution cell and a test cell)")
    if solution:
        return (None, "a markdown solution cell without points (use 'Manually graded answer')") if markdown \
            else ("solution", None)
    if grade:
        return (None, "a graded markdown cell that is not an answer") if markdown else ("tests", None)
    if markdown:
        return (None, "a read-only markdown cell (markdown cells are never locked here)") if locked else ("md", None)
    return "code", None  # a code cell: provided code, always locked here


def grade_id(cell):
    return (cell.metadata.get("nbgrader") or {}).get("grade_id")


def _norm(text):
    """Text as the builder can give it back: blank lines empty, none at the ends."""
    return "\n".join(line if line.strip() else "" for line in text.split("\n")).strip("\n")


def _text(cell):
    return _norm(cell.source)


def _label(cell, index):
    gid = grade_id(cell)
    if gid and "-provided-" not in gid:
        return gid
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    first = first if len(first) <= 40 else first[:37] + "..."
    return f"{cell.cell_type} cell {index + 1} ({first!r})"


def _str_literal(value):
    return f'"{value}"' if '"' not in value and "\\" not in value and value.isprintable() else repr(value)


# --- matching the cells of two notebooks ------------------------------------------------------

def _longest_increasing(pairs):
    """The longest subsequence of ``pairs`` [(e, b)] (sorted by e) whose b increase."""
    best = []  # best[i]: the chain ending at pairs[i]
    for i, (_, b) in enumerate(pairs):
        chain = max((best[j] for j in range(i) if pairs[j][1] < b), key=len, default=[])
        best.append(chain + [pairs[i]])
    return max(best, key=len, default=[])


def _similarity(a, b):
    return difflib.SequenceMatcher(None, _text(a), _text(b), autojunk=False).ratio()


def _align_gap(base, edited, base_gap, edited_gap):
    """In-order pairs of similar cells of the same type, with the largest total similarity."""
    n, m = len(base_gap), len(edited_gap)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best = max(score[i + 1][j], score[i][j + 1])
            b, e = base[base_gap[i]], edited[edited_gap[j]]
            if b.cell_type == e.cell_type:
                similar = _similarity(b, e)
                if similar >= SIMILAR:
                    best = max(best, similar + score[i + 1][j + 1])
            score[i][j] = best
    pairs, i, j = {}, 0, 0
    while i < n and j < m:
        if score[i][j] == score[i + 1][j]:
            i += 1
        elif score[i][j] == score[i][j + 1]:
            j += 1
        else:
            pairs[edited_gap[j]] = base_gap[i]
            i, j = i + 1, j + 1
    return pairs


def match(base, edited):
    """Pair the cells of ``edited`` with those of ``base``.

    Returns ``(kept, moved)``: ``{edited index: base index}`` of cells in the same
    order in both, and of cells that moved (matched by grade_id, or by unchanged
    text). Unpaired edited cells are new; unpaired base cells were deleted.
    """
    ids = {}
    for index, cell in enumerate(edited):
        gid = grade_id(cell)
        if gid in ids:
            raise SyncError(f"two cells have the grade_id {gid!r} (cells {ids[gid] + 1} and {index + 1}); "
                            f"every nbgrader cell needs its own")
        if gid:
            ids[gid] = index
    base_ids = {grade_id(cell): index for index, cell in enumerate(base) if grade_id(cell)}
    anchors = [(e, base_ids[grade_id(cell)]) for e, cell in enumerate(edited) if grade_id(cell) in base_ids]
    in_order = _longest_increasing(anchors)
    kept = dict(in_order)
    moved = {e: b for e, b in anchors if e not in kept}
    taken_e, taken_b = {e for e, _ in anchors}, {b for _, b in anchors}
    bounds = [(-1, -1)] + in_order + [(len(edited), len(base))]
    for (e0, b0), (e1, b1) in zip(bounds, bounds[1:]):
        edited_gap = [e for e in range(e0 + 1, e1) if e not in taken_e]
        base_gap = [b for b in range(b0 + 1, b1) if b not in taken_b]
        kept.update(_align_gap(base, edited, base_gap, edited_gap))
    # A cell without grade_id moved unchanged: keep its call (a copy would lose a fill() or a constant).
    unpaired_b = [b for b in range(len(base)) if b not in taken_b and b not in kept.values()]
    for e, cell in enumerate(edited):
        if e in kept or e in moved:
            continue
        same = next((b for b in unpaired_b if base[b].cell_type == cell.cell_type and _text(base[b]) == _text(cell)
                     and grade_id(base[b]) is None and grade_id(cell) is None), None)
        if same is not None:
            moved[e] = same
            unpaired_b.remove(same)
    return dict(sorted(kept.items())), dict(sorted(moved.items()))


# --- the generator's source -----------------------------------------------------------------------

@dataclass
class Call:
    """One ``c.<kind>(...)`` statement of ``cells()``."""
    kind: str
    stmt: ast.Expr
    args: dict  # parameter name -> ast node


@dataclass
class Generator:
    path: Path
    text: str
    lines: list
    cells_var: str
    prefix: str
    calls: list
    signatures: dict

    def offset(self, lineno, col):
        """Character offset of an ast (line, UTF-8 byte column) position."""
        line = self.lines[lineno - 1]
        return sum(len(x) for x in self.lines[:lineno - 1]) + len(line.encode("utf-8")[:col].decode("utf-8"))

    def segment(self, node):
        return self.text[self.offset(node.lineno, node.col_offset):self.offset(node.end_lineno, node.end_col_offset)]

    def line_span(self, stmt):
        """Offsets of the whole lines a statement occupies."""
        start = sum(len(x) for x in self.lines[:stmt.lineno - 1])
        return start, sum(len(x) for x in self.lines[:stmt.end_lineno])

    def indent(self, stmt):
        line = self.lines[stmt.lineno - 1]
        return line[:len(line) - len(line.lstrip())]


def parse_generator(path, cellkit):
    text = Path(path).read_text(encoding="utf-8")
    tree = ast.parse(text)
    function = next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "cells"), None)
    if function is None:
        raise SyncError(f"{path.name} has no cells() function")
    cells_var = prefix = None
    for stmt in function.body:
        if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "Cells"):
            cells_var = stmt.targets[0].id
            if not (stmt.value.args and isinstance(stmt.value.args[0], ast.Constant)):
                raise SyncError(f"{path.name}: the Cells(...) prefix is not a string literal")
            prefix = stmt.value.args[0].value
    if cells_var is None:
        raise SyncError(f"{path.name}: cells() makes no Cells(...) object")
    signatures = {kind: inspect.signature(getattr(cellkit.Cells, kind)) for kind in KINDS}
    gen = Generator(Path(path), text, text.splitlines(keepends=True), cells_var, prefix, [], signatures)
    top = set()
    for stmt in function.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in KINDS
                and isinstance(call.func.value, ast.Name) and call.func.value.id == cells_var):
            top.add(id(call))
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                raise SyncError(f"{path.name} line {stmt.lineno}: *args/**kwargs in a cell call")
            before = gen.text[gen.line_span(stmt)[0]:gen.offset(stmt.lineno, stmt.col_offset)]
            after = gen.text[gen.offset(stmt.end_lineno, stmt.end_col_offset):gen.line_span(stmt)[1]].strip()
            if before.strip() or (after and not after.startswith("#")):
                raise SyncError(f"{path.name} line {stmt.lineno}: a cell call shares its lines with other code")
            bound = signatures[call.func.attr].bind(None, *call.args, **{k.arg: k.value for k in call.keywords})
            args = dict(bound.arguments)
            args.pop(next(iter(args)))
            gen.calls.append(Call(call.func.attr, stmt, args))
    for node in ast.walk(function):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in KINDS
                and isinstance(node.func.value, ast.Name) and node.func.value.id == cells_var
                and id(node) not in top):
            raise SyncError(f"{path.name} line {node.lineno}: a cell call inside a loop, branch or expression "
                            f"cannot be matched to its cell; write it as a statement of cells()")
    return gen


# --- literals -------------------------------------------------------------------------------------

def text_literal(text, indent, original=None):
    """Source of a string literal whose dedented, newline-stripped value is ``text``, in the layout of
    the generators (a raw triple-quoted string, its lines at ``indent``); None if there is none."""
    if text != textwrap.dedent(text).strip("\n"):
        return None  # every line indented, or blank lines at the ends: dedent would change it
    styles = ["r'''", 'r"""', "'''", '"""']
    if original:
        head = original[:4] if original[:1] in "rR" else original[:3]
        if head in styles:
            styles.remove(head)
            styles.insert(0, head)
    body = "\n".join(indent + line if line.strip() else "" for line in text.split("\n"))
    for style in styles:
        quote = style.lstrip("rR")
        candidate = f"{style}\n{body}\n{indent}{quote}"
        if not style.startswith("r"):
            candidate = f"{style}\n" + body.replace("\\", "\\\\").replace(quote, "\\" + quote) + f"\n{indent}{quote}"
        try:
            value = ast.literal_eval(candidate)
        except (SyntaxError, ValueError):
            continue
        if textwrap.dedent(value).strip("\n") == text:
            return candidate
    return None


def number_literal(value):
    value = float(value)
    return repr(int(value)) if value.is_integer() else repr(value)


# --- fill() templates -----------------------------------------------------------------------------

START, NAME_END, END = "\x02", "\x01", "\x03"


def new_template(fill, template, values, old_text, new_text):
    """The template of ``fill(template, **values)`` that gives ``new_text``, its placeholders untouched;
    or raise ValueError naming the placeholder an edit touches."""
    marked = fill(template, **{name: f"{START}{name}{NAME_END}{str(value).strip(chr(10))}{END}"
                               for name, value in values.items()})
    spans, plain, cursor = [], "", 0
    while (begin := marked.find(START, cursor)) >= 0:
        name_end, stop = marked.index(NAME_END, begin), marked.index(END, begin)
        plain += marked[cursor:begin]
        rendered = marked[name_end + 1:stop]
        spans.append((len(plain), len(plain) + len(rendered), marked[begin + 1:name_end]))
        plain += rendered
        cursor = stop + 1
    plain += marked[cursor:]
    if plain != old_text:
        raise ValueError("its placeholders cannot be located in the built text")
    blocks = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False).get_matching_blocks()
    pieces, cursor = [], 0
    for start, end, name in spans:
        block = next((b for b in blocks if b.a <= start and end <= b.a + b.size), None)
        if block is None:
            raise ValueError(f"the edit changes <<{name}>>, a value computed from the reference solution")
        new_start = block.b + (start - block.a)
        if new_start < cursor:
            raise ValueError(f"the edit moves <<{name}>>, a value computed from the reference solution")
        pieces.append(new_text[cursor:new_start] + f"<<{name}>>")
        cursor = new_start + (end - start)
    pieces.append(new_text[cursor:])
    result = "".join(pieces)
    if _norm(fill(result, **values)) != new_text:
        raise ValueError("the edit changes the indentation of a line holding a computed value")
    return result


# --- planning the edits ----------------------------------------------------------------------------

@dataclass
class Plan:
    """What a pull does to one generator: statement texts, notes and refusals."""
    stmt_text: dict = field(default_factory=dict)  # base index -> new statement text ("" = removed)
    after: dict = field(default_factory=dict)  # base index -> [statement text inserted after it]
    before_first: list = field(default_factory=list)
    done: list = field(default_factory=list)  # one line per change written back
    refused: list = field(default_factory=list)  # one line per edit not written back
    refused_cells: set = field(default_factory=set)  # edited indices not verified (refused)
    prefixed: dict = field(default_factory=dict)  # edited index -> the grade_id the rebuild gives it
    absent: set = field(default_factory=set)  # edited indices of refused new cells (not in the rebuild)


class _Planner:
    def __init__(self, gen, base, edited, fills, cellkit):
        self.gen, self.base, self.edited, self.fills, self.cellkit = gen, base, edited, fills, cellkit
        self.plan = Plan()

    def refuse(self, e, why):
        self.plan.refused.append(f"refused {_label(self.edited[e], e)}: {why}")
        self.plan.refused_cells.add(e)

    def local_id(self, e, old_id=None):
        """The id to pass to Cells for edited cell ``e`` (Cells prefixes it)."""
        gid = grade_id(self.edited[e])
        if gid is None:
            return old_id or f"cell-{e + 1:03d}"
        prefix = f"{self.gen.prefix}-"
        if gid.startswith(prefix):
            return gid[len(prefix):]
        self.plan.prefixed[e] = prefix + gid
        self.plan.done.append(f"grade_id {gid!r} becomes {prefix + gid!r} (the builder prefixes the ids of "
                              f"this notebook with {prefix!r})")
        return gid

    # -- text
    def text_source(self, e, b, call, indent):
        """The new source of the call's text argument, or None (refused) when it cannot change."""
        node = call.args[TEXT_PARAM[call.kind]]
        new_text = _text(self.edited[e])
        old_source = self.gen.segment(node)
        if b is not None and _text(self.base[b]) == new_text:
            return old_source
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            literal = text_literal(new_text, indent, old_source)
            if literal is None:
                self.refuse(e, "its new text cannot be a dedented string literal (every line indented, "
                               "or blank lines at its ends)")
            return literal
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "fill"
                and node.args and isinstance(node.args[0], ast.Constant) and b is not None):
            template = node.args[0].value
            record = next((r for r in self.fills if r[0] == template and r[2] == _text(self.base[b])), None)
            if record is None:
                self.refuse(e, "its fill() call could not be matched with the text it built")
                return None
            try:
                updated = new_template(self.cellkit.fill, template, record[1], record[2], new_text)
            except ValueError as error:
                self.refuse(e, f"{error}; change how the generator computes it in {self.gen.path.name}")
                return None
            literal = text_literal(updated, indent, self.gen.segment(node.args[0]))
            if literal is None:
                self.refuse(e, "its new template cannot be a dedented string literal")
                return None
            start = self.gen.offset(node.args[0].lineno, node.args[0].col_offset) - self.gen.offset(
                node.lineno, node.col_offset)
            end = start + len(self.gen.segment(node.args[0]))
            return old_source[:start] + literal + old_source[end:]
        where = ast.unparse(node)
        if isinstance(node, ast.Name) and hasattr(self.cellkit, node.id):
            self.refuse(e, f"its text is {node.id}, shared by every notebook: edit it in cellkit.py, then build")
            return None
        self.refuse(e, f"its text comes from {where if len(where) < 40 else where[:37] + '...'} "
                       f"(not a string literal in {self.gen.path.name}); edit the text there")
        return None

    # -- one call
    def call_text(self, e, b):
        """The statement for edited cell ``e`` (matched with base cell ``b``, or new when None);
        None when the cell is refused and has no statement to keep."""
        cell = self.edited[e]
        kind, why = kind_of(cell)
        if kind is None:
            self.refuse(e, f"it is {why}")
            return None
        old = self.gen.calls[b] if b is not None else None
        indent = self.gen.indent((old or self.gen.calls[0]).stmt)
        params = self.gen.signatures[kind].parameters
        label, changes = _label(cell, e), []
        args = {}
        if old:
            for name, node in old.args.items():
                if name == TEXT_PARAM[old.kind]:
                    continue
                if name in params:
                    args[name] = self.gen.segment(node)
                elif name not in ("grade_id", "points"):
                    changes.append(f"{name}={self.gen.segment(node)} dropped (Cells.{kind} takes no {name})")
            if old.kind != kind:
                changes.append(f"kind {old.kind} -> {kind}")
        # text
        if old:
            source = self.text_source(e, b, old, indent)
            if source is None:
                source = self.gen.segment(old.args[TEXT_PARAM[old.kind]])
            elif source != self.gen.segment(old.args[TEXT_PARAM[old.kind]]):
                changes.append("text")
        else:
            source = text_literal(_text(cell), indent)
            if source is None:
                self.refuse(e, "its text cannot be a dedented string literal (every line indented)")
                return None
        args[TEXT_PARAM[kind]] = source
        # nbgrader id and points
        if "grade_id" in params:
            old_local = ast.literal_eval(args["grade_id"]) if "grade_id" in args and self._is_literal(
                args["grade_id"]) else None
            if "grade_id" in args and old_local is None:
                if grade_id(cell) != grade_id(self.base[b]):
                    self.refuse(e, f"its grade_id comes from {args['grade_id']}, not a literal in the call")
            else:
                local = self.local_id(e, old_local)
                if local != old_local:
                    if old_local is not None:
                        changes.append(f"grade_id {old_local!r} -> {local!r}")
                    args["grade_id"] = _str_literal(local)
        elif old and old.kind == kind == "code" and grade_id(cell) != grade_id(self.base[b]):
            changes.append(f"grade_id {grade_id(cell)!r} not kept (provided cells are numbered by the builder)")
        if "points" in params:
            points = (cell.metadata.get("nbgrader") or {}).get("points", 0)
            if "points" in args and not self._is_number(args["points"]):
                if float(points) != float((self.base[b].metadata.get("nbgrader") or {}).get("points", 0)):
                    self.refuse(e, f"its points come from {args['points']}, not a number in the call")
            elif "points" not in args or float(ast.literal_eval(args["points"])) != float(points):
                if "points" in args:
                    changes.append(f"points {args['points']} -> {number_literal(points)}")
                args["points"] = number_literal(points)
        # cs_convnet metadata that stands for a parameter
        extra = dict(cell.metadata.get("cs_convnet") or {})
        for (mkind, key), param in CS_CONVNET_PARAMS.items():
            if mkind != kind or param not in params:
                continue
            default = params[param].default
            required = default is inspect.Parameter.empty
            literal = param in args and self._is_literal(args[param])
            if param in args and not literal:  # computed in the generator: only an unchanged value is fine
                if extra.pop(key, None) != self._built_value(b, key):
                    self.refuse(e, f"its {key} comes from {args[param]}, not a literal in the call")
                continue
            current = ast.literal_eval(args[param]) if literal else (None if required else default)
            value = extra.pop(key, current if required else default)
            if value is None and required:
                value = f"complete the cell {self.gen.prefix}-{ast.literal_eval(args['grade_id'])}"
                changes.append(f"{param} set to {value!r} (edit it in {self.gen.path.name})")
            if value != current:
                if param in args:
                    changes.append(f"{param} {args[param]} -> {value!r}")
                elif old:
                    changes.append(f"{param}={value!r}")
                args[param] = _str_literal(value) if isinstance(value, str) else repr(value)
        if extra:
            self.refuse(e, f"metadata cs_convnet {sorted(extra)} has no argument in Cells.{kind}")
        other = sorted(k for k, v in cell.metadata.items()
                       if k not in VIEW_STATE and k not in ("nbgrader", "cs_convnet") and not (k == "tags" and not v))
        if other:
            self.plan.refused.append(f"refused {label}: metadata {', '.join(other)} not kept (Cells has no place "
                                     f"for it)")
        text = self._format(kind, args, indent, old)
        if old is None:
            self.plan.done.append(f"new cell {label}: {self.gen.cells_var}.{kind}(...)")
        elif changes:
            self.plan.done.append(f"{label}: {', '.join(changes)}")
        return text

    def _built_value(self, b, key):
        return (self.base[b].metadata.get("cs_convnet") or {}).get(key) if b is not None else None

    @staticmethod
    def _is_literal(source):
        try:
            ast.literal_eval(source)
            return True
        except (SyntaxError, ValueError):
            return False

    @classmethod
    def _is_number(cls, source):
        return cls._is_literal(source) and isinstance(ast.literal_eval(source), (int, float))

    @classmethod
    def _points_changed(cls, source, points):
        return not cls._is_number(source) or float(ast.literal_eval(source)) != float(points)

    def _format(self, kind, args, indent, old):
        """The statement text: the old one with its argument nodes replaced, or a new call."""
        if old and old.kind == kind and set(args) == set(old.args):
            start, _ = self.gen.line_span(old.stmt)
            text = self.gen.text[start:self.gen.line_span(old.stmt)[1]]
            replaced = sorted(((self.gen.offset(n.lineno, n.col_offset) - start,
                                self.gen.offset(n.end_lineno, n.end_col_offset) - start, args[name])
                               for name, n in old.args.items()), reverse=True)
            for begin, end, source in replaced:
                text = text[:begin] + source + text[end:]
            return text
        params = list(self.gen.signatures[kind].parameters.values())[1:]
        parts, keyword = [], False
        for param in params:
            if param.name not in args:
                keyword = True
                continue
            if old and param.name in old.args and any(k.arg == param.name for k in old.stmt.value.keywords):
                keyword = True
            parts.append(f"{param.name}={args[param.name]}" if keyword else args[param.name])
        return f"{indent}{self.gen.cells_var}.{kind}({', '.join(parts)})\n"


def plan_pull(gen, base, edited, fills, cellkit):
    """The plan that turns ``gen`` (which builds ``base``) into a generator of ``edited``."""
    planner = _Planner(gen, base, edited, fills, cellkit)
    plan = planner.plan
    if len(gen.calls) != len(base):
        raise SyncError(f"{gen.path.name}: {len(gen.calls)} cell calls in cells() but {len(base)} cells built; "
                        f"every cell must come from one {gen.cells_var}.<kind>(...) statement of cells()")
    for call, cell in zip(gen.calls, base):
        if kind_of(cell)[0] != call.kind:
            raise SyncError(f"{gen.path.name} line {call.stmt.lineno}: {gen.cells_var}.{call.kind}(...) "
                            f"built a cell of another kind; cannot match calls with cells")
    kept, moved = match(base, edited)
    anchor = None  # the base index of the last kept cell, in edited order
    for e, cell in enumerate(edited):
        b = kept.get(e, moved.get(e))
        text = planner.call_text(e, b)
        if b is not None and text is None:  # refused: the statement stays as it is
            start, end = gen.line_span(gen.calls[b].stmt)
            text = gen.text[start:end]
        if e in kept:
            anchor = b
            plan.stmt_text[b] = text
            continue
        if text is None:
            plan.absent.add(e)
            continue
        if b is not None:
            plan.stmt_text[b] = ""
            plan.done.append(f"moved {_label(cell, e)}")
        (plan.after.setdefault(anchor, []) if anchor is not None else plan.before_first).append(text)
    matched = set(kept.values()) | set(moved.values())
    for b, cell in enumerate(base):
        if b not in matched:
            plan.stmt_text[b] = ""
            plan.done.append(f"deleted {_label(cell, b)}")
    outputs = sum(1 for cell in edited if cell.get("outputs") or cell.get("execution_count"))
    if outputs:
        plan.done.append(f"outputs of {outputs} cell(s) not kept (the source notebooks carry none)")
    return plan


def apply_plan(gen, plan):
    """The generator's new text."""
    pieces, cursor = [], 0
    first_kept = next((b for b in range(len(gen.calls)) if plan.stmt_text.get(b) != ""), 0)
    for b, call in enumerate(gen.calls):
        start, end = gen.line_span(call.stmt)
        text = plan.stmt_text.get(b, gen.text[start:end])
        if b == first_kept:
            text = "".join(plan.before_first) + text
        text += "".join(plan.after.get(b, []))
        if text == "" and gen.text[cursor:start].endswith("\n\n") and gen.text[end:end + 1] == "\n":
            start -= 1  # a removed statement between blank lines takes one of them along
        pieces.append(gen.text[cursor:start] + text)
        cursor = end
    pieces.append(gen.text[cursor:])
    return "".join(pieces)


# --- checking the result ---------------------------------------------------------------------------

NBGRADER_FIELDS = ("grade_id", "points", "locked", "solution", "grade", "schema_version", "task")


def differences(rebuilt, edited, plan):
    """Lines naming each edit of ``edited`` (not refused) that ``rebuilt`` does not reproduce.

    The rebuilt cells are the edited ones in order, less the refused new cells.
    """
    expected = [e for e in range(len(edited)) if e not in plan.absent]
    if len(expected) != len(rebuilt):
        return [f"the rebuilt notebook has {len(rebuilt)} cells, the edited one {len(expected)} to keep"]
    found = []
    for e, other in zip(expected, rebuilt):
        if e in plan.refused_cells:
            continue
        cell, label = edited[e], _label(edited[e], e)
        kind = kind_of(cell)[0]
        if _text(other) != _text(cell) or other.cell_type != cell.cell_type:
            found.append(f"{label}: the rebuilt text differs")
        if kind == "md":
            want = {}
        elif kind == "code":  # provided code: locked, and numbered by the builder
            want = {**(cell.metadata.get("nbgrader") or {}), "locked": True, "schema_version": builder_schema(other)}
            want["grade_id"] = (other.metadata.get("nbgrader") or {}).get("grade_id")
        else:
            want = dict(cell.metadata.get("nbgrader") or {})
            want["grade_id"] = plan.prefixed.get(e, want.get("grade_id"))
        got = other.metadata.get("nbgrader") or {}
        for key in NBGRADER_FIELDS if want or got else ():
            mine, theirs = want.get(key), got.get(key)
            if key == "points":
                same = (mine is None) == (theirs is None) and (mine is None or float(mine) == float(theirs))
            else:
                same = (mine or False) == (theirs or False)
            if not same:
                found.append(f"{label}: nbgrader {key} is {theirs!r} in the rebuild, {mine!r} in the edit")
        meta, rebuilt_meta = cell.metadata.get("cs_convnet") or {}, other.metadata.get("cs_convnet") or {}
        if kind == "solution" and "hint" not in meta:
            meta = {**meta, "hint": rebuilt_meta.get("hint")}  # a new solution cell gets a default hint
        if meta != rebuilt_meta:
            found.append(f"{label}: metadata cs_convnet is {rebuilt_meta} in the rebuild, {meta} in the edit")
    return found


def builder_schema(cell):
    return (cell.metadata.get("nbgrader") or {}).get("schema_version")


# --- one notebook ----------------------------------------------------------------------------------

@dataclass
class Result:
    generator: Path
    done: list
    refused: list
    new_text: str
    old_text: str


def _build_recording(module_name, generators_dir):
    """The built notebook, with every fill(template, **values) call and its result recorded."""
    module = builder.load_generator(module_name, generators_dir)
    fills, fill = [], getattr(module, "fill", None)

    def recording_fill(template, **values):
        result = fill(template, **values)
        fills.append((template, values, result))
        return result

    if fill is not None:  # a generator that never calls fill() need not import it
        module.fill = recording_fill
    return builder.assemble(module.cells(), module_name), fills, module.cellkit


def pull_notebook(edited_path, module_name, generators_dir):
    """Plan and check the write-back of ``edited_path``; return a :class:`Result` (nothing is written)."""
    edited_nb = nbformat.read(edited_path, as_version=4)
    base_nb, fills, cellkit = _build_recording(module_name, generators_dir)
    recorded = builder.recorded_digest(edited_nb)
    if recorded != builder.digest(base_nb):
        raise SyncError(
            "it was built from other sources than the generators now hold "
            + ("(it has no source digest)" if recorded is None else "(its source digest differs)")
            + ": pulling it would undo their changes. Pull it against the sources it was built from "
              "(e.g. a git checkout of that commit), or copy its edits by hand")
    gen = parse_generator(Path(generators_dir) / f"{module_name}.py", cellkit)
    plan = plan_pull(gen, base_nb.cells, edited_nb.cells, fills, cellkit)
    new_text = apply_plan(gen, plan)
    try:
        ast.parse(new_text)
    except SyntaxError as error:
        raise SyncError(f"internal error: the new {gen.path.name} does not parse ({error}); nothing written")
    if new_text == gen.text:
        rebuilt = base_nb
    else:
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "generators"
            shutil.copytree(generators_dir, copy, ignore=shutil.ignore_patterns("__pycache__"))
            (copy / gen.path.name).write_text(new_text, encoding="utf-8")
            try:
                rebuilt = builder.build(module_name, copy)
            except Exception as error:  # the generator's own code raised: report it, write nothing
                raise SyncError(f"the edited {gen.path.name} fails to build ({type(error).__name__}: "
                                f"{str(error).splitlines()[0] if str(error) else ''}); nothing written")
    lost = differences(rebuilt.cells, edited_nb.cells, plan)
    if lost:
        raise SyncError(f"the write-back would not reproduce {len(lost)} edit(s), nothing written: "
                        + "; ".join(lost))
    return Result(gen.path, plan.done, plan.refused, new_text, gen.text)


def _assignment_of(name, notebooks_dir):
    for folder, filename, module_name in builder.ASSIGNMENTS:
        path = Path(name)
        if path.suffix == ".ipynb" and path.name == filename:
            if not path.exists() and path == Path(filename):  # a bare file name: the one in notebooks_dir
                path = Path(notebooks_dir) / folder / filename
            return path, (folder, filename, module_name)
        if path.suffix != ".ipynb" and path.name == folder:
            return (path if path.is_dir() else Path(notebooks_dir) / folder) / filename, (folder, filename, module_name)
    known = ", ".join(f for f, _, _ in builder.ASSIGNMENTS)
    raise SyncError(f"{name}: not a course notebook; expected one of the notebook files of {known} or a folder name")


def main(names, generators_dir, notebooks_dir, dry_run=False, out=sys.stdout):
    """Pull the notebooks named (default: every one that differs from its build); return an exit status."""
    from cs_convnet.atomic import atomic_open

    try:
        if names:
            targets = [_assignment_of(name, notebooks_dir) for name in names]
        else:
            stale = {str(p) for p in builder.stale_notebooks((), generators_dir, notebooks_dir)}
            targets = [(Path(notebooks_dir) / f / n, (f, n, m)) for f, n, m in builder.ASSIGNMENTS
                       if str(Path(notebooks_dir) / f / n) in stale]
    except SyncError as error:
        print(f"error: {error}", file=out)
        return 2
    if not targets:
        print("nothing to pull: every notebook is what its generator builds", file=out)
    status = 0
    for path, (folder, filename, module_name) in targets:
        if not path.is_file():
            print(f"error: {path}: no such notebook", file=out)
            status = 2
            continue
        try:
            result = pull_notebook(path, module_name, generators_dir)
        except SyncError as error:
            print(f"error: {builder._shown(path)}: {error}", file=out)
            status = 2
            continue
        print(f"{builder._shown(path)} -> {builder._shown(result.generator)}", file=out)
        for line in result.done + result.refused:
            print(f"  {line}", file=out)
        if result.new_text == result.old_text and not result.refused:
            print("  no edits to pull", file=out)
        if dry_run:
            out.writelines(difflib.unified_diff(result.old_text.splitlines(keepends=True),
                                                result.new_text.splitlines(keepends=True),
                                                str(result.generator), str(result.generator)))
            status = max(status, 1 if result.refused else 0)
            continue
        if result.new_text != result.old_text:
            with atomic_open(result.generator) as handle:
                handle.write(result.new_text)
        if result.refused:
            # The notebook keeps the refused edits; restamp it so that it can be pulled again.
            nb = nbformat.read(path, as_version=4)
            stamp = builder.recorded_digest(builder.build(module_name, generators_dir))
            if builder.recorded_digest(nb) != stamp:  # else the generator is unchanged: write nothing
                nb.metadata.setdefault("cs_convnet", {})[builder.DIGEST_KEY] = stamp
                with atomic_open(path) as handle:
                    nbformat.write(nb, handle)
            print(f"  {len(result.refused)} edit(s) not written back: {builder._shown(path)} keeps them; make them "
                  f"in {result.generator.name} (then build) or undo them in Jupyter (then pull again)", file=out)
            status = max(status, 1)
            continue
        written = builder.write_notebook(folder, filename, module_name, generators_dir, notebooks_dir)
        print(f"  rebuilt {builder._shown(written)}", file=out)
    return status

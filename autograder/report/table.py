"""The grade table printed by ``autograde`` and ``demo``: read from the gradebook."""

from ..course import gradebook
from ..course.layout import PACKAGE_ASSIGNMENT


def grade_table(course):
    """Rows ``(student, {assignment: (score, max)}, total, max total, failed checks, cells to grade by hand)``."""
    table = gradebook.scores(course)
    manual, failed = {}, {}
    for row in gradebook.cell_rows(course):
        if row["needs_manual_grade"]:
            manual[row["student"]] = manual.get(row["student"], 0) + 1
        if row["assignment"] == PACKAGE_ASSIGNMENT and row["score"] < row["max_score"]:
            failed.setdefault(row["student"], []).append(row["cell"])
    rows = []
    for student in sorted(table):
        per = table[student]
        rows.append((student, per, sum(s for s, _ in per.values()), sum(m for _, m in per.values()),
                     failed.get(student, []), manual.get(student, 0)))
    return rows


def format_table(course, max_failed=4):
    """The grade table as text: scores per assignment, cells awaiting a grader, failed checks."""
    rows = grade_table(course)
    if not rows:
        return "no grades recorded yet"
    assignments = sorted({a for _, per, *_ in rows for a in per}, key=lambda a: (a == PACKAGE_ASSIGNMENT, a))
    header = ["student", *assignments, "total", "by hand", "failed package checks"]
    lines = []
    for student, per, total, top, failed, by_hand in rows:
        cells = [student]
        for a in assignments:
            cells.append(f"{per[a][0]:g}/{per[a][1]:g}" if a in per else "-")
        cells.append(f"{total:g}/{top:g}")
        cells.append(f"{by_hand} cell{'s' if by_hand > 1 else ''}" if by_hand else "-")
        shown = ", ".join(failed[:max_failed]) + (f" (+{len(failed) - max_failed})" if len(failed) > max_failed else "")
        cells.append(shown or "none")
        lines.append(cells)
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header) - 1)]
    out = []
    for r in [header, *lines]:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)

"""The class report as one HTML page, figures embedded as PNG (matplotlib, Agg canvas, no pyplot).

Every text that comes from a learner or from their code's output (student ids,
failure messages, notes) goes through :func:`html.escape`; figures carry only
check and function names, which the instructor wrote.
"""

import base64
import io
from datetime import datetime, timezone
from html import escape

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .settings import EXCLUDED_OUTCOMES, MOSTLY_FAILING, NEAR_ZERO, QUINTILES, RUN_PROBLEMS

FLAGGED, PLAIN, UNDEFINED = "#c0392b", "#4a78a8", "#999999"
MAX_LEGEND = 8
MAX_CATEGORIES = 15


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------

def _png(figure):
    """The figure as an <img> with a base64 data URI."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _label(text):
    """Matplotlib reads $...$ as mathematics: show dollars as dollars."""
    return str(text).replace("$", r"\$")


def _bar_height(count):
    return max(2.5, 0.24 * count + 1.2)


def score_histogram(totals, max_total, summary):
    figure = Figure(figsize=(7.5, 3.4))
    axes = figure.add_subplot()
    if len(totals):
        whole = max_total <= 60 and float(max_total).is_integer()
        bins = np.arange(-0.5, max_total + 1.5) if whole else np.linspace(0, max(max_total, 1e-9), 21)
        axes.hist(totals, bins=bins, color=PLAIN, edgecolor="white")
        mean, median, std = summary["mean"], summary["median"], summary["std"]
        axes.axvspan(mean - std, mean + std, color=PLAIN, alpha=0.12, label=f"mean ± std ({std:.2f})")
        axes.axvline(mean, color="black", label=f"mean {mean:.2f}")
        axes.axvline(median, color="black", linestyle="--", label=f"median {median:.2f}")
        axes.legend(loc="upper left", frameon=False, fontsize=8)
    axes.set_xlim(-0.5, max_total + 0.5)
    axes.set_xlabel(f"total score (out of {max_total:g})")
    axes.set_ylabel("learners")
    return _png(figure)


def check_bars(rows, key, xlabel, limits=None, lines=()):
    """One horizontal bar per check (flagged checks in red; NaN drawn as a grey tick marked 'undefined')."""
    figure = Figure(figsize=(7.5, _bar_height(len(rows))))
    axes = figure.add_subplot()
    y = np.arange(len(rows))[::-1]
    values = np.array([r[key] for r in rows], dtype=float)
    colors = [FLAGGED if r["flags"] else PLAIN for r in rows]
    axes.barh(y, np.nan_to_num(values), color=colors, height=0.7)
    for position, value in zip(y, values):
        if np.isnan(value):
            axes.text(0, position, " undefined", va="center", fontsize=7, color=UNDEFINED)
    for x, style in lines:
        axes.axvline(x, color="black", linestyle=style, linewidth=0.8)
    axes.set_yticks(y, [_label(r["check"]) for r in rows], fontsize=7)
    axes.set_ylim(-0.7, len(rows) - 0.3)
    if limits:
        axes.set_xlim(*limits)
    axes.set_xlabel(xlabel)
    return _png(figure)


def quintile_curves(rows):
    """Mean score (as a share of the check's points) per total-score quintile; flagged checks labelled."""
    figure = Figure(figsize=(7.5, 3.8))
    axes = figure.add_subplot()
    x = np.arange(1, QUINTILES + 1)
    labelled = 0
    for row in rows:
        share = np.array([row[f"mean_score_q{q}"] for q in x], dtype=float) / max(row["max_points"], 1e-12)
        if row["flags"] and labelled < MAX_LEGEND:
            axes.plot(x, share, marker="o", linewidth=1.8, label=_label(row["check"]))
            labelled += 1
        else:
            axes.plot(x, share, color=PLAIN if not row["flags"] else FLAGGED, alpha=0.35, linewidth=0.8)
    axes.set_xticks(x, [f"Q{q}" + (" (lowest)" if q == 1 else " (highest)" if q == QUINTILES else "") for q in x])
    axes.set_ylim(-0.05, 1.05)
    axes.set_ylabel("mean score / max points")
    axes.set_xlabel("fifth of the class by total score")
    if labelled:
        axes.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _png(figure)


def function_bars(rows):
    figure = Figure(figsize=(7.5, _bar_height(len(rows) * 1.6)))
    axes = figure.add_subplot()
    y = np.arange(len(rows))[::-1]
    for offset, key, color, name in ((0.27, "failure_pct", FLAGGED, "fail at least one check"),
                                     (0.0, "zero_pct", UNDEFINED, "score 0"),
                                     (-0.27, "full_pct", PLAIN, "full marks")):
        axes.barh(y + offset, [r[key] for r in rows], height=0.26, color=color, label=name)
    axes.set_yticks(y, [_label(r["function"]) for r in rows], fontsize=8)
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of learners")
    axes.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _png(figure)


def category_bars(rows):
    rows = rows[:MAX_CATEGORIES]
    figure = Figure(figsize=(7.5, _bar_height(len(rows))))
    axes = figure.add_subplot()
    y = np.arange(len(rows))[::-1]
    axes.barh(y, [r["learners"] for r in rows], color=PLAIN, height=0.7)
    axes.set_yticks(y, [_label(r["category"]) for r in rows], fontsize=8)
    axes.set_xlabel("learners with at least one failure of this kind")
    return _png(figure)


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged td { background: #fbeaea; }
code { font-size: 0.95em; }
.note { color: #555; font-size: 0.9em; }
"""


def _number(value, digits=2):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "undefined"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(header, rows, numeric=(), flagged=None):
    out = ["<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for index, row in enumerate(rows):
        mark = ' class="flagged"' if flagged and flagged[index] else ""
        cells = []
        for column, value in enumerate(row):
            cls = ' class="num"' if column in numeric else ""
            cells.append(f"<td{cls}>{value}</td>")
        out.append(f"<tr{mark}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _list(values, limit=None):
    values = list(values)
    shown = ", ".join(escape(str(v)) for v in (values[:limit] if limit else values))
    return shown + (f" (+{len(values) - limit})" if limit and len(values) > limit else "")


def render(report, files):
    """The HTML page of an :func:`autograder.report.analysis.analyse` report; ``files``: the CSV names."""
    summary, checks, functions = report["summary"], report["checks"], report["functions"]
    name = escape(report["assignment"])
    flagged = [r for r in checks if r["flags"]]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Class report: {name}</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<h1>Class report: {name}</h1>",
             f"<p class='note'>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from the gradebook "
             f"and the grading records. {summary['learners']} learners in the statistics"
             + (f"; {len(report['excluded'])} left out because their grading failed for the grader's own "
                f"reasons ({', '.join(EXCLUDED_OUTCOMES)}): {_list(report['excluded'], 20)}"
                if report["excluded"] else "")
             + ". Files: " + ", ".join(f"<a href='{escape(f)}'>{escape(f)}</a>" for f in files) + ".</p>"]

    parts.append("<h2>Scores</h2>")
    parts.append(_table(["learners", "mean", "median", "standard deviation", "min", "max", "out of"],
                        [[summary["learners"], _number(summary["mean"]), _number(summary["median"]),
                          _number(summary["std"]), _number(summary["min"]), _number(summary["max"]),
                          f"{report['max_total']:g}"]], numeric=range(7)))
    parts.append(score_histogram(report["totals"], report["max_total"], summary))
    parts.append("<p class='note'>The standard deviation is the population one (numpy's <code>std</code>, "
                 "ddof = 0).</p>")

    parts.append(f"<h2>Checks ({len(flagged)} of {len(checks)} flagged)</h2>")
    parts.append(
        "<p class='note'><b>Discrimination</b> is the <em>corrected item-total correlation</em>: the Pearson "
        "correlation, over the learners, of the check's score with the total of all the <em>other</em> checks "
        "(leaving the check out of the total keeps it from correlating with itself). A good check is passed "
        "more often by learners who do well elsewhere (positive). A check is flagged when its discrimination is "
        f"negative or below {NEAR_ZERO:g} (it does not track the rest of the work: broken, misleading or "
        "testing something else), undefined because every learner got the same score, when at least "
        f"{MOSTLY_FAILING:.0%} of learners fail it, or when it timed out or crashed for at least "
        f"{RUN_PROBLEMS:.0%} of them. <b>Quintiles</b>: the class sorted by total score and cut into five "
        "equal groups (Q1 lowest; equal totals ordered by name); each column is the check's mean score in "
        "that group.</p>")
    if flagged:
        parts.append("<ul>" + "".join(f"<li><b>{escape(r['check'])}</b>: {escape('; '.join(r['flags']))}</li>"
                                      for r in flagged) + "</ul>")
    header = ["check", "function", "points", "fail %", "zero %", "full %", "discrimination",
              *[f"Q{q}" for q in range(1, QUINTILES + 1)], "timeouts", "crashes", "flags"]
    rows = [[escape(r["check"]), escape(r["function"]), f"{r['max_points']:g}", _number(r["failure_pct"], 1),
             _number(r["zero_pct"], 1), _number(r["full_pct"], 1), _number(r["discrimination"]),
             *[_number(r[f"mean_score_q{q}"]) for q in range(1, QUINTILES + 1)], r["timeouts"], r["crashes"],
             escape("; ".join(r["flags"]))] for r in checks]
    parts.append(_table(header, rows, numeric=range(2, 14), flagged=[bool(r["flags"]) for r in checks]))
    parts.append("<h3>Failure rate per check</h3>")
    parts.append(check_bars(checks, "failure_pct", "% of learners failing the check", (0, 100)))
    parts.append("<h3>Discrimination per check</h3>")
    parts.append(check_bars(checks, "discrimination", "corrected item-total correlation", (-1, 1),
                            lines=((0, "-"), (NEAR_ZERO, ":"))))
    parts.append("<h3>Mean score per quintile of the class</h3>")
    parts.append("<p class='note'>A sound check rises from left to right; a flat or falling line is worth "
                 "a look. Flagged checks are named.</p>")
    parts.append(quintile_curves(checks))

    parts.append("<h2>Learner functions</h2>" if report["assignment"] == "package_checks"
                 else "<h2>Notebooks</h2>")
    parts.append("<p class='note'>A learner fails a function when any of its checks loses points; zero % and "
                 "full % count the learners with none or all of the function's points. Discrimination: the "
                 "function's subtotal against the rest of the total.</p>")
    parts.append(_table(["function", "checks", "points", "mean score", "fail %", "zero %", "full %",
                         "discrimination", "flagged checks"],
                        [[escape(r["function"]), r["checks"], f"{r['max_points']:g}", _number(r["mean_score"]),
                          _number(r["failure_pct"], 1), _number(r["zero_pct"], 1), _number(r["full_pct"], 1),
                          _number(r["discrimination"]), r["flagged_checks"]] for r in functions],
                        numeric=range(1, 9)))
    parts.append(function_bars(functions))

    parts.append(_outcomes_section(report))
    parts.append(_mistakes_section(report))
    parts.append("</body></html>")
    return "\n".join(parts)


def _outcomes_section(report):
    rows = report["outcomes"]
    counts = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    parts = ["<h2>Timeouts and crashes</h2>",
             "<p class='note'>Outcome of each learner's grading run: as recorded by the grading engine "
             "when it records one, otherwise derived from the checks' messages and the grading notes. "
             "Check timeouts and crashes cost the learner that check; checks of the same function after them "
             "are not run.</p>",
             _table(["outcome", "learners"], [[escape(k), v] for k, v in sorted(counts.items())], numeric=(1,))]
    troubled = [r for r in rows if r["timed_out_checks"] or r["crashed_checks"] or r["outcome"] != "graded"]
    if troubled:
        parts.append(_table(
            ["learner", "outcome", "source", "timed out", "crashed", "not run", "notes"],
            [[escape(r["student"]), escape(r["outcome"]), escape(r["source"]), _list(r["timed_out_checks"], 6),
              _list(r["crashed_checks"], 6), _list(r["not_run_checks"], 6), _list(r["notes"], 3)]
             for r in troubled]))
    else:
        parts.append("<p>No timeouts, crashes or failed runs.</p>")
    return "\n".join(parts)


def _mistakes_section(report):
    rows = report["signatures"]
    parts = ["<h2>Common mistakes</h2>",
             "<p class='note'>Failed checks grouped by learner function and failure signature: the check's "
             "message with counts, shapes, indices, paths and line numbers replaced by placeholders (the "
             "checks' own hints are kept word for word). A learner counts once per signature however many "
             "checks it fails; <em>failures</em> counts the failed checks.</p>"]
    if not rows:
        parts.append("<p>No failed checks.</p>")
        return "\n".join(parts)
    parts.append(category_bars(report["categories"]))
    parts.append(_table(["category", "learners", "failed checks", "signatures"],
                        [[escape(r["category"]), r["learners"], r["failures"], r["signatures"]]
                         for r in report["categories"]], numeric=(1, 2, 3)))
    parts.append(_table(
        ["function", "category", "exception", "signature", "learners", "failures", "checks", "for example"],
        [[escape(r["function"]), escape(r["category"]), escape(r["exception"]),
          f"<code>{escape(r['signature'])}</code>", r["learners"], r["failures"], _list(r["checks"], 4),
          _list(r["example_students"])] for r in rows],
        numeric=(4, 5)))
    return "\n".join(parts)

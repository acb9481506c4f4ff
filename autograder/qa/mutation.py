"""Mutation testing of the hidden checks: every buggy variant must lose points.

Two sources of variants (mutants) of the instructor's learner-edited files:

- hand-written classic bugs, one or more per learner function
  (``autograder/qa/mutants/classic.json``: text patches, like the samples);
- generated ones: textual mutation rules applied to every line of every
  solution region (swap ``+``/``-``, ``*``/``/``, ``+=`` -> ``=``, flip a
  comparison, swap ``axis=0``/``axis=1``, ``max``/``min``, change a
  constant, delete a statement).

A mutant is *killed* when grading it with the checks of its module scores
less than full marks. Usage::

    python -m autograder.qa.mutation [--only classic|generated] [--jobs N] [--limit K] [--json OUT]

prints the kill rate and the survivors (which are either equivalent mutants,
listed with a reason in ``EQUIVALENT``, or holes in the checks).
"""

import argparse
import json
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cs_convnet.atomic import write_json
from cs_convnet.boundary import solution_regions

HERE = Path(__file__).parent
CLASSIC = HERE / "mutants" / "classic.json"

# Generated mutants that compute the same function as the original on every
# input the checks may use, with the reason. Keyed by mutant id.
EQUIVALENT = {}


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str         # e.g. "cs_convnet/layers.py"
    function: str     # the learner function it breaks
    description: str
    old: str          # text replaced (must occur once in the file)
    new: str


# --------------------------------------------------------------------------
# Generating mutants
# --------------------------------------------------------------------------

_RULES = [
    ("+= becomes =", r"\+=", "="),
    ("-= becomes +=", r"-=", "+="),
    ("+ becomes -", r"(?<=\S) \+ (?=\S)", " - "),
    ("- becomes +", r"(?<=[\w\)\]]) - (?=\S)", " + "),
    ("* becomes /", r"(?<=\S) \* (?=\S)", " / "),
    ("/ becomes *", r"(?<=\S) / (?=\S)", " * "),
    ("** 2 becomes ** 3", r"\*\*2\b", "**3"),
    ("> becomes <", r" > ", " < "),
    ("< becomes >", r" < ", " > "),
    ("axis=0 becomes axis=1", r"axis=0\b", "axis=1"),
    ("axis=1 becomes axis=0", r"axis=1\b", "axis=0"),
    ("max becomes min", r"\bmax\(", "min("),
    ("maximum becomes minimum", r"\bmaximum\(", "minimum("),
    ("argmax becomes argmin", r"\bargmax\(", "argmin("),
    ("1.0 becomes 2.0", r"\b1\.0\b", "2.0"),
    ("0.5 becomes 1.0", r"\b0\.5\b", "1.0"),
    ("-= 1 becomes -= 2", r"-= 1\b", "-= 2"),
    ("+ 1 becomes + 2", r"\+ 1\b", "+ 2"),
    ("sum becomes mean", r"\.sum\(", ".mean("),
    ("mean becomes sum", r"\.mean\(", ".sum("),
    ("w.T drops the transpose", r"\bw\.T\b", "w"),
]


def generated_mutants(files):
    """Mutants from the textual rules, each with enough context to occur once in its file."""
    mutants = []
    for rel, text in files.items():
        lines = text.splitlines(keepends=True)
        for region in solution_regions(text, rel):
            function = region.function
            for index in range(region.begin, region.end - 1):   # 0-based indices of the region's code lines
                line = lines[index]
                body = line.split("#", 1)[0]
                if not body.strip():
                    continue
                variants = []
                for description, pattern, replacement in _RULES:
                    for match in re.finditer(pattern, body):
                        new_line = line[: match.start()] + replacement + line[match.end():]
                        variants.append((description, new_line))
                # Deleting a call of the provided input checks (check_upstream, ...) changes nothing on
                # valid inputs, the only ones the checks use: such a deletion is an equivalent mutant.
                if not body.rstrip().endswith(":") and not body.strip().startswith(("return", "elif", "else", "check_")):
                    indent = line[: len(line) - len(line.lstrip())]
                    variants.append(("statement deleted", f"{indent}pass\n"))
                for number, (description, new_line) in enumerate(variants):
                    old, new = _unique_context(lines, index, new_line)
                    if old is None:
                        continue
                    mutant_id = f"gen:{function}:{index + 1}:{number}"
                    mutants.append(Mutant(mutant_id, rel, function, f"line {index + 1}: {description}", old, new))
    return mutants


def _unique_context(lines, index, new_line):
    """(old, new) text around line ``index`` long enough to occur once in the file."""
    text = "".join(lines)
    for radius in range(0, 8):
        lo, hi = max(0, index - radius), min(len(lines), index + radius + 1)
        old = "".join(lines[lo:hi])
        if text.count(old) == 1:
            new = "".join(lines[lo:index]) + new_line + "".join(lines[index + 1:hi])
            return old, new
    return None, None


def classic_mutants():
    data = json.loads(CLASSIC.read_text(encoding="utf-8"))
    return [Mutant(f"classic:{m['function']}:{i}", m["file"], m["function"], m["description"], m["old"], m["new"])
            for i, m in enumerate(data)]


def stale_mutants():
    """Classic mutants whose text no longer occurs exactly once in the reference (it was edited)."""
    from .samples import reference_files

    files = reference_files()
    return [m for m in classic_mutants() if files[m.file].count(m.old) != 1]


def all_mutants(only=None):
    """Applicable mutants (stale classic ones are left out; see :func:`stale_mutants`)."""
    from .samples import reference_files

    files = reference_files()
    mutants = []
    if only in (None, "classic"):
        mutants += [m for m in classic_mutants() if files[m.file].count(m.old) == 1]
    if only in (None, "generated"):
        mutants += generated_mutants(files)
    return mutants


# --------------------------------------------------------------------------
# Running them
# --------------------------------------------------------------------------

def run_mutant(mutant, seed=None, isolation="auto"):
    """Grade one mutant with the checks of its module; return a result dict."""
    from ..checks import all_checks
    from ..engine.grade_one import grade
    from .samples import apply_patches, reference_files, write_submission

    files = apply_patches(reference_files(), [{"file": mutant.file, "old": mutant.old, "new": mutant.new}],
                          mutant.id)
    module = mutant.file[:-3].replace("/", ".")
    checks = [c for c in all_checks() if c.module == module]
    with tempfile.TemporaryDirectory(prefix="cs-convnet-mutant-") as tmp:
        write_submission(files, tmp)
        report = grade(tmp, seed=seed, isolation=isolation, checks=checks)
    failing = [c["name"] for c in report["checks"] if not c["passed"]]
    return {"id": mutant.id, "function": mutant.function, "description": mutant.description,
            "killed": report["score"] < report["max_score"], "failing": failing,
            "targets_hit": any(c["function"] == mutant.function for c in report["checks"] if not c["passed"])}


def _run(args):
    mutant, seed = args
    return run_mutant(mutant, seed)


def run(mutants, jobs=1, seed=None, progress=True):
    results = []
    work = [(m, None if seed is None else seed + i) for i, m in enumerate(mutants)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            for result in pool.map(_run, work):
                results.append(result)
                if progress:
                    print(f"\r{len(results)}/{len(work)} mutants", end="", file=sys.stderr, flush=True)
    else:
        for item in work:
            results.append(_run(item))
            if progress:
                print(f"\r{len(results)}/{len(work)} mutants", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return results


def summary(results):
    counted = [r for r in results if r["id"] not in EQUIVALENT]
    killed = sum(r["killed"] for r in counted)
    functions = sorted({r["function"] for r in results})
    return {"mutants": len(counted), "killed": killed, "kill_rate": killed / len(counted) if counted else 1.0,
            "equivalent_excluded": len(results) - len(counted), "functions": functions,
            "survivors": [r for r in counted if not r["killed"]]}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.qa.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["classic", "generated"])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--limit", type=int, help="run every k-th mutant only (a quick sample)")
    parser.add_argument("--function", action="append", help="only mutants of this learner function (repeatable)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--json", dest="json_path")
    options = parser.parse_args(argv)
    mutants = all_mutants(options.only)
    if options.function:
        mutants = [m for m in mutants if m.function in options.function]
    if options.limit:
        mutants = mutants[:: max(1, len(mutants) // options.limit)]
    started = time.monotonic()
    results = run(mutants, jobs=options.jobs, seed=options.seed)
    report = summary(results)
    report["seconds"] = round(time.monotonic() - started, 1)
    print(f"{report['killed']} of {report['mutants']} mutants killed ({report['kill_rate']:.1%}) "
          f"over {len(report['functions'])} functions in {report['seconds']} s")
    for survivor in report["survivors"]:
        print(f"  SURVIVED {survivor['id']}: {survivor['description']}")
    for stale in stale_mutants() if options.only in (None, "classic") else []:
        print(f"  STALE {stale.id}: {stale.description} (its text is no longer in {stale.file})")
    if options.json_path:
        write_json(options.json_path, {"summary": report, "results": results}, indent=2)
    return 0 if not report["survivors"] else 1


if __name__ == "__main__":
    sys.exit(main())

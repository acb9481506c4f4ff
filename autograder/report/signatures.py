"""Failure messages reduced to signatures and sorted into categories of mistakes.

Trusted code of the class report. A check's message says what one learner's
output got wrong ("out: 96 of 96 entries differ (100%); likely cause: the
input is padded by pad + 1"); the same mistake made by forty learners gives
forty messages that differ only in counts, shapes, indices, paths and line
numbers. :func:`normalise` strips those, so equal mistakes get equal
signatures; :func:`categorise` names the kind of mistake (shape mismatch,
transposed output, padding off by one, stride ignored, ...) from the wording
of the checks' hints (``autograder/checks/compare.py`` and the families'
``likely cause`` hints), and :func:`exception_type` picks out the exception a
learner's code raised.
"""

import re

NO_MESSAGE = "(no message recorded)"

# Ordered: the first category whose pattern matches the (raw or normalised) message wins.
# Outcomes of the run come first, then what the hints of compare.py and the checks say.
CATEGORIES = [
    ("not run (an earlier check of the function failed)", r"^not run:"),
    ("timeout", r"did not finish within|took longer than|ran over the time limit|an endless loop"
                r"|\bCellTimeoutError\b|\bKernelHung\b"),
    ("crash", r"stopped the worker|broke the grading protocol|kernel died|the worker exited|\bKernelDied\b"),
    ("out of memory", r"\bMemoryError\b|ran out of memory"),
    ("import error", r"could not be imported"),
    ("not implemented", r"\bNotImplementedError\b"),
    ("empty array ([pad:-pad] with pad = 0?)", r"an empty array"),
    ("transposed output", r"transposed\?|wrong places|wrong axis order"),
    ("shape mismatch", r"expected shape"),
    ("exception", r" raised [\w.]+"),
    ("wrong return type or dtype", r"must return|expected a number, got|expected an array of shape|returned nothing"
                                   r"|expected floating-point values"),
    ("padding off by one", r"padded by pad [-+] 1\b"),
    ("stride ignored", r"instead of by the stride"),
    ("loop bounds or stride", r"towards the bottom/right differ"),
    ("assigned with = instead of accumulated with +=", r"accumulate with \+=|instead of accumulated with \+="),
    ("nan or inf (overflow)", r"nan or inf"),
    ("sum instead of mean over N (or the reverse)", r"divide by N|averages over the minibatch|averaged over N"
                                                    r"|not divided by N|summed over the minibatch"),
    ("scale factor or sign", r"times the reference"),
    ("bias missing", r"bias b is not added"),
    ("filter flipped", r"filter is flipped"),
    ("flattened in the wrong order", r"flattened in Fortran order"),
    ("max-pool ties", r"tied maximum|ties go to the last"),
    ("edges or padding", r"border rows/columns"),
    ("state not kept in config", r"stored back in config"),
    ("dropout mask or scaling", r"kept units|dropout_param\['seed'\]|keep probability"),
    ("ReLU mask", r"the mask"),
    ("regularization", r"regularization"),
    ("test mode", r"test mode"),
    ("assertion failed", r"^AssertionError\b"),
    ("wrong values", r"entries differ|value differs|wrong value"),
]
OTHER = "other"
_COMPILED = [(name, re.compile(pattern, re.IGNORECASE if name != "assertion failed" else 0))
             for name, pattern in CATEGORIES]

_RAISED = re.compile(r"\braised ([A-Za-z_][\w.]*)")
_IMPORT = re.compile(r"could not be imported: ([A-Za-z_][\w.]*)")
_LEADING = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))\b")

_SUBSTITUTIONS = [
    (re.compile(r"\x1b\[[0-9;]*m"), ""),                              # terminal colours of tracebacks
    (re.compile(r"\s+--\s+the worker was restarted$"), ""),
    # how many entries differ depends on the hidden inputs, not on the mistake
    (re.compile(r"\d+ of \d+ entries differ \(\d+%\)(?:, the first at index \([^)]*\))?"), "entries differ"),
    (re.compile(r"\d+ of \d+ entries are nan or inf"), "entries are nan or inf"),
    (re.compile(r"0x[0-9a-fA-F]+"), "<addr>"),
    # a path: absolute, or relative with a file extension (not "rows/columns" nor "1/5")
    (re.compile(r"(?<![\w<])(?:(?:~|\.{1,2})?/(?:[\w.-]+/)*[\w.-]+|(?:[\w.-]+/)+[\w-]+\.[A-Za-z]\w*)"), "<path>"),
    (re.compile(r"\((?:\s*-?\d+\s*,)+\s*(?:-?\d+\s*)?\)"), "<shape>"),   # shapes and indices
    (re.compile(r"(?<![\w<])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w>])"), "<n>"),
    (re.compile(r"\s+"), " "),
]
MAX_LENGTH = 400
# "likely cause: <hint>" up to the next output's "; label: " (dx, grads['W2'], w after step 2 of 5) or the end
_HINT = re.compile(r"(?<=likely cause: ).*?(?=; [\w\[\]'\"]+(?: after step \d+ of \d+)?: |$)", re.DOTALL)


def normalise(message):
    """The signature of a failure message: numbers, shapes, indices and paths replaced by placeholders.

    >>> normalise("dx: expected shape (3, 4, 5, 3), got (3, 60) (same number of entries: reshape ...)")
    'dx: expected shape <shape>, got <shape> (same number of entries: reshape ...)'
    """
    text = (message or "").strip()
    if not text:
        return NO_MESSAGE
    kept = []   # the checks' own hints are fixed sentences ("padded by pad + 1"): their numbers stay

    def keep(match):
        kept.append(match.group(0))
        return f"\x00KEPT{len(kept) - 1}\x00"

    text = _HINT.sub(keep, text)
    for pattern, replacement in _SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    text = re.sub("\x00KEPT(\\d+)\x00", lambda m: kept[int(m.group(1))], text).strip()
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 3] + "..."


def categorise(message):
    """The kind of mistake a message (raw or normalised) describes; ``"other"`` when none is recognised."""
    text = message or ""
    if not text.strip() or text == NO_MESSAGE:
        return OTHER
    for name, pattern in _COMPILED:
        if pattern.search(text):
            return name
    return OTHER


def exception_type(message):
    """The exception the learner's code raised (``"IndexError"``), or ``""`` when the message names none."""
    text = message or ""
    for pattern in (_RAISED, _IMPORT, _LEADING):
        found = pattern.search(text)
        if found:
            return found.group(1)
    return ""

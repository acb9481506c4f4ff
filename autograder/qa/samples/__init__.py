"""Sample submissions shipped with the course: the reference and realistic buggy ones.

Each sample is a JSON file: a description, text patches applied to the
instructor's learner-edited files, and the exact list of hidden checks it
must fail. :func:`materialize` turns one into a real submission directory
laid out like the student edition (``cs_convnet/layers.py``, ...).
"""

import json
from pathlib import Path

from cs_convnet.boundary import LEARNER_FILES, stub_solutions

from ...edition.builder import reference_package

HERE = Path(__file__).parent


def names():
    """Names of the shipped samples, reference first."""
    found = sorted(p.stem for p in HERE.glob("*.json"))
    return sorted(found, key=lambda name: name != "reference")


def load(name):
    """The sample's dict: description, patches, expected_failing."""
    path = HERE / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"no sample named {name!r}; samples are {names()}")
    return json.loads(path.read_text(encoding="utf-8"))


def apply_patches(files, patches, origin="sample"):
    """Apply text patches ({file, old, new}) to ``files`` ({rel: text}); each ``old`` must occur exactly once."""
    files = dict(files)
    for patch in patches:
        text = files[patch["file"]]
        count = text.count(patch["old"])
        if count != 1:
            raise ValueError(f"{origin}: the text to replace occurs {count} times in {patch['file']}, expected once")
        files[patch["file"]] = text.replace(patch["old"], patch["new"])
    return files


def reference_files():
    """{rel: text} of the instructor's learner-edited files."""
    package = reference_package()
    return {rel: (package.parent / rel).read_text(encoding="utf-8") for rel in sorted(LEARNER_FILES)}


def write_submission(files, dest):
    """Write {rel: text} as a submission directory at ``dest``."""
    dest = Path(dest)
    for rel, text in files.items():
        if text is None:
            continue
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return dest


def materialize(name, dest):
    """Write sample ``name`` as a submission directory at ``dest``; return its path."""
    sample = load(name)
    return write_submission(apply_patches(reference_files(), sample["patches"], name), dest)


def materialize_all(dest):
    """Write every sample under ``dest/<name>/``; return {name: path}."""
    return {name: materialize(name, Path(dest) / name) for name in names()}


def student_files():
    """{rel: text} of the student edition's stubs (an untouched submission)."""
    return {rel: stub_solutions(text, rel) for rel, text in reference_files().items()}


def replace_function(text, name, source):
    """``text`` with the top-level function ``name`` replaced by ``source`` (for hand-made submissions)."""
    import re

    match = re.search(rf"^def {re.escape(name)}\(", text, flags=re.M)
    if match is None:
        raise ValueError(f"no top-level function {name!r}")
    following = re.compile(r"^(def |class |# ---)", flags=re.M).search(text, match.end())
    end = following.start() if following else len(text)
    return text[: match.start()] + source.strip("\n") + "\n\n\n" + text[end:]

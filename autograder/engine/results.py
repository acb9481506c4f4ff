"""The result store: one JSON file per grading task, named by the task's key.

``grading/results/<key>.json`` holds the result of the task whose key is
``<key>``, written by the client only, atomically (:mod:`cs_convnet.atomic`):
a reader sees the whole file or none. A file that cannot be read back counts as missing, so its task
runs again.

The key (:func:`task_key`) digests the student's id and every collected file
(names and bytes), the grader's version, the course files nbgrader grades
against, and the grading command. A re-run submits only the keys not stored;
a changed file, a new grader version or new hidden tests make a new key.
"""

import hashlib
import json

from cs_convnet.atomic import write_json


def task_key(student, submission, grader_version, course_digest="", grade_one=None):
    """Hex digest naming one grading task.

    Parameters
    ----------
    student : str
    submission : dict
        ``{"package": {rel: bytes}, "notebooks": {assignment: {rel: bytes}}}``.
    grader_version : str
        :func:`autograder.engine.tasks.grader_version`.
    course_digest : str
        Digest of the course files the student's notebooks are graded against.
    grade_one : list of str or None
        A grading command other than the default (tests).
    """
    digest = hashlib.sha256()
    parts = [("student", student), ("grader", grader_version), ("course", course_digest),
             ("command", json.dumps(list(grade_one)) if grade_one else "")]
    for name, value in parts:
        digest.update(f"{name}\0{value}\0".encode())
    files = [(f"package/{rel}", data) for rel, data in submission.get("package", {}).items()]
    files += [(f"notebooks/{assignment}/{rel}", data)
              for assignment, found in submission.get("notebooks", {}).items() for rel, data in found.items()]
    for rel, data in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def storable(result):
    """A JSON-able copy of a task result: file contents replaced by their SHA-256."""
    kept = dict(result)
    kept["assignments"] = {}
    for assignment, graded in result.get("assignments", {}).items():
        graded = dict(graded)
        graded["autograded"] = {rel: hashlib.sha256(data).hexdigest()
                                for rel, data in (graded.get("autograded") or {}).items()}
        kept["assignments"][assignment] = graded
    return kept


class ResultStore:
    """The results of a course, ``grading/results/<key>.json``."""

    def __init__(self, course):
        self.folder = course.grading / "results"

    def path(self, key):
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"a task key is a hex digest, got {key!r}")
        return self.folder / f"{key}.json"

    def load(self, key):
        """The stored result of ``key``, or None when absent or unreadable."""
        try:
            result = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return result if isinstance(result, dict) and result.get("key") == key else None

    def __contains__(self, key):
        return self.load(key) is not None

    def write(self, result):
        """Store ``result`` (see :func:`storable`) under its key; return the path."""
        return write_json(self.path(result["key"]), storable(result))

    def keys(self):
        return sorted(p.stem for p in self.folder.glob("*.json"))

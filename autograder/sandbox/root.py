"""The sandbox root: a temporary folder with the student edition of ``cs_convnet``
(every solution region replaced by a stub, every provided file copied from the
trusted tree) and one submission's learner-edited files laid over it, plus the
worker's source (:mod:`autograder.sandbox.package_guest`).
"""

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cs_convnet.boundary import LEARNER_FILES

from ..edition.builder import reference_package, write_package_edition

WORKER_SOURCE = Path(__file__).with_name("package_guest.py")

MAX_SUBMITTED_FILE = 2 * 1024**2  # largest learner file accepted


def _read_submitted_file(submission, rel):
    """Bytes of ``submission/rel`` if it is a plain file inside the submission, else (None, note)."""
    submission = Path(submission)
    current = submission
    for part in Path(rel).parts:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return None, f"{rel} is missing from the submission: its functions count as not implemented"
        if os.path.islink(current):
            return None, f"{rel} was refused: the submission holds a symbolic link at {current.relative_to(submission)}"
    import stat

    if not stat.S_ISREG(info.st_mode):
        return None, f"{rel} was refused: not a regular file"
    if info.st_nlink > 1:
        return None, f"{rel} was refused: a hard link (files must be submitted as copies)"
    if info.st_size > MAX_SUBMITTED_FILE:
        return None, f"{rel} was refused: {info.st_size} bytes, more than {MAX_SUBMITTED_FILE}"
    fd = os.open(current, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(MAX_SUBMITTED_FILE + 1), None


@dataclass
class SandboxRoot:
    """A temporary folder with the student edition overlaid by one submission."""

    path: Path
    overlaid: list = field(default_factory=list)     # learner files taken from the submission
    notes: list = field(default_factory=list)        # why a learner file was not taken
    _student: Path = None

    def restore_stub(self, rel):
        """Put the student-edition stub back in place of the submission's ``rel`` (e.g. it cannot import)."""
        shutil.copyfile(self._student / rel, self.path / rel)
        if rel in self.overlaid:
            self.overlaid.remove(rel)

    def cleanup(self):
        shutil.rmtree(self.path.parent, ignore_errors=True)


def prepare_root(submission, package=None):
    """Build a :class:`SandboxRoot` for ``submission`` (a directory laid out like the student edition)."""
    package = package or reference_package()
    base = Path(tempfile.mkdtemp(prefix="cs-convnet-grade-"))
    os.chmod(base, 0o755)
    student = base / "student"
    write_package_edition(student, package, compiled=True)
    root = base / "root"
    shutil.copytree(student, root)
    shutil.copyfile(WORKER_SOURCE, root / "_grading_worker.py")
    result = SandboxRoot(root, _student=student)
    for rel in sorted(LEARNER_FILES):
        data, note = _read_submitted_file(submission, rel)
        if data is None:
            result.notes.append(note)
            continue
        (root / rel).write_bytes(data)
        result.overlaid.append(rel)
    return result

"""nbgrader configuration of the course: the course directory is this folder.

``source/<assignment>/*.ipynb`` hold the instructor notebooks (solutions and
hidden tests included); ``nbgrader generate_assignment <assignment>`` writes the
student version to ``release/<assignment>/``. ``autograder/edition/release.py`` runs it
in a temporary copy of this folder, so no gradebook or release output lands in
the repository.
"""

from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

COURSE_ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "cs-convnet"
c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# The stub learners see in place of each solution region of a notebook cell.
# autograder/edition/release.py replaces the bare NotImplementedError with the cell's
# one-line hint (cell metadata "cs_convnet": {"hint": ...}).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.enforce_metadata = True

# Generated notebooks start without outputs; nothing of the instructor's run leaks.
c.ClearOutput.enabled = True
c.GenerateAssignment.create_assignment = True

# ---------------------------------------------------------------------------
# Autograde and feedback (owned by the autograder; see autograder/course/preprocessors/)
# ---------------------------------------------------------------------------
import os as _os
import sys as _sys

_REPO = COURSE_ROOT.parent
if (_REPO / "autograder").is_dir() and str(_REPO) not in _sys.path:
    _sys.path.insert(0, str(_REPO))  # this process only: kernels do not inherit sys.path
try:
    from autograder.course import preprocessors as _pp
except ImportError:  # a bare copy of this folder (e.g. the release build): no autograding here
    _pp = None

# Per-cell time limit (seconds; CS_CONVNET_CELL_TIMEOUT overrides it): a cell over it is
# interrupted and scores 0, the notebook goes on.
c.Execute.timeout = int(_os.environ.get("CS_CONVNET_CELL_TIMEOUT", "300"))
c.Execute.interrupt_on_timeout = True
# Deleted grade cells (tests) come back from the gradebook's source and are run.
c.OverwriteCells.add_missing_cells = True

if _pp is not None:
    # Dotted names, not classes: formgrader prints this configuration as JSON
    # (a class there logs "Formgrader config is not serializable").
    _NB, _CS = "nbgrader.preprocessors.", "autograder.course.preprocessors."
    c.Autograde.sanitize_preprocessors = [
        _NB + "ClearOutput", _NB + "DeduplicateIds", _NB + "OverwriteKernelspec",
        _CS + "RobustOverwriteCells",      # OverwriteCells without the KeyError on re-insertion
        _NB + "CheckCellMetadata",
    ]
    c.Autograde.autograde_preprocessors = [
        _CS + "TrustedTestsExecute",       # test cells scored in this process; a dead kernel fails the rest
        _CS + "StderrIsNotFailure",        # a warning on stderr does not zero a passing test
        _NB + "IgnorePattern", "nbconvert.preprocessors.ClearMetadataPreprocessor", _NB + "LimitOutput",
        _NB + "SaveAutoGrades", _NB + "AssignLatePenalties", _NB + "CheckCellMetadata",
    ]
    c.GenerateFeedback.preprocessors = [
        _CS + "ClearHiddenTestsAndTracebacks",  # hidden tests never reach the feedback
        _CS + "GetGradesMarkUngraded",          # a cell still needing a person reads "not graded yet"
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    c.HTMLExporter.filters = {"float": _CS + "feedback_float"}

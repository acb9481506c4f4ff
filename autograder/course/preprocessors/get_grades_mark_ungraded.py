"""GetGrades, but a cell that still needs a person reads "not graded yet", not "0.0".

Feedback written before a person graded a cell would show its score as
``Score: 0.0 / 2.0``. :class:`GetGradesMarkUngraded` shows such a cell (and the
notebook's total) as not graded yet, with a
:class:`~autograder.course.preprocessors.pending_score.PendingScore`.
"""

from nbgrader.preprocessors import GetGrades

from .pending_score import PendingScore

class GetGradesMarkUngraded(GetGrades):
    """GetGrades, but a cell that still needs a person reads "not graded yet", not "0.0"."""

    def preprocess(self, nb, resources):
        self._pending = 0
        nb, resources = super().preprocess(nb, resources)
        if self._pending:
            score = float(resources["nbgrader"]["score"])
            cells = "cell" if self._pending == 1 else "cells"
            resources["nbgrader"]["score"] = PendingScore(
                score, f"{score:g} so far, {self._pending} {cells} not graded yet")
        return nb, resources

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        if grade.needs_manual_grade:
            self._pending += 1
            auto = grade.auto_score
            cell.metadata.nbgrader["score"] = PendingScore(
                grade.score, "not graded yet" if auto is None else f"{auto:g} (not reviewed yet)")

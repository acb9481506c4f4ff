"""Grade cells that raised nothing keep their points despite stderr output.

nbgrader 0.9.6's ``utils.determine_grade`` scores 0 for any grade cell with
*stderr* output, so a correct cell that triggers a ``RuntimeWarning`` loses
its points. :class:`StderrIsNotFailure` turns the stderr streams of grade cells
that raised nothing into stdout (the text stays visible) before the grades are
saved.
"""

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

class StderrIsNotFailure(NbGraderPreprocessor):
    """Let grade cells that raised nothing keep their points despite stderr output.

    Must run after ``Execute`` and before ``SaveAutoGrades``. A failed test still
    scores 0: it raises, and the error output decides the grade.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        if any(output.output_type == "error" for output in cell.outputs):
            return cell, resources
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                output.name = "stdout"
        return cell, resources

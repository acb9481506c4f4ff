"""OverwriteCells whose re-insertion of deleted grade cells never raises ``KeyError``.

nbgrader 0.9.6's ``OverwriteCells.add_missing_grade_cells`` raises ``KeyError``
when the cell before a deleted grade cell is a locked cell that is neither a
grade nor a solution cell (a read-only markdown cell, say).
:class:`RobustOverwriteCells` inserts the missing cell after the nearest
earlier source cell still present.
"""

from nbgrader.preprocessors import OverwriteCells

class RobustOverwriteCells(OverwriteCells):
    """OverwriteCells whose re-insertion of deleted grade cells never raises KeyError."""

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_ids = [cell.name for cell in source_nb.source_cells]
        source_by_id = {cell.name: cell for cell in source_nb.source_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}

        def present_ids():
            return [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]

        for grade_cell in source_nb.grade_cells:
            if grade_cell.name in present_ids():
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            new_cell = self.missing_cell_transform(
                source_by_id[grade_cell.name], grade_cell.max_score,
                is_solution=grade_cell.name in solution_ids)
            # After the nearest earlier source cell still in the notebook, else first.
            here = present_ids()
            position = 0
            for earlier in reversed(source_ids[:source_ids.index(grade_cell.name)]):
                if earlier in here:
                    position = here.index(earlier) + 1
                    break
            nb.cells.insert(position, new_cell)
        return nb, resources

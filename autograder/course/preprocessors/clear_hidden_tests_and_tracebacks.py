"""For feedback: hidden tests removed, and no output that would show them.

Autograded notebooks hold the hidden tests (``OverwriteCells`` restores the
locked source), so nbgrader's feedback HTML shows them by default.
:class:`ClearHiddenTestsAndTracebacks` removes the hidden regions from the
feedback and replaces the tracebacks of those cells, which quote hidden lines,
by the error's message (hidden checks' messages never quote them).
"""

import json

from nbformat.notebooknode import NotebookNode

from nbgrader.preprocessors import ClearHiddenTests

class ClearHiddenTestsAndTracebacks(ClearHiddenTests):
    """For feedback: drop hidden test regions, and withhold outputs that would show them.

    Tracebacks of cells with hidden tests quote the failing line; and the
    learner's own code could print the notebook it runs from. Outputs quoting
    a hidden line (verbatim or JSON-escaped) are replaced by a notice. An
    output that encodes the line some other way is not recognised.
    """

    min_quoted = 8   # shorter hidden lines (``)``, ``pass``) are too common to withhold on

    def preprocess(self, nb, resources):
        self._hidden = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
                inside = False
                for line in cell.source.splitlines():
                    if self.begin_test_delimeter in line:
                        inside = True
                    elif self.end_test_delimeter in line:
                        inside = False
                    elif inside and len(line.strip()) >= self.min_quoted:
                        self._hidden |= {line.strip(), json.dumps(line.strip())[1:-1]}
        return super().preprocess(nb, resources)

    def _quotes_hidden(self, output):
        texts = [output.get("text", ""), output.get("evalue", ""), *output.get("traceback", [])]
        texts += [v if isinstance(v, str) else "".join(v) for v in output.get("data", {}).values()
                  if isinstance(v, (str, list))]
        return any(hidden in text for text in texts for hidden in self._hidden)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        had_hidden = self.begin_test_delimeter in cell.source
        if had_hidden:
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
        outputs = []
        for output in cell.get("outputs", []):
            if had_hidden and output.output_type == "error":
                # The traceback quotes the failing hidden line; the message is written for
                # learners (tests/autograder/checks/test_hidden_messages.py), so it stays.
                output.traceback = [
                    f"{output.ename}: {output.evalue}",
                    "(raised in this test cell; the hidden tests' code is not shown)",
                ]
            if self._quotes_hidden(output):
                output = NotebookNode(output_type="stream", name="stdout",
                                      text="[output withheld from the feedback: it quotes a hidden test]\n")
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources

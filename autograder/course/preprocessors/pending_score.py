"""A score still waiting for a person, and the feedback template's ``float`` filter that lets it through.

:class:`~autograder.course.preprocessors.get_grades_mark_ungraded.GetGradesMarkUngraded`
puts a :class:`PendingScore` where a cell (or the notebook's total) still needs
manual grading; :func:`feedback_float` is wired in as the feedback exporter's
``float`` filter.
"""

class PendingScore:
    """A score still waiting for a person, as the feedback page prints it.

    nbgrader's feedback template prints ``{{ score | float | round(2) }}``:
    :func:`feedback_float` passes this object through and ``round`` keeps it.
    """

    def __init__(self, value, text):
        self.value, self.text = value, text

    def __round__(self, ndigits=None):
        return self

    def __float__(self):
        return float(self.value)

    def __str__(self):
        return self.text


def feedback_float(value, default=0.0):
    """Jinja's ``float`` filter, except that a :class:`PendingScore` is kept as is."""
    if isinstance(value, PendingScore):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return default

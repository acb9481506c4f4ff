"""``cs-convnet-course table``: print the grade table."""

HELP = "print the grade table"


def add_arguments(parser):
    """No options."""


def run(args, course_dir):
    from ..course.layout import Course
    from ..report.table import format_table

    print(format_table(Course(course_dir).require()))
    return 0

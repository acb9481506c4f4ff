"""``cs-convnet-course prepare``: create the course directory and register the assignments."""

HELP = "create the course directory and register the assignments"


def add_arguments(parser):
    parser.add_argument("--assignment", "-a", action="append", dest="assignments",
                        help="only this assignment (repeatable; default: all of assignments/source)")


def run(args, course_dir):
    from ..course.prepare import prepare

    course = prepare(course_dir, assignments=args.assignments)
    print(f"course directory {course.root}: assignments {', '.join(course.assignments()) or 'none'}")
    return 0

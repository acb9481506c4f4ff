"""``cs-convnet-course feedback``: per-student HTML feedback."""

HELP = "write per-student HTML feedback"


def add_arguments(parser):
    parser.add_argument("--student", default=None, help="only this collected student (default: everyone)")
    parser.add_argument("--require-graded", action="store_true",
                        help="skip a student's assignment while cells still need manual grading "
                             "(a warning names each)")


def run(args, course_dir):
    from ..course.feedback import generate
    from ..course.layout import Course

    course = Course(course_dir).require()
    if args.student is not None:
        course.check_students([args.student])
    files = generate(course.root, args.student, require_graded=args.require_graded)
    print(f"{len(files)} feedback files under {course.feedback}")
    return 0

"""``cs-convnet-course collect``: a folder of submission zips or folders into the course directory."""

from .arguments import inbox_folder

HELP = "collect a folder of submission zips or folders (exit 1 when any was skipped)"


def add_arguments(parser):
    parser.add_argument("inbox", type=inbox_folder, help="folder holding one zip or folder per learner")
    parser.add_argument("--assignment", "-a", action="append", dest="assignments",
                        help="assignments to register if the course is new (default: all)")


def run(args, course_dir):
    """One line per entry of the inbox (and its notes), then the summary; exit 1 when an entry was skipped."""
    from ..course.collect import collect, summary_line
    from ..course.layout import Course
    from ..course.prepare import prepare

    inbox = args.inbox
    if not Course(course_dir).is_prepared():
        prepare(course_dir, assignments=args.assignments)
    results = collect(course_dir, inbox)
    for entry in results:
        got = ", ".join(entry["notebooks"] + entry["package_files"]) or "nothing"
        print(f"{entry['student']:<20} from {entry['source']}: {got if entry['status'] == 'collected' else 'SKIPPED'}")
        for note in entry["notes"]:
            print(f"    note: {note}")
    print(summary_line(results, inbox))
    return 1 if any(entry["status"] == "skipped" for entry in results) else 0

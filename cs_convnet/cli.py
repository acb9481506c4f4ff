"""The ``cs-convnet`` command: a thin dispatcher over the library's command-line functions.

Each subcommand is a ``main(argv)`` function in a module of the package,
imported only when that subcommand runs, so ``cs-convnet data`` does not pay
for importing the training code (and works when a module is absent).
``python -m cs_convnet`` is the same command.
"""

import importlib
import sys

from cs_convnet import __version__

PROG = "cs-convnet"
# name -> (module, one-line description)
COMMANDS = {
    "data": ("cs_convnet.data", "fetch CIFAR-10 (or install a local archive/folder) and check it"),
    "summary": ("cs_convnet.summary", "per-layer output volume, memory and parameters of a model"),
    "bench": ("cs_convnet.bench", "time the naive, numpy and Cython layers side by side"),
    "train": ("cs_convnet.train", "train a model on CIFAR-10 with the fast layers"),
    "submit": ("cs_convnet.submission", "collect your notebooks into a submission zip"),
}


def usage():
    width = max(map(len, COMMANDS))
    lines = [f"usage: {PROG} [-h] [--version] <command> [options]", "",
             "Convolutional networks from scratch (CS231n style).", "", "commands:"]
    lines += [f"  {name:<{width}}  {description}" for name, (_, description) in COMMANDS.items()]
    lines += ["", f"Run `{PROG} <command> --help` for the options of a command."]
    return "\n".join(lines)


def _load(name):
    """Return the ``main`` function of a subcommand, or None after printing why it is unavailable."""
    module_name = COMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:  # the module exists but one of its imports is missing
            print(f"{PROG} {name}: cannot run: {module_name} needs {error.name!r}, which is not installed "
                  f"({error})", file=sys.stderr)
            return None
        print(f"{PROG} {name}: not available in this installation: the module {module_name} is missing",
              file=sys.stderr)
        return None
    entry = getattr(module, "main", None)
    if not callable(entry):
        print(f"{PROG} {name}: not available: {module_name} has no main(argv) function", file=sys.stderr)
        return None
    return entry


def main(argv=None):
    """Run ``cs-convnet``; return the exit status (0 success, 1 failure, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"{PROG} {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"{usage()}\n\n{PROG}: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})",
              file=sys.stderr)
        return 2
    entry = _load(name)
    if entry is None:
        return 1
    try:
        status = entry(rest)
    except SystemExit as exit_:  # argparse inside a subcommand exits on --help or bad options
        status = exit_.code
    except KeyboardInterrupt:
        print(f"{PROG} {name}: interrupted", file=sys.stderr)
        return 130
    if status is None:
        return 0
    if isinstance(status, int):
        return status
    print(status, file=sys.stderr)  # SystemExit("message") convention
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""The ``cs-convnet`` command: a thin dispatcher over the library's command-line functions.

Each subcommand is a ``main(argv)`` function in a module of the package,
imported only when that subcommand runs, so ``cs-convnet data`` does not pay
for importing the training code (and works when a module is absent).
``python -m cs_convnet`` is the same command.

Errors take one path, shared with ``cs-convnet-course`` (:func:`run_command`):
an expected failure (:class:`CommandError`, a bad value, a file problem) prints
one line, ``PROG COMMAND: error: ...``, and exits 1; an unexpected exception
prints one line naming a log file that holds the traceback (``--debug`` prints
the traceback instead). Exit statuses: 0 success, 1 failure, 2 usage error,
130 interrupted.
"""

import argparse
import importlib
import os
import select
import sys
import tempfile
import traceback

from cs_convnet import __version__

PROG = "cs-convnet"
# name -> (module, one-line description)
COMMANDS = {
    "data": ("cs_convnet.data", "fetch CIFAR-10 (or install a local archive/folder) and check it"),
    "summary": ("cs_convnet.summary", "per-layer output volume, memory and parameters of a model"),
    "bench": ("cs_convnet.bench", "time our fast layers against PyTorch's, each in fresh processes"),
    "train": ("cs_convnet.train", "train a model on CIFAR-10 with the fast layers"),
    "submit": ("cs_convnet.submission", "collect your notebooks into a submission zip"),
}


class CommandError(Exception):
    """An expected failure of a command: its message is the one line the user sees."""


# failures whose message is enough; anything else is a bug and gets a log file with its traceback
EXPECTED_ERRORS = (CommandError, ValueError, OSError, RuntimeError)


def _log_traceback(prog, command):
    """Write the current exception's traceback to a new log file; return its path (None if none could be made)."""
    folder = os.environ.get("CS_CONVNET_LOG_DIR") or tempfile.gettempdir()
    try:
        os.makedirs(folder, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=f"{prog}-{command}-".replace(" ", "-"), suffix=".log", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{prog} {command}: {' '.join(sys.argv)}\n")
            traceback.print_exc(file=handle)
    except OSError:
        return None
    return path


def report_error(prog, command, error, debug=False):
    """Print ``error`` as one line on stderr, the traceback going to a log file (or stderr with ``debug``)."""
    where = f"{prog} {command}" if command else prog
    if debug:
        traceback.print_exc(file=sys.stderr)
    if isinstance(error, EXPECTED_ERRORS):
        text = str(error).strip() or type(error).__name__
        first, _, more = text.partition("\n")
        if more and not debug:
            log = _log_traceback(prog, command or "error")
            first += f" (details in {log})" if log else ""
        print(f"{where}: error: {first}", file=sys.stderr)
        return 1
    log = None if debug else _log_traceback(prog, command or "error")
    detail = f"{type(error).__name__}: {error}".strip().partition("\n")[0]
    hint = "the traceback is above" if debug else (f"the traceback is in {log}" if log else "run with --debug")
    print(f"{where}: error: unexpected {detail} (a bug: {hint})", file=sys.stderr)
    return 1


def run_command(prog, command, function, *args, debug=False, interrupted=None, **kwargs):
    """Call ``function(*args, **kwargs)``; return its exit status, errors turned into one line (see above)."""
    try:
        status = function(*args, **kwargs)
    except SystemExit as exit_:  # argparse inside a subcommand exits on --help or bad options
        status = exit_.code
    except KeyboardInterrupt:
        print(f"{prog} {command}: {interrupted or 'interrupted'}", file=sys.stderr)
        return 130
    except BrokenPipeError as error:
        if not _stdout_gone():
            return report_error(prog, command, error, debug)
        return 1  # `COMMAND | head`: the reader left; nothing to say, and nobody to say it to
    except Exception as error:
        return report_error(prog, command, error, debug)
    if status is None:
        return 0
    if isinstance(status, int):
        return status
    print(status, file=sys.stderr)  # SystemExit("message") convention
    return 1


def _stdout_gone():
    """True when standard output is a pipe whose reader has gone; it is then pointed at /dev/null.

    Python's own flush of stdout at exit would otherwise print a second error.
    """
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        gone = any(events & select.POLLERR for _, events in poller.poll(0))  # a pipe without reader
    except (AttributeError, OSError, ValueError):  # no real stdout, or no poll on this system
        return False
    if gone:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    return gone


def positive_int(text):
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a finite number greater than 0 (seconds, rates)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number greater than 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number greater than 0, got {text!r}")
    return value


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help unless X is None or the help already states its default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, argparse.SUPPRESS, False) or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


def usage():
    width = max(map(len, COMMANDS))
    lines = [f"usage: {PROG} [-h] [--version] [--debug] <command> [options]", "",
             "Convolutional networks from scratch (CS231n style).", "", "commands:"]
    lines += [f"  {name:<{width}}  {description}" for name, (_, description) in COMMANDS.items()]
    lines += ["", f"Run `{PROG} <command> --help` for the options of a command; "
                  "--debug prints the traceback of an unexpected error."]
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
    debug = argv[0] == "--debug"
    if debug:
        argv = argv[1:]
        if not argv:
            print(usage(), file=sys.stderr)
            return 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"{usage()}\n\n{PROG}: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})",
              file=sys.stderr)
        return 2
    entry = _load(name)
    if entry is None:
        return 1
    return run_command(PROG, name, entry, rest, debug=debug)


if __name__ == "__main__":
    sys.exit(main())

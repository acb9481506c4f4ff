"""Argument types and output-path checks of the ``cs-convnet-course`` commands.

An argparse type raises ``argparse.ArgumentTypeError`` (a usage error, exit
status 2, before anything is done); an output-path check raises
:class:`~cs_convnet.cli.CommandError` (one line, exit status 1).
"""

import argparse
from pathlib import Path
from urllib.parse import urlsplit

from cs_convnet.cli import CommandError

SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")   # a remote scheduler's (inproc is in-process only)


def scheduler_address(text):
    """argparse type: a Dask scheduler address, ``[SCHEME://]HOST:PORT`` (the scheme defaults to tcp)."""
    address = text if "://" in text else f"tcp://{text}"
    expected = f"expected a Dask scheduler address like tcp://HOST:8786, got {text!r}"
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{expected} ({error})") from None
    if parts.scheme not in SCHEDULER_SCHEMES:
        raise argparse.ArgumentTypeError(f"{expected} (unknown scheme {parts.scheme!r})")
    if not parts.hostname or not port:
        raise argparse.ArgumentTypeError(f"{expected} ({'no port' if parts.hostname else 'no host'})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{expected} (unexpected text after the port)")
    return address


def inbox_folder(text):
    """argparse type: an existing folder of submissions (a usage error otherwise, before any course is made)."""
    path = Path(text)
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}; expected a folder holding one zip or folder per learner")
    return path


def canvas_assignment_id(text):
    """argparse type: ``ASSIGNMENT=ID``, a course assignment and its Canvas assignment id (digits)."""
    name, _, number = text.rpartition("=")
    if not name or not number.isdigit():
        raise argparse.ArgumentTypeError(f"expected ASSIGNMENT=ID with a numeric Canvas assignment id, "
                                         f"like 02_convolution=123456, got {text!r}")
    return name, number


def output_folder(path, option):
    """``path`` for an option naming a folder to write into; CommandError if it is an existing file."""
    if path is not None and path.exists() and not path.is_dir():
        raise CommandError(f"{option} {path} is a file; expected a folder to write into "
                           "(files already in that folder are replaced)")
    return path


def output_file(path, option):
    """``path`` for an option naming a file to write; CommandError if it is a folder."""
    if path is not None and path.is_dir():
        raise CommandError(f"{option} {path} is a folder; expected the path of a file to write")
    return path

"""The frames on the sandbox's pipe: length-prefixed, a JSON header, then arrays as
``.npy`` bytes, which the trusted side reads with ``allow_pickle=False``.
"""

import io
import json
import os
import select
import struct
import time
from dataclasses import dataclass

import numpy as np

MAX_FRAME = 32 * 1024**2          # largest single frame accepted from a worker


class WorkerFailure(Exception):
    """The worker died, timed out or broke the protocol during one request."""

    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind          # "timeout", "crash", "memory", "protocol"
        self.detail = detail


def encode(value, arrays):
    """JSON-able tree of ``value`` with ndarrays moved to ``arrays`` (as indices)."""
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode(v, arrays) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return {"__float__": repr(float(value))}
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot send a {type(value).__name__}")


def decode(tree, arrays):
    """Inverse of :func:`encode`; unknown markers become ``Unsupported``."""
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    if isinstance(tree, dict):
        if "__array__" in tree:
            return arrays[int(tree["__array__"])]
        if "__float__" in tree:
            return float(tree["__float__"])
        if "__dict__" in tree:
            out = {}
            for key, value in tree["__dict__"]:
                key = decode(key, arrays)
                out[key if isinstance(key, (str, int, float, bool, type(None))) else repr(key)] = decode(value, arrays)
            return out
        if "__unsupported__" in tree:
            return Unsupported(str(tree["__unsupported__"]))
        raise ValueError("malformed value")
    return tree


@dataclass(frozen=True)
class Unsupported:
    """A value the worker could not send (e.g. an object array); ``what`` names its type."""

    what: str


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _write_all(fd, data, deadline):
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerFailure("timeout", "the worker stopped reading its input")
        _, writable, _ = select.select([], [fd], [], remaining)
        if not writable:
            continue
        try:
            written = os.write(fd, view[: 1 << 16])
        except (BrokenPipeError, OSError) as error:
            raise WorkerFailure("crash", f"the worker closed its input ({error.__class__.__name__})")
        view = view[written:]


def _read_exact(fd, size, deadline):
    chunks, got = [], 0
    while got < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerFailure("timeout", "no answer within the time limit")
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            raise WorkerFailure("crash", "the worker exited")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def pack_frames(header, arrays):
    """One message as bytes: frame count, JSON header, then one .npy frame per array.

    The one wire format of both guests: the package checks' worker reads and
    writes it on pipes, the notebook guest (:mod:`autograder.sandbox.notebook_guest`)
    as base64 through the learner's kernel.
    """
    frames = [json.dumps(header).encode()] + [_npy_bytes(a) for a in arrays]
    parts = [struct.pack(">I", len(frames))]
    for frame in frames:
        parts += [struct.pack(">Q", len(frame)), frame]
    return b"".join(parts)


def _parse_frames(frames):
    try:
        header = json.loads(frames[0].decode())
        arrays = [np.load(io.BytesIO(f), allow_pickle=False) for f in frames[1:]]
    except Exception as error:  # anything malformed from the worker is a protocol error
        raise WorkerFailure("protocol", f"unreadable answer ({error.__class__.__name__})")
    if not isinstance(header, dict):
        raise WorkerFailure("protocol", "unreadable answer (header is not an object)")
    return header, arrays


def unpack_frames(data):
    """Inverse of :func:`pack_frames` for bytes from an untrusted peer: pickle-free, sizes checked."""
    view = memoryview(data)

    def take(size, offset):
        if offset + size > len(view):
            raise WorkerFailure("protocol", "truncated answer")
        return view[offset:offset + size], offset + size

    raw, offset = take(4, 0)
    (count,) = struct.unpack(">I", raw)
    if not 1 <= count <= 10_000:
        raise WorkerFailure("protocol", f"bad frame count {count}")
    frames = []
    for _ in range(count):
        raw, offset = take(8, offset)
        (size,) = struct.unpack(">Q", raw)
        if size > MAX_FRAME:
            raise WorkerFailure("protocol", f"answer too large ({size} bytes)")
        frame, offset = take(size, offset)
        frames.append(bytes(frame))
    return _parse_frames(frames)


def send_message(fd, header, arrays, deadline):
    """Write one message (:func:`pack_frames`) to ``fd``."""
    _write_all(fd, pack_frames(header, arrays), deadline)


def receive_message(fd, deadline):
    """Read one message from an untrusted peer: (header dict, list of arrays), pickle-free."""
    (count,) = struct.unpack(">I", _read_exact(fd, 4, deadline))
    if not 1 <= count <= 10_000:
        raise WorkerFailure("protocol", f"bad frame count {count}")
    frames, total = [], 0
    for _ in range(count):
        (size,) = struct.unpack(">Q", _read_exact(fd, 8, deadline))
        total += size
        if size > MAX_FRAME or total > 4 * MAX_FRAME:
            raise WorkerFailure("protocol", f"answer too large ({total} bytes)")
        frames.append(_read_exact(fd, size, deadline))
    return _parse_frames(frames)

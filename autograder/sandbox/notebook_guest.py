"""The part of notebook grading that runs INSIDE the learner's kernel.

Untrusted territory, like :mod:`autograder.sandbox.package_guest`: the learner's code runs in
the same interpreter and may replace anything here, so nothing here decides a
grade. The trusted grader (:mod:`autograder.sandbox.trusted_tests`) evaluates each
test cell itself and asks this guest for what the test reads from the
learner's notebook:

- ``get``: a name of the notebook's namespace;
- ``getattr``/``setattr``, ``getitem``/``setitem``, ``len``, ``list``: on an
  object the guest holds for the grader (a *handle*);
- ``call``: a function or class (a handle) on arguments the grader sends; the
  arrays, dicts and lists passed are sent back after the call, so the grader
  sees what the function did to its inputs;
- ``import``: a module of the learner's ``cs_convnet``;
- ``release``: forget the handles of a finished test cell.

Values travel as plain data of exact types: ``None``, ``bool``, ``int``,
``float``, ``str``, tuples, lists and dicts of them, numeric numpy arrays and
scalars (as ``.npy`` frames), and numeric dtypes (``np.float64`` or
``np.dtype("float32")``, as their ``str``: ``dtype=`` arguments). A subclass of those (an ``int`` whose ``__eq__``
always says yes) is *refused*: the grader is told its type and fails the test.
Any other object (a function, a class, a module, a model) stays here and the
grader gets a handle: an opaque name it can call or look into, never compare.

Standalone on purpose: its source is executed once in the kernel as the module
``_cs_convnet_guest``. A request is a base64 string of frames (a count, a JSON
header, then one ``.npy`` frame per array, as the package checks' sandbox
uses), and so is the reply. Requests travel as Jupyter comm messages once
:func:`open_channel` has run (about 2 ms a round trip); before that, or where
comms are unavailable, as one line of code calling :func:`serve`, answered by
a ``display_data`` output of type :data:`REPLY_MIME` (about 5 ms).
"""

import base64
import io
import json
import struct
import sys
import traceback

REPLY_MIME = "application/x-cs-convnet-reply"
MAX_ITEMS = 100_000   # values in one reply, against self-referencing containers
MAX_DEPTH = 32

_handles = {}
_next_handle = [1]


def _np():
    import numpy
    return numpy


def _namespace():
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else sys.modules["__main__"].__dict__


# -- frames -------------------------------------------------------------------
def pack(header, arrays):
    np = _np()
    frames = [json.dumps(header).encode()]
    for array in arrays:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        frames.append(buffer.getvalue())
    return struct.pack(">I", len(frames)) + b"".join(struct.pack(">Q", len(f)) + f for f in frames)


def unpack(data):
    np = _np()
    (count,) = struct.unpack_from(">I", data, 0)
    offset, frames = 4, []
    for _ in range(count):
        (size,) = struct.unpack_from(">Q", data, offset)
        frames.append(data[offset + 8: offset + 8 + size])
        offset += 8 + size
    header = json.loads(frames[0].decode())
    arrays = [np.load(io.BytesIO(f), allow_pickle=False).copy() for f in frames[1:]]
    return header, arrays


# -- values -------------------------------------------------------------------
_PLAIN_BASES = (bool, int, float, complex, str, bytes, tuple, list, dict, set, frozenset)


def _handle(value):
    number = _next_handle[0]
    _next_handle[0] += 1
    _handles[number] = value
    kind = type(value)
    handle = {"h": number, "type": getattr(kind, "__qualname__", "object"),
              "module": getattr(kind, "__module__", None), "callable": callable(value)}
    if isinstance(value, type(sys)):
        handle["module_name"] = value.__name__   # the grader uses its own copy of a library module
    return handle


def encode(value, arrays, budget, depth=0, containers_as_handles=False):
    """JSON-able tree of ``value``; see the module docstring for what is plain."""
    np = _np()
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        return {"refused": "a value too large or too deeply nested to send"}
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return {"f": repr(value)}
    if kind is np.ndarray:
        if value.dtype.kind not in "biufc" or value.dtype.fields is not None:
            return {"refused": f"a numpy array of dtype {value.dtype} (only numeric arrays are plain data)"}
        arrays.append(np.ascontiguousarray(value))
        return {"a": len(arrays) - 1}
    if issubclass(kind, np.generic) and kind.__module__ == "numpy":
        if np.dtype(kind).kind not in "biufc":
            return {"refused": f"a numpy scalar of type {kind.__name__}"}
        arrays.append(np.asarray(value))
        return {"s": len(arrays) - 1}
    dtype = numeric_dtype(value)
    if dtype is not None:
        return {"dt": dtype.str, "type": isinstance(value, type)}
    if kind is dict:
        if containers_as_handles:
            return _handle(value)
        return {"d": [[encode(k, arrays, budget, depth + 1), encode(v, arrays, budget, depth + 1)]
                      for k, v in list(value.items())]}
    if kind is tuple:
        return {"t": [encode(v, arrays, budget, depth + 1) for v in value]}
    if kind is list:
        return [encode(v, arrays, budget, depth + 1) for v in list(value)]
    if issubclass(kind, _PLAIN_BASES) or issubclass(kind, (np.ndarray, np.generic)):   # type(): __class__ may lie
        base = next(b for b in (bool, int, float, complex, str, bytes, tuple, list, dict, set, frozenset,
                                np.ndarray, np.generic) if issubclass(kind, b))
        return {"refused": f"an object of type {kind.__qualname__}, a subclass of {base.__name__} "
                           f"(only exact {base.__name__} values are plain data)"}
    return _handle(value)


def numeric_dtype(value):
    """The dtype of a numpy numeric scalar type or exact numpy dtype (``None`` for anything else)."""
    np = _np()
    if isinstance(value, type):
        if issubclass(value, np.generic) and value.__module__ == "numpy" and np.dtype(value).kind in "biufc":
            return np.dtype(value)
        return None
    if isinstance(value, np.dtype) and type(value).__module__ in ("numpy", "numpy.dtypes") \
            and value.kind in "biufc" and value.fields is None:
        return value
    return None


def decode(tree, arrays):
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    if isinstance(tree, dict):
        if "f" in tree:
            return float(tree["f"])
        if "a" in tree:
            return arrays[tree["a"]]
        if "s" in tree:
            return arrays[tree["s"]][()]
        if "t" in tree:
            return tuple(decode(v, arrays) for v in tree["t"])
        if "dt" in tree:
            dtype = _np().dtype(tree["dt"])
            return dtype.type if tree.get("type") else dtype
        if "d" in tree:
            return {decode(k, arrays): decode(v, arrays) for k, v in tree["d"]}
        if "h" in tree:
            return _handles[tree["h"]]
        raise ValueError("malformed value")
    return tree


def _error(error):
    where = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename != __file__ and "_cs_convnet_guest" not in frame.filename:
            name = frame.filename
            if "cs_convnet/" in name:
                name = "cs_convnet/" + name.split("cs_convnet/", 1)[-1]
            elif name.startswith("<ipython-input") or "ipykernel_" in name:
                name = "a cell of your notebook"
            where = f" ({name}, line {frame.lineno})"
            break
    message = str(error).splitlines()[0] if str(error).strip() else ""
    import builtins

    kind = type(error)
    return {"type": kind.__name__, "builtin": getattr(builtins, kind.__name__, None) is kind,
            "message": message[:500], "where": where}


# -- requests -----------------------------------------------------------------
def _mutable_after(args, arrays, budget):
    np = _np()
    return [encode(a, arrays, budget) if type(a) in (np.ndarray, dict, list) else None for a in args]


def handle(header, arrays):
    op = header["op"]
    out = []
    budget = [MAX_ITEMS]
    if op == "get":
        space = _namespace()
        if header["name"] not in space:
            return {"ok": True, "missing": True}, out
        return {"ok": True, "value": encode(space[header["name"]], out, budget)}, out
    if op == "import":
        import importlib

        return {"ok": True, "value": _handle(importlib.import_module(header["module"]))}, out
    target = _handles[header["handle"]] if "handle" in header else None
    if op == "getattr":
        import types

        name = header["name"]
        try:
            value = getattr(target, name)
        except AttributeError:
            if not isinstance(target, types.ModuleType):
                raise
            import importlib   # ``from package import submodule`` imports it

            value = importlib.import_module(f"{target.__name__}.{name}")
        return {"ok": True, "value": encode(value, out, budget, containers_as_handles=True)}, out
    if op == "setattr":
        setattr(target, header["name"], decode(header["value"], arrays))
        return {"ok": True}, out
    if op == "getitem":
        return {"ok": True, "value": encode(target[decode(header["key"], arrays)], out, budget)}, out
    if op == "setitem":
        target[decode(header["key"], arrays)] = decode(header["value"], arrays)
        return {"ok": True}, out
    if op == "delitem":
        del target[decode(header["key"], arrays)]
        return {"ok": True}, out
    if op == "len":
        return {"ok": True, "value": len(target)}, out
    if op == "list":
        return {"ok": True, "value": encode(list(target), out, budget)}, out
    if op == "call":
        args = decode(header["args"], arrays)
        kwargs = decode(header["kwargs"], arrays)
        result = target(*args, **kwargs)
        return {"ok": True, "value": encode(result, out, budget),
                "args_after": _mutable_after(args, out, budget),
                "kwargs_after": dict(zip(kwargs, _mutable_after(list(kwargs.values()), out, budget)))}, out
    if op == "release":
        _handles.clear()
        return {"ok": True}, out
    raise ValueError(f"unknown request {op!r}")


def answer(request, nonce):
    """The reply (base64 frames) to one request (base64 frames); it carries ``nonce`` back."""
    try:
        header, arrays = unpack(base64.b64decode(request))
        reply, out = handle(header, arrays)
    except BaseException as error:  # the learner's code may raise anything, SystemExit included
        reply, out = {"ok": False, "error": _error(error)}, []
    reply["nonce"] = nonce
    try:
        return base64.b64encode(pack(reply, out)).decode("ascii")
    except BaseException as error:
        return base64.b64encode(pack({"ok": False, "nonce": nonce, "error": _error(error)}, [])).decode("ascii")


def serve(request, nonce):
    """Answer one request sent as code to execute: the reply is a ``display_data`` output."""
    from IPython.display import display

    display({REPLY_MIME: answer(request, nonce)}, raw=True)


def open_channel(target):
    """Answer requests sent as comm messages to ``target``: no code to compile and run for each.

    A message's data is ``{"request": ..., "nonce": ...}``; the reply is a comm
    message ``{REPLY_MIME: reply}``.
    """
    from IPython import get_ipython

    kernel = get_ipython().kernel

    def opened(comm, _message):
        @comm.on_msg
        def received(message):
            data = message["content"]["data"]
            comm.send({REPLY_MIME: answer(data["request"], data["nonce"])})

    kernel.comm_manager.register_target(target, opened)

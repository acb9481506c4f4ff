"""Score notebook test cells in the trusted grader process, not in the learner's kernel.

A test cell run in the learner's kernel runs after the learner's code, which
can rebind ``check_close``, ``np.allclose`` or ``AssertionError``, or hand the
test an ``int`` whose ``__eq__`` always says yes. So the grade of every
autograded test cell is decided here, in nbgrader's own process:

* the cell's whole source (hidden tests included, which never leave this
  process) is executed with :func:`evaluate_cell` in a :class:`TrustedNamespace`;
* the check helpers (the cells the source notebook marks
  ``"cs_convnet": {"trusted_helpers": true}``), numpy, the builtins and
  ``cs_convnet.gradient_check`` are this process's own;
* every other name the test reads is fetched from the learner's kernel through
  :class:`KernelLink` as **plain data** of exact types (``None``, ``bool``,
  ``int``, ``float``, ``str``, tuples, lists, dicts, numeric numpy arrays and
  scalars, decoded here from JSON and ``.npy`` with ``allow_pickle=False``).
  A subclass (an always-equal ``int``) is refused and the test fails saying so;
* functions, classes, modules and objects (a model, a solver) stay in the
  kernel: the test gets a :class:`Remote` handle. Calling it sends plain
  arguments to the kernel, where the learner's code runs under the kernel's
  sandbox limits, and plain results come back; arrays, dicts and lists passed
  in come back too, so a function that writes into its input is seen doing so.
  A handle can be called, indexed and looked into, but any comparison or
  conversion (``==``, ``bool``, ``float``, ``np.asarray``) is refused;
* ``import cs_convnet...`` in test code gives handles to the learner's modules
  in the kernel (``cs_convnet.gradient_check`` excepted); a library module the
  learner's namespace holds (``np``, ``math``: :data:`LIBRARY_MODULES`) is
  replaced by this process's own import of it, so rebinding ``np.allclose``
  in the kernel reaches no test, even without trusted helper cells.

What it cannot see: the values themselves are the learner's (a function may
return answers hard-coded for the visible checks; the hidden checks use other
inputs), and a function may behave differently when it notices it is graded,
which changes only what it returns. The learner's outputs and plots are not
graded. See :mod:`autograder.sandbox.notebook_guest` for the kernel's side.
"""

import ast
import base64
import builtins
import contextlib
import importlib
import io
import secrets
import time
from pathlib import Path

import numpy as np

from . import notebook_guest
from .protocol import WorkerFailure, pack_frames, unpack_frames

GUEST_MODULE = "_cs_convnet_guest"
TRUSTED_MODULES = {"cs_convnet.gradient_check"}   # provided checking code: the grader's own copy
# A module the learner's namespace holds (``np``) is the grader's own when it is one of these libraries
# (or a submodule); any other module stays in the kernel, a handle.
LIBRARY_MODULES = {"numpy", "math", "cmath", "statistics", "itertools", "functools", "collections", "operator",
                   "fractions", "decimal"}
TRUSTED_HELPERS_KEY = "trusted_helpers"          # cell metadata "cs_convnet": {"trusted_helpers": true}


class GradingLinkBroken(BaseException):
    """The learner's kernel stopped answering (died, hung, broke the protocol).

    A ``BaseException``, so that test code's ``except Exception`` cannot swallow it.
    """


class NotPlainData(TypeError):
    """The learner handed the grader something that is not plain data."""


class LearnerError(Exception):
    """An exception of the learner's code whose type is not a builtin one."""


def _refused(what, detail):
    return NotPlainData(f"{what} is {detail}: the grader accepts only plain data here "
                        "(int, float, bool, str, None, tuples/lists/dicts of them, numeric numpy arrays)")


def guest_bootstrap():
    """Code that installs the guest in the kernel as module ``_cs_convnet_guest``."""
    source = Path(notebook_guest.__file__).read_text(encoding="utf-8")
    return (f"import sys as _s, types as _t\n"
            f"_m = _t.ModuleType({GUEST_MODULE!r}); _m.__file__ = {GUEST_MODULE!r}\n"
            f"exec(compile({source!r}, {GUEST_MODULE!r}, 'exec'), _m.__dict__)\n"
            f"_s.modules[{GUEST_MODULE!r}] = _m\n"
            f"del _s, _t, _m\n")


class CellTimedOut(BaseException):
    """The learner's code ran over the cell's time limit and was interrupted; the kernel still answers.

    A ``BaseException``, so that test code's ``except Exception`` cannot swallow it.
    """


class KernelLink:
    """Requests to the guest in the learner's kernel.

    ``run_code(code, timeout) -> outputs`` executes ``code`` silently in the
    kernel and returns its nbformat outputs; it raises :class:`GradingLinkBroken`
    when the kernel dies. ``budget`` is the seconds allowed for one test cell.
    ``channel``, if given, carries the requests as comm messages once the guest
    is installed: ``channel.open(target, timeout)`` and ``channel.send(data, timeout)
    -> outputs`` (the reply as a ``display_data`` output, as ``run_code`` gives).
    """

    def __init__(self, run_code, budget=300.0, channel=None):
        self.run_code = run_code
        self.channel = channel
        self.channel_open = False
        self.budget = budget
        self.deadline = None
        self.broken = None
        self.installed = False
        self.requests = 0            # requests answered, and seconds spent waiting on the kernel
        self.seconds = 0.0

    def start_cell(self):
        self.deadline = time.monotonic() + self.budget
        if self.broken is None and not self.installed:
            self._run(guest_bootstrap())
            self.installed = True
            if self.channel is not None:
                target = f"cs-convnet-grader-{secrets.token_hex(8)}"
                self._run(f"__import__('sys').modules[{GUEST_MODULE!r}].open_channel({target!r})")
                self._run(target, self.channel.open)
                self.channel_open = True

    def end_cell(self):
        if self.broken is None and self.installed:
            try:
                self.request({"op": "release"})
            except (GradingLinkBroken, Exception):
                pass

    def _run(self, code, run=None):
        if self.broken is not None:
            raise GradingLinkBroken(self.broken)
        remaining = (self.deadline or time.monotonic() + self.budget) - time.monotonic()
        if remaining <= 0:
            raise GradingLinkBroken(f"the checks of this cell ran over the time limit of {self.budget:g} s")
        started = time.perf_counter()
        try:
            return (run or self.run_code)(code, remaining)
        except GradingLinkBroken as error:
            self.broken = str(error)
            raise
        finally:
            self.seconds += time.perf_counter() - started

    def request(self, header, arrays=()):
        """Send one request; return (reply header, arrays), or raise the learner's exception."""
        nonce = secrets.token_hex(8)
        payload = base64.b64encode(pack_frames(header, list(arrays))).decode("ascii")
        if self.channel_open:
            outputs = self._run({"request": payload, "nonce": nonce}, self.channel.send)
        else:
            outputs = self._run(f"__import__('sys').modules[{GUEST_MODULE!r}].serve({payload!r}, {nonce!r})")
        self.requests += 1
        replies = [o for o in outputs if o.get("output_type") == "display_data"
                   and notebook_guest.REPLY_MIME in o.get("data", {})]
        if not replies:
            errors = [o for o in outputs if o.get("output_type") == "error"]
            why = (f"{errors[-1].get('ename')}: {errors[-1].get('evalue')}" if errors
                   else "no answer came back")
            if errors and errors[-1].get("ename") == "CellTimeoutError":
                raise CellTimedOut(f"your code ran over the time limit ({self.budget:g} s per test cell) "
                                   "and was interrupted")
            raise GradingLinkBroken(f"the grader could not get an answer from your notebook's kernel ({why})")
        try:
            data = base64.b64decode(replies[-1]["data"][notebook_guest.REPLY_MIME], validate=True)
            reply, reply_arrays = unpack_frames(data)
        except (ValueError, WorkerFailure) as error:
            raise GradingLinkBroken(f"the kernel's answer was unreadable ({error})") from None
        if reply.get("nonce") != nonce:
            raise GradingLinkBroken("the kernel answered another request")
        if reply.get("ok") is not True:
            raise _learner_exception(reply.get("error"))
        return reply, reply_arrays

    # -- values ------------------------------------------------------------
    def decode(self, tree, arrays, what, depth=0):
        """A trusted value from the guest's tree; :class:`NotPlainData` for anything else."""
        if depth > notebook_guest.MAX_DEPTH:
            raise _refused(what, "nested too deeply")
        if tree is None or type(tree) in (bool, int, str):
            return tree
        if type(tree) is list:
            return [self.decode(v, arrays, what, depth + 1) for v in tree]
        if type(tree) is not dict or len(tree) == 0:
            raise GradingLinkBroken("the kernel's answer was malformed")
        if "refused" in tree:
            raise _refused(what, str(tree["refused"])[:300])
        if set(tree) == {"f"} and type(tree["f"]) is str:
            try:
                return float(tree["f"])
            except ValueError:
                raise GradingLinkBroken("the kernel's answer was malformed") from None
        if set(tree) <= {"a", "s"} and len(tree) == 1:
            index = tree.get("a", tree.get("s"))
            if type(index) is not int or not 0 <= index < len(arrays):
                raise GradingLinkBroken("the kernel's answer was malformed")
            array = arrays[index]
            if type(array) is not np.ndarray or array.dtype.kind not in "biufc" or array.dtype.fields:
                raise _refused(what, f"an array of dtype {array.dtype}")
            if "s" in tree:
                if array.ndim != 0:
                    raise GradingLinkBroken("the kernel's answer was malformed")
                return array[()]
            return np.array(array, copy=True)
        if set(tree) == {"t"} and type(tree["t"]) is list:
            return tuple(self.decode(v, arrays, what, depth + 1) for v in tree["t"])
        if set(tree) == {"dt", "type"} and type(tree["dt"]) is str and type(tree["type"]) is bool:
            try:
                dtype = np.dtype(tree["dt"])
            except TypeError:
                raise GradingLinkBroken("the kernel's answer was malformed") from None
            if dtype.kind not in "biufc" or dtype.fields is not None:
                raise _refused(what, f"a dtype {dtype}")
            return dtype.type if tree["type"] else dtype
        if set(tree) == {"d"} and type(tree["d"]) is list:
            out = {}
            for pair in tree["d"]:
                if type(pair) is not list or len(pair) != 2:
                    raise GradingLinkBroken("the kernel's answer was malformed")
                key = self.decode(pair[0], arrays, what, depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise _refused(what, "a dict with an unhashable key") from None
                out[key] = self.decode(pair[1], arrays, what, depth + 1)
            return out
        if "h" in tree and type(tree["h"]) is int:
            library = tree.get("module_name")
            if type(library) is str and library.split(".")[0] in LIBRARY_MODULES \
                    and all(part.isidentifier() for part in library.split(".")):
                return importlib.import_module(library)
            return Remote(self, tree["h"], str(tree.get("type"))[:100], bool(tree.get("callable")), what)
        raise GradingLinkBroken("the kernel's answer was malformed")

    def encode(self, value, arrays, what):
        """The guest's tree of a trusted value: plain data or a handle of the same kernel."""
        kind = type(value)
        if value is None or kind in (bool, int, str):
            return value
        if kind is float:
            return {"f": repr(value)}
        if kind is np.ndarray:
            if value.dtype.kind not in "biufc":
                raise TypeError(f"{what}: cannot send an array of dtype {value.dtype} to the learner's code")
            arrays.append(value)
            return {"a": len(arrays) - 1}
        if isinstance(value, np.generic) and np.dtype(kind).kind in "biufc":
            arrays.append(np.asarray(value))
            return {"s": len(arrays) - 1}
        dtype = notebook_guest.numeric_dtype(value)
        if dtype is not None:
            return {"dt": dtype.str, "type": isinstance(value, type)}
        if kind is tuple:
            return {"t": [self.encode(v, arrays, what) for v in value]}
        if kind is list:
            return [self.encode(v, arrays, what) for v in value]
        if kind is dict:
            return {"d": [[self.encode(k, arrays, what), self.encode(v, arrays, what)] for k, v in value.items()]}
        if kind is Remote and value._link is self:
            return {"h": value._handle}
        raise TypeError(f"{what}: cannot send a {kind.__name__} to the learner's code (only plain data)")

    # -- operations --------------------------------------------------------
    def get_name(self, name):
        """``(True, value)`` for a name of the notebook's namespace, ``(False, None)`` if it has none."""
        reply, arrays = self.request({"op": "get", "name": name})
        if reply.get("missing"):
            return False, None
        return True, self.decode(reply.get("value"), arrays, f"your notebook's `{name}`")

    def import_module(self, name):
        reply, arrays = self.request({"op": "import", "module": name})
        return self.decode(reply.get("value"), arrays, f"module {name}")

    def op(self, remote, op, what, **fields):
        arrays = []
        header = {"op": op, "handle": remote._handle}
        for key, value in fields.items():
            header[key] = value if key == "name" else self.encode(value, arrays, what)
        reply, reply_arrays = self.request(header, arrays)
        return reply, reply_arrays

    def call(self, remote, args, kwargs):
        what = f"{remote._what}(...)"
        arrays = []
        header = {"op": "call", "handle": remote._handle,
                  "args": [self.encode(a, arrays, what) for a in args],
                  "kwargs": {"d": [[k, self.encode(v, arrays, what)] for k, v in kwargs.items()]}}
        reply, reply_arrays = self.request(header, arrays)
        result = self.decode(reply.get("value"), reply_arrays, f"what {remote._what} returned")
        after = reply.get("args_after") or []
        for original, tree in zip(args, after if type(after) is list else []):
            _write_back(original, tree, self, reply_arrays, what)
        kwargs_after = reply.get("kwargs_after") or {}
        for key, original in kwargs.items():
            if type(kwargs_after) is dict and key in kwargs_after:
                _write_back(original, kwargs_after[key], self, reply_arrays, what)
        return result


def _write_back(original, tree, link, arrays, what):
    """Make an argument show what the learner's function did to it in the kernel."""
    if tree is None or type(original) not in (np.ndarray, dict, list):
        return
    try:
        after = link.decode(tree, arrays, f"an argument of {what} after the call")
    except NotPlainData:
        return
    if type(original) is np.ndarray and type(after) is np.ndarray:
        if after.shape == original.shape and original.flags.writeable:
            np.copyto(original, after, casting="unsafe")
    elif type(original) is dict and type(after) is dict:
        original.clear()
        original.update(after)
    elif type(original) is list and type(after) is list:
        original[:] = after


_NOT_REBUILT = (SystemExit, KeyboardInterrupt, GeneratorExit, StopIteration, StopAsyncIteration)


def _learner_exception(error):
    """The learner's exception as a trusted one: same builtin type and message, else LearnerError."""
    if not isinstance(error, dict):
        return GradingLinkBroken("the kernel's answer was malformed")
    name, message = str(error.get("type", "Exception"))[:100], str(error.get("message", ""))[:500]
    text = f"{message}{str(error.get('where', ''))[:300]}"
    kind = getattr(builtins, name, None) if error.get("builtin") is True else None
    if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, _NOT_REBUILT):
        try:
            return kind(text)
        except Exception:
            pass
    return LearnerError(f"{name}: {text}" if text else name)


_PLAIN_DUNDERS = {"__version__", "__file__", "__name__", "__qualname__", "__module__", "__doc__"}


class Remote:
    """A handle to an object that stays in the learner's kernel: call it, index it, look into it.

    Never converts: ``==``, ``bool``, ``float``, ``int``, ``np.asarray`` and
    ordering raise :class:`NotPlainData`, so a lying object can decide nothing here.
    """

    __slots__ = ("_link", "_handle", "_type", "_callable", "_what")

    def __init__(self, link, handle, type_name, is_callable, what):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_callable", is_callable)
        object.__setattr__(self, "_what", what)

    def __repr__(self):
        return f"<{self._what} ({self._type}) in your notebook's kernel>"

    __str__ = __repr__

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in _PLAIN_DUNDERS:
            raise AttributeError(name)   # numpy's and Python's protocol probes stay here
        what = f"{self._what}.{name}" if not self._what.startswith("module ") else name
        reply, arrays = self._link.op(self, "getattr", what, name=name)
        return self._link.decode(reply.get("value"), arrays, what)

    def __setattr__(self, name, value):
        self._link.op(self, "setattr", f"{self._what}.{name}", name=name, value=value)

    def __call__(self, *args, **kwargs):
        return self._link.call(self, args, kwargs)

    def __getitem__(self, key):
        reply, arrays = self._link.op(self, "getitem", f"{self._what}[...]", key=key)
        return self._link.decode(reply.get("value"), arrays, f"{self._what}[{key!r}]")

    def __setitem__(self, key, value):
        self._link.op(self, "setitem", f"{self._what}[...]", key=key, value=value)

    def __delitem__(self, key):
        self._link.op(self, "delitem", f"{self._what}[...]", key=key)

    def __len__(self):
        reply, _ = self._link.op(self, "len", self._what)
        value = reply.get("value")
        if type(value) is not int or value < 0:
            raise _refused(f"len({self._what})", "not a non-negative int")
        return value

    def __iter__(self):
        reply, arrays = self._link.op(self, "list", self._what)
        items = self._link.decode(reply.get("value"), arrays, f"the items of {self._what}")
        if type(items) is not list:
            raise GradingLinkBroken("the kernel's answer was malformed")
        return iter(items)

    def __contains__(self, item):
        return any(type(x) is type(item) and x == item for x in self)

    def __hash__(self):
        return id(self)

    def _refuse(self, *_args, **_kwargs):
        raise _refused(self._what, f"an object of type {self._type}, not plain data, so it cannot be "
                                   "compared or converted")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __bool__ = __float__ = __int__ = __index__ = __complex__ = __array__ = _refuse


def _trusted_import(link):
    real_import = builtins.__import__

    def import_(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "cs_convnet" or name.startswith("cs_convnet.")) and name not in TRUSTED_MODULES:
            module = link.import_module(name)
            return module if fromlist else (link.import_module("cs_convnet") if "." in name else module)
        return real_import(name, globals, locals, fromlist, level)

    return import_


class TrustedNamespace(dict):
    """Globals of trusted test code: its own names, then the builtins, then the learner's (fetched)."""

    def __init__(self, link):
        super().__init__()
        self._link = link
        self._fetched = set()
        self._trusted_only = set()   # names the trusted cells define: never read from the kernel
        trusted_builtins = dict(builtins.__dict__)
        trusted_builtins["__import__"] = _trusted_import(link)
        dict.__setitem__(self, "__builtins__", trusted_builtins)
        dict.__setitem__(self, "__name__", "__main__")

    def __missing__(self, name):
        if (name in self["__builtins__"] or name in self._trusted_only
                or (name.startswith("__") and name.endswith("__"))):
            raise KeyError(name)
        found, value = self._link.get_name(name)
        if not found:
            raise KeyError(name)
        dict.__setitem__(self, name, value)
        self._fetched.add(name)
        return value

    def __setitem__(self, name, value):
        self._fetched.discard(name)
        dict.__setitem__(self, name, value)

    def __contains__(self, name):
        try:
            self[name]
        except KeyError:
            return False
        return True

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def forget_fetched(self):
        """Drop the learner's values read by the last cell: the next cell reads them afresh."""
        for name in self._fetched:
            dict.pop(self, name, None)
        self._fetched.clear()


def without_magics(source):
    """Cell source without IPython magics and shell escapes (``%...``, ``!...``)."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


class Outcome:
    """What the trusted evaluation of one test cell found."""

    def __init__(self, passed, stdout, ename=None, evalue=None, link_broken=False):
        self.passed, self.stdout, self.ename, self.evalue = passed, stdout, ename, evalue
        self.link_broken = link_broken

    def outputs(self):
        """nbformat outputs that make nbgrader score the cell as this outcome says."""
        from nbformat.notebooknode import NotebookNode

        outputs = []
        if self.stdout:
            outputs.append(NotebookNode(output_type="stream", name="stdout", text=self.stdout))
        if not self.passed:
            outputs.append(NotebookNode(output_type="error", ename=self.ename, evalue=self.evalue,
                                        traceback=[f"{self.ename}: {self.evalue}"]))
        return outputs


def defined_names(source):
    """Names bound at the top level of ``source`` (definitions, assignments, imports)."""
    names = set()
    for node in ast.parse(without_magics(source)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
    return names


def run_trusted(namespace, source, name):
    """Execute provided (trusted) code in ``namespace``; its prints are discarded.

    The names it defines are never read from the learner's kernel afterwards,
    even if the code failed before defining them.
    """
    namespace._trusted_only |= defined_names(source)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(without_magics(source), f"<{name}>", "exec"), namespace)


def evaluate_cell(namespace, source, name):
    """Run a test cell's whole source in ``namespace``; its :class:`Outcome`."""
    link = namespace._link
    stdout = io.StringIO()
    link.start_cell()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stdout):
            exec(compile(without_magics(source), f"<test cell {name}>", "exec"), namespace)
    except GradingLinkBroken as error:
        return Outcome(False, stdout.getvalue(), "GradingError", str(error), link_broken=True)
    except CellTimedOut as error:
        return Outcome(False, stdout.getvalue(), "CellTimeoutError", str(error))
    except Exception as error:
        return Outcome(False, stdout.getvalue(), type(error).__name__, str(error))
    finally:
        namespace.forget_fetched()
        link.end_cell()
    return Outcome(True, stdout.getvalue())

"""The part of the grader that runs INSIDE the sandbox, next to the learner's code.

Untrusted territory: everything here may be monkeypatched by the submission,
so nothing here decides anything. The worker imports the learner's modules,
runs their functions on the inputs it is sent, and sends back what they
return. The trusted process (:mod:`autograder.engine.grade_one`) compares.

Standalone on purpose (the sandbox holds no other grader file): it is copied
into the sandbox root as ``_grading_worker.py`` and started as
``python -I -S -B _grading_worker.py --root ROOT --site SITE --fd-in N --fd-out M``.
``-S`` keeps ``site`` from running ``.pth`` files, so an editable install of
the instructor tree cannot shadow the student edition in ROOT.

Requests (JSON header + .npy frames, see :mod:`autograder.sandbox.protocol`) name a
*program*:

- ``import``: import a module, report the error if any;
- ``call``: ``function(*args)``; also returns the dict arguments after the
  call (batchnorm updates its running averages in ``bn_param``);
- ``forward_backward``: ``out, cache = forward(*args)`` then
  ``backward(dout, cache)`` -- the learner's own cache goes to the learner's
  own backward. If the forward raises, the cache the provided code would have
  built (``fallback``) is used, so a backward is graded on its own;
- ``optim_steps``: several steps of an update rule, passing config along;
- ``classifier``: a model's ``loss`` with fixed parameters, where every layer
  function of ``cs_convnet.layers`` is replaced by a proxy asking the trusted
  process for the reference result (``op: oracle``), so a classifier is
  graded apart from the learner's layers.
"""

import argparse
import io
import json
import os
import struct
import sys
import traceback


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--site", action="append", default=[])
    parser.add_argument("--fd-in", type=int, default=3)
    parser.add_argument("--fd-out", type=int, default=4)
    options = parser.parse_args(argv)
    sys.path[:0] = [options.root]
    sys.path.extend(options.site)
    # Learner prints must never reach the protocol pipe.
    sys.stdout = sys.stderr
    import numpy as np

    channel = Channel(options.fd_in, options.fd_out, np)
    channel.send({"op": "ready"}, [])
    Server(channel, np).serve()


class Channel:
    """Length-prefixed frames: a JSON header, then one .npy frame per array."""

    def __init__(self, fd_in, fd_out, np):
        self.fd_in, self.fd_out, self.np = fd_in, fd_out, np

    def _read(self, size):
        chunks, got = [], 0
        while got < size:
            chunk = os.read(self.fd_in, size - got)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def receive(self):
        (count,) = struct.unpack(">I", self._read(4))
        frames = []
        for _ in range(count):
            (size,) = struct.unpack(">Q", self._read(8))
            frames.append(self._read(size))
        header = json.loads(frames[0].decode())
        arrays = [self.np.load(io.BytesIO(f), allow_pickle=False) for f in frames[1:]]
        return header, arrays

    def send(self, header, arrays):
        frames = [json.dumps(header).encode()]
        for array in arrays:
            buffer = io.BytesIO()
            self.np.save(buffer, array, allow_pickle=False)
            frames.append(buffer.getvalue())
        data = struct.pack(">I", len(frames)) + b"".join(struct.pack(">Q", len(f)) + f for f in frames)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd_out, view):]


class Server:
    def __init__(self, channel, np):
        self.channel, self.np = channel, np
        self.modules = {}

    # -- values -----------------------------------------------------------
    def encode(self, value, arrays):
        np = self.np
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject or value.dtype.fields is not None:
                return {"__unsupported__": f"array of dtype {value.dtype}"}
            arrays.append(np.ascontiguousarray(value))
            return {"__array__": len(arrays) - 1}
        if isinstance(value, np.generic) and not isinstance(value, (np.bool_, np.integer, np.floating)):
            return {"__unsupported__": type(value).__name__}
        if isinstance(value, dict):
            return {"__dict__": [[self.encode(k, arrays), self.encode(v, arrays)] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return [self.encode(v, arrays) for v in value]
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return {"__float__": repr(float(value))}
        if value is None or isinstance(value, str):
            return value
        return {"__unsupported__": type(value).__name__}

    def decode(self, tree, arrays):
        if isinstance(tree, list):
            return [self.decode(v, arrays) for v in tree]
        if isinstance(tree, dict):
            if "__array__" in tree:
                return arrays[tree["__array__"]].copy()
            if "__float__" in tree:
                return float(tree["__float__"])
            if "__dict__" in tree:
                return {self.decode(k, arrays): self.decode(v, arrays) for k, v in tree["__dict__"]}
            if "__tuple__" in tree:
                return tuple(self.decode(v, arrays) for v in tree["__tuple__"])
        return tree

    # -- serving ----------------------------------------------------------
    def serve(self):
        while True:
            try:
                header, arrays = self.channel.receive()
            except EOFError:
                return
            if header.get("op") == "exit":
                return
            self.channel.send(*self.answer(header, arrays))

    def answer(self, header, arrays):
        """The reply to one request: its result, or the error the learner's code raised."""
        try:
            return self.handle(header, arrays)
        except BaseException as error:  # the learner's code may raise anything, SystemExit included
            return {"op": "result", "ok": False, "error": describe(error), "error_type": type(error).__name__}, []

    def handle(self, header, arrays):
        program = header["program"]
        out = []
        if program == "import":
            self.module(header["module"])
            return {"op": "result", "ok": True}, out
        if program == "call":
            function = getattr(self.module(header["module"]), header["function"])
            if header.get("repeat"):
                results = [function(*self.decode(header["args"], arrays)) for _ in range(int(header["repeat"]))]
                return {"op": "result", "ok": True, "result": self.encode(results, out)}, out
            args = self.decode(header["args"], arrays)
            result = function(*args)
            after = [a if isinstance(a, dict) else None for a in args]
            return {"op": "result", "ok": True, "result": self.encode(result, out),
                    "args_after": self.encode(after, out)}, out
        if program == "forward_backward":
            return self.forward_backward(header, arrays)
        if program == "optim_steps":
            function = getattr(self.module(header["module"]), header["function"])
            w = self.decode(header["w"], arrays)
            config = self.decode(header["config"], arrays)
            path = []
            for dw in self.decode(header["grads"], arrays):
                result = function(w, dw, config)
                if not isinstance(result, tuple) or len(result) != 2:
                    raise TypeError(f"{header['function']} must return (next_w, config), got {type(result).__name__}")
                w, config = result
                path.append(self.np.array(w, copy=True))
            return {"op": "result", "ok": True, "result": self.encode(path, out)}, out
        if program == "classifier":
            return self.classifier(header, arrays)
        raise ValueError(f"unknown program {program!r}")

    def module(self, name):
        if name not in self.modules:
            import importlib

            self.modules[name] = importlib.import_module(name)
        return self.modules[name]

    def forward_backward(self, header, arrays):
        module = self.module(header["module"])
        forward, backward = getattr(module, header["forward"]), getattr(module, header["backward"])
        args = self.decode(header["args"], arrays)
        dout = self.decode(header["dout"], arrays)
        fallback = self.decode(header["fallback"], arrays)  # the provided cache for these args
        forward_error, forward_error_type, out, cache = None, None, None, None
        try:
            if header.get("skip_forward"):
                raise RuntimeError("the forward failed in an earlier check and was not run again")
            result = forward(*[self._copy(a) for a in args])
            if not isinstance(result, tuple) or len(result) != 2:
                raise TypeError(f"{header['forward']} must return (out, cache), got {type(result).__name__}")
            out, cache = result
        except Exception as error:
            forward_error, forward_error_type = describe(error), type(error).__name__
        attempts = []
        for use_own in (True, False):
            if use_own and forward_error is not None:
                attempts.append({"error": "the forward failed"})
                continue
            try:
                value = backward(self._copy(dout), cache if use_own else self._copy(fallback))
                attempts.append({"value": value})
            except Exception as error:
                attempts.append({"error": describe(error), "error_type": type(error).__name__})
        out_arrays = []
        return {"op": "result", "ok": True, "forward_error": forward_error, "forward_error_type": forward_error_type,
                "out": self.encode(out if isinstance(out, self.np.ndarray) else None, out_arrays),
                "result": self.encode(attempts, out_arrays)}, out_arrays

    def _copy(self, value):
        if isinstance(value, self.np.ndarray):
            return value.copy()
        if isinstance(value, dict):
            return {k: self._copy(v) for k, v in value.items()}
        return value

    def classifier(self, header, arrays):
        module = self.module(header["module"])
        cls = getattr(module, header["class"])
        init = self.decode(header["init"], arrays)
        if isinstance(init.get("dtype"), str):
            init["dtype"] = getattr(self.np, init["dtype"])
        if isinstance(init.get("input_dim"), list):
            init["input_dim"] = tuple(init["input_dim"])
        params = self.decode(header["params"], arrays)
        X = self.decode(header["X"], arrays)
        y = self.decode(header["y"], arrays)
        model = cls(**init)
        for name, value in params.items():
            model.params[name] = value
        restore = self.install_proxies(header["layer_functions"])
        try:
            result = model.loss(X) if y is None else model.loss(X, y)
        finally:
            for target, name, original in restore:
                setattr(target, name, original)
        out = []
        return {"op": "result", "ok": True, "result": self.encode(result, out)}, out

    def install_proxies(self, names):
        """Point every cs_convnet module's reference to a learner layer at an oracle proxy."""
        layers = self.module("cs_convnet.layers")
        originals = {name: getattr(layers, name, None) for name in names}
        restore = []
        for module_name, module in list(sys.modules.items()):
            if module is None or not (module_name == "cs_convnet" or module_name.startswith("cs_convnet.")):
                continue
            for name, original in originals.items():
                if original is not None and getattr(module, name, None) is original:
                    restore.append((module, name, original))
                    setattr(module, name, self.proxy(name))
        return restore

    def proxy(self, name):
        def reference_layer(*args):
            out = []
            self.channel.send({"op": "oracle", "function": name, "args": self.encode(list(args), out)}, out)
            reply, reply_arrays = self.channel.receive()
            if not reply.get("ok"):
                raise ValueError(reply.get("error", "reference layer failed"))
            for arg, after in zip(args, self.decode(reply["args_after"], reply_arrays)):
                if isinstance(arg, dict) and isinstance(after, dict):
                    arg.update(after)
            return self.decode(reply["result"], reply_arrays)

        reference_layer.__name__ = name
        return reference_layer


def describe(error):
    """One line naming the exception and where in the learner's files it was raised."""
    where = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if "cs_convnet" in frame.filename:
            where = f" (cs_convnet/{frame.filename.split('cs_convnet/', 1)[-1]}, line {frame.lineno})"
            break
    if isinstance(error, SyntaxError) and error.filename and "cs_convnet" in error.filename:
        where = f" (cs_convnet/{error.filename.split('cs_convnet/', 1)[-1]}, line {error.lineno})"
    message = str(error).splitlines()[0] if str(error) else ""
    if len(message) > 300:
        message = message[:300] + "..."
    return f"{type(error).__name__}{': ' + message if message else ''}{where}"


if __name__ == "__main__":
    main()

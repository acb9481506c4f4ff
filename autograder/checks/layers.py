"""Hidden checks of the layers in ``cs_convnet/layers.py``.

Trusted code. Each family draws fresh shapes and values per grading run
(non-square inputs and kernels, stride 1-3, pad 0-3, N=1, overlapping pooling
windows with ties, large-magnitude scores), computes the expected outputs
with the instructor's reference layers and grades forward and backward
separately. Backward passes are judged against the reference backward on the
same inputs and upstream gradient; the reference backward is itself checked
against centred differences in ``tests/autograder/engine/test_grade_one.py`` (where the
function is differentiable: at max-pool ties only the documented convention,
the first maximum, defines the gradient). The learner's backward receives the
learner's own cache; it also runs on the cache the provided code defines
(``fallback``), and passes if either is right, so a wrong forward never costs
the backward its points.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import cs_convnet.layers as ref

from .base import Case, Check, frozen, judge_outputs, pick_dims
from .compare import compare

MODULE = "cs_convnet.layers"


def _normal(rng, *shape, scale=1.0, shift=0.0):
    return rng.normal(shift, scale, size=shape)


# --------------------------------------------------------------------------
# Builders shared by the families
# --------------------------------------------------------------------------

def forward_check(function, family, make, labels=("out",), hints=None, where=None, points=1.0):
    """Check ``function(*args)[0]`` (a layer's out) or the whole result for losses."""
    reference = getattr(ref, function)

    def build(rng):
        args = make(rng)
        result = reference(*frozen(args))
        is_layer = "forward" in function
        expected = [result[0]] if is_layer else list(result)
        hint_map = hints(args, expected) if hints else None
        where_map = where(args) if where else None

        def judge(reply):
            if is_layer:
                if reply.get("ok"):
                    value = reply.get("result")
                    if not isinstance(value, list) or len(value) != 2:
                        return False, f"{function} must return (out, cache)"
                    reply = dict(reply, result=value[0])
            return judge_outputs(reply, function, list(labels), expected, hint_map, where_map)

        return Case({"program": "call", "module": MODULE, "function": function, "args": args}, judge)

    return Check(f"{function}[{family}]", function, MODULE, build, points)


def backward_check(forward, backward, family, make, labels, fallback=None, hints=None, where=None,
                   points=1.0, make_dout=None):
    """Check ``backward(dout, cache)`` with the learner's cache from ``forward``, or the provided one.

    ``fallback(args, ref_cache)`` is the cache the provided code builds (default: the reference cache).
    ``make_dout(rng, args, out)`` draws the upstream gradient (default: standard normal, shaped like out).
    """
    ref_forward, ref_backward = getattr(ref, forward), getattr(ref, backward)

    def build(rng):
        args = make(rng)
        out, cache = ref_forward(*frozen(args))
        dout = make_dout(rng, args, out) if make_dout else rng.normal(size=np.shape(out))
        expected = ref_backward(dout.copy(), cache)
        expected = list(expected) if isinstance(expected, tuple) else [expected]
        provided = fallback(frozen(args), cache) if fallback else frozen(cache)
        hint_map = hints(args, dout, expected) if hints else None
        where_map = where(args) if where else None

        def judge(reply):
            return judge_backward(reply, backward, labels, expected, hint_map, where_map, reference_out=out)

        request = {"program": "forward_backward", "module": MODULE, "forward": forward, "backward": backward,
                   "args": args, "dout": dout, "fallback": provided}
        return Case(request, judge)

    return Check(f"{backward}[{family}]", backward, MODULE, build, points)


def judge_backward(reply, backward, labels, expected, hints=None, where=None, reference_out=None):
    """Judge a backward run on the learner's own cache, falling back on the provided cache.

    The learner's forward -> cache -> backward pair must work. Only when the
    forward raised or returned a wrong ``out`` is the backward judged on the
    cache the provided code defines, so a forward bug does not cost the
    backward its points.
    """
    if not reply.get("ok"):
        return False, f"{backward} raised {reply.get('error', 'an error')}"
    results = reply.get("result")
    if not isinstance(results, list) or len(results) != 2:
        return False, "malformed reply"
    attempts = []
    for value in results:
        if isinstance(value, dict) and "error" in value:
            attempts.append((False, f"{backward} raised {value['error']}"))
        else:
            value = value.get("value") if isinstance(value, dict) else None
            attempts.append(judge_outputs({"ok": True, "result": value}, backward, list(labels), expected, hints,
                                          where))
    (own_passed, own_message), (provided_passed, provided_message) = attempts
    if own_passed:
        return True, ""
    forward_error = reply.get("forward_error")
    forward_wrong = forward_error is not None or (
        reference_out is not None and compare("out", reference_out, reply.get("out")) is not None)
    if forward_wrong:
        if provided_passed:
            return True, ""
        note = (f"your forward raised {forward_error}" if forward_error else "your forward's out is wrong")
        return False, f"{provided_message} ({note}; the backward was run on the cache the provided code builds)"
    if provided_passed:
        return False, (f"{own_message} -- with the cache your forward returns; with the documented cache it is "
                       "right, so the forward stores something the backward does not expect")
    return False, own_message


# --------------------------------------------------------------------------
# Affine and ReLU
# --------------------------------------------------------------------------

def _affine_inputs(shape_of_x):
    def make(rng):
        x_shape = shape_of_x(rng)
        D, M = int(np.prod(x_shape[1:])), int(rng.integers(2, 7))
        return [_normal(rng, *x_shape), _normal(rng, D, M), _normal(rng, M)]
    return make


AFFINE_FAMILIES = {
    "2d": lambda rng: (int(rng.integers(2, 6)), int(rng.integers(3, 9))),
    "4d-input": lambda rng: (int(rng.integers(2, 4)), *pick_dims(rng, 2, 5, 3)),
    "N=1-3d-input": lambda rng: (1, *pick_dims(rng, 2, 6, 2)),
}


def _affine_hints(args, expected):
    x, w, b = args
    return {"out": [(x.reshape(x.shape[0], -1) @ w, "the bias b is not added"),
                    (x.reshape(x.shape[0], -1, order="F") @ w + b,
                     "x is flattened in Fortran order (order='F'); each row must be one example's entries "
                     "in C order, x.reshape(N, D)")]}


def _affine_backward_hints(args, dout, expected):
    x, w, b = args
    return {"db": [(dout.mean(axis=0), "db averages over the minibatch; it is a sum")]}


def _relu_inputs(shape):
    def make(rng):
        x = _normal(rng, *shape(rng))
        x[np.abs(x) < 1e-3] = 0.5  # no exact or near zeros: the kink is a convention, not a test
        # both signs, whatever the draw: a mask that ignores x must show on every run
        negative, positive = rng.choice(x.size, size=2, replace=False)
        x.flat[negative], x.flat[positive] = -np.abs(x.flat[negative]), np.abs(x.flat[positive])
        return [x]
    return make


def _relu_dout(rng, args, out):
    """A normal dout that disagrees in sign with x somewhere on each side of the kink.

    Where x < 0 < dout a mask taken from dout lets gradient through; where
    dout < 0 < x it blocks it. With N=1 and five to eleven values, an
    unconstrained draw let that bug pass up to one run in 32 (five values).
    """
    x = args[0]
    dout = rng.normal(size=np.shape(out))
    for side, sign in ((x < 0, 1.0), (x > 0, -1.0)):
        where = np.flatnonzero(side)
        if where.size:  # _relu_inputs puts both signs in x; another input family may not
            k = where[rng.integers(where.size)]
            dout.flat[k] = sign * np.abs(dout.flat[k])
    return dout


RELU_FAMILIES = {
    "4d": lambda rng: (2, *pick_dims(rng, 2, 5, 3)),
    "N=1-2d": lambda rng: (1, int(rng.integers(5, 12))),
}


def _relu_backward_hints(args, dout, expected):
    x = args[0]
    return {"dx": [(dout * (dout > 0), "the mask is taken from dout; it must come from the forward's input x > 0"),
                   (dout * (x < 0), "the mask is inverted: the gradient flows where x > 0"),
                   ((x > 0).astype(float), "dout is not multiplied in")]}


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------

def _scores(N, C, scale=2.0, shift=0.0):
    def make(rng):
        n = N(rng) if callable(N) else N
        c = C(rng) if callable(C) else C
        return [_normal(rng, n, c, scale=scale, shift=shift), rng.integers(0, c, size=n)]
    return make


LOSS_FAMILIES = {
    "random": _scores(lambda rng: int(rng.integers(3, 8)), lambda rng: int(rng.integers(3, 8))),
    "N=1": _scores(1, lambda rng: int(rng.integers(4, 10))),
}
def _large_scores(rng):
    """Scores near 1000 with one outlier 900 above the rest in every row.

    exp overflows float64 beyond 709.78, so only a softmax that subtracts each
    row's maximum stays finite: neither the raw scores nor scores minus the
    row's minimum (or mean) survive.
    """
    N, C = int(rng.integers(3, 7)), int(rng.integers(3, 7))
    x = _normal(rng, N, C, scale=30.0, shift=1000.0)
    x[np.arange(N), rng.integers(0, C, size=N)] += 900.0
    return [x, rng.integers(0, C, size=N)]


SOFTMAX_FAMILIES = dict(LOSS_FAMILIES, **{"large-scores": _large_scores})


def _loss_hints():
    def hints(args, expected):
        x, y = args
        N = x.shape[0]
        loss, dx = expected
        return {"loss": [(loss * N, "the loss is summed over the minibatch; it is the mean (divide by N)")],
                "dx": [(dx * N, "dx is not divided by N")]}
    return hints


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------

def _conv_inputs(N, C, F, square_kernel, strides, pads):
    def make(rng):
        n = N if isinstance(N, int) else int(rng.integers(*N))
        for _ in range(10_000):
            HH, WW = (3, 3) if square_kernel else pick_dims(rng, 1, 4, 2)
            S, P = int(rng.choice(strides)), int(rng.choice(pads))
            H_out, W_out = [int(rng.integers(2, 5))] * 2 if square_kernel else pick_dims(rng, 2, 5, 2)
            H, W = (H_out - 1) * S + HH - 2 * P, (W_out - 1) * S + WW - 2 * P
            if H >= 1 and W >= 1 and (square_kernel or H != W):
                break
        else:
            raise RuntimeError("no convolution geometry found")
        x = _normal(rng, n, C, H, W)
        w = _normal(rng, F, C, HH, WW)
        b = _normal(rng, F)
        return [x, w, b, {"stride": S, "pad": P}]
    return make


CONV_FAMILIES = {
    "square-stride1-pad1": _conv_inputs(2, 3, 3, True, [1], [1]),
    "nonsquare-stride2": _conv_inputs(2, 2, 3, False, [2], [0, 1, 2, 3]),
    "nonsquare-stride3-N=1": _conv_inputs(1, 3, 2, False, [3], [0, 1, 2, 3]),
    "nonsquare-pad0": _conv_inputs(2, 2, 2, False, [1], [0]),
}


def _conv_windows(xp, w, b, stride, H_out, W_out):
    """Cross-correlation of an already padded input (independent of the reference)."""
    F, C, HH, WW = w.shape
    if xp.shape[2] < HH or xp.shape[3] < WW:
        return None
    windows = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride][:, :, :H_out, :W_out]
    if windows.shape[2:4] != (H_out, W_out):
        return None
    return np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]


def _conv_hints(args, expected):
    x, w, b, param = args
    S, P = param["stride"], param["pad"]
    H_out, W_out = expected[0].shape[2:]
    pad = lambda p: np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))  # noqa: E731
    hints = []
    for alternative, cause in ((_conv_windows(pad(P + 1), w, b, S, H_out, W_out), "the input is padded by pad + 1"),
                               (_conv_windows(pad(P - 1), w, b, S, H_out, W_out) if P else None,
                                "the input is padded by pad - 1"),
                               (_conv_windows(pad(P), w[:, :, ::-1, ::-1], b, S, H_out, W_out),
                                "the filter is flipped: the layer is a cross-correlation, no flip"),
                               (_conv_windows(pad(P), w, 0 * b, S, H_out, W_out), "the bias b is not added"),
                               (_conv_windows(pad(P), w, b, 1, H_out, W_out) if S > 1 else None,
                                "windows move by 1 instead of by the stride")):
        if alternative is not None:
            hints.append((alternative, cause))
    return {"out": hints}


def _conv_backward_hints(args, dout, expected):
    dx, dw, db = expected
    return {"db": [(dout.sum(axis=(0, 2, 3)) / dout.shape[0], "db is averaged over N; it is a sum")]}


# --------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------

def _pool_inputs(N, C, ph, pw, stride, H_out, W_out, ties=False, floor_extra=0, shared_max=False):
    def make(rng):
        n = N
        H = (H_out - 1) * stride + ph + floor_extra
        W = (W_out - 1) * stride + pw + floor_extra
        if ties:
            x = rng.integers(-2, 3, size=(n, C, H, W)).astype(np.float64)
        else:
            x = _normal(rng, n, C, H, W)
        if shared_max:
            # a clear maximum inside two overlapping windows in every channel
            r, c = min(stride, H - 1), min(stride, W - 1)
            x[:, :, r, c] = np.abs(x).max() + 1.0 + rng.random((n, C))
        param = {"pool_height": ph, "pool_width": pw, "stride": stride}
        if floor_extra:
            param["floor"] = True
        return [x, param]
    return make


POOL_FAMILIES = {
    "2x2-stride2": _pool_inputs(2, 3, 2, 2, 2, 3, 2),
    "overlap-3x3-stride2-ties": _pool_inputs(2, 2, 3, 3, 2, 3, 4, ties=True, shared_max=True),
    "nonsquare-2x3-stride1-N=1": _pool_inputs(1, 2, 2, 3, 1, 4, 3, shared_max=True),
    "floor-2x2-stride2": _pool_inputs(2, 2, 2, 2, 2, 3, 2, floor_extra=1),
}


def _pool_hints(kind):
    """The output of windows that move by 1 instead of by the stride (when the stride is not 1)."""
    def hints(args, expected):
        x, param = args
        ph, pw, S = param["pool_height"], param["pool_width"], param["stride"]
        H_out, W_out = expected[0].shape[2:]
        if S == 1 or x.shape[2] < H_out - 1 + ph or x.shape[3] < W_out - 1 + pw:
            return None
        windows = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, :H_out, :W_out]
        moved_by_one = windows.max(axis=(4, 5)) if kind == "max" else windows.mean(axis=(4, 5))
        return {"out": [(moved_by_one, "windows move by 1 instead of by the stride")]}
    return hints


def _coverage(x_shape, param):
    """How many pooling windows cover each input position (H, W)."""
    ph, pw, S = param["pool_height"], param["pool_width"], param["stride"]
    H, W = x_shape[2:]
    H_out = (H - ph) // S + 1
    W_out = (W - pw) // S + 1
    count = np.zeros((H, W), dtype=int)
    for i in range(H_out):
        for j in range(W_out):
            count[i * S:i * S + ph, j * S:j * S + pw] += 1
    return count


def _pool_where(args):
    x, param = args
    coverage = _coverage(x.shape, param)

    def locate(bad):
        spatial = bad.reshape(-1, *bad.shape[-2:]).any(axis=0)
        if spatial.any() and (coverage[spatial] >= 2).all() and (coverage >= 2).any():
            return ("only inputs covered by more than one (overlapping) window differ -- accumulate with += "
                    "(an input can be the maximum of several windows)")
        if spatial.any() and (coverage[spatial] == 0).all():
            return "only inputs outside every window differ -- they must get zero gradient"
        return None
    return {"dx": locate}


def _max_pool_alternatives(args, dout, expected):
    """Known wrong gradients: all tied maxima, the last maximum, '=' instead of '+='."""
    x, param = args
    ph, pw, S = param["pool_height"], param["pool_width"], param["stride"]
    H_out, W_out = dout.shape[2:]
    all_ties, last, assign = (np.zeros_like(x) for _ in range(3))
    for i in range(H_out):
        for j in range(W_out):
            sl = (slice(None), slice(None), slice(i * S, i * S + ph), slice(j * S, j * S + pw))
            window = x[sl]
            is_max = window == window.max(axis=(2, 3), keepdims=True)
            all_ties[sl] += is_max * dout[:, :, i, j, None, None]
            flat = window.reshape(*window.shape[:2], -1)[:, :, ::-1]
            k = flat.shape[2] - 1 - flat.argmax(axis=2)
            onehot = np.zeros_like(flat)
            np.put_along_axis(onehot, k[..., None], 1.0, axis=2)
            last[sl] += onehot.reshape(window.shape) * dout[:, :, i, j, None, None]
            first = np.zeros_like(flat)
            np.put_along_axis(first, window.reshape(*window.shape[:2], -1).argmax(axis=2)[..., None], 1.0, axis=2)
            first = first.reshape(window.shape).astype(bool)
            assign[sl] = np.where(first, dout[:, :, i, j, None, None], assign[sl])
    return {"dx": [(all_ties, "every tied maximum receives the gradient; only the first maximum (row-major) may"),
                   (last, "ties go to the last maximum; they must go to the first maximum in row-major order"),
                   (assign, "gradients are assigned with = instead of accumulated with += where windows overlap")]}


# --------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------

def _bn_inputs(mode, spatial=False, with_running=True):
    def make(rng):
        if spatial:
            N, C = int(rng.integers(2, 4)), int(rng.integers(2, 5))
            H, W = pick_dims(rng, 2, 5, 2)
            x = _normal(rng, N, C, H, W, scale=3.0, shift=2.0)
            D = C
        else:
            N, D = int(rng.integers(4, 9)), int(rng.integers(3, 7))
            x = _normal(rng, N, D, scale=3.0, shift=2.0) * rng.uniform(0.5, 2.0, size=D)
        gamma, beta = _normal(rng, D, shift=1.0), _normal(rng, D)
        param = {"mode": mode, "momentum": float(rng.uniform(0.6, 0.95)), "eps": float(rng.choice([1e-5, 1e-3]))}
        if with_running or mode == "test":
            param["running_mean"] = _normal(rng, D)
            param["running_var"] = rng.uniform(0.5, 2.0, size=D)
        return [x, gamma, beta, param]
    return make


def bn_forward_check(function, family, make):
    """Check out and, in training mode, the running averages left in bn_param."""
    reference = getattr(ref, function)

    def build(rng):
        args = make(rng)
        ref_args = frozen(args)
        out, _ = reference(*ref_args)
        param = ref_args[3]
        expected = [out, param["running_mean"], param["running_var"]]
        labels = ["out", "bn_param['running_mean']", "bn_param['running_var']"]

        def judge(reply):
            if not reply.get("ok"):
                return False, f"{function} raised {reply.get('error', 'an error')}"
            result, after = reply.get("result"), reply.get("args_after")
            if not isinstance(result, list) or len(result) != 2:
                return False, f"{function} must return (out, cache)"
            got_param = after[3] if isinstance(after, list) and len(after) == 4 and isinstance(after[3], dict) else {}
            got = [result[0], got_param.get("running_mean"), got_param.get("running_var")]
            return judge_outputs({"ok": True, "result": got}, function, labels, expected)

        return Case({"program": "call", "module": MODULE, "function": function, "args": args}, judge)

    return Check(f"{function}[{family}]", function, MODULE, build)


# --------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------

def _dropout_inputs(mode, p_choices):
    def make(rng):
        x = _normal(rng, int(rng.integers(40, 60)), int(rng.integers(40, 60)))
        x[np.abs(x) < 1e-3] = 0.5
        return [x, {"p": float(rng.choice(p_choices)), "mode": mode, "seed": int(rng.integers(0, 2**31))}]
    return make


def dropout_forward_check(family, make):
    """Any mask drawn from the seed is accepted: each unit is 0 or x/p, about a fraction p kept, reproducible."""

    def build(rng):
        args = make(rng)
        x, param = args
        p, mode = param["p"], param["mode"]

        def judge(reply):
            if not reply.get("ok"):
                return False, f"dropout_forward raised {reply.get('error', 'an error')}"
            results = reply.get("result")
            if not isinstance(results, list) or len(results) != 2:
                return False, "malformed reply"
            outs = []
            for result in results:
                if not isinstance(result, list) or len(result) != 2:
                    return False, "dropout_forward must return (out, cache)"
                outs.append(result[0])
            return _judge_dropout_out(outs[0], outs[1], x, p, mode)

        request = {"program": "call", "module": MODULE, "function": "dropout_forward", "args": args, "repeat": 2}
        return Case(request, judge)

    return Check(f"dropout_forward[{family}]", "dropout_forward", MODULE, build)


def _judge_dropout_out(out, again, x, p, mode):
    from .compare import as_array, compare

    if mode == "test":
        message = compare("out", x, out)
        return (message is None), (message or "") + (" (test mode is the identity)" if message else "")
    got = as_array(out)
    if got is None or got.shape != x.shape:
        return False, compare("out", x, out) or "out has the wrong shape"
    kept = got != 0
    scaled = np.abs(got[kept] - x[kept] / p) <= 1e-9 * np.maximum(1, np.abs(x[kept] / p))
    if not scaled.all():
        if np.allclose(got[kept], x[kept]):
            return False, "out: kept units are not divided by p (inverted dropout scales them by 1/p)"
        return False, f"out: {int((~scaled).sum())} kept units are not x / p"
    fraction, n = kept.mean(), kept.size
    sigma = np.sqrt(p * (1 - p) / n)
    if abs(fraction - p) > 6 * sigma + 1e-12:
        drop_rate = abs(fraction - (1 - p)) <= 6 * sigma
        return False, (f"out: a fraction {fraction:.3f} of the units is kept, far from p"
                       + (" -- p is the keep probability, not the drop probability" if drop_rate else ""))
    again_array = as_array(again)
    if again_array is None or again_array.shape != got.shape or not np.array_equal(again_array, got):
        return False, "out: two calls with the same dropout_param['seed'] give different masks (use the provided rng)"
    return True, ""


def dropout_backward_check(family, make):
    def build(rng):
        args = make(rng)
        x, param = args
        _, ref_cache = ref.dropout_forward(*frozen(args))
        dout = rng.normal(size=x.shape)
        provided = ref_cache

        def judge(reply):
            if not reply.get("ok"):
                return False, f"dropout_backward raised {reply.get('error', 'an error')}"
            own, fallback = reply["result"]
            out = reply.get("out")
            candidates = []
            if param["mode"] == "test":
                candidates = [(own, dout), (fallback, dout)]
            else:
                if isinstance(out, np.ndarray) and out.shape == x.shape:
                    candidates.append((own, dout * (out / x)))
                mask = provided[1]
                candidates.append((fallback, dout * mask))
            messages = []
            for value, expected in candidates:
                if isinstance(value, dict) and "error" in value:
                    messages.append(f"dropout_backward raised {value['error']}")
                    continue
                passed, message = judge_outputs({"ok": True, "result": value.get("value")},
                                                "dropout_backward", ["dx"], [expected])
                if passed:
                    return True, ""
                messages.append(message)
            if not messages:
                return False, "dropout_backward returned nothing"
            return False, messages[-1] if reply.get("forward_error") else messages[0]

        request = {"program": "forward_backward", "module": MODULE, "forward": "dropout_forward",
                   "backward": "dropout_backward", "args": args, "dout": dout, "fallback": provided}
        return Case(request, judge)

    return Check(f"dropout_backward[{family}]", "dropout_backward", MODULE, build)


# --------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------

def _tuple_of_args(args, cache):
    return tuple(args)


def _first_arg(args, cache):
    return args[0]


def all_checks():
    checks = []
    for family, shape in AFFINE_FAMILIES.items():
        checks.append(forward_check("affine_forward", family, _affine_inputs(shape), hints=_affine_hints))
    for family, shape in AFFINE_FAMILIES.items():
        checks.append(backward_check("affine_forward", "affine_backward", family, _affine_inputs(shape),
                                     ["dx", "dw", "db"], fallback=_tuple_of_args, hints=_affine_backward_hints))
    for family, shape in RELU_FAMILIES.items():
        checks.append(forward_check("relu_forward", family, _relu_inputs(shape)))
    for family, shape in RELU_FAMILIES.items():
        checks.append(backward_check("relu_forward", "relu_backward", family, _relu_inputs(shape), ["dx"],
                                     fallback=_first_arg, hints=_relu_backward_hints, make_dout=_relu_dout))
    for family, make in LOSS_FAMILIES.items():
        checks.append(forward_check("svm_loss", family, make, labels=("loss", "dx"), hints=_loss_hints()))
    for family, make in SOFTMAX_FAMILIES.items():
        checks.append(forward_check("softmax_loss", family, make, labels=("loss", "dx"),
                                    hints=_loss_hints()))
    for family, make in CONV_FAMILIES.items():
        checks.append(forward_check("conv_forward_naive", family, make, hints=_conv_hints))
    for family, make in CONV_FAMILIES.items():
        checks.append(backward_check("conv_forward_naive", "conv_backward_naive", family, make,
                                     ["dx", "dw", "db"], fallback=_tuple_of_args, hints=_conv_backward_hints))
    for kind in ("max", "avg"):
        for family, make in POOL_FAMILIES.items():
            if kind == "avg" and "ties" in family:
                family = family.replace("-ties", "")
            checks.append(forward_check(f"{kind}_pool_forward_naive", family, make, hints=_pool_hints(kind)))
        for family, make in POOL_FAMILIES.items():
            if kind == "avg" and "ties" in family:
                family = family.replace("-ties", "")
            checks.append(backward_check(f"{kind}_pool_forward_naive", f"{kind}_pool_backward_naive", family,
                                         make, ["dx"], fallback=_tuple_of_args, where=_pool_where,
                                         hints=_max_pool_alternatives if kind == "max" else None))
    for mode in ("train", "test"):
        checks.append(bn_forward_check("batchnorm_forward", mode, _bn_inputs(mode)))
    checks.append(bn_forward_check("batchnorm_forward", "train-first-call", _bn_inputs("train", with_running=False)))
    for backward in ("batchnorm_backward", "batchnorm_backward_alt"):
        for mode in ("train", "test"):
            checks.append(backward_check("batchnorm_forward", backward, mode, _bn_inputs(mode),
                                         ["dx", "dgamma", "dbeta"]))
    for mode in ("train", "test"):
        checks.append(bn_forward_check("spatial_batchnorm_forward", mode, _bn_inputs(mode, spatial=True)))
    for mode in ("train", "test"):
        checks.append(backward_check("spatial_batchnorm_forward", "spatial_batchnorm_backward", mode,
                                     _bn_inputs(mode, spatial=True), ["dx", "dgamma", "dbeta"]))
    for family, make in (("train-p0.7", _dropout_inputs("train", [0.7])), ("train-p0.3", _dropout_inputs("train", [0.3])),
                         ("test", _dropout_inputs("test", [0.5]))):
        checks.append(dropout_forward_check(family, make))
    for family, make in (("train", _dropout_inputs("train", [0.6])), ("test", _dropout_inputs("test", [0.5]))):
        checks.append(dropout_backward_check(family, make))
    return checks

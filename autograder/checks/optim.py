"""Hidden checks of the update rules in ``cs_convnet/optim.py``.

Trusted code. Each rule takes several steps from hidden weights with a hidden
sequence of gradients, passing its config from one call to the next, once
with the default config and once with explicit hyperparameters and a non-zero
initial state. Every intermediate weight is compared with the reference, so a
rule that forgets to store its state in ``config`` fails from step 2 on.
"""

import cs_convnet.optim as ref

from .base import Case, Check, frozen, pick_dims
from .compare import compare

MODULE = "cs_convnet.optim"
STEPS = 5
GRAD_SCALE = 1e-2   # of the gradients in the custom-config family


def _custom_config(rule, rng, shape):
    if rule == "sgd":
        return {"learning_rate": float(rng.uniform(0.05, 0.2))}
    if rule == "sgd_momentum":
        return {"learning_rate": float(rng.uniform(0.05, 0.2)), "momentum": float(rng.uniform(0.5, 0.8)),
                "velocity": rng.normal(size=shape)}
    # Small gradients (GRAD_SCALE) and a large epsilon make epsilon's role visible.
    if rule == "rmsprop":
        return {"learning_rate": float(rng.uniform(0.01, 0.05)), "decay_rate": float(rng.uniform(0.8, 0.95)),
                "epsilon": 1e-3, "cache": rng.uniform(0.1, 1.0, size=shape) * GRAD_SCALE**2}
    return {"learning_rate": float(rng.uniform(0.01, 0.05)), "beta1": float(rng.uniform(0.7, 0.85)),
            "beta2": float(rng.uniform(0.9, 0.99)), "epsilon": 1e-3, "m": rng.normal(size=shape) * GRAD_SCALE,
            "v": rng.uniform(0.1, 1.0, size=shape) * GRAD_SCALE**2, "t": int(rng.integers(1, 6))}


STATE_HINT = {"sgd": "", "sgd_momentum": " (is the velocity stored back in config?)",
              "rmsprop": " (is the cache stored back in config?)", "adam": " (are m, v and t stored back in config?)"}


def optim_check(rule, family):
    reference = getattr(ref, rule)

    def build(rng):
        shape = tuple(pick_dims(rng, 2, 7, 2))
        w = rng.normal(size=shape)
        scale = 1.0 if family == "defaults" else GRAD_SCALE
        grads = [rng.normal(size=shape) * scale for _ in range(STEPS)]
        config = None if family == "defaults" else _custom_config(rule, rng, shape)
        path, ref_w, ref_config = [], w.copy(), frozen(config)
        for dw in grads:
            ref_w, ref_config = reference(ref_w, dw.copy(), ref_config)
            path.append(ref_w.copy())

        def judge(reply):
            if not reply.get("ok"):
                return False, f"{rule} raised {reply.get('error', 'an error')}"
            got = reply.get("result")
            if not isinstance(got, list) or len(got) != STEPS:
                return False, "malformed reply"
            for step, (want, value) in enumerate(zip(path, got), start=1):
                message = compare(f"w after step {step} of {STEPS}", want, value)
                if message:
                    if step > 1:
                        message += "; the earlier steps are right" + STATE_HINT[rule]
                    return False, message
            return True, ""

        request = {"program": "optim_steps", "module": MODULE, "function": rule, "w": w, "grads": grads,
                   "config": config}
        return Case(request, judge)

    label = f"{family}-{STEPS}-steps"
    return Check(f"{rule}[{label}]", rule, MODULE, build)


def all_checks():
    return [optim_check(rule, family) for rule in ("sgd", "sgd_momentum", "rmsprop", "adam")
            for family in ("defaults", "custom-config")]

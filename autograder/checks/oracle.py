"""Reference layers on call from the sandbox, for the classifier checks.

Trusted code. While a classifier's ``loss`` runs in the worker, every layer
function of ``cs_convnet.layers`` there is a proxy that sends its arguments
here; this process answers with the instructor's layer. A classifier is thus
graded on what it does with the layers, not on the learner's layers (those
have their own checks). Only arrays and plain values cross (``allow_pickle``
stays off), only the layer functions of the reference may be called, and the
work per question is capped so a submission cannot stall the grader.
"""

import time

import numpy as np

import cs_convnet.layers as ref

from ..sandbox.protocol import decode, encode

LAYER_FUNCTIONS = (
    "affine_forward", "affine_backward", "relu_forward", "relu_backward", "svm_loss", "softmax_loss",
    "conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive",
    "avg_pool_forward_naive", "avg_pool_backward_naive", "batchnorm_forward", "batchnorm_backward",
    "batchnorm_backward_alt", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "dropout_forward", "dropout_backward",
)
MAX_ELEMENTS = 1_000_000      # total array entries per question
MAX_QUESTIONS = 2_000         # per request
MAX_LOOP_STEPS = 50_000      # N*F*H'*W' of a naive convolution, N*C*H'*W' of a naive pooling


class ReferenceOracle:
    def __init__(self, deadline):
        self.deadline = deadline
        self.questions = 0

    def __call__(self, header, arrays):
        try:
            return self._answer(header, arrays)
        except Exception as error:  # the reference rejecting bad arguments is an answer, not a crash
            return {"op": "answer", "ok": False, "error": f"{type(error).__name__}: {error}"}, []

    def _answer(self, header, arrays):
        self.questions += 1
        name = header.get("function")
        if name not in LAYER_FUNCTIONS:
            raise ValueError(f"no layer named {name!r}")
        if self.questions > MAX_QUESTIONS or time.monotonic() > self.deadline:
            raise RuntimeError("too many layer calls")
        if sum(a.size for a in arrays) > MAX_ELEMENTS:
            raise ValueError("arrays too large for a grading check")
        args = decode(header.get("args"), arrays)
        if not isinstance(args, list):
            raise ValueError("malformed arguments")
        _check_cost(name, args)
        result = getattr(ref, name)(*args)
        out = []
        after = [a if isinstance(a, dict) else None for a in args]
        return {"op": "answer", "ok": True, "result": encode(result, out),
                "args_after": encode(after, out)}, out


def _check_cost(name, args):
    """Refuse naive loops that would take the trusted process long."""
    first = args[0] if args else None
    if name.endswith("forward_naive") and isinstance(first, np.ndarray) and first.ndim == 4:
        N, C, H, W = first.shape
        F = args[1].shape[0] if name.startswith("conv") and isinstance(args[1], np.ndarray) else C
        if N * F * H * W > MAX_LOOP_STEPS:
            raise ValueError("input too large for a grading check")
    if name.endswith("backward_naive") and isinstance(first, np.ndarray) and first.size > MAX_LOOP_STEPS:
        raise ValueError("input too large for a grading check")

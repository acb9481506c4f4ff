"""What a hidden check is, and the judging shared by all of them.

Trusted code. A :class:`Check` builds a :class:`Case` from a random generator
seeded per grading run: the request sent to the sandboxed worker (inputs only)
and a ``judge`` that holds the reference outputs, computed here, and turns
the worker's reply into ``(passed, message)``.
"""

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .compare import compare, describe_value


@dataclass(frozen=True)
class Check:
    name: str            # unique, e.g. "conv_forward_naive[stride2-nonsquare]"
    function: str        # the learner function it targets, e.g. "conv_forward_naive"
    module: str          # where that function lives, e.g. "cs_convnet.layers"
    build: Callable      # rng -> Case
    points: float = 1.0
    timeout: float = 10.0


@dataclass
class Case:
    request: dict                 # the worker program, with ndarrays inside (encoded on sending)
    judge: Callable               # reply dict -> (passed, message)
    oracle: bool = False          # answer reference-layer questions during this request
    notes: list = field(default_factory=list)


def frozen(*values):
    """Deep copies, so the reference never shares arrays with a request."""
    return copy.deepcopy(values) if len(values) > 1 else copy.deepcopy(values[0])


def unpack(result, count, what):
    """``result`` as a list of ``count`` items, or raise ValueError naming what was returned."""
    if count == 1:
        return [result]
    if not isinstance(result, list) or len(result) != count:
        raise ValueError(f"{what} must return {count} values, got {describe_value(result)}")
    return result


def judge_outputs(reply, what, labels, expected, hints=None, where=None, key="result"):
    """Compare the worker's ``reply[key]`` (``len(labels)`` values) with ``expected``.

    Returns (passed, message); the message lists every wrong output.
    """
    if not reply.get("ok"):
        return False, f"{what} raised {reply.get('error', 'an error')}"
    try:
        values = unpack(reply.get(key), len(labels), what)
    except ValueError as error:
        return False, str(error)
    problems = []
    for label, want, got in zip(labels, expected, values):
        message = compare(label, want, got, hints=(hints or {}).get(label, ()), where=(where or {}).get(label))
        if message:
            problems.append(message)
    return (not problems), "; ".join(problems)


def pick_dims(rng, low, high, count, distinct=True):
    """``count`` ints in [low, high], pairwise different when ``distinct`` (non-square shapes)."""
    if distinct and high - low + 1 >= count:
        return [int(v) for v in rng.choice(np.arange(low, high + 1), size=count, replace=False)]
    return [int(v) for v in rng.integers(low, high + 1, size=count)]

"""Tests of cs_convnet.schedules: learning-rate multipliers at known points."""

import math
import pickle

import pytest

from cs_convnet.schedules import Constant, Cosine, OneCycle, StepDecay, make_schedule


def values(schedule, total):
    return [schedule(t, total) for t in range(total)]


def test_constant_is_one():
    """Is the constant schedule 1 at every iteration?"""
    assert values(Constant(), 7) == [1.0] * 7


def test_step_decay_drops_by_gamma_at_milestones():
    """Does step decay multiply by gamma exactly at each milestone fraction of the run?"""
    assert values(StepDecay(milestones=(0.5, 0.75), gamma=0.1), 8) == pytest.approx(
        [1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01]
    )


@pytest.mark.parametrize(
    "t, expected",
    [(0, 1.0), (25, 0.5 * (1 + math.cos(math.pi / 4))), (50, 0.5), (75, 0.5 * (1 - math.cos(math.pi / 4))), (99, None)],
    ids=["start", "quarter", "half", "three-quarters", "last"],
)
def test_cosine_values(t, expected):
    """Does the cosine schedule follow (1 + cos(pi t / T)) / 2?"""
    value = Cosine()(t, 100)
    if expected is None:
        expected = 0.5 * (1 + math.cos(math.pi * 99 / 100))
    assert value == pytest.approx(expected, abs=1e-15)


def test_cosine_with_floor_ends_near_final_and_is_non_increasing():
    """Does a cosine with final=0.1 stay above 0.1 and never increase?"""
    v = values(Cosine(final=0.1), 50)
    assert all(a >= b for a, b in zip(v, v[1:]))
    assert min(v) > 0.1 and v[25] == pytest.approx(0.1 + 0.9 * 0.5)


def test_warmup_is_linear_then_base_schedule_runs_over_the_rest():
    """Does a 10% warm-up rise linearly to 1, after which the cosine runs over the remaining 90%?"""
    schedule = Cosine(warmup=0.1)
    v = values(schedule, 100)
    assert v[:10] == pytest.approx([(t + 1) / 10 for t in range(10)])
    assert v[10:] == pytest.approx(values(Cosine(), 90))


def test_warmup_with_step_decay_shifts_milestones_past_the_warmup():
    """With warm-up, are step milestones fractions of the post-warm-up part?"""
    v = values(StepDecay(milestones=(0.5,), gamma=0.5, warmup=0.2), 10)
    assert v == pytest.approx([0.5, 1.0, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5])


def test_one_cycle_rises_to_peak_then_anneals_to_final():
    """Does one-cycle start at 1/div, reach 1 at peak_at of the run, and end at 1/(div*final_div)?"""
    schedule = OneCycle(peak_at=0.25, div=20.0, final_div=100.0)
    v = values(schedule, 101)
    assert v[0] == pytest.approx(1 / 20)
    assert v[25] == pytest.approx(1.0)
    assert max(v) == pytest.approx(1.0)
    assert v[-1] == pytest.approx(1 / 2000)
    assert all(a < b for a, b in zip(v[:25], v[1:26]))
    assert all(a > b for a, b in zip(v[25:], v[26:]))
    # halfway up the cosine ramp: the mean of start and peak
    assert schedule(25 // 2, 101) == pytest.approx(0.5 * (1 / 20 + 1) + 0.5 * (1 / 20 - 1) * math.cos(math.pi * 12 / 25))


def test_one_cycle_single_iteration_is_peak():
    """Is a one-iteration run at the peak rate (no division by zero)?"""
    assert OneCycle()(0, 1) == 1.0


@pytest.mark.parametrize("name, cls", [("constant", Constant), ("step", StepDecay), ("cosine", Cosine),
                                       ("onecycle", OneCycle)], ids=["constant", "step", "cosine", "onecycle"])
def test_make_schedule_by_name_and_pickles(name, cls):
    """Does make_schedule build each schedule by name, and does it survive pickling (for checkpoints)?"""
    schedule = make_schedule(name, warmup=0.1)
    assert isinstance(schedule, cls)
    clone = pickle.loads(pickle.dumps(schedule))
    assert clone == schedule and values(clone, 20) == values(schedule, 20)
    assert name.lower()[:3] in repr(schedule).lower()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: make_schedule("linear"), "unknown schedule 'linear'"),
        (lambda: Cosine(warmup=1.0), "warmup"),
        (lambda: Cosine(warmup=-0.1), "warmup"),
        (lambda: StepDecay(milestones=(0.75, 0.5)), "increasing"),
        (lambda: StepDecay(gamma=0), "gamma"),
        (lambda: OneCycle(div=0.5), "div"),
        (lambda: Cosine()(10, 10), "iteration"),
        (lambda: Cosine()(0, 0), "num_iterations"),
        (lambda: Cosine()(1.5, 10), "iteration"),
    ],
    ids=["unknown-name", "warmup-1", "warmup-negative", "milestones-decreasing", "gamma-0", "div<1",
         "iteration-past-end", "no-iterations", "float-iteration"],
)
def test_bad_arguments_raise_valueerror(call, message):
    """Do bad schedule arguments raise a ValueError naming the problem?"""
    with pytest.raises(ValueError, match=message):
        call()

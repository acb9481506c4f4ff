"""Learning-rate schedules for the Solver.

A schedule is a callable ``schedule(iteration, num_iterations) -> multiplier``:
the Solver sets the learning rate of iteration ``t`` (counted from 0 to
``num_iterations - 1`` over the whole run) to ``base_lr * schedule(t, T)``.
Expressing the schedule as a fraction of the run, rather than in epochs, lets
the same schedule serve a one-epoch run and a fifty-epoch run.

Schedules are small classes rather than closures so that they pickle with a
checkpoint and print readably.

* ``Constant()``: 1 everywhere.
* ``StepDecay(milestones=(0.5, 0.75), gamma=0.1)``: multiply by ``gamma`` at
  each milestone (a fraction of the run), the classic "divide by 10" schedule.
* ``Cosine(final=0.0)``: half a cosine from 1 down to ``final``
  (Loshchilov & Hutter, SGDR, without restarts)::

      m(t) = final + (1 - final) * (1 + cos(pi * t / T)) / 2

* ``OneCycle(peak_at=0.3, div=25, final_div=1e4)``: Smith's one-cycle policy
  as in PyTorch's ``OneCycleLR`` (cosine annealing): from ``1/div`` up to 1 at
  ``peak_at`` of the run, then down to ``1/(div * final_div)``.

Any of the first three can be preceded by a linear warm-up over the first
``warmup`` fraction of the run (Goyal et al., "Accurate, large minibatch SGD"):
``m(t) = (t + 1) / W * base(...)`` for ``t < W``; the base schedule then runs
over the remaining ``T - W`` iterations. ``make_schedule(name, warmup)`` builds
one by name, which is what ``cs-convnet train --schedule`` does.
"""

import math
import numbers

SCHEDULES = ("constant", "step", "cosine", "onecycle")


def _check_iteration(iteration, num_iterations):
    for name, value in (("iteration", iteration), ("num_iterations", num_iterations)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if num_iterations < 1:
        raise ValueError(f"num_iterations must be >= 1, got {num_iterations}")
    if not 0 <= iteration < num_iterations:
        raise ValueError(f"iteration must be in [0, num_iterations) = [0, {num_iterations}), got {iteration}")


def _check_fraction(value, name, *, low=0.0, high=1.0, closed_high=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    ok = low <= value <= high if closed_high else low <= value < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ValueError(f"{name} must be in [{low}, {high}{bracket}, got {value}")
    return float(value)


def _warmup_iterations(warmup, num_iterations):
    """Number of warm-up iterations for a warm-up fraction of the run (at least 1 if warmup > 0)."""
    if warmup == 0:
        return 0
    return min(num_iterations - 1, max(1, round(warmup * num_iterations)))


class _Schedule:
    """Shared warm-up logic; subclasses implement ``_base(t, T)`` with 0 <= t < T."""

    warmup = 0.0

    def __call__(self, iteration, num_iterations):
        _check_iteration(iteration, num_iterations)
        warm = _warmup_iterations(self.warmup, num_iterations)
        if iteration < warm:
            return (iteration + 1) / warm * self._base(0, num_iterations - warm)
        return self._base(iteration - warm, num_iterations - warm)

    def _base(self, t, total):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)


class Constant(_Schedule):
    """Multiplier 1 throughout (after an optional linear warm-up)."""

    def __init__(self, warmup=0.0):
        self.warmup = _check_fraction(warmup, "warmup")

    def _base(self, t, total):
        return 1.0


class StepDecay(_Schedule):
    """Multiply the learning rate by ``gamma`` at each milestone.

    Parameters
    ----------
    milestones : sequence of float
        Increasing fractions of the (post-warm-up) run in (0, 1) at which the
        multiplier drops; iteration ``t`` has passed milestone ``m`` when
        ``t >= m * T``.
    gamma : float
        Factor applied at each milestone, in (0, 1].
    warmup : float
        Fraction of the run spent in linear warm-up.
    """

    def __init__(self, milestones=(0.5, 0.75), gamma=0.1, warmup=0.0):
        milestones = tuple(_check_fraction(m, "each milestone", low=0.0, high=1.0) for m in milestones)
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"milestones must be strictly increasing, got {milestones}")
        self.milestones = milestones
        self.gamma = _check_fraction(gamma, "gamma", low=0.0, high=1.0, closed_high=True)
        if self.gamma == 0.0:
            raise ValueError("gamma must be > 0, got 0")
        self.warmup = _check_fraction(warmup, "warmup")

    def _base(self, t, total):
        passed = sum(t >= m * total for m in self.milestones)
        return self.gamma**passed


class Cosine(_Schedule):
    """Half a cosine from 1 at the start to ``final`` at the end of the run."""

    def __init__(self, final=0.0, warmup=0.0):
        self.final = _check_fraction(final, "final", closed_high=True)
        self.warmup = _check_fraction(warmup, "warmup")

    def _base(self, t, total):
        return self.final + (1.0 - self.final) * 0.5 * (1.0 + math.cos(math.pi * t / total))


class OneCycle(_Schedule):
    """Smith's one-cycle policy with cosine annealing (as PyTorch's ``OneCycleLR``).

    The multiplier rises from ``1/div`` at iteration 0 to 1 at iteration
    ``round(peak_at * T) `` and falls to ``1 / (div * final_div)`` at the last
    iteration, both phases along half a cosine. ``base_lr`` is the peak rate.
    """

    def __init__(self, peak_at=0.3, div=25.0, final_div=1e4):
        self.peak_at = _check_fraction(peak_at, "peak_at")
        for name, value in (("div", div), ("final_div", final_div)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 1:
                raise ValueError(f"{name} must be a number >= 1, got {value!r}")
        self.div = float(div)
        self.final_div = float(final_div)

    @staticmethod
    def _anneal(start, end, fraction):
        return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * fraction))

    def _base(self, t, total):
        start, low = 1.0 / self.div, 1.0 / (self.div * self.final_div)
        peak = round(self.peak_at * (total - 1))
        if t <= peak:
            return self._anneal(start, 1.0, t / peak) if peak else 1.0
        return self._anneal(1.0, low, (t - peak) / (total - 1 - peak))


def make_schedule(name, warmup=0.0):
    """Build a schedule by name: ``'constant'``, ``'step'``, ``'cosine'`` or ``'onecycle'``.

    ``warmup`` is the fraction of the run spent warming up linearly; for
    ``'onecycle'``, whose rising phase is its own warm-up, a non-zero
    ``warmup`` sets where the peak falls (default 0.3 of the run).
    """
    if name == "constant":
        return Constant(warmup=warmup)
    if name == "step":
        return StepDecay(warmup=warmup)
    if name == "cosine":
        return Cosine(warmup=warmup)
    if name == "onecycle":
        return OneCycle(peak_at=warmup) if warmup else OneCycle()
    raise ValueError(f"unknown schedule {name!r}; expected one of {', '.join(SCHEDULES)}")

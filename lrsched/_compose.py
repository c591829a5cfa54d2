"""Combinators: every composite schedule is built from these, once."""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np

from lrsched import _validation as check
from lrsched._base import Schedule, Tail, frozen, masked_pieces, sorted_pieces


def _at_least(exact: Fraction) -> float:
    """The smallest float >= an exact step: a tail start rounded down would claim too early."""
    value = float(exact)
    return math.nextafter(value, math.inf) if Fraction(value) < exact else value


@frozen
class sequence(Schedule):
    r"""Run schedules one after another; each sees steps counted from its own start.

    .. math:: \eta_t = s_i(t - b_{i-1}) \quad\text{for}\quad b_{i-1} \le t < b_i

    with :math:`b_{-1} = 0`. At a boundary the next schedule starts at its own step 0.

    Args:
        schedules: two or more schedules.
        boundaries: strictly increasing steps > 0, one fewer than schedules.

    Torch ``SequentialLR(schedulers, milestones)``; optax ``join_schedules``. Two torch
    quirks differ: a ``MultiplicativeLR`` child continues from the previous child's last
    LR times fn(0), and a ``OneCycleLR`` child rebases earlier children on its initial LR.

    >>> import lrsched
    >>> s = lrsched.sequence([lrsched.constant(1.0), lrsched.linear(1.0, 0.0, 2)], [3])
    >>> s([0, 2, 3, 4, 5, 6])
    array([1. , 1. , 1. , 0.5, 0. , 0. ])
    """

    schedules: tuple
    boundaries: tuple

    def __post_init__(self):
        func = "sequence"
        schedules = check.sequence_of(func, "schedules", self.schedules, check.schedule,
                                      min_length=2)
        boundaries = check.sequence_of(func, "boundaries", self.boundaries, check.positive,
                                       increasing="strictly")
        check.same_length(func, "boundaries", boundaries, "schedules", schedules, offset=1)
        self._set(schedules=schedules, boundaries=tuple(check.whole_if_integral(b) for b in boundaries))

    def _values_in_place(self, t):
        starts = (0.0,) + self.boundaries
        found = sorted_pieces(t, self.boundaries, side="right")
        if found is not None:
            # Each piece is a view of t: shifted and evaluated where it lies.
            for index, where in found:
                part = t[where]
                part -= starts[index]
                _into(part, self.schedules[index]._values_in_place(part))
            return t
        values = np.empty_like(t)
        for index, where in masked_pieces(t, self.boundaries, side="right"):
            values[where] = self.schedules[index]._values_in_place(t[where] - starts[index])
        return values

    def tail(self):
        last = self.schedules[-1].tail()
        if last is None:
            return None
        return Tail(_at_least(Fraction(last.start) + Fraction(self.boundaries[-1])),
                    last.period)


_WARMUP_MODES = ("linear", "cosine", "exponential", "constant")


@frozen
class warmup(Schedule):
    r"""Ramp up into a schedule, which then runs from its own step 0.

    For :math:`t < W` (``steps``), with :math:`u = (t + 1)/(W + 1)` and
    :math:`f_0` = ``start_factor``:

    .. math:: \eta_t = s(0)\cdot\begin{cases}
              f_0 + (1 - f_0)\,u & \text{linear} \\
              f_0 + (1 - f_0)(1 - \cos\pi u)/2 & \text{cosine} \\
              f_0^{\,1-u} & \text{exponential} \\
              f_0 & \text{constant}
              \end{cases}
              \qquad \eta_t = s(t - W) \text{ for } t \ge W

    ``start_factor`` is the factor one step *before* the first update, so the first update
    already learns (the default 0 never spends an update at LR 0, unlike
    ``step / warmup_steps`` in transformers) and the ramp reaches s(0) exactly at step W.

    Args:
        schedule: what to warm up into.
        steps: W, a positive integer.
        start_factor: in [0, 1]; > 0 for ``"exponential"`` and ``"constant"``.
        mode: ``"linear"``, ``"cosine"``, ``"exponential"`` or ``"constant"``.

    Keras ``CosineDecay(warmup_steps=...)`` and transformers' ``*_with_warmup`` schedules
    are the same composition with the ramp starting at 0 (see the migration guide).

    >>> import lrsched
    >>> lrsched.warmup(lrsched.constant(1.0), steps=3)([0, 1, 2, 3])
    array([0.25, 0.5 , 0.75, 1.  ])
    """

    schedule: Schedule
    steps: int
    start_factor: float = 0.0
    mode: str = "linear"

    def __post_init__(self):
        func = "warmup"
        mode = check.choice(func, "mode", self.mode, _WARMUP_MODES)
        start_factor = check.in_range(func, "start_factor", self.start_factor, 0.0, 1.0)
        if mode in ("exponential", "constant") and start_factor == 0.0:
            # A zero start would hold the LR at 0 (constant) or never leave it (exponential).
            check.fail(func, "start_factor", f"> 0 when mode={mode!r}", start_factor)
        self._set(
            schedule=check.schedule(func, "schedule", self.schedule),
            steps=check.integer(func, "steps", self.steps, minimum=1),
            start_factor=start_factor,
            mode=mode,
        )

    def _ramp(self, t: np.ndarray) -> np.ndarray:
        start = self.start_factor
        progress = t + 1.0
        progress /= self.steps + 1.0
        if self.mode == "linear":
            return start + (1.0 - start) * progress
        if self.mode == "cosine":
            return start + (1.0 - start) * (1.0 - np.cos(math.pi * progress)) / 2.0
        if self.mode == "exponential":
            return np.power(start, 1.0 - progress)
        return np.full_like(progress, start)

    def _values_in_place(self, t):
        found = sorted_pieces(t, [self.steps], side="right")
        values = t if found is not None else np.empty_like(t)
        for piece, where in found or masked_pieces(t, [self.steps], side="right"):
            if piece == 0:
                peak = self.schedule._values_in_place(np.zeros(1))[0]
                values[where] = peak * self._ramp(t[where])
            elif found is not None:
                part = t[where]
                part -= self.steps
                _into(part, self.schedule._values_in_place(part))
            else:
                values[where] = self.schedule._values_in_place(t[where] - self.steps)
        return values

    def _costly(self):
        return self.mode in ("cosine", "exponential") or self.schedule._costly()

    def tail(self):
        inner = self.schedule.tail()
        if inner is None:
            return None
        return Tail(_at_least(Fraction(inner.start) + self.steps), inner.period)


@frozen
class product(Schedule):
    r"""The pointwise product of schedules and constant factors.

    .. math:: \eta_t = \prod_i f_i(t)

    Built by ``s * 0.5`` or ``s * t``. This is a true product of the schedules' values.
    Torch's ``ChainedScheduler`` is not: it lets each scheduler apply its *recursive*
    update to the LR the previous one left, which equals a product only for purely
    multiplicative schedulers (StepLR, ExponentialLR, ...); with a schedule defined by
    absolute values (CosineAnnealingLR, CyclicLR, OneCycleLR) the chain gives something
    neither schedule describes.

    Args:
        factors: schedules and non-negative numbers, at least two in all.

    >>> import lrsched
    >>> s = lrsched.linear(0.0, 1.0, 4) * lrsched.constant(0.5) * 2
    >>> s
    linear(start_lr=0.0, end_lr=1.0, total_steps=4) * constant(lr=0.5) * 2.0
    >>> s([0, 2, 4])
    array([0. , 0.5, 1. ])
    """

    factors: tuple

    def __post_init__(self):
        func = "product"

        def factor(func_name, name, value):
            if isinstance(value, Schedule):
                return value
            return check.non_negative(func_name, name, value)

        items = check.sequence_of(func, "factors", self.factors, factor, min_length=2)
        flat = []
        for item in items:
            flat.extend(item.factors if isinstance(item, product) else (item,))
        self._set(factors=tuple(flat))

    def __repr__(self):
        return " * ".join(repr(factor) for factor in self.factors)

    def _values_in_place(self, t):
        values = np.ones_like(t)
        for factor in self.factors:
            if isinstance(factor, numbers.Real):
                values *= factor
            else:
                values *= factor._values(t)  # not in place: every factor reads t
        return values

    def tail(self):
        tails = [f.tail() for f in self.factors if isinstance(f, Schedule)]
        if any(tail is None or tail.period is not None for tail in tails):
            return None
        return Tail(max(tail.start for tail in tails))


def _into(part: np.ndarray, result: np.ndarray) -> None:
    """Put a child's result where its steps were (it may have worked in place already)."""
    if result is not part:
        part[...] = result


def _receiver(schedule: Schedule) -> str:
    """The repr of a schedule a method is called on: ``(a * b).shift(1)``, not ``a * b.shift(1)``."""
    text = repr(schedule)
    return f"({text})" if isinstance(schedule, product) else text


@frozen
class clip(Schedule):
    r"""A schedule limited to ``[min_lr, max_lr]``.

    .. math:: \eta_t = \min(\max(s(t), \text{min\_lr}), \text{max\_lr})

    Args:
        schedule: the schedule to limit.
        min_lr: lower limit, >= 0.
        max_lr: upper limit, >= min_lr (may be ``float("inf")``).

    >>> import lrsched
    >>> lrsched.cosine(1.0, 10).clip(min_lr=0.1)([0, 10])
    array([1. , 0.1])
    """

    schedule: Schedule
    min_lr: float = 0.0
    max_lr: float = math.inf

    def __post_init__(self):
        func = "clip"
        min_lr = check.non_negative(func, "min_lr", self.min_lr)
        max_lr = math.inf if self.max_lr is None else self.max_lr  # None: config's infinity
        if not (isinstance(max_lr, float) and max_lr == math.inf):
            max_lr = check.non_negative(func, "max_lr", max_lr)
        if max_lr < min_lr:
            check.fail(func, "max_lr", f">= min_lr={min_lr!r}", max_lr)
        self._set(schedule=check.schedule(func, "schedule", self.schedule), min_lr=min_lr,
                  max_lr=max_lr)

    def __repr__(self):
        limits = []
        if self.min_lr != 0.0:
            limits.append(f"min_lr={self.min_lr!r}")
        if self.max_lr != math.inf:
            limits.append(f"max_lr={self.max_lr!r}")
        return f"{_receiver(self.schedule)}.clip({', '.join(limits)})"

    def to_config(self):
        config = Schedule.to_config(self)  # zero-argument super() breaks in slotted dataclasses
        if config["max_lr"] == math.inf:
            config["max_lr"] = None  # JSON has no infinity
        return config

    def _values_in_place(self, t):
        values = self.schedule._values_in_place(t)
        # Only t is ours to overwrite: a user's schedule may return a read-only view or an
        # array it keeps.
        return np.clip(values, self.min_lr, self.max_lr, out=values if values is t else None)

    def tail(self):
        return self.schedule.tail()


@frozen
class shift(Schedule):
    r"""A schedule started ``steps`` steps in (or, for negative steps, delayed).

    .. math:: \eta_t = s(\max(t + k, 0))

    A positive k skips the first k steps of s (resuming a schedule); a negative k holds
    s(0) for the first -k steps.

    Args:
        schedule: the schedule to shift.
        steps: k, a finite number.

    >>> import lrsched
    >>> lrsched.linear(0.0, 1.0, 4).shift(2)([0, 1, 2])
    array([0.5 , 0.75, 1.  ])
    """

    schedule: Schedule
    steps: float

    def __post_init__(self):
        self._set(schedule=check.schedule("shift", "schedule", self.schedule),
                  steps=check.whole_if_integral(check.real("shift", "steps", self.steps)))

    def __repr__(self):
        return f"{_receiver(self.schedule)}.shift({self.steps!r})"

    def _values_in_place(self, t):
        t += self.steps
        return self.schedule._values_in_place(np.maximum(t, 0.0, out=t))

    def tail(self):
        inner = self.schedule.tail()
        if inner is None:
            return None
        return Tail(max(_at_least(Fraction(inner.start) - Fraction(self.steps)), 0.0),
                    inner.period)


@frozen
class per_epoch(Schedule):
    r"""An epoch-defined schedule evaluated per optimizer step.

    .. math:: \eta_t = s(t / \text{steps\_per\_epoch}) \quad
              (\lfloor t / \text{steps\_per\_epoch} \rfloor \text{ if staircase})

    Fractional epochs give the smooth per-batch version (what torch documents for
    ``CosineAnnealingWarmRestarts`` by calling ``step(epoch + i / iters)``);
    ``staircase=True`` changes the LR only at epoch boundaries, as an epoch-stepped torch
    scheduler does.

    Args:
        schedule: a schedule whose step unit is the epoch.
        steps_per_epoch: optimizer steps per epoch, > 0.
        staircase: hold the LR for the whole epoch.

    >>> import lrsched
    >>> lrsched.linear(0.0, 1.0, 2).per_epoch(4)([0, 2, 4, 8])
    array([0.  , 0.25, 0.5 , 1.  ])
    """

    schedule: Schedule
    steps_per_epoch: float
    staircase: bool = False

    def __post_init__(self):
        func = "per_epoch"
        self._set(
            schedule=check.schedule(func, "schedule", self.schedule),
            steps_per_epoch=check.whole_if_integral(check.positive(func, "steps_per_epoch",
                                                  self.steps_per_epoch)),
            staircase=check.boolean(func, "staircase", self.staircase),
        )

    def __repr__(self):
        staircase = ", staircase=True" if self.staircase else ""
        return f"{_receiver(self.schedule)}.per_epoch({self.steps_per_epoch!r}{staircase})"

    def _values_in_place(self, t):
        epochs = np.divide(t, self.steps_per_epoch, out=t)
        if self.staircase:
            np.floor(epochs, out=epochs)
        return self.schedule._values_in_place(epochs)

    def tail(self):
        inner = self.schedule.tail()
        if inner is None:
            return None
        start = inner.start
        if self.staircase:
            # Only whole epochs are ever evaluated: the first one at or past the start, and a
            # fractional period is not a period of the whole-epoch samples.
            start = math.ceil(start)
            if inner.period is not None and not float(inner.period).is_integer():
                return None
        period = None if inner.period is None else inner.period * self.steps_per_epoch
        return Tail(_at_least(Fraction(start) * Fraction(self.steps_per_epoch)), period)


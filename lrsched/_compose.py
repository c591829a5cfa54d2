"""Combinators: every composite schedule is built from these, once."""

from __future__ import annotations

import math
import numbers

from lrsched import _validation as check
from lrsched._base import Route, Schedule, frozen, schedule_argument
from lrsched._ops import NUMPY


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
        schedules = check.sequence_of(
            func, "schedules", self.schedules, schedule_argument, min_length=2
        )
        boundaries = check.sequence_of(
            func, "boundaries", self.boundaries, check.positive, increasing="strictly"
        )
        check.same_length(func, "boundaries", boundaries, "schedules", schedules, offset=1)
        self._set(
            schedules=schedules, boundaries=tuple(check.whole_if_integral(b) for b in boundaries)
        )

    def routes(self):
        starts = (0, *self.boundaries)
        return tuple(Route(child, start, start) for child, start in zip(self.schedules, starts))

    def _values(self, t, xp=NUMPY):
        routes = self.routes()

        def piece(index, steps):
            return xp.values_of(routes[index].child, steps - routes[index].offset)

        return xp.piecewise(t, self.boundaries, "right", piece)


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
            schedule=schedule_argument(func, "schedule", self.schedule),
            steps=check.integer(func, "steps", self.steps, minimum=1),
            start_factor=start_factor,
            mode=mode,
        )

    def _ramp(self, t, xp):
        start = self.start_factor
        progress = (t + 1.0) / (self.steps + 1.0)
        if self.mode == "linear":
            return start + (1.0 - start) * progress
        if self.mode == "cosine":
            return start + (1.0 - start) * (1.0 - xp.cos(math.pi * progress)) / 2.0
        if self.mode == "exponential":
            return xp.power(start, 1.0 - progress)
        return xp.full_like(progress, start)

    def routes(self):
        return (Route(self.schedule, self.steps, self.steps),)

    def _values(self, t, xp=NUMPY):
        def piece(index, steps):
            if index == 0:
                peak = xp.values_of(self.schedule, xp.full_like(steps[:1], 0.0))[0]
                return peak * self._ramp(steps, xp)
            return xp.values_of(self.schedule, steps - self.steps)

        return xp.piecewise(t, (self.steps,), "right", piece)

    def _flat_pieces(self):
        return self.mode == "constant" and self.schedule._flat_pieces()


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
        if not any(isinstance(item, Schedule) for item in items):
            check.fail(
                func,
                "factors",
                "two or more factors, at least one of them a schedule "
                "(a product of numbers is a number: use constant(...))",
                list(items),
            )
        flat: list[Schedule | float] = []
        for item in items:
            flat.extend(item.factors if isinstance(item, product) else (item,))
        self._set(factors=tuple(flat))

    def __repr__(self):
        if isinstance(self.factors[0], Schedule):
            return " * ".join(repr(factor) for factor in self.factors)
        # `0.5 * s` reads back as Python evaluates it, s * 0.5: the factors in another order.
        return f"product([{', '.join(repr(factor) for factor in self.factors)}])"

    def routes(self):
        return tuple(Route(factor) for factor in self.factors if isinstance(factor, Schedule))

    def _values(self, t, xp=NUMPY):
        values = xp.full_like(t, 1.0)
        for factor in self.factors:
            values = values * (
                factor if isinstance(factor, numbers.Real) else xp.values_of(factor, t)
            )
        return values


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
        self._set(
            schedule=schedule_argument(func, "schedule", self.schedule),
            min_lr=min_lr,
            max_lr=max_lr,
        )

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

    def routes(self):
        return (Route(self.schedule),)

    def _values(self, t, xp=NUMPY):
        return xp.clip(xp.values_of(self.schedule, t), self.min_lr, self.max_lr)


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
        self._set(
            schedule=schedule_argument("shift", "schedule", self.schedule),
            steps=check.whole_if_integral(check.real("shift", "steps", self.steps)),
        )

    def __repr__(self):
        return f"{_receiver(self.schedule)}.shift({self.steps!r})"

    def routes(self):
        return (Route(self.schedule, 0, -self.steps),)

    def _values(self, t, xp=NUMPY):
        return xp.values_of(self.schedule, xp.maximum(t + self.steps, 0.0))


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
            schedule=schedule_argument(func, "schedule", self.schedule),
            steps_per_epoch=check.whole_if_integral(
                check.step_length(func, "steps_per_epoch", self.steps_per_epoch, "a finite epoch")
            ),
            staircase=check.boolean(func, "staircase", self.staircase),
        )

    def __repr__(self):
        staircase = ", staircase=True" if self.staircase else ""
        return f"{_receiver(self.schedule)}.per_epoch({self.steps_per_epoch!r}{staircase})"

    def routes(self):
        return (Route(self.schedule, per=self.steps_per_epoch, staircase=self.staircase),)

    def _values(self, t, xp=NUMPY):
        epochs = t / self.steps_per_epoch
        return xp.values_of(self.schedule, xp.floor(epochs) if self.staircase else epochs)

    def _flat_pieces(self):
        return self.staircase or self.schedule._flat_pieces()

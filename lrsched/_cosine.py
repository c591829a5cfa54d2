"""Cosine families: cosine annealing, SGDR warm restarts, warmup-stable-decay."""

from __future__ import annotations

import functools
import math

import numpy as np

from lrsched import _validation as check
from lrsched._base import Route, Schedule, Tail, frozen
from lrsched._ops import NUMPY
from lrsched._structure import Every, Indexed


def half_cosine(fraction: np.ndarray, high, low, xp=NUMPY) -> np.ndarray:
    """low + (high - low) * (1 + cos(pi * fraction)) / 2.

    ``high`` and ``low`` are numbers or arrays shaped like ``fraction``.
    """
    return (xp.cos(fraction * math.pi) + 1.0) * ((high - low) / 2.0) + low


def cosine_to_low(left: np.ndarray, high, low, xp=NUMPY) -> np.ndarray:
    """The same half cosine from the end: low + (high - low) * sin(pi * left / 2) ** 2,
    with ``left = 1 - fraction`` the part still to go, computed exactly by the caller.

    (1 + cos(pi x)) / 2 cancels as x reaches 1; sin(pi left / 2) ** 2 keeps the relative
    precision of a decay to 0 to its last step (1e-16 instead of 1e-6 at 10**6 steps).
    """
    shape = xp.sin(left * (math.pi / 2.0))
    return shape * shape * (high - low) + low


@frozen
class cosine(Schedule):
    r"""Half a cosine from ``base_lr`` down to ``min_lr`` over ``total_steps``.

    .. math:: \eta_t = \text{min\_lr} + \frac{\text{base\_lr} - \text{min\_lr}}{2}
              \left(1 + \cos\frac{\pi \min(t, T)}{T}\right)

    After ``total_steps`` it holds ``min_lr``. With ``periodic=True`` it is torch's closed
    form without the ``min``: the cosine rises again after T and repeats every 2T, which
    is what ``CosineAnnealingLR`` does when stepped past ``T_max``.

    Two options reshape it. ``k_decay`` = k warps time as timm does, and ``exponent`` = p
    raises the cosine's [0, 1] shape to a power as optax does:

    .. math:: \eta_t = \text{min\_lr} + (\text{base\_lr} - \text{min\_lr})
              \left(\frac{1 + \cos(\pi \min(t, T)^k / T^k)}{2}\right)^p

    At their defaults (1) the values are exactly those of the plain formula above.

    Args:
        base_lr: learning rate at step 0, >= 0.
        total_steps: T, a positive integer.
        min_lr: learning rate at T, >= 0.
        periodic: keep following the cosine past T.
        k_decay: k, > 0; k > 1 keeps the LR high for longer (timm's ``k_decay``). Not
            with ``periodic``.
        exponent: p, > 0 (optax ``cosine_decay_schedule(exponent=...)``).

    Torch ``CosineAnnealingLR(T_max, eta_min)``; Keras ``CosineDecay(decay_steps, alpha)``
    is ``cosine(lr, decay_steps, min_lr=alpha * lr)``; optax
    ``cosine_decay_schedule(v, T, alpha, exponent)`` is
    ``cosine(v, T, min_lr=alpha * v, exponent=exponent)``.

    Raises:
        ArgumentError: a bad parameter, or ``k_decay`` other than 1 with ``periodic``.

    >>> import lrsched
    >>> lrsched.cosine(base_lr=1.0, total_steps=10)([0, 5, 10, 20])
    array([1. , 0.5, 0. , 0. ])
    >>> lrsched.cosine(base_lr=1.0, total_steps=10, periodic=True)(20)
    1.0
    >>> lrsched.cosine(base_lr=1.0, total_steps=10, exponent=2.0)(5)
    0.25
    >>> lrsched.cosine(base_lr=1.0, total_steps=16, k_decay=0.5)(4)
    0.5
    """

    base_lr: float
    total_steps: int
    min_lr: float = 0.0
    periodic: bool = False
    k_decay: float = 1.0
    exponent: float = 1.0

    def __post_init__(self):
        func = "cosine"
        given_k_decay = self.k_decay
        periodic = check.boolean(func, "periodic", self.periodic)
        k_decay = check.whole_if_integral(check.positive(func, "k_decay", self.k_decay))
        if periodic and k_decay != 1:
            check.fail(
                func, "k_decay", "1 when periodic=True (the warped time has no period)", k_decay
            )
        self._set(
            base_lr=check.non_negative(func, "base_lr", self.base_lr),
            total_steps=check.integer(func, "total_steps", self.total_steps, minimum=1),
            min_lr=check.non_negative(func, "min_lr", self.min_lr),
            periodic=periodic,
            k_decay=float(k_decay),
            exponent=check.positive(func, "exponent", self.exponent),
        )
        try:  # the warped time is min(t, T)**k / T**k: T**k must be a float64 number
            float(self.total_steps) ** k_decay
        except OverflowError:
            highest = math.log(1.7976931348623157e308) / math.log(self.total_steps)
            check.fail(
                func,
                "k_decay",
                f"at most {highest:.4g} for total_steps={self.total_steps} (so that "
                "total_steps ** k_decay is finite)",
                given_k_decay,
            )

    def _values(self, t, xp=NUMPY):
        period = self.total_steps
        # cos is 2T-periodic in t; reducing first keeps huge steps exact.
        steps = xp.fmod(t, 2.0 * period) if self.periodic else xp.minimum(t, period)
        if self.k_decay == 1.0 and self.exponent == 1.0:
            # The steps still to go to the next low point (T), counted exactly.
            return cosine_to_low(xp.abs(period - steps) / period, self.base_lr, self.min_lr, xp)
        k = self.k_decay
        fraction = steps / period if k == 1.0 else xp.power(steps, k) / float(period) ** k
        shape = half_cosine(fraction, 1.0, 0.0, xp)
        if self.exponent != 1.0:
            shape = xp.power(shape, self.exponent)
        return shape * (self.base_lr - self.min_lr) + self.min_lr

    def _breakpoints(self, low, high):
        """Its end, or when periodic its lows and highs at every multiple of T."""
        return (Every(self.total_steps),) if self.periodic else (self.total_steps,)

    def to_config(self):
        # The options added later are left out at their defaults, so configs saved before
        # them (and checkpoints that compare configs) stay the same.
        config = Schedule.to_config(self)  # zero-argument super() breaks in slotted dataclasses
        for name in ("k_decay", "exponent"):
            if config[name] == 1.0:
                del config[name]
        return config

    def tail(self):
        if self.periodic:
            period = 2.0 * self.total_steps
            # Past float64 (T > 8.99e307) it never comes round again at any step.
            return Tail(0.0, period) if period < math.inf else None
        return Tail(float(self.total_steps))


@functools.lru_cache(maxsize=64)
def _whole_cycle_starts(period: int, mult: int) -> np.ndarray:
    """S_0, S_1, ... for whole period and mult >= 2, each rounded once from an exact
    integer; the last entry is inf, where S_i leaves float64."""
    starts, start, length = [], 0, period
    while True:
        try:
            starts.append(float(start))
        except OverflowError:
            starts.append(math.inf)
            break
        start += length
        length *= mult
    table = np.array(starts)
    table.flags.writeable = False
    return table


@frozen
class warm_restarts(Schedule):
    r"""SGDR: cosine annealing that restarts at ``base_lr``, with growing periods.

    Cycle i lasts :math:`T_i = \text{period}\cdot\text{period\_mult}^i` steps and starts at
    :math:`S_i = \sum_{j<i} T_j`. With :math:`t_i = t - S_i` inside cycle i:

    .. math:: \eta_t = \text{min\_lr} + (\text{base\_lr} - \text{min\_lr})\,
              \text{decay}^i\,\frac{1 + \cos(\pi t_i / T_i)}{2}

    The cycle index is computed exactly: for a whole ``period`` and ``period_mult`` the
    :math:`S_i` come from exact integers (otherwise a logarithm's guess is corrected
    against them), so every restart happens exactly at :math:`S_i`, up to step 2**53.
    Torch's ``step(epoch)`` derives it from a float log alone and misplaces some
    restarts (``T_0=1, T_mult=3``: epoch 121 = S_5 gets ``eta_min``, not the restart).

    Args:
        base_lr: learning rate at each restart (before ``decay``), >= 0.
        period: length of the first cycle, > 0.
        period_mult: growth of each cycle's length, >= 1.
        min_lr: floor of every cycle, >= 0.
        decay: factor on the height of each later cycle, in (0, 1].

    Torch ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)``; Keras
    ``CosineDecayRestarts(first_decay_steps, t_mul, m_mul=decay, alpha)`` with
    ``min_lr = alpha * base_lr`` (Keras' ``m_mul`` also shrinks only the height above
    its floor; timm's ``cycle_decay`` differs, see the migration guides).

    >>> import lrsched
    >>> lrsched.warm_restarts(1.0, period=2, period_mult=2)([0, 1, 2, 4, 6])
    array([1. , 0.5, 1. , 0.5, 1. ])
    """

    base_lr: float
    period: float
    period_mult: float = 1
    min_lr: float = 0.0
    decay: float = 1.0

    def __post_init__(self):
        func = "warm_restarts"
        given_mult = self.period_mult
        self._set(
            base_lr=check.non_negative(func, "base_lr", self.base_lr),
            period=check.whole_if_integral(
                check.step_length(func, "period", self.period, "a finite number of periods")
            ),
            period_mult=check.whole_if_integral(
                check.in_range(func, "period_mult", self.period_mult, 1.0, math.inf, high_open=True)
            ),
            min_lr=check.non_negative(func, "min_lr", self.min_lr),
            decay=check.in_range(func, "decay", self.decay, 0.0, 1.0, low_open=True),
        )
        # The cycle index comes from log1p(t (mult - 1) / period) and the cycle starts from
        # period (mult**i - 1) / (mult - 1): both products stay finite for every step up to
        # 2**53 (with a factor 2 to spare for rounding) while mult is at most this.
        highest = 1.0 + min(self.period, 1.0) * (1.7976931348623157e308 / 2.0**54)
        if self.period_mult > highest:
            check.fail(
                func,
                "period_mult",
                f"at most {highest:.3g} for period={self.period!r} (so that every step "
                "up to 2**53 has a finite cycle index)",
                given_mult,
            )

    def cycle_starts(self, cycles: np.ndarray, xp=NUMPY) -> np.ndarray:
        """S_i, the step at which cycle i begins (exact for whole periods and multipliers)."""
        mult = self.period_mult
        if mult == 1:
            return cycles * self.period
        if isinstance(self.period, int) and isinstance(mult, int):
            table = _whole_cycle_starts(self.period, mult)
            return xp.take(table, xp.minimum(cycles, len(table) - 1).astype(np.intp))
        return self.period * (xp.power(mult, cycles) - 1.0) / (mult - 1.0)

    def _values(self, t, xp=NUMPY):
        period, mult = self.period, self.period_mult
        if isinstance(period, int) and isinstance(mult, int) and mult > 1:
            # Whole S_i are exact integers, at most 54 of them below 2**53: each cycle is a
            # piece, between the restarts at or before t.
            starts = _whole_cycle_starts(period, mult)

            def cycle(index, steps):
                number = xp.full_like(steps[:1], index)
                return self._in_cycle(number, steps - starts[index], xp)

            return xp.piecewise(t, starts[1:], "right", cycle)
        if mult == 1:
            number, within = xp.floor_divmod(t, period)
        else:
            # The cycle from a logarithm, corrected against the exact S_i: the log may land
            # one cycle off at exact restarts.
            number = xp.floor(xp.log1p(t * ((mult - 1.0) / period)) / math.log(mult))
            number = number - (t < self.cycle_starts(number, xp))
            number = number + (t >= self.cycle_starts(number + 1.0, xp))
            within = t - self.cycle_starts(number, xp)
        return self._in_cycle(number, within, xp)

    def _breakpoints(self, low, high):
        """The restarts S_i, i >= 1."""
        period, mult = self.period, self.period_mult
        if mult == 1:
            return (Every(period),)

        def cycle(t: float) -> float:  # the cycle holding step t, good to one cycle
            return math.log1p(t * ((mult - 1.0) / period)) / math.log(mult)

        return (Indexed(self.cycle_starts, cycle),)

    def _in_cycle(self, number, within, xp):
        """The LR ``within`` steps into cycle ``number`` (arrays, or 1-element ones)."""
        length = xp.integer_powers(self.period, self.period_mult, number)
        shape = cosine_to_low((length - within) / length, 1.0, 0.0, xp)
        if self.decay != 1.0:
            shape = shape * xp.integer_powers(1.0, self.decay, number)
        return shape * (self.base_lr - self.min_lr) + self.min_lr

    def tail(self):
        if self.period_mult == 1 and self.decay == 1.0:
            return Tail(0.0, float(self.period))
        return None


# wsd's composed equivalent by instance: building it validates four schedules (~60 us), too
# slow to repeat on every call.
_COMPOSED: dict = {}


@frozen
class wsd(Schedule):
    r"""Warmup-stable-decay: ramp up, hold ``base_lr``, then decay to ``min_lr``.

    Steps ``[0, W)`` warm up as ``lrsched.warmup`` does (linear, never 0 at step 0);
    ``[W, W+S)`` hold ``base_lr``; the next ``D`` steps decay with u = progress in [0, 1]:

    .. math:: \eta = \text{min\_lr} + (\text{base\_lr} - \text{min\_lr})\, g(u),\quad
              g(u) = 1-u \;\big|\; \tfrac{1+\cos\pi u}{2} \;\big|\; 1-\sqrt{u}

    for ``decay_shape`` ``"linear"``, ``"cosine"`` and ``"1-sqrt"``; then holds ``min_lr``.

    With ``warmup_shape`` the warmup is transformers' instead: it starts at ``min_lr`` at
    step 0 and rises as :math:`\text{min\_lr} + (\text{base\_lr} - \text{min\_lr})\,
    h(t/W)`, :math:`h(u) = u \;\big|\; \tfrac{1-\cos\pi u}{2} \;\big|\; 1-\sqrt{1-u}`.

    Args:
        base_lr: the stable learning rate, >= 0.
        warmup_steps: W, an integer >= 0.
        stable_steps: S, an integer >= 0.
        decay_steps: D, a positive integer.
        min_lr: final learning rate, >= 0.
        decay_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"`` (MiniCPM's choice).
        warmup_shape: ``None`` (``lrsched.warmup``'s linear ramp, never 0 at step 0) or
            ``"linear"``, ``"cosine"``, ``"1-sqrt"`` (transformers' ramps from ``min_lr``).

    transformers ``get_wsd_schedule(W, D, num_stable_steps=S, warmup_type=w,
    decay_type=d, min_lr_ratio=r)`` is ``wsd(lr, W, S, D, min_lr=r * lr, decay_shape=d,
    warmup_shape=w)``.

    >>> import lrsched
    >>> s = lrsched.wsd(1.0, warmup_steps=0, stable_steps=2, decay_steps=4)
    >>> s([0, 1, 2, 4, 6, 9])
    array([1. , 1. , 1. , 0.5, 0. , 0. ])
    >>> lrsched.wsd(1.0, 4, 0, 4, warmup_shape="linear")([0, 2, 4])
    array([0. , 0.5, 1. ])
    """

    base_lr: float
    warmup_steps: int
    stable_steps: int
    decay_steps: int
    min_lr: float = 0.0
    decay_shape: str = "linear"
    warmup_shape: str | None = None

    def __post_init__(self):
        func = "wsd"
        self._set(
            base_lr=check.non_negative(func, "base_lr", self.base_lr),
            warmup_steps=check.integer(func, "warmup_steps", self.warmup_steps, minimum=0),
            stable_steps=check.integer(func, "stable_steps", self.stable_steps, minimum=0),
            decay_steps=check.integer(func, "decay_steps", self.decay_steps, minimum=1),
            min_lr=check.non_negative(func, "min_lr", self.min_lr),
            decay_shape=check.choice(
                func, "decay_shape", self.decay_shape, ("linear", "cosine", "1-sqrt")
            ),
            warmup_shape=None
            if self.warmup_shape is None
            else check.choice(
                func, "warmup_shape", self.warmup_shape, ("linear", "cosine", "1-sqrt")
            ),
        )

    def to_config(self):
        config = Schedule.to_config(self)  # zero-argument super() breaks in slotted dataclasses
        if config["warmup_shape"] is None:
            del config["warmup_shape"]  # added later: configs saved before it stay the same
        return config

    def _composed(self) -> Schedule:
        """The same schedule built from the combinators (computed once per instance)."""
        composed = _COMPOSED.get(self)
        if composed is None:
            composed = _COMPOSED[self] = self._compose()
            if len(_COMPOSED) > 256:
                _COMPOSED.pop(next(iter(_COMPOSED)))
        return composed

    def _compose(self) -> Schedule:
        from lrsched._basic import constant, linear
        from lrsched._compose import sequence, warmup

        decay: Schedule
        if self.decay_shape == "linear":
            decay = linear(self.base_lr, self.min_lr, self.decay_steps)
        elif self.decay_shape == "cosine":
            decay = cosine(self.base_lr, self.decay_steps, min_lr=self.min_lr)
        else:
            decay = _one_minus_sqrt(self.base_lr, self.min_lr, self.decay_steps)
        body = (
            decay
            if self.stable_steps == 0
            else sequence([constant(self.base_lr), decay], [self.stable_steps])
        )
        if not self.warmup_steps:
            return body
        if self.warmup_shape is None:
            return warmup(body, self.warmup_steps)
        return sequence([self._rise(), body], [self.warmup_steps])

    def _rise(self) -> Schedule:
        """transformers' warmup: min_lr + (base_lr - min_lr) h(t / W), min_lr at step 0."""
        from lrsched._basic import linear

        high, low, steps = self.base_lr, self.min_lr, self.warmup_steps
        if self.warmup_shape == "linear":
            return linear(low, high, steps)
        if self.warmup_shape == "cosine":
            # (1 - cos(pi u)) / 2 is the periodic cosine half a period in.
            return cosine(high, steps, min_lr=low, periodic=True).shift(steps)
        return _one_minus_sqrt(high, low, steps, rising=True)

    def _values(self, t, xp=NUMPY):
        return xp.values_of(self._composed(), t)

    def routes(self):
        return (Route(self._composed()),)


@frozen
class _one_minus_sqrt(Schedule):
    """The 1-sqrt decay shape of ``wsd``: low + (high - low) * (1 - sqrt(min(t, T)/T)).

    ``rising`` gives the warmup twin, low + (high - low) * (1 - sqrt(1 - min(t, T)/T)).
    """

    high: float
    low: float
    total_steps: int
    rising: bool = False

    def _values(self, t, xp=NUMPY):
        total = self.total_steps
        if self.rising:
            fraction = xp.sqrt((total - xp.minimum(t, total)) / total)
            values = (1.0 - fraction) * (self.high - self.low) + self.low  # low at step 0
            return xp.where(t >= total, self.high, values)
        # 1 - sqrt(x) = (1 - x) / (1 + sqrt(x)), with 1 - x the steps left counted exactly:
        # no cancellation as the decay reaches low.
        done = xp.minimum(t, total)
        shape = ((total - done) / total) / (xp.sqrt(done / total) + 1.0)
        values = shape * (self.high - self.low) + self.low
        return xp.where(t == 0, self.high, values)  # (high - low) + low need not be high

    def _breakpoints(self, low, high):
        return (self.total_steps,)

    def tail(self):
        return Tail(float(self.total_steps))

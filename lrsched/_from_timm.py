"""timm's ``create_scheduler_v2`` arguments as an lrsched schedule (``lrsched.from_timm``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lrsched import _validation as check

_FUNC = "from_timm"
SCHEDULES = ("cosine", "tanh", "step", "multistep", "plateau", "poly", "constant")
# Cycles are spelled out one piece each up to this many; past it, warm_restarts takes over
# where it is the same schedule.
_MAX_CYCLE_PIECES = 256


def from_timm(
    *,
    base_lr: float,
    sched: str = "cosine",
    num_epochs: int = 300,
    decay_epochs: float | None = None,
    decay_milestones: Sequence[int] = (90, 180, 270),
    cooldown_epochs: int = 0,
    patience_epochs: int = 10,
    decay_rate: float = 0.1,
    min_lr: float = 0.0,
    warmup_lr: float = 1e-5,
    warmup_epochs: int = 0,
    warmup_prefix: bool = False,
    noise: Any = None,
    noise_pct: float = 0.67,
    noise_std: float = 1.0,
    noise_seed: int = 42,
    cycle_mul: float = 1.0,
    cycle_decay: float = 0.1,
    cycle_limit: int = 1,
    k_decay: float = 1.0,
    plateau_mode: str = "max",
    step_on_epochs: bool = True,
    updates_per_epoch: int = 0,
) -> Any:
    r"""The lrsched schedule giving the LRs of timm's ``create_scheduler_v2(optimizer, ...)``.

    Takes ``create_scheduler_v2``'s arguments with its defaults, plus ``base_lr``, the
    optimizer's ``lr``. Step t of the result is timm's ``_get_lr(t)``: the LR of epoch t
    (``step_on_epochs=True``: call ``scheduler.step(epoch)`` per epoch; use
    ``.per_epoch(updates_per_epoch, staircase=True)`` to drive it per update) or of update t
    (``step_on_epochs=False``, counts multiplied by ``updates_per_epoch`` as timm does).
    A linear warmup of W steps from ``warmup_lr`` into a body :math:`b` is

    .. math:: \eta_t = \text{warmup\_lr} + t\,\frac{\text{base\_lr} - \text{warmup\_lr}}{W}
              \ (t < W), \qquad \eta_t = b(t - W)\ \text{(warmup\_prefix)}\ \text{or}\ b(t)

    timm's semantics are kept: ``multistep`` decays when ``t + 1`` reaches a milestone
    (``bisect_right(milestones, t + 1)``, one step before torch); the factory passes its
    ``warmup_prefix=False`` to every scheduler (timm's ``StepLRScheduler`` and
    ``MultiStepLRScheduler`` classes default to ``True``); ``cycle_decay`` multiplies each
    cycle's peak (not the height above ``min_lr``); after ``cycle_limit`` cycles the LR is
    ``min_lr``; without ``warmup_prefix``, ``tanh`` warms up towards its value at W.

    Args:
        base_lr: the optimizer's learning rate, >= 0.
        sched: ``"cosine"``, ``"tanh"``, ``"step"``, ``"multistep"``, ``"plateau"``,
            ``"poly"`` or ``"constant"``.
        num_epochs: t_initial of the cycles, in epochs.
        decay_epochs: the step size of ``"step"`` (default 90).
        decay_milestones: the milestones of ``"multistep"``.
        cooldown_epochs: only lengthens the epoch count timm returns; accepted for that.
        patience_epochs: the plateau's patience.
        decay_rate: the factor of ``"step"``, ``"multistep"`` and ``"plateau"``; the power
            of ``"poly"``.
        min_lr: the floor of each cycle, and the LR after the last one.
        warmup_lr: the LR the warmup starts from.
        warmup_epochs: W, the warmup's length.
        warmup_prefix: whether the body starts after the warmup (else it runs on the
            unshifted step, the warmup covering its first W steps).
        cycle_mul: each cycle's length factor.
        cycle_decay: each cycle's peak factor.
        cycle_limit: the number of cycles.
        k_decay: the cosine's time warp ``t**k / T**k``.
        plateau_mode: ``"min"`` or ``"max"`` for ``"plateau"``.
        step_on_epochs: step t counts epochs (``True``) or updates.
        updates_per_epoch: with ``step_on_epochs=False``, what every count is multiplied by.
        noise: timm's LR noise; only ``None`` is supported (below).
        noise_pct: accepted with ``noise=None``.
        noise_std: accepted with ``noise=None``.
        noise_seed: accepted with ``noise=None``.

    Returns:
        A schedule, or a ``plateau`` for ``"plateau"``.

    Raises:
        ArgumentError: an unknown ``sched``, LR noise, a bad value, or a combination with
            no exact equivalent (``k_decay`` with ``"poly"``; ``"plateau"`` with warmup).

    LR noise is refused: timm draws it per step from torch's generator (seeded with
    ``noise_seed + t``, redrawn until within ``noise_pct``), so reproducing it would need
    torch's random number stream in a numpy library. Train with the noise-free schedule,
    or multiply in your own deterministic factor with ``lambda_lr``.

    >>> import lrsched
    >>> s = lrsched.from_timm(base_lr=0.1, sched="multistep", decay_milestones=[3, 6],
    ...                       decay_rate=0.5)
    >>> s([0, 1, 2, 5, 6])
    array([0.1  , 0.1  , 0.05 , 0.025, 0.025])
    """
    base = check.non_negative(_FUNC, "base_lr", base_lr)
    kind = check.choice(_FUNC, "sched", sched, SCHEDULES)
    _check_accepted(noise, noise_pct, noise_std, noise_seed, cooldown_epochs)
    check.boolean(_FUNC, "warmup_prefix", warmup_prefix)
    check.boolean(_FUNC, "step_on_epochs", step_on_epochs)
    scale = 1
    if not step_on_epochs:
        scale = check.integer(_FUNC, "updates_per_epoch", updates_per_epoch, minimum=1)
    total = check.integer(_FUNC, "num_epochs", num_epochs, minimum=1) * scale
    warm = check.integer(_FUNC, "warmup_epochs", warmup_epochs, minimum=0) * scale
    start = check.non_negative(_FUNC, "warmup_lr", warmup_lr)
    floor = check.non_negative(_FUNC, "min_lr", min_lr)
    rate = check.positive(_FUNC, "decay_rate", decay_rate)
    k = check.positive(_FUNC, "k_decay", k_decay)

    if kind == "plateau":
        return _plateau(
            base, floor, rate, plateau_mode, patience_epochs, warmup_epochs, step_on_epochs
        )
    if kind in ("step", "constant", "multistep"):
        body = _decay(kind, base, rate, decay_epochs, decay_milestones, scale)
        return _warmup(start, base, warm, body, prefix=warmup_prefix)
    if kind == "poly" and k != 1.0:
        check.fail(
            _FUNC,
            "k_decay",
            "1 for 'poly' (lrsched's polynomial has no time warp; cosine has k_decay)",
            k_decay,
        )
    cycles = _Cycles(base, total, floor, cycle_mul, cycle_decay, cycle_limit, k)
    body = _cycled(kind, cycles, floor, rate, k)
    if warm and not warmup_prefix and kind == "tanh":
        # timm's tanh warms up towards its own value at W, where the unshifted body takes over.
        return _warmup(start, body(warm), warm, body, prefix=False)
    return _warmup(start, base, warm, body, prefix=warmup_prefix)


def _check_accepted(noise, noise_pct, noise_std, noise_seed, cooldown_epochs) -> None:
    """The arguments taken only so that timm's calls carry over: LR noise is refused."""
    if noise is not None:
        check.fail(
            _FUNC,
            "noise",
            "None: timm's LR noise is drawn from torch's random "
            "generator at every step (seed noise_seed + t), which a numpy schedule "
            "cannot reproduce; train without it or multiply in your own factor",
            noise,
        )
    check.integer(_FUNC, "cooldown_epochs", cooldown_epochs, minimum=0)
    for name, value in (("noise_pct", noise_pct), ("noise_std", noise_std)):
        check.real(_FUNC, name, value)
    check.integer(_FUNC, "noise_seed", noise_seed)


def _plateau(base, floor, rate, plateau_mode, patience_epochs, warmup_epochs, step_on_epochs):
    """timm's ``PlateauLRScheduler`` as an ``lrsched.plateau``, where one is exact."""
    import lrsched as lr

    if not step_on_epochs:
        check.fail(
            _FUNC,
            "step_on_epochs",
            "True for 'plateau' (timm: 'Plateau LR only supports step per epoch')",
            step_on_epochs,
        )
    if warmup_epochs:
        check.fail(
            _FUNC,
            "warmup_epochs",
            "0 for 'plateau': timm ignores the metrics "
            "of warmup epochs, which a plateau (counting every metric) does not; "
            "pass metrics only from epoch warmup_epochs + 1 on to "
            "lrsched.plateau(...) instead",
            warmup_epochs,
        )
    mode = check.choice(_FUNC, "plateau_mode", plateau_mode, ("min", "max"))
    patience = check.integer(_FUNC, "patience_epochs", patience_epochs, minimum=0)
    return lr.plateau(
        base, mode=mode, factor=rate, patience=patience, threshold=1e-4, cooldown=0, min_lr=floor
    )


def _decay(kind, base, rate, decay_epochs, decay_milestones, scale):
    """The body of ``"constant"``, ``"step"`` and ``"multistep"``."""
    import lrsched as lr

    if kind == "multistep":
        return _multistep(base, decay_milestones, rate, scale)
    if kind == "constant":
        return lr.constant(base)
    epochs = 90 if decay_epochs is None else decay_epochs
    return _step(base, check.positive(_FUNC, "decay_epochs", epochs) * scale, rate)


def _cycled(kind, cycles, floor, rate, k):
    """The body of ``"cosine"``, ``"tanh"`` and ``"poly"``: one piece per cycle."""
    import lrsched as lr

    if kind == "poly":
        return cycles.build(lambda peak, length: _poly(peak, length, floor, rate))
    if kind == "tanh":
        return cycles.build(
            lambda peak, length: _per_length(lambda n: lr.tanh(peak, n, min_lr=floor), length),
            allow_restarts=False,
        )
    return cycles.build(
        lambda peak, length: _per_length(
            lambda n: lr.cosine(peak, n, min_lr=floor, k_decay=k), length
        )
    )


def _warmup(start: float, end: float, warm: int, body: Any, *, prefix: bool) -> Any:
    """timm's warmup: start + t * (end - start) / W for t < W, then the body."""
    import lrsched as lr

    if not warm:
        # Until the first step(1) the optimizer keeps its own lr: the body's step 0 need
        # not round to it (tanh starts (1 - tanh(lb)) / 2 below it).
        if body(0) == end:
            return body
        return lr.sequence([lr.constant(end), body.shift(1)], [1])
    return lr.sequence([lr.linear(start, end, warm), body if prefix else body.shift(warm)], [warm])


def _step(base: float, size: float, rate: float) -> Any:
    import lrsched as lr

    if float(size).is_integer():
        return lr.step(base, int(size), gamma=rate)
    # t // size for a fractional size: whole steps of a schedule counted in sizes.
    return lr.step(base, 1, gamma=rate).per_epoch(size, staircase=True)


def _multistep(base: float, milestones: Any, rate: float, scale: int) -> Any:
    import lrsched as lr

    values = check.sequence_of(
        _FUNC,
        "decay_milestones",
        milestones,
        lambda f, n, v: check.integer(f, n, v, minimum=0),
        min_length=0,
        increasing="weakly",
    )
    # bisect_right(milestones, t + 1) counts m <= t + 1, i.e. lrsched's milestones m - 1
    # (a milestone at 0 has passed at every step, as one at 0 does here).
    if not values:
        return lr.constant(base)
    return lr.multistep(base, [max(m * scale - 1, 0) for m in values], gamma=rate)


def _per_length(make: Any, length: float) -> Any:
    """A family built over ``length`` steps; a fractional length runs it in units of
    ``length`` (total_steps 1, time divided by length)."""
    if float(length).is_integer():
        return make(int(length))
    return make(1).per_epoch(length)


def _poly(peak: float, length: float, floor: float, power: float) -> Any:
    import lrsched as lr

    return _per_length(lambda n: lr.polynomial(peak, n, end_lr=floor, power=power), length)


class _Cycles:
    """timm's cycles: cycle i lasts T m**i from S_i = T (1 - m**i) / (1 - m), peaks at
    base * decay**i, and after ``limit`` cycles the LR is min_lr."""

    def __init__(self, base, total, floor, mul, decay, limit, k):
        self.base, self.total, self.floor, self.k = base, total, floor, k
        self.mul = check.positive(_FUNC, "cycle_mul", mul)
        self.decay = check.non_negative(_FUNC, "cycle_decay", decay)
        self.limit = check.integer(_FUNC, "cycle_limit", limit, minimum=0)

    def start(self, i: int) -> float:
        if self.mul == 1:
            return float(self.total * i)
        return (1 - self.mul**i) / (1 - self.mul) * self.total

    def length(self, i: int) -> float:
        return self.mul**i * self.total if self.mul != 1 else self.total

    def build(self, piece: Any, *, allow_restarts: bool = True) -> Any:
        import lrsched as lr

        if self.limit == 0:
            return lr.constant(self.floor)
        if self.limit > _MAX_CYCLE_PIECES:
            restarts = self._restarts() if allow_restarts else None
            if restarts is None:
                check.fail(
                    _FUNC,
                    "cycle_limit",
                    f"at most {_MAX_CYCLE_PIECES} for this "
                    "schedule (each cycle is one piece; warm_restarts covers more "
                    "only for cosine with k_decay=1 and min_lr=0 or cycle_decay=1)",
                    self.limit,
                )
            return restarts
        pieces, bounds = [], []
        for i in range(self.limit):
            gamma = self.decay**i
            pieces.append(piece(self.base * gamma, self.length(i)))
            if i:
                bounds.append(check.whole_if_integral(self.start(i)))
        end = self.start(self.limit)
        if math.isfinite(end):
            pieces.append(lr.constant(self.floor))
            bounds.append(check.whole_if_integral(end))
        return pieces[0] if len(pieces) == 1 else lr.sequence(pieces, bounds)

    def _restarts(self) -> Any:
        import lrsched as lr

        if (
            self.k != 1.0
            or not (self.floor == 0.0 or self.decay == 1.0)
            or not (0.0 < self.decay <= 1.0)
            or self.mul < 1
        ):
            return None
        body = lr.warm_restarts(
            self.base, self.total, period_mult=self.mul, min_lr=self.floor, decay=self.decay
        )
        end = self.start(self.limit)
        if not math.isfinite(end) or end > 2.0**53:
            return body
        return lr.sequence([body, lr.constant(self.floor)], [check.whole_if_integral(end)])


__all__ = ["from_timm"]

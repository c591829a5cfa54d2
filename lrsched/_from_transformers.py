"""transformers' scheduler names as lrsched compositions (``lrsched.from_transformers``)."""

from __future__ import annotations

from typing import Any

from lrsched import _validation as check

_FUNC = "from_transformers"

# transformers' SchedulerType values, in its own order.
NAMES = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)
# Options each name takes (transformers raises a TypeError for any other).
_OPTIONS = {
    "linear": (),
    "cosine": ("num_cycles",),
    "cosine_with_restarts": ("num_cycles",),
    "polynomial": ("lr_end", "power"),
    "constant": (),
    "constant_with_warmup": (),
    "inverse_sqrt": ("timescale",),
    "reduce_lr_on_plateau": (
        "mode",
        "factor",
        "patience",
        "threshold",
        "threshold_mode",
        "cooldown",
        "min_lr",
        "eps",
    ),
    "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate"),
    "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"),
    "warmup_stable_decay": (
        "num_decay_steps",
        "num_stable_steps",
        "warmup_type",
        "decay_type",
        "min_lr_ratio",
        "num_cycles",
    ),
}


def from_transformers(
    name: Any,
    *,
    base_lr: float,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    **scheduler_specific_kwargs: Any,
) -> Any:
    r"""The lrsched schedule giving the LRs of ``transformers.get_scheduler(name, ...)``.

    transformers' schedulers are a torch ``LambdaLR`` over the optimizer's ``lr``
    (``base_lr`` here), stepped once per update, so step t of the result is the LR of
    update t. Its warmups start at 0: the LR of step 0 is 0 (``cosine_warmup_with_min_lr``
    starts at ``base_lr / W`` instead, as there); lrsched's own ``warmup`` never spends an
    update at 0. For a linear warmup of W steps into a body :math:`b`:

    .. math:: \eta_t = \text{base\_lr}\,\frac{t}{W}\ (t < W), \qquad
              \eta_t = b(t - W)\ (t \ge W)

    Every name of transformers' ``SchedulerType`` is supported except ``"greedy"``
    (GreedyLR raises the LR on improvement, which no plateau rule does). The result uses
    the same formulas (a few units in the last place apart where transformers rounds in
    another order), with transformers' quirks: cosines past ``num_training_steps`` rise
    again, the hard-restarts cosine is 0 from there on, the polynomial holds ``lr_end``.

    Args:
        name: a ``SchedulerType`` value or its name (``"linear"``, ``"cosine"``, ...).
        base_lr: the optimizer's learning rate, >= 0.
        num_warmup_steps: W, an integer >= 0; required except for ``"constant"`` and
            ``"reduce_lr_on_plateau"``, as in transformers.
        num_training_steps: T, an integer >= 0; required where transformers requires it.
        **scheduler_specific_kwargs: what transformers' ``scheduler_specific_kwargs``
            (``lr_scheduler_kwargs`` in ``TrainingArguments``) holds for that name:
            ``num_cycles``, ``lr_end``/``power``, ``timescale``, ``min_lr``/``min_lr_rate``,
            ``warmup_lr_rate``, ``num_decay_steps``/``num_stable_steps``/``warmup_type``/
            ``decay_type``/``min_lr_ratio``, or torch ``ReduceLROnPlateau``'s arguments.

    Returns:
        A schedule, or a ``plateau`` for ``"reduce_lr_on_plateau"``.

    Raises:
        ArgumentError: an unknown name, a missing step count, an option the name does not
            take, or a value transformers itself would refuse.

    >>> import lrsched
    >>> s = lrsched.from_transformers("linear", base_lr=1.0, num_warmup_steps=2,
    ...                               num_training_steps=6)
    >>> s([0, 1, 2, 4, 6, 9])
    array([0. , 0.5, 1. , 0.5, 0. , 0. ])
    """
    kind = _name(name)
    base = check.non_negative(_FUNC, "base_lr", base_lr)
    unknown = sorted(set(scheduler_specific_kwargs) - set(_OPTIONS[kind]))
    if unknown:
        allowed = ", ".join(_OPTIONS[kind]) or "none"
        check.refuse(
            f"{_FUNC}(): {kind!r} takes no option {unknown[0]!r} (transformers "
            f"would raise a TypeError); its options: {allowed}",
            TypeError,
        )
    options = dict(scheduler_specific_kwargs)
    if kind == "constant":
        return _lr().constant(base)
    if kind == "reduce_lr_on_plateau":
        return _plateau(base, options)
    warm = _steps("num_warmup_steps", num_warmup_steps, kind)
    if kind == "constant_with_warmup":
        return _after_warmup(base, warm, _lr().constant(base))
    if kind == "inverse_sqrt":
        return _inverse_sqrt(base, warm, options.get("timescale"))
    if kind == "warmup_stable_decay":
        return _wsd(base, warm, num_training_steps, options)
    total = _steps("num_training_steps", num_training_steps, kind)
    if kind == "linear":
        return _linear(base, warm, total)
    if kind == "cosine":
        return _after_warmup(
            base, warm, _cosine(base, 0.0, _span(warm, total), _cycles(options, 0.5))
        )
    if kind == "cosine_with_restarts":
        return _hard_restarts(base, warm, total, _cycles(options, 1))
    if kind == "polynomial":
        return _polynomial(base, warm, total, options)
    if kind == "cosine_with_min_lr":
        floor = base * _min_lr_rate(base, options)
        return _after_warmup(
            base, warm, _cosine(base, floor, _span(warm, total), _cycles(options, 0.5))
        )
    return _cosine_warmup_with_min_lr(base, warm, total, options)


def _lr():
    import lrsched

    return lrsched


def _name(name: Any) -> str:
    value = getattr(name, "value", name)  # a transformers SchedulerType member
    if value == "greedy":
        check.refuse(
            f"{_FUNC}(): name 'greedy' has no lrsched equivalent: GreedyLR raises "
            "the LR when the metric improves and resets after a warm period, which "
            "no schedule or plateau does; use 'reduce_lr_on_plateau' or keep "
            "transformers' scheduler"
        )
    if not isinstance(value, str) or value not in NAMES:
        check.fail(
            _FUNC, "name", f"one of transformers' scheduler names ({', '.join(NAMES)})", name
        )
    return value


def _steps(param: str, value: Any, kind: str) -> int:
    if value is None:
        check.refuse(f"{_FUNC}(): {kind!r} requires {param}, as in transformers; got None")
    return check.integer(_FUNC, param, value, minimum=0)


def _span(warm: int, total: int) -> int:
    """transformers' ``max(1, T - W)``: the length its decays are normalised by."""
    return max(1, total - warm)


def _cycles(options: dict, default: float) -> float:
    cycles = check.non_negative(_FUNC, "num_cycles", options.get("num_cycles", default))
    return cycles


def _after_warmup(base: float, warm: int, body: Any) -> Any:
    """transformers' linear warmup t / W from 0 at step 0, then ``body`` from its own 0."""
    lr = _lr()
    if warm == 0:
        return body
    return lr.sequence([lr.linear(0.0, base, warm), body], [warm])


def _linear(base: float, warm: int, total: int) -> Any:
    lr = _lr()
    if total <= warm:
        # (T - t) / max(1, T - W) <= 0 from W on: transformers clamps it to 0.
        body = lr.constant(0.0)
    else:
        body = lr.linear(base, 0.0, total - warm)
    return _after_warmup(base, warm, body)


def _cosine(high: float, low: float, span: int, cycles: float) -> Any:
    r"""low + (high - low) (1 + cos(2 pi n s / span)) / 2, periodic past the span."""
    lr = _lr()
    if cycles == 0:
        return lr.constant(high)
    half_period = span / (2.0 * cycles)  # steps from a peak to the next trough
    if float(half_period).is_integer():
        return lr.cosine(high, int(half_period), min_lr=low, periodic=True)
    return lr.cosine(high, 1, min_lr=low, periodic=True).per_epoch(half_period)


def _hard_restarts(base: float, warm: int, total: int, cycles: float) -> Any:
    lr = _lr()
    span = _span(warm, total)
    if cycles == 0:
        body = lr.constant(base)
    else:
        body = lr.warm_restarts(base, period=span / cycles)
    # progress >= 1: transformers returns 0 from W + max(1, T - W) on.
    body = lr.sequence([body, lr.constant(0.0)], [span])
    return _after_warmup(base, warm, body)


def _polynomial(base: float, warm: int, total: int, options: dict) -> Any:
    lr = _lr()
    end = check.non_negative(_FUNC, "lr_end", options.get("lr_end", 1e-7))
    power = check.positive(_FUNC, "power", options.get("power", 1.0))
    if not base > end:
        check.fail(
            _FUNC,
            "lr_end",
            f"smaller than base_lr={base!r} (transformers refuses lr_end >= the initial lr)",
            end,
        )
    if total <= warm:
        body = lr.constant(end)  # every step from W on is past T (T == W divides by 0 there)
    else:
        body = lr.polynomial(base, total - warm, end_lr=end, power=power)
    return _after_warmup(base, warm, body)


def _inverse_sqrt(base: float, warm: int, timescale: Any) -> Any:
    lr = _lr()
    if timescale is None:
        timescale = warm or 10_000
    tau = check.positive(_FUNC, "timescale", timescale)
    # 1 / sqrt((t + tau - W) / tau) from W on: inverse_sqrt's own step counts from W.
    return _after_warmup(base, warm, lr.inverse_sqrt(base, timescale=tau))


def _min_lr_rate(base: float, options: dict) -> float:
    min_lr, rate = options.get("min_lr"), options.get("min_lr_rate")
    if min_lr is not None and rate is not None:
        check.refuse(
            f"{_FUNC}(): pass one of min_lr and min_lr_rate, got min_lr={min_lr!r} "
            f"and min_lr_rate={rate!r}"
        )
    if min_lr is not None:
        min_lr = check.non_negative(_FUNC, "min_lr", min_lr)
        if base == 0.0:
            check.fail(_FUNC, "base_lr", "> 0 with min_lr (transformers divides by it)", base)
        return min_lr / base
    if rate is None:
        check.refuse(
            f"{_FUNC}(): this scheduler needs min_lr or min_lr_rate, as in "
            "transformers; got neither"
        )
    return check.in_range(_FUNC, "min_lr_rate", rate, 0.0, 1.0)


def _cosine_warmup_with_min_lr(base: float, warm: int, total: int, options: dict) -> Any:
    lr = _lr()
    floor = base * _min_lr_rate(base, options)
    span = _span(warm, total)
    # Its progress counts one step ahead: (t - W + 1) / max(1, T - W).
    body = _cosine(base, floor, span, _cycles(options, 0.5)).shift(1)
    if warm == 0:
        return body
    rate = options.get("warmup_lr_rate")
    if rate is None:
        start = base / max(1.0, float(warm))  # (t + 1) / max(1, W) at t = 0
    else:
        start = base * check.in_range(_FUNC, "warmup_lr_rate", rate, 0.0, 1.0)
    ramp = lr.constant(start) if warm == 1 else lr.linear(start, base, warm - 1)
    return lr.sequence([ramp, body], [warm])


_SHAPES = ("linear", "cosine", "1-sqrt")


def _wsd(base: float, warm: int, total: Any, options: dict) -> Any:
    lr = _lr()
    if "num_decay_steps" not in options:
        check.refuse(
            f"{_FUNC}(): 'warmup_stable_decay' requires num_decay_steps, as in transformers"
        )
    decay = check.integer(_FUNC, "num_decay_steps", options["num_decay_steps"], minimum=0)
    stable = options.get("num_stable_steps")
    if stable is None:
        if total is None:
            check.refuse(
                f"{_FUNC}(): 'warmup_stable_decay' requires num_training_steps or "
                "num_stable_steps, as in transformers; got neither"
            )
        total = check.integer(_FUNC, "num_training_steps", total, minimum=0)
        stable = total - warm - decay
    else:
        stable = check.integer(_FUNC, "num_stable_steps", stable, minimum=0)
    warmup_type = check.choice(_FUNC, "warmup_type", options.get("warmup_type", "linear"), _SHAPES)
    decay_type = check.choice(_FUNC, "decay_type", options.get("decay_type", "cosine"), _SHAPES)
    ratio = check.in_range(_FUNC, "min_lr_ratio", options.get("min_lr_ratio", 0.0), 0.0, 1.0)
    cycles = _cycles(options, 0.5)
    floor = base * ratio
    if decay >= 1 and stable >= 0 and (decay_type != "cosine" or cycles == 0.5):
        return lr.wsd(
            base,
            warm,
            stable,
            decay,
            min_lr=floor,
            decay_shape=decay_type,
            warmup_shape=warmup_type if warm else None,
        )
    # The rest, piece by piece: no decay steps, a stable phase made negative by
    # num_training_steps < W + D, or a cosine of other than half a cycle.
    if decay_type == "cosine" and cycles != 0.5:
        shape = _cosine(base, floor, decay, cycles)
    else:
        shape = lr.wsd(base, 0, 0, max(1, decay), min_lr=floor, decay_shape=decay_type)
    # The decay covers [S, S + D) after the warmup; S < 0 starts it |S| steps in.
    pieces, bounds = [], []
    if stable > 0:
        pieces.append(lr.constant(base))
        bounds.append(stable)
    if decay and stable + decay > 0:
        pieces.append(shape if stable >= 0 else shape.shift(-stable))
        bounds.append(stable + decay)
    pieces.append(lr.constant(floor))
    body = pieces[0] if len(pieces) == 1 else lr.sequence(pieces, bounds)
    if warm == 0:
        return body
    ramp = lr.wsd(base, warm, 0, 1, min_lr=floor, warmup_shape=warmup_type)  # its warmup only
    return lr.sequence([ramp, body], [warm])


def _plateau(base: float, options: dict) -> Any:
    min_lr = options.pop("min_lr", 0.0)
    if isinstance(min_lr, (list, tuple)):
        check.fail(
            _FUNC,
            "min_lr",
            "one number (lrsched schedules one param group; call once per group)",
            min_lr,
        )
    return _lr().plateau(base, min_lr=min_lr, **options)


__all__ = ["from_transformers"]

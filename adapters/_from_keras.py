"""Keras 3's built-in LR schedules as lrsched schedules (``lrsched.adapters.keras.from_keras``)."""

from __future__ import annotations

from typing import Any

import keras

import lrsched
from lrsched import validation as check

_FUNC = "from_keras"
_SCHEDULES = keras.optimizers.schedules


def from_keras(keras_schedule: Any) -> Any:
    r"""The lrsched schedule of a Keras learning-rate schedule, read from its ``get_config()``.

    Keras evaluates its schedules in float32; the result is the same formula in float64,
    so ``np.float32(s(t))`` is Keras's LR at step t up to Keras's own float32 rounding.

    ========================================  ===================================================
    Keras                                     lrsched
    ========================================  ===================================================
    ``ExponentialDecay(lr, k, g, staircase)``  ``exponential(lr, g, decay_steps=k, staircase=...)``
    ``PiecewiseConstantDecay(b, v)``           ``piecewise_constant(b, v)``
    ``PolynomialDecay(lr, T, end, p, cycle)``  ``polynomial(lr, T, end_lr=end, power=p, cycle=...)``
    ``InverseTimeDecay(lr, k, r, staircase)``  ``inverse_time(lr, k, r, staircase=...)``
    ``CosineDecay(lr, T, alpha)``              ``cosine(lr, T, min_lr=alpha * lr)``
    ``CosineDecay(..., warmup_target=p, W)``   ``sequence([linear(lr, p, W), cosine(p, T, ...)], [W])``
    ``CosineDecayRestarts(lr, T, m, d, a)``    ``warm_restarts(lr, T, period_mult=m, decay=d, ...)``
    ========================================  ===================================================

    A ``KerasSchedule`` gives back its own schedule, a plain number a ``constant``.

    Args:
        keras_schedule: an instance of one of those classes (exactly: a subclass may compute
            something else), a ``KerasSchedule``, a number, or the dict
            ``keras.optimizers.schedules.serialize`` makes of one.

    Returns:
        The equivalent lrsched schedule.

    Raises:
        ArgumentTypeError: anything else (a user's own ``LearningRateSchedule``).
        ArgumentError: parameters lrsched cannot express (``CosineDecayRestarts`` with
            ``t_mul < 1`` or ``m_mul > 1``; fractional ``decay_steps`` of a cycling
            ``PolynomialDecay``).

    >>> import keras
    >>> from lrsched.adapters.keras import from_keras
    >>> from_keras(keras.optimizers.schedules.CosineDecay(0.1, 1000, alpha=0.01))
    cosine(base_lr=0.1, total_steps=1000, min_lr=0.001)
    """
    if isinstance(keras_schedule, dict) and "class_name" in keras_schedule:
        keras_schedule = _SCHEDULES.deserialize(keras_schedule)
    from lrsched.adapters.keras import KerasSchedule

    if isinstance(keras_schedule, KerasSchedule):
        return keras_schedule.schedule
    if isinstance(keras_schedule, (int, float)) and not isinstance(keras_schedule, bool):
        return lrsched.constant(float(keras_schedule))
    convert = _CONVERTERS.get(type(keras_schedule).__name__)
    if convert is None or type(keras_schedule) is not getattr(
        _SCHEDULES, type(keras_schedule).__name__
    ):
        check.fail(
            _FUNC,
            "keras_schedule",
            f"a Keras schedule ({', '.join(_CONVERTERS)}), a KerasSchedule or a number",
            keras_schedule,
            TypeError,
        )
    return convert(keras_schedule.get_config())


def _steps(value: Any) -> float | int:
    """Keras accepts float step counts; a whole one becomes an int."""
    return check.whole_if_integral(check.positive(_FUNC, "decay_steps", value))


def _over(make: Any, steps: float | int) -> lrsched.Schedule:
    """A family defined over whole ``steps``; fractional ones run it in units of ``steps``."""
    if isinstance(steps, int):
        return make(steps)
    return make(1).per_epoch(steps)


def _exponential(config: dict) -> lrsched.Schedule:
    return lrsched.exponential(
        config["initial_learning_rate"],
        config["decay_rate"],
        decay_steps=config["decay_steps"],
        staircase=config["staircase"],
    )


def _piecewise(config: dict) -> lrsched.Schedule:
    return lrsched.piecewise_constant(list(config["boundaries"]), list(config["values"]))


def _polynomial(config: dict) -> lrsched.Schedule:
    steps = _steps(config["decay_steps"])
    if config["cycle"] and not isinstance(steps, int):
        check.fail(_FUNC, "decay_steps", "a whole number with cycle=True", steps)
    return _over(
        lambda n: lrsched.polynomial(
            config["initial_learning_rate"],
            n,
            end_lr=config["end_learning_rate"],
            power=config["power"],
            cycle=config["cycle"],
        ),
        steps,
    )


def _inverse_time(config: dict) -> lrsched.Schedule:
    return lrsched.inverse_time(
        config["initial_learning_rate"],
        config["decay_steps"],
        config["decay_rate"],
        staircase=config["staircase"],
    )


def _cosine(config: dict) -> lrsched.Schedule:
    initial, alpha = config["initial_learning_rate"], config["alpha"]
    target, warm = config.get("warmup_target"), config.get("warmup_steps", 0)
    peak = initial if target is None else target
    decay = _over(
        lambda n: lrsched.cosine(peak, n, min_lr=alpha * peak), _steps(config["decay_steps"])
    )
    if target is None or not warm:
        return decay
    warm = check.integer(_FUNC, "warmup_steps", warm, minimum=0)
    return lrsched.sequence([lrsched.linear(initial, target, warm), decay], [warm])


def _restarts(config: dict) -> lrsched.Schedule:
    initial = config["initial_learning_rate"]
    t_mul, m_mul = config["t_mul"], config["m_mul"]
    if t_mul < 1:
        check.fail(_FUNC, "t_mul", ">= 1 (warm_restarts' periods do not shrink)", t_mul)
    if not 0 < m_mul <= 1:
        check.fail(_FUNC, "m_mul", "in (0, 1] (warm_restarts' cycles do not grow)", m_mul)
    return lrsched.warm_restarts(
        initial,
        config["first_decay_steps"],
        period_mult=t_mul,
        min_lr=config["alpha"] * initial,
        decay=m_mul,
    )


_CONVERTERS = {
    "ExponentialDecay": _exponential,
    "PiecewiseConstantDecay": _piecewise,
    "PolynomialDecay": _polynomial,
    "InverseTimeDecay": _inverse_time,
    "CosineDecay": _cosine,
    "CosineDecayRestarts": _restarts,
}

"""check_schedule: assert the invariants a schedule claims, on steps that hunt edge cases.

Needs only numpy, so it works without hypothesis too; ``lrsched.testing`` re-exports it.
"""

from __future__ import annotations

import json
import math
import numbers
import pickle
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import numpy as np

import lrsched
from lrsched import _validation
from lrsched._base import Schedule, Tail, ValueObject, fields
from lrsched._structure import breakpoints

# A formula whose cost grows with the step (it says so: multiplicative materialises t factors
# at step t, a Python call each for a function that is not vectorized) is checked up to here.
GROWING_COST_CHECK_STEPS = 1000
LARGEST_EXACT_STEP = 2.0**53

_GENERIC_STEPS = (
    0.0,
    5e-324,
    1e-9,
    0.5,
    1.0,
    1.5,
    2.0,
    3.0,
    7.0,
    10.0,
    99.5,
    100.0,
    1000.0,
    12345.678,
    1e6,
    1e9,
    2.0**31,
    2.0**32,
    2.0**52 + 0.5,
    2.0**53 - 1.0,
    2.0**53,
)
_MONOTONE = ("increasing", "decreasing")
# How many of a formula's own breakpoints (from step 0) are hunted around.
_FIRST_BREAKPOINTS = 8


class ScheduleCheckError(AssertionError):
    """A failed ``check_schedule`` invariant. ``check`` names the invariant, ``step`` and
    ``value`` show where (either may be None when the failure is not about one step)."""

    __module__ = "lrsched.testing"  # where users import it from

    def __init__(self, check: str, schedule: str, step: Any, value: Any, detail: str = ""):
        self.check, self.schedule, self.step, self.value = check, schedule, step, value
        where = "" if step is None else f" at step {step!r}"
        shown = "" if value is None else f": got {value!r}"
        extra = f" ({detail})" if detail else ""
        super().__init__(f"check_schedule [{check}] failed for {schedule}{where}{shown}{extra}")


def _describe(schedule: Any) -> str:
    if isinstance(schedule, ValueObject):
        text = repr(schedule)
    else:
        text = getattr(schedule, "__qualname__", None) or repr(schedule)
    return text if len(text) <= 200 else text[:197] + "..."


def _children(schedule: Any) -> tuple[Any, ...]:
    """The schedules a schedule is built from; none for a plain callable."""
    return schedule.children() if isinstance(schedule, ValueObject) else ()


def largest_step(schedule: Any) -> float:
    """The largest step ``check_schedule`` evaluates by default: 2**53, or fewer when the
    schedule contains a formula whose cost grows with the step (``multiplicative``).

    Args:
        schedule: an lrsched schedule or a plain callable (always 2**53).

    Returns:
        The step as a float: 1000 at such a formula, carried out through the composites
        around it (``warmup`` adds its steps, ``per_epoch`` multiplies, ...).

    >>> import lrsched
    >>> from lrsched.testing import largest_step
    >>> largest_step(lrsched.cosine(0.1, 100))
    9007199254740992.0
    >>> largest_step(lrsched.warmup(lrsched.multiplicative(0.1, lambda k: 0.9), 10))
    1010.0
    """
    if not isinstance(schedule, Schedule):
        return LARGEST_EXACT_STEP
    grows = getattr(schedule, "_cost_grows_with_the_step", None)
    if grows is not None and grows():
        return float(GROWING_COST_CHECK_STEPS)
    # Through a combinator, a child's largest step is where the combinator reaches it.
    limits = [route.offset + largest_step(route.child) * route.per for route in schedule.routes()]
    limits += [
        largest_step(child)
        for child in _children(schedule)
        if not any(route.child is child for route in schedule.routes())
    ]
    return max(min(min(limits, default=LARGEST_EXACT_STEP), LARGEST_EXACT_STEP), 0.0)


def _numbers(value: Any) -> list[float]:
    items = value if isinstance(value, tuple) else (value,)
    return [
        float(item)
        for item in items
        if isinstance(item, numbers.Real) and not isinstance(item, bool) and math.isfinite(item)
    ]


def _structural_steps(schedule: Any) -> list[float]:
    """Steps (in the schedule's own time) where its formula changes piece or phase, as the
    schedule describes itself: its tail, its routes into the schedules it is built from,
    and its formula's own breakpoints."""
    if not isinstance(schedule, Schedule):
        return []
    points: list[float] = []
    tail = schedule.tail()
    if tail is not None:
        points.append(float(tail.start))
        if tail.period is not None:
            points += [tail.start + tail.period, tail.start + 2 * tail.period]
    routes = schedule.routes()
    if routes:
        # Where each child starts, where its step reaches 0, its first units (epochs), and
        # its own structure, all in this schedule's time.
        for route in routes:
            points += [float(route.start), float(route.offset)]
            if route.per != 1:
                points += [route.per, 2 * route.per]
            points += [route.offset + point * route.per for point in _structural_steps(route.child)]
        return points
    # The first breakpoints of the formula itself: phase ends, restarts, cycle corners.
    found = breakpoints(schedule, 0.0, LARGEST_EXACT_STEP, limit=_FIRST_BREAKPOINTS, spread=False)
    if found is not None:
        points += found.steps.tolist()
    else:
        # A formula that does not describe where it breaks (a user's family without
        # _breakpoints, a user function): any number among its parameters may be one.
        for field in fields(schedule):
            points += _numbers(getattr(schedule, field.name, None))
    for child in _children(schedule):
        points += _structural_steps(child)
    return points


def edge_steps(
    schedule: Any, *, max_step: float | None = None, extra: Iterable[float] = ()
) -> np.ndarray:
    """The sorted steps ``check_schedule`` evaluates: 0, the smallest positive float, 1,
    fractional steps, 2**31, 2**52 + 0.5, 2**53, and around every boundary the schedule
    knows (its ``tail()``, milestones, boundaries, total_steps, phase ends, restarts, and
    those of the schedules it is built from, in its own time) the boundary, its float
    neighbours, +-0.5, +-1 and twice it.

    Args:
        schedule: an lrsched schedule or a plain callable (generic steps only).
        max_step: the largest step to include (default ``largest_step(schedule)``).
        extra: more steps to include.

    Returns:
        A sorted float64 array of distinct steps in ``[0, max_step]``.

    >>> import lrsched
    >>> from lrsched.testing import edge_steps
    >>> steps = edge_steps(lrsched.multistep(0.1, milestones=[30, 80]))
    >>> bool(30.0 in steps and 29.5 in steps and 80.0 in steps and 2.0**53 in steps)
    True
    """
    limit = largest_step(schedule) if max_step is None else float(max_step)
    points = list(_GENERIC_STEPS) + [float(step) for step in extra]
    for point in _structural_steps(schedule):
        if math.isfinite(point):
            points += [
                point - 1.0,
                point - 0.5,
                math.nextafter(point, -math.inf),
                point,
                math.nextafter(point, math.inf),
                point + 0.5,
                point + 1.0,
                2.0 * point,
            ]
    for point in (limit, math.nextafter(limit, 0.0), limit - 1.0, limit / 2.0):
        points.append(point)
    steps = np.unique(np.asarray(points, dtype=np.float64))
    return steps[(steps >= 0.0) & (steps <= limit)]


def _step_offset(schedule: Any) -> float:
    """The largest constant added to or taken from the step on its way into the schedule.

    ``shift(k)`` evaluates its child at ``t + k``, so near 0 the child's step is resolved only
    to the float spacing of ``k``, not of ``t``; sequences and warmups likewise subtract their
    boundaries.
    """
    if not isinstance(schedule, Schedule):
        return 0.0
    own = max((abs(float(route.offset)) for route in schedule.routes()), default=0.0)
    return own + max((_step_offset(child) for child in _children(schedule)), default=0.0)


def _grid(steps: np.ndarray, limit: float) -> np.ndarray:
    """Edge steps plus an even grid over where the schedule changes and a geometric one."""
    finite = steps[steps < 2.0**40]
    horizon = min(limit, max(16.0, 2.0 * float(finite.max()) if finite.size else 16.0))
    even = np.linspace(0.0, horizon, 257)
    geometric = np.geomspace(1.0, max(limit, 1.0), 64) if limit >= 1.0 else np.zeros(1)
    return np.unique(np.concatenate([steps, even, geometric[geometric <= limit]]))


class _Checker:
    def __init__(self, schedule: Callable, name: str, rtol: float):
        self.schedule, self.name, self.rtol = schedule, name, rtol
        self.is_schedule = isinstance(schedule, Schedule)
        self.scale = 0.0

    def fail(self, check: str, step: Any = None, value: Any = None, detail: str = "") -> NoReturn:
        raise ScheduleCheckError(check, self.name, step, value, detail)

    def bad_value(self, error: Any) -> NoReturn:
        check = "finite" if not math.isfinite(error.value) else "non-negative"
        self.fail(check, error.step, error.value)

    def close(self, a: float, b: float) -> bool:
        return a == b or abs(a - b) <= self.rtol * self.scale

    def scalar(self, step: float) -> float:
        try:
            value = self.schedule(step)
        except _validation.LearningRateError as error:  # the evaluator refused a bad value
            self.bad_value(error)
        except Exception as error:
            self.fail("evaluates", step, None, f"raised {type(error).__name__}: {error}")
        if self.is_schedule and type(value) is not float:
            self.fail(
                "shape/dtype",
                step,
                value,
                f"a scalar step must give a Python float, not {type(value).__name__}",
            )
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
            self.fail("shape/dtype", step, value, "must be a real number")
        if isinstance(value, np.ndarray) and value.size != 1:
            self.fail("shape/dtype", step, value, "a scalar step must give one value")
        return float(value)

    def vector(self, steps: np.ndarray, check: str = "evaluates") -> np.ndarray:
        try:
            values = self.schedule(steps)
        except _validation.LearningRateError as error:
            self.bad_value(error)
        except Exception as error:
            self.fail(
                check,
                None,
                None,
                f"calling it on an array of {steps.size} steps "
                f"raised {type(error).__name__}: {error}",
            )
        values_array = np.asarray(values)
        if values_array.shape != steps.shape:
            self.fail(
                "shape/dtype",
                None,
                values_array.shape,
                f"an array of steps of shape {steps.shape} must give values of that shape",
            )
        if self.is_schedule and (type(values) is not np.ndarray or values.dtype != np.float64):
            self.fail(
                "shape/dtype",
                None,
                getattr(values, "dtype", type(values).__name__),
                "an array of steps must give a float64 ndarray",
            )
        if values_array.dtype.kind not in "fiu":
            self.fail("shape/dtype", None, values_array.dtype, "values must be real numbers")
        return values_array.astype(np.float64)


def check_schedule(
    schedule: Callable,
    *,
    bounds: tuple[float, float] | None = None,
    monotone: str | None = None,
    periodic: float | Tail | None = None,
    steps: Iterable[float] = (),
    max_step: float | None = None,
    vectorized: bool | None = None,
    round_trip: bool | None = None,
    rtol: float = 1e-9,
) -> np.ndarray:
    """Assert the invariants a schedule claims, on steps chosen to hunt edge cases.

    Works on lrsched schedules (built-in, composed or your own ``Schedule`` subclass) and on
    plain callables of the step. Evaluates ``edge_steps(schedule)`` (0, fractional steps,
    every boundary the schedule knows and its neighbours, 2**53) plus ``steps``, and on a
    denser grid for the monotone, periodic and tail checks. Always checked:

    - **evaluates**: a valid step does not raise;
    - **finite** and **non-negative**: every value;
    - **vectorized equals scalar**: ``s(array)[i]`` equals ``s(array[i])``;
    - **deterministic**: calling again gives the same values;
    - **shape/dtype**: a scalar gives a Python float, an array (1-d, 2-d, empty, integer or
      a list) a float64 ndarray of its shape (plain callables: real numbers, same shape);
    - **invalid steps**: -1, NaN and inf raise ValueError (lrsched schedules);
    - **tail**: constant, or periodic, from ``s.tail().start`` as the schedule claims;
    - **round trip**: ``to_config`` is JSON-safe and ``from_config``, ``parse(repr(s))`` and
      pickle rebuild an equal schedule with equal hash and values (lrsched schedules).

    and, when claimed: **bounds** ``low <= s(t) <= high``; **monotone** ``"increasing"``
    or ``"decreasing"`` (weakly) over every step; **periodic** ``s(t + p) == s(t)`` for a
    period p (or, with a ``Tail(start, p)``, for t >= start).

    Values are compared with tolerance ``rtol`` times the largest value seen, which the
    vectorized, deterministic and round-trip checks of lrsched schedules never need.

    Args:
        schedule: an ``lrsched.Schedule`` or any callable of the step.
        bounds: ``(low, high)`` every value must lie within.
        monotone: ``"increasing"``, ``"decreasing"`` or None.
        periodic: a period in steps, a ``Tail(start, period)``, or None.
        steps: more steps to check (ones your schedule is special at).
        max_step: the largest step to check (default ``largest_step(schedule)``: 2**53,
            or 1000 for schedules containing ``multiplicative``).
        vectorized: whether the callable must accept arrays. Default: True for lrsched
            schedules; for plain callables, checked when an array call succeeds.
        round_trip: check the config, text and pickle round trips (default: for lrsched
            schedules). Turn off for a ``Schedule`` subclass you never save.
        rtol: relative tolerance of value comparisons, >= 0.

    Returns:
        The edge steps that were checked, sorted.

    Raises:
        ScheduleCheckError: an AssertionError whose message names the failed check, the
            schedule, the step and the value.
        ValueError, TypeError: an invalid argument to ``check_schedule`` itself.

    >>> import lrsched
    >>> from lrsched.testing import check_schedule
    >>> steps = check_schedule(lrsched.cosine(0.1, 100), bounds=(0.0, 0.1), monotone="decreasing")
    >>> try:
    ...     check_schedule(lambda t: 0.1 / (1.0 + t), monotone="increasing")
    ... except AssertionError as error:
    ...     print(error.check, error.step, error.value)
    monotone 1e-09 0.0999999999
    """
    if not callable(schedule):
        raise _validation.ArgumentTypeError(
            f"check_schedule(): schedule must be a Schedule or a callable of "
            f"the step, got {schedule!r}"
        )
    if monotone is not None and monotone not in _MONOTONE:
        raise _validation.ArgumentError(
            f"check_schedule(): monotone must be None, 'increasing' or "
            f"'decreasing', got {monotone!r}"
        )
    if bounds is not None and (len(bounds) != 2 or not bounds[0] <= bounds[1]):
        raise _validation.ArgumentError(
            f"check_schedule(): bounds must be (low, high) with low <= high, got {bounds!r}"
        )
    period_start, period = _period(periodic)
    if not (isinstance(rtol, numbers.Real) and rtol >= 0):
        raise _validation.ArgumentError(
            f"check_schedule(): rtol must be a number >= 0, got {rtol!r}"
        )
    if max_step is not None and not (
        isinstance(max_step, numbers.Real) and max_step >= 0 and math.isfinite(max_step)
    ):
        raise _validation.ArgumentError(
            f"check_schedule(): max_step must be a finite number >= 0, got {max_step!r}"
        )

    checker = _Checker(schedule, _describe(schedule), float(rtol))
    limit = largest_step(schedule) if max_step is None else float(max_step)
    points = edge_steps(schedule, max_step=limit, extra=steps)

    scalars = np.array([checker.scalar(float(step)) for step in points])
    # Asked again, step by step, before anything else compares values across calls.
    for step, first in zip(points[:16], scalars[:16]):
        second = checker.scalar(float(step))
        if not (first == second or (math.isnan(first) and math.isnan(second))):
            checker.fail(
                "deterministic", float(step), second, f"the first call gave {float(first)!r}"
            )
    _check_values(checker, points, scalars, bounds)
    checker.scale = float(np.max(np.abs(scalars), initial=0.0)) or 1.0

    must_vectorize = checker.is_schedule if vectorized is None else vectorized
    arrays_work = must_vectorize or _accepts_arrays(schedule, points)
    evaluate = (
        checker.vector
        if arrays_work
        else (lambda at, check="evaluates": np.array([checker.scalar(float(t)) for t in at]))
    )
    if arrays_work:
        values = checker.vector(points)
        for step, single, batch in zip(points, scalars, values):
            if not checker.close(single, batch):
                checker.fail(
                    "vectorized equals scalar",
                    float(step),
                    float(batch),
                    f"s(step) alone gives {float(single)!r}",
                )
        _check_array_forms(checker, points, values)
    again = evaluate(points)
    for step, first, second in zip(points, scalars, again):
        if not (first == second or (math.isnan(first) and math.isnan(second))):
            checker.fail(
                "deterministic", float(step), float(second), f"the first call gave {float(first)!r}"
            )

    grid = _grid(points, limit)
    grid_values = evaluate(grid)
    _check_values(checker, grid, grid_values, bounds)
    if monotone is not None:
        _check_monotone(checker, grid, grid_values, monotone)
    if period is not None:
        _check_periodic(checker, grid, evaluate, period_start, period, limit, "periodic")
    if checker.is_schedule:
        _check_invalid_steps(checker)
        _check_tail(checker, grid, grid_values, evaluate, limit)
    if round_trip is None:
        # Not applicable, unless asked for, to a schedule whose config cannot name a user
        # function it holds (register it with lrsched.register_function to check it).
        round_trip = isinstance(schedule, ValueObject) and _configurable(schedule)
    if round_trip:
        _check_round_trip(checker, points, scalars)
    return points


def _period(periodic: Any) -> tuple[float, float | None]:
    if periodic is None:
        return 0.0, None
    if isinstance(periodic, tuple):
        start, period = (*periodic, None)[:2] if len(periodic) == 1 else periodic
    else:
        start, period = 0.0, periodic
    # Compared as floats, which they are returned as (numbers.Real declares no > or >=).
    real = isinstance(period, numbers.Real) and isinstance(start, numbers.Real)
    if not (real and float(period) > 0 and math.isfinite(period) and float(start) >= 0):
        raise _validation.ArgumentError(
            f"check_schedule(): periodic must be a positive period or "
            f"Tail(start, period), got {periodic!r}"
        )
    return float(start), float(period)


def _accepts_arrays(schedule: Callable, points: np.ndarray) -> bool:
    try:
        values = schedule(points)
    except Exception:
        return False
    return np.ndim(values) > 0 or points.size == 1


def _check_values(checker: _Checker, points: np.ndarray, values: np.ndarray, bounds) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        index = int(np.argmax(bad))
        checker.fail("finite", float(points[index]), float(values[index]))
    negative = values < 0
    if negative.any():
        index = int(np.argmax(negative))
        checker.fail("non-negative", float(points[index]), float(values[index]))
    if bounds is not None:
        low, high = bounds
        slack = checker.rtol * max(abs(low), abs(high), checker.scale)
        outside = (values < low - slack) | (values > high + slack)
        if outside.any():
            index = int(np.argmax(outside))
            checker.fail(
                "bounds",
                float(points[index]),
                float(values[index]),
                f"claimed within [{low!r}, {high!r}]",
            )


def _check_array_forms(checker: _Checker, points: np.ndarray, values: np.ndarray) -> None:
    """Same values whatever form the steps come in: 2-d, empty, integers, a list, numpy
    scalars (the shape/dtype contract of the Schedule)."""
    shaped = checker.vector(points.reshape(1, -1))
    if not np.array_equal(shaped.ravel(), values, equal_nan=True):
        index = int(np.argmax(shaped.ravel() != values))
        checker.fail(
            "vectorized equals scalar",
            float(points[index]),
            float(shaped.ravel()[index]),
            f"a 2-d array of steps gives a different value from the 1-d array's "
            f"{float(values[index])!r}",
        )
    checker.vector(np.zeros(0))
    if not checker.is_schedule:
        return
    whole = points[(points == np.floor(points)) & (points < 2.0**62)]
    integer_values = checker.vector(whole.astype(np.int64))
    listed = checker.schedule(list(whole))
    for step, from_ints, from_list in zip(whole, integer_values, np.asarray(listed)):
        expected = values[np.searchsorted(points, step)]
        if not (checker.close(from_ints, expected) and checker.close(from_list, expected)):
            checker.fail(
                "vectorized equals scalar",
                float(step),
                float(from_ints),
                f"integer or list steps give {float(from_ints)!r}/"
                f"{float(from_list)!r}, float steps {float(expected)!r}",
            )
    for step in points[:4]:
        for kind in (np.float64(step), np.asarray(step)):
            value = checker.schedule(kind)
            if type(value) is not float:
                checker.fail(
                    "shape/dtype",
                    float(step),
                    value,
                    f"a {type(kind).__name__} step must give a Python float",
                )


def _check_monotone(
    checker: _Checker, points: np.ndarray, values: np.ndarray, direction: str
) -> None:
    change = np.diff(values)
    slack = checker.rtol * checker.scale
    wrong = change > slack if direction == "decreasing" else change < -slack
    if wrong.any():
        index = int(np.argmax(wrong))
        checker.fail(
            "monotone",
            float(points[index + 1]),
            float(values[index + 1]),
            f"claimed {direction}, but it was {float(values[index])!r} at step "
            f"{float(points[index])!r}",
        )


def _check_periodic(
    checker: _Checker,
    grid: np.ndarray,
    evaluate,
    start: float,
    period: float,
    limit: float,
    check: str,
) -> None:
    # Past ~2**20 periods a float step no longer resolves a position within the period.
    top = min(limit - 3 * period, start + period * 2.0**20)
    base = grid[(grid >= start) & (grid <= top)]
    if base.size == 0:
        return
    reference = evaluate(base)
    for multiple in (1.0, 3.0):
        shifted = base + multiple * period
        # A fractional period makes t + p inexact; at a jump (a restart) that rounding alone
        # can land either side, so a value within a few ulps of t on either side also counts.
        ulps = 4.0 * np.spacing(np.maximum(shifted, _step_offset(checker.schedule)))
        before = evaluate(np.maximum(base - ulps, 0.0))
        after = evaluate(base + ulps)
        later = evaluate(shifted)
        later_before = evaluate(shifted - ulps)
        later_after = evaluate(shifted + ulps)
        for index, (step, first, second) in enumerate(zip(base, reference, later)):
            near_t = (before[index], first, after[index])
            near_later = (later_before[index], second, later_after[index])
            # On a steep stretch a few ulps of the step move the value more than rtol, so the
            # value one period on may lie anywhere between the neighbours of s(t).
            between = any(min(near_t) <= b <= max(near_t) for b in near_later) or any(
                min(near_later) <= a <= max(near_later) for a in near_t
            )
            if not between and not any(checker.close(a, b) for a in near_t for b in near_later):
                checker.fail(
                    check,
                    float(step + multiple * period),
                    float(second),
                    f"claimed period {period!r}"
                    + (f" from step {start!r}" if start else "")
                    + f", but s({float(step)!r}) = {float(first)!r}",
                )


def _check_tail(
    checker: _Checker, grid: np.ndarray, grid_values: np.ndarray, evaluate, limit: float
) -> None:
    schedule = checker.schedule
    if not isinstance(schedule, Schedule):  # only lrsched schedules declare a tail
        return
    tail = schedule.tail()
    if tail is None:
        return
    if (
        not isinstance(tail, Tail)
        or not tail.start >= 0
        or (tail.period is not None and not tail.period > 0)
    ):
        checker.fail(
            "tail", None, tail, "tail() must return Tail(start >= 0, period > 0 or None) or None"
        )
    if tail.period is not None:
        _check_periodic(
            checker, grid, evaluate, float(tail.start), float(tail.period), limit, "tail"
        )
        return
    if tail.start > limit:
        return
    held = float(evaluate(np.array([float(tail.start)]))[0])
    after = grid >= tail.start
    for step, value in zip(grid[after], grid_values[after]):
        if not checker.close(value, held):
            checker.fail(
                "tail",
                float(step),
                float(value),
                f"tail() claims constant from step {tail.start!r}, where it is {held!r}",
            )


def _check_invalid_steps(checker: _Checker) -> None:
    for bad in (-1.0, -1e-300, math.nan, math.inf, [0.0, -1.0], np.array([1.0, np.nan])):
        try:
            checker.schedule(bad)
        except ValueError:
            continue
        except Exception as error:
            checker.fail(
                "invalid steps",
                None,
                None,
                f"step {bad!r} raised {type(error).__name__}, not ValueError",
            )
        checker.fail(
            "invalid steps",
            None,
            None,
            f"step {bad!r} was accepted; negative, NaN and infinite steps must raise ValueError",
        )


def _configurable(schedule: Any) -> bool:
    try:
        schedule.to_config()
    except _validation.ArgumentError:
        return False
    return True


def _check_round_trip(checker: _Checker, points: np.ndarray, values: np.ndarray) -> None:
    schedule = checker.schedule
    if not isinstance(schedule, ValueObject):
        checker.fail(
            "round trip",
            None,
            None,
            "only lrsched schedules have a config; pass round_trip=False for a plain callable",
        )
    try:
        config = schedule.to_config()
        text = json.dumps(config, allow_nan=False)
    except (ValueError, TypeError) as error:
        checker.fail("round trip", None, None, f"to_config() is not JSON-safe: {error}")
    rebuilt = {}
    try:
        rebuilt["from_config"] = lrsched.from_config(json.loads(text))
    except Exception as error:
        checker.fail(
            "round trip",
            None,
            None,
            f"from_config(to_config()) raised {type(error).__name__}: {error}",
        )
    try:
        rebuilt["parse(repr)"] = lrsched.parse(repr(schedule))
    except Exception as error:
        checker.fail(
            "round trip", None, None, f"parse(repr(s)) raised {type(error).__name__}: {error}"
        )
    try:
        rebuilt["pickle"] = pickle.loads(pickle.dumps(schedule))
    except Exception as error:
        checker.fail("round trip", None, None, f"pickle raised {type(error).__name__}: {error}")
    for how, copy in rebuilt.items():
        if copy != schedule or hash(copy) != hash(schedule):
            checker.fail(
                "round trip",
                None,
                repr(copy)[:200],
                f"{how} rebuilt a schedule that is not equal (or hashes differently)",
            )
        copied = copy(points)
        for step, original, again in zip(points, values, copied):
            if not checker.close(original, again):
                checker.fail(
                    "round trip",
                    float(step),
                    float(again),
                    f"the {how} copy differs from the original's {float(original)!r}",
                )

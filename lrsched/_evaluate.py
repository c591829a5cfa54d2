"""Evaluating schedules: steps in, checked learning rates out, and all the speed in one place.

A family only writes its formula, ``_values(t, xp)``. This module decides how it is run:

- **Steps** are checked once (finite, >= 0) and turned into float64, whatever came in.
- **Whole scalar steps** (``s(1234)``, what an optimizer loop asks) are read from a small
  table of the schedule's values at consecutive steps, computed a chunk at a time by the
  array path, so a scalar is bit for bit the array's value and costs a list lookup instead
  of a dozen numpy calls on one element (measured in ``benchmarks/bench_feel.py``).
- **Large arrays** go in blocks of ``BLOCK`` steps, each checked, converted and evaluated
  while it is in cache, so peak memory stays near the output however many temporaries a
  formula makes.
- **Every value is checked**: a negative, NaN or infinite learning rate raises, naming the
  schedule and the step, instead of reaching an optimizer.
- **Tables** (``StepTable``) of values at whole steps are what the adapters read.

No threads: on the 2-core machines we measure on, a second thread took a 10^6-step cosine
from 7.8 to 4.5 ns a step on an idle machine, but gained 1.0-1.1x (median) with the other
core busy, as it is beside a training job, and cheap formulas lost to GIL hand-offs below
10^6 steps; the pool, its fork handling and its settings were not worth that.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from lrsched import _validation as check
from lrsched._ops import NUMPY
from lrsched._validation import first_negative_or_nonfinite

# Any schedule: lrsched.Schedule, which this module is below (the class calls evaluate).
Schedule = Any

# Steps per block of a large array: 2**14 float64 steps are 128 KiB, so a block and the
# handful of temporaries a formula makes stay in a core's L2 cache, while the Python work
# per block (a few microseconds) stays small beside it. Measured on 10**7 steps against a
# bare np.cos: cosine 2.6x at 2**16, 1.5x at 2**14; cyclic 2.9x and 1.2x.
BLOCK = 2**14
# Whole steps below this are exact in float64 and count as table positions.
_EXACT_STEPS = 2**53


def _name(schedule: Any) -> str:
    return type(schedule).__name__


def _bad_step(schedule: Any, value: Any, where: str = "") -> check.ArgumentError:
    return check.ArgumentError(
        f"{_name(schedule)}(): step must be a finite number >= 0, got {value!r}{where}"
    )


def as_steps(schedule: Any, step: Any) -> tuple[np.ndarray, bool]:
    """Steps as an array of real numbers (not yet range-checked), and whether they came as
    a scalar (then checked, as a 1-element float64 array)."""
    kind = type(step)
    if kind is int or kind is float:
        try:
            value = float(step)
        except OverflowError:
            raise _bad_step(schedule, step) from None
        if not 0.0 <= value < math.inf:
            raise _bad_step(schedule, step)
        return np.array([value]), True
    if isinstance(step, (bool, np.bool_)):
        raise check.ArgumentTypeError(
            f"{_name(schedule)}(): step must be a number or an array of numbers, got {step!r}"
        )
    if isinstance(step, np.ma.MaskedArray):
        raise check.ArgumentTypeError(
            f"{_name(schedule)}(): step must not be a masked array "
            "(its mask would be ignored); pass step.filled(...) or "
            "step.compressed()"
        )
    try:
        array = np.asarray(step)
    except Exception as error:
        raise check.ArgumentTypeError(
            f"{_name(schedule)}(): step must be a number or an array of numbers, got "
            f"{_shorten(step)} ({type(error).__name__}: {error}; for a tensor pass "
            "tensor.detach().cpu().numpy() or int(tensor))"
        ) from error
    if array.dtype.kind == "O" and all(
        isinstance(item, numbers.Number)  # Real, and Decimal, which is not registered so
        and not isinstance(item, (bool, np.bool_, complex, np.complexfloating))
        for item in array.flat
    ):
        # Python ints beyond int64, Fractions, Decimals: the same rule as for a scalar of
        # those types, converted to float64 (a value beyond float64 is no finite step).
        try:
            array = array.astype(np.float64)
        except OverflowError:
            raise _bad_step(schedule, _shorten(step)) from None
    if array.dtype.kind not in "iuf":
        raise check.ArgumentTypeError(
            f"{_name(schedule)}(): step must be a number or an array of real numbers, got "
            f"dtype {array.dtype} ({_shorten(step)})"
        )
    if array.ndim == 0:
        _raise_if_bad(schedule, array, first_negative_or_nonfinite(array))
        return np.array(array, dtype=np.float64).reshape(1), True
    return array, False


def _raise_if_bad(schedule: Any, steps: np.ndarray, where: tuple[int, ...] | None) -> None:
    if where is not None:
        raise _bad_step(schedule, float(steps[where]), f" at index {where}")


def _shorten(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# A number gives a float and a list an array; an array gives an array, except a 0-d one,
# which gives a float, as a number does.
@overload
def evaluate(schedule: Any, step: float) -> float: ...
@overload
def evaluate(schedule: Any, step: Sequence[float] | Sequence[Sequence[float]]) -> np.ndarray: ...
@overload
def evaluate(schedule: Any, step: Any) -> float | np.ndarray: ...
def evaluate(schedule: Any, step: Any) -> float | np.ndarray:
    """``schedule(step)``: the contract of ``Schedule.__call__``."""
    if type(step) is int and 0 <= step < _EXACT_STEPS:
        return table_of(schedule)(step)
    steps, scalar = as_steps(schedule, step)
    if scalar:
        value = steps[0]
        if value.is_integer() and value < _EXACT_STEPS:
            return table_of(schedule)(int(value))
        return float(formula(schedule, steps)[0])
    if steps.size <= BLOCK:
        _raise_if_bad(schedule, steps, first_negative_or_nonfinite(steps))
        return formula(schedule, steps.astype(np.float64))
    return _in_blocks(schedule, steps)


def formula(schedule: Schedule, t: np.ndarray) -> np.ndarray:
    """The schedule's checked values at valid float64 steps t."""
    with np.errstate(over="ignore", under="ignore"):
        values = np.asarray(NUMPY.values_of(schedule, t), dtype=np.float64)
    if values.shape != t.shape:
        values = np.broadcast_to(values, t.shape).copy()
    where = first_negative_or_nonfinite(values)
    if where is not None:
        _refuse_value(schedule, float(values[where]), float(t[where]))
    return values


def _refuse_value(schedule: Any, value: float, step: float) -> None:
    if value == math.inf:
        message = (
            f"{_name(schedule)}(): the learning rate overflows float64 at step "
            f"{step!r}; a growing schedule needs a bound (use .clip(max_lr=...))"
        )
    else:
        message = (
            f"{_name(schedule)}(): the learning rate must be finite and >= 0, got "
            f"{value!r} at step {step!r}"
        )
    raise check.LearningRateError(message, step, value)


def _in_blocks(schedule: Schedule, steps: np.ndarray) -> np.ndarray:
    """A large array block by block: each block is checked, converted and evaluated while
    it is in cache. The first bad step (in index order) is reported before any formula's
    error, as if the whole array had been checked first."""
    values = np.empty(steps.shape)
    flat_steps, flat_values = steps.reshape(-1), values.reshape(-1)
    for low in range(0, flat_steps.size, BLOCK):
        block = flat_steps[low : low + BLOCK]
        if first_negative_or_nonfinite(block) is not None:
            break
        try:
            flat_values[low : low + block.size] = formula(schedule, block.astype(np.float64))
        except Exception:
            _raise_if_bad(schedule, steps, first_negative_or_nonfinite(steps))
            raise
    else:
        return values
    _raise_if_bad(schedule, steps, first_negative_or_nonfinite(steps))
    raise AssertionError("unreachable")  # pragma: no cover


class StepTable:
    """A schedule's values at whole steps, computed a chunk of consecutive steps at a time.

    ``table(k)`` is ``float(schedule(np.array([k, ...]))[0])`` bit for bit. Reading steps in
    order (a training loop) doubles the chunk up to ``max_chunk``; a jump starts again from
    ``first_chunk``, so random access never computes much more than it reads. If a chunk
    fails (a later step overflows, a user function raises there), only the step asked for
    is evaluated, so the error or value is that step's own.

    Adapters read their per-step values from here; ``values(start, stop)`` gives a whole
    float64 range.

    >>> import lrsched
    >>> table = lrsched.StepTable(lrsched.step(1.0, 2, gamma=0.5))
    >>> [table(k) for k in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    __slots__ = ("_chunk", "_next", "first_chunk", "max_chunk", "schedule")

    def __init__(self, schedule: Schedule, *, first_chunk: int = 16, max_chunk: int = 4096):
        self.schedule = schedule
        self.first_chunk, self.max_chunk = first_chunk, max_chunk
        self._chunk: tuple[int, int, list[float]] = (0, 0, [])  # start, stop, values
        self._next = first_chunk

    def __call__(self, step: int) -> float:
        start, stop, values = self._chunk
        if start <= step < stop:
            return values[step - start]
        return self.chunk(step)[0]

    def chunk(self, step: int) -> list[float]:
        """The values from ``step`` on, for as many consecutive steps as this table computes
        at once (at least one), as Python floats; the table then holds them."""
        start, stop, values = self._chunk
        if start == step < stop:
            return values
        length = min(2 * self._next, self.max_chunk) if step == stop else self.first_chunk
        try:
            values = self.values(step, step + length).tolist()
        except Exception:
            length, values = 1, self.values(step, step + 1).tolist()
        self._next = length
        self._chunk = (step, step + length, values)  # one store: readers see a whole chunk
        return values

    def values(self, start: int, stop: int) -> np.ndarray:
        """The schedule's values at steps ``start, ..., stop - 1`` as float64."""
        return formula(self.schedule, np.arange(start, stop, dtype=np.float64))


# The tables behind scalar calls, by schedule. Schedules are immutable values, so a table
# never goes stale; the entry keeps its schedule alive so that its id is not reused.
_TABLES: dict[int, tuple[Any, StepTable]] = {}
_TABLES_KEPT = 64


def table_of(schedule: Schedule) -> StepTable:
    """The shared table of ``schedule``'s values at whole steps."""
    entry = _TABLES.get(id(schedule))
    if entry is not None and entry[0] is schedule:
        return entry[1]
    table = StepTable(schedule)
    if len(_TABLES) >= _TABLES_KEPT:
        # Another thread may have got there first.
        with contextlib.suppress(KeyError, StopIteration, RuntimeError):
            del _TABLES[next(iter(_TABLES))]  # the oldest
    _TABLES[id(schedule)] = (schedule, table)
    return table


class _RunningProducts:
    """``base * f(1) * ... * f(k)`` for k = 0..n, one factor per step, computed once.

    ``multiplicative`` needs the running product up to its largest step. Kept per schedule
    and extended on demand, so a training loop calls the user's function once per step
    in all (as torch's ``MultiplicativeLR``) instead of again from step 1 on every chunk.
    """

    def __init__(self, base: float):
        self._buffer = np.array([base])
        self._count = 1  # products known: steps 0 .. count - 1

    def up_to(self, last: int, factors: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        count = self._count
        if last >= count:
            if last >= self._buffer.size:
                # Capacity doubles, so a loop that extends by a chunk at a time copies
                # O(steps) in all, not O(steps) per chunk.
                grown = np.empty(max(last + 1, 2 * self._buffer.size))
                grown[:count] = self._buffer[:count]
                self._buffer = grown
            new = self._buffer[count : last + 1]
            for low in range(0, new.size, BLOCK):
                ks = np.arange(count + low, count + min(low + BLOCK, new.size), dtype=np.float64)
                new[low : low + ks.size] = factors(ks)
            # The product continues in torch's order: ((base * f1) * f2) * ...
            new[0] *= self._buffer[count - 1]
            np.cumprod(new, out=new)
            self._count = last + 1
        return self._buffer[: self._count]


_PRODUCTS: dict[int, tuple[Any, _RunningProducts]] = {}
_PRODUCTS_KEPT = 8


def running_products(
    schedule: Any, base: float, last: int, factors: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The running products of ``schedule`` (a multiplicative) for steps 0..last at least."""
    entry = _PRODUCTS.get(id(schedule))
    if entry is None or entry[0] is not schedule:
        if len(_PRODUCTS) >= _PRODUCTS_KEPT:
            _PRODUCTS.pop(next(iter(_PRODUCTS)), None)
        entry = (schedule, _RunningProducts(base))
        _PRODUCTS[id(schedule)] = entry
    return entry[1].up_to(last, factors)

"""The lookup table behind the compiled adapters (Keras, JAX): its layout and its index.

A compiled train step cannot run numpy, so ``KerasSchedule`` and ``JaxSchedule`` read the
learning rate of step t from a float32 table the core fills once, in float64, and rounds
once: entry t is ``np.float32(s(t))`` bit for bit (``StepTable.values``, the same numbers
``s(t)`` gives). Both adapters use this module, so they serve the same steps the same way.

Layout, from ``s.tail()``:

* a schedule that becomes constant at step c (cosine, linear, warmups into them, ...):
  entries ``[0, c]``, and every later step reads the last one, which is exact;
* one that becomes periodic with a whole period p from step c (triangular ``cyclic``,
  ``warm_restarts`` with ``period_mult=1``, periodic ``cosine``): entries ``[0, c + p)``,
  and later steps are reduced modulo p into the last period, also exact;
* anything else (``exponential``, ``inverse_time``, SGDR with growing periods, a tail that
  starts later than the table can reach, ...): the first ``MAX_TABLE_STEPS`` steps (or
  ``max_steps + 1`` if the caller gave a smaller bound), and past them the adapter
  computes the schedule itself (``past_table``), never a clamped, wrapped or NaN value.

Memory: at most ``MAX_TABLE_STEPS`` float32 entries, 40 MB, whatever the training length.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

import lrsched
from lrsched import validation as check

# 10**7 float32 entries are 40 MB: bounded memory, and exact lookup for any run shorter
# than ten million updates.
MAX_TABLE_STEPS = 10_000_000
# The table is filled this many steps at a time, so the float64 values never need more
# than 8 MB beside the float32 result.
_FILL_CHUNK = 2**20


class Layout(NamedTuple):
    """Where table entries come from.

    ``length`` entries; ``period`` None: step t reads entry ``min(t, length - 1)`` if
    ``settled``, else entry t for t < length and the schedule past it. With a period,
    the last ``period`` entries repeat forever (``settled`` is then True).
    """

    length: int
    period: int | None
    settled: bool

    @property
    def repeats_from(self) -> int:
        """The first step of the last, repeating period (of a layout with a period)."""
        if self.period is None:
            raise AssertionError("a layout without a period does not repeat")
        return self.length - self.period


def layout(func: str, schedule: Any, max_steps: int | None = None) -> Layout:
    """The table layout that serves every whole step of ``schedule`` (see the module)."""
    tail = schedule.tail()
    if tail is not None:
        start = math.ceil(tail.start)
        settles = None
        if tail.period is None:
            settles = Layout(start + 1, None, True)
        elif float(tail.period).is_integer():
            # Whole steps repeat with the schedule's period only if the period is whole.
            settles = Layout(start + int(tail.period), int(tail.period), True)
        if (
            settles is not None
            and settles.length <= MAX_TABLE_STEPS
            and (max_steps is None or settles.length <= max_steps + 1)
        ):
            return settles
    length = MAX_TABLE_STEPS
    if max_steps is not None:
        max_steps = check.integer(func, "max_steps", max_steps, minimum=0)
        length = min(length, max_steps + 1)
    return Layout(length, None, False)


def fill(schedule: Any, length: int) -> np.ndarray:
    """``np.float32(s(t))`` for t in ``[0, length)``, from the core's float64 values."""
    table = np.empty(length, dtype=np.float32)
    values = lrsched.StepTable(schedule)
    for low in range(0, length, _FILL_CHUNK):
        high = min(low + _FILL_CHUNK, length)
        table[low:high] = values.values(low, high)
    return table


def host_index(table: Layout, step: int) -> int | None:
    """The entry of whole step ``step`` >= 0 in Python integers (any size), or None if it
    lies past an unsettled table."""
    if table.period is not None:
        start = table.repeats_from
        return step if step < start else start + (step - start) % table.period
    if step < table.length:
        return step
    return table.length - 1 if table.settled else None


def host_value(schedule: Any, table: np.ndarray, shape: Layout, step: int) -> np.float32:
    """``np.float32(s(step))`` for a whole step: the table's entry, or the core past it."""
    index = host_index(shape, step)
    if index is not None:
        return table[index]
    return np.float32(schedule(step))


def host_values(schedule: Any, table: np.ndarray, shape: Layout, steps: np.ndarray) -> np.ndarray:
    """``host_value`` over an integer array of steps >= 0 (any shape), as float32."""
    steps = np.asarray(steps, dtype=np.int64)
    out = np.empty(steps.shape, dtype=np.float32)
    flat, flat_out = steps.reshape(-1), out.reshape(-1)
    if shape.period is not None:
        start = shape.repeats_from
        index = np.where(flat < start, flat, start + (flat - start) % shape.period)
        flat_out[:] = table[index]
        return out
    inside = flat < shape.length
    if shape.settled:
        flat_out[:] = table[np.minimum(flat, shape.length - 1)]
        return out
    flat_out[inside] = table[flat[inside]]
    if not inside.all():
        flat_out[~inside] = np.asarray(schedule(flat[~inside].astype(np.float64)), dtype=np.float32)
    return out


def uses_user_function(schedule: Any) -> Any:
    """The first family in ``schedule`` that calls a user's function (or has a formula of
    its own outside lrsched), or None: those cannot run inside traced code unchecked."""
    found = user_families(schedule)
    return found[0] if found else None


def _library_families() -> set[type]:
    """lrsched's own schedule classes: the public ones (a user's family is not among them)."""
    public = (getattr(lrsched, name) for name in lrsched.__all__)
    return {
        obj
        for obj in public
        if isinstance(obj, type)
        and issubclass(obj, lrsched.Schedule)
        and obj is not lrsched.Schedule
    }


def user_families(schedule: Any) -> list:
    """Every family in ``schedule`` that ``uses_user_function`` could name, first first."""
    builtin = _library_families()
    found = []
    pending = [schedule]
    while pending:
        current = pending.pop()
        if type(current) not in builtin or any(
            getattr(current, name, None) is not None for name in ("fn", "scale_fn")
        ):
            found.append(current)
            if type(current) not in builtin:
                continue  # its parts are its own business
        pending.extend(current.children())
    return found

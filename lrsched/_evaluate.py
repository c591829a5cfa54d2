"""Evaluating schedules: steps in, checked learning rates out, and all the speed in one place.

A family only writes its formula, ``_values(t, xp)``. This module decides how it is run:

- **Steps** are checked once (finite, >= 0) and turned into float64, whatever came in.
- **Whole scalar steps** (``s(1234)``, what an optimizer loop asks) are read from a table
  of the schedule's values at consecutive steps, computed a chunk at a time by the array
  path, so a scalar is bit for bit the array's value and costs a lookup instead of a
  dozen numpy calls on one element. Steps in order come from growing chunks; other steps
  from pages kept per schedule, within bounds (``_ScalarTable``; measured in
  ``benchmarks/bench_feel.py``).
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

import _thread
import math
import numbers
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from lrsched import _validation as check
from lrsched._ops import NUMPY
from lrsched._validation import first_negative_or_nonfinite

# Any schedule: lrsched.Schedule, which this module is below (the class calls evaluate).
Schedule = Any

# Steps per block of a large array: 2**13 float64 steps are 64 KiB, so a block and the
# handful of temporaries a formula makes stay in a core's L2 cache, while the Python work
# per block (a few microseconds) stays small beside it. The size is also below glibc's
# default mmap threshold (128 KiB): at 2**14 every temporary was mapped and unmapped, a
# 10**7-step cosine took ~98,000 page faults (np.cos: 625) and spent 45 % of its time in
# the kernel. Measured on 10**7 steps against a bare np.cos, with another process busy:
# cosine 1.26x at 2**13, 2.40x at 2**14, 1.61x at 2**12; warm_restarts 1.59x, 3.12x, 1.80x.
BLOCK = 2**13
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
    outer, _REQUEST.steps, _REQUEST.last = getattr(_REQUEST, "steps", None), flat_steps, None
    try:
        return _blocks(schedule, steps, flat_steps, values, flat_values)
    finally:
        _REQUEST.steps, _REQUEST.last = outer, None


def _blocks(schedule, steps, flat_steps, values, flat_values) -> np.ndarray:
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


class _ScalarTable(StepTable):
    """What ``s(k)`` reads: a ``StepTable`` for steps in order, plus pages for the rest.

    A step that neither lies in the current chunk nor continues it (a random step, a loop
    resumed mid-way, every tenth step) is read from a page of consecutive values around
    it, computed by the same array evaluation and kept, most recently used last. Each
    frame of ``2**_FRAME_SHIFT`` steps holds at most one page; pages made later are
    longer (see the figures below), so repeated random access over a schedule's range
    turns into lookups while one call still evaluates only a few steps.
    """

    __slots__ = ("_held", "_kept", "_last", "_misses", "_pages", "_schedule")

    # Held weakly: _TABLES keeps the table, and a table that kept its schedule alive would
    # also keep whatever the schedule caches (a multiplicative's running products, up to
    # 128 MiB) for as long as the table stays among the recent ones.
    @property
    def schedule(self) -> Schedule:
        return self._schedule()

    @schedule.setter
    def schedule(self, value: Schedule) -> None:
        self._schedule = weakref.ref(value)

    def __init__(self, schedule: Schedule):
        super().__init__(schedule)
        # frame -> (low, high, values at steps low..high - 1), least recently used first
        self._pages: OrderedDict[int, tuple[int, int, Any]] = OrderedDict()
        self._misses = 0
        self._held = 0  # values in pages, counted in _HELD
        self._last = -1  # the step after the last page made: a loop resumed there
        self._kept = True  # registered in _TABLES (else no page is kept)

    def __call__(self, step: int) -> float:
        start, stop, values = self._chunk
        if start <= step < stop:
            return values[step - start]
        entry = self._pages.get(step >> _FRAME_SHIFT)
        if entry is None or not entry[0] <= step < entry[1]:
            return self._miss(step)
        try:  # noqa: SIM105 (contextlib.suppress costs more than the lookup)
            self._pages.move_to_end(step >> _FRAME_SHIFT)
        except KeyError:  # evicted by another thread meanwhile; the page is still good
            pass
        return entry[2][step - entry[0]]

    def _miss(self, step: int) -> float:
        if step == self._chunk[1] or step == self._last:
            return self.chunk(step)[0]  # in order: the loop's own chunks, growing
        if (step >> _FRAME_SHIFT) in self._pages:  # a frame asked again: all of it
            size = 1 << _FRAME_SHIFT
        else:
            size = 1 << min(_FIRST_SHIFT + self._misses // _MISSES_PER_GROWTH, _FRAME_SHIFT)
        low = step - step % size  # so the page lies inside its frame
        try:
            values = self.values(low, low + size)
        except Exception:
            # As a failed chunk: only the step asked for decides (its value or its error).
            values = self.values(step, step + 1).tolist()
            self._next = 1
            self._chunk = (step, step + 1, values)
            return values[0]
        from array import array  # on use: `import lrsched` stays at numpy's imports

        page = array("d", values.tobytes())  # 8 bytes a value; indexing gives a float
        with _LOCK:
            self._misses += 1
            self._last = low + size
            if self._kept:
                pages = self._pages
                replaced = pages.pop(step >> _FRAME_SHIFT, None)
                change = size - (0 if replaced is None else len(replaced[2]))
                pages[step >> _FRAME_SHIFT] = (low, low + size, page)
                while self._held + change > _TABLE_VALUES:
                    change -= len(pages.popitem(last=False)[1][2])
                self._held += change
                _HELD[0] += change
                _touch(self)
        return page[step - low]

    def _forget(self) -> None:
        """Out of _TABLES (under _LOCK): its pages go, and no new ones are kept."""
        _HELD[0] -= self._held
        self._held, self._kept = 0, False
        self._pages = OrderedDict()


# Random-access pages (see _ScalarTable), measured with benchmarks/bench_feel.py --only
# scalar and a 10**6-step horizon. A formula's cost on a few steps is nearly all numpy
# call overhead: cosine takes 11 us for 16 steps, 22 us for 1024, 73 us for 4096 (wsd 34,
# 30, 37 us; warmup(cosine) 54, 59, 56 us), against 0.3-0.5 us to read a kept value. So:
# - the first pages are 16 steps, as the one chunk before, so one call in a REPL, or in
#   a test suite that builds thousands of schedules, costs what it did;
# - a second miss in a frame computes the whole frame (4096 steps), so steps asked again
#   near each other hit from then on; and every _MISSES_PER_GROWTH misses of a schedule
#   double its first pages (pages of up to 1024 steps cost about what 16 do), so after
#   256 misses every new page is a whole frame;
# - pages are array('d'), 8 bytes a value; a schedule keeps at most _TABLE_VALUES
#   (8 MiB: the whole of a 10**6-step schedule, so fresh random steps there end up as
#   lookups), and all tables together _ALL_VALUES (16 MiB), least recently used first.
# Measured then (a loaded 2-core machine): random steps asked again take 0.22-0.33 of a
# torch CosineAnnealingLR.step() (2.3-10.5 before), fresh ones 0.30-0.58, and a new
# schedule's first call what it did. The check_schedule-heavy tests (properties, testing,
# structure, plot, families) evaluate 6.3M steps through tables instead of 0.3M, in
# 11.5k formula calls instead of 18.2k: 1.9 s instead of 1.7 s of their 110 s.
_FIRST_SHIFT, _FRAME_SHIFT = 4, 12
_MISSES_PER_GROWTH = 32
_TABLE_VALUES = 2**20
_ALL_VALUES = 2**21

# The tables behind scalar calls, by schedule, least recently missed first. Schedules are
# immutable values, so a table never goes stale; an entry goes when its schedule does (a
# weak reference, checked on every read, so a reused id never finds another's table).
# Reads take no lock; changes of the bookkeeping take _LOCK (formulas run outside it, so a
# user function may evaluate schedules itself).
_TABLES: OrderedDict[int, tuple[weakref.ref, _ScalarTable]] = OrderedDict()
_TABLES_KEPT = 64
# Reentrant: a finalizer run by a garbage collection inside it may evaluate a schedule.
# (_thread's, as threading's is; `import threading` would cost `import lrsched` a module.)
_LOCK = _thread.RLock()
_HELD = [0]  # values in every kept table's pages


def _touch(table: _ScalarTable) -> None:
    """Mark ``table`` used and keep every table within bounds (under _LOCK)."""
    key = id(table.schedule)
    if key in _TABLES:
        _TABLES.move_to_end(key)
    while (_HELD[0] > _ALL_VALUES or len(_TABLES) > _TABLES_KEPT) and len(_TABLES) > 1:
        oldest_key = next(iter(_TABLES))
        if oldest_key == key:
            break
        _TABLES.pop(oldest_key)[1]._forget()


def table_of(schedule: Schedule) -> _ScalarTable:
    """The shared table of ``schedule``'s values at whole steps."""
    key = id(schedule)
    entry = _TABLES.get(key)
    if entry is not None and entry[0]() is schedule:
        return entry[1]
    table = _ScalarTable(schedule)
    with _LOCK:
        entry = _TABLES.get(key)
        if entry is not None:
            if entry[0]() is schedule:  # another thread made it meanwhile
                return entry[1]
            _TABLES.pop(key)[1]._forget()  # a dead schedule's id, reused
        _TABLES[key] = (
            weakref.ref(schedule, _dropped_on_death(_TABLES, key, _ScalarTable._forget)),
            table,
        )
        _touch(table)
    return table


def _dropped_on_death(
    entries: dict, key: int, forget: Callable[[Any], None] | None = None
) -> Callable[[weakref.ref], None]:
    """The callback of the weak reference in ``entries[key]``: the entry goes with its
    schedule (unless ``key`` already belongs to a new schedule's entry)."""

    def drop(reference: weakref.ref) -> None:
        with _LOCK:
            entry = entries.get(key)
            if entry is not None and entry[0] is reference:
                del entries[key]
                if forget is not None:
                    forget(entry[1])

    return drop


# The steps of the array being evaluated, block by block, in this thread: running products
# extended block after block would otherwise double their ring ~10 times for a 10**7-step
# trajectory, copying and first-touching 2.5x its final size (0.64 of 1.37 s for a new
# multiplicative, under load); with the whole request known the ring is sized once.
_REQUEST = _thread._local()


def _requested_last() -> int:
    """The largest whole step of the array being evaluated in blocks (-1 outside one)."""
    steps = getattr(_REQUEST, "steps", None)
    if steps is None:
        return -1
    if _REQUEST.last is None:
        largest = float(steps.max()) if steps.size else 0.0
        _REQUEST.last = int(largest) if math.isfinite(largest) and largest >= 0 else -1
    return _REQUEST.last


class _RunningProducts:
    """``base * f(1) * ... * f(k)``, one factor per step, each computed once in order.

    ``multiplicative`` needs the running product up to its largest step. Kept per schedule
    and extended on demand, so a training loop, a trajectory or a plot calls the user's
    function once per step in all (as torch's ``MultiplicativeLR``) instead of again from
    step 1 on every chunk. Memory stays bounded whatever the length: the latest ``WINDOW``
    products are kept in a ring (step k at ``k % WINDOW``), and the product at every
    ``SEGMENT``-th step as a checkpoint. A step older than the ring is recomputed from its
    segment's checkpoint, in the same order, so to the same bits (and the user's function
    is then called again for that segment's steps).
    """

    WINDOW = 2**24  # 128 MiB of float64 at most: trajectories of 10**7 steps stay kept
    SEGMENT = 2**16

    def __init__(self, base: float):
        self._ring = np.array([base])  # grows to WINDOW by doubling, then wraps
        self._count = 1  # products known: steps 0 .. count - 1
        self._checkpoints = [base]  # the product at step j * SEGMENT
        # The segment recomputed last: the evaluator asks a long array a block at a time,
        # so asking old steps in order would otherwise recompute each segment once a block.
        self._replayed: tuple[int, np.ndarray] = (-1, self._ring)
        self._lock = _thread.RLock()

    def at(self, ks: np.ndarray, factors: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The products at the whole steps ``ks`` (an integer array)."""
        if not ks.size:
            return np.empty(ks.shape)
        with self._lock:
            last = int(ks.max())
            if last < self.WINDOW and self._count <= self.WINDOW:  # no wrap, before or after
                self._extend(last, factors)
                return self._ring.take(ks)
            low = int(ks.min())
            if low >= self._count - self._ring.size and last < self._count:  # all kept
                return self._ring.take(ks & (self._ring.size - 1))
            if self._count <= low and last - low < self.WINDOW:  # all new, in one window
                self._extend(last, factors)
                return self._ring.take(ks & (self._ring.size - 1))
            return self._anywhere(ks.reshape(-1), last, factors).reshape(ks.shape)

    def _anywhere(self, ks, last, factors) -> np.ndarray:
        """Steps the ring does not hold together: kept ones are read before the ring moves
        on, new ones as their products are computed, older ones from their checkpoints."""
        out = np.empty(ks.shape)
        done = (ks >= self._count - self._ring.size) & (ks < self._count)
        out[done] = self._ring.take(ks[done] & (self._ring.size - 1))
        if last >= self._count:
            new = np.flatnonzero(ks >= self._count)
            order = new[np.argsort(ks[new], kind="stable")]
            ordered = ks[order]
            # A segment at a time, reading the steps asked before they leave the ring.
            while self._count <= last:
                begin = self._count
                self._extend(min(last, begin - begin % self.SEGMENT + self.SEGMENT - 1), factors)
                first, end = np.searchsorted(ordered, [begin, self._count])
                out[order[first:end]] = self._ring.take(ordered[first:end] & (self._ring.size - 1))
            done[new] = True
        older = np.flatnonzero(~done)
        for segment in np.unique(ks[older] // self.SEGMENT).tolist():
            start = segment * self.SEGMENT
            products = self._segment(start, min(start + self.SEGMENT, self._count), factors)
            at = older[(ks[older] >= start) & (ks[older] < start + self.SEGMENT)]
            out[at] = products.take(ks[at] - start)
        return out

    def _extend(self, last: int, factors) -> None:
        """Compute the products up to step ``last``, each from the one before it."""
        count = self._count
        if last < count:
            return
        if last >= self._ring.size and self._ring.size < self.WINDOW:
            wanted = max(last, _requested_last(), 2 * self._ring.size - 1)
            size = min(self.WINDOW, 1 << wanted.bit_length())
            grown = np.empty(size)
            grown[:count] = self._ring[:count]
            self._ring = grown
        mask = self._ring.size - 1
        low = count
        while low <= last:
            # A block never crosses the ring's end or a segment boundary (both multiples
            # of BLOCK), so it is one slice and its first step may be a checkpoint.
            high = min(last + 1, low - low % BLOCK + BLOCK)
            previous = self._ring[(low - 1) & mask]
            new = self._ring[low & mask : ((high - 1) & mask) + 1]
            new[:] = factors(np.arange(low, high, dtype=np.float64))
            # The product continues in torch's order: ((base * f1) * f2) * ...
            new[0] *= previous
            np.cumprod(new, out=new)
            if low % self.SEGMENT == 0:
                self._checkpoints.append(float(new[0]))
            self._count = low = high

    def _segment(self, start: int, stop: int, factors) -> np.ndarray:
        """The products at steps start..stop - 1 of a segment, from its checkpoint."""
        if self._replayed[0] == start:
            return self._replayed[1]
        products = np.empty(stop - start)
        products[0] = self._checkpoints[start // self.SEGMENT]
        if stop - start > 1:
            products[1:] = factors(np.arange(start + 1, stop, dtype=np.float64))
            np.cumprod(products, out=products)
        self._replayed = (start, products)
        return products


# A multiplicative's running products live exactly as long as the schedule: kept for a
# fixed number of recent schedules, they kept dead ones' buffers too (80 MB each for 10**7
# steps), and a new one's first trajectory then cost 1.9-2.3x np.cos instead of 1.7x, most
# of the difference in the kernel (fresh pages while the old buffers stayed mapped).
_PRODUCTS: dict[int, tuple[weakref.ref, _RunningProducts]] = {}


def running_products(
    schedule: Any, base: float, ks: np.ndarray, factors: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The running products of ``schedule`` (a multiplicative) at the whole steps ``ks``."""
    key = id(schedule)
    entry = _PRODUCTS.get(key)
    if entry is None or entry[0]() is not schedule:
        with _LOCK:
            entry = _PRODUCTS.get(key)
            if entry is None or entry[0]() is not schedule:
                entry = (
                    weakref.ref(schedule, _dropped_on_death(_PRODUCTS, key)),
                    _RunningProducts(base),
                )
                _PRODUCTS[key] = entry
    return entry[1].at(ks, factors)

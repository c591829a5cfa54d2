"""The Schedule contract shared by every family: steps in, learning rates out.

A schedule is a frozen, slotted dataclass. ``Schedule.__call__`` validates the steps and
handles scalar-versus-array once; each family only writes ``_values(t)``, the formula on a
float64 array of valid steps. Representation, equality, hashing, pickling and the config
form come from the dataclass fields, so a new family gets them by declaring its fields.
"""

from __future__ import annotations

import _thread  # the lock only: `threading` need not load with lrsched
import contextvars
import math
import numbers
import os
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

from lrsched import _registry

if TYPE_CHECKING:
    from dataclasses import Field

_FUNCTION = {"function": True}
_REQUIRED = object()

# Steps per block when a large array is evaluated (see Schedule.__call__): 2**16 float64
# steps are 512 KiB, so a block and a formula's few temporaries stay in a core's L2
# cache, while the Python work per block (a few microseconds) stays small beside it.
BLOCK = 2**16


def function_field(default: Any = _REQUIRED) -> Any:
    """A dataclass field holding a user function (stored in configs by registered name)."""
    import dataclasses  # see fields()

    return dataclasses.field(default=dataclasses.MISSING if default is _REQUIRED else default,
                             metadata=_FUNCTION)


def fields(schedule: Any) -> tuple:
    """The parameters of a schedule or family class: its dataclass fields (none for a
    user's subclass that is not a dataclass)."""
    # Imported on use: only the family modules, which `import lrsched` leaves until first
    # use, make dataclasses, so the package import does not pay for this module.
    import dataclasses

    return dataclasses.fields(schedule) if dataclasses.is_dataclass(schedule) else ()


class Tail(NamedTuple):
    """Where a schedule stops changing, as returned by ``Schedule.tail()``.

    For t >= start, s(t) = s(start) (period None) or s(t) = s(start + (t - start) % period).
    Adapters use it to bound lookup tables.
    """

    start: float
    period: float | None = None


def _bad_step(value: Any) -> ValueError:
    return ValueError(f"step must be a finite number >= 0, got {value!r}")


def as_steps(step: Any) -> tuple[np.ndarray, bool]:
    """Steps as an array of real numbers, and whether they came as a scalar.

    A scalar is checked (finite, >= 0) and returned as a private 1-element float64 array.
    An array keeps its own dtype and is not range-checked yet: the caller fuses the check
    and the float64 conversion into its blockwise pass.
    """
    kind = type(step)
    if kind is int or kind is float:
        # The scalar fast path: adapters call with one Python number per optimizer step.
        try:
            value = float(step)
        except OverflowError:
            raise _bad_step(step) from None
        if not 0.0 <= value < math.inf:
            raise _bad_step(step)
        return np.array([value]), True
    if isinstance(step, (bool, np.bool_)):
        raise TypeError(f"step must be a number or an array of numbers, got {step!r}")
    try:
        array = np.asarray(step)
    except (ValueError, TypeError) as error:
        raise TypeError(f"step must be a number or an array of numbers, got {step!r}") from error
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"step must be a number or an array of real numbers, got dtype {array.dtype} "
            f"({_shorten(step)})"
        )
    if array.ndim == 0:
        _raise_if_bad(array, first_negative_or_nonfinite(array))
        # A private 1-element array: formulas work in place, and a numpy 0-d result would
        # be an immutable scalar.
        return np.array(array, dtype=np.float64).reshape(1), True
    return array, False


def _raise_if_bad(steps: np.ndarray, where: tuple[int, ...] | None) -> None:
    if where is not None:
        raise ValueError(
            f"step must be a finite number >= 0, got {float(steps[where])!r} at index {where}"
        )


def first_negative_or_nonfinite(values: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first value that is negative, NaN or infinite, or None.

    NaN fails both comparisons, so two reductions clear a valid array; only a bad one is
    searched element by element. Integers are finite, so they need the first only.
    """
    kind = values.dtype.kind
    if not values.size or kind == "u":
        return None
    if kind == "i":
        if values.min() >= 0:
            return None
    elif values.min() >= 0.0 and values.max() < math.inf:
        return None
    as_float = values.astype(np.float64, copy=False)
    bad = ~((as_float >= 0.0) & (as_float < math.inf))
    return tuple(int(i) for i in np.argwhere(bad)[0])


# Threads for large arrays of a costly formula (Schedule._costly). numpy releases the
# GIL inside each ufunc, so blocks of one array evaluate in parallel. Below 2**17 steps
# waking a thread and handing the GIL back and forth eat the gain (measured on 2 cores
# at 10^5 steps: a cosine went from 0.75 to 0.62 ms, a polynomial from 0.22 to 0.45 ms).
PARALLEL_MIN_STEPS = 2**17
PARALLEL_MIN_BLOCK = 2**13
_threads: int | None = None
_pool: Any = None
_pool_size = 0
_pool_lock = _thread.allocate_lock()


def _default_threads() -> int:
    text = os.environ.get("LRSCHED_NUM_THREADS")
    if text is not None:
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(
                f"LRSCHED_NUM_THREADS must be a positive integer, got {text!r}")
        return count
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform (macOS, Windows)
        available = os.cpu_count() or 1
    return max(1, min(available, 8))


def get_num_threads() -> int:
    """How many threads evaluate one large array of steps (see ``set_num_threads``).

    >>> import lrsched
    >>> lrsched.get_num_threads() >= 1
    True
    """
    global _threads
    if _threads is None:
        _threads = _default_threads()
    return _threads


def set_num_threads(count: int | None) -> int:
    """Set how many threads evaluate one large array of steps; return the previous count.

    Arrays of at least 2**17 steps of a costly formula (a cosine, an exponential, a
    power) are split into blocks evaluated at once (numpy releases the GIL while it
    computes); every block gives the same bits as on a single thread. Cheap formulas
    (constant, step, linear) stay on the calling thread: there, threads contending for
    the GIL are slower than one. ``None`` restores the default: ``LRSCHED_NUM_THREADS``
    if set, else the CPUs this process may use, at most 8. Schedules holding a user function
    (``lambda_lr``, ``multiplicative``, ``cyclic`` with ``scale_fn``) and users' own
    ``Schedule`` subclasses always run on the calling thread.

    Args:
        count: a positive integer, or None.

    >>> import lrsched
    >>> previous = lrsched.set_num_threads(1)
    >>> lrsched.set_num_threads(previous)
    1
    """
    global _threads
    if count is not None and (isinstance(count, bool) or not isinstance(count, numbers.Integral)
                              or count < 1):
        raise ValueError(f"set_num_threads(): count must be a positive integer or None, "
                         f"got {count!r}")
    previous = get_num_threads()
    _threads = None if count is None else int(count)
    return previous


def _executor(workers: int) -> Any:
    global _pool, _pool_size
    with _pool_lock:  # users may evaluate schedules from several threads of their own
        if _pool is None or _pool_size < workers:
            from concurrent.futures import ThreadPoolExecutor

            # A smaller pool is dropped, not shut down: another thread may be submitting
            # to it; its idle threads exit once it is garbage.
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lrsched")
            _pool_size = workers
        return _pool


def _forget_pool_after_fork() -> None:
    # A forked child inherits the pool object but not its threads (nor a lock's owner).
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _evaluate_in_blocks(schedule: Schedule, steps: np.ndarray) -> np.ndarray:
    """``schedule`` over a large array, block by block, on one or more threads.

    Each block is checked, converted to float64 and evaluated while it is in cache, so
    the steps are read once and peak memory stays near the output array, however many
    passes the formula makes. The first bad step (in index order) is reported.
    """
    values = np.empty(steps.shape)
    flat_steps, flat_values = steps.reshape(-1), values.reshape(-1)
    size = flat_steps.size
    threads, per_block = get_num_threads(), BLOCK
    if (threads > 1 and size >= PARALLEL_MIN_STEPS and schedule._costly()
            and schedule._thread_safe()):
        # Smaller blocks than on one thread, a few per thread, so that the threads finish
        # together; each still holds enough work to keep the GIL hand-offs rare.
        per_block = min(BLOCK, max(PARALLEL_MIN_BLOCK, -(-size // (4 * threads))))
    else:
        threads = 1
    # Threads take the next block as they finish one, so a schedule that is cheap in one
    # part and costly in another (a constant, then a cosine) still keeps them all busy.
    # A range iterator hands out each block once: its next() holds the GIL throughout.
    blocks = iter(range(0, size, per_block))
    stop, failures = [], {}

    def run() -> None:
        """Evaluate blocks until none is left or one fails."""
        for low in blocks:
            if stop:
                return
            high = min(low + per_block, size)
            block = flat_steps[low:high]
            if first_negative_or_nonfinite(block) is not None:
                stop.append(low)
                return
            # The output slice doubles as the formula's float64 input: no allocation, and
            # a formula that works in place writes its result where it belongs.
            target = flat_values[low:high]
            np.copyto(target, block)
            try:
                result = schedule._values_in_place(target)
            except Exception as error:  # noqa: BLE001 - re-raised below, in index order
                stop.append(low)
                failures[low] = error
                return
            if result is not target:
                target[...] = result

    if threads > 1:
        workers = min(threads, -(-size // per_block)) - 1
        # Each worker runs in a copy of the caller's context, so np.errstate and other
        # context variables apply there as they would on one thread.
        others = [_executor(workers).submit(contextvars.copy_context().run, run)
                  for _ in range(workers)]
        run()
        for future in others:
            future.result()
    else:
        run()
    if stop:
        # Bad steps are reported before any formula's error, as when the whole array was
        # checked first; evaluation stopped at the first problem, so look at every step.
        # Blocks are handed out in order and finished once begun, so the lowest failed
        # block is the one a single thread would have failed at.
        _raise_if_bad(steps, first_negative_or_nonfinite(steps))
        raise failures[min(failures)]
    return values


def floor_divmod(t: np.ndarray, divisor: float, *, remainder: bool = True
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """``(np.floor_divide(t, divisor), np.fmod(t, divisor))`` for steps t >= 0, bit for bit.

    About three times faster than the two ufuncs (which each run a slow fmod). For a whole
    divisor and steps below 2**52 every product ``q * divisor`` is exact and the correctly
    rounded ``t / divisor`` can only overshoot the floor, by one; the remainder is then
    ``t - q * divisor`` exactly, which is what fmod returns. Otherwise the ufuncs are used.
    ``remainder=False`` returns ``(quotient, None)`` with one temporary array fewer.
    """
    if not (float(divisor).is_integer() and t.size and t.max() + divisor < 2.0**52):
        return np.floor_divide(t, divisor), np.fmod(t, divisor) if remainder else None
    quotient = np.divide(t, divisor)
    np.floor(quotient, out=quotient)
    rest = np.multiply(quotient, divisor)
    np.subtract(t, rest, out=rest)
    if not remainder:
        # rest is in (-divisor, divisor), so floor(rest / divisor) is -1 exactly where the
        # quotient overshot and 0 elsewhere.
        rest /= divisor
        np.floor(rest, out=rest)
        quotient += rest
        return quotient, None
    remainder = rest
    overshot = remainder < 0.0
    np.subtract(quotient, 1.0, out=quotient, where=overshot)
    np.add(remainder, divisor, out=remainder, where=overshot)
    return quotient, remainder


def pieces(t: np.ndarray, edges: Any, *, side: str) -> list[tuple[int, slice | np.ndarray]]:
    """Split steps into the pieces ``np.searchsorted(edges, t, side)`` numbers.

    Returns ``(piece, selector)`` for every non-empty piece: slices when t is 1-d and
    sorted (see ``sorted_pieces``), boolean masks otherwise.
    """
    found = sorted_pieces(t, edges, side=side)
    return found if found is not None else masked_pieces(t, edges, side=side)


def masked_pieces(t: np.ndarray, edges: Any, *, side: str) -> list[tuple[int, np.ndarray]]:
    """``pieces`` as boolean masks, for steps in any order and shape."""
    numbered = np.searchsorted(np.asarray(edges, dtype=np.float64), t, side=side)
    masks = [(piece, numbered == piece) for piece in range(len(edges) + 1)]
    return [(piece, mask) for piece, mask in masks if mask.any()]


def sorted_pieces(t: np.ndarray, edges: Any, *, side: str) -> list[tuple[int, slice]] | None:
    """``pieces`` as slices when t is 1-d and sorted (a trajectory, or a block of one), else
    None. Slices are views found with one binary search per edge, so a piecewise formula
    runs on scalars per piece, with no gather and no scatter."""
    if t.ndim != 1 or (t.size > 1 and (t[1:] < t[:-1]).any()):
        return None
    edges = np.asarray(edges, dtype=np.float64)
    cuts = np.searchsorted(t, edges, side="left" if side == "right" else "right")
    bounds = [0, *cuts.tolist(), t.size]
    return [(piece, slice(start, stop))
            for piece, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])) if stop > start]


def _shorten(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _encode(value: Any, field: Field) -> Any:
    if field.metadata.get("function") and value is not None:
        name = _registry.name_of_function(value)
        if name is None:
            raise ValueError(
                f"to_config(): {field.name}={_registry.describe_function(value)} is not "
                "registered; register it with lrsched.register_function so the config can "
                "name it"
            )
        return name
    if isinstance(value, ValueObject):
        return value.to_config()
    if isinstance(value, tuple):
        return [_encode(item, field) for item in value]
    return value


def _show(value: Any, field: Field) -> str:
    if field.metadata.get("function") and value is not None:
        return _registry.describe_function(value)
    if isinstance(value, tuple):
        inner = ", ".join(_show(item, field) for item in value)
        return f"[{inner}]"
    return repr(value)


class ValueObject:
    """Shared by schedules and the plateau state machine: repr, config, registration."""

    __slots__ = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_") and cls.__name__[0].islower():
            _registry.register_family(cls)

    def _set(self, **normalised: Any) -> None:
        """Store validated, normalised parameters on the frozen instance."""
        for name, value in normalised.items():
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        parts = []
        for field in fields(self):
            value = getattr(self, field.name)
            if _same(value, field.default):  # never true for dataclasses.MISSING (no default)
                continue
            parts.append(f"{field.name}={_show(value, field)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def children(self) -> tuple[Schedule, ...]:
        """The schedules this one is built from (those held in its parameters), in order.

        >>> import lrsched
        >>> lrsched.warmup(lrsched.cosine(0.1, 100), steps=10).children()
        (cosine(base_lr=0.1, total_steps=100),)
        """
        found = []
        # A user's subclass need not be a dataclass; it then has no parameters to look in.
        for field in fields(self):
            value = getattr(self, field.name)
            found.extend(item for item in (value if isinstance(value, tuple) else (value,))
                         if isinstance(item, Schedule))
        return tuple(found)

    def to_config(self) -> dict:
        """A JSON-safe dict that ``lrsched.from_config`` turns back into an equal object.

        >>> import lrsched
        >>> lrsched.cosine(base_lr=0.1, total_steps=100).to_config()
        {'type': 'cosine', 'base_lr': 0.1, 'total_steps': 100, 'min_lr': 0.0, 'periodic': False}
        """
        config = {"type": type(self).__name__}
        for field in fields(self):
            config[field.name] = _encode(getattr(self, field.name), field)
        return config


def _same(value: Any, default: Any) -> bool:
    return type(value) is type(default) and value == default or (
        isinstance(value, numbers.Real) and isinstance(default, numbers.Real)
        and not isinstance(value, bool) and value == default
    )


class Schedule(ValueObject):
    """Base class of every schedule: a pure, vectorized function of the optimizer step.

    ``s(step)`` takes a Python number, a numpy scalar, a list or an ndarray of any shape.
    A scalar gives a Python float; an array gives a float64 ndarray of the same shape.
    Steps must be finite and >= 0; fractional steps are allowed.

    >>> import lrsched
    >>> s = lrsched.step(base_lr=1.0, step_size=2, gamma=0.5)
    >>> s(3)
    0.5
    >>> s([0, 1, 2, 3, 4])
    array([1.  , 1.  , 0.5 , 0.5 , 0.25])
    """

    __slots__ = ()

    def __call__(self, step: Any) -> float | np.ndarray:
        steps, scalar = as_steps(step)
        if scalar:
            return float(self._values_in_place(steps)[0])
        if steps.size <= BLOCK or not self._elementwise():
            _raise_if_bad(steps, first_negative_or_nonfinite(steps))
            return self._values_in_place(steps.astype(np.float64))
        return _evaluate_in_blocks(self, steps)

    def _elementwise(self) -> bool:
        """Whether each value depends on its own step only, so arrays may go in blocks."""
        return all(child._elementwise() for child in self.children())

    def _costly(self) -> bool:
        """Whether the formula is costly enough per step (a cos, exp or power) to gain from
        threads. A cheap one is mostly Python between short numpy calls, and threads
        contending for the GIL make it slower (measured: benchmarks/limits.py)."""
        return any(child._costly() for child in self.children())

    def _thread_safe(self) -> bool:
        """Whether blocks may be evaluated on several threads at once: true for lrsched's
        own formulas, false for anything that runs users' code (it may keep state)."""
        return type(self).__module__.startswith("lrsched.") and all(
            child._thread_safe() for child in self.children())

    def _values(self, t: np.ndarray) -> np.ndarray:
        """The formula on a float64 array of valid steps; t is left unchanged.

        A family writes this, or ``_values_in_place`` when it can work in place.
        """
        if type(self)._values_in_place is Schedule._values_in_place:
            raise NotImplementedError(f"{type(self).__name__} defines no _values")
        return self._values_in_place(np.array(t, dtype=np.float64))

    def _values_in_place(self, t: np.ndarray) -> np.ndarray:
        """``_values(t)`` for a t the caller gives away: the formula may overwrite it and
        return it, which saves an allocation and a copy per block."""
        return self._values(t)

    def tail(self) -> Tail | None:
        """Where the schedule becomes constant or periodic, or None if it never provably does.

        >>> import lrsched
        >>> lrsched.cosine(base_lr=0.1, total_steps=100).tail()
        Tail(start=100.0, period=None)
        """
        return None

    # Composition. The combinator classes live in _compose; imported lazily to avoid a cycle.
    def __mul__(self, other: Any) -> Schedule:
        from lrsched._compose import product

        if isinstance(other, (Schedule, numbers.Real)) and not isinstance(other, bool):
            return product((self, other))
        return NotImplemented

    __rmul__ = __mul__

    def clip(self, min_lr: float = 0.0, max_lr: float = math.inf) -> Schedule:
        """Limit the learning rate to [min_lr, max_lr] (see ``lrsched.clip``)."""
        from lrsched._compose import clip

        return clip(self, min_lr=min_lr, max_lr=max_lr)

    def shift(self, steps: float) -> Schedule:
        """Start the schedule ``steps`` steps in (see ``lrsched.shift``)."""
        from lrsched._compose import shift

        return shift(self, steps)

    def per_epoch(self, steps_per_epoch: float, staircase: bool = False) -> Schedule:
        """Use an epoch-defined schedule per optimizer step (see ``lrsched.per_epoch``)."""
        from lrsched._compose import per_epoch

        return per_epoch(self, steps_per_epoch, staircase=staircase)


def frozen(cls: type) -> type:
    """Make a family class a frozen, slotted dataclass with the base class's repr."""
    import dataclasses  # see fields()

    return dataclasses.dataclass(frozen=True, slots=True, repr=False)(cls)


def user_function(func: str, name: str, value: Any, *, optional: bool = False) -> Callable | None:
    """A callable, or the registered name of one."""
    if value is None and optional:
        return None
    if isinstance(value, str):
        return _registry.function_named(func, name, value)
    if not callable(value) or isinstance(value, Schedule):
        from lrsched._validation import fail

        fail(func, name, "a callable or the name of a registered function", value, TypeError)
    return value

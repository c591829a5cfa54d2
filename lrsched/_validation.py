"""Parameter validation in one place and one message format.

Every error reads ``func(): name must be <rule>, got <value>``, so a user sees which
call, which argument, what was wrong and what is allowed. Numbers are normalised to
plain Python ``int``/``float`` (numpy scalars are accepted, bools are not) so schedules
compare, hash and serialise the same way whatever the caller passed.

The helpers code outside the core may call (the adapters, users' own families) are
re-exported, with these docstrings, by ``lrsched.validation``; the rest serve the core
only.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, NoReturn

import numpy as np


class ArgumentError(ValueError):
    """A bad argument to an lrsched call.

    The message names the call, the parameter, the rule and the value
    (``cosine(): total_steps must be a positive integer, got 0``). Code that handles lrsched errors catches this type (or ``ArgumentTypeError``), never
    matches message text.

    >>> import lrsched
    >>> try:
    ...     lrsched.cosine(0.1, 0)
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    cosine(): total_steps must be a positive integer, got 0
    """


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type; an ``ArgumentError`` that is also a ``TypeError``.

    >>> import lrsched
    >>> issubclass(lrsched.ArgumentTypeError, (lrsched.ArgumentError, TypeError))
    True
    """


class LearningRateError(ArgumentError):
    """A learning rate that is negative, NaN or infinite, refused where it was computed.

    Raised at a valid step of a schedule that overflows or whose user function misbehaves;
    ``step`` and ``value`` say where and what.
    """

    def __init__(self, message: str, step: float, value: float):
        super().__init__(message)
        self.step, self.value = step, value


def error_type(error: type) -> type[ArgumentError]:
    """lrsched's own twin of a built-in error type (ValueError or TypeError)."""
    return ArgumentTypeError if issubclass(error, TypeError) else ArgumentError


def fail(func: str, name: str, rule: str, value: Any, error: type = ValueError) -> NoReturn:
    """Raise ``ArgumentError``: ``func(): name must be rule, got value``.

    The library-wide format, with ``repr(value)``; ``error=TypeError`` (a value of the wrong kind) raises ``ArgumentTypeError`` instead.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> try:
    ...     check.fail("halving", "period", "a positive integer", 0)
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): period must be a positive integer, got 0
    """
    raise error_type(error)(f"{func}(): {name} must be {rule}, got {value!r}")


def refuse(message: str, error: type = ValueError) -> NoReturn:
    """Raise ``ArgumentError`` with a message that does not fit the one-rule format.

    The message still starts with ``func():``; ``error=TypeError`` raises
    ``ArgumentTypeError``.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> try:
    ...     check.refuse("halving(): period and steps cannot both be given")
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): period and steps cannot both be given
    """
    raise error_type(error)(message)


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def real(func: str, name: str, value: Any) -> float:
    """A finite real number as a Python float (a bool, NaN or infinity is refused).

    >>> import numpy as np
    >>> from lrsched import validation as check
    >>> check.real("halving", "base_lr", np.float32(0.5))
    0.5
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        fail(func, name, "a real number", value, TypeError)
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64 (10**400)
        fail(func, name, "a finite number", value)
    if not math.isfinite(number):
        fail(func, name, "a finite number", value)
    return number


def positive(func: str, name: str, value: Any) -> float:
    """A finite real number > 0, as a Python float.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> check.positive("halving", "base_lr", 0.1)
    0.1
    >>> try:
    ...     check.positive("halving", "base_lr", 0)
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): base_lr must be a positive number, got 0
    """
    number = real(func, name, value)
    if number <= 0:
        fail(func, name, "a positive number", value)
    return number


# The shortest length in steps (an epoch, a period, a step size) that every step up to 2**53
# can be divided by: below it (a subnormal length) t / length overflows to an infinite count.
SHORTEST_LENGTH = 2.0**53 / 1.7976931348623157e308


def step_length(func: str, name: str, value: Any, counted: str) -> float:
    """A positive length in steps that steps are divided by; ``counted`` says what the
    quotient is (``"a finite epoch"``, ``"a finite number of periods"``)."""
    length = positive(func, name, value)
    if length < SHORTEST_LENGTH:
        fail(
            func,
            name,
            f"a positive number >= {SHORTEST_LENGTH:.3g} (so that every step up to 2**53 "
            f"is {counted})",
            value,
        )
    return length


def non_negative(func: str, name: str, value: Any) -> float:
    """A finite real number >= 0, as a Python float.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> check.non_negative("halving", "min_lr", 0)
    0.0
    >>> try:
    ...     check.non_negative("halving", "min_lr", -1e-5)
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): min_lr must be a non-negative number, got -1e-05
    """
    number = real(func, name, value)
    if number < 0:
        fail(func, name, "a non-negative number", value)
    return number


def in_range(
    func: str,
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number in ``[low, high]``, as a Python float.

    ``low_open`` or ``high_open`` leaves that end out; the message shows the interval.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> try:
    ...     check.in_range("halving", "factor", 1.0, 0.0, 1.0, high_open=True)
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): factor must be in [0, 1), got 1.0
    """
    number = real(func, name, value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        fail(func, name, f"in {left}{low:g}, {high:g}{right}", value)
    return number


def integer(func: str, name: str, value: Any, *, minimum: int = 0) -> int:
    """An integer >= ``minimum``, as a Python int.

    Integral floats (1000.0) are accepted as the integer; bools and integers beyond
    float64 are not.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> check.integer("halving", "period", 1000.0, minimum=1)
    1000
    >>> try:
    ...     check.integer("halving", "period", 2.5, minimum=1)
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): period must be a positive integer, got 2.5
    """
    rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if _is_bool(value) or not isinstance(value, numbers.Real):
        fail(func, name, rule, value, TypeError)
    if isinstance(value, numbers.Integral):
        number = int(value)
        try:
            float(number)
        except OverflowError:  # beyond float64 (10**400): every formula would overflow
            fail(func, name, rule + " that float64 can hold", value)
    else:
        as_float = float(value)
        if not (math.isfinite(as_float) and as_float.is_integer()):
            fail(func, name, rule, value)
        number = int(as_float)
    if number < minimum:
        fail(func, name, rule, value)
    return number


def boolean(func: str, name: str, value: Any) -> bool:
    """``True`` or ``False`` (a numpy bool too) as a Python bool; 0 and 1 are refused.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> try:
    ...     check.boolean("halving", "staircase", 1)
    ... except lrsched.ArgumentTypeError as error:
    ...     print(error)
    halving(): staircase must be True or False, got 1
    """
    if not _is_bool(value):
        fail(func, name, "True or False", value, TypeError)
    return bool(value)


def choice(func: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of the strings in ``allowed`` (a non-string is an ``ArgumentTypeError``).

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> try:
    ...     check.choice("halving", "mode", "log", ("exp", "linear"))
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): mode must be one of 'exp', 'linear', got 'log'
    """
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(option) for option in allowed)
        fail(
            func,
            name,
            f"one of {options}",
            value,
            TypeError if not isinstance(value, str) else ValueError,
        )
    return value


def sequence_of(
    func: str, name: str, value: Any, convert, *, min_length: int = 1, increasing: str | None = None
) -> tuple:
    """A list, tuple or 1-d array as a tuple, each item checked by ``convert``.

    ``convert(func, "name[i]", item)`` is one of these helpers (or has their signature), so
    an error names the item; ``min_length`` is the fewest items allowed; ``increasing`` is
    None, ``"strictly"`` or ``"weakly"``.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> check.sequence_of("halving", "milestones", [10, 20.0], check.integer)
    (10, 20)
    >>> try:
    ...     check.sequence_of("halving", "milestones", [10, -1], check.integer)
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): milestones[1] must be an integer >= 0, got -1
    """
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        fail(func, name, "a list or tuple", value, TypeError)
    if isinstance(value, np.ndarray) and value.ndim != 1:
        fail(func, name, "a one-dimensional sequence", value, TypeError)
    items = tuple(convert(func, f"{name}[{index}]", item) for index, item in enumerate(value))
    if len(items) < min_length:
        fail(func, name, f"a sequence of at least {min_length} item(s)", list(items))
    if increasing is not None:
        for before, after in itertools.pairwise(items):
            if after < before or (increasing == "strictly" and after == before):
                fail(func, name, f"{increasing} increasing", list(items))
    return items


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


def instance(func: str, name: str, value: Any, cls: type, rule: str) -> Any:
    """A parameter that must be an instance of ``cls`` (the rule names what is allowed)."""
    if not isinstance(value, cls):
        fail(func, name, rule, value, TypeError)
    return value


def same_length(
    func: str, first: str, first_items, second: str, second_items, offset: int = 0
) -> None:
    """Check ``len(second_items) == len(first_items) + offset``, naming both lengths.

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> try:
    ...     check.same_length("halving", "boundaries", [10], "values", [0.1], offset=1)
    ... except lrsched.ArgumentError as error:
    ...     print(error)
    halving(): values must have 1 more item than boundaries, got len(values)=1, len(boundaries)=1
    """
    if len(second_items) != len(first_items) + offset:
        rule = f"as many items as {first}" if offset == 0 else f"{offset} more item than {first}"
        refuse(
            f"{func}(): {second} must have {rule}, "
            f"got len({second})={len(second_items)}, len({first})={len(first_items)}"
        )


def whole_if_integral(value: float) -> float | int:
    """A number with 1000.0 stored as 1000, so reprs and configs read like the call.

    Other values are returned as they are.

    >>> from lrsched import validation as check
    >>> check.whole_if_integral(1000.0), check.whole_if_integral(0.5)
    (1000, 0.5)
    """
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def not_a_schedule(func: str, name: str, value: Any, rule: str = "an lrsched schedule"):
    """Refuse ``value`` where a schedule belongs, with the call that fixes a near miss.

    Raises ``ArgumentTypeError``; the near misses are a bare function of the step, a torch
    scheduler, a Keras schedule and an adapter (whose ``.schedule`` is meant).

    >>> import lrsched
    >>> from lrsched import validation as check
    >>> try:
    ...     check.not_a_schedule("KerasSchedule", "schedule", abs)
    ... except lrsched.ArgumentTypeError as error:
    ...     print(str(error).split("; ")[1])
    a function of the step is wrapped as lrsched.lambda_lr(base_lr, fn) (LR = base_lr * fn(step), as torch's LambdaLR
    """
    module = type(value).__module__ or ""
    if module.startswith("lrsched.adapters") and hasattr(value, "schedule"):
        hint = f"pass its .schedule, the lrsched schedule this {type(value).__name__} wraps"
    elif module.startswith("torch.optim") and hasattr(value, "optimizer"):
        hint = (
            "a torch scheduler is converted with "
            "lrsched.adapters.torch.from_torch(scheduler), which returns its schedule"
        )
    elif module.startswith("keras") and callable(value):
        hint = (
            "a Keras schedule is converted with "
            "lrsched.adapters.keras.from_keras(keras_schedule), which returns its schedule"
        )
    elif callable(value) and not isinstance(value, type):
        hint = (
            "a function of the step is wrapped as lrsched.lambda_lr(base_lr, fn) "
            "(LR = base_lr * fn(step), as torch's LambdaLR; lrsched.lambda_lr(1.0, fn) when "
            "fn returns the LR itself)"
        )
    else:
        fail(func, name, rule, value, TypeError)
    raise ArgumentTypeError(f"{func}(): {name} must be {rule}, got {value!r}; {hint}")

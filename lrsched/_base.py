"""The Schedule contract shared by every family: steps in, learning rates out.

A schedule is a frozen, slotted dataclass. Each family only writes ``_values(t, xp)``, its
formula on a float64 array of valid steps, with the functions of the array namespace ``xp``
(``lrsched._ops``); ``lrsched._evaluate`` runs it (checks, scalars, blocks, tables).
Representation, equality, hashing, pickling and the config form come from the dataclass
fields, so a new family gets them by declaring its fields. A combinator also says how it
maps time into its children (``routes()``); its ``tail()``, the plot's and the testing
toolkit's view of its structure derive from that one description.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from lrsched import _registry
from lrsched import _validation as check
from lrsched._evaluate import evaluate
from lrsched._ops import NUMPY

if TYPE_CHECKING:
    from dataclasses import Field

_FUNCTION = {"function": True}
_REQUIRED = object()


def function_field(default: Any = _REQUIRED) -> Any:
    """A dataclass field holding a user function (stored in configs by registered name)."""
    import dataclasses  # see fields()

    return dataclasses.field(
        default=dataclasses.MISSING if default is _REQUIRED else default, metadata=_FUNCTION
    )


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


def _encode(value: Any, field: Field) -> Any:
    if field.metadata.get("function") and value is not None:
        name = _registry.name_of_function(value)
        if name is None:
            raise check.ArgumentError(
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
    """Shared by schedules and the plateau state machine: repr, config, keyword-only options."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any):
        # Only the essential parameters are positional (hypothesis' style): the options
        # are keyword-only, and a caller who passes one by position is told its name.
        if args:
            positional = _positional_names(cls)
            if len(args) > len(positional):
                names = [field.name for field in fields(cls)]
                if len(args) <= len(names):
                    name = names[len(args) - 1]
                    check.refuse(
                        f"{cls.__name__}(): {name} is keyword-only: pass "
                        f"{name}={args[len(args) - 1]!r}",
                        TypeError,
                    )
                check.refuse(
                    f"{cls.__name__}() takes {len(positional)} positional "
                    f"argument(s) ({', '.join(positional)}), got {len(args)}",
                    TypeError,
                )
        return object.__new__(cls)

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
        >>> lrsched.warmup(lrsched.cosine(0.1, 100), 10).children()
        (cosine(base_lr=0.1, total_steps=100),)
        """
        found: list[Schedule] = []
        # A user's subclass need not be a dataclass; it then has no parameters to look in.
        for field in fields(self):
            value = getattr(self, field.name)
            found.extend(
                item
                for item in (value if isinstance(value, tuple) else (value,))
                if isinstance(item, Schedule)
            )
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


_POSITIONAL: dict[type, tuple[str, ...]] = {}


def _positional_names(cls: type) -> tuple[str, ...]:
    names = _POSITIONAL.get(cls)
    if names is None:
        names = tuple(field.name for field in fields(cls) if not field.kw_only)
        _POSITIONAL[cls] = names
    return names


def _same(value: Any, default: Any) -> bool:
    return (type(value) is type(default) and value == default) or (
        isinstance(value, numbers.Real)
        and isinstance(default, numbers.Real)
        and not isinstance(value, bool)
        and value == default
    )


class Route(NamedTuple):
    """How a combinator runs one of its children.

    From step ``start`` on (until the next route's start; routes with the same start run
    together), the child is evaluated at ``max((t - offset) / per, 0)``, floored if
    ``staircase``.

    ``sequence`` has one route per piece, ``warmup`` one from its warmup's end, ``shift``
    one with ``offset = -steps``, ``per_epoch`` one with ``per = steps_per_epoch``, and
    ``product`` and ``clip`` one per factor from step 0.

    >>> import lrsched
    >>> lrsched.sequence([lrsched.constant(1.0), lrsched.cosine(1.0, 10)], [5]).routes()[1]
    Route(child=cosine(base_lr=1.0, total_steps=10), start=5, offset=5, per=1.0, staircase=False)
    """

    child: Schedule
    start: float = 0.0
    offset: float = 0.0
    per: float = 1.0
    staircase: bool = False

    def outer(self, inner: float) -> float:
        """The combinator's step at which the child is at its step ``inner``."""
        return max(self.offset + inner * self.per, self.start)


def _at_least(exact: Any) -> float:
    """The smallest float >= an exact step: a tail start rounded down would claim too early."""
    from fractions import Fraction  # on use: fractions (and decimal) would slow the import

    try:
        value = float(exact)
    except OverflowError:  # past every float64 step: no step reaches it
        return math.inf
    return math.nextafter(value, math.inf) if Fraction(value) < exact else value


class Schedule(ValueObject):
    """Base class of every schedule: a pure, vectorized function of the optimizer step.

    ``s(step)`` takes a Python number, a numpy scalar, a list or an ndarray of any shape.
    A scalar gives a Python float; an array gives a float64 ndarray of the same shape.
    Steps must be finite and >= 0; fractional steps are allowed.

    A family writes ``_values(self, t, xp=NUMPY)``: the formula on a float64 array of valid
    steps, with ``xp``'s functions, never changing t.

    >>> import lrsched
    >>> s = lrsched.step(base_lr=1.0, step_size=2, gamma=0.5)
    >>> s(3)
    0.5
    >>> s([0, 1, 2, 3, 4])
    array([1.  , 1.  , 0.5 , 0.5 , 0.25])
    """

    # Weak references let the evaluator keep a schedule's caches (a multiplicative's
    # running products) exactly as long as the schedule itself lives.
    __slots__ = ("__weakref__",)

    __call__ = evaluate

    def _values(self, t: np.ndarray, xp: Any = NUMPY) -> np.ndarray:
        """The formula on a float64 array of valid steps; t is left unchanged."""
        raise NotImplementedError(f"{type(self).__name__} defines no _values")

    def routes(self) -> tuple[Route, ...]:
        """How this schedule maps time into the schedules it is built from (empty for a
        family that is a formula of its own).

        >>> import lrsched
        >>> lrsched.warmup(lrsched.cosine(0.1, 100), 10).routes()[0][1:]
        (10, 10, 1.0, False)
        """
        return ()

    def tail(self) -> Tail | None:
        """Where the schedule becomes constant or periodic, or None if it never provably does.

        A combinator's comes from its children's, through its routes.

        >>> import lrsched
        >>> lrsched.cosine(base_lr=0.1, total_steps=100).tail()
        Tail(start=100.0, period=None)
        """
        routes = self.routes()
        if not routes:
            return None
        from fractions import Fraction

        last = max(route.start for route in routes)
        tails = []
        for route in routes:
            if route.start != last:
                continue
            inner = route.child.tail()
            if inner is None:
                return None
            start, period = inner
            if route.staircase:
                # Only whole child steps are ever evaluated: the first one at or past the
                # start, and a fractional period is not a period of whole-step samples.
                start = math.ceil(start)
                if period is not None and not float(period).is_integer():
                    return None
            exact = Fraction(route.offset) + Fraction(start) * Fraction(route.per)
            tails.append(
                Tail(
                    max(_at_least(exact), float(route.start)),
                    None if period is None else period * route.per,
                )
            )
        if any(tail.start == math.inf or tail.period == math.inf for tail in tails):
            return None  # it settles (or repeats) only past the largest float64 step
        if len(tails) == 1:
            return tails[0]
        if any(tail.period is not None for tail in tails):
            return None
        return Tail(max(tail.start for tail in tails))

    def _flat_pieces(self) -> bool:
        """Whether the LR only jumps between flat pieces (the plot draws such as steps).
        A combinator is when every child is."""
        routes = self.routes()
        return bool(routes) and all(route.child._flat_pieces() for route in routes)

    # Composition. The combinators are families built on this class: found by name.
    def __mul__(self, other: Any) -> Schedule:
        if isinstance(other, (Schedule, numbers.Real)) and not isinstance(other, bool):
            return _registry.family("product")((self, other))
        return NotImplemented

    __rmul__ = __mul__

    def clip(self, min_lr: float = 0.0, max_lr: float = math.inf) -> Schedule:
        """Limit the learning rate to [min_lr, max_lr] (see ``lrsched.clip``)."""
        return _registry.family("clip")(self, min_lr=min_lr, max_lr=max_lr)

    def shift(self, steps: float) -> Schedule:
        """Start the schedule ``steps`` steps in (see ``lrsched.shift``)."""
        return _registry.family("shift")(self, steps)

    def per_epoch(self, steps_per_epoch: float, staircase: bool = False) -> Schedule:
        """Use an epoch-defined schedule per optimizer step (see ``lrsched.per_epoch``)."""
        return _registry.family("per_epoch")(self, steps_per_epoch, staircase=staircase)


def frozen(cls: type) -> type:
    """Make a family class a frozen, slotted dataclass with the base class's repr, whose
    options (the parameters with a default) are keyword-only."""
    import dataclasses  # see fields()
    import inspect  # already imported by dataclasses

    for name in inspect.get_annotations(cls):
        if name in cls.__dict__:
            default = cls.__dict__[name]
            if isinstance(default, dataclasses.Field):
                if default.default is not dataclasses.MISSING:
                    default.kw_only = True
            else:
                setattr(cls, name, dataclasses.field(default=default, kw_only=True))
    return dataclasses.dataclass(frozen=True, slots=True, repr=False)(cls)


def user_function(func: str, name: str, value: Any, *, optional: bool = False) -> Callable | None:
    """A callable, or the registered name of one."""
    if value is None and optional:
        return None
    if isinstance(value, str):
        return _registry.function_named(func, name, value)
    if not callable(value) or isinstance(value, Schedule):
        check.fail(func, name, "a callable or the name of a registered function", value, TypeError)
    return value


def schedule_argument(func: str, name: str, value: Any) -> Schedule:
    """A parameter that must be a schedule."""
    return check.instance(func, name, value, Schedule, "an lrsched schedule")


def register_family(cls: type) -> type:
    """Register a user's own schedule family, so configs and the text form can name it.

    The class must subclass ``lrsched.Schedule`` (usually a frozen dataclass defining
    ``_values(self, t, xp)``); its name is its config ``type`` and must not be taken.

    >>> import dataclasses, lrsched
    >>> @lrsched.register_family
    ... @dataclasses.dataclass(frozen=True)
    ... class halving(lrsched.Schedule):
    ...     base_lr: float
    ...     def _values(self, t, xp=None):
    ...         return self.base_lr * 0.5 ** (t // 10)
    >>> lrsched.parse("halving(base_lr=0.1)")(20)
    0.025
    """
    if not isinstance(cls, type) or not issubclass(cls, ValueObject):
        check.fail("register_family", "cls", "a subclass of lrsched.Schedule", cls, TypeError)
    name = cls.__name__
    taken = _registry.families().get(name)
    if taken is not None and taken is not cls:
        check.fail(
            "register_family",
            "cls",
            f"a class whose name is not taken ({name!r} is {taken!r})",
            cls,
        )
    _registry.add_user_family(cls)
    return cls

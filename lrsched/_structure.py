"""Where a schedule's formula breaks: the steps at which it jumps, has a corner or turns.

Between two consecutive breakpoints every family's formula is continuous and monotone, so
a picture or a test that knows the breakpoints knows everything about the shape: the
extremes of any stretch lie at its ends or next to a breakpoint inside it. The plot reads
them to draw a schedule of any length from a few thousand exact values.

Each family says where its own formula breaks, next to the formula: ``_breakpoints(low,
high)`` gives its steps (phase ends, milestones) and, for endless ones, an ``Every``
(restarts, periods, staircases) or an ``Indexed`` (growing cycles), or None when a user
function decides. A combinator's breakpoints come from its children's through its
``routes()``. This module only traverses: the endless descriptions are expanded inside
the window asked for, so a window of 10**9 steps with 10**8 restarts costs no more than
one with ten; at most ``limit`` are returned, and the result says when there were more.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from lrsched import _validation as check

_EMPTY = np.zeros(0)
# Beyond the exact ends, how many whole indices a family's first guess of where its window
# starts or stops may be off by (a float division or logarithm, off by one at most).
_SLACK = 3


class Every(NamedTuple):
    """The breakpoints ``offset + k * step`` for every whole ``k >= first``."""

    step: float
    offset: float = 0.0
    first: int = 1


class Indexed(NamedTuple):
    """The breakpoints ``at(k)`` for whole ``k >= 1``, increasing in k (``at`` takes an
    array of k); ``near(t)`` is the k near step t, good to a few."""

    at: Callable[[np.ndarray], np.ndarray]
    near: Callable[[float], float]


class Breakpoints(NamedTuple):
    """The breakpoints of a schedule in a window of steps, as ``breakpoints()`` returns them.

    ``steps`` are sorted, distinct float64 steps. If ``capped``, the window holds more than
    the ``limit`` asked for and ``steps`` are ``limit`` of them: the first ones, or (with
    ``spread``) ones spread evenly over the window, the first and the last included.
    """

    steps: np.ndarray
    capped: bool


def breakpoints(
    schedule: Any, low: float, high: float, *, limit: int = 4096, spread: bool = True
) -> Breakpoints | None:
    """The steps in ``[low, high)`` where the schedule's formula jumps, has a corner or turns.

    A jump between whole steps k - 1 and k shows as a breakpoint b with k - 1 <= b <= k (a
    boundary that belongs to the piece before it, as ``piecewise_constant``'s, is b = k - 1).
    Between consecutive breakpoints the formula is continuous and monotone, except where a
    ``product`` multiplies a rising and a falling factor.

    Args:
        schedule: an lrsched schedule.
        low: the first step of the window.
        high: the end of the window (excluded), finite.
        limit: the most breakpoints to return, >= 1.
        spread: when there are more than ``limit``, return ones spread over the window
            (first and last included) rather than the first ``limit``.

    Returns:
        ``Breakpoints(steps, capped)``, or None when the structure is not known: a user
        function of the step (``lambda_lr``, ``multiplicative``, ``cyclic`` with an
        iteration ``scale_fn``) or a user's own family that defines no
        ``_breakpoints(low, high)``.

    Raises:
        ArgumentError: a window end that is not a finite number, a limit below 1.

    >>> import lrsched
    >>> s = lrsched.warmup(lrsched.multistep(0.1, [30, 80]), steps=10)
    >>> lrsched.breakpoints(s, 0, 1000).steps.tolist()
    [10.0, 40.0, 90.0]
    >>> many = lrsched.breakpoints(lrsched.warm_restarts(0.1, period=10), 0, 10**9, limit=3)
    >>> many.steps.tolist(), many.capped
    ([10.0, 500000000.0, 999999990.0], True)
    """
    if not (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1):
        check.fail("breakpoints", "limit", "a positive integer", limit)
    low, high = check.real("breakpoints", "low", low), check.real("breakpoints", "high", high)
    found = _points(schedule, low, high, limit, spread)
    if found is None:
        return None
    steps, capped = found
    return Breakpoints(steps, capped)


def _points(
    schedule: Any, low: float, high: float, limit: int, spread: bool
) -> tuple[np.ndarray, bool] | None:
    if high <= low:
        return _EMPTY, False
    own = getattr(schedule, "_breakpoints", None)
    if own is not None:  # a family (a user's too) describes its formula
        described = own(low, high)
        return None if described is None else _expand(described, low, high, limit, spread)
    routes = schedule.routes() if hasattr(schedule, "routes") else ()
    if routes:
        return _through_routes(routes, low, high, limit, spread)
    return None


def _expand(described: Any, low: float, high: float, limit: int, spread: bool):
    """A family's description (steps, ``Every``, ``Indexed``) as the steps in the window."""
    steps, parts = [], []
    for item in described:
        if isinstance(item, Every):
            parts.append(_multiples(item.step, low, high, limit, spread, item.offset, item.first))
        elif isinstance(item, Indexed):
            first = max(1.0, math.floor(item.near(max(low, 0.0))) - _SLACK)
            last = math.ceil(item.near(high)) + _SLACK
            parts.append(_indexed(item.at, first, last, low, high, limit, spread))
        else:
            steps.append(float(item))
    if steps:
        parts.append(_within(np.array(steps, dtype=np.float64), low, high, limit, spread))
    return _merge(parts, low, high, limit, spread)


def _within(
    steps: np.ndarray,
    low: float,
    high: float,
    limit: int,
    spread: bool,
    capped: bool = False,
    ordered: bool = False,
) -> tuple[np.ndarray, bool]:
    """The distinct steps in [low, high), at most ``limit`` of them (``ordered``: the steps
    are already sorted and distinct)."""
    if not steps.size:
        return steps, capped
    if not (ordered and steps[0] >= low and steps[-1] < high):
        steps = steps[(steps >= low) & (steps < high)]
    if not ordered and steps.size > 1:
        # np.unique costs ~10 us on a few elements; the plot asks thousands of windows.
        steps = np.sort(steps)
        steps = steps[np.concatenate(([True], steps[1:] != steps[:-1]))]
    if steps.size <= limit:
        return steps, capped
    if spread:
        return steps[_evenly(0, steps.size - 1, limit).astype(np.intp)], True
    return steps[:limit], True


def _evenly(first: float, last: float, count: int) -> np.ndarray:
    """``count`` whole numbers spread evenly from first to last, both included (last -
    first >= count - 1, so they are distinct)."""
    if count == 1:
        return np.array([float(first)])
    return np.floor(first + np.arange(count) * ((last - first) / (count - 1)) + 0.5)


def _indexed(
    at: Callable[[np.ndarray], np.ndarray],
    first: float,
    last: float,
    low: float,
    high: float,
    limit: int,
    spread: bool,
) -> tuple[np.ndarray, bool]:
    """``at(k)`` for whole k in [first, last] (increasing in k) that lie in [low, high).

    ``first`` and ``last`` are guesses of the window's ends, good to ``_SLACK``; only the
    indices near them are evaluated to find the exact ones, so a window holding 10**12
    points costs as much as one holding ten.
    """
    if last < first:
        return _EMPTY, False
    if last - first <= limit + 4 * _SLACK:
        return _within(at(np.arange(first, last + 1.0)), low, high, limit, spread, ordered=True)
    head = np.arange(first, first + 2 * _SLACK)
    tail = np.arange(last - 2 * _SLACK + 1, last + 1.0)
    inside_head, inside_tail = head[at(head) >= low], tail[at(tail) < high]
    if inside_head.size and inside_tail.size:
        k_first, k_last = float(inside_head[0]), float(inside_tail[-1])
    else:
        # Past 2**53 whole k are no longer exact floats and the guesses can miss: bisect.
        k_first = _bisect(lambda k: at(np.array([k]))[0] >= low, first, last)
        k_last = _bisect(lambda k: at(np.array([k]))[0] >= high, first, last) - 1.0
        if k_last < k_first:
            return _EMPTY, False
    count = k_last - k_first + 1
    if count <= limit:
        ks = np.arange(k_first, k_last + 1.0)
    elif spread:
        ks = _evenly(k_first, k_last, limit)
    else:
        ks = np.arange(k_first, k_first + limit)
    return _within(at(ks), low, high, limit, spread, capped=count > limit, ordered=True)


def _bisect(reached: Callable[[float], bool], low: float, high: float) -> float:
    """The smallest whole k in [low, high] with ``reached(k)`` (monotone), or high + 1."""
    if not reached(high):
        return high + 1.0
    while high - low > 1.0:
        middle = math.floor((low + high) / 2.0)
        if middle <= low or middle >= high:  # no whole number between them is a float
            break
        low, high = (low, middle) if reached(middle) else (middle, high)
    return low if reached(low) else high


def _multiples(
    step: float,
    low: float,
    high: float,
    limit: int,
    spread: bool,
    offset: float = 0.0,
    from_k: int = 1,
) -> tuple[np.ndarray, bool]:
    """offset + k * step for whole k >= from_k in [low, high)."""
    first = max(float(from_k), math.floor((low - offset) / step) - _SLACK)
    last = math.ceil((high - offset) / step) + _SLACK
    return _indexed(lambda k: offset + k * step, first, last, low, high, limit, spread)


def _merge(
    parts: list[tuple[np.ndarray, bool]], low: float, high: float, limit: int, spread: bool
) -> tuple[np.ndarray, bool]:
    capped = any(part[1] for part in parts)
    found = [part[0] for part in parts if part[0].size]
    if not found:
        return _EMPTY, capped
    if len(found) == 1:  # each part is already sorted and distinct
        return _within(found[0], low, high, limit, spread, capped, ordered=True)
    return _within(np.concatenate(found), low, high, limit, spread, capped)


# ---------------------------------------------------------------------------------------
# Combinators: the children's breakpoints, carried out through each route.


def _through_routes(routes, low, high, limit, spread):
    starts = sorted({float(route.start) for route in routes})
    ends = dict(zip(starts, [*starts[1:], math.inf]))
    # Where one piece hands over to the next (a sequence boundary, a warmup's end).
    handovers = [start for start in starts if start > 0 and low <= start < high]
    parts = [(np.array(handovers), False)]
    for route in routes:
        found = _through_route(
            route, max(low, float(route.start)), min(high, ends[float(route.start)]), limit, spread
        )
        if found is None:
            return None
        parts.append(found)
    return _merge(parts, low, high, limit, spread)


def _through_route(route, low, high, limit, spread):
    """The breakpoints of one route's child in the combinator's time, in [low, high)."""
    if high <= low:
        return _EMPTY, False
    offset, per, child = float(route.offset), float(route.per), route.child
    parts = []
    if offset > route.start and low <= offset < high:
        # The child is held at its step 0 until max((t - offset) / per, 0) leaves 0.
        parts.append((np.array([offset]), False))
    inner_low, inner_high = max((low - offset) / per, 0.0), (high - offset) / per
    if inner_high <= 0.0:
        return _merge(parts, low, high, limit, spread)  # the child held at its step 0
    if route.staircase and not child._flat_pieces():
        # The child is read at whole steps only: the combinator jumps at each one.
        parts.append(_multiples(per, low, high, limit, spread, offset=offset))
        return _merge(parts, low, high, limit, spread)
    if route.staircase:
        # A flat child read at whole steps changes at the first whole step past (or at) each
        # of its own breakpoints: ceil(b), or b + 1 for a b that belongs to the piece before.
        inner = _points(child, math.floor(inner_low) - 1.0, inner_high + 1.0, limit, spread)
        if inner is None:
            return None
        steps = np.concatenate([np.ceil(inner[0]), np.floor(inner[0]) + 1.0])
        parts.append(_within(offset + steps * per, low, high, limit, spread, inner[1]))
    else:
        inner = _points(child, inner_low, inner_high, limit, spread)
        if inner is None:
            return None
        parts.append((offset + inner[0] * per, inner[1]))
    return _merge(parts, low, high, limit, spread)

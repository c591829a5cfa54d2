"""The array namespace every formula is written against.

A family's ``_values(t, xp)`` computes its formula with the functions of ``xp`` only, so one
copy of each formula serves every place that evaluates it. ``NUMPY`` below is the namespace
``Schedule.__call__`` passes; an adapter that evaluates schedules inside traced code (jax,
keras.ops) passes its own namespace with the same functions. The vocabulary is small on
purpose: elementwise math, piece lookups, and the few compound operations whose fast numpy
form would otherwise leak into the formulas. Those tricks live here, each next to the
measurement that justifies it, and give bit for bit what the plain numpy expression gives.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from lrsched._validation import refuse

# A running product needs every factor before its step: 10**8 of them is 800 MB of
# float64 computed once (kept in a bounded ring, lrsched._evaluate).
MULTIPLICATIVE_MAX_STEPS = 10**8

# numpy.searchsorted's side: "right" counts an edge equal to the step as below it.
Side = Literal["left", "right"]


class NumpyOps:
    """float64 numpy evaluation, with the speed tricks in one place."""

    name = "numpy"

    # Plain elementwise functions: numpy's own.
    asarray = staticmethod(np.asarray)
    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    clip = staticmethod(np.clip)
    floor = staticmethod(np.floor)
    fmod = staticmethod(np.fmod)
    cos = staticmethod(np.cos)
    sin = staticmethod(np.sin)
    abs = staticmethod(np.abs)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    sqrt = staticmethod(np.sqrt)
    tanh = staticmethod(np.tanh)
    power = staticmethod(np.power)
    pi = np.pi

    @staticmethod
    def full_like(t: np.ndarray, value: float) -> np.ndarray:
        return np.full(t.shape, value, dtype=np.float64)

    @staticmethod
    def searchsorted(edges: Sequence[float], t: np.ndarray, side: Side) -> np.ndarray:
        """How many ``edges`` lie below each step (``side="right"``: at or below)."""
        return np.searchsorted(np.asarray(edges, dtype=np.float64), t, side=side)

    @staticmethod
    def take(table: Sequence[float] | np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.asarray(table, dtype=np.float64).take(index)

    @staticmethod
    def interp(t: np.ndarray, xs: Sequence[float], ys: Sequence[float]) -> np.ndarray:
        return np.interp(t, xs, ys)

    @staticmethod
    def floor_divmod(t: np.ndarray, divisor: float) -> tuple[np.ndarray, np.ndarray]:
        """``(np.floor_divide(t, divisor), np.fmod(t, divisor))`` for steps t >= 0, bit for bit.

        About three times faster than the two ufuncs (which each run a slow fmod). For a
        whole divisor and steps below 2**52 every product ``q * divisor`` is exact and the
        correctly rounded ``t / divisor`` can only overshoot the floor, by one; the
        remainder is then ``t - q * divisor`` exactly, which is what fmod returns.
        """
        if not (float(divisor).is_integer() and t.size and t.max() + divisor < 2.0**52):
            return np.floor_divide(t, divisor), np.fmod(t, divisor)
        # In place (exact operations, so the same bits), and the correction only where a
        # quotient overshot: two temporaries and two passes less per block.
        quotient = np.divide(t, divisor)
        np.floor(quotient, out=quotient)
        remainder = np.multiply(quotient, divisor)
        np.subtract(t, remainder, out=remainder)
        overshot = remainder < 0.0
        if overshot.any():
            np.subtract(quotient, 1.0, out=quotient, where=overshot)
            np.add(remainder, divisor, out=remainder, where=overshot)
        return quotient, remainder

    @staticmethod
    def integer_powers(scale: float, base: float, exponent: np.ndarray) -> np.ndarray:
        """``scale * base ** exponent`` for whole exponents >= 0, bit for bit.

        pow is the slowest ufunc here (several times np.cos); a block of a decay or of
        restarts spans few distinct whole exponents, so each is computed once and looked
        up (a 10**7-step ``step`` trajectory: 3x faster).
        """
        if base == 1.0 or scale == 0.0:  # exactly scale: 1 ** n, or 0 times any power
            return np.full(exponent.shape, scale, dtype=np.float64)
        if exponent.size > 1:
            lowest, highest = exponent.min(), exponent.max()
            # Exponents from 2**53 on are not all distinct floats: arange would miss them.
            if highest - lowest < exponent.size and highest < 2.0**53:
                table = np.power(base, np.arange(lowest, highest + 1.0))
                table *= scale
                if lowest == highest:  # a block inside one decay: no lookup needed
                    return np.full(exponent.shape, table[0])
                return table.take((exponent - lowest).astype(np.intp))
        # Never with an aliased output: numpy's SIMD pow and the libm pow it uses for
        # aliased output differ in the last bit, and every path must give the same bits.
        return np.power(base, exponent) * scale

    @staticmethod
    def piecewise(
        t: np.ndarray, edges: Sequence[float], side: Side, piece: Callable[[int, np.ndarray], Any]
    ) -> np.ndarray:
        """``piece(i, t_i)`` on the steps t_i of each piece i that ``searchsorted(edges, t,
        side)`` numbers, assembled in place of t.

        Each piece is evaluated on its own steps only. A sorted 1-d t (a trajectory, a
        block of one) is split with one binary search per edge into slices, so there is no
        gather and no scatter; other steps go through boolean masks. ``piece`` may return
        a number or an array shaped like its steps.
        """
        values = np.empty(t.shape, dtype=np.float64)
        for index, where in _pieces(t, edges, side):
            values[where] = piece(index, t[where])
        return values

    @staticmethod
    def values_of(schedule: Any, t: np.ndarray) -> np.ndarray:
        """A child schedule's formula at t (users' own families may define ``_values(t)``
        without a namespace: numpy is the default)."""
        return schedule._values(t)

    @staticmethod
    def running_products(
        schedule: Any, base: float, ks: np.ndarray, factors: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """``base * factors(1) * ... * factors(k)`` at the whole steps ``ks``, kept with
        ``schedule`` by the evaluator (``multiplicative``), up to ``MULTIPLICATIVE_MAX_STEPS``."""
        from lrsched._evaluate import running_products

        last = int(ks.max()) if ks.size else 0
        if last > MULTIPLICATIVE_MAX_STEPS:
            refuse(
                f"multiplicative(): steps up to {MULTIPLICATIVE_MAX_STEPS} are supported "
                f"(each one multiplies the factors of every step before it), got step {last}"
            )
        return running_products(schedule, base, ks, factors)

    @staticmethod
    def user(fn: Callable, t: np.ndarray, *, func: str, name: str, at: str = "step") -> np.ndarray:
        """``fn`` at the steps ``t``, refused (naming ``func``'s ``name`` and the ``at``
        value) where it is negative or not finite."""
        from lrsched._user import apply_user_function, checked_factors

        return checked_factors(func, name, apply_user_function(fn, t), t, at=at)


def _pieces(t: np.ndarray, edges: Sequence[float], side: Side):
    edge_array = np.asarray(edges, dtype=np.float64)
    if t.ndim == 1 and not (t.size > 1 and (t[1:] < t[:-1]).any()):
        if not t.size:
            return []
        # Only the edges between the first and the last step cut this t: warm_restarts has
        # ~1000 (every restart below float64's end), and splitting on all of them made a
        # 16-step chunk 5x as slow (730 against 120 us side by side, on a loaded machine);
        # its 10**7-step trajectory takes about 20 % less.
        first, last = np.searchsorted(edge_array, t[[0, -1]], side=side).tolist()
        cuts = np.searchsorted(
            t, edge_array[first:last], side="left" if side == "right" else "right"
        )
        bounds = [0, *cuts.tolist(), t.size]
        return [
            (first + index, slice(start, stop))
            for index, (start, stop) in enumerate(itertools.pairwise(bounds))
            if stop > start
        ]
    numbered = np.searchsorted(edge_array, t, side=side)
    masks = [(index, numbered == index) for index in range(len(edge_array) + 1)]
    return [(index, mask) for index, mask in masks if mask.any()]


NUMPY = NumpyOps()

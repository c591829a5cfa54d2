"""Users' own functions inside schedules: calling them, and checking what they return."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from lrsched import _validation as check


def apply_user_function(fn: Callable, x: np.ndarray) -> np.ndarray:
    """fn applied element-wise to the float64 array x, as float64.

    Users' functions are tried on the whole array first (fast). A function that branches
    on its argument (``if step < 100``) or calls ``math`` fails on an array; it is then
    called once per element with a Python int for whole steps (what torch passes) and a
    float otherwise, so it still works, only slower.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = fn(x)
    except Exception:
        pass
    else:
        values = _real_values(fn, result)
        if values.shape == x.shape:
            return values
        if values.ndim == 0 or values.size == 1:
            return np.full(x.shape, values.reshape(()), dtype=np.float64)
        check.refuse(
            f"{_describe(fn)} returned {values.size} values for {x.size} steps; it must "
            "return one value per step (or one for all)"
        )
    flat = [
        _real_number(fn, fn(int(v) if v.is_integer() else float(v))) for v in x.ravel().tolist()
    ]
    return np.asarray(flat, dtype=np.float64).reshape(x.shape)


def _describe(fn: Callable) -> str:
    return f"the function {getattr(fn, '__qualname__', repr(fn))}"


def _real_values(fn: Callable, result: Any) -> np.ndarray:
    """What a vectorized call returned, as float64; strings, complex numbers and other
    objects are refused rather than converted."""
    values = np.asarray(result)
    if values.dtype.kind not in "iuf" or isinstance(result, (str, bytes)):
        check.refuse(f"{_describe(fn)} must return real numbers, got {_shorten(result)}", TypeError)
    return values.astype(np.float64, copy=False)


def _real_number(fn: Callable, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        as_array = np.asarray(value) if not isinstance(value, (str, bytes)) else None
        if as_array is None or as_array.size != 1 or as_array.dtype.kind not in "iuf":
            check.refuse(
                f"{_describe(fn)} must return a real number per step, got {_shorten(value)}",
                TypeError,
            )
        value = as_array.reshape(())
    return float(value)


def _shorten(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def checked_factors(
    func: str, name: str, factors: np.ndarray, t: np.ndarray, *, at: str = "step"
) -> np.ndarray:
    """Refuse a user function's negative or non-finite output, naming its argument."""
    where = check.first_negative_or_nonfinite(factors)
    if where is not None:
        check.refuse(
            f"{func}(): {name} must return finite factors >= 0, got "
            f"{float(factors[where])!r} at {at} {float(t[where])!r}"
        )
    return factors

"""Users' own functions inside schedules: calling them, and checking what they return."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from lrsched import _registry
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
            result = np.asarray(fn(x), dtype=np.float64)
        return np.broadcast_to(result, x.shape).copy() if result.shape != x.shape else result
    except Exception:  # noqa: BLE001 - any failure means "not vectorizable"; retry per element
        pass
    flat = [fn(int(v) if v.is_integer() else float(v)) for v in x.ravel().tolist()]
    return np.asarray(flat, dtype=np.float64).reshape(x.shape)


def checked_factors(func: str, name: str, factors: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Refuse a user function's negative or non-finite output, naming the step."""
    from lrsched._evaluate import first_negative_or_nonfinite

    where = first_negative_or_nonfinite(factors)
    if where is not None:
        check.refuse(f"{func}(): {name} must return finite factors >= 0, got "
                     f"{float(factors[where])!r} at step {float(t[where])!r}")
    return factors


def user_function(func: str, name: str, value: Any, *, optional: bool = False) -> Callable | None:
    """A callable, or the registered name of one."""
    from lrsched._base import Schedule

    if value is None and optional:
        return None
    if isinstance(value, str):
        return _registry.function_named(func, name, value)
    if not callable(value) or isinstance(value, Schedule):
        check.fail(func, name, "a callable or the name of a registered function", value,
                   TypeError)
    return value

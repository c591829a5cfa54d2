"""Names the configs and the text form refer to: schedule families and users' functions.

Configs never hold code. A user function (``lambda_lr``'s ``fn``, ``cyclic``'s ``scale_fn``)
is stored by the name it was registered under, and looked up again by that name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# The one list of lrsched's families: the module that defines each. `import lrsched` loads
# none of these modules; each public name is imported on first use (lrsched.__getattr__),
# and __all__, from_config/parse, and the testing strategies' coverage all read this table.
FAMILY_MODULES: dict[str, tuple[str, ...]] = {
    "lrsched._basic": (
        "constant",
        "exponential",
        "exponential_ramp",
        "inverse_sqrt",
        "inverse_time",
        "lambda_lr",
        "linear",
        "multiplicative",
        "multistep",
        "piecewise_constant",
        "piecewise_linear",
        "polynomial",
        "step",
    ),
    "lrsched._compose": ("clip", "per_epoch", "product", "sequence", "shift", "warmup"),
    "lrsched._cosine": ("cosine", "warm_restarts", "wsd"),
    "lrsched._tanh": ("tanh",),
    "lrsched._cyclic": ("cycle_momentum", "cyclic", "one_cycle"),
    "lrsched._plateau": ("plateau",),
}
# Public names other than families, also imported on first use.
OTHER_MODULES: dict[str, tuple[str, ...]] = {
    "lrsched._config": ("from_config", "parse"),
    "lrsched._from_timm": ("from_timm",),
    "lrsched._from_transformers": ("from_transformers",),
    "lrsched._plateau": ("PlateauState",),
    "lrsched._plot": ("plot",),
    "lrsched._range_test": ("RangeTestResult", "range_test"),
    "lrsched._structure": ("Breakpoints", "breakpoints"),
}


def lazy_names() -> dict[str, str]:
    """Every public name imported on first use, with its module."""
    return {
        name: module
        for table in (FAMILY_MODULES, OTHER_MODULES)
        for module, names in table.items()
        for name in names
    }


_USER_FAMILIES: dict[str, type] = {}
_FUNCTIONS: dict[str, Callable] = {}
_library: dict[str, type] | None = None


def library_families() -> dict[str, type]:
    """lrsched's own families by name, importing their modules."""
    global _library
    if _library is None:
        _library = {
            name: getattr(importlib.import_module(module), name)
            for module, names in FAMILY_MODULES.items()
            for name in names
        }
    return _library


def families() -> dict[str, type]:
    """Every family by name, the library's and those users registered.

    >>> from lrsched._registry import families
    >>> families()["cosine"]
    <class 'lrsched._cosine.cosine'>
    """
    return {**library_families(), **_USER_FAMILIES}


def add_user_family(cls: type) -> None:
    """Store a family that ``lrsched.register_family`` checked."""
    _USER_FAMILIES[cls.__name__] = cls


def family(name: str) -> type:
    """One of lrsched's families by name, importing only its module."""
    cls = _library.get(name) if _library is not None else None
    if cls is None:
        module = next(module for module, names in FAMILY_MODULES.items() if name in names)
        cls = getattr(importlib.import_module(module), name)
    return cls


def register_function(fn: Callable | None = None, *, name: str | None = None):
    """Register a user function so schedules that use it can be saved and parsed.

    Usable as ``@register_function``, ``@register_function(name="warm")`` or
    ``register_function(fn, name="warm")``. The name defaults to ``fn.__name__``.
    Registering a different function under a taken name is an error.

    >>> import lrsched
    >>> @lrsched.register_function
    ... def halve_every_10(step):
    ...     return 0.5 ** (step // 10)
    >>> lrsched.lambda_lr(0.1, halve_every_10).to_config()["fn"]
    'halve_every_10'
    """

    from lrsched import _validation as check

    def register(function: Callable) -> Callable:
        if not callable(function):
            check.fail("register_function", "fn", "callable", function, TypeError)
        key = name if name is not None else getattr(function, "__name__", None)
        if not isinstance(key, str) or not key.isidentifier() or key == "<lambda>":
            check.fail(
                "register_function", "name", "a Python identifier (pass name=... for lambdas)", key
            )
        existing = _FUNCTIONS.get(key)
        if existing is not None and existing is not function:
            check.refuse(f"register_function(): name {key!r} is already registered to {existing!r}")
        _FUNCTIONS[key] = function
        return function

    if fn is None:
        return register
    return register(fn)


def function_named(func: str, param: str, name: str) -> Callable:
    try:
        return _FUNCTIONS[name]
    except KeyError:
        known = ", ".join(sorted(_FUNCTIONS)) or "none registered yet"
        from lrsched import _validation as check

        check.refuse(
            f"{func}(): {param} must be a callable or the name of a registered "
            f"function (lrsched.register_function), got {name!r}; registered: {known}"
        )


def name_of_function(fn: Callable) -> str | None:
    for key, registered in _FUNCTIONS.items():
        if registered is fn:
            return key
    return None


def describe_function(fn: Any) -> str:
    """How a function shows in a repr: its registered name, else its own name."""
    name = name_of_function(fn)
    if name is not None:
        return name
    return f"<function {getattr(fn, '__qualname__', repr(fn))}>"

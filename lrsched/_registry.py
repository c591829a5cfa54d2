"""Names the configs and the text form refer to: schedule families and users' functions.

Configs never hold code. A user function (``lambda_lr``'s ``fn``, ``cyclic``'s ``scale_fn``)
is stored by the name it was registered under, and looked up again by that name.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

# Filled as family modules are imported (ValueObject.__init_subclass__); `import lrsched`
# imports none of them, so code that needs every family calls families().
FAMILIES: dict[str, type] = {}
_FUNCTIONS: dict[str, Callable] = {}
_FAMILY_MODULES = ("lrsched._basic", "lrsched._cosine", "lrsched._cyclic", "lrsched._compose",
                   "lrsched._plateau")
_all_imported = False


def register_family(cls: type) -> type:
    FAMILIES[cls.__name__] = cls
    return cls


def families() -> dict[str, type]:
    """Every family by name, the library's and users' own, importing the library's first.

    >>> from lrsched._registry import families
    >>> families()["cosine"]
    <class 'lrsched._cosine.cosine'>
    """
    global _all_imported
    if not _all_imported:
        for module in _FAMILY_MODULES:
            importlib.import_module(module)
        _all_imported = True
    return FAMILIES


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

    def register(function: Callable) -> Callable:
        if not callable(function):
            raise TypeError(f"register_function(): fn must be callable, got {function!r}")
        key = name if name is not None else getattr(function, "__name__", None)
        if not isinstance(key, str) or not key.isidentifier() or key == "<lambda>":
            raise ValueError(
                "register_function(): name must be a Python identifier "
                f"(pass name=... for lambdas), got {key!r}"
            )
        existing = _FUNCTIONS.get(key)
        if existing is not None and existing is not function:
            raise ValueError(
                f"register_function(): name {key!r} is already registered to {existing!r}"
            )
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
        raise ValueError(
            f"{func}(): {param} must be a callable or the name of a registered function "
            f"(lrsched.register_function), got {name!r}; registered: {known}"
        ) from None


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

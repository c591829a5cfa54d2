"""Rebuilding schedules from configs and from their text form, without running code."""

from __future__ import annotations

import ast
import warnings
from typing import Any

from lrsched import _validation as check
from lrsched._base import Schedule, ValueObject, fields
from lrsched._registry import families

MAX_DEPTH = 64
MAX_TEXT = 100_000
# Methods the text form may call on a schedule: the ones its repr uses.
_METHODS = ("clip", "shift", "per_epoch", "momentum")


def _family(name: Any, where: str) -> type:
    known = families()
    if not isinstance(name, str) or name not in known:
        raise check.ArgumentError(
            f"{where}: unknown schedule type {name!r}; valid types: {', '.join(sorted(known))}"
        )
    return known[name]


def from_config(config: dict) -> ValueObject:
    """Rebuild the schedule (or plateau) that ``to_config()`` described.

    >>> import lrsched
    >>> s = lrsched.warmup(lrsched.cosine(base_lr=0.1, total_steps=100), steps=10)
    >>> lrsched.from_config(s.to_config()) == s
    True
    """
    return _from_config(config, 0)


def _from_config(config: Any, depth: int) -> ValueObject:
    if depth > MAX_DEPTH:
        raise check.ArgumentError(f"from_config(): config nested deeper than {MAX_DEPTH} levels")
    if not isinstance(config, dict):
        raise check.ArgumentTypeError(
            f"from_config(): config must be a dict with a 'type' key, got {type(config).__name__}"
        )
    if "type" not in config:
        raise check.ArgumentError(
            f"from_config(): config must have a 'type' key, got keys {sorted(map(str, config))}"
        )
    cls = _family(config["type"], "from_config()")
    names = [field.name for field in fields(cls)]
    unknown = sorted(map(str, set(config) - set(names) - {"type"}))
    if unknown:
        raise check.ArgumentError(
            f"from_config(): unknown key(s) {unknown} for {cls.__name__}; valid keys: {names}"
        )
    import dataclasses  # on use, as in lrsched._base.fields

    missing = [
        field.name
        for field in fields(cls)
        if field.name not in config
        and field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise check.ArgumentTypeError(
            f"from_config(): {cls.__name__} config is missing key(s) {missing}; valid keys: {names}"
        )
    kwargs = {key: _decode(value, depth + 1) for key, value in config.items() if key != "type"}
    return _call(cls, [], kwargs, "from_config()")


def _decode(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise check.ArgumentError(f"from_config(): config nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return _from_config(value, depth)
    if isinstance(value, list):
        return tuple(_decode(item, depth + 1) for item in value)
    return value


def parse(text: str) -> ValueObject:
    """Build a schedule from its text form: the syntax of its repr, never evaluated.

    Calls of family names with numbers, strings, lists and schedules as arguments,
    ``*`` between schedules and numbers, and the methods ``.clip``, ``.shift``,
    ``.per_epoch`` and ``.momentum``. Bare names refer to functions registered with
    ``lrsched.register_function``. Nothing else is accepted: no attributes, no
    imports, no arbitrary calls.

    >>> import lrsched
    >>> lrsched.parse("warmup(cosine(base_lr=0.1, total_steps=1000), steps=100)")
    warmup(schedule=cosine(base_lr=0.1, total_steps=1000), steps=100)
    >>> lrsched.parse("step(0.1, 30) * 0.5")(30)
    0.005000000000000001
    """
    if not isinstance(text, str):
        raise check.ArgumentTypeError(f"parse(): text must be a str, got {type(text).__name__}")
    if not text.isascii():
        # Python reads identifiers in NFKC form, so a full-width ｃｏｓｉｎｅ would parse as
        # cosine: the text form is ASCII, like the reprs it comes from.
        where = next(index for index, char in enumerate(text) if not char.isascii())
        raise check.ArgumentError(
            f"parse(): text must be ASCII, got {text[where]!r} at column {where + 1}"
        )
    if len(text) > MAX_TEXT:
        raise check.ArgumentError(
            f"parse(): text must be at most {MAX_TEXT} characters, got {len(text)}"
        )
    try:
        with warnings.catch_warnings():
            # Python warns of text it will refuse one day (10if, '\d'): refused here now, as
            # a warning would be a stray line beside the result.
            warnings.simplefilter("error", SyntaxWarning)
            warnings.simplefilter("error", DeprecationWarning)
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise check.ArgumentError(
            f"parse(): invalid schedule text at column {error.offset}: "
            f"{error.msg} in {text.strip()[:80]!r}"
        ) from None
    except (RecursionError, MemoryError):
        raise check.ArgumentError(f"parse(): text nested deeper than {MAX_DEPTH} levels") from None
    built = _build(tree.body, 0, text)
    if not isinstance(built, ValueObject):
        # A number, list or name alone is valid syntax, but no schedule.
        raise check.ArgumentError(
            f"parse(): text must describe a schedule, such as cosine(0.1, 1000), got "
            f"{_shorten(text.strip())}"
        )
    return built


def _shorten(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else repr(text[: limit - 3]) + "..."


def _build(node: ast.AST, depth: int, text: str) -> Any:
    if depth > MAX_DEPTH:
        raise check.ArgumentError(f"parse(): text nested deeper than {MAX_DEPTH} levels")
    where = f"parse(): at column {getattr(node, 'col_offset', 0) + 1}"
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        raise check.ArgumentError(f"{where}: unsupported literal {node.value!r}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _build(node.operand, depth + 1, text)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
        raise check.ArgumentError(f"{where}: a sign applies to numbers only")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_build(item, depth + 1, text) for item in node.elts]
    if isinstance(node, ast.Name):
        if node.id in ("inf", "nan"):
            return float(node.id)
        return node.id  # a registered function's name; the family checks it
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        left = _build(node.left, depth + 1, text)
        right = _build(node.right, depth + 1, text)
        if not (isinstance(left, Schedule) or isinstance(right, Schedule)):
            raise check.ArgumentError(f"{where}: '*' needs a schedule on one side")
        try:
            return left * right
        except TypeError:
            raise check.ArgumentError(f"{where}: cannot multiply {left!r} by {right!r}") from None
    if isinstance(node, ast.Call):
        args = [_build(arg, depth + 1, text) for arg in node.args]
        kwargs = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise check.ArgumentError(f"{where}: '**' is not allowed")
            if keyword.arg in kwargs:  # Python refuses this too; the last must not win
                raise check.ArgumentError(f"{where}: keyword {keyword.arg!r} is repeated")
            kwargs[keyword.arg] = _build(keyword.value, depth + 1, text)
        if isinstance(node.func, ast.Name):
            return _call(_family(node.func.id, where), args, kwargs, where)
        if isinstance(node.func, ast.Attribute) and node.func.attr in _METHODS:
            target = _build(node.func.value, depth + 1, text)
            method = getattr(target, node.func.attr, None)
            if not isinstance(target, Schedule) or method is None:
                raise check.ArgumentError(
                    f"{where}: .{node.func.attr}() needs a schedule that has it"
                )
            return _call(method, args, kwargs, where)
        raise check.ArgumentError(
            f"{where}: only schedule families and the methods {', '.join(_METHODS)} can be called"
        )
    raise check.ArgumentError(
        f"{where}: unsupported syntax {type(node).__name__} in {text.strip()[:80]!r}"
    )


def _call(target: Any, args: list, kwargs: dict, where: str) -> Any:
    args = [tuple(arg) if isinstance(arg, list) else arg for arg in args]
    kwargs = {
        key: tuple(value) if isinstance(value, list) else value for key, value in kwargs.items()
    }
    try:
        return target(*args, **kwargs)
    except check.ArgumentError:
        raise  # already one of ours, naming the call and the parameter
    except TypeError as error:  # Python's own, e.g. an unknown keyword
        # Python names the constructor (cosine.__init__()); the user wrote cosine().
        check.refuse(f"{where}: {str(error).replace('.__init__()', '()')}", TypeError)

"""Optimizer param groups for fine-tuning: per-pattern LR multipliers, layer-wise decay and
the no-weight-decay split (``lrsched.adapters.torch.param_groups``)."""

from __future__ import annotations

import contextlib
import fnmatch
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lrsched import validation as check

_FUNC = "param_groups"
# The key each group's multiplier travels under: timm's, so timm's schedulers honour it too.
MULTIPLIER_KEY = "lr_scale"
_INDEX = re.compile(r"(?:^|\.)(\d+)(?:\.|$)")


def param_groups(
    model: Any,
    multipliers: Mapping[str, float] | None = None,
    *,
    layer_decay: float | None = None,
    weight_decay: float | None = None,
    no_weight_decay: Sequence[str] = (),
    layer_of: Callable[[str], int] | None = None,
) -> list[dict]:
    r"""Optimizer param groups for fine-tuning, each carrying its LR multiplier.

    Every trainable parameter (``requires_grad``) of ``model`` lands in exactly one group.
    Its multiplier is the product of

    * the factor of the one ``multipliers`` pattern it matches (Caffe's ``lr_mult``: the
      new head at 10x a pretrained backbone). A pattern matches a parameter name as a
      glob (``"*.bias"``) or as a module prefix (``"head"`` matches ``"head.weight"``);
    * with ``layer_decay`` = d, layer-wise decay (timm's ``layer_decay``, BERT's LLRD): a
      parameter in layer i of L + 1 gets :math:`d^{\,L + 1 - i}`, so the last layers (the
      head) learn at 1x and the embeddings at :math:`d^{L+1}`.

    Layers are numbered from the names: parameters before the first numbered block
    (``encoder.layer.0....``) are layer 0 (embeddings), those in block k are layer k + 1,
    those after the last block are layer L + 1 (pooler, head); ``layer_of(name)`` replaces
    that rule.

    With ``weight_decay``, each group gets ``"weight_decay"``: the value given, or 0 for
    1-d parameters (biases, norm scales) and names matching a ``no_weight_decay`` pattern.
    Each group also has ``"name"`` (for logs and ``lrsched.plot``), ``"lr_scale"`` (the
    multiplier: ``ScheduleLR`` and timm's schedulers apply it) and ``"param_names"``.

    Args:
        model: a ``torch.nn.Module``.
        multipliers: ``{pattern: factor}``, factors >= 0; every trainable parameter must
            match exactly one pattern. ``None``: every parameter at 1x.
        layer_decay: d in (0, 1], or ``None`` for no layer-wise decay.
        weight_decay: >= 0, or ``None`` to leave the optimizer's default alone.
        no_weight_decay: patterns of further parameters exempt from weight decay.
        layer_of: a function of a parameter name giving its layer, an integer >= 0.

    Returns:
        A list of param group dicts, in the order the model first names their parameters.

    Raises:
        ArgumentError: a parameter matching no pattern or several (all of them are named),
            a bad factor, ``layer_decay`` or ``weight_decay``.

    >>> import torch
    >>> from lrsched.adapters.torch import param_groups
    >>> model = torch.nn.Sequential()
    >>> model.add_module("backbone", torch.nn.Linear(4, 4))
    >>> model.add_module("head", torch.nn.Linear(4, 2))
    >>> groups = param_groups(model, {"backbone": 1.0, "head": 10.0}, weight_decay=0.01)
    >>> [(g["name"], g["lr_scale"], g["weight_decay"]) for g in groups]
    [('backbone', 1.0, 0.01), ('backbone.no_decay', 1.0, 0.0), ('head', 10.0, 0.01), ('head.no_decay', 10.0, 0.0)]
    """
    named = _trainable(model)
    factors = _factors(multipliers)
    decay = (
        None
        if layer_decay is None
        else check.in_range(_FUNC, "layer_decay", layer_decay, 0.0, 1.0, low_open=True)
    )
    wd = None if weight_decay is None else check.non_negative(_FUNC, "weight_decay", weight_decay)
    exempt = tuple(
        check.sequence_of(_FUNC, "no_weight_decay", no_weight_decay, _pattern, min_length=0)
    )
    if layer_of is not None and not callable(layer_of):
        check.fail(_FUNC, "layer_of", "a function of a parameter name", layer_of, TypeError)

    patterns = [_match(name, factors) for name, _ in named]
    _refuse_unmatched(named, patterns, factors)
    layers = _layers([name for name, _ in named], layer_of) if decay is not None else None
    top = max(layers) if layers else 0

    groups: dict[tuple, dict] = {}
    for index, ((name, parameter), pattern) in enumerate(zip(named, patterns)):
        scale = 1.0 if pattern is None else factors[pattern]
        label = [] if pattern is None else [pattern]
        if layers is not None:
            scale *= decay ** (top - layers[index])
            label.append(f"layer{layers[index]}")
        no_decay = wd is not None and (
            parameter.ndim <= 1 or any(_matches(name, p) for p in exempt)
        )
        if no_decay:
            label.append("no_decay")
        key = (pattern, None if layers is None else layers[index], no_decay)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "params": [],
                "param_names": [],
                "name": ".".join(label) or "all",
                MULTIPLIER_KEY: scale,
            }
            if wd is not None:
                group["weight_decay"] = 0.0 if no_decay else wd
        group["params"].append(parameter)
        group["param_names"].append(name)
    return list(groups.values())


def group_multipliers(
    param_groups: Sequence[dict], multipliers: Sequence[float] | None = None
) -> tuple | None:
    """The multipliers ``ScheduleLR`` applies: those given, else the groups' ``"lr_scale"``.

    ``None`` when neither says anything (every group at 1x). Passing both is allowed only if
    they agree: a multiplier is said once.

    Raises:
        ArgumentError: ``multipliers`` given that differ from the groups' own.

    >>> group_multipliers([{"lr_scale": 1.0}, {"lr_scale": 10.0}])
    (1.0, 10.0)
    >>> group_multipliers([{}, {}]) is None
    True
    """
    carried = [group.get(MULTIPLIER_KEY) for group in param_groups]
    if all(value is None for value in carried):
        return None if multipliers is None else tuple(multipliers)
    from_groups = tuple(
        1.0 if value is None else _carried_multiplier(index, value)
        for index, value in enumerate(carried)
    )
    if multipliers is not None and tuple(float(m) for m in multipliers) != from_groups:
        check.refuse(
            f"ScheduleLR(): multipliers={list(multipliers)!r} disagree with the "
            f"param groups' {MULTIPLIER_KEY!r} {list(from_groups)!r}; the groups "
            "already carry their multipliers, so leave multipliers out"
        )
    return from_groups


def _carried_multiplier(index: int, value: Any) -> float:
    """A group's own multiplier (timm's layer decay writes it too), checked like one given."""
    if not isinstance(value, (numbers.Real, str)) and callable(getattr(value, "item", None)):
        with contextlib.suppress(ValueError, RuntimeError):  # more than one element
            value = value.item()  # a one-element tensor or array
    return check.non_negative(
        "ScheduleLR", f"optimizer.param_groups[{index}][{MULTIPLIER_KEY!r}]", value
    )


def _trainable(model: Any) -> list:
    named = getattr(model, "named_parameters", None)
    if not callable(named):
        check.fail(_FUNC, "model", "a torch.nn.Module", model, TypeError)
    return [(name, p) for name, p in named() if p.requires_grad]


def _pattern(func: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        check.fail(func, name, "a non-empty name pattern", value, TypeError)
    return value


def _factors(multipliers: Any) -> dict:
    if multipliers is None:
        return {}
    if not isinstance(multipliers, Mapping) or not multipliers:
        check.fail(
            _FUNC, "multipliers", "a non-empty dict {pattern: factor}", multipliers, TypeError
        )
    return {
        _pattern(_FUNC, "multipliers", pattern): check.non_negative(
            _FUNC, f"multipliers[{pattern!r}]", factor
        )
        for pattern, factor in multipliers.items()
    }


def _matches(name: str, pattern: str) -> bool:
    return name == pattern or name.startswith(pattern + ".") or fnmatch.fnmatchcase(name, pattern)


def _match(name: str, factors: dict) -> Any:
    found = [pattern for pattern in factors if _matches(name, pattern)]
    if not factors:
        return None
    return found[0] if len(found) == 1 else tuple(found)


def _refuse_unmatched(named: list, patterns: list, factors: dict) -> None:
    if not factors:
        return
    none = [name for (name, _), p in zip(named, patterns) if p == ()]
    several = [
        f"{name} ({', '.join(p)})"
        for (name, _), p in zip(named, patterns)
        if isinstance(p, tuple) and p
    ]
    problems = []
    if none:
        problems.append(f"matching no pattern: {', '.join(none)}")
    if several:
        problems.append(f"matching several: {'; '.join(several)}")
    if problems:
        check.refuse(
            f"{_FUNC}(): every trainable parameter must match exactly one pattern of "
            f"multipliers ({', '.join(map(repr, factors))}); parameters "
            f"{' and '.join(problems)}"
        )


def _layers(names: list, layer_of: Any) -> list:
    if layer_of is not None:
        return [
            check.integer(_FUNC, f"layer_of({name!r})", layer_of(name), minimum=0) for name in names
        ]
    blocks = [_INDEX.search(name) for name in names]
    if not any(blocks):
        check.refuse(
            f"{_FUNC}(): layer_decay needs numbered blocks in the parameter names "
            f"(like 'encoder.layer.3.'), and {names[0] if names else 'the model'!r} "
            "has none; pass layer_of=<function of the name>"
        )
    numbered = [int(block.group(1)) for block in blocks if block]
    last = max(numbered)
    seen_block, layers = False, []
    for block in blocks:
        if block:
            seen_block = True
            layers.append(int(block.group(1)) + 1)
        else:
            # Before the first block: embeddings; after it: pooler and head.
            layers.append(last + 2 if seen_block else 0)
    return layers

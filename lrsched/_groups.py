"""The learning rate of each param group, as (label, schedule) pairs for plots and tables.

A torch ``ScheduleLR`` sets group g's LR to ``m_g * s_g(t)``; a schedule given with
multipliers describes the same picture without an optimizer. ``lrsched.plot`` draws each
pair as one labelled line ("look at the per-layer multipliers"). Nothing here imports torch:
a scheduler is recognised by what it holds (``optimizer.param_groups``, its schedules).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from lrsched import _validation as check
from lrsched._base import Schedule

_FUNC = "group_schedules"
_MULTIPLIER_KEY = "lr_scale"  # what lrsched.adapters.torch.param_groups stores


def group_schedules(obj: Any, multipliers: Any = None) -> list[tuple[str, Schedule]]:
    """The LR schedule of each param group, labelled by group name.

    Args:
        obj: a ``ScheduleLR`` (its groups' schedules and multipliers, per optimizer step,
            labelled by each group's ``"name"`` or ``"group i"``), or a schedule.
        multipliers: with a schedule: ``{label: factor}``, a list of factors, or the param
            groups of ``lrsched.adapters.torch.param_groups`` (their ``"name"`` and
            ``"lr_scale"``). Not with a ``ScheduleLR``, which has its own.

    Returns:
        A list of ``(label, schedule)``, one per group, the schedule already multiplied.

    Raises:
        ArgumentError: a ``ScheduleLR`` over plateaus (draw those with ``metrics=``), or
            bad multipliers.

    >>> import lrsched
    >>> from lrsched._groups import group_schedules
    >>> pairs = group_schedules(lrsched.cosine(0.1, 100), {"backbone": 1.0, "head": 10.0})
    >>> [(label, s(0)) for label, s in pairs]
    [('backbone', 0.1), ('head', 1.0)]
    """
    if _is_scheduler(obj):
        if multipliers is not None:
            check.fail(_FUNC, "multipliers", "None for a ScheduleLR (it has its own)", multipliers)
        return _of_scheduler(obj)
    schedule = check.instance(_FUNC, "obj", obj, Schedule, "an lrsched schedule or a ScheduleLR")
    if multipliers is None:
        return [(repr(schedule), schedule)]
    return [(label, _scaled(schedule, factor)) for label, factor in _labelled(multipliers)]


def expand(
    schedules: Sequence[Any], labels: Sequence[str] | None, multipliers: Any = None
) -> tuple[list, list | None]:
    """``plot``'s arguments with every ``ScheduleLR`` (or, with ``multipliers``, the one
    schedule) replaced by its groups' schedules, and the labels to match.

    A group's label is its name; other schedules keep theirs (their repr, unless
    ``labels`` names them).

    Raises:
        ArgumentError: ``multipliers`` with other than one schedule, or ``labels`` with a
            ``ScheduleLR`` (its groups are labelled by name).

    >>> import lrsched
    >>> from lrsched._groups import expand
    >>> schedules, labels = expand([lrsched.constant(0.1)], None, [1.0, 0.5])
    >>> labels, [s(0) for s in schedules]
    (['group 0', 'group 1'], [0.1, 0.05])
    """
    if multipliers is not None:
        if len(schedules) != 1:
            check.fail(
                "plot",
                "multipliers",
                "given with exactly one schedule",
                f"{len(schedules)} schedules",
            )
        pairs = group_schedules(schedules[0], multipliers)
        return [s for _, s in pairs], list(labels) if labels is not None else [
            label for label, _ in pairs
        ]
    if not any(_is_scheduler(item) for item in schedules):
        return list(schedules), None if labels is None else list(labels)
    if labels is not None:
        check.fail(
            "plot",
            "labels",
            "None when plotting a ScheduleLR (its groups are labelled by name)",
            labels,
        )
    out, out_labels = [], []
    for item in schedules:
        if _is_scheduler(item):
            for label, schedule in _of_scheduler(item):
                out.append(schedule)
                out_labels.append(label)
        else:
            out.append(item)
            out_labels.append(short_label(item))
    return out, out_labels


LABEL_LIMIT = 60


def short_label(schedule: Any, limit: int = LABEL_LIMIT) -> str:
    """A legend label from the repr: nested ``schedule=`` keywords dropped, then cut to ``limit``.

    >>> import lrsched
    >>> from lrsched._groups import short_label
    >>> short_label(lrsched.warmup(lrsched.cosine(base_lr=0.1, total_steps=1000), steps=100))
    'warmup(cosine(base_lr=0.1, total_steps=1000), steps=100)'
    >>> short_label(lrsched.cosine(base_lr=0.1, total_steps=1000), limit=20)
    'cosine(base_lr=0.1,…'
    """
    text = repr(schedule).replace("schedule=", "").replace("schedules=", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_scheduler(obj: Any) -> bool:
    return (
        not isinstance(obj, Schedule)
        and hasattr(obj, "schedules")
        and hasattr(getattr(obj, "optimizer", None), "param_groups")
    )


def _of_scheduler(scheduler: Any) -> list[tuple[str, Schedule]]:
    from lrsched._plateau import plateau

    schedules = list(scheduler.schedules)
    if any(isinstance(s, plateau) for s in schedules):
        check.refuse(
            f"{_FUNC}(): the ScheduleLR drives plateaus, whose LRs follow a metric; "
            "draw them with lrsched.plot(p, metrics=[...])"
        )
    steps_per_epoch = getattr(scheduler, "steps_per_epoch", None)
    factors = getattr(scheduler, "multipliers", None) or (1.0,) * len(schedules)
    pairs = []
    for index, (group, schedule, factor) in enumerate(
        zip(scheduler.optimizer.param_groups, schedules, factors)
    ):
        if steps_per_epoch is not None:
            schedule = schedule.per_epoch(steps_per_epoch)
        pairs.append((str(group.get("name", f"group {index}")), _scaled(schedule, factor)))
    return pairs


def _labelled(multipliers: Any) -> list[tuple[str, float]]:
    if isinstance(multipliers, Mapping):
        items = list(multipliers.items())
    elif (
        isinstance(multipliers, (list, tuple))
        and multipliers
        and all(isinstance(group, Mapping) for group in multipliers)
    ):
        items = [
            (group.get("name", f"group {i}"), group.get(_MULTIPLIER_KEY, 1.0))
            for i, group in enumerate(multipliers)
        ]
    elif isinstance(multipliers, (list, tuple)) and multipliers:
        items = [(f"group {i}", factor) for i, factor in enumerate(multipliers)]
    else:
        check.fail(
            _FUNC,
            "multipliers",
            "a dict {label: factor}, a non-empty list of factors or a list of param groups",
            multipliers,
            TypeError,
        )
    return [
        (str(label), check.non_negative(_FUNC, f"multipliers[{label!r}]", factor))
        for label, factor in items
    ]


def _scaled(schedule: Schedule, factor: Any) -> Schedule:
    if isinstance(factor, numbers.Real) and factor == 1.0:
        return schedule
    return schedule * float(factor)

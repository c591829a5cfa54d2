"""Reduce-on-plateau as a pure state machine: metrics in, learning rates out."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from lrsched import _validation as check
from lrsched._base import Schedule, ValueObject, frozen


class PlateauState(NamedTuple):
    """Everything ``plateau.update`` needs to continue, as plain numbers.

    ``lr`` is the learning rate to use next; ``updates`` counts the metrics seen so far
    (the plateau's own step); ``scale`` is the product of the reductions applied, which
    multiplies a schedule ``base``.
    """

    lr: float
    updates: int
    best: float
    bad_updates: int
    cooldown_left: int
    scale: float

    def to_dict(self) -> dict:
        return self._asdict()


@frozen
class plateau(ValueObject):
    r"""Reduce the learning rate by ``factor`` when a metric stops improving.

    A pure state machine: ``state = p.init()``, then ``state = p.update(state, metric)``
    after each evaluation; ``state.lr`` is the learning rate to use next. ``p.replay``
    runs a whole metric sequence. The rules are torch ``ReduceLROnPlateau``'s, exactly:
    a metric improves on ``best`` when it is below ``best * (1 - threshold)`` (``"rel"``)
    or ``best - threshold`` (``"abs"``), mirrored for ``mode="max"``; a NaN metric never
    improves, so it counts as a bad update. After more than ``patience`` bad updates the
    LR becomes ``max(lr * factor, min_lr)`` (skipped if that changes it by no more than
    ``eps``), followed by ``cooldown`` updates in which bad updates are not counted:

    .. math:: \eta \leftarrow \max(\eta\cdot\text{factor}, \text{min\_lr})
              \quad\text{when}\quad \text{bad} > \text{patience}

    ``base`` may be a number or a schedule; with a schedule, the LR after k updates is
    ``max(base(k) * scale, min_lr)``, where ``scale`` is the product of the reductions so
    far (warmup or cosine under reduce-on-plateau, which torch cannot chain).

    Args:
        base: the starting learning rate (>= 0) or a schedule of the update count.
        mode: ``"min"`` or ``"max"``: whether lower or higher metrics are better.
        factor: reduction factor, in (0, 1).
        patience: bad updates tolerated before reducing, an integer >= 0.
        threshold: how much better counts as better, >= 0.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: updates to wait after a reduction, an integer >= 0.
        min_lr: lower bound on reductions, >= 0 (a number ``base`` below it is kept, as
            in torch).
        eps: smallest change worth applying, >= 0.

    Torch ``ReduceLROnPlateau``; Keras ``ReduceLROnPlateau`` callback (which counts
    patience differently, see the migration guide).

    >>> import lrsched
    >>> p = lrsched.plateau(base=1.0, patience=1, factor=0.5)
    >>> p.replay([3.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    array([1.  , 1.  , 1.  , 0.5 , 0.5 , 0.25])
    """

    base: Any
    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8

    def __post_init__(self):
        func = "plateau"
        base = self.base
        if not isinstance(base, Schedule):
            base = check.non_negative(func, "base", base)
        self._set(
            base=base,
            mode=check.choice(func, "mode", self.mode, ("min", "max")),
            factor=check.in_range(
                func, "factor", self.factor, 0.0, 1.0, low_open=True, high_open=True
            ),
            patience=check.integer(func, "patience", self.patience, minimum=0),
            threshold=check.non_negative(func, "threshold", self.threshold),
            threshold_mode=check.choice(
                func, "threshold_mode", self.threshold_mode, ("rel", "abs")
            ),
            cooldown=check.integer(func, "cooldown", self.cooldown, minimum=0),
            min_lr=check.non_negative(func, "min_lr", self.min_lr),
            eps=check.non_negative(func, "eps", self.eps),
        )

    def _base_at(self, updates: int) -> float:
        if isinstance(self.base, Schedule):
            return self.base(updates)
        return self.base

    def init(self) -> PlateauState:
        """The state before any metric: LR ``base`` (or ``base(0)``), nothing seen."""
        worst = math.inf if self.mode == "min" else -math.inf
        lr = self._base_at(0)
        # A number below min_lr is kept, as torch does: min_lr only bounds reductions.
        if isinstance(self.base, Schedule):
            lr = max(lr, self.min_lr)
        return PlateauState(lr=lr, updates=0, best=worst, bad_updates=0, cooldown_left=0, scale=1.0)

    def _improves(self, metric: float, best: float) -> bool:
        if self.mode == "min":
            bar = (
                best * (1.0 - self.threshold)
                if self.threshold_mode == "rel"
                else best - self.threshold
            )
            return metric < bar
        bar = (
            best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold
        )
        return metric > bar

    def update(self, state: PlateauState, metric: Any) -> PlateauState:
        """The state after observing ``metric`` (any real number, NaN included)."""
        if not isinstance(state, PlateauState):
            raise check.ArgumentTypeError(
                f"plateau.update(): state must be a PlateauState from "
                f"plateau.init() or update(), got {state!r}"
            )
        value = _metric_value(metric)
        best, bad = state.best, state.bad_updates
        if self._improves(value, best):
            best, bad = value, 0
        else:
            bad += 1
        cooldown_left = state.cooldown_left
        if cooldown_left > 0:
            cooldown_left -= 1
            bad = 0
        updates = state.updates + 1
        lr, scale = state.lr, state.scale
        reduce = bad > self.patience
        if reduce:
            cooldown_left, bad = self.cooldown, 0
        if isinstance(self.base, Schedule):
            base = self.base(updates)
            current = max(base * scale, self.min_lr)
            if reduce:
                reduced = max(base * scale * self.factor, self.min_lr)
                if current - reduced > self.eps:
                    scale *= self.factor
                    current = reduced
            lr = current
        elif reduce:
            # Multiply the running LR, as torch does, so the floats agree bit for bit.
            reduced = max(lr * self.factor, self.min_lr)
            if lr - reduced > self.eps:
                lr = reduced
        return PlateauState(
            lr=float(lr),
            updates=updates,
            best=best,
            bad_updates=bad,
            cooldown_left=cooldown_left,
            scale=scale,
        )

    def replay(self, metrics: Iterable[Any], state: PlateauState | None = None) -> np.ndarray:
        """The LR after each metric, as a float64 array (from ``init()`` unless given)."""
        state = self.init() if state is None else state
        lrs = []
        for metric in metrics:
            state = self.update(state, metric)
            lrs.append(state.lr)
        return np.asarray(lrs, dtype=np.float64)

    def state_from_dict(
        self, data: dict, *, func: str = "plateau.state_from_dict", name: str = "data"
    ) -> PlateauState:
        """Rebuild a state saved with ``state.to_dict()``, checking it field by field.

        Args:
            data: the dict ``state.to_dict()`` gave.
            func: the call the errors name (as in ``lrsched.validation``): code that reads
                a state out of its own saved form passes its own, as
                ``ScheduleLR.load_state_dict`` does.
            name: what that call calls ``data``; a field shows as ``name['lr']``.

        Returns:
            The ``PlateauState``.

        Raises:
            ArgumentError: a missing or unknown key, or a field that no run of this plateau
                could have produced (a NaN or negative ``lr``, a fractional or negative
                counter, a non-finite ``scale``), named by its key.
            ArgumentTypeError: ``data`` is not a dict, or a field is not a number.

        >>> import lrsched
        >>> p = lrsched.plateau(base=0.1, patience=0)
        >>> saved = p.update(p.init(), 1.0).to_dict()
        >>> p.state_from_dict(saved).updates
        1
        >>> try:
        ...     p.state_from_dict({**saved, "lr": -1.0}, func="load", name="checkpoint['plateau']")
        ... except lrsched.ArgumentError as error:
        ...     print(error)
        load(): checkpoint['plateau']['lr'] must be a non-negative number, got -1.0
        """
        if not isinstance(func, str):
            check.fail("plateau.state_from_dict", "func", "a string", func, TypeError)
        if not isinstance(name, str):
            check.fail("plateau.state_from_dict", "name", "a string", name, TypeError)
        if not isinstance(data, dict):
            check.fail(func, name, "a dict from PlateauState.to_dict()", data, TypeError)
        missing = sorted(set(PlateauState._fields) - set(data))
        unknown = sorted(map(str, set(data) - set(PlateauState._fields)))
        if missing or unknown:
            check.refuse(
                f"{func}(): {name} must have exactly the keys "
                f"{sorted(PlateauState._fields)}; missing {missing}, unknown {unknown}"
            )
        best = data["best"]
        if _is_bool(best) or not isinstance(best, numbers.Real):
            check.fail(
                func, f"{name}['best']", "a real number (inf before any metric)", best, TypeError
            )
        return PlateauState(
            lr=check.non_negative(func, f"{name}['lr']", data["lr"]),
            updates=check.integer(func, f"{name}['updates']", data["updates"]),
            best=float(best),
            bad_updates=check.integer(func, f"{name}['bad_updates']", data["bad_updates"]),
            cooldown_left=check.integer(func, f"{name}['cooldown_left']", data["cooldown_left"]),
            scale=check.positive(func, f"{name}['scale']", data["scale"]),
        )


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _metric_value(metric: Any) -> float:
    """A metric as a Python float: numbers, numpy scalars, 0-d arrays and tensors."""
    if isinstance(metric, (bool, np.bool_)):
        raise check.ArgumentTypeError(
            f"plateau.update(): metric must be a real number, got {metric!r}"
        )
    if isinstance(metric, numbers.Real):
        return float(metric)
    item = getattr(metric, "item", None)
    size = getattr(metric, "size", None)
    if callable(size):
        size = size()  # torch.Size is a tuple; numel is what counts
        size = int(np.prod(size))
    if callable(item) and (size is None or size == 1):
        value = item()
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    raise check.ArgumentTypeError(
        f"plateau.update(): metric must be a real number or a one-element "
        f"array/tensor, got {metric!r}"
    )

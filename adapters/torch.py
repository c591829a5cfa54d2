"""PyTorch adapter: drive a ``torch.optim`` optimizer with lrsched schedules.

``ScheduleLR`` is a real ``torch.optim.lr_scheduler.LRScheduler``: it writes into the
optimizer's ``param_groups`` exactly the numbers the schedule gives, from its own step
counter, and nothing else. All the math is in the core; this module only moves numbers.
``from_torch`` turns an existing torch scheduler into the equivalent schedule, and
``range_test`` runs the LR range test on a real model (restoring it afterwards).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Sequence

import numpy as np

try:
    import torch
    from torch.optim import Optimizer
    from torch.optim import lr_scheduler as _torch_schedulers
except ImportError as error:  # pragma: no cover - exercised only without torch
    raise ImportError(
        'lrsched.adapters.torch needs PyTorch: pip install "lrsched[torch]"'
    ) from error

import lrsched
from lrsched import _validation as check
from lrsched._base import Schedule
from lrsched._cyclic import cyclic, one_cycle
from lrsched._plateau import plateau
from lrsched.adapters import _from_torch_extra
from lrsched.adapters._param_groups import param_groups
from lrsched.adapters._range_test_torch import range_test

__all__ = ["ScheduleLR", "from_torch", "param_groups", "range_test"]

_Tensor = torch.Tensor
_FUNC = "ScheduleLR"
# The first table covers few steps so that building a scheduler stays cheap even for a
# slow user function; each refill doubles, up to the largest chunk.
_FIRST_CHUNK = 256
_STATE_FORMAT = "lrsched.ScheduleLR/1"


class ScheduleLR(_torch_schedulers.LRScheduler):
    r"""A torch LR scheduler that sets exactly the learning rates an lrsched schedule gives.

    After ``k`` calls of ``step()`` (``k = last_epoch``, the number of optimizer updates
    already applied), group ``g`` of the optimizer has

    .. math:: \text{lr}_g = m_g \cdot s_g(k / K)

    where :math:`s_g` is the group's schedule, :math:`m_g` its multiplier (default 1)
    and :math:`K` is ``steps_per_epoch`` (1 unless the schedule is defined in epochs and
    stepped per batch). The values are those of ``s_g`` evaluated on a numpy array, bit
    for bit; they are computed in chunks of up to ``chunk_size`` steps at a time, so one
    ``step()`` costs a list lookup. The optimizer's own ``lr`` is overwritten.

    Use it like any torch scheduler: call ``scheduler.step()`` after
    ``optimizer.step()``. With a ``plateau`` schedule call ``scheduler.step(metric)``
    instead (once per evaluation).

    Args:
        optimizer: a ``torch.optim.Optimizer``.
        schedule: one schedule for every param group, a list with one schedule per group,
            or a ``plateau`` (or a list of plateaus).
        multipliers: one non-negative factor per param group; group g gets
            ``multipliers[g] * schedule(t)`` (Caffe's ``lr_mult``: e.g. ``[1.0, 10.0]``
            when a new head should learn 10x faster than the pretrained backbone).
        interval: ``"step"`` (the schedule counts optimizer updates; the default) or
            ``"epoch"`` (it counts epochs; call ``step()`` once per epoch, or per batch with
            ``steps_per_epoch``).
        steps_per_epoch: K; each ``step()`` advances an epoch-defined schedule by ``1/K``
            epoch (fractional epochs, the smooth per-batch form). Implies ``"epoch"``.
        cycle_momentum: momentum cycling for ``one_cycle`` and ``cyclic`` schedules, as
            torch's ``cycle_momentum``: ``None`` (default) cycles it with torch's default
            bounds whenever a group's schedule is ``one_cycle``/``cyclic`` (as torch's
            ``OneCycleLR``/``CyclicLR`` do by default); ``(base, max)`` uses those bounds;
            ``True`` insists on cycling; ``False`` never touches momentum.
        momentum: an explicit momentum schedule (or one per group, ``None`` for groups to
            leave alone), for any schedule family. Exclusive with ``cycle_momentum``.
        chunk_size: the most steps evaluated at once (a memory/latency trade-off).

    Momentum goes to ``group["momentum"]`` (SGD, RMSprop) or to ``betas[0]`` (Adam,
    AdamW), chosen as torch does from ``optimizer.defaults``. A tensor ``lr`` in a param
    group, as used with ``torch.compile``, is filled in place rather than replaced.

    Raises:
        TypeError: ``optimizer`` is not an optimizer, or a schedule is not a schedule.
        ValueError: a list whose length differs from the number of param groups, a bad
            ``interval``/``steps_per_epoch``/multiplier, or momentum cycling requested
            for an optimizer that has neither ``momentum`` nor ``betas``.

    Torch equivalents: ``LambdaLR`` with the closed form, ``OneCycleLR``, ``CyclicLR``,
    ``ReduceLROnPlateau``, ``SequentialLR`` ... (``from_torch`` converts them).

    >>> import torch, lrsched
    >>> from lrsched.adapters.torch import ScheduleLR
    >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = ScheduleLR(optimizer, lrsched.linear(1.0, 0.0, total_steps=4))
    >>> for _ in range(2):
    ...     optimizer.step()
    ...     scheduler.step()
    >>> scheduler.get_last_lr(), scheduler.last_epoch
    ([0.5], 2)
    """

    def __init__(self, optimizer: Optimizer, schedule: Any, *,
                 multipliers: Sequence[float] | None = None, interval: str | None = None,
                 steps_per_epoch: float | None = None, cycle_momentum: Any = None,
                 momentum: Any = None, chunk_size: int = 4096) -> None:
        if not isinstance(optimizer, Optimizer):
            check.fail(_FUNC, "optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        groups = len(optimizer.param_groups)
        self._chunk_limit = check.integer(_FUNC, "chunk_size", chunk_size, minimum=1)
        self.interval, self.steps_per_epoch = _interval(interval, steps_per_epoch)
        self.schedules = _per_group("schedule", schedule, groups, _schedule_or_plateau)
        is_plateau = [isinstance(s, plateau) for s in self.schedules]
        if any(is_plateau) and not all(is_plateau):
            raise ValueError(f"{_FUNC}(): schedule must be all plateaus or no plateau, got "
                             f"{list(self.schedules)!r}")
        self._plateau = all(is_plateau)
        if self._plateau and self.steps_per_epoch is not None:
            check.fail(_FUNC, "steps_per_epoch", "None for a plateau schedule (it advances "
                       "once per step(metric))", steps_per_epoch)
        self.multipliers = None if multipliers is None else tuple(
            check.sequence_of(_FUNC, "multipliers", multipliers, check.non_negative))
        if self.multipliers is not None:
            check.same_length(_FUNC, "optimizer.param_groups", optimizer.param_groups,
                              "multipliers", self.multipliers)
        self.momentum_schedules = _momentum_schedules(self.schedules, cycle_momentum,
                                                      momentum, groups)
        self._use_beta1 = False
        if any(m is not None for m in self.momentum_schedules):
            self._use_beta1 = _momentum_key(optimizer) == "betas"
        # What each group's table is computed from: the schedule per optimizer step.
        self._lr_sources = [self._per_step(s) for s in self.schedules]
        self._momentum_sources = [None if m is None else self._per_step(m)
                                  for m in self.momentum_schedules]
        self._has_momentum = any(m is not None for m in self._momentum_sources)
        self._groups = groups
        self._table_start = 0
        self._table_length = 0
        self._next_chunk = _FIRST_CHUNK
        self._lr_tables: list = []
        self._momentum_tables: list = []
        self._plateau_states = [p.init() for p in self.schedules] if self._plateau else None
        super().__init__(optimizer)

    # --- stepping ------------------------------------------------------------------------

    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """Advance one step (or, for a plateau, observe ``metric``) and set the LRs.

        Call it after ``optimizer.step()``. ``metric`` is required for a plateau
        schedule and refused for any other (``step(epoch)`` jumps are not supported:
        schedules are functions of the step, so resume with ``load_state_dict``).

        Raises:
            ValueError: a metric is missing for a plateau schedule, or given for another.
        """
        if self._plateau or metric is not None:
            self._observe(metric)
            return
        if self._step_count == 1:
            self._warn_if_stepped_before_optimizer()
        self._step_count += 1
        self.last_epoch += 1
        self._apply(self.last_epoch)

    def _observe(self, metric: Any) -> None:
        if not self._plateau:
            raise ValueError(
                f"{_FUNC}.step(): metric is only for plateau schedules; "
                f"{self.schedules[0]!r} is a function of the step, got metric={metric!r} "
                "(call step() without arguments)")
        if metric is None and not self._is_initial:  # torch's step from __init__ has none
            raise ValueError(
                f"{_FUNC}.step(): a plateau schedule needs the metric: call "
                f"scheduler.step(metric) after each evaluation, got no metric")
        if self._step_count == 1:
            self._warn_if_stepped_before_optimizer()
        self._step_count += 1
        if metric is not None:
            self._plateau_states = [p.update(state, metric) for p, state in
                                    zip(self.schedules, self._plateau_states)]
        self.last_epoch += 1
        self._apply_plateau()

    def _update_lr(self, epoch: Any = None) -> None:
        """Set the LRs for ``epoch`` (or the next step); what torch's ``SequentialLR`` calls."""
        if self._plateau:
            raise ValueError(f"{_FUNC}: a plateau schedule cannot be driven by step "
                             "counts (torch's SequentialLR refuses ReduceLROnPlateau too)")
        if epoch is None:
            self.last_epoch += 1
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
                check.fail(f"{_FUNC}._update_lr", "epoch", "an integer >= 0", epoch)
            self.last_epoch = int(epoch)
        self._apply(self.last_epoch)

    def _apply(self, position: int) -> None:
        # The hot path of every step(): a list lookup and a dict store per group.
        offset = position - self._table_start
        if not 0 <= offset < self._table_length:
            self._fill_tables(position)
            offset = 0
        param_groups = self.optimizer.param_groups
        if len(param_groups) != self._groups:
            self._group_count_changed()
        last_lr = []
        # _write inlined: the call costs ~0.16 us a step, a third of this method
        # (benchmarks/bench_torch_adapter.py).
        for group, table in zip(param_groups, self._lr_tables):
            value = table[offset]
            current = group["lr"]
            if isinstance(current, _Tensor):
                current.fill_(value)
                value = current.clone()
            else:
                group["lr"] = value
            last_lr.append(value)
        self._last_lr = last_lr
        if self._has_momentum:
            for group, table in zip(param_groups, self._momentum_tables):
                if table is not None:
                    self._write_momentum(group, table[offset])

    def _apply_plateau(self) -> None:
        param_groups = self.optimizer.param_groups
        if len(param_groups) != self._groups:
            self._group_count_changed()
        multipliers = self.multipliers or (None,) * self._groups
        last_lr = []
        for group, state, multiplier in zip(param_groups, self._plateau_states, multipliers):
            value = state.lr if multiplier is None else state.lr * multiplier
            last_lr.append(_write(group, "lr", value))
        self._last_lr = last_lr
        if self._has_momentum:
            position = float(self.last_epoch)
            for group, source in zip(param_groups, self._momentum_sources):
                if source is not None:
                    self._write_momentum(group, source(position))

    def _fill_tables(self, position: int) -> None:
        """Evaluate every group's schedule on the next chunk of steps, once per schedule."""
        length = self._next_chunk
        try:
            self._compute_tables(position, length)
        except Exception:
            if length == 1:
                raise
            # A later step of the chunk may be out of the schedule's range (a growing
            # exponential that overflows, a user function that fails): only the current
            # step decides; chunks grow back from one step.
            length = 1
            self._compute_tables(position, length)
        self._next_chunk = min(2 * length, self._chunk_limit)
        self._table_start = position
        self._table_length = length

    def _compute_tables(self, position: int, length: int) -> None:
        steps = np.arange(position, position + length, dtype=np.float64)
        computed: dict = {}

        def values_of(source):
            key = id(source)
            if key not in computed:
                computed[key] = source(steps)
            return computed[key]

        multipliers = self.multipliers or (None,) * self._groups
        self._lr_tables = [
            (values_of(source) if multiplier is None else values_of(source) * multiplier)
            .tolist()
            for source, multiplier in zip(self._lr_sources, multipliers)]
        self._momentum_tables = [None if source is None else values_of(source).tolist()
                                 for source in self._momentum_sources]

    def _write_momentum(self, group: dict, value: float) -> None:
        if self._use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            _write(group, "momentum", value)

    def _per_step(self, schedule: Schedule) -> Schedule:
        if self.steps_per_epoch is None or isinstance(schedule, plateau):
            return schedule
        return schedule.per_epoch(self.steps_per_epoch)

    def _group_count_changed(self) -> None:
        raise RuntimeError(
            f"{_FUNC}: the optimizer has {len(self.optimizer.param_groups)} param groups "
            f"but had {self._groups} when the scheduler was built (add_param_group after "
            "building a scheduler is not supported); build a new ScheduleLR")

    def _warn_if_stepped_before_optimizer(self) -> None:
        # The same check torch's LRScheduler.step makes on its first real step.
        if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
            warnings.warn(
                "Seems like `optimizer.step()` has been overridden after learning rate "
                "scheduler initialization. Please, make sure to call `optimizer.step()` "
                "before `lr_scheduler.step()`.", UserWarning, stacklevel=3)
        elif not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                "Call them in the opposite order: `optimizer.step()` before "
                "`lr_scheduler.step()`; otherwise the first value of the schedule is "
                "skipped.", UserWarning, stacklevel=3)

    def get_lr(self) -> list[float]:
        """The LRs for the current step, computed afresh (use ``get_last_lr()`` to read)."""
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, "
                          "please use `get_last_lr()`.", UserWarning, stacklevel=2)
        if self._plateau:
            return list(self._last_lr)
        multipliers = self.multipliers or (1.0,) * self._groups
        position = float(self.last_epoch)
        return [source(position) * multiplier
                for source, multiplier in zip(self._lr_sources, multipliers)]

    # --- checkpoints ---------------------------------------------------------------------

    def _config(self) -> dict:
        return {
            "schedules": [_describe(s) for s in self.schedules],
            "multipliers": None if self.multipliers is None else list(self.multipliers),
            "interval": self.interval,
            "steps_per_epoch": self.steps_per_epoch,
            "momentum": [None if m is None else _describe(m) for m in self.momentum_schedules],
        }

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's position and configuration, as plain Python numbers and dicts.

        Safe for ``torch.save`` and ``torch.load(..., weights_only=True)``. The schedule's
        config is included so that loading into a differently built scheduler fails
        instead of silently jumping to another trajectory.
        """
        return {
            "format": _STATE_FORMAT,
            "last_epoch": int(self.last_epoch),
            "step_count": int(self._step_count),
            "last_lr": [float(lr) for lr in self._last_lr],
            "config": self._config(),
            "plateau_states": None if self._plateau_states is None
            else [state.to_dict() for state in self._plateau_states],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from ``state_dict()``: the next ``step()`` continues the same trajectory.

        Also writes the restored step's LRs (and momentum) into the optimizer, so the
        order of loading optimizer and scheduler does not matter.

        Raises:
            ValueError: the state is not a ScheduleLR state, or was saved by a scheduler
                with a different schedule, multipliers, interval or momentum.
        """
        func = f"{_FUNC}.load_state_dict"
        if not isinstance(state_dict, dict) or state_dict.get("format") != _STATE_FORMAT:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else state_dict
            raise ValueError(f"{func}(): state_dict must come from ScheduleLR.state_dict() "
                             f"(format {_STATE_FORMAT!r}), got keys {keys!r}")
        saved, own = state_dict["config"], self._config()
        for key in own:
            if saved.get(key) != own[key]:
                raise ValueError(
                    f"{func}(): the checkpoint was saved with {key}={saved.get(key)!r}, but "
                    f"this scheduler has {key}={own[key]!r}; build the scheduler with the "
                    "checkpoint's settings (lrsched.from_config rebuilds a saved schedule)")
        self.last_epoch = check.integer(func, "last_epoch", state_dict["last_epoch"])
        self._step_count = check.integer(func, "step_count", state_dict["step_count"])
        if self._plateau:
            self._plateau_states = [p.state_from_dict(dict(d)) for p, d in
                                    zip(self.schedules, state_dict["plateau_states"])]
            self._apply_plateau()
        else:
            self._table_length = 0  # the tables belong to the old position
            self._next_chunk = _FIRST_CHUNK
            self._apply(self.last_epoch)


# --- helpers for ScheduleLR ----------------------------------------------------------------

def _write(group: dict, key: str, value: float) -> float | _Tensor:
    """Set group[key] to value; a tensor is filled in place (torch.compile keeps it)."""
    current = group[key]
    if isinstance(current, _Tensor):
        current.fill_(value)
        return current.clone()
    group[key] = value
    return value


def _interval(interval: Any, steps_per_epoch: Any) -> tuple[str, float | None]:
    if steps_per_epoch is not None:
        steps_per_epoch = check.whole_if_integral(
            check.positive(_FUNC, "steps_per_epoch", steps_per_epoch))
        if interval not in (None, "epoch"):
            check.fail(_FUNC, "interval", "'epoch' (or omitted) with steps_per_epoch, which "
                       "makes an epoch-defined schedule advance 1/steps_per_epoch per step()",
                       interval)
        return "epoch", steps_per_epoch
    if interval is None:
        return "step", None
    return check.choice(_FUNC, "interval", interval, ("step", "epoch")), None


def _schedule_or_plateau(func: str, name: str, value: Any) -> Any:
    if isinstance(value, (Schedule, plateau)):
        return value
    check.fail(func, name, "an lrsched schedule or plateau", value, TypeError)


def _per_group(name: str, value: Any, groups: int, convert) -> tuple:
    if isinstance(value, (list, tuple)):
        items = tuple(convert(_FUNC, f"{name}[{i}]", item) for i, item in enumerate(value))
        if len(items) != groups:
            raise ValueError(
                f"{_FUNC}(): {name} must have one item per param group "
                f"(len(optimizer.param_groups)={groups}, len({name})={len(items)})")
        return items
    return (convert(_FUNC, name, value),) * groups


def _optional_schedule(func: str, name: str, value: Any) -> Schedule | None:
    return None if value is None else check.schedule(func, name, value)


def _momentum_schedules(schedules: tuple, cycle_momentum: Any, momentum: Any,
                        groups: int) -> tuple:
    if momentum is not None:
        if cycle_momentum not in (None, False):
            check.fail(_FUNC, "cycle_momentum", "None when momentum= is given (one source "
                       "of momentum)", cycle_momentum)
        return _per_group("momentum", momentum, groups, _optional_schedule)
    if cycle_momentum is False:
        return (None,) * groups
    bounds = ()
    if isinstance(cycle_momentum, (tuple, list)):
        if len(cycle_momentum) != 2:
            check.fail(_FUNC, "cycle_momentum", "(base_momentum, max_momentum)",
                       cycle_momentum)
        bounds = tuple(check.in_range(_FUNC, f"cycle_momentum[{i}]", v, 0.0, 1.0)
                       for i, v in enumerate(cycle_momentum))
    elif cycle_momentum not in (None, True):
        check.fail(_FUNC, "cycle_momentum", "None, True, False or (base_momentum, "
                   "max_momentum)", cycle_momentum, TypeError)
    cycled = tuple(s.momentum(*bounds) if isinstance(s, (one_cycle, cyclic)) else None
                   for s in schedules)
    if cycle_momentum is not None and all(m is None for m in cycled):
        check.fail(_FUNC, "cycle_momentum", "used with a one_cycle or cyclic schedule (for "
                   "another schedule pass momentum=<schedule>)", cycle_momentum)
    return cycled


def _momentum_key(optimizer: Optimizer) -> str:
    # torch's OneCycleLR/CyclicLR decide from the defaults, betas first.
    if "betas" in optimizer.defaults:
        return "betas"
    if "momentum" in optimizer.defaults:
        return "momentum"
    raise ValueError(
        f"{_FUNC}(): momentum cycling needs an optimizer with 'momentum' (SGD, RMSprop) "
        f"or 'betas' (Adam, AdamW), got {type(optimizer).__name__}, which has neither; "
        "pass cycle_momentum=False to schedule only the learning rate")


def _describe(schedule: Any) -> dict:
    """A schedule's config for checkpoints; its repr if a user function is unregistered."""
    try:
        return schedule.to_config()
    except ValueError:
        return {"repr": repr(schedule)}


# --- from_torch ----------------------------------------------------------------------------

def from_torch(scheduler: Any, *, group: int | None = None) -> Any:
    """The lrsched schedule equivalent to a torch scheduler, for migrating code.

    Reads the scheduler's configuration (not its progress: the result starts at step 0,
    use ``.shift(scheduler.last_epoch)`` to continue from where it is). Supported:
    ``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``CosineAnnealingLR``,
    ``CosineAnnealingWarmRestarts``, ``CyclicLR``, ``OneCycleLR``, ``LinearLR``,
    ``PolynomialLR``, ``ConstantLR``, ``LambdaLR``, ``MultiplicativeLR``,
    ``SequentialLR`` of those, and ``ReduceLROnPlateau`` (as a ``plateau``).

    Torch's recursive forms (``StepLR``, ``LinearLR``, ...) multiply the previous LR each
    step, so they can differ from the closed form in the last bits; the closed-form ones
    (``OneCycleLR``, ``CyclicLR``, ``CosineAnnealingWarmRestarts``) agree to rounding.
    ``CosineAnnealingLR`` becomes ``cosine(..., periodic=True)``, which, like torch, rises
    again after ``T_max``. Momentum bounds of ``OneCycleLR``/``CyclicLR`` are not part of
    the LR schedule: pass ``cycle_momentum=(base, max)`` to ``ScheduleLR``.

    Args:
        scheduler: a torch LR scheduler of a supported type.
        group: the param group whose schedule to return. ``None`` returns one schedule if
            every group has the same one, else a list with one per group (which
            ``ScheduleLR`` accepts as it is).

    Returns:
        A schedule (or ``plateau``), or a list of them, one per param group.

    Raises:
        TypeError: an unsupported scheduler type.
        ValueError: ``group`` out of range.

    >>> import torch, lrsched
    >>> from lrsched.adapters.torch import from_torch
    >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> from_torch(torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.5))
    step(base_lr=0.1, step_size=30, gamma=0.5)
    """
    if not isinstance(scheduler, (_torch_schedulers.LRScheduler,
                                  _torch_schedulers.ReduceLROnPlateau)):
        check.fail("from_torch", "scheduler", "a torch LR scheduler", scheduler, TypeError)
    groups = len(scheduler.optimizer.param_groups)
    if group is not None:
        index = check.integer("from_torch", "group", group)
        if index >= groups:
            check.fail("from_torch", "group", f"an integer < {groups} (the number of param "
                       "groups)", group)
        return _convert(scheduler, index)
    converted = [_convert(scheduler, index) for index in range(groups)]
    if all(item == converted[0] for item in converted):
        return converted[0]
    return converted


def _convert(scheduler: Any, index: int) -> Any:
    name = type(scheduler).__name__
    converter = _CONVERTERS.get(name)
    # Exact torch classes only: a subclass may compute something else.
    if converter is None or type(scheduler) is not _from_torch_extra.CLASSES.get(
            name, getattr(_torch_schedulers, name, None)):
        raise TypeError(f"from_torch(): scheduler must be one of {', '.join(_CONVERTERS)}, "
                        f"got {name}")
    return converter(scheduler, index)


def _base(scheduler: Any, index: int) -> float:
    return float(scheduler.base_lrs[index])


def _sequential(scheduler: Any, index: int) -> Schedule:
    children = [_convert(child, index) for child in scheduler._schedulers]
    if len(children) == 1:
        return children[0]
    return lrsched.sequence(children, list(scheduler._milestones))


def _reduce_on_plateau(scheduler: Any, index: int) -> plateau:
    group = scheduler.optimizer.param_groups[index]
    return lrsched.plateau(
        base=float(group["lr"]), mode=scheduler.mode, factor=scheduler.factor,
        patience=scheduler.patience, threshold=scheduler.threshold,
        threshold_mode=scheduler.threshold_mode, cooldown=scheduler.cooldown,
        min_lr=float(scheduler.min_lrs[index]), eps=scheduler.eps)


def _one_cycle(scheduler: Any, index: int) -> Schedule:
    phases = scheduler._schedule_phases
    group = scheduler.optimizer.param_groups[index]
    initial, peak = float(group["initial_lr"]), float(group["max_lr"])
    return lrsched.one_cycle(
        max_lr=peak, total_steps=scheduler.total_steps,
        pct_start=(phases[0]["end_step"] + 1) / scheduler.total_steps,
        anneal=scheduler._anneal_func_type, div_factor=peak / initial,
        final_div_factor=initial / float(group["min_lr"]), three_phase=len(phases) == 3)


def _cyclic(scheduler: Any, index: int) -> Schedule:
    # torch keeps only the cycle length and the rising fraction of it.
    total, ratio = scheduler.total_size, scheduler.step_ratio
    up = _nearly_whole(total * ratio)
    custom = scheduler._scale_fn_custom
    return lrsched.cyclic(
        base_lr=_base(scheduler, index), max_lr=float(scheduler.max_lrs[index]),
        step_size_up=up, step_size_down=_nearly_whole(total - up), mode=scheduler.mode,
        gamma=scheduler.gamma, scale_fn=custom,
        scale_mode=scheduler.scale_mode if custom is not None else "cycle")


def _constant(scheduler: Any, index: int) -> Schedule:
    base = _base(scheduler, index)
    if scheduler.total_iters == 0:
        return lrsched.constant(base)
    return lrsched.sequence([lrsched.constant(base * scheduler.factor),
                             lrsched.constant(base)], [scheduler.total_iters])


_CONVERTERS = {
    "StepLR": lambda s, i: lrsched.step(_base(s, i), s.step_size, gamma=s.gamma),
    "MultiStepLR": lambda s, i: lrsched.multistep(
        _base(s, i), sorted(s.milestones.elements()), gamma=s.gamma),
    "ExponentialLR": lambda s, i: lrsched.exponential(_base(s, i), s.gamma),
    "CosineAnnealingLR": lambda s, i: lrsched.cosine(
        _base(s, i), s.T_max, min_lr=float(s.eta_min), periodic=True),
    "CosineAnnealingWarmRestarts": lambda s, i: lrsched.warm_restarts(
        _base(s, i), period=s.T_0, period_mult=s.T_mult, min_lr=float(s.eta_min)),
    "CyclicLR": _cyclic,
    "OneCycleLR": _one_cycle,
    "LinearLR": lambda s, i: lrsched.linear(
        _base(s, i) * s.start_factor, _base(s, i) * s.end_factor, s.total_iters),
    "PolynomialLR": lambda s, i: lrsched.polynomial(_base(s, i), s.total_iters, power=s.power),
    "ConstantLR": _constant,
    "LambdaLR": lambda s, i: lrsched.lambda_lr(_base(s, i), s.lr_lambdas[i]),
    "MultiplicativeLR": lambda s, i: lrsched.multiplicative(_base(s, i), s.lr_lambdas[i]),
    "SequentialLR": _sequential,
    "ReduceLROnPlateau": _reduce_on_plateau,
    "SWALR": _from_torch_extra.swalr,
    "ChainedScheduler": lambda s, i: _from_torch_extra.chained(s, i, _convert),
}


def _nearly_whole(value: float) -> float:
    """Undo the rounding of torch's stored up/total ratio when the size was a whole number."""
    nearest = round(value)
    return nearest if math.isclose(value, nearest, rel_tol=1e-12, abs_tol=1e-12) else value

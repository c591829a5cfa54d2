"""PyTorch adapter: drive a ``torch.optim`` optimizer with lrsched schedules.

``ScheduleLR`` is a real ``torch.optim.lr_scheduler.LRScheduler``: it writes into the
optimizer's ``param_groups`` exactly the numbers the schedule gives, from its own step
counter, and nothing else. Over a ``plateau`` it is also a ``ReduceLROnPlateau``, so
Lightning and the Hugging Face Trainer pass it their monitored metric. All the math is in
the core; this module only moves numbers. ``from_torch`` turns an existing torch scheduler
into the equivalent schedule, and ``range_test`` runs the LR range test on a real model
(restoring it afterwards).
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import torch
    from torch.optim import Optimizer
    from torch.optim import lr_scheduler as _torch_schedulers
except ImportError as error:  # pragma: no cover - exercised only without torch
    raise ImportError(
        'lrsched.adapters.torch needs PyTorch: pip install "lrsched-numpy[torch]"'
    ) from error

import lrsched
from lrsched import validation as check
from lrsched.adapters import _from_torch_extra
from lrsched.adapters._param_groups import group_multipliers, param_groups
from lrsched.adapters._range_test_torch import range_test

__all__ = ["PlateauScheduleLR", "ScheduleLR", "from_torch", "param_groups", "range_test"]

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

    .. math:: \text{lr}_g = s_g(k / K) \cdot m_g

    where :math:`s_g` is the group's schedule, :math:`m_g` its multiplier (the schedule
    ``s_g * m_g``, when ``multipliers`` are given) and :math:`K` is ``steps_per_epoch``
    (1 unless the schedule is defined in epochs and stepped per batch). The values are
    those of the schedule evaluated on a numpy array, bit for bit; they are computed in
    chunks of up to ``chunk_size`` steps at a time, so one ``step()`` costs a list lookup.
    The optimizer's own ``lr`` is overwritten.

    Use it like any torch scheduler: call ``scheduler.step()`` after
    ``optimizer.step()``. With a ``plateau`` schedule the scheduler built is a
    ``PlateauScheduleLR``, a ``torch.optim.lr_scheduler.ReduceLROnPlateau`` too: call
    ``scheduler.step(metric)`` once per evaluation (Lightning and the Hugging Face Trainer
    do, as for torch's own).

    Args:
        optimizer: a ``torch.optim.Optimizer``.
        schedule: one schedule for every param group, a list with one schedule per group,
            or a ``plateau`` (or a list of plateaus).
        multipliers: one non-negative factor per param group; group g follows
            ``schedule * multipliers[g]`` (Caffe's ``lr_mult``: e.g. ``[1.0, 10.0]`` when
            a new head should learn 10x faster than the pretrained backbone).
        steps_per_epoch: K, for a schedule defined in epochs and stepped per batch: each
            ``step()`` advances it by ``1/K`` epoch (``schedule.per_epoch(K)``, the
            smooth per-batch form).
        cycle_momentum: momentum cycling for ``one_cycle`` and ``cyclic`` schedules, as
            torch's ``cycle_momentum``: ``None`` (default) cycles it with torch's default
            bounds whenever a group's schedule is ``one_cycle``/``cyclic`` (as torch's
            ``OneCycleLR``/``CyclicLR`` do by default); ``(base, max)`` uses those bounds;
            ``True`` insists on cycling; ``False`` never touches momentum.
        momentum: an explicit momentum schedule (or one per group, ``None`` for groups to
            leave alone), for any schedule family. Exclusive with ``cycle_momentum``.
        chunk_size: the most steps evaluated at once (a memory/latency trade-off).

    Momentum goes to ``group["momentum"]`` (SGD, RMSprop) or to ``betas[0]`` (Adam,
    AdamW), chosen as torch does from ``optimizer.defaults``. A tensor ``lr``,
    ``momentum`` or ``betas[0]`` (as used with ``torch.compile``) is filled in place,
    never replaced, so a compiled ``optimizer.step`` is not recompiled; it then holds
    ``float32(s(t))``. Param groups sharing one tensor get a copy each when the
    scheduler is built, so that each group's value stays its own.

    Raises:
        TypeError: ``optimizer`` is not an optimizer, or a schedule is not a schedule.
        ValueError: a list whose length differs from the number of param groups, a bad
            ``steps_per_epoch``/multiplier, or momentum cycling requested for an
            optimizer that has neither ``momentum`` nor ``betas``.

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
    >>> type(ScheduleLR(optimizer, lrsched.plateau(0.1))).__name__
    'PlateauScheduleLR'
    """

    def __new__(
        cls, optimizer: Any = None, schedule: Any = None, *args: Any, **kwargs: Any
    ) -> ScheduleLR:
        # Lightning and the HF Trainer hand the monitored metric only to ReduceLROnPlateau
        # instances, so a plateau schedule makes the subclass that is one.
        if cls is ScheduleLR and _plateaus_only(schedule):
            cls = PlateauScheduleLR
        return super().__new__(cls)

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: Any,
        *,
        multipliers: Sequence[float] | None = None,
        steps_per_epoch: float | None = None,
        cycle_momentum: Any = None,
        momentum: Any = None,
        chunk_size: int = 4096,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            check.fail(_FUNC, "optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
        groups = len(optimizer.param_groups)
        self._chunk_limit = check.integer(_FUNC, "chunk_size", chunk_size, minimum=1)
        self.schedules = _per_group("schedule", schedule, groups, _schedule_or_plateau)
        is_plateau = [isinstance(s, lrsched.plateau) for s in self.schedules]
        if any(is_plateau) and not all(is_plateau):
            raise lrsched.ArgumentError(
                f"{_FUNC}(): schedule must be all plateaus or no plateau, got "
                f"{list(self.schedules)!r}"
            )
        self._plateau = all(is_plateau)
        if self._plateau != isinstance(self, _torch_schedulers.ReduceLROnPlateau):
            kind = "no plateau" if self._plateau else "a plateau (or a list of plateaus)"
            check.fail(
                type(self).__name__,
                "schedule",
                f"{kind} for this class: build the "
                "scheduler with ScheduleLR(optimizer, schedule), which picks the class "
                "(a subclass for plateaus derives from PlateauScheduleLR)",
                schedule,
                TypeError,
            )
        self.steps_per_epoch = None
        if steps_per_epoch is not None:
            if self._plateau:
                check.fail(
                    _FUNC,
                    "steps_per_epoch",
                    "None for a plateau schedule (it advances once per step(metric))",
                    steps_per_epoch,
                )
            self.steps_per_epoch = check.whole_if_integral(
                check.positive(_FUNC, "steps_per_epoch", steps_per_epoch)
            )
        if multipliers is not None:
            multipliers = check.sequence_of(_FUNC, "multipliers", multipliers, check.non_negative)
        # Groups built by param_groups() carry their multipliers: said once, read here.
        self.multipliers = group_multipliers(optimizer.param_groups, multipliers)
        if self.multipliers is not None:
            check.same_length(
                _FUNC,
                "optimizer.param_groups",
                optimizer.param_groups,
                "multipliers",
                self.multipliers,
            )
        self._cycle_bounds, self.momentum_schedules = _momentum_schedules(
            self.schedules, cycle_momentum, momentum, groups
        )
        self._momentum_key = None
        if any(m is not None for m in self.momentum_schedules):
            self._momentum_key = _momentum_key(optimizer)
        self._groups = groups
        # None unless the schedules are plateaus.
        self._plateau_states: list[lrsched.PlateauState] | None = (
            [p.init() for p in self.schedules] if self._plateau else None
        )
        self._set_sources()
        _own_tensors(optimizer.param_groups, 0, self._momentum_key)
        # optimizer.load_state_dict puts the saved groups in place, tensors and all: groups
        # that shared a tensor when saved would share one again.
        optimizer.register_load_state_dict_post_hook(_own_tensors_after_load(self))
        # Not super(): for PlateauScheduleLR that is ReduceLROnPlateau.__init__, whose
        # options the plateau schedule holds; LRScheduler's sets up the stepping.
        _torch_schedulers.LRScheduler.__init__(self, optimizer)

    def _set_sources(self) -> None:
        """What each group's values are computed from: its schedule per optimizer step."""
        multipliers = self.multipliers or (None,) * self._groups
        # A plateau's LR comes from its state (PlateauScheduleLR), not from a table.
        self._lr_sources = (
            []
            if self._plateau
            else [
                self._per_step(s) if m is None else self._per_step(s) * m
                for s, m in zip(self.schedules, multipliers)
            ]
        )
        self._momentum_sources = [
            None if m is None else self._per_step(m) for m in self.momentum_schedules
        ]
        # The core's tables, one per distinct source (groups may share one).
        self._tables = {
            id(source): lrsched.StepTable(
                source,
                first_chunk=min(_FIRST_CHUNK, self._chunk_limit),
                max_chunk=self._chunk_limit,
            )
            for source in (*self._lr_sources, *self._momentum_sources)
            if source is not None
        }
        self._table_start = self._table_length = 0  # no table: the next _apply fills one

    def _per_step(self, schedule: Any) -> Any:
        if self.steps_per_epoch is None:
            return schedule
        return schedule.per_epoch(self.steps_per_epoch)

    # --- stepping ------------------------------------------------------------------------

    def step(self, metrics: Any = None, epoch: Any = None) -> None:  # type: ignore[override]
        """Advance one step and set the LRs (and momentum) of every param group.

        Call it after ``optimizer.step()``, with no argument: the scheduler counts the
        steps itself (torch's deprecated ``step(epoch)`` and timm's ``step(epoch)`` are
        not needed; to start at step k, resume from a ``state_dict`` or use
        ``schedule.shift(k)``).

        Raises:
            ValueError: any argument; the message names the call to use instead.
        """
        if metrics is not None or epoch is not None:
            self._refuse_arguments(metrics, epoch)
        if self._step_count == 1:
            self._warn_if_stepped_before_optimizer()
        self._apply(self.last_epoch + 1)  # first: if it raises, the scheduler stays put
        self._step_count += 1
        self.last_epoch += 1

    def step_update(self, *args: Any, **kwargs: Any) -> None:
        """timm's per-update call, which ScheduleLR does not need: call ``step()``.

        Raises:
            TypeError: always, naming the call to use.
        """
        raise lrsched.ArgumentTypeError(
            f"{_FUNC}.step_update(): ScheduleLR has no step_update (timm's per-update call); "
            "it counts optimizer updates itself: call scheduler.step() after each "
            "optimizer.step() (an epoch-defined schedule stepped per update takes "
            "steps_per_epoch=K)"
        )

    def _refuse_arguments(self, metrics: Any, epoch: Any) -> None:
        func = f"{_FUNC}.step"
        if epoch is not None:
            check.fail(
                func,
                "epoch",
                "None: torch deprecated step(epoch) and ScheduleLR "
                "counts steps itself; call step() after each optimizer.step() (or "
                "step(metric) for a plateau); to start at step k, load a "
                "state_dict or use schedule.shift(k)",
                epoch,
            )
        raise lrsched.ArgumentError(
            f"{func}(): takes no argument with {self.schedules[0]!r}, a function of the "
            f"step count, got {metrics!r}: call scheduler.step() after each "
            "optimizer.step() (it counts the steps itself, so timm's and torch's "
            "step(epoch) are not needed; step(metric) is for plateau schedules)"
        )

    def _update_lr(self, epoch: Any = None) -> None:
        """Set the LRs for ``epoch`` (or the next step); what torch's ``SequentialLR`` calls."""
        position = (
            self.last_epoch + 1
            if epoch is None
            else check.integer(f"{_FUNC}._update_lr", "epoch", epoch)
        )
        self._apply(position)
        self.last_epoch = position

    def _apply(self, position: int) -> None:
        # The hot path of every step(): a list lookup and a dict store per group.
        offset = position - self._table_start
        if not 0 <= offset < self._table_length:
            self._fill_tables(position)
            offset = 0
        param_groups = self.optimizer.param_groups
        if len(param_groups) != self._groups:
            self._group_count_changed()
        lr_tables, momentum_tables = self._lr_tables, self._momentum_tables
        momentum_key = self._momentum_key
        last_lr: list[float | torch.Tensor] = []
        # Measured on 2 cores (benchmarks/bench_torch_adapter.py), each a sizeable part of
        # a ~0.8 us step: zip() over the groups cost ~0.3 us more than a counter; a call
        # per write ~0.16 us; isinstance(x, torch.Tensor), through torch's metaclass,
        # ~0.2 us, hence the float test first.
        index = 0
        for group in param_groups:
            value: float | torch.Tensor = lr_tables[index][offset]
            current = group["lr"]
            if current.__class__ is not float and isinstance(current, _Tensor):
                current.fill_(value)
                value = current.clone()
            else:
                group["lr"] = value
            last_lr.append(value)
            momenta = momentum_tables[index]
            if momenta is not None and momentum_key is not None:
                _write_momentum(group, momentum_key, momenta[offset])
            index += 1  # noqa: SIM113 - the plain counter the measurement above chose
        self._last_lr = last_lr

    def _fill_tables(self, position: int) -> None:
        """Every group's LRs and momenta for the next steps from ``position``, read from the
        core's tables, so they hold each source's array values bit for bit (a chunk that
        fails there, e.g. a later step that overflows, leaves the current step to decide)."""
        chunks = {key: table.chunk(position) for key, table in self._tables.items()}
        length = min(len(chunk) for chunk in chunks.values())
        for source in self._momentum_sources:
            if source is not None:
                # A momentum the optimizer cannot use ends the table where it starts, so
                # the step that would write it raises instead (and not one step earlier).
                length = min(length, self._usable_momenta(source, chunks[id(source)], position))
        self._lr_tables = [chunks[id(source)] for source in self._lr_sources]
        self._momentum_tables = [
            None if source is None else chunks[id(source)] for source in self._momentum_sources
        ]
        self._table_start = position
        self._table_length = length

    def _usable_momenta(self, source: Any, values: list, position: int) -> int:
        """How many of ``values`` (momenta from ``position`` on) the optimizer can take:
        SGD's and RMSprop's momentum up to 1, Adam's beta1 below 1, as torch's own
        constructors require (beta1 = 1 divides by zero in Adam's bias correction)."""
        array = np.asarray(values, dtype=np.float64)
        top = 1.0 if self._momentum_key == "momentum" else np.nextafter(1.0, 0.0)
        bad = np.flatnonzero(~(array <= top))
        if not bad.size:
            return len(values)
        if bad[0] == 0:
            self._refuse_momentum(source, position, values[0])
        return int(bad[0])

    def _refuse_momentum(self, source: Any, position: int, value: float) -> None:
        if self._momentum_key == "momentum":
            name, rule = "momentum", "<= 1 (above 1 the momentum buffer grows without bound)"
        else:
            name, rule = "betas[0]", "< 1 (as torch's Adam requires; 1 divides by zero)"
        check.refuse(
            f"{_FUNC}(): the momentum schedule {source!r} gives {value!r} at step {position}; "
            f"the optimizer's {name} must be {rule}: bound the schedule "
            "(e.g. .clip(max_lr=0.99)) or pass another one"
        )

    def _write_current(self) -> None:
        """Write the current step's values again (after loading a state, adding a group)."""
        self._table_length = 0  # the tables belong to another position or other groups
        self._apply(self.last_epoch)

    def _group_count_changed(self) -> None:
        raise RuntimeError(
            f"{_FUNC}: the optimizer has {len(self.optimizer.param_groups)} param groups "
            f"but the scheduler schedules {self._groups}: add groups with "
            "scheduler.add_param_group(group, schedule=... or multiplier=...) instead of "
            "optimizer.add_param_group, or build a new ScheduleLR and carry the position "
            "over with new.load_state_dict(old.state_dict(), strict=False)"
        )

    def _warn_if_stepped_before_optimizer(self) -> None:
        # The same check torch's LRScheduler.step makes on its first real step.
        if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
            warnings.warn(
                "Seems like `optimizer.step()` has been overridden after learning rate "
                "scheduler initialization. Please, make sure to call `optimizer.step()` "
                "before `lr_scheduler.step()`.",
                UserWarning,
                stacklevel=3,
            )
        elif not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                "Call them in the opposite order: `optimizer.step()` before "
                "`lr_scheduler.step()`; otherwise the first value of the schedule is "
                "skipped.",
                UserWarning,
                stacklevel=3,
            )

    def get_lr(self) -> list[float | torch.Tensor]:
        """The LRs for the current step, computed afresh (use ``get_last_lr()`` to read)."""
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, "
                "please use `get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        position = float(self.last_epoch)
        return [source(position) for source in self._lr_sources]

    # --- param groups --------------------------------------------------------------------

    def add_param_group(
        self,
        param_group: dict,
        *,
        schedule: Any = None,
        multiplier: float | None = None,
        momentum: Any = None,
    ) -> None:
        """Add a param group to the optimizer and schedule it from the current step on.

        The rule: give the new group exactly one of ``schedule`` (its own schedule, seeing
        the same step count as the others) or ``multiplier`` (it follows the scheduler's
        one schedule, times ``multiplier``, as a ``multipliers`` entry would). Momentum:
        ``momentum`` if given, else the group's ``one_cycle``/``cyclic`` cycle under this
        scheduler's ``cycle_momentum`` setting. A plateau group with ``multiplier``, or
        with a plateau equal to another group's, takes that group's plateau state (it
        has seen the same metrics); another plateau starts from its ``init()``.

        Its ``lr`` is written at once, so the next ``optimizer.step()`` uses it. The
        scheduler's ``state_dict()`` then describes every group: to resume, build the
        optimizer and scheduler with all the groups (or repeat the same calls) first.

        Args:
            param_group: what ``optimizer.add_param_group`` takes.
            schedule: the new group's schedule (a plateau for a plateau scheduler).
            multiplier: the factor on the shared schedule, a number >= 0.
            momentum: the new group's momentum schedule.

        Raises:
            ValueError: neither or both of ``schedule`` and ``multiplier``, or
                ``multiplier`` on a scheduler with one schedule per group.
            TypeError: a schedule of the wrong kind.
        """
        func = f"{_FUNC}.add_param_group"
        if len(self.optimizer.param_groups) != self._groups:
            self._group_count_changed()
        if (schedule is None) == (multiplier is None):
            raise lrsched.ArgumentError(
                f"{func}(): give the new group exactly one of schedule= (its own schedule) "
                f"or multiplier= (a factor on the shared schedule), got schedule="
                f"{schedule!r}, multiplier={multiplier!r}"
            )
        schedule, multipliers = self._new_group_schedule(func, schedule, multiplier)
        if momentum is not None:
            momentum = _optional_schedule(func, "momentum", momentum)
        else:
            momentum = _cycled(schedule, self._cycle_bounds)
        key = self._momentum_key
        if momentum is not None and key is None:
            key = _momentum_key(self.optimizer)
        self.optimizer.add_param_group(param_group)  # validates it before anything changes
        before = (
            list(self.base_lrs),
            self.schedules,
            self.multipliers,
            self.momentum_schedules,
            self._momentum_key,
            None if self._plateau_states is None else list(self._plateau_states),
            self._groups,
        )
        try:
            group = self.optimizer.param_groups[-1]
            _own_tensors(self.optimizer.param_groups, self._groups, key)
            lr = group["lr"]
            group.setdefault("initial_lr", lr.clone() if isinstance(lr, _Tensor) else lr)
            self.base_lrs.append(group["initial_lr"])
            self.schedules += (schedule,)
            self.multipliers = multipliers
            self.momentum_schedules += (momentum,)
            self._momentum_key = key
            if self._plateau_states is not None:  # a plateau's
                self._plateau_states.append(self._carried_state(schedule, self._groups))
            self._groups += 1
            self._set_sources()
            self._write_current()
        except BaseException:
            # E.g. the new schedule overflows at this step: the optimizer gives the group
            # back and the scheduler goes on as before, instead of failing at every step.
            self.optimizer.param_groups.pop()
            (
                self.base_lrs,
                self.schedules,
                self.multipliers,
                self.momentum_schedules,
                self._momentum_key,
                self._plateau_states,
                self._groups,
            ) = before
            self._set_sources()
            raise

    def _new_group_schedule(self, func: str, schedule: Any, multiplier: Any) -> tuple:
        """The new group's schedule and every group's multipliers, from ``add_param_group``'s
        ``schedule`` or ``multiplier``."""
        multipliers = self.multipliers
        if multiplier is not None:
            if any(s != self.schedules[0] for s in self.schedules):
                check.fail(
                    func,
                    "multiplier",
                    "used when one schedule drives every group "
                    "(this scheduler has one per group: pass schedule=)",
                    multiplier,
                )
            multiplier = check.non_negative(func, "multiplier", multiplier)
            schedule = self.schedules[0]
            multipliers = (multipliers or (1.0,) * self._groups) + (multiplier,)
        else:
            schedule = _schedule_or_plateau(func, "schedule", schedule)
            if isinstance(schedule, lrsched.plateau) != self._plateau:
                kind = "a plateau" if self._plateau else "a schedule that is not a plateau"
                check.fail(func, "schedule", f"{kind}, like the scheduler's", schedule, TypeError)
            if multipliers is not None:
                multipliers = (*multipliers, 1.0)
        return schedule, multipliers

    def _carried_state(self, schedule: Any, known: int, states: list | None = None) -> Any:
        """A new group's plateau state: that of the first of the ``known`` groups with an
        equal plateau (it has seen the same metrics), else a fresh one."""
        if states is None:
            states = self._plateau_states or []
        for other, state in zip(self.schedules[:known], states[:known]):
            if other == schedule:
                return state
        return schedule.init()

    # --- checkpoints ---------------------------------------------------------------------

    def _config(self, probes: bool = True) -> dict:
        position = int(self.last_epoch)

        def describe(schedule: Any) -> dict:
            described = _describe(schedule)
            if probes and "repr" in described:
                described["probes"] = _probes(self._probe_source(schedule), position)
            return described

        return {
            "schedules": [describe(s) for s in self.schedules],
            "multipliers": None if self.multipliers is None else list(self.multipliers),
            "steps_per_epoch": self.steps_per_epoch,
            "momentum": [None if m is None else describe(m) for m in self.momentum_schedules],
        }

    def _probe_source(self, schedule: Any) -> Any:
        """What a group's values come from, per scheduler step: the schedule (per batch
        with ``steps_per_epoch``), or a plateau's base schedule of the update count."""
        if isinstance(schedule, lrsched.plateau):
            return schedule.base if isinstance(schedule.base, lrsched.Schedule) else None
        return self._per_step(schedule)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's position and configuration, as plain Python numbers and dicts.

        Safe for ``torch.save`` and ``torch.load(..., weights_only=True)``. The schedule's
        config is included so that loading into a differently built scheduler fails
        instead of silently jumping to another trajectory. A schedule holding a function
        that is not registered (``lrsched.register_function``) has no config; it is saved
        as its repr and its values at probe steps (see ``load_state_dict``).
        """
        return {
            "format": _STATE_FORMAT,
            "last_epoch": int(self.last_epoch),
            "step_count": int(self._step_count),
            "last_lr": [float(lr) for lr in self._last_lr],
            "config": self._config(),
            "plateau_states": None
            if self._plateau_states is None
            else [state.to_dict() for state in self._plateau_states],
        }

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Resume from ``state_dict()``: the next ``step()`` continues the same trajectory.

        Also writes the restored step's LRs (and momentum) into the optimizer, so the
        order of loading optimizer and scheduler does not matter.

        The state is checked field by field before anything changes: a missing or unknown
        key, a NaN, negative or non-numeric LR, a fractional, negative or boolean counter,
        a list with the wrong number of groups or a malformed plateau state is an error
        naming the key and the value, and leaves the scheduler and the optimizer as they
        were (so does a load whose restored step cannot be evaluated). Unknown keys are
        refused rather than ignored: this format is lrsched's own, so one is a sign of a
        state written by something else.

        With ``strict`` (the default) the checkpoint must come from a scheduler built the
        same way: equal schedule configs, multipliers, ``steps_per_epoch`` and momentum. A
        schedule holding a function that is not registered has no config; it must have
        the same repr and give the same values (to a relative 1e-9) at the probe steps
        saved with it: steps 0-16, the 16 steps either side of the checkpoint's
        position, the powers of two and three times powers of two up to 1024 steps past
        it, and the breakpoints of the schedule's known parts there. The same function
        defined again in a new process passes; a different one is refused, naming the
        first step that differs. A registered function is compared by its name.

        ``strict=False`` carries a state into a scheduler built differently (new param
        groups, another schedule): it takes the position and, group by group, the plateau
        states; a group the saved scheduler did not have gets the state of the first
        group with an equal plateau, else a fresh one. Both must be plateau schedulers,
        or neither.

        A plateau scheduler also takes the ``state_dict()`` of a torch
        ``ReduceLROnPlateau`` (one LR per group; a plateau with a number base, no
        multipliers) and continues its run: its LRs, best metric, bad-epoch and cooldown
        counters become the plateau states. With ``strict`` its options (``mode``,
        ``factor``, ``patience``, ``threshold``, ``threshold_mode``, ``cooldown``,
        ``min_lrs``, ``eps``) must be the plateaus'.

        Raises:
            ArgumentError: the state is not a ScheduleLR state, or a field of it is
                malformed (``ArgumentTypeError`` for a wrong type); with ``strict``, it
                was saved by a scheduler with a different schedule, multipliers,
                steps_per_epoch or momentum.
        """
        func = f"{_FUNC}.load_state_dict"
        if self._plateau and isinstance(state_dict, dict) and _is_torch_plateau_state(state_dict):
            strict = check.boolean(func, "strict", strict)
            self._load_torch_plateau(func, state_dict, strict)
            return
        if not isinstance(state_dict, dict) or state_dict.get("format") != _STATE_FORMAT:
            keys = sorted(map(str, state_dict)) if isinstance(state_dict, dict) else state_dict
            check.refuse(
                f"{func}(): state_dict must come from ScheduleLR.state_dict() "
                f"(format {_STATE_FORMAT!r}), got keys {keys!r}"
            )
        strict = check.boolean(func, "strict", strict)
        state = _read_state(func, state_dict)
        if strict:
            self._check_same_config(func, state["config"])
        states = state["plateau_states"]
        if (states is not None) != self._plateau:
            kinds = ("a plateau", "not a plateau")
            check.refuse(
                f"{func}(): state_dict was saved by a scheduler over "
                f"{kinds[states is None]} schedule, but this one is over {kinds[not self._plateau]} "
                f"schedule ({self.schedules[0]!r}); a position only carries over between "
                "schedulers of the same kind"
            )
        loaded = None
        if self._plateau:
            # Every saved state is checked, also those of groups this scheduler does not
            # have; the checks are the same for every plateau.
            read = self.schedules[0].state_from_dict
            loaded = [
                read(d, func=func, name=f"state_dict['plateau_states'][{i}]")
                for i, d in enumerate(states)
            ][: self._groups]
            known = len(loaded)
            for index in range(known, self._groups):
                loaded.append(self._carried_state(self.schedules[index], known, loaded))
        self._commit(state["last_epoch"], state["step_count"], loaded)

    def _load_torch_plateau(self, func: str, state: dict, strict: bool) -> None:
        """Continue the run of a torch ``ReduceLROnPlateau`` from its ``state_dict()``."""
        if self.multipliers is not None:
            check.refuse(
                f"{func}(): a torch ReduceLROnPlateau state holds each group's LR, which "
                "multipliers would scale again: build the scheduler with one plateau per "
                "group (from_torch gives them) instead of multipliers"
            )
        for key in ("last_epoch", "_last_lr", "best", "num_bad_epochs", "cooldown_counter"):
            if key not in state:
                check.refuse(
                    f"{func}(): state_dict from torch's ReduceLROnPlateau must have the key "
                    f"{key!r}, got keys {sorted(map(str, state))}"
                )
        lrs = _list_of(func, "state_dict['_last_lr']", state["_last_lr"])
        if len(lrs) != self._groups:
            check.fail(
                func,
                "state_dict['_last_lr']",
                f"a list with one LR per param group ({self._groups})",
                lrs,
            )
        lrs = [
            check.non_negative(func, f"state_dict['_last_lr'][{i}]", _number(value))
            for i, value in enumerate(lrs)
        ]
        best = _number(state["best"])
        if isinstance(best, bool) or not isinstance(best, (int, float)):
            check.fail(func, "state_dict['best']", "a real number", best, TypeError)
        updates = _position(func, "state_dict['last_epoch']", state["last_epoch"])
        bad = check.integer(func, "state_dict['num_bad_epochs']", state["num_bad_epochs"])
        cooldown = check.integer(func, "state_dict['cooldown_counter']", state["cooldown_counter"])
        for index, schedule in enumerate(self.schedules):
            if isinstance(schedule.base, lrsched.Schedule):
                check.refuse(
                    f"{func}(): a torch ReduceLROnPlateau state continues a plateau with a "
                    f"number base, but group {index}'s is {schedule!r}"
                )
            if strict:
                _same_plateau_options(func, state, schedule, index)
        loaded = [
            lrsched.PlateauState(
                lr=lr,
                updates=updates,
                best=float(best),
                bad_updates=bad,
                cooldown_left=cooldown,
                scale=1.0,
            )
            for lr in lrs
        ]
        self._commit(updates, updates + 1, loaded)  # its __init__ step is one more

    def _commit(self, last_epoch: int, step_count: int, plateau_states: list | None) -> None:
        """Move to a loaded position; if writing its values fails, undo everything."""
        before = (self.last_epoch, self._step_count, self._plateau_states, self._last_lr)
        groups = _snapshot(self.optimizer.param_groups, self._momentum_key)
        self.last_epoch, self._step_count = last_epoch, step_count
        if plateau_states is not None:
            self._plateau_states = plateau_states
        try:
            self._write_current()
        except BaseException:
            self.last_epoch, self._step_count, self._plateau_states, self._last_lr = before
            self._table_length = 0  # the tables may hold the failed position
            _restore(self.optimizer.param_groups, groups, self._momentum_key)
            raise

    def _check_same_config(self, func: str, saved: dict) -> None:
        if len(saved["schedules"]) != self._groups:
            check.refuse(
                f"{func}(): the checkpoint was saved by a scheduler over "
                f"{len(saved['schedules'])} param group(s), but this one has {self._groups}; "
                "build the optimizer with the same groups (or repeat the add_param_group "
                "calls) before loading, or pass strict=False to carry the position and "
                "plateau state over"
            )
        own = self._config(probes=False)
        for key in ("schedules", "multipliers", "steps_per_epoch", "momentum"):
            mine = own[key]
            theirs = saved[key]
            if key in ("schedules", "momentum"):
                if len(theirs) == len(mine) and all(
                    _same_description(t, m) for t, m in zip(theirs, mine)
                ):
                    sources = self.schedules if key == "schedules" else self.momentum_schedules
                    for index, (entry, schedule) in enumerate(zip(theirs, sources)):
                        if entry is not None and "repr" in entry:
                            self._check_probes(func, key, index, entry, schedule)
                    continue
                theirs = [_without_probes(entry) for entry in theirs]
            elif theirs == mine:
                continue
            check.refuse(
                f"{func}(): the checkpoint was saved with {key}={theirs!r}, but "
                f"this scheduler has {key}={mine!r}; build the scheduler with the "
                "checkpoint's settings (lrsched.from_config rebuilds a saved schedule), "
                "or pass strict=False to carry the position and plateau state over"
            )

    def _check_probes(self, func: str, key: str, index: int, entry: dict, schedule: Any) -> None:
        """Refuse a schedule with an unregistered function whose values at the saved probe
        steps differ from this scheduler's (the repr cannot tell two lambdas apart)."""
        probes = entry.get("probes")
        name, field = f"{key}[{index}]", f"state_dict['config'][{key!r}][{index}]"
        if not isinstance(probes, dict) or sorted(probes) != ["steps", "values"]:
            check.fail(
                func,
                f"{field}['probes']",
                "a dict with 'steps' and 'values' (what state_dict() saves for a schedule "
                "with an unregistered function)",
                probes,
                TypeError,
            )
        steps = check.sequence_of(
            func,
            f"{field}['probes']['steps']",
            probes["steps"],
            lambda f, n, v: check.integer(f, n, v),
            min_length=0,
        )
        values = check.sequence_of(
            func, f"{field}['probes']['values']", probes["values"], _probe_value, min_length=0
        )
        check.same_length(
            func,
            f"{field}['probes']['steps']",
            steps,
            f"{field}['probes']['values']",
            values,
        )
        source = self._probe_source(schedule)
        mine = _probe_values(source, steps) if source is not None else [None] * len(steps)
        for step, theirs, own in zip(steps, values, mine):
            if theirs is None:
                continue  # the saved scheduler could not evaluate it either
            if own is None or not math.isclose(own, theirs, rel_tol=1e-9, abs_tol=1e-300):
                got = "cannot be evaluated" if own is None else f"gives {own!r}"
                check.refuse(
                    f"{func}(): the checkpoint's {name}, {entry['repr']}, holds a function "
                    "that is not registered, so it is compared by its values: at step "
                    f"{step} it gave {theirs!r}, but this scheduler's {got}; build the "
                    "scheduler with the checkpoint's function (same values; registering "
                    "it with lrsched.register_function makes the config name it), or pass "
                    "strict=False to carry the position and plateau state over"
                )


class PlateauScheduleLR(ScheduleLR, _torch_schedulers.ReduceLROnPlateau):
    r"""What ``ScheduleLR(optimizer, plateau)`` builds: a ScheduleLR that is a ReduceLROnPlateau.

    Being an instance of ``torch.optim.lr_scheduler.ReduceLROnPlateau`` is how Lightning
    (``"monitor"`` in the scheduler config) and the Hugging Face Trainer
    (``metric_for_best_model``) know to call ``step(metric)`` after each evaluation, and
    how torch's ``SequentialLR`` knows to refuse it. Each ``step(metric)`` is one
    ``plateau.update``: after metrics :math:`m_1..m_k` group g has the LR
    ``p_g.replay([m_1, ..., m_k])[-1]`` times its multiplier. Its options live in the
    plateau schedule, not in torch's attributes (``factor``, ``patience``, ...).

    >>> import torch, lrsched
    >>> from lrsched.adapters.torch import ScheduleLR
    >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = ScheduleLR(optimizer, lrsched.plateau(1.0, patience=0, factor=0.5))
    >>> isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    True
    >>> for val_loss in [3.0, 3.0, 2.0]:
    ...     optimizer.step()
    ...     scheduler.step(val_loss)
    >>> scheduler.get_last_lr()
    [0.5]
    """

    _plateau_states: list[lrsched.PlateauState]  # never None here: the schedules are plateaus

    def step(self, metrics: Any = None, epoch: Any = None) -> None:  # type: ignore[override]
        """Observe one evaluation's metric and set the LRs: one ``plateau.update``.

        Raises:
            ValueError: the metric is missing, or ``epoch`` is given (torch deprecated it).
        """
        if epoch is not None:
            self._refuse_arguments(metrics, epoch)
        if metrics is None and not self._is_initial:  # torch's step from __init__ has none
            raise lrsched.ArgumentError(
                f"{_FUNC}.step(): a plateau schedule needs the metric: call "
                f"scheduler.step(metric) after each evaluation, got no metric"
            )
        if len(self.optimizer.param_groups) != self._groups:
            self._group_count_changed()
        if self._step_count == 1:
            self._warn_if_stepped_before_optimizer()
        before = (self._step_count, self._plateau_states, self.last_epoch)
        if metrics is not None:
            self._plateau_states = [
                p.update(state, metrics) for p, state in zip(self.schedules, self._plateau_states)
            ]
        self._step_count += 1
        self.last_epoch += 1
        try:
            self._apply_plateau()
        except BaseException:  # the step did not happen: the same metric may come again
            self._step_count, self._plateau_states, self.last_epoch = before
            raise

    def _update_lr(self, epoch: Any = None) -> None:
        raise lrsched.ArgumentError(
            f"{_FUNC}: a plateau schedule cannot be driven by step counts "
            "(torch's SequentialLR refuses ReduceLROnPlateau too)"
        )

    def _apply_plateau(self) -> None:
        param_groups = self.optimizer.param_groups
        if len(param_groups) != self._groups:
            self._group_count_changed()
        multipliers = self.multipliers or (None,) * self._groups
        # Every value first, so that one that cannot be used leaves the optimizer as it was.
        lrs = []
        for state, multiplier in zip(self._plateau_states, multipliers):
            value = state.lr if multiplier is None else state.lr * multiplier
            if not math.isfinite(value):
                check.refuse(
                    f"{_FUNC}(): the plateau's LR {state.lr!r} times the multiplier "
                    f"{multiplier!r} overflows float64 at step {self.last_epoch}"
                )
            lrs.append(value)
        position, key = float(self.last_epoch), self._momentum_key
        momenta = [
            None if source is None else source(position) for source in self._momentum_sources
        ]
        for source, value in zip(self._momentum_sources, momenta):
            if value is not None:
                self._usable_momenta(source, [value], self.last_epoch)
        self._last_lr = [_write(group, "lr", value) for group, value in zip(param_groups, lrs)]
        for group, value in zip(param_groups, momenta):
            if value is not None and key is not None:
                _write_momentum(group, key, value)

    def _write_current(self) -> None:
        self._apply_plateau()

    def get_lr(self) -> list[float | torch.Tensor]:
        """The LRs the plateau states give now (use ``get_last_lr()`` to read)."""
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, "
                "please use `get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        return list(self._last_lr)


# --- helpers for ScheduleLR ----------------------------------------------------------------


def _write(group: dict, key: str, value: float) -> float | _Tensor:
    """Set group[key] to value; a tensor is filled in place (torch.compile keeps it)."""
    current = group[key]
    if current.__class__ is not float and isinstance(current, _Tensor):  # see _apply
        current.fill_(value)
        return current.clone()
    group[key] = value
    return value


def _write_momentum(group: dict, key: str, value: float) -> None:
    """Set group["momentum"], or beta1 in group["betas"]; a tensor is filled in place."""
    if key == "betas":
        betas = group["betas"]
        if betas[0].__class__ is not float and isinstance(betas[0], _Tensor):  # see _apply
            betas[0].fill_(value)
        else:
            group["betas"] = (value, *betas[1:])
        return
    current = group["momentum"]
    if current.__class__ is not float and isinstance(current, _Tensor):
        current.fill_(value)
    else:
        group["momentum"] = value


def _own_tensors(param_groups: list, start: int, momentum_key: str | None) -> None:
    """Give groups ``start`` on a copy of any tensor an earlier group also holds.

    ``SGD([{...}, {...}], lr=torch.tensor(0.01))`` gives both groups one tensor: filled
    in place for each group in turn, it would end up holding the last group's value.
    """
    seen = set()

    def own(tensor: Any, index: int) -> Any:
        if not isinstance(tensor, _Tensor):
            return tensor
        if id(tensor) in seen and index >= start:
            tensor = tensor.clone()
        seen.add(id(tensor))
        return tensor

    for index, group in enumerate(param_groups):
        group["lr"] = own(group["lr"], index)
        if momentum_key == "momentum":
            group["momentum"] = own(group["momentum"], index)
        elif momentum_key == "betas":
            betas = group["betas"]
            first = own(betas[0], index)
            if first is not betas[0]:
                group["betas"] = (first, *betas[1:])


def _own_tensors_after_load(scheduler: ScheduleLR):
    owner = weakref.ref(scheduler)  # the optimizer must not keep the scheduler alive

    def hook(optimizer: Optimizer) -> None:
        alive = owner()
        if alive is not None:
            _own_tensors(optimizer.param_groups, 0, alive._momentum_key)

    return hook


def _plateaus_only(schedule: Any) -> bool:
    if isinstance(schedule, (list, tuple)):
        return len(schedule) > 0 and all(isinstance(s, lrsched.plateau) for s in schedule)
    return isinstance(schedule, lrsched.plateau)


def _schedule_or_plateau(func: str, name: str, value: Any) -> Any:
    if isinstance(value, (lrsched.Schedule, lrsched.plateau)):
        return value
    check.not_a_schedule(func, name, value, "an lrsched schedule or plateau")


def _per_group(name: str, value: Any, groups: int, convert) -> tuple:
    if isinstance(value, (list, tuple)):
        items = tuple(convert(_FUNC, f"{name}[{i}]", item) for i, item in enumerate(value))
        if len(items) != groups:
            raise lrsched.ArgumentError(
                f"{_FUNC}(): {name} must have one item per param group "
                f"(len(optimizer.param_groups)={groups}, len({name})={len(items)})"
            )
        return items
    return (convert(_FUNC, name, value),) * groups


def _optional_schedule(func: str, name: str, value: Any) -> Any:
    if value is None or isinstance(value, lrsched.Schedule):
        return value
    check.not_a_schedule(func, name, value)


def _cycled(schedule: Any, bounds: dict | None) -> Any:
    """The momentum cycle of a one_cycle/cyclic schedule (None for others, or when off)."""
    if bounds is None or not isinstance(schedule, (lrsched.one_cycle, lrsched.cyclic)):
        return None
    return schedule.momentum(**bounds)


def _momentum_schedules(
    schedules: tuple, cycle_momentum: Any, momentum: Any, groups: int
) -> tuple[dict | None, tuple]:
    """(the cycling bounds as momentum() options, None when off; one momentum schedule or
    None per group)."""
    if momentum is not None:
        if cycle_momentum not in (None, False):
            check.fail(
                _FUNC,
                "cycle_momentum",
                "None when momentum= is given (one source of momentum)",
                cycle_momentum,
            )
        return None, _per_group("momentum", momentum, groups, _optional_schedule)
    if cycle_momentum is False:
        return None, (None,) * groups
    bounds = {}
    if isinstance(cycle_momentum, (tuple, list)):
        if len(cycle_momentum) != 2:
            check.fail(_FUNC, "cycle_momentum", "(base_momentum, max_momentum)", cycle_momentum)
        bounds = {
            name: check.in_range(_FUNC, f"cycle_momentum[{i}]", v, 0.0, 1.0)
            for i, (name, v) in enumerate(zip(("base_momentum", "max_momentum"), cycle_momentum))
        }
    elif cycle_momentum not in (None, True):
        check.fail(
            _FUNC,
            "cycle_momentum",
            "None, True, False or (base_momentum, max_momentum)",
            cycle_momentum,
            TypeError,
        )
    cycled = tuple(_cycled(s, bounds) for s in schedules)
    if cycle_momentum is not None and all(m is None for m in cycled):
        check.fail(
            _FUNC,
            "cycle_momentum",
            "used with a one_cycle or cyclic schedule (for "
            "another schedule pass momentum=<schedule>)",
            cycle_momentum,
        )
    return bounds, cycled


def _momentum_key(optimizer: Optimizer) -> str:
    # torch's OneCycleLR/CyclicLR decide from the defaults, betas first.
    if "betas" in optimizer.defaults:
        return "betas"
    if "momentum" in optimizer.defaults:
        return "momentum"
    raise lrsched.ArgumentError(
        f"{_FUNC}(): momentum cycling needs an optimizer with 'momentum' (SGD, RMSprop) "
        f"or 'betas' (Adam, AdamW), got {type(optimizer).__name__}, which has neither; "
        "pass cycle_momentum=False to schedule only the learning rate"
    )


def _describe(schedule: Any) -> dict:
    """A schedule's config for checkpoints; its repr if a user function is unregistered."""
    try:
        return schedule.to_config()
    except ValueError:
        return {"repr": repr(schedule)}


def _same_description(saved: Any, own: Any) -> bool:
    """Whether a saved schedule description matches one of this scheduler's, probes aside
    (those are checked against the values, in _check_probes)."""
    if saved is None or own is None:
        return saved is own
    if "repr" in own:
        return "repr" in saved and saved["repr"] == own["repr"]
    return saved == own


def _without_probes(entry: Any) -> Any:
    if isinstance(entry, dict) and "probes" in entry:
        return {key: value for key, value in entry.items() if key != "probes"}
    return entry


# How far past the checkpoint's position the probes reach: the steps a resumed run takes
# next, and no further, since evaluating a schedule can cost time in the step (a running
# product is computed from step 1 on, as the scheduler itself does).
_PROBE_AHEAD = 1024
_PROBE_NEAR = 16


def _probe_steps(source: Any, position: int) -> list[int]:
    """The steps a schedule with an unregistered function is compared on at load."""
    last = position + _PROBE_AHEAD
    steps = set(range(_PROBE_NEAR + 1))
    steps.update(range(max(0, position - _PROBE_NEAR), position + _PROBE_NEAR + 1))
    power = 32
    while power <= last:
        steps.update((power, 3 * power // 2))
        power *= 2
    try:
        found = lrsched.breakpoints(source, 0, last + 1, limit=32)
    except Exception:  # a user's family that cannot say: its probes are the others
        found = None
    if found is not None:  # the structure of the parts that are known: jumps, ends
        for point in found.steps.tolist():
            steps.update((math.floor(point), math.floor(point) + 1))
    return sorted(step for step in steps if step <= last)


def _probe_values(source: Any, steps: Sequence[int]) -> list[float | None]:
    """The source's values at ``steps``; None where it cannot be evaluated."""
    try:
        return [float(v) for v in source(np.asarray(steps, dtype=np.float64)).tolist()]
    except Exception:  # one bad step must not hide the others
        values: list[float | None] = []
        for step in steps:
            try:
                values.append(float(source(step)))
            except Exception:
                values.append(None)
        return values


def _probes(source: Any, position: int) -> dict:
    steps = _probe_steps(source, position) if source is not None else []
    return {"steps": steps, "values": _probe_values(source, steps) if steps else []}


def _probe_value(func: str, name: str, value: Any) -> float | None:
    return None if value is None else check.non_negative(func, name, value)


_STATE_KEYS = ("config", "format", "last_epoch", "last_lr", "plateau_states", "step_count")
_CONFIG_KEYS = ("momentum", "multipliers", "schedules", "steps_per_epoch")


def _exact_keys(func: str, name: str, value: Any, keys: tuple) -> None:
    if not isinstance(value, dict):
        check.fail(func, name, f"a dict with the keys {list(keys)}", value, TypeError)
    missing = sorted(set(keys) - set(value))
    unknown = sorted(map(repr, set(value) - set(keys)))
    if missing or unknown:
        check.refuse(
            f"{func}(): {name} must have exactly the keys {list(keys)} (as "
            f"ScheduleLR.state_dict() writes them); missing {missing}, unknown "
            f"[{', '.join(unknown)}]"
        )


def _list_of(func: str, name: str, value: Any, length: int | None = None) -> list:
    if not isinstance(value, (list, tuple)):
        check.fail(func, name, "a list", value, TypeError)
    if length is not None and len(value) != length:
        check.fail(
            func,
            name,
            f"a list with one item per param group of the saved scheduler ({length}, as "
            "config['schedules'])",
            value,
        )
    return list(value)


def _position(func: str, name: str, value: Any) -> int:
    """A saved step count; beyond 2**53 float64 steps no longer advance one by one, so the
    schedule would stand still (no run gets there: that is 10**15 steps)."""
    position = check.integer(func, name, value)
    if position > 2**53:
        check.fail(func, name, "an integer >= 0 up to 2**53 (float64 counts steps exactly)", value)
    return position


def _read_state(func: str, state: dict) -> dict:
    """A ScheduleLR state checked field by field, each error naming the key and value."""
    _exact_keys(func, "state_dict", state, _STATE_KEYS)
    config = state["config"]
    _exact_keys(func, "state_dict['config']", config, _CONFIG_KEYS)
    name = "state_dict['config']"
    schedules = _list_of(func, f"{name}['schedules']", config["schedules"])
    if not schedules:
        check.fail(func, f"{name}['schedules']", "a list of one item per param group", [])
    groups = len(schedules)
    for index, entry in enumerate(schedules):
        if not isinstance(entry, dict):
            check.fail(
                func, f"{name}['schedules'][{index}]", "a schedule's config", entry, TypeError
            )
    momentum = _list_of(func, f"{name}['momentum']", config["momentum"], groups)
    for index, entry in enumerate(momentum):
        if entry is not None and not isinstance(entry, dict):
            check.fail(
                func,
                f"{name}['momentum'][{index}]",
                "a schedule's config or None",
                entry,
                TypeError,
            )
    multipliers = config["multipliers"]
    if multipliers is not None:
        multipliers = [
            check.non_negative(func, f"{name}['multipliers'][{index}]", value)
            for index, value in enumerate(
                _list_of(func, f"{name}['multipliers']", multipliers, groups)
            )
        ]
    steps_per_epoch = config["steps_per_epoch"]
    if steps_per_epoch is not None:
        steps_per_epoch = check.whole_if_integral(
            check.positive(func, f"{name}['steps_per_epoch']", steps_per_epoch)
        )
    for index, value in enumerate(
        _list_of(func, "state_dict['last_lr']", state["last_lr"], groups)
    ):
        check.non_negative(func, f"state_dict['last_lr'][{index}]", value)
    plateau_states = state["plateau_states"]
    if plateau_states is not None:
        plateau_states = _list_of(func, "state_dict['plateau_states']", plateau_states, groups)
    return {
        "last_epoch": _position(func, "state_dict['last_epoch']", state["last_epoch"]),
        "step_count": check.integer(func, "state_dict['step_count']", state["step_count"]),
        "config": {
            "schedules": schedules,
            "multipliers": multipliers,
            "steps_per_epoch": steps_per_epoch,
            "momentum": momentum,
        },
        "plateau_states": plateau_states,
    }


def _is_torch_plateau_state(state: dict) -> bool:
    return "format" not in state and "num_bad_epochs" in state and "cooldown_counter" in state


def _number(value: Any) -> Any:
    """A one-element tensor (torch keeps a tensor lr as one) as a Python number."""
    if isinstance(value, _Tensor) and value.numel() == 1:
        return value.item()
    return value


# torch's ReduceLROnPlateau attribute for each plateau option.
_TORCH_PLATEAU_OPTIONS = {
    "mode": "mode",
    "factor": "factor",
    "patience": "patience",
    "threshold": "threshold",
    "threshold_mode": "threshold_mode",
    "cooldown": "cooldown",
    "eps": "eps",
}


def _same_plateau_options(func: str, state: dict, schedule: Any, index: int) -> None:
    """Refuse a torch ReduceLROnPlateau state whose options differ from the plateau's."""
    theirs = {key: state.get(attribute) for key, attribute in _TORCH_PLATEAU_OPTIONS.items()}
    min_lrs = state.get("min_lrs")
    theirs["min_lr"] = (
        _number(min_lrs[index])
        if isinstance(min_lrs, (list, tuple)) and index < len(min_lrs)
        else min_lrs
    )
    for key, value in theirs.items():
        own = getattr(schedule, key)
        if isinstance(value, bool) or value != own:
            check.refuse(
                f"{func}(): the torch ReduceLROnPlateau state has {key}={value!r}, but "
                f"group {index}'s plateau has {key}={own!r}; build the plateau with the "
                "torch scheduler's options (from_torch(scheduler) gives them, before its "
                "first step), or pass strict=False to take its state as it is"
            )


def _snapshot(param_groups: list, momentum_key: str | None) -> list:
    """Each group's lr and momentum value (tensors copied), for _restore."""

    def value(item: Any) -> Any:
        return item.detach().clone() if isinstance(item, _Tensor) else item

    kept = []
    for group in param_groups:
        momentum = None
        if momentum_key == "betas":
            momentum = value(group["betas"][0])
        elif momentum_key == "momentum":
            momentum = value(group["momentum"])
        kept.append((value(group["lr"]), momentum))
    return kept


def _restore(param_groups: list, kept: list, momentum_key: str | None) -> None:
    """Put back what _snapshot kept; a tensor is refilled in place (torch.compile keeps it)."""
    for group, (lr, momentum) in zip(param_groups, kept):
        if isinstance(lr, _Tensor):
            group["lr"].copy_(lr)
        else:
            group["lr"] = lr
        if momentum_key is None:
            continue
        if isinstance(momentum, _Tensor):
            (group["betas"][0] if momentum_key == "betas" else group["momentum"]).copy_(momentum)
        elif momentum_key == "betas":
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum


# --- from_torch ----------------------------------------------------------------------------


def from_torch(scheduler: Any, *, group: int | None = None) -> Any:
    """The lrsched schedule equivalent to a torch scheduler, for migrating code.

    Reads the scheduler's configuration (not its progress: the result starts at step 0,
    use ``.shift(scheduler.last_epoch)`` to continue from where it is). Supported:
    ``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``CosineAnnealingLR``,
    ``CosineAnnealingWarmRestarts``, ``CyclicLR``, ``OneCycleLR``, ``LinearLR``,
    ``PolynomialLR``, ``ConstantLR``, ``LambdaLR``, ``MultiplicativeLR``,
    ``SequentialLR`` of those, and ``ReduceLROnPlateau`` (as a ``plateau``, before its
    first ``step(metric)``: torch overwrites the LR it started from at each reduction and
    keeps no copy, so one that has seen metrics is refused; to continue its run, load its
    ``state_dict()`` into a ``ScheduleLR`` over the plateau, see ``load_state_dict``).

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
        ValueError: ``group`` out of range; a ``ReduceLROnPlateau`` that has seen metrics.

    >>> import torch, lrsched
    >>> from lrsched.adapters.torch import from_torch
    >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> from_torch(torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.5))
    step(base_lr=0.1, step_size=30, gamma=0.5)
    """
    if not isinstance(
        scheduler, (_torch_schedulers.LRScheduler, _torch_schedulers.ReduceLROnPlateau)
    ):
        check.fail("from_torch", "scheduler", "a torch LR scheduler", scheduler, TypeError)
    groups = len(scheduler.optimizer.param_groups)
    if group is not None:
        index = check.integer("from_torch", "group", group)
        if index >= groups:
            check.fail(
                "from_torch", "group", f"an integer < {groups} (the number of param groups)", group
            )
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
        name, getattr(_torch_schedulers, name, None)
    ):
        raise lrsched.ArgumentTypeError(
            f"from_torch(): scheduler must be one of {', '.join(_CONVERTERS)}, got {name}"
        )
    return converter(scheduler, index)


def _base(scheduler: Any, index: int) -> float:
    return float(scheduler.base_lrs[index])


def _sequential(scheduler: Any, index: int) -> lrsched.Schedule:
    children = [_convert(child, index) for child in scheduler._schedulers]
    if len(children) == 1:
        return children[0]
    return lrsched.sequence(children, list(scheduler._milestones))


def _reduce_on_plateau(scheduler: Any, index: int) -> lrsched.plateau:
    group = scheduler.optimizer.param_groups[index]
    if scheduler.last_epoch != 0:
        # Each reduction overwrites the group's lr, and torch keeps no other copy of it.
        raise lrsched.ArgumentError(
            f"from_torch(): scheduler is a ReduceLROnPlateau that has already seen "
            f"{scheduler.last_epoch} metric(s), and torch keeps only the current LR "
            f"(group {index}: {float(group['lr'])!r}), not the one it started from, so no "
            "plateau built from it starts where it started: convert it before its first "
            "step(metric), or continue this run in a ScheduleLR: build it over "
            "lrsched.plateau(<the starting LR>, mode=..., factor=..., ...) with the torch "
            "scheduler's options and call scheduler.load_state_dict(torch_scheduler."
            "state_dict()), which takes over its LR, best metric and counters"
        )
    return lrsched.plateau(
        base=float(group["lr"]),
        mode=scheduler.mode,
        factor=scheduler.factor,
        patience=scheduler.patience,
        threshold=scheduler.threshold,
        threshold_mode=scheduler.threshold_mode,
        cooldown=scheduler.cooldown,
        min_lr=float(scheduler.min_lrs[index]),
        eps=scheduler.eps,
    )


def _one_cycle(scheduler: Any, index: int) -> lrsched.Schedule:
    phases = scheduler._schedule_phases
    group = scheduler.optimizer.param_groups[index]
    initial, peak = float(group["initial_lr"]), float(group["max_lr"])
    return lrsched.one_cycle(
        max_lr=peak,
        total_steps=scheduler.total_steps,
        pct_start=(phases[0]["end_step"] + 1) / scheduler.total_steps,
        anneal=scheduler._anneal_func_type,
        div_factor=peak / initial,
        final_div_factor=initial / float(group["min_lr"]),
        three_phase=len(phases) == 3,
    )


def _cyclic(scheduler: Any, index: int) -> lrsched.Schedule:
    # torch keeps only the cycle length and the rising fraction of it.
    total, ratio = scheduler.total_size, scheduler.step_ratio
    up = _nearly_whole(total * ratio)
    custom = scheduler._scale_fn_custom
    return lrsched.cyclic(
        base_lr=_base(scheduler, index),
        max_lr=float(scheduler.max_lrs[index]),
        step_size_up=up,
        step_size_down=_nearly_whole(total - up),
        mode=scheduler.mode,
        gamma=scheduler.gamma,
        scale_fn=custom,
        scale_mode=scheduler.scale_mode if custom is not None else "cycle",
    )


def _constant(scheduler: Any, index: int) -> lrsched.Schedule:
    base = _base(scheduler, index)
    if scheduler.total_iters == 0:
        return lrsched.constant(base)
    return lrsched.sequence(
        [lrsched.constant(base * scheduler.factor), lrsched.constant(base)], [scheduler.total_iters]
    )


_CONVERTERS = {
    "StepLR": lambda s, i: lrsched.step(_base(s, i), s.step_size, gamma=s.gamma),
    "MultiStepLR": lambda s, i: lrsched.multistep(
        _base(s, i), sorted(s.milestones.elements()), gamma=s.gamma
    ),
    "ExponentialLR": lambda s, i: lrsched.exponential(_base(s, i), s.gamma),
    "CosineAnnealingLR": lambda s, i: lrsched.cosine(
        _base(s, i), s.T_max, min_lr=float(s.eta_min), periodic=True
    ),
    "CosineAnnealingWarmRestarts": lambda s, i: lrsched.warm_restarts(
        _base(s, i), period=s.T_0, period_mult=s.T_mult, min_lr=float(s.eta_min)
    ),
    "CyclicLR": _cyclic,
    "OneCycleLR": _one_cycle,
    "LinearLR": lambda s, i: lrsched.linear(
        _base(s, i) * s.start_factor, _base(s, i) * s.end_factor, s.total_iters
    ),
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

"""Keras 3 bindings: an lrsched schedule as a Keras ``LearningRateSchedule``, and callbacks.

``KerasSchedule(s)`` goes where Keras takes a learning rate::

    optimizer = keras.optimizers.Adam(learning_rate=KerasSchedule(schedule))

Keras calls it with ``optimizer.iterations`` inside the training step, which the jax backend
(``jit_compile=True``) and the tensorflow backend (``tf.function``) trace: the step is then a
symbolic tensor and numpy cannot run on it.

How the LR is computed inside traced code: a lookup table
-----------------------------------------------------------
At construction the core evaluates the schedule once, in float64, at every integer step the
table covers, and rounds each value once to Keras's float type (float32). Inside the train
step the LR is one bounded gather, ``table[index(step)]``. We chose the table over
``keras.ops`` twins of each formula because:

* it is exact: every LR is the core's float64 value rounded once, bit for bit
  ``np.float32(s(step))``, which is also what a torch optimizer gets from the same schedule.
  A twin computed in float32 ops accumulates rounding (``gamma ** (t / k)`` at large t is
  off by many ulps), so the two frameworks would only agree approximately;
* it covers every schedule, composites and users' functions (``lambda_lr``,
  ``multiplicative``, ``cyclic(scale_fn=...)``) included, which cannot be re-expressed in
  ``keras.ops``; and there is no second implementation of any formula to keep in sync;
* a gather costs less per step than the dozen small ops of a formula (see
  ``benchmarks/bench_keras.py``).

Where the table ends: ``s.tail()`` says where a schedule becomes constant (cosine, linear,
warmup into them, ...) or periodic (triangular cyclic, SGDR with ``period_mult=1``, ...).
The table then covers ``[0, start]`` (or one period past ``start``) and the index is clamped
(or reduced modulo the period), so the LR is exact at *every* step, however long training
runs. A schedule that never settles (``exponential``, ``inverse_time``, cycling
``polynomial``, ...) needs ``max_steps``: the table covers ``[0, max_steps]``, and a step past
it gives a NaN learning rate, never a wrapped-around or clamped value. NaN is the loud
signal that works inside compiled code on every backend: the first update past the end
turns the weights and the loss into NaN, which the progress bar and the History show, and
``keras.callbacks.TerminateOnNaN()`` stops on it. Called eagerly (the torch backend, or
``run_eagerly=True``) the schedule raises a ValueError past ``max_steps`` instead.

Serialization: ``KerasSchedule`` is registered with Keras as ``lrsched>KerasSchedule``, so
``model.save("m.keras")`` and ``keras.models.load_model("m.keras")`` restore it with no
``custom_objects``, as long as ``lrsched.adapters.keras`` is imported (schedules that use a
user function need it registered again with ``lrsched.register_function``).

Callbacks do what a schedule object cannot: ``PlateauCallback`` drives the LR from a
monitored metric with an ``lrsched.plateau`` (torch ``ReduceLROnPlateau`` rules), and
``ScheduleCallback`` sets the LR of an optimizer built with a float learning rate from any
schedule, before every batch or epoch.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

try:
    import keras
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'lrsched.adapters.keras needs Keras 3: pip install "lrsched-numpy[keras]" '
        "(and a backend: jax, torch or tensorflow)"
    ) from error

import lrsched
from lrsched import _validation as check
from lrsched._evaluate import StepTable
from lrsched.adapters._from_keras import from_keras
from lrsched.adapters._range_test_callback import RangeTestCallback

__all__ = ["KerasSchedule", "PlateauCallback", "RangeTestCallback", "ScheduleCallback",
           "from_keras"]

# The largest table KerasSchedule builds: 4 bytes per step, so 40 MB of float32.
MAX_TABLE_STEPS = 10_000_000


def _table_layout(func: str, schedule: lrsched.Schedule,
                  max_steps: int | None) -> tuple[int, int | None, bool]:
    """(length, period, nan_past_end) of the table that serves every integer step.

    ``period`` None: index = min(step, length - 1). Otherwise the last ``period`` entries
    repeat: index = step below ``length - period``, else reduced modulo ``period``.
    ``nan_past_end``: the table has one extra NaN entry that every later step reads.
    """
    tail = schedule.tail()
    settles = None
    if tail is not None:
        start = math.ceil(tail.start)
        if tail.period is None:
            settles = (start + 1, None)
        elif float(tail.period).is_integer():
            # Integer steps repeat with the schedule's period only if the period is whole.
            settles = (start + int(tail.period), int(tail.period))
    if settles is not None and (max_steps is None or settles[0] <= max_steps + 1) \
            and settles[0] <= MAX_TABLE_STEPS:
        return settles[0], settles[1], False
    if max_steps is None:
        reason = ("it never becomes constant or periodic (schedule.tail() is None)"
                  if settles is None else
                  f"it settles only after {settles[0] - 1} steps (more than "
                  f"{MAX_TABLE_STEPS} table entries)")
        raise check.ArgumentError(
            f"{func}(): max_steps is required for {schedule!r}: {reason}; pass the number of "
            "optimizer steps you will train for, e.g. KerasSchedule(schedule, "
            "max_steps=epochs * steps_per_epoch)"
        )
    if max_steps + 1 > MAX_TABLE_STEPS:
        check.fail(func, "max_steps", f"at most {MAX_TABLE_STEPS - 1}", max_steps)
    return max_steps + 1, None, True


def _step_schedule(func: str, value: Any) -> lrsched.Schedule:
    """``value`` if it is an lrsched schedule; the two near misses get advice."""
    if isinstance(value, lrsched.plateau):
        raise check.ArgumentTypeError(
            f"{func}(): schedule must be an lrsched schedule of the step; a plateau depends "
            "on a metric, use PlateauCallback(plateau, monitor=...) with a float learning "
            f"rate instead, got {value!r}"
        )
    if isinstance(value, KerasSchedule):
        check.fail(func, "schedule", "an lrsched schedule (pass keras_schedule.schedule, the "
                   "lrsched schedule it wraps)", value, TypeError)
    return check.instance(func, "schedule", value, lrsched.Schedule, "an lrsched schedule")


def _is_traced(value: Any) -> bool:
    """Whether ``value`` is symbolic (inside jax.jit, tf.function or torch.compile)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return isinstance(value, jax.core.Tracer)
    if backend == "tensorflow":  # pragma: no cover - tensorflow is not in our test matrix
        import tensorflow as tf

        return not tf.executing_eagerly()
    if backend == "torch":
        import torch

        return torch.compiler.is_compiling()
    return False


@keras.saving.register_keras_serializable(package="lrsched", name="KerasSchedule")
class KerasSchedule(keras.optimizers.schedules.LearningRateSchedule):
    r"""An lrsched schedule as a Keras ``LearningRateSchedule`` that works in compiled steps.

    .. math:: \eta_t = \text{float32}(s(t)),\quad t = \text{optimizer.iterations}

    The LR for the first update is ``s(0)``, as everywhere in lrsched. Values come from a
    table the core fills in float64 (see the module docstring for why a table, and where
    it ends): exact at every step for schedules that settle (``s.tail()`` is not None);
    schedules that never settle need ``max_steps`` and give NaN past it (ValueError when
    called eagerly). Saved and loaded with the model (registered as
    ``lrsched>KerasSchedule``; ``get_config`` holds ``s.to_config()``).

    Args:
        schedule: any ``lrsched`` schedule (a ``plateau`` needs ``PlateauCallback``).
        max_steps: the last step the table must serve, an integer >= 0; required when the
            schedule never settles, optional otherwise (a shorter table for a schedule that
            settles very late).

    Raises:
        TypeError: ``schedule`` is not an lrsched schedule, or a step is not an integer.
        ValueError: ``max_steps`` is missing or bad, or an eager step is negative or past
            ``max_steps``.

    Keras equivalent: ``keras.optimizers.schedules.CosineDecay(...)`` and friends, e.g.
    ``CosineDecay(0.1, 1000, alpha=0.01)`` is ``KerasSchedule(lrsched.cosine(0.1, 1000,
    min_lr=0.001))``.

    >>> import lrsched
    >>> from lrsched.adapters.keras import KerasSchedule
    >>> lr = KerasSchedule(lrsched.cosine(base_lr=1.0, total_steps=10))
    >>> [float(lr(step)) for step in (0, 5, 10, 10**9)]
    [1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, schedule: lrsched.Schedule, max_steps: int | None = None):
        super().__init__()
        _step_schedule("KerasSchedule", schedule)
        if max_steps is not None:
            max_steps = check.integer("KerasSchedule", "max_steps", max_steps, minimum=0)
        self.schedule = schedule
        self.max_steps = max_steps
        length, self._period, self._nan_past_end = _table_layout(
            "KerasSchedule", schedule, max_steps)
        values = StepTable(schedule).values(0, length)
        if self._nan_past_end:
            values = np.append(values, np.nan)
        self._last_index = len(values) - 1
        self._table_numpy = values.astype(keras.config.floatx())
        # Made once, eagerly: converting per call would copy the table every step in
        # eager backends, and inside a trace would stage a new constant each time.
        self._table = keras.ops.convert_to_tensor(self._table_numpy)

    def _index(self, step: Any) -> Any:
        ops = keras.ops
        if self._period is None:
            return ops.minimum(step, self._last_index)
        settled = self._last_index + 1 - self._period
        return ops.where(step < settled, step,
                         settled + ops.mod(step - settled, self._period))

    def _host_index(self, step: int) -> int:
        """``_index`` in Python integers, for eager calls with a Python int: keras.ops would
        cast it to int32 on some backends, and a step past 2**31 must still be right."""
        if step < 0:
            raise check.ArgumentError(f"KerasSchedule(): step must be >= 0, got {step}")
        if self._nan_past_end and step > self.max_steps:
            raise check.ArgumentError(
                f"KerasSchedule(): step {step} is past max_steps={self.max_steps} of "
                f"{self.schedule!r}; build it with a larger max_steps"
            )
        if self._period is None:
            return min(step, self._last_index)
        settled = self._last_index + 1 - self._period
        return step if step < settled else settled + (step - settled) % self._period

    def __call__(self, step: Any) -> Any:
        if isinstance(step, numbers.Integral) and not isinstance(step, (bool, np.bool_)):
            return keras.ops.convert_to_tensor(self._table_numpy[self._host_index(int(step))])
        value = step.value if isinstance(step, keras.Variable) else step
        try:
            dtype = keras.backend.standardize_dtype(getattr(value, "dtype", type(value)))
        except ValueError:  # None, or an object Keras has no dtype for
            dtype = type(value).__name__
        if "int" not in dtype:
            raise check.ArgumentTypeError(
                "KerasSchedule(): step must be an integer (Keras passes optimizer.iterations); "
                f"got {step!r} of dtype {dtype}; for fractional steps call the lrsched "
                "schedule itself"
            )
        if not _is_traced(value):
            # Eager code can fail with a message; traced code gets the NaN entry past the
            # end (and Keras's iteration counter is never negative).
            steps = np.asarray(keras.ops.convert_to_numpy(value))
            if steps.size:
                self._host_index(int(steps.min()))
                self._host_index(int(steps.max()))
        return keras.ops.take(self._table, self._index(value))

    def get_config(self) -> dict:
        """``{"schedule": schedule.to_config(), "max_steps": max_steps}`` (JSON-safe)."""
        return {"schedule": self.schedule.to_config(), "max_steps": self.max_steps}

    @classmethod
    def from_config(cls, config: dict) -> KerasSchedule:
        """Rebuild from ``get_config()``; the schedule comes from ``lrsched.from_config``.

        Raises:
            ValueError: the config is not ``get_config()``'s shape, or the schedule in it
                cannot be rebuilt (unknown family, bad parameter, unknown key, a function
                that is not registered); the message says which. A ValueError, so that
                ``keras.models.load_model`` shows it unchanged.
        """
        if not isinstance(config, dict) or "schedule" not in config \
                or set(config) - {"schedule", "max_steps"}:
            raise check.ArgumentError(
                "KerasSchedule.from_config(): config must be a dict with keys 'schedule' "
                f"and 'max_steps', got {config!r}"
            )
        try:
            return cls(lrsched.from_config(config["schedule"]),
                       max_steps=config.get("max_steps"))
        except (TypeError, ValueError) as error:
            raise check.ArgumentError(
                f"KerasSchedule.from_config(): cannot rebuild the saved schedule: {error}"
            ) from error

    def __repr__(self) -> str:
        limit = "" if self.max_steps is None else f", max_steps={self.max_steps}"
        return f"KerasSchedule({self.schedule!r}{limit})"


def _set_learning_rate(optimizer: Any, lr: float, who: str) -> None:
    """Assign a float LR, turning Keras's refusal for schedule-built optimizers into advice."""
    try:
        optimizer.learning_rate = float(lr)
    except (TypeError, AttributeError) as error:
        raise check.ArgumentTypeError(
            f"{who}(): cannot set the learning rate of {type(optimizer).__name__}: it was "
            "built with a LearningRateSchedule (or a callable) as learning_rate, and Keras "
            "does not allow setting those. Build the optimizer with a float learning rate, "
            "e.g. keras.optimizers.Adam(learning_rate=1e-3), for this callback to drive it; "
            "or pass KerasSchedule(schedule) as learning_rate and drop the callback."
        ) from error


def _optimizer_of(model: Any, who: str) -> Any:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise check.ArgumentError(f"{who}(): the model has no optimizer; call model.compile(optimizer=...) "
                         "before fit")
    return optimizer


_INTERVALS = ("step", "epoch")


class ScheduleCallback(keras.callbacks.Callback):
    r"""Set a float-LR optimizer's learning rate from any schedule, per batch or per epoch.

    .. math:: \eta = s(\text{optimizer.iterations}) \text{ before each batch}
              \quad\text{or}\quad s(\text{epoch}) \text{ before each epoch}

    For optimizers built with a float ``learning_rate`` (one that other code also sets, or
    one shared with callbacks that need a variable LR). Where the optimizer can take a
    schedule, ``KerasSchedule`` is faster: this callback syncs the model state between
    batches under the jax backend, as any callback that touches the optimizer does.
    ``interval="step"`` needs ``steps_per_execution=1`` (Keras calls batch callbacks once
    per execution).

    Args:
        schedule: any ``lrsched`` schedule.
        interval: ``"step"`` (the default: the LR of update t is ``s(t)``) or ``"epoch"``.

    Raises:
        TypeError: at the start of training, if the optimizer was built with a
            ``LearningRateSchedule`` (Keras refuses to set its LR).
        ValueError: ``interval="step"`` with ``steps_per_execution`` > 1.

    Keras ``LearningRateScheduler`` (per epoch only); torch ``ScheduleLR``.

    >>> import lrsched
    >>> from lrsched.adapters.keras import ScheduleCallback
    >>> ScheduleCallback(lrsched.step(0.1, step_size=100))
    ScheduleCallback(step(base_lr=0.1, step_size=100), interval='step')
    """

    def __init__(self, schedule: lrsched.Schedule, interval: str = "step"):
        super().__init__()
        self.schedule = _step_schedule("ScheduleCallback", schedule)
        self.interval = check.choice("ScheduleCallback", "interval", interval, _INTERVALS)

    def __repr__(self) -> str:
        return f"ScheduleCallback({self.schedule!r}, interval={self.interval!r})"

    def _apply(self, step: int) -> None:
        optimizer = _optimizer_of(self.model, "ScheduleCallback")
        _set_learning_rate(optimizer, self.schedule(step), "ScheduleCallback")

    def on_train_begin(self, logs=None):
        model = self.model
        if self.interval == "step" and getattr(model, "steps_per_execution", 1) != 1:
            raise check.ArgumentError(
                "ScheduleCallback(): interval='step' needs steps_per_execution=1 (Keras calls "
                "batch callbacks once per execution), got "
                f"steps_per_execution={model.steps_per_execution}; use "
                "KerasSchedule(schedule) as the learning_rate instead"
            )
        # Fail before the first update if the LR cannot be set at all.
        optimizer = _optimizer_of(model, "ScheduleCallback")
        self._apply(int(keras.ops.convert_to_numpy(optimizer.iterations)))

    def on_train_batch_begin(self, batch, logs=None):
        if self.interval == "step":
            iterations = _optimizer_of(self.model, "ScheduleCallback").iterations
            self._apply(int(keras.ops.convert_to_numpy(iterations)))

    def on_epoch_begin(self, epoch, logs=None):
        if self.interval == "epoch":
            self._apply(epoch)


class PlateauCallback(keras.callbacks.Callback):
    r"""Reduce a float-LR optimizer's learning rate when a logged metric stops improving.

    Driven by an ``lrsched.plateau`` state machine: after each epoch (or batch) the
    monitored value from Keras's logs goes through ``plateau.update``, and the optimizer's
    LR becomes ``state.lr``, so the LRs are exactly ``plateau.replay(metric history)``
    (torch ``ReduceLROnPlateau`` rules). At the start of training the LR is set to
    ``state.lr`` (``plateau.init().lr`` on a fresh callback). The state persists across
    ``fit`` calls and can be saved with ``callback.state.to_dict()`` and restored with
    ``PlateauCallback(p, state=p.state_from_dict(d))``.

    Differences from Keras's own ``keras.callbacks.ReduceLROnPlateau``, all torch's rules:

    * patience: Keras reduces after ``patience`` bad epochs, torch (and this) after
      ``patience + 1``, i.e. when more than ``patience`` epochs failed to improve;
    * threshold: Keras's ``min_delta`` is absolute; ``plateau`` defaults to a relative
      threshold (``threshold_mode="rel"``, ``threshold=1e-4``), ``"abs"`` is Keras's rule;
    * cooldown: Keras's ``cooldown=c`` stops counting bad epochs for c - 1 epochs;
    * tiny LRs: torch skips a reduction that changes the LR by no more than ``eps``;
    * mode: Keras guesses ``"auto"`` from the metric name; here ``mode`` is explicit;
    * state: Keras resets best, wait and cooldown at every ``fit``; this keeps them;
    * a missing metric: Keras warns and skips the epoch; this raises, naming the metrics
      that are logged (a misspelt ``monitor`` silently disabling the schedule is worse);
    * ``base`` may be a schedule of the update count (cosine under reduce-on-plateau).

    Keras's callback within one ``fit`` is ``plateau(lr, factor=f, patience=max(p - 1, 0),
    threshold=min_delta, threshold_mode="abs", cooldown=max(c - 1, 0), eps=0.0)``.

    Args:
        plateau: an ``lrsched.plateau``.
        monitor: the key in Keras's logs, e.g. ``"val_loss"``, ``"loss"``, ``"val_accuracy"``.
        interval: ``"epoch"`` (the default) or ``"step"`` (batch logs: Keras's running
            averages since the start of the epoch).
        state: a ``PlateauState`` to resume from (default ``plateau.init()``).

    Raises:
        TypeError: at the start of training, if the optimizer was built with a
            ``LearningRateSchedule``.
        ValueError: the monitored metric is not in the logs.

    >>> import lrsched
    >>> from lrsched.adapters.keras import PlateauCallback
    >>> callback = PlateauCallback(lrsched.plateau(base=0.1, patience=2), monitor="loss")
    >>> callback.state.lr
    0.1
    """

    def __init__(self, plateau: lrsched.plateau, monitor: str = "val_loss",
                 interval: str = "epoch", state: lrsched.PlateauState | None = None):
        super().__init__()
        if not isinstance(plateau, lrsched.plateau):
            advice = (" (a schedule of the step goes in KerasSchedule or ScheduleCallback)"
                      if isinstance(plateau, (lrsched.Schedule, KerasSchedule)) else "")
            check.fail("PlateauCallback", "plateau", "an lrsched.plateau" + advice, plateau,
                       TypeError)
        if not isinstance(monitor, str) or not monitor:
            check.fail("PlateauCallback", "monitor", "a metric name (a non-empty str)",
                       monitor, TypeError)
        if state is not None and not isinstance(state, lrsched.PlateauState):
            check.fail("PlateauCallback", "state", "a PlateauState or None (a saved dict goes "
                       "through plateau.state_from_dict(d))", state, TypeError)
        self.plateau = plateau
        self.monitor = monitor
        self.interval = check.choice("PlateauCallback", "interval", interval, _INTERVALS)
        self.state = plateau.init() if state is None else state

    def __repr__(self) -> str:
        return (f"PlateauCallback({self.plateau!r}, monitor={self.monitor!r}, "
                f"interval={self.interval!r})")

    def _apply(self) -> None:
        _set_learning_rate(_optimizer_of(self.model, "PlateauCallback"), self.state.lr,
                           "PlateauCallback")

    def _observe(self, logs: dict | None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise check.ArgumentError(
                f"PlateauCallback(): monitor={self.monitor!r} is not in the logs; logged "
                f"metrics: {sorted(logs)} (val_* metrics need validation data, every epoch)"
            )
        value = logs[self.monitor]
        try:
            metric = float(value)
        except (TypeError, ValueError):
            raise check.ArgumentTypeError(f"PlateauCallback(): monitor={self.monitor!r} must log a number, "
                            f"got {value!r}") from None
        self.state = self.plateau.update(self.state, metric)
        self._apply()

    def on_train_begin(self, logs=None):
        self._apply()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval == "epoch":
            self._observe(logs)

    def on_train_batch_end(self, batch, logs=None):
        if self.interval == "step":
            self._observe(logs)


def __getattr__(name):
    # The Keras LR range test lives in its own module; imported on first use.
    if name == "range_test":
        from lrsched.adapters._range_test_keras import range_test

        return range_test
    raise AttributeError(f"module 'lrsched.adapters.keras' has no attribute {name!r}")

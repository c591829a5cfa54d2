"""Keras 3 bindings: an lrsched schedule as a Keras ``LearningRateSchedule``, and callbacks.

``KerasSchedule(s)`` goes where Keras takes a learning rate::

    optimizer = keras.optimizers.Adam(learning_rate=KerasSchedule(schedule))

Keras calls it with ``optimizer.iterations`` inside the training step, which the jax backend
(``jit_compile=True``) and the tensorflow backend (``tf.function``, XLA by default) trace: the
step is then a symbolic tensor and numpy cannot run on it.

How the LR is computed: a table, then the schedule's own formula
----------------------------------------------------------------
The LR of update t is ``np.float32(s(t))``, the core's float64 value rounded once, which is
also what a torch optimizer gets from the same schedule. Three mechanisms serve it, all
from the core's numbers (``lrsched.adapters._tables`` describes the table):

* **A table** filled once at construction: exact. A schedule that becomes constant or
  periodic (``s.tail()``: cosine, linear, one_cycle, triangular cyclic, SGDR with
  ``period_mult=1``, warmups and sequences ending in them) is served entirely from it,
  at every step however long training runs (clamped or reduced modulo the period). Any
  other schedule gets the first 10**7 steps (40 MB; fewer with ``max_steps``).
* **Past the table** the LR keeps following the schedule, never NaN, never clamped or
  wrapped, computed where the compiled step can compute it:

  - *jax backend*: in the branch of a ``lax.cond`` that only runs past the table, the
    core's formula traced in float64 (the tolerance below), or for a user function a
    ``jax.pure_callback`` to the core, exact (``lrsched.adapters.jax`` holds the lookup
    both adapters use and says why the callback is kept for those alone);
  - *tensorflow, plain* ``tf.function`` (``jit_compile=False``, MirroredStrategy
    included): a ``tf.numpy_function`` to the core on the host, in the branch of a
    ``tf.cond`` that only runs past the table: exact, user functions included;
  - *tensorflow under XLA* (``jit_compile=True``; Keras's default ``"auto"`` picks it
    on a GPU without ``tf.distribute``): XLA cannot call Python, so the core's formula itself is traced in float64
    through the array namespace of ``lrsched.adapters._traced`` (the same ``_values`` code
    numpy runs), rounded to float32: ``np.float32(s(t))`` or one float32 ulp from it where
    s(t) lies within a few float64 ulps of a rounding boundary, and near 0 within 2**-48
    of the schedule's scale (its largest value; for a product, its factors' largest
    values multiplied), tested at steps 10**7 to 2**31 for every family.

    A user function of the step (``lambda_lr``, ``cyclic(scale_fn=...)``, also inside
    composites) is traced too: the same ``_values``, with the user's own function called
    on the float64 step tensor (``TracedOps.user``). XLA has no run-time error
    (``tf.debugging.Assert`` and ``check_numerics`` compile to nothing), so this is
    checked while the train step compiles, before the first update (``tf.init_scope``
    leaves the step's trace to run the check eagerly): the function must run on an eager
    and on a symbolic tensor, and the traced schedule, at probe steps (the table's last
    1000 steps, the 1000 after it, and a geometric spread with every power of two up to
    2**31), must give finite factors >= 0 and agree with the core's ``np.float32(s(t))``
    within the bound above. A Python ``if`` on the step is turned into the graph's own
    branch (AutoGraph, one step at a time). A function that cannot run on tensors
    (``min()``, ``math.*`` or numpy on the step) or that disagrees is refused, with why
    (the error it raised; the first disagreeing step and both values) and the fixes
    (``jit_compile=False``, ``ScheduleCallback``, tensor operations in the function).
    The limit: past the table, under XLA, a traced user function's factors are checked
    at the probe steps only, not at every step as the core checks them, since XLA has
    no run-time error to raise. A family with a formula of its own outside lrsched
    is refused.

    ``multiplicative`` (the running product of every factor before the step) keeps its
    product in the compiled step: variables hold the latest step and its product, the
    next step multiplies in one traced factor in the core's order, and any other step
    (the first after a resume) is computed from the nearest product kept, in chunks
    (``lrsched.adapters._traced.KeptProduct``). It starts from the core's own product
    at the first probe step, and its probes stay within 1000 steps of the table's end;
    past it the rounding of each factor carries into the product (about 1e-16 of it a
    factor: the bound above for 10**8 steps past the table);
  - *torch backend*, eager or ``jit_compile=True`` (``torch.compile``, which breaks its
    graph there, ``torch.compiler.disable``), and eager calls on any backend
    (``run_eagerly=True``): the core on the host, exact.

The table costs one gather per step; see ``benchmarks/bench_keras.py`` for the fit
overhead against a float learning rate.

Steps: integers (``optimizer.iterations``), or whole floats (``keras.Variable(100.0)``),
as Keras's own schedules accept; a fractional eager step is refused (call the lrsched
schedule itself for those). A traced float step is used as the whole step it truncates to.

Precision: the LR is always float32, whatever ``keras.config.floatx()`` is (as Keras
keeps its optimizer state's LR): with ``floatx="float16"`` a float16 table would round
an LR of 1.2e-8 to 0. An optimizer updating float16 variables casts the LR to float16
for the update itself, as it does with Keras's own schedules; mixed precision
(``keras.mixed_precision.set_global_policy("mixed_float16")``) keeps variables and the
LR in float32.

Serialization: ``KerasSchedule`` is registered with Keras as ``lrsched>KerasSchedule``, so
``model.save("m.keras")`` and ``keras.models.load_model("m.keras")`` restore it with no
``custom_objects``, as long as ``lrsched.adapters.keras`` is imported (schedules that use a
user function need it registered again with ``lrsched.register_function``).

Callbacks do what a schedule object cannot: ``PlateauCallback`` drives the LR from a
monitored metric with an ``lrsched.plateau`` (torch ``ReduceLROnPlateau`` rules), and
``ScheduleCallback`` sets the LR of an optimizer built with a float learning rate from any
schedule, before every batch or epoch. Both log ``learning_rate`` at the end of every
epoch, so it is in ``History`` as with Keras's own callbacks.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    import keras
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'lrsched.adapters.keras needs Keras 3: pip install "lrsched-numpy[keras]" '
        "(and a backend: jax, torch or tensorflow)"
    ) from error

import lrsched
from lrsched import validation as check
from lrsched.adapters import _tables
from lrsched.adapters._from_keras import from_keras
from lrsched.adapters._range_test_callback import RangeTestCallback

if TYPE_CHECKING:
    from lrsched.adapters._traced import TracedOps

__all__ = [
    "KerasSchedule",
    "PlateauCallback",
    "RangeTestCallback",
    "ScheduleCallback",
    "from_keras",
]

# The largest table KerasSchedule builds: 4 bytes per step, so 40 MB of float32.
MAX_TABLE_STEPS = _tables.MAX_TABLE_STEPS


def _step_schedule(func: str, value: Any) -> lrsched.Schedule:
    """``value`` if it is an lrsched schedule; the two near misses get advice."""
    if isinstance(value, lrsched.plateau):
        raise lrsched.ArgumentTypeError(
            f"{func}(): schedule must be an lrsched schedule of the step; a plateau depends "
            "on a metric, use PlateauCallback(plateau, monitor=...) with a float learning "
            f"rate instead, got {value!r}"
        )
    if isinstance(value, KerasSchedule):
        check.fail(
            func,
            "schedule",
            "an lrsched schedule (pass keras_schedule.schedule, the lrsched schedule it wraps)",
            value,
            TypeError,
        )
    if not isinstance(value, lrsched.Schedule):
        check.not_a_schedule(func, "schedule", value)
    return value


def _is_traced(value: Any) -> bool:
    """Whether ``value`` is symbolic (inside jax.jit, tf.function or torch.compile)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return isinstance(value, jax.core.Tracer)
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.executing_eagerly()
    if backend == "torch":
        import torch

        return torch.compiler.is_compiling()
    return False


def _in_xla() -> bool:
    """Whether TensorFlow is tracing for XLA (``jit_compile=True``), where Python cannot run.

    Read from TensorFlow's own marker (its XLA control-flow context); if that private API
    moves, assume XLA: the XLA path is never wrong, only less permissive.
    """
    try:
        from tensorflow.python.framework import ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - depends on the TensorFlow version
        return True
    return bool(control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph()))


def _not_whole(shown: Any, dtype: str) -> lrsched.ArgumentTypeError:
    return lrsched.ArgumentTypeError(
        "KerasSchedule(): step must be a whole number (Keras passes optimizer.iterations); "
        f"got {shown!r} of dtype {dtype}; for fractional steps call the lrsched schedule "
        "itself"
    )


def _integer_dtype(value: Any) -> str:
    try:
        return keras.backend.standardize_dtype(getattr(value, "dtype", type(value)))
    except ValueError:  # None, or an object Keras has no dtype for
        return type(value).__name__


# A user function that fails on tensors could still be written for them.
_TENSOR_ADVICE = (
    ", or write the function with tensor operations (keras.ops.minimum instead of min(), "
    "keras.ops.exp instead of math.exp or numpy)"
)


def _probe_steps(length: int, far: bool = True) -> np.ndarray:
    """Where a traced user function is compared with the core before it is used: the
    table's last 1000 steps, the 1000 after it, and (``far``) steps spread geometrically
    (and around every power of two) from there to 2**31 - 1, as float64."""
    powers = 2.0 ** np.arange(1, 32)
    near = np.arange(max(length - 1000, 0), length + 1000)
    if not far:
        return near.astype(np.float64)
    steps = np.concatenate(
        [
            near,
            np.round(np.geomspace(length + 1000, 2**31 - 1, 200)),
            powers - 1.0,
            powers,
            powers + 1.0,
        ]
    )
    return np.unique(steps[(steps >= max(length - 1000, 0)) & (steps < 2**31)])


@keras.saving.register_keras_serializable(package="lrsched", name="KerasSchedule")
class KerasSchedule(keras.optimizers.schedules.LearningRateSchedule):
    r"""An lrsched schedule as a Keras ``LearningRateSchedule`` that works in compiled steps.

    .. math:: \eta_t = \text{float32}(s(t)),\quad t = \text{optimizer.iterations}

    The LR for the first update is ``s(0)``, as everywhere in lrsched. Values come from a
    table the core fills in float64, and past it from the schedule itself (see the module
    docstring): every schedule works for any number of steps, with no ``max_steps``.
    Saved and loaded with the model (registered as ``lrsched>KerasSchedule``;
    ``get_config`` holds ``s.to_config()``).

    Args:
        schedule: any ``lrsched`` schedule (a ``plateau`` needs ``PlateauCallback``).
        max_steps: optional, an integer >= 0: a schedule that does not settle gets a table
            of ``max_steps + 1`` steps instead of 10**7 (less memory, faster to build);
            later steps are still served, past the table.

    Raises:
        TypeError: ``schedule`` is not an lrsched schedule, or a step is not a whole
            number; when an XLA-compiled tensorflow step is traced (the first ``fit``),
            a schedule with a user function that its table cannot cover and that cannot
            be traced (a function that fails on tensors or disagrees with the core
            there; the message says which).
        ValueError: ``max_steps`` is bad, or an eager step is negative.

    Keras equivalent: ``keras.optimizers.schedules.CosineDecay(...)`` and friends, e.g.
    ``CosineDecay(0.1, 1000, alpha=0.01)`` is ``KerasSchedule(lrsched.cosine(0.1, 1000,
    min_lr=0.001))``.

    >>> import lrsched
    >>> from lrsched.adapters.keras import KerasSchedule
    >>> lr = KerasSchedule(lrsched.cosine(base_lr=1.0, total_steps=10))
    >>> [float(lr(step)) for step in (0, 5, 10, 10**9)]
    [1.0, 0.5, 0.0, 0.0]
    >>> decay = KerasSchedule(lrsched.exponential(1.0, 0.5, decay_steps=2, staircase=True),
    ...                       max_steps=10)
    >>> [float(decay(step)) for step in (0, 3, 10, 11, 12)]
    [1.0, 0.5, 0.03125, 0.03125, 0.015625]
    """

    def __init__(self, schedule: lrsched.Schedule, max_steps: int | None = None):
        super().__init__()
        _step_schedule("KerasSchedule", schedule)
        if max_steps is not None:
            max_steps = check.integer("KerasSchedule", "max_steps", max_steps, minimum=0)
        self.schedule = schedule
        self.max_steps = max_steps
        self._layout = _tables.layout("KerasSchedule", schedule, max_steps)
        self._user = None if self._layout.settled else _tables.uses_user_function(schedule)
        # Always float32, never floatx: a float16 table rounds small LRs to 0.
        self._table_numpy = _tables.fill(schedule, self._layout.length)
        # Made once, eagerly: converting per call would copy the table every step in
        # eager backends, and inside a trace would stage a new constant each time.
        self._table = keras.ops.convert_to_tensor(self._table_numpy, dtype="float32")
        self._traced_ops: TracedOps | None = None  # made on first use in a trace
        # Under XLA, past the table: the checked user functions, or why not (a tuple).
        self._user_trace: TracedOps | tuple[str, str] | None = None

    def _host(self, steps: np.ndarray) -> np.ndarray:
        return _tables.host_values(self.schedule, self._table_numpy, self._layout, steps)

    def _whole_steps(self, value: Any) -> np.ndarray:
        """A concrete step (or steps) as int64, refusing fractional or negative ones."""
        steps = np.asarray(keras.ops.convert_to_numpy(value))
        if steps.dtype.kind == "f" and (
            not np.isfinite(steps).all() or (steps != np.floor(steps)).any()
        ):
            bad = steps[~(np.isfinite(steps) & (steps == np.floor(steps)))].flat[0]
            raise _not_whole(float(bad), _integer_dtype(value))
        if steps.size and steps.min() < 0:
            raise lrsched.ArgumentError(
                f"KerasSchedule(): step must be >= 0, got {steps.min().item()}"
            )
        return steps.astype(np.int64)

    def __call__(self, step: Any) -> Any:
        if isinstance(step, (bool, np.bool_)):
            raise _not_whole(step, "bool")
        if isinstance(step, numbers.Integral):
            step = int(step)
            if step < 0:
                raise lrsched.ArgumentError(f"KerasSchedule(): step must be >= 0, got {step}")
            # Python integers stay exact however large (keras.ops would cast to int32).
            return keras.ops.convert_to_tensor(
                _tables.host_value(self.schedule, self._table_numpy, self._layout, step),
                dtype="float32",
            )
        value = step.value if isinstance(step, keras.Variable) else step
        dtype = _integer_dtype(value)
        if "int" not in dtype and "float" not in dtype:
            raise _not_whole(step, dtype)
        if not _is_traced(value):
            if "int" in dtype and not getattr(value, "shape", ()):
                # One integer count (an eager optimizer's, as on the torch backend): the
                # Python int path, without the array checks (26 -> 15 us a step there).
                return self(int(value))
            return keras.ops.convert_to_tensor(
                self._host(self._whole_steps(value)), dtype="float32"
            )
        return self._traced(value, dtype)

    def _traced(self, value: Any, dtype: str) -> Any:
        ops = keras.ops
        backend = keras.backend.backend()
        if backend == "jax":
            from lrsched.adapters.jax import lookup

            return lookup(self.schedule, self._table, self._table_numpy, self._layout, value)
        steps = ops.cast(value, "int64")
        shape = self._layout
        if shape.period is not None:
            start = shape.repeats_from
            index = ops.where(steps < start, steps, start + ops.mod(steps - start, shape.period))
            return ops.take(self._table, index)
        inside = ops.take(self._table, ops.minimum(steps, shape.length - 1))
        if shape.settled:
            return inside
        beyond = self._past_table(steps, backend)
        if len(steps.shape) == 0:
            return ops.cond(steps < shape.length, lambda: inside, beyond)
        return ops.where(steps < shape.length, inside, beyond())

    def _past_table(self, steps: Any, backend: str) -> Any:
        """A function giving the LRs of traced ``steps`` past the table: the core on the
        host wherever the compiled step can call Python, the traced formula under XLA."""
        if backend == "tensorflow" and not _in_xla():
            import tensorflow as tf

            def from_host():
                # A plain tf.function graph runs Python through numpy_function: exact.
                values = tf.numpy_function(self._host, [steps], tf.float32, stateful=False)
                values.set_shape(steps.shape)
                return values

            return from_host
        if backend == "torch":
            import torch

            @torch.compiler.disable
            def from_host():
                # torch.compile breaks the graph here and runs the core eagerly: exact.
                host = self._host(self._whole_steps(steps))
                return keras.ops.convert_to_tensor(host, dtype="float32")

            return from_host
        from lrsched.adapters._traced import (
            TracedOps,
            UntracedFunction,
            keras_library,
            traced_values,
        )

        if self._user is not None:
            traced_ops = self._traced_user_functions()
        else:
            if self._traced_ops is None:
                self._traced_ops = TracedOps(keras_library())
            traced_ops = self._traced_ops
        ops = keras.ops

        def formula():
            flat = ops.reshape(steps, (-1,))
            try:
                values = traced_values(self.schedule, flat, traced_ops)
            except UntracedFunction as error:
                # Eager tensors ran it (the probe check), a symbolic one cannot.
                raise self._xla_refusal(error.reason, _TENSOR_ADVICE) from error
            return ops.reshape(ops.cast(values, "float32"), ops.shape(steps))

        return formula

    def _traced_user_functions(self) -> TracedOps:
        """The namespace that traces the schedule's user functions themselves, once they
        have agreed with the core at the probe steps (eagerly); refused otherwise."""
        if self._user_trace is None:
            self._user_trace = self._check_user_functions()
        if isinstance(self._user_trace, tuple):
            raise self._xla_refusal(*self._user_trace)
        return self._user_trace

    def _check_user_functions(self) -> TracedOps | tuple[str, str]:
        """TracedOps with user functions, or why not (and what else would do)."""
        families = _tables.user_families(self.schedule)
        for family in families:
            name = type(family).__name__
            if not isinstance(family, (lrsched.lambda_lr, lrsched.cyclic, lrsched.multiplicative)):
                return f"{name} is a family of its own, outside lrsched", ""
        import tensorflow as tf

        from lrsched.adapters._traced import (
            TracedOps,
            UntracedFunction,
            first_disagreement,
            keras_library,
            traced_values,
        )

        # A running product's probes stay near the table: its value at step t takes t
        # factors (its later steps are the same product carried on, step by step).
        products = any(isinstance(family, lrsched.multiplicative) for family in families)
        steps = _probe_steps(self._layout.length, far=not products)
        try:
            want = np.asarray(self.schedule(steps), dtype=np.float32)
        except (TypeError, ValueError) as error:
            return f"the schedule itself fails past the table: {error}", ""
        traced_ops = TracedOps(keras_library(), user_functions=True)

        def formula(t):
            return traced_values(self.schedule, t, traced_ops)

        # Called while the train step is traced: init_scope leaves that trace, so the
        # formula runs eagerly (on tensors whose values can be read), then is traced on
        # its own, on a symbolic tensor as in the step (where numpy and Python's if
        # fail), before the step's trace meets it inside a cond.
        with tf.init_scope():
            try:
                values = formula(tf.constant(steps.astype(np.int64)))
                tf.function(formula, autograph=False).get_concrete_function(
                    tf.TensorSpec([1], tf.int64)  # the flattened optimizer.iterations
                )
            except UntracedFunction as error:
                return error.reason, _TENSOR_ADVICE
            got = np.asarray(tf.cast(values, tf.float32).numpy())
        bad = first_disagreement(self.schedule, steps, got)
        if bad is not None:
            return (
                f"on tensors it gives {got[bad]!s} at step {int(steps[bad])}, where the "
                f"schedule is {want[bad]!s}",
                "",
            )
        return traced_ops

    def _xla_refusal(self, why: str, advice: str) -> lrsched.ArgumentTypeError:
        return lrsched.ArgumentTypeError(
            f"KerasSchedule(): in {self.schedule!r}, {type(self._user).__name__} calls "
            f"a Python function, and the schedule goes on past its table of "
            f"{self._layout.length} steps, but an XLA-compiled tensorflow step "
            "(jit_compile=True; Keras's jit_compile='auto' picks it on a GPU) cannot "
            f"call Python, and the function cannot be traced in its place: {why}; compile "
            "the model with jit_compile=False (steps past the table then come from the "
            "host, exactly), or use ScheduleCallback(schedule) with a float learning rate"
            f"{advice}"
        )

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
        if (
            not isinstance(config, dict)
            or "schedule" not in config
            or set(config) - {"schedule", "max_steps"}
        ):
            raise lrsched.ArgumentError(
                "KerasSchedule.from_config(): config must be a dict with keys 'schedule' "
                f"and 'max_steps', got {config!r}"
            )
        try:
            schedule = _step_schedule("KerasSchedule", lrsched.from_config(config["schedule"]))
            return cls(schedule, max_steps=config.get("max_steps"))
        except (TypeError, ValueError) as error:
            raise lrsched.ArgumentError(
                f"KerasSchedule.from_config(): cannot rebuild the saved schedule: {error}"
            ) from error

    def __repr__(self) -> str:
        limit = "" if self.max_steps is None else f", max_steps={self.max_steps}"
        return f"KerasSchedule({self.schedule!r}{limit})"


def _log_learning_rate(model: Any, logs: dict | None) -> None:
    """Put the optimizer's LR in the epoch's logs (so in History), as Keras's callbacks do."""
    if logs is not None:
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def _set_learning_rate(optimizer: Any, lr: float, who: str) -> None:
    """Assign a float LR, turning Keras's refusal for schedule-built optimizers into advice."""
    try:
        optimizer.learning_rate = float(lr)
    except (TypeError, AttributeError) as error:
        raise lrsched.ArgumentTypeError(
            f"{who}(): cannot set the learning rate of {type(optimizer).__name__}: it was "
            "built with a LearningRateSchedule (or a callable) as learning_rate, and Keras "
            "does not allow setting those. Build the optimizer with a float learning rate, "
            "e.g. keras.optimizers.Adam(learning_rate=1e-3), for this callback to drive it; "
            "or pass KerasSchedule(schedule) as learning_rate and drop the callback."
        ) from error


def _optimizer_of(model: Any, who: str) -> Any:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise lrsched.ArgumentError(
            f"{who}(): the model has no optimizer; call model.compile(optimizer=...) before fit"
        )
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
            raise lrsched.ArgumentError(
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

    def on_epoch_end(self, epoch, logs=None):
        _log_learning_rate(self.model, logs)


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

    def __init__(
        self,
        plateau: lrsched.plateau,
        monitor: str = "val_loss",
        interval: str = "epoch",
        state: lrsched.PlateauState | None = None,
    ):
        super().__init__()
        if not isinstance(plateau, lrsched.plateau):
            advice = (
                " (a schedule of the step goes in KerasSchedule or ScheduleCallback)"
                if isinstance(plateau, (lrsched.Schedule, KerasSchedule))
                else ""
            )
            check.fail(
                "PlateauCallback", "plateau", "an lrsched.plateau" + advice, plateau, TypeError
            )
        if not isinstance(monitor, str) or not monitor:
            check.fail(
                "PlateauCallback", "monitor", "a metric name (a non-empty str)", monitor, TypeError
            )
        if state is not None and not isinstance(state, lrsched.PlateauState):
            check.fail(
                "PlateauCallback",
                "state",
                "a PlateauState or None (a saved dict goes through plateau.state_from_dict(d))",
                state,
                TypeError,
            )
        self.plateau = plateau
        self.monitor = monitor
        self.interval = check.choice("PlateauCallback", "interval", interval, _INTERVALS)
        self.state = plateau.init() if state is None else state

    def __repr__(self) -> str:
        return (
            f"PlateauCallback({self.plateau!r}, monitor={self.monitor!r}, "
            f"interval={self.interval!r})"
        )

    def _apply(self) -> None:
        _set_learning_rate(
            _optimizer_of(self.model, "PlateauCallback"), self.state.lr, "PlateauCallback"
        )

    def _observe(self, logs: dict | None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise lrsched.ArgumentError(
                f"PlateauCallback(): monitor={self.monitor!r} is not in the logs; logged "
                f"metrics: {sorted(logs)} (val_* metrics need validation data, every epoch)"
            )
        value = logs[self.monitor]
        try:
            metric = float(value)
        except (TypeError, ValueError):
            raise lrsched.ArgumentTypeError(
                f"PlateauCallback(): monitor={self.monitor!r} must log a number, got {value!r}"
            ) from None
        self.state = self.plateau.update(self.state, metric)
        self._apply()

    def on_train_begin(self, logs=None):
        self._apply()

    def on_epoch_end(self, epoch, logs=None):
        # The LR the epoch trained with, logged before the metric can change it (as
        # Keras's ReduceLROnPlateau does).
        _log_learning_rate(self.model, logs)
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

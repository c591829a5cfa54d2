"""JAX bindings: an lrsched schedule as an optax schedule that works inside ``jax.jit``.

``JaxSchedule(s)`` is a callable of the update count, which is what optax takes as a
learning rate::

    optimizer = optax.adam(learning_rate=JaxSchedule(schedule))
    optimizer = optax.inject_hyperparams(optax.adamw)(learning_rate=JaxSchedule(schedule))

and so also a flax ``TrainState``'s ``tx``. Inside ``jax.jit`` the count is a tracer and
numpy cannot run on it, so the LR comes from the mechanism ``KerasSchedule`` uses
(``lrsched.adapters._tables``): a float32 table the core fills once, whose entry t is
``np.float32(s(t))`` bit for bit.

* A schedule that becomes constant or periodic (``s.tail()``) is served from its table at
  every step, by an integer index (clamped, or reduced modulo the period): one gather.
* Any other schedule gets a table of its first 10**7 steps (40 MB), and past it, in the
  branch of a ``lax.cond`` that runs only there, the schedule itself; never NaN, never
  clamped or wrapped, with no ``max_steps``:

  - the core's own formula, traced in float64 through ``lrsched.adapters._traced``
    (float64 inside that branch only, with or without ``jax_enable_x64``; a float32
    formula could not even hold a step past 2**24): ``np.float32(s(t))``, or one float32
    ulp from it where s(t) lies within a few float64 ulps of a float32 rounding boundary,
    and near 0 within 2**-48 of the schedule's scale (``tests/test_traced.py``). No host
    call: a ``jax.pure_callback`` anywhere in a compiled train step, even in a branch
    that never runs, cost Keras's ``fit`` about 100 us a step on CPU
    (``benchmarks/bench_keras.py``: 1.49x a float LR, against 1.02x traced);
  - a schedule with a user function (``lambda_lr``, ``multiplicative``, a ``cyclic``
    ``scale_fn``), which has no formula to trace: a ``jax.pure_callback`` asks the core
    for ``np.float32(s(t))`` on the host, exactly, at that per-step cost.

The count optax passes is int32 without ``jax_enable_x64``, so steps stop at 2**31 - 1
there, as optax's own counts do. Called with a Python number outside ``jit``, the value
comes from the host directly, for any whole step.

Reduce-on-plateau depends on a metric, so it is not a function of the count: keep the
``lrsched.plateau`` state on the host, update it after each evaluation, and feed its LR
to an injected hyperparameter (``docs/adapters-jax.md`` has the recipe).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "lrsched.adapters.jax needs jax (and optax to use it as an optimizer's learning "
        'rate): pip install "lrsched-numpy[jax]"'
    ) from error

import lrsched
from lrsched import validation as check
from lrsched.adapters import _tables

__all__ = ["JaxSchedule"]


def lookup(
    schedule: lrsched.Schedule,
    table: Any,
    table_numpy: np.ndarray,
    shape: _tables.Layout,
    count: Any,
) -> Any:
    """``np.float32(s(count))`` as a jax array, for a (possibly traced) integer count.

    Shared by ``JaxSchedule`` and ``KerasSchedule`` on the jax backend.
    """
    count = jnp.asarray(count)
    if not jnp.issubdtype(count.dtype, jnp.integer):
        count = count.astype(jnp.int64 if jax.config.read("jax_enable_x64") else jnp.int32)
    if shape.period is not None:
        start = shape.repeats_from
        return table[jnp.where(count < start, count, start + (count - start) % shape.period)]
    last = shape.length - 1
    if shape.settled:
        return table[jnp.minimum(count, last)]

    def from_table(steps):
        return table[jnp.minimum(steps, last)]

    if _FLOAT64 is not None and _tables.uses_user_function(schedule) is None:
        past_table = _formula(schedule)
    else:
        past_table = _from_host(schedule, table_numpy, shape)
    # One branch runs: the formula or the host only when some step lies past the table.
    return jax.lax.cond(jnp.all(count <= last), from_table, past_table, count)


# float64 for the formula's own branch, whatever jax_enable_x64 says outside it (optax and
# Keras keep jax in float32): a context that older jax spells jax.experimental.enable_x64.
_FLOAT64: Any = getattr(jax, "enable_x64", None)
if _FLOAT64 is None:  # pragma: no cover - older jax
    _FLOAT64 = getattr(jax.experimental, "enable_x64", None)


def _formula(schedule):
    """The core's own formula, traced in float64, for the steps past the table.

    Not a host callback: its mere presence in a compiled train step cost Keras's ``fit``
    on jax ~100 us a step (1.49x a float LR against 1.02x traced,
    ``benchmarks/bench_keras.py``'s exponential), even at steps the table serves.
    """
    from lrsched.adapters._traced import JaxLibrary, TracedOps, traced_values

    def past_table(steps):
        with _FLOAT64(True):
            ops = TracedOps(JaxLibrary("float64"))
            values = traced_values(schedule, steps.reshape(-1), ops)
            return values.astype(jnp.float32).reshape(steps.shape)

    return past_table


def _from_host(schedule, table_numpy, shape):
    def from_host(steps):
        def exact(host_steps):
            return _tables.host_values(schedule, table_numpy, shape, np.asarray(host_steps))

        return jax.pure_callback(
            exact, jax.ShapeDtypeStruct(steps.shape, jnp.float32), steps, vmap_method="expand_dims"
        )

    return from_host


class JaxSchedule:
    r"""An lrsched schedule as an optax schedule, exact inside ``jax.jit``.

    .. math:: \eta_t = \text{float32}(s(t)),\quad t = \text{the optimizer's update count}

    Args:
        schedule: any ``lrsched`` schedule (a ``plateau`` needs the recipe in the module
            docstring).
        max_steps: optional, an integer >= 0: a schedule that does not settle gets a table
            of ``max_steps + 1`` steps instead of 10**7 (less memory, faster to build and
            compile); later steps still follow the schedule (see above).

    Returns (when called): a float32 jax array shaped like the count.

    Raises:
        TypeError: ``schedule`` is not an lrsched schedule; a step is not a whole number.
        ValueError: a concrete step is negative.

    optax equivalent: ``optax.cosine_decay_schedule(0.1, 1000, alpha=0.01)`` is
    ``JaxSchedule(lrsched.cosine(0.1, 1000, min_lr=0.001))``.

    >>> import jax, lrsched
    >>> from lrsched.adapters.jax import JaxSchedule
    >>> lr = JaxSchedule(lrsched.cosine(base_lr=1.0, total_steps=10))
    >>> [float(lr(step)) for step in (0, 5, 10, 10**9)]
    [1.0, 0.5, 0.0, 0.0]
    >>> float(jax.jit(lr)(5))
    0.5
    """

    def __init__(self, schedule: lrsched.Schedule, *, max_steps: int | None = None):
        if isinstance(schedule, lrsched.plateau):
            raise lrsched.ArgumentTypeError(
                "JaxSchedule(): schedule must be an lrsched schedule of the step; a plateau "
                "depends on a metric: keep its state on the host and feed state.lr to "
                "optax.inject_hyperparams (see lrsched.adapters.jax), got "
                f"{schedule!r}"
            )
        if not isinstance(schedule, lrsched.Schedule):
            check.not_a_schedule("JaxSchedule", "schedule", schedule)
        self.schedule = schedule
        self.max_steps = max_steps
        self._layout = _tables.layout("JaxSchedule", schedule, max_steps)
        # Filled on first use (see _tables).
        self._table: Any = None
        self._table_numpy: np.ndarray | None = None

    def _tables(self) -> tuple[Any, np.ndarray]:
        # Filled on first use: 10**7 steps take the core a second or more.
        if self._table is None or self._table_numpy is None:
            table = _tables.fill(self.schedule, self._layout.length)
            # A concrete array even when first asked for inside a trace.
            with jax.ensure_compile_time_eval():
                self._table = jnp.asarray(table)
            self._table_numpy = table
        return self._table, self._table_numpy

    def __call__(self, count: Any) -> Any:
        if isinstance(count, (bool, np.bool_)):
            raise lrsched.ArgumentTypeError(
                f"JaxSchedule(): step must be a whole number, got {count!r}"
            )
        if isinstance(count, (numbers.Integral, float, np.floating)):
            value = float(count)
            if not value.is_integer():
                raise lrsched.ArgumentTypeError(
                    f"JaxSchedule(): step must be a whole number, got {count!r}; for "
                    "fractional steps call the lrsched schedule itself"
                )
            if value < 0:
                raise lrsched.ArgumentError(f"JaxSchedule(): step must be >= 0, got {count!r}")
            return jnp.float32(
                _tables.host_value(self.schedule, self._tables()[1], self._layout, int(count))
            )
        array = count if isinstance(count, jax.Array) else jnp.asarray(count)
        if not (
            jnp.issubdtype(array.dtype, jnp.integer) or jnp.issubdtype(array.dtype, jnp.floating)
        ):
            raise lrsched.ArgumentTypeError(
                f"JaxSchedule(): step must be a whole number, got {count!r}"
            )
        if not isinstance(array, jax.core.Tracer):
            steps = np.asarray(array)
            if steps.dtype.kind == "f" and not (
                np.isfinite(steps).all() and (steps == np.floor(steps)).all()
            ):
                raise lrsched.ArgumentTypeError(
                    f"JaxSchedule(): step must be a whole number, got {count!r}"
                )
            if steps.size and steps.min() < 0:
                raise lrsched.ArgumentError(
                    f"JaxSchedule(): step must be >= 0, got {steps.min().item()!r}"
                )
        return lookup(self.schedule, *self._tables(), self._layout, array)

    def __repr__(self) -> str:
        limit = "" if self.max_steps is None else f", max_steps={self.max_steps}"
        return f"JaxSchedule({self.schedule!r}{limit})"

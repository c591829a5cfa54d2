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

  - by default (float32 jax), a ``jax.pure_callback`` asks the core for
    ``np.float32(s(t))`` on the host: exact, user functions included. A traced float32
    formula could not be exact: float32 cannot even hold a step past 2**24. The cost:
    nothing measurable while the steps are in the table (the untaken branch adds about
    0.3 us per iteration inside ``lax.scan``/``fori_loop`` on CPU); past it, one host
    round trip per step, about 0.2 ms on CPU;
  - with ``jax_enable_x64``, the core's own formula traced in float64 through
    ``lrsched.adapters._traced`` (no host call): ``np.float32(s(t))``, or one float32 ulp
    from it where s(t) lies within a few float64 ulps of a float32 rounding boundary, and
    near 0 within 2**-48 of the largest value (``tests/test_traced.py``). Schedules with
    user functions still use the callback.

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

    if jax.config.read("jax_enable_x64") and _tables.uses_user_function(schedule) is None:
        from lrsched.adapters._traced import JaxLibrary, TracedOps, traced_values

        ops = TracedOps(JaxLibrary("float64"))

        def past_table(steps):
            values = traced_values(schedule, steps.reshape(-1), ops)
            return values.astype(jnp.float32).reshape(steps.shape)
    else:
        past_table = _from_host(schedule, table_numpy, shape)
    # One branch runs: the formula or the host only when some step lies past the table.
    return jax.lax.cond(jnp.all(count <= last), from_table, past_table, count)


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
            compile); later steps are still exact, from the host.

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

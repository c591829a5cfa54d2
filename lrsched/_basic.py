"""Closed-form families: constant, step, decays, ramps and user functions."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lrsched import _validation as check
from lrsched._base import Schedule, Tail, frozen, function_field, user_function
from lrsched._ops import NUMPY
from lrsched._structure import Every


@frozen
class constant(Schedule):
    r"""The same learning rate at every step.

    .. math:: \eta_t = \text{lr}

    Args:
        lr: the learning rate, >= 0.

    Torch ``ConstantLR(factor=1)``; Keras: a float learning rate.

    >>> import lrsched
    >>> lrsched.constant(0.01)([0, 10, 1e9])
    array([0.01, 0.01, 0.01])
    """

    lr: float

    def __post_init__(self):
        self._set(lr=check.non_negative("constant", "lr", self.lr))

    def _values(self, t, xp=NUMPY):
        return xp.full_like(t, self.lr)

    def _breakpoints(self, low, high):
        return ()

    def _flat_pieces(self):
        return True

    def tail(self):
        return Tail(0.0)


@frozen
class step(Schedule):
    r"""Decay by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \text{base\_lr} \cdot \gamma^{\lfloor t / \text{step\_size} \rfloor}

    Args:
        base_lr: learning rate before the first decay, >= 0.
        step_size: steps between decays, a positive integer.
        gamma: multiplicative factor, > 0.

    Torch ``StepLR``; Keras ``ExponentialDecay(staircase=True)``.

    >>> import lrsched
    >>> lrsched.step(base_lr=0.1, step_size=30)([0, 29, 30, 60])
    array([0.1  , 0.1  , 0.01 , 0.001])
    """

    base_lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        self._set(
            base_lr=check.non_negative("step", "base_lr", self.base_lr),
            step_size=check.integer("step", "step_size", self.step_size, minimum=1),
            gamma=check.positive("step", "gamma", self.gamma),
        )

    def _values(self, t, xp=NUMPY):
        decays, _ = xp.floor_divmod(t, self.step_size)
        return xp.integer_powers(self.base_lr, self.gamma, decays)

    def _breakpoints(self, low, high):
        """A drop every step_size steps (none if it never decays)."""
        return () if self.gamma == 1.0 or self.base_lr == 0.0 else (Every(self.step_size),)

    def _flat_pieces(self):
        return True


@frozen
class multistep(Schedule):
    r"""Decay by ``gamma`` at each milestone; a repeated milestone decays twice.

    .. math:: \eta_t = \text{base\_lr} \cdot \gamma^{\#\{m \in \text{milestones} : m \le t\}}

    Args:
        base_lr: learning rate before the first milestone, >= 0.
        milestones: steps at which to decay, non-negative integers in any order (stored
            sorted; they count as a multiset).
        gamma: multiplicative factor, > 0.

    Torch ``MultiStepLR`` (a ``Counter`` of milestones there: repeats count twice too).

    >>> import lrsched
    >>> lrsched.multistep(base_lr=1.0, milestones=[2, 4, 4], gamma=0.5)([0, 2, 4])
    array([1.   , 0.5  , 0.125])
    """

    base_lr: float
    milestones: tuple
    gamma: float = 0.1

    def __post_init__(self):
        def milestone(func, name, value):
            return check.integer(func, name, value, minimum=0)

        self._set(
            base_lr=check.non_negative("multistep", "base_lr", self.base_lr),
            milestones=tuple(
                sorted(check.sequence_of("multistep", "milestones", self.milestones, milestone))
            ),
            gamma=check.positive("multistep", "gamma", self.gamma),
        )

    def _values(self, t, xp=NUMPY):
        passed = xp.searchsorted(self.milestones, t, side="right")
        return xp.integer_powers(self.base_lr, self.gamma, passed)

    def _breakpoints(self, low, high):
        return self.milestones

    def _flat_pieces(self):
        return True

    def tail(self):
        return Tail(float(self.milestones[-1]))


@frozen
class piecewise_constant(Schedule):
    r"""Constant pieces between boundaries, each boundary belonging to the piece before it.

    .. math:: \eta_t = \text{values}[i] \quad\text{where}\quad
              \text{boundaries}[i-1] < t \le \text{boundaries}[i]

    with ``values[0]`` for ``t <= boundaries[0]`` and ``values[-1]`` after the last boundary.

    Args:
        boundaries: strictly increasing steps, >= 0.
        values: learning rates, one more than there are boundaries, each >= 0.

    Keras ``PiecewiseConstantDecay`` (inclusive boundaries, as here).

    >>> import lrsched
    >>> lrsched.piecewise_constant([10, 20], [1.0, 0.5, 0.1])([10, 11, 20, 21])
    array([1. , 0.5, 0.5, 0.1])
    """

    boundaries: tuple
    values: tuple

    def __post_init__(self):
        func = "piecewise_constant"
        boundaries = check.sequence_of(
            func, "boundaries", self.boundaries, check.non_negative, increasing="strictly"
        )
        values = check.sequence_of(func, "values", self.values, check.non_negative, min_length=2)
        check.same_length(func, "boundaries", boundaries, "values", values, offset=1)
        self._set(boundaries=boundaries, values=values)

    def _values(self, t, xp=NUMPY):
        return xp.take(self.values, xp.searchsorted(self.boundaries, t, side="left"))

    def _breakpoints(self, low, high):
        return self.boundaries

    def _flat_pieces(self):
        return True

    def tail(self):
        # The last boundary itself still takes the value before it.
        return Tail(float(np.nextafter(self.boundaries[-1], math.inf)))


@frozen
class piecewise_linear(Schedule):
    r"""Straight lines through (boundaries[i], values[i]); flat before the first and after the last.

    .. math:: \eta_t = v_i + (v_{i+1} - v_i)\frac{t - b_i}{b_{i+1} - b_i}
              \quad\text{for}\quad b_i \le t \le b_{i+1}

    Args:
        boundaries: strictly increasing steps, >= 0.
        values: learning rates at those steps, as many as boundaries, each >= 0.

    Optax ``piecewise_interpolate_schedule`` with absolute values; fastai's ``combined_cos``
    shape with straight lines.

    >>> import lrsched
    >>> lrsched.piecewise_linear([0, 10, 20], [0.0, 1.0, 0.5])([5, 10, 15, 30])
    array([0.5 , 1.  , 0.75, 0.5 ])
    """

    boundaries: tuple
    values: tuple

    def __post_init__(self):
        func = "piecewise_linear"
        boundaries = check.sequence_of(
            func, "boundaries", self.boundaries, check.non_negative, increasing="strictly"
        )
        values = check.sequence_of(func, "values", self.values, check.non_negative)
        check.same_length(func, "boundaries", boundaries, "values", values)
        self._set(boundaries=boundaries, values=values)

    def _values(self, t, xp=NUMPY):
        values = xp.interp(t, self.boundaries, self.values)
        # interp's slope * (t - b) + v can undershoot both ends by an ulp (below 0 near 0).
        return xp.clip(values, min(self.values), max(self.values))

    def _breakpoints(self, low, high):
        return self.boundaries

    def tail(self):
        return Tail(self.boundaries[-1])


@frozen
class exponential(Schedule):
    r"""Exponential decay, continuous or in stairs.

    .. math:: \eta_t = \text{base\_lr} \cdot \gamma^{p},\quad
              p = t/\text{decay\_steps}\ (\text{or } \lfloor t/\text{decay\_steps} \rfloor
              \text{ if staircase})

    Args:
        base_lr: learning rate at step 0, >= 0.
        gamma: factor per ``decay_steps`` steps, > 0 (> 1 grows; a value that overflows
            float64 raises rather than returning inf).
        decay_steps: steps per factor of gamma, > 0.
        staircase: decay in whole steps of ``decay_steps``.

    Torch ``ExponentialLR(gamma)`` is ``decay_steps=1``; Keras ``ExponentialDecay`` and
    ``tf.train.exponential_decay`` take ``decay_rate`` as ``gamma``.

    >>> import lrsched
    >>> lrsched.exponential(base_lr=1.0, gamma=0.5, decay_steps=2)([0, 1, 2])
    array([1.        , 0.70710678, 0.5       ])
    """

    base_lr: float
    gamma: float
    decay_steps: float = 1
    staircase: bool = False

    def __post_init__(self):
        self._set(
            base_lr=check.non_negative("exponential", "base_lr", self.base_lr),
            gamma=check.positive("exponential", "gamma", self.gamma),
            decay_steps=check.whole_if_integral(
                check.step_length(
                    "exponential", "decay_steps", self.decay_steps, "a finite number of decay_steps"
                )
            ),
            staircase=check.boolean("exponential", "staircase", self.staircase),
        )

    def _values(self, t, xp=NUMPY):
        if self.base_lr == 0.0:  # 0 everywhere, even where gamma ** p overflows
            return xp.full_like(t, 0.0)
        exponent = t / self.decay_steps
        if self.staircase:
            exponent = xp.floor(exponent)
        return self.base_lr * xp.power(self.gamma, exponent)

    def _breakpoints(self, low, high):
        """Smooth, but for a staircase's drops every decay_steps."""
        if self.staircase and self.gamma != 1.0 and self.base_lr != 0.0:
            return (Every(self.decay_steps),)
        return ()

    def _flat_pieces(self):
        return self.staircase

    def tail(self):
        return Tail(0.0) if self.gamma == 1.0 or self.base_lr == 0.0 else None


@frozen
class exponential_ramp(Schedule):
    r"""Geometric ramp from ``start_lr`` to ``end_lr`` over ``total_steps``, then holds.

    .. math:: \eta_t = \text{start\_lr}\left(\frac{\text{end\_lr}}{\text{start\_lr}}\right)
              ^{\min(t, T)/T}

    The LR range test's ramp: ``num_steps`` points from start to end are
    ``total_steps = num_steps - 1``.

    Args:
        start_lr: learning rate at step 0, > 0.
        end_lr: learning rate at ``total_steps`` and after, > 0.
        total_steps: length of the ramp, a positive integer.

    fastai ``SchedExp``; Keras-tuner style LR finders.

    >>> import lrsched
    >>> lrsched.exponential_ramp(1e-3, 1.0, total_steps=3)([0, 1, 2, 3, 9])
    array([0.001, 0.01 , 0.1  , 1.   , 1.   ])
    """

    start_lr: float
    end_lr: float
    total_steps: int

    def __post_init__(self):
        self._set(
            start_lr=check.positive("exponential_ramp", "start_lr", self.start_lr),
            end_lr=check.positive("exponential_ramp", "end_lr", self.end_lr),
            total_steps=check.integer(
                "exponential_ramp", "total_steps", self.total_steps, minimum=1
            ),
        )

    def _values(self, t, xp=NUMPY):
        fraction = xp.minimum(t, self.total_steps) / self.total_steps
        # exp(log) instead of a power of the ratio: exact at both ends of the ramp.
        log_start, log_end = math.log(self.start_lr), math.log(self.end_lr)
        values = xp.exp(log_start + (log_end - log_start) * fraction)
        values = xp.where(fraction == 0.0, self.start_lr, values)
        values = xp.where(fraction == 1.0, self.end_lr, values)
        # exp(log(x)) can land an ulp outside the ramp's ends (even when start == end).
        low, high = sorted((self.start_lr, self.end_lr))
        return xp.clip(values, low, high)

    def _breakpoints(self, low, high):
        return (self.total_steps,)

    def tail(self):
        return Tail(float(self.total_steps))


@frozen
class linear(Schedule):
    r"""Straight line from ``start_lr`` to ``end_lr`` over ``total_steps``, then holds.

    .. math:: \eta_t = \text{start\_lr} + (\text{end\_lr} - \text{start\_lr})
              \frac{\min(t, T)}{T}

    Args:
        start_lr: learning rate at step 0, >= 0.
        end_lr: learning rate at ``total_steps`` and after, >= 0.
        total_steps: length of the line, a positive integer.

    Torch ``LinearLR(start_factor, end_factor, total_iters)`` is
    ``linear(base*start_factor, base*end_factor, total_iters)``.

    >>> import lrsched
    >>> lrsched.linear(0.0, 1.0, total_steps=4)([0, 1, 4, 8])
    array([0.  , 0.25, 1.  , 1.  ])
    """

    start_lr: float
    end_lr: float
    total_steps: int

    def __post_init__(self):
        self._set(
            start_lr=check.non_negative("linear", "start_lr", self.start_lr),
            end_lr=check.non_negative("linear", "end_lr", self.end_lr),
            total_steps=check.integer("linear", "total_steps", self.total_steps, minimum=1),
        )

    def _values(self, t, xp=NUMPY):
        total = self.total_steps
        # Measured from the end, with the steps left counted exactly: a decay to 0 keeps
        # its relative precision to the last step (start * (1 - t/T) would cancel).
        left = (total - xp.minimum(t, total)) / total
        values = left * (self.start_lr - self.end_lr) + self.end_lr
        # (start - end) + end need not round to start: hold start_lr exactly at step 0.
        values = xp.where(t == 0, self.start_lr, values)
        low, high = sorted((self.start_lr, self.end_lr))
        return xp.clip(values, low, high)

    def _breakpoints(self, low, high):
        return (self.total_steps,)

    def tail(self):
        return Tail(float(self.total_steps))


@frozen
class polynomial(Schedule):
    r"""Polynomial decay from ``base_lr`` to ``end_lr`` over ``total_steps``.

    .. math:: \eta_t = (\text{base\_lr} - \text{end\_lr})
              \left(1 - \frac{\min(t, T)}{T}\right)^{\text{power}} + \text{end\_lr}

    With ``cycle=True`` the decay restarts: T becomes
    ``total_steps * max(1, ceil(t / total_steps))``, as in Keras.

    Args:
        base_lr: learning rate at step 0, >= 0.
        total_steps: decay length, a positive integer.
        end_lr: learning rate at the end, >= 0.
        power: exponent of the decay, > 0.
        cycle: restart the decay with a longer period after each end.

    Torch ``PolynomialLR(total_iters, power)`` (end 0); Keras ``PolynomialDecay``.

    >>> import lrsched
    >>> lrsched.polynomial(1.0, total_steps=4, power=2.0)([0, 2, 4, 5])
    array([1.  , 0.25, 0.  , 0.  ])
    """

    base_lr: float
    total_steps: int
    end_lr: float = 0.0
    power: float = 1.0
    cycle: bool = False

    def __post_init__(self):
        self._set(
            base_lr=check.non_negative("polynomial", "base_lr", self.base_lr),
            total_steps=check.integer("polynomial", "total_steps", self.total_steps, minimum=1),
            end_lr=check.non_negative("polynomial", "end_lr", self.end_lr),
            power=check.positive("polynomial", "power", self.power),
            cycle=check.boolean("polynomial", "cycle", self.cycle),
        )

    def _values(self, t, xp=NUMPY):
        # The steps left are counted exactly (fmod, subtraction) rather than as 1 - t/T,
        # which cancels to a few correct digits near the end of a long decay.
        total = self.total_steps
        if self.cycle:
            into = xp.fmod(t, total)
            left = xp.where(t == 0, total, xp.where(into > 0, total - into, 0.0))
            periods = xp.maximum((t - into) / total + (into > 0), 1.0)
            remaining = left / (total * periods)
        else:
            remaining = (total - xp.minimum(t, total)) / total
        values = remaining**self.power * (self.base_lr - self.end_lr) + self.end_lr
        # (base - end) + end need not round back to base: stay between the two ends.
        low, high = sorted((self.base_lr, self.end_lr))
        return xp.clip(values, low, high)

    def _breakpoints(self, low, high):
        """Its end, or with ``cycle`` every restart (each with a longer period)."""
        return (Every(self.total_steps),) if self.cycle else (self.total_steps,)

    def tail(self):
        return None if self.cycle else Tail(float(self.total_steps))


@frozen
class inverse_time(Schedule):
    r"""Inverse-time decay.

    .. math:: \eta_t = \frac{\text{base\_lr}}{1 + \text{decay\_rate} \cdot p},\quad
              p = t/\text{decay\_steps}\ (\lfloor\cdot\rfloor \text{ if staircase})

    Args:
        base_lr: learning rate at step 0, >= 0.
        decay_steps: steps per unit of p, > 0.
        decay_rate: >= 0.
        staircase: use whole units of p.

    Keras ``InverseTimeDecay``.

    >>> import lrsched
    >>> lrsched.inverse_time(1.0, decay_steps=10, decay_rate=1.0)([0, 10, 30])
    array([1.  , 0.5 , 0.25])
    """

    base_lr: float
    decay_steps: float
    decay_rate: float
    staircase: bool = False

    def __post_init__(self):
        self._set(
            base_lr=check.non_negative("inverse_time", "base_lr", self.base_lr),
            decay_steps=check.whole_if_integral(
                check.step_length(
                    "inverse_time",
                    "decay_steps",
                    self.decay_steps,
                    "a finite number of decay_steps",
                )
            ),
            decay_rate=check.non_negative("inverse_time", "decay_rate", self.decay_rate),
            staircase=check.boolean("inverse_time", "staircase", self.staircase),
        )

    def _values(self, t, xp=NUMPY):
        progress = t / self.decay_steps
        if self.staircase:
            progress = xp.floor(progress)
        return self.base_lr / (progress * self.decay_rate + 1.0)

    def _breakpoints(self, low, high):
        """Smooth, but for a staircase's drops every decay_steps."""
        if self.staircase and self.decay_rate != 0.0 and self.base_lr != 0.0:
            return (Every(self.decay_steps),)
        return ()

    def _flat_pieces(self):
        return self.staircase


@frozen
class inverse_sqrt(Schedule):
    r"""Inverse square-root decay, starting at ``base_lr``.

    .. math:: \eta_t = \text{base\_lr}\sqrt{\frac{\tau}{t + \tau}}

    Args:
        base_lr: learning rate at step 0, >= 0.
        timescale: tau, steps over which the LR falls to ``base_lr/sqrt(2)``, > 0.

    transformers ``get_inverse_sqrt_schedule(num_warmup_steps=W, timescale=tau)`` is
    ``sequence([linear(0, base_lr, W), inverse_sqrt(base_lr, timescale=tau)], [W])``; the
    "Noam"/Transformer schedule is ``warmup(inverse_sqrt(peak, timescale=W), W)``.

    >>> import lrsched
    >>> lrsched.inverse_sqrt(1.0, timescale=100)([0, 300])
    array([1. , 0.5])
    """

    base_lr: float
    timescale: float = 10_000

    def __post_init__(self):
        self._set(
            base_lr=check.non_negative("inverse_sqrt", "base_lr", self.base_lr),
            timescale=check.whole_if_integral(
                check.positive("inverse_sqrt", "timescale", self.timescale)
            ),
        )

    def _values(self, t, xp=NUMPY):
        return xp.sqrt(self.timescale / (t + self.timescale)) * self.base_lr

    def _breakpoints(self, low, high):
        return ()


@frozen
class lambda_lr(Schedule):
    r"""``base_lr`` times a user function of the step.

    .. math:: \eta_t = \text{base\_lr} \cdot f(t)

    ``fn`` may be vectorized (it is then called once with the whole array) or written
    for one step at a time with Python ``if``/``math`` (it is then called per step, with an
    ``int`` for whole steps as torch does). For configs and ``parse``, register it with
    ``lrsched.register_function`` and pass it or its name.

    Args:
        base_lr: >= 0.
        fn: callable of the step returning a factor (finite, >= 0), or a registered name.

    Torch ``LambdaLR``; Keras ``LearningRateScheduler``.

    >>> import lrsched
    >>> lrsched.lambda_lr(0.1, lambda t: 1.0 if t < 2 else 0.5)([0, 1, 2])
    array([0.1 , 0.1 , 0.05])
    """

    base_lr: float
    fn: Callable = function_field()

    def __post_init__(self):
        self._set(
            base_lr=check.non_negative("lambda_lr", "base_lr", self.base_lr),
            fn=user_function("lambda_lr", "fn", self.fn),
        )

    def _values(self, t, xp=NUMPY):
        return xp.user(self.fn, t, func="lambda_lr", name="fn") * self.base_lr

    def _breakpoints(self, low, high):
        return None  # the user's function decides


@frozen
class multiplicative(Schedule):
    r"""``base_lr`` times the running product of a user factor, one factor per step.

    .. math:: \eta_t = \text{base\_lr} \prod_{k=1}^{\lfloor t \rfloor} f(k)

    Computed as a cumulative product over ``f(1..max t)`` (up to 10**8 steps), in the
    same order torch multiplies, so it matches ``MultiplicativeLR`` to the last bit for a
    vectorizable ``fn``. The products are kept as long as the schedule (the latest 2**24,
    and a checkpoint every 2**16 steps), so asking steps in order calls ``fn`` once per
    step in all.

    Args:
        base_lr: >= 0.
        fn: callable of the step returning a factor (finite, >= 0), or a registered name.

    Torch ``MultiplicativeLR``.

    >>> import lrsched
    >>> lrsched.multiplicative(1.0, lambda k: 0.5)([0, 1, 3])
    array([1.   , 0.5  , 0.125])
    """

    base_lr: float
    fn: Callable = function_field()

    def __post_init__(self):
        self._set(
            base_lr=check.non_negative("multiplicative", "base_lr", self.base_lr),
            fn=user_function("multiplicative", "fn", self.fn),
        )

    def _values(self, t, xp=NUMPY):
        def factors(steps):
            return xp.user(self.fn, steps, func="multiplicative", name="fn")

        # Truncation is the floor for steps >= 0. The namespace keeps the products: the
        # evaluator's, for numpy; a traced one keeps the latest in the compiled step.
        return xp.running_products(self, self.base_lr, t.astype(np.intp), factors)

    def _breakpoints(self, low, high):
        return None  # the user's function decides

    def _cost_grows_with_the_step(self):
        """Step t needs the running product of the t factors before it."""
        return True

    def _flat_pieces(self):
        return True  # one factor per whole step

"""Hypothesis strategies that generate valid lrsched schedules and step arrays.

Naming: ``<family>_schedules()`` generates schedules of one family (``cosine_schedules()``,
``step_schedules()``, ``warmup_schedules()``), ``schedules()`` draws across every family and
composite, ``steps()`` generates step arrays, and ``plateaus()`` generates the plateau state
machine (a family that is not a schedule). Arguments that a composite needs (the schedules
it wraps) come first; every bound is keyword-only and named ``min_*``/``max_*``.

Every learning rate a strategy passes to a family (``base_lr``, ``min_lr``, ``end_lr``,
``values``, ...) lies in ``[min_lr, max_lr]``, and every schedule ``schedules()`` generates
takes values in ``[0, max_lr]`` at every step: decays go below ``min_lr`` but nothing grows
past ``max_lr`` (growing exponentials are left out; products multiply one schedule by
factors in [0, 1]). Parameters reach their edges often: ``total_steps=1``,
``min_lr == base_lr``, tiny ``gamma``, a milestone at step 0, repeated milestones.

Shrinking goes towards the simplest member of each family: the lower bounds of the
learning rates, the shortest lengths, the fewest pieces, and the family's default options.

>>> import lrsched
>>> from hypothesis import given
>>> from lrsched.testing import strategies as lst
>>> @given(lst.cosine_schedules(max_lr=0.5))
... def test_cosine_stays_below_its_peak(schedule):
...     assert schedule(0) <= 0.5
>>> test_cosine_stays_below_its_peak()
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ModuleNotFoundError as error:  # pragma: no cover - exercised with hypothesis hidden
    raise ImportError(
        'lrsched.testing.strategies needs hypothesis: pip install "lrsched-numpy[testing]"'
    ) from error

import lrsched
from lrsched._base import Schedule
from lrsched._registry import register_function

__all__ = [
    "FAMILY_STRATEGIES",
    "clip_schedules",
    "constant_schedules",
    "cosine_schedules",
    "cycle_momentum_schedules",
    "cyclic_schedules",
    "exponential_ramp_schedules",
    "exponential_schedules",
    "inverse_sqrt_schedules",
    "inverse_time_schedules",
    "lambda_lr_schedules",
    "leaf_schedules",
    "linear_schedules",
    "multiplicative_schedules",
    "multistep_schedules",
    "one_cycle_schedules",
    "per_epoch_schedules",
    "piecewise_constant_schedules",
    "piecewise_linear_schedules",
    "plateaus",
    "polynomial_schedules",
    "product_schedules",
    "schedules",
    "sequence_schedules",
    "shift_schedules",
    "step_schedules",
    "steps",
    "tanh_schedules",
    "warm_restarts_schedules",
    "warmup_schedules",
    "wsd_schedules",
]

LARGEST_EXACT_STEP = 2.0**53  # every integer step up to here is a float64 exactly


# ---------------------------------------------------------------------------------------
# Functions for lambda_lr, multiplicative and cyclic(scale_fn=...). Registered under
# lrsched-specific names so generated schedules round trip through configs and parse.
# Each returns factors in [0, 1], so schedules built on them stay within their bounds.


def lrsched_testing_one(t):
    """Factor 1 at every step (vectorized)."""
    return np.ones_like(np.asarray(t, dtype=np.float64))


def lrsched_testing_halve_every_10(t):
    """0.5 ** floor(t / 10) (vectorized)."""
    return 0.5 ** np.floor(np.asarray(t, dtype=np.float64) / 10.0)


def lrsched_testing_inverse(t):
    """1 / (1 + t) (vectorized)."""
    return 1.0 / (1.0 + np.asarray(t, dtype=np.float64))


def lrsched_testing_drop_at_100(t):
    """1 before step 100, then 0.1; written with a Python ``if``, so it is not vectorizable."""
    return 1.0 if t < 100 else 0.1


def lrsched_testing_factor_0_99(k):
    """0.99 at every step, the per-step factor of a slow multiplicative decay."""
    return np.full_like(np.asarray(k, dtype=np.float64), 0.99)


def lrsched_testing_halve_cycle(cycle):
    """0.5 ** (cycle - 1): triangular2's scale, as a user scale function of the cycle."""
    return 0.5 ** (np.asarray(cycle, dtype=np.float64) - 1.0)


for _function in (
    lrsched_testing_one,
    lrsched_testing_halve_every_10,
    lrsched_testing_inverse,
    lrsched_testing_drop_at_100,
    lrsched_testing_factor_0_99,
    lrsched_testing_halve_cycle,
):
    register_function(_function)

LAMBDA_FUNCTIONS = (
    lrsched_testing_one,
    lrsched_testing_halve_every_10,
    lrsched_testing_inverse,
    lrsched_testing_drop_at_100,
)
FACTOR_FUNCTIONS = (
    lrsched_testing_one,
    lrsched_testing_factor_0_99,
    lrsched_testing_inverse,
    lrsched_testing_drop_at_100,
)
CYCLE_SCALE_FUNCTIONS = (lrsched_testing_halve_cycle, lrsched_testing_one)
ITERATION_SCALE_FUNCTIONS = (lrsched_testing_inverse, lrsched_testing_one)


# ---------------------------------------------------------------------------------------
# Argument checks: hypothesis's own convention, InvalidArgument showing name=value.


def _check_lr_bounds(func: str, min_lr: float, max_lr: float, *, positive: bool = False):
    for name, value in (("min_lr", min_lr), ("max_lr", max_lr)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise InvalidArgument(f"{func}(): {name}={value!r} must be a finite number >= 0")
    if min_lr > max_lr:
        raise InvalidArgument(f"{func}(): min_lr={min_lr!r} must be <= max_lr={max_lr!r}")
    if positive and max_lr <= 0:
        raise InvalidArgument(
            f"{func}(): max_lr={max_lr!r} must be > 0 (this family needs positive learning rates)"
        )


def _check_count(func: str, name: str, value: int, minimum: int):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgument(f"{func}(): {name}={value!r} must be an integer >= {minimum}")


def _check_strategy(func: str, name: str, value):
    if value is not None and not isinstance(value, st.SearchStrategy):
        raise InvalidArgument(f"{func}(): {name}={value!r} must be a hypothesis strategy or None")


# ---------------------------------------------------------------------------------------
# Building blocks.


@functools.lru_cache(maxsize=256)
def _lrs(min_lr: float, max_lr: float, *, positive: bool = False) -> st.SearchStrategy[float]:
    """Learning rates in [min_lr, max_lr], with the bounds and round values drawn often."""
    low = min_lr
    if positive and low == 0.0:
        low = min(1e-8, max_lr)
    edges = [value for value in (low, max_lr, 0.1, 0.01, 1e-3) if low <= value <= max_lr]
    return st.one_of(
        st.sampled_from(edges),
        st.floats(low, max_lr, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    ).filter(lambda value: value > 0 or not positive)


@functools.lru_cache(maxsize=256)
def _lengths(max_value: int, minimum: int = 1) -> st.SearchStrategy[int]:
    """Whole step counts in [minimum, max_value], shrinking to minimum (often 1)."""
    return st.integers(minimum, max(minimum, max_value))


@functools.lru_cache(maxsize=64)
def _gammas(min_gamma: float) -> st.SearchStrategy[float]:
    """Decay factors in [min_gamma, 1]: tiny, one, and everything between."""
    return st.one_of(
        st.sampled_from([min_gamma, 0.1, 0.5, 1.0]),
        st.floats(min_gamma, 1.0, allow_subnormal=False),
    )


def _increasing(
    elements: st.SearchStrategy, *, min_size: int, max_size: int, strictly: bool
) -> st.SearchStrategy[list]:
    items = st.lists(elements, min_size=min_size, max_size=max_size, unique=strictly)
    return items.map(sorted)


# ---------------------------------------------------------------------------------------
# One strategy per family.


def constant_schedules(*, min_lr: float = 0.0, max_lr: float = 1.0) -> st.SearchStrategy:
    """``constant(lr)`` with lr in [min_lr, max_lr]; shrinks towards ``constant(min_lr)``."""
    _check_lr_bounds("constant_schedules", min_lr, max_lr)
    return st.builds(lrsched.constant, _lrs(min_lr, max_lr))


def step_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_step_size: int = 1000, min_gamma: float = 1e-10
) -> st.SearchStrategy:
    """``step(base_lr, step_size, gamma=gamma)`` with gamma in [min_gamma, 1];
    shrinks towards ``step(min_lr, 1, gamma=min_gamma)``."""
    _check_lr_bounds("step_schedules", min_lr, max_lr)
    _check_count("step_schedules", "max_step_size", max_step_size, 1)
    return st.builds(
        lrsched.step, _lrs(min_lr, max_lr), _lengths(max_step_size), gamma=_gammas(min_gamma)
    )


def multistep_schedules(
    *,
    min_lr: float = 0.0,
    max_lr: float = 1.0,
    max_milestone: int = 10_000,
    max_milestones: int = 5,
    min_gamma: float = 1e-10,
) -> st.SearchStrategy:
    """``multistep`` with 1 to ``max_milestones`` sorted milestones in [0, max_milestone]
    (repeats and a milestone at 0 included); shrinks towards one milestone at step 0."""
    _check_lr_bounds("multistep_schedules", min_lr, max_lr)
    _check_count("multistep_schedules", "max_milestones", max_milestones, 1)
    milestones = _increasing(
        st.integers(0, max_milestone), min_size=1, max_size=max_milestones, strictly=False
    )
    return st.builds(lrsched.multistep, _lrs(min_lr, max_lr), milestones, gamma=_gammas(min_gamma))


@st.composite
def _pieces(
    draw,
    func: str,
    min_lr: float,
    max_lr: float,
    max_boundary: float,
    max_pieces: int,
    extra_value: int,
):
    count = draw(st.integers(1, max_pieces))
    boundaries = draw(
        _increasing(
            st.one_of(
                st.integers(0, int(max_boundary)),
                st.floats(0.0, max_boundary, allow_subnormal=False),
            ),
            min_size=count,
            max_size=count,
            strictly=True,
        )
    )
    boundaries = sorted({float(b) for b in boundaries})
    values = draw(
        st.lists(
            _lrs(min_lr, max_lr),
            min_size=len(boundaries) + extra_value,
            max_size=len(boundaries) + extra_value,
        )
    )
    return getattr(lrsched, func)(boundaries, values)


def piecewise_constant_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_boundary: float = 10_000, max_pieces: int = 5
) -> st.SearchStrategy:
    """``piecewise_constant`` with 1 to ``max_pieces`` boundaries in [0, max_boundary]
    (whole and fractional); shrinks towards one boundary at 0 and two values of min_lr."""
    _check_lr_bounds("piecewise_constant_schedules", min_lr, max_lr)
    _check_count("piecewise_constant_schedules", "max_pieces", max_pieces, 1)
    return _pieces("piecewise_constant", min_lr, max_lr, max_boundary, max_pieces, 1)


def piecewise_linear_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_boundary: float = 10_000, max_pieces: int = 5
) -> st.SearchStrategy:
    """``piecewise_linear`` through 1 to ``max_pieces`` points with steps in
    [0, max_boundary]; shrinks towards a single point (a constant) at step 0."""
    _check_lr_bounds("piecewise_linear_schedules", min_lr, max_lr)
    _check_count("piecewise_linear_schedules", "max_pieces", max_pieces, 1)
    return _pieces("piecewise_linear", min_lr, max_lr, max_boundary, max_pieces, 0)


def exponential_schedules(
    *,
    min_lr: float = 0.0,
    max_lr: float = 1.0,
    min_gamma: float = 1e-10,
    max_decay_steps: float = 1000,
) -> st.SearchStrategy:
    """Decaying ``exponential`` (gamma in [min_gamma, 1], whole or fractional decay_steps,
    either staircase); shrinks towards ``exponential(min_lr, min_gamma, decay_steps=1)``."""
    _check_lr_bounds("exponential_schedules", min_lr, max_lr)
    decay_steps = st.one_of(
        _lengths(int(max_decay_steps)), st.floats(1e-3, max_decay_steps, allow_subnormal=False)
    )
    return st.builds(
        lrsched.exponential,
        _lrs(min_lr, max_lr),
        _gammas(min_gamma),
        decay_steps=decay_steps,
        staircase=st.booleans(),
    )


@st.composite
def _exponential_ramps(draw, min_lr, max_lr, max_total_steps):
    start = draw(_lrs(min_lr, max_lr, positive=True))
    end = draw(st.one_of(st.just(start), _lrs(min_lr, max_lr, positive=True)))
    return lrsched.exponential_ramp(start, end, draw(_lengths(max_total_steps)))


def exponential_ramp_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_total_steps: int = 10_000
) -> st.SearchStrategy:
    """``exponential_ramp`` between positive LRs in [min_lr, max_lr] (either direction,
    start == end included); shrinks towards the smallest positive LR over one step."""
    _check_lr_bounds("exponential_ramp_schedules", min_lr, max_lr, positive=True)
    _check_count("exponential_ramp_schedules", "max_total_steps", max_total_steps, 1)
    return _exponential_ramps(min_lr, max_lr, max_total_steps)


def linear_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_total_steps: int = 10_000
) -> st.SearchStrategy:
    """``linear(start_lr, end_lr, total_steps)`` rising or falling;
    shrinks towards ``linear(min_lr, min_lr, 1)``."""
    _check_lr_bounds("linear_schedules", min_lr, max_lr)
    _check_count("linear_schedules", "max_total_steps", max_total_steps, 1)
    return st.builds(
        lrsched.linear, _lrs(min_lr, max_lr), _lrs(min_lr, max_lr), _lengths(max_total_steps)
    )


def polynomial_schedules(
    *,
    min_lr: float = 0.0,
    max_lr: float = 1.0,
    max_total_steps: int = 10_000,
    max_power: float = 10.0,
) -> st.SearchStrategy:
    """``polynomial`` with power in (0, max_power] and either ``cycle``;
    shrinks towards ``polynomial(min_lr, 1, end_lr=min_lr, power=1.0)``."""
    _check_lr_bounds("polynomial_schedules", min_lr, max_lr)
    _check_count("polynomial_schedules", "max_total_steps", max_total_steps, 1)
    powers = st.one_of(
        st.sampled_from([1.0, 0.5, 2.0]), st.floats(1e-3, max_power, allow_subnormal=False)
    )
    return st.builds(
        lrsched.polynomial,
        _lrs(min_lr, max_lr),
        _lengths(max_total_steps),
        end_lr=_lrs(min_lr, max_lr),
        power=powers,
        cycle=st.booleans(),
    )


def inverse_time_schedules(
    *,
    min_lr: float = 0.0,
    max_lr: float = 1.0,
    max_decay_steps: float = 1000,
    max_decay_rate: float = 100.0,
) -> st.SearchStrategy:
    """``inverse_time`` with decay_rate in [0, max_decay_rate] (0 is a constant);
    shrinks towards ``inverse_time(min_lr, 1, 0.0)``."""
    _check_lr_bounds("inverse_time_schedules", min_lr, max_lr)
    decay_steps = st.one_of(
        _lengths(int(max_decay_steps)), st.floats(1e-3, max_decay_steps, allow_subnormal=False)
    )
    rates = st.floats(0.0, max_decay_rate, allow_subnormal=False)
    return st.builds(
        lrsched.inverse_time, _lrs(min_lr, max_lr), decay_steps, rates, staircase=st.booleans()
    )


def inverse_sqrt_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_timescale: float = 100_000
) -> st.SearchStrategy:
    """``inverse_sqrt`` with timescale in (0, max_timescale];
    shrinks towards ``inverse_sqrt(min_lr, timescale=1)``."""
    _check_lr_bounds("inverse_sqrt_schedules", min_lr, max_lr)
    timescales = st.one_of(
        _lengths(int(max_timescale)), st.floats(1e-3, max_timescale, allow_subnormal=False)
    )
    return st.builds(lrsched.inverse_sqrt, _lrs(min_lr, max_lr), timescale=timescales)


def lambda_lr_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, functions: tuple[Callable, ...] = LAMBDA_FUNCTIONS
) -> st.SearchStrategy:
    """``lambda_lr(base_lr, fn)`` with fn one of ``functions`` (registered functions
    returning factors in [0, 1]; the default mixes vectorized ones with one that only takes
    a single step); shrinks towards the first function, a constant factor 1."""
    _check_lr_bounds("lambda_lr_schedules", min_lr, max_lr)
    return st.builds(lrsched.lambda_lr, _lrs(min_lr, max_lr), st.sampled_from(functions))


def multiplicative_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, functions: tuple[Callable, ...] = FACTOR_FUNCTIONS
) -> st.SearchStrategy:
    """``multiplicative(base_lr, fn)`` with fn one of ``functions`` (factors in [0, 1]).

    Evaluating it materialises fn(1..t), so give it steps up to thousands, not 2**53.
    Shrinks towards the first function, a factor of 1 (a constant)."""
    _check_lr_bounds("multiplicative_schedules", min_lr, max_lr)
    return st.builds(lrsched.multiplicative, _lrs(min_lr, max_lr), st.sampled_from(functions))


@st.composite
def _peak_and_floor(draw, min_lr, max_lr):
    """A high LR and a low one, equal quite often."""
    high = draw(_lrs(min_lr, max_lr))
    low = draw(st.one_of(st.just(high), st.just(min_lr), _lrs(min_lr, high)))
    return high, low


@st.composite
def _cosines(draw, min_lr, max_lr, max_total_steps):
    high, low = draw(_peak_and_floor(min_lr, max_lr))
    if draw(st.booleans()):
        high, low = low, high  # min_lr above base_lr is allowed: the cosine then rises
    periodic = draw(st.booleans())
    # timm's time warp and optax's exponent, 1 (the plain cosine) most often.
    shapes = st.one_of(st.just(1.0), st.sampled_from([0.5, 2.0]), st.floats(0.25, 4.0))
    k_decay = 1.0 if periodic else draw(shapes)
    return lrsched.cosine(
        high,
        draw(_lengths(max_total_steps)),
        min_lr=low,
        periodic=periodic,
        k_decay=k_decay,
        exponent=draw(shapes),
    )


def cosine_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_total_steps: int = 10_000
) -> st.SearchStrategy:
    """``cosine`` (periodic or not; min_lr == base_lr and min_lr > base_lr included; with
    ``k_decay`` and ``exponent``); shrinks towards ``cosine(min_lr, 1, min_lr=min_lr)``."""
    _check_lr_bounds("cosine_schedules", min_lr, max_lr)
    _check_count("cosine_schedules", "max_total_steps", max_total_steps, 1)
    return _cosines(min_lr, max_lr, max_total_steps)


@st.composite
def _tanhs(draw, min_lr, max_lr, max_total_steps):
    high, low = draw(_peak_and_floor(min_lr, max_lr))
    lb = draw(st.one_of(st.just(-7.0), st.floats(-10.0, 2.0)))
    ub = draw(st.one_of(st.just(3.0), st.floats(lb + 0.5, lb + 12.0)))
    return lrsched.tanh(high, draw(_lengths(max_total_steps)), min_lr=low, lb=lb, ub=ub)


def tanh_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_total_steps: int = 10_000
) -> st.SearchStrategy:
    """timm's ``tanh`` decay with bounds ``lb < ub`` around tanh's steep part; shrinks
    towards ``tanh(min_lr, 1, min_lr=min_lr)``."""
    _check_lr_bounds("tanh_schedules", min_lr, max_lr)
    _check_count("tanh_schedules", "max_total_steps", max_total_steps, 1)
    return _tanhs(min_lr, max_lr, max_total_steps)


@st.composite
def _warm_restarts(draw, min_lr, max_lr, max_period, max_period_mult):
    high, low = draw(_peak_and_floor(min_lr, max_lr))
    period = draw(
        st.one_of(_lengths(int(max_period)), st.floats(1e-2, max_period, allow_subnormal=False))
    )
    mult = draw(
        st.one_of(st.sampled_from([1, 2]), st.floats(1.0, max_period_mult, allow_subnormal=False))
    )
    decay = draw(st.one_of(st.just(1.0), st.floats(1e-3, 1.0)))
    return lrsched.warm_restarts(high, period, period_mult=mult, min_lr=low, decay=decay)


def warm_restarts_schedules(
    *,
    min_lr: float = 0.0,
    max_lr: float = 1.0,
    max_period: float = 1000,
    max_period_mult: float = 4.0,
) -> st.SearchStrategy:
    """SGDR ``warm_restarts`` with whole or fractional periods, period_mult in
    [1, max_period_mult] and decay in (0, 1]; shrinks towards
    ``warm_restarts(min_lr, period=1)``."""
    _check_lr_bounds("warm_restarts_schedules", min_lr, max_lr)
    return _warm_restarts(min_lr, max_lr, max_period, max_period_mult)


@st.composite
def _wsds(draw, min_lr, max_lr, max_phase_steps):
    high, low = draw(_peak_and_floor(min_lr, max_lr))
    return lrsched.wsd(
        high,
        draw(_lengths(max_phase_steps, 0)),
        draw(_lengths(max_phase_steps, 0)),
        draw(_lengths(max_phase_steps)),
        min_lr=low,
        decay_shape=draw(st.sampled_from(["linear", "cosine", "1-sqrt"])),
    )


def wsd_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_phase_steps: int = 5000
) -> st.SearchStrategy:
    """Warmup-stable-decay with each phase up to ``max_phase_steps`` (warmup and stable may
    be 0); shrinks towards ``wsd(min_lr, 0, 0, 1)`` with a linear decay."""
    _check_lr_bounds("wsd_schedules", min_lr, max_lr)
    _check_count("wsd_schedules", "max_phase_steps", max_phase_steps, 1)
    return _wsds(min_lr, max_lr, max_phase_steps)


@st.composite
def _cyclics(draw, min_lr, max_lr, max_step_size):
    sizes = st.one_of(
        _lengths(int(max_step_size)), st.floats(0.5, max_step_size, allow_subnormal=False)
    )
    up = draw(sizes)
    down = draw(st.one_of(st.none(), st.just(0), sizes))
    kwargs = {
        "step_size_up": up,
        "step_size_down": down,
        "mode": draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
    }
    if kwargs["mode"] == "exp_range":
        kwargs["gamma"] = draw(st.one_of(st.just(1.0), st.floats(0.9, 1.0)))
    if draw(st.booleans()):
        kwargs["scale_mode"] = draw(st.sampled_from(["cycle", "iterations"]))
        functions = (
            CYCLE_SCALE_FUNCTIONS if kwargs["scale_mode"] == "cycle" else ITERATION_SCALE_FUNCTIONS
        )
        kwargs["scale_fn"] = draw(st.sampled_from(functions))
    return lrsched.cyclic(draw(_lrs(min_lr, max_lr)), draw(_lrs(min_lr, max_lr)), **kwargs)


def cyclic_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_step_size: float = 2000
) -> st.SearchStrategy:
    """Smith's ``cyclic`` in every mode, with or without a registered ``scale_fn``
    (step_size_down of 0 included); shrinks towards a triangular cycle of min_lr with
    ``step_size_up=1``."""
    _check_lr_bounds("cyclic_schedules", min_lr, max_lr)
    return _cyclics(min_lr, max_lr, max_step_size)


@st.composite
def _one_cycles(draw, min_lr, max_lr, max_total_steps):
    return lrsched.one_cycle(
        draw(_lrs(min_lr, max_lr)),
        draw(_lengths(max_total_steps, 2)),
        pct_start=draw(
            st.one_of(st.just(0.3), st.floats(0.0, 1.0, exclude_min=True, exclude_max=True))
        ),
        anneal=draw(st.sampled_from(["cos", "linear"])),
        div_factor=draw(st.one_of(st.just(25.0), st.floats(1.0, 1e4))),
        final_div_factor=draw(st.one_of(st.just(1e4), st.floats(1.0, 1e6))),
        three_phase=draw(st.booleans()),
    )


def one_cycle_schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_total_steps: int = 10_000
) -> st.SearchStrategy:
    """``one_cycle`` with any pct_start in (0, 1) (phases of under one step included),
    div factors >= 1 so it never exceeds its max_lr, either anneal, two or three phases;
    shrinks towards ``one_cycle(min_lr, 2)`` with torch's defaults."""
    _check_lr_bounds("one_cycle_schedules", min_lr, max_lr)
    _check_count("one_cycle_schedules", "max_total_steps", max_total_steps, 2)
    return _one_cycles(min_lr, max_lr, max_total_steps)


@st.composite
def _momenta(draw, cycles, momenta):
    return lrsched.cycle_momentum(
        draw(cycles), base_momentum=draw(momenta), max_momentum=draw(momenta)
    )


def cycle_momentum_schedules(
    *, min_momentum: float = 0.0, max_momentum: float = 1.0, max_total_steps: int = 10_000
) -> st.SearchStrategy:
    """``cycle_momentum`` of a one_cycle or cyclic schedule, momenta in
    [min_momentum, max_momentum] (a subset of [0, 1]); shrinks towards the momentum
    cycle of the simplest one_cycle with both momenta at min_momentum."""
    if not 0.0 <= min_momentum <= max_momentum <= 1.0:
        raise InvalidArgument(
            f"cycle_momentum_schedules(): need 0 <= min_momentum <= "
            f"max_momentum <= 1, got min_momentum={min_momentum!r}, "
            f"max_momentum={max_momentum!r}"
        )
    cycles = st.one_of(one_cycle_schedules(max_total_steps=max_total_steps), cyclic_schedules())
    return _momenta(cycles, st.floats(min_momentum, max_momentum))


# ---------------------------------------------------------------------------------------
# Composites: each takes the strategy of the schedules it wraps (default: leaf_schedules()).


def _inner(inner, min_lr, max_lr):
    return leaf_schedules(min_lr=min_lr, max_lr=max_lr) if inner is None else inner


def warmup_schedules(
    inner: st.SearchStrategy | None = None, *, max_steps: int = 1000
) -> st.SearchStrategy:
    """``warmup(s, steps, start_factor=start_factor, mode=mode)`` of schedules drawn from ``inner``, every
    mode, start_factor in [0, 1] (> 0 for exponential and constant); shrinks towards a
    one-step linear warmup from 0 of inner's simplest schedule."""
    _check_strategy("warmup_schedules", "inner", inner)
    _check_count("warmup_schedules", "max_steps", max_steps, 1)

    schedules_inside, lengths = _inner(inner, 0.0, 1.0), _lengths(max_steps)
    positive_factors = st.floats(0.0, 1.0, exclude_min=True, allow_subnormal=False)
    factors = st.one_of(st.just(0.0), st.floats(0.0, 1.0, allow_subnormal=False))

    @st.composite
    def build(draw):
        mode = draw(st.sampled_from(["linear", "cosine", "exponential", "constant"]))
        # A start factor of 0 is allowed for the ramps that leave 0, not for exponential
        # (which never would) nor constant (which would hold an LR of 0).
        start = draw(factors if mode in ("linear", "cosine") else positive_factors)
        return lrsched.warmup(draw(schedules_inside), draw(lengths), start_factor=start, mode=mode)

    return build()


def sequence_schedules(
    inner: st.SearchStrategy | None = None, *, max_length: int = 3, max_boundary: float = 10_000
) -> st.SearchStrategy:
    """``sequence`` of 2 to ``max_length`` schedules from ``inner`` with whole or fractional
    boundaries in (0, max_boundary]; shrinks towards two schedules switching at step 1."""
    _check_strategy("sequence_schedules", "inner", inner)
    _check_count("sequence_schedules", "max_length", max_length, 2)

    children_lists = st.lists(_inner(inner, 0.0, 1.0), min_size=2, max_size=max_length)
    points = st.one_of(
        st.integers(1, max(1, int(max_boundary))),
        st.floats(1e-3, max_boundary, allow_subnormal=False),
    )

    @st.composite
    def build(draw):
        children = draw(children_lists)
        boundaries = draw(
            st.lists(
                points, min_size=len(children) - 1, max_size=len(children) - 1, unique=True
            ).map(sorted)
        )
        return lrsched.sequence(children, boundaries)

    return build()


def product_schedules(
    inner: st.SearchStrategy | None = None, *, max_factors: int = 3
) -> st.SearchStrategy:
    """``s * f * ...``: one schedule from ``inner`` times 1 to ``max_factors - 1`` factors,
    each a number in [0, 1] or a leaf schedule with values in [0, 1], so the product never
    exceeds ``s``'s own bound; shrinks towards ``s * 0.0``."""
    _check_strategy("product_schedules", "inner", inner)
    _check_count("product_schedules", "max_factors", max_factors, 2)
    factor = st.one_of(
        st.floats(0.0, 1.0, allow_subnormal=False), leaf_schedules(min_lr=0.0, max_lr=1.0)
    )
    return st.builds(
        lambda first, rest: lrsched.product((first, *rest)),
        _inner(inner, 0.0, 1.0),
        st.lists(factor, min_size=1, max_size=max_factors - 1),
    )


@st.composite
def _clips(draw, schedules_inside, min_lr, max_lr):
    low = draw(_lrs(min_lr, max_lr))
    high = draw(st.one_of(st.just(math.inf), st.just(low), _lrs(low, max_lr)))
    return lrsched.clip(draw(schedules_inside), min_lr=low, max_lr=high)


def clip_schedules(
    inner: st.SearchStrategy | None = None, *, min_lr: float = 0.0, max_lr: float = 1.0
) -> st.SearchStrategy:
    """``s.clip(lo, hi)`` with min_lr <= lo <= hi <= max_lr (hi may be infinite; lo == hi
    included); shrinks towards ``s.clip(min_lr, inf)``."""
    _check_strategy("clip_schedules", "inner", inner)
    _check_lr_bounds("clip_schedules", min_lr, max_lr)
    return _clips(_inner(inner, min_lr, max_lr), min_lr, max_lr)


def shift_schedules(
    inner: st.SearchStrategy | None = None, *, max_shift: float = 10_000
) -> st.SearchStrategy:
    """``s.shift(k)`` with k in [-max_shift, max_shift], whole or fractional;
    shrinks towards ``s.shift(0)``."""
    _check_strategy("shift_schedules", "inner", inner)
    shifts = st.one_of(
        st.integers(-int(max_shift), int(max_shift)),
        st.floats(-max_shift, max_shift, allow_subnormal=False),
    )
    return st.builds(lrsched.shift, _inner(inner, 0.0, 1.0), shifts)


def per_epoch_schedules(
    inner: st.SearchStrategy | None = None, *, max_steps_per_epoch: float = 1000
) -> st.SearchStrategy:
    """``s.per_epoch(steps_per_epoch, staircase)`` with whole or fractional steps per epoch;
    shrinks towards ``s.per_epoch(1)``."""
    _check_strategy("per_epoch_schedules", "inner", inner)
    sizes = st.one_of(
        _lengths(int(max_steps_per_epoch)),
        st.floats(1e-2, max_steps_per_epoch, allow_subnormal=False),
    )
    return st.builds(lrsched.per_epoch, _inner(inner, 0.0, 1.0), sizes, staircase=st.booleans())


def plateaus(
    base: st.SearchStrategy | None = None, *, min_lr: float = 0.0, max_lr: float = 1.0
) -> st.SearchStrategy:
    """``plateau`` state machines (not schedules) with a number or a schedule from ``base``
    as the starting LR and every option; shrinks towards ``plateau(min_lr)`` with small
    patience."""
    _check_strategy("plateaus", "base", base)
    _check_lr_bounds("plateaus", min_lr, max_lr)
    bases = st.one_of(_lrs(min_lr, max_lr), _inner(base, min_lr, max_lr))
    return st.builds(
        lrsched.plateau,
        bases,
        mode=st.sampled_from(["min", "max"]),
        factor=st.floats(0.0, 1.0, exclude_min=True, exclude_max=True),
        patience=st.integers(0, 20),
        threshold=st.floats(0.0, 1.0),
        threshold_mode=st.sampled_from(["rel", "abs"]),
        cooldown=st.integers(0, 5),
        min_lr=st.one_of(st.just(0.0), _lrs(min_lr, max_lr)),
        eps=st.one_of(st.just(1e-8), st.just(0.0), st.floats(0.0, 1e-3)),
    )


# ---------------------------------------------------------------------------------------
# Across families.

# Family name (lrsched._registry.families()) -> strategy factory. Composites take the inner
# strategy as their first argument; leaves take only keyword bounds.
LEAF_STRATEGIES: dict[str, Callable[..., st.SearchStrategy]] = {
    "constant": constant_schedules,
    "step": step_schedules,
    "multistep": multistep_schedules,
    "piecewise_constant": piecewise_constant_schedules,
    "piecewise_linear": piecewise_linear_schedules,
    "exponential": exponential_schedules,
    "exponential_ramp": exponential_ramp_schedules,
    "linear": linear_schedules,
    "polynomial": polynomial_schedules,
    "inverse_time": inverse_time_schedules,
    "inverse_sqrt": inverse_sqrt_schedules,
    "lambda_lr": lambda_lr_schedules,
    "multiplicative": multiplicative_schedules,
    "cosine": cosine_schedules,
    "tanh": tanh_schedules,
    "warm_restarts": warm_restarts_schedules,
    "wsd": wsd_schedules,
    "cyclic": cyclic_schedules,
    "one_cycle": one_cycle_schedules,
}
COMPOSITE_STRATEGIES: dict[str, Callable[..., st.SearchStrategy]] = {
    "warmup": warmup_schedules,
    "sequence": sequence_schedules,
    "product": product_schedules,
    "clip": clip_schedules,
    "shift": shift_schedules,
    "per_epoch": per_epoch_schedules,
}
FAMILY_STRATEGIES: dict[str, Callable[..., st.SearchStrategy]] = {
    **LEAF_STRATEGIES,
    **COMPOSITE_STRATEGIES,
    "cycle_momentum": cycle_momentum_schedules,
    "plateau": plateaus,
}


def _known(func: str, families) -> tuple[str, ...]:
    if families is None:
        return tuple(LEAF_STRATEGIES)
    unknown = sorted(set(families) - set(LEAF_STRATEGIES))
    if unknown or not families:
        raise InvalidArgument(
            f"{func}(): families={families!r} must be a non-empty "
            f"collection of leaf family names, from {sorted(LEAF_STRATEGIES)}"
        )
    return tuple(families)


def leaf_schedules(*, min_lr: float = 0.0, max_lr: float = 1.0, families=None) -> st.SearchStrategy:
    """A schedule of one of the leaf (non-composite) ``families`` (default: all), its
    learning rates in [min_lr, max_lr]; shrinks towards ``constant(min_lr)``."""
    _check_lr_bounds("leaf_schedules", min_lr, max_lr)
    names = _known("leaf_schedules", families)
    if min_lr == max_lr == 0.0:
        names = tuple(name for name in names if name != "exponential_ramp")
    return _leaves(float(min_lr), float(max_lr), names)


@functools.lru_cache(maxsize=64)
def _leaves(min_lr: float, max_lr: float, names: tuple[str, ...]) -> st.SearchStrategy:
    return st.one_of([LEAF_STRATEGIES[name](min_lr=min_lr, max_lr=max_lr) for name in names])


def schedules(
    *, min_lr: float = 0.0, max_lr: float = 1.0, max_depth: int = 2, families=None
) -> st.SearchStrategy[Schedule]:
    """Any lrsched schedule: leaves of every family (or of ``families``) and, up to
    ``max_depth`` levels deep, warmup, sequence, product, clip, shift and per_epoch of them,
    plus momentum cycles when [0, 1] fits the bounds.

    Every value of a generated schedule lies in [0, max_lr]. Shrinks towards
    ``constant(min_lr)``: composites shrink to their inner schedules.

    Args:
        min_lr: lower bound of every learning-rate parameter, >= 0.
        max_lr: upper bound of every learning-rate parameter and of every value.
        max_depth: how many composite levels may wrap a leaf (0: leaves only).
        families: names of the leaf families to draw from (default: all of them).

    Returns:
        A strategy of ``lrsched.Schedule`` values.

    Raises:
        hypothesis.errors.InvalidArgument: a bound or family name is invalid.

    >>> from hypothesis import given, settings
    >>> from lrsched.testing import strategies as lst
    >>> @settings(max_examples=20)
    ... @given(lst.schedules(max_lr=0.1), lst.steps(max_value=1000.0, max_size=5))
    ... def test_within_bounds(schedule, steps):
    ...     lrs = schedule(steps)
    ...     assert ((lrs >= 0) & (lrs <= 0.1)).all()
    >>> test_within_bounds()
    """
    _check_lr_bounds("schedules", min_lr, max_lr)
    _check_count("schedules", "max_depth", max_depth, 0)
    leaves = leaf_schedules(min_lr=min_lr, max_lr=max_lr, families=families)
    if families is None and max_lr >= min_lr and min_lr <= 1.0:
        leaves = st.one_of(
            leaves,
            cycle_momentum_schedules(
                min_momentum=min_lr, max_momentum=min(max_lr, 1.0), max_total_steps=1000
            ),
        )
    if max_depth == 0:
        return leaves

    def extend(children: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(
            warmup_schedules(children),
            sequence_schedules(children),
            product_schedules(children),
            clip_schedules(children, min_lr=min_lr, max_lr=max_lr),
            shift_schedules(children),
            per_epoch_schedules(children),
        )

    return st.recursive(leaves, extend, max_leaves=2**max_depth)


# ---------------------------------------------------------------------------------------
# Steps.

_EDGE_STEPS = (0.0, 1.0, 0.5, 2.0, 10.0, 1e3, 1e6, 2.0**31, 2.0**32, 2.0**53 - 1.0, 2.0**53)


def steps(
    *,
    min_value: float = 0.0,
    max_value: float = LARGEST_EXACT_STEP,
    min_size: int = 0,
    max_size: int = 20,
    whole: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """1-d float64 arrays of valid steps in [min_value, max_value]: small whole steps,
    fractional steps (unless ``whole``), steps anywhere up to ``max_value`` (2**53 by
    default, the largest integer float64 counts exactly) and edges such as 0, 1, 2**31 and
    2**53. Shrinks towards short arrays of ``min_value``.

    Args:
        min_value: the smallest step, >= 0.
        max_value: the largest step, finite; pass ``largest_step(schedule)`` for a
            schedule containing ``multiplicative``.
        min_size: the fewest steps in an array.
        max_size: the most steps in an array.
        whole: whole steps only.

    Returns:
        A strategy of 1-d float64 arrays.

    Raises:
        hypothesis.errors.InvalidArgument: a bound is invalid.

    >>> from hypothesis import given
    >>> from lrsched.testing import strategies as lst
    >>> @given(lst.steps(max_value=100.0, whole=True))
    ... def test_whole(steps):
    ...     assert (steps == steps.round()).all() and (steps <= 100).all()
    >>> test_whole()
    """
    for name, value in (("min_value", min_value), ("max_value", max_value)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise InvalidArgument(f"steps(): {name}={value!r} must be a finite number >= 0")
    if min_value > max_value:
        raise InvalidArgument(
            f"steps(): min_value={min_value!r} must be <= max_value={max_value!r}"
        )
    _check_count("steps", "min_size", min_size, 0)
    _check_count("steps", "max_size", max_size, min_size)
    low, high = float(min_value), float(max_value)
    edges = sorted({low, high, *(edge for edge in _EDGE_STEPS if low <= edge <= high)})
    small_high = min(high, max(low, 1000.0))
    elements = [
        st.integers(math.ceil(low), math.floor(small_high)).map(float)
        if math.ceil(low) <= math.floor(small_high)
        else st.just(low),
        st.sampled_from(edges),
        st.floats(low, high, allow_subnormal=False),
    ]
    if not whole:
        elements.append(st.floats(low, small_high, allow_subnormal=False))
    element = st.one_of(elements)
    if whole:
        element = element.map(math.floor).map(float).filter(lambda step: step >= low)
    return st.lists(element, min_size=min_size, max_size=max_size).map(
        lambda items: np.asarray(items, dtype=np.float64)
    )

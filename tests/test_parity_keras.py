"""Parity with Keras 3's built-in schedules: the real Keras objects against lrsched.

Each test builds a ``keras.optimizers.schedules`` object and the lrsched schedule (or
composition) that the migration guide says is equivalent, evaluates both over thousands of
steps, and compares Keras's float32 output with ``np.float32(lrsched values)``.

Keras computes every intermediate in float32, so its error is not one ulp of the result:
it is eps32 times the condition number of its formula (``gamma ** (t/k)`` loses
``|t/k * ln gamma|`` ulps, ``1 + cos`` near a cycle end loses ulps of the base LR, ...).
Each test states that bound for its formula; ``FLOAT32_ROUNDINGS`` is the number of
roundings allowed on top of it.

Keras fixes its backend at import. When no backend is chosen yet, this module asks for
torch (tensorflow, Keras's default, is not a dependency) and restores the environment, so
other test files see it unchanged. Torch divides float32 arrays exactly as IEEE says, so
Keras's formulas run as written. XLA (the jax backend) rewrites ``t / c`` as
``t * (1/c)``, which can move a staircase boundary one step late; under an already-imported
jax backend the Keras side is therefore evaluated one scalar step at a time (exact, slower,
fewer steps). What Keras's own schedules do inside a jit-compiled fit is checked against
KerasSchedule in ``tests/test_adapter_keras.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched

CASES_DIR = str(Path(__file__).parent / "keras_cases")
if CASES_DIR not in sys.path:
    sys.path.insert(0, CASES_DIR)
from keras_fit_cases import import_keras  # noqa: E402

keras = import_keras("torch")
KS = keras.optimizers.schedules

EPS32 = float(np.finfo(np.float32).eps)
TINY32 = float(np.finfo(np.float32).tiny)  # below it float32 is subnormal: absolute error only
FLOAT32_ROUNDINGS = 8
# Vectorized Keras calls are exact except under XLA (see the module docstring).
VECTORIZED = keras.backend.backend() != "jax"
NUM_STEPS = 4000 if VECTORIZED else 400
SETTINGS = settings(max_examples=30, deadline=None)


def steps_under_test(extra: list[int]) -> np.ndarray:
    """Every step 0..NUM_STEPS-1 plus far-away steps (exact in float32 below 2**24)."""
    return np.unique(np.concatenate([np.arange(NUM_STEPS), extra])).astype(np.int32)


far_steps = st.lists(st.integers(NUM_STEPS, 2**24), max_size=20)
learning_rates = st.floats(1e-4, 1.0)
decay_lengths = st.integers(1, 2000)


def keras_values(schedule, steps: np.ndarray, *, vectorized: bool = VECTORIZED) -> np.ndarray:
    """Keras's float32 LRs at ``steps`` as float64: one call on the array, or one per step."""
    if vectorized:
        values = keras.ops.convert_to_numpy(schedule(steps))
    else:
        values = np.array([keras.ops.convert_to_numpy(schedule(step)) for step in steps])
    assert values.dtype == np.float32, values.dtype
    return values.astype(np.float64)


def assert_matches(
    name, ours: np.ndarray, theirs: np.ndarray, steps: np.ndarray, bound: np.ndarray
) -> None:
    """|keras - float32(ours)| <= FLOAT32_ROUNDINGS * eps32 * bound at every step."""
    ours32 = np.float32(ours).astype(np.float64)
    allowed = FLOAT32_ROUNDINGS * EPS32 * (bound + np.abs(ours)) + TINY32
    bad = np.abs(theirs - ours32) > allowed
    if bad.any():
        i = int(np.argmax(bad))
        raise AssertionError(
            f"{name}: {int(bad.sum())} step(s) differ; first at step {int(steps[i])}: "
            f"keras {theirs[i]!r}, lrsched float32 {ours32[i]!r}, allowed {allowed[i]:.3g}"
        )


def exponential_bound(ours, exponent, rate):
    # Rounding p = t/k to float32 moves rate**p by |p ln(rate)| relative ulps, rounding the
    # rate itself by p ulps.
    return np.abs(ours) * exponent * (1.0 + abs(np.log(rate)))


def inverse_time_bound(ours, exponent, rate):
    return 2.0 * np.abs(ours)  # 1 + rate * p is well conditioned


# Keras schedules built as Name(lr, decay_steps, decay_rate, staircase): the lrsched
# equivalent, the range of rates tested, and the float32 error bound of Keras's formula.
RATE_DECAYS = {
    "ExponentialDecay": (
        lambda lr, k, r, s: lrsched.exponential(lr, r, decay_steps=k, staircase=s),
        (0.05, 1.0),
        exponential_bound,
    ),
    "InverseTimeDecay": (
        lambda lr, k, r, s: lrsched.inverse_time(lr, k, r, staircase=s),
        (0.0, 10.0),
        inverse_time_bound,
    ),
}


@pytest.mark.parametrize("keras_name", sorted(RATE_DECAYS))
@SETTINGS
@given(
    lr=learning_rates,
    decay_steps=decay_lengths,
    rate_position=st.floats(0.0, 1.0),
    staircase=st.booleans(),
    extra=far_steps,
)
def test_rate_decays(keras_name, lr, decay_steps, rate_position, staircase, extra):
    build, (low, high), bound = RATE_DECAYS[keras_name]
    rate = max(low + (high - low) * rate_position, low)
    steps = steps_under_test(extra)
    keras_schedule = getattr(KS, keras_name)(lr, decay_steps, rate, staircase=staircase)
    theirs = keras_values(keras_schedule, steps)
    ours = build(lr, decay_steps, rate, staircase)(steps)
    exponent = steps / decay_steps
    if staircase:
        exponent = np.floor(exponent)
    assert_matches(keras_name, ours, theirs, steps, bound(ours, exponent, rate))


def test_exponential_staircase_is_step():
    steps = np.arange(300, dtype=np.int32)
    theirs = keras_values(KS.ExponentialDecay(0.1, 30, 0.5, staircase=True), steps)
    ours = lrsched.step(0.1, step_size=30, gamma=0.5)(steps)
    np.testing.assert_array_equal(theirs, np.float32(ours))  # powers of 0.5: exact


@settings(max_examples=15, deadline=None)
@given(data=st.data(), extra=far_steps)
def test_piecewise_constant_decay(data, extra):
    boundaries = data.draw(
        st.lists(st.integers(0, 1000), min_size=1, max_size=8, unique=True).map(sorted),
        label="boundaries",
    )
    values = data.draw(
        st.lists(learning_rates, min_size=len(boundaries) + 1, max_size=len(boundaries) + 1),
        label="values",
    )
    steps = np.concatenate([np.arange(boundaries[-1] + 3), extra[:5]]).astype(np.int32)
    # Keras accumulates into a 0-d tensor, so it takes one scalar step per call.
    theirs = keras_values(KS.PiecewiseConstantDecay(boundaries, values), steps, vectorized=False)
    ours = lrsched.piecewise_constant(boundaries, values)(steps)
    # Keras adds indicator * value to 0: the float32 values themselves, exactly.
    np.testing.assert_array_equal(theirs, np.float32(ours))


def test_piecewise_constant_boundaries_are_inclusive():
    boundaries, values = [10, 20], [1.0, 0.5, 0.25]
    steps = np.array([9, 10, 11, 19, 20, 21], dtype=np.int32)
    expected = [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]  # a boundary belongs to the piece before it
    keras_schedule = KS.PiecewiseConstantDecay(boundaries, values)
    np.testing.assert_array_equal(keras_values(keras_schedule, steps, vectorized=False), expected)
    np.testing.assert_array_equal(lrsched.piecewise_constant(boundaries, values)(steps), expected)


@SETTINGS
@given(
    lr=learning_rates,
    decay_steps=decay_lengths,
    end_fraction=st.floats(0.0, 1.0),
    power=st.floats(0.25, 4.0),
    cycle=st.booleans(),
    extra=far_steps,
)
def test_polynomial_decay(lr, decay_steps, end_fraction, power, cycle, extra):
    end_lr = lr * end_fraction
    steps = steps_under_test(extra)
    theirs = keras_values(
        KS.PolynomialDecay(lr, decay_steps, end_lr, power=power, cycle=cycle), steps
    )
    ours = lrsched.polynomial(lr, decay_steps, end_lr=end_lr, power=power, cycle=cycle)(steps)
    if cycle:
        length = decay_steps * np.maximum(np.ceil(steps / decay_steps), 1.0)
    else:
        length = np.full(steps.shape, float(decay_steps))
    progress = np.minimum(steps, length) / length
    remaining = 1.0 - progress
    height = lr - end_lr
    with np.errstate(divide="ignore", invalid="ignore"):
        # d/dp of height * (1-p)**power, times the float32 error of p (eps * p); p = 1 is
        # exact in float32 (t = k * decay_steps), so it contributes nothing there.
        slope = np.where(remaining > 0, power * remaining ** (power - 1.0) * progress, 0.0)
        log_term = np.where(remaining > 0, np.abs(power * np.log(remaining)), 0.0)
    decayed = remaining**power
    bound = height * (slope + decayed * (2.0 + power + log_term)) + (lr + end_lr) * decayed + end_lr
    assert_matches("PolynomialDecay", ours, theirs, steps, bound)


@SETTINGS
@given(lr=learning_rates, decay_steps=decay_lengths, alpha=st.floats(0.0, 1.0), extra=far_steps)
def test_cosine_decay(lr, decay_steps, alpha, extra):
    steps = steps_under_test(extra)
    theirs = keras_values(KS.CosineDecay(lr, decay_steps, alpha=alpha), steps)
    ours = lrsched.cosine(lr, decay_steps, min_lr=alpha * lr)(steps)
    # 1 + cos(pi * f) cancels near f = 1: an absolute error of a few ulps of the base LR.
    assert_matches("CosineDecay", ours, theirs, steps, np.full(steps.shape, 4.0 * lr))


def keras_cosine_with_warmup(initial_lr, target, warmup_steps, decay_steps, alpha):
    """Keras CosineDecay(warmup_target=..., warmup_steps=...) as an lrsched composition.

    Keras ramps linearly from ``initial_learning_rate`` (not 0) at step 0 to the target at
    step W, then decays from the target: a ``sequence`` of ``linear`` and ``cosine``.
    (``lrsched.warmup`` ramps differently: it never spends an update at its start factor.)
    """
    return lrsched.sequence(
        [
            lrsched.linear(initial_lr, target, warmup_steps),
            lrsched.cosine(target, decay_steps, min_lr=alpha * target),
        ],
        [warmup_steps],
    )


@settings(max_examples=10, deadline=None)
@given(
    initial_lr=st.floats(0.0, 1.0),
    target=learning_rates,
    warmup_steps=st.integers(1, 1000),
    decay_steps=st.integers(1, 1000),
    alpha=st.floats(0.0, 1.0),
    extra=far_steps,
)
def test_cosine_decay_with_warmup(initial_lr, target, warmup_steps, decay_steps, alpha, extra):
    steps = np.concatenate([np.arange(warmup_steps + decay_steps + 10), extra[:5]]).astype(np.int32)
    keras_schedule = KS.CosineDecay(
        initial_lr, decay_steps, alpha=alpha, warmup_target=target, warmup_steps=warmup_steps
    )
    # Keras branches on the step with ops.cond, which needs one scalar step per call.
    theirs = keras_values(keras_schedule, steps, vectorized=False)
    ours = keras_cosine_with_warmup(initial_lr, target, warmup_steps, decay_steps, alpha)(steps)
    scale = 4.0 * max(initial_lr, target)
    assert_matches("CosineDecay(warmup)", ours, theirs, steps, np.full(steps.shape, scale))


def test_cosine_decay_with_warmup_known_values():
    keras_schedule = KS.CosineDecay(0.0, 10, alpha=0.0, warmup_target=1.0, warmup_steps=4)
    steps = np.array([0, 2, 4, 9, 14, 100], dtype=np.int32)
    expected = [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    np.testing.assert_allclose(
        keras_values(keras_schedule, steps, vectorized=False), expected, atol=1e-7
    )
    np.testing.assert_allclose(
        keras_cosine_with_warmup(0.0, 1.0, 4, 10, 0.0)(steps), expected, atol=1e-15
    )


def restart_comparison(lr, first_decay_steps, t_mul, m_mul, alpha, extra):
    """Keras CosineDecayRestarts against warm_restarts(min_lr=alpha*lr, decay=m_mul).

    Both keep the floor alpha*lr and decay only the height above it by m_mul per cycle
    (Keras's docstring says the restart LR is m_mul times the initial LR; its code, which
    is what runs, agrees with lrsched). Keras finds the cycle with a float32 logarithm,
    which may place a restart one step late: at such a step Keras is still at the end of
    the previous cycle (alpha * lr), lrsched at the restart. Those steps are checked for
    exactly that; every other step must match.
    """
    steps = steps_under_test(extra)
    theirs = keras_values(
        KS.CosineDecayRestarts(lr, first_decay_steps, t_mul=t_mul, m_mul=m_mul, alpha=alpha), steps
    )
    schedule = lrsched.warm_restarts(
        lr, first_decay_steps, period_mult=t_mul, min_lr=alpha * lr, decay=m_mul
    )
    ours = schedule(steps)
    starts = schedule.cycle_starts(np.arange(1, 64, dtype=np.float64))
    at_restart = np.isin(steps, starts)
    allowed = FLOAT32_ROUNDINGS * EPS32 * (4.0 * lr) + TINY32
    misplaced = at_restart & (np.abs(theirs - np.float32(ours)) > allowed)
    np.testing.assert_allclose(theirs[misplaced], np.float32(alpha * lr), rtol=0, atol=allowed)
    # Where the cycle is right, the phase carries the float32 error of t / first_decay_steps
    # (absolute, in units of the base LR), and m_mul**i that of m_mul (i ulps per rounding).
    cycle = np.searchsorted(starts, steps, side="right")
    bound = 4.0 * lr * (1.0 + steps / first_decay_steps) + np.abs(ours) * cycle * (
        1.0 + abs(np.log(m_mul))
    )
    keep = ~misplaced
    assert_matches("CosineDecayRestarts", ours[keep], theirs[keep], steps[keep], bound[keep])


@SETTINGS
@given(
    lr=learning_rates,
    first=decay_lengths,
    t_mul=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    m_mul=st.floats(0.1, 1.0),
    extra=far_steps,
)
def test_cosine_decay_restarts_alpha_zero(lr, first, t_mul, m_mul, extra):
    restart_comparison(lr, first, t_mul, m_mul, 0.0, extra)


@SETTINGS
@given(
    lr=learning_rates,
    first=decay_lengths,
    t_mul=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    alpha=st.floats(0.0, 1.0),
    extra=far_steps,
)
def test_cosine_decay_restarts_no_decay(lr, first, t_mul, alpha, extra):
    restart_comparison(lr, first, t_mul, 1.0, alpha, extra)


@SETTINGS
@given(
    lr=learning_rates,
    first=decay_lengths,
    t_mul=st.sampled_from([1.0, 2.0]),
    m_mul=st.floats(0.1, 1.0),
    alpha=st.floats(0.01, 1.0),
    extra=far_steps,
)
def test_cosine_decay_restarts_floor_is_not_decayed(lr, first, t_mul, m_mul, alpha, extra):
    restart_comparison(lr, first, t_mul, m_mul, alpha, extra)

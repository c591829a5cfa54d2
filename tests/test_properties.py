"""Property tests of every family and composite, drawn with lrsched.testing.strategies.

The contract (scalar and vector agree to the bit, shapes and dtypes, round trips through
config, text and pickle, equality and hashing) is tested over every family in the registry;
each family's documented bounds and monotonicity are then checked on its own.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched._base import Schedule
from lrsched.testing import check_schedule, largest_step
from lrsched.testing import strategies as lst

SCHEDULE_FAMILIES = sorted(name for name in lst.FAMILY_STRATEGIES if name != "plateau")


def examples(count: int) -> settings:
    """``count`` examples in the default profile; a long profile (``--hypothesis-profile=fuzz``)
    raises every test to the profile's own count (10**4 per family for fuzz)."""
    return settings(max_examples=max(count, settings.default.max_examples))


def draw_steps(data, schedule, **kwargs) -> np.ndarray:
    return data.draw(lst.steps(max_value=largest_step(schedule), **kwargs), label="steps")


def same_bits(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


# ---------------------------------------------------------------------------------------
# The contract, for every family (composites drawn over every leaf).


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@given(data=st.data())
def test_scalar_and_vector_agree_to_the_bit(family, data):
    schedule = data.draw(lst.FAMILY_STRATEGIES[family](), label="schedule")
    steps = draw_steps(data, schedule, min_size=1, max_size=8)
    values = schedule(steps)
    assert type(values) is np.ndarray and values.dtype == np.float64
    assert values.shape == steps.shape
    singles = [schedule(float(step)) for step in steps]
    assert all(type(single) is float for single in singles)
    assert same_bits(values, singles)
    grid = schedule(np.stack([steps, steps[::-1]]))
    assert grid.shape == (2, steps.size) and same_bits(grid[0], values)
    assert np.isfinite(values).all() and (values >= 0).all()


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@examples(15)
@given(data=st.data())
def test_config_text_and_pickle_round_trips(family, data):
    schedule = data.draw(lst.FAMILY_STRATEGIES[family](), label="schedule")
    config = json.loads(json.dumps(schedule.to_config(), allow_nan=False))
    copies = [
        lrsched.from_config(config),
        lrsched.parse(repr(schedule)),
        pickle.loads(pickle.dumps(schedule)),
    ]
    steps = draw_steps(data, schedule, max_size=6)
    for copy in copies:
        assert copy == schedule and hash(copy) == hash(schedule)
        assert repr(copy) == repr(schedule)
        assert same_bits(copy(steps), schedule(steps))


@given(lst.plateaus(), st.lists(st.floats(-10, 10), max_size=15))
def test_plateau_round_trips_and_replays_the_same(machine, metrics):
    copies = [
        lrsched.from_config(json.loads(json.dumps(machine.to_config()))),
        lrsched.parse(repr(machine)),
        pickle.loads(pickle.dumps(machine)),
    ]
    lrs = machine.replay(metrics)
    assert (lrs >= 0).all()
    for copy in copies:
        assert copy == machine and hash(copy) == hash(machine)
        assert same_bits(copy.replay(metrics), lrs)


@given(lst.schedules(), lst.schedules())
def test_equality_is_by_parameters(first, second):
    rebuilt = lrsched.from_config(first.to_config())
    assert rebuilt == first and hash(rebuilt) == hash(first)
    if first.to_config() != second.to_config():
        assert first != second


@pytest.mark.parametrize("family", SCHEDULE_FAMILIES)
@examples(10)
@given(data=st.data())
def test_every_family_passes_check_schedule(family, data):
    check_schedule(data.draw(lst.FAMILY_STRATEGIES[family](), label="schedule"))


@examples(30)
@given(lst.schedules(max_depth=3))
def test_deep_composites_pass_check_schedule(schedule):
    check_schedule(schedule, bounds=(0.0, 1.0))


# ---------------------------------------------------------------------------------------
# What each family documents: bounds, monotonicity, exact values at its ends.


def near(value, expected, *scale):
    """Equal up to rounding of the largest LR involved: ``(a - b) + b`` is not always a."""
    return abs(value - expected) <= 4e-16 * max(abs(expected), *map(abs, scale))


def between(low, high):
    return (min(low, high), max(low, high))


def direction(start, end):
    return "increasing" if end >= start else "decreasing"


@given(lst.constant_schedules(), lst.steps())
def test_constant_is_its_lr(schedule, steps):
    assert (schedule(steps) == schedule.lr).all()


@examples(15)
@given(
    st.one_of(
        lst.step_schedules(),
        lst.multistep_schedules(),
        lst.exponential_schedules(),
        lst.inverse_time_schedules(),
        lst.inverse_sqrt_schedules(),
    )
)
def test_decays_fall_from_base_lr(schedule):
    first_decay_at_0 = isinstance(schedule, lrsched.multistep) and schedule.milestones[0] == 0
    assert schedule(0) == schedule.base_lr or first_decay_at_0
    check_schedule(schedule, bounds=(0.0, schedule.base_lr), monotone="decreasing")


@examples(15)
@given(lst.multiplicative_schedules())
def test_multiplicative_with_factors_at_most_one_decays(schedule):
    assert schedule(0) == schedule.base_lr
    check_schedule(schedule, bounds=(0.0, schedule.base_lr), monotone="decreasing")


@examples(15)
@given(lst.lambda_lr_schedules())
def test_lambda_lr_is_base_lr_times_its_factor(schedule):
    steps = np.array([0.0, 1.0, 50.0, 150.0])
    expected = [schedule.base_lr * float(np.asarray(schedule.fn(int(t)))) for t in steps]
    assert same_bits(schedule(steps), expected)
    check_schedule(schedule, bounds=(0.0, schedule.base_lr))


@examples(15)
@given(st.one_of(lst.piecewise_constant_schedules(), lst.piecewise_linear_schedules()))
def test_pieces_stay_within_their_values(schedule):
    values = schedule(np.asarray(schedule.boundaries))
    if isinstance(schedule, lrsched.piecewise_constant):
        assert same_bits(values, schedule.values[:-1])  # a boundary belongs to the piece before
        assert schedule(np.nextafter(schedule.boundaries[-1], math.inf)) == schedule.values[-1]
    else:
        assert same_bits(values, schedule.values)
    check_schedule(schedule, bounds=(min(schedule.values), max(schedule.values)))


@examples(15)
@given(st.one_of(lst.linear_schedules(), lst.exponential_ramp_schedules()))
def test_ramps_run_exactly_from_start_to_end(schedule):
    assert schedule(0) == schedule.start_lr
    assert schedule([schedule.total_steps, 2.0**53]).tolist() == [schedule.end_lr] * 2
    check_schedule(
        schedule,
        bounds=between(schedule.start_lr, schedule.end_lr),
        monotone=direction(schedule.start_lr, schedule.end_lr),
    )


@examples(15)
@given(lst.polynomial_schedules())
def test_polynomial_stays_between_base_and_end(schedule):
    assert near(schedule(0), schedule.base_lr, schedule.end_lr)
    monotone = None if schedule.cycle else direction(schedule.base_lr, schedule.end_lr)
    if not schedule.cycle:
        assert schedule(schedule.total_steps) == schedule.end_lr
    check_schedule(schedule, bounds=between(schedule.base_lr, schedule.end_lr), monotone=monotone)


@examples(15)
@given(lst.cosine_schedules())
def test_cosine_within_min_lr_and_base_lr(schedule):
    assert near(schedule(0), schedule.base_lr, schedule.min_lr)
    assert schedule(schedule.total_steps) == schedule.min_lr
    periodic = schedule.periodic  # rises again after total_steps, repeating every 2T
    check_schedule(
        schedule,
        bounds=between(schedule.base_lr, schedule.min_lr),
        periodic=2 * schedule.total_steps if periodic else None,
        monotone=None if periodic else direction(schedule.base_lr, schedule.min_lr),
    )


@examples(15)
@given(lst.warm_restarts_schedules())
def test_warm_restarts_within_min_lr_and_base_lr(schedule):
    assert near(schedule(0), schedule.base_lr, schedule.min_lr)
    periodic = schedule.period if schedule.period_mult == 1 and schedule.decay == 1 else None
    check_schedule(schedule, bounds=between(schedule.base_lr, schedule.min_lr), periodic=periodic)


@examples(15)
@given(lst.wsd_schedules())
def test_wsd_holds_base_lr_then_decays_to_min_lr(schedule):
    stable = schedule.warmup_steps + np.arange(schedule.stable_steps + 1.0)
    assert all(near(value, schedule.base_lr, schedule.min_lr) for value in schedule(stable))
    end = schedule.warmup_steps + schedule.stable_steps + schedule.decay_steps
    assert schedule(end) == schedule.min_lr
    low, high = between(schedule.base_lr, schedule.min_lr)
    # the warmup ramps up from (nearly) 0
    check_schedule(schedule, bounds=(0.0 if schedule.warmup_steps else low, high))


@examples(15)
@given(lst.cyclic_schedules())
def test_cyclic_within_its_two_lrs(schedule):
    assert schedule(0) == schedule.base_lr
    tail = schedule.tail()
    check_schedule(
        schedule,
        bounds=between(schedule.base_lr, schedule.max_lr),
        periodic=None if tail is None else tail.period,
    )


@examples(15)
@given(lst.one_cycle_schedules())
def test_one_cycle_peaks_at_max_lr_and_ends_low(schedule):
    initial = schedule.max_lr / schedule.div_factor
    final = initial / schedule.final_div_factor
    last = schedule.total_steps - 1
    before_last = (
        2 * schedule.pct_start * schedule.total_steps - 2
        if schedule.three_phase
        else schedule.pct_start * schedule.total_steps - 1
    )
    if before_last < last:  # torch's phases: an empty last phase never reaches `final`
        # the linear anneal, (end - start) * 1 + start, is final up to max_lr's rounding
        assert near(schedule(last), final, schedule.max_lr)
    check_schedule(schedule, bounds=(0.0, schedule.max_lr))


@examples(15)
@given(lst.cycle_momentum_schedules())
def test_momentum_within_its_two_momenta(schedule):
    check_schedule(schedule, bounds=between(schedule.base_momentum, schedule.max_momentum))


# Composites: each matches its definition in terms of the schedules it wraps.


@examples(20)
@given(lst.warmup_schedules(), st.data())
def test_warmup_ramps_to_the_inner_start_then_runs_it(schedule, data):
    steps = draw_steps(data, schedule, max_size=8)
    inner, warm = schedule.schedule, schedule.steps
    values = schedule(steps)
    ramping = steps < warm
    peak = inner(0)
    low = schedule.start_factor * peak
    assert ((values[ramping] >= low * (1 - 1e-12)) & (values[ramping] <= peak)).all()
    assert same_bits(values[~ramping], inner(steps[~ramping] - warm))
    assert schedule(warm) == peak


@examples(20)
@given(lst.sequence_schedules(), st.data())
def test_sequence_runs_each_piece_from_its_own_start(schedule, data):
    steps = draw_steps(data, schedule, max_size=8)
    starts = (0.0, *schedule.boundaries)
    piece = np.searchsorted(schedule.boundaries, steps, side="right")
    for index, step in enumerate(steps):
        child = schedule.schedules[piece[index]]
        assert schedule(step) == child(step - starts[piece[index]])


@examples(20)
@given(lst.product_schedules(), st.data())
def test_product_multiplies_its_factors(schedule, data):
    steps = draw_steps(data, schedule, max_size=8)
    expected = np.ones_like(steps)
    for factor in schedule.factors:
        expected = expected * (factor(steps) if isinstance(factor, Schedule) else factor)
    assert same_bits(schedule(steps), expected)


@examples(20)
@given(lst.clip_schedules(), st.data())
def test_clip_limits_the_inner_schedule(schedule, data):
    steps = draw_steps(data, schedule, max_size=8)
    expected = np.clip(schedule.schedule(steps), schedule.min_lr, schedule.max_lr)
    assert same_bits(schedule(steps), expected)
    check_schedule(schedule, bounds=(schedule.min_lr, min(schedule.max_lr, 1.0)))


@examples(20)
@given(lst.shift_schedules(), st.data())
def test_shift_starts_the_inner_schedule_later_or_earlier(schedule, data):
    steps = draw_steps(data, schedule, max_size=8)
    expected = schedule.schedule(np.maximum(steps + schedule.steps, 0.0))
    assert same_bits(schedule(steps), expected)


@examples(20)
@given(lst.per_epoch_schedules(), st.data())
def test_per_epoch_evaluates_the_inner_schedule_in_epochs(schedule, data):
    steps = draw_steps(data, schedule, max_size=8)
    epochs = steps / schedule.steps_per_epoch
    if schedule.staircase:
        epochs = np.floor(epochs)
    assert same_bits(schedule(steps), schedule.schedule(epochs))


# ---------------------------------------------------------------------------------------
# Core bugs these property tests found, pinned as examples.


def test_product_before_a_method_keeps_its_parentheses_in_repr():
    schedule = (lrsched.constant(0.5) * 0.5).shift(1).clip(0.1)
    assert repr(schedule) == "(constant(lr=0.5) * 0.5).shift(1).clip(min_lr=0.1)"
    assert lrsched.parse(repr(schedule)) == schedule
    per_epoch = (lrsched.constant(0.5) * lrsched.cosine(1.0, 10)).per_epoch(3)
    assert lrsched.parse(repr(per_epoch)) == per_epoch


def test_composed_tail_start_is_rounded_up_not_down():
    # The inner tail starts just after 0 (5e-324); 1 + 5e-324 rounds to 1.0, where the
    # warmed-up schedule still shows values[0].
    inner = lrsched.piecewise_constant([0.0], [0.0, 1.0])
    schedule = lrsched.warmup(inner, 1)
    start = schedule.tail().start
    assert start > 1.0 and schedule(start) == schedule(2.0**53) == 1.0
    check_schedule(schedule)
    check_schedule(lrsched.sequence([lrsched.constant(1.0), inner], [3]))


def test_staircase_per_epoch_tail_starts_at_a_whole_epoch():
    schedule = lrsched.piecewise_constant([0.0], [0.0, 1.0]).per_epoch(1, staircase=True)
    assert schedule.tail().start == 1.0 and schedule(0.5) == 0.0
    assert lrsched.warm_restarts(1.0, 1.5).per_epoch(4, staircase=True).tail() is None
    check_schedule(lrsched.warm_restarts(1.0, 1.5).per_epoch(4, staircase=True))


def test_triangular2_does_not_overflow_at_large_steps():
    schedule = lrsched.cyclic(0.0, 1.0, step_size_up=1, mode="triangular2")
    assert schedule(12345.5) == 0.0 and schedule(2.0**53) == 0.0


def test_linear_and_exponential_ramp_end_exactly_and_stay_between_their_ends():
    assert lrsched.linear(0.1, 0.3, 10)(10) == 0.3
    assert lrsched.exponential_ramp(0.01, 0.01, 1)(0.5) == 0.01


def test_wsd_one_minus_sqrt_holds_min_lr_exactly():
    schedule = lrsched.wsd(1.0, 0, 0, 1, min_lr=0.031108012309292728, decay_shape="1-sqrt")
    assert schedule([1, 2, 2.0**53]).tolist() == [0.031108012309292728] * 3

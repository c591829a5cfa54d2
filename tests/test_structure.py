"""lrsched.breakpoints: where each family and composite jumps, has a corner or turns."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import lrsched
from lrsched import breakpoints
from lrsched.testing import strategies as lst


def steps_of(schedule, low=0, high=10**6, **kwargs):
    return breakpoints(schedule, low, high, **kwargs).steps.tolist()


@pytest.mark.parametrize(
    "schedule, expected",
    [
        (lrsched.constant(0.1), []),
        (lrsched.step(0.1, 300), [300.0, 600.0, 900.0]),
        (lrsched.step(0.1, 300, gamma=1.0), []),  # never changes
        (lrsched.multistep(0.1, [5, 5, 70]), [5.0, 70.0]),
        (lrsched.piecewise_constant([10, 20], [0.3, 0.2, 0.1]), [10.0, 20.0]),
        (lrsched.piecewise_linear([0, 10, 20], [0.0, 1.0, 0.5]), [0.0, 10.0, 20.0]),
        (lrsched.exponential(0.1, 0.5, decay_steps=250, staircase=True), [250.0, 500.0, 750.0]),
        (lrsched.exponential(0.1, 0.5, decay_steps=250), []),
        (lrsched.linear(0.0, 0.1, 400), [400.0]),
        (lrsched.polynomial(0.1, 400, cycle=True), [400.0, 800.0]),
        (lrsched.inverse_sqrt(0.1), []),
        (lrsched.cosine(0.1, 400), [400.0]),
        (lrsched.cosine(0.1, 400, periodic=True), [400.0, 800.0]),  # its lows and highs
        (lrsched.tanh(0.1, 400), [400.0]),
        (lrsched.warm_restarts(0.1, period=100, period_mult=2), [100.0, 300.0, 700.0]),
        (
            lrsched.cyclic(0.1, 1.0, step_size_up=200, step_size_down=100),
            [200.0, 300.0, 500.0, 600.0, 800.0, 900.0],
        ),
        (lrsched.one_cycle(0.1, 1000), [299.0, 999.0]),
        (lrsched.one_cycle(0.1, 1000, three_phase=True), [299.0, 598.0, 999.0]),
        (
            lrsched.wsd(0.1, warmup_steps=100, stable_steps=200, decay_steps=300),
            [100.0, 300.0, 600.0],
        ),
        (lrsched.warmup(lrsched.step(0.1, 300), 50), [50.0, 350.0, 650.0, 950.0]),
        (
            lrsched.sequence([lrsched.constant(0.1), lrsched.cosine(0.1, 100)], [450.5]),
            [450.5, 550.5],
        ),
        (lrsched.step(0.1, 300).shift(-100), [100.0, 400.0, 700.0]),  # holds s(0), then runs
        (lrsched.step(0.1, 300).shift(100), [200.0, 500.0, 800.0]),
        (lrsched.step(0.1, 3).per_epoch(100), [300.0, 600.0, 900.0]),
        (lrsched.cosine(0.1, 4).per_epoch(250, staircase=True), [250.0, 500.0, 750.0]),
        # Read at whole epochs, the child's change at 2 (which belongs to the piece before)
        # shows at epoch 3; epoch 2 is kept too, as it would be for a change at 2 itself.
        (
            lrsched.piecewise_constant([2], [0.1, 0.01]).per_epoch(250, staircase=True),
            [500.0, 750.0],
        ),
        (lrsched.step(0.1, 300) * lrsched.linear(0.1, 0.0, 500), [300.0, 500.0, 600.0, 900.0]),
        (lrsched.cyclic(0.1, 1.0, step_size_up=200).momentum(), [200.0, 400.0, 600.0, 800.0]),
    ],
)
def test_breakpoints_of_each_family_and_composite(schedule, expected):
    assert steps_of(schedule, high=1000) == expected


def test_fractional_restarts_are_where_the_schedule_restarts():
    restarts = lrsched.warm_restarts(0.1, period=1.5, period_mult=1.5)
    assert steps_of(restarts, high=10) == [1.5, 3.75, 7.125]
    for start in steps_of(restarts, high=10**6):
        before, at = restarts(np.array([np.nextafter(start, 0), start]))
        assert at == 0.1 and before < 0.1


@pytest.mark.parametrize(
    "schedule",
    [
        lrsched.lambda_lr(0.1, lambda t: 1.0),
        lrsched.multiplicative(0.1, lambda k: 0.9),
        lrsched.cyclic(0.1, 1.0, scale_fn=lambda t: 1.0, scale_mode="iterations"),
        lrsched.warmup(lrsched.lambda_lr(0.1, lambda t: 1.0), 10),
    ],
)
def test_a_user_function_of_the_step_has_no_known_structure(schedule):
    assert breakpoints(schedule, 0, 1000) is None


def test_a_users_family_may_describe_its_breakpoints():
    class halves(lrsched.Schedule):
        def _values(self, t, xp=None):
            return np.where(t < 500, 0.1, 0.05)

        def _breakpoints(self, low, high):
            return [500.0]

    assert steps_of(halves(), high=1000) == [500.0]
    assert breakpoints(halves(), 600, 1000).steps.size == 0


def test_dense_breakpoints_are_generated_in_the_window_only_and_capped():
    restarts = lrsched.warm_restarts(0.1, period=10)
    spread = breakpoints(restarts, 0, 10**12, limit=5)
    assert spread.capped and spread.steps.size == 5
    assert spread.steps[0] == 10.0 and spread.steps[-1] == 10**12 - 10
    assert (spread.steps % 10 == 0).all()
    np.testing.assert_allclose(np.diff(spread.steps), 2.5e11, rtol=1e-9)
    first = breakpoints(restarts, 1234, 10**12, limit=3, spread=False)
    assert first.capped and first.steps.tolist() == [1240.0, 1250.0, 1260.0]
    complete = breakpoints(restarts, 1234, 1270, limit=3)
    assert not complete.capped and complete.steps.tolist() == [1240.0, 1250.0, 1260.0]
    # through a combinator, in its time
    # restarts at epochs 5 + 10k (shifted), epochs of 2 steps: steps 10 + 20k
    late = breakpoints(restarts.shift(-5).per_epoch(2), 10**11, 10**11 + 60, limit=10)
    assert late.steps.tolist() == [1e11 + 10, 1e11 + 30, 1e11 + 50]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: breakpoints(lrsched.constant(0.1), 0, 10, limit=0), "limit must be"),
        (
            lambda: breakpoints(lrsched.constant(0.1), 0, float("inf")),
            r"high must be a finite number, got inf",
        ),
    ],
)
def test_bad_windows_are_named(call, message):
    with pytest.raises(lrsched.ArgumentError, match=message):
        call()


def contains(schedule, kind):
    return isinstance(schedule, kind) or any(contains(c, kind) for c in schedule.children())


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(schedule=lst.schedules())
def test_between_breakpoints_every_schedule_is_monotone_and_flat_ones_do_not_jump(schedule):
    steps = 4000
    found = breakpoints(schedule, 0, steps, limit=10**6)
    if found is None or found.capped:
        return
    values = schedule(np.arange(steps))
    points = found.steps
    if schedule._flat_pieces():
        # A jump between k - 1 and k has a breakpoint b with k - 1 <= b <= k.
        for k in np.nonzero(values[1:] != values[:-1])[0] + 1:
            assert ((points >= k - 1 - 1e-6) & (points <= k + 1e-6)).any(), k
    if contains(schedule, lrsched.product):
        return  # a rising factor times a falling one may turn anywhere
    cuts = {0, steps - 1}
    for b in points:
        cuts.update(
            int(k) for k in (np.floor(b) - 1, np.floor(b), np.floor(b) + 1) if 0 <= k < steps
        )
    cuts = np.array(sorted(cuts))
    slack = 1e-12 * max(values.max(), 1e-300)
    change = np.diff(values)  # change[i]: from step i to i + 1, in the piece from the cut <= i
    piece = np.searchsorted(cuts, np.arange(steps - 1), side="right") - 1
    rises = np.bincount(piece, weights=change > slack, minlength=cuts.size)
    falls = np.bincount(piece, weights=change < -slack, minlength=cuts.size)
    both = np.nonzero((rises > 0) & (falls > 0))[0]
    assert both.size == 0, [(cuts[i], cuts[i + 1]) for i in both[:3]]


def test_windows_past_exact_whole_numbers_of_periods_still_answer():
    # 9e17 restarts of 0.01 steps below 2**53: their indices are no longer exact floats.
    restarts = lrsched.warm_restarts(1.0, period=0.01)
    first = breakpoints(restarts, 0, 2.0**53, limit=3, spread=False)
    assert first.capped and first.steps.tolist() == [0.01, 0.02, 0.03]
    spread = breakpoints(restarts, 0, 2.0**53, limit=4)
    assert spread.capped and 2 <= spread.steps.size <= 4 and spread.steps[0] == 0.01
    assert (spread.steps < 2.0**53).all()

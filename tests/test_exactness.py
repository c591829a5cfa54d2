"""Exactness: restarts exactly at S_i, huge steps, scalar == vectorized, fractional steps.

References here are independent of our float formulas: Python integers and
``fractions.Fraction`` for where a schedule must be (cycle, position, decay count), and
``decimal`` for powers with fractional exponents.
"""

from __future__ import annotations

import math
import warnings
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrsched

TOP = 2**53  # the largest range in which float64 holds every integer step


def restart_steps(period, mult, limit=TOP):
    """Exact S_i = period * (mult**i - 1) / (mult - 1) for integer mult >= 2, up to limit."""
    starts = []
    index = 1
    while True:
        start = Fraction(period) * (mult**index - 1) / (mult - 1)
        if start > limit:
            return starts
        starts.append((index, start))
        index += 1


def half_cosine(position, length):
    """(1 + cos(pi * position / length)) / 2 for an exact position inside the cycle."""
    return (1.0 + math.cos(math.pi * float(Fraction(position) / Fraction(length)))) / 2.0


# ---------------------------------------------------------------- warm restarts


@given(
    period=st.integers(1, 1000),
    mult=st.integers(2, 12),
    min_lr=st.sampled_from([0.0, 0.01]),
    decay=st.sampled_from([1.0, 0.9, 0.5]),
)
def test_warm_restarts_restart_exactly_at_every_cycle_start(period, mult, min_lr, decay):
    schedule = lrsched.warm_restarts(1.0, period, period_mult=mult, min_lr=min_lr, decay=decay)
    starts = restart_steps(period, mult)
    cycles = [index for index, _ in starts]
    at_start = np.array([float(start) for _, start in starts])
    assert np.all(at_start == [start for _, start in starts])  # exact float64 steps

    top = [min_lr + (1.0 - min_lr) * decay**index for index in cycles]
    np.testing.assert_allclose(schedule(at_start), top, rtol=1e-13)
    if decay == 1.0:
        assert np.all(schedule(at_start) == 1.0)
        assert all(schedule(step) == 1.0 for step in at_start)

    # One step before each restart is the last step of the previous cycle, T_{i-1} - 1 in.
    previous_lengths = [period * mult ** (index - 1) for index in cycles]
    before = [
        min_lr + (1.0 - min_lr) * decay ** (index - 1) * half_cosine(length - 1, length)
        for index, length in zip(cycles, previous_lengths)
    ]
    np.testing.assert_allclose(schedule(at_start - 1.0), before, rtol=1e-9, atol=1e-15)
    # One step after, 1 step into cycle i.
    after = [
        min_lr + (1.0 - min_lr) * decay**index * half_cosine(1, period * mult**index)
        for index in cycles
    ]
    np.testing.assert_allclose(schedule(at_start + 1.0), after, rtol=1e-12)


@pytest.mark.parametrize("period", [0.5, 1.25, 2.5, 7.75])
@pytest.mark.parametrize("mult", [2, 3, 5])
def test_warm_restarts_fractional_period_restart_exactly(period, mult):
    schedule = lrsched.warm_restarts(1.0, period, period_mult=mult)
    exact = [
        float(start) for _, start in restart_steps(period, mult) if Fraction(float(start)) == start
    ]  # S_i that float64 holds exactly
    assert len(exact) > 10
    assert np.all(schedule(np.array(exact)) == 1.0)


def _torch_epoch_lr(period, mult, epoch):
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=1.0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=period, T_mult=mult)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # step(epoch) is deprecated in torch
        scheduler.step(epoch)
    return opt.param_groups[0]["lr"]


def test_torch_step_epoch_misplaces_exact_restarts_and_we_do_not():
    """torch's ``step(epoch)`` finds the cycle as int(math.log(...)): at some exact restart
    epochs the float log lands just below the integer, so torch believes it is at the very
    end of the previous cycle (LR eta_min) instead of at the restart (LR base_lr)."""
    pytest.importorskip("torch")
    misplaced = []
    for period in range(1, 13):
        for mult in range(2, 11):
            for index, start in restart_steps(period, mult, limit=10**7):
                epoch = int(start)
                their_index = int(math.log(epoch / period * (mult - 1) + 1, mult))
                if their_index != index:
                    misplaced.append((period, mult, epoch))
    assert len(misplaced) >= 10  # e.g. T_0=1, T_mult=3 at epoch 121 = S_5
    assert (1, 3, 121) in misplaced
    for period, mult, epoch in misplaced:
        assert lrsched.warm_restarts(1.0, period, period_mult=mult)(epoch) == 1.0
    for period, mult, epoch in misplaced[:: max(1, len(misplaced) // 25)]:  # real torch
        assert _torch_epoch_lr(period, mult, epoch) == pytest.approx(0.0, abs=1e-12)


def test_torch_plain_stepping_reaches_the_restart_that_step_epoch_misses():
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=1.0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=3)
    for _ in range(121):
        opt.step()
        scheduler.step()
    assert opt.param_groups[0]["lr"] == 1.0 == lrsched.warm_restarts(1.0, 1, period_mult=3)(121)


@pytest.mark.parametrize("mult", [1, 2])
def test_warm_restarts_fractional_epochs_match_torch_step_epoch(mult):
    # torch's documented per-batch use: scheduler.step(epoch + i / iters).
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=3, T_mult=mult, eta_min=0.001
    )
    iters = 7
    epochs, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for epoch in range(40):
            for batch in range(iters):
                at = epoch + batch / iters
                scheduler.step(at)
                epochs.append(at)
                theirs.append(opt.param_groups[0]["lr"])
    ours = lrsched.warm_restarts(0.1, 3, period_mult=mult, min_lr=0.001)(np.array(epochs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    per_step = lrsched.warm_restarts(0.1, 3, period_mult=mult, min_lr=0.001).per_epoch(iters)
    np.testing.assert_allclose(per_step(np.arange(len(epochs))), theirs, rtol=1e-12)


# ---------------------------------------------------------------- steps up to 2**53


huge_steps = st.integers(TOP - 10**6, TOP)


def _decimal_power(base, exponent):
    with localcontext() as context:
        context.prec = 40
        return float(Decimal(base) ** (Decimal(exponent.numerator) / exponent.denominator))


@given(step=huge_steps)
def test_huge_steps_decays(step):
    t = float(step)
    size = 2**50 + 3
    assert lrsched.step(0.1, size, gamma=0.5)(t) == 0.1 * 0.5 ** (step // size)
    boundary = 7 * size  # an exact decay boundary far out
    assert lrsched.step(0.1, size, gamma=0.5)(float(boundary)) == 0.1 * 0.5**7
    assert lrsched.step(0.1, size, gamma=0.5)(float(boundary - 1)) == 0.1 * 0.5**6

    milestones = [TOP - 10**5, TOP - 10**5, TOP - 7]
    passed = sum(m <= step for m in milestones)
    assert lrsched.multistep(1.0, milestones, gamma=0.5)(t) == 0.5**passed

    decay_steps = 2**50 - 1
    expected = _decimal_power(0.5, Fraction(step, decay_steps))
    assert lrsched.exponential(1.0, 0.5, decay_steps=decay_steps)(t) == pytest.approx(
        expected, rel=1e-13
    )
    assert lrsched.exponential(1.0, 0.5, decay_steps=decay_steps, staircase=True)(t) == 0.5 ** (
        step // decay_steps
    )

    assert lrsched.inverse_time(1.0, 3, 0.5)(t) == pytest.approx(
        float(1 / (1 + Fraction(1, 2) * Fraction(step, 3))), rel=1e-15
    )
    assert lrsched.inverse_sqrt(1.0, timescale=100)(t) == pytest.approx(
        math.sqrt(float(Fraction(100, step + 100))), rel=1e-15
    )


@given(step=huge_steps, total=st.integers(1, 2**30), power=st.floats(0.5, 3.0))
def test_huge_steps_polynomial_cycle(step, total, power):
    periods = max(1, -(-step // total))  # exact ceil
    remaining = 1 - Fraction(step, total * periods)
    expected = float(remaining) ** power
    value = lrsched.polynomial(1.0, total, power=power, cycle=True)(float(step))
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert lrsched.polynomial(1.0, total, power=power)(float(step)) == 0.0


def test_polynomial_end_of_a_long_decay_keeps_its_digits():
    # 1 - t/T cancels near t = T; counting the steps left does not.
    total = 10**9
    ends = lrsched.polynomial(1.0, total, power=0.5)([total - 1, total - 3])
    np.testing.assert_allclose(ends, [math.sqrt(1 / total), math.sqrt(3 / total)], rtol=1e-15)
    cycled = lrsched.polynomial(1.0, 952037, power=0.5, cycle=True)(9_007_199_253_809_777.0)
    left = Fraction(952037 - 9_007_199_253_809_777 % 952037)
    expected = math.sqrt(left / (952037 * -(-9_007_199_253_809_777 // 952037)))
    assert cycled == pytest.approx(expected, rel=1e-15)


@given(step=huge_steps, total=st.integers(1, 10**6), min_lr=st.sampled_from([0.0, 0.01]))
def test_huge_steps_cosine(step, total, min_lr):
    t = float(step)
    assert lrsched.cosine(1.0, total, min_lr=min_lr)(t) == min_lr
    position = step % (2 * total)  # the cosine is 2T-periodic
    expected = min_lr + (1.0 - min_lr) * half_cosine(position, total)
    assert lrsched.cosine(1.0, total, min_lr=min_lr, periodic=True)(t) == pytest.approx(
        expected, rel=1e-12, abs=1e-15
    )


@given(
    step=huge_steps,
    period=st.integers(1, 1000),
    mult=st.sampled_from([1, 2, 3, 7]),
    decay=st.sampled_from([1.0, 0.999]),
)
def test_huge_steps_warm_restarts(step, period, mult, decay):
    if mult == 1:
        cycle, within, length = step // period, step % period, period
    else:
        cycle, start = 0, 0
        while start + period * mult**cycle <= step:
            start += period * mult**cycle
            cycle += 1
        within, length = step - start, period * mult**cycle
    expected = decay**cycle * half_cosine(within, length)
    value = lrsched.warm_restarts(1.0, period, period_mult=mult, decay=decay)(float(step))
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


@given(
    step=huge_steps,
    up=st.integers(1, 10**6),
    down=st.integers(0, 10**6),
    mode=st.sampled_from(["triangular", "triangular2"]),
)
def test_huge_steps_cyclic(step, up, down, mode):
    length = up + down
    position = Fraction(step % length)
    rise = position / up if position <= up else 1 - (position - up) / down
    scale = 1.0 if mode == "triangular" else 0.5 ** (step // length)
    expected = 0.1 + 0.9 * float(rise) * scale
    schedule = lrsched.cyclic(0.1, 1.0, step_size_up=up, step_size_down=down, mode=mode)
    assert schedule(float(step)) == pytest.approx(expected, rel=1e-12)
    momentum = 0.9 - 0.1 * float(rise) * scale
    assert schedule.momentum(0.8, 0.9)(float(step)) == pytest.approx(momentum, rel=1e-12)


@given(
    step=huge_steps,
    up=st.sampled_from([0.5, 2.5, 3.25, 1000.75]),
    down=st.sampled_from([0.25, 1.5, 7.0]),
)
def test_huge_steps_cyclic_fractional_step_sizes(step, up, down):
    up, down = Fraction(up), Fraction(down)
    position = Fraction(step) % (up + down)
    rise = position / up if position <= up else 1 - (position - up) / down
    schedule = lrsched.cyclic(0.1, 1.0, step_size_up=float(up), step_size_down=float(down))
    assert schedule(float(step)) == pytest.approx(0.1 + 0.9 * float(rise), rel=1e-12)


@given(step=huge_steps)
def test_huge_steps_ends_and_pieces(step):
    t = float(step)
    assert lrsched.constant(0.1)(t) == 0.1
    assert lrsched.linear(0.0, 1.0, 1000)(t) == 1.0
    assert lrsched.linear(1.0, 0.01, 10)([10.0, t]).tolist() == [0.01, 0.01]  # exact end
    assert lrsched.exponential_ramp(1e-3, 1.0, 1000)(t) == 1.0
    assert lrsched.one_cycle(1.0, 1000)(t) == pytest.approx(1.0 / 25 / 1e4, rel=1e-15)
    assert lrsched.one_cycle(1.0, 1000).momentum()(t) == 0.95
    assert lrsched.wsd(1.0, 10, 10, 10, min_lr=0.01)(t) == 0.01
    assert lrsched.lambda_lr(1.0, lambda k: 1 / (1 + k))(t) == pytest.approx(
        float(Fraction(1, step + 1)), rel=1e-15
    )
    boundary = TOP - 5
    assert lrsched.piecewise_constant([boundary], [0.1, 0.2])(t) == (
        0.1 if step <= boundary else 0.2
    )
    line = lrsched.piecewise_linear([0, TOP], [0.0, 1.0])
    assert line(t) == pytest.approx(float(Fraction(step, TOP)), rel=1e-15)


@given(step=huge_steps)
def test_huge_steps_composites(step):
    t = float(step)
    inner = lrsched.cosine(1.0, 10, periodic=True)

    def periodic_at(position):
        return half_cosine(position % 20, 10)

    assert lrsched.sequence([lrsched.constant(1.0), inner], [3])(t) == pytest.approx(
        periodic_at(step - 3), rel=1e-12, abs=1e-15
    )
    assert lrsched.warmup(inner, 5)(t) == pytest.approx(periodic_at(step - 5), rel=1e-12, abs=1e-15)
    assert (inner * 0.5)(t) == pytest.approx(0.5 * periodic_at(step), rel=1e-12, abs=1e-15)
    assert inner.clip(0.1)(t) == pytest.approx(max(0.1, periodic_at(step)), rel=1e-12)
    if step <= TOP - 3:  # t + 3 must still be a float64 integer
        assert inner.shift(3)(t) == pytest.approx(periodic_at(step + 3), rel=1e-12, abs=1e-15)
    # Epoch conversion is exact when the division is: staircase, or a power of two.
    assert inner.per_epoch(3, staircase=True)(t) == pytest.approx(
        periodic_at(step // 3), rel=1e-12, abs=1e-15
    )
    by_four = Fraction(step, 4) % 20
    assert inner.per_epoch(4)(t) == pytest.approx(half_cosine(by_four, 10), rel=1e-12, abs=1e-15)


def test_multiplicative_refuses_huge_steps_clearly():
    with pytest.raises(ValueError, match=r"multiplicative\(\): steps up to"):
        lrsched.multiplicative(1.0, lambda k: 0.5)(float(TOP))


# ---------------------------------------------------------------- scalar == vectorized


def _scale(cycle):
    return 1.0 / (1.0 + 0.1 * cycle)


def _branching(step):
    return 1.0 if step < 50 else 0.5


SCHEDULES = [
    lrsched.constant(0.1),
    lrsched.step(0.1, 30, gamma=0.5),
    lrsched.multistep(0.1, [10, 10, 80], gamma=0.5),
    lrsched.piecewise_constant([10, 20], [1.0, 0.5, 0.1]),
    lrsched.piecewise_linear([0, 10, 20], [0.0, 1.0, 0.5]),
    lrsched.exponential(0.1, 0.97, decay_steps=3),
    lrsched.exponential(0.1, 0.97, decay_steps=3, staircase=True),
    lrsched.exponential_ramp(1e-5, 1.0, 90),
    lrsched.linear(0.0, 0.1, 40),
    lrsched.polynomial(0.1, 70, end_lr=0.001, power=1.7),
    lrsched.polynomial(0.1, 70, power=0.5, cycle=True),
    lrsched.inverse_time(0.1, 10, 0.5),
    lrsched.inverse_sqrt(0.1, timescale=25),
    lrsched.lambda_lr(0.1, lambda t: 0.99**t),
    lrsched.lambda_lr(0.1, _branching),
    lrsched.multiplicative(0.1, lambda k: 0.99),
    lrsched.cosine(0.1, 60, min_lr=0.001),
    lrsched.cosine(0.1, 60, periodic=True),
    lrsched.warm_restarts(0.1, 5, period_mult=2, min_lr=0.001, decay=0.8),
    lrsched.warm_restarts(0.1, 2.5, period_mult=1.5),
    lrsched.wsd(0.1, 10, 30, 40, decay_shape="1-sqrt"),
    lrsched.cyclic(0.01, 0.1, step_size_up=7, step_size_down=13),
    lrsched.cyclic(0.01, 0.1, step_size_up=7, mode="triangular2"),
    lrsched.cyclic(0.01, 0.1, step_size_up=7, mode="exp_range", gamma=0.99),
    lrsched.cyclic(0.01, 0.1, step_size_up=7, scale_fn=_scale),
    lrsched.cyclic(0.01, 0.1, step_size_up=7, step_size_down=3).momentum(0.8, 0.9),
    lrsched.one_cycle(0.1, 90, pct_start=0.25),
    lrsched.one_cycle(0.1, 90, anneal="linear", three_phase=True).momentum(),
    lrsched.sequence([lrsched.linear(0.0, 0.1, 10), lrsched.cosine(0.1, 80)], [10]),
    lrsched.warmup(lrsched.cosine(0.1, 80), 10, mode="cosine"),
    lrsched.cosine(0.1, 80) * lrsched.step(1.0, 20, gamma=0.5) * 2,
    lrsched.cosine(0.1, 80).clip(0.01, 0.05),
    lrsched.cosine(0.1, 80).shift(-5),
    lrsched.cosine(0.1, 8).per_epoch(10),
    lrsched.cosine(0.1, 8).per_epoch(10, staircase=True),
]

step_arrays = st.lists(
    st.one_of(st.integers(0, 300), st.floats(0.0, 300.0), st.integers(TOP - 100, TOP)),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=repr)
@given(steps=step_arrays)
def test_scalar_equals_vectorized_bit_for_bit(schedule, steps):
    if isinstance(schedule, lrsched.multiplicative):
        steps = [min(step, 300) for step in steps]
    array = np.array(steps, dtype=np.float64)
    vectorized = schedule(array)
    scalars = np.array([schedule(step) for step in steps])
    assert vectorized.dtype == np.float64 and vectorized.shape == array.shape
    # Bit for bit: compare the float64 patterns, not values within a tolerance.
    np.testing.assert_array_equal(vectorized.view(np.int64), scalars.view(np.int64))
    assert np.all(np.isfinite(vectorized))
    grid = schedule(array.reshape(-1, 1) * np.ones((1, 3)))
    np.testing.assert_array_equal(grid, np.repeat(vectorized.reshape(-1, 1), 3, axis=1))


# ---------------------------------------------------------------- fractional steps


def test_fractional_steps():
    assert lrsched.step(1.0, 2, gamma=0.5)([1.999, 2.0, 2.5, 3.999]).tolist() == [
        1.0,
        0.5,
        0.5,
        0.5,
    ]
    assert lrsched.multistep(1.0, [3], gamma=0.5)([2.5, 3.0]).tolist() == [1.0, 0.5]
    assert lrsched.cosine(1.0, 10)(2.5) == pytest.approx(half_cosine(Fraction(5, 2), 10), rel=1e-15)
    assert lrsched.linear(0.0, 1.0, 10)(2.5) == 0.25
    assert lrsched.exponential(1.0, 0.25)(0.5) == 0.5
    assert lrsched.warm_restarts(1.0, 4, period_mult=2)([3.5, 4.0, 4.5]).tolist() == pytest.approx(
        [half_cosine(Fraction(7, 2), 4), 1.0, half_cosine(Fraction(1, 2), 8)], rel=1e-15
    )
    assert lrsched.cyclic(0.0, 1.0, step_size_up=4)([1.0, 5.0, 8.5]).tolist() == [0.25, 0.75, 0.125]
    assert lrsched.one_cycle(1.0, 1001, pct_start=0.3, anneal="linear")(299.3) == 1.0


@pytest.mark.parametrize("total", [10**3, 10**6, 10**9])
def test_decays_to_zero_keep_their_relative_precision_to_the_last_step(total):
    """Near the end of a decay to 0 the value is tiny; its relative error must stay small
    (a form like start * (1 - t/T) cancels to a few digits)."""
    from fractions import Fraction

    steps = [total - 1, total - 2, total - 7, total // 2]
    line = lrsched.linear(1.0, 0.0, total)
    sqrt_decay = lrsched.wsd(
        1.0, warmup_steps=0, stable_steps=0, decay_steps=total, decay_shape="1-sqrt"
    )
    square = lrsched.polynomial(1.0, total, power=2.0)
    for step in steps:
        left = Fraction(total - step, total)
        assert line(step) == pytest.approx(float(left), rel=1e-12, abs=0)
        assert square(step) == pytest.approx(float(left**2), rel=1e-12, abs=0)
        exact = (
            1 - math.sqrt(step / total)
            if step < total * 0.9
            else float(left / (1 + Fraction(math.sqrt(step / total))))
        )
        assert sqrt_decay(step) == pytest.approx(exact, rel=1e-12, abs=0)
    assert line(0) == 1.0 and line(total) == 0.0 and sqrt_decay(0) == 1.0
    assert sqrt_decay(total) == 0.0


@pytest.mark.parametrize("total", [10**3, 10**6, 10**9])
def test_cosine_decays_keep_their_relative_precision_to_the_last_step(total):
    """cosine(1.0, 10**6)(10**6 - 1) was 5.7e-6 off in relative terms with (1 + cos)/2."""
    steps = [total - 1, total - 2, total - 5, total + 1]
    exact = [math.sin(math.pi * (total - step) / (2 * total)) ** 2 for step in steps[:3]]
    decays = [
        lrsched.cosine(1.0, total),
        lrsched.warm_restarts(1.0, total),
        lrsched.wsd(1.0, warmup_steps=0, stable_steps=0, decay_steps=total, decay_shape="cosine"),
    ]
    for schedule in decays:
        for step, value in zip(steps, exact):
            assert schedule(step) == pytest.approx(value, rel=1e-12, abs=0), schedule
    assert lrsched.cosine(1.0, total, periodic=True)(total + 1) == pytest.approx(
        exact[0], rel=1e-12
    )

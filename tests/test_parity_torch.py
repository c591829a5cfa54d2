"""Parity with real torch 2.13 schedulers: the whole trajectory, step by step.

Each test builds a real optimizer and the real torch scheduler, steps them as a training
loop does (``optimizer.step(); scheduler.step()``), and reads ``param_groups[0]["lr"]``
*before* each ``optimizer.step()`` (the LR that update t uses). Our closed form,
evaluated once on ``np.arange(n)``, must match that trajectory within ``RTOL`` (torch
computes most schedules recursively, so it drifts by rounding; we do not).

Run ``LRSCHED_PARITY_REPORT=1 pytest tests/test_parity_torch.py -s -p no:randomly`` to
print the largest relative difference measured per family.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lrsched

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler

RTOL = 1e-9
# Values that should be 0 (cosine at T, linear to 0) come out of torch's recursion as
# rounding residue of the order of eps * base_lr; an absolute tolerance covers those.
ATOL = 1e-15

# A handful of examples per family: each example steps a real optimizer thousands of times.
FEW = settings(
    max_examples=max(4, settings().max_examples // 4), suppress_health_check=[HealthCheck.too_slow]
)

MEASURED: dict[str, float] = defaultdict(float)


@pytest.fixture(scope="module", autouse=True)
def _report_measured():
    yield
    if os.environ.get("LRSCHED_PARITY_REPORT"):
        print("\nlargest relative difference from torch, per family:")
        for family, worst in sorted(MEASURED.items()):
            print(f"  {family:32s} {worst:.3e}")


def torch_trajectory(build, steps, *, optimizer="sgd", lr=0.1):
    """LRs (and momentum or Adam beta1) that a real torch loop uses for updates 0..steps-1."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    if optimizer == "sgd":
        opt = torch.optim.SGD([parameter], lr=lr, momentum=0.9)
    else:
        opt = torch.optim.AdamW([parameter], lr=lr)
    scheduler = build(opt)
    parameter.grad = torch.ones(1)
    lrs = np.empty(steps)
    momenta = np.empty(steps)
    group = opt.param_groups[0]
    for index in range(steps):
        lrs[index] = group["lr"]
        momenta[index] = group["momentum"] if optimizer == "sgd" else group["betas"][0]
        opt.step()
        scheduler.step()
    return lrs, momenta


def relative_difference(ours, theirs):
    scale = np.maximum(np.abs(theirs), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(ours - theirs) / scale, initial=0.0))


def assert_trajectory(family, ours, theirs, *, rtol=RTOL, atol=ATOL):
    """Our values equal torch's within tolerance; record the worst relative difference."""
    ours = np.asarray(ours, dtype=np.float64)
    assert ours.shape == theirs.shape
    beyond_atol = np.abs(theirs) > atol
    worst = relative_difference(ours[beyond_atol], theirs[beyond_atol])
    MEASURED[family] = max(MEASURED[family], worst)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=family)


def assert_matches_torch(family, ours, build, *, lr, steps=3000, **tolerance):
    """Our schedule on 0..steps-1 equals the LRs of the torch scheduler ``build(opt)``."""
    theirs, _ = torch_trajectory(build, steps, lr=lr)
    assert_trajectory(family, ours(np.arange(steps)), theirs, **tolerance)


base_lrs = st.floats(1e-4, 10.0)
decay_factors = st.floats(0.05, 0.99)


# ---------------------------------------------------------------- step-based decays


@FEW
@given(base_lr=base_lrs, step_size=st.integers(1, 400), gamma=decay_factors)
def test_step_matches_steplr(base_lr, step_size, gamma):
    assert_matches_torch(
        "step/StepLR",
        lrsched.step(base_lr, step_size, gamma=gamma),
        lambda opt: lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma),
        lr=base_lr,
    )


@FEW
@given(
    base_lr=base_lrs,
    gamma=decay_factors,
    milestones=st.lists(st.integers(0, 2500), min_size=1, max_size=8),
    repeated=st.integers(0, 7),
)
def test_multistep_matches_multisteplr_with_repeated_milestones(
    base_lr, gamma, milestones, repeated
):
    # A repeated milestone decays twice in torch (a Counter of milestones); so here.
    milestones = sorted([*milestones, milestones[repeated % len(milestones)]])
    assert_matches_torch(
        "multistep/MultiStepLR",
        lrsched.multistep(base_lr, milestones, gamma=gamma),
        lambda opt: lr_scheduler.MultiStepLR(opt, milestones, gamma=gamma),
        lr=base_lr,
    )


def test_repeated_milestone_decays_twice_in_both():
    theirs, _ = torch_trajectory(
        lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[3, 3, 5], gamma=0.5), 7, lr=1.0
    )
    ours = lrsched.multistep(1.0, [3, 3, 5], gamma=0.5)(np.arange(7))
    np.testing.assert_array_equal(theirs, [1, 1, 1, 0.25, 0.25, 0.125, 0.125])
    np.testing.assert_array_equal(ours, theirs)


@FEW
@given(base_lr=base_lrs, gamma=st.floats(0.99, 1.001))
def test_exponential_matches_exponentiallr(base_lr, gamma):
    assert_matches_torch(
        "exponential/ExponentialLR",
        lrsched.exponential(base_lr, gamma),
        lambda opt: lr_scheduler.ExponentialLR(opt, gamma=gamma),
        lr=base_lr,
    )


@FEW
@given(
    base_lr=base_lrs,
    start_factor=st.floats(0.01, 1.0),
    end_factor=st.floats(0.0, 1.0),
    total_iters=st.integers(1, 2500),
)
def test_linear_matches_linearlr(base_lr, start_factor, end_factor, total_iters):
    # The recursion reaches end_factor=0 only up to rounding of base_lr's size.
    assert_matches_torch(
        "linear/LinearLR",
        lrsched.linear(base_lr * start_factor, base_lr * end_factor, total_iters),
        lambda opt: lr_scheduler.LinearLR(
            opt, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters
        ),
        lr=base_lr,
        atol=1e-15 * base_lr,
    )


@FEW
@given(base_lr=base_lrs, factor=st.floats(0.01, 1.0), total_iters=st.integers(1, 2500))
def test_constant_phase_matches_constantlr(base_lr, factor, total_iters):
    ours = lrsched.sequence(
        [lrsched.constant(base_lr * factor), lrsched.constant(base_lr)], [total_iters]
    )
    assert_matches_torch(
        "sequence(constant)/ConstantLR",
        ours,
        lambda opt: lr_scheduler.ConstantLR(opt, factor=factor, total_iters=total_iters),
        lr=base_lr,
    )


@FEW
@given(base_lr=base_lrs, total_iters=st.integers(1, 2500), power=st.floats(0.3, 4.0))
def test_polynomial_matches_polynomiallr(base_lr, total_iters, power):
    # Near the end (1 - t/T)**power is tiny and torch's product of ratios carries the
    # rounding of every step; compare those few values against base_lr's scale.
    assert_matches_torch(
        "polynomial/PolynomialLR",
        lrsched.polynomial(base_lr, total_iters, power=power),
        lambda opt: lr_scheduler.PolynomialLR(opt, total_iters=total_iters, power=power),
        lr=base_lr,
        atol=1e-13 * base_lr,
    )


# ---------------------------------------------------------------- user functions


def _inverse_decay(step):
    return 1.0 / (1.0 + 0.01 * step)


@FEW
@given(base_lr=base_lrs, rate=st.floats(0.0, 0.1))
def test_lambda_lr_vectorizable_fn_matches_lambdalr(base_lr, rate):
    def fn(step):
        return 1.0 / (1.0 + rate * step)

    assert_matches_torch(
        "lambda_lr/LambdaLR",
        lrsched.lambda_lr(base_lr, fn),
        lambda opt: lr_scheduler.LambdaLR(opt, fn),
        lr=base_lr,
        steps=2000,
    )


@FEW
@given(base_lr=base_lrs, warm=st.integers(1, 500), decay_at=st.integers(0, 1500))
def test_lambda_lr_branching_fn_matches_lambdalr(base_lr, warm, decay_at):
    def fn(step):  # Python `if` and math: fails on an array, so it runs per step
        if step < warm:
            return (step + 1) / warm
        if step < warm + decay_at:
            return 1.0
        return math.exp(-(step - warm - decay_at) / 300)

    assert_matches_torch(
        "lambda_lr/LambdaLR",
        lrsched.lambda_lr(base_lr, fn),
        lambda opt: lr_scheduler.LambdaLR(opt, fn),
        lr=base_lr,
        steps=2000,
    )


@FEW
@given(base_lr=base_lrs, factor=st.floats(0.99, 1.0), wobble=st.floats(0.0, 0.01))
def test_multiplicative_matches_multiplicativelr(base_lr, factor, wobble):
    def fn(step):
        return factor + wobble * np.sin(step)

    assert_matches_torch(
        "multiplicative/MultiplicativeLR",
        lrsched.multiplicative(base_lr, fn),
        lambda opt: lr_scheduler.MultiplicativeLR(opt, fn),
        lr=base_lr,
        steps=2000,
    )


# ---------------------------------------------------------------- cosine families


@FEW
@given(base_lr=base_lrs, total_steps=st.integers(1, 600), min_fraction=st.floats(0.0, 0.9))
def test_cosine_periodic_matches_cosineannealinglr_past_t_max(base_lr, total_steps, min_fraction):
    # torch's CosineAnnealingLR keeps following the cosine past T_max (it rises again);
    # periodic=True reproduces that, well past T_max and over many periods.
    eta_min = base_lr * min_fraction
    steps = 3000
    theirs, _ = torch_trajectory(
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps, eta_min=eta_min),
        steps,
        lr=base_lr,
    )
    periodic = lrsched.cosine(base_lr, total_steps, min_lr=eta_min, periodic=True)
    assert_trajectory(
        "cosine/CosineAnnealingLR", periodic(np.arange(steps)), theirs, atol=1e-14 * base_lr
    )

    # The default holds min_lr after T_max instead; up to T_max both agree.
    held = lrsched.cosine(base_lr, total_steps, min_lr=eta_min)(np.arange(steps))
    through_t_max = slice(0, total_steps + 1)
    assert_trajectory(
        "cosine/CosineAnnealingLR", held[through_t_max], theirs[through_t_max], atol=1e-14 * base_lr
    )
    assert np.all(held[total_steps:] == eta_min)
    if total_steps >= 2:  # torch rises again right after T_max
        assert theirs[total_steps + 1] > eta_min


@pytest.mark.slow  # 10**5 steps of a torch optimizer and scheduler
def test_long_cosine_run_drift_of_torch_recursion():
    """10**5 steps: torch's recursive update drifts from the closed form by rounding.

    Measured with torch 2.13: max relative difference 7.4e-8 over the whole run, in the last
    few dozen steps, where 1 + cos is ~1e-9 and each ratio of torch's recursion carries a
    relative rounding error of eps / (1 + cos). That is torch's own error: lrsched's cosine
    is within 1e-12 of the exact value there (tests/test_exactness.py); with the (1 + cos)/2
    form both shared most of it and differed by 1.6e-10. Max absolute difference 1.8e-15
    for base_lr 0.1. One-off runs without the optimizer (same LRs): T_max=10**6 over
    10**6 steps 4.7e-11 relative; T_max=1000 over 10**5 steps (50 periods, periodic=True)
    6.8e-11 relative, 4.5e-12 absolute: the recursion's error grows with each period.
    """
    total_steps = 100_000
    steps = total_steps + 1
    theirs, _ = torch_trajectory(
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps), steps, lr=0.1
    )
    ours = lrsched.cosine(0.1, total_steps)(np.arange(steps))
    drift = relative_difference(ours[:-1], theirs[:-1])
    MEASURED["cosine/CosineAnnealingLR 1e5 steps"] = drift
    assert drift < 2e-7
    assert np.max(np.abs(ours - theirs)) < 1e-13 * 0.1
    assert ours[-1] == 0.0  # the closed form lands exactly on min_lr at T


@FEW
@given(
    base_lr=base_lrs,
    period=st.integers(1, 60),
    period_mult=st.sampled_from([1, 2, 3]),
    min_fraction=st.floats(0.0, 0.9),
)
def test_warm_restarts_matches_cosineannealingwarmrestarts(
    base_lr, period, period_mult, min_fraction
):
    eta_min = base_lr * min_fraction
    assert_matches_torch(
        "warm_restarts/CosineAnnealingWarmRestarts",
        lrsched.warm_restarts(base_lr, period, period_mult=period_mult, min_lr=eta_min),
        lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=period, T_mult=period_mult, eta_min=eta_min
        ),
        lr=base_lr,
    )


# ---------------------------------------------------------------- cyclical policies


step_sizes = st.integers(1, 300)


@FEW
@given(
    base_lr=st.floats(1e-4, 0.1),
    spread=st.floats(1.0, 100.0),
    up=step_sizes,
    down=st.none() | st.integers(0, 300),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.995, 1.0),
    optimizer=st.sampled_from(["sgd", "adamw"]),
    base_momentum=st.floats(0.5, 0.85),
    max_momentum=st.floats(0.85, 0.99),
)
def test_cyclic_matches_cycliclr_with_momentum(
    base_lr, spread, up, down, mode, gamma, optimizer, base_momentum, max_momentum
):
    max_lr = base_lr * spread
    steps = 2000
    cycle_length = up + (up if down is None else down)
    assume(mode != "triangular2" or cycle_length >= 2)  # torch overflows past 1024 cycles
    theirs, their_momenta = torch_trajectory(
        lambda opt: lr_scheduler.CyclicLR(
            opt,
            base_lr=base_lr,
            max_lr=max_lr,
            step_size_up=up,
            step_size_down=down,
            mode=mode,
            gamma=gamma,
            cycle_momentum=True,
            base_momentum=base_momentum,
            max_momentum=max_momentum,
        ),
        steps,
        optimizer=optimizer,
    )
    ours = lrsched.cyclic(
        base_lr, max_lr, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma
    )
    t = np.arange(steps)
    assert_trajectory("cyclic/CyclicLR", ours(t), theirs)
    assert_trajectory(
        f"cyclic.momentum/CyclicLR ({optimizer})",
        ours.momentum(base_momentum, max_momentum)(t),
        their_momenta,
    )


@FEW
@given(up=st.floats(1.0, 200.0), down=st.floats(1.0, 200.0))
def test_cyclic_fractional_step_sizes_match_cycliclr(up, down):
    # At least 2 steps per cycle: torch's triangular2 overflows past 1024 cycles (below).
    steps = 2000
    theirs, _ = torch_trajectory(
        lambda opt: lr_scheduler.CyclicLR(
            opt,
            base_lr=0.01,
            max_lr=0.1,
            step_size_up=up,
            step_size_down=down,
            mode="triangular2",
            cycle_momentum=False,
        ),
        steps,
    )
    ours = lrsched.cyclic(0.01, 0.1, step_size_up=up, step_size_down=down, mode="triangular2")(
        np.arange(steps)
    )
    assert_trajectory("cyclic/CyclicLR", ours, theirs)


@FEW
@given(
    scale_mode=st.sampled_from(["cycle", "iterations"]),
    up=step_sizes,
    down=st.none() | step_sizes,
    rate=st.floats(0.0, 0.5),
)
def test_cyclic_custom_scale_fn_matches_cycliclr(scale_mode, up, down, rate):
    def scale_fn(x):
        return 1.0 / (1.0 + rate * x)

    steps = 3000
    theirs, their_momenta = torch_trajectory(
        lambda opt: lr_scheduler.CyclicLR(
            opt,
            base_lr=0.01,
            max_lr=0.1,
            step_size_up=up,
            step_size_down=down,
            scale_fn=scale_fn,
            scale_mode=scale_mode,
        ),
        steps,
    )
    ours = lrsched.cyclic(
        0.01, 0.1, step_size_up=up, step_size_down=down, scale_fn=scale_fn, scale_mode=scale_mode
    )
    t = np.arange(steps)
    assert_trajectory("cyclic/CyclicLR", ours(t), theirs)
    assert_trajectory("cyclic.momentum/CyclicLR (sgd)", ours.momentum(0.8, 0.9)(t), their_momenta)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_cyclic_builtin_modes_override_scale_mode_as_torch_does(mode, scale_mode):
    # torch ignores scale_mode for the built-in modes (exp_range always scales by
    # iterations, the triangles by cycle); asking for the other one changes nothing.
    steps = 1000
    theirs, _ = torch_trajectory(
        lambda opt: lr_scheduler.CyclicLR(
            opt,
            base_lr=0.01,
            max_lr=0.1,
            step_size_up=30,
            step_size_down=70,
            mode=mode,
            gamma=0.998,
            scale_mode=scale_mode,
        ),
        steps,
    )
    ours = lrsched.cyclic(
        0.01, 0.1, step_size_up=30, step_size_down=70, mode=mode, gamma=0.998, scale_mode=scale_mode
    )
    assert_trajectory("cyclic/CyclicLR", ours(np.arange(steps)), theirs)
    default = lrsched.cyclic(0.01, 0.1, step_size_up=30, step_size_down=70, mode=mode, gamma=0.998)
    np.testing.assert_array_equal(ours(np.arange(steps)), default(np.arange(steps)))


def test_cyclic_triangular2_past_1024_cycles_where_torch_overflows():
    # torch evaluates 2.0 ** (cycle - 1) and raises OverflowError in cycle 1025; the
    # scale there is below 2**-1023, so the LR is base_lr (to float64 precision).
    steps = 2 * 1024 - 1  # torch computes the LR of step 2048 (cycle 1025) in the last call
    theirs, _ = torch_trajectory(
        lambda opt: lr_scheduler.CyclicLR(
            opt, base_lr=0.01, max_lr=0.1, step_size_up=1, mode="triangular2", cycle_momentum=False
        ),
        steps,
    )
    ours = lrsched.cyclic(0.01, 0.1, step_size_up=1, mode="triangular2")
    assert_trajectory("cyclic/CyclicLR", ours(np.arange(steps)), theirs)
    with pytest.raises(OverflowError):
        torch_trajectory(
            lambda opt: lr_scheduler.CyclicLR(
                opt,
                base_lr=0.01,
                max_lr=0.1,
                step_size_up=1,
                mode="triangular2",
                cycle_momentum=False,
            ),
            steps + 2,
        )
    assert ours(steps + 1) == 0.01


def _valid_one_cycle(total_steps, pct_start, three_phase):
    # torch divides by a zero-length first phase (ZeroDivisionError); we start at max_lr.
    return pct_start * total_steps - 1 != 0.0


@FEW
@given(
    max_lr=base_lrs,
    total_steps=st.integers(2, 3000),
    pct_start=st.floats(0.02, 0.98),
    anneal=st.sampled_from(["cos", "linear"]),
    div_factor=st.floats(2.0, 100.0),
    final_div_factor=st.floats(1.0, 1e5),
    three_phase=st.booleans(),
    optimizer=st.sampled_from(["sgd", "adamw"]),
    base_momentum=st.floats(0.5, 0.85),
    max_momentum=st.floats(0.85, 0.99),
)
def test_one_cycle_matches_onecyclelr_with_momentum(
    max_lr,
    total_steps,
    pct_start,
    anneal,
    div_factor,
    final_div_factor,
    three_phase,
    optimizer,
    base_momentum,
    max_momentum,
):
    assume(_valid_one_cycle(total_steps, pct_start, three_phase))
    theirs, their_momenta = torch_trajectory(
        lambda opt: lr_scheduler.OneCycleLR(
            opt,
            max_lr=max_lr,
            total_steps=total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
            base_momentum=base_momentum,
            max_momentum=max_momentum,
        ),
        total_steps,
        optimizer=optimizer,
    )
    ours = lrsched.one_cycle(
        max_lr,
        total_steps,
        pct_start=pct_start,
        anneal=anneal,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )
    t = np.arange(total_steps)
    assert_trajectory("one_cycle/OneCycleLR", ours(t), theirs)
    assert_trajectory(
        f"one_cycle.momentum/OneCycleLR ({optimizer})",
        ours.momentum(base_momentum, max_momentum)(t),
        their_momenta,
    )


@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_fractional_phase_end(anneal, three_phase):
    # pct_start * T - 1 = 299.3: the peak falls between steps 299 and 300, as in torch.
    total_steps = 1001
    theirs, their_momenta = torch_trajectory(
        lambda opt: lr_scheduler.OneCycleLR(
            opt,
            max_lr=1.0,
            total_steps=total_steps,
            pct_start=0.3,
            anneal_strategy=anneal,
            three_phase=three_phase,
        ),
        total_steps,
    )
    ours = lrsched.one_cycle(
        1.0, total_steps, pct_start=0.3, anneal=anneal, three_phase=three_phase
    )
    t = np.arange(total_steps)
    assert_trajectory("one_cycle/OneCycleLR", ours(t), theirs)
    assert_trajectory("one_cycle.momentum/OneCycleLR (sgd)", ours.momentum()(t), their_momenta)
    assert theirs.max() < 1.0 and ours(299.3) == 1.0


def test_one_cycle_holds_where_torch_extrapolates_then_raises():
    # torch computes one step past the end (progress > 1 in the last phase) and raises on
    # the next; we hold the final LR.
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=0.1, momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear")
    for _ in range(10):
        opt.step()
        scheduler.step()
    ours = lrsched.one_cycle(1.0, 10, anneal="linear")
    final = 1.0 / 25.0 / 1e4
    assert ours(10) == ours(9) == pytest.approx(final, rel=1e-12)
    assert opt.param_groups[0]["lr"] < final  # extrapolated below the final LR
    opt.step()
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        scheduler.step()


# ---------------------------------------------------------------- composition


def _sequential(opt, children, milestones):
    return lr_scheduler.SequentialLR(opt, [child(opt) for child in children], milestones)


SEQUENCES = {
    "linear warmup -> cosine": (
        [
            lambda o: lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=100),
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=1500, eta_min=0.001),
        ],
        [100],
        lrsched.sequence(
            [
                lrsched.linear(0.001, 0.1, 100),
                lrsched.cosine(0.1, 1500, min_lr=0.001, periodic=True),
            ],
            [100],
        ),
    ),
    "constant -> exponential": (
        [
            lambda o: lr_scheduler.ConstantLR(o, factor=0.1, total_iters=20),
            lambda o: lr_scheduler.ExponentialLR(o, gamma=0.998),
        ],
        [20],
        lrsched.sequence([lrsched.constant(0.01), lrsched.exponential(0.1, 0.998)], [20]),
    ),
    "step -> warm restarts -> polynomial": (
        [
            lambda o: lr_scheduler.StepLR(o, step_size=50, gamma=0.5),
            lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=30, T_mult=2),
            lambda o: lr_scheduler.PolynomialLR(o, total_iters=700, power=2.0),
        ],
        [300, 1300],
        lrsched.sequence(
            [
                lrsched.step(0.1, 50, gamma=0.5),
                lrsched.warm_restarts(0.1, 30, period_mult=2),
                lrsched.polynomial(0.1, 700, power=2.0),
            ],
            [300, 1300],
        ),
    ),
    "lambda -> cosine -> multistep": (
        [
            lambda o: lr_scheduler.LambdaLR(o, _inverse_decay),
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=400),
            lambda o: lr_scheduler.MultiStepLR(o, milestones=[100, 100, 600], gamma=0.5),
        ],
        [500, 900],
        lrsched.sequence(
            [
                lrsched.lambda_lr(0.1, _inverse_decay),
                lrsched.cosine(0.1, 400),
                lrsched.multistep(0.1, [100, 100, 600], gamma=0.5),
            ],
            [500, 900],
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sequence_matches_sequentiallr(name):
    children, milestones, ours = SEQUENCES[name]
    steps = 2000
    theirs, _ = torch_trajectory(lambda opt: _sequential(opt, children, milestones), steps)
    assert_trajectory("sequence/SequentialLR", ours(np.arange(steps)), theirs)


def test_sequentiallr_quirk_multiplicative_continues_from_previous_lr():
    # A MultiplicativeLR started by SequentialLR at its milestone multiplies the LR the
    # previous scheduler left times fn(0) (it has no closed form to restart from
    # base_lr), so it does not run "from its own step 0" as the other torch schedulers
    # do. Our sequence restarts every child from its own step 0; reproducing torch needs
    # the previous LR times fn(0) as the child's base.
    steps = 200
    theirs, _ = torch_trajectory(
        lambda opt: _sequential(
            opt,
            [
                lambda o: lr_scheduler.ConstantLR(o, factor=0.5, total_iters=1000),
                lambda o: lr_scheduler.MultiplicativeLR(o, lambda k: 0.99),
            ],
            [100],
        ),
        steps,
    )
    restarted = lrsched.sequence(
        [lrsched.constant(0.05), lrsched.multiplicative(0.1, lambda k: 0.99)], [100]
    )
    continued = lrsched.sequence(
        [lrsched.constant(0.05), lrsched.multiplicative(0.05 * 0.99, lambda k: 0.99)], [100]
    )
    t = np.arange(steps)
    assert_trajectory("sequence/SequentialLR", continued(t), theirs)
    assert not np.allclose(restarted(t), theirs)


def test_sequentiallr_quirk_onecyclelr_child_rebases_earlier_children():
    # OneCycleLR's constructor overwrites group["initial_lr"] with max_lr / div_factor,
    # and SequentialLR resets the LR to initial_lr before the first child runs: a warmup
    # placed before a OneCycleLR starts from the one-cycle's initial LR, not the
    # optimizer's. Our children keep their own absolute LRs.
    steps = 20
    theirs, _ = torch_trajectory(
        lambda opt: _sequential(
            opt,
            [
                lambda o: lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=5),
                lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=20),
            ],
            [5],
        ),
        steps,
        lr=0.1,
    )
    one_cycle = lrsched.one_cycle(1.0, 20)
    rebased = lrsched.sequence([lrsched.linear(0.5 * 0.04, 0.04, 5), one_cycle], [5])
    intended = lrsched.sequence([lrsched.linear(0.5 * 0.1, 0.1, 5), one_cycle], [5])
    t = np.arange(steps)
    assert_trajectory("sequence/SequentialLR", rebased(t), theirs)
    assert intended(0) == 0.05 and theirs[0] == pytest.approx(0.02, rel=1e-15)


def test_sequence_with_cycliclr_child_matches_sequentiallr():
    steps = 300
    theirs, _ = torch_trajectory(
        lambda opt: _sequential(
            opt,
            [
                lambda o: lr_scheduler.StepLR(o, 20, 0.5),
                lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=15),
            ],
            [50],
        ),
        steps,
    )
    ours = lrsched.sequence(
        [lrsched.step(0.1, 20, gamma=0.5), lrsched.cyclic(0.01, 0.1, step_size_up=15)], [50]
    )
    assert_trajectory("sequence/SequentialLR", ours(np.arange(steps)), theirs)


# ---------------------------------------------------------------- reduce on plateau


metric_values = st.one_of(
    st.sampled_from([0.5, 1.0, 1.0001, 2.0, math.nan]),  # ties and NaN: plateaus happen
    st.floats(-10.0, 10.0),
)


@settings(max_examples=max(20, settings().max_examples * 2))
@given(
    metrics=st.lists(metric_values, min_size=1, max_size=120),
    base=st.floats(1e-3, 1.0),
    mode=st.sampled_from(["min", "max"]),
    factor=st.floats(0.05, 0.95),
    patience=st.integers(0, 5),
    threshold=st.sampled_from([0.0, 1e-4, 0.1, 1.0]),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    cooldown=st.integers(0, 4),
    min_lr=st.sampled_from([0.0, 1e-4, 1e-2]),
    eps=st.sampled_from([0.0, 1e-8, 1e-3]),
)
def test_plateau_replay_equals_reducelronplateau(
    metrics, base, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps
):
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=base)
    scheduler = lr_scheduler.ReduceLROnPlateau(
        opt,
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_lr=min_lr,
        eps=eps,
    )
    theirs = []
    for metric in metrics:
        opt.step()
        scheduler.step(metric)
        theirs.append(opt.param_groups[0]["lr"])
    ours = lrsched.plateau(
        base,
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_lr=min_lr,
        eps=eps,
    ).replay(metrics)
    np.testing.assert_array_equal(ours, np.asarray(theirs))
    MEASURED["plateau/ReduceLROnPlateau"] = max(
        MEASURED["plateau/ReduceLROnPlateau"], relative_difference(ours, np.asarray(theirs))
    )


def test_plateau_reduces_at_all_in_the_parity_examples():
    # Guard the property test above against comparing two never-reducing runs.
    metrics = [1.0, 1.0, 1.0, math.nan, 1.0, 0.5, 0.5, 0.5, 0.5]
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1)
    theirs = []
    for metric in metrics:
        scheduler.step(metric)
        theirs.append(opt.param_groups[0]["lr"])
    ours = lrsched.plateau(1.0, patience=1, factor=0.5, cooldown=1).replay(metrics)
    np.testing.assert_array_equal(ours, theirs)
    assert theirs[-1] < 1.0


def test_plateau_base_below_min_lr_is_kept_as_in_torch():
    # torch applies min_lr only when reducing, and skips a "reduction" that would raise it.
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=0.001)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=0.01)
    theirs = []
    for metric in [1.0, 1.0, 1.0]:
        scheduler.step(metric)
        theirs.append(opt.param_groups[0]["lr"])
    ours = lrsched.plateau(0.001, patience=0, min_lr=0.01)
    assert ours.init().lr == 0.001
    np.testing.assert_array_equal(ours.replay([1.0, 1.0, 1.0]), theirs)
    assert theirs == [0.001] * 3


def test_one_cycle_zero_length_rise_where_torch_divides_by_zero():
    # pct_start * total_steps == 1 puts the end of the rise at step 0.
    parameter = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([parameter], lr=0.1, momentum=0.9)
    with pytest.raises(ZeroDivisionError):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.1)
    ours = lrsched.one_cycle(1.0, 10, pct_start=0.1)
    assert ours(0) == 1.0
    theirs_from_step_1, _ = torch_trajectory(
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.1 + 1e-9), 10
    )
    assert_trajectory(
        "one_cycle/OneCycleLR (pct_start nudged by 1e-9)",
        ours(np.arange(1, 10)),
        theirs_from_step_1[1:],
        rtol=1e-7,
    )

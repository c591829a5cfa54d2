"""LR range test: the default suggestion against analytic answers, plus the API contract.

Gradient descent on f(w) = 1/2 w^T A w diverges for a constant lr > 2/L. Over many seeds,
condition numbers, scales of L, ramp speeds and gradient-noise levels the default
suggestion must be below 2/L, cut the loss 100x in 300 constant-LR steps from the same
start, and be within 30x of the best constant LR on a grid.
"""

import itertools
import math
import sys

import numpy as np
import pytest
from range_cases.quadratic import judge, quadratic, run

import lrsched

FAST_CASES = list(
    itertools.product(
        [100.0, 1000.0],  # condition number
        [10.0, 1e4],  # L
        [60, 200],  # num_steps (ramp speed)
        [0.0, 1e-4],  # gradient noise (stationary loss at lr=1/L, relative to f(w0))
    )
)


@pytest.mark.parametrize("kappa, L, num_steps, noise", FAST_CASES)
def test_default_suggestion_is_right_on_quadratics(kappa, L, num_steps, noise):
    for seed in range(4):
        problem = quadratic(seed, kappa=kappa, L=L, noise=noise)
        verdict = judge(problem, run(problem, num_steps=num_steps).suggest())
        assert verdict.ratio_to_divergence < 1.0, (seed, verdict)
        assert verdict.loss_cut <= 0.01, (seed, verdict)
        assert verdict.grid_best_over_suggestion <= 30.0, (seed, verdict)


@pytest.mark.slow
def test_default_suggestion_sweep_over_many_seeds():
    verdicts = []
    for kappa, L, num_steps, noise in itertools.product(
        [10.0, 100.0, 1000.0, 1e4], [10.0, 1e3, 1e5], [50, 100, 300, 1000], [0.0, 1e-5, 1e-4, 1e-3]
    ):
        for seed in range(10):
            problem = quadratic(seed, kappa=kappa, L=L, noise=noise)
            verdicts.append(judge(problem, run(problem, num_steps=num_steps).suggest()))
    ratios = np.array([v.ratio_to_divergence for v in verdicts])
    cuts = np.array([v.loss_cut for v in verdicts])
    grid = np.array([v.grid_best_over_suggestion for v in verdicts])
    print(
        f"\n{len(verdicts)} runs: below 2/L {np.mean(ratios < 1):.4f}, 100x cut "
        f"{np.mean(cuts <= 0.01):.4f}, within 30x of grid best {np.mean(grid <= 30):.4f}, "
        f"all {np.mean([v.passes for v in verdicts]):.4f}\n"
        f"suggestion/(2/L): min {ratios.min():.3f} median {np.median(ratios):.3f} "
        f"max {ratios.max():.3f}\ngrid best/suggestion: min {grid.min():.2f} "
        f"median {np.median(grid):.2f} max {grid.max():.2f}",
        file=sys.stderr,
    )
    assert all(v.ratio_to_divergence < 1.0 for v in verdicts)
    assert np.mean([v.passes for v in verdicts]) >= 0.99


def test_anchor_pitfall_minimum_overshoots_divergence_on_noise_free_quadratics():
    # Why the default is not just "the minimum": the loss keeps falling past 2/L.
    problem = quadratic(0, kappa=100.0, L=100.0)
    result = run(problem, num_steps=300)
    minimum_lr = result.lrs[np.argmin(result.smoothed_losses)]
    assert minimum_lr > 2.0 * (2.0 / problem.L)
    assert result.suggest() < 2.0 / problem.L


def test_steep_moves_with_ramp_speed_but_default_does_not():
    problem = quadratic(0, kappa=100.0, L=100.0)
    fast, slow = run(problem, num_steps=50), run(problem, num_steps=1000)
    assert fast.suggest("steep") / slow.suggest("steep") > 3.0
    assert 0.5 < fast.suggest() / slow.suggest() < 2.0


@pytest.mark.parametrize("scale, offset", [(1e3, 0.0), (1e-3, 5.0), (2.0, -1e3), (0.5, 1e3)])
@pytest.mark.parametrize("noise", [0.0, 1e-4])
def test_suggestions_do_not_change_when_the_loss_is_rescaled(scale, offset, noise):
    for seed in range(3):
        problem = quadratic(seed, kappa=100.0, L=100.0, noise=noise)
        plain = run(problem, num_steps=100)
        moved = run(problem, num_steps=100, scale=scale, offset=offset)
        assert moved.lrs.size == plain.lrs.size
        assert moved.stop_reason == plain.stop_reason
        for method in ("divergence", "minimum", "valley"):
            assert moved.suggest(method) == pytest.approx(plain.suggest(method), rel=1e-9)
        # steep is an argmax of a finite-difference slope: float rounding can break its ties.
        step_ratio = plain.lrs[1] / plain.lrs[0]
        assert moved.suggest("steep") / plain.suggest("steep") == pytest.approx(
            1.0, abs=step_ratio - 1.0 + 1e-9
        )


def test_negative_losses_work():
    problem = quadratic(1, kappa=100.0, L=100.0, noise=1e-4)
    result = run(problem, num_steps=100, offset=-1e6)
    assert result.smoothed_losses.min() < 0 and result.losses[0] < 0
    assert result.stop_reason == "diverged"
    assert result.suggest() < 2.0 / problem.L


def test_ramp_is_the_core_schedule_and_loss_is_recorded_per_step():
    seen = []

    def train_step(lr):
        seen.append(lr)
        return 1.0 / (1.0 + len(seen))

    result = lrsched.range_test(train_step, 1e-5, 1.0, 11, diverge_factor=None)
    expected = lrsched.exponential_ramp(1e-5, 1.0, total_steps=10)(np.arange(11))
    np.testing.assert_array_equal(seen, expected)
    np.testing.assert_array_equal(result.lrs, expected)
    assert result.losses.tolist() == [1.0 / (2 + i) for i in range(11)]
    assert result.stop_reason == "completed"

    seen.clear()
    linear = lrsched.range_test(train_step, 0.1, 1.0, 10, mode="linear", diverge_factor=None)
    np.testing.assert_allclose(linear.lrs, lrsched.linear(0.1, 1.0, 9)(np.arange(10)))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_loss_stops_and_is_excluded(bad):
    def train_step(lr):
        return bad if lr > 1e-2 else 1.0 - lr

    result = lrsched.range_test(train_step, 1e-6, 1.0, 40)
    assert result.stop_reason == "non-finite"
    assert np.all(np.isfinite(result.losses))
    assert result.lrs[-1] <= 1e-2
    assert result.suggest() <= 1e-2


def test_divergence_stop_keeps_two_steps_for_the_growth_rate():
    losses = iter([5.0] * 30 + [1.0] * 5 + [4.5, 50.0, 500.0, 5000.0, 5e4])
    result = lrsched.range_test(lambda lr: next(losses), 1e-4, 1.0, 60)
    assert result.stop_reason == "diverged"
    # The smoothed loss (EMA 0.8) falls from 5 to 2.31; 4.5 lifts it to 2.75, short of
    # giving back 75% of that drop; 50 lifts it to 12.2: stop, then two more steps.
    assert result.losses[-3:].tolist() == [50.0, 500.0, 5000.0]


def test_torch_scalars_and_numpy_scalars_are_accepted():
    torch = pytest.importorskip("torch")
    result = lrsched.range_test(lambda lr: torch.tensor(1.0 - lr), 1e-3, 0.5, 5)
    assert result.losses.dtype == np.float64
    result = lrsched.range_test(lambda lr: np.float32(1.0 - lr), 1e-3, 0.5, 5)
    assert result.losses[0] == pytest.approx(1.0 - 1e-3)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            dict(start_lr=0.0),
            ValueError,
            "range_test(): start_lr must be a positive number, got 0.0",
        ),
        (dict(end_lr=1e-8), ValueError, "range_test(): end_lr must be greater than start_lr"),
        (dict(num_steps=2), ValueError, "range_test(): num_steps must be an integer >= 3, got 2"),
        (dict(mode="cos"), ValueError, "range_test(): mode must be one of 'exp', 'linear'"),
        (dict(smoothing=1.0), ValueError, "range_test(): smoothing must be in [0, 1)"),
        (dict(diverge_factor=1.0), ValueError, "range_test(): diverge_factor must be a number > 1"),
        (dict(train_step=3), TypeError, "range_test(): train_step must be a callable"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    arguments = dict(train_step=lambda lr: 1.0)
    arguments.update(kwargs)
    with pytest.raises(error) as info:
        lrsched.range_test(**arguments)
    assert str(info.value).startswith(message)


def test_bad_losses_and_methods():
    with pytest.raises(TypeError, match="train_step must return a real scalar loss, got 'x'"):
        lrsched.range_test(lambda lr: "x")
    with pytest.raises(ValueError, match="lower start_lr"):
        lrsched.range_test(lambda lr: math.nan)
    result = lrsched.RangeTestResult([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0])
    with pytest.raises(ValueError, match="suggest\\(\\): method must be one of"):
        result.suggest("median")
    with pytest.raises(ValueError, match="RangeTestResult\\(\\): lrs must be strictly"):
        lrsched.RangeTestResult([1e-3, 1e-3, 1e-1], [1.0, 0.5, 2.0])


def test_still_falling_at_end_lr_warns():
    result = lrsched.range_test(lambda lr: -lr, 1e-3, 1.0, 20)
    with pytest.warns(UserWarning, match="raise end_lr"):
        result.suggest()


def test_valley_and_minimum_follow_their_definitions():
    lrs = np.geomspace(1e-4, 1.0, 9)
    losses = np.array([9.0, 8.0, 9.5, 7.0, 6.0, 5.0, 4.0, 3.0, 10.0])
    result = lrsched.RangeTestResult(lrs, losses, num_steps=9)  # half-width 1 median
    smoothed = result.smoothed_losses
    assert smoothed.tolist() == [9.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 4.0, 10.0]
    assert result.suggest("minimum") == pytest.approx(lrs[6] / 10)
    # Longest strictly decreasing run of the smoothed curve: indices 1..6, middle at 3.
    assert result.suggest("valley") == pytest.approx(lrs[3])


def test_plot_marks_the_suggestion_and_clips_the_tail():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    problem = quadratic(0, kappa=100.0, L=100.0, noise=1e-4)
    result = run(problem, num_steps=100)
    ax = result.plot()
    assert ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert any(f"{result.suggest():.2g}" in label for label in labels)
    assert ax.get_ylim()[1] < result.losses.max()  # the explosion is clipped
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_import_is_numpy_only_and_plot_names_the_extra(monkeypatch):
    import subprocess

    code = (
        "import sys, lrsched; lrsched.range_test; lrsched.RangeTestResult; "
        "print(sorted(m for m in ('matplotlib', 'torch', 'keras', 'jax') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # as if not installed
    result = lrsched.RangeTestResult([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0])
    with pytest.raises(ImportError, match=r'pip install "lrsched-numpy\[plot\]"'):
        result.plot()

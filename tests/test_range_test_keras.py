"""The Keras range-test driver, run in subprocesses with KERAS_BACKEND=jax.

Keras fixes its backend at import, and the default test process must not import it.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

if importlib.util.find_spec("keras") is None or importlib.util.find_spec("jax") is None:
    pytest.skip("keras and jax are needed", allow_module_level=True)

CASES = pathlib.Path(__file__).parent / "range_cases" / "keras_cases.py"
# Real Keras fits under jax, compiled by XLA, in a subprocess: slow (`pytest -m slow`).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outcomes():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    completed = subprocess.run(
        [sys.executable, str(CASES)], env=env, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_default_suggestion_on_least_squares(outcomes):
    for row in outcomes["least_squares"]:
        assert row["suggestion"] < row["divergence"], row
        assert row["cut"] <= 0.01, row
        assert row["grid_best"] / row["suggestion"] <= 30.0, row


def test_weights_and_optimizer_variables_are_restored_also_on_error(outcomes):
    outcome = outcomes["restore"]
    assert outcome["raised"]
    assert outcome["after_run"] == outcome["before"]
    assert outcome["after_raise"] == outcome["before"]


def test_accumulation_advances_the_ramp_once_per_applied_update(outcomes):
    full, accumulated = outcomes["accumulation"]
    assert accumulated["lrs"] == full["lrs"]
    # Same updates (mean of 4 equal quarter gradients = the full gradient), same losses.
    np.testing.assert_allclose(accumulated["losses"][:30], full["losses"][:30], rtol=1e-4)


def test_a_run_starting_mid_accumulation_counts_applied_updates(outcomes):
    outcome = outcomes["accumulation_mid_cycle"]
    assert outcome["batches"] == 3 + 4 * 4  # 5 ramp steps, the first completes a cycle
    assert outcome["raw_iterations"] == 1  # restored


def test_records_each_batch_loss_not_a_running_mean(outcomes):
    outcome = outcomes["per_batch_loss"]
    expected = outcome["expected"] * 3
    np.testing.assert_allclose(outcome["losses"], expected, rtol=1e-5)


# --- RangeTestCallback inside a real model.fit (jax backend) ----------------------------


def test_callback_finds_the_known_lr_inside_fit(outcomes):
    for row in outcomes["callback_least_squares"]:
        assert row["stop_reason"] == "diverged"
        assert row["suggestion"] < row["divergence"], row["suggestion"]
        assert row["cut"] <= 0.01
        assert row["grid_best"] / row["suggestion"] <= 30.0


def test_callback_ramps_the_lr_per_batch_and_matches_the_train_on_batch_driver(outcomes):
    for row in outcomes["callback_least_squares"]:
        # The LR each batch ran with is the ramp's (the optimizer's float32 variable).
        np.testing.assert_allclose(row["probe_lrs"], row["lrs"], rtol=1e-7)
        # The same updates as range_test's train_on_batch loop: the same curve.
        np.testing.assert_allclose(
            row["losses"], row["driver_losses"][: len(row["losses"])], rtol=1e-6
        )
        assert row["suggestion"] == row["driver_suggestion"]


def test_callback_restores_weights_optimizer_and_learning_rate(outcomes):
    outcome = outcomes["callback_restore"]
    assert outcome["after"] == outcome["before"]
    assert outcome["learning_rate"] == np.float32(1e-3)
    assert outcome["result_steps"] == 40 and outcome["stop_reason"] == "completed"


def test_callback_stops_training_when_the_loss_diverges(outcomes):
    outcome = outcomes["callback_stops_on_divergence"]
    assert outcome["stop_reason"] == "diverged"
    assert outcome["batches"] == outcome["steps"] < 200  # no batch trained after the stop
    assert outcome["epochs"] < 50
    assert outcome["suggestion"] < outcome["divergence"]


def test_callback_records_each_batch_loss_not_the_running_mean(outcomes):
    outcome = outcomes["callback_per_batch_loss"]
    np.testing.assert_allclose(outcome["losses"], outcome["expected"] * 3, rtol=1e-5)


def test_callback_counts_applied_updates_under_gradient_accumulation(outcomes):
    full, accumulated = outcomes["callback_accumulation"]
    assert accumulated["lrs"] == full["lrs"]
    np.testing.assert_allclose(accumulated["losses"][:30], full["losses"][:30], rtol=1e-4)


def test_callback_out_of_data_and_refusals(outcomes):
    outcome = outcomes["callback_out_of_data_and_refusals"]
    assert outcome["stop_reason"] == "out-of-data" and outcome["steps"] == 8
    assert any("fit ended after 8 of the 100 ramp steps" in w for w in outcome["warnings"])
    assert outcome["refusal"].startswith(
        "RangeTestCallback(): the optimizer SGD was built with a LearningRateSchedule"
    )
    assert outcome["bad"] == (
        "RangeTestCallback(): end_lr must be greater than start_lr=1.0, got 0.5"
    )


@pytest.mark.slow
def test_callback_suggestion_trains_a_real_mlp_about_as_well_as_the_best_constant_lr():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    completed = subprocess.run(
        [sys.executable, str(CASES), "validation_spirals"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    finals = {float(lr): loss for lr, loss in outcome["finals"].items()}
    suggestion, start_loss = outcome["suggestion"], outcome["start_loss"]
    print(
        f"\nkeras: start loss {start_loss:.3f}; suggestion {suggestion:.3g}; "
        + ", ".join(f"lr {lr:.3g}: {loss:.4f}" for lr, loss in sorted(finals.items()))
        + "; other methods: "
        + ", ".join(f"{m} {v:.3g}" for m, v in outcome["methods"].items()),
        file=sys.stderr,
    )
    grid = [lr for lr in finals if lr != suggestion]
    best_lr = min(grid, key=finals.get)
    failing = [lr for lr in grid if lr > best_lr and finals[lr] >= start_loss / 2]
    assert finals[suggestion] <= start_loss / 20
    assert best_lr / suggestion <= 30.0
    assert not failing or suggestion <= min(failing) / 2

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
    completed = subprocess.run([sys.executable, str(CASES)], env=env,
                               capture_output=True, text=True, timeout=600)
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

"""from_keras against Keras 3's own schedules, evaluated by Keras.

Keras computes in float32, so each comparison allows float32 rounding of Keras's formula
(relative 2e-6, or 2e-7 of the peak where ``1 + cos`` cancels near a cycle's end).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lrsched

CASES_DIR = str(Path(__file__).parent / "keras_cases")
if CASES_DIR not in sys.path:
    sys.path.insert(0, CASES_DIR)
from keras_fit_cases import import_keras  # noqa: E402

keras = import_keras("torch")
from lrsched.adapters.keras import KerasSchedule, from_keras  # noqa: E402

schedules = keras.optimizers.schedules
STEPS = np.arange(0, 700)


def _keras_lrs(keras_schedule, steps):
    # All steps in one eager call where the schedule broadcasts; CosineDecay's warmup
    # branches with ops.cond and PiecewiseConstantDecay adds in place, one step at a time.
    one_at_a_time = isinstance(keras_schedule, schedules.PiecewiseConstantDecay) or (
        isinstance(keras_schedule, schedules.CosineDecay) and keras_schedule.warmup_target
    )
    if one_at_a_time:
        if keras.backend.backend() == "jax":
            steps = steps[::9]  # every eager jax op dispatches on its own: fewer steps
        return steps, np.array([float(keras_schedule(int(step))) for step in steps])
    values = keras_schedule(keras.ops.convert_to_tensor(steps.astype(np.float32)))
    return steps, np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64)


CASES = [
    schedules.ExponentialDecay(0.1, decay_steps=50, decay_rate=0.5),
    schedules.ExponentialDecay(0.1, decay_steps=30, decay_rate=0.9, staircase=True),
    schedules.PiecewiseConstantDecay([100, 250, 400], [0.1, 0.05, 0.01, 0.001]),
    schedules.PolynomialDecay(0.1, decay_steps=300, end_learning_rate=1e-3, power=2.0),
    schedules.PolynomialDecay(0.1, decay_steps=120, end_learning_rate=1e-3, power=0.5, cycle=True),
    schedules.PolynomialDecay(0.1, decay_steps=250.5, end_learning_rate=0.0),
    schedules.InverseTimeDecay(0.1, decay_steps=40, decay_rate=0.5),
    schedules.InverseTimeDecay(0.1, decay_steps=40, decay_rate=0.5, staircase=True),
    schedules.CosineDecay(0.1, decay_steps=500, alpha=0.01),
    schedules.CosineDecay(0.01, decay_steps=400, alpha=0.1, warmup_target=0.1, warmup_steps=100),
    schedules.CosineDecay(0.01, decay_steps=400, warmup_target=0.1, warmup_steps=0),
    schedules.CosineDecayRestarts(0.1, first_decay_steps=100),
    schedules.CosineDecayRestarts(0.1, first_decay_steps=60, t_mul=2.0, m_mul=0.7, alpha=0.05),
]


@pytest.mark.parametrize(
    "keras_schedule", CASES, ids=[f"{type(c).__name__}-{i}" for i, c in enumerate(CASES)]
)
def test_from_keras_gives_keras_lrs(keras_schedule):
    ours = from_keras(keras_schedule)
    steps, theirs = _keras_lrs(keras_schedule, STEPS)
    values = ours(steps)
    keep = np.ones(len(steps), dtype=bool)
    config = keras_schedule.get_config()
    if keras.backend.backend() == "jax" and (config.get("cycle") or config.get("staircase")):
        # XLA turns t / decay_steps into t * (1 / decay_steps): its floor or ceil can land
        # one step late at exact multiples (tests/test_parity_keras.py explains).
        keep = steps % config["decay_steps"] != 0
    np.testing.assert_allclose(values[keep], theirs[keep], rtol=2e-6, atol=2e-7 * values.max())
    # The same through Keras's serialized form, and back into Keras as a KerasSchedule.
    assert from_keras(schedules.serialize(keras_schedule)) == ours
    assert from_keras(KerasSchedule(ours, max_steps=1000)) == ours


def test_from_keras_refuses_what_it_cannot_express():
    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.1 * 0.5 ** (step // 10)

    with pytest.raises(lrsched.ArgumentTypeError, match="keras_schedule must be a Keras schedule"):
        from_keras(Halving())
    with pytest.raises(lrsched.ArgumentError, match="m_mul must be in"):
        from_keras(schedules.CosineDecayRestarts(0.1, 10, m_mul=1.5))
    with pytest.raises(lrsched.ArgumentError, match="t_mul must be >= 1"):
        from_keras(schedules.CosineDecayRestarts(0.1, 10, t_mul=0.5))
    assert from_keras(0.01) == lrsched.constant(0.01)


@pytest.mark.slow
def test_from_keras_under_the_jax_backend():
    """The same comparisons with Keras on jax, in a process of its own (Keras fixes its
    backend at import)."""
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            f"{__file__}::test_from_keras_gives_keras_lrs",
            f"{__file__}::test_from_keras_refuses_what_it_cannot_express",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and "jax" in env["KERAS_BACKEND"]

"""Schedules the Keras fit tests train with: every family, warmups and sequences.

Shared by ``fit_probe.py`` (which trains under a Keras backend in its own process) and
``tests/test_adapter_keras.py`` (which checks the recorded LRs against the core). Imports
only numpy and lrsched, so importing it never picks a Keras backend; ``import_keras`` is
how the in-process keras tests pick one.

Each case runs ``steps`` optimizer updates starting at ``start`` (the optimizer's iteration
counter is set there first, to reach far-away steps without training through them). The
parameters put every tail inside the run: constant tails are clamped, periodic tails wrap,
and the ``*_far`` cases start far past a table that ``max_steps`` keeps short.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NamedTuple

import numpy as np

import lrsched


def import_keras(preferred_backend: str = "torch"):
    """Keras for in-process tests: ``preferred_backend`` if no backend is chosen yet.

    Keras reads KERAS_BACKEND once, at import, and defaults to tensorflow, which is not a
    dependency. The variable is set only for that import and then removed, so other tests
    and their subprocesses see the environment unchanged. Skips the test module if Keras is
    not installed.
    """
    import pytest

    if "keras" in sys.modules or "KERAS_BACKEND" in os.environ:
        return pytest.importorskip("keras")
    os.environ["KERAS_BACKEND"] = preferred_backend
    try:
        return pytest.importorskip("keras")
    finally:
        del os.environ["KERAS_BACKEND"]


def halve_every_20(step):
    """A user factor for lambda_lr: halves every 20 steps."""
    return 0.5 ** np.floor(np.asarray(step, dtype=np.float64) / 20.0)


def keep_98_percent(step):
    """A user factor for multiplicative: 0.98 per step."""
    return np.full(np.shape(step), 0.98)


def nearly_one(step):
    """A user factor for multiplicative, 1 - 2e-8 / (1 + t/10**7): arithmetic, so it runs
    on a tensor, and its product still changes 10**8 steps out (0.28 at 3 * 10**7)."""
    return 1.0 - 2e-8 / (1.0 + step / 10**7)


def shrink_per_cycle(cycle):
    """A user scale_fn for cyclic: 0.9 per cycle (arithmetic only, so it also runs on a
    tensor: traced under XLA)."""
    return 0.9 ** (cycle - 1.0)


def inverse_in_t(step):
    """A user factor for lambda_lr, 1 / (1 + t/1000): arithmetic, so it runs on a tensor."""
    return 1 / (1 + step / 1000)


def one_then_half(step):
    """A user factor for lambda_lr with a Python if: one step at a time only (under XLA,
    AutoGraph turns the if into the graph's own branch)."""
    return 1.0 if step < 5 else 0.5


def halves_on_tensors(step):
    """A user factor for lambda_lr that is 1 on numpy's steps and 0.5 on anything else
    (a tensor): what the check before tracing a function under XLA must catch."""
    if isinstance(step, (np.ndarray, np.generic, int, float)):
        return np.ones(np.shape(step))
    return step * 0.0 + 0.5


def wobble(step):
    """A user factor for lambda_lr that changes at every step, whatever the step."""
    return 1.0 + 0.5 * np.sin(np.asarray(step, dtype=np.float64) / 3.0)


for _function in (
    halve_every_20,
    keep_98_percent,
    nearly_one,
    shrink_per_cycle,
    wobble,
    inverse_in_t,
    one_then_half,
    halves_on_tensors,
):
    # ValueError: this file imported a second time under another module name; the first stays.
    with contextlib.suppress(ValueError):
        lrsched.register_function(_function)


class FitCase(NamedTuple):
    schedule: lrsched.Schedule
    steps: int = 64
    max_steps: int | None = None
    start: int = 0

    def expected_steps(self) -> np.ndarray:
        return np.arange(self.start, self.start + self.steps)


L = lrsched
_cosine = L.cosine(0.1, total_steps=30, min_lr=0.001)

FIT_CASES: dict[str, FitCase] = {
    "constant": FitCase(L.constant(0.05)),
    "step": FitCase(L.step(0.1, step_size=9, gamma=0.5), max_steps=63),
    "multistep": FitCase(L.multistep(0.1, [5, 15, 15, 40], gamma=0.5)),
    "piecewise_constant": FitCase(L.piecewise_constant([10, 40], [0.1, 0.05, 0.01])),
    "piecewise_linear": FitCase(L.piecewise_linear([0, 10, 45], [0.0, 0.1, 0.01])),
    "exponential": FitCase(L.exponential(0.1, 0.95), max_steps=63),
    "exponential_staircase": FitCase(
        L.exponential(0.1, 0.5, decay_steps=7, staircase=True), max_steps=100
    ),
    "exponential_ramp": FitCase(L.exponential_ramp(1e-5, 0.1, total_steps=50)),
    "linear": FitCase(L.linear(0.1, 0.01, total_steps=30)),
    "polynomial": FitCase(L.polynomial(0.1, total_steps=40, end_lr=0.001, power=2.0)),
    "polynomial_cycle": FitCase(
        L.polynomial(0.1, 15, end_lr=0.01, power=0.5, cycle=True), max_steps=63
    ),
    "inverse_time": FitCase(
        L.inverse_time(0.1, decay_steps=10, decay_rate=0.5, staircase=True), max_steps=80
    ),
    "inverse_sqrt": FitCase(L.inverse_sqrt(0.1, timescale=20), max_steps=63),
    "lambda_lr": FitCase(L.lambda_lr(0.1, "halve_every_20"), max_steps=63),
    "multiplicative": FitCase(L.multiplicative(0.1, "keep_98_percent"), max_steps=63),
    "cosine": FitCase(_cosine),
    "cosine_periodic": FitCase(L.cosine(0.1, total_steps=12, periodic=True)),
    "cosine_k_decay_exponent": FitCase(
        L.cosine(0.1, total_steps=30, min_lr=0.001, k_decay=2.0, exponent=0.5)
    ),
    "tanh": FitCase(L.tanh(0.1, total_steps=30, min_lr=0.001)),
    "warm_restarts": FitCase(L.warm_restarts(0.1, period=13, min_lr=0.01)),
    "warm_restarts_growing": FitCase(
        L.warm_restarts(0.1, period=5, period_mult=2, decay=0.7), max_steps=63
    ),
    "wsd": FitCase(
        L.wsd(0.1, warmup_steps=5, stable_steps=15, decay_steps=30, decay_shape="1-sqrt")
    ),
    "cyclic": FitCase(L.cyclic(0.01, 0.1, step_size_up=7, step_size_down=11)),
    "cyclic_triangular2": FitCase(
        L.cyclic(0.01, 0.1, step_size_up=6, mode="triangular2"), max_steps=63
    ),
    "one_cycle": FitCase(L.one_cycle(0.1, total_steps=50, three_phase=True)),
    "cycle_momentum": FitCase(L.one_cycle(0.1, total_steps=50).momentum(0.85, 0.95)),
    "warmup_cosine": FitCase(L.warmup(_cosine, steps=10)),
    "warmup_exponential_mode": FitCase(
        L.warmup(L.constant(0.1), steps=20, start_factor=0.01, mode="exponential")
    ),
    "sequence": FitCase(L.sequence([L.linear(0.0, 0.1, 10), L.constant(0.1), _cosine], [10, 25])),
    "product": FitCase(
        L.cyclic(0.05, 0.1, step_size_up=5) * L.linear(1.0, 0.1, 40) * 0.5, max_steps=63
    ),
    "clip": FitCase(L.cosine(0.1, 40).clip(min_lr=0.02, max_lr=0.08)),
    "shift": FitCase(_cosine.shift(15)),
    "per_epoch": FitCase(
        L.step(0.1, step_size=2, gamma=0.5).per_epoch(8, staircase=True), max_steps=63
    ),
    # Far past the tail: constant tails clamp, periodic tails wrap, exactly.
    "cosine_far": FitCase(_cosine, steps=20, start=1_000_000),
    "cyclic_far": FitCase(
        L.cyclic(0.01, 0.1, step_size_up=7, step_size_down=11), steps=40, start=999_990
    ),
    "warm_restarts_far": FitCase(L.warm_restarts(0.1, period=13), steps=30, start=2**30),
    # Far past a table that stops at max_steps: the schedule itself, exactly, with no clamp
    # or wrap (a cycle every 15 steps, a restart at S_28, slow decays).
    "polynomial_cycle_far": FitCase(
        L.polynomial(0.1, 15, end_lr=0.01, power=0.5, cycle=True),
        steps=30,
        max_steps=10,
        start=10**9 - 7,
    ),
    "warm_restarts_growing_far": FitCase(
        L.warm_restarts(0.1, period=5, period_mult=2, decay=0.99),
        steps=20,
        max_steps=10,
        start=5 * (2**28 - 1) - 9,
    ),
    "inverse_sqrt_far": FitCase(
        L.inverse_sqrt(0.1, timescale=20), steps=10, max_steps=5, start=10**9
    ),
    "cyclic_exp_range_far": FitCase(
        L.cyclic(0.01, 0.1, step_size_up=7, mode="exp_range", gamma=0.9999999),
        steps=20,
        max_steps=5,
        start=10**8,
    ),
}

# A table of max_steps + 1 entries; the updates after it follow the schedule.
PAST_END_CASE = FitCase(L.exponential(0.1, 0.97), steps=40, max_steps=19)

# The FIT_CASES the torch backend also trains with jit_compile=True (torch.compile): a
# constant tail, a periodic one far out, a table crossed far out, a Python function.
TORCH_JIT_CASES = ("warmup_cosine", "cyclic_far", "inverse_sqrt_far", "lambda_lr")

# Schedules calling a user's Python function that never settle, trained across the end of
# their table: a short one (max_steps) from step 0, and the default table of 10**7 steps
# from just before its end. Exact wherever the compiled step can call Python. Under XLA on
# tensorflow, the function traced on the step tensor where it runs there and agrees with
# the core before use (XLA_TRACED), refused before the first update otherwise.
USER_FUNCTION_CASES: dict[str, FitCase] = {
    "lambda_lr": FitCase(L.lambda_lr(0.1, "halve_every_20"), steps=30, max_steps=5),
    "multiplicative": FitCase(L.multiplicative(0.1, "keep_98_percent"), steps=30, max_steps=5),
    "cyclic_scale_fn": FitCase(
        L.cyclic(0.01, 0.1, step_size_up=4, scale_fn="shrink_per_cycle"), steps=30, max_steps=5
    ),
    "composite": FitCase(
        L.warmup(L.lambda_lr(0.1, "halve_every_20"), steps=5) * L.exponential(1.0, 0.99),
        steps=30,
        max_steps=8,
    ),
    "lambda_lr_default_table": FitCase(L.lambda_lr(0.1, "wobble"), steps=20, start=10_000_000 - 10),
    "lambda_lr_tensor_ops": FitCase(L.lambda_lr(0.1, "inverse_in_t"), steps=30, max_steps=5),
    "composite_tensor_ops": FitCase(
        L.warmup(L.lambda_lr(0.1, "inverse_in_t"), steps=5) * L.exponential(1.0, 0.99),
        steps=30,
        max_steps=8,
    ),
    "lambda_lr_tensor_ops_default_table": FitCase(
        L.lambda_lr(0.1, "inverse_in_t"), steps=20, start=10_000_000 - 10
    ),
    # A running product carried on in the compiled step: from inside the default table,
    # from a short one, inside a composite, and far past a table (the first step there is
    # a product of 3 * 10**7 factors, as after resuming a long run).
    "multiplicative_default_table": FitCase(
        L.multiplicative(0.1, "nearly_one"), steps=20, start=10_000_000 - 10
    ),
    "multiplicative_composite": FitCase(
        L.warmup(L.multiplicative(0.1, "keep_98_percent"), steps=5) * L.cosine(1.0, 20),
        steps=30,
        max_steps=8,
    ),
    "multiplicative_far": FitCase(
        L.multiplicative(0.1, "nearly_one"), steps=10, max_steps=5, start=3 * 10**7
    ),
    "lambda_lr_python_if": FitCase(L.lambda_lr(0.1, "one_then_half"), steps=30, max_steps=5),
    "lambda_lr_differs_on_tensors": FitCase(
        L.lambda_lr(0.1, "halves_on_tensors"), steps=30, max_steps=5
    ),
}
# The USER_FUNCTION_CASES whose function runs on tensors and agrees with the core there.
XLA_TRACED = {
    "cyclic_scale_fn",
    "multiplicative",
    "multiplicative_default_table",
    "multiplicative_composite",
    "multiplicative_far",
    "lambda_lr_tensor_ops",
    "composite_tensor_ops",
    "lambda_lr_tensor_ops_default_table",
    "lambda_lr_python_if",  # one step at a time, its if turned into the graph's (AutoGraph)
}


class ResumeCase(NamedTuple):
    """A run saved with model.save at several points and resumed from each with load_model.

    ``points`` are global update counts (the optimizer's iterations when the checkpoint is
    written): one epoch boundary, and three mid-epoch points drawn by a seeded RNG (the
    same in every run and in both processes that import this file).
    """

    schedule: lrsched.Schedule
    max_steps: int
    epochs: int
    steps_per_epoch: int
    points: tuple[int, ...]

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def _resume_case(seed: int = 20261121, epochs: int = 5, steps_per_epoch: int = 6) -> ResumeCase:
    steps = epochs * steps_per_epoch
    mid_epoch = [step for step in range(1, steps) if step % steps_per_epoch]
    drawn = np.random.default_rng(seed).choice(mid_epoch, size=3, replace=False)
    points = tuple(sorted({2 * steps_per_epoch, *(int(point) for point in drawn)}))
    # A periodic factor (warm restarts) times one that never settles: the table wraps,
    # and max_steps must survive the checkpoint for the load to rebuild the same table.
    schedule = L.warmup(L.warm_restarts(0.1, period=7, min_lr=0.01), steps=5) * L.exponential(
        1.0, 0.98
    )
    return ResumeCase(schedule, steps - 1, epochs, steps_per_epoch, points)


RESUME_CASE = _resume_case()

# The same points, resumed under tensorflow's XLA from a running product past its table:
# after load_model the compiled step computes the product at the restored step afresh.
PRODUCT_RESUME_CASE = RESUME_CASE._replace(
    schedule=L.multiplicative(0.1, "keep_98_percent"), max_steps=5
)

# Trained under tf.distribute.MirroredStrategy (mirrored_probe.py), as KerasSchedule and as
# ScheduleCallback: a table that covers every step, one crossed in the fit (the formula
# under XLA, the host otherwise), and a Python function crossing its table.
MIRRORED_CASES: dict[str, FitCase] = {
    "warmup_cosine": FitCase(L.warmup(_cosine, steps=10), steps=40),
    "exponential_past_table": FitCase(L.exponential(0.1, 0.97), steps=24, max_steps=9),
    "lambda_lr_past_table": FitCase(L.lambda_lr(0.1, "wobble"), steps=24, max_steps=9),
    "cyclic_far": FitCase(L.cyclic(0.01, 0.1, step_size_up=7), steps=20, start=10**6 + 3),
}
MIRRORED_PLATEAU = L.plateau(0.05, patience=0, factor=0.5, threshold=0.1)

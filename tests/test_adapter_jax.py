"""lrsched.adapters.jax: JaxSchedule in real optax (and flax) training loops under jax.jit.

The LR an update used is recorded exactly with a one-hot SGD: the loss at step k is
``params @ e_k``, so its gradient is e_k and plain SGD leaves ``params[k] = -lr_k`` bit for
bit, touching no other entry. Adam and ``inject_hyperparams`` are checked against optax
fed the core's float32 values directly. Schedules come from the family strategies, with
short tables (``max_steps``) so that the steps past them (the traced formula, or the host
for a user function) are trained through too.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.testing import strategies as schedules

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402
from bad_calls import assert_refused, table  # noqa: E402

from lrsched.adapters._traced import first_disagreement  # noqa: E402
from lrsched.adapters.jax import JaxSchedule  # noqa: E402


def exact(schedule, steps) -> np.ndarray:
    """What a float32 optimizer should use: the core's float64 values rounded once."""
    return np.float32(schedule(np.asarray(steps, dtype=np.float64)))


def flushed(values: np.ndarray) -> np.ndarray:
    """``values`` as XLA on CPU returns them: float32 subnormals (below 1.2e-38) are 0."""
    return np.where(np.abs(values) < np.finfo(np.float32).tiny, np.float32(0.0), values)


def one_hot_sgd_lrs(optimizer, steps: int, start: int = 0) -> np.ndarray:
    """The LR of each of ``steps`` jitted optax updates from update count ``start``."""
    params = jnp.zeros(steps)
    state = optimizer.init(params)
    if start:
        state = jax.tree_util.tree_map(
            lambda leaf: (
                jnp.full_like(leaf, start) if getattr(leaf, "dtype", None) == jnp.int32 else leaf
            ),
            state,
        )

    @jax.jit
    def update(params, state, k):
        grads = jax.grad(lambda p: p @ jax.nn.one_hot(k, steps))(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for k in range(steps):
        params, state = update(params, state, k)
    return -np.asarray(params)


CASES = {
    "classic_staircase": lrsched.exponential(0.01, 0.96, decay_steps=5, staircase=True),
    "warmup_cosine": lrsched.warmup(lrsched.cosine(0.1, 40, min_lr=0.001), 10),
    "cyclic_exp_range": lrsched.cyclic(0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.99),
    "warm_restarts_growing": lrsched.warm_restarts(0.1, period=3, period_mult=2),
    "lambda_lr": lrsched.lambda_lr(0.1, lambda t: 1.0 if t < 17 else 0.25),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sgd_under_jit_uses_the_schedule_at_every_step(name):
    schedule = CASES[name]
    # A table of 16 steps: the later updates are served past it (by the traced formula,
    # or the host for lambda_lr), and for these schedules exactly.
    lrs = one_hot_sgd_lrs(optax.sgd(learning_rate=JaxSchedule(schedule, max_steps=15)), 40)
    np.testing.assert_array_equal(lrs, exact(schedule, np.arange(40)))


def test_far_steps_past_the_table_never_clamp_or_wrap():
    schedule = lrsched.polynomial(0.1, 15, end_lr=0.01, power=0.5, cycle=True)
    lrs = one_hot_sgd_lrs(
        optax.sgd(learning_rate=JaxSchedule(schedule, max_steps=10)), 30, start=10**9 - 7
    )
    np.testing.assert_array_equal(lrs, exact(schedule, np.arange(10**9 - 7, 10**9 + 23)))
    assert len(set(lrs.tolist())) > 10  # it cycles: a clamped or NaN value would not


@pytest.mark.slow  # fills and compiles the full 10**7-step table
def test_default_table_serves_the_classic_staircase_without_max_steps():
    schedule = CASES["classic_staircase"]
    lr = JaxSchedule(schedule)
    steps = jnp.asarray([0, 4, 5, 123, 9_999_999, 10_000_000, 2**31 - 1], dtype=jnp.int32)
    np.testing.assert_array_equal(np.asarray(jax.jit(lr)(steps)), exact(schedule, steps))


def test_adam_and_inject_hyperparams_get_the_exact_values():
    schedule = CASES["warmup_cosine"]
    steps = 60
    values = jnp.asarray(exact(schedule, np.arange(steps)))
    reference = optax.adam(learning_rate=lambda count: values[count])
    ours = optax.adam(learning_rate=JaxSchedule(schedule))
    rng = np.random.default_rng(0)
    inputs = jnp.asarray(rng.normal(size=(steps, 3)), dtype=jnp.float32)

    def train(optimizer):
        params = jnp.ones(3)
        state = optimizer.init(params)

        @jax.jit
        def update(params, state, x):
            grads = jax.grad(lambda p: jnp.sum((p * x) ** 2))(params)
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        for x in inputs:
            params, state = update(params, state, x)
        return np.asarray(params)

    np.testing.assert_array_equal(train(ours), train(reference))

    injected = optax.inject_hyperparams(optax.sgd)(learning_rate=JaxSchedule(schedule))
    params = jnp.zeros(3)
    state = injected.init(params)

    @jax.jit
    def step(params, state):
        updates, state = injected.update(jnp.ones(3), state, params)
        return optax.apply_updates(params, updates), state

    recorded = []
    for _ in range(steps):
        # inject_hyperparams evaluates the schedule at the update's count and keeps it.
        params, state = step(params, state)
        recorded.append(float(state.hyperparams["learning_rate"]))
    np.testing.assert_array_equal(np.float32(recorded), np.asarray(values))


def test_inside_lax_scan():
    schedule = lrsched.inverse_time(0.1, decay_steps=3, decay_rate=0.5)
    lr = JaxSchedule(schedule, max_steps=20)
    _, used = jax.jit(lambda: jax.lax.scan(lambda c, k: (c, lr(k)), 0.0, jnp.arange(50)))()
    np.testing.assert_array_equal(np.asarray(used), exact(schedule, np.arange(50)))


def test_flax_train_state():
    train_state = pytest.importorskip("flax.training.train_state")
    schedule = CASES["cyclic_exp_range"]
    steps = 30
    state = train_state.TrainState.create(
        apply_fn=lambda params, k: params["w"] @ jax.nn.one_hot(k, steps),
        params={"w": jnp.zeros(steps)},
        tx=optax.sgd(learning_rate=JaxSchedule(schedule, max_steps=10)),
    )

    @jax.jit
    def train_step(state, k):
        grads = jax.grad(lambda p: state.apply_fn(p, k))(state.params)
        return state.apply_gradients(grads=grads)

    for k in range(steps):
        state = train_step(state, k)
    assert int(state.step) == steps
    np.testing.assert_array_equal(-np.asarray(state.params["w"]), exact(schedule, np.arange(steps)))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=schedules.schedules(), table=st.integers(0, 40))
def test_any_schedule_under_jit_is_exact_inside_and_past_its_table(schedule, table):
    steps = np.array([0, 1, 2, 7, table, table + 1, 99, 12345, 10**7 + 3, 2**31 - 1])
    try:
        expected = exact(schedule, steps)
    except ValueError:  # a growing schedule that overflows: refused by the core, not here
        return
    lr = JaxSchedule(schedule, max_steps=table)
    got = np.asarray(jax.jit(lr)(jnp.asarray(steps, dtype=jnp.int32)))
    inside = steps <= table
    np.testing.assert_array_equal(flushed(got[inside]), flushed(expected[inside]))
    # Past the table: the traced float64 formula (or the host, for a user function),
    # within the bound lrsched.adapters._traced documents.
    assert first_disagreement(schedule, steps[~inside].astype(np.float64), got[~inside]) is None
    assert float(lr(int(steps[4]))) == expected[4]


def test_no_host_call_in_the_step_unless_a_user_function_needs_it():
    # A callback in a compiled step costs Keras's fit on jax ~100 us a step even where the
    # table serves every step: past the table the core's formula runs traced in float64.
    schedule = lrsched.warmup(lrsched.exponential(0.1, 0.999, decay_steps=3), 5)
    lr = JaxSchedule(schedule, max_steps=10)
    steps = jnp.asarray([3, 10, 11, 5000, 10**9, 2**31 - 1], dtype=jnp.int32)
    assert "callback" not in jax.jit(lr).lower(steps).as_text()
    got = np.asarray(jax.jit(lr)(steps))
    assert got.dtype == np.float32
    assert first_disagreement(schedule, np.asarray(steps, dtype=np.float64), got) is None
    user = lrsched.lambda_lr(0.1, lambda t: 1.0 if t < 17 else 0.25)
    from_host = JaxSchedule(user, max_steps=10)
    assert "callback" in jax.jit(from_host).lower(steps).as_text()
    np.testing.assert_array_equal(np.asarray(jax.jit(from_host)(steps)), exact(user, steps))


def test_float64_formula_past_the_table_with_x64():
    # With jax_enable_x64 too, the core's formula runs traced (no host call) past the table.
    schedule = lrsched.warmup(lrsched.exponential(0.1, 0.999, decay_steps=3), 5)
    with jax.enable_x64(True):
        lr = JaxSchedule(schedule, max_steps=10)
        steps = jnp.asarray([3, 10, 11, 5000, 10**9, 10**12], dtype=jnp.int64)
        got = jax.jit(lr)(steps)
        text = jax.jit(lr).lower(steps).as_text()
    assert "callback" not in text
    np.testing.assert_array_equal(np.asarray(got), exact(schedule, steps))


def test_plateau_recipe_feeds_an_injected_hyperparameter():
    plateau = lrsched.plateau(0.1, patience=0, factor=0.5)
    optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=plateau.init().lr)
    params = jnp.zeros(1)
    opt_state = optimizer.init(params)
    state = plateau.init()
    metrics = [1.0, 0.9, 0.95, 0.97, 0.5, 0.6]

    @jax.jit
    def step(params, opt_state):
        updates, opt_state = optimizer.update(jnp.ones(1), opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    used = []
    for metric in metrics:
        params, opt_state = step(params, opt_state)
        used.append(float(opt_state.hyperparams["learning_rate"]))
        state = plateau.update(state, metric)
        opt_state.hyperparams["learning_rate"] = jnp.asarray(state.lr, dtype=jnp.float32)
    replayed = plateau.replay(metrics)
    np.testing.assert_array_equal(np.float32(used), np.float32([0.1, *replayed[:-1]]))
    assert replayed.min() < 0.1


def _bare_function(step):
    return 0.1


BAD_CALLS = [
    (
        lambda: JaxSchedule(_bare_function),
        TypeError,
        f"JaxSchedule(): schedule must be an lrsched schedule, got {_bare_function!r}; "
        "a function of the step is wrapped as lrsched.lambda_lr(base_lr, fn) (LR = base_lr * "
        "fn(step), as torch's LambdaLR; lrsched.lambda_lr(1.0, fn) when fn returns the LR itself)",
    ),
    (
        lambda: JaxSchedule(0.1),
        TypeError,
        "JaxSchedule(): schedule must be an lrsched schedule, got 0.1",
    ),
    (
        lambda: JaxSchedule(lrsched.plateau(0.1)),
        TypeError,
        "JaxSchedule(): schedule must be an lrsched schedule of the step; a plateau depends on "
        "a metric: keep its state on the host and feed state.lr to optax.inject_hyperparams "
        "(see lrsched.adapters.jax), got plateau(base=0.1)",
    ),
    (
        lambda: JaxSchedule(lrsched.cosine(0.1, 10), max_steps=-1),
        ValueError,
        "JaxSchedule(): max_steps must be an integer >= 0, got -1",
    ),
    (
        lambda: JaxSchedule(lrsched.cosine(0.1, 10))(1.5),
        TypeError,
        "JaxSchedule(): step must be a whole number, got 1.5; for fractional steps call the "
        "lrsched schedule itself",
    ),
    (
        lambda: JaxSchedule(lrsched.cosine(0.1, 10))(-1),
        ValueError,
        "JaxSchedule(): step must be >= 0, got -1",
    ),
    (
        lambda: JaxSchedule(lrsched.cosine(0.1, 10))(True),
        TypeError,
        "JaxSchedule(): step must be a whole number, got True",
    ),
    (lambda: JaxSchedule(lrsched.cosine(0.1, 10))(jnp.asarray([1.0, 2.5])), TypeError, None),
    (
        lambda: JaxSchedule(lrsched.cosine(0.1, 10))(jnp.asarray([3, -2])),
        ValueError,
        "JaxSchedule(): step must be >= 0, got -2",
    ),
]


@table(BAD_CALLS)
def test_bad_calls_are_refused_with_exact_messages(call, error, message):
    assert_refused(call, error, message)


def test_whole_numbers_of_any_kind_are_steps():
    schedule = CASES["classic_staircase"]
    lr = JaxSchedule(schedule, max_steps=50)
    for step in (100, 100.0, np.int64(100), np.float32(100.0), jnp.asarray(100.0)):
        value = lr(step)
        assert value.dtype == jnp.float32 and float(value) == exact(schedule, 100)
    assert repr(lr) == f"JaxSchedule({schedule!r}, max_steps=50)"


def test_import_without_jax_names_the_extra():
    code = (
        "import sys; sys.modules['jax'] = None\n"
        "try:\n    import lrsched.adapters.jax\n"
        "except ImportError as error:\n    print(error)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert 'pip install "lrsched-numpy[jax]"' in out

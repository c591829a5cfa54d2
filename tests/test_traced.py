"""The core's formulas run traced (lrsched.adapters._traced) agree with the core.

Past their tables, the compiled adapters evaluate a schedule's own ``_values`` through the
traced namespace in float64: under jax (with ``jax_enable_x64``, inside ``jax.jit``) and
under keras.ops inside an XLA-compiled ``tf.function`` (the tensorflow CI job; on Keras's
torch backend ``KerasSchedule`` computes on the host, so those tests skip there). The
promise, checked for every family the strategies generate without a user function, at
steps far past any table (10**7 to 2**31): rounded to float32, the value is
``np.float32(s(t))`` or one float32 ulp from it; where s(t) is 0 or nearly (ulps are then
tiny), within 2**-48 of the schedule's scale: its largest value, and for a product at
least the product of its factors' largest values (a factor's rounding error is relative to
its own size: 1e-10 times a polynomial that is 5.6e-17 instead of 0 at step 0 is off by
5.6e-17, next to a product whose largest value is 3e-11). XLA may also compile a division
by a constant as a multiplication by its reciprocal, which moves a float64 result by an ulp
(one_cycle's momentum ends at 4e-17 instead of 0). A float32 subnormal (below 1.2e-38) may
be flushed to 0 (tensorflow).

With ``user_functions=True`` the namespace also traces a user's function itself on the
step tensor (what ``KerasSchedule`` does under XLA, after checking it against the core).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings

import lrsched
from lrsched.testing import strategies as schedules

sys.path.insert(0, str(Path(__file__).parent / "keras_cases"))
from keras_fit_cases import import_keras

STEPS = np.array(
    [0, 1, 7, 12345, 10**7, 10**7 + 1, 16_777_217, 123_456_789, 10**9, 2**31 - 1], dtype=np.int64
)
# Each example compiles its formula: a few in the default run, many more under -m slow.
_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much]
EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=_HEALTH)
MANY = settings(max_examples=300, deadline=None, suppress_health_check=_HEALTH)
# Under tensorflow each example is an XLA compilation of a few seconds.
SOME = settings(max_examples=100, deadline=None, suppress_health_check=_HEALTH)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    # + 0.0 turns -0.0 (XLA may drop an x + 0.0) into 0.0; LRs are >= 0, so the float32
    # bit patterns order like the values.
    got = np.asarray(got, dtype=np.float32) + np.float32(0.0)
    want = np.asarray(want, dtype=np.float32) + np.float32(0.0)
    return np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))


def _scale(schedule) -> float:
    """The largest value at STEPS and 0; a product's is at least its factors' product."""
    largest = float(np.max(schedule(np.append(STEPS, 0).astype(np.float64))))
    if isinstance(schedule, lrsched.product):
        factors = [_scale(f) if isinstance(f, lrsched.Schedule) else f for f in schedule.factors]
        return max(largest, float(np.prod(factors)))
    return max([largest, *(_scale(child) for child in schedule.children())])


def assert_close(schedule, got: np.ndarray, want: np.ndarray) -> None:
    """One float32 ulp, or 2**-48 of the schedule's scale (see the module docstring)."""
    scale = max(_scale(schedule), np.finfo(np.float64).tiny)
    near = np.abs(np.float64(got) - np.float64(want)) <= scale * 2.0**-48
    # TensorFlow's XLA flushes float32 subnormals (below 1.2e-38) to zero.
    near |= (np.abs(want) < np.finfo(np.float32).tiny) & (got == 0.0)
    far = (_ulps(got, want) > 1) & ~near
    assert not far.any(), (schedule, STEPS[far], got[far], want[far])


def _core(schedule):
    from lrsched.adapters._tables import uses_user_function

    if uses_user_function(schedule) is not None:
        return None
    try:
        return np.float32(schedule(STEPS.astype(np.float64)))
    except ValueError:  # overflows float64: the core refuses it
        return None


def _jax_matches_the_core(schedule):
    jax = pytest.importorskip("jax")
    from lrsched.adapters._traced import JaxLibrary, TracedOps, traced_values

    want = _core(schedule)
    if want is None:
        return
    with jax.enable_x64(True):
        ops = TracedOps(JaxLibrary("float64"))
        got = jax.jit(lambda t: traced_values(schedule, t, ops))(STEPS)
        got = np.asarray(got).astype(np.float32)
    assert_close(schedule, got, want)


@EXAMPLES
@given(schedule=schedules.schedules())
def test_jax_float64_formula_matches_the_core(schedule):
    _jax_matches_the_core(schedule)


@pytest.mark.slow
@MANY
@given(schedule=schedules.schedules())
# 1e-10 times a polynomial that jax computes as 5.6e-17 at step 0, where the core has 0.
@example(lrsched.step(1.0, 1, gamma=1e-10) * lrsched.polynomial(0.0, 3, end_lr=1.0))
def test_jax_float64_formula_matches_the_core_many(schedule):
    _jax_matches_the_core(schedule)


@pytest.fixture(scope="module")
def keras_ops():
    keras = import_keras("torch")
    backend = keras.backend.backend()
    if backend != "tensorflow":
        # The jax backend traces through lrsched.adapters.jax; torch computes on the host.
        pytest.skip("KerasSchedule traces keras.ops under tensorflow only")
    import tensorflow as tf

    from lrsched.adapters._traced import TracedOps, keras_library, traced_values

    ops = TracedOps(keras_library())

    def evaluate(schedule):
        def run(t):
            return keras.ops.cast(traced_values(schedule, t, ops), "float32")

        steps = keras.ops.convert_to_tensor(STEPS, dtype="int64")
        run = tf.function(run, jit_compile=True)
        return np.asarray(keras.ops.convert_to_numpy(run(steps)))

    return evaluate


def _keras_matches_the_core(keras_ops, schedule):
    want = _core(schedule)
    if want is None:
        return
    got = keras_ops(schedule)
    assert_close(schedule, got, want)


@EXAMPLES
@given(schedule=schedules.schedules())
def test_keras_ops_formula_matches_the_core(keras_ops, schedule):
    _keras_matches_the_core(keras_ops, schedule)


@pytest.mark.slow
@SOME
@given(schedule=schedules.schedules())
def test_keras_ops_formula_matches_the_core_many(keras_ops, schedule):
    _keras_matches_the_core(keras_ops, schedule)


def test_a_user_function_is_refused_in_traced_code():
    jax = pytest.importorskip("jax")
    import lrsched
    from lrsched.adapters._traced import JaxLibrary, TracedOps, traced_values

    schedule = lrsched.warmup(lrsched.lambda_lr(0.1, lambda t: 0.5), 3)
    with jax.enable_x64(True), pytest.raises(TypeError, match="cannot run inside traced"):
        traced_values(schedule, jax.numpy.arange(4), TracedOps(JaxLibrary("float64")))


def _jax_user_ops():
    pytest.importorskip("jax")
    from lrsched.adapters._traced import JaxLibrary, TracedOps

    return TracedOps(JaxLibrary("float64"), user_functions=True)


@pytest.mark.parametrize(
    "schedule",
    [
        lrsched.lambda_lr(0.1, lambda t: 1 / (1 + t / 1000)),
        lrsched.warmup(lrsched.lambda_lr(0.1, lambda t: 1 / (1 + t / 1000)), 3)
        * lrsched.exponential(1.0, 0.999),
        lrsched.cyclic(0.01, 0.1, step_size_up=7, scale_fn=lambda c: 0.9 ** (c - 1.0)),
        lrsched.cyclic(
            0.01, 0.1, step_size_up=7, scale_fn=lambda t: 1 / (1 + t), scale_mode="iterations"
        ),
    ],
)
def test_a_users_function_traced_on_the_step_tensor_matches_the_core(schedule):
    import jax

    from lrsched.adapters._traced import traced_values

    with jax.enable_x64(True):
        ops = _jax_user_ops()
        got = np.asarray(jax.jit(lambda t: traced_values(schedule, t, ops))(STEPS))
    assert_close(schedule, got.astype(np.float32), np.float32(schedule(STEPS.astype(float))))


def test_a_users_function_that_cannot_run_on_a_tensor_is_named():
    import jax

    from lrsched.adapters._traced import UntracedFunction, traced_values

    def one_then_half(t):
        return 1.0 if t < 5 else 0.5

    schedule = lrsched.lambda_lr(0.1, one_then_half)
    with jax.enable_x64(True):
        ops = _jax_user_ops()
        with pytest.raises(UntracedFunction) as raised:
            jax.jit(lambda t: traced_values(schedule, t, ops))(STEPS)
    assert raised.value.fn is one_then_half
    # jax's own words follow (an array's truth value is ambiguous).
    assert re.fullmatch(
        r"test_a_users_function_that_cannot_run_on_a_tensor_is_named\.<locals>\.one_then_half "
        r"could not be run on a tensor: \w+Error: .+",
        raised.value.reason,
    )


def test_a_users_negative_factor_on_concrete_tensors_is_refused_naming_the_step():
    import jax

    from lrsched.adapters._traced import UntracedFunction, traced_values

    schedule = lrsched.lambda_lr(0.1, lambda t: 1.0 - t / 10.0)
    with jax.enable_x64(True):
        ops = _jax_user_ops()
        with pytest.raises(UntracedFunction, match=r"on a tensor at 11\.0; factors must be"):
            traced_values(schedule, jax.numpy.arange(20), ops)  # eager: values known
        # Inside jit the values are not known: nothing can check them there.
        jax.jit(lambda t: traced_values(schedule, t, ops))(jax.numpy.arange(20))


def test_first_disagreement_is_the_documented_bound():
    from lrsched.adapters._traced import first_disagreement

    steps = np.arange(6, dtype=np.float64)
    schedule = lrsched.exponential(0.1, 0.5)
    want = np.float32(schedule(steps))
    one_ulp = want.copy()
    one_ulp[2] = np.nextafter(want[2], np.float32(1.0))
    assert first_disagreement(schedule, steps, one_ulp) is None
    two_ulps = one_ulp.copy()
    two_ulps[3] = np.nextafter(np.nextafter(want[3], np.float32(1.0)), np.float32(1.0))
    assert first_disagreement(schedule, steps, two_ulps) == 3
    nan = want.copy()
    nan[4] = np.nan
    assert first_disagreement(schedule, steps, nan) == 4
    # Near 0 the bound is 2**-48 of the scale, a product's from its factors' sizes.
    product = lrsched.step(1.0, 1, gamma=1e-10) * lrsched.polynomial(0.0, 3, end_lr=1.0)
    near = np.float32(product(steps))
    near[0] = np.float32(5.6e-17)
    assert first_disagreement(product, steps, near) is None
    near[0] = np.float32(2.0**-47)
    assert first_disagreement(product, steps, near) == 0


def test_a_running_product_is_carried_in_the_compiled_step():
    # multiplicative under XLA: the product kept in variables, one factor a step; any
    # other step from the nearest product kept (the latest, the core's at the first step
    # asked eagerly, or base_lr at step 0), in chunks.
    keras = import_keras("torch")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("only tensorflow's compiled steps keep variables")
    import tensorflow as tf

    from lrsched.adapters._traced import KeptProduct, TracedOps, keras_library, traced_values

    def factor(k):
        return 1.0 - 1e-3 / (1.0 + k / 100.0)

    schedule = lrsched.multiplicative(0.1, factor)
    ops = TracedOps(keras_library(), user_functions=True)

    def check(steps, got):
        want = np.float32(schedule(np.asarray(steps, dtype=np.float64)))
        assert (_ulps(np.float32(got), want) <= 1).all(), (steps, got, want)

    eager = [40, 45, 50, 60]
    check(eager, traced_values(schedule, tf.constant(eager, tf.int64), ops).numpy())
    (kept,) = ops._kept_products.values()
    assert (kept.checkpoint, kept.last_step.numpy()) == (40, 60)

    @tf.function(jit_compile=True)
    def lr(step):
        return traced_values(schedule, tf.reshape(step, (1,)), ops)[0]

    # In order, a jump far ahead, back before the checkpoint, the same step twice.
    for step in [61, 62, 63, 63, 50, 51, 9000, 9001, 2 * KeptProduct.CHUNK + 3, 3, 4, 0]:
        check([step], [lr(tf.constant(step, tf.int64)).numpy()])
        assert kept.last_step.numpy() == step

    @tf.function(jit_compile=True)
    def lrs(steps):
        return traced_values(schedule, steps, ops)

    steps = [7, 12_000, 41, 20]
    check(steps, lrs(tf.constant(steps, tf.int64)).numpy())
    assert kept.last_step.numpy() == 12_000


def test_a_running_product_is_refused_where_no_state_can_be_kept():
    import jax

    from lrsched.adapters._traced import UntracedFunction, traced_values

    schedule = lrsched.multiplicative(0.1, lambda k: 0.5 + 0.0 * k)
    with jax.enable_x64(True):
        ops = _jax_user_ops()
        with pytest.raises(UntracedFunction, match="this backend's compiled step cannot keep"):
            traced_values(schedule, jax.numpy.arange(4), ops)


def test_a_python_if_on_the_step_is_traced_one_step_at_a_time_under_tensorflow():
    # What fails on the whole step tensor is called on each step alone through AutoGraph,
    # which turns a Python if into the graph's branch; math.* still cannot run there.
    keras = import_keras("torch")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("AutoGraph is tensorflow's")
    import math

    import tensorflow as tf

    from lrsched.adapters._traced import TracedOps, UntracedFunction, keras_library, traced_values

    def one_then_half(t):
        return 1.0 if t < 5 else 0.5

    def with_math(t):
        return math.exp(-t / 10)

    ops = TracedOps(keras_library(), user_functions=True)
    steps = np.arange(12)
    schedule = lrsched.lambda_lr(0.1, one_then_half)
    compiled = tf.function(lambda t: traced_values(schedule, t, ops), jit_compile=True)
    for run in (lambda t: traced_values(schedule, t, ops), compiled):
        got = np.asarray(run(tf.constant(steps, tf.int64)))
        np.testing.assert_array_equal(np.float32(got), np.float32(schedule(steps)))
    schedule = lrsched.lambda_lr(0.1, with_math)
    with pytest.raises(UntracedFunction, match=r"with_math could not be run on a tensor: "):
        # autograph=False, as KerasSchedule's check traces (AutoGraph would wrap the error).
        tf.function(
            lambda t: traced_values(schedule, t, ops), autograph=False
        ).get_concrete_function(tf.TensorSpec([3], tf.int64))

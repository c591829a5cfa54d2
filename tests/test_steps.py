"""The step side of the Schedule contract: what goes in, what comes out."""

import math
import warnings

import numpy as np
import pytest

import lrsched as L

SCHEDULE = L.warmup(L.cosine(base_lr=0.1, total_steps=100, min_lr=0.001), steps=10)


@pytest.mark.parametrize(
    "step",
    [
        3,
        3.0,
        np.int8(3),
        np.uint64(3),
        np.float32(3.0),
        np.float64(3.0),
        np.array(3),
        np.array(3.0),
    ],
)
def test_scalar_in_python_float_out(step):
    value = SCHEDULE(step)
    assert type(value) is float
    assert value == SCHEDULE(np.array([3.0]))[0]


@pytest.mark.parametrize("shape", [(0,), (5,), (2, 3), (2, 1, 4)])
def test_array_in_float64_array_of_same_shape_out(shape):
    steps = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    values = SCHEDULE(steps)
    assert values.dtype == np.float64 and values.shape == shape
    flat = [SCHEDULE(int(step)) for step in steps.ravel()]
    assert values.ravel().tolist() == flat


def test_list_input_and_fractional_steps():
    values = SCHEDULE([0, 0.5, 1])
    assert values.shape == (3,)
    assert values[0] < values[1] < values[2]


@pytest.mark.parametrize(
    "bad",
    [
        -1,
        -0.5,
        math.nan,
        math.inf,
        -math.inf,
        [0, -1],
        np.array([0.0, np.nan]),
        [[0, 1], [2, math.inf]],
        10**400,
    ],
)
def test_bad_steps_raise_value_error_naming_the_value(bad):
    with pytest.raises(ValueError, match="step must be a finite number >= 0, got"):
        SCHEDULE(bad)


def test_error_names_the_index_of_the_bad_step():
    with pytest.raises(ValueError, match=r"got -3\.0 at index \(1, 0\)"):
        SCHEDULE(np.array([[0.0, 1.0], [-3.0, 2.0]]))


@pytest.mark.parametrize(
    "bad",
    [
        True,
        np.array([True, False]),
        "3",
        ["a"],
        1 + 2j,
        np.array([1 + 0j]),
        np.array(["1"], dtype=object),
        None,
        [1, None],
        {"step": 1},
    ],
)
def test_non_numeric_steps_raise_type_error(bad):
    with pytest.raises(TypeError, match="step must be"):
        SCHEDULE(bad)


def test_input_array_is_not_modified_and_read_only_input_works():
    steps = np.arange(200, dtype=np.float64)
    before = steps.copy()
    steps.setflags(write=False)
    for schedule in (
        SCHEDULE,
        L.cosine(0.1, 50),
        L.linear(0.0, 1.0, 50),
        L.exponential_ramp(1e-3, 1.0, 50),
        L.inverse_sqrt(1.0, timescale=10),
    ):
        schedule(steps)
    assert np.array_equal(steps, before)


def test_non_contiguous_steps():
    steps = np.arange(400, dtype=np.float64).reshape(20, 20)[::2, ::3]
    assert not steps.flags.c_contiguous
    assert np.array_equal(SCHEDULE(steps), SCHEDULE(np.ascontiguousarray(steps)))


@pytest.mark.parametrize(
    "dtype",
    [
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
    ],
)
def test_every_real_dtype_gives_the_same_values(dtype):
    steps = np.arange(0, 100, dtype=dtype)
    assert np.array_equal(SCHEDULE(steps), SCHEDULE(np.arange(0, 100, dtype=np.float64)))


def test_huge_steps_are_finite_and_warning_free():
    steps = np.array([2.0**53, 2**53 - 1, 1e15])
    families = [
        L.cosine(0.1, 100),
        L.cosine(0.1, 100, periodic=True),
        L.step(0.1, 10),
        L.exponential(0.1, 0.99),
        L.inverse_time(0.1, 10, 0.5),
        L.inverse_sqrt(0.1, timescale=100),
        L.warm_restarts(0.1, 10, period_mult=2),
        L.warm_restarts(0.1, 7, period_mult=1, decay=0.5),
        L.cyclic(0.1, 1.0, step_size_up=3, mode="triangular2"),
        L.cyclic(0.1, 1.0, step_size_up=3, mode="exp_range", gamma=0.99),
        L.one_cycle(1.0, 100),
        L.polynomial(0.1, 100, cycle=True),
        L.linear(0.0, 1.0, 10),
        SCHEDULE,
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for schedule in families:
            values = schedule(steps)
            assert np.isfinite(values).all() and (values >= 0).all(), schedule


def test_extreme_lengths_that_are_accepted_stay_finite_up_to_2_53():
    # The shortest length accepted (2**53 / float64 max) and the longest, in every family
    # whose steps are divided by a length; and the most extreme accepted period_mult.
    shortest = 2.0**53 / 1.7976931348623157e308
    steps = np.array([0.0, 0.5, 1.0, 3.0, 1e6, 2.0**52 + 1, 2.0**53 - 1, 2.0**53])
    families = [
        L.warm_restarts(0.1, shortest),
        L.warm_restarts(0.1, shortest, period_mult=1.5),
        L.warm_restarts(0.1, shortest, period_mult=1 + shortest * 1.7976931348623157e308 / 2**54),
        L.warm_restarts(0.1, 1.5, period_mult=1 + 1.7976931348623157e308 / 2**54),
        L.warm_restarts(0.1, 1.7e308, period_mult=2.5),
        L.warm_restarts(0.1, 3, period_mult=2**52),
        L.cyclic(0.01, 0.1, step_size_up=shortest, mode="triangular2"),
        L.cyclic(0.01, 0.1, step_size_up=shortest, step_size_down=1e-310),
        L.cyclic(0.01, 0.1, step_size_up=8e307, step_size_down=8e307, mode="exp_range"),
        L.exponential(0.1, 0.5, decay_steps=shortest),
        L.exponential(0.1, 0.5, decay_steps=1.7e308, staircase=True),
        L.inverse_time(0.1, shortest, 1.0),
        L.inverse_time(0.1, 1.7e308, 1e300, staircase=True),
        L.inverse_sqrt(0.1, timescale=1e-320),
        L.inverse_sqrt(0.1, timescale=1.7e308),
        L.cosine(0.1, 10).per_epoch(shortest),
        L.cosine(0.1, 10).per_epoch(1.7e308, staircase=True),
        L.cosine(0.1, 1000, k_decay=102.7),
        L.cosine(0.1, 1000, k_decay=1e-300),
        L.one_cycle(1.0, 10, div_factor=1e-300, final_div_factor=1e-7),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for schedule in families:
            values = schedule(steps)
            assert np.isfinite(values).all() and (values >= 0).all(), schedule
            assert [schedule(float(step)) for step in steps] == values.tolist(), schedule


def test_a_schedule_that_settles_only_past_float64_has_no_tail():
    assert L.cosine(0.1, 10).per_epoch(1.7e308).tail() is None
    assert L.wsd(0.1, 1e308, 1e308, 1e308).tail() is None
    assert L.cyclic(0.1, 1.0, step_size_up=1e10).per_epoch(1e300).tail() is None
    assert L.cosine(0.1, 10).per_epoch(7).tail() == (70.0, None)
    assert L.cosine(0.0, 8.98846567431158e307, periodic=True).tail() is None  # 2T is inf
    assert L.cosine(0.1, 10, periodic=True).tail() == (0.0, 20.0)


def test_growing_exponential_overflow_is_an_error_not_inf():
    with pytest.raises(ValueError, match=r"exponential\(\): the learning rate overflows"):
        L.exponential(0.1, gamma=1.5)(1e6)
    assert L.exponential(0.1, gamma=1.5).clip(max_lr=1.0)(5) == 0.1 * 1.5**5


def test_scalar_call_equals_vector_call_bit_for_bit_for_every_family():
    steps = np.concatenate([np.arange(0, 300), np.linspace(0, 300, 77)])
    schedules = [
        L.constant(0.1),
        L.step(0.1, 7),
        L.multistep(0.1, [3, 3, 50]),
        L.piecewise_constant([10, 20], [0.3, 0.2, 0.1]),
        L.piecewise_linear([0, 10, 250], [0.0, 1.0, 0.1]),
        L.exponential(0.1, 0.97, decay_steps=3, staircase=True),
        L.exponential_ramp(1e-4, 1, 250),
        L.linear(0.5, 0.1, 120),
        L.polynomial(0.1, 100, end_lr=0.01, power=2.0, cycle=True),
        L.inverse_time(0.1, 10, 0.3),
        L.inverse_sqrt(0.1, timescale=30),
        L.lambda_lr(0.1, lambda t: 1.0 if t < 50 else 0.5),
        L.multiplicative(0.1, lambda k: 0.99),
        L.cosine(0.1, 100, min_lr=0.01, periodic=True),
        L.cosine(0.1, 100, min_lr=0.01, k_decay=1.5, exponent=2.0),
        L.tanh(0.1, 90),
        L.warm_restarts(0.1, 13, period_mult=2, min_lr=0.001, decay=0.7),
        L.wsd(0.1, 20, 50, 100, min_lr=0.0, decay_shape="1-sqrt"),
        L.cyclic(0.01, 0.1, step_size_up=20, step_size_down=30, mode="exp_range", gamma=0.999),
        L.one_cycle(0.1, 280),
        L.one_cycle(0.1, 280).momentum(),
        L.cyclic(0.1, 1, step_size_up=9).momentum(0.8, 0.9),
        SCHEDULE * 0.5,
        SCHEDULE.clip(0.01, 0.05),
        SCHEDULE.shift(-7),
        L.cosine(0.1, 10).per_epoch(7, staircase=True),
    ]
    for schedule in schedules:
        vector = schedule(steps)
        scalar = np.array([schedule(float(step)) for step in steps])
        assert np.array_equal(vector, scalar), schedule


def test_a_users_plain_subclass_evaluates_large_arrays():
    # Large arrays go through the blockwise path, which asks a schedule for its children;
    # a subclass that is not a dataclass has none (it used to raise TypeError there).
    class Halving(L.Schedule):
        def _values(self, t):
            return 0.1 * 0.5 ** np.floor(t / 1000)

    steps = np.arange(100_000)
    assert np.array_equal(Halving()(steps), 0.1 * 0.5 ** np.floor(steps / 1000))
    assert Halving().children() == ()
    assert repr(Halving()) == "Halving()"  # no parameters to show (it used to raise TypeError)


def test_one_rule_for_every_form_of_a_real_step():
    """Fractions, Decimals and ints beyond int64 are steps as scalars and in arrays alike;
    a value beyond float64 is no finite step, whatever its container."""
    from decimal import Decimal
    from fractions import Fraction

    expected = SCHEDULE(np.array([0.5, 2.0, 3.0]))
    for steps in ([Fraction(1, 2), Decimal(2), 3], np.array([Fraction(1, 2), 2, 3], dtype=object)):
        assert np.array_equal(SCHEDULE(steps), expected)
    assert SCHEDULE(Fraction(1, 2)) == expected[0] and SCHEDULE(Decimal("2")) == expected[1]
    assert SCHEDULE([2**64]) == SCHEDULE(np.array([2.0**64]))
    assert SCHEDULE(2**64) == SCHEDULE(2.0**64)
    for huge in (10**400, [10**400], [1, 10**400]):
        with pytest.raises(L.ArgumentError, match="step must be a finite number >= 0"):
            SCHEDULE(huge)


def test_masked_arrays_and_tensors_that_need_grad_get_a_clear_error():
    with pytest.raises(L.ArgumentTypeError, match=r"masked array .* step.filled"):
        SCHEDULE(np.ma.masked_array([1.0, 2.0], mask=[False, True]))
    torch = pytest.importorskip("torch")
    with pytest.raises(L.ArgumentTypeError, match=r"tensor.detach\(\)"):
        SCHEDULE(torch.ones(3, requires_grad=True))

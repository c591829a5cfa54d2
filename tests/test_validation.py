"""Bad parameters: one table of calls, each with the exact message a user sees."""

import math

import numpy as np
import pytest

import lrsched as L

cos = L.cosine(0.1, 10)

BAD_CALLS = [
    # (call, error type, exact message)
    (lambda: L.constant(-1), ValueError, "constant(): lr must be a non-negative number, got -1"),
    (lambda: L.constant("0.1"), TypeError, "constant(): lr must be a real number, got '0.1'"),
    (lambda: L.constant(True), TypeError, "constant(): lr must be a real number, got True"),
    (lambda: L.constant(math.nan), ValueError, "constant(): lr must be a finite number, got nan"),
    (lambda: L.constant(math.inf), ValueError, "constant(): lr must be a finite number, got inf"),
    (lambda: L.constant(None), TypeError, "constant(): lr must be a real number, got None"),
    (lambda: L.step(0.1, 0), ValueError, "step(): step_size must be a positive integer, got 0"),
    (lambda: L.step(0.1, 2.5), ValueError,
     "step(): step_size must be a positive integer, got 2.5"),
    (lambda: L.step(0.1, True), TypeError,
     "step(): step_size must be a positive integer, got True"),
    (lambda: L.step(0.1, 10, gamma=0), ValueError,
     "step(): gamma must be a positive number, got 0"),
    (lambda: L.step(-0.1, 10), ValueError,
     "step(): base_lr must be a non-negative number, got -0.1"),
    (lambda: L.multistep(0.1, []), ValueError,
     "multistep(): milestones must be a sequence of at least 1 item(s), got []"),
    (lambda: L.multistep(0.1, [5, 3]), ValueError,
     "multistep(): milestones must be weakly increasing, got [5, 3]"),
    (lambda: L.multistep(0.1, [-1]), ValueError,
     "multistep(): milestones[0] must be an integer >= 0, got -1"),
    (lambda: L.multistep(0.1, 5), TypeError,
     "multistep(): milestones must be a list or tuple, got 5"),
    (lambda: L.multistep(0.1, "5"), TypeError,
     "multistep(): milestones must be a list or tuple, got '5'"),
    (lambda: L.piecewise_constant([1, 1], [1.0, 0.5, 0.1]), ValueError,
     "piecewise_constant(): boundaries must be strictly increasing, got [1.0, 1.0]"),
    (lambda: L.piecewise_constant([1, 2], [1.0, 0.5]), ValueError,
     "piecewise_constant(): values must have 1 more item than boundaries, "
     "got len(values)=2, len(boundaries)=2"),
    (lambda: L.piecewise_linear([0, 1], [1.0]), ValueError,
     "piecewise_linear(): values must have as many items as boundaries, "
     "got len(values)=1, len(boundaries)=2"),
    (lambda: L.exponential(0.1, gamma=0), ValueError,
     "exponential(): gamma must be a positive number, got 0"),
    (lambda: L.exponential(0.1, 0.9, decay_steps=0), ValueError,
     "exponential(): decay_steps must be a positive number, got 0"),
    (lambda: L.exponential(0.1, 0.9, staircase=1), TypeError,
     "exponential(): staircase must be True or False, got 1"),
    (lambda: L.exponential_ramp(0, 1.0, 10), ValueError,
     "exponential_ramp(): start_lr must be a positive number, got 0"),
    (lambda: L.linear(0.0, 1.0, 0), ValueError,
     "linear(): total_steps must be a positive integer, got 0"),
    (lambda: L.polynomial(0.1, 10, power=0), ValueError,
     "polynomial(): power must be a positive number, got 0"),
    (lambda: L.inverse_time(0.1, decay_steps=-1, decay_rate=0.5), ValueError,
     "inverse_time(): decay_steps must be a positive number, got -1"),
    (lambda: L.inverse_sqrt(0.1, timescale=0), ValueError,
     "inverse_sqrt(): timescale must be a positive number, got 0"),
    (lambda: L.lambda_lr(0.1, 3), TypeError,
     "lambda_lr(): fn must be a callable or the name of a registered function, got 3"),
    (lambda: L.lambda_lr(0.1, "no_such_function_xyz"), ValueError, None),
    (lambda: L.multiplicative(0.1, None), TypeError,
     "multiplicative(): fn must be a callable or the name of a registered function, got None"),
    (lambda: L.cosine(0.1, 0), ValueError,
     "cosine(): total_steps must be a positive integer, got 0"),
    (lambda: L.cosine(0.1, 100, min_lr=-1), ValueError,
     "cosine(): min_lr must be a non-negative number, got -1"),
    (lambda: L.cosine(0.1, 100, periodic="yes"), TypeError,
     "cosine(): periodic must be True or False, got 'yes'"),
    (lambda: L.warm_restarts(0.1, 0), ValueError,
     "warm_restarts(): period must be a positive number, got 0"),
    (lambda: L.warm_restarts(0.1, 10, period_mult=0.5), ValueError,
     "warm_restarts(): period_mult must be in [1, inf), got 0.5"),
    (lambda: L.warm_restarts(0.1, 10, decay=0), ValueError,
     "warm_restarts(): decay must be in (0, 1], got 0"),
    (lambda: L.wsd(0.1, 10, 10, 0), ValueError,
     "wsd(): decay_steps must be a positive integer, got 0"),
    (lambda: L.wsd(0.1, 10, 10, 10, decay_shape="sqrt"), ValueError,
     "wsd(): decay_shape must be one of 'linear', 'cosine', '1-sqrt', got 'sqrt'"),
    (lambda: L.cyclic(0.1, 1.0, step_size_up=0), ValueError,
     "cyclic(): step_size_up must be a positive number, got 0"),
    (lambda: L.cyclic(0.1, 1.0, mode="tri"), ValueError,
     "cyclic(): mode must be one of 'triangular', 'triangular2', 'exp_range', got 'tri'"),
    (lambda: L.cyclic(0.1, 1.0, gamma=1.5), ValueError,
     "cyclic(): gamma must be in (0, 1], got 1.5"),
    (lambda: L.cyclic(0.1, 1.0, scale_mode="epoch"), ValueError,
     "cyclic(): scale_mode must be one of 'cycle', 'iterations', got 'epoch'"),
    (lambda: L.one_cycle(1.0, 1), ValueError,
     "one_cycle(): total_steps must be an integer >= 2, got 1"),
    (lambda: L.one_cycle(1.0, 100, pct_start=1.0), ValueError,
     "one_cycle(): pct_start must be in (0, 1), got 1.0"),
    (lambda: L.one_cycle(1.0, 100, anneal="cosine"), ValueError,
     "one_cycle(): anneal must be one of 'cos', 'linear', got 'cosine'"),
    (lambda: L.one_cycle(1.0, 100).momentum(0.85, 1.5), ValueError,
     "cycle_momentum(): max_momentum must be in [0, 1], got 1.5"),
    (lambda: L.cycle_momentum(cos), TypeError, None),
    (lambda: L.sequence([cos], []), ValueError,
     "sequence(): schedules must be a sequence of at least 2 item(s), got "
     "[cosine(base_lr=0.1, total_steps=10)]"),
    (lambda: L.sequence([cos, cos], [0]), ValueError,
     "sequence(): boundaries[0] must be a positive number, got 0"),
    (lambda: L.sequence([cos, cos], [5, 10]), ValueError,
     "sequence(): schedules must have 1 more item than boundaries, "
     "got len(schedules)=2, len(boundaries)=2"),
    (lambda: L.sequence([cos, 0.1], [5]), TypeError,
     "sequence(): schedules[1] must be an lrsched schedule, got 0.1"),
    (lambda: L.warmup(cos, 0), ValueError, "warmup(): steps must be a positive integer, got 0"),
    (lambda: L.warmup(0.1, 10), TypeError, "warmup(): schedule must be an lrsched schedule, "
                                           "got 0.1"),
    (lambda: L.warmup(cos, 10, start_factor=2), ValueError,
     "warmup(): start_factor must be in [0, 1], got 2"),
    (lambda: L.warmup(cos, 10, mode="exponential"), ValueError,
     "warmup(): start_factor must be > 0 when mode='exponential', got 0.0"),
    (lambda: cos.clip(min_lr=0.5, max_lr=0.1), ValueError,
     "clip(): max_lr must be >= min_lr=0.5, got 0.1"),
    (lambda: cos.shift(math.nan), ValueError, "shift(): steps must be a finite number, got nan"),
    (lambda: cos.per_epoch(0), ValueError,
     "per_epoch(): steps_per_epoch must be a positive number, got 0"),
    (lambda: cos * -1, ValueError, "product(): factors[1] must be a non-negative number, got -1"),
    (lambda: L.plateau(0.1, factor=1.0), ValueError, "plateau(): factor must be in (0, 1), got 1.0"),
    (lambda: L.plateau(0.1, mode="minimum"), ValueError,
     "plateau(): mode must be one of 'min', 'max', got 'minimum'"),
    (lambda: L.plateau(0.1, patience=-1), ValueError,
     "plateau(): patience must be an integer >= 0, got -1"),
    (lambda: L.plateau("fast"), TypeError, "plateau(): base must be a real number, got 'fast'"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS,
                         ids=[str(i) for i in range(len(BAD_CALLS))])
def test_bad_call_raises_with_pinned_message(call, error, message):
    with pytest.raises(error) as raised:
        call()
    if message is not None:
        assert str(raised.value) == message


def test_unregistered_function_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match="registered function.*'no_such_function_xyz'"):
        L.lambda_lr(0.1, "no_such_function_xyz")


def test_numpy_scalars_are_accepted_and_normalised():
    s = L.cosine(np.float32(0.5), np.int64(100), min_lr=np.float64(0.0))
    assert s == L.cosine(0.5, 100)
    assert type(s.total_steps) is int and type(s.base_lr) is float
    assert L.cosine(0.5, 100.0) == L.cosine(0.5, 100)


def test_zero_dimensional_arrays_are_not_numbers():
    with pytest.raises(TypeError, match=r"cosine\(\): base_lr must be a real number"):
        L.cosine(np.array(0.1), 100)

"""Bad parameters: one table of calls, each with the exact message a user sees."""

import math

import numpy as np
import pytest
from bad_calls import assert_refused, table

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
    (lambda: L.step(0.1, 2.5), ValueError, "step(): step_size must be a positive integer, got 2.5"),
    (
        lambda: L.step(0.1, True),
        TypeError,
        "step(): step_size must be a positive integer, got True",
    ),
    (
        lambda: L.step(0.1, 10, gamma=0),
        ValueError,
        "step(): gamma must be a positive number, got 0",
    ),
    (
        lambda: L.step(-0.1, 10),
        ValueError,
        "step(): base_lr must be a non-negative number, got -0.1",
    ),
    (
        lambda: L.multistep(0.1, []),
        ValueError,
        "multistep(): milestones must be a sequence of at least 1 item(s), got []",
    ),
    (
        lambda: L.step(0.1, 10**400),
        ValueError,
        f"step(): step_size must be a positive integer that float64 can hold, got {10**400!r}",
    ),
    (
        lambda: L.cosine(0.1, 10, min_lr=10**400),
        ValueError,
        f"cosine(): min_lr must be a finite number, got {10**400!r}",
    ),
    (
        lambda: L.cosine(0.1, 1000, 0.0),
        TypeError,
        "cosine(): min_lr is keyword-only: pass min_lr=0.0",
    ),
    (
        lambda: L.cyclic(0.1, 1.0, 5, 7, "triangular2"),
        TypeError,
        "cyclic(): mode is keyword-only: pass mode='triangular2'",
    ),
    (
        lambda: L.constant(0.1, 0.2),
        TypeError,
        "constant() takes 1 positional argument(s) (lr), got 2",
    ),
    (
        lambda: L.cosine(0.1, 10).per_epoch(1e-320),
        ValueError,
        "per_epoch(): steps_per_epoch must be a positive number >= 5.01e-293 (so that every "
        "step up to 2**53 is a finite epoch), got 1e-320",
    ),
    # Lengths that steps are divided by: a subnormal one makes every count infinite.
    (
        lambda: L.warm_restarts(0.1, 1e-310, period_mult=2),
        ValueError,
        "warm_restarts(): period must be a positive number >= 5.01e-293 (so that every step "
        "up to 2**53 is a finite number of periods), got 1e-310",
    ),
    (
        lambda: L.warm_restarts(0.1, 1.5, period_mult=1e300),
        ValueError,
        "warm_restarts(): period_mult must be at most 9.98e+291 for period=1.5 (so that every "
        "step up to 2**53 has a finite cycle index), got 1e+300",
    ),
    (
        lambda: L.warm_restarts(0.1, 1e-290, period_mult=1e15),
        ValueError,
        "warm_restarts(): period_mult must be at most 101 for period=1e-290 (so that every "
        "step up to 2**53 has a finite cycle index), got 1000000000000000.0",
    ),
    (
        lambda: L.cyclic(0.01, 0.1, step_size_up=1e-310),
        ValueError,
        "cyclic(): step_size_up must be a positive number >= 5.01e-293 (so that every step up "
        "to 2**53 is a finite number of cycles), got 1e-310",
    ),
    (
        lambda: L.cyclic(0.01, 0.1, step_size_up=1.7e308),
        ValueError,
        "cyclic(): step_size_up must be a number that keeps the cycle, step_size_up + "
        "step_size_down, finite, got 1.7e+308",
    ),
    (
        lambda: L.cyclic(0.01, 0.1, step_size_up=1e308, step_size_down=1e308),
        ValueError,
        "cyclic(): step_size_down must be a number that keeps the cycle, step_size_up + "
        "step_size_down, finite, got 1e+308",
    ),
    (
        lambda: L.exponential(0.1, 0.5, decay_steps=1e-310),
        ValueError,
        "exponential(): decay_steps must be a positive number >= 5.01e-293 (so that every "
        "step up to 2**53 is a finite number of decay_steps), got 1e-310",
    ),
    (
        lambda: L.inverse_time(0.1, 1e-310, 0.0),
        ValueError,
        "inverse_time(): decay_steps must be a positive number >= 5.01e-293 (so that every "
        "step up to 2**53 is a finite number of decay_steps), got 1e-310",
    ),
    # Finite parameters whose learning rates would overflow are refused where they are given.
    (
        lambda: L.one_cycle(1.0, 10, div_factor=1e-310),
        ValueError,
        "one_cycle(): div_factor must be a positive number with max_lr / div_factor finite "
        "(max_lr=1.0), got 1e-310",
    ),
    (
        lambda: L.one_cycle(1.0, 10, final_div_factor=1e-310),
        ValueError,
        "one_cycle(): final_div_factor must be a positive number with max_lr / div_factor / "
        "final_div_factor finite (max_lr / div_factor=0.04), got 1e-310",
    ),
    (
        lambda: L.cosine(0.1, 1000, k_decay=1e15),
        ValueError,
        "cosine(): k_decay must be at most 102.8 for total_steps=1000 (so that total_steps ** "
        "k_decay is finite), got 1000000000000000.0",
    ),
    (
        lambda: L.product((2.0, 3.0)),
        ValueError,
        "product(): factors must be two or more factors, at least one of them a schedule (a "
        "product of numbers is a number: use constant(...)), got [2.0, 3.0]",
    ),
    (
        lambda: L.parse("ｃｏｓｉｎｅ(0.1, 10)"),
        ValueError,
        "parse(): text must be ASCII, got 'ｃ' at column 1",
    ),
    (
        lambda: L.parse("cosine(base_lr=0.1, base_lr=0.2, total_steps=10)"),
        ValueError,
        "parse(): at column 1: keyword 'base_lr' is repeated",
    ),
    (
        lambda: L.parse("cosine(0.1, 1000, 0.0)"),
        TypeError,
        "cosine(): min_lr is keyword-only: pass min_lr=0.0",
    ),
    (lambda: L.lambda_lr(0.1, lambda t: t * 1j)(3), TypeError, None),
    (lambda: L.lambda_lr(0.1, lambda t: np.ones(2))(np.arange(5)), ValueError, None),
    (lambda: L.lambda_lr(0.1, lambda t: "0.5")(3), TypeError, None),
    (
        lambda: L.cyclic(0.01, 0.1, step_size_up=5, scale_fn=lambda c: 1 - 0.1 * c)(200),
        ValueError,
        "cyclic(): scale_fn must return finite factors >= 0, got -1.1 at cycle 21.0",
    ),
    (lambda: L.plateau(0.1).state_from_dict({"lr": 0.1}), ValueError, None),
    (
        lambda: L.plateau(0.1).state_from_dict(dict(L.plateau(0.1).init().to_dict(), lr=math.nan)),
        ValueError,
        "plateau.state_from_dict(): data['lr'] must be a finite number, got nan",
    ),
    (
        lambda: L.plateau(0.1).state_from_dict(
            dict(L.plateau(0.1).init().to_dict(), bad_updates=2.7)
        ),
        ValueError,
        "plateau.state_from_dict(): data['bad_updates'] must be an integer >= 0, got 2.7",
    ),
    (
        lambda: L.plateau(0.1).state_from_dict(
            dict(L.plateau(0.1).init().to_dict(), scale=math.inf)
        ),
        ValueError,
        "plateau.state_from_dict(): data['scale'] must be a finite number, got inf",
    ),
    (
        lambda: L.plateau(0.1).state_from_dict(
            dict(L.plateau(0.1).init().to_dict(), updates=-1), func="resume", name="saved[2]"
        ),
        ValueError,
        "resume(): saved[2]['updates'] must be an integer >= 0, got -1",
    ),
    (
        lambda: L.plateau(0.1).state_from_dict([], func="resume", name="saved[2]"),
        TypeError,
        "resume(): saved[2] must be a dict from PlateauState.to_dict(), got []",
    ),
    (
        lambda: L.plateau(0.1).state_from_dict(L.plateau(0.1).init().to_dict(), name=2),
        TypeError,
        "plateau.state_from_dict(): name must be a string, got 2",
    ),
    (
        lambda: L.plateau(0.1).state_from_dict(L.plateau(0.1).init().to_dict(), func=None),
        TypeError,
        "plateau.state_from_dict(): func must be a string, got None",
    ),
    (
        lambda: L.multistep(0.1, [-1]),
        ValueError,
        "multistep(): milestones[0] must be an integer >= 0, got -1",
    ),
    (
        lambda: L.multistep(0.1, 5),
        TypeError,
        "multistep(): milestones must be a list or tuple, got 5",
    ),
    (
        lambda: L.multistep(0.1, "5"),
        TypeError,
        "multistep(): milestones must be a list or tuple, got '5'",
    ),
    (
        lambda: L.piecewise_constant([1, 1], [1.0, 0.5, 0.1]),
        ValueError,
        "piecewise_constant(): boundaries must be strictly increasing, got [1.0, 1.0]",
    ),
    (
        lambda: L.piecewise_constant([1, 2], [1.0, 0.5]),
        ValueError,
        "piecewise_constant(): values must have 1 more item than boundaries, "
        "got len(values)=2, len(boundaries)=2",
    ),
    (
        lambda: L.piecewise_linear([0, 1], [1.0]),
        ValueError,
        "piecewise_linear(): values must have as many items as boundaries, "
        "got len(values)=1, len(boundaries)=2",
    ),
    (
        lambda: L.exponential(0.1, gamma=0),
        ValueError,
        "exponential(): gamma must be a positive number, got 0",
    ),
    (
        lambda: L.exponential(0.1, 0.9, decay_steps=0),
        ValueError,
        "exponential(): decay_steps must be a positive number, got 0",
    ),
    (
        lambda: L.exponential(0.1, 0.9, staircase=1),
        TypeError,
        "exponential(): staircase must be True or False, got 1",
    ),
    (
        lambda: L.exponential_ramp(0, 1.0, 10),
        ValueError,
        "exponential_ramp(): start_lr must be a positive number, got 0",
    ),
    (
        lambda: L.linear(0.0, 1.0, 0),
        ValueError,
        "linear(): total_steps must be a positive integer, got 0",
    ),
    (
        lambda: L.polynomial(0.1, 10, power=0),
        ValueError,
        "polynomial(): power must be a positive number, got 0",
    ),
    (
        lambda: L.inverse_time(0.1, decay_steps=-1, decay_rate=0.5),
        ValueError,
        "inverse_time(): decay_steps must be a positive number, got -1",
    ),
    (
        lambda: L.inverse_sqrt(0.1, timescale=0),
        ValueError,
        "inverse_sqrt(): timescale must be a positive number, got 0",
    ),
    (
        lambda: L.lambda_lr(0.1, 3),
        TypeError,
        "lambda_lr(): fn must be a callable or the name of a registered function, got 3",
    ),
    (lambda: L.lambda_lr(0.1, "no_such_function_xyz"), ValueError, None),
    (
        lambda: L.multiplicative(0.1, None),
        TypeError,
        "multiplicative(): fn must be a callable or the name of a registered function, got None",
    ),
    (
        lambda: L.cosine(0.1, 0),
        ValueError,
        "cosine(): total_steps must be a positive integer, got 0",
    ),
    (
        lambda: L.cosine(0.1, 100, min_lr=-1),
        ValueError,
        "cosine(): min_lr must be a non-negative number, got -1",
    ),
    (
        lambda: L.cosine(0.1, 100, periodic="yes"),
        TypeError,
        "cosine(): periodic must be True or False, got 'yes'",
    ),
    (
        lambda: L.warm_restarts(0.1, 0),
        ValueError,
        "warm_restarts(): period must be a positive number, got 0",
    ),
    (
        lambda: L.warm_restarts(0.1, 10, period_mult=0.5),
        ValueError,
        "warm_restarts(): period_mult must be in [1, inf), got 0.5",
    ),
    (
        lambda: L.warm_restarts(0.1, 10, decay=0),
        ValueError,
        "warm_restarts(): decay must be in (0, 1], got 0",
    ),
    (
        lambda: L.wsd(0.1, 10, 10, 0),
        ValueError,
        "wsd(): decay_steps must be a positive integer, got 0",
    ),
    (
        lambda: L.wsd(0.1, 10, 10, 10, decay_shape="sqrt"),
        ValueError,
        "wsd(): decay_shape must be one of 'linear', 'cosine', '1-sqrt', got 'sqrt'",
    ),
    (
        lambda: L.cyclic(0.1, 1.0, step_size_up=0),
        ValueError,
        "cyclic(): step_size_up must be a positive number, got 0",
    ),
    (
        lambda: L.cyclic(0.1, 1.0, mode="tri"),
        ValueError,
        "cyclic(): mode must be one of 'triangular', 'triangular2', 'exp_range', got 'tri'",
    ),
    (
        lambda: L.cyclic(0.1, 1.0, gamma=1.5),
        ValueError,
        "cyclic(): gamma must be in (0, 1], got 1.5",
    ),
    (
        lambda: L.cyclic(0.1, 1.0, scale_mode="epoch"),
        ValueError,
        "cyclic(): scale_mode must be one of 'cycle', 'iterations', got 'epoch'",
    ),
    (
        lambda: L.one_cycle(1.0, 1),
        ValueError,
        "one_cycle(): total_steps must be an integer >= 2, got 1",
    ),
    (
        lambda: L.one_cycle(1.0, 100, pct_start=1.0),
        ValueError,
        "one_cycle(): pct_start must be in (0, 1), got 1.0",
    ),
    (
        lambda: L.one_cycle(1.0, 100, anneal="cosine"),
        ValueError,
        "one_cycle(): anneal must be one of 'cos', 'linear', got 'cosine'",
    ),
    (
        lambda: L.one_cycle(1.0, 100).momentum(0.85, 1.5),
        ValueError,
        "cycle_momentum(): max_momentum must be in [0, 1], got 1.5",
    ),
    (lambda: L.cycle_momentum(cos), TypeError, None),
    (
        lambda: L.sequence([cos], []),
        ValueError,
        "sequence(): schedules must be a sequence of at least 2 item(s), got "
        "[cosine(base_lr=0.1, total_steps=10)]",
    ),
    (
        lambda: L.sequence([cos, cos], [0]),
        ValueError,
        "sequence(): boundaries[0] must be a positive number, got 0",
    ),
    (
        lambda: L.sequence([cos, cos], [5, 10]),
        ValueError,
        "sequence(): schedules must have 1 more item than boundaries, "
        "got len(schedules)=2, len(boundaries)=2",
    ),
    (
        lambda: L.sequence([cos, 0.1], [5]),
        TypeError,
        "sequence(): schedules[1] must be an lrsched schedule, got 0.1",
    ),
    (lambda: L.warmup(cos, 0), ValueError, "warmup(): steps must be a positive integer, got 0"),
    (
        lambda: L.warmup(0.1, 10),
        TypeError,
        "warmup(): schedule must be an lrsched schedule, got 0.1",
    ),
    (
        lambda: L.warmup(cos, 10, start_factor=2),
        ValueError,
        "warmup(): start_factor must be in [0, 1], got 2",
    ),
    (
        lambda: L.warmup(cos, 10, mode="exponential"),
        ValueError,
        "warmup(): start_factor must be > 0 when mode='exponential', got 0.0",
    ),
    (
        lambda: cos.clip(min_lr=0.5, max_lr=0.1),
        ValueError,
        "clip(): max_lr must be >= min_lr=0.5, got 0.1",
    ),
    (lambda: cos.shift(math.nan), ValueError, "shift(): steps must be a finite number, got nan"),
    (
        lambda: cos.per_epoch(0),
        ValueError,
        "per_epoch(): steps_per_epoch must be a positive number, got 0",
    ),
    (lambda: cos * -1, ValueError, "product(): factors[1] must be a non-negative number, got -1"),
    (
        lambda: L.plateau(0.1, factor=1.0),
        ValueError,
        "plateau(): factor must be in (0, 1), got 1.0",
    ),
    (
        lambda: L.plateau(0.1, mode="minimum"),
        ValueError,
        "plateau(): mode must be one of 'min', 'max', got 'minimum'",
    ),
    (
        lambda: L.plateau(0.1, patience=-1),
        ValueError,
        "plateau(): patience must be an integer >= 0, got -1",
    ),
    (lambda: L.plateau("fast"), TypeError, "plateau(): base must be a real number, got 'fast'"),
    # Bools, strings, NaN/inf, numpy arrays and empty sequences where numbers belong
    (
        lambda: L.step(np.float64(math.nan), 10),
        ValueError,
        "step(): base_lr must be a finite number, got np.float64(nan)",
    ),
    (
        lambda: L.step(0.1, 10, gamma=True),
        TypeError,
        "step(): gamma must be a real number, got True",
    ),
    (
        lambda: L.step(0.1, "10"),
        TypeError,
        "step(): step_size must be a positive integer, got '10'",
    ),
    (
        lambda: L.step(0.1, math.inf),
        ValueError,
        "step(): step_size must be a positive integer, got inf",
    ),
    (
        lambda: L.step(0.1, np.array([10])),
        TypeError,
        "step(): step_size must be a positive integer, got array([10])",
    ),
    (
        lambda: L.multistep(0.1, [1.5]),
        ValueError,
        "multistep(): milestones[0] must be an integer >= 0, got 1.5",
    ),
    (
        lambda: L.multistep(0.1, [True]),
        TypeError,
        "multistep(): milestones[0] must be an integer >= 0, got True",
    ),
    (
        lambda: L.multistep(0.1, [1], gamma=math.inf),
        ValueError,
        "multistep(): gamma must be a finite number, got inf",
    ),
    (
        lambda: L.multistep(0.1, np.array([[1, 2]])),
        TypeError,
        "multistep(): milestones must be a one-dimensional sequence, got array([[1, 2]])",
    ),
    (
        lambda: L.multistep(0.1, {1: 2}),
        TypeError,
        "multistep(): milestones must be a list or tuple, got {1: 2}",
    ),
    (
        lambda: L.piecewise_constant([], [0.1]),
        ValueError,
        "piecewise_constant(): boundaries must be a sequence of at least 1 item(s), got []",
    ),
    (
        lambda: L.piecewise_constant([2, 1], [0.3, 0.2, 0.1]),
        ValueError,
        "piecewise_constant(): boundaries must be strictly increasing, got [2.0, 1.0]",
    ),
    (
        lambda: L.piecewise_constant([1, 2], [0.3, -0.2, 0.1]),
        ValueError,
        "piecewise_constant(): values[1] must be a non-negative number, got -0.2",
    ),
    (
        lambda: L.piecewise_constant([-1, 2], [0.3, 0.2, 0.1]),
        ValueError,
        "piecewise_constant(): boundaries[0] must be a non-negative number, got -1",
    ),
    (
        lambda: L.piecewise_constant([1, math.nan], [0.3, 0.2, 0.1]),
        ValueError,
        "piecewise_constant(): boundaries[1] must be a finite number, got nan",
    ),
    (
        lambda: L.piecewise_linear([], []),
        ValueError,
        "piecewise_linear(): boundaries must be a sequence of at least 1 item(s), got []",
    ),
    (
        lambda: L.piecewise_linear([0, 0], [1.0, 0.5]),
        ValueError,
        "piecewise_linear(): boundaries must be strictly increasing, got [0.0, 0.0]",
    ),
    (
        lambda: L.piecewise_linear("01", [1.0, 0.5]),
        TypeError,
        "piecewise_linear(): boundaries must be a list or tuple, got '01'",
    ),
    (
        lambda: L.exponential(0.1, math.nan),
        ValueError,
        "exponential(): gamma must be a finite number, got nan",
    ),
    (
        lambda: L.exponential(0.1, 0.9, decay_steps="10"),
        TypeError,
        "exponential(): decay_steps must be a real number, got '10'",
    ),
    (
        lambda: L.exponential_ramp(1e-7, 0, 10),
        ValueError,
        "exponential_ramp(): end_lr must be a positive number, got 0",
    ),
    (
        lambda: L.exponential_ramp(1e-7, 10.0, 0),
        ValueError,
        "exponential_ramp(): total_steps must be a positive integer, got 0",
    ),
    (
        lambda: L.linear(-0.1, 1.0, 10),
        ValueError,
        "linear(): start_lr must be a non-negative number, got -0.1",
    ),
    (
        lambda: L.linear(0.0, math.inf, 10),
        ValueError,
        "linear(): end_lr must be a finite number, got inf",
    ),
    (
        lambda: L.linear(0.0, 1.0, 10.5),
        ValueError,
        "linear(): total_steps must be a positive integer, got 10.5",
    ),
    (
        lambda: L.polynomial(0.1, 10, end_lr=-1),
        ValueError,
        "polynomial(): end_lr must be a non-negative number, got -1",
    ),
    (
        lambda: L.polynomial(0.1, 10, cycle="no"),
        TypeError,
        "polynomial(): cycle must be True or False, got 'no'",
    ),
    (
        lambda: L.polynomial(0.1, -10),
        ValueError,
        "polynomial(): total_steps must be a positive integer, got -10",
    ),
    (
        lambda: L.inverse_time(0.1, 10, decay_rate=-0.5),
        ValueError,
        "inverse_time(): decay_rate must be a non-negative number, got -0.5",
    ),
    (
        lambda: L.inverse_time(0.1, 10, 0.5, staircase=None),
        TypeError,
        "inverse_time(): staircase must be True or False, got None",
    ),
    (
        lambda: L.inverse_sqrt(-1.0),
        ValueError,
        "inverse_sqrt(): base_lr must be a non-negative number, got -1.0",
    ),
    (
        lambda: L.lambda_lr(-0.1, abs),
        ValueError,
        "lambda_lr(): base_lr must be a non-negative number, got -0.1",
    ),
    (
        lambda: L.lambda_lr(0.1, L.cosine(0.1, 10)),
        TypeError,
        "lambda_lr(): fn must be a callable or the name of a registered function, "
        "got cosine(base_lr=0.1, total_steps=10)",
    ),
    (lambda: L.cosine(True, 10), TypeError, "cosine(): base_lr must be a real number, got True"),
    (
        lambda: L.cosine(0.1, [10]),
        TypeError,
        "cosine(): total_steps must be a positive integer, got [10]",
    ),
    (
        lambda: L.cosine(0.1, 10, min_lr=None),
        TypeError,
        "cosine(): min_lr must be a real number, got None",
    ),
    (
        lambda: L.warm_restarts(0.1, 10, period_mult=math.inf),
        ValueError,
        "warm_restarts(): period_mult must be a finite number, got inf",
    ),
    (
        lambda: L.warm_restarts(0.1, 10, decay=1.5),
        ValueError,
        "warm_restarts(): decay must be in (0, 1], got 1.5",
    ),
    (
        lambda: L.warm_restarts(0.1, 10, min_lr=-0.1),
        ValueError,
        "warm_restarts(): min_lr must be a non-negative number, got -0.1",
    ),
    (
        lambda: L.wsd(0.1, -1, 10, 10),
        ValueError,
        "wsd(): warmup_steps must be an integer >= 0, got -1",
    ),
    (
        lambda: L.wsd(0.1, 10, 1.5, 10),
        ValueError,
        "wsd(): stable_steps must be an integer >= 0, got 1.5",
    ),
    (
        lambda: L.wsd(0.1, 10, 10, 10, decay_shape=None),
        TypeError,
        "wsd(): decay_shape must be one of 'linear', 'cosine', '1-sqrt', got None",
    ),
    (
        lambda: L.cyclic(-0.1, 1.0),
        ValueError,
        "cyclic(): base_lr must be a non-negative number, got -0.1",
    ),
    (
        lambda: L.cyclic(0.1, 1.0, step_size_down=-1),
        ValueError,
        "cyclic(): step_size_down must be a non-negative number, got -1",
    ),
    (
        lambda: L.cyclic(0.1, 1.0, scale_fn=5),
        TypeError,
        "cyclic(): scale_fn must be a callable or the name of a registered function, got 5",
    ),
    (lambda: L.cyclic(0.1, 1.0, gamma=0), ValueError, "cyclic(): gamma must be in (0, 1], got 0"),
    (
        lambda: L.one_cycle(-1.0, 100),
        ValueError,
        "one_cycle(): max_lr must be a non-negative number, got -1.0",
    ),
    (
        lambda: L.one_cycle(1.0, 100, pct_start=0),
        ValueError,
        "one_cycle(): pct_start must be in (0, 1), got 0",
    ),
    (
        lambda: L.one_cycle(1.0, 100, div_factor=0),
        ValueError,
        "one_cycle(): div_factor must be a positive number, got 0",
    ),
    (
        lambda: L.one_cycle(1.0, 100, final_div_factor=-1),
        ValueError,
        "one_cycle(): final_div_factor must be a positive number, got -1",
    ),
    (
        lambda: L.one_cycle(1.0, 100, three_phase="yes"),
        TypeError,
        "one_cycle(): three_phase must be True or False, got 'yes'",
    ),
    (
        lambda: L.one_cycle(1.0, 100).momentum(-0.1, 0.9),
        ValueError,
        "cycle_momentum(): base_momentum must be in [0, 1], got -0.1",
    ),
    (
        lambda: L.cyclic(0.1, 1.0).momentum(0.8, math.nan),
        ValueError,
        "cycle_momentum(): max_momentum must be a finite number, got nan",
    ),
    (
        lambda: L.sequence(cos, [5]),
        TypeError,
        "sequence(): schedules must be a list or tuple, got cosine(base_lr=0.1, total_steps=10)",
    ),
    (
        lambda: L.sequence([cos, cos], [5.5, 5.5]),
        ValueError,
        "sequence(): boundaries must be strictly increasing, got [5.5, 5.5]",
    ),
    (
        lambda: L.sequence([cos, cos], [math.inf]),
        ValueError,
        "sequence(): boundaries[0] must be a finite number, got inf",
    ),
    (
        lambda: L.warmup(cos, 10, mode="step"),
        ValueError,
        "warmup(): mode must be one of 'linear', 'cosine', 'exponential', 'constant', got 'step'",
    ),
    (
        lambda: L.warmup(cos, 10, mode="constant"),
        ValueError,
        "warmup(): start_factor must be > 0 when mode='constant', got 0.0",
    ),
    (lambda: L.warmup(cos, 2.5), ValueError, "warmup(): steps must be a positive integer, got 2.5"),
    (
        lambda: L.warmup(cos, 10, start_factor=-0.1),
        ValueError,
        "warmup(): start_factor must be in [0, 1], got -0.1",
    ),
    (
        lambda: L.clip(cos, min_lr=-1),
        ValueError,
        "clip(): min_lr must be a non-negative number, got -1",
    ),
    (
        lambda: L.clip(cos, max_lr="big"),
        TypeError,
        "clip(): max_lr must be a real number, got 'big'",
    ),
    (lambda: L.clip(1.0), TypeError, "clip(): schedule must be an lrsched schedule, got 1.0"),
    (lambda: cos.shift("3"), TypeError, "shift(): steps must be a real number, got '3'"),
    (lambda: L.shift(cos, math.inf), ValueError, "shift(): steps must be a finite number, got inf"),
    (
        lambda: cos.per_epoch(-3),
        ValueError,
        "per_epoch(): steps_per_epoch must be a positive number, got -3",
    ),
    (
        lambda: cos.per_epoch(3, staircase="yes"),
        TypeError,
        "per_epoch(): staircase must be True or False, got 'yes'",
    ),
    (
        lambda: L.product([cos]),
        ValueError,
        "product(): factors must be a sequence of at least 2 item(s), "
        "got [cosine(base_lr=0.1, total_steps=10)]",
    ),
    (lambda: cos * math.nan, ValueError, "product(): factors[1] must be a finite number, got nan"),
    (
        lambda: L.product([cos, "2"]),
        TypeError,
        "product(): factors[1] must be a real number, got '2'",
    ),
    (
        lambda: L.plateau(0.1, threshold=-1),
        ValueError,
        "plateau(): threshold must be a non-negative number, got -1",
    ),
    (
        lambda: L.plateau(0.1, threshold_mode="relative"),
        ValueError,
        "plateau(): threshold_mode must be one of 'rel', 'abs', got 'relative'",
    ),
    (
        lambda: L.plateau(0.1, cooldown=0.5),
        ValueError,
        "plateau(): cooldown must be an integer >= 0, got 0.5",
    ),
    (
        lambda: L.plateau(0.1, min_lr=math.inf),
        ValueError,
        "plateau(): min_lr must be a finite number, got inf",
    ),
    (
        lambda: L.plateau(0.1, eps=-1e-8),
        ValueError,
        "plateau(): eps must be a non-negative number, got -1e-08",
    ),
    (
        lambda: L.plateau(-0.1),
        ValueError,
        "plateau(): base must be a non-negative number, got -0.1",
    ),
    (lambda: L.plateau(0.1).update({"lr": 0.1}, 1.0), TypeError, None),
    (lambda: L.plateau(0.1).state_from_dict({"lr": 0.1}), ValueError, None),
    (
        lambda: L.register_function(42),
        TypeError,
        "register_function(): fn must be callable, got 42",
    ),
    (
        lambda: L.register_function(abs, name="not an identifier"),
        ValueError,
        "register_function(): name must be a Python identifier (pass name=... for lambdas), "
        "got 'not an identifier'",
    ),
    (
        lambda: L.lambda_lr(0.1, lambda t: 1.0 - t / 5)([0, 1, 8]),
        ValueError,
        "lambda_lr(): fn must return finite factors >= 0, got -0.6000000000000001 at step 8.0",
    ),
    (
        lambda: L.multiplicative(0.1, lambda k: np.where(k == 3, np.nan, 0.9))(5),
        ValueError,
        "multiplicative(): fn must return finite factors >= 0, got nan at step 3.0",
    ),
    (lambda: L.parse(42), TypeError, "parse(): text must be a str, got int"),
    # Found by tests/test_fuzz_inputs.py: text that is valid syntax but no schedule.
    (
        lambda: L.parse("1"),
        ValueError,
        "parse(): text must describe a schedule, such as cosine(0.1, 1000), got '1'",
    ),
    (
        lambda: L.parse(" [1, 2] "),
        ValueError,
        "parse(): text must describe a schedule, such as cosine(0.1, 1000), got '[1, 2]'",
    ),
    (
        lambda: L.parse("lrsched_testing_one"),
        ValueError,
        "parse(): text must describe a schedule, such as cosine(0.1, 1000), got "
        "'lrsched_testing_one'",
    ),
    (
        lambda: L.parse("cosine(0.1, 10if 1 else 2)"),
        ValueError,
        "parse(): invalid schedule text at column 14: invalid decimal literal in "
        "'cosine(0.1, 10if 1 else 2)'",
    ),
    (
        lambda: L.parse("cosine(0.1, 10, total_steps=10)"),
        TypeError,
        "parse(): at column 1: cosine() got multiple values for argument 'total_steps'",
    ),
    # A config without a required key: an ArgumentTypeError naming it, not Python's own.
    (
        lambda: L.from_config({"type": "warmup", "schedule": {"type": "constant", "lr": 0.1}}),
        TypeError,
        "from_config(): warmup config is missing key(s) ['steps']; valid keys: ['schedule', "
        "'steps', 'start_factor', 'mode']",
    ),
    (
        lambda: L.from_config("cosine"),
        TypeError,
        "from_config(): config must be a dict with a 'type' key, got str",
    ),
]


@table(BAD_CALLS)
def test_bad_call_raises_with_pinned_message(call, error, message):
    assert_refused(call, error, message)


def test_unregistered_function_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"registered function.*'no_such_function_xyz'"):
        L.lambda_lr(0.1, "no_such_function_xyz")


def test_numpy_scalars_are_accepted_and_normalised():
    s = L.cosine(np.float32(0.5), np.int64(100), min_lr=np.float64(0.0))
    assert s == L.cosine(0.5, 100)
    assert type(s.total_steps) is int and type(s.base_lr) is float
    assert L.cosine(0.5, 100.0) == L.cosine(0.5, 100)


def test_zero_dimensional_arrays_are_not_numbers():
    with pytest.raises(TypeError, match=r"cosine\(\): base_lr must be a real number"):
        L.cosine(np.array(0.1), 100)


def test_every_bad_argument_is_an_argument_error():
    for call, error, _ in BAD_CALLS:
        with pytest.raises(L.ArgumentError) as raised:
            call()
        assert isinstance(raised.value, error)


def test_multistep_counts_milestones_in_any_order_as_torch_does():
    torch = pytest.importorskip("torch")
    milestones = [2, 19, 42, 47, 246, 42]
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.5)
    theirs = []
    for _ in range(300):
        theirs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    ours = L.multistep(0.1, milestones, gamma=0.5)
    assert ours == L.multistep(0.1, sorted(milestones), gamma=0.5)
    np.testing.assert_allclose(ours(np.arange(300)), theirs, rtol=1e-15)


def test_a_zero_base_is_zero_everywhere_even_where_the_factor_overflows():
    for schedule in (
        L.exponential(0.0, 10.0),
        L.step(0.0, 1, gamma=10.0),
        L.multistep(0.0, [1, 2], gamma=1e300),
    ):
        assert np.array_equal(schedule(np.array([0.0, 5.0, 1e6])), np.zeros(3))
        assert schedule(10**6) == 0.0

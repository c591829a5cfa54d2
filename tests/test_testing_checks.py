"""check_schedule catches deliberately broken schedules, each with its own message, and
passes sound schedules of every family."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

import lrsched
from lrsched import _registry
from lrsched._base import Schedule, Tail, frozen
from lrsched._registry import families
from lrsched.testing import ScheduleCheckError, check_schedule, edge_steps, largest_step
from lrsched.testing import strategies as lst

# ---------------------------------------------------------------------------------------
# Broken schedules. CamelCase names keep them out of lrsched's family registry.


@frozen
class NegativeAfter(Schedule):
    """Correct until ``start``, then below zero."""

    start: float = 50.0

    def _values(self, t):
        return np.where(t < self.start, 0.1, -0.1 * (t - self.start + 1.0))


@frozen
class NanAfter(Schedule):
    """A decay that divides 0 by 0 past ``start``, as an unguarded formula can."""

    start: float = 1e6

    def _values(self, t):
        with np.errstate(invalid="ignore"):
            scale = np.where(t > self.start, 0.0, 1.0)
            return 0.1 * scale / scale


@frozen
class ScalarDiffers(Schedule):
    """Gives a different value when called with one step than inside an array."""

    def _values(self, t):
        if t.size == 1:
            return np.full(t.shape, 0.1)
        return np.full(t.shape, 0.2)


class CallCounter:
    calls = 0


@frozen
class Drifting(Schedule):
    """Depends on hidden state: every call gives a slightly smaller LR."""

    def _values(self, t):
        CallCounter.calls += 1
        return np.full(t.shape, 0.1 / CallCounter.calls)


@frozen
class FalseTail(Schedule):
    """Claims to be constant from step 10 but keeps decaying."""

    def _values(self, t):
        return 1.0 / (1.0 + t)

    def tail(self):
        return Tail(10.0)


@frozen
class WrongDtype(Schedule):
    """Returns float32 values."""

    def __call__(self, step):
        values = np.asarray(step, dtype=np.float32) * 0 + np.float32(0.1)
        return values if np.ndim(step) else float(values)


@frozen
class AcceptsNegative(Schedule):
    """Evaluates negative steps instead of rejecting them."""

    def __call__(self, step):
        return 0.1 if np.ndim(step) == 0 else np.full(np.shape(step), 0.1)


@frozen
class _Lossy(Schedule):
    """Its config leaves out ``lr``, so the config rebuilds a different schedule."""

    lr: float = 0.1

    def _values(self, t):
        return np.full(t.shape, self.lr)

    def to_config(self):
        return {"type": "_Lossy"}


def rising(t):
    return 0.1 * (1.0 - 1.0 / (1.0 + np.asarray(t, dtype=np.float64)))


def scalar_only(t):
    return 0.1 if t < 100 else 0.01


# Each case: the broken schedule, the claims passed to check_schedule, and the check name
# that must appear in the message.
BROKEN = {
    "negative values": (NegativeAfter(), {}, "non-negative"),
    "NaN past a step": (NanAfter(), {}, "finite"),
    "scalar/vector mismatch": (ScalarDiffers(), {}, "vectorized equals scalar"),
    "non-determinism": (Drifting(), {"round_trip": False}, "deterministic"),
    "false monotone claim": (
        lrsched.cyclic(0.01, 0.1, step_size_up=10),
        {"monotone": "decreasing"},
        "monotone",
    ),
    "false bounds claim": (lrsched.cosine(0.1, 100), {"bounds": (0.0, 0.05)}, "bounds"),
    "false periodic claim": (lrsched.cosine(0.1, 100), {"periodic": 100}, "periodic"),
    "false tail claim": (FalseTail(), {"round_trip": False}, "tail"),
    "wrong dtype": (WrongDtype(), {"round_trip": False}, "shape/dtype"),
    "accepts negative steps": (AcceptsNegative(), {"round_trip": False}, "invalid steps"),
    "config does not round trip": (_Lossy(lr=0.5), {}, "round trip"),
    "unregistered family": (NegativeAfter(start=1e300), {}, "round trip"),
    "plain function, false monotone": (rising, {"monotone": "decreasing"}, "monotone"),
    "plain function, out of bounds": (rising, {"bounds": (0.0, 0.05)}, "bounds"),
    "plain function raising": (lambda t: 0.1 if t != 3 else 1 / 0, {}, "evaluates"),
}


@pytest.fixture(autouse=True)
def _lossy_family(monkeypatch):
    # Registered only for these tests, so from_config can find it and rebuild it wrongly.
    monkeypatch.setitem(_registry._USER_FAMILIES, "_Lossy", _Lossy)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_schedule_is_caught_by_its_check(case):
    schedule, claims, check = BROKEN[case]
    with pytest.raises(ScheduleCheckError) as caught:
        check_schedule(schedule, **claims)
    assert caught.value.check == check
    assert f"[{check}]" in str(caught.value)
    assert isinstance(caught.value, AssertionError)


def test_each_broken_schedule_fails_a_different_check_or_message():
    messages = {}
    for case, (schedule, claims, _) in BROKEN.items():
        with pytest.raises(ScheduleCheckError) as caught:
            check_schedule(schedule, **claims)
        messages[case] = str(caught.value)
    assert len(set(messages.values())) == len(messages)


def test_message_names_the_check_the_step_and_the_value():
    with pytest.raises(ScheduleCheckError) as caught:
        check_schedule(NegativeAfter(start=60.0))
    error = caught.value
    assert error.step >= 60.0 and error.value == pytest.approx(-0.1 * (error.step - 59.0))
    assert f"at step {error.step!r}" in str(error) and f"got {error.value!r}" in str(error)
    assert "NegativeAfter(start=60.0)" in str(error)


def test_nan_is_found_at_the_huge_steps_it_starts_from():
    with pytest.raises(ScheduleCheckError, match=r"\[finite\]") as caught:
        check_schedule(NanAfter(start=2.0**40))
    assert caught.value.step > 2.0**40 and math.isnan(caught.value.value)


def test_monotone_failure_shows_both_steps():
    with pytest.raises(ScheduleCheckError) as caught:
        check_schedule(lrsched.cyclic(0.01, 0.1, step_size_up=10), monotone="decreasing")
    message = str(caught.value)
    assert "claimed decreasing" in message
    assert re.search(r"but it was [0-9.e-]+ at step [0-9.e+-]+", message)


def test_boundary_edges_are_hunted():
    # A bug that shows only in the half step after a milestone is found: the checker
    # visits the milestone's neighbours because multistep names its milestones.
    @frozen
    class OffByHalf(Schedule):
        milestones: tuple = (37,)

        def _values(self, t):
            return np.where((t > 37) & (t < 38), -1.0, 0.1)

    with pytest.raises(ScheduleCheckError, match=r"\[non-negative\]") as caught:
        check_schedule(OffByHalf(), round_trip=False)
    assert 37 < caught.value.step < 38


def test_edge_steps_follow_composition_into_outer_time():
    inner = lrsched.multistep(1.0, milestones=[7])
    schedule = lrsched.sequence([lrsched.constant(1.0), inner.per_epoch(4)], [100])
    steps = edge_steps(schedule)
    # milestone 7 of the inner schedule, in epochs of 4 steps, starting at step 100
    assert 128.0 in steps and math.nextafter(128.0, 0) in steps and 127.5 in steps
    assert steps[0] == 0.0 and steps[-1] == 2.0**53


def test_multiplicative_limits_the_steps_checked():
    schedule = lrsched.warmup(lrsched.multiplicative(0.1, lst.lrsched_testing_factor_0_99), 10)
    assert largest_step(schedule) == 1010.0
    assert edge_steps(schedule).max() == 1010.0
    assert largest_step(schedule.per_epoch(0.5)) == 505.0


# ---------------------------------------------------------------------------------------
# Sound schedules pass, with the claims their documentation makes.

SOUND = [
    (lrsched.constant(0.1), {"bounds": (0.1, 0.1), "monotone": "decreasing"}),
    (lrsched.step(0.1, 30, gamma=0.5), {"bounds": (0.0, 0.1), "monotone": "decreasing"}),
    (lrsched.multistep(0.1, [0, 10, 10, 300]), {"monotone": "decreasing"}),
    (lrsched.piecewise_constant([10, 20.5], [0.3, 0.1, 0.2]), {"bounds": (0.1, 0.3)}),
    (lrsched.piecewise_linear([0, 10, 20], [0.0, 1.0, 0.5]), {"bounds": (0.0, 1.0)}),
    (lrsched.exponential(0.1, 0.5, decay_steps=3.5), {"monotone": "decreasing"}),
    (lrsched.exponential(0.1, 1e-300, staircase=True), {"monotone": "decreasing"}),
    (lrsched.exponential_ramp(1e-7, 10.0, 99), {"monotone": "increasing"}),
    (lrsched.linear(0.0, 1.0, 1), {"monotone": "increasing", "bounds": (0.0, 1.0)}),
    (lrsched.polynomial(1.0, 10, end_lr=0.1, power=2.0, cycle=True), {"bounds": (0.1, 1.0)}),
    (lrsched.inverse_time(1.0, 10, 0.5, staircase=True), {"monotone": "decreasing"}),
    (lrsched.inverse_sqrt(1.0, timescale=100), {"monotone": "decreasing"}),
    (lrsched.lambda_lr(0.1, lst.lrsched_testing_drop_at_100), {"monotone": "decreasing"}),
    (lrsched.multiplicative(0.1, lst.lrsched_testing_factor_0_99), {"monotone": "decreasing"}),
    (lrsched.cosine(0.1, 100, min_lr=0.01), {"bounds": (0.01, 0.1), "monotone": "decreasing"}),
    (lrsched.cosine(0.1, 100, periodic=True), {"periodic": 200}),
    (
        lrsched.cosine(0.1, 100, min_lr=0.01, k_decay=2.0, exponent=0.5),
        {"bounds": (0.01, 0.1), "monotone": "decreasing"},
    ),
    (lrsched.tanh(0.1, 100, min_lr=0.01), {"bounds": (0.01, 0.1), "monotone": "decreasing"}),
    (lrsched.wsd(0.1, 10, 20, 30, warmup_shape="1-sqrt"), {"bounds": (0.0, 0.1)}),
    (lrsched.warm_restarts(0.1, 10), {"periodic": 10}),
    (lrsched.warm_restarts(0.1, 7.5, period_mult=2, decay=0.5), {"bounds": (0.0, 0.1)}),
    (lrsched.wsd(0.1, 10, 20, 30, decay_shape="1-sqrt"), {"bounds": (0.0, 0.1)}),
    (lrsched.cyclic(0.01, 0.1, step_size_up=10, step_size_down=5), {"periodic": 15}),
    (
        lrsched.cyclic(0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.99),
        {"bounds": (0.01, 0.1)},
    ),
    (lrsched.one_cycle(0.1, 1000, three_phase=True), {"bounds": (0.0, 0.1)}),
    (lrsched.one_cycle(0.1, 100).momentum(0.85, 0.95), {"bounds": (0.85, 0.95)}),
    (lrsched.warmup(lrsched.cosine(0.1, 1000), 100, mode="cosine"), {"bounds": (0.0, 0.1)}),
    (lrsched.sequence([lrsched.linear(0, 0.1, 10), lrsched.constant(0.1)], [10.5]), {}),
    ((lrsched.cosine(0.1, 100) * 0.5).shift(-10).clip(0.001), {"bounds": (0.001, 0.05)}),
    (lrsched.warm_restarts(0.1, 3).per_epoch(391, staircase=True), {"periodic": 1173}),
    (lambda t: 0.1 * 0.5 ** np.floor(np.asarray(t) / 10), {"monotone": "decreasing"}),
    (scalar_only, {"monotone": "decreasing", "bounds": (0.01, 0.1)}),
]


@pytest.mark.parametrize(
    "schedule, claims",
    SOUND,
    ids=[getattr(s, "__qualname__", None) or repr(s)[:40] for s, _ in SOUND],
)
def test_sound_schedule_passes(schedule, claims):
    steps = check_schedule(schedule, **claims)
    assert steps.size > 10 and steps[0] == 0.0


def test_every_family_has_a_sound_example_here():
    covered = set()

    def walk(schedule):
        covered.add(type(schedule).__name__)
        if dataclasses.is_dataclass(schedule):
            for field in dataclasses.fields(schedule):
                value = getattr(schedule, field.name)
                for item in value if isinstance(value, tuple) else (value,):
                    if isinstance(item, Schedule):
                        walk(item)

    for schedule, _ in SOUND:
        if isinstance(schedule, Schedule):
            walk(schedule)
    library_families = {
        name
        for name, cls in families().items()
        if cls.__module__.startswith("lrsched.") and issubclass(cls, Schedule)
    }
    assert library_families - covered == set()


def test_scalar_only_function_is_checked_per_step():
    # A function with a Python `if` cannot take arrays; it is checked step by step, and a
    # claim it breaks is still caught.
    with pytest.raises(ScheduleCheckError, match=r"\[monotone\]"):
        check_schedule(scalar_only, monotone="increasing")
    with pytest.raises(ScheduleCheckError, match=r"\[evaluates\]"):
        check_schedule(scalar_only, vectorized=True)


def test_plain_callable_skips_round_trip_unless_asked():
    check_schedule(rising, bounds=(0.0, 0.1))
    with pytest.raises(ScheduleCheckError, match=r"\[round trip\]"):
        check_schedule(rising, round_trip=True)


def test_unregistered_user_function_has_no_round_trip_unless_asked():
    schedule = lrsched.lambda_lr(0.1, lambda t: 1.0 / (1.0 + t))
    check_schedule(schedule, monotone="decreasing")  # the round trip is not applicable
    with pytest.raises(ScheduleCheckError, match=r"\[round trip\].*not registered"):
        check_schedule(schedule, round_trip=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"monotone": "down"}, "monotone must be None, 'increasing' or 'decreasing', got 'down'"),
        (
            {"bounds": (1.0, 0.0)},
            r"bounds must be \(low, high\) with low <= high, got \(1.0, 0.0\)",
        ),
        ({"periodic": 0}, r"periodic must be a positive period or Tail\(start, period\), got 0"),
        ({"rtol": -1.0}, "rtol must be a number >= 0, got -1.0"),
        ({"max_step": math.inf}, "max_step must be a finite number >= 0, got inf"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=r"check_schedule\(\): " + match):
        check_schedule(lrsched.constant(0.1), **kwargs)


def test_not_callable_is_a_type_error():
    with pytest.raises(
        TypeError,
        match=r"check_schedule\(\): schedule must be a Schedule "
        r"or a callable of the step, got 0.1",
    ):
        check_schedule(0.1)


def test_periodic_claim_survives_steep_slopes_at_huge_steps():
    # Found by the fuzz profile: one period on from step 6.7e8 the value sat between the
    # neighbours of s(t), which an exact-match-only check called a broken period.
    import lrsched
    from lrsched.testing import check_schedule

    check_schedule(lrsched.cyclic(0.0, 1.0, step_size_up=885.5059740214492, step_size_down=32))


def test_periodic_claim_accounts_for_the_resolution_of_a_shifted_step():
    # Found by the fuzz profile: shift(1) evaluates its child at t + 1, whose float spacing
    # (2.2e-16) is far coarser than that of t = 0.02, so a restart can sit within one ulp.
    import lrsched
    from lrsched.testing import check_schedule

    check_schedule(lrsched.warm_restarts(base_lr=1.0, period=0.01).shift(1))

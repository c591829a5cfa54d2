"""lrsched.testing.strategies: valid parameters, every family reachable, edges hit, bounds
kept, bad arguments named, and the package importable without hypothesis."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import lrsched
from lrsched._base import Schedule
from lrsched._registry import families
from lrsched.testing import strategies as lst

LIBRARY_FAMILIES = {
    name: cls for name, cls in families().items() if cls.__module__.startswith("lrsched.")
}
FIND = settings(max_examples=2000, database=None, suppress_health_check=list(HealthCheck))
# Reaching an edge case needs one example, not the smallest one: no shrinking.
REACH = settings(FIND, phases=[Phase.generate])


def family_names(schedule) -> set[str]:
    """Every family a schedule is built from, itself included."""
    names = {type(schedule).__name__}
    if dataclasses.is_dataclass(schedule):
        for field in dataclasses.fields(schedule):
            value = getattr(schedule, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, Schedule):
                    names |= family_names(item)
    return names


def test_every_family_in_the_registry_has_a_strategy():
    # A new family registered in lrsched without a strategy fails here.
    assert sorted(set(LIBRARY_FAMILIES) - set(lst.FAMILY_STRATEGIES)) == []
    assert sorted(set(lst.FAMILY_STRATEGIES) - set(LIBRARY_FAMILIES)) == []


def test_strategy_names_follow_one_scheme():
    for family, factory in lst.FAMILY_STRATEGIES.items():
        expected = "plateaus" if family == "plateau" else f"{family}_schedules"
        assert factory.__name__ == expected
        assert expected in lst.__all__
        assert "shrinks towards" in " ".join(factory.__doc__.lower().split())


@pytest.mark.parametrize("family", sorted(lst.FAMILY_STRATEGIES))
@settings(max_examples=15)
@given(data=st.data())
def test_family_strategy_generates_that_family(family, data):
    value = data.draw(lst.FAMILY_STRATEGIES[family]())
    assert type(value) is LIBRARY_FAMILIES[family]
    assert lrsched.from_config(value.to_config()) == value


@pytest.mark.parametrize("family", sorted(lst.LEAF_STRATEGIES))
@settings(max_examples=15)
@given(
    data=st.data(),
    bounds=st.tuples(
        st.floats(0.0, 2.0, allow_subnormal=False), st.floats(0.0, 2.0, allow_subnormal=False)
    ).map(sorted),
)
def test_learning_rate_parameters_stay_within_the_bounds(family, data, bounds):
    low, high = bounds
    if family == "exponential_ramp" and high == 0.0:
        return
    schedule = data.draw(lst.LEAF_STRATEGIES[family](min_lr=low, max_lr=high))
    for field in dataclasses.fields(schedule):
        if field.name.endswith("_lr") or field.name in ("lr", "values"):
            value = getattr(schedule, field.name)
            for lr in value if isinstance(value, tuple) else (value,):
                assert low <= lr <= high, (field.name, lr)
    steps = data.draw(lst.steps(max_value=lrsched.testing.largest_step(schedule)))
    assert (schedule(steps) <= high).all()


@settings(max_examples=30)
@given(lst.schedules(min_lr=0.001, max_lr=0.01), st.data())
def test_schedules_never_exceed_max_lr(schedule, data):
    steps = data.draw(lst.steps(max_value=lrsched.testing.largest_step(schedule)))
    values = schedule(steps)
    assert ((values >= 0.0) & (values <= 0.01)).all()


def test_schedules_reach_every_family_and_composite():
    seen: set[str] = set()

    @settings(
        max_examples=300, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(lst.schedules())
    def collect(schedule):
        seen.update(family_names(schedule))

    collect()
    schedule_families = {
        name for name, cls in LIBRARY_FAMILIES.items() if issubclass(cls, Schedule)
    }
    assert sorted(schedule_families - seen) == []


def test_max_depth_zero_gives_leaves_only():
    @settings(max_examples=50, database=None)
    @given(lst.schedules(max_depth=0))
    def leaf(schedule):
        assert type(schedule).__name__ in set(lst.LEAF_STRATEGIES) | {"cycle_momentum"}

    leaf()


@pytest.mark.parametrize(
    "description, strategy, condition",
    [
        ("total_steps=1", lst.cosine_schedules(), lambda s: s.total_steps == 1 and s.base_lr > 0),
        ("min_lr == base_lr > 0", lst.cosine_schedules(), lambda s: s.min_lr == s.base_lr > 0),
        (
            "cosine rising (min_lr > base_lr)",
            lst.cosine_schedules(),
            lambda s: s.min_lr > s.base_lr,
        ),
        ("tiny gamma", lst.step_schedules(), lambda s: s.gamma <= 1e-9),
        (
            "repeated milestone",
            lst.multistep_schedules(),
            lambda s: len(set(s.milestones)) < len(s.milestones),
        ),
        ("milestone at 0", lst.multistep_schedules(), lambda s: s.milestones[0] == 0),
        (
            "fractional boundary",
            lst.piecewise_constant_schedules(),
            lambda s: any(b != int(b) for b in s.boundaries),
        ),
        (
            "fractional SGDR period with growth",
            lst.warm_restarts_schedules(),
            lambda s: s.period != int(s.period) and s.period_mult > 1,
        ),
        (
            "one_cycle rising for under one step",
            lst.one_cycle_schedules(),
            lambda s: s.pct_start * s.total_steps < 1,
        ),
        ("cyclic with a user scale_fn", lst.cyclic_schedules(), lambda s: s.scale_fn is not None),
        (
            "scalar-only lambda",
            lst.lambda_lr_schedules(),
            lambda s: s.fn is lst.lrsched_testing_drop_at_100,
        ),
        ("exponential warmup", lst.warmup_schedules(), lambda s: s.mode == "exponential"),
        ("clip to a single value", lst.clip_schedules(), lambda s: s.min_lr == s.max_lr),
        ("delay by a negative shift", lst.shift_schedules(), lambda s: s.steps < 0),
        ("plateau on a schedule", lst.plateaus(), lambda p: isinstance(p.base, Schedule)),
    ],
)
def test_strategies_reach_edge_cases(description, strategy, condition):
    find(strategy, condition, settings=REACH)


@pytest.mark.parametrize(
    "description, condition",
    [
        ("empty", lambda steps: steps.size == 0),
        ("zero", lambda steps: (steps == 0).any()),
        ("fractional", lambda steps: (steps != np.floor(steps)).any()),
        ("2**53", lambda steps: (steps == 2.0**53).any()),
        ("huge but not an edge", lambda steps: ((steps > 1e10) & (steps < 2.0**53)).any()),
    ],
)
def test_steps_reach_edge_cases(description, condition):
    find(lst.steps(), condition, settings=REACH)


@given(lst.steps(min_value=3.0, max_value=70.5, min_size=2, max_size=6))
def test_steps_respect_their_bounds(steps):
    assert steps.dtype == np.float64 and steps.ndim == 1 and 2 <= steps.size <= 6
    assert ((steps >= 3.0) & (steps <= 70.5)).all()


@given(lst.steps(max_value=1e6, whole=True))
def test_whole_steps_are_integers(steps):
    assert (steps == np.floor(steps)).all()


def test_steps_shrink_to_zeros():
    assert find(lst.steps(), lambda steps: steps.size >= 2, settings=FIND).tolist() == [0.0, 0.0]


@pytest.mark.slow  # hypothesis shrinks through hundreds of composites
def test_schedules_shrink_to_the_simplest_constant():
    assert find(lst.schedules(min_lr=0.25), lambda s: True, settings=FIND) == lrsched.constant(0.25)


@pytest.mark.slow  # five shrinks to a minimal example
def test_composites_shrink_towards_their_documented_simplest_form():
    inner = lst.constant_schedules()
    warm = find(lst.warmup_schedules(inner), lambda s: True, settings=FIND)
    assert warm == lrsched.warmup(lrsched.constant(0.0), 1)
    sequence = find(lst.sequence_schedules(inner), lambda s: True, settings=FIND)
    assert sequence == lrsched.sequence([lrsched.constant(0.0)] * 2, [1])
    shifted = find(lst.shift_schedules(inner), lambda s: True, settings=FIND)
    assert shifted == lrsched.constant(0.0).shift(0)
    product = find(lst.product_schedules(inner), lambda s: True, settings=FIND)
    assert product == lrsched.constant(0.0) * 0.0
    clipped = find(lst.clip_schedules(inner, min_lr=0.5), lambda s: True, settings=FIND)
    assert clipped == lrsched.constant(0.0).clip(0.5)


@given(st.from_type(Schedule))
@settings(max_examples=20)
def test_from_type_schedule_draws_valid_schedules(schedule):
    assert isinstance(schedule, Schedule)
    assert np.isfinite(schedule(np.arange(5.0))).all()


@pytest.mark.parametrize("family", ["cosine", "warmup", "cycle_momentum", "plateau"])
def test_from_type_family_draws_that_family(family):
    cls = LIBRARY_FAMILIES[family]
    assert type(find(st.from_type(cls), lambda value: True, settings=FIND)) is cls


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: lst.cosine_schedules(min_lr=-1.0), "min_lr=-1.0 must be a finite number >= 0"),
        (lambda: lst.cosine_schedules(max_lr=math.inf), "max_lr=inf must be a finite number >= 0"),
        (lambda: lst.linear_schedules(min_lr=0.5, max_lr=0.1), "min_lr=0.5 must be <= max_lr=0.1"),
        (
            lambda: lst.cosine_schedules(max_total_steps=0),
            "max_total_steps=0 must be an integer >= 1",
        ),
        (
            lambda: lst.one_cycle_schedules(max_total_steps=1),
            "max_total_steps=1 must be an integer >= 2",
        ),
        (lambda: lst.multistep_schedules(max_milestones=0), "max_milestones=0 must be an integer"),
        (lambda: lst.exponential_ramp_schedules(max_lr=0.0), "max_lr=0.0 must be > 0"),
        (
            lambda: lst.warmup_schedules(lrsched.constant(0.1)),
            "inner=constant(lr=0.1) must be a hypothesis strategy",
        ),
        (lambda: lst.sequence_schedules(max_length=1), "max_length=1 must be an integer >= 2"),
        (lambda: lst.schedules(max_depth=-1), "max_depth=-1 must be an integer >= 0"),
        (lambda: lst.schedules(families=["cosine", "nope"]), "families=['cosine', 'nope']"),
        (lambda: lst.steps(min_value=5.0, max_value=1.0), "min_value=5.0 must be <= max_value=1.0"),
        (lambda: lst.steps(max_value=math.nan), "max_value=nan must be a finite number >= 0"),
        (lambda: lst.steps(min_size=3, max_size=2), "max_size=2 must be an integer >= 3"),
        (lambda: lst.cycle_momentum_schedules(max_momentum=2.0), "max_momentum=2.0"),
    ],
)
def test_bad_arguments_raise_invalid_argument_naming_them(call, message):
    with pytest.raises(InvalidArgument, match=rf"\(\): .*{_escape(message)}"):
        call()


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_lrsched_does_not_import_hypothesis():
    result = _run("""
        import sys, lrsched
        assert "hypothesis" not in sys.modules, "hypothesis imported"
        assert "lrsched.testing" not in sys.modules
    """)
    assert result.returncode == 0, result.stderr


def test_without_hypothesis_strategies_name_the_extra_and_checks_still_work():
    result = _run("""
        import sys
        sys.modules["hypothesis"] = None  # as if hypothesis were not installed
        import lrsched
        from lrsched.testing import check_schedule
        check_schedule(lrsched.cosine(0.1, 10), monotone="decreasing")
        for attempt in ("from lrsched.testing import strategies",
                        "import lrsched.testing.strategies"):
            try:
                exec(attempt)
            except ImportError as error:
                assert 'pip install "lrsched-numpy[testing]"' in str(error), str(error)
            else:
                raise SystemExit(attempt + " worked without hypothesis")
        print("ok")
    """)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_registered_functions_round_trip_by_name():
    for function in (*lst.LAMBDA_FUNCTIONS, *lst.FACTOR_FUNCTIONS):
        assert function.__name__.startswith("lrsched_testing_")
        schedule = lrsched.lambda_lr(0.1, function)
        assert lrsched.parse(repr(schedule)) == schedule
        assert lrsched.from_config(schedule.to_config()).fn is function


def test_hypothesis_entry_point_registers_without_importing_lrsched_testing():
    import importlib.metadata

    hooks = [
        entry
        for entry in importlib.metadata.entry_points(group="hypothesis")
        if entry.value.startswith("lrsched.")
    ]
    if not hooks:
        pytest.skip(
            "the installed lrsched predates its hypothesis entry point; "
            "reinstall it (pip install -e .)"
        )
    result = _run("""
        import sys, warnings
        from hypothesis import strategies as st
        import lrsched
        warnings.simplefilter("ignore")  # .example() warns that it is for interactive use
        value = st.from_type(lrsched.cosine).example()
        assert isinstance(value, lrsched.cosine), value
        print("ok")
    """)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr

"""lrsched.plot on the Agg backend: the drawn lines, their data and the legend (not pixels)."""

import itertools
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import lrsched
from lrsched import _evaluate, _plot, breakpoints
from lrsched._plot import is_piecewise_constant, short_label
from lrsched.testing import strategies as lst


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_one_line_per_schedule_with_its_values_and_repr_labels():
    cosine = lrsched.cosine(base_lr=0.1, total_steps=100)
    step = lrsched.step(base_lr=0.1, step_size=30, gamma=0.5)
    ax = lrsched.plot(cosine, step, steps=120)
    first, second = ax.get_lines()
    np.testing.assert_array_equal(first.get_xdata(), np.arange(120))
    # Analytically known points: half way down the cosine, and two halvings of the step.
    assert first.get_ydata()[50] == pytest.approx(0.05)
    assert first.get_ydata()[100] == 0.0
    assert second.get_ydata()[59] == 0.05 and second.get_ydata()[60] == 0.025
    assert legend_texts(ax) == [repr(cosine), repr(step)]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"


def test_steps_may_be_an_array_of_steps():
    schedule = lrsched.linear(0.0, 1.0, total_steps=10)
    ax = lrsched.plot(schedule, steps=np.array([0.0, 2.5, 10.0]))
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.0, 0.25, 1.0])


@pytest.mark.parametrize(
    "schedule, stepped",
    [
        (lrsched.step(0.1, 10), True),
        (lrsched.multistep(0.1, [5, 8]), True),
        (lrsched.piecewise_constant([5], [0.1, 0.01]), True),
        (lrsched.constant(0.1), True),
        (lrsched.exponential(0.1, 0.5, decay_steps=5, staircase=True), True),
        (lrsched.exponential(0.1, 0.5, decay_steps=5), False),
        (lrsched.cosine(0.1, 10).per_epoch(5, staircase=True), True),
        (lrsched.cosine(0.1, 10).per_epoch(5), False),
        (lrsched.sequence([lrsched.constant(0.1), lrsched.step(0.1, 3)], [4]), True),
        (lrsched.sequence([lrsched.constant(0.1), lrsched.cosine(0.1, 3)], [4]), False),
        (lrsched.step(0.1, 10) * 0.5, True),
        (lrsched.warmup(lrsched.step(0.1, 10), steps=3), False),
        (lrsched.cosine(0.1, 10), False),
    ],
)
def test_piecewise_constant_families_are_drawn_as_steps(schedule, stepped):
    assert is_piecewise_constant(schedule) is stepped
    line = lrsched.plot(schedule, steps=20).get_lines()[0]
    assert line.get_drawstyle() == ("steps-post" if stepped else "default")


def test_labels_replace_the_reprs_and_must_match_the_schedules():
    schedules = [lrsched.cosine(0.1, 10), lrsched.linear(0.0, 0.1, 10)]
    ax = lrsched.plot(*schedules, steps=10, labels=["cos", "ramp"])
    assert legend_texts(ax) == ["cos", "ramp"]
    assert [line.get_label() for line in ax.get_lines()] == ["cos", "ramp"]
    with pytest.raises(ValueError, match=r"plot\(\): labels must be 2 string"):
        lrsched.plot(*schedules, steps=10, labels=["only one"])


def test_long_reprs_are_shortened_in_the_legend():
    schedule = lrsched.warmup(
        lrsched.warm_restarts(base_lr=0.1, period=100, period_mult=2, min_lr=0.001), steps=10
    )
    label = legend_texts(lrsched.plot(schedule, steps=10))[0]
    assert len(label) <= 60 and label.endswith("…")
    assert label.startswith("warmup(warm_restarts(base_lr=0.1")  # "schedule=" dropped
    assert short_label(lrsched.constant(0.1)) == "constant(lr=0.1)"


def test_draws_on_the_given_axes_and_returns_it_without_touching_global_style():
    _, given = plt.subplots()
    style_before = dict(matplotlib.rcParams)
    figures_before = plt.get_fignums()  # other tests in this process may have left some open
    returned = lrsched.plot(lrsched.cosine(0.1, 10), steps=10, ax=given, log_y=True)
    assert returned is given
    assert given.get_yscale() == "log"
    assert dict(matplotlib.rcParams) == style_before
    assert plt.get_fignums() == figures_before  # no extra figure was opened


def test_does_not_call_show(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("plot() called show()")

    monkeypatch.setattr(plt, "show", forbidden)
    lrsched.plot(lrsched.cosine(0.1, 10), steps=10)


def test_default_steps_show_where_schedules_settle():
    ax = lrsched.plot(lrsched.cosine(0.1, total_steps=100))
    assert ax.get_lines()[0].get_xdata()[-1] == 109  # 10% past the end: the flat tail shows
    periodic = lrsched.plot(lrsched.warm_restarts(0.1, period=50)).get_lines()[0]
    assert len(periodic.get_xdata()) == 100  # two periods
    with pytest.raises(ValueError, match=r"plot\(\): steps is required for inverse_sqrt"):
        lrsched.plot(lrsched.inverse_sqrt(0.1))


def test_plateau_replays_against_its_metrics_on_a_twin_axis():
    metrics = [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    reduce = lrsched.plateau(base=1.0, patience=1, factor=0.5)
    ax = lrsched.plot(reduce, metrics=metrics)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(7))
    # Two bad metrics after the best (2.0 at metric 2) exceed patience=1: halve at metric 4,
    # and again after two more.
    np.testing.assert_array_equal(line.get_ydata(), [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25])
    assert line.get_drawstyle() == "steps-post"
    twins = [other for other in ax.figure.axes if other is not ax]
    assert len(twins) == 1 and twins[0].get_ylabel() == "metric"
    (metric_line,) = twins[0].get_lines()
    np.testing.assert_array_equal(metric_line.get_xdata(), np.arange(1, 7))
    np.testing.assert_array_equal(metric_line.get_ydata(), metrics)
    assert legend_texts(ax) == [repr(reduce), "metric"]


def test_plateau_needs_metrics():
    with pytest.raises(ValueError, match=r"plot\(\): a plateau schedule needs metrics"):
        lrsched.plot(lrsched.plateau(base=0.1))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: lrsched.plot(), ValueError, r"plot\(\): give at least one schedule"),
        (lambda: lrsched.plot(0.1, steps=5), TypeError, r"schedules\[0\] must be an lrsched"),
        (lambda: lrsched.plot(lrsched.constant(1.0), steps=0), ValueError, "got 0"),
        (lambda: lrsched.plot(lrsched.constant(1.0), steps=[]), TypeError, "non-empty 1-d"),
        (lambda: lrsched.plot(lrsched.constant(1.0), steps=True), TypeError, "got True"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_missing_matplotlib_names_the_extra():
    # A fresh interpreter in which matplotlib cannot be imported.
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import lrsched\n"
        "try:\n"
        "    lrsched.plot(lrsched.constant(0.1), steps=3)\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert 'pip install "lrsched-numpy[plot]"' in result.stdout


def test_import_lrsched_does_not_import_matplotlib():
    code = "import sys, lrsched; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------
# Long schedules: drawn from their structure, in memory and time that do not grow with the
# length, and exactly (every drawn value is the schedule's own, every breakpoint is drawn).


@pytest.fixture
def evaluated(monkeypatch):
    """The number of steps the schedules' formulas are evaluated at, from here on."""
    count = [0]
    formula = _evaluate.formula

    def counting(schedule, t):
        count[0] += t.size
        return formula(schedule, t)

    monkeypatch.setattr(_evaluate, "formula", counting)
    return count


def drawn(schedule, steps):
    line = lrsched.plot(schedule, steps=steps).get_lines()[0]
    plt.close("all")
    return np.asarray(line.get_xdata()), np.asarray(line.get_ydata())


def value_held_at(x, y, steps):
    """What a steps-post line through (x, y) shows at each step."""
    return y[np.searchsorted(x, steps, side="right") - 1]


LONG = [
    (lrsched.cosine(0.1, 10**8), 10**8),
    (lrsched.warm_restarts(0.1, period=10), 10**9),
    (lrsched.step(0.1, 1), 10**8),
]


@pytest.mark.parametrize("schedule, steps", LONG, ids=["cosine", "warm_restarts", "step"])
def test_long_schedules_plot_in_bounded_memory_from_a_bounded_number_of_steps(
    schedule, steps, evaluated
):
    import tracemalloc

    tracemalloc.start()
    try:
        x, y = drawn(schedule, steps)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 300 * 2**20  # every step drawn: 7.7 GB for the cosine
    assert len(x) <= 20_000 and evaluated[0] <= 500_000
    assert x[0] == 0 and x[-1] == steps - 1 and (np.diff(x) > 0).all()
    np.testing.assert_array_equal(y, schedule(x))  # each drawn value is the exact one


@pytest.mark.parametrize(
    "schedule",
    [
        lrsched.cosine(0.1, 10**6),
        lrsched.warm_restarts(0.1, period=10),
        lrsched.step(0.1, 1),
        lrsched.warmup(lrsched.multistep(0.1, [10**5, 5 * 10**5]), 1000),
        lrsched.wsd(0.1, warmup_steps=100, stable_steps=10**5, decay_steps=10**5),
        lrsched.cyclic(0.1, 1.0, step_size_up=7, mode="triangular2"),
    ],
    ids=repr,
)
def test_the_steps_evaluated_do_not_grow_with_the_length(schedule, evaluated):
    counts = []
    for steps in (10**6, 10**9):
        evaluated[0] = 0
        drawn(schedule, steps)
        counts.append(evaluated[0])
    # The same work whatever the length, give or take the steps around the few breakpoints
    # that only the longer window holds (the cosine's end, the wsd's decay).
    assert max(counts) <= counts[0] + 32 and max(counts) <= 500_000


def test_a_short_picture_is_every_step_as_before():
    for schedule in (
        lrsched.cosine(0.1, 10**4),
        lrsched.step(0.1, 7),
        lrsched.warmup(lrsched.warm_restarts(0.1, period=300), 500),
        lrsched.lambda_lr(0.1, lambda t: 1.0 / (1.0 + t)),
    ):
        for steps in (10**4, _plot.EVERY_STEP_UP_TO):
            x, y = drawn(schedule, steps)
            np.testing.assert_array_equal(x, np.arange(steps))
            np.testing.assert_array_equal(y, schedule(np.arange(steps)))


@pytest.mark.parametrize(
    "schedule, steps, where",
    [
        (
            lrsched.multistep(0.1, [1000, 250_000, 3_000_000], gamma=0.5),
            10**7,
            [1000, 250_000, 3_000_000],
        ),
        (
            lrsched.warm_restarts(0.1, period=100_000, period_mult=2),
            10**8,
            [100_000 * (2**i - 1) for i in range(1, 10)],
        ),
        (lrsched.warmup(lrsched.cosine(0.1, 10**7), 5000), 10**8, [5000, 10**7 + 5000]),
        (
            lrsched.sequence(
                [lrsched.constant(0.1), lrsched.linear(0.1, 0.0, 10**6), lrsched.constant(0.01)],
                [123_457, 1_123_457],
            ),
            2 * 10**6,
            [123_457, 1_123_457],
        ),
        (lrsched.one_cycle(0.1, 10**7), 10**7, [2_999_999, 9_999_999]),
        (
            lrsched.wsd(0.1, warmup_steps=777, stable_steps=10**6, decay_steps=10**6),
            3 * 10**6,
            [777, 1_000_777, 2_000_777],
        ),
    ],
    ids=["multistep", "warm_restarts", "warmup", "sequence", "one_cycle", "wsd"],
)
def test_every_breakpoint_is_drawn_with_its_exact_value(schedule, steps, where):
    x, y = drawn(schedule, steps)
    assert len(x) <= 20_000
    for step in where:
        # the last step before the change and the first one after it
        for k in (step - 1, step):
            assert k in x, k
            assert y[x == k][0] == schedule(k)


@pytest.mark.parametrize(
    "schedule",
    [
        lrsched.multistep(0.1, [1000, 250_000, 3_000_000], gamma=0.5),
        lrsched.piecewise_constant([100_000, 200_001], [0.1, 0.05, 0.01]),
        lrsched.piecewise_constant([300, 5000], [0.1, 0.05, 0.01]).per_epoch(0.1),
        lrsched.step(0.1, 333_333, gamma=0.5).shift(-12_345),
        lrsched.cosine(0.1, 100).per_epoch(12_345.5, staircase=True),
        lrsched.sequence([lrsched.constant(0.1), lrsched.step(0.1, 77_777)], [1_000_001.5]),
    ],
    ids=repr,
)
def test_flat_pieces_keep_their_jumps_on_their_exact_steps(schedule):
    steps = 2 * 10**6
    x, y = drawn(schedule, steps)
    assert len(x) <= 20_000
    # Drawn as steps, the line shows the schedule's own value at every step.
    every = np.arange(steps)
    np.testing.assert_array_equal(value_held_at(x, y, every), schedule(every))


@pytest.mark.parametrize(
    "schedule",
    [
        lrsched.warm_restarts(0.1, period=10, decay=0.999),
        lrsched.step(0.1, 1, gamma=0.9999),
        lrsched.cyclic(0.1, 1.0, step_size_up=7, mode="triangular2"),
        lrsched.cosine(0.1, 7, periodic=True),
        lrsched.sequence(
            [lrsched.step(1.0, 1, gamma=0.99999), lrsched.cosine(1.0, 1000)], [200_000]
        ),
        lrsched.warm_restarts(1.0, period=3).per_epoch(2.5, staircase=True),
        lrsched.lambda_lr(1.0, lambda t: 1.0 / (1.0 + (t % 13))),  # no structure: every step
    ],
    ids=repr,
)
def test_dense_structure_is_drawn_by_each_columns_exact_extremes(schedule):
    steps = 300_000
    x, y = drawn(schedule, steps)
    assert len(x) <= 4 * _plot.COLUMNS
    np.testing.assert_array_equal(y, schedule(x))
    every = schedule(np.arange(steps))
    edges = np.unique(np.linspace(0, steps, _plot.COLUMNS + 1).round().astype(int))
    for start, stop in itertools.pairwise(edges):
        shown = y[(x >= start) & (x < stop)]
        assert shown.min() == every[start:stop].min() and shown.max() == every[start:stop].max()


def test_a_long_sorted_array_of_steps_is_drawn_from_its_own_steps():
    schedule = lrsched.multistep(0.1, [1000, 250_000], gamma=0.5)
    steps = np.arange(0.0, 10**6, 0.5)
    x, y = drawn(schedule, steps)
    assert len(x) <= 20_000 and np.isin(x, steps).all()
    np.testing.assert_array_equal(y, schedule(x))
    for step in (1000.0, 250_000.0):
        assert step in x and step - 0.5 in x
    shuffled = steps[::-1].copy()  # unsorted: drawn as given
    assert len(drawn(schedule, shuffled)[0]) == steps.size


def not_a_product(schedule):
    return not isinstance(schedule, lrsched.product) and all(
        not_a_product(child) for child in schedule.children()
    )


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(schedule=lst.schedules())
def test_the_drawn_line_is_exact_between_its_points(schedule):
    steps = _plot.EVERY_STEP_UP_TO + 3000
    found = breakpoints(schedule, 0, steps, limit=_plot.BREAKPOINT_LIMIT)
    if found is None or found.capped or isinstance(schedule, lrsched.multiplicative):
        return  # drawn by columns (tested above)
    x, y = drawn(schedule, steps)
    every = np.arange(steps)
    values = schedule(every)
    np.testing.assert_array_equal(y, values[x])
    if schedule._flat_pieces():
        np.testing.assert_array_equal(value_held_at(x, y, every), values)
    elif not_a_product(schedule):
        # Between two drawn points the schedule is monotone: every step's value lies
        # between theirs, so the line misses nothing.
        right = np.minimum(np.searchsorted(x, every, side="left"), x.size - 1)
        left = np.maximum(right - 1, 0)
        low, high = np.minimum(y[left], y[right]), np.maximum(y[left], y[right])
        slack = 1e-12 * max(values.max(), 1e-300)
        assert ((values >= low - slack) & (values <= high + slack)).all()

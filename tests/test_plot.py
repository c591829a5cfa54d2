"""lrsched.plot on the Agg backend: the drawn lines, their data and the legend (not pixels)."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lrsched  # noqa: E402
from lrsched._plot import is_piecewise_constant, short_label  # noqa: E402


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


@pytest.mark.parametrize("schedule, stepped", [
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
])
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
    schedule = lrsched.warmup(lrsched.warm_restarts(base_lr=0.1, period=100, period_mult=2,
                                                    min_lr=0.001), steps=10)
    label = legend_texts(lrsched.plot(schedule, steps=10))[0]
    assert len(label) <= 60 and label.endswith("…")
    assert label.startswith("warmup(warm_restarts(base_lr=0.1")  # "schedule=" dropped
    assert short_label(lrsched.constant(0.1)) == "constant(lr=0.1)"


def test_draws_on_the_given_axes_and_returns_it_without_touching_global_style():
    figure, given = plt.subplots()
    style_before = dict(matplotlib.rcParams)
    returned = lrsched.plot(lrsched.cosine(0.1, 10), steps=10, ax=given, log_y=True)
    assert returned is given
    assert given.get_yscale() == "log"
    assert dict(matplotlib.rcParams) == style_before
    assert plt.get_fignums() == [figure.number]  # no extra figure was opened


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


@pytest.mark.parametrize("call, error, message", [
    (lambda: lrsched.plot(), ValueError, r"plot\(\): give at least one schedule"),
    (lambda: lrsched.plot(0.1, steps=5), TypeError, r"schedules\[0\] must be an lrsched"),
    (lambda: lrsched.plot(lrsched.constant(1.0), steps=0), ValueError, "got 0"),
    (lambda: lrsched.plot(lrsched.constant(1.0), steps=[]), TypeError, "non-empty 1-d"),
    (lambda: lrsched.plot(lrsched.constant(1.0), steps=True), TypeError, "got True"),
])
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
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert 'pip install "lrsched-numpy[plot]"' in result.stdout


def test_import_lrsched_does_not_import_matplotlib():
    code = "import sys, lrsched; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"

"""Families without a torch/keras twin, against independent step-by-step references.

The references are written from the anchors' published formulas (transformers, fastai,
MiniCPM, optax), one step at a time in plain Python, so a vectorisation slip in the core
cannot hide in them.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrsched as L

STEPS = np.arange(0, 400)


def reference(fn, steps=STEPS):
    return np.array([fn(int(t)) for t in steps])


@given(base=st.floats(1e-4, 1.0), warmup=st.integers(1, 50), timescale=st.integers(1, 500))
def test_inverse_sqrt_matches_transformers_formula(base, warmup, timescale):
    def transformers(t):
        if t < warmup:
            return base * t / max(1, warmup)
        return base / math.sqrt((t + timescale - warmup) / timescale)

    ours = L.sequence(
        [L.linear(0.0, base, warmup), L.inverse_sqrt(base, timescale=timescale)], [warmup]
    )
    np.testing.assert_allclose(ours(STEPS), reference(transformers), rtol=1e-12, atol=0)


@given(base=st.floats(1e-4, 1.0), warmup=st.integers(1, 50), total=st.integers(60, 400))
def test_cosine_with_warmup_matches_transformers_formula(base, warmup, total):
    def transformers(t):
        if t < warmup:
            return base * t / warmup
        progress = (t - warmup) / max(1, total - warmup)
        return base * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    ours = L.sequence([L.linear(0.0, base, warmup), L.cosine(base, total - warmup)], [warmup])
    # Past its end transformers' cosine rises again (lrsched: periodic=True); compare the run.
    steps = np.arange(total + 1)
    # The reference's 1 + cos(pi * progress) cancels near the low point: there its own error
    # is a few ulps of base, absolute (lrsched's precise form is checked in test_exactness).
    np.testing.assert_allclose(
        ours(steps), reference(transformers, steps), rtol=1e-12, atol=1e-15 * base
    )


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
@given(stable=st.integers(0, 100), decay=st.integers(1, 200), ratio=st.floats(0.0, 0.5))
def test_wsd_matches_transformers_wsd_after_warmup(shape, stable, decay, ratio):
    base = 0.3

    def transformers(t):  # get_wsd_schedule with num_warmup_steps=0
        if t < stable:
            return base
        if t < stable + decay:
            progress = (t - stable) / decay
            factor = {
                "linear": 1.0 - progress,
                "cosine": 0.5 * (1.0 + math.cos(math.pi * progress)),
                "1-sqrt": 1.0 - math.sqrt(progress),
            }[shape]
            return base * (factor * (1.0 - ratio) + ratio)
        return base * ratio

    ours = L.wsd(base, 0, stable, decay, min_lr=base * ratio, decay_shape=shape)
    np.testing.assert_allclose(ours(STEPS), reference(transformers), rtol=1e-12, atol=1e-15)


def test_wsd_warmup_is_lrsched_warmup():
    composed = L.warmup(L.sequence([L.constant(0.2), L.linear(0.2, 0.0, 30)], [40]), 10)
    assert np.array_equal(L.wsd(0.2, 10, 40, 30)(STEPS), composed(STEPS))


@given(start=st.floats(1e-8, 1e-3), ratio=st.floats(10.0, 1e8), n=st.integers(2, 300))
def test_exponential_ramp_is_the_range_test_ramp(start, ratio, n):
    end = start * ratio
    i = np.arange(n)
    expected = np.array([start * (end / start) ** (k / (n - 1)) for k in range(n)])
    ramp = L.exponential_ramp(start, end, total_steps=n - 1)
    np.testing.assert_allclose(ramp(i), expected, rtol=1e-12)
    assert ramp(0) == start and ramp(n - 1) == end and ramp(10 * n) == end


@given(
    points=st.lists(
        st.tuples(st.integers(0, 1000), st.floats(0.0, 1.0)),
        min_size=1,
        max_size=6,
        unique_by=lambda p: p[0],
    )
)
def test_piecewise_linear_interpolates_between_points(points):
    points.sort()
    boundaries = [b for b, _ in points]
    values = [v for _, v in points]

    def by_hand(t):
        if t <= boundaries[0]:
            return values[0]
        for (b0, v0), (b1, v1) in itertools.pairwise(points):
            if t <= b1:
                return v0 + (v1 - v0) * (t - b0) / (b1 - b0)
        return values[-1]

    steps = np.arange(0, 1100, 7)
    np.testing.assert_allclose(
        L.piecewise_linear(boundaries, values)(steps),
        reference(by_hand, steps),
        rtol=1e-12,
        atol=1e-15,
    )


@given(
    base=st.floats(0.01, 1.0),
    warm=st.integers(1, 40),
    start_factor=st.floats(0.01, 0.9),
    mode=st.sampled_from(["linear", "cosine", "constant"]),
)
def test_warmup_ramps_into_the_schedule_and_never_wastes_step_zero(base, warm, start_factor, mode):
    inner = L.cosine(base, 100)
    s = L.warmup(inner, warm, start_factor=start_factor, mode=mode)
    lrs = s(np.arange(warm + 100))
    assert lrs[0] > 0, "the first update must learn"
    assert L.warmup(inner, warm)(0) > 0, "the default start must not waste step 0"
    if mode != "constant":
        assert np.all(np.diff(lrs[: warm + 1]) > 0), "the ramp rises to s(0)"
    assert lrs[warm] == inner(0)
    assert np.array_equal(lrs[warm:], inner(np.arange(100)))
    assert np.all(lrs[:warm] < inner(0))


def test_warmup_linear_formula():
    s = L.warmup(L.constant(1.0), steps=4, start_factor=0.2)
    np.testing.assert_allclose(
        s([0, 1, 2, 3, 4]), [0.2 + 0.8 * k / 5 for k in (1, 2, 3, 4)] + [1.0], rtol=1e-15
    )


def test_exponential_warmup_is_geometric():
    lrs = L.warmup(L.constant(1.0), steps=9, start_factor=1e-3, mode="exponential")(range(10))
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-12)


def test_sequence_restarts_each_schedule_at_its_boundary():
    first, second, third = L.linear(0.0, 1.0, 10), L.cosine(1.0, 20), L.constant(0.01)
    s = L.sequence([first, second, third], [10, 30])
    t = np.arange(60)
    expected = np.where(
        t < 10,
        first(t),
        np.where(t < 30, second(np.maximum(t - 10, 0)), third(np.maximum(t - 30, 0))),
    )
    assert np.array_equal(s(t), expected)


def test_product_is_pointwise_and_flattens():
    a, b = L.cosine(0.1, 50), L.exponential(1.0, 0.97)
    s = a * b * 0.5
    assert len(s.factors) == 3
    t = np.arange(80)
    assert np.array_equal(s(t), a(t) * b(t) * 0.5)
    assert 2 * a == a * 2


def test_clip_shift_and_per_epoch():
    c = L.cosine(1.0, 10)
    t = np.arange(30, dtype=float)
    assert np.array_equal(c.clip(0.2, 0.9)(t), np.clip(c(t), 0.2, 0.9))
    assert np.array_equal(c.shift(5)(t), c(t + 5))
    assert np.array_equal(c.shift(-5)(t), c(np.maximum(t - 5, 0)))
    assert np.array_equal(c.per_epoch(4)(t), c(t / 4))
    assert np.array_equal(c.per_epoch(4, staircase=True)(t), c(np.floor(t / 4)))


def test_polynomial_cycle_follows_keras_rule():
    s = L.polynomial(1.0, 10, end_lr=0.0, power=1.0, cycle=True)
    # Keras: decay_steps * ceil(step / decay_steps), with step 0 using one period.
    assert s(0) == 1.0 and s(10) == 0.0 and s(15) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "schedule, tail_start, period",
    [
        (L.cosine(0.1, 100), 100.0, None),
        (L.cosine(0.1, 100, periodic=True), 0.0, 200.0),
        (L.warmup(L.cosine(0.1, 100), 10), 110.0, None),
        (L.cyclic(0.1, 1.0, step_size_up=5, step_size_down=7), 0.0, 12.0),
        (L.warm_restarts(0.1, 9), 0.0, 9.0),
        (L.one_cycle(1.0, 50), 49.0, None),
        (L.sequence([L.constant(1.0), L.linear(1.0, 0.0, 20)], [15]), 35.0, None),
        (L.cosine(0.1, 10).per_epoch(3), 30.0, None),
    ],
)
def test_tail_is_where_the_schedule_really_settles(schedule, tail_start, period):
    tail = schedule.tail()
    assert tail == (tail_start, period)
    later = tail.start + np.arange(0, 500, 0.5)
    if period is None:
        assert np.all(schedule(later) == schedule(tail.start))
    else:
        np.testing.assert_allclose(
            schedule(later), schedule(later + period), rtol=1e-12, atol=1e-15
        )


def test_tail_is_none_where_the_schedule_never_settles():
    assert L.exponential(0.1, 0.9).tail() is None
    assert L.cyclic(0.1, 1.0, step_size_up=5, mode="triangular2").tail() is None
    assert L.warm_restarts(0.1, 10, period_mult=2).tail() is None


def test_plateau_state_machine_resumes_from_a_saved_state():
    p = L.plateau(0.1, patience=1, cooldown=1, factor=0.5)
    metrics = [1.0, 0.9, 0.9, 0.9, math.nan, 0.9, 0.5, 0.5, 0.5, 0.5]
    full = p.replay(metrics)
    state = p.init()
    for metric in metrics[:4]:
        state = p.update(state, metric)
    resumed = p.state_from_dict(dict(state.to_dict()))
    assert np.array_equal(p.replay(metrics[4:], state=resumed), full[4:])


def test_plateau_over_a_schedule_multiplies_it():
    base = L.linear(0.0, 1.0, 4)
    p = L.plateau(base, patience=0, factor=0.5)
    lrs = p.replay([1.0, 1.0, 1.0, 0.1, 0.1, 0.1])
    # Improve, bad (reduce), bad (reduce), improve, bad (reduce), bad (reduce)
    scales = [1.0, 0.5, 0.25, 0.25, 0.125, 0.0625]
    np.testing.assert_allclose(lrs, [base(k + 1) * s for k, s in enumerate(scales)])


def test_plateau_accepts_numpy_and_zero_dim_metrics():
    p = L.plateau(0.1, patience=0)
    state = p.update(p.init(), np.float32(1.0))
    state = p.update(state, np.array(2.0))
    assert state.lr == pytest.approx(0.01)
    with pytest.raises(TypeError, match="metric must be a real number"):
        p.update(state, np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="metric must be a real number"):
        p.update(state, "0.5")


def test_piecewise_linear_never_leaves_its_values_range():
    # Found by the property suite: np.interp gave -5e-324 between a subnormal and 0.
    s = L.piecewise_linear([0.0, 9.0], [2.2250738585072014e-308, 0.0])
    values = s(np.linspace(0.0, 9.0, 10_001))
    assert values.min() >= 0.0


def test_plateau_metrics_from_every_framework_match_python_floats():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    floats = [2.0, 1.0, math.nan, -math.inf, -3.0, 1.0, math.inf, 0.5, 0.5, 0.5]
    wrapped = [
        torch.tensor(floats[0]),
        jnp.float32(floats[1]),
        np.float64(floats[2]),
        torch.tensor([floats[3]]),
        jnp.array(floats[4]),
        np.array(floats[5]),
        torch.tensor(floats[6], dtype=torch.float64),
        np.float32(floats[7]),
        floats[8],
        torch.tensor(floats[9]),
    ]
    p = L.plateau(0.1, patience=1, threshold_mode="abs", threshold=0.0)
    assert np.array_equal(p.replay(wrapped), p.replay(floats))

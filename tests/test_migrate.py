"""from_transformers, from_timm and the options they brought, without those libraries.

The reference values come from transformers' and timm's formulas written out here, step by
step in Python floats as those libraries compute them (transformers'
``optimization.py`` LambdaLR factors times the optimizer's lr; timm's ``_get_lr(t)``).
tests/test_migrate_transformers.py runs the libraries themselves.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrsched

# Where lrsched and the library round in another order: 1e-13 relative, or 1e-15 of the
# peak where a cosine's trough cancels digits (1 + cos near -1).
RTOL = 1e-13
PEAK_ATOL = 1e-15


def _close(ours, reference):
    reference = np.asarray(reference, dtype=np.float64)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=PEAK_ATOL * reference.max())
    assert np.array_equal(np.asarray(ours) == 0, reference == 0)


# --- transformers' factors, as optimization.py computes them ---------------------------------


def hf_warm(t, w):
    return float(t) / float(max(1, w))


def hf_linear(t, w, total):
    if t < w:
        return hf_warm(t, w)
    return max(0.0, float(total - t) / float(max(1, total - w)))


def hf_cosine(t, w, total, cycles=0.5, min_rate=0.0):
    if t < w:
        return hf_warm(t, w)
    progress = float(t - w) / float(max(1, total - w))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress))
    return max(0, factor * (1 - min_rate) + min_rate)


def hf_restarts(t, w, total, cycles=1):
    if t < w:
        return hf_warm(t, w)
    progress = float(t - w) / float(max(1, total - w))
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(cycles) * progress) % 1.0))))


def hf_wsd(t, w, stable, decay, warmup_type="linear", decay_type="cosine", ratio=0.0):
    if t < w:
        progress = float(t) / float(max(1, w))
        factor = {
            "linear": progress,
            "cosine": 0.5 * (1.0 - math.cos(math.pi * progress)),
            "1-sqrt": 1.0 - math.sqrt(1.0 - progress),
        }[warmup_type]
        return max(0.0, factor * (1.0 - ratio) + ratio)
    if t < w + stable:
        return 1.0
    if t < w + stable + decay:
        progress = float(t - w - stable) / float(max(1, decay))
        factor = {
            "linear": 1.0 - progress,
            "cosine": 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)),
            "1-sqrt": 1.0 - math.sqrt(progress),
        }[decay_type]
        return max(0.0, factor * (1.0 - ratio) + ratio)
    return ratio


BASE = 2e-4
STEPS = np.arange(260)


@pytest.mark.parametrize("w, total", [(10, 100), (0, 50), (25, 25), (40, 30)])
def test_linear_is_transformers_factor(w, total):
    s = lrsched.from_transformers(
        "linear", base_lr=BASE, num_warmup_steps=w, num_training_steps=total
    )
    _close(s(STEPS), [BASE * hf_linear(int(t), w, total) for t in STEPS])
    assert s(0) == (BASE if w == 0 else 0.0)


@pytest.mark.parametrize("cycles", [0.5, 1.0, 0.3, 2.5])
def test_cosine_is_transformers_factor_and_rises_past_the_end(cycles):
    s = lrsched.from_transformers(
        "cosine", base_lr=BASE, num_warmup_steps=10, num_training_steps=110, num_cycles=cycles
    )
    _close(s(STEPS), [BASE * hf_cosine(int(t), 10, 110, cycles) for t in STEPS])


@pytest.mark.parametrize("w, total, cycles", [(5, 65, 3), (0, 40, 1), (4, 51, 4), (3, 33, 0)])
def test_hard_restarts_are_transformers_factor(w, total, cycles):
    s = lrsched.from_transformers(
        "cosine_with_restarts",
        base_lr=BASE,
        num_warmup_steps=w,
        num_training_steps=total,
        num_cycles=cycles,
    )
    _close(s(STEPS), [BASE * hf_restarts(int(t), w, total, cycles) for t in STEPS])


def test_polynomial_holds_lr_end_and_checks_it():
    end, power = 1e-6, 2.0
    s = lrsched.from_transformers(
        "polynomial",
        base_lr=BASE,
        num_warmup_steps=10,
        num_training_steps=90,
        lr_end=end,
        power=power,
    )

    def reference(t):
        if t < 10:
            return BASE * hf_warm(t, 10)
        if t > 90:
            return BASE * (end / BASE)
        return BASE * (((BASE - end) * (1 - (t - 10) / 80) ** power + end) / BASE)

    _close(s(STEPS), [reference(int(t)) for t in STEPS])
    with pytest.raises(lrsched.ArgumentError, match="lr_end"):
        lrsched.from_transformers(
            "polynomial", base_lr=1e-7, num_warmup_steps=1, num_training_steps=9
        )


@pytest.mark.parametrize("w, timescale", [(10, None), (10, 30), (0, None)])
def test_inverse_sqrt_is_transformers_factor(w, timescale):
    tau = timescale if timescale is not None else (w or 10_000)
    s = lrsched.from_transformers(
        "inverse_sqrt", base_lr=BASE, num_warmup_steps=w, timescale=timescale
    )
    reference = [
        BASE * (hf_warm(t, w) if t < w else 1.0 / math.sqrt((t + tau - w) / tau))
        for t in map(int, STEPS)
    ]
    _close(s(STEPS), reference)


def test_constant_names():
    assert lrsched.from_transformers("constant", base_lr=BASE) == lrsched.constant(BASE)
    s = lrsched.from_transformers("constant_with_warmup", base_lr=BASE, num_warmup_steps=8)
    _close(s(STEPS), [BASE * (hf_warm(t, 8) if t < 8 else 1.0) for t in map(int, STEPS)])


def test_cosine_with_min_lr_both_spellings():
    by_lr = lrsched.from_transformers(
        "cosine_with_min_lr", base_lr=BASE, num_warmup_steps=10, num_training_steps=100, min_lr=1e-5
    )
    rate = 1e-5 / BASE
    _close(by_lr(STEPS), [BASE * hf_cosine(int(t), 10, 100, 0.5, rate) for t in STEPS])
    by_rate = lrsched.from_transformers(
        "cosine_with_min_lr",
        base_lr=BASE,
        num_warmup_steps=10,
        num_training_steps=100,
        min_lr_rate=0.1,
    )
    _close(by_rate(STEPS), [BASE * hf_cosine(int(t), 10, 100, 0.5, 0.1) for t in STEPS])
    with pytest.raises(lrsched.ArgumentError, match="one of min_lr and min_lr_rate"):
        lrsched.from_transformers(
            "cosine_with_min_lr",
            base_lr=BASE,
            num_warmup_steps=1,
            num_training_steps=9,
            min_lr=1e-5,
            min_lr_rate=0.1,
        )
    with pytest.raises(lrsched.ArgumentError, match="needs min_lr or min_lr_rate"):
        lrsched.from_transformers(
            "cosine_with_min_lr", base_lr=BASE, num_warmup_steps=1, num_training_steps=9
        )


@pytest.mark.parametrize("w, warmup_rate", [(10, None), (10, 0.2), (1, None), (0, None)])
def test_cosine_warmup_with_min_lr_counts_one_step_ahead(w, warmup_rate):
    total, rate = 100, 0.05

    def reference(t):
        if t < w:
            if warmup_rate is None:
                return (t + 1.0) / max(1.0, w)
            return warmup_rate + (1.0 - warmup_rate) * t / max(1, w - 1)
        progress = (t - w + 1.0) / max(1.0, total - w)
        factor = 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress))
        return max(0, factor * (1 - rate) + rate)

    s = lrsched.from_transformers(
        "cosine_warmup_with_min_lr",
        base_lr=BASE,
        num_warmup_steps=w,
        num_training_steps=total,
        min_lr_rate=rate,
        warmup_lr_rate=warmup_rate,
    )
    _close(s(STEPS), [BASE * reference(int(t)) for t in STEPS])


@pytest.mark.parametrize(
    "case",
    [
        dict(w=10, stable=60, decay=30),
        dict(w=10, stable=15, decay=20, warmup_type="cosine", decay_type="linear", ratio=0.1),
        dict(w=9, stable=26, decay=25, warmup_type="1-sqrt", decay_type="1-sqrt", ratio=0.2),
        dict(w=10, stable=-5, decay=20),
        dict(w=5, stable=25, decay=0),
        dict(w=0, stable=0, decay=40, decay_type="linear"),
    ],
)
def test_warmup_stable_decay_is_transformers_factor(case):
    case = dict(case)
    w, stable, decay = case.pop("w"), case.pop("stable"), case.pop("decay")
    options = (
        {"num_decay_steps": decay, "num_stable_steps": stable}
        if stable >= 0
        else {"num_decay_steps": decay}
    )
    total = w + stable + decay
    s = lrsched.from_transformers(
        "warmup_stable_decay",
        base_lr=BASE,
        num_warmup_steps=w,
        num_training_steps=total,
        **options,
        **{key: case[key] for key in ("warmup_type", "decay_type") if key in case},
        **({"min_lr_ratio": case["ratio"]} if "ratio" in case else {}),
    )
    _close(s(STEPS), [BASE * hf_wsd(int(t), w, stable, decay, **case) for t in STEPS])


def test_transformers_names_refused_clearly():
    with pytest.raises(lrsched.ArgumentError, match="greedy"):
        lrsched.from_transformers("greedy", base_lr=0.1)
    with pytest.raises(lrsched.ArgumentError, match="name must be one of"):
        lrsched.from_transformers("cosine_annealing", base_lr=0.1)
    with pytest.raises(lrsched.ArgumentError, match="requires num_warmup_steps"):
        lrsched.from_transformers("cosine", base_lr=0.1, num_training_steps=10)
    with pytest.raises(lrsched.ArgumentTypeError, match="takes no option 'power'"):
        lrsched.from_transformers(
            "cosine", base_lr=0.1, num_warmup_steps=1, num_training_steps=10, power=2.0
        )
    with pytest.raises(lrsched.ArgumentError, match="requires num_decay_steps"):
        lrsched.from_transformers(
            "warmup_stable_decay", base_lr=0.1, num_warmup_steps=1, num_training_steps=10
        )
    plateau = lrsched.from_transformers("reduce_lr_on_plateau", base_lr=0.1, patience=2)
    assert plateau == lrsched.plateau(0.1, patience=2)


def test_from_transformers_results_round_trip_through_configs():
    for name, options in [
        ("cosine", {"num_cycles": 0.3}),
        ("cosine_with_restarts", {}),
        ("warmup_stable_decay", {"num_decay_steps": 5, "warmup_type": "1-sqrt"}),
    ]:
        s = lrsched.from_transformers(
            name, base_lr=0.1, num_warmup_steps=3, num_training_steps=20, **options
        )
        assert lrsched.from_config(s.to_config()) == s
        assert lrsched.parse(repr(s)) == s


# --- timm's _get_lr(t), as its scheduler classes compute it ----------------------------------


def timm_cycle(t, base, t_initial, lr_min, mul, decay, limit, curve):
    if mul != 1:
        i = math.floor(math.log(1 - t / t_initial * (1 - mul), mul))
        t_i = mul**i * t_initial
        t_curr = t - (1 - mul**i) / (1 - mul) * t_initial
    else:
        i = t // t_initial
        t_i = t_initial
        t_curr = t - (t_initial * i)
    if i >= limit:
        return lr_min
    return curve(base * decay**i, t_curr, t_i)


def timm_lr(
    t,
    base,
    sched,
    *,
    t_initial=50,
    lr_min=0.0,
    mul=1.0,
    decay=0.1,
    limit=1,
    warm=0,
    warm_lr=1e-5,
    prefix=False,
    k=1.0,
    power=0.5,
    decay_t=90,
    milestones=(),
    rate=0.1,
    lb=-7.0,
    ub=3.0,
):
    def body(t):
        if prefix:
            t = t - warm
        if sched == "cosine":
            return timm_cycle(
                t,
                base,
                t_initial,
                lr_min,
                mul,
                decay,
                limit,
                lambda m, c, n: lr_min + 0.5 * (m - lr_min) * (1 + math.cos(math.pi * c**k / n**k)),
            )
        if sched == "poly":
            return timm_cycle(
                t,
                base,
                t_initial,
                lr_min,
                mul,
                decay,
                limit,
                lambda m, c, n: lr_min + (m - lr_min) * (1 - c**k / n**k) ** power,
            )
        if sched == "tanh":
            return timm_cycle(
                t,
                base,
                t_initial,
                lr_min,
                mul,
                decay,
                limit,
                lambda m, c, n: (
                    lr_min + 0.5 * (m - lr_min) * (1 - math.tanh(lb * (1.0 - c / n) + ub * c / n))
                ),
            )
        if sched == "step":
            return base * (rate ** (t // decay_t))
        return base * (rate ** bisect.bisect_right(list(milestones), t + 1))

    if t == 0 and not warm:
        return base  # the optimizer's own lr until the first step(1)
    if t < warm:
        target = base if (prefix or sched != "tanh") else body(warm)
        return warm_lr + t * ((target - warm_lr) / warm)
    return body(t)


TIMM_CASES = [
    dict(sched="cosine", t_initial=50, lr_min=1e-5, warm=5, warm_lr=1e-6),
    dict(sched="cosine", t_initial=10, limit=4, decay=0.5, lr_min=1e-4),
    dict(sched="cosine", t_initial=10, limit=3, mul=2.0, decay=0.7, warm=3, prefix=True),
    dict(sched="cosine", t_initial=30, k=2.0, lr_min=1e-5),
    dict(sched="tanh", t_initial=40, warm=5, lr_min=1e-5),
    dict(sched="tanh", t_initial=40),
    dict(sched="poly", t_initial=30, power=2.0, lr_min=1e-5, warm=3, prefix=True),
    dict(sched="step", decay_t=7, rate=0.5, warm=3, warm_lr=1e-4),
    dict(sched="multistep", milestones=(5, 12, 12, 20), rate=0.5),
    dict(sched="multistep", milestones=(0, 1, 6), rate=0.5, warm=2, prefix=True),
]
_TIMM_ARGS = {
    "t_initial": "num_epochs",
    "lr_min": "min_lr",
    "mul": "cycle_mul",
    "decay": "cycle_decay",
    "limit": "cycle_limit",
    "warm": "warmup_epochs",
    "warm_lr": "warmup_lr",
    "prefix": "warmup_prefix",
    "k": "k_decay",
    "power": "decay_rate",
    "decay_t": "decay_epochs",
    "milestones": "decay_milestones",
    "rate": "decay_rate",
    "sched": "sched",
}


@pytest.mark.parametrize("case", TIMM_CASES, ids=[c["sched"] for c in TIMM_CASES])
def test_from_timm_is_timms_get_lr(case):
    base = 0.05
    s = lrsched.from_timm(base_lr=base, **{_TIMM_ARGS[key]: value for key, value in case.items()})
    steps = np.arange(150)
    _close(s(steps), [timm_lr(int(t), base, **case) for t in steps])


def test_timm_multistep_switches_one_epoch_before_the_milestone():
    s = lrsched.from_timm(base_lr=1.0, sched="multistep", decay_milestones=[10], decay_rate=0.5)
    assert s(8) == 1.0 and s(9) == 0.5
    assert lrsched.multistep(1.0, [10], gamma=0.5)(9) == 1.0  # torch's MultiStepLR


def test_timm_per_update_scales_every_count():
    per_update = lrsched.from_timm(
        base_lr=0.1,
        sched="cosine",
        num_epochs=6,
        warmup_epochs=2,
        step_on_epochs=False,
        updates_per_epoch=5,
    )
    per_epoch = lrsched.from_timm(base_lr=0.1, sched="cosine", num_epochs=30, warmup_epochs=10)
    np.testing.assert_array_equal(per_update(np.arange(40)), per_epoch(np.arange(40)))
    with pytest.raises(lrsched.ArgumentError, match="updates_per_epoch"):
        lrsched.from_timm(base_lr=0.1, step_on_epochs=False)


def test_timm_refusals_name_the_reason():
    with pytest.raises(lrsched.ArgumentError, match="noise must be None: timm's LR noise"):
        lrsched.from_timm(base_lr=0.1, noise=0.5)
    with pytest.raises(lrsched.ArgumentError, match="k_decay must be 1 for 'poly'"):
        lrsched.from_timm(base_lr=0.1, sched="poly", k_decay=2.0)
    with pytest.raises(lrsched.ArgumentError, match="warmup_epochs must be 0 for 'plateau'"):
        lrsched.from_timm(base_lr=0.1, sched="plateau", warmup_epochs=3)
    with pytest.raises(lrsched.ArgumentError, match="sched must be one of"):
        lrsched.from_timm(base_lr=0.1, sched="cosine_annealing")
    plateau = lrsched.from_timm(base_lr=0.1, sched="plateau", patience_epochs=3)
    assert plateau == lrsched.plateau(0.1, mode="max", patience=3, min_lr=0.0)


def test_timm_many_cycles_use_warm_restarts():
    s = lrsched.from_timm(
        base_lr=0.1, sched="cosine", num_epochs=10, cycle_limit=1000, cycle_decay=0.5
    )
    assert isinstance(s.schedules[0], lrsched.warm_restarts)
    steps = np.arange(0, 400)
    _close(
        s(steps),
        [timm_lr(int(t), 0.1, "cosine", t_initial=10, decay=0.5, limit=1000) for t in steps],
    )


# --- the options and the family ------------------------------------------------------------


@given(st.integers(1, 10_000), st.floats(0, 1), st.floats(0, 1), st.booleans())
def test_cosine_options_at_their_defaults_change_no_bit(total, high, low, periodic):
    plain = lrsched.cosine(high, total, min_lr=low, periodic=periodic)
    explicit = lrsched.cosine(high, total, min_lr=low, periodic=periodic, k_decay=1, exponent=1.0)
    steps = np.arange(0, 3 * total, max(1, total // 97))
    steps_taken = np.fmod(steps, 2.0 * total) if periodic else np.minimum(steps, total)
    # The half cosine measured from its low point, whose steps to go are counted exactly.
    shape = np.sin(np.abs(total - steps_taken) / total * (math.pi / 2.0))
    formula = shape * shape * (high - low) + low
    assert explicit == plain
    assert np.array_equal(explicit(steps), formula)
    assert "k_decay" not in plain.to_config() and "exponent" not in plain.to_config()


def test_cosine_exponent_is_optax():
    optax = pytest.importorskip("optax")
    ours = lrsched.cosine(0.1, 100, min_lr=0.1 * 0.05, exponent=2.5)
    theirs = optax.cosine_decay_schedule(0.1, 100, alpha=0.05, exponent=2.5)
    steps = np.arange(0, 130)
    np.testing.assert_allclose(ours(steps), np.asarray(theirs(steps)), rtol=2e-6)


def test_cosine_k_decay_is_timms_warp_and_needs_a_single_cosine():
    s = lrsched.cosine(1.0, 30, min_lr=0.1, k_decay=2.0)
    expected = [0.1 + 0.5 * 0.9 * (1 + math.cos(math.pi * t**2.0 / 30**2.0)) for t in range(31)]
    _close(s(np.arange(31)), expected)
    assert s(30) == s(1000) == 0.1
    with pytest.raises(lrsched.ArgumentError, match="k_decay must be 1 when periodic=True"):
        lrsched.cosine(1.0, 30, periodic=True, k_decay=2.0)
    assert lrsched.from_config(s.to_config()) == s


def test_tanh_is_timms_curve_and_validates():
    s = lrsched.tanh(0.1, 40, min_lr=1e-4, lb=-6.0, ub=4.0)
    expected = [
        1e-4 + 0.5 * (0.1 - 1e-4) * (1 - math.tanh(-6.0 * (1.0 - t / 40) + 4.0 * t / 40))
        for t in range(41)
    ]
    _close(s(np.arange(41)), expected)
    assert s(40) == s(10**9)
    assert lrsched.parse(repr(s)) == s
    with pytest.raises(lrsched.ArgumentError, match=r"ub must be greater than lb=3\.0"):
        lrsched.tanh(0.1, 10, lb=3.0, ub=3.0)


def test_wsd_warmup_shape_starts_at_min_lr_and_keeps_old_configs():
    old = lrsched.wsd(1.0, 4, 2, 4)
    assert "warmup_shape" not in old.to_config()
    for shape in ("linear", "cosine", "1-sqrt"):
        s = lrsched.wsd(1.0, 8, 2, 4, min_lr=0.1, warmup_shape=shape)
        assert s(0) == 0.1 and s(8) == 1.0
        assert np.all(np.diff(s(np.arange(9))) > 0)
        assert lrsched.from_config(s.to_config()) == s


@given(
    st.sampled_from(["linear", "cosine", "cosine_with_restarts", "constant_with_warmup"]),
    st.integers(0, 60),
    st.integers(0, 300),
    st.floats(1e-6, 1.0),
    st.integers(1, 4),
)
def test_from_transformers_matches_the_formulas_for_any_counts(name, w, total, base, cycles):
    options = {"num_cycles": cycles} if name == "cosine_with_restarts" else {}
    counts = {"num_warmup_steps": w}
    if name != "constant_with_warmup":
        counts["num_training_steps"] = total
    s = lrsched.from_transformers(name, base_lr=base, **counts, **options)
    steps = np.arange(0, 2 * total + w + 20)
    factor = {
        "linear": lambda t: hf_linear(t, w, total),
        "cosine": lambda t: hf_cosine(t, w, total),
        "cosine_with_restarts": lambda t: hf_restarts(t, w, total, cycles),
        "constant_with_warmup": lambda t: hf_warm(t, w) if t < w else 1.0,
    }[name]
    _close(s(steps), [base * factor(int(t)) for t in steps])


@given(
    st.sampled_from(["cosine", "poly", "tanh"]),
    st.integers(1, 40),
    st.integers(0, 8),
    st.booleans(),
    st.integers(1, 4),
    st.sampled_from([1.0, 2.0, 3.0]),
    st.floats(0.1, 1.0),
    st.floats(0.0, 1e-3),
)
def test_from_timm_matches_get_lr_for_any_cycles(
    sched, t_initial, warm, prefix, limit, mul, decay, lr_min
):
    base = 0.05
    s = lrsched.from_timm(
        base_lr=base,
        sched=sched,
        num_epochs=t_initial,
        warmup_epochs=warm,
        warmup_prefix=prefix,
        cycle_limit=limit,
        cycle_mul=mul,
        cycle_decay=decay,
        min_lr=lr_min,
        decay_rate=2.0,
    )
    steps = np.arange(0, warm + int(t_initial * sum(mul**i for i in range(limit))) + 10)
    reference = [
        timm_lr(
            int(t),
            base,
            sched,
            t_initial=t_initial,
            lr_min=lr_min,
            mul=mul,
            decay=decay,
            limit=limit,
            warm=warm,
            prefix=prefix,
            power=2.0,
        )
        for t in steps
    ]
    _close(s(steps), reference)

"""Configs and the text form: round trips, and untrusted input refused safely."""

import json
import pickle

import pytest

import lrsched as L


@L.register_function
def lrsched_test_halving(step):
    return 0.5 ** (step // 10)


EXAMPLES = [
    L.constant(0.1),
    L.multistep(0.1, [10, 10, 20], gamma=0.5),
    L.piecewise_constant([10, 20.5], [0.3, 0.2, 0.1]),
    L.lambda_lr(0.1, lrsched_test_halving),
    L.multiplicative(0.1, "lrsched_test_halving"),
    L.cyclic(0.1, 1.0, step_size_up=5, scale_fn=lrsched_test_halving, scale_mode="iterations"),
    L.one_cycle(1.0, 100, three_phase=True).momentum(0.8, 0.9),
    L.warmup(L.cosine(0.1, 1000, min_lr=1e-5), 100, start_factor=0.1, mode="cosine"),
    L.sequence([L.linear(0.0, 0.1, 10), L.constant(0.1), L.cosine(0.1, 50)], [10, 60]),
    L.cosine(0.1, 10) * 0.5 * L.exponential(1.0, 0.9),
    L.warm_restarts(0.1, 10, period_mult=2).clip(min_lr=0.001),
    L.warm_restarts(0.1, 10, period_mult=2).clip(max_lr=0.05),
    L.linear(0.0, 1.0, 5).shift(-3).per_epoch(2.5, staircase=True),
    L.wsd(0.1, 10, 100, 20, min_lr=1e-4, decay_shape="cosine"),
    L.plateau(L.warmup(L.constant(0.1), 5), mode="max", cooldown=2),
    L.plateau(0.1, threshold_mode="abs"),
]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=lambda s: repr(s)[:40])
def test_config_round_trip_through_json(schedule):
    config = schedule.to_config()
    text = json.dumps(config, allow_nan=False)
    rebuilt = L.from_config(json.loads(text))
    assert rebuilt == schedule and hash(rebuilt) == hash(schedule)
    assert rebuilt.to_config() == config


@pytest.mark.parametrize("schedule", EXAMPLES, ids=lambda s: repr(s)[:40])
def test_text_form_round_trip(schedule):
    assert L.parse(repr(schedule)) == schedule
    assert repr(L.parse(repr(schedule))) == repr(schedule)


@pytest.mark.parametrize("schedule", EXAMPLES, ids=lambda s: repr(s)[:40])
def test_pickle_round_trip(schedule):
    assert pickle.loads(pickle.dumps(schedule)) == schedule


def test_equality_compares_parameters():
    assert L.cosine(0.1, 100) == L.cosine(0.1, 100.0)
    assert L.cosine(0.1, 100) != L.cosine(0.1, 101)
    assert L.cosine(0.1, 100) != L.linear(0.1, 0.0, 100)
    assert len({L.cosine(0.1, 100), L.cosine(0.1, 100), L.step(0.1, 5)}) == 2


def test_schedules_are_immutable():
    s = L.cosine(0.1, 100)
    with pytest.raises(AttributeError):
        s.base_lr = 1.0


def test_unregistered_function_cannot_be_saved():
    s = L.lambda_lr(0.1, lambda t: 1.0)
    assert "<lambda>" in repr(s)
    with pytest.raises(ValueError, match=r"register it with lrsched\.register_function"):
        s.to_config()


def test_register_function_refuses_name_clashes_and_lambdas():
    with pytest.raises(ValueError, match="already registered"):
        L.register_function(lambda t: 1.0, name="lrsched_test_halving")
    with pytest.raises(ValueError, match=r"pass name=\.\.\. for lambdas"):
        L.register_function(lambda t: 1.0)


@pytest.mark.parametrize(
    "config, error, pattern",
    [
        (
            {"type": "cosin", "base_lr": 0.1},
            ValueError,
            r"unknown schedule type 'cosin'; valid types: ",
        ),
        ({"base_lr": 0.1}, ValueError, r"must have a 'type' key"),
        (
            {"type": "cosine", "base_lr": 0.1, "total_steps": 10, "warm": 1},
            ValueError,
            r"unknown key\(s\) \['warm'\] for cosine; valid keys: \['base_lr', 'total_steps'",
        ),
        ({"type": "cosine", "base_lr": 0.1}, TypeError, r"total_steps"),
        (
            {"type": "cosine", "base_lr": "0.1", "total_steps": 10},
            TypeError,
            r"cosine\(\): base_lr must be a real number, got '0.1'",
        ),
        ([1, 2], TypeError, r"config must be a dict"),
        (
            {"type": "lambda_lr", "base_lr": 0.1, "fn": "os.system"},
            ValueError,
            r"registered function",
        ),
        ({"type": "__import__"}, ValueError, r"unknown schedule type"),
    ],
)
def test_bad_configs_are_refused_clearly(config, error, pattern):
    with pytest.raises(error, match=pattern):
        L.from_config(config)


def test_deeply_nested_config_is_refused_without_recursion_error():
    config = {"type": "constant", "lr": 0.1}
    for _ in range(10_000):
        config = {"type": "shift", "schedule": config, "steps": 1}
    with pytest.raises(ValueError, match="nested deeper than"):
        L.from_config(config)


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("__import__('os').system('echo pwned')", r"only schedule families and the methods"),
        ("__import__('os')", r"unknown schedule type '__import__'"),
        ("cosine(0.1, 10).__class__", r"unsupported syntax Attribute"),
        ("cosine(0.1, 10).to_config()", r"only schedule families and the methods"),
        ("cosine(0.1, total_steps=10**10)", r"unsupported syntax BinOp"),
        ("cosine(**{'base_lr': 0.1})", r"'\*\*' is not allowed"),
        ("lambda_lr(0.1, lambda t: 1)", r"unsupported syntax Lambda"),
        ("cosine(0.1, [i for i in range(10**9)])", r"unsupported syntax ListComp"),
        ("cosine(0.1, 10", r"invalid schedule text"),
        ("0.5 * 2", r"'\*' needs a schedule on one side"),
        ("cosine(0.1, 10) * 'a'", r"cannot multiply"),
        ("x" * 200_000, r"at most 100000 characters"),
        ("(" * 500 + "1" + ")" * 500, r"nested deeper than|invalid schedule text"),
        ("shift(" * 100 + "constant(0.1)" + ", 1)" * 100, r"nested deeper than"),
        ("shift(" * 1000 + "constant(0.1)" + ", 1)" * 1000, r"nested|invalid schedule text"),
        (
            "cosine(base_lr=0.1, total_steps=0)",
            r"cosine\(\): total_steps must be a positive integer",
        ),
        ("cosine(0.1, 10, nope=1)", r"unexpected keyword argument 'nope'"),
    ],
)
def test_untrusted_text_never_runs_code(text, pattern, capfd):
    with pytest.raises((ValueError, TypeError), match=pattern):
        L.parse(text)
    assert "pwned" not in capfd.readouterr().out


def test_parse_accepts_positional_arguments_and_registered_names():
    assert L.parse("cosine(0.1, 100, min_lr=0.001)") == L.cosine(0.1, 100, min_lr=0.001)
    assert L.parse("lambda_lr(0.1, lrsched_test_halving)") == L.lambda_lr(0.1, lrsched_test_halving)
    assert L.parse("cosine(0.1, 10).clip(max_lr=inf)") == L.cosine(0.1, 10).clip()
    assert L.parse("2 * cosine(0.1, 10)") == L.cosine(0.1, 10) * 2

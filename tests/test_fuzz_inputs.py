"""Hostile input to ``parse``, ``from_config`` and the ``lrsched`` command.

Whatever text, config or command line comes in, the outcome is one of two: a schedule (or
plateau) whose learning rates are finite and >= 0, which round-trips through its repr and
its config; or an ``lrsched.ArgumentError`` (``ArgumentTypeError``) naming what is wrong.
Never another exception, never a warning beside a result, never a traceback from the
command, which exits 0, or 2 after exactly one line on stderr.

The default hypothesis profile runs a small sample; ``HYPOTHESIS_PROFILE=fuzz`` hunts.
Inputs are bounded (nesting, text length, step counts) so no example can run long.
"""

import contextlib
import io
import json
import math
import warnings
from dataclasses import MISSING

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import lrsched as L
from lrsched._base import fields
from lrsched._config import _METHODS
from lrsched._registry import families
from lrsched.cli import main
from lrsched.testing import strategies as lst

# ---- users' functions that misbehave, reachable by name from text and configs ------------


@L.register_function
def lrsched_fuzz_negative(t):
    return np.full_like(np.asarray(t, dtype=np.float64), -1.0)


@L.register_function
def lrsched_fuzz_nan(t):
    return np.full_like(np.asarray(t, dtype=np.float64), math.nan)


@L.register_function
def lrsched_fuzz_huge(t):
    return np.full_like(np.asarray(t, dtype=np.float64), 1e308)


@L.register_function
def lrsched_fuzz_text(t):
    return "half"


@L.register_function
def lrsched_fuzz_complex(t):
    return np.asarray(t, dtype=np.float64) * 1j


@L.register_function
def lrsched_fuzz_wrong_length(t):
    return [0.5, 0.25, 0.125]


FAMILIES = sorted(families())
FUNCTIONS = [
    "lrsched_testing_one",
    "lrsched_testing_halve_every_10",
    "lrsched_testing_drop_at_100",
    "lrsched_fuzz_negative",
    "lrsched_fuzz_nan",
    "lrsched_fuzz_huge",
    "lrsched_fuzz_text",
    "lrsched_fuzz_complex",
    "lrsched_fuzz_wrong_length",
]
KEYWORDS = sorted({field.name for cls in families().values() for field in fields(cls)})
CHOICES = ["linear", "cos", "cosine", "1-sqrt", "triangular2", "exp_range", "min", "max", "rel"]
# Steps each result is evaluated at: multiplicative refuses the last two (beyond its 10**8).
PROBE_STEPS = [0, 1, 2.5, 7, 1000, 2.0**40 + 0.5, 2.0**53]
HUGE = "1" + "0" * 400

# ---- the property ---------------------------------------------------------------------


def assert_sound(make):
    """``make()`` gives a sound schedule or plateau, or raises ArgumentError; nothing else."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            made = make()
        except L.ArgumentError:
            event("refused")
            # Numpy may warn on the way to a value that is then refused; nothing else may.
            others = [w for w in caught if not issubclass(w.category, RuntimeWarning)]
            assert not others, [str(warning.message) for warning in others]
            return None
        event(f"built a {type(made).__name__}")
        assert isinstance(made, (L.Schedule, L.plateau)), made
        assert_values_sound(made)
    assert not caught, [str(warning.message) for warning in caught]
    assert_round_trips(made)
    return made


def assert_values_sound(made):
    if isinstance(made, L.plateau):
        state = made.init()
        assert math.isfinite(state.lr) and state.lr >= 0, made
        try:
            lrs = made.replay([1.0, 0.5, 2.0, 2.0, 2.0, 2.0, 1e300, -1e300])
        except L.ArgumentError:
            return
        assert np.isfinite(lrs).all() and (lrs >= 0).all(), made
        return
    scalars = []
    for step in PROBE_STEPS:
        try:
            value = made(step)
        except L.ArgumentError:
            scalars.append(None)
            continue
        assert type(value) is float and math.isfinite(value) and value >= 0, (made, step, value)
        scalars.append(value)
    try:
        values = made(np.array(PROBE_STEPS))
    except L.ArgumentError:
        assert None in scalars, made  # every step alone was fine: so must the array be
    else:
        assert values.tolist() == scalars, made
    tail = made.tail()
    if tail is not None:
        assert math.isfinite(tail.start) and tail.start >= 0, (made, tail)
        assert tail.period is None or (math.isfinite(tail.period) and tail.period > 0)


def assert_round_trips(made):
    text = repr(made)
    assert L.parse(text) == made, text
    config = made.to_config()
    assert L.from_config(config) == made, config
    assert L.from_config(json.loads(json.dumps(config))) == made, config


# ---- hostile text ---------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(0, 20).map(str),
    st.sampled_from(["0.1", "0.5", "1.0", "10", "100", "1000", "0.9", "2"]),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            HUGE,
            "-" + HUGE,
            "1e400",
            "1e-400",
            "1e-310",
            "5e-324",
            "1e308",
            "1.7976931348623157e308",
            "9007199254740993",
            "18446744073709551616",
            "0x10",
            "0o7",
            "1_000",
            "-0.0",
            "1j",
            "nan",
            "inf",
            "-inf",
        ]
    ),
)
LEAVES = st.one_of(
    NUMBERS,
    NUMBERS,
    st.sampled_from(FUNCTIONS),
    st.sampled_from(CHOICES).map(repr),
    st.sampled_from(["True", "False", "None", "x", "__import__", "os", "...", "b'x'"]),
    st.text(max_size=4).map(repr),
)


def _call(name, args, keywords):
    parts = list(args) + [f"{key}={value}" for key, value in keywords]
    return f"{name}({', '.join(parts)})"


def _nodes(children):
    names = st.one_of(st.sampled_from(FAMILIES), st.sampled_from(["nope", "eval", "print"]))
    keys = st.one_of(st.sampled_from(KEYWORDS), st.sampled_from(["nope", "fn", "_x"]))
    return st.one_of(
        st.builds(
            _call,
            names,
            st.lists(children, max_size=4),
            st.lists(st.tuples(keys, children), max_size=4),
        ),
        st.lists(children, max_size=4).map(lambda items: f"[{', '.join(items)}]"),
        st.lists(children, max_size=3).map(lambda items: f"({', '.join(items)})"),
        st.builds(
            lambda target, method, args: f"{target}.{method}({', '.join(args)})",
            children,
            st.sampled_from([*_METHODS, "to_config", "__class__", "tail"]),
            st.lists(children, max_size=2),
        ),
        st.builds(lambda left, right: f"{left} * {right}", children, children),
        st.builds(
            lambda sign, item: f"{sign}{item}", st.sampled_from(["-", "+", "--", "~"]), children
        ),
    )


# Random calls of families with random arguments: most are refused, some are sound.
CALL_TEXTS = st.recursive(LEAVES, _nodes, max_leaves=12)

# What each parameter takes, by name: typed but hostile values reach every family's checks.
BOOLEAN_FIELDS = {"periodic", "staircase", "cycle", "three_phase", "rising"}
CHOICE_FIELDS = {"mode", "anneal", "decay_shape", "warmup_shape", "threshold_mode", "scale_mode"}
LIST_FIELDS = {"milestones", "boundaries", "values"}
EXTREMES = st.one_of(
    NUMBERS,
    st.floats(min_value=0.0, allow_infinity=False).map(repr),
    st.floats(0.0, 1e-290).map(repr),
    st.floats(1e290, 1.7976931348623157e308).map(repr),
    st.integers(0, 2**64).map(str),
)


def _argument(name, children):
    if name in ("schedule", "base"):
        return st.one_of(children, EXTREMES)
    if name in ("schedules", "factors"):
        items = st.lists(st.one_of(children, children, EXTREMES), max_size=4)
        return items.map(lambda parts: f"[{', '.join(parts)}]")
    if name in LIST_FIELDS:
        return st.lists(EXTREMES, max_size=5).map(lambda parts: f"[{', '.join(parts)}]")
    if name in ("fn", "scale_fn"):
        return st.sampled_from([*FUNCTIONS, "None"])
    if name in BOOLEAN_FIELDS:
        return st.sampled_from(["True", "False", "1", "None"])
    if name in CHOICE_FIELDS:
        return st.sampled_from([*CHOICES, "None", "1"]).map(
            lambda choice: choice if choice in ("None", "1") else repr(choice)
        )
    return EXTREMES


def _typed_calls(children):
    @st.composite
    def call(draw):
        name = draw(st.sampled_from(FAMILIES))
        keywords = []
        for field in fields(families()[name]):
            required = field.default is MISSING and field.default_factory is MISSING
            if draw(st.integers(0, 9)) < (9 if required else 3):
                keywords.append((field.name, draw(_argument(field.name, children))))
        if draw(st.integers(0, 9)) == 0 and keywords:  # a keyword given twice
            keywords.append(draw(st.sampled_from(keywords)))
        text = _call(name, [], draw(st.permutations(keywords)))
        if draw(st.integers(0, 4)) == 0:
            method = draw(st.sampled_from(_METHODS))
            text += f".{method}({', '.join(draw(st.lists(EXTREMES, max_size=2)))})"
        return text

    return call()


# Calls with the families' own parameters, typed but extreme: deeper into the checks.
TYPED_TEXTS = st.recursive(_typed_calls(EXTREMES), _typed_calls, max_leaves=6)

TOKENS = st.one_of(
    st.sampled_from(FAMILIES + FUNCTIONS + list(_METHODS) + KEYWORDS),
    NUMBERS,
    st.sampled_from([*"()[]{},.=*+-/'\":;@ \t\n", "**", "lambda", "__class__", "#"]),
    st.text(max_size=2),
)
# Token soup: any sequence of pieces of the grammar and beyond it, unicode included.
SOUP_TEXTS = st.lists(TOKENS, max_size=30).map("".join)


@st.composite
def mutated_texts(draw):
    """A sound schedule's repr, changed in a few places: near-valid text."""
    text = repr(draw(lst.schedules(max_lr=1.0, max_depth=2)))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "cut", "repeat"]))
        if kind == "insert":
            text = text[:where] + draw(TOKENS) + text[where:]
        elif kind == "delete":
            text = text[:where] + text[where + draw(st.integers(1, 5)) :]
        elif kind == "replace":
            end = where + draw(st.integers(1, 8))
            text = text[:where] + draw(st.one_of(NUMBERS, TOKENS)) + text[end:]
        elif kind == "cut":
            text = text[:where]
        else:  # a keyword given twice, or a piece repeated
            end = where + draw(st.integers(1, 20))
            text = text[:end] + text[where:end] + text[end:]
    return text


@st.composite
def nested_texts(draw):
    """Deep nesting of every kind the grammar has, past the 64-level limit and below it."""
    depth = draw(st.integers(0, 400))
    kind = draw(st.sampled_from(["paren", "list", "sign", "shift", "method", "product", "warmup"]))
    if kind == "paren":
        return "(" * depth + "cosine(0.1, 10)" + ")" * depth
    if kind == "list":
        return "sequence(" + "[" * depth + "]" * depth + ", [1])"
    if kind == "sign":
        return "cosine(" + "-" * depth + "0.1, 10)"
    if kind == "shift":
        return "shift(" * depth + "constant(0.1)" + ", 1)" * depth
    if kind == "method":
        return "cosine(0.1, 10)" + ".shift(1)" * depth
    if kind == "product":
        return "cosine(0.1, 10)" + " * 0.9" * depth
    return "warmup(" * depth + "cosine(0.1, 10)" + ", 2)" * depth


TEXTS = st.one_of(TYPED_TEXTS, CALL_TEXTS, SOUP_TEXTS, mutated_texts(), nested_texts())

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(TEXTS)
@example("cosine(base_lr=0.1, base_lr=0.2, total_steps=10)")
@example("ｃｏｓｉｎｅ(0.1, 10)")
@example("product((2.0, 3.0))")
@example("warm_restarts(0.1, 1e-310, period_mult=2)")
@example("one_cycle(1.0, 10, div_factor=1e-310)")
@example("cosine(0.1, 1000, k_decay=1e15)")
@example("cyclic(0.01, 0.1, step_size_up=1.7e308)")
@example("cosine(0.1, 10).per_epoch(1.7e308)")
@example(f"step(0.1, {HUGE})")
@example("x" * 100_001)
@example("cosine(0.0, 8.98846567431158e+307, periodic=True)")  # its tail had period inf
@example("cosine(0.1, 10if 1 else 2)")  # Python warned of the literal: a stray stderr line
@example("lambda_lr(0.1, '\\d')")
def test_parse_gives_a_sound_schedule_or_an_argument_error(text):
    assert_sound(lambda: L.parse(text))


# ---- hostile configs ------------------------------------------------------------------

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from([10**400, -(10**400), 2**64, 2**53 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.1, 1.0, 10, 100, 0.5, 1e-310, 1e308]),
    st.text(max_size=6),
    st.sampled_from(FAMILIES + FUNCTIONS + CHOICES),
)
CONFIG_KEYS = st.one_of(
    st.sampled_from(KEYWORDS), st.sampled_from(["type", "nope"]), st.text(max_size=4)
)


def _configs(children):
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(CONFIG_KEYS, children, max_size=5),
        st.builds(
            lambda kind, rest: {**rest, "type": kind},
            st.one_of(st.sampled_from(FAMILIES), JSON_LEAVES),
            st.dictionaries(CONFIG_KEYS, children, max_size=6),
        ),
    )


# Random JSON-like values: dicts with and without 'type', of families and of nonsense.
RANDOM_CONFIGS = st.recursive(JSON_LEAVES, _configs, max_leaves=20)


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


@st.composite
def mutated_configs(draw):
    """A sound schedule's config with a key dropped, added, or a value replaced somewhere."""
    config = json.loads(json.dumps(draw(lst.schedules(max_lr=1.0, max_depth=2)).to_config()))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(config))))
        parent, key = None, None
        target = config
        for step in path:
            parent, key, target = target, step, target[step]
        kind = draw(st.sampled_from(["replace", "drop", "add", "wrap"]))
        if kind == "replace" and parent is not None:
            parent[key] = draw(RANDOM_CONFIGS)
        elif kind == "drop" and isinstance(target, dict) and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif kind == "add" and isinstance(target, dict):
            target[draw(CONFIG_KEYS)] = draw(RANDOM_CONFIGS)
        elif kind == "wrap" and parent is not None:
            parent[key] = [target]
    return config


@FUZZ
@given(st.one_of(RANDOM_CONFIGS, mutated_configs()))
@example({"type": "cosine", "base_lr": 0.1})
@example({"type": "cosine", "base_lr": 0.1, "total_steps": 10, 3: 1})
@example({"type": "warm_restarts", "base_lr": 0.1, "period": 1e-310, "period_mult": 2})
@example({"type": "shift", "schedule": [{"type": "constant", "lr": 0.1}], "steps": 1})
@example({"type": "plateau", "base": {"type": "plateau", "base": 0.1}})
@example({"type": "lambda_lr", "base_lr": 0.1, "fn": "lrsched_fuzz_complex"})
def test_from_config_gives_a_sound_schedule_or_an_argument_error(config):
    assert_sound(lambda: L.from_config(config))


# ---- hostile command lines --------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Metrics files good and bad, and a directory to write images into."""
    root = tmp_path_factory.mktemp("fuzz_cli")
    contents = {
        "losses.txt": "1.0 0.9, 0.95\n0.8\n0.85 0.86 0.87 0.9\n",
        "nan.txt": "1.0 nan 0.5\n",
        "empty.txt": "",
        "words.txt": "loss=1.0\n",
        "huge.txt": f"1.0 {HUGE}\n",
    }
    for name, text in contents.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "binary.txt").write_bytes(b"\xff\xfe\x00\x81")
    return root


INTEGERS = st.one_of(
    st.integers(-3, 300).map(str),
    st.sampled_from(
        ["0", str(2**53), str(2**53 + 1), HUGE, "abc", "1.5", "nan", "", " 7", "1_0", "٣", "-0"]
    ),
)
REALS = st.one_of(
    st.sampled_from(["1", "2.5", "390", "0", "-1", "nan", "inf", "-inf", "1e-320", "1e308"]),
    st.sampled_from(["1e400", HUGE, "abc", "", "0x10"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
SPECS = st.one_of(
    st.sampled_from(
        [
            "cosine(0.1, 100)",
            "warmup(cosine(0.1, 100), steps=10)",
            "plateau(0.1, patience=1)",
            "exponential(0.1, 0.9)",
            "constant(0.0)",
            "warm_restarts(0.1, 7, period_mult=2)",
        ]
    ),
    TYPED_TEXTS,
    CALL_TEXTS,
    mutated_texts(),
)


@st.composite
def command_lines(draw):
    command = draw(
        st.sampled_from(["values"] * 4 + ["show"] * 4 + ["plot", "valuez", "--help", "--version"])
    )
    argv = [command, *draw(st.lists(SPECS, max_size=3))]
    options = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("--steps"), INTEGERS),
                st.tuples(st.just("--every"), INTEGERS),
                st.tuples(st.just("--per-epoch"), REALS),
                st.tuples(st.just("--format"), st.sampled_from(["table", "csv", "json", "xml"])),
                st.tuples(st.just("--width"), INTEGERS),
                st.tuples(st.just("--height"), INTEGERS),
                st.tuples(st.just("--dpi"), st.sampled_from(["20", "0", str(10**6), "abc"])),
                st.tuples(st.sampled_from(["--label", "--title"]), st.text(max_size=8)),
                st.tuples(
                    st.just("--metrics"),
                    st.sampled_from(
                        [
                            "losses.txt",
                            "nan.txt",
                            "empty.txt",
                            "words.txt",
                            "huge.txt",
                            "binary.txt",
                            "missing.txt",
                            ".",
                        ]
                    ),
                ),
                st.tuples(
                    st.sampled_from(["-o", "--output"]),
                    st.sampled_from(["out.png", "out.svg", "out.xyz", "no/such/dir/out.png", "."]),
                ),
                st.tuples(st.sampled_from(["--log-y", "--nope", "-x", "--", "-h"])),
            ),
            max_size=5,
        )
    )
    for option in options:
        argv.extend(option)
    return argv


def _settle_within(argv, limit=2000):
    """Without --steps, a sound spec may settle only after millions of steps, all printed or
    drawn: correct, but slow. Such a run gets a bounded --steps instead."""
    if "--steps" in argv or argv[0] not in ("values", "plot"):
        return argv
    from lrsched._plot import default_steps

    for text in argv[1:]:
        try:
            schedule = L.parse(text)
            count = default_steps([schedule]) if isinstance(schedule, L.Schedule) else 0
        except Exception:  # not a sound spec: the command refuses it, quickly
            continue
        if count > limit:
            return [*argv, "--steps", "100"]
    return argv


def run_command(argv, directory):
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.chdir(directory),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            status = main(argv)
        except SystemExit as exit:  # argparse: --help, --version, usage errors
            status = exit.code
    return status, out.getvalue(), err.getvalue(), [str(w.message) for w in caught]


@FUZZ
@given(argv=command_lines())
@example(argv=["values", "warm_restarts(0.1, 1e-310)", "--steps", "5"])
@example(argv=["values", "cyclic(0.01, 0.1, step_size_up=1e-310)", "--steps", "5"])
@example(argv=["values", "one_cycle(1.0, 10, div_factor=1e-310)", "--steps", "5"])
@example(argv=["show", "cosine(0.1, 10).per_epoch(1.7e308)", "--steps", "5"])
@example(argv=["values", "1", "--steps", "5"])
@example(argv=["values", "cosine(0.1, 100)", "\nconstant(lr=0.0)"])  # argparse quoted it raw
@example(argv=["show", "cosine(0.1, 100)", "--label", "\u0000\u2028"])
def test_the_command_exits_0_or_2_after_one_line(files, argv):
    status, stdout, stderr, caught = run_command(_settle_within(argv), files)
    assert status in (0, 2), (argv, status, stderr)
    assert "Traceback" not in stderr, (argv, stderr)
    if status == 2:
        assert stderr.startswith("lrsched: error: ") and stderr.endswith("\n"), (argv, stderr)
        assert stderr.count("\n") == 1 and len(stderr) < 500, (argv, stderr)
    else:
        assert stderr == "", (argv, stderr)
        assert stdout, argv
    # A warning would be one more line on a user's terminal.
    assert not caught, (argv, caught)

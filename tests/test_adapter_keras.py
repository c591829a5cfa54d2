"""lrsched.adapters.keras: real model.fit runs under jax (traced) and torch (eager).

Keras fixes its backend at import, so each backend trains in its own process:
``keras_cases/fit_probe.py`` fits small models and records the LR every update used (exactly,
through one-hot SGD; see its docstring), and the tests here compare those numbers with the
core's. Both probes start together on first use and run while the in-process tests run.
The in-process tests (config, errors, table bounds, Keras's own ReduceLROnPlateau) run
first, under whichever backend is loaded, while the probes train: a table of bad calls
with their exact messages, and .keras files whose saved KerasSchedule config was edited,
which load_model must refuse naming the problem. The jax probe also saves a jit-compiled
run at seeded points and resumes each with load_model (``RESUME_CASE``).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from bad_calls import assert_refused, table
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched._registry import families

CASES_DIR = Path(__file__).parent / "keras_cases"
if str(CASES_DIR) not in sys.path:
    sys.path.insert(0, str(CASES_DIR))
from keras_fit_cases import (  # noqa: E402
    FIT_CASES,
    MIRRORED_CASES,
    MIRRORED_PLATEAU,
    PAST_END_CASE,
    PRODUCT_RESUME_CASE,
    RESUME_CASE,
    TORCH_JIT_CASES,
    USER_FUNCTION_CASES,
    XLA_TRACED,
    import_keras,
)

# The jax probe compiles every fit with XLA (about 25 s of CPU): its tests are marked slow,
# so the default run trains under torch (eager) only and `pytest -m slow` adds the traced runs;
# the tensorflow probe runs where tensorflow is installed (.ci/run's tensorflow section).
BACKENDS = (
    pytest.param("jax", marks=pytest.mark.slow),
    "torch",
    pytest.param("tensorflow", marks=pytest.mark.tensorflow),
)
PROBE_TIMEOUT = 600
# A probe is a Keras backend, or a backend and a mode of fit_probe.py: "torch_jit" trains
# the torch backend with jit_compile=True (torch.compile, about 20 s a fit: slow).
PROBE_MODES = {"torch_jit": ("torch", "torch_jit")}
_probes: dict[str, tuple[subprocess.Popen, str]] = {}
# Tests that read a probe run at the end of the session (tests/conftest.py), so the probes
# train on the other core while the rest of the suite runs, instead of being waited for.
READS_PROBE = pytest.mark.reads_probe
# With the suite spread over worker processes (pytest-xdist), this module runs in one of
# them, so each fit probe trains once and not once per worker.
pytestmark = pytest.mark.xdist_group("keras_fit_probes")


def _missing(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


def _stop_unfinished_probes() -> None:
    for process, _ in _probes.values():
        if process.poll() is None:
            process.kill()


def _backend_name(backend) -> str:
    return backend if isinstance(backend, str) else backend.values[0]


def _start_probes(backends=None) -> None:
    """Start the fit probes of ``backends`` (default: all) that are not running yet."""
    names = [_backend_name(b) for b in BACKENDS] if backends is None else list(backends)
    names = [name for name in names if name not in _probes]
    if not names:
        return
    atexit.register(_stop_unfinished_probes)
    for name in names:
        backend, mode = PROBE_MODES.get(name, (name, "fits"))
        if _missing("keras", backend):
            continue
        out = os.path.join(tempfile.mkdtemp(prefix=f"lrsched-keras-{name}-"), "out.json")
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONWARNINGS="ignore")
        process = subprocess.Popen(
            [sys.executable, str(CASES_DIR / "fit_probe.py"), out, mode],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _probes[name] = (process, out)


_results: dict[str, dict] = {}


def probe(name: str) -> dict:
    """What the fit probe ``name`` recorded (a backend, or PROBE_MODES'; runs it on first
    use)."""
    if name in _results:
        return _results[name]
    backend, mode = PROBE_MODES.get(name, (name, "fits"))
    missing = _missing("keras", backend)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    _start_probes([name])
    process, out = _probes[name]
    _, stderr = process.communicate(timeout=PROBE_TIMEOUT)
    if process.returncode != 0:
        pytest.fail(f"fit probe {mode} under KERAS_BACKEND={backend} failed:\n{stderr[-4000:]}")
    with open(out) as handle:
        _results[name] = json.load(handle)
    return _results[name]


def expected_lrs(schedule: lrsched.Schedule, steps: np.ndarray) -> np.ndarray:
    """What a float32 optimizer should use: the core's float64 values rounded once."""
    return np.float32(schedule(steps))


# ---- in-process: config, validation, table bounds ----------------------------------------


def _probes_wanted(session) -> list[str]:
    """The backends whose probe a selected test of this module reads (the probes start early
    so they train while the in-process tests run; a test whose probe is not running yet
    starts it itself). The tests that read the jax probe without a backend parameter are
    all marked slow."""
    here = [
        item
        for item in session.items
        if getattr(getattr(item, "module", None), "__name__", None) == __name__
    ]
    wanted = {
        getattr(item, "callspec", None) and item.callspec.params.get("backend") for item in here
    }
    if any(item.get_closest_marker("slow") for item in here):
        wanted.add("jax")
    if any(getattr(item, "originalname", None) == _TORCH_JIT_TEST for item in here):
        wanted.add("torch_jit")
    return [name for name in ("jax", "torch", "torch_jit") if name in wanted]


_TORCH_JIT_TEST = "test_torch_backend_with_jit_compile_uses_the_schedule_at_every_step"


@pytest.fixture(scope="module")
def adapter(request):
    # The fits train in their own processes while these tests run.
    _start_probes(_probes_wanted(request.session))
    import_keras("torch")
    from lrsched.adapters import keras as adapter

    return adapter


def test_config_round_trip_through_keras_serialization(adapter):
    import keras

    schedule = lrsched.warmup(lrsched.cosine(0.1, total_steps=100), steps=10)
    original = adapter.KerasSchedule(schedule)
    config = keras.optimizers.schedules.serialize(original)
    assert config["registered_name"] == "lrsched>KerasSchedule"
    json.dumps(config)
    restored = keras.optimizers.schedules.deserialize(json.loads(json.dumps(config)))
    assert isinstance(restored, adapter.KerasSchedule)
    assert restored.schedule == schedule and restored.max_steps is None
    limited = adapter.KerasSchedule(lrsched.exponential(0.1, 0.9), max_steps=50)
    again = adapter.KerasSchedule.from_config(limited.get_config())
    assert again.schedule == limited.schedule and again.max_steps == 50


def test_eager_calls_follow_the_table_bounds(adapter):
    cosine = adapter.KerasSchedule(lrsched.cosine(1.0, total_steps=10))
    assert [float(cosine(step)) for step in (0, 5, 10, 11, 10**12)] == [1.0, 0.5, 0.0, 0.0, 0.0]
    cyclic = lrsched.cyclic(0.1, 1.0, step_size_up=3)
    periodic = adapter.KerasSchedule(cyclic)
    steps = [0, 2, 3, 5, 6, 7, 6 * 10**9 + 2]
    assert [float(periodic(step)) for step in steps] == list(np.float32(cyclic(steps)))
    # Past a table of max_steps + 1 entries the LR keeps following the schedule.
    decay = lrsched.exponential(1.0, 0.5)
    limited = adapter.KerasSchedule(decay, max_steps=3)
    assert [float(limited(step)) for step in (3, 4, 5, 149)] == list(
        np.float32(decay([3, 4, 5, 149]))
    )
    import keras

    steps = keras.ops.convert_to_tensor(np.array([0, 1, 3, 4, 7], dtype="int32"))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(limited(steps)), np.float32(decay([0, 1, 3, 4, 7]))
    )


def test_whole_float_steps_are_steps(adapter):
    import keras

    schedule = lrsched.exponential(0.01, 0.96, decay_steps=5, staircase=True)
    adapted = adapter.KerasSchedule(schedule, max_steps=50)
    for step in (
        keras.Variable(100.0),
        100.0,
        np.float64(100.0),
        keras.ops.convert_to_tensor(np.float32(100.0)),
    ):
        value = adapted(step)
        assert keras.backend.standardize_dtype(value.dtype) == "float32"
        assert float(value) == np.float32(schedule(100))
    with pytest.raises(TypeError, match=r"whole number .* got 100\.5 of dtype float32"):
        adapted(keras.Variable(100.5))


def test_fractional_period_is_served_past_its_table(adapter):
    # Integer steps do not repeat every 2.5 steps: the table cannot use the period, and
    # later steps come from the schedule itself.
    restarts = lrsched.warm_restarts(1.0, period=2.5)
    bounded = adapter.KerasSchedule(restarts, max_steps=20)
    steps = [19, 20, 21, 22, 10**6 + 1]
    assert [float(bounded(step)) for step in steps] == list(np.float32(restarts(steps)))


def test_lr_stays_float32_under_float16_floatx(adapter):
    import keras

    tiny = lrsched.constant(1.2e-8)
    previous = keras.config.floatx()
    keras.config.set_floatx("float16")
    try:
        value = adapter.KerasSchedule(tiny)(3)
    finally:
        keras.config.set_floatx(previous)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert float(value) == np.float32(1.2e-8) and np.float16(1.2e-8) == 0.0


# ---- bad calls, exact messages ------------------------------------------------------------


def _model(learning_rate=0.1, compiled=True):
    """A small built model for the callbacks and the range test (Keras already imported)."""
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    if compiled:
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    return model


def _attached(callback, compiled=True, learning_rate=0.1):
    callback.set_model(_model(learning_rate, compiled))
    return callback


X = np.ones((8, 2), "float32")
Y = np.ones((8, 1), "float32")
COSINE = lrsched.cosine(0.1, 10)
EXPONENTIAL = lrsched.exponential(0.1, 0.9)
PLATEAU = lrsched.plateau(0.1)
INTEGER_STEP = (
    "KerasSchedule(): step must be a whole number (Keras passes "
    "optimizer.iterations); got {} of dtype {}; for fractional steps call the "
    "lrsched schedule itself"
)
PLATEAU_AS_SCHEDULE = (
    "{}(): schedule must be an lrsched schedule of the step; a plateau depends on a metric, "
    "use PlateauCallback(plateau, monitor=...) with a float learning rate instead, "
    "got plateau(base=0.1)"
)
WRAPPED = (
    "{}(): schedule must be an lrsched schedule (pass keras_schedule.schedule, the "
    "lrsched schedule it wraps), got KerasSchedule(cosine(base_lr=0.1, total_steps=10))"
)


def _bare_function(step):
    return 0.1


BARE_FUNCTION = (
    "{}(): schedule must be an lrsched schedule, got {!r}; "
    "a function of the step is wrapped as lrsched.lambda_lr(base_lr, fn) (LR = base_lr * "
    "fn(step), as torch's LambdaLR; lrsched.lambda_lr(1.0, fn) when fn returns the LR itself)"
)
SCHEDULE_AS_PLATEAU = (
    "PlateauCallback(): plateau must be an lrsched.plateau (a schedule of "
    "the step goes in KerasSchedule or ScheduleCallback), got {}"
)
REBUILD = "KerasSchedule.from_config(): cannot rebuild the saved schedule: "
CONFIG_SHAPE = (
    "KerasSchedule.from_config(): config must be a dict with keys 'schedule' and "
    "'max_steps', got {}"
)
NO_OPTIMIZER = "{}(): the model has no optimizer; call model.compile(optimizer=...) before fit"
MONITOR = "PlateauCallback(): monitor must be a metric name (a non-empty str), got {}"
INTERVAL = "{}(): interval must be one of 'step', 'epoch', got {}"
MAX_STEPS = "KerasSchedule(): max_steps must be an integer >= 0, got {}"

BAD_CALLS = [
    # KerasSchedule(schedule): not a schedule, or the wrong kind
    (
        lambda a: a.KerasSchedule(0.1),
        TypeError,
        "KerasSchedule(): schedule must be an lrsched schedule, got 0.1",
    ),
    (
        lambda a: a.KerasSchedule("cosine(0.1, 10)"),
        TypeError,
        "KerasSchedule(): schedule must be an lrsched schedule, got 'cosine(0.1, 10)'",
    ),
    (lambda a: a.KerasSchedule(PLATEAU), TypeError, PLATEAU_AS_SCHEDULE.format("KerasSchedule")),
    (
        lambda a: a.KerasSchedule(_bare_function),
        TypeError,
        BARE_FUNCTION.format("KerasSchedule", _bare_function),
    ),
    (
        lambda a: a.KerasSchedule(a.KerasSchedule(COSINE)),
        TypeError,
        WRAPPED.format("KerasSchedule"),
    ),
    # max_steps (optional): wrong type, bool, NaN/inf, negative, fractional
    (lambda a: a.KerasSchedule(COSINE, max_steps=-1), ValueError, MAX_STEPS.format(-1)),
    (lambda a: a.KerasSchedule(EXPONENTIAL, max_steps=True), TypeError, MAX_STEPS.format(True)),
    (
        lambda a: a.KerasSchedule(EXPONENTIAL, max_steps=np.bool_(True)),
        TypeError,
        MAX_STEPS.format("np.True_"),
    ),
    (lambda a: a.KerasSchedule(EXPONENTIAL, max_steps=1.5), ValueError, MAX_STEPS.format(1.5)),
    (
        lambda a: a.KerasSchedule(EXPONENTIAL, max_steps=np.float64(2.5)),
        ValueError,
        MAX_STEPS.format("np.float64(2.5)"),
    ),
    (
        lambda a: a.KerasSchedule(EXPONENTIAL, max_steps=float("nan")),
        ValueError,
        MAX_STEPS.format("nan"),
    ),
    (
        lambda a: a.KerasSchedule(EXPONENTIAL, max_steps=float("inf")),
        ValueError,
        MAX_STEPS.format("inf"),
    ),
    (lambda a: a.KerasSchedule(EXPONENTIAL, max_steps="100"), TypeError, MAX_STEPS.format("'100'")),
    # KerasSchedule.__call__ eagerly: negative, fractional, NaN, bool, None
    (
        lambda a: a.KerasSchedule(COSINE)(-1),
        ValueError,
        "KerasSchedule(): step must be >= 0, got -1",
    ),
    (
        lambda a: a.KerasSchedule(COSINE)(np.int64(-3)),
        ValueError,
        "KerasSchedule(): step must be >= 0, got -3",
    ),
    (
        lambda a: a.KerasSchedule(COSINE)(_int_tensor([2, -1])),
        ValueError,
        "KerasSchedule(): step must be >= 0, got -1",
    ),
    (
        lambda a: a.KerasSchedule(COSINE)(-2.0),
        ValueError,
        "KerasSchedule(): step must be >= 0, got -2.0",
    ),
    (lambda a: a.KerasSchedule(COSINE)(1.5), TypeError, INTEGER_STEP.format(1.5, "float32")),
    (
        lambda a: a.KerasSchedule(COSINE)(float("nan")),
        TypeError,
        INTEGER_STEP.format("nan", "float32"),
    ),
    (
        lambda a: a.KerasSchedule(COSINE)(np.float32(1.5)),
        TypeError,
        INTEGER_STEP.format(1.5, "float32"),
    ),
    (lambda a: a.KerasSchedule(COSINE)(True), TypeError, INTEGER_STEP.format(True, "bool")),
    (lambda a: a.KerasSchedule(COSINE)("3"), TypeError, INTEGER_STEP.format("'3'", "string")),
    (lambda a: a.KerasSchedule(COSINE)(None), TypeError, INTEGER_STEP.format(None, "NoneType")),
    # KerasSchedule.from_config: wrong shape, and a schedule config that cannot be rebuilt
    (
        lambda a: a.KerasSchedule.from_config("cosine(0.1, 10)"),
        ValueError,
        CONFIG_SHAPE.format("'cosine(0.1, 10)'"),
    ),
    (lambda a: a.KerasSchedule.from_config({}), ValueError, CONFIG_SHAPE.format("{}")),
    (
        lambda a: a.KerasSchedule.from_config(
            {"schedule": {"type": "constant", "base_lr": 0.1}, "max_steps": None, "extra": 1}
        ),
        ValueError,
        CONFIG_SHAPE.format(
            "{'schedule': {'type': 'constant', 'base_lr': 0.1}, 'max_steps': None, 'extra': 1}"
        ),
    ),
    (
        lambda a: a.KerasSchedule.from_config({"schedule": {"type": "cosinus"}}),
        ValueError,
        REBUILD
        + "from_config(): unknown schedule type 'cosinus'; valid types: "
        + ", ".join(sorted(families())),
    ),
    (
        lambda a: a.KerasSchedule.from_config({"schedule": "cosine(0.1, 10)"}),
        ValueError,
        REBUILD + "from_config(): config must be a dict with a 'type' key, got str",
    ),
    (
        lambda a: a.KerasSchedule.from_config(
            {"schedule": dict(COSINE.to_config(), total_steps="10")}
        ),
        ValueError,
        REBUILD + "cosine(): total_steps must be a positive integer, got '10'",
    ),
    (
        lambda a: a.KerasSchedule.from_config({"schedule": PLATEAU.to_config()}),
        ValueError,
        REBUILD + PLATEAU_AS_SCHEDULE.format("KerasSchedule"),
    ),
    (
        lambda a: a.KerasSchedule.from_config(
            {"schedule": EXPONENTIAL.to_config(), "max_steps": "5"}
        ),
        ValueError,
        REBUILD + MAX_STEPS.format("'5'"),
    ),
    # ScheduleCallback
    (
        lambda a: a.ScheduleCallback(0.1),
        TypeError,
        "ScheduleCallback(): schedule must be an lrsched schedule, got 0.1",
    ),
    (
        lambda a: a.ScheduleCallback(PLATEAU),
        TypeError,
        PLATEAU_AS_SCHEDULE.format("ScheduleCallback"),
    ),
    (
        lambda a: a.ScheduleCallback(a.KerasSchedule(COSINE)),
        TypeError,
        WRAPPED.format("ScheduleCallback"),
    ),
    (
        lambda a: a.ScheduleCallback(COSINE, interval="batch"),
        ValueError,
        INTERVAL.format("ScheduleCallback", "'batch'"),
    ),
    (
        lambda a: a.ScheduleCallback(COSINE, interval="Epoch"),
        ValueError,
        INTERVAL.format("ScheduleCallback", "'Epoch'"),
    ),
    (
        lambda a: a.ScheduleCallback(COSINE, interval=1),
        TypeError,
        INTERVAL.format("ScheduleCallback", 1),
    ),
    (
        lambda a: _attached(a.ScheduleCallback(COSINE), compiled=False).on_train_begin(),
        ValueError,
        NO_OPTIMIZER.format("ScheduleCallback"),
    ),
    # PlateauCallback
    (
        lambda a: a.PlateauCallback(COSINE),
        TypeError,
        SCHEDULE_AS_PLATEAU.format("cosine(base_lr=0.1, total_steps=10)"),
    ),
    (
        lambda a: a.PlateauCallback(a.KerasSchedule(COSINE)),
        TypeError,
        SCHEDULE_AS_PLATEAU.format("KerasSchedule(cosine(base_lr=0.1, total_steps=10))"),
    ),
    (
        lambda a: a.PlateauCallback(0.1),
        TypeError,
        "PlateauCallback(): plateau must be an lrsched.plateau, got 0.1",
    ),
    (lambda a: a.PlateauCallback(PLATEAU, monitor=""), TypeError, MONITOR.format("''")),
    (lambda a: a.PlateauCallback(PLATEAU, monitor=None), TypeError, MONITOR.format(None)),
    (lambda a: a.PlateauCallback(PLATEAU, monitor=b"loss"), TypeError, MONITOR.format("b'loss'")),
    (
        lambda a: a.PlateauCallback(PLATEAU, interval="batch"),
        ValueError,
        INTERVAL.format("PlateauCallback", "'batch'"),
    ),
    (
        lambda a: a.PlateauCallback(PLATEAU, state=PLATEAU.init().to_dict()),
        TypeError,
        "PlateauCallback(): state must be a PlateauState or None (a saved dict goes through "
        "plateau.state_from_dict(d)), got {'lr': 0.1, 'updates': 0, 'best': inf, "
        "'bad_updates': 0, 'cooldown_left': 0, 'scale': 1.0}",
    ),
    (
        lambda a: _attached(a.PlateauCallback(PLATEAU, monitor="val_los")).on_epoch_end(
            0, {"loss": 1.0, "val_loss": 2.0}
        ),
        ValueError,
        "PlateauCallback(): monitor='val_los' is not in the logs; logged metrics: "
        "['learning_rate', 'loss', 'val_loss'] (val_* metrics need validation data, every "
        "epoch)",
    ),
    (
        lambda a: _attached(
            a.PlateauCallback(PLATEAU, monitor="loss", interval="step")
        ).on_train_batch_end(0, None),
        ValueError,
        "PlateauCallback(): monitor='loss' is not in the logs; logged metrics: [] "
        "(val_* metrics need validation data, every epoch)",
    ),
    (
        lambda a: _attached(a.PlateauCallback(PLATEAU)).on_epoch_end(0, {"val_loss": "low"}),
        TypeError,
        "PlateauCallback(): monitor='val_loss' must log a number, got 'low'",
    ),
    (
        lambda a: _attached(a.PlateauCallback(PLATEAU), compiled=False).on_train_begin(),
        ValueError,
        NO_OPTIMIZER.format("PlateauCallback"),
    ),
    (
        lambda a: _attached(
            a.PlateauCallback(PLATEAU), learning_rate=a.KerasSchedule(COSINE)
        ).on_train_begin(),
        TypeError,
        "PlateauCallback(): cannot set the learning rate of SGD: it was built with a "
        "LearningRateSchedule (or a callable) as learning_rate, and Keras does not allow "
        "setting those. Build the optimizer with a float learning rate, e.g. "
        "keras.optimizers.Adam(learning_rate=1e-3), for this callback to drive it; or pass "
        "KerasSchedule(schedule) as learning_rate and drop the callback.",
    ),
    # range_test (lrsched.adapters.keras.range_test)
    (
        lambda a: a.range_test("model", X, Y),
        TypeError,
        "range_test(): model must be a keras.Model, got 'model'",
    ),
    (
        lambda a: a.range_test(_model(), X, Y, batch_size=0),
        ValueError,
        "range_test(): batch_size must be a positive integer, got 0",
    ),
    (
        lambda a: a.range_test(_model(), X, Y, batch_size=True),
        TypeError,
        "range_test(): batch_size must be a positive integer, got True",
    ),
    (
        lambda a: a.range_test(_model(), X, Y[:5]),
        ValueError,
        "range_test(): x and y must have the same number of rows (len(x)=8, len(y)=5)",
    ),
    (
        lambda a: a.range_test(_model(), X, Y, start_lr=float("nan")),
        ValueError,
        "range_test(): start_lr must be a finite number, got nan",
    ),
    (
        lambda a: a.range_test(_model(), X, Y, start_lr=True),
        TypeError,
        "range_test(): start_lr must be a real number, got True",
    ),
    (
        lambda a: a.range_test(_model(), X, Y, start_lr=1.0, end_lr=0.1),
        ValueError,
        "range_test(): end_lr must be greater than start_lr=1.0, got 0.1",
    ),
    (
        lambda a: a.range_test(_model(), X, Y, num_steps=np.float64(3.5)),
        ValueError,
        "range_test(): num_steps must be an integer >= 3, got np.float64(3.5)",
    ),
    (
        lambda a: a.range_test(_model(), X, Y, mode="cos"),
        ValueError,
        "range_test(): mode must be one of 'exp', 'linear', got 'cos'",
    ),
    (
        lambda a: a.range_test(_model(), X, Y, diverge_factor=float("inf")),
        ValueError,
        "range_test(): diverge_factor must be a finite number, got inf",
    ),
    (
        lambda a: a.range_test(_model(), dataset=[]),
        ValueError,
        "range_test(): dataset yielded no batches",
    ),
    (
        lambda a: a.range_test(_model(), dataset="abc"),
        TypeError,
        "range_test(): dataset must be a re-iterable of (x, y) batches, got 'abc'",
    ),
    (
        lambda a: a.range_test(_model(), dataset=[X]),
        TypeError,
        "range_test(): dataset must yield (x, y) batches, got a batch of type ndarray",
    ),
]


def _int_tensor(values):
    import keras

    return keras.ops.convert_to_tensor(np.array(values, dtype="int32"))


@table(BAD_CALLS)
def test_bad_calls_are_refused_with_exact_messages(adapter, call, error, message):
    assert_refused(lambda: call(adapter), error, message)


def test_range_test_refuses_a_schedule_optimizer_naming_it(adapter):
    # The optimizer's repr carries a memory address, so only its type is pinned.
    with pytest.raises(TypeError) as raised:
        adapter.range_test(_model(adapter.KerasSchedule(COSINE)), X, Y)
    assert str(raised.value).startswith(
        "range_test(): model.optimizer must be an optimizer created with a float "
        "learning_rate (a schedule's LR cannot be set per step), got <keras."
    )
    assert "SGD object at" in str(raised.value)


def test_edge_arguments_that_are_valid(adapter):
    # numpy integers and integral floats are the integer; max_steps=0 serves step 0 only.
    limited = adapter.KerasSchedule(EXPONENTIAL, max_steps=np.int64(5))
    assert limited.max_steps == 5 and type(limited.get_config()["max_steps"]) is int
    assert adapter.KerasSchedule(EXPONENTIAL, max_steps=5.0).max_steps == 5
    assert float(adapter.KerasSchedule(EXPONENTIAL, max_steps=0)(np.int64(0))) == np.float32(0.1)
    # A metric of NaN (a diverged loss) counts as not improving, as in torch.
    callback = _attached(adapter.PlateauCallback(lrsched.plateau(0.1, patience=0)))
    callback.on_epoch_end(0, {"val_loss": 1.0})
    callback.on_epoch_end(1, {"val_loss": float("nan")})
    assert callback.state.lr == lrsched.plateau(0.1, patience=0).replay([1.0, np.nan])[-1]
    assert callback.state.lr < 0.1


# ---- corrupted or foreign checkpoints ------------------------------------------------------


@pytest.fixture(scope="module")
def saved_model(adapter, tmp_path_factory):
    """A .keras file whose optimizer's LR is KerasSchedule(exponential, max_steps=50)."""
    model = _model(adapter.KerasSchedule(EXPONENTIAL, max_steps=50))
    path = tmp_path_factory.mktemp("checkpoint") / "model.keras"
    model.save(path)
    return path


def _edited_copy(original, folder, edit):
    """A copy of the .keras file with ``edit`` applied to the saved KerasSchedule config."""
    import zipfile

    with zipfile.ZipFile(original) as source:
        config = json.loads(source.read("config.json"))
        entry = config["compile_config"]["optimizer"]["config"]["learning_rate"]
        assert entry["registered_name"] == "lrsched>KerasSchedule"
        edit(entry["config"])
        path = folder / "edited.keras"
        with zipfile.ZipFile(path, "w") as target:
            for name in source.namelist():
                data = json.dumps(config) if name == "config.json" else source.read(name)
                target.writestr(name, data)
    return path


def _set(key, value, inner=False):
    def edit(config):
        (config["schedule"] if inner else config)[key] = value

    return edit


def _drop(key):
    def edit(config):
        del config[key]

    return edit


# Keras passes a ValueError from from_config through unchanged (a TypeError it would wrap
# in advice about get_config), so load_model shows exactly these messages.
CORRUPTED = [
    (
        _set("type", "cosinus", inner=True),
        REBUILD
        + "from_config(): unknown schedule type 'cosinus'; valid types: "
        + ", ".join(sorted(families())),
    ),
    (
        _set("gamma", -0.5, inner=True),
        REBUILD + "exponential(): gamma must be a positive number, got -0.5",
    ),
    (
        _set("gamma", float("nan"), inner=True),
        REBUILD + "exponential(): gamma must be a finite number, got nan",
    ),
    (
        _set("gamma", "0.9", inner=True),
        REBUILD + "exponential(): gamma must be a real number, got '0.9'",
    ),
    (
        _set("warmup_steps", 10, inner=True),
        REBUILD + "from_config(): unknown key(s) ['warmup_steps'] for exponential; valid keys: "
        "['base_lr', 'gamma', 'decay_steps', 'staircase']",
    ),
    (
        _set("extra", 1),
        CONFIG_SHAPE.format(
            "{'schedule': {'type': 'exponential', 'base_lr': 0.1, 'gamma': 0.9, "
            "'decay_steps': 1, 'staircase': False}, 'max_steps': 50, 'extra': 1}"
        ),
    ),
    (_drop("schedule"), CONFIG_SHAPE.format("{'max_steps': 50}")),
    (_set("max_steps", -5), REBUILD + MAX_STEPS.format(-5)),
    (_set("schedule", PLATEAU.to_config()), REBUILD + PLATEAU_AS_SCHEDULE.format("KerasSchedule")),
    (_set("schedule", {"type": "lambda_lr", "base_lr": 0.1, "fn": "not_registered_here"}), None),
]


@pytest.mark.parametrize("edit, message", CORRUPTED, ids=[str(i) for i in range(len(CORRUPTED))])
def test_load_model_refuses_an_edited_schedule_naming_the_problem(
    adapter, saved_model, tmp_path, edit, message
):
    import keras

    path = _edited_copy(saved_model, tmp_path, edit)
    with pytest.raises(ValueError) as raised:
        keras.models.load_model(path)
    if message is None:  # the registry's listing depends on what other tests registered
        assert str(raised.value).startswith(
            REBUILD + "lambda_lr(): fn must be a callable or the name of a registered "
            "function (lrsched.register_function), got 'not_registered_here'; registered: "
        )
    else:
        assert str(raised.value) == message


def test_load_model_of_the_unedited_copy_restores_the_schedule(adapter, saved_model, tmp_path):
    import keras

    restored = keras.models.load_model(_edited_copy(saved_model, tmp_path, lambda config: None))
    schedule = restored.optimizer._learning_rate
    assert isinstance(schedule, adapter.KerasSchedule)
    assert (schedule.schedule, schedule.max_steps) == (EXPONENTIAL, 50)


def keras_equivalent_plateau(lr, factor, patience, min_delta, cooldown):
    """The lrsched.plateau that reduces exactly when Keras's ReduceLROnPlateau does."""
    return lrsched.plateau(
        lr,
        mode="min",
        factor=factor,
        patience=max(patience - 1, 0),
        threshold=min_delta,
        threshold_mode="abs",
        cooldown=max(cooldown - 1, 0),
        eps=0.0,
    )


# Keras compares metrics in float32 (keras.ops.less); on multiples of 1/64 both sides' sums
# and comparisons are exact, so the rules themselves are what is compared.
@settings(max_examples=40, deadline=None)
@given(
    patience=st.integers(0, 4),
    cooldown=st.integers(0, 3),
    min_delta=st.sampled_from([0.0, 1 / 64, 0.25]),
    metrics=st.lists(st.integers(0, 640).map(lambda k: k / 64), min_size=1, max_size=30),
)
def test_documented_mapping_from_keras_reduce_lr_on_plateau(
    adapter, patience, cooldown, min_delta, metrics
):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    theirs = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss",
        factor=0.5,
        mode="min",
        patience=patience,
        min_delta=min_delta,
        cooldown=cooldown,
    )
    theirs.set_model(model)
    theirs.on_train_begin()
    keras_lrs = []
    for epoch, metric in enumerate(metrics):
        theirs.on_epoch_end(epoch, {"val_loss": metric})
        keras_lrs.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    ours = keras_equivalent_plateau(1.0, 0.5, patience, min_delta, cooldown).replay(metrics)
    np.testing.assert_array_equal(np.float32(keras_lrs), np.float32(ours))


def test_adapter_docstring_examples_run(adapter):
    import doctest

    failures, tried = doctest.testmod(adapter, optionflags=doctest.ELLIPSIS)
    assert tried >= 3 and failures == 0


# ---- every family in a real fit ----------------------------------------------------------


def test_fit_cases_cover_every_family():
    used = set()

    def walk(value):
        if isinstance(value, lrsched.Schedule):
            used.add(type(value).__name__)
            for name in value.__dataclass_fields__:
                walk(getattr(value, name))
        elif isinstance(value, tuple):
            for item in value:
                walk(item)

    for case in FIT_CASES.values():
        walk(case.schedule)
    schedule_families = {
        name
        for name, cls in families().items()
        if issubclass(cls, lrsched.Schedule) and not name.startswith("_")
    }
    assert schedule_families - used == set()


@READS_PROBE
@pytest.mark.parametrize("name", sorted(FIT_CASES))
@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_uses_the_schedule_at_every_step(backend, name):
    results = probe(backend)
    assert results["traced"] == (backend != "torch")
    case = FIT_CASES[name]
    exact = expected_lrs(case.schedule, case.expected_steps())
    if backend == "tensorflow":
        # A plain tf.function serves every schedule (Python past the table).
        np.testing.assert_array_equal(np.float32(results["fits_without_jit"][name]), exact)
    # Under XLA on tensorflow, a Python function whose table ends is refused before the
    # first update (test_user_functions_across_the_end_of_the_table has the message).
    refused = {"lambda_lr"} if backend == "tensorflow" else set()
    assert set(results["refused"]) == refused
    if name in refused:
        assert results["refused"][name]["type"] == "ArgumentTypeError"
        assert results["refused"][name]["lrs"] == [0.0] * case.steps
        return
    np.testing.assert_array_equal(np.float32(results["fits"][name]), exact)


_TENSOR_ADVICE = (
    ", or write the function with tensor operations (keras.ops.minimum instead of min(), "
    "keras.ops.exp instead of math.exp or numpy)"
)
# Why XLA refuses each USER_FUNCTION_CASE that is not XLA_TRACED (a regular expression; the
# error a function raised on a tensor is numpy's or TensorFlow's own words), and the advice.
_XLA_REFUSED = {
    "lambda_lr": (r"halve_every_20 could not be run on a tensor: \w+: .+", _TENSOR_ADVICE),
    "composite": (r"halve_every_20 could not be run on a tensor: \w+: .+", _TENSOR_ADVICE),
    "lambda_lr_default_table": (r"wobble could not be run on a tensor: \w+: .+", _TENSOR_ADVICE),
    # The first probe step is the table's first (it has 6 entries): 1 on numpy, 0.5 traced.
    "lambda_lr_differs_on_tensors": (
        re.escape("on tensors it gives 0.05 at step 0, where the schedule is 0.1"),
        "",
    ),
}


def _xla_refusal(case, why: str, advice: str) -> str:
    """The refusal's message as a regular expression (``why`` is one already)."""
    length = case.max_steps + 1 if case.max_steps is not None else 10**7
    return (
        re.escape(
            f"KerasSchedule(): in {case.schedule!r}, "
            f"{type(_user_family(case.schedule)).__name__} calls a Python function, and the "
            f"schedule goes on past its table of {length} steps, but an XLA-compiled "
            "tensorflow step (jit_compile=True; Keras's jit_compile='auto' picks it on a GPU) "
            "cannot call Python, and the function cannot be traced in its place: "
        )
        + why
        + re.escape(
            "; compile the model with jit_compile=False (steps past the table then come from "
            "the host, exactly), or use ScheduleCallback(schedule) with a float learning rate"
            + advice
        )
    )


def _user_family(schedule):
    from lrsched.adapters._tables import uses_user_function

    return uses_user_function(schedule)


def assert_within_the_traced_bound(schedule, steps, got):
    """Past the table under XLA: ``np.float32(s(t))``, or one float32 ulp from it, or within
    2**-48 of the largest value (the module docstring of lrsched.adapters.keras)."""
    want = expected_lrs(schedule, steps)
    got = np.float32(got)
    ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    near = np.abs(np.float64(got) - np.float64(want)) <= 2.0**-48 * float(want.max())
    assert np.isfinite(got).all() and ((ulps <= 1) | near).all(), (steps, got, want)


def test_the_xla_cases_cover_traced_and_refused_user_functions():
    assert set(_XLA_REFUSED) | XLA_TRACED == set(USER_FUNCTION_CASES)
    assert not set(_XLA_REFUSED) & XLA_TRACED
    # Each kind of traced family, past a short table and past the default one.
    traced = [USER_FUNCTION_CASES[name] for name in XLA_TRACED]
    assert {type(_user_family(case.schedule)).__name__ for case in traced} == {
        "lambda_lr",
        "cyclic",
        "multiplicative",
    }
    assert {case.max_steps is None for case in traced} == {True, False}


@READS_PROBE
@pytest.mark.parametrize("name", sorted(USER_FUNCTION_CASES))
@pytest.mark.parametrize("backend", BACKENDS)
def test_user_functions_across_the_end_of_the_table(backend, name):
    # lambda_lr, multiplicative, a cyclic scale_fn and composites, trained from inside
    # their table to past its end: no max_steps is needed, and every LR is the core's.
    case = USER_FUNCTION_CASES[name]
    assert case.max_steps is None or case.start + case.steps > case.max_steps + 1
    if case.max_steps is None:
        assert case.start < 10**7 < case.start + case.steps
    results = probe(backend)["user_functions"]
    steps = case.expected_steps()
    exact = expected_lrs(case.schedule, steps)
    jits = (True, False) if backend == "tensorflow" else (backend != "torch",)
    assert {key for key in results if key.startswith(name + "/")} == {
        f"{name}/jit={jit}" for jit in jits
    }
    for jit in jits:
        run = results[f"{name}/jit={jit}"]
        if backend == "tensorflow" and jit and name not in XLA_TRACED:
            # XLA cannot call Python and has no run-time error to raise past the table:
            # a function that cannot be traced is refused while the step compiles.
            assert run["type"] == "ArgumentTypeError"
            assert re.fullmatch(_xla_refusal(case, *_XLA_REFUSED[name]), run["message"]), run
            assert run["lrs"] == [0.0] * case.steps
        elif backend == "tensorflow" and jit:
            # The table exactly; past it, the user's function traced on the step tensor.
            lrs = np.float32(run["lrs"])
            length = case.max_steps + 1 if case.max_steps is not None else 10**7
            inside = steps < length
            np.testing.assert_array_equal(lrs[inside], exact[inside])
            assert_within_the_traced_bound(case.schedule, steps[~inside], lrs[~inside])
        else:
            np.testing.assert_array_equal(np.float32(run["lrs"]), exact, err_msg=f"jit={jit}")


@READS_PROBE
@pytest.mark.slow
@pytest.mark.parametrize("name", [*TORCH_JIT_CASES, *sorted(USER_FUNCTION_CASES)])
def test_torch_backend_with_jit_compile_uses_the_schedule_at_every_step(name):
    # jit_compile=True on the torch backend runs the train step under torch.compile; past
    # the table the compiled step breaks its graph to ask the core on the host.
    case = {**FIT_CASES, **USER_FUNCTION_CASES}[name]
    lrs = probe("torch_jit")["fits"][name]
    np.testing.assert_array_equal(
        np.float32(lrs), expected_lrs(case.schedule, case.expected_steps())
    )


@READS_PROBE
@pytest.mark.parametrize("backend", BACKENDS)
def test_callbacks_log_the_learning_rate_into_history(backend):
    results = probe(backend)
    for name, history in results["histories"].items():
        case = FIT_CASES[name]
        # One epoch: the LR of its last update, as Keras's LearningRateScheduler logs it.
        assert history["learning_rate"] == [float(np.float32(case.schedule(case.steps - 1)))]
    # PlateauCallback logs the LR the epoch trained with, before the metric changes it
    # (per batch: the LR the next batch starts with; 3 batches per epoch).
    epoch, step = results["plateau"]["epoch"], results["plateau"]["step"]
    np.testing.assert_array_equal(np.float32(epoch["logged_lrs"]), np.float32(epoch["lrs"]))
    np.testing.assert_array_equal(
        np.float32(step["logged_lrs"][:-1]), np.float32(step["lrs"][3::3])
    )
    assert len(set(step["logged_lrs"])) > 1  # the per-batch run reduces within the fit


@READS_PROBE
@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_callback_sets_float_learning_rate_every_step(backend):
    results = probe(backend)
    assert results["callback_fits"]
    for name, lrs in results["callback_fits"].items():
        case = FIT_CASES[name]
        np.testing.assert_array_equal(
            np.asarray(lrs, dtype=np.float32),
            expected_lrs(case.schedule, case.expected_steps()),
            err_msg=name,
        )


@READS_PROBE
@pytest.mark.slow
def test_keras_own_staircase_can_step_late_under_xla_and_ours_does_not():
    # XLA turns Keras's t / 107 into t * (1/107): at step 107 Keras's ExponentialDecay
    # (staircase) still uses the first stair. KerasSchedule's table is exact.
    results = probe("jax")
    steps = np.arange(110)
    exact = expected_lrs(lrsched.step(1.0, step_size=107, gamma=0.5), steps)
    np.testing.assert_array_equal(np.asarray(results["staircase_lrsched"], np.float32), exact)
    theirs = np.asarray(results["staircase_keras"], np.float32)
    late = np.nonzero(theirs != exact)[0]
    assert set(late) <= {107}, late  # only at the boundary, and only one step late
    assert all(theirs[step] == exact[step - 1] for step in late)


@READS_PROBE
@pytest.mark.parametrize("backend", BACKENDS)
def test_past_max_steps_the_lr_follows_the_schedule(backend):
    # The table holds max_steps + 1 entries; the fit runs twice as long, never NaN.
    used = np.float32(probe(backend)["past_end"])
    assert PAST_END_CASE.steps > 2 * PAST_END_CASE.max_steps
    np.testing.assert_array_equal(
        used, expected_lrs(PAST_END_CASE.schedule, PAST_END_CASE.expected_steps())
    )


@READS_PROBE
@pytest.mark.parametrize("backend", BACKENDS)
def test_callback_errors_are_clear(backend):
    errors = probe(backend)["errors"]
    assert "built with a LearningRateSchedule" in errors["schedule_callback_on_schedule"]
    assert "float learning rate" in errors["schedule_callback_on_schedule"]
    assert "monitor='val_los' is not in the logs" in errors["plateau_missing_metric"]
    assert "'loss'" in errors["plateau_missing_metric"]


@READS_PROBE
@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_mid_training_continues_the_same_trajectory(backend):
    resume = probe(backend)["resume"]
    assert resume["restored_type"] == "KerasSchedule"
    assert resume["restored_schedule"] == resume["schedule"]
    schedule = lrsched.parse(resume["schedule"])
    steps = np.asarray(resume["steps"])
    np.testing.assert_array_equal(steps, np.arange(24, 48))  # 3 more epochs of 8 batches
    np.testing.assert_array_equal(
        np.asarray(resume["lrs"], np.float32), expected_lrs(schedule, steps)
    )
    # Adam state and LR both carried over: the weights equal an uninterrupted run's.
    for straight, resumed in zip(resume["straight"], resume["resumed"]):
        np.testing.assert_allclose(resumed, straight, rtol=1e-6, atol=1e-7)


def test_resume_points_are_mid_epoch_and_on_a_boundary():
    per_epoch = RESUME_CASE.steps_per_epoch
    assert len(RESUME_CASE.points) == 4
    assert sum(point % per_epoch == 0 for point in RESUME_CASE.points) == 1
    assert all(0 < point < RESUME_CASE.steps for point in RESUME_CASE.points)


@READS_PROBE
@pytest.mark.slow
@pytest.mark.parametrize("point", RESUME_CASE.points)
def test_resuming_from_model_save_at_any_point_keeps_the_lr_trajectory(point):
    # jit_compile=True under jax: the saved table is rebuilt and served traced after loading.
    runs = probe("jax")["resume_points"]
    exact = expected_lrs(RESUME_CASE.schedule, np.arange(RESUME_CASE.steps))
    np.testing.assert_array_equal(np.float32(runs["straight"]), exact)
    resumed = runs["resumed"][str(point)]
    assert resumed["restored_iterations"] == point
    assert resumed["restored"] == (
        f"KerasSchedule({RESUME_CASE.schedule!r}, max_steps={RESUME_CASE.max_steps})"
    )
    np.testing.assert_array_equal(np.float32(resumed["lrs"]), np.float32(runs["straight"]))


@READS_PROBE
@pytest.mark.tensorflow
@pytest.mark.parametrize("point", PRODUCT_RESUME_CASE.points)
def test_resuming_a_running_product_under_xla_keeps_the_lr_trajectory(point):
    # Past a table of 6 steps under tensorflow's XLA: the product is carried in the
    # compiled step, and after load_model computed afresh at the restored step.
    runs = probe("tensorflow")["product_resume_points"]
    case = PRODUCT_RESUME_CASE
    steps = np.arange(case.steps)
    straight = np.float32(runs["straight"])
    np.testing.assert_array_equal(straight[:6], expected_lrs(case.schedule, steps[:6]))
    assert_within_the_traced_bound(case.schedule, steps[6:], straight[6:])
    resumed = runs["resumed"][str(point)]
    assert resumed["restored_iterations"] == point
    np.testing.assert_array_equal(np.float32(resumed["lrs"]), straight)


@READS_PROBE
@pytest.mark.parametrize("interval", ["epoch", "step"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_plateau_callback_matches_replay(backend, interval):
    run = probe(backend)["plateau"][interval]
    plateau = lrsched.from_config(run["plateau"])
    replayed = plateau.replay(run["metrics"])
    lrs = np.asarray(run["lrs"], dtype=np.float32)
    # The LR before the first epoch/batch is init()'s; after metric k it is replay[k].
    assert lrs[0] == np.float32(plateau.init().lr)
    np.testing.assert_array_equal(lrs[1:], np.float32(replayed[: len(lrs) - 1]))
    state = plateau.init()
    for metric in run["metrics"]:
        state = plateau.update(state, metric)
    assert run["final_state"] == state.to_dict()
    reduced = (
        state.scale < 1.0
        if isinstance(plateau.base, lrsched.Schedule)
        else replayed.min() < plateau.init().lr
    )
    assert reduced, "the run never reduced the LR, so it proves nothing"


# ---- the same LRs in torch ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["warmup_cosine", "sequence", "cyclic", "exponential", "one_cycle", "lambda_lr"]
)
@READS_PROBE
@pytest.mark.parametrize("backend", BACKENDS)
def test_same_lrs_as_a_torch_loop(backend, name):
    torch = pytest.importorskip("torch")
    adapter = pytest.importorskip("lrsched.adapters.torch")
    case = FIT_CASES[name]
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    scheduler = adapter.ScheduleLR(optimizer, case.schedule)
    torch_lrs = []
    for _ in range(case.steps):
        torch_lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    keras_lrs = np.asarray(probe(backend)["fits"][name], dtype=np.float32)
    np.testing.assert_array_equal(np.float32(torch_lrs), keras_lrs)


# ---- tf.distribute.MirroredStrategy ------------------------------------------------------


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    """What ``keras_cases/mirrored_probe.py`` recorded training on two logical CPUs."""
    missing = _missing("keras", "tensorflow")
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    out = tmp_path_factory.mktemp("mirrored") / "out.json"
    env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONWARNINGS="ignore")
    done = subprocess.run(
        [sys.executable, str(CASES_DIR / "mirrored_probe.py"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT,
    )
    if done.returncode != 0:
        pytest.fail(f"MirroredStrategy probe failed:\n{done.stderr[-4000:]}")
    return json.loads(out.read_text())


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", sorted(MIRRORED_CASES))
@pytest.mark.parametrize("how", ["KerasSchedule", "ScheduleCallback"])
def test_mirrored_strategy_uses_the_schedule_at_every_step(mirrored, how, name):
    # Two replicas, each taking one row of every global batch of two: both replicas'
    # weights record the LR of the update, past the table too (the host, per replica).
    assert mirrored["replicas"] == 2
    case = MIRRORED_CASES[name]
    run = mirrored["fits" if how == "KerasSchedule" else "callback_fits"][name]
    # Keras's jit_compile="auto" is a plain tf.function under tf.distribute.
    assert run["jit_compile"] is False
    assert run["iterations"] == case.start + case.steps
    exact = expected_lrs(case.schedule, case.expected_steps())
    moves = np.float32(run["moves"])
    np.testing.assert_array_equal(moves[:, 0], exact)
    np.testing.assert_array_equal(moves[:, 1], exact)
    if how == "ScheduleCallback":
        assert run["history"]["learning_rate"] == [float(exact[-1])]


@pytest.mark.tensorflow
def test_mirrored_strategy_plateau_callback_matches_replay(mirrored):
    run = mirrored["plateau"]
    replayed = MIRRORED_PLATEAU.replay(run["losses"])
    lrs = np.float32(run["lrs"])
    assert lrs[0] == np.float32(MIRRORED_PLATEAU.init().lr)
    np.testing.assert_array_equal(lrs[1:], np.float32(replayed[:-1]))
    np.testing.assert_array_equal(np.float32(run["logged_lrs"]), lrs)
    assert replayed.min() < MIRRORED_PLATEAU.init().lr, "never reduced: proves nothing"


@pytest.mark.tensorflow
def test_mirrored_strategy_under_xla_fails_in_keras_whatever_the_learning_rate(mirrored):
    # Not lrsched's limit: with a float LR, XLA cannot reach variables mirrored on the
    # other device; this is why Keras's "auto" turns XLA off under tf.distribute.
    assert "tfvariable_on_a_different_device" in mirrored["xla_float_lr_error"]


@pytest.mark.tensorflow
def test_xla_cannot_raise_at_run_time_so_user_functions_are_checked_while_compiling():
    # Why a user function is checked (or refused) at compile time: the in-graph checks
    # TensorFlow has compile to nothing under XLA, so a check of a factor past the table
    # would never fire.
    tf = pytest.importorskip("tensorflow")

    @tf.function(jit_compile=True)
    def past_table(step):
        tf.debugging.Assert(step < 3, ["past the table"])
        nan = tf.where(step < 3, tf.constant(1.0), tf.constant(float("nan")))
        return tf.debugging.check_numerics(nan, "past the table")

    assert np.isnan(past_table(tf.constant(5)).numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="past the table"):
        tf.function(past_table.python_function)(tf.constant(5))  # the same, without XLA

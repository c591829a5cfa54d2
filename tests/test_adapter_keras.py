"""lrsched.adapters.keras: real model.fit runs under jax (traced) and torch (eager).

Keras fixes its backend at import, so each backend trains in its own process:
``keras_cases/fit_probe.py`` fits small models and records the LR every update used (exactly,
through one-hot SGD; see its docstring), and the tests here compare those numbers with the
core's. Both probes start together on first use and run while the in-process tests run.
The in-process tests (config, errors, table bounds, Keras's own ReduceLROnPlateau) run
first, under whichever backend is loaded, while the probes train.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched._registry import FAMILIES

CASES_DIR = Path(__file__).parent / "keras_cases"
if str(CASES_DIR) not in sys.path:
    sys.path.insert(0, str(CASES_DIR))
from keras_fit_cases import FIT_CASES, PAST_END_CASE, import_keras  # noqa: E402

BACKENDS = ("jax", "torch")
PROBE_TIMEOUT = 600
_probes: dict[str, tuple[subprocess.Popen, str]] = {}


def _missing(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


def _stop_unfinished_probes() -> None:
    for process, _ in _probes.values():
        if process.poll() is None:
            process.kill()


def _start_probes() -> None:
    if _probes:
        return
    atexit.register(_stop_unfinished_probes)
    for backend in BACKENDS:
        if _missing("keras", backend):
            continue
        out = os.path.join(tempfile.mkdtemp(prefix=f"lrsched-keras-{backend}-"), "out.json")
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONWARNINGS="ignore")
        process = subprocess.Popen(
            [sys.executable, str(CASES_DIR / "fit_probe.py"), out], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _probes[backend] = (process, out)


_results: dict[str, dict] = {}


def probe(backend: str) -> dict:
    """What the fit probe recorded under ``backend`` (runs it on first use)."""
    if backend in _results:
        return _results[backend]
    missing = _missing("keras", backend)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    _start_probes()
    process, out = _probes[backend]
    _, stderr = process.communicate(timeout=PROBE_TIMEOUT)
    if process.returncode != 0:
        pytest.fail(f"fit probe under KERAS_BACKEND={backend} failed:\n{stderr[-4000:]}")
    with open(out) as handle:
        _results[backend] = json.load(handle)
    return _results[backend]


def expected_lrs(schedule: lrsched.Schedule, steps: np.ndarray) -> np.ndarray:
    """What a float32 optimizer should use: the core's float64 values rounded once."""
    return np.float32(schedule(steps))


# ---- in-process: config, validation, table bounds ----------------------------------------

@pytest.fixture(scope="module")
def adapter():
    _start_probes()  # the fits train in their own processes while these tests run
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
    limited = adapter.KerasSchedule(lrsched.exponential(1.0, 0.5), max_steps=3)
    assert float(limited(3)) == 0.125
    with pytest.raises(ValueError, match="step 4 is past max_steps=3"):
        limited(4)
    import keras

    steps = keras.ops.convert_to_tensor(np.array([0, 1, 3], dtype="int32"))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(limited(steps)), [1.0, 0.5, 0.125])
    with pytest.raises(ValueError, match="step 4 is past max_steps=3"):
        limited(keras.ops.convert_to_tensor(np.array([0, 4], dtype="int32")))


def test_fractional_period_needs_max_steps(adapter):
    # Integer steps do not repeat every 2.5 steps; the table cannot use the period.
    restarts = lrsched.warm_restarts(1.0, period=2.5)
    with pytest.raises(ValueError, match=r"KerasSchedule\(\): max_steps is required"):
        adapter.KerasSchedule(restarts)
    bounded = adapter.KerasSchedule(restarts, max_steps=20)
    assert float(bounded(20)) == np.float32(restarts(20))


@pytest.mark.parametrize("call, error, message", [
    (lambda a: a.KerasSchedule(lrsched.exponential(0.1, 0.9)), ValueError,
     r"max_steps is required for exponential\(base_lr=0.1, gamma=0.9\): it never becomes"),
    (lambda a: a.KerasSchedule(0.1), TypeError, r"schedule must be an lrsched schedule, got 0.1"),
    (lambda a: a.KerasSchedule(lrsched.plateau(0.1)), TypeError, "use PlateauCallback"),
    (lambda a: a.KerasSchedule(lrsched.cosine(0.1, 10), max_steps=-1), ValueError,
     r"KerasSchedule\(\): max_steps must be an integer >= 0, got -1"),
    (lambda a: a.KerasSchedule(lrsched.exponential(0.1, 0.9), max_steps=10**9), ValueError,
     "max_steps must be at most"),
    (lambda a: a.KerasSchedule(lrsched.cosine(0.1, 10))(np.float32(1.5)), TypeError,
     "step must be an integer"),
    (lambda a: a.KerasSchedule.from_config({"schedule": {}, "extra": 1}), ValueError,
     "config must be a dict with keys"),
    (lambda a: a.ScheduleCallback(lrsched.constant(0.1), interval="batch"), ValueError,
     r"ScheduleCallback\(\): interval must be one of 'step', 'epoch', got 'batch'"),
    (lambda a: a.ScheduleCallback(0.1), TypeError, "schedule must be an lrsched schedule"),
    (lambda a: a.PlateauCallback(lrsched.cosine(0.1, 10)), TypeError,
     r"PlateauCallback\(\): plateau must be an lrsched.plateau"),
    (lambda a: a.PlateauCallback(lrsched.plateau(0.1), monitor=""), TypeError, "monitor must be"),
])
def test_bad_arguments(adapter, call, error, message):
    with pytest.raises(error, match=message):
        call(adapter)


def keras_equivalent_plateau(lr, factor, patience, min_delta, cooldown):
    """The lrsched.plateau that reduces exactly when Keras's ReduceLROnPlateau does."""
    return lrsched.plateau(lr, mode="min", factor=factor, patience=max(patience - 1, 0),
                           threshold=min_delta, threshold_mode="abs",
                           cooldown=max(cooldown - 1, 0), eps=0.0)


# Keras compares metrics in float32 (keras.ops.less); on multiples of 1/64 both sides' sums
# and comparisons are exact, so the rules themselves are what is compared.
@settings(max_examples=40, deadline=None)
@given(patience=st.integers(0, 4), cooldown=st.integers(0, 3),
       min_delta=st.sampled_from([0.0, 1 / 64, 0.25]),
       metrics=st.lists(st.integers(0, 640).map(lambda k: k / 64), min_size=1, max_size=30))
def test_documented_mapping_from_keras_reduce_lr_on_plateau(adapter, patience, cooldown,
                                                            min_delta, metrics):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    theirs = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, mode="min",
                                               patience=patience, min_delta=min_delta,
                                               cooldown=cooldown)
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
    schedule_families = {name for name, cls in FAMILIES.items()
                         if issubclass(cls, lrsched.Schedule) and not name.startswith("_")}
    assert schedule_families - used == set()


@pytest.mark.parametrize("name", sorted(FIT_CASES))
@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_uses_the_schedule_at_every_step(backend, name):
    results = probe(backend)
    assert results["traced"] == (backend == "jax")
    case = FIT_CASES[name]
    used = np.asarray(results["fits"][name], dtype=np.float32)
    np.testing.assert_array_equal(used, expected_lrs(case.schedule, case.expected_steps()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_callback_sets_float_learning_rate_every_step(backend):
    results = probe(backend)
    assert results["callback_fits"]
    for name, lrs in results["callback_fits"].items():
        case = FIT_CASES[name]
        np.testing.assert_array_equal(np.asarray(lrs, dtype=np.float32),
                                      expected_lrs(case.schedule, case.expected_steps()),
                                      err_msg=name)


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


@pytest.mark.parametrize("backend", BACKENDS)
def test_past_max_steps_is_loud_never_wrapped(backend):
    results = probe(backend)["past_end"]
    last = PAST_END_CASE.max_steps
    np.testing.assert_array_equal(np.asarray(results["within"], dtype=np.float32),
                                  expected_lrs(PAST_END_CASE.schedule, np.arange(last + 1)))
    if backend == "jax":
        # Traced: update max_steps + 1 reads the table's NaN entry, and NaN spreads to every
        # weight (the loss shows it from the next batch on).
        assert np.isnan(results["beyond"]).all()
    else:
        assert f"step {last + 1} is past max_steps={last}" in results["error"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_callback_errors_are_clear(backend):
    errors = probe(backend)["errors"]
    assert "built with a LearningRateSchedule" in errors["schedule_callback_on_schedule"]
    assert "float learning rate" in errors["schedule_callback_on_schedule"]
    assert "monitor='val_los' is not in the logs" in errors["plateau_missing_metric"]
    assert "'loss'" in errors["plateau_missing_metric"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_mid_training_continues_the_same_trajectory(backend):
    resume = probe(backend)["resume"]
    assert resume["restored_type"] == "KerasSchedule"
    assert resume["restored_schedule"] == resume["schedule"]
    schedule = lrsched.parse(resume["schedule"])
    steps = np.asarray(resume["steps"])
    np.testing.assert_array_equal(steps, np.arange(24, 48))  # 3 more epochs of 8 batches
    np.testing.assert_array_equal(np.asarray(resume["lrs"], np.float32),
                                  expected_lrs(schedule, steps))
    # Adam state and LR both carried over: the weights equal an uninterrupted run's.
    for straight, resumed in zip(resume["straight"], resume["resumed"]):
        np.testing.assert_allclose(resumed, straight, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("interval", ["epoch", "step"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_plateau_callback_matches_replay(backend, interval):
    run = probe(backend)["plateau"][interval]
    plateau = lrsched.from_config(run["plateau"])
    replayed = plateau.replay(run["metrics"])
    lrs = np.asarray(run["lrs"], dtype=np.float32)
    # The LR before the first epoch/batch is init()'s; after metric k it is replay[k].
    assert lrs[0] == np.float32(plateau.init().lr)
    np.testing.assert_array_equal(lrs[1:], np.float32(replayed[:len(lrs) - 1]))
    state = plateau.init()
    for metric in run["metrics"]:
        state = plateau.update(state, metric)
    assert run["final_state"] == state.to_dict()
    reduced = state.scale < 1.0 if isinstance(plateau.base, lrsched.Schedule) \
        else replayed.min() < plateau.init().lr
    assert reduced, "the run never reduced the LR, so it proves nothing"


# ---- the same LRs in torch ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["warmup_cosine", "sequence", "cyclic", "exponential",
                                  "one_cycle", "lambda_lr"])
def test_same_lrs_as_a_torch_loop(name):
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
    keras_lrs = np.asarray(probe("jax")["fits"][name], dtype=np.float32)
    np.testing.assert_array_equal(np.float32(torch_lrs), keras_lrs)



"""ScheduleLR checkpoints that must not load: bad fields, other functions, half loads.

Every test runs the real torch objects: a real optimizer, the scheduler's own
``state_dict()`` (mutated one field at a time), ``torch.save``/``torch.load`` with
``weights_only=True``, and torch's own ``ReduceLROnPlateau``.
"""

import copy
import io
import math
import subprocess
import sys
import warnings

import pytest

import lrsched

torch = pytest.importorskip("torch")
from torch.optim import lr_scheduler as TS  # noqa: E402

from lrsched.adapters.torch import ScheduleLR, from_torch  # noqa: E402

LOAD = "ScheduleLR.load_state_dict(): "


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))


def sgd(net, lr=0.1):
    return torch.optim.SGD(
        [{"params": net[0].parameters()}, {"params": net[1].parameters()}], lr=lr, momentum=0.9
    )


def run(scheduler, steps, metrics=None):
    optimizer = scheduler.optimizer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for index in range(steps):
            optimizer.step()
            scheduler.step() if metrics is None else scheduler.step(metrics[index])


def snapshot(scheduler):
    """Everything a load could change, in the scheduler and in its optimizer."""
    groups = [
        {key: value for key, value in group.items() if key != "params"}
        for group in scheduler.optimizer.param_groups
    ]
    return (
        scheduler.last_epoch,
        scheduler._step_count,
        list(scheduler.get_last_lr()),
        None if scheduler._plateau_states is None else list(scheduler._plateau_states),
        copy.deepcopy(groups),
    )


def stepped_cosine():
    scheduler = ScheduleLR(sgd(model()), lrsched.cosine(0.1, 20), multipliers=[1.0, 0.5])
    run(scheduler, 3)
    return scheduler


def stepped_plateau():
    scheduler = ScheduleLR(sgd(model()), lrsched.plateau(0.1, patience=0, factor=0.5))
    run(scheduler, 3, metrics=[1.0, 1.0, 1.0])
    return scheduler


def set_key(path, value):
    def mutate(state):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return state

    return mutate


def drop_key(path):
    def mutate(state):
        target = state
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return state

    return mutate


STATE_KEYS = "['config', 'format', 'last_epoch', 'last_lr', 'plateau_states', 'step_count']"
CONFIG_KEYS = "['momentum', 'multipliers', 'schedules', 'steps_per_epoch']"
PLATEAU_KEYS = "['bad_updates', 'best', 'cooldown_left', 'lr', 'scale', 'updates']"
PER_GROUP = (
    "a list with one item per param group of the saved scheduler (2, as config['schedules'])"
)

BAD_STATES = [
    # LRs: NaN, negative, a string, inf
    (
        stepped_cosine,
        set_key(["last_lr", 0], math.nan),
        ValueError,
        LOAD + "state_dict['last_lr'][0] must be a finite number, got nan",
    ),
    (
        stepped_cosine,
        set_key(["last_lr", 1], -0.1),
        ValueError,
        LOAD + "state_dict['last_lr'][1] must be a non-negative number, got -0.1",
    ),
    (
        stepped_cosine,
        set_key(["last_lr", 0], "0.1"),
        TypeError,
        LOAD + "state_dict['last_lr'][0] must be a real number, got '0.1'",
    ),
    (
        stepped_cosine,
        set_key(["last_lr"], [0.1]),
        ValueError,
        LOAD + f"state_dict['last_lr'] must be {PER_GROUP}, got [0.1]",
    ),
    (
        stepped_plateau,
        set_key(["plateau_states", 0, "lr"], math.nan),
        ValueError,
        LOAD + "state_dict['plateau_states'][0]['lr'] must be a finite number, got nan",
    ),
    (
        stepped_plateau,
        set_key(["plateau_states", 1, "lr"], -1.0),
        ValueError,
        LOAD + "state_dict['plateau_states'][1]['lr'] must be a non-negative number, got -1.0",
    ),
    (
        stepped_plateau,
        set_key(["plateau_states", 0, "lr"], "0.1"),
        TypeError,
        LOAD + "state_dict['plateau_states'][0]['lr'] must be a real number, got '0.1'",
    ),
    (
        stepped_plateau,
        set_key(["plateau_states", 0, "scale"], math.inf),
        ValueError,
        LOAD + "state_dict['plateau_states'][0]['scale'] must be a finite number, got inf",
    ),
    # plateau_states: empty, the wrong length, a malformed state
    (
        stepped_plateau,
        set_key(["plateau_states"], []),
        ValueError,
        LOAD + f"state_dict['plateau_states'] must be {PER_GROUP}, got []",
    ),
    (
        stepped_plateau,
        lambda state: {**state, "plateau_states": state["plateau_states"] * 2},
        ValueError,
        None,
    ),
    (
        stepped_plateau,
        drop_key(["plateau_states", 0, "best"]),
        ValueError,
        LOAD + f"state_dict['plateau_states'][0] must have exactly the keys {PLATEAU_KEYS}; "
        "missing ['best'], unknown []",
    ),
    (
        stepped_plateau,
        set_key(["plateau_states", 0], 0.05),
        TypeError,
        LOAD + "state_dict['plateau_states'][0] must be a dict from PlateauState.to_dict(), "
        "got 0.05",
    ),
    (
        stepped_plateau,
        set_key(["plateau_states", 0, "updates"], 2.7),
        ValueError,
        LOAD + "state_dict['plateau_states'][0]['updates'] must be an integer >= 0, got 2.7",
    ),
    (
        stepped_plateau,
        set_key(["plateau_states", 0, "bad_updates"], -1),
        ValueError,
        LOAD + "state_dict['plateau_states'][0]['bad_updates'] must be an integer >= 0, got -1",
    ),
    (
        stepped_plateau,
        set_key(["plateau_states", 0, "cooldown_left"], True),
        TypeError,
        LOAD + "state_dict['plateau_states'][0]['cooldown_left'] must be an integer >= 0, got True",
    ),
    # counters: negative, fractional, bool, a string
    (
        stepped_cosine,
        set_key(["last_epoch"], -1),
        ValueError,
        LOAD + "state_dict['last_epoch'] must be an integer >= 0, got -1",
    ),
    (
        stepped_cosine,
        set_key(["last_epoch"], 2.7),
        ValueError,
        LOAD + "state_dict['last_epoch'] must be an integer >= 0, got 2.7",
    ),
    (
        stepped_cosine,
        set_key(["last_epoch"], True),
        TypeError,
        LOAD + "state_dict['last_epoch'] must be an integer >= 0, got True",
    ),
    (
        stepped_cosine,
        set_key(["last_epoch"], "3"),
        TypeError,
        LOAD + "state_dict['last_epoch'] must be an integer >= 0, got '3'",
    ),
    (
        stepped_cosine,
        set_key(["last_epoch"], 2**53 + 1),
        ValueError,
        LOAD + "state_dict['last_epoch'] must be an integer >= 0 up to 2**53 (float64 counts "
        "steps exactly), got 9007199254740993",
    ),
    (
        stepped_plateau,
        set_key(["step_count"], -2),
        ValueError,
        LOAD + "state_dict['step_count'] must be an integer >= 0, got -2",
    ),
    # missing and unknown keys
    (
        stepped_cosine,
        drop_key(["config"]),
        ValueError,
        LOAD + f"state_dict must have exactly the keys {STATE_KEYS} (as "
        "ScheduleLR.state_dict() writes them); missing ['config'], unknown []",
    ),
    (
        stepped_cosine,
        set_key(["extra"], 1),
        ValueError,
        LOAD + f"state_dict must have exactly the keys {STATE_KEYS} (as "
        "ScheduleLR.state_dict() writes them); missing [], unknown ['extra']",
    ),
    (
        stepped_cosine,
        drop_key(["config", "multipliers"]),
        ValueError,
        LOAD + f"state_dict['config'] must have exactly the keys {CONFIG_KEYS} (as "
        "ScheduleLR.state_dict() writes them); missing ['multipliers'], unknown []",
    ),
    (
        stepped_cosine,
        set_key(["config"], "cosine"),
        TypeError,
        LOAD + f"state_dict['config'] must be a dict with the keys {CONFIG_KEYS}, got 'cosine'",
    ),
    # the config's own fields
    (
        stepped_cosine,
        set_key(["config", "multipliers", 0], math.nan),
        ValueError,
        LOAD + "state_dict['config']['multipliers'][0] must be a finite number, got nan",
    ),
    (
        stepped_cosine,
        set_key(["config", "multipliers", 1], -0.5),
        ValueError,
        LOAD + "state_dict['config']['multipliers'][1] must be a non-negative number, got -0.5",
    ),
    (
        stepped_cosine,
        set_key(["config", "steps_per_epoch"], 0),
        ValueError,
        LOAD + "state_dict['config']['steps_per_epoch'] must be a positive number, got 0",
    ),
    (
        stepped_cosine,
        set_key(["config", "schedules"], []),
        ValueError,
        LOAD + "state_dict['config']['schedules'] must be a list of one item per param group, "
        "got []",
    ),
    (
        stepped_cosine,
        set_key(["config", "momentum"], None),
        TypeError,
        LOAD + "state_dict['config']['momentum'] must be a list, got None",
    ),
]


@pytest.mark.parametrize(
    "build, mutate, error, message", BAD_STATES, ids=[str(i) for i in range(len(BAD_STATES))]
)
@pytest.mark.parametrize("strict", [True, False])
def test_a_bad_field_is_refused_by_name_and_nothing_changes(build, mutate, error, message, strict):
    scheduler = build()
    state = mutate(copy.deepcopy(scheduler.state_dict()))
    before = snapshot(scheduler)
    with pytest.raises(error) as raised:
        scheduler.load_state_dict(state, strict=strict)
    assert isinstance(raised.value, lrsched.ArgumentError)
    if message is not None:
        assert str(raised.value) == message
    assert snapshot(scheduler) == before
    # The scheduler goes on as if the load had never been tried.
    twin = build()
    run(scheduler, 2, metrics=None if scheduler._plateau_states is None else [0.5, 0.5])
    run(twin, 2, metrics=None if twin._plateau_states is None else [0.5, 0.5])
    assert scheduler.get_last_lr() == twin.get_last_lr()


def test_the_unchanged_state_still_loads_in_both_modes():
    for build in (stepped_cosine, stepped_plateau):
        scheduler = build()
        for strict in (True, False):
            fresh = ScheduleLR(
                sgd(model()), scheduler.schedules[0], multipliers=scheduler.multipliers
            )
            fresh.load_state_dict(copy.deepcopy(scheduler.state_dict()), strict=strict)
            assert snapshot(fresh)[:4] == snapshot(scheduler)[:4]


def test_a_load_whose_step_cannot_be_evaluated_leaves_everything_as_it_was():
    # Valid fields, but the restored step overflows: the LR table fails before any write.
    grows = lrsched.exponential(1.0, 10.0)
    scheduler = ScheduleLR(sgd(model()), grows, cycle_momentum=False)
    run(scheduler, 3)
    state = scheduler.state_dict()
    state["last_epoch"] = 400
    before = snapshot(scheduler)
    with pytest.raises(lrsched.ArgumentError, match="step 400"):
        scheduler.load_state_dict(state)
    assert snapshot(scheduler) == before
    run(scheduler, 1)
    assert scheduler.get_last_lr() == [grows(4)] * 2


def test_a_load_that_fails_after_writing_the_lr_puts_the_optimizer_back():
    # A plateau writes each group's LR, then momentum, which overflows at the restored
    # step: the LRs already written must be undone, tensors refilled in place.
    net = model()
    optimizer = torch.optim.SGD(
        [{"params": net[0].parameters()}, {"params": net[1].parameters()}],
        lr=torch.tensor(0.1),
        momentum=0.9,
    )
    scheduler = ScheduleLR(
        optimizer,
        lrsched.plateau(0.1, patience=0, factor=0.5),
        momentum=lrsched.exponential(1e-300, 10.0),
    )
    tensors = [group["lr"] for group in optimizer.param_groups]
    run(scheduler, 2, metrics=[1.0, 1.0])
    state = scheduler.state_dict()
    state["last_epoch"] = 700
    for entry in state["plateau_states"]:
        entry["lr"] = 0.001
    before = [float(group["lr"]) for group in optimizer.param_groups]
    momenta = [group["momentum"] for group in optimizer.param_groups]
    with pytest.raises(lrsched.ArgumentError):
        scheduler.load_state_dict(state)
    assert [float(group["lr"]) for group in optimizer.param_groups] == before
    assert [group["lr"] for group in optimizer.param_groups] == tensors  # the same objects
    assert all(a is b for a, b in zip(tensors, (g["lr"] for g in optimizer.param_groups)))
    assert [group["momentum"] for group in optimizer.param_groups] == momenta
    assert scheduler.last_epoch == 2


def test_strict_must_be_a_bool():
    scheduler = stepped_cosine()
    with pytest.raises(TypeError, match=r"strict must be True or False, got 'yes'"):
        scheduler.load_state_dict(scheduler.state_dict(), strict="yes")


def test_a_state_with_tensors_round_trips_through_torch_save_weights_only():
    # A tensor lr (torch.compile) is saved as plain floats and loads under weights_only.
    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=torch.tensor(0.1), momentum=0.9)
    schedule = lrsched.one_cycle(0.1, 50)
    scheduler = ScheduleLR(optimizer, schedule)
    run(scheduler, 7)
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    state = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    assert all(type(lr) is float for lr in state["last_lr"])
    resumed = ScheduleLR(
        torch.optim.SGD(net.parameters(), lr=torch.tensor(0.1), momentum=0.9), schedule
    )
    resumed.load_state_dict(state)
    assert float(resumed.optimizer.param_groups[0]["lr"]) == float(optimizer.param_groups[0]["lr"])
    run(scheduler, 3)
    run(resumed, 3)
    assert [float(x) for x in resumed.get_last_lr()] == [float(x) for x in scheduler.get_last_lr()]


# --- schedules holding a function that is not registered ----------------------------------------


def saved_at(schedule, steps, **options):
    scheduler = ScheduleLR(sgd(model()), schedule, **options)
    run(scheduler, steps)
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    return scheduler, torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)


def test_a_lambda_lr_with_another_function_is_refused_at_the_first_differing_step():
    saved, state = saved_at(lrsched.lambda_lr(0.1, lambda t: 0.5 ** (t // 30)), 35)
    other = ScheduleLR(sgd(model()), lrsched.lambda_lr(0.1, lambda t: 0.5 ** (t // 40)))
    before = snapshot(other)
    with pytest.raises(lrsched.ArgumentError) as raised:
        other.load_state_dict(state)
    assert str(raised.value) == (
        LOAD + f"the checkpoint's schedules[0], {saved.schedules[0]!r}, "
        "holds a function that is not registered, so it is compared by its values: at step 30 "
        "it gave 0.05, but this scheduler's gives 0.1; build the scheduler with the "
        "checkpoint's function (same values; registering it with lrsched.register_function "
        "makes the config name it), or pass strict=False to carry the position and plateau "
        "state over"
    )
    assert snapshot(other) == before
    other.load_state_dict(state, strict=False)  # as documented, strict=False takes the position
    assert other.last_epoch == 35


def test_the_same_lambda_defined_again_loads_and_continues_bit_for_bit():
    saved, state = saved_at(lrsched.lambda_lr(0.1, lambda t: 0.5 ** (t // 30)), 35)
    again = ScheduleLR(sgd(model()), lrsched.lambda_lr(0.1, lambda t: 0.5 ** (t // 30)))
    again.load_state_dict(state)
    run(saved, 40)
    run(again, 40)
    assert again.get_last_lr() == saved.get_last_lr()


@pytest.mark.parametrize(
    "make, same, different",
    [
        (
            lambda fn: lrsched.multiplicative(0.1, fn),
            lambda k: 0.99,
            lambda k: 0.98,
        ),
        (
            # scale_fn of the cycle count: the first cycle is the same, the second is not
            lambda fn: lrsched.cyclic(0.01, 0.1, step_size_up=5, scale_fn=fn),
            lambda c: 1.0 / c,
            lambda c: 1.0 / c**2,
        ),
        (
            lambda fn: lrsched.sequence([lrsched.constant(0.1), lrsched.lambda_lr(0.1, fn)], [20]),
            lambda t: 1.0 / (1.0 + t),
            lambda t: 1.0 / (1.0 + 2.0 * t),
        ),
    ],
    ids=["multiplicative", "cyclic scale_fn", "inside a sequence"],
)
def test_other_user_functions_are_compared_by_value(make, same, different):
    _, state = saved_at(make(same), 12)
    ScheduleLR(sgd(model()), make(same)).load_state_dict(state)
    with pytest.raises(lrsched.ArgumentError, match="compared by its values: at step"):
        ScheduleLR(sgd(model()), make(different)).load_state_dict(state)


def test_a_momentum_schedule_with_another_function_is_refused():
    schedule = lrsched.cosine(0.1, 50)
    _, state = saved_at(schedule, 5, momentum=lrsched.lambda_lr(0.9, lambda t: 1.0))
    other = ScheduleLR(sgd(model()), schedule, momentum=lrsched.lambda_lr(0.9, lambda t: 0.99))
    with pytest.raises(lrsched.ArgumentError, match=r"the checkpoint's momentum\[0\]"):
        other.load_state_dict(state)


def test_a_plateau_over_an_unregistered_schedule_is_compared_by_value():
    def build(fn):
        return ScheduleLR(sgd(model()), lrsched.plateau(lrsched.lambda_lr(0.1, fn), patience=0))

    saved = build(lambda k: min(1.0, (k + 1) / 5))
    run(saved, 3, metrics=[1.0, 0.5, 0.4])
    state = saved.state_dict()
    build(lambda k: min(1.0, (k + 1) / 5)).load_state_dict(state)
    with pytest.raises(lrsched.ArgumentError, match=r"at step 0 it gave 0\.02"):
        build(lambda k: min(1.0, (k + 1) / 10)).load_state_dict(state)


def test_a_function_failing_at_some_probe_steps_still_resumes():
    # Defined on steps 0..99 only: the probes past it are skipped, not held against it.
    table = [0.9**k for k in range(100)]

    def build():
        return ScheduleLR(sgd(model()), lrsched.lambda_lr(0.1, lambda t: table[int(t)]))

    saved = build()
    run(saved, 60)
    state = saved.state_dict()
    values = state["config"]["schedules"][0]["probes"]["values"]
    assert None in values and values[0] == 0.1
    resumed = build()
    resumed.load_state_dict(state)
    run(saved, 20)
    run(resumed, 20)
    assert resumed.get_last_lr() == saved.get_last_lr()


def test_registered_functions_are_compared_by_name():
    @lrsched.register_function(name="guard_halving")
    def halving(t):
        return 0.5 ** (t // 10)

    saved, state = saved_at(lrsched.lambda_lr(0.1, halving), 15)
    assert state["config"]["schedules"][0] == {
        "type": "lambda_lr",
        "base_lr": 0.1,
        "fn": "guard_halving",
    }
    resumed = ScheduleLR(sgd(model()), lrsched.lambda_lr(0.1, "guard_halving"))
    resumed.load_state_dict(state)
    assert resumed.get_last_lr() == saved.get_last_lr()
    with pytest.raises(lrsched.ArgumentError, match="was saved with schedules="):
        ScheduleLR(sgd(model()), lrsched.lambda_lr(0.1, lambda t: 1.0)).load_state_dict(state)


def test_malformed_probes_are_refused_by_name():
    _, state = saved_at(lrsched.lambda_lr(0.1, lambda t: 1.0), 3)
    state["config"]["schedules"][0]["probes"]["values"][2] = math.nan
    with pytest.raises(
        lrsched.ArgumentError,
        match=r"state_dict\['config'\]\['schedules'\]\[0\]\['probes'\]\['values'\]\[2\] must be "
        "a finite number, got nan",
    ):
        ScheduleLR(sgd(model()), lrsched.lambda_lr(0.1, lambda t: 1.0)).load_state_dict(state)


RESUME = """
import sys, torch, lrsched
from lrsched.adapters.torch import ScheduleLR
for fn in [{same}, {other}]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    optimizer = torch.optim.SGD(
        [{{"params": net[0].parameters()}}, {{"params": net[1].parameters()}}],
        lr=0.1,
        momentum=0.9,
    )
    scheduler = ScheduleLR(optimizer, lrsched.lambda_lr(0.1, fn))
    state = torch.load(sys.argv[1], weights_only=True)
    try:
        scheduler.load_state_dict(state)
    except lrsched.ArgumentError as error:
        print("refused", error)
    else:
        for _ in range(10):
            optimizer.step()
            scheduler.step()
        print("resumed", repr(scheduler.get_last_lr()[0]))
"""


@pytest.mark.slow  # a new process imports torch: ~10 s on two shared cores
def test_a_new_process_resumes_with_the_same_lambda_and_refuses_another(tmp_path):
    fn = "lambda t: 0.95 ** t if t < 50 else 0.5 * 0.95 ** t"
    saved, _ = saved_at(lrsched.lambda_lr(0.1, eval(fn)), 45)
    path = tmp_path / "scheduler.pt"
    torch.save(saved.state_dict(), path)
    run(saved, 10)
    code = RESUME.format(same=fn, other="lambda t: 0.95 ** t")
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    same, other = done.stdout.strip().splitlines()
    assert same == f"resumed {saved.get_last_lr()[0]!r}"
    assert other.startswith("refused ") and "at step 50 it gave" in other


# --- torch's ReduceLROnPlateau after reductions ------------------------------------------------


OPTIONS = {"mode": "min", "factor": 0.5, "patience": 1, "cooldown": 1, "min_lr": 0.01}
METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.7, 0.8, 0.8, 0.8, 0.8, 0.6, 0.6, 0.6, 0.6]


def test_from_torch_refuses_a_reduce_lr_on_plateau_that_has_seen_metrics():
    optimizer = torch.optim.SGD(model().parameters(), lr=0.1)
    theirs = TS.ReduceLROnPlateau(optimizer, **OPTIONS)
    for metric in METRICS[:6]:
        optimizer.step()
        theirs.step(metric)
    assert optimizer.param_groups[0]["lr"] < 0.1  # it has reduced
    with pytest.raises(ValueError) as raised:
        from_torch(theirs)
    assert str(raised.value).startswith(
        "from_torch(): scheduler is a ReduceLROnPlateau that has already seen 6 metric(s), and "
        "torch keeps only the current LR (group 0: 0.05), not the one it started from"
    )


@pytest.mark.parametrize("through_file", [False, True])
def test_a_scheduler_takes_over_a_reduced_torch_plateau_and_continues_as_torch(through_file):
    net = model()
    optimizer = sgd(net)
    theirs = TS.ReduceLROnPlateau(optimizer, **OPTIONS)
    converted = from_torch(theirs)  # before its first step: the configuration
    assert converted == lrsched.plateau(0.1, **OPTIONS)
    for metric in METRICS[:8]:
        optimizer.step()
        theirs.step(metric)
    assert optimizer.param_groups[0]["lr"] == 0.025  # two reductions
    state = theirs.state_dict()
    if through_file:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        state = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    # Another optimizer over the same parameters, its LR the configured one again.
    ours = ScheduleLR(sgd(net), converted)
    ours.load_state_dict(state)
    assert ours.get_last_lr() == [0.025, 0.025] and ours.last_epoch == 8
    theirs_lrs, ours_lrs = [], []
    for metric in METRICS[8:] + [0.6] * 6:
        optimizer.step()
        theirs.step(metric)
        theirs_lrs.append([group["lr"] for group in optimizer.param_groups])
        ours.optimizer.step()
        ours.step(metric)
        ours_lrs.append([group["lr"] for group in ours.optimizer.param_groups])
    assert ours_lrs == theirs_lrs
    assert theirs_lrs[-1] == [0.01, 0.01]  # it went on reducing down to min_lr


def test_a_torch_plateau_state_with_other_options_is_refused_unless_not_strict():
    optimizer = sgd(model())
    theirs = TS.ReduceLROnPlateau(optimizer, **OPTIONS)
    for metric in METRICS[:6]:
        optimizer.step()
        theirs.step(metric)
    ours = ScheduleLR(sgd(model()), lrsched.plateau(0.1, **{**OPTIONS, "patience": 3}))
    before = snapshot(ours)
    with pytest.raises(
        lrsched.ArgumentError,
        match="the torch ReduceLROnPlateau state has patience=1, but group 0's plateau has "
        "patience=3",
    ):
        ours.load_state_dict(theirs.state_dict())
    assert snapshot(ours) == before
    ours.load_state_dict(theirs.state_dict(), strict=False)
    assert ours.get_last_lr() == [0.05, 0.05]
    state = theirs.state_dict()
    state["num_bad_epochs"] = -1
    with pytest.raises(
        lrsched.ArgumentError,
        match=r"state_dict\['num_bad_epochs'\] must be an integer >= 0, got -1",
    ):
        ours.load_state_dict(state, strict=False)
    with pytest.raises(lrsched.ArgumentError, match="instead of multipliers"):
        ScheduleLR(sgd(model()), lrsched.plateau(0.1), multipliers=[1.0, 2.0]).load_state_dict(
            theirs.state_dict()
        )


# --- what to pass instead of a schedule ----------------------------------------------------------

LAMBDA_HINT = (
    "a function of the step is wrapped as lrsched.lambda_lr(base_lr, fn) (LR = base_lr * "
    "fn(step), as torch's LambdaLR; lrsched.lambda_lr(1.0, fn) when fn returns the LR itself)"
)


def test_a_bare_function_says_to_wrap_it_in_lambda_lr():
    optimizer = sgd(model())
    fn = lambda t: 0.1 * 0.9**t  # noqa: E731
    for call, name, rule in [
        (lambda: ScheduleLR(optimizer, fn), "schedule", "an lrsched schedule or plateau"),
        (lambda: ScheduleLR(optimizer, [fn, fn]), "schedule[0]", "an lrsched schedule or plateau"),
        (
            lambda: ScheduleLR(optimizer, lrsched.cosine(0.1, 9), momentum=fn),
            "momentum",
            "an lrsched schedule",
        ),
    ]:
        with pytest.raises(lrsched.ArgumentTypeError) as raised:
            call()
        assert (
            str(raised.value) == f"ScheduleLR(): {name} must be {rule}, got {fn!r}; {LAMBDA_HINT}"
        )
    scheduler = ScheduleLR(optimizer, lrsched.cosine(0.1, 9), multipliers=None)
    with pytest.raises(lrsched.ArgumentTypeError) as raised:
        scheduler.add_param_group({"params": [torch.zeros(1, requires_grad=True)]}, schedule=fn)
    assert str(raised.value).endswith(LAMBDA_HINT)
    assert len(optimizer.param_groups) == 2  # refused before the group was added


def test_a_torch_scheduler_says_to_use_from_torch():
    optimizer = sgd(model())
    theirs = TS.StepLR(optimizer, 3)
    with pytest.raises(lrsched.ArgumentTypeError) as raised:
        ScheduleLR(optimizer, theirs)
    assert str(raised.value) == (
        f"ScheduleLR(): schedule must be an lrsched schedule or plateau, got {theirs!r}; a "
        "torch scheduler is converted with lrsched.adapters.torch.from_torch(scheduler), "
        "which returns its schedule"
    )
    ScheduleLR(optimizer, from_torch(theirs))  # and that works


# --- more of the same: calls that used to leave a scheduler half changed -------------------------


def test_a_group_whose_schedule_fails_at_this_step_is_not_added():
    net = model()
    optimizer = torch.optim.SGD(net[0].parameters(), lr=0.1)
    scheduler = ScheduleLR(optimizer, lrsched.constant(0.1))
    run(scheduler, 400)
    extra = torch.nn.Linear(2, 2)
    with pytest.raises(lrsched.ArgumentError, match="overflows float64 at step 400"):
        scheduler.add_param_group(
            {"params": extra.parameters()}, schedule=lrsched.exponential(1.0, 10.0)
        )
    assert len(optimizer.param_groups) == 1 and scheduler.schedules == (lrsched.constant(0.1),)
    run(scheduler, 1)  # it goes on, instead of failing at every step
    assert scheduler.get_last_lr() == [0.1] and scheduler.last_epoch == 401
    scheduler.add_param_group({"params": extra.parameters()}, multiplier=2.0)  # and can retry
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.2]


@pytest.mark.parametrize(
    "make, momentum, message",
    [
        (
            lambda params: torch.optim.Adam(params, lr=0.1),
            lrsched.constant(1.0),
            "ScheduleLR(): the momentum schedule constant(lr=1.0) gives 1.0 at step 0; the "
            "optimizer's betas[0] must be < 1 (as torch's Adam requires; 1 divides by zero): "
            "bound the schedule (e.g. .clip(max_lr=0.99)) or pass another one",
        ),
        (
            lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
            lrsched.constant(1.01),
            "ScheduleLR(): the momentum schedule constant(lr=1.01) gives 1.01 at step 0; the "
            "optimizer's momentum must be <= 1 (above 1 the momentum buffer grows without "
            "bound): bound the schedule (e.g. .clip(max_lr=0.99)) or pass another one",
        ),
    ],
    ids=["adam beta1 = 1", "sgd momentum > 1"],
)
def test_a_momentum_the_optimizer_cannot_use_is_refused(make, momentum, message):
    optimizer = make(model().parameters())
    with pytest.raises(lrsched.ArgumentError) as raised:
        ScheduleLR(optimizer, lrsched.cosine(0.1, 10), momentum=momentum)
    assert str(raised.value) == message
    assert optimizer.param_groups[0]["lr"] == 0.1  # nothing written


def test_a_momentum_that_leaves_the_range_later_raises_at_that_step_and_not_before():
    optimizer = torch.optim.SGD(model().parameters(), lr=0.1, momentum=0.9)
    # 0.9, 0.92, ..., 1.0 at step 5, then 1.02 at step 6
    scheduler = ScheduleLR(
        optimizer, lrsched.cosine(0.1, 10), momentum=lrsched.linear(0.9, 1.1, 10)
    )
    run(scheduler, 5)
    assert optimizer.param_groups[0]["momentum"] == pytest.approx(1.0)
    lr = optimizer.param_groups[0]["lr"]
    with pytest.raises(lrsched.ArgumentError, match=r"gives 1\.02 at step 6"):
        run(scheduler, 1)
    assert scheduler.last_epoch == 5 and optimizer.param_groups[0]["lr"] == lr


def test_a_plateau_step_that_cannot_set_momentum_does_not_count_the_metric():
    optimizer = torch.optim.SGD(model().parameters(), lr=0.1, momentum=0.9)
    momentum = lrsched.piecewise_constant([1], [0.9, 1.5])  # 1.5 from step 2
    scheduler = ScheduleLR(optimizer, lrsched.plateau(0.1, patience=0), momentum=momentum)
    run(scheduler, 1, metrics=[1.0])
    before = snapshot(scheduler)
    with pytest.raises(lrsched.ArgumentError, match=r"gives 1\.5 at step 2"):
        run(scheduler, 1, metrics=[2.0])
    assert snapshot(scheduler) == before


def test_a_plateau_lr_times_a_multiplier_that_overflows_is_refused():
    optimizer = sgd(model())
    with pytest.raises(lrsched.ArgumentError, match="overflows float64 at step 0"):
        ScheduleLR(optimizer, lrsched.plateau(1e300), multipliers=[1.0, 1e10])


def test_a_checkpoint_with_another_number_of_groups_names_both_counts():
    saved = stepped_cosine()
    optimizer = torch.optim.SGD(model().parameters(), lr=0.1, momentum=0.9)
    other = ScheduleLR(optimizer, lrsched.cosine(0.1, 20))
    with pytest.raises(lrsched.ArgumentError) as raised:
        other.load_state_dict(saved.state_dict())
    assert str(raised.value) == (
        LOAD + "the checkpoint was saved by a scheduler over 2 param group(s), but this one "
        "has 1; build the optimizer with the same groups (or repeat the add_param_group "
        "calls) before loading, or pass strict=False to carry the position and plateau "
        "state over"
    )
    other.load_state_dict(saved.state_dict(), strict=False)
    assert other.last_epoch == 3 and other.get_last_lr() == [lrsched.cosine(0.1, 20)(3)]


@pytest.mark.parametrize(
    "value, error, rule",
    [
        (math.nan, ValueError, "a finite number"),
        (-1.0, ValueError, "a non-negative number"),
        ("x", TypeError, "a real number"),
        (True, TypeError, "a real number"),
    ],
)
def test_a_groups_own_lr_scale_is_checked_like_a_multiplier(value, error, rule):
    # timm's layer decay and lrsched's param_groups() put the multiplier in the group.
    net = model()
    optimizer = torch.optim.SGD(
        [{"params": net[0].parameters()}, {"params": net[1].parameters(), "lr_scale": value}],
        lr=0.1,
    )
    with pytest.raises(error) as raised:
        ScheduleLR(optimizer, lrsched.cosine(0.1, 10))
    assert str(raised.value) == (
        f"ScheduleLR(): optimizer.param_groups[1]['lr_scale'] must be {rule}, got {value!r}"
    )


def test_a_one_element_tensor_lr_scale_still_works():
    net = model()
    optimizer = torch.optim.SGD(
        [
            {"params": net[0].parameters()},
            {"params": net[1].parameters(), "lr_scale": torch.tensor(2.0)},
        ],
        lr=0.1,
    )
    ScheduleLR(optimizer, lrsched.cosine(0.1, 10))
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.2]

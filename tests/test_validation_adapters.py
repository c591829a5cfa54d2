"""Bad calls to the torch adapter, the range test and the command line, messages pinned.

The core's table is in test_validation.py; the Keras adapter's table is in
test_adapter_keras.py, next to the fixture that imports Keras with a fixed backend.
"""

import math
import subprocess
import sys

import pytest
from bad_calls import assert_refused, table

import lrsched as L

torch = pytest.importorskip("torch")
from lrsched.adapters.torch import ScheduleLR, from_torch  # noqa: E402
from lrsched.adapters.torch import range_test as torch_range_test  # noqa: E402

model = torch.nn.Linear(2, 1)
cos = L.cosine(0.1, 10)


def sgd():
    return torch.optim.SGD(
        [{"params": [model.weight]}, {"params": [model.bias]}], lr=0.1, momentum=0.9
    )


def constant_loss(lr):
    return 1.0


BAD_CALLS = [
    (
        lambda: ScheduleLR("sgd", cos),
        TypeError,
        "ScheduleLR(): optimizer must be a torch.optim.Optimizer, got 'sgd'",
    ),
    (
        lambda: ScheduleLR(sgd(), 0.1),
        TypeError,
        "ScheduleLR(): schedule must be an lrsched schedule or plateau, got 0.1",
    ),
    (
        lambda: ScheduleLR(sgd(), [cos]),
        ValueError,
        "ScheduleLR(): schedule must have one item per param group "
        "(len(optimizer.param_groups)=2, len(schedule)=1)",
    ),
    (
        lambda: ScheduleLR(sgd(), cos, multipliers=[1.0]),
        ValueError,
        "ScheduleLR(): multipliers must have as many items as optimizer.param_groups, "
        "got len(multipliers)=1, len(optimizer.param_groups)=2",
    ),
    (
        lambda: ScheduleLR(sgd(), cos, multipliers=[1.0, -1]),
        ValueError,
        "ScheduleLR(): multipliers[1] must be a non-negative number, got -1",
    ),
    (
        lambda: ScheduleLR(sgd(), cos, multipliers=[1.0, math.nan]),
        ValueError,
        "ScheduleLR(): multipliers[1] must be a finite number, got nan",
    ),
    (
        lambda: ScheduleLR(sgd(), cos, steps_per_epoch=0),
        ValueError,
        "ScheduleLR(): steps_per_epoch must be a positive number, got 0",
    ),
    (
        lambda: ScheduleLR(sgd(), cos, cycle_momentum="yes"),
        TypeError,
        "ScheduleLR(): cycle_momentum must be None, True, False or (base_momentum, "
        "max_momentum), got 'yes'",
    ),
    (
        lambda: ScheduleLR(sgd(), cos, chunk_size=0),
        ValueError,
        "ScheduleLR(): chunk_size must be a positive integer, got 0",
    ),
    (
        lambda: ScheduleLR(sgd(), L.plateau(0.1)).step(),
        ValueError,
        "ScheduleLR.step(): a plateau schedule needs the metric: call scheduler.step(metric) "
        "after each evaluation, got no metric",
    ),
    (
        lambda: ScheduleLR(sgd(), cos).step(0.5),
        ValueError,
        "ScheduleLR.step(): takes no argument with cosine(base_lr=0.1, total_steps=10), a "
        "function of the step count, got 0.5: call scheduler.step() after each "
        "optimizer.step() (it counts the steps itself, so timm's and torch's step(epoch) are "
        "not needed; step(metric) is for plateau schedules)",
    ),
    (
        lambda: ScheduleLR(torch.optim.Adagrad(model.parameters()), L.one_cycle(1.0, 10)),
        ValueError,
        "ScheduleLR(): momentum cycling needs an optimizer with 'momentum' (SGD, RMSprop) or "
        "'betas' (Adam, AdamW), got Adagrad, which has neither; pass cycle_momentum=False to "
        "schedule only the learning rate",
    ),
    (
        lambda: ScheduleLR(sgd(), cos).load_state_dict({"x": 1}),
        ValueError,
        "ScheduleLR.load_state_dict(): state_dict must come from ScheduleLR.state_dict() "
        "(format 'lrsched.ScheduleLR/1'), got keys ['x']",
    ),
    (
        lambda: ScheduleLR(sgd(), cos).load_state_dict(
            ScheduleLR(sgd(), L.cosine(0.2, 10)).state_dict()
        ),
        ValueError,
        None,
    ),
    (
        lambda: from_torch("x"),
        TypeError,
        "from_torch(): scheduler must be a torch LR scheduler, got 'x'",
    ),
    (
        lambda: L.range_test(5),
        TypeError,
        "range_test(): train_step must be a callable train_step(lr) -> loss, got 5",
    ),
    (
        lambda: L.range_test(constant_loss, start_lr=0),
        ValueError,
        "range_test(): start_lr must be a positive number, got 0",
    ),
    (
        lambda: L.range_test(constant_loss, start_lr=math.nan),
        ValueError,
        "range_test(): start_lr must be a finite number, got nan",
    ),
    (
        lambda: L.range_test(constant_loss, start_lr=1.0, end_lr=0.1),
        ValueError,
        "range_test(): end_lr must be greater than start_lr=1.0, got 0.1",
    ),
    (
        lambda: L.range_test(constant_loss, num_steps=1),
        ValueError,
        "range_test(): num_steps must be an integer >= 3, got 1",
    ),
    (
        lambda: L.range_test(constant_loss, num_steps=True),
        TypeError,
        "range_test(): num_steps must be an integer >= 3, got True",
    ),
    (
        lambda: L.range_test(constant_loss, mode="log"),
        ValueError,
        "range_test(): mode must be one of 'exp', 'linear', got 'log'",
    ),
    (
        lambda: L.range_test(constant_loss, smoothing=1.0),
        ValueError,
        "range_test(): smoothing must be in [0, 1), got 1.0",
    ),
    (
        lambda: L.range_test(constant_loss, diverge_factor=1.0),
        ValueError,
        "range_test(): diverge_factor must be a number > 1 or None, got 1.0",
    ),
    (
        lambda: L.range_test(lambda lr: "x", num_steps=5),
        TypeError,
        "range_test(): train_step must return a real scalar loss, got 'x'",
    ),
    (
        lambda: L.range_test(lambda lr: 1.0 / (1.0 + lr), num_steps=20).suggest("best"),
        ValueError,
        "suggest(): method must be one of 'divergence', 'minimum', 'steep', 'valley', 'slide', "
        "got 'best'",
    ),
    (
        lambda: torch_range_test(
            "m", torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.MSELoss(), []
        ),
        TypeError,
        "range_test(): model must be a torch.nn.Module, got 'm'",
    ),
    (
        lambda: torch_range_test(model, "o", torch.nn.MSELoss(), []),
        TypeError,
        "range_test(): optimizer must be a torch.optim.Optimizer, got 'o'",
    ),
    (
        lambda: torch_range_test(
            model,
            torch.optim.SGD(model.parameters(), lr=0.1),
            torch.nn.MSELoss(),
            [(torch.zeros(1, 2), torch.zeros(1, 1))],
            accumulation_steps=0,
        ),
        ValueError,
        "range_test(): accumulation_steps must be a positive integer, got 0",
    ),
]


@table(BAD_CALLS)
def test_bad_call_raises_with_pinned_message(call, error, message):
    assert_refused(call, error, message)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["values", "cosine(0.1, 0)"],
            "lrsched: error: cosine(): total_steps must be a positive integer, got 0",
        ),
        (
            ["values", "cosine(0.1, 10)", "--steps", "0"],
            "lrsched: error: --steps must be a positive integer, got 0",
        ),
        (["values", "plateau(0.1)"], None),
        (["values", "open('/etc/passwd')"], None),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args, message):
    done = subprocess.run(
        [sys.executable, "-m", "lrsched.cli", *args], capture_output=True, text=True
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lrsched: error: "), done.stderr
    assert "Traceback" not in done.stderr
    if message is not None:
        assert lines[0] == message

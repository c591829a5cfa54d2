"""ScheduleLR with a compiled ``optimizer.step`` (inductor, CPU): tensor lr and betas are
filled in place, so a whole one_cycle run compiles once, and the compiled step uses
exactly ``float32(s(t))``. In the framework suite (``pytest -m frameworks``): the first
inductor compile takes tens of seconds."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch._dynamo.utils import counters

import lrsched
from lrsched.adapters.torch import ScheduleLR

pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated"),
]

STEPS = 30
SCHEDULE = lrsched.one_cycle(0.05, total_steps=STEPS)


def adam(model):
    # torch's advice for compiled optimizers: tensor hyperparameters, so a new value is
    # new data rather than a new constant to guard on.
    return torch.optim.Adam(
        model.parameters(), lr=torch.tensor(0.05), betas=(torch.tensor(0.9), torch.tensor(0.999))
    )


def test_a_compiled_adam_step_compiles_once_over_a_one_cycle_run():
    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    reference = copy.deepcopy(model)
    start = [parameter.detach().clone() for parameter in model.parameters()]
    optimizer, eager = adam(model), adam(reference)
    scheduler, eager_scheduler = ScheduleLR(optimizer, SCHEDULE), ScheduleLR(eager, SCHEDULE)

    @torch.compile
    def compiled_step():
        optimizer.step()

    used, graphs, frames = [], [], []
    for step in range(STEPS):
        inputs = torch.randn(16, 8, generator=torch.Generator().manual_seed(step))
        for net, opt in ((model, optimizer), (reference, eager)):
            opt.zero_grad()
            net(inputs).pow(2).mean().backward()
        group = optimizer.param_groups[0]
        used.append([group["lr"].item(), group["betas"][0].item()])
        compiled_step()
        eager.step()
        scheduler.step()
        eager_scheduler.step()
        graphs.append(counters["stats"]["unique_graphs"])
        frames.append(counters["frames"]["total"])
    assert graphs[0] >= 1 and graphs[-1] == graphs[0], graphs
    assert frames[-1] == frames[1], frames  # no new frame compiled after the first steps
    steps = np.arange(STEPS)
    assert [lr for lr, _ in used] == SCHEDULE(steps).astype(np.float32).tolist()
    assert [b for _, b in used] == SCHEDULE.momentum()(steps).astype(np.float32).tolist()
    # The compiled step read those tensors: it tracks the eager step given the same ones.
    for compiled, plain in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(compiled, plain, rtol=1e-5, atol=1e-6)
    assert not any(torch.equal(a, b) for a, b in zip(model.parameters(), start))  # it trained

"""ScheduleLR on every rank of a real process group (gloo, CPU), run by torchrun.

    torchrun --nproc_per_node=2 distributed_case.py {ddp,fsdp} OUT_DIR

Each rank trains the same small model on its own data, once straight through and once
killed at step KILL and resumed from a checkpoint, and writes what every optimizer.step()
used (LR and beta1), the final parameters and a plateau run driven by the metric averaged
over ranks to OUT_DIR/rank<r>.json. The test compares them with the schedule.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from torch.distributed.fsdp import fully_shard
from torch.nn.parallel import DistributedDataParallel

import lrsched
from lrsched.adapters.torch import ScheduleLR

STEPS, KILL = 30, 12
SCHEDULE = lrsched.one_cycle(0.05, total_steps=STEPS)
PLATEAU = lrsched.plateau(lrsched.warmup(lrsched.constant(0.05), steps=2), patience=1, factor=0.5)


def build(mode: str, schedule=SCHEDULE):
    torch.manual_seed(0)  # the same initial weights on every rank
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    if mode == "ddp":
        model = DistributedDataParallel(model)
    else:
        for layer in model:
            if isinstance(layer, torch.nn.Linear):
                fully_shard(layer)
        fully_shard(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05)
    return model, optimizer, ScheduleLR(optimizer, schedule)


def batch(step: int):
    generator = torch.Generator().manual_seed(1000 * dist.get_rank() + step)
    return torch.randn(8, 4, generator=generator), torch.randn(8, 2, generator=generator)


def train(model, optimizer, scheduler, start: int, stop: int, seen: list) -> None:
    for step in range(start, stop):
        inputs, targets = batch(step)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(inputs), targets).backward()
        group = optimizer.param_groups[0]
        seen.append([float(group["lr"]), float(group["betas"][0])])
        optimizer.step()
        scheduler.step()


def save(mode: str, model, optimizer, scheduler, where: Path) -> None:
    if mode == "ddp":  # one file, written by rank 0: every rank holds the same state
        if dist.get_rank() == 0:
            torch.save(
                {
                    "model": model.module.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                },
                where / "checkpoint.pt",
            )
    else:  # sharded model and optimizer; the scheduler's state is the same on every rank
        model_state, optimizer_state = get_state_dict(model, optimizer)
        dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=where)
        if dist.get_rank() == 0:
            torch.save(scheduler.state_dict(), where / "scheduler.pt")
    dist.barrier()


def load(mode: str, model, optimizer, scheduler, where: Path) -> None:
    if mode == "ddp":
        state = torch.load(where / "checkpoint.pt", weights_only=True)
        model.module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    else:
        model_state, optimizer_state = get_state_dict(model, optimizer)
        state = {"model": model_state, "optimizer": optimizer_state}
        dcp.load(state, checkpoint_id=where)
        set_state_dict(
            model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"]
        )
        scheduler.load_state_dict(torch.load(where / "scheduler.pt", weights_only=True))


def parameters(model) -> list:
    full = model.state_dict()
    values = []
    for name in sorted(full):
        tensor = full[name]
        if hasattr(tensor, "full_tensor"):
            tensor = tensor.full_tensor()
        values.extend(tensor.detach().flatten().tolist())
    return values


def plateau_run() -> dict:
    model, optimizer, scheduler = build("ddp", PLATEAU)
    metrics, lrs = [], []
    for epoch in range(8):
        train(model, optimizer, _NotPerStep(), epoch * 4, epoch * 4 + 4, [])
        inputs, targets = batch(10_000 + epoch)
        with torch.no_grad():
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
        # Every rank must see the same metric, or their plateaus drift apart.
        dist.all_reduce(loss, op=dist.ReduceOp.AVG)
        metrics.append(float(loss))
        scheduler.step(loss)
        lrs.append(float(optimizer.param_groups[0]["lr"]))
    return {"metrics": metrics, "lrs": lrs}


class _NotPerStep:
    """A plateau is stepped once per evaluation, with the metric, not per batch."""

    def step(self):
        pass


def main(mode: str, out: Path) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    straight = []
    model, optimizer, scheduler = build(mode)
    train(model, optimizer, scheduler, 0, STEPS, straight)
    straight_parameters = parameters(model)

    resumed = []
    model, optimizer, scheduler = build(mode)
    train(model, optimizer, scheduler, 0, KILL, resumed)
    where = out / "checkpoint"
    where.mkdir(exist_ok=True)
    save(mode, model, optimizer, scheduler, where)
    del model, optimizer, scheduler  # a new process, as far as the scheduler can tell
    model, optimizer, scheduler = build(mode)
    load(mode, model, optimizer, scheduler, where)
    train(model, optimizer, scheduler, KILL, STEPS, resumed)

    result = {
        "straight": straight,
        "resumed": resumed,
        "straight_parameters": straight_parameters,
        "resumed_parameters": parameters(model),
        "plateau": plateau_run() if mode == "ddp" else None,
    }
    (out / f"rank{rank}.json").write_text(json.dumps(result))
    # DDP's reducer holds the gloo group: freed after destroy_process_group, at exit, it
    # destroys the group holding the GIL while a gloo thread waits for the GIL to drop
    # a finished work's tensors, and the process hangs (torch issue 56297).
    del model, optimizer, scheduler
    gc.collect()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))

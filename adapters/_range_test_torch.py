"""The LR range test driving a real torch model (re-exported as lrsched.adapters.torch)."""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import torch

from lrsched import _validation as check
from lrsched._range_test import RangeTestResult, repeat_batches
from lrsched._range_test import range_test as _core_range_test


def range_test(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               loss_fn: Callable[[Any, Any], torch.Tensor], batches: Iterable, *,
               start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100,
               accumulation_steps: int = 1, mode: str = "exp", smoothing: float = 0.8,
               diverge_factor: float | None = 4.0) -> RangeTestResult:
    """Run ``lrsched.range_test`` on a torch model; model and optimizer are restored after.

    One ramp step is one applied ``optimizer.step()``: with ``accumulation_steps=k`` it
    backpropagates ``loss / k`` over k batches first, and records the mean of their losses
    (the loss of the batches that update trained on). Every param group gets the ramp's LR.
    ``batches`` yields ``(inputs, targets)`` and is iterated again when it runs out (a
    ``DataLoader`` works). The model's weights, its train/eval mode and the optimizer's
    state (momentum buffers, Adam moments, LRs) are restored afterwards, also when a step
    raises.

    Args:
        model: the ``torch.nn.Module`` to train.
        optimizer: an optimizer over the model's parameters.
        loss_fn: ``loss_fn(model(inputs), targets) -> scalar tensor``.
        batches: iterable of ``(inputs, targets)`` pairs.
        start_lr: the ramp's first learning rate (as in ``lrsched.range_test``).
        end_lr: the ramp's last learning rate.
        num_steps: optimizer updates in the ramp, at most.
        mode: ``"exp"`` (geometric ramp) or ``"linear"``.
        smoothing: EMA weight of the smoothed loss the stop uses, in [0, 1).
        diverge_factor: stop threshold factor (> 1), or None to run the whole ramp.
        accumulation_steps: batches per optimizer step, a positive integer.

    Returns:
        ``lrsched.RangeTestResult``.

    Raises:
        ValueError: bad arguments or an empty ``batches``.
        TypeError: arguments of the wrong type (``model`` not a ``torch.nn.Module``, ...).

    torch-lr-finder ``LRFinder(model, optimizer, criterion).range_test(loader, ...)``.
    """
    func = "range_test"
    accumulation_steps = check.integer(func, "accumulation_steps", accumulation_steps,
                                       minimum=1)
    if not isinstance(model, torch.nn.Module):
        check.fail(func, "model", "a torch.nn.Module", model, TypeError)
    if not isinstance(optimizer, torch.optim.Optimizer):
        check.fail(func, "optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
    batch_stream = repeat_batches(batches, "batches")

    def train_step(lr: float) -> float:
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        total = 0.0
        for _ in range(accumulation_steps):
            inputs, targets = next(batch_stream)
            loss = loss_fn(model(inputs), targets)
            (loss / accumulation_steps).backward()
            total += float(loss.detach())
        optimizer.step()
        return total / accumulation_steps

    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    model.train()
    try:
        return _core_range_test(train_step, start_lr, end_lr, num_steps, mode=mode,
                                smoothing=smoothing, diverge_factor=diverge_factor)
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
        optimizer.zero_grad()
        model.train(was_training)


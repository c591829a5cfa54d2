"""The LR range test driving a real torch model (re-exported as lrsched.adapters.torch)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

import lrsched
from lrsched import validation as check
from lrsched.adapters._batches import repeat_batches

_FUNC = "range_test"
# Keys under which a dict batch carries its targets when a criterion is given: the
# Hugging Face stack's "labels" first.
_LABEL_KEYS = ("labels", "label", "targets", "target", "y")
_AMP_DTYPES = (torch.float16, torch.bfloat16)


def range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[Any, Any], torch.Tensor] | None = None,
    batches: Iterable | None = None,
    *,
    loss_fn: Callable[[torch.nn.Module, Any], Any] | None = None,
    val_loader: Iterable | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    accumulation_steps: int = 1,
    amp_dtype: torch.dtype | None = None,
    scaler: Any = None,
    mode: str = "exp",
    smoothing: float = 0.8,
    diverge_factor: float | None = 4.0,
) -> lrsched.RangeTestResult:
    """Run ``lrsched.range_test`` on a torch model; model and optimizer are restored after.

    One ramp step is one applied ``optimizer.step()`` with every param group at the ramp's
    LR: with ``accumulation_steps=k`` it backpropagates ``loss / k`` over k batches first
    and records the mean of their losses (the loss of the batches that update trained
    on). ``batches`` is iterated again when it runs out (a ``DataLoader`` works).

    The loss of a batch is ``loss_fn(model, batch)`` (a scalar tensor, or an output with a
    ``.loss``). Without ``loss_fn`` it depends on the batch:

    * ``(inputs, targets)`` (or ``(*inputs, targets)``): ``criterion(model(*inputs),
      targets)``; without a criterion, ``model(*batch)`` must return the loss;
    * a dict, as the Hugging Face stack yields: ``model(**batch).loss`` (the model computes
      its loss from the ``labels`` in the batch); with a criterion,
      ``criterion(model(**rest), labels)``, the labels under ``"labels"`` (or ``"label"``,
      ``"targets"``, ``"target"``, ``"y"``) and the logits from a tensor output or its
      ``.logits``;
    * a bare tensor: ``model(batch)`` must return the loss (or give ``loss_fn``).

    With ``val_loader`` the loss recorded for step i is the mean loss over all of
    ``val_loader`` (weighted by batch size, in eval mode, without gradients) of the weights
    that step's update is applied to: the same "before the update" convention as the
    training loss, so the explosion's growth rate is read at the right LR
    (torch-lr-finder's ``val_loader``, which evaluates after the update instead).

    Mixed precision: ``amp_dtype`` (``torch.bfloat16`` or ``torch.float16``) runs the
    forward passes and losses under ``torch.autocast`` on the model's device; ``scaler``
    (a ``torch.amp.GradScaler``, enabled or not) scales the losses before backward and
    applies the update through ``scaler.step`` and ``scaler.update``, which skip an
    update whose gradients overflowed (that ramp step is recorded all the same).

    Left as found, also when a step raises: the model's weights and buffers, every
    module's train/eval mode and the parameters' ``.grad``; the optimizer's state
    (momentum buffers, Adam moments, step counts) and param groups, LRs included, written
    back into the same objects (a tensor LR stays the same tensor); the scaler's state.

    Args:
        model: the ``torch.nn.Module`` to train.
        optimizer: an optimizer over the model's parameters.
        criterion: ``criterion(prediction, targets) -> scalar tensor`` (a
            ``torch.nn.MSELoss()``, ...), or None (see above).
        batches: training batches: a ``DataLoader``, a list, any re-iterable.
        loss_fn: ``loss_fn(model, batch) -> loss``, replacing the defaults above.
        val_loader: re-iterable of validation batches, or None to record training losses.
        start_lr: the ramp's first learning rate (as in ``lrsched.range_test``).
        end_lr: the ramp's last learning rate.
        num_steps: optimizer updates in the ramp, at most.
        mode: ``"exp"`` (geometric ramp) or ``"linear"``.
        smoothing: EMA weight of the smoothed loss the stop uses, in [0, 1).
        diverge_factor: stop threshold factor (> 1), or None to run the whole ramp.
        accumulation_steps: batches per optimizer step, a positive integer.
        amp_dtype: None, ``torch.bfloat16`` or ``torch.float16``.
        scaler: None or a ``torch.amp.GradScaler``.

    Returns:
        ``lrsched.RangeTestResult``.

    Raises:
        ValueError: bad arguments, an empty ``batches``, or a batch whose loss cannot be
            found (the message says which ``loss_fn`` to pass).
        TypeError: arguments of the wrong type (``model`` not a ``torch.nn.Module``, ...).

    torch-lr-finder ``LRFinder(model, optimizer, criterion).range_test(loader, ...)``;
    fastai ``Learner.lr_find``.

    >>> import torch, lrsched
    >>> from lrsched.adapters.torch import range_test
    >>> _ = torch.manual_seed(0)
    >>> x = torch.randn(64, 3); y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    >>> model = torch.nn.Linear(3, 1)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    >>> result = range_test(model, optimizer, torch.nn.MSELoss(), [(x, y)],
    ...                     start_lr=1e-4, end_lr=10.0, num_steps=60)
    >>> result.stop_reason, bool(0.01 < result.suggest() < 1.0)
    ('diverged', True)
    >>> optimizer.param_groups[0]["lr"]
    0.01
    """
    batches, accumulation_steps = _checked_arguments(
        model,
        optimizer,
        batches,
        criterion,
        loss_fn,
        val_loader,
        amp_dtype,
        scaler,
        accumulation_steps,
    )

    def batch_loss(batch: Any) -> torch.Tensor:
        with _autocast(model, amp_dtype):
            if loss_fn is not None:
                return _loss_of(loss_fn(model, batch), "loss_fn(model, batch)")
            return _default_loss(model, criterion, batch)

    batch_stream = repeat_batches(batches, "batches")

    def validation_loss(loader: Iterable) -> float:
        total, count = 0.0, 0
        model.eval()
        try:
            with torch.no_grad():
                for batch in loader:
                    size = _batch_size(batch)
                    total += float(batch_loss(batch).detach()) * size
                    count += size
        finally:
            model.train()
        if count == 0:
            raise lrsched.ArgumentError(f"{_FUNC}(): val_loader yielded no batches")
        return total / count

    def train_step(lr: float) -> float:
        recorded = validation_loss(val_loader) if val_loader is not None else None
        for group in optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        optimizer.zero_grad()
        total = 0.0
        for _ in range(accumulation_steps):
            loss = batch_loss(next(batch_stream))
            share = loss / accumulation_steps
            (scaler.scale(share) if scaler is not None else share).backward()
            total += float(loss.detach())
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        return total / accumulation_steps if recorded is None else recorded

    with _restored(model, optimizer, scaler):
        model.train()
        return lrsched.range_test(
            train_step,
            start_lr,
            end_lr,
            num_steps,
            mode=mode,
            smoothing=smoothing,
            diverge_factor=diverge_factor,
        )


def _checked_arguments(
    model, optimizer, batches, criterion, loss_fn, val_loader, amp_dtype, scaler, accumulation_steps
) -> tuple[Iterable, int]:
    """Refuse arguments of the wrong kind before anything runs; the batches and the
    accumulation steps, checked."""
    if not isinstance(model, torch.nn.Module):
        check.fail(_FUNC, "model", "a torch.nn.Module", model, TypeError)
    if not isinstance(optimizer, torch.optim.Optimizer):
        check.fail(_FUNC, "optimizer", "a torch.optim.Optimizer", optimizer, TypeError)
    if criterion is not None and not callable(criterion):
        check.fail(
            _FUNC,
            "criterion",
            "a callable criterion(prediction, targets) or None",
            criterion,
            TypeError,
        )
    if loss_fn is not None and not callable(loss_fn):
        check.fail(_FUNC, "loss_fn", "a callable loss_fn(model, batch) or None", loss_fn, TypeError)
    if loss_fn is not None and criterion is not None:
        check.fail(
            _FUNC,
            "criterion",
            "None when loss_fn is given (loss_fn computes the whole loss)",
            criterion,
        )
    if batches is None or isinstance(batches, (str, bytes, Mapping, torch.Tensor)):
        check.fail(
            _FUNC, "batches", "a re-iterable of batches (a DataLoader, a list)", batches, TypeError
        )
    if val_loader is not None and isinstance(val_loader, (str, bytes, Mapping, torch.Tensor)):
        check.fail(_FUNC, "val_loader", "a re-iterable of batches or None", val_loader, TypeError)
    if amp_dtype is not None and amp_dtype not in _AMP_DTYPES:
        check.fail(_FUNC, "amp_dtype", "None, torch.bfloat16 or torch.float16", amp_dtype)
    if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
        check.fail(_FUNC, "scaler", "a torch.amp.GradScaler or None", scaler, TypeError)
    return batches, check.integer(_FUNC, "accumulation_steps", accumulation_steps, minimum=1)


def _autocast(model: torch.nn.Module, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    parameter = next(model.parameters(), None)
    device_type = parameter.device.type if parameter is not None else "cpu"
    return torch.autocast(device_type=device_type, dtype=dtype)


def _default_loss(model: torch.nn.Module, criterion: Any, batch: Any) -> torch.Tensor:
    if isinstance(batch, Mapping):
        if criterion is None:
            return _loss_of(model(**batch), "model(**batch)")
        key = next((name for name in _LABEL_KEYS if name in batch), None)
        if key is None:
            raise lrsched.ArgumentError(
                f"{_FUNC}(): a dict batch needs its targets under one of {_LABEL_KEYS} for "
                f"the criterion; its keys are {sorted(batch)} (or pass loss_fn(model, batch))"
            )
        inputs = {name: value for name, value in batch.items() if name != key}
        return criterion(_logits_of(model(**inputs)), batch[key])
    if isinstance(batch, (tuple, list)):
        if criterion is None:
            return _loss_of(model(*batch), "model(*batch)")
        if len(batch) < 2:
            raise lrsched.ArgumentError(
                f"{_FUNC}(): a batch for a criterion must be (inputs, targets), "
                f"got a {type(batch).__name__} of {len(batch)}"
            )
        *positional, targets = batch
        return criterion(_logits_of(model(*positional)), targets)
    if criterion is not None:
        raise lrsched.ArgumentError(
            f"{_FUNC}(): a {type(batch).__name__} batch has no targets for the criterion; "
            "yield (inputs, targets) or pass loss_fn(model, batch) instead of a criterion"
        )
    return _loss_of(model(batch), "model(batch)")


def _loss_of(output: Any, source: str) -> torch.Tensor:
    """The scalar loss in an output: a one-element tensor, ``.loss`` or ``["loss"]``."""
    loss = output
    if not isinstance(loss, torch.Tensor):
        loss = getattr(output, "loss", None)
        if loss is None and isinstance(output, Mapping):
            loss = output.get("loss")
    if isinstance(loss, torch.Tensor) and loss.numel() == 1:
        return loss.reshape(())
    raise lrsched.ArgumentTypeError(
        f"{_FUNC}(): {source} gave no scalar loss (got {type(output).__name__}"
        f"{f' of shape {tuple(output.shape)}' if isinstance(output, torch.Tensor) else ''}); "
        "pass a criterion for (inputs, targets) batches, or loss_fn(model, batch)"
    )


def _logits_of(output: Any) -> Any:
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if logits is None and isinstance(output, Mapping):
        logits = output.get("logits")
    if logits is None:
        raise lrsched.ArgumentTypeError(
            f"{_FUNC}(): cannot give the criterion the model's output of type "
            f"{type(output).__name__} (no tensor, no .logits); pass loss_fn"
        )
    return logits


def _batch_size(batch: Any) -> int:
    """Rows in a batch: the length of its first tensor (1 for a scalar or no tensor)."""
    if isinstance(batch, Mapping):
        items = list(batch.values())
    elif isinstance(batch, (tuple, list)):
        items = list(batch)
    else:
        items = [batch]
    for item in items:
        if isinstance(item, torch.Tensor):
            return int(item.shape[0]) if item.dim() else 1
        if isinstance(item, (Mapping, tuple, list)):
            return _batch_size(item)
    return 1


def _saved(value: Any) -> tuple[Any, Any]:
    """(the object, a copy of its value) so that a tensor is restored in place."""
    if isinstance(value, torch.Tensor):
        return value, value.detach().clone()
    return value, copy.deepcopy(value)


def _put_back(original: Any, value: Any) -> Any:
    if isinstance(original, torch.Tensor):
        with torch.no_grad():
            original.copy_(value)
        return original
    return value


@contextlib.contextmanager
def _restored(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: Any):
    """Put model, optimizer and scaler back as they were when the block exits."""
    weights = copy.deepcopy(model.state_dict())
    modes = [(module, module.training) for module in model.modules()]
    grads = [
        (parameter, None if parameter.grad is None else parameter.grad.detach().clone())
        for parameter in model.parameters()
    ]
    groups = [
        {key: _saved(value) for key, value in group.items() if key != "params"}
        for group in optimizer.param_groups
    ]
    state = {
        parameter: {key: _saved(value) for key, value in entry.items()}
        for parameter, entry in optimizer.state.items()
    }
    scaler_state = copy.deepcopy(scaler.state_dict()) if scaler is not None else None
    try:
        yield
    finally:
        model.load_state_dict(weights)
        for module, training in modes:
            module.training = training
        for parameter, grad in grads:
            parameter.grad = grad
        for group, saved in zip(optimizer.param_groups, groups):
            for key in [key for key in group if key != "params" and key not in saved]:
                del group[key]
            for key, (original, value) in saved.items():
                group[key] = _put_back(original, value)
        for tensor in [tensor for tensor in optimizer.state if tensor not in state]:
            del optimizer.state[tensor]
        for tensor, saved in state.items():
            entry = optimizer.state[tensor]
            entry.clear()
            entry.update(
                {key: _put_back(original, value) for key, (original, value) in saved.items()}
            )
        if scaler is not None:
            scaler.load_state_dict(scaler_state)

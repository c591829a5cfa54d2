"""``from_torch`` for torch's ``SWALR`` and ``ChainedScheduler``, where lrsched has an exact twin."""

from __future__ import annotations

from typing import Any

from torch.optim import lr_scheduler as _torch_schedulers
from torch.optim.swa_utils import SWALR

import lrsched

# Schedulers whose step multiplies the current LR by a factor that does not depend on it:
# a chain of them is the product of their schedules (over the shared initial LR).
_MULTIPLICATIVE = (
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "ConstantLR",
    "LinearLR",
    "PolynomialLR",
    "MultiplicativeLR",
)
# Classes converted here that torch.optim.lr_scheduler does not define.
CLASSES = {"SWALR": SWALR}


def swalr(scheduler: Any, index: int) -> lrsched.Schedule:
    """SWALR anneals from the group's LR to ``swa_lr`` over ``anneal_epochs`` and holds it:
    ``swa + (lr - swa)(1 + cos(pi t / A)) / 2`` for ``"cos"``, a straight line for
    ``"linear"``; ``anneal_epochs=0`` starts at ``swa_lr``."""
    group = scheduler.optimizer.param_groups[index]
    start, swa = float(scheduler.base_lrs[index]), float(group["swa_lr"])
    epochs = scheduler.anneal_epochs
    if epochs == 0:
        return lrsched.constant(swa)
    if scheduler.anneal_func.__name__.startswith("_linear"):
        return lrsched.linear(start, swa, epochs)
    return lrsched.cosine(start, epochs, min_lr=swa)


def chained(scheduler: Any, index: int, convert: Any) -> lrsched.Schedule:
    """A chain of multiplicative schedulers: their product over the shared initial LR."""
    children = list(scheduler._schedulers)
    names = [type(child).__name__ for child in children]
    refused = [
        name
        for name in names
        if name not in _MULTIPLICATIVE
        or type(children[names.index(name)]) is not getattr(_torch_schedulers, name, None)
    ]
    if refused:
        raise lrsched.ArgumentTypeError(
            f"from_torch(): ChainedScheduler has an exact lrsched equivalent only when every "
            f"scheduler multiplies the LR by its own factor ({', '.join(_MULTIPLICATIVE)}); "
            f"{', '.join(refused)} sets or adds to it, so the chain's LR depends on the order "
            "of steps (build the schedule with lrsched.sequence or a product instead)"
        )
    schedules = [convert(child, index) for child in children]
    if len(schedules) == 1:
        return schedules[0]
    base = float(children[0].base_lrs[index])
    if base == 0.0:
        return lrsched.constant(0.0)
    return lrsched.product((*schedules, base ** (1 - len(schedules))))

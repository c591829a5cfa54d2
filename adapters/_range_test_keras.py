"""The LR range test driving a real Keras 3 model (re-exported as lrsched.adapters.keras)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import numpy as np

import lrsched
from lrsched import validation as check
from lrsched.adapters._batches import repeat_batches


def range_test(
    model: keras.Model,
    x: Any = None,
    y: Any = None,
    *,
    dataset: Iterable | None = None,
    batch_size: int = 32,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smoothing: float = 0.8,
    diverge_factor: float | None = 4.0,
) -> lrsched.RangeTestResult:
    """Run ``lrsched.range_test`` on a compiled Keras model; weights and optimizer restored.

    Batches come from ``x``/``y`` arrays (in order, ``batch_size`` rows each, wrapping
    around) or from ``dataset``, any re-iterable of ``(x, y)`` batches (a ``tf.data``
    dataset, a list). Each batch is one ``model.train_on_batch``, whose loss is that
    batch's loss (``fit`` callbacks see a running mean over the epoch instead, which lags
    and is not used). One ramp step is one *applied* optimizer update: with the
    optimizer's ``gradient_accumulation_steps=k`` a step spans the batches up to the next
    update (k of them) and records their mean loss. Model weights, metric state and every
    optimizer variable (iterations, LR, moments, accumulators) are restored afterwards,
    also when a step raises; an optimizer that was not built yet is left built, in its
    initial state.

    Args:
        model: a compiled ``keras.Model`` whose optimizer has a float learning rate.
        x: training inputs (give ``x`` and ``y``, or ``dataset``).
        y: training targets.
        dataset: re-iterable of ``(x, y)`` batches instead of ``x``/``y``.
        batch_size: rows per batch for ``x``/``y``.
        start_lr: the ramp's first learning rate (as in ``lrsched.range_test``).
        end_lr: the ramp's last learning rate.
        num_steps: optimizer updates in the ramp, at most.
        mode: ``"exp"`` (geometric ramp) or ``"linear"``.
        smoothing: EMA weight of the smoothed loss the stop uses, in [0, 1).
        diverge_factor: stop threshold factor (> 1), or None to run the whole ramp.

    Returns:
        ``lrsched.RangeTestResult``.

    Raises:
        ValueError: bad arguments, an uncompiled or unbuilt model, or an optimizer whose
            learning rate is a schedule (its LR cannot be set step by step).
        TypeError: arguments of the wrong type (``model`` not a ``keras.Model``).

    Keras-tuner style ``LRFinder`` callbacks; fastai ``lr_find``.
    """
    func = "range_test"
    if not isinstance(model, keras.Model):
        check.fail(func, "model", "a keras.Model", model, TypeError)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        check.fail(func, "model", "compiled (model.compile(optimizer=..., loss=...))", model)
    if not model.built:
        check.fail(func, "model", "built (give it a keras.Input, or call it on a batch)", model)
    if not isinstance(getattr(optimizer, "_learning_rate", None), keras.Variable):
        check.fail(
            func,
            "model.optimizer",
            "an optimizer created with a float learning_rate "
            "(a schedule's LR cannot be set per step)",
            optimizer,
            TypeError,
        )
    batches = repeat_batches(
        _batches(func, x, y, dataset, batch_size), "dataset" if dataset is not None else "x"
    )
    accumulation = int(optimizer.gradient_accumulation_steps or 1)

    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    weights = model.get_weights()
    optimizer_values = [np.array(variable) for variable in optimizer.variables]
    metric_values = [np.array(variable) for variable in model.metrics_variables]

    def train_step(lr: float) -> float:
        optimizer.learning_rate = lr
        losses = []
        # Batches until the optimizer applies an update: it counts every batch in
        # `_iterations` (the public `iterations` is that // k) and updates when the count
        # reaches a multiple of k, so a run starting mid-accumulation is counted right.
        while True:
            batch = next(batches)
            if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
                raise lrsched.ArgumentTypeError(
                    f"{func}(): dataset must yield (x, y) batches, got a batch "
                    f"of type {type(batch).__name__}"
                )
            inputs, targets = batch
            logs = model.train_on_batch(inputs, targets, return_dict=True)
            losses.append(float(logs["loss"]))
            if int(optimizer._iterations) % accumulation == 0:
                return float(np.mean(losses))

    try:
        return lrsched.range_test(
            train_step,
            start_lr,
            end_lr,
            num_steps,
            mode=mode,
            smoothing=smoothing,
            diverge_factor=diverge_factor,
        )
    finally:
        model.set_weights(weights)
        for variable, value in zip(optimizer.variables, optimizer_values):
            variable.assign(value)
        for variable, value in zip(model.metrics_variables, metric_values):
            variable.assign(value)


def _batches(func: str, x: Any, y: Any, dataset: Iterable | None, batch_size: int):
    if isinstance(dataset, (str, bytes, dict)):
        check.fail(func, "dataset", "a re-iterable of (x, y) batches", dataset, TypeError)
    if dataset is not None:
        if x is not None or y is not None:
            check.fail(func, "dataset", "given without x and y", dataset)
        return dataset
    if x is None or y is None:
        check.fail(func, "x", "given together with y (or pass dataset=)", x)
    batch_size = check.integer(func, "batch_size", batch_size, minimum=1)
    rows = len(x)
    if len(y) != rows:
        raise lrsched.ArgumentError(
            f"{func}(): x and y must have the same number of rows (len(x)={rows}, len(y)={len(y)})"
        )
    return [
        (x[start : start + batch_size], y[start : start + batch_size])
        for start in range(0, rows, batch_size)
    ]

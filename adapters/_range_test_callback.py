"""The LR range test as a Keras callback (re-exported as lrsched.adapters.keras)."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np

import lrsched
from lrsched._range_test import _Ramp

_FUNC = "RangeTestCallback"


class RangeTestCallback(keras.callbacks.Callback):
    r"""Run the LR range test inside ``model.fit``; weights, optimizer and LR restored after.

    .. math:: \eta_i = \text{start}\,(\text{end}/\text{start})^{i/(n-1)}
              \text{ before update } i \text{ (mode "exp"; "linear" as in range\_test)}

    ``finder = RangeTestCallback(start_lr=1e-7, end_lr=10, num_steps=100)`` then
    ``model.fit(train_ds, epochs=5, callbacks=[finder])``: before every batch the callback
    sets the optimizer's LR to the ramp's next value and records that batch's own loss
    (it resets the model's metrics before each batch, as the logs ``fit`` hands to
    callbacks hold a running mean over the epoch, which lags). It stops training
    (``model.stop_training``) when the loss diverges, by the rule of ``lrsched.range_test``,
    or when the ramp ends; ``finder.result`` is then a ``lrsched.RangeTestResult`` with
    ``.suggest()`` and ``.plot()``. Give ``fit`` at least ``num_steps`` batches over all its
    epochs; if training ends first the result ends there (``stop_reason="out-of-data"``,
    with a warning).

    One ramp step is one applied update: with the optimizer's
    ``gradient_accumulation_steps=k`` it spans the k batches up to the update and records
    their mean loss. At the end of ``fit`` (``on_train_end``) the model's weights, its
    metric state and every optimizer variable (iterations, moments, accumulators, the
    learning rate) are put back as they were when training began, so training can start
    from there at the suggested LR. If ``fit`` raises, Keras does not call
    ``on_train_end``: call ``finder.restore()`` to put them back.

    Args:
        start_lr: the ramp's first learning rate (as in ``lrsched.range_test``).
        end_lr: the ramp's last learning rate.
        num_steps: optimizer updates in the ramp, at most.
        mode: ``"exp"`` (geometric ramp) or ``"linear"``.
        smoothing: EMA weight of the smoothed loss the stop uses, in [0, 1).
        diverge_factor: stop threshold factor (> 1), or None to run the whole ramp.

    Raises:
        ValueError: bad arguments; at the start of ``fit``, an optimizer whose learning
            rate is a schedule (its LR cannot be set per batch) or ``steps_per_execution``
            > 1 (Keras calls batch callbacks once per execution).
        TypeError: arguments of the wrong type.

    tf.keras ``LRFinder`` callbacks; fastai ``lr_find``; ``lrsched.adapters.keras.range_test``
    runs the same test with ``train_on_batch`` instead of ``fit``.

    >>> from lrsched.adapters.keras import RangeTestCallback
    >>> RangeTestCallback(start_lr=1e-6, end_lr=1.0, num_steps=50)
    RangeTestCallback(start_lr=1e-06, end_lr=1.0, num_steps=50, mode='exp')
    """

    def __init__(
        self,
        *,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_steps: int = 100,
        mode: str = "exp",
        smoothing: float = 0.8,
        diverge_factor: float | None = 4.0,
    ):
        super().__init__()
        # Validates every argument now, with RangeTestCallback() in the messages.
        ramp = _Ramp(
            _FUNC,
            start_lr,
            end_lr,
            num_steps,
            mode=mode,
            smoothing=smoothing,
            diverge_factor=diverge_factor,
        )
        self._options = dict(
            start_lr=float(start_lr),
            end_lr=float(end_lr),
            num_steps=ramp.num_steps,
            mode=mode,
            smoothing=ramp.smoothing,
            diverge_factor=ramp.diverge_factor,
        )
        self._ramp = ramp
        self._saved: dict[str, Any] | None = None
        self._pending: list[float] = []
        self.result: lrsched.RangeTestResult | None = None

    def __repr__(self) -> str:
        options = self._options
        return (
            f"RangeTestCallback(start_lr={options['start_lr']!r}, "
            f"end_lr={options['end_lr']!r}, num_steps={options['num_steps']!r}, "
            f"mode={options['mode']!r})"
        )

    def on_train_begin(self, logs=None):
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            raise lrsched.ArgumentError(
                f"{_FUNC}(): the model has no optimizer; call "
                "model.compile(optimizer=...) before fit"
            )
        if not isinstance(getattr(optimizer, "_learning_rate", None), keras.Variable):
            raise lrsched.ArgumentTypeError(
                f"{_FUNC}(): the optimizer {type(optimizer).__name__} was built with a "
                "LearningRateSchedule (or a callable) as learning_rate, whose LR cannot be "
                "set per batch; build it with a float learning rate, e.g. "
                "keras.optimizers.SGD(learning_rate=0.01)"
            )
        if getattr(model, "steps_per_execution", 1) != 1:
            raise lrsched.ArgumentError(
                f"{_FUNC}(): needs steps_per_execution=1 (Keras calls batch callbacks once per "
                f"execution), got steps_per_execution={model.steps_per_execution}"
            )
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        self._ramp = _Ramp(_FUNC, **self._options)
        self._pending = []
        self.result = None
        self._saved = dict(
            weights=model.get_weights(),
            optimizer=[np.array(variable) for variable in optimizer.variables],
            metrics=[np.array(variable) for variable in model.metrics_variables],
            learning_rate=float(np.array(optimizer.learning_rate)),
        )

    def on_train_batch_begin(self, batch, logs=None):
        model = self.model  # under jax this syncs the state, so assignments take effect
        if self._ramp.done:  # batches Keras runs after stop_training was set
            return
        model.optimizer.learning_rate = self._ramp.lr
        model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        if self._ramp.done:
            return
        model = self.model
        logs = logs or {}
        if "loss" not in logs:
            raise lrsched.ArgumentError(f"{_FUNC}(): fit logged no 'loss' for batch {batch}")
        self._pending.append(float(logs["loss"]))
        optimizer = model.optimizer
        accumulation = int(optimizer.gradient_accumulation_steps or 1)
        # The optimizer counts every batch in `_iterations` and applies an update when the
        # count reaches a multiple of k: the ramp step is over then.
        if int(np.array(optimizer._iterations)) % accumulation:
            return
        loss = float(np.mean(self._pending))
        self._pending = []
        self._ramp.record(loss)
        if self._ramp.done:
            model.stop_training = True

    def on_train_end(self, logs=None):
        ramp = self._ramp
        stop_reason = None
        if not ramp.done:
            stop_reason = "out-of-data"
            warnings.warn(
                f"{_FUNC}(): fit ended after {len(ramp.losses)} of the {ramp.num_steps} ramp "
                f"steps (at lr {ramp.planned[max(len(ramp.losses) - 1, 0)]:.3g}); give fit "
                "more epochs or batches to reach end_lr",
                UserWarning,
                stacklevel=2,
            )
        self.restore()
        if stop_reason and len(ramp.losses) < 3:
            raise lrsched.ArgumentError(
                f"{_FUNC}(): fit ran {len(ramp.losses)} ramp step(s), the range "
                "test needs at least 3; give fit more batches"
            )
        self.result = ramp.result(stop_reason)

    def restore(self) -> None:
        """Put the weights, metric state and optimizer variables back as fit found them."""
        if self._saved is None:
            return
        model, saved = self.model, self._saved
        model.set_weights(saved["weights"])
        for variable, value in zip(model.optimizer.variables, saved["optimizer"]):
            variable.assign(value)
        for variable, value in zip(model.metrics_variables, saved["metrics"]):
            variable.assign(value)
        model.optimizer.learning_rate = saved["learning_rate"]
        self._saved = None

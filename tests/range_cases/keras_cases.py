"""Keras range-test cases, run in a subprocess (the Keras backend is fixed at import).

Usage: KERAS_BACKEND=jax python keras_cases.py; prints one JSON object, one key per case
(one process for all cases: importing jax and keras dominates the run time).
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras

from lrsched.adapters._range_test_keras import range_test
from lrsched.adapters.keras import RangeTestCallback
from range_cases.least_squares import largest_curvature, least_squares_data


def _linear_model(features, optimizer, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((features,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _gd_loss_ratios(start, x, y, lrs, steps=300):
    design = np.hstack([x.astype(np.float64), np.ones((x.shape[0], 1))])
    lrs = np.asarray(lrs, dtype=np.float64)[:, None]
    w = np.repeat(start[None, :], lrs.shape[0], axis=0)
    target = y.astype(np.float64).ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        first = np.mean((start @ design.T - target) ** 2)
        for _ in range(steps):
            w = w - lrs * (2.0 / x.shape[0]) * (w @ design.T - target) @ design
        ratio = np.mean((w @ design.T - target) ** 2, axis=1) / first
    return np.where(np.isfinite(ratio), ratio, np.inf).tolist()


def least_squares():
    rows = []
    for seed in range(4):
        x, y = least_squares_data(seed, kappa=100.0)
        model = _linear_model(x.shape[1], keras.optimizers.SGD(0.01), seed)
        kernel, bias = model.get_weights()
        start = np.concatenate([kernel.ravel(), bias.ravel()]).astype(np.float64)
        result = range_test(model, dataset=[(x, y)], start_lr=1e-6, end_lr=100.0, num_steps=100)
        suggestion = result.suggest()
        grid = list(np.geomspace(1e-3, 0.995, 60) * 2.0 / largest_curvature(x))
        ratios = _gd_loss_ratios(start, x, y, [suggestion, *grid])
        rows.append(
            dict(
                suggestion=suggestion,
                divergence=2.0 / largest_curvature(x),
                cut=ratios[0],
                grid_best=grid[int(np.argmin(ratios[1:]))],
            )
        )
    return rows


def _snapshot(model):
    return (
        [w.tolist() for w in model.get_weights()],
        [np.array(v).tolist() for v in model.optimizer.variables],
    )


def restore():
    x, y = least_squares_data(1)
    model = _linear_model(x.shape[1], keras.optimizers.Adam(1e-3))
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # non-trivial Adam state
    before = _snapshot(model)
    range_test(model, x, y, batch_size=64, num_steps=40)
    after_run = _snapshot(model)

    def failing():
        for index in range(10):
            yield x[index * 16 : (index + 1) * 16], y[index * 16 : (index + 1) * 16]
        raise RuntimeError("boom")

    class Failing:
        def __iter__(self):
            return failing()

    try:
        range_test(model, dataset=Failing(), num_steps=40)
        raised = False
    except RuntimeError:
        raised = True
    return dict(before=before, after_run=after_run, after_raise=_snapshot(model), raised=raised)


def accumulation():
    x, y = least_squares_data(0)
    quarters = [(x[i::4], y[i::4]) for i in range(4)]
    results = []
    for batches, accumulate in [([(x, y)], None), (quarters, 4)]:
        optimizer = keras.optimizers.SGD(0.01, gradient_accumulation_steps=accumulate)
        model = _linear_model(x.shape[1], optimizer)
        result = range_test(model, dataset=batches, start_lr=1e-5, end_lr=10.0, num_steps=50)
        results.append(
            dict(
                lrs=result.lrs.tolist(),
                losses=result.losses.tolist(),
                iterations=int(model.optimizer.iterations),
            )
        )
    return results


def accumulation_mid_cycle():
    # One batch already accumulated: the first ramp step needs only the 3 left of its 4.
    x, y = least_squares_data(3)
    batches = [(x[i::8], y[i::8]) for i in range(8)]
    model = _linear_model(x.shape[1], keras.optimizers.SGD(0.01, gradient_accumulation_steps=4))
    model.train_on_batch(*batches[0])
    served = []

    class Counting:
        def __iter__(self):
            for batch in batches:
                served.append(1)
                yield batch

    range_test(
        model, dataset=Counting(), start_lr=1e-9, end_lr=1e-8, num_steps=5, diverge_factor=None
    )
    return dict(batches=len(served), raw_iterations=int(model.optimizer._iterations))


def per_batch_loss():
    # A tiny LR leaves the model as it is, so each batch's own loss is known in advance.
    x, _ = least_squares_data(2, samples=64)
    targets = [np.zeros((32, 1), np.float32), np.full((32, 1), 10.0, np.float32)]
    batches = [(x[:32], targets[0]), (x[32:], targets[1])]
    model = _linear_model(x.shape[1], keras.optimizers.SGD(0.01))
    expected = [float(np.mean((model.predict(bx, verbose=0) - by) ** 2)) for bx, by in batches]
    result = range_test(
        model, dataset=batches, start_lr=1e-12, end_lr=1e-11, num_steps=6, diverge_factor=None
    )
    return dict(losses=result.losses.tolist(), expected=expected)


class _Probe(keras.callbacks.Callback):
    """Records, per trained batch, the LR the optimizer holds when the batch runs."""

    def __init__(self):
        super().__init__()
        self.lrs = []

    def on_train_batch_begin(self, batch, logs=None):
        self.lrs.append(float(np.array(self.model.optimizer.learning_rate)))


def callback_least_squares():
    """Full-batch GD through model.fit: 100 copies of the data, batch_size = its length."""
    rows = []
    for seed in range(2):
        x, y = least_squares_data(seed, kappa=100.0)
        model = _linear_model(x.shape[1], keras.optimizers.SGD(0.01), seed)
        kernel, bias = model.get_weights()
        start = np.concatenate([kernel.ravel(), bias.ravel()]).astype(np.float64)
        finder = RangeTestCallback(start_lr=1e-6, end_lr=100.0, num_steps=100)
        probe = _Probe()
        model.fit(
            np.concatenate([x] * 60),
            np.concatenate([y] * 60),
            batch_size=len(x),
            epochs=5,
            shuffle=False,
            verbose=0,
            callbacks=[finder, probe],
        )
        result = finder.result
        driver = range_test(model, dataset=[(x, y)], start_lr=1e-6, end_lr=100.0, num_steps=100)
        suggestion = result.suggest()
        grid = list(np.geomspace(1e-3, 0.995, 60) * 2.0 / largest_curvature(x))
        ratios = _gd_loss_ratios(start, x, y, [suggestion, *grid])
        rows.append(
            dict(
                suggestion=suggestion,
                divergence=2.0 / largest_curvature(x),
                cut=ratios[0],
                grid_best=grid[int(np.argmin(ratios[1:]))],
                stop_reason=result.stop_reason,
                lrs=result.lrs.tolist(),
                probe_lrs=probe.lrs,
                losses=result.losses.tolist(),
                driver_losses=driver.losses.tolist(),
                driver_suggestion=driver.suggest(),
            )
        )
    return rows


def callback_restore():
    x, y = least_squares_data(1)
    model = _linear_model(x.shape[1], keras.optimizers.Adam(1e-3))
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # non-trivial Adam state
    before = _snapshot(model)
    finder = RangeTestCallback(start_lr=1e-5, end_lr=10.0, num_steps=40)
    model.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[finder])
    return dict(
        before=before,
        after=_snapshot(model),
        result_steps=finder.result.lrs.size,
        learning_rate=float(np.array(model.optimizer.learning_rate)),
        stop_reason=finder.result.stop_reason,
    )


def callback_stops_on_divergence():
    x, y = least_squares_data(2)
    model = _linear_model(x.shape[1], keras.optimizers.SGD(0.01))
    finder = RangeTestCallback(start_lr=1e-5, end_lr=100.0, num_steps=200)
    probe = _Probe()
    history = model.fit(x, y, batch_size=32, epochs=50, verbose=0, callbacks=[finder, probe])
    return dict(
        stop_reason=finder.result.stop_reason,
        steps=finder.result.lrs.size,
        batches=len(probe.lrs),
        epochs=len(history.history["loss"]),
        suggestion=finder.result.suggest(),
        divergence=2.0 / largest_curvature(x),
    )


def callback_per_batch_loss():
    x, _ = least_squares_data(2, samples=64)
    targets = np.concatenate([np.zeros((32, 1), np.float32), np.full((32, 1), 10.0, np.float32)])
    model = _linear_model(x.shape[1], keras.optimizers.SGD(0.01))
    expected = [
        float(np.mean((model.predict(x[i : i + 32], verbose=0) - targets[i : i + 32]) ** 2))
        for i in (0, 32)
    ]
    finder = RangeTestCallback(start_lr=1e-12, end_lr=1e-11, num_steps=6, diverge_factor=None)
    model.fit(x, targets, batch_size=32, epochs=3, shuffle=False, verbose=0, callbacks=[finder])
    return dict(losses=finder.result.losses.tolist(), expected=expected)


def callback_accumulation():
    x, y = least_squares_data(0)
    results = []
    for copies, batch_size, accumulate in [(40, len(x), None), (40, len(x) // 4, 4)]:
        optimizer = keras.optimizers.SGD(0.01, gradient_accumulation_steps=accumulate)
        model = _linear_model(x.shape[1], optimizer)
        if accumulate:  # quarters in the order x[0::4], x[1::4], ...: the mean of 4 means
            order = np.concatenate([np.arange(i, len(x), 4) for i in range(4)])
        else:
            order = np.arange(len(x))
        finder = RangeTestCallback(start_lr=1e-5, end_lr=10.0, num_steps=50)
        model.fit(
            np.concatenate([x[order]] * copies),
            np.concatenate([y[order]] * copies),
            batch_size=batch_size,
            epochs=2,
            shuffle=False,
            verbose=0,
            callbacks=[finder],
        )
        results.append(dict(lrs=finder.result.lrs.tolist(), losses=finder.result.losses.tolist()))
    return results


def callback_out_of_data_and_refusals():
    import warnings

    x, y = least_squares_data(3)
    model = _linear_model(x.shape[1], keras.optimizers.SGD(0.01))
    finder = RangeTestCallback(start_lr=1e-6, end_lr=1e-5, num_steps=100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=64, epochs=2, verbose=0, callbacks=[finder])
    scheduled = _linear_model(
        x.shape[1],
        keras.optimizers.SGD(
            keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
        ),
    )
    try:
        scheduled.fit(x, y, batch_size=64, epochs=1, verbose=0, callbacks=[RangeTestCallback()])
        refusal = None
    except TypeError as error:
        refusal = str(error)
    try:
        RangeTestCallback(start_lr=1.0, end_lr=0.5)
        bad = None
    except ValueError as error:
        bad = str(error)
    return dict(
        stop_reason=finder.result.stop_reason,
        steps=finder.result.lrs.size,
        warnings=[str(w.message) for w in caught if "RangeTestCallback" in str(w.message)],
        refusal=refusal,
        bad=bad,
    )


CASES = (
    least_squares,
    restore,
    accumulation,
    accumulation_mid_cycle,
    per_batch_loss,
    callback_least_squares,
    callback_restore,
    callback_stops_on_divergence,
    callback_per_batch_loss,
    callback_accumulation,
    callback_out_of_data_and_refusals,
)


def validation_spirals(seed=0):
    """A 2-64-64-3 MLP (SGD, momentum 0.9): the callback's suggestion, then 400 steps at
    it and at each constant LR of the grid, from the same start (slow)."""
    from range_cases.spirals import GRID, TRAIN_STEPS, spirals

    x, y = spirals(seed=seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(3),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    start = model.get_weights()
    start_loss = float(model.evaluate(x, y, batch_size=len(x), verbose=0))
    order = np.concatenate([np.arange(i, len(x), 8) for i in range(8)])  # 8 batches of 75
    finder = RangeTestCallback(start_lr=1e-5, end_lr=100.0, num_steps=150)
    model.fit(
        x[order], y[order], batch_size=75, epochs=30, shuffle=False, verbose=0, callbacks=[finder]
    )
    suggestion = finder.result.suggest()
    finals = {}
    for lr in (*GRID, suggestion):
        model.set_weights(start)
        model.compile(
            optimizer=keras.optimizers.SGD(lr, momentum=0.9),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(
            x[order], y[order], batch_size=75, epochs=TRAIN_STEPS // 8, shuffle=False, verbose=0
        )
        loss = float(model.evaluate(x, y, batch_size=len(x), verbose=0))
        finals[str(lr)] = loss if np.isfinite(loss) else float("inf")
    return dict(
        suggestion=suggestion,
        start_loss=start_loss,
        finals=finals,
        methods={m: finder.result.suggest(m) for m in ("minimum", "steep", "valley", "slide")},
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:  # one named case, e.g. validation_spirals
        print(json.dumps(globals()[sys.argv[1]]()))
    else:
        print(json.dumps({case.__name__: case() for case in CASES}))

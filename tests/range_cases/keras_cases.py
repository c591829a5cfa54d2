"""Keras range-test cases, run in a subprocess (the Keras backend is fixed at import).

Usage: KERAS_BACKEND=jax python keras_cases.py; prints one JSON object, one key per case
(one process for all cases: importing jax and keras dominates the run time).
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402

from lrsched.adapters._range_test_keras import range_test  # noqa: E402
from range_cases.least_squares import largest_curvature, least_squares_data  # noqa: E402


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
        result = range_test(model, dataset=[(x, y)], start_lr=1e-6, end_lr=100.0,
                            num_steps=100)
        suggestion = result.suggest()
        grid = list(np.geomspace(1e-3, 0.995, 60) * 2.0 / largest_curvature(x))
        ratios = _gd_loss_ratios(start, x, y, [suggestion] + grid)
        rows.append(dict(suggestion=suggestion, divergence=2.0 / largest_curvature(x),
                         cut=ratios[0], grid_best=grid[int(np.argmin(ratios[1:]))]))
    return rows


def _snapshot(model):
    return ([w.tolist() for w in model.get_weights()],
            [np.array(v).tolist() for v in model.optimizer.variables])


def restore():
    x, y = least_squares_data(1)
    model = _linear_model(x.shape[1], keras.optimizers.Adam(1e-3))
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # non-trivial Adam state
    before = _snapshot(model)
    range_test(model, x, y, batch_size=64, num_steps=40)
    after_run = _snapshot(model)

    def failing():
        for index in range(10):
            yield x[index * 16:(index + 1) * 16], y[index * 16:(index + 1) * 16]
        raise RuntimeError("boom")

    class Failing:
        def __iter__(self):
            return failing()

    try:
        range_test(model, dataset=Failing(), num_steps=40)
        raised = False
    except RuntimeError:
        raised = True
    return dict(before=before, after_run=after_run, after_raise=_snapshot(model),
                raised=raised)


def accumulation():
    x, y = least_squares_data(0)
    quarters = [(x[i::4], y[i::4]) for i in range(4)]
    results = []
    for batches, accumulate in [([(x, y)], None), (quarters, 4)]:
        optimizer = keras.optimizers.SGD(0.01, gradient_accumulation_steps=accumulate)
        model = _linear_model(x.shape[1], optimizer)
        result = range_test(model, dataset=batches, start_lr=1e-5, end_lr=10.0,
                            num_steps=50)
        results.append(dict(lrs=result.lrs.tolist(), losses=result.losses.tolist(),
                            iterations=int(model.optimizer.iterations)))
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

    range_test(model, dataset=Counting(), start_lr=1e-9, end_lr=1e-8, num_steps=5,
               diverge_factor=None)
    return dict(batches=len(served), raw_iterations=int(model.optimizer._iterations))


def per_batch_loss():
    # A tiny LR leaves the model as it is, so each batch's own loss is known in advance.
    x, _ = least_squares_data(2, samples=64)
    targets = [np.zeros((32, 1), np.float32), np.full((32, 1), 10.0, np.float32)]
    batches = [(x[:32], targets[0]), (x[32:], targets[1])]
    model = _linear_model(x.shape[1], keras.optimizers.SGD(0.01))
    expected = [float(np.mean((model.predict(bx, verbose=0) - by) ** 2)) for bx, by in batches]
    result = range_test(model, dataset=batches, start_lr=1e-12, end_lr=1e-11, num_steps=6,
                        diverge_factor=None)
    return dict(losses=result.losses.tolist(), expected=expected)


CASES = (least_squares, restore, accumulation, accumulation_mid_cycle, per_batch_loss)

if __name__ == "__main__":
    print(json.dumps({case.__name__: case() for case in CASES}))

"""Keras parts of the suite, run in their own interpreter (``KERAS_BACKEND=jax`` must be
set before Keras is imported, and the main process runs jax in x64 for optax).

Reads a JSON job on stdin, prints JSON rows on stdout. Jobs:
``{"job": "trajectory", ...}``: Keras schedules per step and on a vector, against lrsched
in the same process; ``{"job": "fit", ...}``: the time of a Keras ``fit`` step with
``KerasSchedule`` against the same model with Keras's own schedule.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ["KERAS_BACKEND"] = "jax"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np
from _families import FAMILIES
from _timing import ratio, rounds


def trajectory(job: dict) -> list[dict]:
    import keras

    rows = []
    wanted = set(job["families"])
    for n in job["sizes"]:
        steps = np.arange(n)
        for family in FAMILIES:
            if family.keras is None or family.name not in wanted:
                continue
            ours = family.lrsched(n)
            theirs = family.keras(n)
            candidates = {"lrsched": lambda s=ours, t=steps: s(t)}
            # Stepping is linear in n: beyond loop_limit, the first steps give the per-step
            # cost, compared with lrsched's per-step cost over the whole n. Some Keras
            # schedules take ~0.1 s a step eagerly, so the count also fits a time budget.
            looped = min(n, job["loop_limit"], _steps_within(theirs, seconds=0.3))
            candidates["keras per step"] = lambda s=theirs, k=looped: [
                float(s(i)) for i in range(k)
            ]
            vector = keras.ops.arange(min(n, job["vector_limit"]), dtype="float32")
            try:
                np.asarray(theirs(vector))
            except Exception as error:
                rows.append(
                    {
                        "section": "trajectory",
                        "family": family.name,
                        "n": n,
                        "measure": "keras vector / lrsched",
                        "median": None,
                        "note": f"Keras refuses a vector of steps: {type(error).__name__}",
                    }
                )
            else:
                if n <= job["vector_limit"]:
                    candidates["keras vector"] = lambda s=theirs, t=vector: np.asarray(s(t))
            print(f"  keras n={n:>8} {family.name}", file=sys.stderr, flush=True)
            times = rounds(
                candidates,
                repeats=job["repeats"],
                min_seconds=job["min_seconds"],
                once=("keras per step",),
            )
            rows.append(
                {
                    "section": "trajectory",
                    "family": family.name,
                    "n": n,
                    "measure": "keras per step / lrsched",
                    **ratio(times, "keras per step", "lrsched", scale=n / looped),
                    "note": "Keras computes in float32"
                    + (f"; per-step cost from the first {looped} steps" if looped < n else ""),
                }
            )
            if "keras vector" in times:
                rows.append(
                    {
                        "section": "trajectory",
                        "family": family.name,
                        "n": n,
                        "measure": "keras vector / lrsched",
                        **ratio(times, "keras vector", "lrsched"),
                        "note": "Keras computes in float32",
                    }
                )
    return rows


def _steps_within(schedule, *, seconds: float) -> int:
    """How many eager per-step calls of ``schedule`` fit in ``seconds`` (at least 10)."""
    float(schedule(0))  # the first call traces
    start = time.perf_counter()
    for step in range(1, 4):
        float(schedule(step))
    per_step = (time.perf_counter() - start) / 3
    return max(10, int(seconds / per_step))


def fit(job: dict) -> list[dict]:
    import keras

    try:
        from lrsched.adapters.keras import KerasSchedule
    except ImportError as error:
        return [
            {
                "section": "adapters",
                "family": "keras fit",
                "measure": "KerasSchedule fit step / Keras schedule fit step",
                "median": None,
                "note": f"adapter not available ({error})",
            }
        ]
    import lrsched

    rng = np.random.default_rng(0)
    batches, batch_size = job["batches"], 32
    x = rng.normal(size=(batches * batch_size, 16)).astype("float32")
    y = rng.normal(size=(batches * batch_size, 1)).astype("float32")
    total = batches * (job["epochs"] * job["repeats"] + 2) * 4

    def model_with(learning_rate):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((16,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)]
        )
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # trace and compile
        return model

    models = {
        "keras schedule": model_with(keras.optimizers.schedules.CosineDecay(0.1, total)),
        "KerasSchedule": model_with(KerasSchedule(lrsched.cosine(0.1, total))),
        "float lr": model_with(0.1),
    }
    candidates = {
        name: (lambda m=model: m.fit(x, y, batch_size=batch_size, epochs=job["epochs"], verbose=0))
        for name, model in models.items()
    }
    times = rounds(candidates, repeats=job["repeats"], once=tuple(candidates), warmup=False)
    steps = batches * job["epochs"]
    overhead = ratio(times, "KerasSchedule", "keras schedule")
    return [
        {
            "section": "adapters",
            "family": "cosine",
            "measure": "KerasSchedule fit step / Keras CosineDecay fit step",
            **overhead,
            "target": "<= 1.05",
            "pass": overhead["median"] <= 1.05,
            "fit_step_us": 1e6 * float(np.median(times["KerasSchedule"])) / steps,
        },
        {
            "section": "adapters",
            "family": "cosine",
            "measure": "Keras CosineDecay fit step / float-lr fit step",
            **ratio(times, "keras schedule", "float lr"),
        },
    ]


if __name__ == "__main__":
    request = json.load(sys.stdin)
    result = {"trajectory": trajectory, "fit": fit}[request["job"]](request)
    json.dump(result, sys.stdout)

"""Time per training step: a float LR, KerasSchedule and Keras's own CosineDecay, side by side.

The same small model (an MLP on 32 features, batch 64, Adam) trains with a float learning
rate, with ``KerasSchedule(lrsched.cosine(...))`` (served from its table), with
``keras.optimizers.schedules.CosineDecay`` of the same parameters, and with
``KerasSchedule(lrsched.exponential(...))`` (a schedule that never settles: its step also
holds the branch past the table), and with a ``multiplicative`` past a table of 11 steps
(its running product: kept in the compiled step under tensorflow's XLA). Runs alternate
between the variants so that load on the machine hits all alike; each run is ``--steps``
steps of ``model.fit`` after a warm-up fit that compiles. Reported: median time per step, the spread (interquartile range), and the
ratios of medians to the float LR; under jax also the schedule alone (a jitted loop of LR
lookups). Each backend runs in its own process (Keras picks it at import): jax and
tensorflow with ``jit_compile=True`` (the schedule is traced) and torch (eager, one thread).

    python benchmarks/bench_keras.py                 # jax and torch
    python benchmarks/bench_keras.py --backend jax --repeats 31 --steps-per-execution 20
    KERAS_BACKEND=tensorflow python benchmarks/bench_keras.py --backend tensorflow
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def _nearly_one(step):
    """A multiplicative's factor written with arithmetic only, so XLA can trace it."""
    return 1.0 - 1e-6 / (1.0 + step / 1000.0)


def measure(backend: str, repeats: int, steps: int, steps_per_execution: int = 1) -> dict:
    import keras
    import numpy as np

    if backend == "torch":
        import torch

        # Many intra-op threads on a small shared machine only add scheduling noise.
        torch.set_num_threads(1)
    import lrsched
    from lrsched.adapters.keras import KerasSchedule

    total = 100_000  # long enough that no run reaches the end of the decay
    variants = {
        "float LR": lambda: 1e-3,
        "KerasSchedule(lrsched.cosine)": lambda: KerasSchedule(
            lrsched.cosine(1e-3, total_steps=total, min_lr=1e-5)
        ),
        "keras CosineDecay": lambda: keras.optimizers.schedules.CosineDecay(
            1e-3, total, alpha=1e-2
        ),
        "KerasSchedule(lrsched.exponential)": lambda: KerasSchedule(
            lrsched.exponential(1e-3, 0.9999)
        ),
        # Past a table of 11 steps from the first fit on: under tensorflow's XLA the
        # running product kept in the compiled step, a host callback under jax.
        "KerasSchedule(multiplicative) past table": lambda: KerasSchedule(
            lrsched.multiplicative(1e-3, _nearly_one), max_steps=10
        ),
    }
    rng = np.random.default_rng(0)
    batch = 64
    inputs = rng.normal(size=(batch * steps, 32)).astype("float32")
    targets = rng.normal(size=(batch * steps, 1)).astype("float32")
    models = {}
    for name, make in variants.items():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((32,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=make()),
            loss="mse",
            jit_compile=backend != "torch",
            steps_per_execution=steps_per_execution,
        )
        model.fit(inputs[: batch * 20], targets[: batch * 20], batch_size=batch, verbose=0)
        models[name] = model
    timings = {name: [] for name in variants}
    for _ in range(repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(inputs, targets, batch_size=batch, epochs=1, shuffle=False, verbose=0)
            timings[name].append((time.perf_counter() - start) / steps)
    summary = {}
    for name, values in timings.items():
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        summary[name] = {"median_us": median * 1e6, "iqr_us": (q3 - q1) * 1e6}
    plain = summary["float LR"]["median_us"]
    ratios = {
        name: stats["median_us"] / plain for name, stats in summary.items() if name != "float LR"
    }
    ratios["KerasSchedule(lrsched.cosine) / keras CosineDecay"] = (
        summary["KerasSchedule(lrsched.cosine)"]["median_us"]
        / summary["keras CosineDecay"]["median_us"]
    )
    result = {
        "backend": backend,
        "repeats": repeats,
        "steps": steps,
        "per_step": summary,
        "steps_per_execution": steps_per_execution,
        "ratios": ratios,
    }
    if backend == "jax":
        result["schedule_alone"] = schedule_alone(
            {name: make() for name, make in variants.items() if name != "float LR"}, repeats
        )
    return result


def schedule_alone(schedules: dict, repeats: int, calls: int = 100_000) -> dict:
    """ns per LR inside jax.jit: a fori_loop summing schedule(step) over ``calls`` steps."""
    import jax
    import numpy as np

    def summed(schedule):
        def body(step, total):
            return total + schedule(step)

        return jax.jit(lambda: jax.lax.fori_loop(0, calls, body, np.float32(0.0)))

    compiled = {name: summed(schedule) for name, schedule in schedules.items()}
    for function in compiled.values():
        function().block_until_ready()
    timings = {name: [] for name in compiled}
    for _ in range(repeats):
        for name, function in compiled.items():
            start = time.perf_counter()
            function().block_until_ready()
            timings[name].append((time.perf_counter() - start) / calls * 1e9)
    return {name: float(np.median(values)) for name, values in timings.items()}


def report(result: dict) -> None:
    print(
        f"backend={result['backend']} (jit_compile={result['backend'] != 'torch'}, "
        f"steps_per_execution={result['steps_per_execution']}), "
        f"{result['repeats']} alternating runs of {result['steps']} steps"
    )
    for name, stats in result["per_step"].items():
        print(
            f"  {name:32s} median {stats['median_us']:8.1f} us/step   IQR {stats['iqr_us']:6.1f} us"
        )
    for name, ratio in result["ratios"].items():
        shown = name if "/" in name else f"{name} / float LR"
        print(f"  ratio {shown}: {ratio:.3f}")
    for name, nanoseconds in result.get("schedule_alone", {}).items():
        print(f"  {name:32s} alone in jax.jit: {nanoseconds:6.2f} ns per LR (median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["jax", "torch", "tensorflow"], action="append")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=1,
        help="jax only: steps per compiled call (less Python per step)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line per backend")
    args = parser.parse_args()
    if os.environ.get("KERAS_BACKEND") and args.backend and len(args.backend) == 1:
        result = measure(
            os.environ["KERAS_BACKEND"], args.repeats, args.steps, args.steps_per_execution
        )
        print(json.dumps(result) if args.json else report(result) or "", end="")
        return
    for backend in args.backend or ["jax", "torch"]:
        per_execution = args.steps_per_execution if backend == "jax" else 1
        command = [
            sys.executable,
            __file__,
            "--backend",
            backend,
            "--repeats",
            str(args.repeats),
            "--steps",
            str(args.steps),
            "--steps-per-execution",
            str(per_execution),
            "--json",
        ]
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONWARNINGS="ignore")
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        result = json.loads(output.stdout.strip().splitlines()[-1])
        if args.json:
            print(json.dumps(result))
        else:
            report(result)


if __name__ == "__main__":
    main()

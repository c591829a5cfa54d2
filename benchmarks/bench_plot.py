"""What ``lrsched.plot`` costs as the schedule gets longer: time and peak memory, as ratios.

    python benchmarks/bench_plot.py [--repeats 5] [--lengths 10000,1000000,100000000]

For each schedule and length, ``lrsched.plot(schedule, steps=n)`` followed by rendering the
figure to PNG (what ``lrsched plot`` does) is timed in interleaved rounds, and its peak
memory is taken with tracemalloc in a separate call (tracemalloc slows allocation down).
Every figure is a ratio to the same schedule at the shortest length, in the same run:
a plot whose cost does not grow with the length shows ratios near 1. For context, drawing
every step (what ``plot`` did before it read the schedule's structure) is measured up to
10**6 steps; at 10**8 it allocated 7.7 GB and is not run. Results go to
benchmarks/results/plot.json.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _timing

import lrsched

RESULTS = Path(__file__).parent / "results"
EVERY_STEP_UP_TO = 10**6  # the baseline of drawing every step, beyond which it is not run

SCHEDULES = {
    "cosine": lrsched.cosine(0.1, 10**4),
    "warmup+cosine": lrsched.warmup(lrsched.cosine(0.1, 9000), 1000),
    "warm_restarts(period=10)": lrsched.warm_restarts(0.1, period=10),
    "step(0.1, 1)": lrsched.step(0.1, 1, gamma=0.999),
    "multistep": lrsched.multistep(0.1, [3000, 6000, 9000]),
}


def scaled(name: str, steps: int) -> lrsched.Schedule:
    """The schedule stretched to ``steps`` where its shape has a length (so each length
    draws the same picture); the periodic and step-per-step ones stay as they are."""
    factor = steps // 10**4
    if name == "cosine":
        return lrsched.cosine(0.1, steps)
    if name == "warmup+cosine":
        return lrsched.warmup(lrsched.cosine(0.1, 9 * steps // 10), steps // 10)
    if name == "multistep":
        return lrsched.multistep(0.1, [3000 * factor, 6000 * factor, 9000 * factor])
    return SCHEDULES[name]


def plot_and_render(schedule: lrsched.Schedule, steps: int) -> None:
    figure = plt.figure(figsize=(8, 4.5))
    lrsched.plot(schedule, steps=steps, ax=figure.add_subplot())
    figure.savefig(io.BytesIO(), format="png", dpi=150)
    plt.close(figure)


def every_step(schedule: lrsched.Schedule, steps: int) -> None:
    """The former way: every step evaluated and drawn."""
    figure = plt.figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    x = np.arange(steps)
    axes.plot(x, schedule(x))
    figure.savefig(io.BytesIO(), format="png", dpi=150)
    plt.close(figure)


def peak_mib(func) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lengths", default="10000,1000000,100000000")
    args = parser.parse_args(argv)
    lengths = [int(text) for text in args.lengths.split(",")]
    base = lengths[0]

    rows = []
    for name in SCHEDULES:
        candidates = {
            f"plot {n}": (lambda n=n, name=name: plot_and_render(scaled(name, n), n))
            for n in lengths
        }
        candidates.update(
            {
                f"every step {n}": (lambda n=n, name=name: every_step(scaled(name, n), n))
                for n in lengths
                if n <= EVERY_STEP_UP_TO
            }
        )
        times = _timing.rounds(candidates, repeats=args.repeats, once=tuple(candidates))
        peaks = {key: peak_mib(func) for key, func in candidates.items()}
        for n in lengths:
            row = {
                "schedule": name,
                "steps": n,
                "seconds": _timing.seconds(times[f"plot {n}"]),
                "time_ratio": _timing.ratio(times, f"plot {n}", f"plot {base}"),
                "peak_mib": peaks[f"plot {n}"],
                "memory_ratio": peaks[f"plot {n}"] / peaks[f"plot {base}"],
            }
            if n <= EVERY_STEP_UP_TO:
                row["every_step_time_ratio"] = _timing.ratio(
                    times, f"every step {n}", f"plot {base}"
                )
                row["every_step_peak_mib"] = peaks[f"every step {n}"]
            rows.append(row)
            print(
                f"{name:26} {n:>11,} steps: time {row['time_ratio']['median']:5.2f}x "
                f"[{row['time_ratio']['low']:.2f}-{row['time_ratio']['high']:.2f}] of "
                f"{base:,} ({row['seconds']['median'] * 1e3:6.0f} ms), peak "
                f"{row['peak_mib']:6.1f} MiB ({row['memory_ratio']:4.2f}x)"
                + (
                    f"; every step: {row['every_step_time_ratio']['median']:6.2f}x, "
                    f"{row['every_step_peak_mib']:7.1f} MiB"
                    if n <= EVERY_STEP_UP_TO
                    else ""
                ),
                flush=True,
            )

    RESULTS.mkdir(exist_ok=True)
    report = {
        "when": datetime.now(timezone.utc).isoformat(),
        "python": sys.version,
        "machine": platform.platform(),
        "repeats": args.repeats,
        "rows": rows,
    }
    (RESULTS / "plot.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

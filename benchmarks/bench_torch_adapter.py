"""Per-call cost of ScheduleLR.step() against torch's own schedulers, side by side.

    python benchmarks/bench_torch_adapter.py [--steps 20000] [--repeats 11]

Each repeat builds every scheduler afresh and times ``steps`` consecutive ``step()`` calls
of each in turn (interleaved, so machine load hits all of them alike). The table shows
the median per-call time with the interquartile range, and the median over repeats of
the per-repeat ratio lrsched/torch. The cost of one ``optimizer.step()`` of a small model
is measured the same way, for context. Results go to benchmarks/results/ as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

import lrsched
from lrsched.adapters.torch import ScheduleLR

TS = torch.optim.lr_scheduler
RESULTS = Path(__file__).parent / "results"
BASE_LR = 0.1


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def fresh_optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD(small_model().parameters(), lr=BASE_LR, momentum=0.9)


def families(steps: int) -> dict:
    """Pairs of (torch scheduler factory, equivalent lrsched schedule)."""
    warm = steps // 10
    return {
        "cosine": (
            lambda o: TS.CosineAnnealingLR(o, T_max=steps),
            lrsched.cosine(BASE_LR, steps, periodic=True),
        ),
        "step": (
            lambda o: TS.StepLR(o, step_size=1000, gamma=0.5),
            lrsched.step(BASE_LR, 1000, gamma=0.5),
        ),
        "one_cycle+momentum": (
            lambda o: TS.OneCycleLR(o, BASE_LR, total_steps=steps + 1),
            lrsched.one_cycle(BASE_LR, steps + 1),
        ),
        "warmup+cosine": (
            lambda o: TS.SequentialLR(
                o, [TS.LinearLR(o, 0.01, 1.0, warm), TS.CosineAnnealingLR(o, steps - warm)], [warm]
            ),
            lrsched.sequence(
                [
                    lrsched.linear(BASE_LR * 0.01, BASE_LR, warm),
                    lrsched.cosine(BASE_LR, steps - warm, periodic=True),
                ],
                [warm],
            ),
        ),
    }


def time_scheduler_steps(scheduler, steps: int) -> float:
    """Microseconds per scheduler.step(), over ``steps`` consecutive calls."""
    step = scheduler.step
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed / steps * 1e6


def time_optimizer_steps(steps: int) -> float:
    """Microseconds per optimizer.step() of the small model (gradients already there)."""
    model = small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9)
    model(torch.randn(64, 32)).sum().backward()
    optimizer.step()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.step()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed / steps * 1e6


def build(kind: str, pair):
    make_torch, schedule = pair
    optimizer = fresh_optimizer()
    scheduler = make_torch(optimizer) if kind == "torch" else ScheduleLR(optimizer, schedule)
    optimizer.step()  # the correct order: the first scheduler.step() follows an update
    return scheduler


def check_same_trajectory(pairs: dict, steps: int) -> None:
    """The benchmark compares like with like: both give the same LRs (to rounding)."""
    for name, pair in pairs.items():
        lrs = {}
        for kind in ("torch", "lrsched"):
            scheduler = build(kind, pair)
            seen = []
            for _ in range(min(steps, 3000)):
                seen.append(scheduler.get_last_lr()[0])
                scheduler.step()
            lrs[kind] = seen
        np.testing.assert_allclose(lrs["lrsched"], lrs["torch"], rtol=1e-10, err_msg=name)


def summary(values: list[float]) -> dict:
    quartiles = statistics.quantiles(values, n=4)
    return {
        "median": statistics.median(values),
        "q1": quartiles[0],
        "q3": quartiles[2],
        "min": min(values),
        "max": max(values),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="step() calls per timing")
    parser.add_argument("--repeats", type=int, default=11, help="interleaved repeats")
    args = parser.parse_args(argv)
    warnings.simplefilter("error")  # a correct loop must not warn, in torch or in lrsched
    pairs = families(args.steps)
    check_same_trajectory(pairs, args.steps)

    times = {name: {"torch": [], "lrsched": []} for name in pairs}
    optimizer_times = []
    for pair in pairs.values():  # warm-up, untimed
        for kind in ("torch", "lrsched"):
            time_scheduler_steps(build(kind, pair), 2000)
    for repeat in range(args.repeats):
        for name, pair in pairs.items():
            order = ("torch", "lrsched") if repeat % 2 == 0 else ("lrsched", "torch")
            for kind in order:
                times[name][kind].append(time_scheduler_steps(build(kind, pair), args.steps))
        optimizer_times.append(time_optimizer_steps(max(args.steps // 20, 100)))

    rows = {}
    for name, kinds in times.items():
        ratios = [ours / theirs for ours, theirs in zip(kinds["lrsched"], kinds["torch"])]
        rows[name] = {
            "torch_us": summary(kinds["torch"]),
            "lrsched_us": summary(kinds["lrsched"]),
            "ratio": summary(ratios),
        }
    optimizer_summary = summary(optimizer_times)

    print(
        f"ScheduleLR.step() vs torch scheduler.step(): {args.steps} calls x {args.repeats} "
        "interleaved repeats; median [q1-q3] us per call"
    )
    header = f"{'family':<20} {'torch':>22} {'lrsched':>22} {'lrsched/torch':>20}"
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        cells = [
            f"{r['median']:6.2f} [{r['q1']:.2f}-{r['q3']:.2f}]"
            for r in (row["torch_us"], row["lrsched_us"])
        ]
        ratio = row["ratio"]
        print(
            f"{name:<20} {cells[0]:>22} {cells[1]:>22} "
            f"{ratio['median']:>7.3f} [{ratio['q1']:.3f}-{ratio['q3']:.3f}]"
        )
    print(
        f"{'optimizer.step()':<20} {optimizer_summary['median']:6.2f} "
        f"[{optimizer_summary['q1']:.2f}-{optimizer_summary['q3']:.2f}] us "
        "(SGD momentum, 2.8k-parameter MLP), for context"
    )

    result = {
        "benchmark": "bench_torch_adapter",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "steps": args.steps,
        "repeats": args.repeats,
        "families": rows,
        "optimizer_step_us": optimizer_summary,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "bench_torch_adapter.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()

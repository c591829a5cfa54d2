"""What limits lrsched against optax jit(vmap): the profile behind docs/benchmarks.md.

    python benchmarks/limits.py             # n = 10^5 and 10^6, about a minute
    python benchmarks/limits.py --sizes 1000000

Prints, for every family with an optax twin:
- lrsched's time per step on one thread and on the default thread count, and optax
  jit(vmap)'s (x64, compile excluded), with the CPU time XLA used per unit of wall time
  (above 1: XLA ran the loop on several cores);
- the cost per step of the numpy operations a formula is made of, on one block of
  ``lrsched._base.BLOCK`` steps (in cache) and on the whole array (out of cache).
A numpy formula pays one pass per operation; XLA fuses the schedule into one loop.
Figures are medians of interleaved rounds (``_timing.rounds``); not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _families import FAMILIES
from _timing import rounds
from _trajectory import enable_jax_x64, optax_candidates


def _xla_cores(call, min_seconds: float = 0.5) -> float:
    """Process CPU seconds per wall second while XLA runs ``call`` for a while."""
    import time

    call()
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < min_seconds:
        call()
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


def families(sizes, repeats: int) -> None:

    enable_jax_x64()
    print(
        f"{'family':<20}{'n':>9}  ns/step: {'lrsched':>17}{'optax jit(vmap)':>17}{'XLA cores':>11}"
    )
    for n in sizes:
        steps = np.arange(n)
        for family in FAMILIES:
            if family.optax is None:
                continue
            schedule = family.lrsched(n)
            optax = optax_candidates(family, n, loop_limit=0)["optax jit(vmap)"]

            candidates = {
                "default": lambda schedule=schedule, steps=steps: schedule(steps),
                "optax": optax,
            }
            times = rounds(candidates, repeats=repeats, min_seconds=0.05)
            per_step = {name: 1e9 * statistics.median(values) / n for name, values in times.items()}
            cores = _xla_cores(candidates["optax"])
            print(
                f"{family.name:<20}{n:>9}           {per_step['default']:>17.2f}"
                f"{per_step['optax']:>17.2f}{cores:>11.2f}"
            )


def _operation_candidates(size: int) -> dict:
    """The numpy operations a schedule's evaluation is made of, each over ``size`` steps."""
    integers = np.arange(size)
    floats = np.arange(size) / size  # a cosine schedule's fraction of T
    angles = floats * np.pi  # what np.cos gets in a cosine schedule, as in the floor
    out = np.empty(size)
    return {
        "int64 -> float64 (copyto)": lambda: np.copyto(out, integers),
        "check steps (min of int64)": lambda: integers.min(),
        "fill": lambda: out.fill(0.1),
        "multiply": lambda: np.multiply(floats, 0.5, out=out),
        "minimum": lambda: np.minimum(floats, 2.0, out=out),
        "sorted? (t[1:] < t[:-1]).any()": lambda: (floats[1:] < floats[:-1]).any(),
        "cos (of [0, pi])": lambda: np.cos(angles, out=out),
        "exp": lambda: np.exp(floats, out=out),
        "power(0.5, t)": lambda: np.power(0.5, floats, out=out),
    }


def operations(n: int, repeats: int) -> None:
    from lrsched._evaluate import BLOCK

    print(
        f"\nnumpy operations, ns per step (one block of {BLOCK} steps in cache; "
        f"{n} steps out of cache)"
    )
    for size, label in ((BLOCK, "block"), (n, "whole")):
        candidates = _operation_candidates(size)
        times = rounds(candidates, repeats=repeats, min_seconds=0.02)
        for name, values in times.items():
            print(f"  {label:<6}{name:<34}{1e9 * statistics.median(values) / size:8.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="100000,1000000", help="comma-separated trajectory lengths"
    )
    parser.add_argument("--repeats", type=int, default=5, help="rounds per measurement")
    args = parser.parse_args(argv)
    sizes = [int(float(size)) for size in args.sizes.split(",")]
    families(sizes, args.repeats)
    operations(max(sizes), args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())

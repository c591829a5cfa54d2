"""How RangeTestResult's costs grow with the number of recorded points.

    python benchmarks/bench_range_test.py                  # 2k, 20k, 200k points
    python benchmarks/bench_range_test.py --sizes 2000,20000 --repeats 3

For each size n the script builds a synthetic range-test curve of n points (a noisy loss
that falls, bottoms out and explodes, as a real one does), then times the construction
of ``RangeTestResult`` and each ``suggest()`` method. It prints the time per call at every
size and, the figure that matters, the ratio time(10 n) / time(n): about 10 for a cost
linear in n, about 100 for a quadratic one. Sizes are timed in interleaved rounds (see
``_timing.py``) and each ratio is the median over rounds, with its spread. Not part of
the test suite: no timing is ever asserted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _timing import ratio, rounds, seconds  # noqa: E402

import lrsched  # noqa: E402

METHODS = ("divergence", "minimum", "steep", "valley", "slide")


def curve(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A range-test-like curve of ``size`` points over 8 decades of LR."""
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-7, 10.0, size)
    progress = np.linspace(0.0, 1.0, size)
    falling = 1.0 / (1.0 + np.exp(12.0 * (progress - 0.45)))
    exploding = np.exp(np.clip(40.0 * (progress - 0.85), None, 30.0)) * (progress > 0.85)
    losses = 0.2 + falling + 1e-3 * exploding
    return lrs, losses * (1.0 + 0.02 * rng.standard_normal(size))


def measure(sizes: list[int], repeats: int, min_seconds: float) -> dict:
    candidates = {}
    built = {}
    for size in sizes:
        lrs, losses = curve(size)
        built[size] = lrsched.RangeTestResult(lrs, losses)
        candidates[f"construct/{size}"] = lambda lrs=lrs, losses=losses: lrsched.RangeTestResult(
            lrs, losses
        )
        for method in METHODS:
            candidates[f"{method}/{size}"] = lambda result=built[size], method=method: (
                result.suggest(method)
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a suggestion's advice is not what is measured
        return rounds(candidates, repeats=repeats, min_seconds=min_seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000,200000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.05)
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.sizes.split(",")]
    times = measure(sizes, args.repeats, args.min_seconds)
    header = "".join(f"{f'{size} pts':>12}" for size in sizes)
    steps = [f"x{b // a} pts" for a, b in itertools.pairwise(sizes)]
    print(f"{'operation':<12}{header}" + "".join(f"{s:>22}" for s in steps))
    for operation in ("construct", *METHODS):
        cells = "".join(
            f"{seconds(times[f'{operation}/{size}'])['median'] * 1e3:>10.2f}ms" for size in sizes
        )
        growth = ""
        for small, large in itertools.pairwise(sizes):
            figure = ratio(times, f"{operation}/{large}", f"{operation}/{small}")
            growth += f"{figure['median']:>9.1f} [{figure['low']:.1f}-{figure['high']:.1f}]"
            growth = growth.ljust(len(growth) + 5)
        print(f"{operation:<12}{cells}   {growth}")


if __name__ == "__main__":
    main()

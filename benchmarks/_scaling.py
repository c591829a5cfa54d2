"""Section 2: how cost grows with n, and peak memory.

Cost: a cosine trajectory for n from 10^3 up, for lrsched, stepping torch, optax
jit(vmap) (with and without compile) and the np.cos floor, all timed side by side at each
n. Linear growth shows as a log-log slope of 1; the constant is lrsched's time over the
floor's. Memory: tracemalloc's peak (numpy reports its buffers to it) while a schedule
fills an n-step trajectory, over the size of the output array.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
from _families import BY_NAME, FAMILIES
from _timing import ratio, rounds, seconds
from _trajectory import SLOW, _available, enable_jax_x64, floors, optax_candidates, torch_trajectory


def scaling(config, log) -> tuple[list[dict], dict]:
    cosine = BY_NAME["cosine"]
    have_torch, have_optax = _available("torch"), _available("optax")
    if have_optax:
        enable_jax_x64()
    curves: dict[str, dict[int, float]] = {}
    rows = []
    for n in config.scaling_sizes:
        steps = np.arange(n)
        schedule = cosine.lrsched(n)
        candidates = {"lrsched": lambda s=schedule, t=steps: s(t), "np.cos": floors(n)["np.cos"]}
        if have_torch and n <= config.torch_scaling_limit:
            candidates["torch loop"] = lambda n=n: torch_trajectory(cosine, n)
        if have_optax:
            optax = optax_candidates(cosine, n, loop_limit=0)
            if n > config.compile_scaling_limit:
                optax.pop("optax jit(vmap)+compile")
            candidates.update(optax)
        times = rounds(
            candidates, repeats=config.repeats, min_seconds=config.min_seconds, once=SLOW
        )
        for name, values in times.items():
            curves.setdefault(name, {})[n] = seconds(values)["median"]
        rows.append(
            {
                "section": "scaling",
                "family": "cosine",
                "n": n,
                "measure": "lrsched / np.cos floor",
                **ratio(times, "lrsched", "np.cos"),
            }
        )
        log(
            f"  scaling n={n:>8} lrsched {1e9 * curves['lrsched'][n] / n:6.2f} ns/step, "
            f"np.cos {1e9 * curves['np.cos'][n] / n:6.2f} ns/step"
        )
    large = [n for n in config.scaling_sizes if n >= 10**5]
    if len(large) >= 2:
        for name in ("lrsched", "np.cos", "optax jit(vmap)"):
            if name in curves:
                slope = _slope({n: curves[name][n] for n in large if n in curves[name]})
                rows.append(
                    {
                        "section": "scaling",
                        "family": "cosine",
                        "n": f"{large[0]}..{large[-1]}",
                        "measure": f"{name}: log-log slope of time vs n",
                        "median": slope,
                        "target": "1 (linear)" if name == "lrsched" else None,
                        "pass": abs(slope - 1.0) <= 0.1 if name == "lrsched" else None,
                    }
                )
    return rows, curves


def memory(config, log) -> list[dict]:
    rows = []
    n = config.memory_size
    for family in config.families(FAMILIES):
        schedule = family.lrsched(n)
        for dtype in ("int64", "float64"):
            steps = np.arange(n, dtype=dtype)
            tracemalloc.start()
            try:
                schedule(steps)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            output_bytes = 8 * n
            is_target = dtype == "int64"
            rows.append(
                {
                    "section": "memory",
                    "family": family.name,
                    "n": n,
                    "measure": f"peak memory / output array ({dtype} steps)",
                    "median": peak / output_bytes,
                    "target": "<= 3" if is_target else None,
                    "pass": peak / output_bytes <= 3.0 if is_target else None,
                }
            )
        log(f"  memory n={n} {family.name:<18} {rows[-2]['median']:.2f}x output")
    return rows


def _slope(points: dict[int, float]) -> float:
    xs = np.log([float(n) for n in points])
    ys = np.log(list(points.values()))
    return float(np.polyfit(xs, ys, 1)[0]) if len(xs) > 1 else math.nan

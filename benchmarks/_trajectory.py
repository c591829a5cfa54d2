"""Section 1: whole trajectories, lrsched against the floors, torch, optax and Keras.

Every schedule is evaluated for steps 0..n-1 given as ``np.arange(n)`` (int64: the
conversion to float64 is part of lrsched's cost, as in real use). The floors run on a
float64 array of the same length: ``np.cos`` of values in [0, pi] (what a cosine
schedule must at least compute), ``np.exp`` of values in [-5, 0], and writing an n-long
output array (``np.full``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from _families import FAMILIES
from _timing import ratio, rounds, seconds


def floors(n: int) -> dict:
    """Callables for the physical floor of an n-step float64 trajectory."""
    angles = np.arange(n, dtype=np.float64) * (math.pi / n)
    exponents = np.arange(n, dtype=np.float64) * (-5.0 / n)
    return {
        "np.cos": lambda: np.cos(angles),
        "np.exp": lambda: np.exp(exponents),
        "write": lambda: np.full(n, 0.1),
    }


def torch_trajectory(family, n: int) -> list[float]:
    """Step a real torch optimizer's scheduler n - 1 times, reading the LR at every step."""
    import torch

    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()"
        scheduler = family.torch(optimizer, n)
        group = optimizer.param_groups[0]
        key = family.torch_reads
        values = [group[key]]
        append, step = values.append, scheduler.step
        for _ in range(n - 1):
            step()
            append(group[key])
    return values


def enable_jax_x64() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)


def optax_candidates(family, n: int, *, loop_limit: int) -> dict:
    """optax's schedule as a Python loop (over the first ``loop_limit`` steps at most) and
    as jit(vmap), with and without compile time. jax runs in float64 (x64), the precision lrsched computes in."""
    import jax
    import jax.numpy as jnp

    schedule = family.optax(n)
    steps = jnp.arange(n)
    compiled = jax.jit(jax.vmap(schedule))
    compiled(steps).block_until_ready()
    candidates = {
        "optax jit(vmap)": lambda: compiled(steps).block_until_ready(),
        # A new jit of a new vmap is a cache miss: this times trace + compile + run.
        "optax jit(vmap)+compile": lambda: jax.jit(jax.vmap(schedule))(steps).block_until_ready(),
    }
    if loop_limit:
        looped = min(n, loop_limit)
        candidates["optax loop"] = lambda: [float(schedule(i)) for i in range(looped)]
    return candidates


def run(config, log) -> list[dict]:
    rows = []
    have_torch = _available("torch")
    have_optax = _available("optax")
    if have_optax:
        enable_jax_x64()
    for n in config.sizes:
        steps = np.arange(n)
        floor = floors(n)
        for family in config.families(FAMILIES):
            schedule = family.lrsched(n)
            candidates = {"lrsched": lambda s=schedule, t=steps: s(t)}
            candidates.update(floor)
            if have_torch and family.torch and n <= config.torch_limit:
                candidates["torch loop"] = lambda f=family, n=n: torch_trajectory(f, n)
            if have_optax and family.optax:
                candidates.update(optax_candidates(family, n, loop_limit=config.loop_limit))
            times = rounds(
                candidates, repeats=config.repeats, min_seconds=config.min_seconds, once=SLOW
            )
            base = {"section": "trajectory", "family": family.name, "n": n}
            rows.append(
                {
                    **base,
                    "measure": "lrsched / np.cos floor",
                    **ratio(times, "lrsched", "np.cos"),
                    "target": "<= 3 (aim 2) at n = 10^7" if n == 10**7 else None,
                    "pass": _at_most(times, "lrsched", "np.cos", 3.0) if n == 10**7 else None,
                }
            )
            rows.append(
                {**base, "measure": "lrsched / np.exp floor", **ratio(times, "lrsched", "np.exp")}
            )
            rows.append(
                {**base, "measure": "lrsched / write floor", **ratio(times, "lrsched", "write")}
            )
            rows.append(
                {**base, "measure": "lrsched seconds", **seconds(times["lrsched"]), "unit": "s"}
            )
            if "torch loop" in times:
                is_target = family.name == "cosine" and n == 10**5
                rows.append(
                    {
                        **base,
                        "measure": "torch loop / lrsched",
                        **ratio(times, "torch loop", "lrsched"),
                        "torch_us_per_step": 1e6 * seconds(times["torch loop"])["median"] / n,
                        "target": ">= 200" if is_target else None,
                        "pass": _at_least(times, "torch loop", "lrsched", 200.0)
                        if is_target
                        else None,
                    }
                )
            if "optax loop" in times:
                looped = min(n, config.loop_limit)
                rows.append(
                    {
                        **base,
                        "measure": "optax loop / lrsched",
                        **ratio(times, "optax loop", "lrsched", scale=n / looped),
                        "note": f"per-step cost from the first {looped} steps"
                        if looped < n
                        else None,
                    }
                )
            for name in ("optax jit(vmap)", "optax jit(vmap)+compile"):
                if name in times:
                    target = passed = None
                    if name == "optax jit(vmap)":
                        target, passed = ">= 1", _at_least(times, name, "lrsched", 1.0)
                    elif name == "optax jit(vmap)+compile" and n <= 10**6:
                        target, passed = ">= 10", _at_least(times, name, "lrsched", 10.0)
                    rows.append(
                        {
                            **base,
                            "measure": f"{name} / lrsched",
                            **ratio(times, name, "lrsched"),
                            "target": target,
                            "pass": passed,
                        }
                    )
            log(
                f"  trajectory n={n:>8} {family.name:<18} "
                f"{ratio(times, 'lrsched', 'np.cos')['median']:.2f}x np.cos"
            )
    return rows


SLOW = ("torch loop", "optax loop", "optax jit(vmap)+compile")


def _at_most(times, numerator, denominator, limit) -> bool:
    return ratio(times, numerator, denominator)["median"] <= limit


def _at_least(times, numerator, denominator, limit) -> bool:
    return ratio(times, numerator, denominator)["median"] >= limit


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None

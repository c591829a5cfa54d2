"""Side-by-side timing: every figure is a ratio of two timings taken in the same run.

Machines are noisy (shared cores, frequency changes), so candidates are timed in
interleaved rounds: each round times every candidate once, in a rotating order, and a
ratio is formed per round. The report gives the median ratio over rounds and its spread
(lowest and highest round), so a noisy neighbour shows up as spread rather than as bias.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def time_once(func: Callable[[], object], *, min_seconds: float = 0.0) -> float:
    """Seconds per call of ``func``: one call, or as many as fill ``min_seconds``."""
    calls = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        while True:
            func()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return elapsed / calls
    finally:
        if gc_was_enabled:
            gc.enable()


def rounds(
    candidates: dict[str, Callable[[], object]],
    *,
    repeats: int,
    min_seconds: float = 0.0,
    once: tuple[str, ...] = (),
    warmup: bool = True,
) -> dict[str, list[float]]:
    """Per-call seconds of every candidate in each of ``repeats`` interleaved rounds.

    Fast candidates are called repeatedly for ``min_seconds`` per round (their mean is
    the round's figure); the slow ones named in ``once`` are called once per round.
    """
    names = list(candidates)
    if warmup:
        for name in names:
            if name not in once:
                candidates[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            least = 0.0 if name in once else min_seconds
            times[name].append(time_once(candidates[name], min_seconds=least))
    return times


def ratio(
    times: dict[str, list[float]], numerator: str, denominator: str, *, scale: float = 1.0
) -> dict:
    """Median and spread over rounds of ``numerator`` time / ``denominator`` time.

    ``scale`` multiplies the numerator, e.g. n/m when it ran only the first m of n steps.
    """
    per_round = [scale * a / b for a, b in zip(times[numerator], times[denominator])]
    return {
        "median": statistics.median(per_round),
        "low": min(per_round),
        "high": max(per_round),
        "rounds": len(per_round),
    }


def seconds(times: list[float]) -> dict:
    """Median and spread of absolute timings (reported for context, never compared)."""
    return {"median": statistics.median(times), "low": min(times), "high": max(times)}

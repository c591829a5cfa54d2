"""The speed users feel: single steps, whole trajectories, and the torch adapter.

    python benchmarks/bench_feel.py            # full run (a few minutes on 2 cores)
    python benchmarks/bench_feel.py --quick    # 10^6-step trajectories, fewer rounds

Four measurements, each a ratio of timings taken side by side in this run (the median
over interleaved rounds, with the lowest and highest round as its spread, see _timing):

1. scalar: ``s(t)`` for a Python int t, for every family and the common composites, over
   one ``CosineAnnealingLR.step()`` on a real optimizer (target <= 0.5): as a training
   loop asks (t = 0, 1, 2, ...), and at random steps: a new schedule's first call
   (cold, no target: one small page of the array formula), steps asked again (warm) and
   steps never asked before (fresh), see ``_random_access``. The scalar values of every
   timed step are then checked bit for bit against one array call.
2. trajectory: ``s(np.arange(n))`` (n = 10^7) over a bare ``np.cos`` of the same steps as
   float64 (target <= 2). A family that misses gets a profile: the time of each numpy
   operation of its formula, run block by block as the evaluator runs it.
3. adapter: ``ScheduleLR.step()`` over the family's own torch scheduler ``step()``
   (target <= 0.25), and a 10^5-step cosine trajectory against stepping torch's
   ``CosineAnnealingLR`` 10^5 times (target >= 200).
4. multiplicative: ``ScheduleLR`` over ``multiplicative`` with a function that branches
   on its step (so it cannot take an array): calls per step over 10^5 steps (target
   <= 1) and time per step at steps 99000..100000 over steps 0..1000 (target: no growth).

Prints a table and writes benchmarks/results/feel.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import math
import os
import random
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _families import BY_NAME, FAMILIES  # noqa: E402
from _timing import ratio, rounds, seconds, time_once  # noqa: E402

import lrsched as L  # noqa: E402
from lrsched._registry import library_families  # noqa: E402


@dataclass
class Config:
    scalar_horizon: int = 10**6  # the schedules' length in the scalar section
    scalar_batch: int = 1000  # successive s(t) calls per timed call
    random_steps: int = 200  # random s(t) calls per timed call
    trajectory_steps: int = 10**7
    torch_trajectory_steps: int = 10**5
    adapter_steps: int = 2000  # step() calls per timed call (_adapters)
    multiplicative_steps: int = 10**5
    multiplicative_window: int = 1000
    repeats: int = 7
    trajectory_repeats: int = 5
    min_seconds: float = 0.05
    profile_ops: int = 16  # the costliest operations listed per missed family

    def families(self, all_families):  # what _adapters.torch_rows asks of a config
        return list(all_families)


QUICK = dict(
    scalar_batch=200,
    random_steps=50,
    trajectory_steps=10**6,
    adapter_steps=1000,
    repeats=3,
    trajectory_repeats=3,
    min_seconds=0.02,
)


def composites(n: int) -> dict:
    """The combinators the families above do not already show (warmup(cosine), sequence
    and wsd are in _families), each around a family a user would wrap."""
    return {
        "clip": lambda: L.cosine(0.1, total_steps=n).clip(min_lr=1e-3),
        "product": lambda: L.cosine(0.1, total_steps=n) * L.step(1.0, n // 4, gamma=0.5),
        "shift": lambda: L.cosine(0.1, total_steps=n).shift(n // 10),
        "per_epoch": lambda: L.cosine(0.1, total_steps=100).per_epoch(n // 100),
    }


def entries(n: int) -> dict:
    """Every family (plateau excepted: it is driven by metrics, not steps) and the common
    composites, as builders of a fresh schedule sized for n steps."""
    built = {family.name: (lambda family=family: family.lrsched(n)) for family in FAMILIES}
    built.update(composites(n))
    covered = {type(build()).__name__ for build in built.values()}
    missing = set(library_families()) - covered - {"plateau"}
    if missing:
        raise SystemExit(f"bench_feel: no schedule for {sorted(missing)}; add one")
    return built


def _row(section, family, measure, figure=None, **extra) -> dict:
    return {"section": section, "family": family, "measure": measure, **(figure or {}), **extra}


def _target(figure: dict, text: str, passed: bool) -> dict:
    return {**figure, "target": text, "pass": bool(passed)}


def _torch_optimizer():
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    for parameter in model.parameters():
        parameter.grad = torch.randn_like(parameter)
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def _stepping(scheduler, calls: int):
    def run():
        step = scheduler.step
        for _ in range(calls):
            step()

    return run


# --- 1. scalar steps ----------------------------------------------------------------------


def scalar(config: Config, log) -> list[dict]:
    from torch.optim.lr_scheduler import CosineAnnealingLR

    n, batch = config.scalar_horizon, config.scalar_batch
    built = entries(n)
    generator = random.Random(13)
    random_steps = [generator.randrange(n) for _ in range(config.random_steps)]
    # Every step once, in random order, for the fresh steps (after a wrap-around they would
    # no longer be fresh; a run asks far fewer).
    order = list(range(n))
    generator.shuffle(order)
    reached: dict[str, int] = {}

    def successive(name, schedule):
        reached[name] = 0

        def run():
            start = reached[name]
            for t in range(start, start + batch):
                schedule(t)
            reached[name] = start + batch

        return run

    optimizer = _torch_optimizer()
    torch_cosine = CosineAnnealingLR(optimizer, T_max=10**8)
    optimizer.step()  # the order torch expects; its first step() would warn otherwise
    torch_step = _stepping(torch_cosine, batch)
    total = float(n)

    def python_cosine(t):  # what a hand-written formula costs, for context
        return 0.05 * (1.0 + math.cos(math.pi * t / total))

    candidates = {
        "torch step": torch_step,
        "python formula": lambda: [python_cosine(t) for t in range(batch)],
    }
    for name, build in built.items():
        candidates[f"{name} successive"] = successive(name, build())
    times = rounds(candidates, repeats=config.repeats, min_seconds=config.min_seconds)
    times = {name: [value / batch for value in values] for name, values in times.items()}
    torch_us = 1e6 * seconds(times["torch step"])["median"]
    rows = [
        _row(
            "scalar",
            "-",
            "torch CosineAnnealingLR.step() us",
            {
                k: 1e6 * v if isinstance(v, float) else v
                for k, v in seconds(times["torch step"]).items()
            },
        ),
        _row(
            "scalar",
            "-",
            "python math.cos formula / torch step",
            ratio(times, "python formula", "torch step"),
        ),
    ]
    for name, build in built.items():
        figure = ratio(times, f"{name} successive", "torch step")
        rows.append(
            _row(
                "scalar",
                name,
                "s(int), successive steps / torch step",
                _target(figure, "<= 0.5", figure["median"] <= 0.5),
                us=1e6 * seconds(times[f"{name} successive"])["median"],
                kind="successive",
            )
        )
        rows += _random_access(config, name, build, random_steps, order, torch_step)
        log(
            f"  scalar {name:<18} "
            + ", ".join(f"{row['kind']} {row['us']:7.2f} us" for row in rows[-4:])
            + f" (torch step {torch_us:.2f} us)"
        )
    for name, build in built.items():
        steps = list(range(reached[name])) + random_steps
        check_scalar_bits(name, build(), steps)
    rows.append(
        _row(
            "scalar",
            "-",
            "scalar == array, bit for bit",
            note=(
                f"checked for every timed step (successive up to {max(reached.values())}, "
                f"and {len(random_steps)} random)"
            ),
        )
    )
    return rows


def _random_access(config, name, build, random_steps, order, torch_step) -> list[dict]:
    """s(int) away from a training loop's order, one schedule at a time beside torch's
    step (tables are kept per schedule within a global bound, so timing every schedule in
    one interleaved run would time their evictions of each other):

    - cold: the first call of a new schedule (built beforehand, untimed), at a random
      step: one small page of the array formula (what a REPL user waits for once);
    - warm: the same random steps asked again after two passes over them (a loop that
      revisits steps: evaluation every k steps, a resumed run, a plot's hover);
    - fresh: each call a random step never asked before; the pages grow with the misses,
      so this starts at the cold cost and tends to a lookup once the schedule's range is
      held (the figure is the median over rounds that ask a new set of steps each time).
    """
    count = len(random_steps)
    cold_pool: list = []
    fresh_schedule = build()
    asked = [0]

    def cold():
        if not cold_pool:  # refilled between timings: building is not what is timed
            raise LookupError
        for t, schedule in zip(random_steps, cold_pool.pop()):
            schedule(t)

    warm_schedule = build()

    def warm():
        for t in random_steps:
            warm_schedule(t)

    def fresh():
        start = asked[0] % len(order)
        for t in order[start : start + count]:
            fresh_schedule(t)
        asked[0] += count

    warm()
    warm()
    times: dict[str, list[float]] = {"torch": [], "cold": [], "torch, cold": []}
    times.update(warm=[], fresh=[])
    batch = config.scalar_batch
    # The cold rounds come last: their new tables evict the least recently missed ones.
    for kinds in (("torch", "warm", "fresh"), ("torch, cold", "cold")):
        for index in range(config.repeats):
            for kind in kinds[index % len(kinds) :] + kinds[: index % len(kinds)]:
                if kind.startswith("torch"):
                    spent = time_once(torch_step, min_seconds=config.min_seconds)
                    times[kind].append(spent / batch)
                elif kind == "cold":
                    cold_pool.append([build() for _ in range(count)])
                    times[kind].append(time_once(cold) / count)
                else:
                    call = warm if kind == "warm" else fresh
                    times[kind].append(time_once(call, min_seconds=config.min_seconds) / count)
    rows = []
    for kind, target in (("cold", None), ("warm", "<= 0.5"), ("fresh", "<= 0.5")):
        figure = ratio(times, kind, "torch, cold" if kind == "cold" else "torch")
        if target is not None:
            figure = _target(figure, target, figure["median"] <= 0.5)
        rows.append(
            _row(
                "scalar",
                name,
                f"s(int), random steps, {kind} / torch step",
                figure,
                us=1e6 * seconds(times[kind])["median"],
                kind=kind,
            )
        )
    rows[-1]["note"] = f"{asked[0]} fresh steps asked in all, of {config.scalar_horizon}"
    return rows


def check_scalar_bits(name: str, schedule, steps: list[int]) -> None:
    """Every ``schedule(t)`` is a Python float, bit for bit ``schedule(array)``'s value."""
    scalars = [schedule(t) for t in steps]
    kinds = {type(value) for value in scalars}
    if kinds != {float}:
        raise AssertionError(f"{name}: s(int) gave {kinds}, not float")
    array = schedule(np.array(steps, dtype=np.int64))
    scalars = np.array(scalars)
    differ = np.flatnonzero(scalars.view(np.uint64) != array.view(np.uint64))
    if differ.size:
        i = differ[0]
        raise AssertionError(
            f"{name}: s({steps[i]}) = {scalars[i]!r} but the array gives "
            f"{array[i]!r} ({differ.size} of {len(steps)} steps differ)"
        )


# --- 2. whole trajectories ----------------------------------------------------------------


def trajectory(config: Config, log) -> tuple[list[dict], dict]:
    n = config.trajectory_steps
    steps = np.arange(n)
    float_steps = steps.astype(np.float64)
    angles = float_steps * (math.pi / n)
    built = entries(n)
    schedules = {name: build() for name, build in built.items()}
    candidates = {
        "np.cos(steps)": lambda: np.cos(float_steps),
        "np.cos([0, pi])": lambda: np.cos(angles),
    }
    for name, schedule in schedules.items():
        candidates[name] = lambda schedule=schedule: schedule(steps)
    # The running product of a multiplicative is kept per schedule object, so its first
    # call on a new object is the cost a user pays once.
    fresh = BY_NAME["multiplicative"].lrsched
    candidates["multiplicative (new)"] = lambda: fresh(n)(steps)
    times = rounds(candidates, repeats=config.trajectory_repeats)
    rows = [
        _row(
            "trajectory",
            "-",
            "np.cos(float64 steps) ms",
            {k: 1e3 * v for k, v in seconds(times["np.cos(steps)"]).items()},
            n=n,
        ),
        _row(
            "trajectory",
            "-",
            "np.cos([0, pi]) / np.cos(steps)",
            ratio(times, "np.cos([0, pi])", "np.cos(steps)"),
            n=n,
        ),
    ]
    missed = []
    for name in [*schedules, "multiplicative (new)"]:
        figure = ratio(times, name, "np.cos(steps)")
        passed = figure["median"] <= 2.0
        rows.append(
            _row(
                "trajectory",
                name,
                "s(np.arange(n)) / np.cos(float64 steps)",
                _target(figure, "<= 2", passed),
                n=n,
                ms=1e3 * seconds(times[name])["median"],
            )
        )
        rows.append(
            _row(
                "trajectory",
                name,
                "s(np.arange(n)) / np.cos([0, pi])",
                ratio(times, name, "np.cos([0, pi])"),
                n=n,
            )
        )
        if not passed and name in schedules:
            missed.append(name)
        log(f"  trajectory {name:<26} {figure['median']:.2f}x np.cos(steps)")
    cosine_ms = 1e3 * seconds(times["np.cos(steps)"])["median"]
    profiles = {}
    for name in missed:
        measured_ms = 1e3 * seconds(times[name])["median"]
        profiles[name] = profile(schedules[name], steps, cosine_ms, measured_ms, config.profile_ops)
    fresh_figure = ratio(times, "multiplicative (new)", "np.cos(steps)")
    if fresh_figure["median"] > 2.0:
        # Its cost is the running product, computed outside the formula's namespace, so
        # it is profiled by function (cProfile) instead.
        profiles["multiplicative (new)"] = profile_calls(
            lambda: fresh(n)(steps),
            cosine_ms,
            1e3 * seconds(times["multiplicative (new)"])["median"],
            config.profile_ops,
        )
    for name, found in profiles.items():
        log(
            f"  profile {name}: "
            + ", ".join(f"{op['op']} {op['ms']:.0f} ms" for op in found["ops"][:4])
        )
    return rows, profiles


class _Clock:
    """Exclusive times by name: a nested timing is subtracted from the one around it."""

    def __init__(self):
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.calls: dict[str, int] = collections.defaultdict(int)
        self._inner: list[float] = []

    @contextlib.contextmanager
    def timing(self, name: str):
        self._inner.append(0.0)
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[name] += elapsed - self._inner.pop()
            self.calls[name] += 1
            if self._inner:
                self._inner[-1] += elapsed


_CLOCK: _Clock | None = None


def _plain(value):
    return value.view(np.ndarray) if isinstance(value, _Timed) else value


def _timed(value):
    if type(value) is np.ndarray:
        return value.view(_Timed)
    if isinstance(value, tuple):
        return tuple(_timed(item) for item in value)
    return value


class _Timed(np.ndarray):
    """An array whose numpy operations (ufuncs, operators, array functions) are timed by
    name, so a formula is profiled as written, without touching it."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        inputs = tuple(_plain(value) for value in inputs)
        kwargs = {
            key: tuple(_plain(item) for item in value) if key == "out" else _plain(value)
            for key, value in kwargs.items()
        }
        with _CLOCK.timing(name):
            result = getattr(ufunc, method)(*inputs, **kwargs)
        return _timed(result)

    def __array_function__(self, func, types, args, kwargs):
        with _CLOCK.timing(f"np.{func.__name__}"):
            result = super().__array_function__(func, types, args, kwargs)
        return _timed(result)


class _TimedOps:
    """lrsched's numpy namespace with each of its functions timed (their own time, less
    the numpy operations inside), passed down to every child schedule."""

    def __init__(self, clock: _Clock):
        from lrsched._ops import NUMPY

        for name in dir(NUMPY):
            if name.startswith("_"):
                continue
            value = getattr(NUMPY, name)
            if callable(value):
                value = self._timed(clock, f"xp.{name}", value)
            setattr(self, name, value)
        self.values_of = self._values_of

    def _values_of(self, schedule, t):
        if type(schedule).__name__ == "multiplicative":  # evaluated with numpy only
            return schedule._values(t)
        return schedule._values(t, self)

    @staticmethod
    def _timed(clock, name, function):
        def timed(*args, **kwargs):
            with clock.timing(name):
                return function(*args, **kwargs)

        return timed


def profile(
    schedule, steps: np.ndarray, cosine_ms: float, measured_ms: float, top: int, runs: int = 3
) -> dict:
    """Where a schedule's trajectory time goes: its steps run block by block as the
    evaluator runs them (check the steps, convert them, the formula, check the values,
    store), each numpy operation and each function of lrsched's numpy namespace timed on
    its own. Each figure is the median of ``runs`` runs."""
    global _CLOCK
    from lrsched._evaluate import BLOCK, first_negative_or_nonfinite

    clocks, totals = [], []
    for _ in range(runs):
        clock = _CLOCK = _Clock()
        xp = _TimedOps(clock)
        out = np.empty(steps.shape)
        with np.errstate(over="ignore", under="ignore"):
            start = time.perf_counter()
            for low in range(0, steps.size, BLOCK):
                block = steps[low : low + BLOCK]
                with clock.timing("evaluator: check steps"):
                    first_negative_or_nonfinite(block)
                with clock.timing("evaluator: steps to float64"):
                    t = block.astype(np.float64)
                with clock.timing("formula: own code (Python, ndarray methods)"):
                    values = xp.values_of(schedule, t.view(_Timed))
                values = np.asarray(_plain(values))
                with clock.timing("evaluator: check values"):
                    first_negative_or_nonfinite(values)
                # The first write to each page of a new output array faults it in; the
                # evaluator pays that too.
                with clock.timing("evaluator: store (first touch of the output)"):
                    out[low : low + values.size] = values
            totals.append(time.perf_counter() - start)
        _CLOCK = None
        clocks.append(clock)
    total = statistics.median(totals)
    spent = {
        op: statistics.median(clock.seconds.get(op, 0.0) for clock in clocks)
        for op in clocks[0].seconds
    }
    ops = sorted(
        (
            {
                "op": op,
                "ms": 1e3 * seconds_,
                "share": seconds_ / total,
                "x_np_cos": 1e3 * seconds_ / cosine_ms,
                "calls": clocks[0].calls[op],
            }
            for op, seconds_ in spent.items()
        ),
        key=lambda op: -op["ms"],
    )
    return {
        "total_ms": 1e3 * total,
        "measured_ms": measured_ms,
        "np_cos_ms": cosine_ms,
        "block": BLOCK,
        "ops": ops[:top],
        "other_ops_ms": sum(op["ms"] for op in ops[top:]),
    }


def profile_calls(call, cosine_ms: float, measured_ms: float, top: int) -> dict:
    """Where ``call``'s time goes, by function (cProfile's own time per function: numpy's
    functions and array methods, and lrsched's Python functions)."""
    import cProfile
    import pstats

    call()  # imports and caches, which are not what is asked about
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(call)
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats
    ops = []
    for (path, line, function), (_, calls, own, _, _) in stats.items():
        where = function if path == "~" else f"{os.path.basename(path)}:{line}({function})"
        ops.append(
            {
                "op": where,
                "ms": 1e3 * own,
                "share": own / total,
                "x_np_cos": 1e3 * own / cosine_ms,
                "calls": calls,
            }
        )
    ops.sort(key=lambda op: -op["ms"])
    return {
        "total_ms": 1e3 * total,
        "measured_ms": measured_ms,
        "np_cos_ms": cosine_ms,
        "block": None,
        "ops": ops[:top],
        "other_ops_ms": sum(op["ms"] for op in ops[top:]),
    }


# --- 3. the torch adapter -------------------------------------------------------------------


def adapter(config: Config, log) -> list[dict]:
    import _adapters
    from _trajectory import torch_trajectory

    rows = [
        row
        for row in _adapters.torch_rows(config, log)
        if row["measure"].startswith("ScheduleLR.step() / torch")
    ]
    n = config.torch_trajectory_steps
    cosine = BY_NAME["cosine"]
    schedule, steps = cosine.lrsched(n), np.arange(n)
    lrsched_values = schedule(steps)
    torch_values = torch_trajectory(cosine, n)
    np.testing.assert_allclose(lrsched_values, torch_values, rtol=1e-9, atol=1e-15)
    times = rounds(
        {"lrsched": lambda: schedule(steps), "torch loop": lambda: torch_trajectory(cosine, n)},
        repeats=config.repeats,
        min_seconds=config.min_seconds,
        once=("torch loop",),
    )
    figure = ratio(times, "torch loop", "lrsched")
    rows.append(
        _row(
            "adapters",
            "cosine",
            "stepping torch n times / s(np.arange(n))",
            _target(figure, ">= 200", figure["median"] >= 200),
            n=n,
        )
    )
    log(f"  cosine trajectory n={n}: torch loop {figure['median']:.0f}x slower")
    return rows


# --- 4. multiplicative with a per-element function ----------------------------------------


class _Counted:
    """A per-step factor that branches on its step, so it cannot take an array; counts
    how it is called."""

    def __init__(self, switch: int):
        self.switch = switch
        self.step_calls: collections.Counter = collections.Counter()
        self.array_calls = 0

    def __call__(self, k):
        if isinstance(k, np.ndarray):
            self.array_calls += 1
        else:
            self.step_calls[k] += 1
        if k < self.switch:  # raises on an array: lrsched then calls it per step
            return 0.99999
        return 0.99998


def multiplicative(config: Config, log) -> list[dict]:
    from torch.optim.lr_scheduler import MultiplicativeLR

    from lrsched.adapters.torch import ScheduleLR

    n, window = config.multiplicative_steps, config.multiplicative_window
    windows = n // window

    def run(kind: str):
        """A fresh scheduler stepped n times; seconds per step in each window."""
        fn = _Counted(n // 2)
        optimizer = _torch_optimizer()
        if kind == "ScheduleLR":
            scheduler = ScheduleLR(optimizer, L.multiplicative(0.1, fn))
        else:
            scheduler = MultiplicativeLR(optimizer, fn)
        optimizer.step()
        advance = _stepping(scheduler, window)
        spent = [time_once(advance) / window for _ in range(windows)]
        return spent, fn, optimizer.param_groups[0]["lr"]

    times = {
        f"{kind} {where}": []
        for kind in ("ScheduleLR", "torch")
        for where in ("first", "last", "first 10", "last 10")
    }
    counts, final = {}, {}
    for index in range(config.repeats):
        for kind in ("ScheduleLR", "torch") if index % 2 == 0 else ("torch", "ScheduleLR"):
            spent, fn, final[kind] = run(kind)
            counts[kind] = fn
            times[f"{kind} first"].append(spent[0])
            times[f"{kind} last"].append(spent[-1])
            times[f"{kind} first 10"].append(sum(spent[:10]) / 10)
            times[f"{kind} last 10"].append(sum(spent[-10:]) / 10)
    if not math.isclose(final["ScheduleLR"], final["torch"], rel_tol=1e-12):
        raise AssertionError(
            f"multiplicative: ScheduleLR ends at {final['ScheduleLR']!r}, "
            f"torch at {final['torch']!r}"
        )
    ours, theirs = counts["ScheduleLR"], counts["torch"]
    most = max(ours.step_calls.values())
    calls = sum(ours.step_calls.values()) + ours.array_calls
    last = f"{n - window}..{n}"
    rows = [
        _row(
            "multiplicative",
            "ScheduleLR",
            "most fn calls for one step k",
            {"median": most},
            target="<= 1",
            **{"pass": most <= 1},
            note=f"torch: {max(theirs.step_calls.values())}",
        ),
        _row(
            "multiplicative",
            "ScheduleLR",
            f"fn calls / steps run ({n})",
            {"median": calls / n},
            note=f"fn(k) for {len(ours.step_calls)} distinct k (tables run up to "
            f"{max(ours.step_calls)}, ahead of the last step) and {ours.array_calls} "
            f"whole-array tries, one per chunk, that raise; torch: "
            f"{sum(theirs.step_calls.values()) / n:.4g}",
        ),
        _row(
            "multiplicative",
            "ScheduleLR",
            f"time per step at {last} / at 0..{window}",
            _target(
                ratio(times, "ScheduleLR last", "ScheduleLR first"),
                "<= 1 (no growth)",
                ratio(times, "ScheduleLR last", "ScheduleLR first")["median"] <= 1.0,
            ),
        ),
        _row(
            "multiplicative",
            "ScheduleLR",
            f"time per step at {n - 10 * window}..{n} / at 0..{10 * window}",
            ratio(times, "ScheduleLR last 10", "ScheduleLR first 10"),
            note="windows that include chunk refills",
        ),
        _row(
            "multiplicative",
            "torch",
            f"time per step at {last} / at 0..{window}",
            ratio(times, "torch last", "torch first"),
        ),
        _row(
            "multiplicative",
            "ScheduleLR",
            f"ScheduleLR / torch step, at 0..{window}",
            ratio(times, "ScheduleLR first", "torch first"),
        ),
        _row(
            "multiplicative",
            "ScheduleLR",
            f"ScheduleLR / torch step, at {last}",
            ratio(times, "ScheduleLR last", "torch last"),
        ),
    ]
    us = {name: 1e6 * seconds(values)["median"] for name, values in times.items()}
    rows[1]["us_per_step"] = us
    log(
        f"  multiplicative: {calls / n:.4f} calls per step run; us per step "
        + ", ".join(f"{name} {value:.2f}" for name, value in us.items())
    )
    return rows


# --- report -------------------------------------------------------------------------------


def _print_profiles(profiles: dict) -> None:
    for name, found in profiles.items():
        print(
            f"\nprofile of {name}: {found['total_ms']:.0f} ms instrumented "
            f"({found['measured_ms']:.0f} ms uninstrumented; np.cos of the steps "
            f"{found['np_cos_ms']:.0f} ms)"
            + (f", in blocks of {found['block']} steps" if found["block"] else ", by function")
        )
        for op in found["ops"]:
            print(
                f"  {op['op']:<46} {op['ms']:8.1f} ms  {100 * op['share']:5.1f} %  "
                f"{op['x_np_cos']:5.2f}x np.cos  ({op['calls']} calls)"
            )
        if found["other_ops_ms"]:
            print(f"  {'the other operations':<46} {found['other_ops_ms']:8.1f} ms")


SECTIONS = ("scalar", "trajectory", "adapter", "multiplicative")


def _cell(row: dict | None) -> str:
    if row is None:
        return ""
    text = f"{row['median']:.3g}"
    if "low" in row:
        text += f" [{row['low']:.3g}-{row['high']:.3g}]"
    if row.get("note"):
        text += f" ({row['note']})"
    if row.get("pass") is not None:
        text += " ok" if row["pass"] else " **missed**"
    return text


def markdown(payload: dict) -> str:
    """The figures of a run as the docs page shows them (``--docs``)."""
    rows = payload["rows"]

    def find(section: str, measure: str, family: str = "-") -> dict | None:
        return next(
            (
                r
                for r in rows
                if r["section"] == section and r["measure"] == measure and r["family"] == family
            ),
            None,
        )

    def families(section: str, measure: str) -> list[str]:
        return [r["family"] for r in rows if r["section"] == section and r["measure"] == measure]

    machine = payload["machine"]
    out = [
        f"Figures from `{payload['command']}`, finished {payload['finished']}, on "
        f"{machine.get('cpu', 'this machine')} ({machine.get('cores', '?')} cores), load average "
        f"{payload.get('load_average', '?')} at the start.",
    ]
    torch_us = find("scalar", "torch CosineAnnealingLR.step() us")
    if torch_us is not None:
        out += [
            "",
            f"**`s(t)` / one torch `CosineAnnealingLR.step()`** (torch's step: "
            f"{torch_us['median']:.3g} us; a hand-written `math.cos` formula: "
            f"{_cell(find('scalar', 'python math.cos formula / torch step'))} of it):",
            "",
            "| schedule | t = 0, 1, 2, ... | cold: a new schedule's first call | warm: random steps asked again | fresh: random steps never asked |",
            "|---|---|---|---|---|",
        ]
        ways = (
            "successive steps",
            "random steps, cold",
            "random steps, warm",
            "random steps, fresh",
        )
        for name in families("scalar", "s(int), successive steps / torch step"):
            cells = [_cell(find("scalar", f"s(int), {way} / torch step", name)) for way in ways]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
    cosine_ms = find("trajectory", "np.cos(float64 steps) ms")
    if cosine_ms is not None:
        out += [
            "",
            f"**`s(np.arange(10**7))` / `np.cos` of the same float64 steps** (`np.cos`: "
            f"{cosine_ms['median']:.3g} ms, median):",
            "",
            "| schedule | / `np.cos` of the float64 steps | / `np.cos` of [0, pi] |",
            "|---|---|---|",
        ]
        for name in families("trajectory", "s(np.arange(n)) / np.cos(float64 steps)"):
            out.append(
                f"| {name} | {_cell(find('trajectory', 's(np.arange(n)) / np.cos(float64 steps)', name))} "
                f"| {_cell(find('trajectory', 's(np.arange(n)) / np.cos([0, pi])', name))} |"
            )
    adapters = families("adapters", "ScheduleLR.step() / torch step()")
    if adapters:
        out += [
            "",
            "**`ScheduleLR.step()` / the torch scheduler's `step()`**, SGD with momentum on a "
            "64-64-1 MLP:",
            "",
            "| family | `ScheduleLR.step()` / torch `step()` |",
            "|---|---|",
        ]
        out += [
            f"| {name} | {_cell(find('adapters', 'ScheduleLR.step() / torch step()', name))} |"
            for name in adapters
        ]
        faster = find("adapters", "stepping torch n times / s(np.arange(n))", "cosine")
        if faster is not None:
            out += [
                "",
                f"A 10^5-step cosine trajectory against stepping `CosineAnnealingLR` 10^5 times: {_cell(faster)}.",
            ]
    measures = [r for r in rows if r["section"] == "multiplicative"]
    if measures:
        out += [
            "",
            "**`ScheduleLR` over `multiplicative` with a per-step function**, 10^5 steps:",
            "",
            "| scheduler | measure | figure |",
            "|---|---|---|",
        ]
        out += [f"| {r['family']} | {r['measure']} | {_cell(r)} |" for r in measures]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="10^6-step trajectories and fewer rounds"
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections out of {','.join(SECTIONS)}",
    )
    parser.add_argument("--out", default=os.path.join(HERE, "results", "feel.json"))
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also rewrite the figures in docs/benchmarks.md (between <!-- feel:start/end -->)",
    )
    args = parser.parse_args(argv)
    sections = args.only.split(",")
    if set(sections) - set(SECTIONS):
        parser.error(f"unknown section(s) {sorted(set(sections) - set(SECTIONS))}")
    config = Config(**QUICK) if args.quick else Config()
    warnings.simplefilter("ignore")  # torch's "step() before optimizer.step()" in loops

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    import _report

    started = time.perf_counter()
    load_average = " ".join(f"{value:.2f}" for value in os.getloadavg())
    rows: list[dict] = []
    profiles: dict = {}
    for section in sections:
        log(f"{section}:")
        if section == "trajectory":
            section_rows, profiles = trajectory(config, log)
        else:
            section_rows = globals()[section](config, log)
        rows += section_rows
    command = "python benchmarks/bench_feel.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    payload = {
        "command": command.strip(),
        "load_average": load_average,
        "finished": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": time.perf_counter() - started,
        "machine": _report.machine(),
        "config": asdict(config),
        "rows": rows,
        "profiles": profiles,
    }
    _report.write_json(args.out, payload)
    print(_report.table(rows))
    _print_profiles(profiles)
    print("\nTargets:\n" + _report.targets(rows))
    print(f"\nJSON: {os.path.relpath(args.out)}  ({payload['seconds']:.0f} s)")
    if args.docs:
        _report.update_docs(
            os.path.join(HERE, "..", "docs", "benchmarks.md"), markdown(payload), "feel"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

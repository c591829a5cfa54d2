"""Drawing schedules with matplotlib (extra ``plot``), imported on first use of ``lrsched.plot``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lrsched import _validation as check
from lrsched._base import Schedule
from lrsched._evaluate import BLOCK
from lrsched._groups import expand, short_label
from lrsched._plateau import plateau
from lrsched._structure import breakpoints
from lrsched._validation import first_negative_or_nonfinite

# Without ``steps``, a schedule that settles is drawn a little past where it settles, and
# a periodic one for two periods, so the end and the repetition are both visible.
_MARGIN = 1.1
_PERIODS_SHOWN = 2

# Up to this many steps every step is drawn, as it always was. Past it a line is drawn from
# the schedule's structure: a few thousand exact values whatever the length (10**8 steps
# took 7.7 GB and minutes when every step was drawn).
EVERY_STEP_UP_TO = 2**16
# Evenly spaced steps for the smooth stretches: a few per pixel of a wide figure.
SMOOTH_POINTS = 4096
# More breakpoints than this (a few per pixel) and the line is drawn by columns instead.
BREAKPOINT_LIMIT = 4096
# Columns of a line drawn by its extremes: at least one per pixel of a wide figure, and the
# breakpoints read in each (their first, last and ones spread between).
COLUMNS = 1024
PER_COLUMN = 64

_INSTALL_HINT = 'lrsched.plot() needs matplotlib: pip install "lrsched-numpy[plot]"'


def _require_matplotlib(who: str = "lrsched.plot()") -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(_INSTALL_HINT.replace("lrsched.plot()", who)) from error


def new_axes(figsize: tuple[float, float], who: str = "lrsched.plot()"):
    """A new figure's Axes (pyplot, so notebooks show it); ImportError names the extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(_INSTALL_HINT.replace("lrsched.plot()", who)) from error
    return plt.subplots(figsize=figsize)[1]


def is_piecewise_constant(schedule: Schedule) -> bool:
    """Whether the LR only jumps between flat pieces (drawn as steps, not slopes)."""
    return schedule._flat_pieces()


def default_steps(schedules: Sequence[Schedule]) -> int:
    """How many steps show every schedule's whole shape, from where each settles (``tail``)."""
    ends = []
    for schedule in schedules:
        tail = schedule.tail()
        if tail is None:
            raise check.ArgumentError(
                f"plot(): steps is required for {short_label(schedule)}, which never settles "
                "into a constant or periodic tail; pass steps=N or an array of steps"
            )
        if tail.period is None:
            ends.append(tail.start * _MARGIN)
        else:
            ends.append(tail.start + _PERIODS_SHOWN * tail.period)
    return max(2, math.ceil(round(max(ends), 6)))  # 100 * 1.1 is 110.00000000000001


class _Steps:
    """The steps a line is drawn over, read by position: 0 .. n - 1 (never materialised) or
    a sorted array."""

    def __init__(self, count: int, array: np.ndarray | None = None):
        self.size, self.array = count, array

    def at(self, index: np.ndarray) -> np.ndarray:
        return index.astype(np.int64) if self.array is None else self.array[index]

    def every(self) -> np.ndarray:
        return np.arange(self.size) if self.array is None else self.array

    def first_at_or_after(self, steps: np.ndarray) -> np.ndarray:
        """Per step b, the position of the first drawn step >= b (size if none)."""
        if self.array is not None:
            return np.searchsorted(self.array, steps, side="left")
        return np.clip(np.ceil(steps), 0, self.size).astype(np.int64)

    def first_after(self, steps: np.ndarray) -> np.ndarray:
        """Per step b, the position of the first drawn step > b (size if none)."""
        if self.array is not None:
            return np.searchsorted(self.array, steps, side="right")
        return np.clip(np.floor(steps) + 1.0, 0, self.size).astype(np.int64)

    def window(self, start: int, stop: int) -> tuple[float, float]:
        """The steps [low, high) that positions start .. stop - 1 cover."""
        low = float(self.at(np.array([start]))[0])
        if stop < self.size:
            return low, float(self.at(np.array([stop]))[0])
        last = float(self.at(np.array([stop - 1]))[0])
        return low, last + max(1.0, abs(last) * 1e-9)


def _as_steps(steps: Any) -> _Steps:
    if isinstance(steps, (bool, np.bool_)):
        raise check.ArgumentTypeError(
            f"plot(): steps must be a positive integer or an array of steps, got {steps!r}"
        )
    if isinstance(steps, (int, np.integer)):
        if steps < 1:
            raise check.ArgumentError(f"plot(): steps must be a positive integer, got {steps!r}")
        return _Steps(int(steps))
    array = np.asarray(steps)
    if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iuf":
        raise check.ArgumentTypeError(
            f"plot(): steps must be a positive integer or a non-empty 1-d array "
            f"of steps, got {steps!r}"
        )
    return _Steps(array.size, array)


def line_data(schedule: Schedule, steps: _Steps) -> tuple[np.ndarray, np.ndarray]:
    """The x and y a schedule's line is drawn from: exact values at a subset of the steps.

    Up to ``EVERY_STEP_UP_TO`` steps (or for unsorted steps), every step, as always. Past
    that, the schedule's breakpoints (``lrsched._structure``) say where it jumps, has a
    corner or turns, and the line goes through the steps on both sides of each of them plus
    ``SMOOTH_POINTS`` evenly spaced ones; between breakpoints every formula is smooth and
    monotone, so nothing is lost at the figure's resolution, and jumps of a schedule drawn
    as steps stay on their exact steps. Where there are more than ``BREAKPOINT_LIMIT``
    breakpoints (a restart every 10 steps over 10**9), each of ``COLUMNS`` columns is drawn
    by its first, lowest, highest and last values, read at its ends and next to up to
    ``PER_COLUMN`` of its breakpoints (its first, its last and ones spread between): the
    column's exact extremes when its cycles repeat at whole steps or their heights change
    monotonically, else the extremes of those read. A schedule whose structure is not
    known (a user's function) is evaluated at every step, a block at a time, for the same
    columns: its memory stays bounded, its time does not.

    >>> import numpy as np, lrsched
    >>> from lrsched._plot import _Steps, line_data
    >>> x, y = line_data(lrsched.multistep(1.0, [300_000], gamma=0.5), _Steps(10**9))
    >>> [int(k) for k in x[(x > 299_990) & (x < 300_010)]], len(x) < 5000
    ([299999, 300000, 300001], True)
    """
    if steps.size <= EVERY_STEP_UP_TO or not _sorted(steps):
        every = steps.every()
        return every, np.asarray(schedule(every))
    low, high = steps.window(0, steps.size)
    found = breakpoints(schedule, low, high, limit=BREAKPOINT_LIMIT)
    if found is None:
        return _scanned(schedule, steps)
    if found.capped:
        return _envelope(schedule, steps)
    even = np.linspace(0, steps.size - 1, SMOOTH_POINTS).round().astype(np.int64)
    index = _distinct(np.concatenate([even, _around(steps, found.steps)]))
    x = steps.at(index)
    return x, np.asarray(schedule(x))


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique hashes integers: 3x slower than sorting here)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values


def _sorted(steps: _Steps) -> bool:
    """Whether the steps increase (checked a block at a time: no copy of a huge array)."""
    array = steps.array
    if array is None:
        return True
    if first_negative_or_nonfinite(array) is not None:
        return False  # drawn as given, so that the schedule reports the bad step
    block, last = 2**20, array.size - 1
    return not any(
        (array[low + 1 : min(low + block, last) + 1] < array[low : min(low + block, last)]).any()
        for low in range(0, last, block)
    )


def _around(steps: _Steps, points: np.ndarray) -> np.ndarray:
    """The positions of the drawn steps on both sides of each breakpoint.

    A breakpoint computed through a combinator's time map may be a few ulps off the step
    where the formula really changes, so the steps around b +- a small tolerance are taken
    too: for whole steps, k - 1 and k for a jump at k, and k + 1 when the jump at b = k
    comes right after it (a boundary that belongs to the piece before).
    """
    tolerance = np.minimum(np.maximum(np.abs(points), 1.0) * 1e-9, 0.25)
    found = []
    for shifted in (points - tolerance, points, points + tolerance):
        for position in (steps.first_at_or_after(shifted), steps.first_after(shifted)):
            found += [position - 1, position]
    index = np.concatenate(found)
    return index[(index >= 0) & (index < steps.size)]


def _columns(steps: _Steps) -> np.ndarray:
    """The positions where the ``COLUMNS`` columns of equal numbers of steps start, and the end."""
    return _distinct(np.linspace(0, steps.size, COLUMNS + 1).round().astype(np.int64))


def _extremes(schedule: Schedule, steps: _Steps, edges: np.ndarray, index: np.ndarray):
    """x, y of each column's first, lowest, highest and last value among positions ``index``
    (sorted, distinct, each column's ends included)."""
    x = steps.at(index)
    values = np.asarray(schedule(x))
    column = np.searchsorted(edges, index, side="right") - 1
    order = np.lexsort((values, column))  # by column, then value; stable for ties
    first = np.searchsorted(column[order], np.arange(edges.size - 1), side="left")
    last = np.searchsorted(column[order], np.arange(edges.size - 1), side="right") - 1
    keep = _distinct(
        np.concatenate(
            [
                order[first],
                order[last],
                np.searchsorted(index, edges[:-1]),
                np.searchsorted(index, edges[1:] - 1),
            ]
        )
    )
    return x[keep], values[keep]


def _envelope(schedule: Schedule, steps: _Steps) -> tuple[np.ndarray, np.ndarray]:
    """Each column by its extremes, from its ends and the steps around its breakpoints."""
    edges = _columns(steps)
    inside = []
    for start, stop in zip(edges[:-1].tolist(), edges[1:].tolist()):
        column = breakpoints(schedule, *steps.window(start, stop), limit=PER_COLUMN)
        assert column is not None  # line_data draws an envelope of a known structure only
        inside.append(column.steps)
    # The steps around a breakpoint may fall in the next column: harmless, they are steps
    # of that column too.
    found = [edges[:-1], edges[1:] - 1, _around(steps, np.concatenate(inside))]
    return _extremes(schedule, steps, edges, _distinct(np.concatenate(found)))


def _scanned(schedule: Schedule, steps: _Steps) -> tuple[np.ndarray, np.ndarray]:
    """Each column by its extremes, from every step, evaluated a block at a time."""
    edges = _columns(steps)
    count = edges.size - 1
    lowest, highest = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
    low_value, high_value = np.full(count, math.inf), np.full(count, -math.inf)
    for start in range(0, steps.size, BLOCK):
        stop = min(start + BLOCK, steps.size)
        values = np.asarray(schedule(steps.at(np.arange(start, stop))))
        first = int(np.searchsorted(edges, start, side="right")) - 1
        for column in range(first, count):
            a, b = max(int(edges[column]), start), min(int(edges[column + 1]), stop)
            if a >= b:
                break
            part = values[a - start : b - start]
            where = int(part.argmin())
            if part[where] < low_value[column]:
                low_value[column], lowest[column] = part[where], a + where
            where = int(part.argmax())
            if part[where] > high_value[column]:
                high_value[column], highest[column] = part[where], a + where
    index = _distinct(np.concatenate([edges[:-1], edges[1:] - 1, lowest, highest]))
    return _extremes(schedule, steps, edges, index)


def _metric_series(metrics: Iterable[Any] | None, plateaus: list) -> np.ndarray | None:
    if not plateaus:
        return None
    if metrics is None:
        raise check.ArgumentError(
            "plot(): a plateau schedule needs metrics=[...], the metric series "
            "it reacts to, to be drawn"
        )
    values = [float(m) for m in metrics]
    if not values:
        raise check.ArgumentError("plot(): metrics must hold at least one value, got []")
    return np.asarray(values, dtype=np.float64)


def plot(
    *schedules: Any,
    steps: Any = None,
    ax: Any = None,
    labels: Sequence[str] | None = None,
    log_y: bool = False,
    metrics: Iterable[Any] | None = None,
    multipliers: Any = None,
) -> Any:
    """Draw schedules, one line each, on a matplotlib Axes; returns the Axes.

    Each schedule is evaluated at ``steps`` and drawn as a line. Up to 2**16 steps that is
    every step; a longer schedule is drawn from its structure (``line_data``): the steps
    around every breakpoint, restart and corner plus a few thousand evenly spaced ones, or
    each pixel column's exact extremes where the breakpoints are denser than the figure,
    so time and memory do not grow with the length (a user's function of the step, whose
    structure is unknown, is read at every step, a block at a time). Families whose LR
    only jumps between flat pieces (``step``, ``multistep``,
    ``piecewise_constant``, staircase decays, ``per_epoch(..., staircase=True)``) are drawn
    as steps, each value held until the next step. The legend names each schedule by its
    shortened repr unless ``labels`` are given. A ``plateau`` is drawn from its
    ``replay(metrics)``: x counts the metrics seen, so the LR at x = k is the one used after
    k evaluations and metric k is drawn (dashed, on a twin y-axis) at x = k, where the
    change it causes starts. Never calls ``show()`` and never changes
    matplotlib's global style.

    Args:
        *schedules: one or more schedules (and/or plateaus).
        steps: a positive integer N (steps 0..N-1) or an array of steps (a long sorted
            one is drawn from a subset of its own steps). Default: far
            enough to show where every schedule settles (a ``ValueError`` for one that
            never does).
        ax: the Axes to draw on; default a new figure's (via ``pyplot.subplots``).
        labels: legend labels, one per schedule.
        log_y: use a logarithmic LR axis (zero LRs are left out of the log view).
        metrics: the metric series a plateau reacts to (required when one is given).
        multipliers: with one schedule, the per-group factors to draw it for (a list, a
            ``{name: factor}`` dict, or torch param groups carrying their multipliers).
            A torch ``ScheduleLR`` given among the schedules is drawn as one line per
            param group, labelled by the group's name (the fine-tuning picture).

    Returns:
        The matplotlib ``Axes`` drawn on. A plateau's metric axis is its ``twinx()``.

    Raises:
        ImportError: matplotlib is missing (``pip install "lrsched-numpy[plot]"``).
        ValueError: no schedules, wrong number of labels, plateau without metrics.
        TypeError: something that is neither a schedule nor a plateau.

    Torch documents its schedulers with one plotted image each; this draws any schedule.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import lrsched
    >>> ax = lrsched.plot(lrsched.cosine(0.1, 100), lrsched.step(0.1, 30), steps=120)
    >>> [line.get_label() for line in ax.get_lines()]
    ['cosine(base_lr=0.1, total_steps=100)', 'step(base_lr=0.1, step_size=30)']
    >>> ax.get_lines()[1].get_drawstyle()
    'steps-post'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    _require_matplotlib()
    if not schedules:
        raise check.ArgumentError("plot(): give at least one schedule, got none")
    expanded, labels = expand(schedules, labels, multipliers)
    for index, item in enumerate(expanded):
        if not isinstance(item, (Schedule, plateau)):
            raise check.ArgumentTypeError(
                f"plot(): schedules[{index}] must be an lrsched schedule or plateau, got {item!r}"
            )
    if labels is None:
        labels = [short_label(item) for item in expanded]
    else:
        labels = list(labels)
        if len(labels) != len(expanded) or not all(isinstance(x, str) for x in labels):
            raise check.ArgumentError(
                f"plot(): labels must be {len(expanded)} string(s), one per "
                f"schedule, got {labels!r}"
            )
    curves = [s for s in expanded if isinstance(s, Schedule)]
    plateaus = [s for s in expanded if isinstance(s, plateau)]
    metric_values = _metric_series(metrics, plateaus)
    drawn_steps: _Steps | None = None
    if curves:
        drawn_steps = _as_steps(default_steps(curves) if steps is None else steps)

    if ax is None:
        ax = new_axes((8, 4.5))
    for item, label in zip(expanded, labels):
        if isinstance(item, plateau):
            assert metric_values is not None  # _metric_series refuses a plateau without them
            updates = np.arange(len(metric_values) + 1)
            lrs = np.concatenate([[item.init().lr], item.replay(metric_values)])
            ax.plot(updates, lrs, drawstyle="steps-post", label=label)
        else:
            assert drawn_steps is not None  # item is one of the curves
            drawstyle = "steps-post" if is_piecewise_constant(item) else "default"
            ax.plot(*line_data(item, drawn_steps), drawstyle=drawstyle, label=label)
    if log_y:
        ax.set_yscale("log")
    if not ax.get_xlabel():
        ax.set_xlabel("step" if curves else "metrics seen (epochs)")
    if not ax.get_ylabel():
        ax.set_ylabel("learning rate")
    handles, names = ax.get_legend_handles_labels()
    if metric_values is not None:
        twin = ax.twinx()
        seen = np.arange(1, len(metric_values) + 1)
        twin.plot(seen, metric_values, linestyle="--", marker=".", color="0.5", label="metric")
        twin.set_ylabel("metric")
        more_handles, more_names = twin.get_legend_handles_labels()
        handles, names = handles + more_handles, names + more_names
    ax.legend(handles, names, loc="best", fontsize="small")
    return ax

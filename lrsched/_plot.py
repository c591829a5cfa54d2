"""Drawing schedules with matplotlib (extra ``plot``), imported on first use of ``lrsched.plot``."""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from lrsched._base import Schedule
from lrsched._basic import (
    constant,
    exponential,
    inverse_time,
    multiplicative,
    multistep,
    piecewise_constant,
    step,
)
from lrsched._compose import clip, per_epoch, product, sequence, shift, warmup
from lrsched._plateau import plateau

LABEL_LIMIT = 60
# Without ``steps``, a schedule that settles is drawn a little past where it settles, and
# a periodic one for two periods, so the end and the repetition are both visible.
_MARGIN = 1.1
_PERIODS_SHOWN = 2

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
    if isinstance(schedule, (constant, step, multistep, piecewise_constant, multiplicative)):
        return True  # multiplicative multiplies once per whole step
    if isinstance(schedule, (exponential, inverse_time)):
        return schedule.staircase
    if isinstance(schedule, per_epoch):
        return schedule.staircase or is_piecewise_constant(schedule.schedule)
    if isinstance(schedule, (clip, shift)):
        return is_piecewise_constant(schedule.schedule)
    if isinstance(schedule, warmup):
        return schedule.mode == "constant" and is_piecewise_constant(schedule.schedule)
    if isinstance(schedule, sequence):
        return all(is_piecewise_constant(part) for part in schedule.schedules)
    if isinstance(schedule, product):
        return all(not isinstance(factor, Schedule) or is_piecewise_constant(factor)
                   for factor in schedule.factors)
    return False


def short_label(schedule: Any, limit: int = LABEL_LIMIT) -> str:
    """A legend label from the repr: nested ``schedule=`` keywords dropped, then cut to ``limit``.

    >>> import lrsched
    >>> from lrsched._plot import short_label
    >>> short_label(lrsched.warmup(lrsched.cosine(base_lr=0.1, total_steps=1000), steps=100))
    'warmup(cosine(base_lr=0.1, total_steps=1000), steps=100)'
    >>> short_label(lrsched.cosine(base_lr=0.1, total_steps=1000), limit=20)
    'cosine(base_lr=0.1,…'
    """
    text = repr(schedule).replace("schedule=", "").replace("schedules=", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def default_steps(schedules: Sequence[Schedule]) -> int:
    """How many steps show every schedule's whole shape, from where each settles (``tail``)."""
    ends = []
    for schedule in schedules:
        tail = schedule.tail()
        if tail is None:
            raise ValueError(
                f"plot(): steps is required for {short_label(schedule)}, which never settles "
                "into a constant or periodic tail; pass steps=N or an array of steps"
            )
        if tail.period is None:
            ends.append(tail.start * _MARGIN)
        else:
            ends.append(tail.start + _PERIODS_SHOWN * tail.period)
    return max(2, math.ceil(round(max(ends), 6)))  # 100 * 1.1 is 110.00000000000001


def _as_step_array(steps: Any) -> np.ndarray:
    if isinstance(steps, (bool, np.bool_)):
        raise TypeError(f"plot(): steps must be a positive integer or an array of steps, "
                        f"got {steps!r}")
    if isinstance(steps, (int, np.integer)):
        if steps < 1:
            raise ValueError(f"plot(): steps must be a positive integer, got {steps!r}")
        return np.arange(int(steps))
    array = np.asarray(steps)
    if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iuf":
        raise TypeError(f"plot(): steps must be a positive integer or a non-empty 1-d array "
                        f"of steps, got {steps!r}")
    return array


def _metric_series(metrics: Iterable[Any] | None, plateaus: list) -> np.ndarray | None:
    if not plateaus:
        return None
    if metrics is None:
        raise ValueError("plot(): a plateau schedule needs metrics=[...], the metric series "
                         "it reacts to, to be drawn")
    values = [float(m) for m in metrics]
    if not values:
        raise ValueError("plot(): metrics must hold at least one value, got []")
    return np.asarray(values, dtype=np.float64)


def plot(*schedules: Any, steps: Any = None, ax: Any = None, labels: Sequence[str] | None = None,
         log_y: bool = False, metrics: Iterable[Any] | None = None) -> Any:
    """Draw schedules, one line each, on a matplotlib Axes; returns the Axes.

    Each schedule is evaluated at ``steps`` in one vectorized call and drawn as a line;
    families whose LR only jumps between flat pieces (``step``, ``multistep``,
    ``piecewise_constant``, staircase decays, ``per_epoch(..., staircase=True)``) are drawn
    as steps, each value held until the next step. The legend names each schedule by its
    shortened repr unless ``labels`` are given. A ``plateau`` is drawn from its
    ``replay(metrics)``: x counts the metrics seen, so the LR at x = k is the one used after
    k evaluations and metric k is drawn (dashed, on a twin y-axis) at x = k, where the
    change it causes starts. Never calls ``show()`` and never changes
    matplotlib's global style.

    Args:
        *schedules: one or more schedules (and/or plateaus).
        steps: a positive integer N (steps 0..N-1) or an array of steps. Default: far
            enough to show where every schedule settles (a ``ValueError`` for one that
            never does).
        ax: the Axes to draw on; default a new figure's (via ``pyplot.subplots``).
        labels: legend labels, one per schedule.
        log_y: use a logarithmic LR axis (zero LRs are left out of the log view).
        metrics: the metric series a plateau reacts to (required when one is given).

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
        raise ValueError("plot(): give at least one schedule, got none")
    for index, item in enumerate(schedules):
        if not isinstance(item, (Schedule, plateau)):
            raise TypeError(f"plot(): schedules[{index}] must be an lrsched schedule or "
                            f"plateau, got {item!r}")
    if labels is None:
        labels = [short_label(item) for item in schedules]
    else:
        labels = list(labels)
        if len(labels) != len(schedules) or not all(isinstance(x, str) for x in labels):
            raise ValueError(f"plot(): labels must be {len(schedules)} string(s), one per "
                             f"schedule, got {labels!r}")
    curves = [s for s in schedules if isinstance(s, Schedule)]
    plateaus = [s for s in schedules if isinstance(s, plateau)]
    metric_values = _metric_series(metrics, plateaus)
    if curves:
        step_array = _as_step_array(default_steps(curves) if steps is None else steps)

    if ax is None:
        ax = new_axes((8, 4.5))
    for item, label in zip(schedules, labels):
        if isinstance(item, plateau):
            updates = np.arange(len(metric_values) + 1)
            lrs = np.concatenate([[item.init().lr], item.replay(metric_values)])
            ax.plot(updates, lrs, drawstyle="steps-post", label=label)
        else:
            drawstyle = "steps-post" if is_piecewise_constant(item) else "default"
            ax.plot(step_array, item(step_array), drawstyle=drawstyle, label=label)
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

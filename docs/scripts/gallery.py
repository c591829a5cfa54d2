"""Render every family's picture for the docs, and the README's picture, with Agg.

    python docs/scripts/gallery.py            # writes docs/images/*.png
    python docs/scripts/gallery.py OUT_DIR    # writes them elsewhere (the tests do this)

Each entry is (schedules, steps, labels, options): the schedules drawn together on one
Axes by ``lrsched.plot``. Figures are made without pyplot, so no global state is touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

import lrsched
from lrsched._groups import short_label

# The gallery is wide enough for whole reprs, which say exactly what is drawn.
LABEL_LIMIT = 90

IMAGES = Path(__file__).resolve().parents[1] / "images"
README_IMAGE = "schedules.png"
SIZE = (6.4, 3.8)
DPI = 100

# The metric series the plateau picture reacts to: a loss that improves, then stalls twice.
PLATEAU_METRICS = [
    2.0,
    1.5,
    1.2,
    1.1,
    1.1,
    1.1,
    1.1,
    1.1,
    0.9,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.84,
    0.84,
    0.84,
    0.84,
    0.84,
]


def _halve_every_30(step):
    return 0.5 ** np.floor_divide(step, 30)


def _decay_095(step):
    return np.full_like(np.asarray(step, dtype=np.float64), 0.95)


def gallery() -> dict[str, dict]:
    """Family name -> what its picture shows."""
    c = lrsched
    base = 0.1
    return {
        "constant": dict(schedules=[c.constant(base)], steps=100),
        "step": dict(
            schedules=[c.step(base, step_size=30), c.step(base, step_size=30, gamma=0.5)], steps=100
        ),
        "multistep": dict(schedules=[c.multistep(base, milestones=[30, 60, 80])], steps=100),
        "piecewise_constant": dict(
            schedules=[c.piecewise_constant([30, 60], [0.1, 0.05, 0.01])], steps=100
        ),
        "piecewise_linear": dict(
            schedules=[c.piecewise_linear([0, 20, 60, 100], [0.0, 0.1, 0.05, 0.0])], steps=110
        ),
        "exponential": dict(
            schedules=[
                c.exponential(base, gamma=0.5, decay_steps=20),
                c.exponential(base, gamma=0.5, decay_steps=20, staircase=True),
            ],
            steps=100,
        ),
        "exponential_ramp": dict(
            schedules=[c.exponential_ramp(1e-6, 1.0, total_steps=100)], steps=101, log_y=True
        ),
        "linear": dict(
            schedules=[c.linear(0.0, base, total_steps=50), c.linear(base, 0.01, total_steps=80)],
            steps=100,
        ),
        "polynomial": dict(
            schedules=[
                c.polynomial(base, total_steps=80),
                c.polynomial(base, total_steps=80, power=2.0),
                c.polynomial(base, total_steps=30, power=2.0, cycle=True),
            ],
            steps=100,
        ),
        "inverse_time": dict(
            schedules=[
                c.inverse_time(base, decay_steps=10, decay_rate=0.5),
                c.inverse_time(base, decay_steps=10, decay_rate=0.5, staircase=True),
            ],
            steps=100,
        ),
        "inverse_sqrt": dict(
            schedules=[
                c.inverse_sqrt(base, timescale=10),
                c.warmup(c.inverse_sqrt(base, timescale=20), steps=20),
            ],
            steps=200,
        ),
        "lambda_lr": dict(
            schedules=[c.lambda_lr(base, _halve_every_30)],
            steps=100,
            labels=["lambda_lr(0.1, lambda t: 0.5 ** (t // 30))"],
        ),
        "multiplicative": dict(
            schedules=[c.multiplicative(base, _decay_095)],
            steps=100,
            labels=["multiplicative(0.1, lambda k: 0.95)"],
        ),
        "cosine": dict(
            schedules=[
                c.cosine(base, total_steps=100, min_lr=0.01),
                c.cosine(base, total_steps=100, periodic=True),
            ],
            steps=300,
        ),
        "warm_restarts": dict(
            schedules=[
                c.warm_restarts(base, period=50),
                c.warm_restarts(base, period=20, period_mult=2, decay=0.7),
            ],
            steps=300,
        ),
        "tanh": dict(
            schedules=[
                c.tanh(base, total_steps=100, min_lr=0.001),
                c.tanh(base, total_steps=100, lb=-3.0, ub=3.0),
            ],
            steps=110,
        ),
        "wsd": dict(
            schedules=[
                c.wsd(base, warmup_steps=10, stable_steps=60, decay_steps=30),
                c.wsd(base, warmup_steps=10, stable_steps=60, decay_steps=30, decay_shape="1-sqrt"),
            ],
            steps=110,
        ),
        "cyclic": dict(
            schedules=[
                c.cyclic(0.01, base, step_size_up=20),
                c.cyclic(0.01, base, step_size_up=20, mode="triangular2"),
            ],
            steps=200,
        ),
        "one_cycle": dict(
            schedules=[
                c.one_cycle(base, total_steps=100),
                c.one_cycle(base, total_steps=100, three_phase=True, anneal="linear"),
            ],
            steps=100,
        ),
        "plateau": dict(
            schedules=[c.plateau(base, patience=2, factor=0.5)], metrics=PLATEAU_METRICS
        ),
        "warmup": dict(
            schedules=[
                c.warmup(c.cosine(base, total_steps=80), steps=20),
                c.warmup(c.cosine(base, total_steps=80), steps=20, mode="cosine"),
            ],
            steps=110,
        ),
        "sequence": dict(
            schedules=[
                c.sequence(
                    [c.linear(0.01, base, 20), c.cosine(base, 60, min_lr=0.01), c.constant(0.01)],
                    [20, 80],
                )
            ],
            steps=110,
            labels=["sequence([linear, cosine, constant], boundaries=[20, 80])"],
        ),
        "per_epoch": dict(
            schedules=[
                c.cosine(base, total_steps=10).per_epoch(10),
                c.cosine(base, total_steps=10).per_epoch(10, staircase=True),
            ],
            steps=110,
            labels=[
                "cosine(0.1, 10).per_epoch(10)",
                "cosine(0.1, 10).per_epoch(10, staircase=True)",
            ],
        ),
    }


def legend_below(ax) -> None:
    """Move the legend under the Axes, where it cannot hide a curve."""
    legend = ax.get_legend()
    legend.set_loc("upper center")
    legend.set_bbox_to_anchor((0.5, -0.2))


def readme_figure() -> Figure:
    """Three panels of the schedules people check most before a long run."""
    c = lrsched
    panels = [
        (
            "warmup, then decay",
            [
                c.warmup(c.cosine(0.1, total_steps=900), steps=100),
                c.wsd(0.1, warmup_steps=100, stable_steps=600, decay_steps=300),
            ],
            ["warmup + cosine", "warmup-stable-decay"],
            False,
        ),
        (
            "restarts",
            [c.warm_restarts(0.1, period=100, period_mult=2, decay=0.8)],
            ["warm_restarts (SGDR), period_mult=2, decay=0.8"],
            False,
        ),
        (
            "one-cycle and steps",
            [c.one_cycle(0.1, total_steps=1000), c.multistep(0.1, milestones=[500, 750])],
            ["one_cycle", "multistep"],
            False,
        ),
    ]
    figure = Figure(figsize=(12, 3.8), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, len(panels), sharey=True)
    for ax, (title, schedules, labels, log_y) in zip(axes, panels):
        lrsched.plot(*schedules, steps=1000, ax=ax, labels=labels, log_y=log_y)
        ax.set_title(title)
        legend_below(ax)
    for ax in axes[1:]:
        ax.set_ylabel("")
    return figure


def render(out_dir: Path = IMAGES, dpi: int = DPI) -> list[Path]:
    """Write every gallery picture and the README picture into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, entry in gallery().items():
        figure = Figure(figsize=SIZE, dpi=dpi, layout="constrained")
        ax = figure.add_subplot()
        lrsched.plot(
            *entry["schedules"],
            steps=entry.get("steps"),
            ax=ax,
            labels=entry.get("labels")
            or [short_label(item, LABEL_LIMIT) for item in entry["schedules"]],
            log_y=entry.get("log_y", False),
            metrics=entry.get("metrics"),
        )
        ax.set_title(name)
        legend_below(ax)
        path = out_dir / f"{name}.png"
        figure.savefig(path, metadata={"Software": None})
        written.append(path)
    path = out_dir / README_IMAGE
    readme_figure().savefig(path, dpi=dpi, metadata={"Software": None})
    written.append(path)
    return written


if __name__ == "__main__":
    for written_path in render(Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGES):
        print(written_path)

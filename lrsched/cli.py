"""The ``lrsched`` command: print a schedule's values (and, with the plot extra, draw it)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

import numpy as np

EXAMPLES = """examples:
  lrsched plot "warmup(cosine(0.1, 1000), steps=100)" --steps 1100 -o warmup.png
  lrsched plot "cosine(0.1, 1000)" "step(0.1, 300)" "one_cycle(0.1, 1000)" --steps 1000 -o cmp.png
  lrsched plot "exponential(0.1, 0.5)" --per-epoch 390 --steps 3900 --log-y -o exp.svg
  lrsched plot "plateau(0.1, patience=2)" --metrics losses.txt -o plateau.png
  lrsched values "cosine(base_lr=0.1, total_steps=1000)" --steps 1000 --every 100
  lrsched values "warmup(cosine(0.1, 1000), steps=100)" --steps 1100 --format csv
  lrsched values "one_cycle(max_lr=1.0, total_steps=50)" --steps 50 --format json

SPEC is the text form of a schedule, as printed by repr() and read by lrsched.parse().
--per-epoch K reads each SPEC in epochs and evaluates it per optimizer step with K
steps per epoch (SPEC.per_epoch(K)); --steps still counts optimizer steps.
"""


class _CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def _parse_spec(text: str, allow_plateau: bool = False):
    import lrsched

    try:
        schedule = lrsched.parse(text)
    except (ValueError, TypeError) as error:
        raise _CommandError(str(error)) from None
    if allow_plateau and isinstance(schedule, lrsched.plateau):
        return schedule
    if not isinstance(schedule, lrsched.Schedule):
        raise _CommandError(f"{text!r} is a {type(schedule).__name__}, which needs metrics; "
                            "give a schedule of the step")
    return schedule


def _steps(args: argparse.Namespace) -> np.ndarray:
    if args.steps < 1:
        raise _CommandError(f"--steps must be a positive integer, got {args.steps}")
    if args.every < 1:
        raise _CommandError(f"--every must be a positive integer, got {args.every}")
    return np.arange(0, args.steps, args.every)


def _values(args: argparse.Namespace) -> None:
    schedule = _parse_spec(args.spec)
    steps = _steps(args)
    try:
        lrs = schedule(steps)
    except (ValueError, TypeError) as error:
        raise _CommandError(str(error)) from None
    out = sys.stdout
    if args.format == "json":
        json.dump({"schedule": repr(schedule), "steps": steps.tolist(), "lr": lrs.tolist()}, out)
        out.write("\n")
    elif args.format == "csv":
        out.write("step,lr\n")
        for step, lr in zip(steps.tolist(), lrs.tolist()):
            out.write(f"{step},{lr!r}\n")
    else:
        out.write(f"# {schedule!r}\n")
        width = max(4, len(str(int(steps[-1]))))
        out.write(f"{'step':>{width}}  lr\n")
        for step, lr in zip(steps.tolist(), lrs.tolist()):
            out.write(f"{step:>{width}}  {lr:.10g}\n")


def _read_metrics(path: str) -> list[float]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as error:
        raise _CommandError(f"--metrics: cannot read {path!r}: {error.strerror}") from None
    values = []
    for word in text.replace(",", " ").split():
        try:
            values.append(float(word))
        except ValueError:
            raise _CommandError(f"--metrics: {path!r} must hold numbers separated by spaces, "
                                f"commas or newlines, got {word!r}") from None
    if not values:
        raise _CommandError(f"--metrics: {path!r} holds no numbers")
    return values


def _plot(args: argparse.Namespace) -> None:
    import lrsched

    schedules = [_parse_spec(text, allow_plateau=True) for text in args.specs]
    plateaus = [s for s in schedules if isinstance(s, lrsched.plateau)]
    if args.per_epoch is not None:
        if args.per_epoch <= 0:
            raise _CommandError(f"--per-epoch must be a positive number, got {args.per_epoch}")
        if plateaus:
            raise _CommandError("--per-epoch does not apply to a plateau, which moves once "
                                "per metric")
        schedules = [s.per_epoch(args.per_epoch) for s in schedules]
    if plateaus and args.metrics is None:
        raise _CommandError("a plateau SPEC needs --metrics FILE, the metric series it "
                            "reacts to")
    if args.labels is not None and len(args.labels) != len(schedules):
        raise _CommandError(f"--label was given {len(args.labels)} time(s) for "
                            f"{len(schedules)} SPEC(s); give one per SPEC or none")
    metrics = None if args.metrics is None else _read_metrics(args.metrics)
    if args.steps is not None and args.steps < 1:
        raise _CommandError(f"--steps must be a positive integer, got {args.steps}")
    try:
        plot = lrsched.plot  # the lazy import: matplotlib may be missing
        from matplotlib.figure import Figure
    except ImportError:
        raise _CommandError('plotting needs matplotlib: pip install "lrsched[plot]"') from None
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.add_subplot()
    try:
        plot(*schedules, steps=args.steps, ax=axes, labels=args.labels, log_y=args.log_y,
             metrics=metrics)
    except (ValueError, TypeError) as error:
        raise _CommandError(str(error)) from None
    if args.title:
        axes.set_title(args.title)
    try:
        figure.savefig(args.output, dpi=args.dpi)
    except (OSError, ValueError) as error:
        raise _CommandError(f"cannot write {args.output!r}: {error}") from None
    print(args.output)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrsched", description="Learning-rate schedules: print or plot them.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    values = commands.add_parser("values", help="print a schedule's learning rates",
                                 epilog=EXAMPLES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    values.add_argument("spec", metavar="SPEC", help="schedule text, e.g. 'cosine(0.1, 1000)'")
    values.add_argument("--steps", type=int, default=100, help="steps 0..N-1 (default 100)")
    values.add_argument("--every", type=int, default=1, help="print every K-th step")
    values.add_argument("--format", choices=("table", "csv", "json"), default="table")
    values.set_defaults(run=_values)

    plot = commands.add_parser(
        "plot", help="draw schedules to an image file (needs the plot extra)", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    plot.add_argument("specs", nargs="+", metavar="SPEC", help="one or more schedule texts")
    plot.add_argument("-o", "--output", required=True,
                      help="image file; the format follows the suffix (.png, .svg, .pdf)")
    plot.add_argument("--steps", type=int, default=None,
                      help="steps 0..N-1 (default: until every schedule has settled)")
    plot.add_argument("--log-y", action="store_true", help="logarithmic learning-rate axis")
    plot.add_argument("--per-epoch", type=float, default=None, metavar="K",
                      help="read SPECs in epochs of K optimizer steps each")
    plot.add_argument("--label", dest="labels", action="append", default=None, metavar="LABEL",
                      help="legend label, once per SPEC in order (default: its repr)")
    plot.add_argument("--metrics", metavar="FILE", default=None,
                      help="metric series for plateau SPECs: numbers, one per evaluation")
    plot.add_argument("--title", default=None, help="title above the plot")
    plot.add_argument("--dpi", type=int, default=150, help="resolution of raster images")
    plot.set_defaults(run=_plot)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lrsched`` command with ``argv`` (default ``sys.argv[1:]``).

    Args:
        argv: the arguments after the program name.

    Returns:
        The exit status: 0 on success, 2 after a one-line error on stderr (bad SPEC, bad
        option value, missing extra).

    >>> from lrsched.cli import main
    >>> main(["values", "step(1.0, 2, gamma=0.5)", "--steps", "3", "--format", "csv"])
    step,lr
    0,1.0
    1,1.0
    2,0.5
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except _CommandError as error:
        print(f"lrsched: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `lrsched values ... | head`
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

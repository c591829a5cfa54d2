"""The ``lrsched`` command: print a schedule's values (and, with the plot extra, draw it)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

import numpy as np

EXAMPLES = """examples:
  lrsched values "cosine(base_lr=0.1, total_steps=1000)" --steps 1000 --every 100
  lrsched values "warmup(cosine(0.1, 1000), steps=100)" --steps 1100 --format csv
  lrsched values "one_cycle(max_lr=1.0, total_steps=50)" --steps 50 --format json

SPEC is the text form of a schedule, as printed by repr() and read by lrsched.parse().
"""


class _CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def _parse_spec(text: str):
    import lrsched

    try:
        schedule = lrsched.parse(text)
    except (ValueError, TypeError) as error:
        raise _CommandError(str(error)) from None
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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

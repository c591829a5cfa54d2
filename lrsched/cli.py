"""The ``lrsched`` command: print, preview in the terminal, or plot a schedule's values."""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

SPEC_HELP = """\
SPEC is the text form of a schedule, as printed by repr() and read by lrsched.parse().
--per-epoch K reads each SPEC in epochs and evaluates it per optimizer step with K
steps per epoch (SPEC.per_epoch(K)); --steps still counts optimizer steps.
A plateau(...) SPEC moves once per metric: give its metric series with --metrics FILE."""

EPILOGS = {
    None: """examples:
  lrsched show "warmup(cosine(0.1, 1000), steps=100)" "one_cycle(0.1, 1100)"
  lrsched values "cosine(base_lr=0.1, total_steps=1000)" --every 100
  lrsched plot "cosine(0.1, 1000)" "step(0.1, 300)" --steps 1000 -o cmp.png
  lrsched COMMAND --help    (the options and examples of one command)

"""
    + SPEC_HELP,
    "values": """examples:
  lrsched values "cosine(base_lr=0.1, total_steps=1000)" --every 100
  lrsched values "warmup(cosine(0.1, 1000), steps=100)" --steps 1100 --format csv
  lrsched values "one_cycle(max_lr=1.0, total_steps=50)" --format json
  lrsched values "multistep(0.1, [30, 60])" --per-epoch 390 --every 390
  lrsched values "plateau(0.1, patience=2)" --metrics losses.txt

Without --steps, the steps run until the schedule settles, then a few more (twice its
period if it repeats), as in `lrsched plot`. A plateau prints one row per metric seen:
seen,metric,lr (the LR used after that many metrics).""",
    "show": """examples:
  lrsched show "warmup(cosine(0.1, 1000), steps=100)"
  lrsched show "cosine(0.1, 1000)" "step(0.1, 300)" --steps 1000 --width 60 --height 12
  lrsched show "exponential(0.1, 0.5)" --per-epoch 390 --steps 3900 --log-y
  lrsched show "plateau(0.1, patience=2)" --metrics losses.txt

Draws with braille characters, needs no matplotlib; each schedule is numbered at a point
of its line and in the legend below the axes.""",
    "plot": """examples:
  lrsched plot "warmup(cosine(0.1, 1000), steps=100)" --steps 1100 -o warmup.png
  lrsched plot "cosine(0.1, 1000)" "step(0.1, 300)" "one_cycle(0.1, 1000)" --steps 1000 -o cmp.png
  lrsched plot "exponential(0.1, 0.5)" --per-epoch 390 --steps 3900 --log-y -o exp.svg
  lrsched plot "plateau(0.1, patience=2)" --metrics losses.txt -o plateau.png""",
}

# Steps are float64 numbers: past 2**53 consecutive integers are no longer distinct.
MAX_STEPS = 2**53
# --dpi above this makes an 8 x 4.5 inch raster of more than 200 MB in memory.
MAX_DPI = 1200
# How many steps `show` evaluates at most; beyond this it samples evenly.
SHOW_SAMPLES = 2**20
# Numbers and specs quoted in error messages are cut to this many characters.
QUOTE_LIMIT = 80
# An error message longer than this (a spec of huge numbers quoted back) is cut.
MESSAGE_LIMIT = 300
# Arithmetic problems a spec's numbers can cause anywhere in the core.
NUMERIC_ERRORS = (ValueError, TypeError, ArithmeticError, RuntimeWarning)


class _CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def _quote(text: str) -> str:
    text = repr(text)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 4] + "…" + text[-3:]


def _cut(text: str) -> str:
    """An error message as one line of at most MESSAGE_LIMIT characters: a line break in
    a quoted argument (argparse quotes them as given) is shown escaped."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _numeric(what: str, call: Callable[[], Any]) -> Any:
    """``call()``, with any numeric failure (a huge number, an overflow) as one line."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return call()
        except OverflowError as error:
            raise _CommandError(
                f"{what}: a number is too large for float64 ({_one_line(error)})"
            ) from None
        except MemoryError:
            raise _CommandError(f"{what}: not enough memory") from None
        except (RuntimeWarning, FloatingPointError) as error:
            raise _CommandError(f"{what}: the arithmetic fails ({_one_line(error)})") from None
        except NUMERIC_ERRORS as error:
            raise _CommandError(_one_line(error)) from None


def _parse_spec(text: str) -> Any:
    import lrsched

    schedule = _numeric(_quote(text), lambda: lrsched.parse(text))
    if not isinstance(schedule, (lrsched.Schedule, lrsched.plateau)):
        raise _CommandError(f"{_quote(text)} is a {type(schedule).__name__}, not a schedule")
    return schedule


def _is_plateau(schedule: Any) -> bool:
    import lrsched

    return isinstance(schedule, lrsched.plateau)


def _read_metrics(path: str) -> list[float]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or _one_line(error)
        raise _CommandError(f"--metrics: cannot read {path!r}: {reason}") from None
    values = []
    for word in text.replace(",", " ").split():
        try:
            value = float(word)
        except ValueError:
            raise _CommandError(
                f"--metrics: {path!r} must hold numbers separated by spaces, "
                f"commas or newlines, got {_quote(word)}"
            ) from None
        if not math.isfinite(value):
            raise _CommandError(f"--metrics: {path!r} must hold finite numbers, got {word}")
        values.append(value)
    if not values:
        raise _CommandError(f"--metrics: {path!r} holds no numbers")
    return values


def _positive(name: str, value: Any, upper: int | None = None, integer: bool = True) -> None:
    """Refuse a value that is not a positive integer (or finite number) up to ``upper``."""
    shown = str(value) if len(str(value)) <= QUOTE_LIMIT else _quote(str(value))
    if integer:
        if not value > 0:
            raise _CommandError(f"{name} must be a positive integer, got {shown}")
        if upper is not None and value > upper:  # exact for any int
            raise _CommandError(f"{name} must be a positive integer at most {upper}, got {shown}")
    elif not (math.isfinite(value) and value > 0):
        raise _CommandError(f"{name} must be a positive finite number, got {shown}")


def _schedules(args: argparse.Namespace) -> tuple[list, list[float] | None]:
    """The SPECs as schedules (per_epoch applied) and the metrics, with every check done
    before anything is evaluated."""
    schedules = [_parse_spec(text) for text in args.specs]
    plateaus = [s for s in schedules if _is_plateau(s)]
    if args.per_epoch is not None:
        _positive("--per-epoch", args.per_epoch, integer=False)
        if plateaus:
            raise _CommandError(
                "--per-epoch does not apply to a plateau, which moves once per metric"
            )
        schedules = [
            _numeric("--per-epoch", functools.partial(s.per_epoch, args.per_epoch))
            for s in schedules
        ]
    if plateaus and args.metrics is None:
        raise _CommandError("a plateau SPEC needs --metrics FILE, the metric series it reacts to")
    if args.metrics is not None and not plateaus:
        raise _CommandError(
            f"--metrics applies only to a plateau SPEC, and {_quote(args.specs[0])} is not one"
            if len(schedules) == 1
            else "--metrics applies only to plateau SPECs, and none is given"
        )
    labels = getattr(args, "labels", None)
    if labels is not None and len(labels) != len(schedules):
        raise _CommandError(
            f"--label was given {len(labels)} time(s) for "
            f"{len(schedules)} SPEC(s); give one per SPEC or none"
        )
    if args.steps is not None:
        if plateaus and len(plateaus) == len(schedules):
            raise _CommandError(
                "--steps does not apply to a plateau: it moves once per "
                "metric, so --metrics sets its length"
            )
        _positive("--steps", args.steps, upper=MAX_STEPS)
    metrics = None if args.metrics is None else _read_metrics(args.metrics)
    return schedules, metrics


def _step_count(args: argparse.Namespace, schedules: list) -> int | None:
    """--steps, or the range `lrsched plot` draws by default; None for plateaus alone."""
    from lrsched._plot import default_steps

    curves = [s for s in schedules if not _is_plateau(s)]
    if not curves:
        return None
    if args.steps is not None:
        return int(args.steps)
    try:
        count = _numeric("the default --steps", lambda: default_steps(curves))
    except _CommandError as error:
        raise _CommandError(
            str(error)
            .replace("plot(): steps is required", "--steps is required")
            .replace("pass steps=N or an array of steps", "give --steps N")
        ) from None
    if count > MAX_STEPS:
        raise _CommandError(
            f"the schedule settles only after {count} steps, past 2**53; give --steps N"
        )
    return count


def _check_memory(count: int, arrays: int, option: str) -> None:
    """Refuse, before allocating, ``arrays`` float64 arrays of ``count`` values that cannot
    fit in this machine's memory."""
    needed = 8 * count * arrays
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        memory = 2**34
    if needed > memory // 2:
        raise _CommandError(
            f"{option} asks for {count} values, {needed / 2**30:.3g} GiB of "
            f"memory, more than half of this machine's "
            f"{memory / 2**30:.3g} GiB; give fewer steps or a larger --every"
        )


# ---- values ---------------------------------------------------------------------------


def _values(args: argparse.Namespace) -> None:
    args.specs = [args.spec]
    (schedule,), metrics = _schedules(args)
    _positive("--every", args.every, upper=MAX_STEPS)
    if metrics is not None:
        _values_of_a_plateau(args, schedule, metrics)
        return
    count = _step_count(args, [schedule])
    assert count is not None  # not a plateau: that returned above
    rows = -(-count // args.every)
    _check_memory(rows, 2, "--steps" if args.steps is not None else "the default --steps")
    steps = np.arange(0, count, args.every)
    lrs = _numeric(_quote(args.spec), lambda: schedule(steps))
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


def _values_of_a_plateau(args: argparse.Namespace, schedule: Any, metrics: list[float]) -> None:
    lrs = _numeric(
        _quote(args.spec), lambda: [schedule.init().lr, *schedule.replay(metrics).tolist()]
    )
    seen = list(range(0, len(lrs), args.every))
    out = sys.stdout
    if args.format == "json":
        json.dump(
            {
                "schedule": repr(schedule),
                "seen": seen,
                "metric": [None if k == 0 else metrics[k - 1] for k in seen],
                "lr": [lrs[k] for k in seen],
            },
            out,
        )
        out.write("\n")
    elif args.format == "csv":
        out.write("seen,metric,lr\n")
        for k in seen:
            out.write(f"{k},{'' if k == 0 else repr(metrics[k - 1])},{lrs[k]!r}\n")
    else:
        out.write(f"# {schedule!r}\n")
        width = max(4, len(str(seen[-1])))
        out.write(f"{'seen':>{width}}  {'metric':>12}  lr\n")
        for k in seen:
            metric = "" if k == 0 else f"{metrics[k - 1]:.6g}"
            out.write(f"{k:>{width}}  {metric:>12}  {lrs[k]:.10g}\n")


# ---- show -----------------------------------------------------------------------------

# Dot (column, row) inside a braille cell -> its bit (Unicode braille patterns, U+2800).
_BRAILLE_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def _curves(
    schedules: list, metrics: list[float] | None, count: int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, lr) per schedule: a step schedule at up to SHOW_SAMPLES evenly spaced steps of
    0..count-1, a plateau after each metric seen."""
    steps: np.ndarray | None = None
    if count is not None:
        if count <= SHOW_SAMPLES:
            steps = np.arange(count, dtype=np.float64)
        else:
            steps = np.unique(np.round(np.linspace(0, count - 1, SHOW_SAMPLES)))
    curves = []
    for schedule in schedules:
        if _is_plateau(schedule):
            lrs = [schedule.init().lr, *schedule.replay(metrics).tolist()]
            curves.append(
                (np.arange(len(lrs), dtype=np.float64), np.asarray(lrs, dtype=np.float64))
            )
        else:
            assert steps is not None  # _step_count gives a count whenever a schedule has steps
            curves.append((steps, np.asarray(schedule(steps))))
    return curves


def _ticks(low: float, high: float, log: bool, count: int) -> list[float]:
    if count == 1 or low == high:
        return [low]
    if log:
        return [float(10**v) for v in np.linspace(math.log10(low), math.log10(high), count)]
    return [float(v) for v in np.linspace(low, high, count)]


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    text = f"{value:.3g}"
    return text.replace("e-0", "e-").replace("e+0", "e+").replace("e+", "e")


class _Picture:
    """Curves in braille dots, 2 x 4 per character cell, with y tick rows and, for several
    curves, each curve's number written on a cell of its line."""

    def __init__(
        self, curves: list[tuple[np.ndarray, np.ndarray]], width: int, height: int, log_y: bool
    ):
        values = np.concatenate([lr for _, lr in curves])
        shown = values[values > 0] if log_y else values
        if shown.size == 0:
            raise _CommandError("--log-y needs a positive learning rate, and every value is 0")
        # A linear axis starts at 0, as learning rates do; a log axis at the smallest one.
        self.low = float(shown.min()) if log_y else min(0.0, float(shown.min()))
        self.high = float(shown.max())
        self.log_y, self.width, self.height = log_y, width, height
        self.x_end = max(float(x[-1]) for x, _ in curves)
        self.bits = np.zeros((height, width), dtype=np.int64)
        last_cells = [self._draw(x, lr) for x, lr in curves]
        self.marks: dict[tuple[int, int], str] = {}
        if len(curves) > 1:
            for index, cells in enumerate(last_cells):
                if cells:  # curve i is numbered near (i + 1) / (n + 1) of its length
                    place = cells[len(cells) * (index + 1) // (len(curves) + 1)]
                    self.marks[place] = str(index + 1)

    def dot_row(self, lr: np.ndarray) -> np.ndarray:
        """The dot row (0 at the top) of each learning rate."""
        rows = 4 * self.height
        if self.high == self.low:
            return np.full(np.shape(lr), rows // 2)
        if self.log_y:
            with np.errstate(divide="ignore"):
                position = np.log10(lr)
            low, high = math.log10(self.low), math.log10(self.high)
        else:
            position, low, high = np.asarray(lr), self.low, self.high
        fraction = (position - low) / (high - low)
        return np.clip(np.round((1 - fraction) * (rows - 1)), 0, rows - 1).astype(np.int64)

    def _draw(self, x: np.ndarray, lr: np.ndarray) -> list[tuple[int, int]]:
        columns = 2 * self.width
        visible = lr > 0 if self.log_y else np.ones(lr.shape, dtype=bool)
        x, rows = x[visible], self.dot_row(lr[visible])
        if self.x_end == 0:
            column = np.zeros(x.shape, dtype=np.int64)
        else:
            column = np.minimum((x / self.x_end * columns).astype(np.int64), columns - 1)
        # x is sorted, so each dot column's points are one slice.
        edges = np.searchsorted(column, np.arange(columns + 1))
        previous, cells = None, []
        for c in range(columns):
            start, end = edges[c], edges[c + 1]
            if start == end:
                if previous is None or start == len(x):
                    continue
                top = bottom = last = previous  # between two sparse points (a plateau): held
            else:
                top, bottom = int(rows[start:end].min()), int(rows[start:end].max())
                last = int(rows[end - 1])
            if previous is not None:  # joined to the last value drawn: jumps become lines
                top, bottom = min(top, previous), max(bottom, previous)
            cell, sub = divmod(c, 2)
            for row in range(top, bottom + 1):
                line, dot = divmod(row, 4)
                self.bits[line, cell] |= _BRAILLE_BITS[sub][dot]
            previous = last
            cells.append((last // 4, cell))
        return cells

    def lines(self) -> list[str]:
        out = []
        for line in range(self.height):
            chars = [chr(0x2800 + int(bits)) for bits in self.bits[line]]
            for (mark_line, cell), text in self.marks.items():
                if mark_line == line:
                    chars[cell] = text
            out.append("".join(chars))
        return out

    def y_ticks(self) -> dict[int, str]:
        """Character line -> tick label, up to 5 ticks."""
        count = max(2, min(5, self.height // 3 + 1))
        ticks: dict[int, str] = {}
        for value in _ticks(self.low, self.high, self.log_y, count):
            ticks.setdefault(int(self.dot_row(np.float64(value))) // 4, _number(value))
        return ticks


def _show(args: argparse.Namespace) -> None:
    from lrsched._groups import short_label

    schedules, metrics = _schedules(args)
    if args.width is not None:
        _positive("--width", args.width, upper=1000)
        if args.width < 10:
            raise _CommandError(f"--width must be at least 10 columns, got {args.width}")
    if args.height is not None:
        _positive("--height", args.height, upper=500)
        if args.height < 3:
            raise _CommandError(f"--height must be at least 3 lines, got {args.height}")
    count = _step_count(args, schedules)
    what = _quote(args.specs[0]) if len(args.specs) == 1 else "a SPEC"
    curves = _numeric(what, lambda: _curves(schedules, metrics, count))
    margin = 9  # the widest tick label: "-1.23e-45"
    terminal = shutil.get_terminal_size((80, 24)).columns
    # The drawing, its axis and the last x label (which may reach 3 columns past the axis).
    width = args.width or max(10, min(terminal, 120) - margin - 5)
    picture = _Picture(curves, width, args.height or 15, args.log_y)
    ticks = picture.y_ticks()
    out = []
    for index, line in enumerate(picture.lines()):
        label = ticks.get(index, "")
        out.append(f"{label:>{margin}} {'┤' if label else '│'}{line}")
    axis, under = ["─"] * width, [" "] * (width + 3)
    x_end = picture.x_end
    for value in [0.0, float(round(x_end / 2)), x_end] if x_end > 0 else [0.0]:
        cell = min(width - 1, int(value / x_end * width)) if x_end > 0 else 0
        axis[cell] = "┬"
        text = _number(value)
        start = max(0, min(cell - len(text) // 2, len(under) - len(text)))
        if not "".join(under[max(0, start - 1) : start + len(text) + 1]).strip():
            under[start : start + len(text)] = text
    indent = " " * (margin + 2)
    out.append(" " * margin + " └" + "".join(axis))
    out.append(indent + "".join(under).rstrip())
    kinds = {_is_plateau(s) for s in schedules}
    unit = {frozenset([False]): "step", frozenset([True]): "metrics seen"}.get(
        frozenset(kinds), "step (a plateau: metrics seen)"
    )
    out.append(indent + f"x: {unit}, y: learning rate" + (" (log scale)" if args.log_y else ""))
    labels = args.labels or [short_label(s, limit=200) for s in schedules]
    for index, label in enumerate(labels):
        out.append(indent + (f"{index + 1}: " if len(labels) > 1 else "") + label)
    sys.stdout.write("\n".join(out) + "\n")


# ---- plot -----------------------------------------------------------------------------


def _plot(args: argparse.Namespace) -> None:
    import lrsched

    schedules, metrics = _schedules(args)
    _positive("--dpi", args.dpi, upper=MAX_DPI)
    count = _step_count(args, schedules)
    if count is not None:
        _check_memory(
            count,
            1 + len(schedules),
            "--steps" if args.steps is not None else "the default --steps",
        )
    try:
        plot = lrsched.plot  # the lazy import: matplotlib may be missing
        from matplotlib.figure import Figure
    except ImportError:
        raise _CommandError(
            'plotting needs matplotlib: pip install "lrsched-numpy[plot]"'
        ) from None
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.add_subplot()
    _numeric(
        "plot",
        lambda: plot(
            *schedules, steps=count, ax=axes, labels=args.labels, log_y=args.log_y, metrics=metrics
        ),
    )
    if args.title:
        axes.set_title(args.title)
    try:
        figure.savefig(args.output, dpi=args.dpi)
    except (OSError, ValueError, MemoryError) as error:
        raise _CommandError(f"cannot write {args.output!r}: {_one_line(error)}") from None
    print(args.output)


# ---- the parser -----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line like every other error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.replace("lrsched", "").strip()
        hint = f"lrsched {command} --help" if command else "lrsched --help"
        self.exit(2, f"lrsched: error: {_cut(message)} (see {hint})\n")


def _number_type(kind: type) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            article = "an" if kind is int else "a"
            raise argparse.ArgumentTypeError(
                f"must be {article} {'integer' if kind is int else 'number'}, got {_quote(text)}"
            ) from None

    convert.__name__ = kind.__name__
    return convert


def _common(parser: argparse.ArgumentParser, steps_help: str) -> None:
    parser.add_argument(
        "--steps", type=_number_type(int), default=None, metavar="N", help=steps_help
    )
    parser.add_argument(
        "--per-epoch",
        type=_number_type(float),
        default=None,
        metavar="K",
        help="read SPECs in epochs of K optimizer steps each",
    )
    parser.add_argument(
        "--metrics",
        metavar="FILE",
        default=None,
        help="metric series for a plateau SPEC: numbers, one per evaluation",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``lrsched`` argument parser: commands ``values``, ``show`` and ``plot``."""
    import lrsched

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            epilog=EPILOGS[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kwargs,
        )

    parser = _Parser(
        prog="lrsched",
        description="Learning-rate schedules: print, preview or plot them.",
        epilog=EPILOGS[None],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lrsched {lrsched.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    default_range = "default: until the schedule settles, then a few more"

    values = command(
        "values",
        help="print a schedule's learning rates",
        description="Print one schedule's learning rates at steps 0..N-1.",
    )
    values.add_argument("spec", metavar="SPEC", help="schedule text, e.g. 'cosine(0.1, 1000)'")
    _common(values, f"steps 0..N-1 ({default_range})")
    values.add_argument(
        "--every",
        type=_number_type(int),
        default=1,
        metavar="K",
        help="print every K-th step (or metric)",
    )
    values.add_argument("--format", choices=("table", "csv", "json"), default="table")
    values.set_defaults(run=_values)

    show = command(
        "show",
        help="preview schedules in the terminal (no matplotlib)",
        description="Draw schedules in the terminal with unicode braille "
        "characters, for a remote shell.",
    )
    show.add_argument("specs", nargs="+", metavar="SPEC", help="one or more schedule texts")
    _common(show, f"steps 0..N-1 ({default_range} of every SPEC)")
    show.add_argument(
        "--width",
        type=_number_type(int),
        default=None,
        metavar="W",
        help="columns of the drawing (default: to fit the terminal)",
    )
    show.add_argument(
        "--height",
        type=_number_type(int),
        default=None,
        metavar="H",
        help="lines of the drawing (default 15)",
    )
    show.add_argument("--log-y", action="store_true", help="logarithmic learning-rate axis")
    show.add_argument(
        "--label",
        dest="labels",
        action="append",
        default=None,
        metavar="LABEL",
        help="legend label, once per SPEC in order",
    )
    show.set_defaults(run=_show)

    plot = command(
        "plot",
        help="draw schedules to an image file (needs the plot extra)",
        description="Draw schedules with matplotlib into an image file.",
    )
    plot.add_argument("specs", nargs="+", metavar="SPEC", help="one or more schedule texts")
    plot.add_argument(
        "-o",
        "--output",
        required=True,
        help="image file; the format follows the suffix (.png, .svg, .pdf)",
    )
    _common(plot, f"steps 0..N-1 ({default_range} of every SPEC)")
    plot.add_argument("--log-y", action="store_true", help="logarithmic learning-rate axis")
    plot.add_argument(
        "--label",
        dest="labels",
        action="append",
        default=None,
        metavar="LABEL",
        help="legend label, once per SPEC in order (default: its repr)",
    )
    plot.add_argument("--title", default=None, help="title above the plot")
    plot.add_argument(
        "--dpi",
        type=_number_type(int),
        default=150,
        help=f"resolution of raster images (1 to {MAX_DPI}, default 150)",
    )
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
        print(f"lrsched: error: {_cut(str(error))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `lrsched values ... | head`
        # Python would report the pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("lrsched: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``lrsched`` command: the installed console script run in a subprocess as a user runs
it, and, for the many error and drawing cases, ``lrsched.cli.main`` in this process."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import lrsched

# The console script installed beside this interpreter (pip install -e . puts it there).
COMMAND = shutil.which("lrsched", path=str(Path(sys.executable).parent)) or shutil.which("lrsched")
pytestmark = pytest.mark.skipif(COMMAND is None, reason="the lrsched command is not installed")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Done(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run_main(*args):
    """``lrsched.cli.main(args)`` in this process, as a run's (status, stdout, stderr): the
    same code as the command, without a new interpreter per case."""
    from lrsched.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exit:  # argparse: --help, --version, usage errors
            status = exit.code
    return Done(status, out.getvalue(), err.getvalue())


def run(*args, env=None, cwd=None):
    environment = dict(os.environ, MPLBACKEND="Agg")
    for key, value in (env or {}).items():
        if key == "PYTHONPATH" and os.environ.get(key):  # in front of the tree's own path
            value = os.pathsep.join([value, os.environ[key]])
        environment[key] = value
    return subprocess.run(
        [COMMAND, *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=120
    )


def test_help_lists_every_command_and_each_screen_has_its_own_examples():
    top = run("--help")
    assert top.returncode == 0
    for command in ("values", "show", "plot"):
        assert command in top.stdout
    screens = {
        command: run_main(command, "--help").stdout for command in ("values", "show", "plot")
    }
    for command, text in screens.items():
        examples = [
            line.strip() for line in text.splitlines() if line.strip().startswith("lrsched ")
        ]
        assert examples and all(line.startswith(f"lrsched {command} ") for line in examples), (
            command,
            examples,
        )
        # No screen repeats another's epilog or the top-level one.
        for other in screens:
            if other != command:
                assert f"lrsched {other} " not in text
        assert "SPEC is the text form" not in text
    assert "SPEC is the text form" in top.stdout
    plot_help = screens["plot"]
    for option in ("--steps", "--log-y", "--per-epoch", "-o", "--metrics", "--label", "--dpi"):
        assert option in plot_help
    for option in ("--steps", "--per-epoch", "--metrics", "--every", "--format"):
        assert option in screens["values"]
    for option in ("--steps", "--width", "--height", "--log-y", "--per-epoch", "--metrics"):
        assert option in screens["show"]


def test_plot_writes_an_image_of_several_specs(tmp_path):
    out = tmp_path / "cmp.png"
    result = run("plot", "cosine(0.1, 100)", "step(0.1, 30)", "--steps", "120", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert out.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_format_follows_the_suffix(tmp_path):
    out = tmp_path / "exp.svg"
    result = run(
        "plot",
        "exponential(0.1, 0.5)",
        "--per-epoch",
        "10",
        "--steps",
        "100",
        "--log-y",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().lstrip().startswith("<?xml")


def test_plot_of_a_plateau_reads_metrics_from_a_file(tmp_path):
    metrics = tmp_path / "losses.txt"
    metrics.write_text("3\n2\n2\n2\n")
    out = tmp_path / "plateau.png"
    result = run("plot", "plateau(0.1, patience=1)", "--metrics", str(metrics), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "args, message",
    [
        (["cosin(0.1, 100)"], "unknown schedule type 'cosin'"),
        (["cosine(0.1, total_steps=0)"], "cosine(): total_steps must be a positive integer, got 0"),
        (["cosine(0.1, 100"], "parse(): invalid schedule text"),
        (["cosine(0.1, 100)", "--steps", "0"], "--steps must be a positive integer, got 0"),
        (
            ["cosine(0.1, 100)", "--per-epoch", "-1"],
            "--per-epoch must be a positive finite number, got -1.0",
        ),
        (["inverse_sqrt(0.1)"], "steps is required for inverse_sqrt"),
        (["plateau(0.1)"], "a plateau SPEC needs --metrics FILE"),
        (["cosine(0.1, 100)", "--label", "a", "--label", "b"], "--label was given 2 time(s)"),
    ],
)
def test_bad_plot_input_is_one_line_and_a_non_zero_exit(tmp_path, args, message):
    out = tmp_path / "never.png"
    result = run("plot", *args, "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("lrsched: error: ")
    assert message in result.stderr
    assert not out.exists()


def test_missing_plot_extra_is_one_line_naming_the_extra(tmp_path):
    # A matplotlib that cannot be imported, first on the path: what a core-only install sees.
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'matplotlib'\")\n")
    result = run(
        "plot",
        "cosine(0.1, 100)",
        "-o",
        str(tmp_path / "x.png"),
        env={"PYTHONPATH": str(shadow.parent)},
    )
    assert result.returncode == 2
    assert result.stderr == (
        'lrsched: error: plotting needs matplotlib: pip install "lrsched-numpy[plot]"\n'
    )
    # The values command needs only numpy, so it still works there.
    values = run(
        "values",
        "cosine(0.1, 100)",
        "--steps",
        "3",
        "--format",
        "json",
        env={"PYTHONPATH": str(shadow.parent)},
    )
    assert values.returncode == 0, values.stderr


def test_values_json_equals_the_schedule():
    spec = "warmup(cosine(base_lr=0.1, total_steps=1000), steps=100)"
    result = run("values", spec, "--steps", "1100", "--every", "100", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    steps = np.arange(0, 1100, 100)
    assert data["steps"] == steps.tolist()
    assert data["lr"] == lrsched.parse(spec)(steps).tolist()
    assert data["lr"][1] == 0.1  # the warmup reaches base_lr exactly at step 100


def test_values_csv_and_bad_spec():
    result = run("values", "step(1.0, 2, gamma=0.5)", "--steps", "5", "--format", "csv")
    assert result.stdout.splitlines() == ["step,lr", "0,1.0", "1,1.0", "2,0.5", "3,0.5", "4,0.25"]
    bad = run("values", "plateau(0.1)")
    assert bad.returncode == 2 and "needs --metrics FILE" in bad.stderr


# ---- values: the same range as plot, plateaus, per-epoch --------------------------------


def _values_json(*args):
    result = run("values", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "spec",
    [
        "cosine(base_lr=0.1, total_steps=1000)",
        "warmup(cosine(0.1, 1000), steps=100)",
        "cyclic(0.01, 0.1, step_size_up=20)",
        "multistep(0.1, [30, 60], gamma=0.5)",
    ],
)
def test_values_default_range_is_the_plot_range(spec):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    schedule = lrsched.parse(spec)
    axes = Figure().add_subplot()
    lrsched.plot(schedule, ax=axes)
    drawn = axes.get_lines()[0].get_xdata()
    data = _values_json(spec)
    assert data["steps"] == list(drawn)
    assert data["lr"] == schedule(np.asarray(drawn)).tolist()
    tail = schedule.tail()
    assert data["steps"][-1] >= tail.start  # past the point where it settles


def test_values_of_a_cosine_reach_its_end_and_beyond():
    data = _values_json("cosine(0.1, 1000)")
    assert len(data["steps"]) == 1100 and data["lr"][1000:] == [0.0] * 100


def test_values_replays_a_plateau_from_metrics(tmp_path):
    metrics = tmp_path / "losses.txt"
    series = [3.0, 2.0, 2.0, 2.0, 2.0, 1.5, 1.5, 1.5]
    metrics.write_text(",".join(map(str, series)))
    spec = "plateau(0.1, patience=1, factor=0.5)"
    data = _values_json(spec, "--metrics", str(metrics))
    schedule = lrsched.parse(spec)
    assert data["seen"] == list(range(len(series) + 1))
    assert data["metric"] == [None, *series]
    assert data["lr"] == [schedule.init().lr, *schedule.replay(series).tolist()]
    assert data["lr"][-1] < data["lr"][0]  # the series does reduce it
    csv = run("values", spec, "--metrics", str(metrics), "--format", "csv", "--every", "4")
    assert csv.stdout.splitlines() == [
        "seen,metric,lr",
        f"0,,{data['lr'][0]!r}",
        f"4,2.0,{data['lr'][4]!r}",
        f"8,1.5,{data['lr'][8]!r}",
    ]


def test_values_per_epoch_evaluates_per_step():
    spec = "multistep(0.1, [3, 6], gamma=0.5)"
    data = _values_json(spec, "--per-epoch", "10", "--steps", "80", "--every", "5")
    per_step = lrsched.parse(spec).per_epoch(10)
    assert data["steps"] == list(range(0, 80, 5))
    assert data["lr"] == per_step(np.arange(0, 80, 5)).tolist()
    assert data["lr"][6] == 0.05 and data["lr"][5] == 0.1  # epoch 3 starts at step 30


@pytest.mark.parametrize("command", ["values", "show", "plot"])
def test_metrics_with_a_schedule_of_the_step_is_an_error(tmp_path, command):
    metrics = tmp_path / "losses.txt"
    metrics.write_text("1 2 3")
    extra = ["-o", str(tmp_path / "x.png")] if command == "plot" else []
    result = run(command, "cosine(0.1, 100)", "--metrics", str(metrics), *extra)
    assert result.returncode == 2
    assert result.stderr.startswith("lrsched: error: --metrics applies only to a plateau")
    assert result.stderr.count("\n") == 1 and result.stdout == ""


# ---- show: a braille preview --------------------------------------------------------------

BRAILLE = range(0x2800, 0x2900)
BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def _picture(text):
    """The drawing's rows (after the axis), the tick labels by row, the legend lines."""
    lines = text.splitlines()
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    rows = [line.split("┤" if "┤" in line else "│", 1) for line in lines[:axis]]
    ticks = {i: label.strip() for i, (label, _) in enumerate(rows) if label.strip()}
    return [body for _, body in rows], ticks, lines[axis:]


def _dots(rows):
    """Dot row of every lit dot, per dot column (braille decoded back into dots)."""
    columns = {}
    for line, body in enumerate(rows):
        for cell, char in enumerate(body):
            if ord(char) not in BRAILLE:
                continue
            for sub in (0, 1):
                for dot in range(4):
                    if (ord(char) - 0x2800) & BITS[sub][dot]:
                        columns.setdefault(2 * cell + sub, []).append(4 * line + dot)
    return columns


def _assert_line_through(dots, points, width, height):
    """Every (x, row) sample is lit in its dot column, and nothing lies far from them."""
    x_end = points[-1][0]
    expected = {}
    for x, row in points:
        column = min(int(x / x_end * 2 * width), 2 * width - 1)
        assert row in dots.get(column, []), (x, column, row, dots.get(column))
        expected.setdefault(column, []).append(row)
    for column, hit in dots.items():
        near = expected.get(column) or expected.get(column - 1) or expected.get(column + 1)
        assert near and all(min(near) - 1 <= row <= max(near) + 1 for row in hit), (column, hit)


def test_show_draws_a_line_in_braille_with_ticks_and_a_legend():
    result = run_main(
        "show", "linear(1.0, 0.0, 99)", "--steps", "100", "--width", "50", "--height", "10"
    )
    assert result.returncode == 0, result.stderr
    rows, ticks, rest = _picture(result.stdout)
    assert len(rows) == 10 and all(len(body) == 50 for body in rows)
    assert ticks[0] == "1" and ticks[9] == "0"  # 1.0 at the top, 0 at the bottom
    assert rest[1].split() == ["0", "50", "99"]  # x ticks at 0, the middle and the end
    assert "linear(start_lr=1.0, end_lr=0.0, total_steps=99)" in result.stdout
    # lr = 1 - k/99 at step k: dot row (1 - lr) * 39 of 40, dot column k of 100.
    _assert_line_through(_dots(rows), [(k, round(k / 99 * 39)) for k in range(100)], 50, 10)


def test_show_numbers_several_schedules_and_draws_each(tmp_path):
    result = run_main(
        "show",
        "constant(1.0)",
        "constant(0.5)",
        "step(1.0, 50, gamma=0.5)",
        "--steps",
        "100",
        "--width",
        "40",
        "--height",
        "8",
    )
    assert result.returncode == 0, result.stderr
    rows, _ticks, rest = _picture(result.stdout)
    assert any("1" in body for body in rows) and any("2" in body for body in rows)
    assert any("3" in body for body in rows)
    legend = [line.strip() for line in rest[3:]]
    assert legend == [
        "1: constant(lr=1.0)",
        "2: constant(lr=0.5)",
        "3: step(base_lr=1.0, step_size=50, gamma=0.5)",
    ]
    dots = _dots(rows)
    # 32 dot rows: 1.0 on row 0, 0.5 on row 16 (round(15.5)); a numbered cell replaces
    # the dots of its character.
    numbered = {
        2 * c + sub for line in rows for c, ch in enumerate(line) if ch in "123" for sub in (0, 1)
    }
    for column in set(range(80)) - numbered:
        assert 0 in dots[column] and 16 in dots[column], (column, dots[column])
    # The step drops from 1.0 to 0.5 at step 50 (dot column int(80 * 50 / 99) = 40): a
    # vertical line joins the two levels there (down to row 15 at least: curve 2's number
    # sits in the middle of its line, the character holding rows 16-19 of this column).
    assert set(range(0, 16)) <= set(dots[40])
    assert "x: step, y: learning rate" in result.stdout


def test_show_log_y_draws_an_exponential_as_a_straight_line():
    result = run_main(
        "show",
        "exponential(1.0, 0.5)",
        "--steps",
        "21",
        "--log-y",
        "--width",
        "21",
        "--height",
        "5",
    )
    assert result.returncode == 0, result.stderr
    rows, ticks, _ = _picture(result.stdout)
    assert ticks[0] == "1" and ticks[4] == "9.54e-7"  # 0.5**20
    # log10(lr) falls by the same amount every step: a straight line on a log axis.
    _assert_line_through(_dots(rows), [(k, round(k / 20 * 19)) for k in range(21)], 21, 5)
    assert "(log scale)" in result.stdout


def test_show_replays_a_plateau(tmp_path):
    metrics = tmp_path / "losses.txt"
    metrics.write_text("3 2 2 2 2 2")
    result = run_main(
        "show",
        "plateau(1.0, patience=1, factor=0.5)",
        "--metrics",
        str(metrics),
        "--width",
        "12",
        "--height",
        "4",
    )
    assert result.returncode == 0, result.stderr
    _rows, ticks, rest = _picture(result.stdout)
    assert ticks[0] == "1" and "x: metrics seen" in result.stdout
    assert rest[1].split() == ["0", "3", "6"]


def test_show_needs_no_matplotlib(tmp_path):
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'matplotlib'\")\n")
    result = run(
        "show",
        "cosine(0.1, 100)",
        "--width",
        "20",
        "--height",
        "3",
        env={"PYTHONPATH": str(shadow.parent)},
    )
    assert result.returncode == 0, result.stderr
    assert any(ord(c) in BRAILLE for c in result.stdout)


def test_show_fits_the_terminal_width_by_default(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    result = run_main("show", "cosine(0.1, 100)")
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 60


# ---- one line, exit 2, for every bad input ------------------------------------------------

HUGE = "1" + "0" * 400


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["values", "cosine(0.1, 100)", "--per-epoch", "nan"],
            "--per-epoch must be a positive finite number, got nan",
        ),
        (
            ["values", "cosine(0.1, 100)", "--per-epoch", "inf"],
            "--per-epoch must be a positive finite number, got inf",
        ),
        (
            ["show", "cosine(0.1, 100)", "--per-epoch=-inf"],
            "--per-epoch must be a positive finite number, got -inf",
        ),
        # A subnormal epoch length: the core may refuse it, or its values overflow.
        (["values", "cosine(0.1, 10)", "--per-epoch", "1e-320"], "lrsched: error: "),
        (
            ["values", "cosine(0.1, 100)", "--steps", HUGE],
            "--steps must be a positive integer at most 9007199254740992, got '1000",
        ),
        (
            ["values", "cosine(0.1, 100)", "--steps", str(2**53)],
            "--steps asks for 9007199254740992 values",
        ),
        (
            ["values", f"cosine(0.1, {HUGE})"],
            "cosine(): total_steps must be a positive integer that float64 can hold",
        ),
        (
            ["show", f"step(0.1, {HUGE})", "--steps", "10"],
            "step(): step_size must be a positive integer that float64 can hold",
        ),
        (["values", f"constant({HUGE})"], "constant(): lr must be a finite number"),
        (
            ["values", f"warmup(cosine(0.1, 100), steps=1{'0' * 30})"],
            "the schedule settles only after 1100000000000000134463078006784 steps, past 2**53",
        ),
        (
            ["values", "cosine(0.1, 100)", "--steps", "abc"],
            "argument --steps: must be an integer, got 'abc'",
        ),
        (["values", "cosine(0.1, 100)", "--every", "0"], "--every must be a positive integer"),
        (["values", "exponential(0.1, 0.9)"], "--steps is required for exponential"),
        (["show", "cosine(0.1, 100)", "--width", "3"], "--width must be at least 10 columns"),
        (["show", "cosine(0.1, 100)", "--height", "0"], "--height must be a positive integer"),
        (["show", "constant(0.0)", "--log-y"], "--log-y needs a positive learning rate"),
        (["show", "plateau(0.1)"], "a plateau SPEC needs --metrics FILE"),
        (
            ["plot", "cosine(0.1, 100)", "--dpi", str(10**6), "-o", "x.png"],
            "--dpi must be a positive integer at most 1200, got 1000000",
        ),
        (["plot", "cosine(0.1, 100)", "--dpi", "0", "-o", "x.png"], "--dpi must be a positive"),
        (["plot", "cosine(0.1, 100)", "--steps", str(2**53), "-o", "x.png"], "--steps asks for"),
        (
            ["plot", "cosine(0.1, 100)", "--per-epoch", "nan", "-o", "x.png"],
            "--per-epoch must be a positive finite number, got nan",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run_main(*args)
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("lrsched: error: "), (
        result.stderr
    )
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 400
    assert not (tmp_path / "x.png").exists()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_plot_of_a_hundred_million_steps_stays_small(tmp_path):
    # In a fresh interpreter that reports its own peak resident memory (VmHWM: unlike
    # ru_maxrss it does not carry over the forking parent's).
    out = tmp_path / "long.png"
    code = (
        "from lrsched.cli import main\n"
        "status = main(['plot', 'cosine(0.1, 100000000)', 'warm_restarts(0.1, period=10)',\n"
        f"               '--steps', '100000000', '-o', {str(out)!r}])\n"
        "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM')]\n"
        "print(status, peak[0].split()[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, MPLBACKEND="Agg"),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    status, peak_kib = map(int, result.stdout.splitlines()[-1].split())
    assert status == 0 and out.read_bytes().startswith(PNG_SIGNATURE)
    # The interpreter, numpy and matplotlib take ~100 MB; every step drawn took 7.7 GB.
    assert peak_kib < 400 * 1024

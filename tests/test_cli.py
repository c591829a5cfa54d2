"""The installed ``lrsched`` command, run in a subprocess as a user runs it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lrsched

# The console script installed beside this interpreter (pip install -e . puts it there).
COMMAND = shutil.which("lrsched", path=str(Path(sys.executable).parent)) or shutil.which(
    "lrsched")
pytestmark = pytest.mark.skipif(COMMAND is None, reason="the lrsched command is not installed")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(*args, env=None, cwd=None):
    environment = dict(os.environ, MPLBACKEND="Agg")
    environment.update(env or {})
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, env=environment,
                          cwd=cwd, timeout=120)


def test_help_lists_both_commands_with_examples():
    result = run("--help")
    assert result.returncode == 0
    assert "values" in result.stdout and "plot" in result.stdout
    assert 'lrsched plot "warmup(cosine(0.1, 1000), steps=100)"' in result.stdout
    plot_help = run("plot", "--help").stdout
    for option in ("--steps", "--log-y", "--per-epoch", "-o", "--metrics", "--label"):
        assert option in plot_help


def test_plot_writes_an_image_of_several_specs(tmp_path):
    out = tmp_path / "cmp.png"
    result = run("plot", "cosine(0.1, 100)", "step(0.1, 30)", "--steps", "120", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert out.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_format_follows_the_suffix(tmp_path):
    out = tmp_path / "exp.svg"
    result = run("plot", "exponential(0.1, 0.5)", "--per-epoch", "10", "--steps", "100",
                 "--log-y", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text().lstrip().startswith("<?xml")


def test_plot_of_a_plateau_reads_metrics_from_a_file(tmp_path):
    metrics = tmp_path / "losses.txt"
    metrics.write_text("3\n2\n2\n2\n")
    out = tmp_path / "plateau.png"
    result = run("plot", "plateau(0.1, patience=1)", "--metrics", str(metrics), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("args, message", [
    (["cosin(0.1, 100)"], "unknown schedule type 'cosin'"),
    (["cosine(0.1, total_steps=0)"], "cosine(): total_steps must be a positive integer, got 0"),
    (["cosine(0.1, 100"], "parse(): invalid schedule text"),
    (["cosine(0.1, 100)", "--steps", "0"], "--steps must be a positive integer, got 0"),
    (["cosine(0.1, 100)", "--per-epoch", "-1"], "--per-epoch must be a positive number"),
    (["inverse_sqrt(0.1)"], "steps is required for inverse_sqrt"),
    (["plateau(0.1)"], "a plateau SPEC needs --metrics FILE"),
    (["cosine(0.1, 100)", "--label", "a", "--label", "b"], "--label was given 2 time(s)"),
])
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
    result = run("plot", "cosine(0.1, 100)", "-o", str(tmp_path / "x.png"),
                 env={"PYTHONPATH": str(shadow.parent)})
    assert result.returncode == 2
    assert result.stderr == 'lrsched: error: plotting needs matplotlib: pip install "lrsched[plot]"\n'
    # The values command needs only numpy, so it still works there.
    values = run("values", "cosine(0.1, 100)", "--steps", "3", "--format", "json",
                 env={"PYTHONPATH": str(shadow.parent)})
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
    assert bad.returncode == 2 and "needs metrics" in bad.stderr


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
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, MPLBACKEND="Agg"), timeout=120)
    assert result.returncode == 0, result.stderr
    status, peak_kib = map(int, result.stdout.splitlines()[-1].split())
    assert status == 0 and out.read_bytes().startswith(PNG_SIGNATURE)
    # The interpreter, numpy and matplotlib take ~100 MB; every step drawn took 7.7 GB.
    assert peak_kib < 400 * 1024

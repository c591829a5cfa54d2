"""Every example of the recipe pages (docs/recipes/*.md) runs, in the framework suite.

As in test_docs_examples.py, a page's ```python blocks run in order in one namespace, in
a fresh directory. A block titled as a file (```python title="train.py") is written to
that file instead, and the page's ```bash commands that start with ``python`` or
``torchrun`` run it, in this environment, where they appear: that is how the
multi-process examples (DDP, FSDP) run exactly as a reader would run them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated"),
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*"),
    pytest.mark.filterwarnings("ignore::UserWarning:transformers"),
    pytest.mark.filterwarnings("ignore:.*does not have many workers.*"),
]

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "docs" / "recipes").glob("*.md"))
FENCE = re.compile(
    r"^```(?P<lang>python|bash)(?P<info>[^\n]*)\n(?P<body>.*?)^```", re.DOTALL | re.MULTILINE
)
TITLE = re.compile(r'title="(?P<name>[^"]+)"')


def blocks(page: Path) -> list[tuple[int, str, str | None, str]]:
    """(line, language, file title or None, code) of each block of a recipe page."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        title = TITLE.search(match.group("info"))
        found.append(
            (
                text.count("\n", 0, match.start()) + 2,
                match.group("lang"),
                title.group("name") if title else None,
                match.group("body"),
            )
        )
    return found


def run_command(line: str, where: str) -> None:
    words = shlex.split(line)
    if words[0] == "python":
        words = [sys.executable, *words[1:]]
    elif words[0] == "torchrun":
        words = [sys.executable, "-m", "torch.distributed.run", *words[1:]]
    else:
        return  # pip install and the like: the environment has them already
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        OMP_NUM_THREADS="1",
    )
    done = subprocess.run(words, env=env, capture_output=True, text=True, timeout=600)
    if words[2:3] == ["torch.distributed.run"] and _torch_exit_abort(done):
        # torch's gloo group can abort at interpreter exit, after the script finished
        # (a background thread still joinable: torch issue 56297); that is torch's
        # shutdown, not the recipe, so the run is repeated once.
        done = subprocess.run(words, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (
        f"{where}: `{line}` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )


def test_there_is_a_recipe_per_stack():
    assert {page.stem for page in RECIPES} >= {"lightning", "hf-trainer", "distributed", "compile"}


@pytest.mark.parametrize("page", RECIPES, ids=lambda page: page.stem)
def test_recipe_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    where = f"docs/recipes/{page.name}"
    namespace = {"__name__": f"recipe_{page.stem.replace('-', '_')}"}
    ran = 0
    for line, lang, title, code in blocks(page):
        if title is not None:
            (tmp_path / title).write_text(code)
            continue
        if lang == "bash":
            for command in code.strip().splitlines():
                run_command(command, f"{where} line {line}")
            ran += 1
            continue
        try:
            exec(compile(code, f"{where}:{line}", "exec", dont_inherit=True), namespace)
        except Exception as error:
            inside = [
                frame.lineno
                for frame in traceback.extract_tb(error.__traceback__)
                if frame.filename == f"{where}:{line}"
            ]
            at = line + inside[-1] - 1 if inside else line
            raise AssertionError(
                f"the example at {where} line {at} failed: {type(error).__name__}: {error}"
            ) from error
        ran += 1
    assert ran > 0


def _torch_exit_abort(done: subprocess.CompletedProcess) -> bool:
    """Whether a torchrun failed only by a worker aborting at exit (SIGABRT, exit code -6,
    with C++'s "terminate called without an active exception")."""
    return done.returncode != 0 and "terminate called without an active exception" in (
        done.stdout + done.stderr
    )

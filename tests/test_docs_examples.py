"""Every ```python block in docs/**/*.md and README.md runs, page by page, under Agg.

A page's blocks run in order in one namespace, so a later block may use what an earlier
one built, as a reader following the page would. A block followed by a paragraph saying
what it prints and a ```text block must print exactly that. A block titled as a test file
(```python title="tests/test_x.py") is what a reader saves and runs with pytest, so it is
saved to a file and run by pytest in a subprocess instead. The only blocks left out are
those whose fence says so explicitly (```python {.no-run}): the docs of an API that is about
to land. The gallery script renders into a temporary directory, and every family has a
page with a picture, so a new family cannot go undocumented.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import runpy
import subprocess
import sys
import traceback
import types
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

import lrsched

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The recipe pages need Lightning and transformers and start processes: they run in the
# framework suite (tests/test_docs_recipes.py, pytest -m frameworks).
PAGES = sorted(
    [ROOT / "README.md", *(page for page in DOCS.rglob("*.md") if page.parent != DOCS / "recipes")]
)
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```",
    re.DOTALL | re.MULTILINE,
)
# After a block: a short paragraph that says "prints", then the printed text.
PRINTS = re.compile(
    r"\s*\n(?:[^\n`]*\bprints?\b[^\n`]*\n)+\s*```text\n(?P<text>.*?)^```", re.DOTALL | re.MULTILINE
)
TEST_FILE = re.compile(r'title="(?P<path>(?:[\w-]+/)*test_[\w-]+\.py)"')
# Families documented on the composition page rather than on a page of their own.
ON_COMPOSITION_PAGE = {
    "sequence",
    "warmup",
    "product",
    "clip",
    "shift",
    "per_epoch",
    "cycle_momentum",
}


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, code) of each block of a Markdown page that runs in-process."""
    return [(line, code) for line, code, _ in _blocks(page) if code is not None]


def _blocks(page: Path) -> list[tuple[int, str | None, dict]]:
    """(line, code, extras) of each python block not marked no-run: ``printed`` is the
    output the page says it prints, ``test_file`` the path a titled test file is saved as
    (its code is then None here: it runs under pytest, not in the page's namespace)."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        info = match.group("info")
        if "no-run" in info:
            continue
        indent = len(match.group("indent"))
        code = "\n".join(line[indent:] for line in match.group("body").splitlines())
        line = text.count("\n", 0, match.start()) + 2
        extras = {}
        printed = PRINTS.match(text, match.end())
        if printed:
            extras["printed"] = printed.group("text")
        test_file = TEST_FILE.search(info)
        if test_file:
            blocks.append((line, None, {"test_file": test_file.group("path"), "code": code}))
        else:
            blocks.append((line, code, extras))
    return blocks


def saved_test_files(page: Path) -> list[tuple[int, str, str]]:
    return [
        (line, extras["test_file"], extras["code"])
        for line, code, extras in _blocks(page)
        if code is None
    ]


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=page_id)
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    # A module of its own, importable while the page runs, so that classes an example
    # defines pickle as they would from a user's file.
    # Families a page registers are forgotten after it, as after the user's own script.
    from lrsched import _registry

    monkeypatch.setattr(_registry, "_USER_FAMILIES", dict(_registry._USER_FAMILIES))
    module = types.ModuleType(f"docs_example_{page.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    try:
        for line, code, extras in _blocks(page):
            if code is None:
                continue
            output = io.StringIO()
            try:
                with contextlib.redirect_stdout(output):
                    exec(
                        compile(code, f"{page_id(page)}:{line}", "exec", dont_inherit=True),
                        namespace,
                    )
            except Exception as error:
                inside = [
                    frame.lineno
                    for frame in traceback.extract_tb(error.__traceback__)
                    if frame.filename == f"{page_id(page)}:{line}"
                ]
                where = line + inside[-1] - 1 if inside else line
                raise AssertionError(
                    f"the example at {page_id(page)} line {where} failed: "
                    f"{type(error).__name__}: {error}"
                ) from error
            if "printed" in extras:
                assert output.getvalue() == extras["printed"], (
                    f"the example at {page_id(page)} line {line} prints something else"
                )
            else:
                sys.stdout.write(output.getvalue())
    finally:
        plt.close("all")


@pytest.mark.parametrize("page", [p for p in PAGES if saved_test_files(p)], ids=page_id)
def test_test_files_on_a_page_pass_under_pytest_each_test_once(page, tmp_path):
    for line, path, code in saved_test_files(page):
        project = tmp_path / f"line{line}"
        (project / path).parent.mkdir(parents=True)
        (project / path).write_text(code + "\n", encoding="utf-8")
        (project / "pytest.ini").write_text("[pytest]\n")  # the reader's project, not ours
        # A fixed seed: the same examples every run, as lrsched's own CI profile does.
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--hypothesis-seed=0",
                path,
            ],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        defined = len(re.findall(r"^def (test_\w+)", code, re.MULTILINE))
        summary = done.stdout.strip().splitlines()[-1]
        assert re.match(rf"{defined} passed in ", summary), summary
        # Each test ran once: the module calls no test when pytest imports it (calls under
        # `if __name__ == "__main__":` run only as a script).
        calls = [
            node.value.func.id
            for node in ast.parse(code).body
            if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id.startswith("test_")
        ]
        assert not calls, f"{path} runs {calls} on import, so pytest runs them twice"


def test_the_extraction_finds_blocks_and_skips_no_run(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```python\nx = 1\n```\n\n```python {.no-run}\nboom()\n```\n\n"
        "- item\n\n    ```python\n    y = 2\n    ```\n\n"
        '```python title="tests/test_a.py"\ndef test_a():\n    pass\n```\n\n'
        "```python\nprint(3)\n```\n\nwhich prints\n\n```text\n3\n```\n"
    )
    assert python_blocks(page) == [(4, "x = 1"), (14, "y = 2"), (23, "print(3)")]
    assert saved_test_files(page) == [(18, "tests/test_a.py", "def test_a():\n    pass")]
    assert _blocks(page)[-1][2] == {"printed": "3\n"}


def test_every_family_has_a_page_with_its_picture():
    from lrsched._registry import library_families

    for name in library_families():  # not the families that docs examples register
        if name in ON_COMPOSITION_PAGE:
            page = DOCS / "families" / "composition.md"
            assert f"::: lrsched.{name}" in page.read_text(), name
            continue
        page = DOCS / "families" / f"{name}.md"
        assert page.exists(), f"{name} has no page under docs/families/"
        text = page.read_text()
        assert f"](../images/{name}.png)" in text and f"::: lrsched.{name}" in text
        assert (DOCS / "images" / f"{name}.png").exists()


def test_the_gallery_script_renders_every_picture(tmp_path):
    script = runpy.run_path(str(DOCS / "scripts" / "gallery.py"))
    written = script["render"](tmp_path, dpi=30)  # small: this checks completeness, not looks
    # Other scripts add their own pictures (range test, benchmarks); the gallery's must all be
    # committed, and be current enough to have the same names.
    committed = {path.name for path in (DOCS / "images").glob("*.png")}
    assert {path.name for path in written} <= committed
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in written)


def test_readme_shows_the_picture_and_plots_first():
    readme = (ROOT / "README.md").read_text()
    assert "](docs/images/schedules.png)" in readme
    first_command = re.search(r"```bash\n(.*?)\n```", readme, re.DOTALL).group(1)
    assert "lrsched plot" in first_command
    assert lrsched.__version__  # the README's example imports the installed package


# Public names rendered from the module that defines them (the public module re-exports
# them, or, for lrsched.adapters.keras.range_test, loads it on first use).
RENDERED_AS = {
    "lrsched.plot": "lrsched._plot.plot",
    "lrsched.adapters.torch.range_test": "lrsched.adapters._range_test_torch.range_test",
    "lrsched.adapters.keras.range_test": "lrsched.adapters._range_test_keras.range_test",
}


def _all_of(module: str) -> list[str]:
    """A module's ``__all__``, read from its source (importing the Keras adapter would fix
    the Keras backend for the whole session)."""
    import importlib.util

    source = Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{module} has no __all__")


def test_the_api_reference_renders_every_public_name():
    rendered = set()
    for page in DOCS.rglob("*.md"):
        rendered.update(
            re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), re.MULTILINE)
        )
    public = [f"lrsched.{name}" for name in lrsched.__all__]
    public += [f"lrsched.testing.{name}" for name in _all_of("lrsched.testing")]
    public += [f"lrsched.validation.{name}" for name in _all_of("lrsched.validation")]
    # The strategies module is rendered whole, with every name of its __all__.
    assert "lrsched.testing.strategies" in rendered
    for module in ("lrsched.adapters.torch", "lrsched.adapters.keras"):
        public += [f"{module}.{name}" for name in _all_of(module)]
    public.append("lrsched.adapters.keras.range_test")
    missing = [name for name in public if RENDERED_AS.get(name, name) not in rendered]
    assert not missing, f"not in the API reference: {missing}"


def test_home_page_code_lines_fit_the_content_column():
    # At a 1280 px wide window the theme's content column shows 72 characters of code
    # (measured on a headless Chromium screenshot); longer lines are cut off behind a
    # scroll bar on the first page a reader sees.
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    for block in re.findall(r"^```\w*[^\n]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        for line in block.splitlines():
            assert len(line) <= 72, line

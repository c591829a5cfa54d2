"""Every ```python block in docs/**/*.md and README.md runs, page by page, under Agg.

A page's blocks run in order in one namespace, so a later block may use what an earlier
one built, as a reader following the page would. The only blocks left out are those
whose fence says so explicitly (```python no-run), and no page of ours uses that.
The gallery script renders into a temporary directory, and every family has a page
with a picture, so a new family cannot go undocumented.
"""

from __future__ import annotations

import re
import runpy
import traceback
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import lrsched  # noqa: E402
from lrsched._registry import families  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The recipe pages need Lightning and transformers and start processes: they run in the
# framework suite (tests/test_docs_recipes.py, pytest -m frameworks).
PAGES = sorted([ROOT / "README.md", *(page for page in DOCS.rglob("*.md")
                                      if page.parent != DOCS / "recipes")])
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```",
                   re.DOTALL | re.MULTILINE)
# Families documented on the composition page rather than on a page of their own.
ON_COMPOSITION_PAGE = {"sequence", "warmup", "product", "clip", "shift", "per_epoch",
                       "cycle_momentum"}


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, code) of each runnable python block of a Markdown page."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        if "no-run" in match.group("info"):
            continue
        indent = len(match.group("indent"))
        code = "\n".join(line[indent:] for line in match.group("body").splitlines())
        blocks.append((text.count("\n", 0, match.start()) + 2, code))
    return blocks


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=page_id)
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    namespace = {"__name__": f"docs_example_{page.stem}"}
    try:
        for line, code in python_blocks(page):
            try:
                exec(compile(code, f"{page_id(page)}:{line}", "exec", dont_inherit=True), namespace)
            except Exception as error:
                inside = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
                          if frame.filename == f"{page_id(page)}:{line}"]
                where = line + inside[-1] - 1 if inside else line
                raise AssertionError(f"the example at {page_id(page)} line {where} failed: "
                                     f"{type(error).__name__}: {error}") from error
    finally:
        plt.close("all")


def test_the_extraction_finds_blocks_and_skips_no_run(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\nx = 1\n```\n\n```python no-run\nboom()\n```\n\n"
                    "- item\n\n    ```python\n    y = 2\n    ```\n")
    assert python_blocks(page) == [(4, "x = 1"), (14, "y = 2")]


def test_every_family_has_a_page_with_its_picture():
    for name in families():
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

"""What a user installing the package sees: one version everywhere, the right names.

The version checks run wherever lrsched is installed (the checkout or CI's wheel); the
checks of pyproject.toml, the README, the docs and mkdocs.yml need the checkout's files,
which CI copies beside the tests when it tests the installed wheel.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lrsched

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "lrsched-numpy"


def _distributions_of_lrsched() -> list[str]:
    return sorted(set(importlib.metadata.packages_distributions().get("lrsched", [])))


def test_version_is_the_installed_metadata_version():
    names = _distributions_of_lrsched()
    assert names, "no installed distribution provides the lrsched package"
    for name in names:
        assert importlib.metadata.version(name) == lrsched.__version__, name


def test_version_option_prints_the_same_version():
    done = subprocess.run(
        [sys.executable, "-m", "lrsched.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == f"lrsched {lrsched.__version__}\n"
    command = shutil.which("lrsched", path=str(Path(sys.executable).parent))
    if command is not None:  # the console script of this environment
        done = subprocess.run([command, "--version"], capture_output=True, text=True)
        assert done.stdout == f"lrsched {lrsched.__version__}\n"


def test_the_wheel_ships_the_type_marker():
    assert (Path(lrsched.__file__).parent / "py.typed").is_file()


needs_checkout = pytest.mark.skipif(
    not (ROOT / "pyproject.toml").is_file(), reason="needs the checkout's pyproject.toml"
)


@needs_checkout
def test_pyproject_names_the_free_distribution_and_reads_the_version_from_the_package():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == DISTRIBUTION
    assert project["project"]["dynamic"] == ["version"]
    assert "version" not in project["project"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "lrsched.__version__"}
    # setuptools reads the attribute without importing lrsched (building needs no numpy),
    # which works only while it is a plain string literal.
    source = Path(lrsched.__file__).read_text(encoding="utf-8")
    assert re.search(r'^__version__ = "[0-9][^"]*"$', source, re.MULTILINE)
    assert f"{DISTRIBUTION}[" in project["project"]["optional-dependencies"]["all"][0]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert f"## {lrsched.__version__}" in (ROOT / "CHANGELOG.md").read_text()


PIP_INSTALL = re.compile(r"pip install ([^`\n&;#]*)")


def _install_lines() -> list[tuple[str, str]]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found = []
    for page in pages:
        for match in PIP_INSTALL.finditer(page.read_text(encoding="utf-8")):
            found.append((str(page.relative_to(ROOT)), match.group(1)))
    return found


@needs_checkout
def test_every_install_line_names_the_distribution_not_the_other_project():
    lines = _install_lines()
    named = [(page, line) for page, line in lines if re.search(r"(^|[\s\"'])lrsched", line)]
    assert named, "the docs should show how to install from the package index"
    for page, line in named:
        packages = re.findall(r"[\"']?(lrsched[\w.-]*)", line)
        assert all(p == DISTRIBUTION for p in packages), (page, line)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"pip install {DISTRIBUTION}" in readme
    assert "the import name is `lrsched`" in readme


@needs_checkout
def test_the_docs_site_links_to_no_repository_that_is_not_ours():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for key in ("repo_url", "repo_name", "edit_uri"):
        assert not re.search(rf"^{key}\s*:", config, re.MULTILINE), key
    assert "github.com" not in config


@needs_checkout
def test_the_docs_site_loads_no_script_from_elsewhere():
    # MathJax comes from the site itself (docs/scripts/mathjax_assets.py); .ci/run checks
    # in a headless browser, with every other host unresolvable, that formulas typeset.
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert not re.search(r"^\s*-\s*(https?:)?//", config, re.MULTILINE)
    assert "javascripts/mathjax/tex-mml-chtml.js" in config
    assert "docs/scripts/mathjax_assets.py" in config

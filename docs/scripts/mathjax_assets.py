"""A MkDocs hook: the site serves MathJax itself, so formulas render without a network.

MathJax is not committed: at build time it is installed from the npm registry (``npm
install``, pinned below) into ``build/mathjax/``, unless ``LRSCHED_MATHJAX`` names an
``es5`` directory of MathJax 3 already on disk. The parts the pages use (the TeX input
with its autoloaded extensions, the CHTML output and its fonts, the menu) are added to the
site under ``javascripts/mathjax/``; ``tex-mml-chtml.js`` there loads the rest relative to
its own address, so no page asks a CDN for anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

MATHJAX = "mathjax@3.2.2"
ROOT = Path(__file__).resolve().parents[2]
TARGET = "javascripts/mathjax"
# What tex-mml-chtml.js loads (or may autoload) at run time; the speech engine, the SVG
# output and the other combined builds are left out.
PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "adaptors")


def _es5() -> Path:
    given = os.environ.get("LRSCHED_MATHJAX")
    if given:
        es5 = Path(given)
    else:
        prefix = ROOT / "build" / "mathjax"
        es5 = prefix / "node_modules" / "mathjax" / "es5"
        if not (es5 / "tex-mml-chtml.js").is_file():
            npm = shutil.which("npm")
            if npm is None:
                raise PluginError(
                    "the docs serve MathJax themselves: install npm, or set "
                    "LRSCHED_MATHJAX to the es5 directory of MathJax 3"
                )
            prefix.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(prefix),
                    "--no-save",
                    "--no-package-lock",
                    "--no-audit",
                    "--no-fund",
                    MATHJAX,
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise PluginError(f"npm install {MATHJAX} failed: {done.stderr.strip()}")
    if not (es5 / "tex-mml-chtml.js").is_file():
        raise PluginError(f"no MathJax 3 es5 build at {es5} (tex-mml-chtml.js is missing)")
    return es5


def on_files(files, config, **kwargs):
    es5 = _es5()
    for part in PARTS:
        path = es5 / part
        sources = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for source in sources:
            uri = f"{TARGET}/{source.relative_to(es5).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(source)))
    return files

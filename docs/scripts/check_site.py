"""Check the built site in a real browser: formulas typeset offline, nothing from a CDN.

Usage: ``python docs/scripts/check_site.py SITE_DIR [--screenshot OUT.png]``

Serves SITE_DIR on 127.0.0.1 and opens pages with math in headless Chromium, where every
host but 127.0.0.1 is unresolvable, so a page that needed a CDN would show raw TeX. Then
reads the rendered DOM: each page must hold typeset MathJax output (``mjx-container``
elements) and no TeX left untypeset, and the server must have served MathJax's script and
fonts itself. ``--screenshot`` also saves the home page at 1280 px wide, for a person to
look at. Exits 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import functools
import html
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

# Pages with inline and display formulas, from docstrings and from Markdown.
PAGES = ("families/cosine/", "families/one_cycle/", "api/")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
# External addresses a page must never load from.
EXTERNAL = re.compile(
    r"""(?:src|href)=["'](?:https?:)?//(?!127\.0\.0\.1)[^"']+\.(?:js|css|woff2?)"""
)


class _Handler(SimpleHTTPRequestHandler):
    served: ClassVar[list[str]] = []  # every path asked for, across the requests

    def log_message(self, format, *args):
        self.served.append(self.path)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("check_site: no chromium found (apt-get install chromium)")


def _run(browser: str, profile: str, *args: str) -> str:
    done = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        sys.exit(f"check_site: chromium failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def check(site: Path, screenshot: Path | None) -> list[str]:
    problems = []
    for page in sorted(site.rglob("*.html")):
        for match in EXTERNAL.finditer(page.read_text(encoding="utf-8")):
            problems.append(f"{page.relative_to(site)} loads {match.group(0)}")
    handler = functools.partial(_Handler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    browser = _chromium()
    try:
        with tempfile.TemporaryDirectory() as profile:
            for page in PAGES:
                dom = _run(
                    browser, profile, "--virtual-time-budget=20000", "--dump-dom", base + page
                )
                typeset = dom.count("<mjx-container")
                raw = [
                    m
                    for m in re.findall(r'<span class="arithmatex">(.*?)</span>', dom)
                    if "mjx-container" not in m
                ]
                if typeset == 0:
                    problems.append(f"{page}: no typeset math (no mjx-container element)")
                if raw:
                    problems.append(
                        f"{page}: {len(raw)} formula(s) left as TeX, e.g. "
                        f"{html.unescape(raw[0])[:80]!r}"
                    )
                print(f"check_site: {page}: {typeset} typeset formulas")
            if screenshot is not None:
                _run(
                    browser,
                    profile,
                    "--window-size=1280,2400",
                    "--hide-scrollbars",
                    "--virtual-time-budget=20000",
                    f"--screenshot={screenshot}",
                    base,
                )
                print(f"check_site: home page at 1280 px: {screenshot}")
    finally:
        server.shutdown()
    served = _Handler.served
    for asset in (
        "/javascripts/mathjax/tex-mml-chtml.js",
        "/javascripts/mathjax/output/chtml/fonts/",
    ):
        if not any(path.startswith(asset) for path in served):
            problems.append(f"the site did not serve {asset} (MathJax must come from the site)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    problems = check(args.site.resolve(), args.screenshot)
    for problem in problems:
        print(f"check_site: {problem}")
    if not problems:
        print("check_site: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Type-check lrsched/ and adapters/ with mypy as one package, laid out as the wheel has it.

    pip install -e ".[lint]" && python ci/typecheck.py [mypy options]

The wheel maps the adapters/ folder to ``lrsched.adapters`` (pyproject's package-dir);
mypy finds a module by its path, so it checks a tree of links in the wheel's layout:
``lrsched/`` whose entries link to the source, with ``adapters/`` linked in as
``lrsched/adapters``. The options are pyproject's ``[tool.mypy]``; the messages name the
source files (``adapters/torch.py``, not the link).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Inside mypy's cache folder (ignored by git), at the same place every run, so the cache
# stays valid between runs.
LAYOUT = ROOT / ".mypy_cache" / "layout"


def link_tree() -> Path:
    """``LAYOUT/lrsched``: links to lrsched/'s entries and to adapters/ as its adapters."""
    package = LAYOUT / "lrsched"
    package.mkdir(parents=True, exist_ok=True)
    entries = {
        entry.name: entry
        for entry in (ROOT / "lrsched").iterdir()
        if entry.name not in ("adapters", "__pycache__")
    }
    entries["adapters"] = ROOT / "adapters"
    for existing in package.iterdir():
        if existing.name not in entries or existing.resolve() != entries[existing.name]:
            existing.unlink()
    for name, target in entries.items():
        if not (package / name).is_symlink():
            (package / name).symlink_to(target, target_is_directory=target.is_dir())
    return package


def main(argv: list[str]) -> int:
    from mypy import api

    package = link_tree()
    os.chdir(LAYOUT)
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *argv,
            package.name,
        ]
    )
    # The messages name files as in the repository: lrsched/adapters/x.py is adapters/x.py.
    sys.stdout.write(re.sub(r"(?m)^lrsched/adapters/", "adapters/", stdout))
    sys.stderr.write(stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

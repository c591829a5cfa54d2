"""Section 4: the cost of ``import lrsched`` against ``import numpy``, in fresh interpreters.

Each round starts one interpreter per candidate (alternating) and times the import
statement inside it, so interpreter start-up is excluded and caches are equally warm.
``import lrsched`` includes importing numpy. The same run lists the heavy frameworks that
``import lrsched`` must not pull in.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

_PROBE = r"""
import sys, time, json
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
heavy = sorted(m for m in ("torch", "jax", "keras", "tensorflow", "matplotlib", "optax")
               if m in sys.modules)
print(json.dumps({{"seconds": elapsed, "heavy": heavy}}))
"""


def _probe(module: str) -> dict:
    # Bytecode caching on, as in an installed package (numpy's site-packages files are
    # compiled already; with PYTHONDONTWRITEBYTECODE set lrsched would be compiled from
    # source at every import, which is not what users pay).
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    output = subprocess.run([sys.executable, "-c", _PROBE.format(module=module)],
                            check=True, capture_output=True, text=True, env=environment).stdout
    return json.loads(output)


def run(config, log) -> list[dict]:
    times = {"lrsched": [], "numpy": []}
    heavy = set()
    _probe("lrsched")  # writes lrsched's bytecode cache, as installing it would
    for round_index in range(config.import_repeats):
        order = ["lrsched", "numpy"] if round_index % 2 == 0 else ["numpy", "lrsched"]
        for module in order:
            result = _probe(module)
            times[module].append(result["seconds"])
            if module == "lrsched":
                heavy.update(result["heavy"])
    per_round = [a / b for a, b in zip(times["lrsched"], times["numpy"])]
    median = statistics.median(per_round)
    log(f"  import lrsched / import numpy = {median:.2f}")
    return [
        {"section": "import", "family": "-", "measure": "import lrsched / import numpy",
         "median": median, "low": min(per_round), "high": max(per_round),
         "rounds": len(per_round), "target": "<= 1.3", "pass": median <= 1.3,
         "numpy_ms": 1e3 * statistics.median(times["numpy"])},
        {"section": "import", "family": "-", "measure": "frameworks imported by import lrsched",
         "median": float(len(heavy)), "note": ", ".join(sorted(heavy)) or "none",
         "target": "0", "pass": not heavy},
    ]

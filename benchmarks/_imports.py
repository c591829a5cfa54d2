"""Section 4: the cost of ``import lrsched`` against ``import numpy``, in fresh interpreters.

Each round starts one interpreter per candidate (in a rotating order) and times the
candidate's statements inside it, so interpreter start-up is excluded and caches are
equally warm. ``import lrsched`` includes importing numpy. It loads the families on first
use, so two context rows say what a user pays then: the first schedule built and
evaluated (one family module), and the first config read (every family). The same run
lists the heavy frameworks that ``import lrsched`` must not pull in.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

# Candidate -> the statements timed; each ratio below is against "numpy" in the same round.
_CANDIDATES = {
    "numpy": "import numpy",
    "lrsched": "import lrsched",
    "first schedule": "import lrsched; lrsched.cosine(0.1, 100)(50)",
    "every family": "import lrsched; lrsched.from_config({'type': 'constant', 'lr': 0.1})",
}
_MEASURES = {
    "lrsched": "import lrsched / import numpy",
    "first schedule": "import lrsched + first schedule / import numpy",
    "every family": "import lrsched + every family loaded / import numpy",
}

_PROBE = r"""
import sys, time, json
start = time.perf_counter()
{statements}
elapsed = time.perf_counter() - start
heavy = sorted(m for m in ("torch", "jax", "keras", "tensorflow", "matplotlib", "optax")
               if m in sys.modules)
print(json.dumps({{"seconds": elapsed, "heavy": heavy}}))
"""


def _probe(statements: str) -> dict:
    # Bytecode caching on, as in an installed package (numpy's site-packages files are
    # compiled already; with PYTHONDONTWRITEBYTECODE set lrsched would be compiled from
    # source at every import, which is not what users pay).
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    output = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statements=statements)],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
    ).stdout
    return json.loads(output)


def run(config, log) -> list[dict]:
    names = list(_CANDIDATES)
    times = {name: [] for name in names}
    heavy = set()
    _probe(_CANDIDATES["every family"])  # writes every module's bytecode, as installing would
    for round_index in range(config.import_repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            result = _probe(_CANDIDATES[name])
            times[name].append(result["seconds"])
            if name == "lrsched":
                heavy.update(result["heavy"])
    rows = []
    for name, measure in _MEASURES.items():
        per_round = [a / b for a, b in zip(times[name], times["numpy"])]
        median = statistics.median(per_round)
        log(f"  {measure} = {median:.2f}")
        rows.append(
            {
                "section": "import",
                "family": "-",
                "measure": measure,
                "median": median,
                "low": min(per_round),
                "high": max(per_round),
                "rounds": len(per_round),
            }
        )
    # The target is on the import alone; the rows after it are context.
    rows[0].update(target="<= 1.3", numpy_ms=1e3 * statistics.median(times["numpy"]))
    rows[0]["pass"] = rows[0]["median"] <= 1.3
    rows.append(
        {
            "section": "import",
            "family": "-",
            "measure": "frameworks imported by import lrsched",
            "median": float(len(heavy)),
            "note": ", ".join(sorted(heavy)) or "none",
            "target": "0",
            "pass": not heavy,
        }
    )
    return rows

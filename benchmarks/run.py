"""lrsched benchmark suite: one command, a printed table, a JSON file.

    python benchmarks/run.py            # full run (~10 minutes on 2 cores)
    python benchmarks/run.py --quick    # smaller sizes and fewer rounds (~1-2 minutes)
    python benchmarks/run.py --only trajectory,import --families cosine,step

Sections: trajectory (whole trajectories vs floors, torch, optax, Keras), scaling (cost vs
n, log-log plot), memory (tracemalloc peak), adapters (ScheduleLR and KerasSchedule
overhead per step), import (import lrsched vs import numpy). Every figure is a ratio of
timings taken side by side in this run: the median over interleaved rounds, with the
lowest and highest round as its spread. ``--docs`` also rewrites the generated part of
docs/benchmarks.md and docs/images/bench_scaling.png. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

SECTIONS = ("trajectory", "scaling", "memory", "adapters", "import")


@dataclass
class Config:
    sizes: list = field(default_factory=lambda: [10**4, 10**5, 10**6, 10**7])
    repeats: int = 5
    min_seconds: float = 0.05
    torch_limit: int = 10**5
    loop_limit: int = 2000
    # Keras's eager ops on 10^7-step float32 vectors take seconds and gigabytes each call.
    keras_vector_limit: int = 10**6
    scaling_sizes: list = field(
        default_factory=lambda: [round(10 ** (e / 2)) for e in range(6, 15)]
    )
    torch_scaling_limit: int = 10**6
    compile_scaling_limit: int = 10**7
    memory_size: int = 10**7
    adapter_steps: int = 2000
    import_repeats: int = 10
    keras_fit_batches: int = 100
    keras_fit_epochs: int = 2
    family_names: list | None = None

    def families(self, all_families):
        if self.family_names is None:
            return list(all_families)
        return [f for f in all_families if f.name in self.family_names]


QUICK = dict(
    sizes=[10**4, 10**5, 10**6],
    repeats=3,
    min_seconds=0.02,
    torch_limit=10**4,
    loop_limit=10**3,
    scaling_sizes=[10**3, 10**4, 10**5, 10**6, 10**7],
    torch_scaling_limit=10**5,
    compile_scaling_limit=10**6,
    memory_size=10**6,
    adapter_steps=1000,
    import_repeats=6,
    keras_fit_batches=50,
)


def keras_job(job: dict, log) -> list[dict]:
    """Run a Keras job in its own interpreter (KERAS_BACKEND=jax, no x64)."""
    environment = dict(os.environ, KERAS_BACKEND="jax")
    environment.pop("JAX_ENABLE_X64", None)
    completed = subprocess.run(
        [sys.executable, os.path.join(HERE, "_keras_worker.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=environment,
    )
    for line in completed.stderr.splitlines():
        if line.startswith("  keras"):
            log(line)
    if completed.returncode != 0:
        log(f"  keras {job['job']} failed:\n{completed.stderr[-2000:]}")
        return [
            {
                "section": "adapters" if job["job"] == "fit" else "trajectory",
                "family": "-",
                "measure": f"keras {job['job']}",
                "median": None,
                "note": "Keras worker failed: " + completed.stderr.strip().splitlines()[-1]
                if completed.stderr.strip()
                else "Keras worker failed",
            }
        ]
    return json.loads(completed.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, ~1-2 minutes")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections out of {','.join(SECTIONS)}",
    )
    parser.add_argument(
        "--families", default=None, help="comma-separated family names (default: all)"
    )
    parser.add_argument(
        "--sizes", default=None, help="comma-separated trajectory sizes, e.g. 10000,10000000"
    )
    parser.add_argument("--repeats", type=int, default=None, help="rounds per measurement")
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/)")
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also rewrite docs/benchmarks.md's tables and the scaling plot",
    )
    args = parser.parse_args(argv)

    config = Config(**QUICK) if args.quick else Config()
    if args.families:
        config.family_names = args.families.split(",")
    if args.sizes:
        config.sizes = [int(float(size)) for size in args.sizes.split(",")]
    if args.repeats:
        config.repeats = args.repeats
    sections = args.only.split(",")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    import _report

    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()
    rows: list[dict] = []
    curves: dict = {}
    if "trajectory" in sections:
        import _trajectory

        log("trajectory: lrsched vs floors, torch, optax")
        rows += _trajectory.run(config, log)
        log("trajectory: Keras (separate interpreter)")
        names = [f.name for f in config.families(__import__("_families").FAMILIES)]
        rows += keras_job(
            {
                "job": "trajectory",
                "sizes": config.sizes,
                "families": names,
                "repeats": config.repeats,
                "min_seconds": config.min_seconds,
                "loop_limit": config.loop_limit,
                "vector_limit": config.keras_vector_limit,
            },
            log,
        )
    if "scaling" in sections:
        import _scaling

        log("scaling: cost vs n")
        scaling_rows, curves = _scaling.scaling(config, log)
        rows += scaling_rows
    if "memory" in sections:
        import _scaling

        log("memory: tracemalloc peak")
        rows += _scaling.memory(config, log)
    if "adapters" in sections:
        import _adapters

        log("adapters: torch ScheduleLR")
        rows += _adapters.torch_rows(config, log)
        log("adapters: Keras fit (separate interpreter)")
        rows += keras_job(
            {
                "job": "fit",
                "batches": config.keras_fit_batches,
                "epochs": config.keras_fit_epochs,
                "repeats": config.repeats,
            },
            log,
        )
    if "import" in sections:
        import _imports

        log("import: lrsched vs numpy")
        rows += _imports.run(config, log)

    finished = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    payload = {
        "command": command.strip(),
        "finished": finished,
        "seconds": time.perf_counter() - started,
        "machine": _report.machine(),
        "config": asdict(config),
        "sections": sections,
        "rows": rows,
        "curves": curves,
    }
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or os.path.join(HERE, "results", f"bench-{stamp}.json")
    _report.write_json(out, payload)
    print(_report.table(rows))
    print("\nTargets:\n" + _report.targets(rows))
    if curves:
        image = os.path.join(HERE, "results", "bench_scaling.png")
        title = f"cosine trajectory cost vs n ({payload['machine']['cpu']})"
        _report.plot(curves, image, title)
        if args.docs:
            _report.plot(curves, os.path.join(ROOT, "docs", "images", "bench_scaling.png"), title)
    if args.docs:
        _report.update_docs(
            os.path.join(ROOT, "docs", "benchmarks.md"), _report.markdown(rows, payload)
        )
    print(f"\nJSON: {os.path.relpath(out)}  ({payload['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

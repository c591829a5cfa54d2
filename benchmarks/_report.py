"""Printing, JSON, the scaling plot and the docs page's generated part."""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from importlib import metadata

_VERSIONS = ("numpy", "torch", "jax", "optax", "keras", "matplotlib")


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name in ("lrsched", *_VERSIONS):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions,
    }


def _figure(row: dict) -> str:
    value = row.get("median")
    if value is None:
        return "n/a"
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if "low" in row and row.get("unit") != "s":
        text += f" [{row['low']:.3g}-{row['high']:.3g}]"
    elif row.get("unit") == "s":
        text = f"{1e3 * value:.3g} ms"
    return text


def _verdict(row: dict) -> str:
    if row.get("pass") is None:
        return ""
    return "ok" if row["pass"] else "MISSED"


def table(rows: list[dict]) -> str:
    """The plain-text table printed at the end of a run."""
    lines = []
    header = (
        f"{'section':<10} {'family':<18} {'n':>10}  {'measure':<52} {'median [spread]':<26} target"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for row in rows:
        target = row.get("target") or ""
        verdict = _verdict(row)
        note = f"  ({row['note']})" if row.get("note") else ""
        lines.append(
            f"{row['section']:<10} {row['family']:<18} {row.get('n', '')!s:>10}  "
            f"{row['measure']:<52} {_figure(row):<26} {target} {verdict}{note}"
        )
    return "\n".join(lines)


def targets(rows: list[dict]) -> str:
    """Only the rows that carry a target, with their verdict."""
    picked = [row for row in rows if row.get("target")]
    if not picked:
        return "(no targets in the selected sections and sizes)"
    return "\n".join(
        f"{_verdict(row) or '--':<6} {row['section']:<10} {row['family']:<18} "
        f"n={row.get('n', '-')!s:<8} {row['measure']}: {_figure(row)} (target {row['target']})"
        for row in picked
    )


def write_json(path: str, payload: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(payload, handle, indent=1, default=str)


_LABELS = {
    "lrsched": "lrsched (numpy, float64)",
    "np.cos": "floor: np.cos on float64",
    "torch loop": "torch CosineAnnealingLR, stepped",
    "optax jit(vmap)": "optax jit(vmap), x64, compiled",
    "optax jit(vmap)+compile": "optax jit(vmap), x64, incl. compile",
}


def plot(curves: dict, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, points in curves.items():
        sizes = sorted(points)
        axes.loglog(sizes, [points[n] for n in sizes], marker="o", label=_LABELS.get(name, name))
    axes.set_xlabel("steps in the trajectory (n)")
    axes.set_ylabel("seconds for the whole trajectory (median)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(rows: list[dict], payload: dict) -> str:
    """The generated part of docs/benchmarks.md: machine, command, targets and tables."""
    info = payload["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    out = [
        f"Measured {payload['finished']} with `{payload['command']}` on "
        f"{info['cpu']} ({info['cores']} cores, shared), Python {info['python']}, "
        f"{info['platform']}; {versions}.",
        "",
    ]
    out += [
        "### Targets",
        "",
        "| | section | family | n | measure | median [spread] | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.get("target"):
            out.append(
                f"| {_verdict(row)} | {row['section']} | {row['family']} | "
                f"{row.get('n', '')} | {row['measure']} | {_figure(row)} | "
                f"{row['target']} |"
            )
    sections = {}
    for row in rows:
        sections.setdefault(row["section"], []).append(row)
    for section, section_rows in sections.items():
        out += [
            "",
            f"### {section}",
            "",
            "| family | n | measure | median [spread] | note |",
            "|---|---|---|---|---|",
        ]
        for row in section_rows:
            if row.get("unit") == "s":
                continue
            out.append(
                f"| {row['family']} | {row.get('n', '')} | {row['measure']} | "
                f"{_figure(row)} | {row.get('note', '')} |"
            )
    return "\n".join(out)


def update_docs(page: str, generated: str, marker: str = "bench") -> None:
    """Replace the block between ``<!-- marker:start -->`` and ``<!-- marker:end -->``."""
    with open(page) as handle:
        text = handle.read()
    pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(\n<!-- {marker}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{page} has no <!-- {marker}:start --> ... <!-- {marker}:end --> block")
    with open(page, "w") as handle:
        handle.write(pattern.sub(lambda m: m.group(1) + generated + m.group(2), text))

"""Shared pieces of the benchmarks: result rows, the printed table, JSON output.

Every benchmark module exposes ``run(*, smoke: bool) -> list[Row]``. ``smoke`` is the
seconds-long variant CI runs to check the benchmark still works; its figures are not targets.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR") or Path(__file__).resolve().parent / "results")


@dataclass
class Row:
    bench: str
    metric: str
    value: float | int | str
    unit: str = ""
    target: str = ""  # e.g. "<= 50 ms"; empty = reported, no target
    met: bool | None = None  # None when there is no target
    extra: dict = field(default_factory=dict)


def check(value: float, op: str, bound: float) -> bool:
    return {"<=": value <= bound, ">=": value >= bound, "<": value < bound, ">": value > bound}[op]


def target_row(bench: str, metric: str, value: float, unit: str, op: str, bound: float, **extra) -> Row:
    return Row(
        bench, metric, round(value, 4), unit, f"{op} {bound:g} {unit}".strip(), check(value, op, bound), extra
    )


def format_table(rows: list[Row]) -> str:
    header = ("benchmark", "metric", "value", "target", "met")
    lines = [
        (
            r.bench,
            r.metric,
            f"{r.value} {r.unit}".strip(),
            r.target or "-",
            "-" if r.met is None else ("yes" if r.met else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


def write_results(name: str, rows: list[Row], *, smoke: bool) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{name}-{'smoke-' if smoke else ''}{stamp}.json"
    payload = {
        "name": name,
        "smoke": smoke,
        "created": stamp,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "rows": [asdict(r) for r in rows],
    }
    path.write_text(json.dumps(payload, indent=2))
    return path

"""Run the benchmarks: ``python -m bench [--smoke] [--only NAME,...]``.

Prints one table of every figure against its target and writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from bench.common import Row, format_table, write_results

BENCHES = ["webhook_ack", "ingest_capacity", "live_latency", "page_load", "whisper", "summaries", "notes"]
# Long (>= 3 min per step, up to BENCH_WHISPER_BUDGET_S): run only when named with --only.
ON_REQUEST = ["whisper_capacity"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="seconds-long run that only checks the benchmarks work"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset of: "
        + ", ".join(BENCHES + ON_REQUEST)
        + " (the last ones only when named)",
    )
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or BENCHES
    rows: list[Row] = []
    failed = []
    for name in names:
        started = time.perf_counter()
        print(f"== {name} ...", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            result = module.run(smoke=args.smoke)
        except Exception:  # report the broken benchmark, run the others
            traceback.print_exc()
            failed.append(name)
            rows.append(Row(name, "error", "failed", met=False))
            continue
        rows.extend(result)
        print(f"   {name}: {time.perf_counter() - started:.1f} s", flush=True)
    print()
    print(format_table(rows))
    path = write_results("bench", rows, smoke=args.smoke)
    print(f"\nresults: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

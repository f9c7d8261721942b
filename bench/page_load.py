"""Meeting page benchmark (issue 10, item 4): ``GET /meetings/<public_id>/`` with 5,000 segments.

A meeting with ``SEGMENTS`` Zoom transcript segments (4 speakers) is written through
``meetings.services``; Daphne serves the page to its logged-in owner (real session cookie).
Time = TCP connect to the last byte of the complete first-paint HTML (the page renders the
latest window of segments plus chat, timeline and panels), on a fresh connection each time:
the first (cold) request and the median / max of ``REPEATS`` more. Embedded (SQLite) and scaled
(PostgreSQL) modes. Target: median <= 500 ms.
"""

from __future__ import annotations

import asyncio
import statistics

from bench.common import Row, target_row
from bench.harness import Product, http_request, scaled_available

NAME = "page_load"
SEGMENTS, SMOKE_SEGMENTS = 5000, 200
REPEATS, SMOKE_REPEATS = 9, 3
TARGET_MS = 500.0


async def _get(product: Product, path: str, session: str, repeats: int) -> tuple[list[float], int, bytes]:
    headers = {"Cookie": f"sessionid={session}", "Accept": "text/html"}
    times, status, body = [], 0, b""
    for _ in range(repeats + 1):
        status, body, elapsed = await http_request("127.0.0.1", product.port, "GET", path, headers=headers)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        times.append(elapsed * 1000)
    return times, status, body


def run(*, smoke: bool) -> list[Row]:
    n = SMOKE_SEGMENTS if smoke else SEGMENTS
    repeats = SMOKE_REPEATS if smoke else REPEATS
    rows: list[Row] = []
    for mode in ["embedded"] if smoke else ["embedded", "scaled"]:
        bench = f"{NAME}[{mode}]"
        if mode == "scaled" and (why := scaled_available()):
            rows.append(Row(bench, "skipped", why))
            continue
        with Product(NAME, scaled=mode == "scaled") as product:
            session = product.db("user", username="reader")["session"]
            meeting = product.db("seed", username="reader", segments=n)
            product.start_web()
            path = f"/meetings/{meeting['public_id']}/"
            times, _, body = asyncio.run(_get(product, path, session, repeats))
        last_text = f"Segment {n - 1}:".encode()
        warm = times[1:]
        rows += [
            Row(
                bench,
                f"page with {n} segments renders the latest",
                "yes" if last_text in body else "no",
                target="yes",
                met=last_text in body,
                extra={"bytes": len(body)},
            ),
            Row(bench, "first request (cold)", round(times[0], 1), "ms"),
            target_row(
                bench,
                f"median of {repeats}",
                round(statistics.median(warm), 1),
                "ms",
                "<=",
                TARGET_MS,
                max_ms=round(max(warm), 1),
            ),
        ]
    return rows

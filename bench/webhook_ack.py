"""Webhook ack benchmark (issue 10, item 3): a burst of signed ``meeting.rtms_started`` webhooks.

The product runs as deployed (Daphne; scaled mode adds one ``rtms_worker``, PostgreSQL and
Redis), the RTMS emulator registers ``BURST`` streams and the benchmark POSTs all their signed
``rtms_started`` webhooks at once, each on its own connection, timing connect → full response.
Then it waits until every stream is connected (the emulator saw the signaling + media handshakes
and CLIENT_READY_ACK). ``RTMS_WORKER_MAX_STREAMS`` is raised above the burst (default 50): one
process holds all the streams. Target: ack p99 <= 50 ms, every stream connected.

"web process CPU per webhook" is the web process's CPU time (``/proc``, all threads) from the
burst's start to its last answer, divided by the burst size: the service time *s* that bounds
the burst's p99 at about ``BURST * s`` on one process (embedded mode: the supervisor applying
the first events runs in that process too).

``python -m bench --only webhook_ack [--smoke]``.
"""

from __future__ import annotations

import asyncio
import time

from bench.common import Row, target_row
from bench.harness import (
    OPERATOR_ID,
    WEBHOOK_SECRET,
    Product,
    cpu_seconds,
    emulator_config,
    http_request,
    percentile,
    scaled_available,
)

NAME = "webhook_ack"
BURST, SMOKE_BURST = 200, 10
SINGLES = 10
ACK_P99_TARGET_MS = 50.0
CONNECT_TIMEOUT_S = 60.0


def _idle_scenario():
    """One silent participant (no audio packets, no transcript): the streams only connect."""
    from rtms_emulator.scenario import FIRST_USER_ID, Participant, Scenario

    return Scenario(
        name="bench_idle",
        participants=(Participant(key="p01", user_id=FIRST_USER_ID, user_name="Idle"),),
        transcript=(),
        duration=120.0,
    )


async def _burst(product: Product, n: int, web_pid: int) -> dict:
    from rtms_emulator import Emulator
    from rtms_emulator.webhook import signed_headers, webhook_body

    scenario = _idle_scenario()
    async with Emulator(emulator_config(connect_timeout=CONNECT_TIMEOUT_S + 10)) as emu:
        # One at a time first: the service time of one webhook, no queueing.
        singles = [await emu.play(scenario, webhook_url=None, speed=1.0) for _ in range(SINGLES)]
        single_ms = []
        for run in singles:
            body = webhook_body("meeting.rtms_started", run.join_params() | {"operator_id": OPERATOR_ID})
            headers = signed_headers(secret_token=WEBHOOK_SECRET, body=body) | {
                "Content-Type": "application/json"
            }
            _, _, elapsed = await http_request(
                "127.0.0.1", product.port, "POST", "/webhooks/zoom/", body=body, headers=headers
            )
            single_ms.append(elapsed * 1000)
        await asyncio.gather(*(r.stop() for r in singles), return_exceptions=True)
        await asyncio.sleep(1.0)
        runs = [await emu.play(scenario, webhook_url=None, speed=1.0) for _ in range(n)]
        requests = []
        for run in runs:
            body = webhook_body(
                "meeting.rtms_started",
                run.join_params() | {"operator_id": OPERATOR_ID, "meeting_id": 8_000_000},
            )
            headers = signed_headers(secret_token=WEBHOOK_SECRET, body=body) | {
                "Content-Type": "application/json"
            }
            requests.append((body, headers))
        cpu_before = cpu_seconds(web_pid)
        started = time.monotonic()
        results = await asyncio.gather(
            *(
                http_request("127.0.0.1", product.port, "POST", "/webhooks/zoom/", body=b, headers=h)
                for b, h in requests
            )
        )
        web_cpu_s = cpu_seconds(web_pid) - cpu_before  # the burst only (embedded: + supervisor)
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while time.monotonic() < deadline and not all(r.record.ready_acks for r in runs):  # noqa: ASYNC110 (the record has no event)
            await asyncio.sleep(0.05)
        all_connected_s = time.monotonic() - started
        connected = sum(1 for r in runs if r.record.ready_acks)
        await asyncio.gather(*(r.stop() for r in runs if not r.done), return_exceptions=True)
    statuses = [status for status, _, _ in results]
    return {
        "single_ms": single_ms,
        "ack_ms": [elapsed * 1000 for _, _, elapsed in results],
        "ok": sum(1 for s in statuses if s == 200),
        "statuses": sorted(set(statuses)),
        "connected": connected,
        "all_connected_s": all_connected_s,
        "web_cpu_ms_per_webhook": web_cpu_s * 1000 / n,
    }


def _rows(mode: str, n: int, result: dict) -> list[Row]:
    ack = result["ack_ms"]
    bench = f"{NAME}[{mode}]"
    return [
        Row(
            bench,
            "webhooks answered 200",
            f"{result['ok']}/{n}",
            target=f"{n}/{n}",
            met=result["ok"] == n,
            extra={"statuses": result["statuses"]},
        ),
        Row(
            bench,
            f"one webhook alone (median of {SINGLES})",
            round(percentile(result["single_ms"], 50), 1),
            "ms",
        ),
        Row(bench, "ack p50", round(percentile(ack, 50), 1), "ms"),
        Row(bench, "web process CPU per webhook (burst)", round(result["web_cpu_ms_per_webhook"], 2), "ms"),
        target_row(
            bench, "ack p99", percentile(ack, 99), "ms", "<=", ACK_P99_TARGET_MS, max_ms=round(max(ack), 1)
        ),
        Row(
            bench,
            "streams connected",
            f"{result['connected']}/{n}",
            target=f"{n}/{n}",
            met=result["connected"] == n,
        ),
        Row(bench, "burst -> all connected", round(result["all_connected_s"], 2), "s"),
    ]


def run(*, smoke: bool) -> list[Row]:
    n = SMOKE_BURST if smoke else BURST
    modes = ["embedded"] if smoke else ["embedded", "scaled"]
    rows: list[Row] = []
    for mode in modes:
        if mode == "scaled" and (why := scaled_available()):
            rows.append(Row(f"{NAME}[scaled]", "skipped", why))
            continue
        env = {"RTMS_WORKER_MAX_STREAMS": str(n + 50)}
        with Product(NAME, scaled=mode == "scaled", env=env) as product:
            web = product.start_web()
            if mode == "scaled":
                product.start_worker(max_streams=n + 50)
            result = asyncio.run(_burst(product, n, web.pid))
        rows += _rows(mode, n, result)
    return rows

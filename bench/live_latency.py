"""Live latency benchmark (issue 10, item 2): Zoom transcript frame → 100 browsers watching.

The product runs as deployed, embedded (Daphne does everything: SQLite, in-memory channel
layer) and scaled (Daphne serves the pages and WebSockets, one ``rtms_worker`` ingests;
PostgreSQL, Redis channel layer). The RTMS emulator plays a meeting in real time through the
signed webhook (two participants speaking continuously, a transcript utterance every 0.5 s with
a unique text); ``VIEWERS`` WebSocket clients, logged in with a real session cookie and the
page's Origin, watch ``/ws/meetings/<public_id>/`` as the meeting page's htmx socket does.

Latency of one utterance at one viewer = the time the viewer received the HTML fragment
containing its text minus the time the emulator sent the transcript frame (the emulator's
send is instrumented in this process; one machine, one clock). Only utterances sent after
every viewer connected count; every one must reach every viewer. Targets: p50 <= 20 ms,
p99 <= 100 ms. Also reported: CPU seconds of the server (and the worker, scaled) per utterance
over the whole play (audio and transcript ingest plus the fan-out).

Experiments: ``BENCH_LIVE_MODES=embedded`` (or ``scaled``) runs one mode;
``BENCH_LIVE_DUMP=<file.json>`` writes each utterance's send and first/median/last receive time;
``BENCH_LIVE_SECONDS=<s>`` the play length; ``BENCH_PROFILE_WEB=<file>`` /
``BENCH_PROFILE_WORKER=<file>`` run py-spy on Daphne / the worker (250 Hz, every thread, raw
collapsed stacks; the mode name is inserted before the extension).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path

from bench.common import Row, target_row
from bench.harness import (
    OPERATOR_ID,
    Product,
    cpu_seconds,
    emulator_config,
    load_scenario_continuous,
    percentile,
    scaled_available,
)

NAME = "live_latency"
VIEWERS, SMOKE_VIEWERS = 100, 5
SECONDS, SMOKE_SECONDS = 30.0, 10.0
P50_TARGET_MS, P99_TARGET_MS = 20.0, 100.0
TOKEN = re.compile(r"lat-utt-(\d+) ")


async def _viewer(url: str, headers: dict, origin: str, seen: dict[int, float], ready: asyncio.Event, stop):
    """One browser: receives until ``stop`` is set, noting the first arrival of every token.

    A plain receive loop (no ``wait_for`` task per message): with 100 viewers in this one
    process, the harness's own per-message cost would otherwise add to the measured latency."""
    from websockets.asyncio.client import connect

    async with connect(url, additional_headers=headers, origin=origin, max_size=None) as ws:
        ready.set()
        closer = asyncio.create_task(_close_on(stop, ws))
        try:
            async for raw in ws:
                now = time.time()
                for match in TOKEN.finditer(raw if isinstance(raw, str) else raw.decode()):
                    seen.setdefault(int(match.group(1)), now)
        finally:
            closer.cancel()


async def _close_on(stop: asyncio.Event, ws) -> None:
    await stop.wait()
    await ws.close()


def _profile(product: Product, pid: int, env_name: str, mode: str, seconds: float) -> None:
    """py-spy on ``pid`` for the play when ``env_name`` names an output file (see the docstring)."""
    target = os.environ.get(env_name, "")
    if not target:
        return
    path = Path(target)
    out = path.with_name(f"{path.stem}-{mode}{path.suffix}")
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    args = ["record", "--pid", str(pid), "-d", str(int(seconds)), "-r", "250", "-f", "raw", "-o", str(out)]
    product.spawn(f"py-spy-{env_name.lower()}", args, prefix=[py_spy])


async def _measure(
    product: Product, session: str, viewers: int, seconds: float, pids: dict[str, int]
) -> dict:
    from rtms_emulator import Emulator
    from rtms_emulator.player import Player
    from rtms_emulator.scenario import Utterance

    sent_at: dict[int, float] = {}
    original = Player.play_entry

    async def instrumented(self, item):  # the emulator's send time of each transcript frame
        if isinstance(item, Utterance):
            sent_at[int(TOKEN.search(item.text + " ").group(1))] = time.time()
        await original(self, item)

    Player.play_entry = instrumented
    try:
        scenario = load_scenario_continuous(participants=2, seconds=seconds, utterance_every=0.5, tag="lat")
        async with Emulator(emulator_config()) as emu:
            run = await emu.play(scenario, webhook_url=product.webhook_url, speed=1.0)
            meeting = await asyncio.to_thread(product.db, "meeting", zoom_uuid=run.meeting_uuid)
            url = f"ws://127.0.0.1:{product.port}/ws/meetings/{meeting['public_id']}/"
            headers = {"Cookie": f"sessionid={session}"}
            stop = asyncio.Event()
            seen = [{} for _ in range(viewers)]
            ready = [asyncio.Event() for _ in range(viewers)]
            tasks = [
                asyncio.create_task(_viewer(url, headers, product.base_url, seen[i], ready[i], stop))
                for i in range(viewers)
            ]
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 60)
            await asyncio.sleep(0.3)  # group_add after accept
            connected_at = time.time()
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            await run.wait(timeout=seconds + 60)
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            await asyncio.sleep(2.0)
            stop.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        Player.play_entry = original
    counted = [n for n, t in sent_at.items() if t > connected_at]
    latencies = [(s[n] - sent_at[n]) * 1000 for s in seen for n in counted if n in s]
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    per_utterance = {}  # n -> [sent, first, median, last receive] (epoch s)
    for n in counted:
        got = sorted(s[n] for s in seen if n in s)
        if got:
            per_utterance[n] = [sent_at[n], got[0], got[len(got) // 2], got[-1]]
    return {
        "latencies_ms": latencies,
        "expected": len(counted) * viewers,
        "delivered": len(latencies),
        "utterances": len(counted),
        "cpu_ms_per_utterance": {
            name: round(1000 * used / max(1, len(counted)), 1) for name, used in cpu.items()
        },
        "errors": errors[:3],
        "per_utterance": per_utterance,
    }


def run(*, smoke: bool) -> list[Row]:
    viewers = SMOKE_VIEWERS if smoke else VIEWERS
    seconds = float(os.environ.get("BENCH_LIVE_SECONDS", SMOKE_SECONDS if smoke else SECONDS))
    modes = ["embedded"] if smoke else ["embedded", "scaled"]
    if os.environ.get("BENCH_LIVE_MODES"):
        modes = [m for m in os.environ["BENCH_LIVE_MODES"].split(",") if m in ("embedded", "scaled")]
    rows: list[Row] = []
    for mode in modes:
        bench = f"{NAME}[{mode}]"
        if mode == "scaled" and (why := scaled_available()):
            rows.append(Row(bench, "skipped", why))
            continue
        with Product(NAME, scaled=mode == "scaled") as product:
            session = product.db("user", username="viewer", zoom_user_id=OPERATOR_ID)["session"]
            pids = {"daphne": product.start_web().pid}
            if mode == "scaled":
                pids["worker"] = product.start_worker().pid
                time.sleep(3.0)
                _profile(product, pids["worker"], "BENCH_PROFILE_WORKER", mode, seconds + 3)
            _profile(product, pids["daphne"], "BENCH_PROFILE_WEB", mode, seconds + 3)
            result = asyncio.run(_measure(product, session, viewers, seconds, pids))
        print(f"   {bench}: CPU ms per utterance {result['cpu_ms_per_utterance']}", flush=True)
        if os.environ.get("BENCH_LIVE_DUMP"):  # per-utterance send/receive times, for analysis
            Path(os.environ["BENCH_LIVE_DUMP"]).write_text(json.dumps(result["per_utterance"]))
        lat = result["latencies_ms"] or [float("inf")]
        rows += [
            Row(
                bench,
                "fragments delivered",
                f"{result['delivered']}/{result['expected']}",
                target=f"{result['expected']}/{result['expected']}",
                met=result["delivered"] == result["expected"] and result["expected"] > 0,
                extra={
                    "viewers": viewers,
                    "utterances": result["utterances"],
                    "cpu_ms_per_utterance": result["cpu_ms_per_utterance"],
                    "errors": result["errors"],
                },
            ),
            target_row(
                bench,
                f"transcript -> {viewers} viewers p50",
                round(percentile(lat, 50), 1),
                "ms",
                "<=",
                P50_TARGET_MS,
            ),
            target_row(
                bench,
                f"transcript -> {viewers} viewers p99",
                round(percentile(lat, 99), 1),
                "ms",
                "<=",
                P99_TARGET_MS,
                max_ms=round(max(lat), 1),
            ),
        ]
    return rows

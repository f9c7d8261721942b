"""Ingest capacity benchmark (issue 10, item 1): concurrent meetings into one ``rtms_worker``.

Setup (scaled mode, as deployed): Daphne takes the webhooks, one ``manage.py rtms_worker``
process holds every stream (PostgreSQL, Redis). The RTMS emulator (this process) plays N
concurrent meetings in real time through the signed webhook: 4 participants who all speak the
whole time (real recordings, so 4 per-participant audio streams per meeting at 50 frames/s) and
a Zoom transcript utterance every 2 s per meeting.

Each step plays N meetings for ``STEP_SECONDS`` and checks:

* **frames lost**: audio frames the emulator sent minus the frames the worker stored
  (``Stream.audio_frames``; client drops and buffer drops count as lost), and transcript
  utterances not stored;
* **ingest lag**: for every Zoom transcript utterance, the segment row's ``created_at`` minus
  the time the emulator sent it (its scheduled ``end_time``); for audio, the age of the newest
  stored frame (``now - Stream.last_frame_at``, sampled every 0.5 s, worst stream) minus the
  product's audio flush period (``RTMS_AUDIO_FLUSH_SECONDS``, read from the product's settings:
  the batching is by design). Lag = the larger
  p99 of the two. A step passes with 0 lost and lag < 1 s.

N doubles from ``START_N`` until a step fails, then bisects while the time budget lasts.

**Efficiency**: in the steady window of the step (every meeting streaming), audio frames sent /
the worker's CPU seconds (``/proc``, all threads): frames per CPU-second; /50 = concurrent
audio streams one core sustains. **Ceiling**: the same load (same N) read by
:mod:`bench.bare_client`, which only ``json.loads`` + base64-decodes each frame; the ratio is
worker / ceiling. Targets: >= 500 audio streams per core, >= 25 % of the ceiling.

The emulator's own CPU is reported: if it saturates a core, the load generator (not the worker)
is the limit and the step is marked so. ``BENCH_PROFILE_WORKER=<file.txt>`` runs the worker
under py-spy (every thread, collapsed stacks in that file; ``BENCH_PROFILE_GIL=1``: only
samples holding the GIL, i.e. Python CPU); ``BENCH_INGEST_N=<n>`` runs one step at that N
(no search), e.g. to profile.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Row, target_row
from bench.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    ROOT,
    Product,
    cpu_seconds,
    emulator_config,
    load_scenario_continuous,
    percentile,
    scaled_available,
)

NAME = "ingest_capacity"
PARTICIPANTS = 4
FRAMES_PER_STREAM_S = 50
STEP_SECONDS, SMOKE_STEP_SECONDS = 20.0, 8.0
START_N, SMOKE_N = 25, 1
BUDGET_S = 330.0
LAG_TARGET_S = 1.0
STREAMS_PER_CORE_TARGET = 500
CEILING_RATIO_TARGET = 0.25
UTTERANCE_EVERY = float(os.environ.get("BENCH_UTTERANCE_EVERY", "2.0"))  # s, per meeting


class AgeSampler:
    """Samples the age of the newest stored audio of the worst stream (ms), straight from the DB."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.samples: list[float] = []

    def sample(self, rtms_stream_ids: list[str]) -> None:
        now_ms = time.time() * 1000
        if self.product.scaled:
            import psycopg

            with psycopg.connect(self.product.env["DATABASE_URL"]) as conn:
                rows = conn.execute(
                    "SELECT last_frame_at FROM streams_stream WHERE rtms_stream_id = ANY(%s)",
                    (rtms_stream_ids,),
                ).fetchall()
            stamps = [r[0].timestamp() * 1000 for r in rows if r[0] is not None]
        else:
            import datetime as dt
            import sqlite3

            with sqlite3.connect(self.product.tmp / "db.sqlite3", timeout=5) as conn:
                marks = ",".join("?" * len(rtms_stream_ids))
                rows = conn.execute(
                    f"SELECT last_frame_at FROM streams_stream WHERE rtms_stream_id IN ({marks})",  # noqa: S608
                    rtms_stream_ids,
                ).fetchall()
            stamps = [
                dt.datetime.fromisoformat(r[0]).replace(tzinfo=dt.UTC).timestamp() * 1000
                for r in rows
                if r[0]
            ]
        if len(stamps) == len(rtms_stream_ids):
            self.samples.append(now_ms - min(stamps))


def _sent_frames(runs) -> int:
    return sum(sum(r.record.sent.audio_byte_counts.values()) for r in runs) // 640


async def _window(runs, seconds: float, pids: dict[str, int], sampler: AgeSampler | None, ids: list[str]):
    """Wait for every run's media to start, then measure the steady window."""
    deadline = time.monotonic() + 60
    while not all(r.record.first_packet_timestamp for r in runs):
        if time.monotonic() > deadline:
            raise RuntimeError("meetings did not start streaming within 60 s")
        await asyncio.sleep(0.1)
    t0s = [r.record.first_packet_timestamp / 1000 for r in runs]
    start, end = max(t0s) + 2.0, min(t0s) + seconds - 1.0
    await asyncio.sleep(max(0.0, start - time.time()))
    first = {"t": time.time(), "frames": _sent_frames(runs), "self_cpu": time.process_time()}
    first |= {name: cpu_seconds(pid) for name, pid in pids.items()}
    while time.time() < end:
        if sampler is not None:
            await asyncio.to_thread(sampler.sample, ids)
        await asyncio.sleep(0.5)
    last = {"t": time.time(), "frames": _sent_frames(runs), "self_cpu": time.process_time()}
    last |= {name: cpu_seconds(pid) for name, pid in pids.items()}
    return first, last


async def _step(emu, product: Product, ingest_pid: int, n: int, seconds: float) -> dict:
    scenario = load_scenario_continuous(
        participants=PARTICIPANTS, seconds=seconds, utterance_every=UTTERANCE_EVERY
    )
    runs = [await emu.play(scenario, webhook_url=product.webhook_url, speed=1.0) for _ in range(n)]
    ids = [r.rtms_stream_id for r in runs]
    sampler = AgeSampler(product)
    first, last = await _window(runs, seconds, {"ingest": ingest_pid}, sampler, ids)
    await asyncio.gather(*(r.wait(timeout=seconds + 120) for r in runs))
    deadline = time.monotonic() + 90
    while True:
        stored = await asyncio.to_thread(product.db, "streams", rtms_stream_ids=ids)
        open_ = [s for s in stored["streams"].values() if s["state"] not in ("stopped", "failed")]
        if not open_ or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    sent_frames = {r.rtms_stream_id: sum(r.record.sent.audio_byte_counts.values()) // 640 for r in runs}
    lost = sum(
        max(0, sent_frames[sid] - stored["streams"].get(sid, {}).get("audio_frames", 0)) for sid in ids
    )
    created = dict(stored["segments"])
    lags, missing = [], 0
    for r in runs:
        for c in r.record.sent.transcript:
            key = f"{r.rtms_stream_id}:{c['user_id']}:{c['start_time']}"
            if key in created:
                lags.append((created[key] - c["end_time"]) / 1000)
            else:
                missing += 1
    dt_s = last["t"] - first["t"]
    worker_cpu = last["ingest"] - first["ingest"]
    frames = last["frames"] - first["frames"]
    audio_backlog = [s / 1000 - product.flush_s for s in sampler.samples]
    lag = max(
        percentile(lags, 99) if lags else float("inf"),
        percentile(audio_backlog, 99) if audio_backlog else float("inf"),
    )
    emulator_cores = (last["self_cpu"] - first["self_cpu"]) / dt_s
    verdict_failures = sum(1 for r in runs if not r.record.verdict(require_keepalive_answers=False))
    result = {
        "n": n,
        "audio_streams": n * PARTICIPANTS,
        "frames_sent": sum(sent_frames.values()),
        "frames_lost": lost,
        "transcripts_missing": missing,
        "transcript_lag_p50_s": round(percentile(lags, 50), 3) if lags else None,
        "transcript_lag_p99_s": round(percentile(lags, 99), 3) if lags else None,
        "audio_backlog_p99_s": round(percentile(audio_backlog, 99), 3) if audio_backlog else None,
        "lag_s": round(lag, 3),
        "window_s": round(dt_s, 2),
        "window_frames": frames,
        "worker_cpu_s": round(worker_cpu, 3),
        "worker_cores": round(worker_cpu / dt_s, 3),
        "frames_per_cpu_s": round(frames / worker_cpu, 1) if worker_cpu > 0 else None,
        "frames_per_s": round(frames / dt_s, 1),
        "expected_frames_per_s": n * PARTICIPANTS * FRAMES_PER_STREAM_S,
        "emulator_cores": round(emulator_cores, 3),
        "emulator_saturated": emulator_cores > 0.9,
        "stream_states": sorted({s["state"] for s in stored["streams"].values()}),
        "verdict_failures": verdict_failures,
        "load_average": os.getloadavg()[0],  # the machine is shared: other work competes
    }
    result["passed"] = lost == 0 and missing == 0 and lag < LAG_TARGET_S and len(stored["streams"]) == n
    return result


async def _ceiling(emu, n: int, seconds: float) -> dict:
    scenario = load_scenario_continuous(
        participants=PARTICIPANTS, seconds=seconds, utterance_every=UTTERANCE_EVERY
    )
    runs = [await emu.play(scenario, webhook_url=None, speed=1.0) for _ in range(n)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.bare_client",
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    spec = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "streams": [r.join_params() for r in runs],
    }
    proc.stdin.write((json.dumps(spec) + "\n").encode())
    await proc.stdin.drain()
    lines: list[dict] = []

    async def read() -> None:
        while line := await proc.stdout.readline():
            lines.append(json.loads(line))

    reader = asyncio.create_task(read())
    first, last = await _window(runs, seconds, {}, None, [])
    await asyncio.gather(*(r.wait(timeout=seconds + 60) for r in runs))
    await asyncio.wait_for(reader, 30)
    await proc.wait()

    def at(t: float) -> dict:
        return min(lines, key=lambda line: abs(line["t"] - t))

    a, b = at(first["t"]), at(last["t"])
    frames, cpu = b["frames"] - a["frames"], b["cpu"] - a["cpu"]
    errors = lines[-1].get("errors", []) if lines else ["no output"]
    return {
        "n": n,
        "frames_per_cpu_s": round(frames / cpu, 1) if cpu > 0 else None,
        "cores": round(cpu / (b["t"] - a["t"]), 3) if b["t"] > a["t"] else None,
        "frames_received": lines[-1]["frames"] if lines else 0,
        "frames_sent": _sent_frames(runs),
        "errors": errors[:3],
    }


async def _search(product: Product, ingest_pid: int, *, smoke: bool) -> tuple[list[dict], dict]:
    from rtms_emulator import Emulator

    seconds = SMOKE_STEP_SECONDS if smoke else STEP_SECONDS
    steps: list[dict] = []
    started = time.monotonic()
    async with Emulator(emulator_config(connect_timeout=60.0)) as emu:
        fixed = int(os.environ.get("BENCH_INGEST_N", "0"))
        if smoke or fixed:
            steps.append(await _step(emu, product, ingest_pid, fixed or SMOKE_N, seconds))
            print(f"   N={fixed or SMOKE_N}: {json.dumps(steps[-1])}", flush=True)
        else:
            good, bad, n = 0, None, START_N
            while True:
                result = await _step(emu, product, ingest_pid, n, seconds)
                steps.append(result)
                print(f"   N={n}: {json.dumps(result)}", flush=True)
                if result["passed"]:
                    good = n
                else:
                    bad = n
                if bad is None and result["emulator_saturated"]:
                    break  # the load generator is the limit: more N measures the emulator
                nxt = n * 2 if bad is None else (good + bad) // 2
                if nxt in (good, bad) or (bad is not None and bad - good <= max(4, good // 10)):
                    break
                if time.monotonic() - started + (seconds + 20) > BUDGET_S:
                    break
                n = nxt
        passing = [s for s in steps if s["passed"]]
        ceiling_n = max((s["n"] for s in passing), default=steps[-1]["n"])
        ceiling = await _ceiling(emu, ceiling_n, seconds)
    return steps, ceiling


def run(*, smoke: bool) -> list[Row]:
    why = scaled_available()
    if why and not smoke:
        return [Row(NAME, "skipped", why, met=False)]
    scaled = not why
    env = {"RTMS_WORKER_MAX_STREAMS": "2000"}
    with Product(NAME, scaled=scaled, env=env) as product:
        product.flush_s = product.db("settings", names=["RTMS_AUDIO_FLUSH_SECONDS"])[
            "RTMS_AUDIO_FLUSH_SECONDS"
        ]
        web = product.start_web()
        if scaled:
            ingest = product.start_worker(max_streams=2000)
            time.sleep(3.0)  # Django start-up of the worker, not part of the measurement
            profile = os.environ.get("BENCH_PROFILE_WORKER", "")
            if profile:  # py-spy samples every thread (the ORM thread too): collapsed stacks
                py_spy = str(Path(sys.executable).with_name("py-spy"))
                seconds = str(int((SMOKE_STEP_SECONDS if smoke else STEP_SECONDS) + 5))
                args = [
                    "record",
                    "--pid",
                    str(ingest.pid),
                    "-d",
                    seconds,
                    "-r",
                    "250",
                    "-f",
                    "raw",
                    "-o",
                    profile,
                    *(["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []),
                ]
                product.spawn("py-spy", args, prefix=[py_spy])
        else:
            ingest = web  # embedded: ingestion runs inside Daphne
        steps, ceiling = asyncio.run(_search(product, ingest.pid, smoke=smoke))
    mode = "scaled" if scaled else "embedded"
    bench = f"{NAME}[{mode}]"
    passing = [s for s in steps if s["passed"]]
    best = max(passing, key=lambda s: s["n"]) if passing else None
    ref = best or steps[-1]
    fpc = ref["frames_per_cpu_s"] or 0.0
    ratio = fpc / ceiling["frames_per_cpu_s"] if ceiling["frames_per_cpu_s"] else 0.0
    rows = [
        Row(
            bench,
            "max concurrent meetings (0 lost, lag < 1 s)",
            best["n"] if best else 0,
            "meetings",
            extra={"steps": steps, "limited_by_emulator": bool(ref["emulator_saturated"])},
        ),
        Row(bench, "  = concurrent audio streams", best["audio_streams"] if best else 0, "streams"),
        Row(bench, "  worker CPU at that load", ref["worker_cores"], "cores"),
        Row(
            bench, "  frames lost at that load", ref["frames_lost"], "frames", "= 0", ref["frames_lost"] == 0
        ),
        target_row(bench, "  ingest lag p99 at that load", ref["lag_s"], "s", "<", LAG_TARGET_S),
        Row(bench, "worker audio frames per CPU-second", fpc, "frames/cpu-s"),
        target_row(
            bench,
            "audio streams per core",
            fpc / FRAMES_PER_STREAM_S,
            "streams",
            ">=",
            STREAMS_PER_CORE_TARGET,
        ),
        Row(
            bench,
            "ceiling (bare client) frames per CPU-second",
            ceiling["frames_per_cpu_s"] or 0,
            "frames/cpu-s",
            extra=ceiling,
        ),
        target_row(bench, "worker / ceiling", 100 * ratio, "%", ">=", 100 * CEILING_RATIO_TARGET),
    ]
    return rows

"""End to end: the RTMS emulator → our signed webhook → ingest → database and WAV files.

Every test runs the real product in a subprocess (Daphne serving ``rtms_assistant.asgi``; in
scaled mode also ``manage.py rtms_worker`` processes) against the test database, while the
emulator (the only stand-in: Zoom's side) plays a scenario at accelerated speed in the test's
event loop. Assertions compare what is stored with what the emulator's record says it sent:
exact transcript texts and speakers, chat, participant events, and audio bytes per participant
(every frame found in the participant's WAV at its timestamp's position, none twice).

Embedded mode: SQLite, in-memory channel layer, ingestion inside Daphne. Scaled mode (marker
``scaled``): PostgreSQL and Redis from DATABASE_URL / REDIS_URL, Daphne for the webhook and
separate ``rtms_worker`` processes (takeover after SIGKILL, handover on SIGTERM).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone

from meetings.models import AudioRecording, ChatMessage, Meeting, ParticipantEvent, TranscriptSegment
from streams.emulator.server import Emulator, EmulatorConfig
from streams.models import Stream
from streams.recording import BYTES_PER_MS, WAV_HEADER_BYTES

ROOT = Path(__file__).resolve().parent.parent.parent
PLANNING = ROOT / "streams" / "emulator" / "scenarios" / "planning_meeting.json"
CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET = "e2e-client-id", "e2e-client-secret", "e2e-webhook-secret"
SPEED = 8.0
Kind = ParticipantEvent.Kind
EVENT_KINDS = {
    2: Kind.ACTIVE_SPEAKER,
    3: Kind.JOIN,
    4: Kind.LEAVE,
    5: Kind.SHARING_START,
    6: Kind.SHARING_STOP,
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db["PASSWORD"] else user
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Product:
    """The product's processes (Daphne + optional rtms_workers) on a scratch data dir."""

    def __init__(self, tmp: Path, *, scaled: bool) -> None:
        self.tmp = tmp
        self.scaled = scaled
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RTMS_", "ZOOM_"))
        } | {
            "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings",
            "DJANGO_SECRET_KEY": "e2e-secret-key",
            "DJANGO_DATA_DIR": str(tmp),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url(),
            "ZOOM_CLIENT_ID": CLIENT_ID,
            "ZOOM_CLIENT_SECRET": CLIENT_SECRET,
            "ZOOM_WEBHOOK_SECRET_TOKEN": WEBHOOK_SECRET,
            "RTMS_LEASE_SECONDS": "3",
            "RTMS_WORKER_POLL_SECONDS": "0.2",
            "RTMS_AUDIO_FLUSH_SECONDS": "0.3",
            "TRANSCRIPT_FALLBACK_SECONDS": "1000",
        }
        if scaled:
            self.env["REDIS_URL"] = settings.REDIS_URL
        else:
            self.env.pop("REDIS_URL", None)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/zoom/"

    @property
    def media_root(self) -> Path:
        return self.tmp / "media"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs[name] = proc
        return proc

    def start_web(self) -> None:
        self._spawn(
            "daphne",
            ["-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "rtms_assistant.asgi:application"],
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not start: {self.log('daphne')}")

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._spawn(name, ["manage.py", "rtms_worker", "--worker-id", name])

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def embedded(tmp_path, transactional_db):
    if connection.vendor != "sqlite":
        pytest.skip("embedded-mode end-to-end runs on SQLite (the scaled tests cover PostgreSQL)")
    product = Product(tmp_path, scaled=False)
    product.start_web()
    yield product
    product.stop()


@pytest.fixture
def scaled(tmp_path, transactional_db):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("scaled mode needs DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)")
    product = Product(tmp_path, scaled=True)
    product.start_web()
    yield product
    product.stop()


def emulator(**overrides) -> Emulator:
    config = {"keepalive_interval": 1.0, **overrides}
    return Emulator(
        EmulatorConfig(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, webhook_secret=WEBHOOK_SECRET, **config
        )
    )


# --- reading back what was stored -----------------------------------------------------------------


def db(fn):
    """Run an ORM read in a thread and close that thread's connection (no lingering sessions)."""

    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return sync_to_async(call, thread_sensitive=False)


@db
def stream_row(rtms_stream_id: str) -> Stream | None:
    return Stream.objects.filter(rtms_stream_id=rtms_stream_id).select_related("meeting").first()


async def wait_for(predicate, *, timeout: float, what: str, product: Product):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    logs = "\n".join(f"--- {name}\n{product.log(name)}" for name in product.procs)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


async def wait_ended(rtms_stream_id: str, product: Product, timeout: float = 30) -> Stream:
    async def ended():
        row = await stream_row(rtms_stream_id)
        return row if row is not None and not row.is_open else None

    return await wait_for(ended, timeout=timeout, what=f"stream {rtms_stream_id} to end", product=product)


async def play(emu: Emulator, product: Product, *, faults=(), speed: float = SPEED, timeout: float = 90):
    run = await emu.play(PLANNING, webhook_url=product.webhook_url, speed=speed, faults=faults)
    record = await run.wait(timeout)
    stream = await wait_ended(record.rtms_stream_id, product)
    return record, stream


@db
def stored(meeting_id: int) -> dict:
    return {
        "segments": [
            (s.speaker_name, s.text, s.start_ms, s.end_ms)
            for s in TranscriptSegment.objects.filter(meeting_id=meeting_id, source="zoom").order_by(
                "start_ms", "pk"
            )
        ],
        "chat": [
            (c.sender_name, c.text)
            for c in ChatMessage.objects.filter(meeting_id=meeting_id).order_by("offset_ms", "pk")
        ],
        "events": list(
            ParticipantEvent.objects.filter(meeting_id=meeting_id)
            .order_by("offset_ms", "pk")
            .values("kind", "participant__zoom_user_id", "offset_ms", "end_offset_ms", "reason")
        ),
        "recordings": list(
            AudioRecording.objects.filter(meeting_id=meeting_id).select_related("participant")
        ),
        "meeting": Meeting.objects.get(pk=meeting_id),
    }


def expected_events(record) -> Counter:
    out: Counter = Counter()
    for event in record.sent.events:
        kind = EVENT_KINDS.get(event["event_type"])
        if kind in (Kind.JOIN, Kind.LEAVE):
            for p in event["participants"]:
                out[(kind, str(p["user_id"]))] += 1
        elif kind == Kind.SHARING_STOP:
            out[(kind, None)] += 1
        elif kind is not None:
            out[(kind, str(event["user_id"]))] += 1
    return out


def assert_audio_matches(record, data: dict, media_root: Path, meeting_started_ms: int) -> None:
    recordings = {r.participant.zoom_user_id: r for r in data["recordings"] if r.kind == "participant"}
    sent_users = {str(uid) for uid, b in record.sent.audio.items() if uid and b}
    assert set(recordings) == sent_users
    for uid, sent in record.sent.audio.items():
        if not uid:
            continue
        rec = recordings[str(uid)]
        timestamps = record.sent.audio_frames[uid]
        frame_len = len(sent) // len(timestamps)
        assert rec.frames_received == len(timestamps), f"user {uid}: frames stored once each"
        assert rec.frames_received * frame_len == len(sent), f"user {uid}: audio byte count"
        wav = (media_root / rec.path).read_bytes()[WAV_HEADER_BYTES:]
        assert len(wav) == rec.data_bytes
        origin = meeting_started_ms + rec.start_ms
        for i, ts in enumerate(timestamps):
            pos = (ts - origin) * BYTES_PER_MS
            chunk = sent[i * frame_len : (i + 1) * frame_len]
            assert wav[pos : pos + frame_len] == chunk, f"user {uid}: frame at {ts} not in place"
    mixed = [r for r in data["recordings"] if r.kind == "mixed"]
    assert len(mixed) == 1
    assert (media_root / mixed[0].path).stat().st_size == WAV_HEADER_BYTES + mixed[0].data_bytes


async def assert_stored_equals_sent(record, stream: Stream, product: Product) -> dict:
    data = await stored(stream.meeting_id)
    origin = stream.started_event_ts
    sent_segments = sorted(record.sent.transcript, key=lambda c: c["start_time"])
    assert [(s[0], s[1]) for s in data["segments"]] == [(c["user_name"], c["data"]) for c in sent_segments]
    assert [s[2] for s in data["segments"]] == [c["start_time"] - origin for c in sent_segments]
    assert data["chat"] == [(c["user_name"], c["text"]) for c in record.sent.chat]
    got = Counter(
        (e["kind"], e["participant__zoom_user_id"])
        for e in data["events"]
        if e["kind"] in EVENT_KINDS.values()
    )
    assert got == expected_events(record)
    assert_audio_matches(record, data, product.media_root, origin)
    assert data["meeting"].status == Meeting.Status.ENDED
    assert stream.state == Stream.State.STOPPED
    assert stream.stop_reason == record.stop_reason
    return data


def gaps(data: dict) -> list[dict]:
    return [e for e in data["events"] if e["kind"] == Kind.INTERRUPTION]


# --- embedded mode ------------------------------------------------------------------------------------


async def test_planning_meeting_is_stored_exactly(embedded):
    async with emulator() as emu:
        record, stream = await play(emu, embedded)
    assert record.verdict(), record.verdict()
    data = await assert_stored_equals_sent(record, stream, embedded)
    assert len(data["segments"]) > 5
    assert len(data["chat"]) == 4
    assert gaps(data) == []
    assert stream.audio_frames_dropped == 0
    # the webhook is answered at once (the work happens after the response): rtms_started, rtms_stopped
    assert [w["status"] for w in record.webhooks] == [200, 200]
    assert max(w["elapsed"] for w in record.webhooks) < 0.5


FAULTS = {
    "media_abort": ["media_abort@12:media=audio", "media_abort@30:media=transcript"],
    "media_close": ["media_close@15:media=audio"],
    "signaling_abort": ["signaling_abort@20"],
    "signaling_close": ["signaling_close@20"],
    "failover": ["failover@25"],
    "duplicate_webhook": ["duplicate_webhook@5", "duplicate_webhook@40"],
    "junk": ["junk@8", "junk@33:socket=signaling"],
    "keepalive_storm": ["keepalive_storm@10"],
    "pause_resume": ["pause@20", "resume@28"],
    "binary_frames": [],  # every server message in a binary frame (EmulatorConfig below)
    "idle_keepalives": [],  # keep-alives only when idle, every 0.5 s
}
CONFIG = {
    "binary_frames": {"binary_frames": True},
    "idle_keepalives": {"keepalive_idle_only": True, "keepalive_interval": 0.5},
}
EXPECT_GAP = {"media_abort", "media_close", "signaling_abort", "signaling_close", "failover"}


@pytest.mark.faults
@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_faults_lose_and_duplicate_nothing(embedded, name):
    async with emulator(**CONFIG.get(name, {})) as emu:
        record, stream = await play(emu, embedded, faults=FAULTS[name])
    assert record.verdict(), record.verdict()
    assert emu.rejected_handshakes == []  # never a second connection for the stream
    data = await assert_stored_equals_sent(record, stream, embedded)
    recorded_gaps = gaps(data)
    if name in EXPECT_GAP:
        assert recorded_gaps, "the interruption is recorded as a gap"
        assert all(
            g["end_offset_ms"] is not None and g["end_offset_ms"] >= g["offset_ms"] for g in recorded_gaps
        )
        assert all(g["reason"] for g in recorded_gaps)
        assert stream.reconnect_count == 0  # the same worker reconnected: not a takeover
    else:
        assert recorded_gaps == []
    if name == "pause_resume":
        pauses = [e for e in data["events"] if e["kind"] == Kind.PAUSE]
        assert len(pauses) == 1
        assert pauses[0]["end_offset_ms"] is not None
        assert any(e["kind"] == Kind.RESUME for e in data["events"])
    if name == "failover":
        assert stream.server_urls_version == 2


@db
def steal_lease(rtms_stream_id: str, seconds: float) -> None:
    Stream.objects.filter(rtms_stream_id=rtms_stream_id).update(
        lease_owner="thief", lease_expires_at=timezone.now() + dt.timedelta(seconds=seconds)
    )


@pytest.mark.faults
async def test_lost_lease_closes_the_connection_and_is_taken_back(embedded):
    """Another owner in the database (a stale worker's view): the holder closes its connection
    within a renewal period, never opening a second one; after that lease expires the stream is
    taken over with a fresh handshake and the gap is recorded."""
    async with emulator() as emu:
        run = await emu.play(PLANNING, webhook_url=embedded.webhook_url, speed=2.0)
        sid = run.rtms_stream_id
        await _holder(sid, embedded, owner_prefix="embedded")
        await asyncio.sleep(2.0)
        await steal_lease(sid, 4.0)
        stolen_at = run.record.now()

        async def closed_by_client():
            return [c for c in run.record.closes if c.by == "client" and c.at >= stolen_at]

        closes = await wait_for(closed_by_client, timeout=3.0, what="the holder to close", product=embedded)
        assert closes[0].at - stolen_at < 2.0
        record = await run.wait(120)
    stream = await wait_ended(sid, embedded)
    assert emu.rejected_handshakes == []
    assert stream.reconnect_count == 1
    data = await stored(stream.meeting_id)
    assert [g["reason"] for g in gaps(data)] == ["worker takeover: lease of thief expired"]
    assert len({(s[0], s[2]) for s in data["segments"]}) == len(data["segments"])
    sent_texts = sorted(c["data"] for c in record.sent.transcript)
    assert sorted(s[1] for s in data["segments"]) == sent_texts  # queued text was still stored


# --- scaled mode: PostgreSQL + Redis, separate rtms_worker processes --------------------------------


@pytest.mark.scaled
async def test_scaled_mode_stores_the_meeting(scaled):
    scaled.start_worker("w1")
    async with emulator() as emu:
        record, stream = await play(emu, scaled, faults=["media_abort@15:media=audio"])
    assert record.verdict(), record.verdict()
    await assert_stored_equals_sent(record, stream, scaled)


async def _holder(rtms_stream_id: str, product: Product, owner_prefix: str = "w"):
    async def held():
        row = await stream_row(rtms_stream_id)
        if row is not None and row.state == Stream.State.ACTIVE and row.lease_owner.startswith(owner_prefix):
            return row
        return None

    return await wait_for(held, timeout=20, what="an active holder", product=product)


@pytest.mark.scaled
@pytest.mark.faults
async def test_sigkill_takeover_within_10_s(scaled):
    scaled.start_worker("w1")
    await asyncio.sleep(1.0)
    scaled.start_worker("w2")
    async with emulator() as emu:
        run = await emu.play(PLANNING, webhook_url=scaled.webhook_url, speed=2.0)
        sid = run.rtms_stream_id
        first = await _holder(sid, scaled)
        await asyncio.sleep(3.0)
        scaled.procs[first.lease_owner].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        other = "w2" if first.lease_owner == "w1" else "w1"
        await _holder(sid, scaled, owner_prefix=other)
        takeover = time.monotonic() - killed_at
        record = await run.wait(120)
    stream = await wait_ended(sid, scaled)
    assert takeover < 10, f"takeover took {takeover:.1f}s"
    assert emu.rejected_handshakes == []  # never two live connections for the stream
    assert stream.reconnect_count == 1
    data = await stored(stream.meeting_id)
    # nothing stored twice; the takeover recorded as a gap with its reason
    assert len({(s[0], s[2]) for s in data["segments"]}) == len(data["segments"])
    takeover_gaps = [g for g in gaps(data) if "takeover" in g["reason"]]
    assert len(takeover_gaps) == 1
    assert takeover_gaps[0]["end_offset_ms"] is not None
    assert record.completed


@pytest.mark.scaled
@pytest.mark.faults
async def test_sigterm_hands_over_without_waiting_for_the_lease(scaled):
    scaled.start_worker("w1")
    await asyncio.sleep(1.0)
    scaled.start_worker("w2")
    async with emulator() as emu:
        run = await emu.play(PLANNING, webhook_url=scaled.webhook_url, speed=2.0)
        sid = run.rtms_stream_id
        first = await _holder(sid, scaled)
        await asyncio.sleep(3.0)
        scaled.procs[first.lease_owner].send_signal(signal.SIGTERM)
        sent_at = time.monotonic()
        other = "w2" if first.lease_owner == "w1" else "w1"
        await _holder(sid, scaled, owner_prefix=other)
        handover = time.monotonic() - sent_at
        record = await run.wait(120)
        assert scaled.procs[first.lease_owner].wait(timeout=20) == 0
    stream = await wait_ended(sid, scaled)
    assert handover < 3.0 + 1.0, f"handover took {handover:.1f}s (lease is 3 s)"
    assert record.verdict(), record.verdict()
    assert emu.rejected_handshakes == []  # the old connection was closed before the new one
    data = await assert_stored_equals_sent(record, stream, scaled)
    handovers = [g for g in gaps(data) if "handover" in g["reason"]]
    assert len(handovers) == 1

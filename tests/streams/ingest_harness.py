"""Shared harness of the ingestion end-to-end and fault-injection tests (tests/streams/).

The product runs in subprocesses (:class:`Product`: Daphne serving ``rtms_assistant.asgi``, in
scaled mode plus ``manage.py rtms_worker`` processes) against a database the test can read (the
test database, or a private cluster registered as another alias: ``Product.db_alias``), while
the emulator (the only stand-in: Zoom's side) plays a scenario at accelerated speed in the test's
event loop. The helpers compare what is stored with what the emulator's record says it sent:
exact transcript texts and speakers, chat, participant events, and audio bytes per participant
(every frame found in the participant's WAV at its timestamp's position, none twice).

Fixtures ``embedded`` and ``scaled`` are in ``tests/ingest_fixtures.py``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.db.utils import load_backend

from meetings.models import AudioRecording, ChatMessage, Meeting, ParticipantEvent, TranscriptSegment
from rtms_assistant.processes import ROOT, Processes, free_port, worker_args
from rtms_emulator import Emulator, EmulatorConfig
from streams.models import Stream
from streams.recording import BYTES_PER_MS, WAV_HEADER_BYTES

PLANNING = ROOT / "rtms_emulator" / "scenarios" / "planning_meeting.json"
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


def test_database_url() -> str:
    db = connections["default"].settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db["PASSWORD"] else user
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Product:
    """The product's processes (Daphne + optional rtms_workers) on a scratch data dir.

    The product uses the test database unless ``database_url`` names another one, which the
    test then reads back through ``db_alias`` (registered in :data:`EXTRA_DATABASES`);
    ``redis_url`` overrides the test settings' Redis (scaled); ``env`` entries override the
    product's environment (e.g. lease seconds).
    """

    def __init__(
        self,
        tmp: Path,
        *,
        scaled: bool,
        db_alias: str = "default",
        database_url: str | None = None,
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.scaled = scaled
        self.db_alias = db_alias
        self.port = free_port()
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RTMS_", "ZOOM_"))
        } | {
            "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings",
            "DJANGO_SECRET_KEY": "e2e-secret-key",
            "DJANGO_DATA_DIR": str(tmp),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url or test_database_url(),
            "ZOOM_CLIENT_ID": CLIENT_ID,
            "ZOOM_CLIENT_SECRET": CLIENT_SECRET,
            "ZOOM_WEBHOOK_SECRET_TOKEN": WEBHOOK_SECRET,
            "RTMS_LEASE_SECONDS": "3",
            "RTMS_WORKER_POLL_SECONDS": "0.2",
            "RTMS_AUDIO_FLUSH_SECONDS": "0.3",
            "TRANSCRIPT_FALLBACK_SECONDS": "1000",
        }
        if scaled:
            self.env["REDIS_URL"] = redis_url or settings.REDIS_URL
        else:
            self.env.pop("REDIS_URL", None)
        self.env.update(env or {})
        self.processes = Processes(tmp, self.env)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/zoom/"

    @property
    def media_root(self) -> Path:
        return self.tmp / "media"

    @property
    def procs(self) -> dict[str, subprocess.Popen]:
        return self.processes.procs

    def start_web(self) -> None:
        self.processes.start_web(self.port, timeout=30)

    def start_worker(self, name: str) -> subprocess.Popen:
        return self.processes.spawn(name, worker_args(name))

    def log(self, name: str, tail: int | None = 6000) -> str:
        """A process's output (the last ``tail`` characters; None: all of it)."""
        return self.processes.log(name, tail)

    def stop(self) -> None:
        self.processes.stop_all()


def emulator(**overrides) -> Emulator:
    config = {"keepalive_interval": 1.0, **overrides}
    return Emulator(
        EmulatorConfig(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, webhook_secret=WEBHOOK_SECRET, **config
        )
    )


# --- reading back what was stored -----------------------------------------------------------------


# Databases outside the test database (a private cluster a test restarts): alias -> Django
# settings dict. ``db`` installs them as per-thread connections, never in settings.DATABASES.
EXTRA_DATABASES: dict[str, dict] = {}


def db(fn):
    """Run an ORM read in a thread and close that thread's connections (no lingering sessions).

    Aliases of :data:`EXTRA_DATABASES` are usable there through ``.using(alias)``.
    """

    def call(*args, **kwargs):
        extra = []
        for alias, settings_dict in EXTRA_DATABASES.items():
            wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(dict(settings_dict), alias)
            setattr(connections._connections, alias, wrapper)
            extra.append((alias, wrapper))
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()
            for alias, wrapper in extra:
                wrapper.close()
                delattr(connections._connections, alias)

    return sync_to_async(call, thread_sensitive=False)


@db
def stream_row(rtms_stream_id: str, using: str = "default") -> Stream | None:
    return Stream.objects.using(using).filter(rtms_stream_id=rtms_stream_id).select_related("meeting").first()


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
        row = await stream_row(rtms_stream_id, product.db_alias)
        return row if row is not None and not row.is_open else None

    return await wait_for(ended, timeout=timeout, what=f"stream {rtms_stream_id} to end", product=product)


async def play(emu: Emulator, product: Product, *, faults=(), speed: float = SPEED, timeout: float = 90):
    run = await emu.play(PLANNING, webhook_url=product.webhook_url, speed=speed, faults=faults)
    record = await run.wait(timeout)
    stream = await wait_ended(record.rtms_stream_id, product)
    return record, stream


@db
def stored(meeting_id: int, using: str = "default") -> dict:
    return {
        "segments": [
            (s.speaker_name, s.text, s.start_ms, s.end_ms)
            for s in TranscriptSegment.objects.using(using)
            .filter(meeting_id=meeting_id, source="zoom")
            .order_by("start_ms", "pk")
        ],
        "chat": [
            (c.sender_name, c.text)
            for c in ChatMessage.objects.using(using)
            .filter(meeting_id=meeting_id)
            .order_by("offset_ms", "pk")
        ],
        "events": list(
            ParticipantEvent.objects.using(using)
            .filter(meeting_id=meeting_id)
            .order_by("offset_ms", "pk")
            .values("kind", "participant__zoom_user_id", "offset_ms", "end_offset_ms", "reason")
        ),
        "recordings": list(
            AudioRecording.objects.using(using).filter(meeting_id=meeting_id).select_related("participant")
        ),
        "meeting": Meeting.objects.using(using).get(pk=meeting_id),
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
    data = await stored(stream.meeting_id, product.db_alias)
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


async def holder(rtms_stream_id: str, product: Product, owner_prefix: str = "w"):
    """Wait until the stream is ``active`` and held by a worker whose name starts with the prefix."""

    async def held():
        row = await stream_row(rtms_stream_id, product.db_alias)
        if row is not None and row.state == Stream.State.ACTIVE and row.lease_owner.startswith(owner_prefix):
            return row
        return None

    return await wait_for(held, timeout=20, what="an active holder", product=product)


# Emulator faults replayed in each mode (embedded: tests/e2e/test_ingest_e2e.py; scaled:
# tests/faults/test_ingest_faults.py). Times are scenario seconds.
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


def assert_gaps_recorded(data: dict, name: str) -> list[dict]:
    """The interruptions of fault ``name`` are recorded as closed gaps with a reason (none else)."""
    recorded = gaps(data)
    if name in EXPECT_GAP:
        # one interruption per outage (issue 18: a signaling abort used to be two overlapping ones)
        assert len(recorded) == len(FAULTS[name]), recorded
        assert all(g["end_offset_ms"] is not None and g["end_offset_ms"] >= g["offset_ms"] for g in recorded)
        assert all(g["reason"] for g in recorded)
    else:
        assert recorded == []
    return recorded

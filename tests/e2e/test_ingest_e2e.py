"""End to end: the RTMS emulator → our signed webhook → ingest → database and WAV files.

Every test runs the real product in a subprocess (harness: ``tests/streams/ingest_harness.py``) (Daphne serving ``rtms_assistant.asgi``; in
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
import re
import signal
import time

import pytest
from django.utils import timezone

from streams.models import Stream
from tests.streams.ingest_harness import (
    CONFIG,
    FAULTS,
    PLANNING,
    Kind,
    assert_gaps_recorded,
    assert_stored_equals_sent,
    db,
    emulator,
    gaps,
    holder,
    play,
    stored,
    wait_ended,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


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


@pytest.mark.faults
@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_faults_lose_and_duplicate_nothing(embedded, name):
    async with emulator(**CONFIG.get(name, {})) as emu:
        record, stream = await play(emu, embedded, faults=FAULTS[name])
    assert record.verdict(), record.verdict()
    assert emu.rejected_handshakes == []  # never a second connection for the stream
    data = await assert_stored_equals_sent(record, stream, embedded)
    recorded = assert_gaps_recorded(data, name)
    # one interruption per outage, each ended by one reconnect of the same worker (no takeover)
    assert stream.reconnect_count == len(recorded)
    assert stream.audio_frames_dropped == 0
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
        await holder(sid, embedded, owner_prefix="embedded")
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
    recorded = gaps(data)
    assert [g["reason"] for g in recorded if not g["reason"].startswith("audio dropped")] == [
        "worker takeover: lease of thief expired"
    ]
    # audio the holder had not flushed when it lost the lease: counted, and a gap with the reason
    lease_drops = [g for g in recorded if g["reason"].startswith("audio dropped")]
    assert all("lost the stream's lease" in g["reason"] for g in lease_drops)
    counted = sum(int(re.match(r"audio dropped: (\d+) frame", g["reason"]).group(1)) for g in lease_drops)
    assert counted == stream.audio_frames_dropped
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


async def _signal_the_holder(emu, scaled, signum):
    """Two workers, the planning meeting played at 3x; 3 s in, ``signum`` to the worker holding
    the stream's lease. Returns the run, the first holder's stream row and the seconds until the
    other worker held the lease."""
    scaled.start_worker("w1")
    await asyncio.sleep(1.0)
    scaled.start_worker("w2")
    run = await emu.play(PLANNING, webhook_url=scaled.webhook_url, speed=3.0)
    first = await holder(run.rtms_stream_id, scaled)
    await asyncio.sleep(3.0)
    scaled.procs[first.lease_owner].send_signal(signum)
    sent_at = time.monotonic()
    other = "w2" if first.lease_owner == "w1" else "w1"
    await holder(run.rtms_stream_id, scaled, owner_prefix=other)
    return run, first, time.monotonic() - sent_at


@pytest.mark.scaled
@pytest.mark.faults
async def test_sigkill_takeover_within_10_s(scaled):
    async with emulator() as emu:
        run, _first, takeover = await _signal_the_holder(emu, scaled, signal.SIGKILL)
        sid = run.rtms_stream_id
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
    async with emulator() as emu:
        run, first, handover = await _signal_the_holder(emu, scaled, signal.SIGTERM)
        sid = run.rtms_stream_id
        record = await run.wait(120)
        assert scaled.procs[first.lease_owner].wait(timeout=20) == 0
    stream = await wait_ended(sid, scaled)
    assert handover < 3.0 + 1.0, f"handover took {handover:.1f}s (lease is 3 s)"
    assert record.verdict(), record.verdict()
    assert emu.rejected_handshakes == []  # the old connection was closed before the new one
    data = await assert_stored_equals_sent(record, stream, scaled)
    handovers = [g for g in gaps(data) if "handover" in g["reason"]]
    assert len(handovers) == 1

"""RTMSClient against the protocol-faithful Zoom emulator (rtms_emulator): exact data on the
planning-meeting scenario, faults, and the emulator's own record/verdict of the client's
behaviour. Scenarios are played unpaced (``speed=None``) unless wall-clock time matters."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from rtms_emulator import Emulator, EmulatorConfig
from streams.rtms.client import ClientConfig, RTMSClient
from streams.rtms.events import (
    AudioDropped,
    AudioFrame,
    ChatEvent,
    Connected,
    Interrupted,
    ParticipantJoined,
    ParticipantLeft,
    SessionStateChanged,
    SharingStarted,
    StreamEnded,
    StreamStateChanged,
    TranscriptEvent,
)
from tests.streams.rtms.rtms_client_helpers import Collector

SCENARIO = Path(__file__).resolve().parents[3] / "rtms_emulator" / "scenarios" / "planning_meeting.json"


@pytest.fixture
def planning(shared_data):  # skips when ../shared/data is missing (the scenario's audio lives there)
    return SCENARIO


def client_for(emu, run, **overrides) -> RTMSClient:
    params = run.join_params()
    values = {
        "client_id": emu.config.client_id,
        "client_secret": emu.config.client_secret,
        "instance_id": params["meeting_uuid"],
        "rtms_stream_id": params["rtms_stream_id"],
        "server_urls": params["server_urls"],
        "reconnect_initial_delay": 0.2,
        "reconnect_max_delay": 1.0,
        "connect_timeout": 5.0,
        "handshake_timeout": 5.0,
    }
    values.update(overrides)
    return RTMSClient(ClientConfig(**values))


def audio_by_user(col: Collector) -> dict[int, bytes]:
    out: dict[int, bytearray] = {}
    for frame in col.of(AudioFrame):
        out.setdefault(int(frame.user_id), bytearray()).extend(frame.data)
    return {uid: bytes(data) for uid, data in out.items()}


def assert_exact_data(col: Collector, record) -> None:
    """Every audio byte, transcript and chat message the emulator sent arrived exactly once."""
    sent_audio = {uid: bytes(data) for uid, data in record.sent.audio.items() if data}
    got = audio_by_user(col)
    assert {u: len(b) for u, b in got.items()} == {u: len(b) for u, b in sent_audio.items()}
    assert got == sent_audio
    assert [t.text for t in col.of(TranscriptEvent)] == [c["data"] for c in record.sent.transcript]
    assert [c.text for c in col.of(ChatEvent)] == [c["text"] for c in record.sent.chat]


async def play_and_collect(planning, emu_config=None, *, faults=(), speed=None, **client_overrides):
    emu = Emulator(emu_config or EmulatorConfig(keepalive_interval=1.0))
    await emu.start()
    try:
        run = await emu.play(planning, speed=speed, faults=faults)
        client = client_for(emu, run, **client_overrides)
        col = Collector(client)
        end = await col.until_end(timeout=60)
        record = await run.wait(10)
        return client, col, end, record
    finally:
        await emu.stop()


async def test_planning_meeting_exact_audio_transcript_chat_and_verdict(planning):
    client, col, end, record = await play_and_collect(planning)
    assert record.verdict(expect_stop_reason=6), record.verdict()
    assert end.stop_reason == 6
    assert end.error is None
    assert_exact_data(col, record)
    # 68.6 s of two participants; Alice and Bob have audio, Carol joins late without audio
    assert set(audio_by_user(col)) == {16778240, 16779264}
    assert all(len(b) % 640 == 0 and len(b) > 800_000 for b in audio_by_user(col).values())
    assert len(col.of(TranscriptEvent)) == 12
    assert col.of(TranscriptEvent)[0].text.startswith("Good morning everyone.")
    assert {p.user_name for p in col.of(ParticipantJoined)} == {"Alice", "Bob", "Carol"}
    assert [p.user_id for p in col.of(ParticipantLeft)] == ["16780288"]
    assert col.of(SharingStarted)[0].user_name == "Bob"
    assert col.of(Connected) == [Connected(reconnect=False, media=("audio", "transcript", "chat"))]
    assert not col.of(Interrupted)
    assert client.stats.total_frames_skipped == 0
    assert client.stats.total_audio_frames_dropped == 0
    # the client's own behaviour as the emulator saw it
    assert len(record.ready_acks) == 1
    assert record.client_frames["binary"] == 0
    assert record.event_subscriptions
    assert {e["event_type"] for e in record.event_subscriptions[0]["events"]} == {
        2,
        3,
        4,
        5,
        6,
    }
    media_handshakes = [h for h in record.handshakes_on("media:") if h.status_code == 0]
    assert sorted(h.socket for h in media_handshakes) == ["media:audio", "media:chat", "media:transcript"]


@pytest.mark.parametrize("fault", ["media_abort@20", "media_close@20", "media_abort@20:media=transcript"])
async def test_media_loss_reopens_only_that_socket_and_loses_nothing(planning, fault):
    client, col, _end, record = await play_and_collect(planning, faults=[fault])
    assert record.verdict(expect_stop_reason=6), record.verdict()
    assert_exact_data(col, record)
    media = "transcript" if "transcript" in fault else "audio"
    assert [i.scope for i in col.of(Interrupted)] == [f"media:{media}"]
    assert [c.reconnect for c in col.of(Connected)] == [False, True]
    assert len([h for h in record.handshakes_on("signaling") if h.status_code == 0]) == 1
    assert len([h for h in record.handshakes_on(f"media:{media}") if h.status_code == 0]) == 2
    assert client.stats.media_reconnects == 1


@pytest.mark.parametrize("fault", ["signaling_abort@30", "signaling_close@30"])
async def test_signaling_loss_redoes_the_full_handshake_and_loses_nothing(planning, fault):
    client, col, _end, record = await play_and_collect(planning, faults=[fault])
    assert record.verdict(expect_stop_reason=6), record.verdict()
    assert_exact_data(col, record)
    assert [i.scope for i in col.of(Interrupted)] == ["signaling"]
    assert len([h for h in record.handshakes_on("signaling") if h.status_code == 0]) == 2
    assert len(record.event_subscriptions) == 2  # re-subscribed after the rejoin
    assert len(record.ready_acks) == 2
    assert client.stats.full_reconnects == 1


async def test_junk_frames_and_binary_frames_are_survived(planning):
    cfg = EmulatorConfig(keepalive_interval=1.0, binary_frames=True)
    client, col, _end, record = await play_and_collect(
        planning, cfg, faults=["junk@5", "junk@25:socket=signaling", "junk@45:socket=media"]
    )
    assert record.verdict(expect_stop_reason=6), record.verdict()
    assert_exact_data(col, record)
    assert client.stats.total_frames_skipped >= 6
    assert not col.of(Interrupted)


async def test_keepalive_storm_is_answered_on_every_socket(planning):
    _client, col, _end, record = await play_and_collect(planning, faults=["keepalive_storm@10:count=30"])
    assert record.verdict(expect_stop_reason=6, min_keepalive_answers=30), record.verdict()
    answers = record.keepalive_answers()
    assert all(answers[s] >= 30 for s in ("signaling", "media:audio", "media:transcript", "media:chat"))
    assert all(k.echoed_sequence == k.sequence for k in record.keepalives if k.answered_at is not None)
    assert_exact_data(col, record)


async def test_idle_keepalives_and_pause_resume_in_real_time(planning):
    cfg = EmulatorConfig(keepalive_interval=0.4, keepalive_idle_only=True)
    _client, col, end, record = await play_and_collect(
        planning, cfg, speed=1.0, faults=["pause@0.5", "resume@2.0", "terminate@2.6:reason=1"]
    )
    assert record.verdict(require_complete=False, expect_stop_reason=1, min_keepalive_answers=1), (
        record.verdict()
    )
    assert end.stop_reason == 1
    states = [s.state for s in col.of(StreamStateChanged)]
    assert 5 in states
    assert 6 in states
    assert [s.state for s in col.of(SessionStateChanged)][:3] == [2, 3, 4]
    assert record.keepalive_answers().get("media:audio", 0) >= 1  # audio idle while paused
    assert audio_by_user(col) == {u: bytes(b) for u, b in record.sent.audio.items() if b}


async def test_stream_close_request_ends_the_stream_with_reason_20(planning):
    emu = Emulator(EmulatorConfig(keepalive_interval=1.0))
    await emu.start()
    try:
        run = await emu.play(planning, speed=1.0)
        client = client_for(emu, run)
        col = Collector(client)
        await col.wait_for(lambda: len(col.of(AudioFrame)) >= 20, timeout=10)
        await asyncio.wait_for(client.close(request_stream_close=True), 15)
        end = await col.until_end()
        record = await run.wait(10)
    finally:
        await emu.stop()
    assert [r["msg_type"] for r in record.client_requests] == [21]
    assert record.stop_reason == 20
    assert end.stop_reason == 20
    assert "STREAM_CLOSE_REQ" in end.detail
    assert record.verdict(require_complete=False, expect_stop_reason=20), record.verdict()
    assert audio_by_user(col) == {u: bytes(b) for u, b in record.sent.audio.items() if b}


async def test_no_frame_lost_when_terminated_leaves_with_the_last_media(planning):
    cfg = EmulatorConfig(keepalive_interval=1.0, terminate_gap=0.0)  # the SDK loses a frame here
    _client, col, _end, record = await play_and_collect(planning, cfg)
    assert record.verdict(expect_stop_reason=6), record.verdict()
    assert_exact_data(col, record)


class WebhookReceiver:
    """A minimal HTTP endpoint on 127.0.0.1 that answers 200 and hands each JSON body over."""

    def __init__(self, on_body) -> None:
        self.on_body = on_body
        self.bodies: list[dict] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/webhooks/zoom/"

    async def __aenter__(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = 0
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = json.loads(await asyncio.wait_for(reader.readexactly(length), 5))
        self.bodies.append(body)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        self.on_body(body)


async def test_failover_to_new_server_urls(planning):
    clients: list[RTMSClient] = []

    def on_body(body: dict) -> None:
        if body["event"] != "meeting.rtms_started" or not clients:
            return
        if body["payload"]["server_urls"] != clients[0].config.server_urls:
            clients[0].failover(body["payload"]["server_urls"])

    async with WebhookReceiver(on_body) as receiver:
        emu = Emulator(EmulatorConfig(keepalive_interval=1.0))
        await emu.start()
        try:
            run = await emu.play(planning, speed=None, faults=["failover@30"], webhook_url=receiver.url)
            client = client_for(emu, run)
            clients.append(client)
            col = Collector(client)
            end = await col.until_end(timeout=60)
            record = await run.wait(10)
        finally:
            await emu.stop()
    assert len([b for b in receiver.bodies if b["event"] == "meeting.rtms_started"]) == 2
    assert record.verdict(expect_stop_reason=6), record.verdict()
    assert end.stop_reason == 6
    assert_exact_data(col, record)
    signaling_ok = [h for h in record.handshakes_on("signaling") if h.status_code == 0]
    assert len(signaling_ok) == 2
    assert "/fo1/" in signaling_ok[1].path
    assert [c.reconnect for c in col.of(Connected)] == [False, True]
    assert isinstance(col.events[-1], StreamEnded)


async def test_stalled_consumer_keeps_keepalives_answered_and_accounts_for_every_dropped_frame(planning):
    emu = Emulator(EmulatorConfig(keepalive_interval=1.0))
    await emu.start()
    try:
        run = await emu.play(planning, speed=None, faults=["keepalive_storm@30:count=10"])
        client = client_for(emu, run, audio_queue_size=500)
        client.start()  # nobody reads events until the stream is over: a stuck database
        record = await run.wait(60)
        col = Collector(client)
        await col.until_end(timeout=20)
    finally:
        await emu.stop()
    assert record.verdict(expect_stop_reason=6, min_keepalive_answers=10), record.verdict()
    sent = {uid: bytes(data) for uid, data in record.sent.audio.items() if data}
    got = audio_by_user(col)
    dropped: dict[int, int] = {}
    for drop in col.of(AudioDropped):
        dropped[int(drop.user_id)] = dropped.get(int(drop.user_id), 0) + drop.bytes
    assert len(col.of(AudioFrame)) == 500
    for uid, data in sent.items():  # drop-oldest: what arrives is the end of each user's audio
        assert dropped.get(uid, 0) + len(got.get(uid, b"")) == len(data)
        assert data.endswith(got.get(uid, b""))
        assert client.stats.audio_bytes_dropped.get(str(uid), 0) == dropped.get(uid, 0)
    assert isinstance(col.events[0], AudioDropped)  # the gap is reported before what follows it
    # non-audio is never dropped
    assert [t.text for t in col.of(TranscriptEvent)] == [c["data"] for c in record.sent.transcript]
    assert [c.text for c in col.of(ChatEvent)] == [c["text"] for c in record.sent.chat]

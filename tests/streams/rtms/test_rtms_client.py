"""RTMSClient against a small local WebSocket peer: handshakes, keep-alives, backpressure,
reconnection, failover, clean close, robustness. Delays are shrunk so each test takes < 2 s."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging

import pytest

from streams.rtms.client import RTMSClient
from streams.rtms.errors import RTMSAuthError, RTMSConnectionError, RTMSStreamEnded
from streams.rtms.events import (
    AudioDropped,
    AudioFrame,
    ChatEvent,
    Connected,
    FirstPacketTimestamp,
    Interrupted,
    ParticipantJoined,
    ParticipantLeft,
    StreamEnded,
    TranscriptEvent,
)
from streams.rtms.signing import handshake_signature
from tests.streams.rtms.fake_rtms_server import CLIENT_ID, CLIENT_SECRET, MEETING_UUID, STREAM_ID, FakeRTMS
from tests.streams.rtms.rtms_client_helpers import Collector, fast_config


def audio(user_id: int, i: int, data: bytes | None = None) -> dict:
    payload = data if data is not None else bytes([i % 256]) * 640
    return {
        "msg_type": 14,
        "content": {
            "user_id": user_id,
            "user_name": f"user{user_id}",
            "data": base64.b64encode(payload).decode(),
            "length": len(payload),
            "timestamp": 1_700_000_000_000 + 20 * i,
        },
    }


def transcript(text: str, ts: int = 1_700_000_000_000) -> dict:
    return {
        "msg_type": 17,
        "content": {"user_id": 16778240, "user_name": "Ada", "data": text, "timestamp": ts, "start_time": ts},
    }


async def connected(server: FakeRTMS, **overrides) -> tuple[RTMSClient, Collector]:
    client = RTMSClient(fast_config(server.url, **overrides))
    collector = Collector(client)
    await collector.wait_type(Connected)
    await server.wait_for(lambda: server.msgs("signaling", 7) != [])
    return client, collector


async def test_happy_path_handshakes_events_and_terminated():
    async with FakeRTMS() as server:
        client, col = await connected(server)

        # msg 1: signature over "client_id,meeting_uuid,rtms_stream_id", protocol version 1
        (hello,) = server.msgs("signaling", 1)
        assert hello["meeting_uuid"] == MEETING_UUID
        assert hello["rtms_stream_id"] == STREAM_ID
        assert hello["protocol_version"] == 1
        assert hello["signature"] == handshake_signature(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            instance_id=MEETING_UUID,
            rtms_stream_id=STREAM_ID,
        )
        assert "buffer_data" not in hello
        # msg 5: join, leave, active speaker, sharing start/stop
        (sub,) = server.msgs("signaling", 5)
        assert sorted(e["event_type"] for e in sub["events"]) == [2, 3, 4, 5, 6]
        # split sockets, one msg 3 each with only that type's bit and params
        bits = {name: server.msgs(name, 3)[0]["media_type"] for name in ("audio", "transcript", "chat")}
        assert bits == {"audio": 1, "transcript": 8, "chat": 16}
        audio_params = server.msgs("audio", 3)[0]["media_params"]["audio"]
        assert audio_params == {
            "content_type": 2,
            "codec": 1,
            "sample_rate": 1,
            "channel": 1,
            "data_opt": 2,
            "send_rate": 20,
        }
        # exactly one CLIENT_READY_ACK, on signaling, after every msg 3
        assert len(server.msgs("signaling", 7)) == 1
        assert server.msgs(None, 7) == server.msgs("signaling", 7)
        # client frames are compact JSON text frames
        assert all(isinstance(raw, str) and ", " not in raw for _, raw in server.raw_received)
        assert col.of(Connected) == [Connected(reconnect=False, media=("audio", "transcript", "chat"))]

        await server.send(
            "signaling", {"msg_type": 6, "event": {"event_type": 1, "timestamp": 1700000000000}}
        )
        await server.send(
            "signaling",
            {
                "msg_type": 6,
                "event": {
                    "event_type": 3,
                    "timestamp": 1700000000001,
                    "participants": [
                        {"user_id": 1, "user_name": "Ada"},
                        {"user_id": "2", "user_name": "Bob"},
                    ],
                },
            },
        )
        # the documented leave shape that Zoom's SDK rejects (PROTOCOL.md A.4)
        await server.send(
            "signaling",
            {
                "msg_type": 6,
                "event": {"event_type": 4, "timestamp": 1700000000002, "participants": [{"user_id": 2}]},
            },
        )
        for i in range(5):
            await server.send("audio", audio(1, i))
        await server.send("transcript", transcript("hello world"))
        await server.send("chat", {"msg_type": 18, "content": {"user_id": 1, "data": "hi", "timestamp": 5}})
        await col.wait_type(ChatEvent)
        await col.wait_for(lambda: len(col.of(AudioFrame)) == 5)
        await server.send("signaling", {"msg_type": 8, "state": 4, "reason": 6, "timestamp": 1})
        end = await col.until_end()

    assert end.stop_reason == 6
    assert end.error is None
    assert col.of(FirstPacketTimestamp) == [FirstPacketTimestamp(1700000000000)]
    assert [(p.user_id, p.user_name) for p in col.of(ParticipantJoined)] == [("1", "Ada"), ("2", "Bob")]
    assert col.of(ParticipantLeft) == [ParticipantLeft(user_id="2", timestamp=1700000000002)]
    frames = col.of(AudioFrame)
    assert [f.data for f in frames] == [bytes([i]) * 640 for i in range(5)]  # wire order
    assert [f.timestamp for f in frames] == [1_700_000_000_000 + 20 * i for i in range(5)]
    assert col.of(TranscriptEvent)[0].text == "hello world"
    assert col.of(ChatEvent)[0].text == "hi"
    assert client.stats.audio_frames == {"1": 5}
    assert client.stats.audio_bytes == {"1": 3200}


async def test_keep_alives_answered_on_every_socket_even_when_nobody_consumes():
    async with FakeRTMS() as server:
        client = RTMSClient(fast_config(server.url, audio_queue_size=10))
        client.start()  # nobody iterates events(): the slowest consumer possible
        await server.wait_for(lambda: server.msgs("signaling", 7) != [])
        for i in range(50):  # overflow the audio queue first
            await server.send("audio", audio(7, i))
        for n, path in enumerate(("signaling", "audio", "transcript", "chat")):
            await server.send(path, {"msg_type": 12, "timestamp": 1727384349123 + n, "sequence": 40 + n})
        await server.wait_for(lambda: len(server.msgs(None, 13)) == 4)
        for n, path in enumerate(("signaling", "audio", "transcript", "chat")):
            assert server.msgs(path, 13) == [
                {"msg_type": 13, "timestamp": 1727384349123 + n, "sequence": 40 + n}
            ]
        assert client.stats.keepalives_answered == {"signaling": 1, "audio": 1, "transcript": 1, "chat": 1}

        # drop-oldest: the 40 oldest frames were dropped, counted, and reported at the gap
        col = Collector(client)
        await col.wait_for(lambda: len(col.of(AudioFrame)) == 10)
        await client.close(request_stream_close=False)
        await col.until_end()
    assert client.stats.audio_frames_dropped == {"7": 40}
    assert client.stats.audio_bytes_dropped == {"7": 40 * 640}
    drop = col.events[0]
    assert isinstance(drop, AudioDropped)
    assert (drop.user_id, drop.frames, drop.bytes) == ("7", 40, 40 * 640)
    assert (drop.first_timestamp, drop.last_timestamp) == (1_700_000_000_000, 1_700_000_000_000 + 20 * 39)
    assert [f.timestamp for f in col.of(AudioFrame)] == [1_700_000_000_000 + 20 * i for i in range(40, 50)]


async def test_full_event_queue_loses_nothing_and_keeps_other_sockets_alive():
    async with FakeRTMS() as server:
        client = RTMSClient(fast_config(server.url, event_queue_size=5))
        client.start()
        await server.wait_for(lambda: server.msgs("signaling", 7) != [])
        for i in range(30):
            await server.send("transcript", transcript(f"t{i}", ts=i))
        await server.send("signaling", {"msg_type": 12, "timestamp": 1, "sequence": 1})
        await server.wait_for(lambda: len(server.msgs("signaling", 13)) == 1)
        assert client.stats.event_queue_full_waits >= 1
        col = Collector(client)
        await col.wait_for(lambda: len(col.of(TranscriptEvent)) == 30)
        assert [t.text for t in col.of(TranscriptEvent)] == [f"t{i}" for i in range(30)]
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_malformed_and_unknown_frames_are_skipped_never_fatal(caplog):
    junk = [
        "not json",
        "[1, 2, 3]",
        b"\xff\xfe\x00binary",
        '{"msg_type": "MEDIA_DATA_AUDIO", "content": {}}',
        '{"msg_type": 99}',
        '{"msg_type": 6, "event": {"event_type": 99}}',
        '{"msg_type": 14, "content": {"user_id": 1, "data": "%%%not base64", "timestamp": 1}}',
        '{"msg_type": 14, "content": "nope"}',
        '{"msg_type": 17, "content": {"data": 5, "timestamp": 1}}',
        '{"msg_type": 8, "state": "four"}',
        "NaN",
        '{"msg_type": 2, "status_code": 0}',
        "",
    ]
    async with FakeRTMS() as server:
        client, col = await connected(server)
        with caplog.at_level(logging.WARNING, logger="streams.rtms"):
            for frame in junk:
                await server.send("signaling", frame)
                await server.send("transcript", frame)
            await server.send("transcript", transcript("still alive"))
            await server.send(
                "signaling", {"msg_type": 6, "event": {"event_type": 3, "user_id": 9, "user_name": "Z"}}
            )
            # binary frames carrying JSON are fine
            await server.send("audio", b'{"msg_type":12,"timestamp":7,"sequence":8}')
            await col.wait_type(TranscriptEvent)
            await col.wait_type(ParticipantJoined)
            await server.wait_for(lambda: server.msgs("audio", 13) != [])
        assert client.stats.total_frames_skipped == 2 * len(junk)
        assert client.stats.frames_skipped["decode"] == 2 * 5
        assert "skipped frame" in caplog.text
        assert col.of(ParticipantJoined) == [ParticipantJoined("9", "Z", 0)]
        assert server.msgs("audio", 13) == [{"msg_type": 13, "timestamp": 7, "sequence": 8}]
        assert not col.of(Interrupted)
        await client.close(request_stream_close=False)
        end = await col.until_end()
        assert end.error is None


async def test_media_socket_lost_reopens_only_that_socket():
    async with FakeRTMS() as server:
        client, col = await connected(server)
        server.abort("audio")  # no close frame
        await col.wait_type(Connected, 2)
        await server.wait_for(lambda: len(server.msgs("signaling", 7)) == 2)
        interrupted = col.of(Interrupted)
        assert [i.scope for i in interrupted] == ["media:audio"]
        assert "without a close frame" in interrupted[0].reason
        assert len(server.msgs("signaling", 1)) == 1  # signaling untouched
        assert len(server.msgs("audio", 3)) == 2
        assert len(server.msgs("transcript", 3)) == 1
        assert col.of(Connected)[-1] == Connected(reconnect=True, media=("audio", "transcript", "chat"))
        await server.send("audio", audio(1, 1))
        await col.wait_type(AudioFrame)
        assert client.stats.media_reconnects == 1
        assert client.stats.full_reconnects == 0
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_signaling_lost_redoes_the_full_handshake_and_retries_duplicate_status():
    async with FakeRTMS() as server:
        client, col = await connected(server)
        server.signaling_statuses = [8, 8]  # duplicate signal request twice: retried (SDK bug: no retry)
        server.abort("signaling")
        await col.wait_type(Connected, 2, timeout=8)
        assert [i.scope for i in col.of(Interrupted)] == ["signaling"]
        assert len(server.msgs("signaling", 1)) == 4
        assert len(server.msgs("signaling", 5)) == 2  # re-subscribed after the rejoin
        assert all(len(server.msgs(p, 3)) == 2 for p in ("audio", "transcript", "chat"))
        assert col.of(Connected)[-1].reconnect is True
        assert client.stats.full_reconnects == 1
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_backoff_doubles_up_to_the_cap_then_resets(monkeypatch):
    async with FakeRTMS() as server:
        client, col = await connected(
            server,
            reconnect_initial_delay=0.2,
            reconnect_max_delay=0.8,
            reconnect_window=10,
            reconnect_jitter=0.0,
        )
        server.signaling_statuses = [8, 8, 8, 8]
        loop = asyncio.get_running_loop()
        times: list[float] = [loop.time()]
        server.on_message = lambda path, msg: times.append(loop.time()) if msg.get("msg_type") == 1 else None
        server.abort("signaling")
        await col.wait_type(Connected, 2, timeout=8)
        gaps = [round(b - a, 1) for a, b in itertools.pairwise(times)]
        assert gaps == [0.2, 0.4, 0.8, 0.8, 0.8]
        # reset after success: the next loss waits the initial delay again
        times[:] = [loop.time()]
        server.abort("signaling")
        await col.wait_type(Connected, 3, timeout=8)
        assert round(times[1] - times[0], 1) == 0.2
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_invalid_signature_is_fatal_without_retry():
    async with FakeRTMS() as server:
        cfg = fast_config(server.url, client_secret="wrong")
        client = RTMSClient(cfg)
        col = Collector(client)
        end = await col.until_end()
        assert isinstance(end.error, RTMSAuthError)
        assert end.error.status_code == 3
        assert len(server.msgs("signaling", 1)) == 1
        assert not col.of(Connected)
        with pytest.raises(RTMSStreamEnded):
            client.failover(server.url)


async def test_gives_up_after_the_reconnect_window():
    async with FakeRTMS() as server:
        client, col = await connected(server, reconnect_window=1.0)
        await server.stop()  # closes every socket (1001) and refuses new connections
        end = await col.until_end(timeout=6)
    assert isinstance(end.error, RTMSConnectionError)
    assert "reconnect window" in end.detail
    assert "signaling" in [i.scope for i in col.of(Interrupted)]
    assert client.stats.failed_attempts >= 2


async def test_stream_close_request_waits_for_resp_and_terminated():
    async with FakeRTMS() as server:

        async def on_message(path: str, msg: dict) -> None:
            if msg.get("msg_type") == 21:
                await server.send(
                    "signaling", {"msg_type": 22, "rtms_stream_id": STREAM_ID, "status_code": 0}
                )
                await server.send("signaling", {"msg_type": 8, "state": 4, "reason": 20, "timestamp": 1})
                await server.close("signaling")

        server.on_message = on_message
        client, col = await connected(server)
        await asyncio.wait_for(client.close(request_stream_close=True), 10)
        end = await col.until_end()
        assert server.msgs("signaling", 21) == [{"msg_type": 21, "rtms_stream_id": STREAM_ID}]
        assert end.stop_reason == 20
        assert "STREAM_CLOSE_REQ" in end.detail
        assert not col.of(Interrupted)


async def test_close_without_stream_close_request_is_a_handover():
    async with FakeRTMS() as server:
        client, col = await connected(server)
        await asyncio.wait_for(client.close(request_stream_close=False), 10)
        end = await col.until_end()
        await server.wait_for(lambda: not server.conns)
        assert server.msgs(None, 21) == []
        assert end.stop_reason is None
        assert "handover" in end.detail


async def test_failover_reconnects_to_the_new_server():
    async with FakeRTMS() as first, FakeRTMS() as second:
        client, col = await connected(first)
        client.failover(second.url)
        await col.wait_type(Connected, 2)
        await second.wait_for(lambda: second.msgs("signaling", 7) != [])
        await first.wait_for(lambda: not first.conns)
        assert col.of(Interrupted)[0].scope == "signaling"
        assert "failover" in col.of(Interrupted)[0].reason
        await second.send("transcript", transcript("from the new server"))
        assert (await col.wait_type(TranscriptEvent))[0].text == "from the new server"
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_no_media_frame_lost_when_terminated_follows_immediately():
    async with FakeRTMS() as server:
        _client, col = await connected(server)
        for i in range(200):
            await server.send("audio", audio(3, i))
        await server.send("signaling", {"msg_type": 8, "state": 4, "reason": 6, "timestamp": 1})
        await server.close("audio")
        end = await col.until_end()
    assert end.stop_reason == 6
    assert len(col.of(AudioFrame)) == 200
    assert isinstance(col.events[-1], StreamEnded)


async def test_last_session_stopped_ends_the_stream_with_stop_reason_field():
    async with FakeRTMS() as server:
        _client, col = await connected(server)
        await server.send("signaling", {"msg_type": 9, "rtms_session_id": "s1", "state": 2, "timestamp": 1})
        await server.send("signaling", {"msg_type": 9, "rtms_session_id": "s2", "state": 2, "timestamp": 1})
        await server.send("signaling", {"msg_type": 9, "rtms_session_id": "s1", "state": 5, "stop_reason": 3})
        await server.send("transcript", transcript("s2 still streams"))
        await col.wait_type(TranscriptEvent)
        await server.send(
            "signaling",
            {"msg_type": 9, "rtms_session_id": "s2", "state": 5, "stop_reason": "STOP_BC_MEETING_ENDED"},
        )
        end = await col.until_end()
    assert end.stop_reason == 6


async def test_only_all_url_uses_one_unified_socket():
    async with FakeRTMS(only_all=True) as server:
        client, col = await connected(server)
        (req,) = server.msgs("all", 3)
        assert req["media_type"] == 1 | 8 | 16
        assert set(req["media_params"]) == {"audio", "transcript", "chat"}
        await server.send("all", audio(1, 0))
        await server.send("all", transcript("unified"))
        await col.wait_type(TranscriptEvent)
        assert col.of(AudioFrame)
        server.abort("all")
        await col.wait_type(Connected, 2)
        assert [i.scope for i in col.of(Interrupted)] == ["media:all"]
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_media_type_not_in_scope_is_dropped_others_continue():
    async with FakeRTMS() as server:
        server.media_statuses["chat"] = [13]  # MEDIA_TYPE_CHAT_NOT_SUPPORT
        client, col = await connected(server)
        assert col.of(Connected)[0].media == ("audio", "transcript")
        assert client.granted_media == ("audio", "transcript")
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_idle_socket_is_treated_as_lost():
    async with FakeRTMS() as server:
        client, col = await connected(server, idle_timeout=0.5)

        async def keep_signaling_alive() -> None:
            for _ in range(30):
                await asyncio.sleep(0.1)
                if "signaling" in server.conns:
                    await server.send("signaling", {"msg_type": 12, "timestamp": 1, "sequence": 1})

        task = asyncio.create_task(keep_signaling_alive())
        interrupted = await col.wait_type(Interrupted)
        assert interrupted[0].scope.startswith("media:")
        assert "no frame" in interrupted[0].reason
        task.cancel()
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_handshake_timeout_is_retried_then_gives_up():
    async with FakeRTMS(answer_handshakes=False) as server:
        client = RTMSClient(fast_config(server.url, handshake_timeout=0.3, reconnect_window=1.0))
        col = Collector(client)
        end = await col.until_end(timeout=8)
    assert isinstance(end.error, RTMSConnectionError)
    assert len(server.msgs("signaling", 1)) >= 2


async def test_wss_uses_a_verifying_tls_context(monkeypatch):
    captured = {}

    async def fake_connect(url, **kwargs):
        captured.update(kwargs)
        raise OSError("no network in this test")

    monkeypatch.setattr("streams.rtms.sockets.ws_connect", fake_connect)
    client = RTMSClient(fast_config("wss://rtms.example.invalid/sig", reconnect_window=0.2))
    col = Collector(client)
    end = await col.until_end()
    assert isinstance(end.error, RTMSConnectionError)
    ctx = captured["ssl"]
    import ssl

    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True


def test_config_validation():
    with pytest.raises(ValueError, match="media"):
        fast_config("ws://127.0.0.1:1/", media=("video",))
    with pytest.raises(ValueError, match="server_urls"):
        fast_config("http://example.com")
    with pytest.raises(ValueError, match="send_rate"):
        fast_config("ws://127.0.0.1:1/", audio_send_rate_ms=30)
    with pytest.raises(ValueError, match="client_id"):
        fast_config("ws://127.0.0.1:1/", client_id="")
    cfg = fast_config(" ws://a/1 , wss://b/2 ,junk")
    assert cfg.signaling_urls() == ["ws://a/1", "wss://b/2"]


async def test_configurable_id_key_and_buffer_data():
    async with FakeRTMS() as server:
        client = RTMSClient(fast_config(server.url, id_key="session_id", buffer_data=False))
        col = Collector(client)
        await server.wait_for(lambda: server.msgs("signaling", 1) != [])
        (hello,) = server.msgs("signaling", 1)
        assert hello["session_id"] == MEETING_UUID
        assert "meeting_uuid" not in hello
        assert hello["buffer_data"] is False
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_events_received_during_the_handshake_follow_connected():
    async with FakeRTMS() as server:

        async def on_message(path: str, msg: dict) -> None:
            if msg.get("msg_type") == 5:  # right after msg 2, before any media handshake
                await server.send("signaling", {"msg_type": 6, "event": {"event_type": 1, "timestamp": 42}})

        server.on_message = on_message
        client, col = await connected(server)
        await col.wait_type(FirstPacketTimestamp)
        assert col.events[:2] == [
            Connected(reconnect=False, media=("audio", "transcript", "chat")),
            FirstPacketTimestamp(42),
        ]
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_media_connection_interrupted_reopens_a_silent_media_socket():
    async with FakeRTMS() as server:
        client, col = await connected(server, media_interrupt_grace=0.4)
        await server.send("signaling", {"msg_type": 6, "event": {"event_type": 7, "timestamp": 1}})
        for _ in range(8):  # transcript and chat stay alive; audio stays silent (half-open)
            await asyncio.sleep(0.1)
            for path in ("transcript", "chat"):
                await server.send(path, {"msg_type": 12, "timestamp": 1, "sequence": 1})
        await col.wait_type(Connected, 2)
        assert [i.scope for i in col.of(Interrupted)] == ["media:audio"]
        assert "MEDIA_CONNECTION_INTERRUPTED" in col.of(Interrupted)[0].reason
        assert len(server.msgs("audio", 3)) == 2
        assert len(server.msgs("transcript", 3)) == 1
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_media_replayed_after_a_reconnect_is_delivered_once():
    async with FakeRTMS() as server:
        client, col = await connected(server)
        for i in range(5):
            await server.send("audio", audio(1, i))
        await server.send("transcript", transcript("once", ts=7))
        await col.wait_for(lambda: len(col.of(AudioFrame)) == 5 and bool(col.of(TranscriptEvent)))
        server.abort("audio")
        server.abort("transcript")
        await col.wait_for(lambda: len(col.of(Connected)) >= 2 and len(server.conns) == 4)
        await server.wait_for(lambda: len(server.msgs("signaling", 7)) >= 2 and len(server.conns) == 4)
        for i in range(2, 8):  # Zoom replays what it could not confirm, then goes on
            await server.send("audio", audio(1, i))
        await server.send("transcript", transcript("once", ts=7))
        await server.send("transcript", transcript("twice", ts=8))
        await col.wait_for(lambda: len(col.of(TranscriptEvent)) == 2)
        await col.wait_for(lambda: len(col.of(AudioFrame)) == 8)
        assert [f.timestamp - 1_700_000_000_000 for f in col.of(AudioFrame)] == [20 * i for i in range(8)]
        assert [t.text for t in col.of(TranscriptEvent)] == ["once", "twice"]
        assert client.stats.duplicates_skipped == {"audio": 3, "transcript": 1}
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_frames_queued_before_the_servers_close_are_delivered_past_a_keep_alive():
    """Issue 18 (the Zoom-replay burst flake): a reader behind the network reaches a keep-alive
    request only after the server's close frame is in. It cannot answer any more; it must still
    deliver every frame received before the close, not drop the rest of its queue uncounted."""
    async with FakeRTMS() as server:
        client, col = await connected(server)
        reader_behind = asyncio.Event()
        handle = client._handle_frame

        async def slow_reader(sock, frame):  # the audio reader is busy until the close is in
            if sock.name == "audio":
                await reader_behind.wait()
            return await handle(sock, frame)

        client._handle_frame = slow_reader
        audio_ws = client._media["audio"].ws
        for i in range(5):
            await server.send("audio", audio(1, i))
        await server.send("audio", {"msg_type": 12, "timestamp": 1_700_000_000_000, "sequence": 9})
        for i in range(5, 10):
            await server.send("audio", audio(1, i))
        await server.close("audio")  # Zoom ends the stream: its close frame follows the media
        assert audio_ws.protocol.close_rcvd is not None
        reader_behind.set()
        await col.wait_for(lambda: len(col.of(Connected)) >= 2)  # the media socket reopened
        assert [f.timestamp - 1_700_000_000_000 for f in col.of(AudioFrame)] == [20 * i for i in range(10)]
        assert col.of(AudioDropped) == []
        assert client.stats.keepalives_answered.get("audio", 0) == 0  # no answer after the close
        await client.close(request_stream_close=False)
        await col.until_end()


@pytest.fixture
def self_signed_cert(tmp_path):
    """A self-signed certificate for 127.0.0.1, made with the openssl command-line tool."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command-line tool is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


async def test_tls_verification_is_on_by_default_and_a_trusted_context_connects(self_signed_cert):
    import ssl

    cert, key = self_signed_cert
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    async with FakeRTMS(ssl=server_ctx) as server:
        assert server.url.startswith("wss://")
        untrusting = RTMSClient(fast_config(server.url, reconnect_window=0.3))
        col = Collector(untrusting)
        end = await col.until_end()
        assert isinstance(end.error, RTMSConnectionError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(end.error)
        assert server.received == []

        trusting_ctx = ssl.create_default_context(cafile=str(cert))
        client = RTMSClient(fast_config(server.url, ssl=trusting_ctx))
        col = Collector(client)
        await col.wait_type(Connected)
        assert server.msgs("audio", 3)  # media sockets over wss too
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_media_reopen_retries_a_stale_media_registration():
    async with FakeRTMS() as server:
        client, col = await connected(server)
        server.media_statuses["audio"] = [16, 16]  # DUPLICATE_MEDIA_DATA_CONNECTION while the old one lingers
        server.abort("audio")
        await col.wait_type(Connected, 2)
        assert len(server.msgs("audio", 3)) == 4
        assert client.stats.failed_attempts == 2
        assert len(server.msgs("signaling", 1)) == 1
        await client.close(request_stream_close=False)
        await col.until_end()


async def test_fatal_media_status_ends_the_stream():
    async with FakeRTMS() as server:
        server.media_statuses["audio"] = [18]  # INVALID_MEDIA_AUDIO_PARAMS
        client = RTMSClient(fast_config(server.url))
        col = Collector(client)
        end = await col.until_end()
        assert end.error is not None
        assert end.error.status_code == 18
        assert end.error.scope == "media:audio"
        assert len(server.msgs("signaling", 1)) == 1


async def test_audio_left_unread_by_a_cancelled_reader_is_counted_as_dropped():
    """A reader that must be cancelled (it did not finish draining in time) leaves frames in its
    WebSocket queue: the audio among them is counted and reported as AudioDropped, not lost."""
    import json
    from collections import deque
    from types import SimpleNamespace

    client = RTMSClient(fast_config("ws://127.0.0.1:9/"))
    queued = deque(
        [
            SimpleNamespace(data=json.dumps(audio(7, 1)).encode()),
            SimpleNamespace(data=json.dumps(transcript("not audio")).encode()),
            SimpleNamespace(data=b"\xff\xfe junk"),
            SimpleNamespace(data=json.dumps(audio(7, 2)).encode()),
        ]
    )
    sock = SimpleNamespace(
        ws=SimpleNamespace(recv_messages=SimpleNamespace(frames=SimpleNamespace(queue=queued))),
        replay_guard=False,
    )
    client._count_unread(sock)
    assert client.stats.audio_frames_dropped == {"7": 2}
    assert client.stats.audio_bytes_dropped == {"7": 1280}
    dropped = await asyncio.wait_for(client._outbox.get(), 1)
    assert dropped == AudioDropped("7", "user7", 2, 1280, 1_700_000_000_020, 1_700_000_000_040)
    assert not queued

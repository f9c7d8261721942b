"""The emulator's wire behaviour, driven by a minimal hand-written RTMS client (no SDK)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from rtms_emulator import Emulator, scenario_from_dict
from streams.rtms.protocol import FRAME_BYTES, StatusCode, StopReason
from streams.rtms.signing import handshake_signature, url_validation_token, webhook_signature_is_valid
from tests.streams.emulator.conftest import CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET, emulator_config


def tiny_scenario(shared_data, **extra):
    data = {
        "name": "tiny",
        "participants": [
            {"id": "a", "user_name": "Ann", "audio": str(shared_data / "speech/jfk.wav")},
            {"id": "b", "user_name": "Ben", "join": 0.5},
        ],
        "transcript": [{"participant": "a", "start": 0.0, "end": 1.0, "text": "hello there"}],
        "chat": [{"at": 0.4, "participant": "b", "text": "hi all"}],
        "duration": 2.0,
    }
    return scenario_from_dict(data | extra)


class RawClient:
    """Signaling + media sockets speaking JSON text; answers keep-alives if asked to."""

    def __init__(self, run, *, answer_keepalives: bool = True, secret: str = CLIENT_SECRET) -> None:
        self.run = run
        self.answer = answer_keepalives
        self.signature = handshake_signature(
            client_id=CLIENT_ID,
            client_secret=secret,
            instance_id=run.meeting_uuid,
            rtms_stream_id=run.rtms_stream_id,
        )
        self.received: dict[str, list[dict]] = {"signaling": [], "audio": [], "transcript": [], "chat": []}
        self.sockets: dict = {}
        self.tasks: list[asyncio.Task] = []

    def hello(self, msg_type: int, **extra) -> str:
        return json.dumps(
            {
                "msg_type": msg_type,
                "protocol_version": 1,
                "sequence": 1,
                "meeting_uuid": self.run.meeting_uuid,
                "rtms_stream_id": self.run.rtms_stream_id,
                "signature": self.signature,
                **extra,
            }
        )

    async def open_signaling(self) -> dict:
        ws = await connect(self.run.server_urls)
        await ws.send(self.hello(1))
        resp = json.loads(await asyncio.wait_for(ws.recv(), 5))
        self.sockets["signaling"] = ws
        return resp

    async def open_media(self, url: str, media_type: int, params: dict | None) -> dict:
        ws = await connect(url)
        await ws.send(self.hello(3, media_type=media_type, media_params=params))
        resp = json.loads(await asyncio.wait_for(ws.recv(), 5))
        return resp, ws

    async def join(self, *, audio_params: dict | None = None, types=("audio", "transcript", "chat")) -> None:
        resp = await self.open_signaling()
        assert resp["status_code"] == 0, resp
        urls = resp["media_server"]["server_urls"]
        bits = {"audio": 1, "transcript": 8, "chat": 16}
        for name in types:
            params = {"audio": audio_params or {"data_opt": 2}} if name == "audio" else None
            media_resp, ws = await self.open_media(urls[name], bits[name], params)
            assert media_resp["status_code"] == 0, media_resp
            assert media_resp["payload_encrypted"] is False
            self.sockets[name] = ws
        sig = self.sockets["signaling"]
        await sig.send(
            json.dumps(
                {"msg_type": 5, "events": [{"event_type": t, "subscribe": True} for t in (2, 3, 4, 5, 6)]}
            )
        )
        await sig.send(json.dumps({"msg_type": 7, "rtms_stream_id": self.run.rtms_stream_id}))
        for name, ws in self.sockets.items():
            self.tasks.append(asyncio.create_task(self._read(name, ws)))

    async def _read(self, name: str, ws) -> None:
        try:
            async for raw in ws:
                msg = json.loads(raw)
                self.received[name].append(msg)
                if msg["msg_type"] == 12 and self.answer:
                    await ws.send(
                        json.dumps(
                            {"msg_type": 13, "timestamp": msg["timestamp"], "sequence": msg["sequence"]}
                        )
                    )
        except ConnectionClosed:
            pass

    def of(self, name: str, msg_type: int) -> list[dict]:
        return [m for m in self.received[name] if m["msg_type"] == msg_type]

    async def close(self) -> None:
        for ws in self.sockets.values():
            await ws.close()
        for task in self.tasks:
            task.cancel()


@pytest.fixture
async def emu():
    async with Emulator(
        emulator_config(keepalive_interval=0.2, ready_delay=0.05, terminate_gap=0.05)
    ) as emulator:
        yield emulator


async def test_raw_client_gets_multistream_audio_transcript_chat_and_events(emu, shared_data):
    scenario = tiny_scenario(shared_data)
    run = await emu.play(scenario, speed=4.0)
    client = RawClient(run)
    await client.join()
    record = await run.wait(10)
    await client.close()

    audio = client.of("audio", 14)
    assert {m["content"]["user_id"] for m in audio} == {scenario.participants[0].user_id}
    assert all(m["content"]["length"] == FRAME_BYTES for m in audio)
    stamps = [m["content"]["timestamp"] for m in audio]
    assert stamps == sorted(stamps)
    assert all(b - a == 20 for a, b in itertools.pairwise(stamps))
    data = b"".join(base64.b64decode(m["content"]["data"]) for m in audio)
    assert (
        data == scenario.expected_audio(scenario.participants[0].user_id) == record.sent.audio_bytes(16778240)
    )
    assert [m["content"]["data"] for m in client.of("transcript", 17)] == ["hello there"]
    chat = json.loads(client.of("chat", 18)[0]["content"]["data"])
    assert chat["data"] == "hi all"
    assert chat["sender"]["user_name"] == "Ben"
    events = [m["event"] for m in client.of("signaling", 6)]
    assert events[0]["event_type"] == 1
    assert events[0]["timestamp"] == record.first_packet_timestamp
    assert [e["event_type"] for e in events].count(3) == 2  # Ann at start, Ben at 0.5 s
    states = [(m["msg_type"], m["state"]) for m in client.received["signaling"] if m["msg_type"] in (8, 9)]
    assert states[:2] == [(8, 1), (9, 2)]
    assert states[-2:] == [(9, 5), (8, 4)]
    assert client.of("signaling", 8)[-1]["reason"] == StopReason.STOP_BC_MEETING_ENDED
    assert all("sequence" in m for name in client.received for m in client.of(name, 12))
    assert record.verdict(min_keepalive_answers=1), str(record.verdict(min_keepalive_answers=1))


async def test_mixed_stream_sums_participants_with_user_id_zero(emu, shared_data):
    scenario = tiny_scenario(shared_data)
    run = await emu.play(scenario, speed=None)
    client = RawClient(run)
    await client.join(audio_params={"data_opt": 1, "send_rate": 100}, types=("audio",))
    record = await run.wait(10)
    await client.close()

    audio = client.of("audio", 14)
    assert all(m["content"]["user_id"] == 0 and "user_name" not in m["content"] for m in audio)
    assert all(m["content"]["length"] == 5 * FRAME_BYTES for m in audio[:-1])  # 100 ms packets
    data = b"".join(base64.b64decode(m["content"]["data"]) for m in audio)
    assert (
        data
        == b"".join(scenario.mixed_frame(t) for t in range(scenario.n_ticks))
        == record.sent.audio_bytes(0)
    )
    assert record.unsubscribed.get("transcript") == 1
    assert record.unsubscribed.get("chat") == 1


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        ({"signature": "0" * 64}, StatusCode.INVALID_SIGNATURE),
        ({"rtms_stream_id": "no-such-stream"}, StatusCode.INVALID_RTMS_STREAM_ID),
        ({"msg_type": 3}, StatusCode.INVALID_MESSAGE_TYPE),
        ({"protocol_version": 2}, StatusCode.INVALID_PAYLOAD),
    ],
)
async def test_bad_signaling_handshake_gets_real_status_code(emu, shared_data, mutate, status):
    run = await emu.play(tiny_scenario(shared_data), speed=None)
    client = RawClient(run)
    hello = json.loads(client.hello(1)) | mutate
    async with connect(emu.url("signaling")) as ws:
        await ws.send(json.dumps(hello))
        resp = json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert (resp["msg_type"], resp["status_code"]) == (2, status)
    assert "media_server" not in resp
    assert emu.rejected_handshakes[-1].status_code == status
    await run.stop()


@pytest.mark.parametrize(
    ("media_type", "params", "status"),
    [
        (1, {"audio": {"send_rate": 30}}, StatusCode.INVALID_MEDIA_AUDIO_SEND_RATE),
        (1, {"audio": {"content_type": 1}}, StatusCode.INVALID_MEDIA_AUDIO_CONTENT_TYPE),
        (1, {"audio": {"codec": 9}}, StatusCode.INVALID_MEDIA_AUDIO_CODEC),
        (8, None, StatusCode.INVALID_MEDIA_TYPE),  # transcript on the audio URL
        (0, None, StatusCode.MEDIA_TYPE_INVALID_VALUE),
        ("1", None, StatusCode.INVALID_MEDIA_TYPE),
    ],
)
async def test_bad_media_handshake_gets_real_status_code(emu, shared_data, media_type, params, status):
    run = await emu.play(tiny_scenario(shared_data), speed=None)
    client = RawClient(run)
    resp = await client.open_signaling()
    media_resp, ws = await client.open_media(resp["media_server"]["server_urls"]["audio"], media_type, params)
    await ws.close()
    await client.close()
    assert (media_resp["msg_type"], media_resp["status_code"]) == (4, status)
    await run.stop()


async def test_second_media_connection_for_a_type_is_refused(emu, shared_data):
    run = await emu.play(tiny_scenario(shared_data), speed=None)
    client = RawClient(run)
    resp = await client.open_signaling()
    url = resp["media_server"]["server_urls"]["audio"]
    first, ws1 = await client.open_media(url, 1, None)
    second, ws2 = await client.open_media(url, 1, None)
    assert (first["status_code"], second["status_code"]) == (0, StatusCode.DUPLICATE_MEDIA_DATA_CONNECTION)
    await ws1.close()
    await ws2.close()
    await client.close()
    await run.stop()


async def test_duplicate_signaling_rejected_with_8_or_kicks_first(shared_data):
    for policy, expected in (("reject", StatusCode.DUPLICATE_SIGNAL_REQUEST), ("kick", StatusCode.OK)):
        async with Emulator(emulator_config(duplicate_signaling=policy)) as emu:
            run = await emu.play(tiny_scenario(shared_data), speed=None)
            first, second = RawClient(run), RawClient(run)
            assert (await first.open_signaling())["status_code"] == 0
            assert (await second.open_signaling())["status_code"] == expected
            if policy == "kick":
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(first.sockets["signaling"].recv(), 5)
                assert closed.value.rcvd.code == 1000
            await first.close()
            await second.close()


async def test_stream_close_request_is_answered_then_terminated_with_reason_20(emu, shared_data):
    run = await emu.play(tiny_scenario(shared_data, duration=30.0), speed=1.0)
    client = RawClient(run)
    await client.join()
    await asyncio.sleep(0.3)
    await client.sockets["signaling"].send(json.dumps({"msg_type": 21, "rtms_stream_id": run.rtms_stream_id}))
    record = await run.wait(5)
    await client.close()
    close_resp = client.of("signaling", 22)
    assert close_resp
    assert close_resp[0]["status_code"] == 0
    assert close_resp[0]["rtms_stream_id"] == run.rtms_stream_id
    assert client.of("signaling", 8)[-1]["state"] == 4
    assert client.of("signaling", 8)[-1]["reason"] == 20
    assert record.stop_reason == StopReason.STOP_BC_RECEIVER_REQUEST_CLOSE
    assert record.verdict(require_complete=False)


async def test_three_missed_keepalives_drop_signaling_then_stream_times_out(shared_data):
    cfg = emulator_config(keepalive_interval=0.1, reconnect_window=0.5)
    async with Emulator(cfg) as emu:
        run = await emu.play(tiny_scenario(shared_data, duration=30.0), speed=1.0)
        client = RawClient(run, answer_keepalives=False)
        await client.join()
        record = await run.wait(5)
        await client.close()
    assert record.stop_reason == StopReason.STOP_BC_KEEP_ALIVE_TIMEOUT
    assert any("keep-alives unanswered" in note for note in record.notes)
    verdict = record.verdict(require_complete=False)
    assert not verdict
    assert "unanswered" in str(verdict)


async def test_pause_resume_sends_states_and_no_media_while_paused(emu, shared_data):
    scenario = tiny_scenario(
        shared_data, events=[{"at": 0.6, "type": "pause"}, {"at": 1.2, "type": "resume"}]
    )
    run = await emu.play(scenario, speed=4.0)
    client = RawClient(run)
    await client.join(types=("audio",))
    record = await run.wait(10)
    await client.close()
    states = [(m["msg_type"], m["state"]) for m in client.received["signaling"] if m["msg_type"] in (8, 9)]
    pause_states = {(8, 5), (9, 3), (8, 6), (9, 4)}
    assert [s for s in states if s in pause_states] == [(8, 5), (9, 3), (8, 6), (9, 4)]
    stamps = [m["content"]["timestamp"] - record.first_packet_timestamp for m in client.of("audio", 14)]
    assert not [t for t in stamps if 600 <= t < 1200]
    uid = scenario.participants[0].user_id
    assert record.sent.audio_bytes(uid) == scenario.expected_audio(uid, paused=record.paused_intervals)


class _Hook(BaseHTTPRequestHandler):
    received: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        payload = json.loads(body)
        answer = b"{}"
        if payload["event"] == "endpoint.url_validation":
            token = payload["payload"]["plainToken"]
            answer = json.dumps(
                {
                    "plainToken": token,
                    "encryptedToken": url_validation_token(secret_token=WEBHOOK_SECRET, plain_token=token),
                }
            ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_endpoint():
    received: list = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/zoom/", received
    server.shutdown()
    server.server_close()


async def test_webhooks_are_signed_and_failover_moves_the_stream(emu, shared_data, webhook_endpoint):
    url, received = webhook_endpoint
    check = await emu.validate_url(url)
    assert check.ok, check.detail
    run = await emu.play(
        tiny_scenario(shared_data, duration=3.0),
        webhook_url=url,
        speed=2.0,
        faults=["failover@0.5", "duplicate_webhook@0.6"],
    )
    first_urls = run.server_urls
    client = RawClient(run)
    await client.join(types=("audio",))
    for _ in range(100):  # the failover webhook arrives
        if len([b for _, b in received if b'"meeting.rtms_started"' in b]) >= 2:
            break
        await asyncio.sleep(0.05)
    assert run.server_urls != first_urls
    assert "/fo1/" in run.server_urls
    with pytest.raises(InvalidStatus) as old:
        await connect(first_urls)
    assert old.value.response.status_code == 503
    await client.close()
    client = RawClient(run)  # the app follows the new server_urls
    await client.join(types=("audio",))
    record = await run.wait(10)
    await client.close()

    events = [json.loads(b)["event"] for _, b in received]
    assert events == [
        "endpoint.url_validation",
        "meeting.rtms_started",
        "meeting.rtms_started",
        "meeting.rtms_started",
        "meeting.rtms_stopped",
    ]
    for headers, body in received:
        assert webhook_signature_is_valid(
            secret_token=WEBHOOK_SECRET,
            timestamp=headers["x-zm-request-timestamp"],
            body=body,
            signature=headers["x-zm-signature"],
        )
    starts = [json.loads(b)["payload"] for _, b in received if b'"meeting.rtms_started"' in b]
    assert starts[0]["server_urls"] != starts[1]["server_urls"]
    assert starts[1]["server_urls"] == run.server_urls
    assert received[3][1] == received[1][1]  # duplicate_webhook: the very same body again
    stopped = json.loads(received[-1][1])["payload"]
    assert stopped == {
        "meeting_uuid": run.meeting_uuid,
        "rtms_stream_id": run.rtms_stream_id,
        "stop_reason": 6,
    }
    # audio continued on the new server without loss
    assert record.sent.audio_bytes(16778240) == tiny_scenario(shared_data, duration=3.0).expected_audio(
        16778240
    )
    assert record.verdict(), str(record.verdict())


async def test_media_close_frame_then_media_only_reconnect_loses_nothing(emu, shared_data):
    scenario = tiny_scenario(shared_data, duration=3.0)
    run = await emu.play(scenario, speed=2.0, faults=["media_close@1.0:media=audio,code=1001"])
    client = RawClient(run)
    await client.join(types=("audio",))
    old = client.sockets["audio"]
    await asyncio.wait_for(old.wait_closed(), 5)
    assert old.close_code == 1001
    for _ in range(100):  # the interruption is announced on signaling
        if client.of("signaling", 8) and client.of("signaling", 8)[-1]["state"] == 2:
            break
        await asyncio.sleep(0.02)
    assert client.of("signaling", 8)[-1]["reason"] == StopReason.STOP_BC_DATA_CONNECTION_INTERRUPTED
    assert [m["event"]["event_type"] for m in client.of("signaling", 6)].count(7) == 1
    # reopen only the audio socket: msg 3 -> msg 4 -> msg 7 on signaling
    resp, ws = await client.open_media(
        run.emulator.url(f"media/audio/{run.rtms_stream_id}"), 1, {"audio": {"data_opt": 2}}
    )
    assert resp["status_code"] == 0
    client.sockets["audio2"] = ws
    client.received["audio2"] = []
    client.tasks.append(asyncio.create_task(client._read("audio2", ws)))
    await client.sockets["signaling"].send(json.dumps({"msg_type": 7, "rtms_stream_id": run.rtms_stream_id}))
    record = await run.wait(10)
    await client.close()

    frames = {}
    for m in client.of("audio", 14) + client.of("audio2", 14):
        frames[m["content"]["timestamp"]] = base64.b64decode(m["content"]["data"])
    assert b"".join(frames[t] for t in sorted(frames)) == scenario.expected_audio(16778240)
    assert client.of("signaling", 8)[-2]["state"] == 1  # ACTIVE again after the recovery
    close = next(c for c in record.closes if c.socket == "media:audio")
    assert (close.by, close.code) == ("server", 1001)
    assert record.verdict(), str(record.verdict())


async def test_server_initiated_termination_carries_the_stop_reason(emu, shared_data):
    run = await emu.play(tiny_scenario(shared_data, duration=5.0), speed=2.0, faults=["terminate@1:reason=5"])
    client = RawClient(run)
    await client.join(types=("audio",))
    record = await run.wait(10)
    await client.close()
    assert record.stop_reason == StopReason.STOP_BC_HOST_DISABLED_APP
    assert client.of("signaling", 8)[-1] == {
        "msg_type": 8,
        "state": 4,
        "reason": 5,
        "timestamp": client.of("signaling", 8)[-1]["timestamp"],
    }
    assert client.of("signaling", 9)[-1]["reason"] == 5
    assert not record.completed


@pytest.mark.parametrize(("product", "id_key"), [("webinar", "webinar_uuid"), ("session", "session_id")])
async def test_signaling_drop_sends_rtms_interrupted_and_a_rejoin_resumes(
    emu, shared_data, webhook_endpoint, product, id_key
):
    url, received = webhook_endpoint
    scenario = tiny_scenario(shared_data, duration=3.0)
    run = await emu.play(scenario, webhook_url=url, speed=2.0, product=product, faults=["signaling_abort@1"])
    client = RawClient(run)
    await client.join(types=("audio",))
    await asyncio.wait_for(client.sockets["signaling"].wait_closed(), 5)
    await asyncio.wait_for(client.sockets["audio"].wait_closed(), 5)  # media is interrupted with it
    first = client
    client = RawClient(run)  # rejoin from scratch, as Zoom's SDK does
    await client.join(types=("audio",))
    record = await run.wait(10)
    await client.close()
    await first.close()

    events = [json.loads(b)["event"] for _, b in received]
    assert events == [f"{product}.rtms_started", f"{product}.rtms_interrupted", f"{product}.rtms_stopped"]
    interrupted = json.loads(received[1][1])["payload"]
    assert interrupted == {id_key: run.meeting_uuid, "rtms_stream_id": run.rtms_stream_id}
    assert json.loads(received[0][1])["payload"][id_key] == run.meeting_uuid
    # the new connection was told about the session again, and no audio was lost
    assert next(m["state"] for m in client.of("signaling", 9)) == 2
    frames = {}
    for m in first.of("audio", 14) + client.of("audio", 14):
        frames[m["content"]["timestamp"]] = base64.b64decode(m["content"]["data"])
    assert b"".join(frames[t] for t in sorted(frames)) == scenario.expected_audio(16778240)
    assert record.verdict(), str(record.verdict())


async def test_failed_webhook_is_retried_with_the_same_body(shared_data):
    received: list = []

    class FlakyHook(_Hook):
        def do_POST(self):
            if not received:  # the first delivery fails
                self.rfile.read(int(self.headers["content-length"]))
                received.append(None)
                self.send_response(500)
                self.end_headers()
                return
            super().do_POST()

    FlakyHook.received = received
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyHook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        async with Emulator(emulator_config(webhook_retry_delays=(0.1, 0.1), connect_timeout=0.5)) as emu:
            run = await emu.play(
                tiny_scenario(shared_data), webhook_url=f"http://127.0.0.1:{server.server_address[1]}/"
            )
            record = await run.wait(5)
    finally:
        server.shutdown()
        server.server_close()
    attempts = [(w["event"], w["status"], w["attempt"]) for w in record.webhooks]
    assert attempts[:2] == [("meeting.rtms_started", 500, 1), ("meeting.rtms_started", 200, 2)]
    assert record.stop_reason == StopReason.STOP_BC_CONNECTION_TIMEOUT  # nobody joined
    assert "webhook" not in str(record.verdict(require_complete=False))  # the retry delivered it

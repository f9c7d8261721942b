"""RTMS frame fuzzing: the client survives any frame (issue 9).

Two levels: the pure decode/parse path raises only the documented errors for any input; a live
client fed arbitrary frames on signaling and media keeps answering keep-alives and delivers the
next valid frame, and only ends when a frame really is an end signal.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.rtms import messages
from streams.rtms.client import RTMSClient
from streams.rtms.errors import RTMSFrameError
from streams.rtms.events import (
    Connected,
    Interrupted,
    SessionStateChanged,
    StreamEnded,
    StreamStateChanged,
    TranscriptEvent,
)
from tests.streams.rtms.fake_rtms_server import FakeRTMS
from tests.streams.rtms.rtms_client_helpers import Collector, fast_config

pytestmark = pytest.mark.faults  # part of the fault suite: `pytest -m faults`

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=15,
)
field_names = st.sampled_from(
    [
        "msg_type",
        "event",
        "event_type",
        "content",
        "data",
        "user_id",
        "user_name",
        "timestamp",
        "sequence",
        "participants",
        "state",
        "reason",
        "stop_reason",
        "rtms_session_id",
        "status_code",
        "media_server",
        "server_urls",
        "start_time",
    ]
)
msg_types = st.integers(-2, 35) | st.sampled_from(["MEDIA_DATA_AUDIO", "12", None, 1.5, True])


@st.composite
def rtms_like(draw) -> dict:
    msg = draw(st.dictionaries(field_names, json_values, max_size=6))
    msg["msg_type"] = draw(msg_types)
    if draw(st.booleans()):
        inner = draw(st.dictionaries(field_names, json_values, max_size=6))
        if draw(st.booleans()):
            inner["event_type"] = draw(st.integers(-1, 16) | st.text(max_size=5))
        if draw(st.booleans()):
            inner["data"] = draw(
                st.text(max_size=10) | st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
            )
        if draw(st.booleans()):
            inner["participants"] = draw(
                st.lists(st.dictionaries(field_names, json_values, max_size=3), max_size=3)
            )
        msg[draw(st.sampled_from(["event", "content"]))] = inner
    return msg


def _dumps(value) -> str:
    return json.dumps(value, allow_nan=True)


frames = (
    st.binary(max_size=64)
    | st.text(max_size=64)
    | json_values.map(_dumps)
    | rtms_like().map(_dumps)
    | rtms_like().map(lambda m: _dumps(m).encode())
)


@settings(max_examples=500, deadline=None)
@given(frame=frames)
def test_decode_and_parse_raise_only_documented_errors(frame):
    try:
        msg = messages.decode_frame(frame)
        messages.msg_type_of(msg)
        messages.parse_server_message(msg)
        messages.keep_alive_resp(msg)
    except (RTMSFrameError, messages.IgnoredMessage):
        pass
    for parser in (messages.parse_signaling_handshake_resp, messages.parse_data_handshake_resp):
        with contextlib.suppress(RTMSFrameError):
            parser(messages.decode_frame(frame))


def _may_end(frame: str | bytes) -> bool:
    """A frame that is a genuine end signal (TERMINATED stream, STOPPED session)."""
    try:
        events = messages.parse_server_message(messages.decode_frame(frame))
    except (RTMSFrameError, messages.IgnoredMessage):
        return False
    return any(
        (isinstance(e, StreamStateChanged) and e.state == 4)
        or (isinstance(e, SessionStateChanged) and e.state == 5)
        for e in events
    )


async def _scenario(batch: list[tuple[str, str | bytes]]) -> None:
    async with FakeRTMS() as server:
        client = RTMSClient(fast_config(server.url))
        col = Collector(client)
        try:
            await col.wait_type(Connected)
            await server.wait_for(lambda: server.msgs("signaling", 7) != [])
            may_end = False
            for path, frame in batch:
                may_end = may_end or _may_end(frame)
                if path in server.conns:
                    await server.send(path, frame)
            if "transcript" in server.conns:
                await server.send("transcript", {"msg_type": 12, "timestamp": 99, "sequence": 1})
                await server.send(
                    "transcript",
                    {"msg_type": 17, "content": {"user_id": 1, "data": "sentinel", "timestamp": 1}},
                )
            await col.wait_for(
                lambda: (
                    any(t.text == "sentinel" for t in col.of(TranscriptEvent)) or bool(col.of(StreamEnded))
                )
            )
            if col.of(StreamEnded):
                end = col.of(StreamEnded)[0]
                assert may_end, end  # the client only ends on a genuine end signal
                assert end.error is None, end
                return
            await server.wait_for(
                lambda: {"msg_type": 13, "timestamp": 99, "sequence": 1} in server.msgs("transcript")
            )
            assert not col.of(Interrupted)
            await client.close(request_stream_close=False)
            end = await col.until_end()
            assert end.error is None
        finally:
            await col.stop()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    batch=st.lists(
        st.tuples(st.sampled_from(["signaling", "audio", "transcript", "chat"]), frames), max_size=25
    )
)
def test_live_client_survives_any_frame(batch):
    asyncio.run(asyncio.wait_for(_scenario(batch), 30))


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(st.tuples(st.sampled_from(["audio", "event", "get"]), st.integers(0, 2)), max_size=120),
    audio_size=st.integers(1, 8),
)
def test_outbox_never_loses_non_audio_and_accounts_for_every_audio_frame(ops, audio_size):
    from streams.rtms.config import ClientStats
    from streams.rtms.events import AudioDropped, AudioFrame, FirstPacketTimestamp
    from streams.rtms.outbox import Outbox

    async def scenario() -> None:
        stats = ClientStats()
        box = Outbox(audio_size, 10_000, stats)
        alive = asyncio.Event()
        alive.set()
        put_audio: dict[str, list[int]] = {}
        put_events: list[int] = []
        out: list = []
        for n, (op, user) in enumerate(ops):
            if op == "audio":
                box.put_audio(AudioFrame(str(user), "", b"x" * 4, n))
                put_audio.setdefault(str(user), []).append(n)
            elif op == "event":
                await box.put_event(FirstPacketTimestamp(n), alive=alive)
                put_events.append(n)
            elif len(box):
                out.append(await asyncio.wait_for(box.get(), 1))
        while len(box):
            out.append(await asyncio.wait_for(box.get(), 1))
        assert [e.timestamp for e in out if isinstance(e, FirstPacketTimestamp)] == put_events
        for user, stamps in put_audio.items():
            got = [e.timestamp for e in out if isinstance(e, AudioFrame) and e.user_id == user]
            drops = [e for e in out if isinstance(e, AudioDropped) and e.user_id == user]
            assert got == sorted(got)  # wire order
            assert len(got) + sum(d.frames for d in drops) == len(stamps)
            assert stats.audio_frames_dropped.get(user, 0) == sum(d.frames for d in drops)
            dropped = sorted(set(stamps) - set(got))
            for drop in drops:  # each report sits before every later frame of that user
                index = out.index(drop)
                assert all(t < drop.first_timestamp or t > drop.last_timestamp for t in got)
                later = [e.timestamp for e in out[index:] if isinstance(e, AudioFrame) and e.user_id == user]
                assert all(t > drop.last_timestamp for t in later)
            assert sum(d.frames for d in drops) == len(dropped)

    asyncio.run(scenario())

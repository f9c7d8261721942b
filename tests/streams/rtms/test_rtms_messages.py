"""Pure message helpers: decoding, builders, parsers (PROTOCOL.md §6, §10, §11, A.1, A.4)."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import pytest

from streams.rtms import messages
from streams.rtms.errors import (
    FrameDecodeError,
    FrameSchemaError,
    RTMSAuthError,
    RTMSDuplicateError,
    RTMSHandshakeError,
    UnknownEventType,
    UnknownMessageType,
    handshake_error,
)
from streams.rtms.events import (
    ActiveSpeakerChanged,
    AudioFrame,
    ChatEvent,
    MediaConnectionInterrupted,
    ParticipantJoined,
    ParticipantLeft,
    SessionStateChanged,
    SharingStarted,
    SharingStopped,
    StreamStateChanged,
    TranscriptEvent,
)

RTMS_DIR = Path(__file__).resolve().parents[3] / "streams" / "rtms"


def test_decode_text_and_binary_frames():
    assert messages.decode_frame('{"msg_type":12,"timestamp":1}') == {"msg_type": 12, "timestamp": 1}
    assert messages.decode_frame(b'{"msg_type":12}') == {"msg_type": 12}
    assert messages.decode_frame(bytearray(b'{"a":"\xc3\xa9"}')) == {"a": "é"}


@pytest.mark.parametrize(
    "frame", ["not json", "[1,2]", '"str"', "3", "", b"\xff\xfe", "NaN", '{"a": Infinity}']
)
def test_decode_rejects_what_is_not_a_json_object(frame):
    with pytest.raises(FrameDecodeError):
        messages.decode_frame(frame)


@pytest.mark.parametrize(
    "msg", [{}, {"msg_type": "MEDIA_DATA_AUDIO"}, {"msg_type": 99}, {"msg_type": True}, {"msg_type": 14.0}]
)
def test_msg_type_is_strict(msg):
    with pytest.raises(UnknownMessageType):
        messages.msg_type_of(msg)


def test_keep_alive_answer_echoes_timestamp_and_sequence_verbatim():
    assert messages.keep_alive_resp({"msg_type": 12, "timestamp": 1727384349123, "sequence": 7}) == {
        "msg_type": 13,
        "timestamp": 1727384349123,
        "sequence": 7,
    }
    assert messages.keep_alive_resp({"msg_type": 12}) == {"msg_type": 13}


def test_builders():
    hello = messages.signaling_handshake_req(
        instance_id="u==",
        rtms_stream_id="s",
        signature="sig",
        sequence=1,
        id_key="session_id",
        buffer_data=True,
    )
    assert hello == {
        "msg_type": 1,
        "protocol_version": 1,
        "sequence": 1,
        "session_id": "u==",
        "rtms_stream_id": "s",
        "signature": "sig",
        "buffer_data": True,
    }
    req = messages.data_handshake_req(
        instance_id="u",
        rtms_stream_id="s",
        signature="sig",
        sequence=2,
        media_type=8,
        media_params={"transcript": messages.transcript_media_params(src_language=9, enable_lid=False)},
    )
    assert req["media_type"] == 8
    assert req["media_params"] == {"transcript": {"content_type": 5, "src_language": 9, "enable_lid": False}}
    assert messages.client_ready_ack("s") == {"msg_type": 7, "rtms_stream_id": "s"}
    assert messages.stream_close_req("s") == {"msg_type": 21, "rtms_stream_id": "s"}
    assert messages.event_subscription([2, 3]) == {
        "msg_type": 5,
        "events": [{"event_type": 2, "subscribe": True}, {"event_type": 3, "subscribe": True}],
    }
    assert messages.encode({"a": 1, "b": "é"}) == '{"a":1,"b":"é"}'


def test_handshake_responses():
    hs = messages.parse_signaling_handshake_resp(
        {
            "msg_type": 2,
            "status_code": 0,
            "media_server": {"server_urls": {"audio": "wss://a", "all": "wss://b", "x": 5}},
        }
    )
    assert hs.server_urls == {"audio": "wss://a", "all": "wss://b"}
    assert (
        messages.parse_signaling_handshake_resp({"msg_type": 2, "status": 8, "reason": "dup"}).status_code
        == 8
    )
    with pytest.raises(FrameSchemaError):
        messages.parse_signaling_handshake_resp({"msg_type": 2, "status_code": 0})
    with pytest.raises(FrameSchemaError):
        messages.parse_signaling_handshake_resp({"msg_type": 2})
    data = messages.parse_data_handshake_resp({"msg_type": 4, "status_code": 0, "payload_encryption": True})
    assert data.payload_encrypted is True
    assert data.media_params == {}
    assert messages.parse_stream_close_resp({"msg_type": 22, "status_code": 0, "reason": "OK"}) == (0, "OK")


def test_handshake_error_classes():
    assert isinstance(handshake_error(3, "bad"), RTMSAuthError)
    assert isinstance(handshake_error(8, ""), RTMSDuplicateError)
    assert handshake_error(8, "").retryable
    assert isinstance(handshake_error(17, "duplicate signal request"), RTMSDuplicateError)  # legacy numbering
    err = handshake_error(17, "bad params", scope="media:audio")
    assert type(err) is RTMSHandshakeError
    assert not err.retryable
    assert (err.status_code, err.reason, err.scope) == (17, "bad params", "media:audio")


def test_audio_frame():
    pcm = bytes(range(256)) * 2 + b"\x00" * 128
    msg = {
        "msg_type": 14,
        "content": {
            "user_id": 16778240,
            "user_name": "Ada",
            "data": base64.b64encode(pcm).decode(),
            "timestamp": 5,
        },
    }
    assert messages.parse_server_message(msg) == [AudioFrame("16778240", "Ada", pcm, 5)]
    mixed = {"msg_type": 14, "content": {"user_id": 0, "data": "", "timestamp": 1}}
    assert messages.parse_server_message(mixed) == [AudioFrame("0", "", b"", 1)]
    for bad in (
        {"msg_type": 14, "content": {"user_id": 1, "data": "@@@", "timestamp": 1}},
        {"msg_type": 14, "content": {"user_id": 1, "timestamp": 1}},
        {"msg_type": 14, "content": {"user_id": 1, "data": "", "timestamp": "soon"}},
        {"msg_type": 14, "content": {"user_id": 1, "data": ""}},
        {"msg_type": 14, "content": {"user_id": [1], "data": "", "timestamp": 1}},
        {"msg_type": 14},
    ):
        with pytest.raises(FrameSchemaError):
            messages.parse_server_message(bad)


def test_transcript_and_chat():
    t = messages.parse_server_message(
        {
            "msg_type": 17,
            "content": {
                "user_id": 1,
                "user_name": "Ada",
                "start_time": 10,
                "end_time": 20,
                "timestamp": 10,
                "language": 9,
                "data": "Hi, hello world!",
            },
        }
    )
    assert t == [TranscriptEvent("1", "Ada", "Hi, hello world!", 10, 10, 20, 9, None)]
    plain = messages.parse_server_message(
        {"msg_type": 18, "content": {"timestamp": 3, "data": "Chat message"}}
    )
    assert plain == [ChatEvent("", "", "Chat message", 3)]
    rich = {
        "data": "to you",
        "sender": {"user_id": 5, "user_name": "Eve"},
        "receiver": {"user_id": 6, "user_name": "Bob"},
        "message_id": "m1",
        "operation_type": 3,
        "timestamp": 9,
    }
    for data in (json.dumps(rich), rich):
        parsed = messages.parse_server_message({"msg_type": 18, "content": {"data": data, "timestamp": 1}})
        assert parsed == [ChatEvent("5", "Eve", "to you", 9, "m1", "Bob", 3)]
    assert messages.parse_server_message(
        {"msg_type": 18, "content": {"data": "{not json", "timestamp": 1}}
    ) == [ChatEvent("", "", "{not json", 1)]


def test_participant_events_list_and_single_forms():
    join = {
        "msg_type": 6,
        "event": {
            "event_type": 3,
            "timestamp": 7,
            "participants": [{"user_id": 1, "user_name": "A"}, {"user_id": 2}],
        },
    }
    assert messages.parse_server_message(join) == [
        ParticipantJoined("1", "A", 7),
        ParticipantJoined("2", "", 7),
    ]
    leave = {"msg_type": 6, "event": {"event_type": 4, "timestamp": 8, "participants": [{"user_id": 2}]}}
    assert messages.parse_server_message(leave) == [ParticipantLeft("2", 8)]
    single = {"msg_type": 6, "event": {"event_type": 4, "timestamp": 8, "user_id": "3", "user_name": "C"}}
    assert messages.parse_server_message(single) == [ParticipantLeft("3", 8, "C")]
    empty = {"msg_type": 6, "event": {"event_type": 4, "timestamp": 8, "participants": []}}
    assert messages.parse_server_message(empty) == []
    on_media = {"msg_type": 6, "content": {"event_type": 2, "user_id": 4, "user_name": "D", "timestamp": 1}}
    assert messages.parse_server_message(on_media) == [ActiveSpeakerChanged("4", "D", 1)]
    assert messages.parse_server_message(
        {"msg_type": 6, "event": {"event_type": 5, "user_id": 4, "user_name": "D", "timestamp": 2}}
    ) == [SharingStarted("4", "D", 2)]
    assert messages.parse_server_message({"msg_type": 6, "event": {"event_type": 6, "timestamp": 3}}) == [
        SharingStopped(3, "")
    ]
    assert messages.parse_server_message({"msg_type": 6, "event": {"event_type": 7, "timestamp": 4}}) == [
        MediaConnectionInterrupted(4)
    ]
    for bad in (
        {"msg_type": 6, "event": {"event_type": 3, "participants": [5]}},
        {"msg_type": 6, "event": {"event_type": 3, "participants": "x"}},
        {"msg_type": 6, "event": {"event_type": 4}},
        {"msg_type": 6},
    ):
        with pytest.raises(FrameSchemaError):
            messages.parse_server_message(bad)
    for bad in (
        {"msg_type": 6, "event": {"event_type": 99}},
        {"msg_type": 6, "event": {"event_type": "JOIN"}},
    ):
        with pytest.raises(UnknownEventType):
            messages.parse_server_message(bad)
    with pytest.raises(messages.IgnoredMessage):
        messages.parse_server_message(
            {"msg_type": 6, "event": {"event_type": 8, "participants": [{"user_id": 1}]}}
        )


def test_state_updates_accept_reason_or_stop_reason_int_or_name():
    assert messages.parse_server_message({"msg_type": 8, "state": 4, "reason": 6, "timestamp": 1}) == [
        StreamStateChanged(4, 6, 1)
    ]
    assert messages.parse_server_message(
        {"msg_type": 8, "state": 4, "stop_reason": "STOP_BC_MEETING_ENDED"}
    ) == [StreamStateChanged(4, 6, 0)]
    assert messages.parse_server_message({"msg_type": 8, "state": 4, "reason": "MEETING_ENDED"}) == [
        StreamStateChanged(4, 6, 0)
    ]
    assert messages.parse_server_message({"msg_type": 8, "state": 4, "reason": "whatever"}) == [
        StreamStateChanged(4, 0, 0)
    ]
    assert messages.parse_server_message({"msg_type": 8, "state": 4, "reason": "20"}) == [
        StreamStateChanged(4, 20, 0)
    ]
    assert messages.parse_server_message(
        {"msg_type": 9, "session_id": "s", "state": 5, "stop_reason": 3, "timestamp": 2}
    ) == [SessionStateChanged("s", 5, 3, 2)]
    with pytest.raises(FrameSchemaError):
        messages.parse_server_message({"msg_type": 8})


def test_known_but_unused_types_are_ignored():
    for msg_type in (1, 3, 5, 7, 10, 13, 15, 16, 19, 20, 21, 23, 29):
        with pytest.raises(messages.IgnoredMessage):
            messages.parse_server_message({"msg_type": msg_type})


def test_streams_rtms_imports_no_django_and_nothing_outside_streams_rtms():
    offenders = {}
    for path in sorted(RTMS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["<relative>"]
            for name in names:
                top = name.split(".")[0]
                if top in {"django", "channels", "meetings", "rtms_assistant", "celery"} or (
                    top == "streams" and not name.startswith("streams.rtms")
                ):
                    offenders.setdefault(path.name, []).append(name)
    assert offenders == {}
    assert len(list(RTMS_DIR.glob("*.py"))) >= 6

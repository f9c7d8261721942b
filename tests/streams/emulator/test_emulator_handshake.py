"""The emulator's handshakes without sockets (``rtms_emulator/handshake.py``): request frames in,
msg 2 / msg 4 answers and status codes out."""

from __future__ import annotations

import pytest

from rtms_emulator.config import EmulatorConfig
from rtms_emulator.handshake import (
    AUDIO_DEFAULTS,
    Route,
    answer_media,
    answer_signaling,
    media_params,
    media_types,
    parse_frame,
    parse_path,
)
from rtms_emulator.link import Link
from rtms_emulator.record import StreamRecord
from rtms_emulator.session import Session
from streams.rtms.protocol import LegacyStatusCode, MsgType, StatusCode
from streams.rtms.signing import handshake_signature

CLIENT_ID, CLIENT_SECRET = "hs-client", "hs-secret"
STREAM_ID, MEETING_UUID = "0123456789abcdef", "m/uu+id=="
SCOPES = ("audio", "video", "deskshare", "transcript", "chat")


def config(**overrides) -> EmulatorConfig:
    return EmulatorConfig(**({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET} | overrides))


def session(cfg: EmulatorConfig | None = None) -> Session:
    cfg = cfg or config()
    record = StreamRecord(STREAM_ID, MEETING_UUID, "unit")
    return Session(
        cfg,
        record,
        base_url="ws://rtms.test:7000",
        rtms_stream_id=STREAM_ID,
        meeting_uuid=MEETING_UUID,
        rtms_session_id="session-1",
    )


def hello(**overrides) -> dict:
    signature = handshake_signature(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, instance_id=MEETING_UUID, rtms_stream_id=STREAM_ID
    )
    msg = {
        "msg_type": MsgType.SIGNALING_HAND_SHAKE_REQ,
        "protocol_version": 1,
        "meeting_uuid": MEETING_UUID,
        "rtms_stream_id": STREAM_ID,
        "signature": signature,
    }
    return msg | overrides


def data_hello(media_type: object = 1, params: object = None, **overrides) -> dict:
    return hello(msg_type=MsgType.DATA_HAND_SHAKE_REQ, media_type=media_type, media_params=params) | overrides


SIGNALING = Route("signaling", 0, rtms_stream_id=STREAM_ID)


# ---- signaling -----------------------------------------------------------------------------------


def test_a_good_signaling_handshake_gets_status_0_and_a_media_url_per_scope():
    s = session(config(media_types=("audio", "transcript")))
    s.failover()  # generation 1: the URLs move under /fo1

    answer = answer_signaling(hello(), "", SIGNALING, s, s.config)

    assert answer.ok
    assert answer.response["msg_type"] == MsgType.SIGNALING_HAND_SHAKE_RESP
    assert answer.response["status_code"] == 0
    assert answer.response["media_server"]["server_urls"] == {
        "audio": f"ws://rtms.test:7000/fo1/media/audio/{STREAM_ID}",
        "transcript": f"ws://rtms.test:7000/fo1/media/transcript/{STREAM_ID}",
        "all": f"ws://rtms.test:7000/fo1/media/all/{STREAM_ID}",
    }


@pytest.mark.parametrize(
    ("mutate", "status", "reason"),
    [
        ({"signature": "0" * 64}, StatusCode.INVALID_SIGNATURE, "invalid signature"),
        ({"signature": None}, StatusCode.INVALID_SIGNATURE, "invalid signature"),
        ({"meeting_uuid": "other"}, StatusCode.INVALID_RTMS_STREAM_ID, "instance id does not match"),
        ({"msg_type": 3}, StatusCode.INVALID_MESSAGE_TYPE, "expected SIGNALING_HAND_SHAKE_REQ"),
        ({"protocol_version": 2}, StatusCode.INVALID_PAYLOAD, "unsupported protocol_version"),
    ],
)
def test_a_bad_signaling_handshake_gets_its_status_code_and_no_media_urls(mutate, status, reason):
    s = session()

    answer = answer_signaling(hello(**mutate), "", SIGNALING, s, s.config)

    assert not answer.ok
    assert (answer.status, answer.response["status_code"]) == (status, int(status))
    assert answer.reason.startswith(reason)
    assert "media_server" not in answer.response


def test_the_signature_binds_the_instance_id_accepted_under_any_id_key():
    s = session()
    as_webinar = hello(webinar_uuid=MEETING_UUID)
    del as_webinar["meeting_uuid"]

    assert answer_signaling(as_webinar, "", SIGNALING, s, s.config).ok


def test_legacy_numbering_is_sent_when_configured():
    s = session(config(legacy_status_codes=True))

    answer = answer_signaling(hello(signature="0" * 64), "", SIGNALING, s, s.config)

    assert answer.status == StatusCode.INVALID_SIGNATURE
    assert answer.response["status_code"] == int(LegacyStatusCode.INVALID_SIGNATURE)
    assert int(LegacyStatusCode.INVALID_SIGNATURE) != int(StatusCode.INVALID_SIGNATURE)


def test_unknown_ended_or_mismatched_streams_get_status_2():
    s = session()
    other_path = Route("signaling", 0, rtms_stream_id="another-stream")

    assert (
        answer_signaling(hello(), "", SIGNALING, None, s.config).status == StatusCode.INVALID_RTMS_STREAM_ID
    )
    assert answer_signaling(hello(), "", other_path, s, s.config).status == StatusCode.INVALID_RTMS_STREAM_ID
    s.terminate(6, wall_ms=1)
    assert answer_signaling(hello(), "", SIGNALING, s, s.config).status == StatusCode.INVALID_RTMS_STREAM_ID


def test_a_frame_that_is_not_a_request_is_answered_invalid_payload_with_the_problem():
    s = session()

    answer = answer_signaling(None, "malformed JSON", SIGNALING, s, s.config)

    assert (answer.status, answer.reason) == (StatusCode.INVALID_PAYLOAD, "malformed JSON")


@pytest.mark.parametrize(("policy", "status"), [("reject", StatusCode.DUPLICATE_SIGNAL_REQUEST), ("kick", 0)])
def test_a_second_signaling_socket_is_rejected_with_8_or_accepted_to_kick(policy, status):
    s = session(config(duplicate_signaling=policy))
    s.attach_signaling(Link("signaling"))

    assert answer_signaling(hello(), "", SIGNALING, s, s.config).status == status


def test_a_closed_signaling_socket_is_no_duplicate():
    s = session()
    old = Link("signaling")
    s.attach_signaling(old)
    old.closed = True

    assert answer_signaling(hello(), "", SIGNALING, s, s.config).ok


# ---- media ---------------------------------------------------------------------------------------


def test_a_good_media_handshake_echoes_the_effective_params():
    s = session()
    route = Route("media", 0, "audio", STREAM_ID)

    answer = answer_media(data_hello(1, {"audio": {"data_opt": 2, "send_rate": 40}}), "", route, s, s.config)

    assert answer.ok
    assert answer.types == ("audio",)
    assert answer.response["media_params"] == {"audio": AUDIO_DEFAULTS | {"data_opt": 2, "send_rate": 40}}
    assert answer.response["payload_encrypted"] is False


def test_a_media_type_already_carried_by_an_open_socket_is_refused():
    s = session()
    taken = Link("media:audio")
    taken.types = ("audio",)
    s.attach_media(taken)

    audio = answer_media(data_hello(1), "", Route("media", 0, "audio", STREAM_ID), s, s.config)
    everything = answer_media(data_hello(32), "", Route("media", 0, "all", STREAM_ID), s, s.config)

    assert audio.status == StatusCode.DUPLICATE_MEDIA_DATA_CONNECTION
    assert everything.status == StatusCode.MEDIA_DATA_ALL_CONNECTION_EXIST
    assert audio.response["media_params"] is None


@pytest.mark.parametrize(
    ("path", "media_type", "status", "types"),
    [
        ("audio", 1, StatusCode.OK, ("audio",)),
        ("all", 32, StatusCode.OK, SCOPES),
        ("all", 1 | 8 | 16, StatusCode.OK, ("audio", "transcript", "chat")),
        ("audio", 8, StatusCode.INVALID_MEDIA_TYPE, ()),  # transcript on the audio URL
        ("audio", 32, StatusCode.INVALID_MEDIA_TYPE, ()),  # "all" belongs on the all URL
        ("audio", 0, StatusCode.MEDIA_TYPE_INVALID_VALUE, ()),
        ("all", 64, StatusCode.MEDIA_TYPE_INVALID_VALUE, ()),
        ("all", 33, StatusCode.MEDIA_TYPE_INVALID_VALUE, ()),
        ("audio", "1", StatusCode.INVALID_MEDIA_TYPE, ()),
        ("audio", True, StatusCode.INVALID_MEDIA_TYPE, ()),
    ],
)
def test_media_type_bits_against_the_url(path, media_type, status, types):
    assert media_types(path, media_type, scopes=SCOPES, taken=set())[0::2] == (status, types)


def test_a_media_type_outside_the_apps_scopes_gets_its_not_supported_status():
    status, reason, _ = media_types("video", 2, scopes=("audio",), taken=set())

    assert status == StatusCode.MEDIA_TYPE_VIDEO_NOT_SUPPORT
    assert reason == "video is not in the app's scopes"


@pytest.mark.parametrize(
    ("audio", "status"),
    [
        ({"send_rate": 30}, StatusCode.INVALID_MEDIA_AUDIO_SEND_RATE),
        ({"send_rate": 0}, StatusCode.INVALID_MEDIA_AUDIO_SEND_RATE),
        ({"send_rate": True}, StatusCode.INVALID_MEDIA_AUDIO_SEND_RATE),
        ({"content_type": 1}, StatusCode.INVALID_MEDIA_AUDIO_CONTENT_TYPE),
        ({"sample_rate": 9}, StatusCode.INVALID_MEDIA_AUDIO_SAMPLE_RATE),
        ({"channel": 3}, StatusCode.INVALID_MEDIA_AUDIO_CHANNEL),
        ({"channel": True}, StatusCode.INVALID_MEDIA_AUDIO_CHANNEL),
        ({"codec": 9}, StatusCode.INVALID_MEDIA_AUDIO_CODEC),
        ({"data_opt": 3}, StatusCode.INVALID_MEDIA_AUDIO_DATA_OPT),
    ],
)
def test_invalid_audio_params_get_the_matching_status(audio, status):
    code, reason, params = media_params(("audio",), {"audio": audio})

    assert (code, params) == (status, {})
    assert next(iter(audio)) in reason  # the field is named


def test_audio_params_default_apply_and_a_long_send_rate_is_clamped_to_1_s():
    status, _, params = media_params(("audio", "transcript", "chat"), {"audio": {"send_rate": 2000}})

    assert status == StatusCode.OK
    assert params["audio"] == AUDIO_DEFAULTS | {"send_rate": 1000}
    assert params["transcript"] == {"content_type": 5, "src_language": 9, "enable_lid": True}
    assert params["chat"] == {"content_type": 5}


def test_media_params_that_are_not_objects_are_refused():
    assert media_params(("audio",), [1])[0] == StatusCode.INVALID_MEDIA_PARAMS
    assert media_params(("audio",), {"audio": "L16"})[0] == StatusCode.INVALID_MEDIA_AUDIO_PARAMS


# ---- paths and frames ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/", Route("signaling", 0)),
        ("/signaling", Route("signaling", 0)),
        ("/signaling/s1?x=1", Route("signaling", 0, rtms_stream_id="s1")),
        ("/fo2/media/all/s1", Route("media", 2, "all", "s1")),
        ("/media/chat", Route("media", 0, "chat")),
        ("/media/sound/s1", None),
        ("/signaling/s1/extra", None),
        ("/webhooks", None),
    ],
)
def test_paths_map_to_routes(path, route):
    assert parse_path(path) == route


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\xff\xfe", "binary frame is not UTF-8"),
        ('{"msg_type": 1', "malformed JSON"),
        ("[1, 2]", "JSON list, not an object"),
        ('{"msg_type": "1"}', "msg_type missing or not an integer"),
        ('{"msg_type": true}', "msg_type missing or not an integer"),
    ],
)
def test_frames_that_are_not_messages_are_named(raw, problem):
    assert parse_frame(raw) == (None, problem)


def test_binary_frames_carrying_json_are_messages():
    assert parse_frame(b'{"msg_type": 12, "timestamp": 5}') == ({"msg_type": 12, "timestamp": 5}, "")

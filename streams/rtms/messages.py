"""RTMS V1 messages: pure build and parse helpers (no I/O, no Django).

Decoding: :func:`decode_frame` turns a WebSocket frame (text **or** binary, PROTOCOL.md §4) into a
``dict`` or raises a :class:`~streams.rtms.errors.RTMSFrameError` subclass; :func:`msg_type_of`
reads ``msg_type`` strictly (an int of RTMS_MESSAGE_TYPE; names as sent by Zoom's old mock are
rejected, PROTOCOL.md A.4).

Building (client → server, compact JSON text frames via :func:`encode`):
msg 1 :func:`signaling_handshake_req`, msg 3 :func:`data_handshake_req`, msg 5
:func:`event_subscription`, msg 7 :func:`client_ready_ack`, msg 13 :func:`keep_alive_resp`,
msg 21 :func:`stream_close_req`.

Parsing (server → client): :func:`parse_signaling_handshake_resp` (msg 2),
:func:`parse_data_handshake_resp` (msg 4), :func:`parse_stream_close_resp` (msg 22) and
:func:`parse_server_message` for everything that becomes typed events (msg 6, 8, 9, 14, 17, 18).
Lenient where the sources disagree (``reason``/``stop_reason`` as int or name, ``user_id`` int or
str, PARTICIPANT_LEAVE as a list or a single participant, ``payload_encrypted``/
``payload_encryption``), strict where a value is needed (audio ``data`` must be base64).

Over 500 lines (~610) because it is the one table of the wire, every message's shape next to
the field helpers all of them share; the emulator and the fuzz tests import it as one module.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.rtms.errors import FrameDecodeError, FrameSchemaError, UnknownEventType, UnknownMessageType
from streams.rtms.events import (
    ActiveSpeakerChanged,
    AudioFrame,
    ChatEvent,
    FirstPacketTimestamp,
    MediaConnectionInterrupted,
    ParticipantJoined,
    ParticipantLeft,
    RTMSEvent,
    SessionStateChanged,
    SharingStarted,
    SharingStopped,
    StreamStateChanged,
    TranscriptEvent,
)
from streams.rtms.protocol import (
    PROTOCOL_VERSION,
    AudioChannel,
    Codec,
    ContentType,
    DataOption,
    EventType,
    MediaType,
    MsgType,
    SampleRate,
    StopReason,
)

# Media names used in configuration, socket names and ``Interrupted.scope`` ("media:<name>").
MEDIA_BITS: dict[str, MediaType] = {
    "audio": MediaType.AUDIO,
    "video": MediaType.VIDEO,
    "deskshare": MediaType.DESKSHARE,
    "transcript": MediaType.TRANSCRIPT,
    "chat": MediaType.CHAT,
}
SUPPORTED_MEDIA = ("audio", "transcript", "chat")

# EVENT_UPDATE types we subscribe to by default: active speaker, join, leave, sharing start/stop.
DEFAULT_SUBSCRIBED_EVENTS: tuple[int, ...] = (
    EventType.ACTIVE_SPEAKER_CHANGE,
    EventType.PARTICIPANT_JOIN,
    EventType.PARTICIPANT_LEAVE,
    EventType.SHARING_START,
    EventType.SHARING_STOP,
)

# Known message / event types we deliberately do not turn into events (logged at debug level).
IGNORED_MSG_TYPES = frozenset(
    {
        MsgType.SESSION_STATE_RESP,
        MsgType.STREAM_STATE_RESP,
        MsgType.MEDIA_DATA_VIDEO,
        MsgType.MEDIA_DATA_SHARE,
        MsgType.META_DATA_AUDIO,
        MsgType.META_DATA_VIDEO,
        MsgType.META_DATA_SHARE,
        MsgType.META_DATA_TRANSCRIPT,
        MsgType.META_DATA_CHAT,
        MsgType.VIDEO_SUBSCRIPTION_RESP,
    }
)
IGNORED_EVENT_TYPES = frozenset(
    {
        EventType.PARTICIPANT_VIDEO_ON,
        EventType.PARTICIPANT_VIDEO_OFF,
        EventType.CHAT_GROUP_CREATE,
        EventType.CHAT_GROUP_DELETE,
        EventType.CHAT_GROUP_MEMBERS_ADD,
        EventType.CHAT_GROUP_MEMBERS_DELETE,
        EventType.CHAT_GROUP_MEMBER_STATUS_UPDATE,
    }
)


class IgnoredMessage(Exception):
    """A well-formed message of a known type that the client does not turn into events."""


# --- decoding ------------------------------------------------------------------------------------


def decode_frame(frame: str | bytes | bytearray | memoryview) -> dict[str, Any]:
    """One WebSocket message → JSON object.

    Binary frames are decoded as UTF-8 (PROTOCOL.md §4). Raises :class:`FrameDecodeError` for
    non-UTF-8 bytes, invalid JSON, non-finite numbers (``NaN``) or JSON that is not an object.
    """
    if isinstance(frame, (bytes, bytearray, memoryview)):
        try:
            text = bytes(frame).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FrameDecodeError(f"binary frame is not UTF-8 ({len(frame)} bytes)") from exc
    elif isinstance(frame, str):
        text = frame
    else:
        raise FrameDecodeError(f"frame of type {type(frame).__name__}")
    try:
        value = _DECODER.decode(text)  # = json.loads(text, parse_constant=...), one decoder reused
    except (ValueError, RecursionError) as exc:
        raise FrameDecodeError(f"invalid JSON: {str(exc)[:120]}") from exc
    if not isinstance(value, dict):
        raise FrameDecodeError(f"JSON {type(value).__name__}, expected an object")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def msg_type_of(msg: Mapping[str, Any]) -> MsgType:
    """``msg["msg_type"]`` as :class:`MsgType`; raises :class:`UnknownMessageType`."""
    raw = msg.get("msg_type")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise UnknownMessageType(f"msg_type {_short(raw)} is not an integer")
    try:
        return MsgType(raw)
    except ValueError as exc:
        raise UnknownMessageType(f"unknown msg_type {raw}") from exc


def encode(msg: Mapping[str, Any]) -> str:
    """Compact JSON for a client → server text frame."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False)


# --- field helpers -------------------------------------------------------------------------------


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _int(value: Any, name: str) -> int:
    """An int field: int, integral float or decimal string; anything else → FrameSchemaError."""
    if isinstance(value, bool):
        raise FrameSchemaError(f"{name} is a boolean", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 30:
        return int(value.strip())
    raise FrameSchemaError(f"{name} {_short(value)} is not an integer", field=name)


def _req_int(obj: Mapping[str, Any], key: str, ctx: str) -> int:
    if key not in obj:
        raise FrameSchemaError(f"{ctx}: missing {key}", field=key)
    return _int(obj[key], f"{ctx}.{key}")


def _opt_int(obj: Mapping[str, Any], key: str, ctx: str, default: int | None = None) -> int | None:
    value = obj.get(key)
    if value is None:
        return default
    return _int(value, f"{ctx}.{key}")


def _str(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise FrameSchemaError(f"{name} {_short(value)} is not a string", field=name)


def _opt_str(obj: Mapping[str, Any], key: str, ctx: str, default: str = "") -> str:
    value = obj.get(key)
    if value is None:
        return default
    return _str(value, f"{ctx}.{key}")


def _obj(obj: Mapping[str, Any], key: str, ctx: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise FrameSchemaError(
            f"{ctx}: {key} is {'missing' if value is None else 'not an object'}", field=key
        )
    return value


def _user_id(obj: Mapping[str, Any], ctx: str, default: str = "") -> str:
    """``user_id`` (int or str) or, for Contact Center, ``channel_id`` (PROTOCOL.md §10.1)."""
    for key in ("user_id", "channel_id"):
        if obj.get(key) is not None:
            return _str(obj[key], f"{ctx}.{key}")
    return default


def stop_reason_value(value: Any) -> int | None:
    """``reason``/``stop_reason`` as RTMS_STOP_REASON int: int, decimal string or name
    (with or without the ``STOP_BC_`` prefix, as Zoom's mock sends). Unknown names → 0 (UNDEFINED)."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        name = value.strip().upper()
        for candidate in (name, f"STOP_BC_{name}"):
            if candidate in StopReason.__members__:
                return int(StopReason[candidate])
        return int(StopReason.UNDEFINED)
    return _int(value, "reason")


def _reason_of(obj: Mapping[str, Any]) -> int | None:
    return stop_reason_value(obj["reason"] if obj.get("reason") is not None else obj.get("stop_reason"))


# --- builders (client → server) ------------------------------------------------------------------


def audio_media_params(
    *, data_opt: int = DataOption.AUDIO_MULTI_STREAMS, send_rate: int = 20
) -> dict[str, int]:
    """``media_params.audio``: L16 PCM, 16 kHz, mono, raw audio (content_type 2, never 1 RTP: §8.7)."""
    return {
        "content_type": int(ContentType.RAW_AUDIO),
        "codec": int(Codec.L16),
        "sample_rate": int(SampleRate.SR_16K),
        "channel": int(AudioChannel.MONO),
        "data_opt": int(data_opt),
        "send_rate": int(send_rate),
    }


def transcript_media_params(
    *, src_language: int | None = None, enable_lid: bool | None = None
) -> dict[str, int | bool]:
    """``media_params.transcript``: text (content_type 5), optional language hint (§9)."""
    params: dict[str, int | bool] = {"content_type": int(ContentType.TEXT)}
    if src_language is not None:
        params["src_language"] = int(src_language)
    if enable_lid is not None:
        params["enable_lid"] = bool(enable_lid)
    return params


def chat_media_params() -> dict[str, int]:
    """``media_params.chat``: text (content_type 5)."""
    return {"content_type": int(ContentType.TEXT)}


def signaling_handshake_req(
    *,
    instance_id: str,
    rtms_stream_id: str,
    signature: str,
    sequence: int,
    id_key: str = "meeting_uuid",
    buffer_data: bool | None = None,
) -> dict[str, Any]:
    """msg 1 SIGNALING_HAND_SHAKE_REQ (PROTOCOL.md §6.1). ``buffer_data`` is omitted when None
    (server default: true)."""
    msg: dict[str, Any] = {
        "msg_type": int(MsgType.SIGNALING_HAND_SHAKE_REQ),
        "protocol_version": PROTOCOL_VERSION,
        "sequence": sequence,
        id_key: instance_id,
        "rtms_stream_id": rtms_stream_id,
        "signature": signature,
    }
    if buffer_data is not None:
        msg["buffer_data"] = bool(buffer_data)
    return msg


def data_handshake_req(
    *,
    instance_id: str,
    rtms_stream_id: str,
    signature: str,
    sequence: int,
    media_type: int,
    media_params: Mapping[str, Any],
    id_key: str = "meeting_uuid",
) -> dict[str, Any]:
    """msg 3 DATA_HAND_SHAKE_REQ (PROTOCOL.md §6.3): ``media_type`` bitmask, one sub-object of
    ``media_params`` per requested type."""
    return {
        "msg_type": int(MsgType.DATA_HAND_SHAKE_REQ),
        "protocol_version": PROTOCOL_VERSION,
        "sequence": sequence,
        id_key: instance_id,
        "rtms_stream_id": rtms_stream_id,
        "signature": signature,
        "media_type": int(media_type),
        "payload_encryption": False,
        "media_params": dict(media_params),
    }


def event_subscription(event_types: Iterable[int]) -> dict[str, Any]:
    """msg 5 EVENT_SUBSCRIPTION (PROTOCOL.md §6.6). Never include 1 or 7: they are automatic."""
    return {
        "msg_type": int(MsgType.EVENT_SUBSCRIPTION),
        "events": [{"event_type": int(t), "subscribe": True} for t in event_types],
    }


def client_ready_ack(rtms_stream_id: str) -> dict[str, Any]:
    """msg 7 CLIENT_READY_ACK, sent on **signaling** after the media handshakes (§6.5)."""
    return {"msg_type": int(MsgType.CLIENT_READY_ACK), "rtms_stream_id": rtms_stream_id}


def keep_alive_resp(req: Mapping[str, Any]) -> dict[str, Any]:
    """msg 13 KEEP_ALIVE_RESP echoing the request's ``timestamp`` and ``sequence`` verbatim
    (PROTOCOL.md A.1: Zoom's SDK echoes both). Absent fields stay absent."""
    resp: dict[str, Any] = {"msg_type": int(MsgType.KEEP_ALIVE_RESP)}
    for key in ("timestamp", "sequence"):
        if key in req:
            resp[key] = req[key]
    return resp


def stream_close_req(rtms_stream_id: str) -> dict[str, Any]:
    """msg 21 STREAM_CLOSE_REQ (§6.14): ask Zoom to end the stream (stop reason 20)."""
    return {"msg_type": int(MsgType.STREAM_CLOSE_REQ), "rtms_stream_id": rtms_stream_id}


# --- handshake responses ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignalingHandshake:
    """msg 2: ``server_urls`` maps media name (``audio``, ``transcript``, ``chat``, ``all``, ...) → URL."""

    status_code: int
    reason: str
    server_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DataHandshake:
    """msg 4: the effective ``media_params`` echoed by the server, and the encryption flag."""

    status_code: int
    reason: str
    media_params: dict[str, Any] = field(default_factory=dict)
    payload_encrypted: bool = False


def _status(msg: Mapping[str, Any], ctx: str) -> int:
    if msg.get("status_code") is not None:
        return _int(msg["status_code"], f"{ctx}.status_code")
    if msg.get("status") is not None:  # defensive, as Zoom's Python library (§6.2)
        return _int(msg["status"], f"{ctx}.status")
    raise FrameSchemaError(f"{ctx}: missing status_code", field="status_code")


def parse_signaling_handshake_resp(msg: Mapping[str, Any]) -> SignalingHandshake:
    """msg 2 → :class:`SignalingHandshake`. On status 0 ``media_server.server_urls`` must be an
    object of strings (non-string values are skipped); raises :class:`FrameSchemaError`."""
    ctx = "SIGNALING_HAND_SHAKE_RESP"
    status = _status(msg, ctx)
    reason = msg.get("reason") if isinstance(msg.get("reason"), str) else ""
    if status != 0:
        return SignalingHandshake(status, reason)
    media_server = _obj(msg, "media_server", ctx)
    raw_urls = _obj(media_server, "server_urls", f"{ctx}.media_server")
    urls = {str(k): v for k, v in raw_urls.items() if isinstance(v, str) and v}
    return SignalingHandshake(status, reason, urls)


def parse_data_handshake_resp(msg: Mapping[str, Any]) -> DataHandshake:
    """msg 4 → :class:`DataHandshake`; accepts ``payload_encrypted`` and ``payload_encryption``."""
    ctx = "DATA_HAND_SHAKE_RESP"
    status = _status(msg, ctx)
    reason = msg.get("reason") if isinstance(msg.get("reason"), str) else ""
    params = msg.get("media_params")
    encrypted = msg.get("payload_encrypted", msg.get("payload_encryption", False))
    return DataHandshake(status, reason, dict(params) if isinstance(params, dict) else {}, encrypted is True)


def parse_stream_close_resp(msg: Mapping[str, Any]) -> tuple[int, str]:
    """msg 22 → (status_code, reason); a missing status counts as 0 (the doc example has one)."""
    status = _int(msg["status_code"], "STREAM_CLOSE_RESP.status_code") if "status_code" in msg else 0
    reason = msg.get("reason") if isinstance(msg.get("reason"), str) else ""
    return status, reason


# --- server messages → events ----------------------------------------------------------------------


def parse_server_message(msg: Mapping[str, Any]) -> list[RTMSEvent]:
    """A decoded server message → typed events (usually one; several for a multi-participant
    join/leave; none for an empty participant list).

    Raises :class:`UnknownMessageType`, :class:`UnknownEventType`, :class:`FrameSchemaError`, or
    :class:`IgnoredMessage` for known types the client does not use (video, share, metadata,
    request/response types, or client → server types echoed by a confused server).
    """
    mtype = msg_type_of(msg)
    if mtype == MsgType.MEDIA_DATA_AUDIO:
        return [parse_audio(msg)]
    if mtype == MsgType.MEDIA_DATA_TRANSCRIPT:
        return [parse_transcript(msg)]
    if mtype == MsgType.MEDIA_DATA_CHAT:
        return [parse_chat(msg)]
    if mtype == MsgType.EVENT_UPDATE:
        return parse_event_update(msg)
    if mtype == MsgType.STREAM_STATE_UPDATE:
        ctx = "STREAM_STATE_UPDATE"
        return [
            StreamStateChanged(
                _req_int(msg, "state", ctx), _reason_of(msg), _opt_int(msg, "timestamp", ctx, 0)
            )
        ]
    if mtype == MsgType.SESSION_STATE_UPDATE:
        ctx = "SESSION_STATE_UPDATE"
        session_id = msg.get("rtms_session_id", msg.get("session_id"))
        return [
            SessionStateChanged(
                _str(session_id, f"{ctx}.rtms_session_id") if session_id is not None else "",
                _req_int(msg, "state", ctx),
                _reason_of(msg),
                _opt_int(msg, "timestamp", ctx, 0),
            )
        ]
    if mtype in IGNORED_MSG_TYPES:
        raise IgnoredMessage(f"{mtype.name} is not used by this client")
    raise IgnoredMessage(f"unexpected {mtype.name} ({int(mtype)}) from the server")


def _content(msg: Mapping[str, Any], ctx: str) -> Mapping[str, Any]:
    return _obj(msg, "content", ctx)


def parse_audio(msg: Mapping[str, Any]) -> AudioFrame:
    """msg 14 → :class:`AudioFrame`; ``data`` must be valid base64. Mixed audio: ``user_id`` "0"."""
    ctx = "MEDIA_DATA_AUDIO"
    content = _content(msg, ctx)
    raw = content.get("data")
    if not isinstance(raw, str):
        raise FrameSchemaError(f"{ctx}: data is {'missing' if raw is None else 'not a string'}", field="data")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FrameSchemaError(f"{ctx}: data is not base64", field="data") from exc
    return AudioFrame(
        user_id=_user_id(content, ctx, default="0"),
        user_name=_opt_str(content, "user_name", ctx),
        data=data,
        timestamp=_req_int(content, "timestamp", ctx),
    )


def parse_transcript(msg: Mapping[str, Any]) -> TranscriptEvent:
    """msg 17 → :class:`TranscriptEvent` (``data`` is the utterance text)."""
    ctx = "MEDIA_DATA_TRANSCRIPT"
    content = _content(msg, ctx)
    text = content.get("data")
    if not isinstance(text, str):
        raise FrameSchemaError(
            f"{ctx}: data is {'missing' if text is None else 'not a string'}", field="data"
        )
    return TranscriptEvent(
        user_id=_user_id(content, ctx),
        user_name=_opt_str(content, "user_name", ctx),
        text=text,
        timestamp=_req_int(content, "timestamp", ctx),
        start_time=_opt_int(content, "start_time", ctx, 0) or 0,
        end_time=_opt_int(content, "end_time", ctx, 0) or 0,
        language=_opt_int(content, "language", ctx),
        attribute=_opt_int(content, "attribute", ctx),
    )


def parse_chat(msg: Mapping[str, Any]) -> ChatEvent:
    """msg 18 → :class:`ChatEvent`. ``content.data`` is either plain text (older servers) or a
    JSON object (as a string or an object) with ``data``, ``sender``, ``receiver``, ``message_id``,
    ``operation_type``, ``timestamp`` (PROTOCOL.md §10.5); top-level content fields are fallbacks."""
    ctx = "MEDIA_DATA_CHAT"
    content = _content(msg, ctx)
    raw = content.get("data")
    inner: Mapping[str, Any] | None = None
    if isinstance(raw, dict):
        inner = raw
    elif isinstance(raw, str) and raw.lstrip().startswith("{"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        inner = parsed if isinstance(parsed, dict) else None
    elif not isinstance(raw, str):
        raise FrameSchemaError(f"{ctx}: data is {'missing' if raw is None else 'not text'}", field="data")
    if inner is None:
        return ChatEvent(
            user_id=_user_id(content, ctx),
            user_name=_opt_str(content, "user_name", ctx),
            text=raw if isinstance(raw, str) else "",
            timestamp=_req_int(content, "timestamp", ctx),
        )
    ictx = f"{ctx}.data"
    sender = inner.get("sender") if isinstance(inner.get("sender"), dict) else {}
    receiver = inner.get("receiver") if isinstance(inner.get("receiver"), dict) else {}
    text = inner.get("data", inner.get("text", ""))
    timestamp = inner.get("timestamp") if inner.get("timestamp") is not None else content.get("timestamp")
    if timestamp is None:
        raise FrameSchemaError(f"{ctx}: missing timestamp", field="timestamp")
    return ChatEvent(
        user_id=_user_id(sender, f"{ictx}.sender") or _user_id(content, ctx),
        user_name=_opt_str(sender, "user_name", f"{ictx}.sender") or _opt_str(content, "user_name", ctx),
        text=_str(text, f"{ictx}.data") if text is not None else "",
        timestamp=_int(timestamp, f"{ctx}.timestamp"),
        message_id=_opt_str(inner, "message_id", ictx),
        recipient_name=_opt_str(receiver, "user_name", f"{ictx}.receiver"),
        operation=_opt_int(inner, "operation_type", ictx, 1) or 1,
    )


def _participants(event: Mapping[str, Any], ctx: str) -> list[Mapping[str, Any]]:
    """``participants: [{user_id, user_name}, ...]`` or the single form ``{user_id, user_name}``
    (Zoom's libraries accept both, PROTOCOL.md §11). Entries that are not objects are rejected."""
    people = event.get("participants")
    if people is None:
        if event.get("user_id") is None:
            raise FrameSchemaError(f"{ctx}: no participants and no user_id", field="participants")
        return [event]
    if not isinstance(people, list):
        raise FrameSchemaError(f"{ctx}: participants is not a list", field="participants")
    for person in people:
        if not isinstance(person, dict) or person.get("user_id") is None:
            raise FrameSchemaError(
                f"{ctx}: participant {_short(person)} has no user_id", field="participants"
            )
    return people


def parse_event_update(msg: Mapping[str, Any]) -> list[RTMSEvent]:
    """msg 6 EVENT_UPDATE → events. The payload is ``event`` (signaling) or ``content`` (some
    servers on media sockets, as Zoom's Python library handles)."""
    ctx = "EVENT_UPDATE"
    event = msg.get("event") if isinstance(msg.get("event"), dict) else msg.get("content")
    if not isinstance(event, dict):
        raise FrameSchemaError(f"{ctx}: event is missing or not an object", field="event")
    raw_type = event.get("event_type")
    if isinstance(raw_type, bool) or not isinstance(raw_type, int):
        raise UnknownEventType(f"event_type {_short(raw_type)} is not an integer")
    try:
        etype = EventType(raw_type)
    except ValueError as exc:
        raise UnknownEventType(f"unknown event_type {raw_type}") from exc
    ts = _opt_int(event, "timestamp", ctx, 0) or 0
    if etype == EventType.FIRST_PACKET_TIMESTAMP:
        return [FirstPacketTimestamp(_req_int(event, "timestamp", ctx))]
    if etype == EventType.ACTIVE_SPEAKER_CHANGE:
        if event.get("user_id") is None:
            raise FrameSchemaError(f"{ctx}: ACTIVE_SPEAKER_CHANGE without user_id", field="user_id")
        return [ActiveSpeakerChanged(_user_id(event, ctx), _opt_str(event, "user_name", ctx), ts)]
    if etype == EventType.PARTICIPANT_JOIN:
        people = _participants(event, ctx)
        return [
            ParticipantJoined(
                _user_id(p, ctx), _opt_str(p, "user_name", ctx), _opt_int(p, "timestamp", ctx, ts) or ts
            )
            for p in people
        ]
    if etype == EventType.PARTICIPANT_LEAVE:
        people = _participants(event, ctx)
        return [
            ParticipantLeft(
                user_id=_user_id(p, ctx),
                timestamp=_opt_int(p, "timestamp", ctx, ts) or ts,
                user_name=_opt_str(p, "user_name", ctx),
            )
            for p in people
        ]
    if etype == EventType.SHARING_START:
        return [SharingStarted(_user_id(event, ctx), _opt_str(event, "user_name", ctx), ts)]
    if etype == EventType.SHARING_STOP:
        return [SharingStopped(ts, _user_id(event, ctx))]
    if etype == EventType.MEDIA_CONNECTION_INTERRUPTED:
        return [MediaConnectionInterrupted(ts)]
    raise IgnoredMessage(f"EVENT_UPDATE {etype.name} is not used by this client")

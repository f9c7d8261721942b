"""The emulator's side of the RTMS handshakes, sans-IO (PROTOCOL.md A.2, Appendix A).

Request paths to routes (:func:`parse_path`), client frames to JSON objects
(:func:`parse_frame`), SIGNALING_HAND_SHAKE_REQ (msg 1) and DATA_HAND_SHAKE_REQ (msg 3) checked
and answered with msg 2 / msg 4 carrying the real status codes (:func:`answer_signaling`,
:func:`answer_media`; legacy numbering with ``EmulatorConfig.legacy_status_codes``),
``media_type`` bits and ``media_params`` validated. Pure: dicts in, dicts out, no sockets, no
asyncio; ``server.py`` reads the first frame, sends the answer and logs it. The stream a
handshake names is a :class:`rtms_emulator.session.Session` (or None when unknown).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from rtms_emulator.config import EmulatorConfig
from streams.rtms.messages import MEDIA_BITS
from streams.rtms.protocol import (
    FRAME_MS,
    MEDIA_NOT_SUPPORTED_STATUS,
    PROTOCOL_VERSION,
    AudioChannel,
    Codec,
    ContentType,
    DataOption,
    LegacyStatusCode,
    MediaType,
    MsgType,
    SampleRate,
    StatusCode,
)
from streams.rtms.signing import handshake_signature


class MediaHolder(Protocol):
    """What the handshake asks of the stream it names (:class:`rtms_emulator.session.Session`,
    named by this interface: the session imports the handshake's URL rule, not the reverse)."""

    def taken_media(self) -> set[str]: ...


BIT_NAMES = {int(bit): name for name, bit in MEDIA_BITS.items()}
ID_KEYS = ("meeting_uuid", "webinar_uuid", "session_id", "engagement_id")
AUDIO_DEFAULTS = {  # what the server assumes for a field the client leaves out
    "content_type": int(ContentType.RAW_AUDIO),
    "codec": int(Codec.L16),
    "sample_rate": int(SampleRate.SR_16K),
    "channel": int(AudioChannel.MONO),
    "data_opt": int(DataOption.AUDIO_MIXED_STREAM),
    "send_rate": 20,
}
# Current -> legacy numbering (PROTOCOL.md §8.1), for ``EmulatorConfig.legacy_status_codes``.
LEGACY = {
    StatusCode.INVALID_MESSAGE_TYPE: LegacyStatusCode.INVALID_MESSAGE_TYPE,
    StatusCode.INVALID_RTMS_STREAM_ID: LegacyStatusCode.INVALID_MEETING_OR_STREAM_ID,
    StatusCode.INVALID_SIGNATURE: LegacyStatusCode.INVALID_SIGNATURE,
    StatusCode.INVALID_PAYLOAD: LegacyStatusCode.INVALID_JSON_MSG,
    StatusCode.INVALID_MEDIA_TYPE: LegacyStatusCode.MEDIA_TYPE_NOT_EXIST,
    StatusCode.DUPLICATE_SIGNAL_REQUEST: LegacyStatusCode.DUPLICATE_SIGNAL_REQUEST,
    StatusCode.MEDIA_TYPE_AUDIO_NOT_SUPPORT: LegacyStatusCode.MEDIA_TYPE_AUDIO_NOT_SUPPORT,
    StatusCode.MEDIA_TYPE_VIDEO_NOT_SUPPORT: LegacyStatusCode.MEDIA_TYPE_VIDEO_NOT_SUPPORT,
    StatusCode.MEDIA_TYPE_DESKSHARE_NOT_SUPPORT: LegacyStatusCode.MEDIA_TYPE_DESKSHARE_NOT_SUPPORT,
    StatusCode.MEDIA_TYPE_TRANSCRIPT_NOT_SUPPORT: LegacyStatusCode.MEDIA_TYPE_TRANSCRIPT_NOT_SUPPORT,
    StatusCode.MEDIA_TYPE_CHAT_NOT_SUPPORT: LegacyStatusCode.MEDIA_TYPE_CHAT_NOT_SUPPORT,
    StatusCode.MEDIA_TYPE_INVALID_VALUE: LegacyStatusCode.MEDIA_TYPE_INVALID_VALUE,
    StatusCode.MEDIA_DATA_ALL_CONNECTION_EXIST: LegacyStatusCode.MEDIA_DATA_ALL_CONNECTION_EXIST,
    StatusCode.DUPLICATE_MEDIA_DATA_CONNECTION: LegacyStatusCode.DUPLICATE_MEDIA_DATA_CONNECTION,
    StatusCode.INVALID_MEDIA_PARAMS: LegacyStatusCode.INVALID_MEDIA_PARAMS,
    StatusCode.INVALID_MEDIA_AUDIO_PARAMS: LegacyStatusCode.INVALID_MEDIA_AUDIO_PARAMS,
    StatusCode.INVALID_MEDIA_AUDIO_CONTENT_TYPE: LegacyStatusCode.INVALID_MEDIA_AUDIO_CONTENT_TYPE,
    StatusCode.INVALID_MEDIA_AUDIO_SAMPLE_RATE: LegacyStatusCode.INVALID_MEDIA_AUDIO_SAMPLE_RATE,
    StatusCode.INVALID_MEDIA_AUDIO_CHANNEL: LegacyStatusCode.INVALID_MEDIA_AUDIO_CHANNEL,
    StatusCode.INVALID_MEDIA_AUDIO_CODEC: LegacyStatusCode.INVALID_MEDIA_AUDIO_CODEC,
    StatusCode.INVALID_MEDIA_AUDIO_DATA_OPT: LegacyStatusCode.INVALID_MEDIA_AUDIO_DATA_OPT,
    StatusCode.INVALID_MEDIA_AUDIO_SEND_RATE: LegacyStatusCode.MEDIA_AUDIO_SEND_RATE_NOT_UINT,
}


@dataclass
class Route:
    """What a request path asks for: ``kind`` ``signaling`` | ``media``, the failover
    ``generation`` (``/fo<N>`` prefix, 0 without), the ``media`` path type (a name of
    ``MEDIA_BITS`` or ``all``) and the ``rtms_stream_id`` when the path names one."""

    kind: str
    generation: int
    media: str | None = None
    rtms_stream_id: str | None = None


@dataclass
class HandshakeAnswer:
    """The verdict on a handshake request: ``status`` (current numbering; the ``response``
    carries the wire number), ``reason`` (also sent), ``response`` (msg 2 or msg 4 to send) and,
    for an accepted media socket, the media ``types`` it carries with their effective
    ``params``. Refused (``ok`` False): send ``response``, then close with 1000."""

    status: StatusCode
    reason: str
    response: dict[str, Any]
    types: tuple[str, ...] = ()
    params: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == StatusCode.OK


def parse_path(path: str) -> Route | None:
    """Map a request path to a route; None = not ours (HTTP 404)."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    generation = 0
    if parts and parts[0].startswith("fo") and parts[0][2:].isdigit():
        generation = int(parts[0][2:])
        parts = parts[1:]
    if not parts:
        return Route("signaling", generation)
    if parts[0] == "signaling" and len(parts) <= 2:
        return Route("signaling", generation, rtms_stream_id=parts[1] if len(parts) == 2 else None)
    if parts[0] == "media" and 2 <= len(parts) <= 3 and parts[1] in (*MEDIA_BITS, "all"):
        return Route("media", generation, parts[1], parts[2] if len(parts) == 3 else None)
    return None


def stream_url(base_url: str, path: str, generation: int = 0) -> str:
    """``base_url`` + ``/fo<generation>`` (after a failover) + ``/path``."""
    prefix = f"/fo{generation}" if generation else ""
    return f"{base_url}{prefix}/{path}"


def parse_frame(raw: str | bytes) -> tuple[dict | None, str]:
    """A client frame (text or binary) as a JSON object, or None and the problem."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, "binary frame is not UTF-8"
    try:
        msg = json.loads(raw)
    except json.JSONDecodeError:
        return None, "malformed JSON"
    if not isinstance(msg, dict):
        return None, f"JSON {type(msg).__name__}, not an object"
    if isinstance(msg.get("msg_type"), bool) or not isinstance(msg.get("msg_type"), int):
        return None, "msg_type missing or not an integer"
    return msg, ""


def wire_status(code: StatusCode, *, legacy: bool) -> int:
    """The number sent for ``code``: current numbering, or legacy (PROTOCOL.md §8.1)."""
    return int(LEGACY.get(code, code)) if legacy else int(code)


def check_identity(
    msg: dict, route: Route, session: MediaHolder | None, config: EmulatorConfig
) -> tuple[StatusCode, str]:
    """Stream, instance id (any of ``ID_KEYS``) and signature of a handshake request.
    ``session``: the stream ``msg["rtms_stream_id"]`` names, None if unknown."""
    sid = msg.get("rtms_stream_id")
    if (
        session is None
        or session.terminated
        or not isinstance(sid, str)
        or (route.rtms_stream_id and route.rtms_stream_id != sid)
    ):
        return StatusCode.INVALID_RTMS_STREAM_ID, "unknown rtms_stream_id"
    ids = [msg[k] for k in ID_KEYS if isinstance(msg.get(k), str)]
    if session.meeting_uuid not in ids:
        return StatusCode.INVALID_RTMS_STREAM_ID, "instance id does not match the stream"
    expected = handshake_signature(
        client_id=config.client_id,
        client_secret=config.client_secret,
        instance_id=session.meeting_uuid,
        rtms_stream_id=session.rtms_stream_id,
    )
    signature = msg.get("signature")
    if not isinstance(signature, str) or not hmac.compare_digest(signature.encode(), expected.encode()):
        return StatusCode.INVALID_SIGNATURE, "invalid signature"
    return StatusCode.OK, ""


def answer_signaling(
    msg: dict | None, problem: str, route: Route, session: MediaHolder | None, config: EmulatorConfig
) -> HandshakeAnswer:
    """msg 2 for the first frame of a signaling socket (``msg`` None: ``problem`` says why).
    Accepted: ``media_server.server_urls`` lists the granted scopes plus ``all``."""
    status, reason = StatusCode.OK, ""
    if msg is None:
        status, reason = StatusCode.INVALID_PAYLOAD, problem
    elif msg.get("msg_type") != MsgType.SIGNALING_HAND_SHAKE_REQ:
        status, reason = StatusCode.INVALID_MESSAGE_TYPE, "expected SIGNALING_HAND_SHAKE_REQ"
    elif msg.get("protocol_version") != PROTOCOL_VERSION:
        status, reason = StatusCode.INVALID_PAYLOAD, "unsupported protocol_version"
    else:
        status, reason = check_identity(msg, route, session, config)
        if (
            status == StatusCode.OK
            and session is not None
            and session.signaling is not None
            and not session.signaling.closed
            and config.duplicate_signaling == "reject"
        ):
            status, reason = StatusCode.DUPLICATE_SIGNAL_REQUEST, "duplicate signal request"
    response: dict[str, Any] = {
        "msg_type": MsgType.SIGNALING_HAND_SHAKE_RESP,
        "protocol_version": PROTOCOL_VERSION,
        "sequence": 0,
        "status_code": wire_status(status, legacy=config.legacy_status_codes),
        "reason": reason,
    }
    if status == StatusCode.OK and session is not None:
        sid, gen = session.rtms_stream_id, session.generation
        urls = {t: stream_url(session.base_url, f"media/{t}/{sid}", gen) for t in config.media_types}
        urls["all"] = stream_url(session.base_url, f"media/all/{sid}", gen)
        response["media_server"] = {"server_urls": urls}
    return HandshakeAnswer(status, reason, response)


def answer_media(
    msg: dict | None, problem: str, route: Route, session: MediaHolder | None, config: EmulatorConfig
) -> HandshakeAnswer:
    """msg 4 for the first frame of a media socket on ``route`` (``msg`` None: ``problem``)."""
    status, reason, types, params = StatusCode.OK, "", (), {}
    if msg is None:
        status, reason = StatusCode.INVALID_PAYLOAD, problem
    elif msg.get("msg_type") != MsgType.DATA_HAND_SHAKE_REQ:
        status, reason = StatusCode.INVALID_MESSAGE_TYPE, "expected DATA_HAND_SHAKE_REQ"
    else:
        status, reason = check_identity(msg, route, session, config)
        if status == StatusCode.OK and session is not None:
            status, reason, types = media_types(
                route.media, msg.get("media_type"), scopes=config.media_types, taken=session.taken_media()
            )
            if status == StatusCode.OK:
                status, reason, params = media_params(types, msg.get("media_params"))
    response: dict[str, Any] = {
        "msg_type": MsgType.DATA_HAND_SHAKE_RESP,
        "protocol_version": PROTOCOL_VERSION,
        "sequence": 0,
        "status_code": wire_status(status, legacy=config.legacy_status_codes),
        "reason": reason,
        "payload_encrypted": False,
        "media_params": params or None,
    }
    return HandshakeAnswer(status, reason, response, types, params)


def media_types(
    path_type: str | None, media_type: Any, *, scopes: tuple[str, ...], taken: set[str]
) -> tuple[StatusCode, str, tuple[str, ...]]:
    """The media names a DATA_HAND_SHAKE_REQ ``media_type`` (bit mask, 32 = all granted
    ``scopes``) asks for on the ``path_type`` URL; ``taken``: types another open socket carries."""
    if isinstance(media_type, bool) or not isinstance(media_type, int):
        return StatusCode.INVALID_MEDIA_TYPE, "media_type must be an integer", ()
    if media_type <= 0 or media_type > 63 or (media_type & 32 and media_type != 32):
        return StatusCode.MEDIA_TYPE_INVALID_VALUE, f"invalid media_type {media_type}", ()
    if media_type == MediaType.ALL:
        types = tuple(scopes)
    else:
        types = tuple(name for bit, name in BIT_NAMES.items() if media_type & bit)
        for name in types:
            if name not in scopes:
                return MEDIA_NOT_SUPPORTED_STATUS[name], f"{name} is not in the app's scopes", ()
    if path_type != "all" and (len(types) != 1 or types[0] != path_type) and media_type != 32:
        return (
            StatusCode.INVALID_MEDIA_TYPE,
            f"media_type {media_type} does not match the {path_type} URL",
            (),
        )
    if path_type != "all" and media_type == 32:
        return StatusCode.INVALID_MEDIA_TYPE, "media_type 32 belongs on the 'all' URL", ()
    if media_type == MediaType.ALL and taken:
        return StatusCode.MEDIA_DATA_ALL_CONNECTION_EXIST, "a media connection already exists", ()
    if set(types) & taken:
        return (
            StatusCode.DUPLICATE_MEDIA_DATA_CONNECTION,
            f"duplicate media connection for {sorted(set(types) & taken)}",
            (),
        )
    return StatusCode.OK, "", types


def media_params(types: tuple[str, ...], given: Any) -> tuple[StatusCode, str, dict[str, dict]]:
    """Effective media_params for a DATA_HAND_SHAKE_RESP (defaults applied, echoed)."""
    if given is not None and not isinstance(given, dict):
        return StatusCode.INVALID_MEDIA_PARAMS, "media_params must be an object", {}
    given = given or {}
    out: dict[str, dict] = {}
    if "audio" in types:
        audio = given.get("audio") or {}
        if not isinstance(audio, dict):
            return StatusCode.INVALID_MEDIA_AUDIO_PARAMS, "media_params.audio must be an object", {}
        eff = {**AUDIO_DEFAULTS, **{k: v for k, v in audio.items() if k in AUDIO_DEFAULTS}}
        checks = [
            ("content_type", {ContentType.RAW_AUDIO}, StatusCode.INVALID_MEDIA_AUDIO_CONTENT_TYPE),
            ("sample_rate", {0, 1, 2, 3}, StatusCode.INVALID_MEDIA_AUDIO_SAMPLE_RATE),
            ("channel", {1, 2}, StatusCode.INVALID_MEDIA_AUDIO_CHANNEL),
            ("codec", {1, 2, 3, 4}, StatusCode.INVALID_MEDIA_AUDIO_CODEC),
            ("data_opt", {1, 2}, StatusCode.INVALID_MEDIA_AUDIO_DATA_OPT),
        ]
        for key, allowed, code in checks:
            if eff[key] not in allowed or isinstance(eff[key], bool):
                return code, f"media_params.audio.{key}={eff[key]!r} not supported", {}
        rate = eff["send_rate"]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0 or rate % FRAME_MS:
            return (
                StatusCode.INVALID_MEDIA_AUDIO_SEND_RATE,
                f"send_rate must be a multiple of 20 ms, got {rate!r}",
                {},
            )
        eff["send_rate"] = min(rate, 1000)
        out["audio"] = eff
    if "transcript" in types:
        tr = given.get("transcript") or {}
        out["transcript"] = {
            "content_type": 5,
            "src_language": tr.get("src_language", 9),
            "enable_lid": tr.get("enable_lid", True),
        }
    if "chat" in types:
        out["chat"] = {"content_type": 5}
    if "video" in types:
        v = given.get("video") or {}
        out["video"] = {
            "content_type": 3,
            "codec": v.get("codec", 5),
            "resolution": v.get("resolution", 2),
            "data_opt": v.get("data_opt", 3),
            "fps": v.get("fps", 5),
        }
    if "deskshare" in types:
        d = given.get("deskshare") or {}
        out["deskshare"] = {
            "content_type": 3,
            "codec": d.get("codec", 5),
            "resolution": d.get("resolution", 3),
            "fps": d.get("fps", 1),
        }
    return StatusCode.OK, "", out

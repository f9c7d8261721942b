"""What the emulator writes on the wire, as Zoom does (PROTOCOL.md Section A, Appendix A): pure
builders of the server's messages, dicts (encoded compact by the transport) or, for media on the
hot path, ready JSON strings. No state, no I/O; the handshake answers are in ``handshake.py``.
"""

from __future__ import annotations

import json
from typing import Any

from streams.rtms.protocol import MsgType, SessionState, StreamState


def dumps(obj: Any) -> str:
    """Compact JSON, non-ASCII kept (what every server message is encoded with)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ---- signaling ---------------------------------------------------------------------------------
def event_update(event_type: int, body: dict, *, ts: int) -> dict:
    """EVENT_UPDATE (msg 6): ``event`` = ``event_type``, ``timestamp`` (epoch ms) + ``body``."""
    return {
        "msg_type": MsgType.EVENT_UPDATE,
        "event": {"event_type": int(event_type), "timestamp": ts, **body},
    }


def stream_state_update(state: int, reason: int, *, wall_ms: int) -> dict:
    """STREAM_STATE_UPDATE (msg 8) with ``state`` and ``reason`` (a stop reason, 0 = none)."""
    return {
        "msg_type": MsgType.STREAM_STATE_UPDATE,
        "state": int(state),
        "reason": int(reason),
        "timestamp": wall_ms,
    }


def session_state_update(
    rtms_session_id: str, state: int, reason: int | None = None, *, wall_ms: int
) -> dict:
    """SESSION_STATE_UPDATE (msg 9); ``reason`` (STOPPED) is sent as ``reason`` and ``stop_reason``."""
    msg: dict[str, Any] = {
        "msg_type": MsgType.SESSION_STATE_UPDATE,
        "rtms_session_id": rtms_session_id,
        "state": int(state),
        "timestamp": wall_ms,
    }
    if reason is not None:
        msg["reason"] = msg["stop_reason"] = int(reason)
    return msg


def keep_alive_req(sequence: int, *, wall_ms: int) -> dict:
    """KEEP_ALIVE_REQ (msg 12); the answer must echo ``timestamp`` (and ``sequence``)."""
    return {"msg_type": MsgType.KEEP_ALIVE_REQ, "timestamp": wall_ms, "sequence": sequence}


def request_answer(
    msg_type: Any, msg: dict, *, rtms_stream_id: str, rtms_session_id: str, paused: bool, wall_ms: int
) -> dict | None:
    """The answer to a signaling request: STREAM_CLOSE_REQ (21 -> 22, status 0),
    SESSION_STATE_REQ (10 -> 11: the session's state if ``msg`` names it, else INACTIVE),
    STREAM_STATE_REQ (19 -> 20), VIDEO_SUBSCRIPTION_REQ (28 -> 29); None for anything else."""
    if msg_type == MsgType.STREAM_CLOSE_REQ:
        return {
            "msg_type": MsgType.STREAM_CLOSE_RESP,
            "rtms_stream_id": rtms_stream_id,
            "status_code": 0,
            "reason": "OK",
            "timestamp": wall_ms,
        }
    if msg_type == MsgType.SESSION_STATE_REQ:
        known = msg.get("rtms_session_id") == rtms_session_id
        state = (SessionState.PAUSED if paused else SessionState.STARTED) if known else SessionState.INACTIVE
        return {
            "msg_type": MsgType.SESSION_STATE_RESP,
            "rtms_session_id": msg.get("rtms_session_id"),
            "state": int(state),
            "timestamp": wall_ms,
        }
    if msg_type == MsgType.STREAM_STATE_REQ:
        return {
            "msg_type": MsgType.STREAM_STATE_RESP,
            "state": int(StreamState.PAUSED if paused else StreamState.ACTIVE),
            "rtms_stream_id": rtms_stream_id,
            "timestamp": wall_ms,
        }
    if msg_type == MsgType.VIDEO_SUBSCRIPTION_REQ:
        return {
            "msg_type": MsgType.VIDEO_SUBSCRIPTION_RESP,
            "user_id": msg.get("user_id"),
            "status_code": 0,
            "reason": "OK",
            "timestamp": wall_ms,
        }
    return None


# ---- media -------------------------------------------------------------------------------------
def audio_message(user_id: int, user_name: str, b64: str, length: int, ts: int) -> str:
    """MEDIA_DATA_AUDIO (msg 14) of one participant (multi-stream, or a mix labelled with the
    active speaker): ``b64`` is ``length`` bytes of L16 at epoch ms ``ts``."""
    return (
        f'{{"msg_type":14,"content":{{"user_id":{user_id},"user_name":{dumps(user_name)},'
        f'"data":"{b64}","length":{length},"timestamp":{ts}}}}}'
    )


def mixed_audio_message(b64: str, length: int, ts: int) -> str:
    """MEDIA_DATA_AUDIO (msg 14) of the mixed stream (``data_opt`` 1): ``user_id`` 0, no name."""
    return f'{{"msg_type":14,"content":{{"user_id":0,"data":"{b64}","length":{length},"timestamp":{ts}}}}}'


def transcript_message(content: dict) -> str:
    """MEDIA_DATA_TRANSCRIPT (msg 17) carrying ``content``."""
    return dumps({"msg_type": MsgType.MEDIA_DATA_TRANSCRIPT, "content": content})


def chat_message(content: dict) -> str:
    """MEDIA_DATA_CHAT (msg 18) carrying ``content``."""
    return dumps({"msg_type": MsgType.MEDIA_DATA_CHAT, "content": content})


def chat_data(
    text: str,
    *,
    message_id: str,
    sender: tuple[int, str],
    receiver: tuple[int, str] | None,
    chat_session_id: str,
) -> str:
    """The 2026 form of a chat ``content.data``: a JSON string with ``message_id``, ``data``,
    ``operation_type`` 1, ``chat_session`` (type 1 everyone, 2 direct), ``sender`` and, for a
    direct message, ``receiver``; ``sender``/``receiver`` are ``(user_id, user_name)``."""
    inner: dict[str, Any] = {
        "message_id": message_id,
        "data": text,
        "operation_type": 1,
        "chat_session": {"type": 2 if receiver else 1, "id": chat_session_id},
        "sender": {"user_id": sender[0], "user_name": sender[1]},
    }
    if receiver:
        inner["receiver"] = {"user_id": receiver[0], "user_name": receiver[1]}
    return dumps(inner)

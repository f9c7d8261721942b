"""Zoom's RTMS stop reasons in the words a meeting's reader understands.

Ingestion stores a stop reason by its protocol name (``STOP_BC_MEETING_ENDED``, from
``streams.rtms.protocol.StopReason``; ``STOP_REASON_<n>`` for a number Zoom has not documented)
in ``ParticipantEvent.reason``, sometimes inside a longer text ("stream paused
(STOP_BC_HOST_TRIGGERED)"). The stored value stays technical (the API, the admin and the logs
show it as is); the dashboard shows :func:`reason_words` of it and keeps the code in a tooltip.

One table, :data:`STOP_REASON_WORDS`, keyed by the names of PROTOCOL.md §8.3 (RTMS_STOP_REASON,
the numbers 0-26 plus the older names of 5 and 12). No Django and no ``streams`` import here
(``meetings`` never imports ``streams``); a test checks the table covers every
``StopReason`` member.
"""

from __future__ import annotations

import re

STOP_REASON_WORDS: dict[str, str] = {
    "UNDEFINED": "Stopped (no reason given)",
    "STOP_BC_HOST_TRIGGERED": "Stopped by the host",
    "STOP_BC_USER_TRIGGERED": "Stopped by a participant",
    "STOP_BC_USER_LEFT": "The streaming user left",
    "STOP_BC_USER_EJECTED": "The streaming user was removed",
    "STOP_BC_HOST_DISABLED_APP": "The host turned the app off",
    "STOP_BC_APP_DISABLED_BY_HOST": "The host turned the app off",  # older name of 5
    "STOP_BC_MEETING_ENDED": "Meeting ended",
    "STOP_BC_STREAM_CANCELED": "Streaming was cancelled",
    "STOP_BC_STREAM_REVOKED": "Streaming permission was revoked",
    "STOP_BC_ALL_APPS_DISABLED": "All apps were turned off for the meeting",
    "STOP_BC_INTERNAL_EXCEPTION": "Zoom stopped the stream after an internal error",
    "STOP_BC_CONNECTION_TIMEOUT": "The connection to Zoom timed out",
    "STOP_BC_INSTANCE_CONNECTION_INTERRUPTED": "Zoom lost the connection to the meeting",
    "STOP_BC_MEETING_CONNECTION_INTERRUPTED": "Zoom lost the connection to the meeting",  # older name of 12
    "STOP_BC_SIGNAL_CONNECTION_INTERRUPTED": "The control connection to Zoom was interrupted",
    "STOP_BC_DATA_CONNECTION_INTERRUPTED": "The media connection to Zoom was interrupted",
    "STOP_BC_SIGNAL_CONNECTION_CLOSED_ABNORMALLY": "The control connection to Zoom closed unexpectedly",
    "STOP_BC_DATA_CONNECTION_CLOSED_ABNORMALLY": "The media connection to Zoom closed unexpectedly",
    "STOP_BC_EXIT_SIGNAL": "Zoom ended the stream",
    "STOP_BC_AUTHENTICATION_FAILURE": "Zoom refused the app's credentials",
    "STOP_BC_AWAIT_RECONNECTION_TIMEOUT": "Reconnecting took too long",
    "STOP_BC_RECEIVER_REQUEST_CLOSE": "Closed by this app",
    "STOP_BC_CUSTOMER_DISCONNECTED": "The customer disconnected",
    "STOP_BC_AGENT_DISCONNECTED": "The agent disconnected",
    "STOP_BC_ADMIN_DISABLED_APP": "An account admin turned the app off",
    "STOP_BC_KEEP_ALIVE_TIMEOUT": "The connection to Zoom stopped answering",
    "STOP_BC_MANUAL_API_TRIGGERED": "Stopped through Zoom's API",
    "STOP_BC_STREAMING_NOT_SUPPORTED": "Streaming is not supported here",
}
UNKNOWN_STOP_REASON = "Stopped by Zoom (reason {number})"

_CODE = re.compile(r"\b(?:STOP_BC_[A-Z_]+|STOP_REASON_(\d+)|UNDEFINED)\b")


def stop_reason_words(code: str) -> str:
    """The words for one stop-reason name: ``"STOP_BC_MEETING_ENDED"`` → ``"Meeting ended"``.

    ``STOP_REASON_<n>`` (a number not in the table) → "Stopped by Zoom (reason <n>)"; any other
    text is returned unchanged.
    """
    if code in STOP_REASON_WORDS:
        return STOP_REASON_WORDS[code]
    match = _CODE.fullmatch(code)
    if match and match.group(1):
        return UNKNOWN_STOP_REASON.format(number=match.group(1))
    return code


def reason_words(reason: str) -> str:
    """A stored reason with every stop-reason code in it replaced by its words.

    ``"STOP_BC_MEETING_ENDED"`` → ``"Meeting ended"``; ``"stream paused (STOP_BC_HOST_TRIGGERED)"``
    → ``"stream paused (Stopped by the host)"``; a reason with no code ("signaling: connection
    reset") is returned unchanged; ``None`` → ``""``.
    """
    if not reason:
        return ""
    return _CODE.sub(lambda match: stop_reason_words(match.group(0)), str(reason))


def has_stop_code(reason: str) -> bool:
    """True when ``reason`` contains a stop-reason code (the page then shows it in a tooltip)."""
    return bool(reason) and _CODE.search(str(reason)) is not None

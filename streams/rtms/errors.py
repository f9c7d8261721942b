"""Exceptions of the RTMS client. Pure: no Django, no I/O.

Hierarchy::

    RTMSError
    ├── RTMSFrameError            a server frame could not be used (logged and skipped, never fatal)
    │   ├── FrameDecodeError      not UTF-8, not JSON, or not a JSON object
    │   ├── UnknownMessageType    ``msg_type`` missing, not an int, or not in RTMS_MESSAGE_TYPE
    │   ├── UnknownEventType      EVENT_UPDATE ``event_type`` missing, not an int, or unknown
    │   └── FrameSchemaError      a required field is missing or has the wrong type
    ├── RTMSHandshakeError        non-zero ``status_code`` in msg 2 / msg 4 (``status_code``, ``reason``)
    │   ├── RTMSAuthError         status 3 INVALID_SIGNATURE / 2 INVALID_RTMS_STREAM_ID: fatal
    │   └── RTMSDuplicateError    status 8 DUPLICATE_SIGNAL_REQUEST, 15/16 (stale media connection):
    │                             retried with backoff (Zoom's SDK does not retry: PROTOCOL.md A.1/A.4)
    ├── RTMSConnectionError       a socket could not be opened, timed out or was lost (retryable)
    └── RTMSStreamEnded           the stream is over (raised by ``RTMSClient.failover`` after the end)
"""

from __future__ import annotations

from streams.rtms.protocol import StatusCode


class RTMSError(Exception):
    """Base class of every RTMS client error."""


class RTMSFrameError(RTMSError):
    """A frame from the server is unusable. The client logs it, counts it and skips it."""


class FrameDecodeError(RTMSFrameError):
    """Not UTF-8 (binary frame), not valid JSON, or JSON that is not an object (e.g. an array)."""


class UnknownMessageType(RTMSFrameError):
    """``msg_type`` is missing, not an integer (Zoom's mock sends names), or not a known value."""


class UnknownEventType(RTMSFrameError):
    """EVENT_UPDATE ``event.event_type`` is missing, not an integer, or not a known value."""


class FrameSchemaError(RTMSFrameError):
    """A field the message needs is missing or has the wrong type (``field`` names it)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class RTMSHandshakeError(RTMSError):
    """A handshake answer (msg 2 SIGNALING_HAND_SHAKE_RESP or msg 4 DATA_HAND_SHAKE_RESP) with a
    non-zero ``status_code`` (PROTOCOL.md §7.7). ``scope`` is ``"signaling"`` or ``"media:<type>"``.

    Status numbering follows PROTOCOL.md §8.1 (current table); only 0 means success.
    """

    def __init__(self, status_code: int, reason: str = "", *, scope: str = "signaling") -> None:
        self.status_code = status_code
        self.reason = reason
        self.scope = scope
        try:
            name = StatusCode(status_code).name
        except ValueError:
            name = "UNKNOWN"
        super().__init__(f"{scope} handshake rejected: status {status_code} ({name}) {reason!r}")

    @property
    def retryable(self) -> bool:
        """True when a later attempt may succeed (duplicate connection still being torn down)."""
        return False


class RTMSAuthError(RTMSHandshakeError):
    """Invalid signature or unknown stream: the credentials or ids are wrong. Fatal."""


class RTMSDuplicateError(RTMSHandshakeError):
    """A previous connection for this stream (or media type) is still registered on the server.

    Retried with backoff inside the reconnect window (PROTOCOL.md §7.4).
    """

    @property
    def retryable(self) -> bool:
        return True


class RTMSConnectionError(RTMSError):
    """A socket could not be opened, a handshake timed out, or an open socket was lost."""

    def __init__(self, message: str, *, scope: str = "signaling") -> None:
        super().__init__(message)
        self.scope = scope


class RTMSStreamEnded(RTMSError):
    """The stream has ended; ``stop_reason`` is RTMS_STOP_REASON when Zoom gave one."""

    def __init__(self, detail: str, *, stop_reason: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.stop_reason = stop_reason


AUTH_STATUS_CODES = frozenset({StatusCode.INVALID_RTMS_STREAM_ID, StatusCode.INVALID_SIGNATURE})
# A stale registration of our own previous connection (PROTOCOL.md §7.2, §7.4): retried. The client
# opens one socket per type and at most one ``all`` socket, so 15/16 can only mean that.
DUPLICATE_STATUS_CODES = frozenset(
    {
        StatusCode.DUPLICATE_SIGNAL_REQUEST,
        StatusCode.MEDIA_DATA_ALL_CONNECTION_EXIST,
        StatusCode.DUPLICATE_MEDIA_DATA_CONNECTION,
    }
)


def handshake_error(status_code: int, reason: str = "", *, scope: str = "signaling") -> RTMSHandshakeError:
    """The right :class:`RTMSHandshakeError` subclass for a non-zero ``status_code``.

    A duplicate is also recognised by its reason text ("duplicate signal request", PROTOCOL.md §6.2),
    which covers servers on the legacy numbering (17 there).
    """
    if status_code in DUPLICATE_STATUS_CODES or "duplicate" in reason.lower():
        return RTMSDuplicateError(status_code, reason, scope=scope)
    if status_code in AUTH_STATUS_CODES:
        return RTMSAuthError(status_code, reason, scope=scope)
    return RTMSHandshakeError(status_code, reason, scope=scope)

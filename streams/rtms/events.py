"""Typed events the RTMS client yields (frozen dataclasses). Pure: no Django, no I/O.

The contract between ``streams.rtms.client`` (producer) and ``streams.ingest`` (consumer).
Times are Zoom's: ``timestamp`` fields are Unix epoch **milliseconds** set on Zoom's side
(PROTOCOL.md §10). ``user_id`` is always a ``str`` (ints on the wire, strings in some examples).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """MEDIA_DATA_AUDIO (msg 14): PCM s16le, 16 kHz mono by default (``data`` already base64-decoded).

    ``user_id`` "0" with an empty ``user_name`` is the mixed stream (PROTOCOL.md §10.1).
    """

    user_id: str
    user_name: str
    data: bytes
    timestamp: int


@dataclass(frozen=True, slots=True)
class TranscriptEvent:
    """MEDIA_DATA_TRANSCRIPT (msg 17): one utterance. ``start_time``/``end_time`` epoch ms (may be 0)."""

    user_id: str
    user_name: str
    text: str
    timestamp: int
    start_time: int
    end_time: int
    language: int | None = None
    attribute: int | None = None  # RTMS_DATA_MESSAGE_ATTRIBUTE (§8.15), when sent


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """MEDIA_DATA_CHAT (msg 18). ``message_id`` may be empty on older servers (§10.5)."""

    user_id: str
    user_name: str
    text: str
    timestamp: int
    message_id: str = ""
    recipient_name: str = ""
    operation: int = 1  # CHAT_OPERATION_TYPE NEW


@dataclass(frozen=True, slots=True)
class ParticipantJoined:
    """EVENT_UPDATE PARTICIPANT_JOIN, one per participant in the event's list."""

    user_id: str
    user_name: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class ParticipantLeft:
    """EVENT_UPDATE PARTICIPANT_LEAVE, one per participant in the event's list."""

    user_id: str
    timestamp: int
    user_name: str = ""


@dataclass(frozen=True, slots=True)
class ActiveSpeakerChanged:
    user_id: str
    user_name: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class SharingStarted:
    user_id: str
    user_name: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class SharingStopped:
    timestamp: int
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class FirstPacketTimestamp:
    """EVENT_UPDATE FIRST_PACKET_TIMESTAMP: the session's media time origin (epoch ms)."""

    timestamp: int


@dataclass(frozen=True, slots=True)
class StreamStateChanged:
    """STREAM_STATE_UPDATE (msg 8). ``state`` is RTMS_STREAM_STATE, ``reason`` RTMS_STOP_REASON."""

    state: int
    reason: int | None
    timestamp: int


@dataclass(frozen=True, slots=True)
class SessionStateChanged:
    """SESSION_STATE_UPDATE (msg 9). ``state`` is RTMS_SESSION_STATE (2 started, 3 paused, 4 resumed, 5 stopped)."""

    rtms_session_id: str
    state: int
    reason: int | None
    timestamp: int


@dataclass(frozen=True, slots=True)
class Connected:
    """Emitted after CLIENT_READY_ACK: every requested media socket completed its handshake.

    ``reconnect`` is False on the first connection, True after a re-handshake; ``media`` lists
    the media types (``audio``, ``transcript``, ...) the server granted.
    """

    reconnect: bool
    media: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Interrupted:
    """A connection was lost and the client is reconnecting. ``scope`` is ``"media:<type>"`` or
    ``"signaling"``; ``reason`` a short human text. Followed by ``Connected(reconnect=True)`` or
    ``StreamEnded``. ``timestamp`` is local wall-clock epoch ms when the loss was noticed."""

    scope: str
    reason: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """A (re)connection attempt failed, or a connection was just lost, and the client waits
    before the next attempt (one event per wait; PROTOCOL.md §7.8, streams/rtms/reconnect.py).

    ``scope``: ``"signaling"`` (full handshake) or ``"media:<name>"``; ``attempt``: 1-based
    number of the attempt that comes next; ``error``: the last failure's text (for a fresh loss,
    the loss's reason); ``next_attempt_at`` / ``deadline_at``: local wall-clock epoch ms of the
    next attempt and of the end of the reconnect window (the client gives up after it).
    """

    scope: str
    attempt: int
    error: str
    next_attempt_at: int
    deadline_at: int


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The stream is over: TERMINATED state, STREAM_CLOSE_RESP, a fatal handshake status, or
    reconnection gave up. ``stop_reason`` is RTMS_STOP_REASON when Zoom gave one."""

    stop_reason: int | None
    detail: str
    timestamp: int
    # The error that ended the stream, if any (e.g. an RTMSAuthError for a bad signature, an
    # RTMSConnectionError when the reconnect window expired); None for a normal end.
    error: Exception | None = None


@dataclass(frozen=True, slots=True)
class AudioDropped:
    """Audio frames of one participant were dropped because the consumer fell behind.

    Emitted by ``RTMSClient.events()`` exactly where the gap is: the frames were the oldest queued
    ones, so every AudioFrame of ``user_id`` delivered before this event precedes the gap and every
    one after it follows the gap. ``frames``/``bytes`` count what was dropped (``bytes`` = decoded
    PCM bytes); ``first_timestamp``/``last_timestamp`` are the Zoom timestamps (epoch ms) of the
    first and last dropped frame, so a consumer can insert silence of the right length.
    """

    user_id: str
    user_name: str
    frames: int
    bytes: int
    first_timestamp: int
    last_timestamp: int
    reason: str = ""  # why, when not the consumer falling behind (the ingest's own drops)


@dataclass(frozen=True, slots=True)
class MediaConnectionInterrupted:
    """EVENT_UPDATE MEDIA_CONNECTION_INTERRUPTED (event_type 7): Zoom says a media connection of
    this stream was interrupted (which one is undocumented, PROTOCOL.md §11). Informational: the
    client itself reopens any media socket that it finds closed or silent (PROTOCOL.md §7.8)."""

    timestamp: int


RTMSEvent = (
    AudioFrame
    | TranscriptEvent
    | ChatEvent
    | ParticipantJoined
    | ParticipantLeft
    | ActiveSpeakerChanged
    | SharingStarted
    | SharingStopped
    | FirstPacketTimestamp
    | StreamStateChanged
    | SessionStateChanged
    | Connected
    | Interrupted
    | Reconnecting
    | StreamEnded
    | AudioDropped
    | MediaConnectionInterrupted
)

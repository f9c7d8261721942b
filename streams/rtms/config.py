"""What one RTMS connection is configured with (``ClientConfig``) and what it counts (``ClientStats``).

Pure data: no asyncio, no sockets, no Django. Used by the sans-IO state machine
(``connection.py``) and the asyncio transport (``client.py``) alike.
"""

from __future__ import annotations

import ssl as ssl_module
from dataclasses import dataclass, field
from typing import Any

from streams.rtms import messages
from streams.rtms.protocol import DataOption
from streams.rtms.reconnect import ReconnectPolicy


@dataclass(frozen=True)
class ClientConfig:
    """Everything one RTMS connection needs. Times in seconds.

    ``server_urls`` is the webhook's signaling URL string (comma-separated URLs are tried in
    order). ``media`` ⊆ {"audio", "transcript", "chat"}. ``id_key`` is the handshake key carrying
    ``instance_id`` (Zoom's SDK always sends ``meeting_uuid``; ``session_id``/``webinar_uuid``/
    ``engagement_id`` for other products). ``ssl``: for ``wss://`` URLs, None means
    ``ssl.create_default_context()`` (certificate and host name verification on); ``ws://`` is
    accepted for local emulators. Raises ``ValueError`` for invalid values.
    """

    client_id: str
    client_secret: str
    instance_id: str
    rtms_stream_id: str
    server_urls: str
    media: tuple[str, ...] = ("audio", "transcript", "chat")
    audio_data_opt: DataOption = DataOption.AUDIO_MULTI_STREAMS
    audio_send_rate_ms: int = 20
    transcript_language: int | None = None  # RTMS_TRANSCRIPT_LANGUAGE hint (src_language)
    transcript_enable_lid: bool | None = None
    subscribe_events: tuple[int, ...] = messages.DEFAULT_SUBSCRIBED_EVENTS
    id_key: str = "meeting_uuid"
    buffer_data: bool | None = None  # None: field omitted (server default true)
    connect_timeout: float = 10.0  # TCP + TLS + WebSocket upgrade
    handshake_timeout: float = 10.0  # msg 1 → msg 2, msg 3 → msg 4
    send_timeout: float = 5.0  # any single send (keep-alive answers included)
    close_timeout: float = 5.0  # STREAM_CLOSE_REQ → 22/TERMINATED, and WebSocket closing handshake
    idle_timeout: float = 65.0  # no frame on a socket for this long → lost (§7.6; checked every 0.5 s)
    end_drain_timeout: float = 2.0  # after TERMINATED, keep reading media until closed or this long
    media_interrupt_grace: float = 12.0  # after MEDIA_CONNECTION_INTERRUPTED, reopen silent sockets
    reconnect_initial_delay: float = 3.0  # backoff: first wait after a loss (§7.8), doubling
    reconnect_max_delay: float = 30.0  # backoff cap (§7.8)
    reconnect_window: float = 60.0  # last attempt just before this long after a loss (§7.6/7.8: 60 s)
    reconnect_jitter: float = 0.1  # each backoff delay × uniform(1 - j, 1 + j)
    ping_interval: float | None = 20.0  # WebSocket-level pings (half-open TCP detection); None: off
    max_frame_bytes: int = 16 * 1024 * 1024
    event_queue_size: int = 10_000
    audio_queue_size: int = 3_000  # frames: 60 s of one speaker at 20 ms
    ssl: ssl_module.SSLContext | None = None

    def __post_init__(self) -> None:
        for name in ("client_id", "client_secret", "instance_id", "rtms_stream_id", "id_key"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        if not self.signaling_urls():
            raise ValueError("server_urls holds no ws:// or wss:// URL")
        media = tuple(self.media)
        bad = [m for m in media if m not in messages.SUPPORTED_MEDIA]
        if bad or not media or len(set(media)) != len(media):
            raise ValueError(f"media must be distinct names from {messages.SUPPORTED_MEDIA}, got {media!r}")
        object.__setattr__(self, "media", media)
        rate = self.audio_send_rate_ms
        if not (isinstance(rate, int) and 20 <= rate <= 1000 and rate % 20 == 0):
            raise ValueError("audio_send_rate_ms must be a multiple of 20 between 20 and 1000")
        for name in (
            "connect_timeout",
            "handshake_timeout",
            "send_timeout",
            "close_timeout",
            "idle_timeout",
            "end_drain_timeout",
            "media_interrupt_grace",
            "reconnect_initial_delay",
            "reconnect_max_delay",
            "reconnect_window",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        if self.event_queue_size < 1 or self.audio_queue_size < 1:
            raise ValueError("queue sizes must be >= 1")
        self.reconnect_policy()  # ValueError for a max delay below the initial one, a bad jitter

    def reconnect_policy(self) -> ReconnectPolicy:
        """The backoff and window of every reconnection, signaling and media alike."""
        return ReconnectPolicy(
            initial_delay=self.reconnect_initial_delay,
            max_delay=self.reconnect_max_delay,
            window=self.reconnect_window,
            jitter=self.reconnect_jitter,
        )

    def signaling_urls(self) -> list[str]:
        """The comma-separated ``server_urls`` split, stripped, keeping ws:// and wss:// only."""
        return [u.strip() for u in self.server_urls.split(",") if u.strip().startswith(("ws://", "wss://"))]


@dataclass
class ClientStats:
    """Counters, readable at any time (``RTMSClient.stats``); ``as_dict()`` for logs and storage.

    ``frames_received`` per socket name (``signaling``, ``audio``, ``transcript``, ``chat``, ``all``);
    ``audio_frames``/``audio_bytes`` delivered into the audio queue per ``user_id``;
    ``audio_frames_dropped``/``audio_bytes_dropped`` per ``user_id`` (queue overflow);
    ``keepalives_answered`` per socket name; ``frames_skipped`` per cause (``decode``,
    ``msg_type``, ``event_type``, ``schema``, ``ignored``, ``unexpected``).
    """

    frames_received: dict[str, int] = field(default_factory=dict)
    audio_frames: dict[str, int] = field(default_factory=dict)
    audio_bytes: dict[str, int] = field(default_factory=dict)
    audio_frames_dropped: dict[str, int] = field(default_factory=dict)
    audio_bytes_dropped: dict[str, int] = field(default_factory=dict)
    keepalives_answered: dict[str, int] = field(default_factory=dict)
    frames_skipped: dict[str, int] = field(default_factory=dict)
    duplicates_skipped: dict[str, int] = field(default_factory=dict)  # "audio"/"transcript"/"chat"
    connects: int = 0  # successful handshakes (+ READY_ACK), first one included
    reconnects: int = 0  # successful re-handshakes: full + media-only
    full_reconnects: int = 0
    media_reconnects: int = 0
    failed_attempts: int = 0
    event_queue_high_water: int = 0
    audio_queue_high_water: int = 0
    event_queue_full_waits: int = 0

    @staticmethod
    def _bump(counter: dict[str, int], key: str, n: int = 1) -> None:
        counter[key] = counter.get(key, 0) + n

    @property
    def total_audio_frames_dropped(self) -> int:
        return sum(self.audio_frames_dropped.values())

    @property
    def total_frames_skipped(self) -> int:
        return sum(self.frames_skipped.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            key: dict(value) if isinstance(value, dict) else value
            for key, value in self.__dict__.items()
            if not key.startswith("_")
        }

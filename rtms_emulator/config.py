"""The emulator's settings (``EmulatorConfig``) and its API error (``EmulatorError``).

Every module of the emulator reads its tunables from here; times are seconds, the defaults are
Zoom's documented values (PROTOCOL.md Section A, Appendix A). docs/emulator.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.rtms.messages import MEDIA_BITS
from streams.rtms.protocol import StopReason


class EmulatorError(RuntimeError):
    """Misuse of the emulator API (not started, unknown stream, ...)."""


@dataclass
class EmulatorConfig:
    """Everything tunable. Times in seconds. Defaults are Zoom's documented values."""

    client_id: str = "emulator-client-id"
    client_secret: str = "emulator-client-secret"  # noqa: S105  (a test default, override it)
    webhook_secret: str = "emulator-webhook-secret"  # noqa: S105
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port (see Emulator.port)
    public_host: str | None = None  # host written into URLs (default: host)
    keepalive_interval: float = 10.0  # KEEP_ALIVE_REQ period on every socket (PROTOCOL.md §7.6)
    keepalive_idle_only: bool = False  # only when nothing else was sent for a whole interval
    keepalive_max_misses: int = 3  # consecutive unanswered requests before the socket is dropped
    reconnect_window: float = 60.0  # after a signaling loss, then stop reason 19 (24 for keep-alive)
    media_reconnect_window: float = 65.0  # after a media loss
    connect_timeout: float = 30.0  # rtms_started -> signaling + CLIENT_READY_ACK, else stop reason 11
    handshake_timeout: float = 10.0  # socket open -> first message
    duplicate_signaling: str = "reject"  # second signaling connection: "reject" (status 8) or "kick"
    binary_frames: bool = False  # send every server message as a binary frame
    ready_delay: float = 0.3  # CLIENT_READY_ACK -> first events (SDK race, Section A.2)
    terminate_gap: float = 0.5  # last media -> TERMINATED (SDK bug, Section A.4)
    legacy_status_codes: bool = False  # legacy 0-75 numbering in handshake responses
    media_types: tuple[str, ...] = ("audio", "video", "deskshare", "transcript", "chat")  # app scopes
    chat_format: str = "json"  # "json": content.data is a JSON string (2026 form); "text": plain
    require_event_subscription: bool = True  # events 2-6 only after EVENT_SUBSCRIPTION
    webhook_timeout: float = 3.0
    webhook_retry_delays: tuple[float, ...] = ()  # Zoom: (300, 1200, 3600) after a non-2xx / timeout
    record_audio: bool = True  # keep the exact audio bytes sent (off for long load runs: counts only)
    replay_buffer_seconds: float = 60.0  # media kept for replay until a keep-alive confirms it (0 = off)
    # Signaling lost: True keeps the media sockets open and streaming until the client closes
    # them (a server that does not interrupt media with signaling); False aborts them (§7.8).
    signaling_loss_keeps_media: bool = False
    stop_reason: int = StopReason.STOP_BC_MEETING_ENDED  # at the end of the scenario

    def __post_init__(self) -> None:
        if self.duplicate_signaling not in ("reject", "kick"):
            raise ValueError("duplicate_signaling must be 'reject' or 'kick'")
        if self.chat_format not in ("json", "text"):
            raise ValueError("chat_format must be 'json' or 'text'")
        unknown = set(self.media_types) - set(MEDIA_BITS)
        if unknown:
            raise ValueError(f"unknown media types {sorted(unknown)}")

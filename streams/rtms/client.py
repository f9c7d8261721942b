"""Asyncio RTMS client (framework-free): one instance per ``rtms_stream_id``.

Usage::

    client = RTMSClient(ClientConfig(client_id=..., client_secret=..., instance_id=meeting_uuid,
                                     rtms_stream_id=..., server_urls=payload["server_urls"]))
    async for event in client.events():      # starts the connection; ends after StreamEnded
        ...                                  # AudioFrame, TranscriptEvent, ChatEvent, ...
    await client.close(request_stream_close=True)   # from another task: STREAM_CLOSE_REQ

Design (docs/rtms_client.md has the full story):

* One **reader task per socket** (signaling, one per media type, or one ``all`` socket). It answers
  KEEP_ALIVE_REQ (msg 12) on that socket at once with msg 13 echoing ``timestamp`` and ``sequence``,
  routes handshake answers to the handshake waiter, and turns everything else into typed events.
  Malformed or unknown frames are logged (logger ``streams.rtms``), counted in ``stats`` and skipped.
* A **supervisor task** runs the connection state machine: handshakes, media-only reopen when a
  media socket is lost while signaling lives, full re-handshake when signaling is lost (the media
  sockets kept reading meanwhile, then closed with a drain), one reconnect policy for both
  (streams/rtms/reconnect.py: 3 s doubling to 30 s with jitter, the last attempt just before
  Zoom's 60 s window, ``Reconnecting`` before every wait), failover, clean close
  (STREAM_CLOSE_REQ), and the end of the stream (TERMINATED / last session STOPPED) with a
  drain of the media sockets so no frame sent just before TERMINATED is lost (PROTOCOL.md A.4).
  Every socket the client closes is drained: its reader delivers everything received up to the
  server's close frame; audio a cancelled reader left unread is counted as dropped.
* Media that Zoom replays on a reopened socket (frames it could not confirm) is de-duplicated:
  audio by per-user timestamp, transcript/chat by content (``stats.duplicates_skipped``).
* An **outbox** between readers and the consumer: audio frames in a bounded queue that drops the
  *oldest* frame on overflow and reports it (``AudioDropped`` at the gap, ``stats``); other events in
  a bounded queue that is never dropped from. Readers never wait for the audio queue; they wait for
  the event queue only when it is completely full (see docs for why keep-alives still flow).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl as ssl_module
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.protocol import State

from streams.rtms import messages
from streams.rtms.errors import (
    FrameDecodeError,
    FrameSchemaError,
    RTMSConnectionError,
    RTMSError,
    RTMSFrameError,
    RTMSHandshakeError,
    RTMSStreamEnded,
    UnknownEventType,
    UnknownMessageType,
    handshake_error,
)
from streams.rtms.events import (
    AudioDropped,
    AudioFrame,
    ChatEvent,
    Connected,
    Interrupted,
    MediaConnectionInterrupted,
    Reconnecting,
    RTMSEvent,
    SessionStateChanged,
    StreamEnded,
    StreamStateChanged,
    TranscriptEvent,
)
from streams.rtms.protocol import DataOption, MsgType, SessionState, StatusCode, StopReason, StreamState
from streams.rtms.reconnect import ReconnectPolicy, Retry
from streams.rtms.signing import handshake_signature

logger = logging.getLogger("streams.rtms")

# Handshake statuses meaning "this media type is not in the app's scopes": drop that type, go on.
MEDIA_NOT_SUPPORTED = frozenset(
    {
        StatusCode.MEDIA_TYPE_AUDIO_NOT_SUPPORT,
        StatusCode.MEDIA_TYPE_VIDEO_NOT_SUPPORT,
        StatusCode.MEDIA_TYPE_DESKSHARE_NOT_SUPPORT,
        StatusCode.MEDIA_TYPE_TRANSCRIPT_NOT_SUPPORT,
        StatusCode.MEDIA_TYPE_CHAT_NOT_SUPPORT,
    }
)
_LOG_EVERY = 1000  # after the first 20 skipped frames, log one in this many


def _now_ms() -> int:
    return int(time.time() * 1000)


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


class _Outbox:
    """Readers → consumer. Audio: bounded, drop-oldest, drops reported as AudioDropped at the gap.
    Other events: bounded, never dropped (``put_event`` waits for space). ``force`` ignores the
    bound (control events: Connected, Interrupted, StreamEnded, staged handshake-time events)."""

    def __init__(self, audio_size: int, event_size: int, stats: ClientStats) -> None:
        self._audio: deque[tuple[int, AudioFrame]] = deque()
        self._events: deque[tuple[int, RTMSEvent]] = deque()
        self._drops: dict[str, list[Any]] = {}  # user_id -> [user_name, frames, bytes, first_ts, last_ts]
        self._seq = itertools.count()
        self._audio_size = audio_size
        self._event_size = event_size
        self._stats = stats
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()

    def __len__(self) -> int:
        return len(self._audio) + len(self._events) + len(self._drops)

    def put_audio(self, frame: AudioFrame) -> None:
        if len(self._audio) >= self._audio_size:
            _, old = self._audio.popleft()
            self.note_dropped(old)
        self._audio.append((next(self._seq), frame))
        self._stats.audio_queue_high_water = max(self._stats.audio_queue_high_water, len(self._audio))
        self._ready.set()

    def note_dropped(self, old: AudioFrame) -> None:
        """Count a frame that will never reach the consumer; reported as AudioDropped next."""
        drop = self._drops.get(old.user_id)
        if drop is None:
            self._drops[old.user_id] = [old.user_name, 1, len(old.data), old.timestamp, old.timestamp]
        else:
            drop[1] += 1
            drop[2] += len(old.data)
            drop[3] = min(drop[3], old.timestamp)
            drop[4] = max(drop[4], old.timestamp)
        ClientStats._bump(self._stats.audio_frames_dropped, old.user_id)
        ClientStats._bump(self._stats.audio_bytes_dropped, old.user_id, len(old.data))
        self._ready.set()

    def force(self, event: RTMSEvent) -> None:
        self._events.append((next(self._seq), event))
        self._stats.event_queue_high_water = max(self._stats.event_queue_high_water, len(self._events))
        self._ready.set()

    async def put_event(self, event: RTMSEvent, *, alive: asyncio.Event) -> None:
        """Append, waiting while the queue is full (checked each second; gives up waiting, and
        appends anyway, once ``alive`` is cleared: the client is shutting down)."""
        if len(self._events) >= self._event_size:
            self._stats.event_queue_full_waits += 1
            if self._stats.event_queue_full_waits % 100 == 1:
                logger.warning(
                    "RTMS event queue full (%d events): the consumer is too slow (%d waits so far)",
                    self._event_size,
                    self._stats.event_queue_full_waits,
                )
            while len(self._events) >= self._event_size and alive.is_set():
                self._space.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._space.wait(), 1.0)
        self.force(event)

    async def get(self) -> RTMSEvent:
        while True:
            if self._drops:
                user_id, (name, frames, nbytes, first, last) = next(iter(self._drops.items()))
                del self._drops[user_id]
                return AudioDropped(user_id, name, frames, nbytes, first, last)
            if self._audio or self._events:
                use_audio = bool(self._audio) and (not self._events or self._audio[0][0] < self._events[0][0])
                if use_audio:
                    return self._audio.popleft()[1]
                event = self._events.popleft()[1]
                if len(self._events) < self._event_size:
                    self._space.set()
                return event
            self._ready.clear()
            await self._ready.wait()  # every put sets it (no timer per wait: this is per frame)


class _Socket:
    """One WebSocket with its reader task. ``media`` lists the media names it carries."""

    def __init__(self, name: str, url: str, ws: ClientConnection, media: tuple[str, ...] = ()) -> None:
        self.name = name
        self.url = url
        self.ws = ws
        self.media = media
        self.handshake: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.lost = asyncio.Event()
        self.lost_reason = ""
        self.ready = False  # events are staged until the (re)connection is complete
        self.staged: list[RTMSEvent] = []
        self.last_frame_at = time.monotonic()
        self.reader: asyncio.Task[None] | None = None
        self.media_params: dict[str, Any] = {}
        self.replay_guard = False  # opened after a connection existed: replayed media is dropped
        self.closing = False  # our close frame is sent: keep reading until the server's arrives

    @property
    def scope(self) -> str:
        return "signaling" if self.name == "signaling" else f"media:{self.name}"


@dataclass
class _EndSignal:
    stop_reason: int | None
    detail: str


class RTMSClient:
    """One RTMS stream. Not thread-safe; one consumer of :meth:`events` at a time.

    Public API: :meth:`events` (or ``async for`` on the client), :meth:`start`, :meth:`close`,
    :meth:`failover`, ``stats`` (:class:`ClientStats`), ``granted_media`` (media names connected
    at the last (re)connection), ``media_params`` (effective params echoed by the server, per
    socket), ``ended`` (the final StreamEnded once the stream is over).
    """

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.stats = ClientStats()
        self.granted_media: tuple[str, ...] = ()
        self.media_params: dict[str, dict[str, Any]] = {}
        self.ended: StreamEnded | None = None
        self._urls = config.signaling_urls()
        self._policy = config.reconnect_policy()
        self._lost_reason = ""  # why the last connection was lost (for Reconnecting)
        self._signature = handshake_signature(
            client_id=config.client_id,
            client_secret=config.client_secret,
            instance_id=config.instance_id,
            rtms_stream_id=config.rtms_stream_id,
        )
        self._sequence = itertools.count(1)
        self._outbox = _Outbox(config.audio_queue_size, config.event_queue_size, self.stats)
        self._supervisor: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # anything the supervisor should look at
        self._alive = asyncio.Event()  # cleared at shutdown: readers stop waiting for queue space
        self._signaling: _Socket | None = None
        self._media: dict[str, _Socket] = {}  # socket name -> socket
        self._old_media: list[_Socket] = []  # kept reading across a signaling loss
        self._media_plan: dict[str, tuple[str, tuple[str, ...]]] = {}  # socket name -> (url, media)
        self._end: _EndSignal | None = None
        self._terminating = False
        self._sessions: set[str] = set()
        self._media_suspect_at: float | None = None
        self._failover_urls: list[str] | None = None
        self._close_request: bool | None = None  # request_stream_close flag once close() is called
        self._close_resp: tuple[int, str] | None = None
        self._skipped_logged = 0
        self._final: StreamEnded | None = None
        self._last_audio_ts: dict[str, int] = {}
        self._recent_order: deque[tuple[str, str, int, str]] = deque(maxlen=1024)
        self._recent_keys: set[tuple[str, str, int, str]] = set()
        self._end_delivered = False

    # --- public API ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background (idempotent). Must run inside an event loop."""
        if self._supervisor is not None:
            return
        self._alive.set()
        self._supervisor = asyncio.get_running_loop().create_task(
            self._run(), name=f"rtms-supervisor-{self.config.rtms_stream_id}"
        )

    async def events(self) -> AsyncIterator[RTMSEvent]:
        """Typed events in wire order per socket; ``StreamEnded`` is always the last one."""
        self.start()
        while not self._end_delivered:
            event = await self._outbox.get()
            if isinstance(event, StreamEnded):
                self._end_delivered = True
            yield event

    def __aiter__(self) -> AsyncIterator[RTMSEvent]:
        return self.events()

    async def __aenter__(self) -> RTMSClient:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close(request_stream_close=False)

    async def close(self, *, request_stream_close: bool) -> None:
        """Stop the client; returns once the sockets are closed and StreamEnded is queued.

        ``request_stream_close=True``: send STREAM_CLOSE_REQ (msg 21) and wait (``close_timeout``)
        for STREAM_CLOSE_RESP (22) / TERMINATED, drain, then close: Zoom ends the stream (stop
        reason 20). ``False``: just close the sockets (handing the stream over to another worker,
        which has Zoom's reconnect window to take over). Idempotent; bounded in time.
        """
        self.start()
        supervisor = self._supervisor
        if supervisor is None:  # pragma: no cover - start() sets it
            raise RuntimeError("RTMS client not started")
        if self._close_request is None:
            self._close_request = request_stream_close
        self._wake.set()
        budget = 2 * self.config.close_timeout + self.config.end_drain_timeout + self.config.send_timeout + 2
        done, _ = await asyncio.wait({supervisor}, timeout=budget)
        if not done:
            logger.error(
                "RTMS client %s did not stop within %.1fs; cancelling", self.config.rtms_stream_id, budget
            )
            supervisor.cancel()
            await asyncio.wait({supervisor}, timeout=self.config.close_timeout)

    def failover(self, server_urls: str) -> None:
        """A new ``rtms_started`` with different ``server_urls`` arrived (RTMS server failover,
        PROTOCOL.md §7.8): close every socket and redo the full handshake against the new URL(s).
        Raises ``ValueError`` for a string without ws:// / wss:// URLs and :class:`RTMSStreamEnded`
        once the stream is over."""
        final = self.ended or self._final
        if final is not None:
            raise RTMSStreamEnded(final.detail, stop_reason=final.stop_reason)
        urls = [u.strip() for u in server_urls.split(",") if u.strip().startswith(("ws://", "wss://"))]
        if not urls:
            raise ValueError("server_urls holds no ws:// or wss:// URL")
        if self._supervisor is None:
            self._urls = urls
            return
        self._failover_urls = urls
        self._wake.set()

    # --- supervisor ------------------------------------------------------------------------------

    async def _run(self) -> None:
        error: Exception | None = None
        try:
            await self._lifecycle()
        except asyncio.CancelledError:
            self._end = self._end or _EndSignal(None, "client cancelled")
            raise
        except Exception as exc:  # a bug of ours must still end the stream cleanly, with a trace
            logger.exception("RTMS client %s crashed", self.config.rtms_stream_id)
            self._end = _EndSignal(None, f"client error: {exc!r}")
            error = exc
        finally:
            self._alive.clear()  # readers stop waiting for queue space (they append anyway)
            await self._close_all(old_media=True)  # drained, readers stopped: nothing follows StreamEnded
            end = self._end or _EndSignal(None, "client stopped")
            self._finish(end.stop_reason, end.detail, error)
            self.ended = self._final or StreamEnded(end.stop_reason, end.detail, _now_ms(), error)
            self._outbox.force(self.ended)
            log = logger.warning if self.ended.error is not None else logger.info
            log(
                "RTMS stream %s ended: %s (stop_reason=%s)",
                self.config.rtms_stream_id,
                self.ended.detail,
                self.ended.stop_reason,
            )

    def _finish(self, stop_reason: int | None, detail: str, error: Exception | None = None) -> None:
        """Record how the stream ended (first call wins); queued after the sockets are closed."""
        if self._final is None:
            self._final = StreamEnded(stop_reason, detail, _now_ms(), error)

    async def _lifecycle(self) -> None:
        cfg = self.config
        reconnect = False
        retry: Retry | None = None  # the current outage's schedule (streams/rtms/reconnect.py)
        while True:
            if self._end is not None:  # TERMINATED arrived during a handshake that then failed
                return
            if self._close_request is not None:
                self._end = _EndSignal(None, "closed by the client before a connection was up")
                return
            if self._failover_urls is not None:
                self._urls, self._failover_urls = self._failover_urls, None
            try:
                await self._connect_full(reconnect=reconnect)
            except RTMSHandshakeError as exc:
                await self._close_all()
                if not exc.retryable:
                    self._finish(None, str(exc), exc)
                    return
                last_error: Exception = exc
            except RTMSConnectionError as exc:
                await self._close_all()
                last_error = exc
            else:
                retry = None
                outcome = await self._monitor()
                if outcome == "end":
                    return
                reconnect = True
                retry = self._policy.begin(time.monotonic())
                if outcome == "failover":
                    continue  # immediate attempt against the new URL
                reason = self._lost_reason or "connection lost"
                if not await self._wait_retry(retry, "signaling", reason):
                    return
                continue
            # a failed attempt
            self.stats.failed_attempts += 1
            retry = retry or self._policy.begin(time.monotonic())
            retry.failed(last_error)
            logger.warning(
                "RTMS %s connect attempt %d failed: %s", cfg.rtms_stream_id, retry.attempts, last_error
            )
            if self._end is not None:
                return
            if self._failover_urls is not None:  # new server: a fresh window, no backoff
                retry = self._policy.begin(time.monotonic())
                continue
            if not await self._wait_retry(retry, "signaling", str(last_error), error=last_error):
                return

    async def _wait_retry(
        self, retry: Retry, scope: str, reason: str, *, error: Exception | None = None
    ) -> bool:
        """Announce and sleep until the next attempt of ``retry``; False (and the stream
        finished with the reason) when the reconnect window is over."""
        now = time.monotonic()
        delay = retry.next_delay(now)
        if delay is None:
            window = self._policy.window
            self._finish(
                None,
                f"could not (re)connect within the {window:g}s reconnect window "
                f"({retry.attempts} attempt(s) failed; last error: {retry.last_error or reason})",
                error or RTMSConnectionError(reason, scope=scope),
            )
            return False
        self._announce_retry(retry, scope, reason, delay)
        await self._sleep(delay)
        return True

    def _announce_retry(self, retry: Retry, scope: str, reason: str, delay: float) -> None:
        wall = _now_ms()
        self._outbox.force(
            Reconnecting(
                scope=scope,
                attempt=retry.attempts + 1,
                error=retry.last_error or reason,
                next_attempt_at=wall + int(delay * 1000),
                deadline_at=wall + int((retry.deadline - time.monotonic()) * 1000),
            )
        )

    async def _sleep(self, seconds: float) -> None:
        """Backoff sleep, cut short by close() or failover()."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._close_request is not None or self._failover_urls is not None:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(left, 1.0))

    async def _connect_full(self, *, reconnect: bool) -> None:
        """Signaling handshake (msg 1 → 2), EVENT_SUBSCRIPTION (5), every media handshake
        (3 → 4), CLIENT_READY_ACK (7), then Connected. Raises RTMSHandshakeError/RTMSConnectionError."""
        cfg = self.config
        sock = await self._open_first(self._urls)
        self._signaling = sock
        await self._send_or_raise(
            sock,
            messages.signaling_handshake_req(
                instance_id=cfg.instance_id,
                rtms_stream_id=cfg.rtms_stream_id,
                signature=self._signature,
                sequence=next(self._sequence),
                id_key=cfg.id_key,
                buffer_data=cfg.buffer_data,
            ),
        )
        resp = await self._await_handshake(sock)
        try:
            hs = messages.parse_signaling_handshake_resp(resp)
        except RTMSFrameError as exc:
            raise RTMSConnectionError(f"malformed SIGNALING_HAND_SHAKE_RESP: {exc}") from exc
        if hs.status_code != 0:
            raise handshake_error(hs.status_code, hs.reason, scope="signaling")
        if cfg.subscribe_events:
            await self._send_or_raise(sock, messages.event_subscription(cfg.subscribe_events))
        await self._retire_old_media()  # one media connection per type: the old ones go first
        self._media_plan = self._plan_media(hs.server_urls)
        results = await asyncio.gather(
            *(self._open_media(name, url, media) for name, (url, media) in self._media_plan.items()),
            return_exceptions=True,
        )
        first_error: BaseException | None = None
        for name, result in zip(list(self._media_plan), results, strict=True):
            if isinstance(result, _Socket):
                self._media[name] = result
            elif isinstance(result, RTMSHandshakeError) and result.status_code in MEDIA_NOT_SUPPORTED:
                logger.warning(
                    "RTMS %s: %s not granted (%s); continuing without it", cfg.rtms_stream_id, name, result
                )
                del self._media_plan[name]
            elif isinstance(result, BaseException) and (
                first_error is None or (isinstance(result, RTMSHandshakeError) and not result.retryable)
            ):
                first_error = result
        if first_error is not None:
            raise first_error
        await self._send_or_raise(sock, messages.client_ready_ack(cfg.rtms_stream_id))
        self.stats.connects += 1
        if reconnect:
            self.stats.reconnects += 1
            self.stats.full_reconnects += 1
        self._announce_connected(reconnect, [sock, *self._media.values()])

    def _announce_connected(self, reconnect: bool, sockets: list[_Socket]) -> None:
        self.granted_media = tuple(
            m for m in self.config.media if any(m in s.media for s in self._media.values())
        )
        self.media_params = {name: s.media_params for name, s in self._media.items()}
        self._outbox.force(Connected(reconnect, self.granted_media))
        for sock in sockets:  # no await between flush and ready: the readers cannot interleave
            for event in sock.staged:
                self._deliver_now(event)
            sock.staged.clear()
            sock.ready = True
        logger.info(
            "RTMS %s connected (reconnect=%s, media=%s)",
            self.config.rtms_stream_id,
            reconnect,
            self.granted_media,
        )

    def _plan_media(self, server_urls: dict[str, str]) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Split sockets per media type; types without their own URL share one ``all`` socket."""
        plan: dict[str, tuple[str, tuple[str, ...]]] = {}
        rest: list[str] = []
        for media in self.config.media:
            url = server_urls.get(media)
            if url:
                plan[media] = (url, (media,))
            else:
                rest.append(media)
        if rest and server_urls.get("all"):
            plan["all"] = (server_urls["all"], tuple(rest))
        elif rest:
            logger.warning(
                "RTMS %s: no media URL for %s (not in the app's scopes?)", self.config.rtms_stream_id, rest
            )
        return plan

    def _media_params_for(self, media: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
        cfg = self.config
        bits = 0
        params: dict[str, Any] = {}
        for name in media:
            bits |= int(messages.MEDIA_BITS[name])
            if name == "audio":
                params["audio"] = messages.audio_media_params(
                    data_opt=cfg.audio_data_opt, send_rate=cfg.audio_send_rate_ms
                )
            elif name == "transcript":
                params["transcript"] = messages.transcript_media_params(
                    src_language=cfg.transcript_language, enable_lid=cfg.transcript_enable_lid
                )
            elif name == "chat":
                params["chat"] = messages.chat_media_params()
        return bits, params

    async def _open_media(self, name: str, url: str, media: tuple[str, ...]) -> _Socket:
        cfg = self.config
        sock = await self._open(url, name, media)
        try:
            bits, params = self._media_params_for(media)
            await self._send_or_raise(
                sock,
                messages.data_handshake_req(
                    instance_id=cfg.instance_id,
                    rtms_stream_id=cfg.rtms_stream_id,
                    signature=self._signature,
                    sequence=next(self._sequence),
                    media_type=bits,
                    media_params=params,
                    id_key=cfg.id_key,
                ),
            )
            resp = await self._await_handshake(sock)
            try:
                hs = messages.parse_data_handshake_resp(resp)
            except RTMSFrameError as exc:
                raise RTMSConnectionError(f"malformed DATA_HAND_SHAKE_RESP: {exc}", scope=sock.scope) from exc
            if hs.status_code != 0:
                raise handshake_error(hs.status_code, hs.reason, scope=sock.scope)
            sock.media_params = hs.media_params
            self._check_params(name, params, hs.media_params)
            return sock
        except BaseException:
            await self._close_socket(sock)
            raise

    def _check_params(self, name: str, wanted: dict[str, Any], granted: dict[str, Any]) -> None:
        audio = granted.get("audio")
        if "audio" in wanted and isinstance(audio, dict):
            for key in ("codec", "sample_rate", "channel"):
                if key in audio and audio[key] != wanted["audio"][key]:
                    logger.warning(
                        "RTMS %s: server changed audio %s from %s to %s on %s",
                        self.config.rtms_stream_id,
                        key,
                        wanted["audio"][key],
                        audio[key],
                        name,
                    )

    async def _open_first(self, urls: list[str]) -> _Socket:
        errors: list[str] = []
        for url in urls:
            try:
                return await self._open(url, "signaling", ())
            except RTMSConnectionError as exc:
                errors.append(str(exc))
        raise RTMSConnectionError("; ".join(errors) or "no signaling URL")

    async def _open(self, url: str, name: str, media: tuple[str, ...]) -> _Socket:
        cfg = self.config
        scope = "signaling" if name == "signaling" else f"media:{name}"
        kwargs: dict[str, Any] = {
            "open_timeout": cfg.connect_timeout,
            "close_timeout": cfg.close_timeout,
            "ping_interval": cfg.ping_interval,
            "ping_timeout": cfg.ping_interval,
            "max_size": cfg.max_frame_bytes,
            "max_queue": 64,
        }
        if url.startswith("wss://"):
            kwargs["ssl"] = cfg.ssl if cfg.ssl is not None else ssl_module.create_default_context()
        elif not url.startswith("ws://"):
            raise RTMSConnectionError(f"unsupported URL scheme: {url[:40]!r}", scope=scope)
        try:
            async with asyncio.timeout(cfg.connect_timeout + 1):
                ws = await ws_connect(url, **kwargs)
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException, ValueError) as exc:
            raise RTMSConnectionError(f"cannot open {scope} socket to {url}: {exc!r}", scope=scope) from exc
        sock = _Socket(name, url, ws, media)
        sock.replay_guard = self.stats.connects > 0
        sock.reader = asyncio.get_running_loop().create_task(self._read(sock), name=f"rtms-reader-{name}")
        return sock

    async def _await_handshake(self, sock: _Socket) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self.config.handshake_timeout):
                return await asyncio.shield(sock.handshake)
        except TimeoutError as exc:
            raise RTMSConnectionError(
                f"no handshake answer on {sock.scope} within {self.config.handshake_timeout:g}s",
                scope=sock.scope,
            ) from exc

    async def _send(self, sock: _Socket, msg: dict[str, Any]) -> bool:
        try:
            async with asyncio.timeout(self.config.send_timeout):
                await sock.ws.send(messages.encode(msg))
            return True
        except (TimeoutError, websockets.exceptions.ConnectionClosed) as exc:
            logger.warning("RTMS %s: send on %s failed: %r", self.config.rtms_stream_id, sock.scope, exc)
            return False

    async def _send_or_raise(self, sock: _Socket, msg: dict[str, Any]) -> None:
        if not await self._send(sock, msg):
            raise RTMSConnectionError(
                f"cannot send msg {msg.get('msg_type')} on {sock.scope}", scope=sock.scope
            )

    async def _close_socket(self, sock: _Socket) -> None:
        """Close ``sock`` with a close frame and **drain** it: its reader keeps running during
        the closing handshake and then delivers every frame still queued (the server's frames
        precede its close frame), so nothing already received is thrown away. Only a reader
        that has not finished ``close_timeout`` later is cancelled; the audio frames it left
        unread are counted as dropped (``stats.audio_frames_dropped``, ``AudioDropped``)."""
        cfg = self.config
        sock.closing = True  # keep-alives are no longer answered (a send would abort the drain)
        if not sock.lost.is_set():
            # The server's close frame comes after everything it sent: wait for it as long as
            # frames keep arriving (no frame for close_timeout, or 12 × close_timeout in all,
            # aborts), instead of websockets' fixed close timeout cutting a backlog short.
            sock.ws.close_timeout = None
            closer = asyncio.ensure_future(sock.ws.close())
            started = time.monotonic()
            while not closer.done():
                await asyncio.wait({closer}, timeout=min(0.5, cfg.close_timeout))
                now = time.monotonic()
                quiet = now - max(sock.last_frame_at, started)
                if not closer.done() and (
                    quiet > cfg.close_timeout or now - started > 12 * cfg.close_timeout
                ):
                    sock.ws.transport.abort()
                    await asyncio.wait({closer}, timeout=cfg.close_timeout)
                    break
            if closer.done() and not closer.cancelled():
                closer.exception()  # retrieved (ConnectionClosed is already swallowed by close())
            else:
                closer.cancel()
        reader = sock.reader
        if reader is not None and not reader.done():
            await asyncio.wait({reader}, timeout=cfg.close_timeout)
            if not reader.done():
                reader.cancel()
                await asyncio.wait({reader}, timeout=cfg.close_timeout)
                self._count_unread(sock)

    def _count_unread(self, sock: _Socket) -> None:
        """Audio frames left in a cancelled reader's WebSocket queue: counted as dropped (at the
        gap, like a queue overflow), never lost silently. Best effort on websockets' queue."""
        frames = getattr(getattr(getattr(sock.ws, "recv_messages", None), "frames", None), "queue", None)
        for frame in list(frames or ()):
            try:
                events = messages.parse_server_message(messages.decode_frame(bytes(frame.data)))
            except (RTMSFrameError, messages.IgnoredMessage, AttributeError, TypeError):
                continue
            for event in events:
                if isinstance(event, AudioFrame) and not self._is_replay(sock, event):
                    self._outbox.note_dropped(event)
        if frames:
            frames.clear()

    async def _close_all(self, *, old_media: bool = False) -> None:
        """Close (and drain) the current sockets; with ``old_media`` also those kept across a
        signaling loss (a failed reconnect attempt keeps them: Zoom may still be sending)."""
        sockets = [s for s in (self._signaling, *self._media.values()) if s is not None]
        if old_media:
            sockets += self._old_media
            self._old_media = []
        self._signaling = None
        self._media = {}
        if sockets:
            await asyncio.gather(*(self._close_socket(s) for s in sockets))
        for sock in sockets:  # events received during a handshake that did not complete
            for event in sock.staged:
                self._deliver_now(event)
            sock.staged.clear()

    async def _keep_media_while_reconnecting(self) -> None:
        """Signaling lost (PROTOCOL.md §7.8): close it, but keep the media sockets and their
        readers. Where Zoom keeps them open they go on delivering media (and answering
        keep-alives) while signaling is re-established; where Zoom drops them their readers
        still deliver every frame already received before they end. They are closed, drained,
        just before the new handshake opens their successors (:meth:`_retire_old_media`)."""
        signaling, self._signaling = self._signaling, None
        self._old_media.extend(self._media.values())
        self._media = {}
        if signaling is not None:
            await self._close_socket(signaling)
            for event in signaling.staged:
                self._deliver_now(event)
            signaling.staged.clear()

    async def _retire_old_media(self) -> None:
        """Close (with a drain) the media sockets kept from the previous connection."""
        old, self._old_media = self._old_media, []
        if old:
            await asyncio.gather(*(self._close_socket(s) for s in old))

    # --- connected state ---------------------------------------------------------------------------

    async def _monitor(self) -> str:
        """Watch the live connection. Returns "end" (stream over, StreamEnded queued),
        "signaling" (signaling lost: full re-handshake) or "failover"."""
        cfg = self.config
        down: dict[str, Retry] = {}  # socket name -> its outage's schedule (next_attempt_at)
        while True:
            self._wake.clear()
            if self._end is not None:
                await self._drain()
                self._finish(self._end.stop_reason, self._end.detail)
                return "end"
            if self._close_request is not None:
                await self._handle_close(self._close_request)
                return "end"
            signaling = self._signaling
            if signaling is None:  # pragma: no cover - _connect_full sets it
                return "signaling"
            if self._failover_urls is not None:
                self._interrupted("signaling", "failover: new server_urls")
                await self._close_all()
                return "failover"
            if signaling.lost.is_set():
                if self._terminating:
                    self._end = _EndSignal(
                        None, f"signaling closed after TERMINATING: {signaling.lost_reason}"
                    )
                    continue
                self._interrupted("signaling", signaling.lost_reason)
                await self._keep_media_while_reconnecting()
                return "signaling"
            now = time.monotonic()
            for sock in (signaling, *self._media.values()):
                if not sock.lost.is_set() and now - sock.last_frame_at > cfg.idle_timeout:
                    sock.lost_reason = f"no frame for {cfg.idle_timeout:g}s"
                    sock.ws.transport.abort()  # its reader ends, sets lost and wakes us
            for name, sock in list(self._media.items()):
                if sock.lost.is_set() and not signaling.lost.is_set():
                    self._interrupted(sock.scope, sock.lost_reason)
                    await self._close_socket(sock)
                    del self._media[name]
                    down[name] = retry = self._policy.begin(now)
                    delay = retry.next_delay(now) or 0.0
                    self._announce_retry(retry, sock.scope, sock.lost_reason or "connection lost", delay)
            if signaling.lost.is_set():
                continue  # the signaling loss is the outage: one interruption, full re-handshake
            if (
                self._media_suspect_at is not None
                and now - self._media_suspect_at >= cfg.media_interrupt_grace
            ):
                for sock in self._media.values():
                    if sock.last_frame_at < self._media_suspect_at:
                        logger.warning(
                            "RTMS %s: %s silent after MEDIA_CONNECTION_INTERRUPTED",
                            cfg.rtms_stream_id,
                            sock.scope,
                        )
                        sock.lost_reason = "silent after MEDIA_CONNECTION_INTERRUPTED"
                        sock.ws.transport.abort()
                self._media_suspect_at = None
            due = [name for name, retry in down.items() if (retry.next_attempt_at or now) <= now]
            if due:
                outcome = await self._reopen_media(due, down)
                if outcome is not None:
                    return outcome
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.5)

    async def _reopen_media(self, due: list[str], down: dict[str, Retry]) -> str | None:
        """Media-only reconnect (msg 3 → 4, then msg 7 on signaling). Returns "end" if it gave up."""
        cfg = self.config
        results = await asyncio.gather(
            *(self._open_media(name, *self._media_plan[name]) for name in due), return_exceptions=True
        )
        reopened: list[_Socket] = []
        for name, result in zip(due, results, strict=True):
            if isinstance(result, _Socket):
                if self._signaling is None or self._signaling.lost.is_set() or self._end is not None:
                    await self._close_socket(result)
                    continue
                self._media[name] = result
                reopened.append(result)
                del down[name]
                continue
            if isinstance(result, RTMSHandshakeError) and not result.retryable:
                self._finish(None, str(result), result)
                return "end"
            if not isinstance(result, Exception):
                raise result
            retry = down[name]
            retry.failed(result)
            self.stats.failed_attempts += 1
            logger.warning(
                "RTMS %s: reopening %s failed (attempt %d): %s",
                cfg.rtms_stream_id,
                name,
                retry.attempts,
                result,
            )
            now = time.monotonic()
            delay = retry.next_delay(now)
            if delay is None:
                self._finish(
                    None,
                    f"media:{name} not reopened within the {self._policy.window:g}s reconnect window "
                    f"({retry.attempts} attempt(s) failed; last error: {result})",
                    result,
                )
                return "end"
            self._announce_retry(retry, f"media:{name}", str(result), delay)
        if reopened:
            if self._signaling is None or not await self._send(
                self._signaling, messages.client_ready_ack(cfg.rtms_stream_id)
            ):
                return None  # signaling is going down: the full re-handshake redoes everything
            self.stats.reconnects += 1
            self.stats.media_reconnects += 1
            self._announce_connected(True, reopened)
        return None

    def _interrupted(self, scope: str, reason: str) -> None:
        logger.warning("RTMS %s: %s interrupted: %s", self.config.rtms_stream_id, scope, reason)
        self._lost_reason = f"{scope}: {reason or 'connection lost'}"
        self._outbox.force(Interrupted(scope, reason or "connection lost", _now_ms()))

    async def _drain(self) -> None:
        """After the end signal, keep reading until the server closes every socket or
        ``end_drain_timeout`` passes, so frames sent just before TERMINATED are delivered."""
        sockets = [s for s in (self._signaling, *self._media.values()) if s is not None]
        waits = [asyncio.ensure_future(s.lost.wait()) for s in sockets if not s.lost.is_set()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=self.config.end_drain_timeout)
            for task in pending:
                task.cancel()
        for sock in sockets:  # anything still staged (end during a reconnect) is delivered too
            for event in sock.staged:
                self._deliver_now(event)
            sock.staged.clear()

    async def _handle_close(self, request_stream_close: bool) -> None:
        cfg = self.config
        sig = self._signaling
        if not request_stream_close or sig is None or sig.lost.is_set():
            self._finish(
                None,
                "closed by the client without STREAM_CLOSE_REQ (handover)"
                if not request_stream_close
                else "closed by the client; signaling was down, STREAM_CLOSE_REQ not sent",
            )
            return
        sent = await self._send(sig, messages.stream_close_req(cfg.rtms_stream_id))
        deadline = time.monotonic() + cfg.close_timeout
        while (
            sent and self._end is None and not sig.lost.is_set() and (left := deadline - time.monotonic()) > 0
        ):
            if self._close_resp is not None:
                # 22 arrived: give TERMINATED a moment to follow (its stop reason is the real one)
                deadline = min(deadline, time.monotonic() + min(1.0, cfg.close_timeout))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(left, 0.25))
        await self._drain()
        if self._end is not None:
            stop_reason = self._end.stop_reason
        elif self._close_resp is not None and self._close_resp[0] == 0:
            stop_reason = int(StopReason.STOP_BC_RECEIVER_REQUEST_CLOSE)
        else:
            stop_reason = None
        detail = "closed by the client (STREAM_CLOSE_REQ)"
        if self._close_resp is None:
            detail += "; no STREAM_CLOSE_RESP" if sent else "; STREAM_CLOSE_REQ could not be sent"
        elif self._close_resp[0] != 0:
            detail += f"; STREAM_CLOSE_RESP status {self._close_resp[0]} {self._close_resp[1]!r}"
        self._finish(stop_reason, detail)

    # --- readers ---------------------------------------------------------------------------------

    async def _read(self, sock: _Socket) -> None:
        try:
            while True:  # an idle socket is aborted by _monitor (no timer per frame here)
                try:
                    frame = await sock.ws.recv()
                except websockets.exceptions.ConnectionClosed as exc:
                    sock.lost_reason = sock.lost_reason or self._describe_close(exc)
                    return
                sock.last_frame_at = time.monotonic()
                ClientStats._bump(self.stats.frames_received, sock.name)
                if not await self._handle_frame(sock, frame) and not sock.closing:
                    # A keep-alive answer could not be sent: the socket is unusable. Answer no
                    # more on it, but read on: the frames already received (websockets' queue)
                    # are still delivered, then recv() raises ConnectionClosed and we end.
                    sock.closing = True
                    sock.lost_reason = sock.lost_reason or "send failed"
                    sock.ws.transport.abort()
        finally:
            sock.lost.set()
            if not sock.handshake.done():
                sock.handshake.set_exception(
                    RTMSConnectionError(
                        f"{sock.scope} closed during handshake: {sock.lost_reason}", scope=sock.scope
                    )
                )
                sock.handshake.exception()  # retrieved here: nobody may be waiting any more
            self._wake.set()

    @staticmethod
    def _describe_close(exc: websockets.exceptions.ConnectionClosed) -> str:
        if exc.rcvd is not None:
            return f"server closed the socket (code {exc.rcvd.code} {exc.rcvd.reason!r})"
        return "connection lost without a close frame"

    async def _handle_frame(self, sock: _Socket, frame: str | bytes) -> bool:
        """One frame. Returns False only when a keep-alive answer could not be sent."""
        try:
            msg = messages.decode_frame(frame)
            mtype = messages.msg_type_of(msg)
        except RTMSFrameError as exc:
            self._skip(sock, exc, frame)
            return True
        if mtype == MsgType.KEEP_ALIVE_REQ:
            if sock.closing or sock.ws.state is not State.OPEN:
                # Our close frame is out, or the server's is in or the connection is gone (the
                # reader is behind: frames sent before the close are still queued). No answer
                # can be sent any more, and trying would only wait for the close: skip it and
                # read on, so every frame received before the close is delivered.
                return True
            ok = await self._send(sock, messages.keep_alive_resp(msg))
            if ok:
                ClientStats._bump(self.stats.keepalives_answered, sock.name)
            return ok
        if mtype in (MsgType.SIGNALING_HAND_SHAKE_RESP, MsgType.DATA_HAND_SHAKE_RESP):
            expected = (
                MsgType.SIGNALING_HAND_SHAKE_RESP
                if sock.name == "signaling"
                else MsgType.DATA_HAND_SHAKE_RESP
            )
            if mtype == expected and not sock.handshake.done():
                sock.handshake.set_result(msg)
            else:
                self._skip(sock, "unexpected", frame, f"unexpected {mtype.name} on {sock.scope}")
            return True
        if mtype == MsgType.STREAM_CLOSE_RESP:
            try:
                self._close_resp = messages.parse_stream_close_resp(msg)
            except RTMSFrameError as exc:
                self._skip(sock, exc, frame)
                self._close_resp = (-1, "malformed STREAM_CLOSE_RESP")
            self._wake.set()
            return True
        try:
            events = messages.parse_server_message(msg)
        except messages.IgnoredMessage as exc:
            ClientStats._bump(self.stats.frames_skipped, "ignored")
            logger.debug("RTMS %s: %s: %s", self.config.rtms_stream_id, sock.scope, exc)
            return True
        except RTMSFrameError as exc:
            self._skip(sock, exc, frame)
            return True
        for event in events:
            if self._is_replay(sock, event):
                continue
            self._observe(sock, event)
            if not sock.ready:
                sock.staged.append(event)
            elif isinstance(event, AudioFrame):
                self._deliver_now(event)
            else:
                await self._outbox.put_event(event, alive=self._alive)
        return True

    def _is_replay(self, sock: _Socket, event: RTMSEvent) -> bool:
        """Media Zoom sends again after a reconnect (its buffer of frames it could not confirm)
        is dropped and counted: audio at or before the last timestamp delivered for that
        ``user_id``, a transcript or chat message identical to a recent one. Only on sockets
        opened by a reconnect; the first connection never drops anything."""
        if isinstance(event, AudioFrame):
            last = self._last_audio_ts.get(event.user_id)
            if sock.replay_guard and last is not None and event.timestamp <= last:
                ClientStats._bump(self.stats.duplicates_skipped, "audio")
                return True
            self._last_audio_ts[event.user_id] = max(event.timestamp, last or event.timestamp)
            return False
        if isinstance(event, (TranscriptEvent, ChatEvent)):
            kind = "transcript" if isinstance(event, TranscriptEvent) else "chat"
            key = (kind, event.user_id, event.timestamp, event.text)
            if sock.replay_guard and key in self._recent_keys:
                ClientStats._bump(self.stats.duplicates_skipped, kind)
                return True
            if len(self._recent_order) == self._recent_order.maxlen:
                self._recent_keys.discard(self._recent_order[0])
            self._recent_order.append(key)
            self._recent_keys.add(key)
        return False

    def _deliver_now(self, event: RTMSEvent) -> None:
        if isinstance(event, AudioFrame):
            ClientStats._bump(self.stats.audio_frames, event.user_id)
            ClientStats._bump(self.stats.audio_bytes, event.user_id, len(event.data))
            self._outbox.put_audio(event)
        else:
            self._outbox.force(event)

    def _observe(self, sock: _Socket, event: RTMSEvent) -> None:
        """Lifecycle state from signaling events (TERMINATED, sessions, media interruptions)."""
        if isinstance(event, StreamStateChanged):
            if event.state == StreamState.TERMINATED:
                self._end = _EndSignal(event.reason, "stream terminated (STREAM_STATE_UPDATE TERMINATED)")
            elif event.state == StreamState.TERMINATING:
                self._terminating = True
            elif event.state == StreamState.INTERRUPTED:
                self._media_suspect_at = self._media_suspect_at or time.monotonic()
        elif isinstance(event, SessionStateChanged):
            if event.state == SessionState.STOPPED:
                self._sessions.discard(event.rtms_session_id)
                if not self._sessions:
                    self._end = _EndSignal(
                        event.reason, "last session stopped (SESSION_STATE_UPDATE STOPPED)"
                    )
            elif event.state != SessionState.INACTIVE:
                self._sessions.add(event.rtms_session_id)
        elif isinstance(event, MediaConnectionInterrupted):
            self._media_suspect_at = self._media_suspect_at or time.monotonic()
        else:
            return
        self._wake.set()

    def _skip(self, sock: _Socket, exc: RTMSFrameError | str, frame: str | bytes, text: str = "") -> None:
        if isinstance(exc, FrameDecodeError):
            cause = "decode"
        elif isinstance(exc, UnknownMessageType):
            cause = "msg_type"
        elif isinstance(exc, UnknownEventType):
            cause = "event_type"
        elif isinstance(exc, FrameSchemaError):
            cause = "schema"
        elif isinstance(exc, RTMSError):
            cause = "frame"
        else:
            cause = exc
        ClientStats._bump(self.stats.frames_skipped, cause)
        self._skipped_logged += 1
        if self._skipped_logged <= 20 or self._skipped_logged % _LOG_EVERY == 0:
            preview = frame[:120] if isinstance(frame, (str, bytes)) else repr(frame)[:120]
            logger.warning(
                "RTMS %s: skipped frame on %s (%s: %s) #%d: %r",
                self.config.rtms_stream_id,
                sock.scope,
                cause,
                text or exc,
                self._skipped_logged,
                preview,
            )

"""The emulator core: one asyncio WebSocket server playing Zoom's RTMS side for many streams.

URLs (one host:port for everything; ``/fo<N>`` prefix after the N-th failover of a stream):

- signaling: ``ws://HOST:PORT/signaling/<rtms_stream_id>`` (also ``/`` and ``/signaling``: the
  stream is then taken from SIGNALING_HAND_SHAKE_REQ, for clients given a bare base URL);
- media: ``ws://HOST:PORT/media/<audio|video|deskshare|transcript|chat|all>/<rtms_stream_id>``,
  announced in SIGNALING_HAND_SHAKE_RESP ``media_server.server_urls`` with per-type keys plus
  ``all`` (PROTOCOL.md Section A.1).

Protocol behaviour follows PROTOCOL.md Section A and Appendix A; the rules are spelled out in
docs/emulator.md. See ``rtms_emulator/__init__.py`` for the public API.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from rtms_emulator.faults import JUNK_KINDS, Fault
from rtms_emulator.record import ConnectionClose, Handshake, KeepAlive, StreamRecord
from rtms_emulator.scenario import ChatMessage, Scenario, TimelineEvent, Utterance, load_scenario
from rtms_emulator.webhook import WebhookDelivery, post_webhook, validate_url, webhook_body
from streams.rtms.messages import MEDIA_BITS
from streams.rtms.protocol import (
    FRAME_MS,
    MEDIA_NOT_SUPPORTED_STATUS,
    PROTOCOL_VERSION,
    SUBSCRIBABLE_EVENTS,
    AudioChannel,
    Codec,
    ContentType,
    DataOption,
    EventType,
    LegacyStatusCode,
    MediaType,
    MsgType,
    SampleRate,
    SessionState,
    StatusCode,
    StopReason,
    StreamState,
)
from streams.rtms.signing import handshake_signature

log = logging.getLogger(__name__)

BIT_NAMES = {int(bit): name for name, bit in MEDIA_BITS.items()}
NOT_SUPPORTED = MEDIA_NOT_SUPPORTED_STATUS
ID_KEYS = ("meeting_uuid", "webinar_uuid", "session_id", "engagement_id")
SUBSCRIBABLE = SUBSCRIBABLE_EVENTS  # 1 and 7 are sent automatically
PRODUCT_ID_KEY = {"meeting": "meeting_uuid", "webinar": "webinar_uuid", "session": "session_id"}
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


def now_ms() -> int:
    return int(time.time() * 1000)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


@dataclass
class _Route:
    kind: str  # "signaling" | "media"
    generation: int
    media: str | None = None
    rtms_stream_id: str | None = None


def parse_path(path: str) -> _Route | None:
    """Map a request path to a route; None = not ours (HTTP 404)."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    generation = 0
    if parts and parts[0].startswith("fo") and parts[0][2:].isdigit():
        generation = int(parts[0][2:])
        parts = parts[1:]
    if not parts:
        return _Route("signaling", generation)
    if parts[0] == "signaling" and len(parts) <= 2:
        return _Route("signaling", generation, rtms_stream_id=parts[1] if len(parts) == 2 else None)
    if parts[0] == "media" and 2 <= len(parts) <= 3 and parts[1] in (*MEDIA_BITS, "all"):
        return _Route("media", generation, parts[1], parts[2] if len(parts) == 3 else None)
    return None


class _Conn:
    """One accepted WebSocket with its keep-alive bookkeeping."""

    def __init__(self, ws: ServerConnection, run: Run | None, label: str, binary: bool) -> None:
        self.ws = ws
        self.run = run
        self.label = label
        self.binary = binary
        self.types: tuple[str, ...] = ()
        self.params: dict[str, dict] = {}
        self.live = False
        self.closed = False
        self.server_closed = False
        self.last_data = time.monotonic()
        self.ka_seq = secrets.randbelow(1000) + 1
        self.ka_pending: dict[int, tuple[KeepAlive, dict[str, int]]] = {}
        # media type -> number of the newest media message written to *this* socket: all a
        # keep-alive answered here can confirm (not what was produced while it was not there)
        self.written: dict[str, int] = {}
        self.misses = 0
        self.ka_task: asyncio.Task | None = None
        self.answered = asyncio.Event()
        self.closed_event = asyncio.Event()

    async def send(self, message: str | bytes | dict, *, data: bool = True) -> bool:
        if self.closed:
            return False
        text = _dumps(message) if isinstance(message, dict) else message
        payload = text.encode() if self.binary and isinstance(text, str) else text
        try:
            await self.ws.send(payload)
        except ConnectionClosed:
            return False
        if data:
            self.last_data = time.monotonic()
        return True

    def abort(self) -> None:
        self.server_closed = True
        transport = self.ws.transport
        if transport is not None:
            transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.server_closed = True
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await asyncio.wait_for(self.ws.close(code, reason), 2.0)


class Run:
    """One stream being played: its ids, URLs, live connections, timeline and record.

    Public: ``rtms_stream_id``, ``meeting_uuid`` (the instance id, whatever the product),
    ``product``, ``server_urls`` (current signaling URL), ``join_params()``, ``record``,
    ``done``, ``await wait(timeout)``, ``await stop(reason)``, ``webhooks``.
    """

    def __init__(
        self,
        emulator: Emulator,
        scenario: Scenario,
        *,
        speed: float | None,
        product: str,
        faults: Iterable[Fault],
        meeting_uuid: str,
        rtms_stream_id: str,
        webhook_url: str | None,
        id_key: str,
        stop_reason: int,
    ) -> None:
        self.emulator = emulator
        self.cfg = emulator.config
        self.scenario = scenario
        self.speed = speed
        self.product = product
        self.faults = tuple(faults)
        self.meeting_uuid = meeting_uuid
        self.rtms_stream_id = rtms_stream_id
        self.webhook_url = webhook_url
        self.id_key = id_key
        self.final_stop_reason = stop_reason
        self.generation = 0
        self.rtms_session_id = str(uuid.uuid4())
        self.record = StreamRecord(rtms_stream_id, meeting_uuid, scenario.name)
        self.signaling: _Conn | None = None
        self.media: dict[str, _Conn] = {}  # media type -> live connection
        self.pending_media: list[_Conn] = []  # handshaked, waiting for CLIENT_READY_ACK
        self.wanted: set[str] = set()
        self.subscribed: set[int] = set()
        self.terminated = False
        self.paused = False
        self.t0_ms = 0
        self.active_speaker: int | None = None
        self._ready = asyncio.Event()
        self._done = asyncio.Event()
        self._sent_n: dict[str, int] = {}
        self._unconfirmed: dict[str, deque] = {}
        self._replay_data_opt: dict[str, int] = {}
        self._windows: dict[str, asyncio.Task] = {}
        self._ka_timeout = False
        self._failing_over = False
        self._started_body: bytes | None = None
        self._producer: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._pause_started: float | None = None
        self._interrupted_types: set[str] = set()
        self.down_until: float | None = None  # outage fault: upgrades refused (503) until then

    # ---- public --------------------------------------------------------------------------------
    @property
    def server_urls(self) -> str:
        return self.emulator.url(f"signaling/{self.rtms_stream_id}", self.generation)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def join_params(self) -> dict[str, str]:
        """``meeting_uuid``/``rtms_stream_id``/``server_urls`` as a webhook payload carries them."""
        return {
            "meeting_uuid": self.meeting_uuid,
            "rtms_stream_id": self.rtms_stream_id,
            "server_urls": self.server_urls,
        }

    async def wait(self, timeout: float | None = None) -> StreamRecord:
        """Wait until the stream has ended; TimeoutError after ``timeout`` seconds."""
        await asyncio.wait_for(self._done.wait(), timeout)
        return self.record

    async def stop(self, reason: int = StopReason.STOP_BC_HOST_TRIGGERED) -> StreamRecord:
        """End the stream now (server-initiated termination with ``reason``)."""
        await self.terminate(reason)
        return self.record

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._producer = asyncio.create_task(self._produce(), name=f"rtms-emulator-{self.rtms_stream_id}")

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _update_ready(self) -> None:
        media_up = all(t in self.media for t in self.wanted)
        ok = not self.terminated and media_up and self.signaling is not None and self.signaling.live
        if self.signaling is None and self.cfg.signaling_loss_keeps_media and self.record.started:
            ok = not self.terminated and media_up and bool(self.wanted)  # media streams on alone
        if ok or self.terminated:
            self._ready.set()
        else:
            self._ready.clear()

    async def _webhook(
        self, event: str, payload: dict, *, body: bytes | None = None
    ) -> WebhookDelivery | None:
        if not self.webhook_url:
            return None
        delivery = await post_webhook(
            self.webhook_url,
            event,
            payload,
            secret_token=self.cfg.webhook_secret,
            timeout=self.cfg.webhook_timeout,
            body=body,
        )
        self.record.webhooks.append(delivery.as_dict() | {"at": self.record.now(), "attempt": 1})
        if not delivery.ok:
            log.warning("webhook %s -> %s %s", event, delivery.status, delivery.error)
            if self.cfg.webhook_retry_delays:
                self._spawn(self._retry_webhook(event, delivery.body))
        return delivery

    async def _retry_webhook(self, event: str, body: bytes) -> None:
        """Zoom's retries (PROTOCOL.md §2.5): same body, fresh signature, after each delay."""
        for attempt, delay in enumerate(self.cfg.webhook_retry_delays, start=2):
            await asyncio.sleep(delay)
            delivery = await post_webhook(
                self.webhook_url,
                event,
                {},
                secret_token=self.cfg.webhook_secret,
                timeout=self.cfg.webhook_timeout,
                body=body,
            )
            self.record.webhooks.append(delivery.as_dict() | {"at": self.record.now(), "attempt": attempt})
            if delivery.ok:
                return

    def _started_payload(self) -> dict:
        payload = {
            self.id_key: self.meeting_uuid,
            "rtms_stream_id": self.rtms_stream_id,
            "server_urls": self.server_urls,
            "operator_id": "emulator-operator",
        }
        if self.product == "meeting":
            payload["meeting_id"] = 80000000000 + int(self.rtms_stream_id[:6], 16)
        return payload

    async def send_started(self) -> None:
        self._started_body = webhook_body(f"{self.product}.rtms_started", self._started_payload())
        await self._webhook(f"{self.product}.rtms_started", {}, body=self._started_body)

    # ---- producer ------------------------------------------------------------------------------
    async def _produce(self) -> None:
        try:
            await self._play()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("emulator stream %s crashed", self.rtms_stream_id)
            self.record.notes.append("emulator error, see log")
            await self.terminate(StopReason.STOP_BC_INTERNAL_EXCEPTION)

    async def _play(self) -> None:
        try:
            await asyncio.wait_for(self._ready.wait(), self.cfg.connect_timeout)
        except TimeoutError:
            self.record.notes.append("client did not connect in time")
            await self.terminate(StopReason.STOP_BC_CONNECTION_TIMEOUT)
            return
        if self.terminated:
            return
        await asyncio.sleep(self.cfg.ready_delay)
        self.t0_ms = now_ms()
        self.record.first_packet_timestamp = self.t0_ms
        self.record.started = True
        await self._announce(first=True)
        initial = [p for p in self.scenario.participants if p.join <= 0]
        if initial:
            await self._event(
                EventType.PARTICIPANT_JOIN,
                {"participants": [{"user_id": p.user_id, "user_name": p.user_name} for p in initial]},
                at=0.0,
            )
        schedule = self._schedule()
        n_ticks = self.scenario.n_ticks
        loop = asyncio.get_running_loop()
        start = loop.time()
        k = 0
        for tick in range(n_ticks):
            if self.speed:
                delay = start + tick * FRAME_MS / 1000 / self.speed - loop.time()
                if delay > 0.002:
                    await asyncio.sleep(delay)
            elif tick % 5 == 0:
                await asyncio.sleep(0)
            if not self._ready.is_set():
                await self._ready.wait()
            if self.terminated:
                return
            while k < len(schedule) and schedule[k][0] <= tick:
                await self._do(schedule[k][2])
                k += 1
                if self.terminated:
                    return
                if not self._ready.is_set():
                    await self._ready.wait()
            if not self.paused:
                await self._send_audio(tick)
        while k < len(schedule):  # entries at the very end
            await self._do(schedule[k][2])
            k += 1
        if self.terminated:
            return
        await asyncio.sleep(self.cfg.terminate_gap)
        self.record.completed = True
        await self.terminate(self.final_stop_reason)

    def _schedule(self) -> list[tuple[int, int, Any]]:
        items: list[tuple[int, int, Any]] = []

        def tick_of(seconds: float) -> int:
            return max(0, round(seconds * 1000 / FRAME_MS))

        for n, e in enumerate(self.scenario.events):
            items.append((tick_of(e.at), n, e))
        for p in self.scenario.participants:
            if p.join > 0:
                items.append((tick_of(p.join), -2, TimelineEvent(p.join, "join", p.key)))
            if p.leave is not None:
                items.append((tick_of(p.leave), 10**6, TimelineEvent(p.leave, "leave", p.key)))
        for c in self.scenario.chat:
            items.append((tick_of(c.at), 10**5, c))
        for u in self.scenario.transcript or ():
            items.append((tick_of(u.end), 10**5, u))
        for f in self.faults:
            items.append(
                (tick_of(f.at), 10**7, TimelineEvent(f.at, "fault", None, {"fault": f.kind, **f.params}))
            )
        items.sort(key=lambda x: (x[0], x[1]))
        return items

    async def _announce(self, *, first: bool) -> None:
        await self._event(EventType.FIRST_PACKET_TIMESTAMP, {}, at=0.0, ts=self.t0_ms)
        await self._state(StreamState.PAUSED if self.paused else StreamState.ACTIVE, StopReason.UNDEFINED)
        await self._session(SessionState.STARTED)
        if self.paused:
            await self._session(SessionState.PAUSED)
        if not first:
            self.record.notes.append(f"session re-announced at {self.record.now()}s")

    def _ts(self, seconds: float) -> int:
        return self.t0_ms + round(seconds * 1000)

    # ---- signaling messages ----------------------------------------------------------------
    async def _signal(self, message: dict) -> bool:
        conn = self.signaling
        if conn is None or not conn.live:
            return False
        return await conn.send(message)

    async def _event(self, event_type: int, body: dict, *, at: float, ts: int | None = None) -> None:
        event = {"event_type": int(event_type), "timestamp": self._ts(at) if ts is None else ts, **body}
        if (
            self.cfg.require_event_subscription
            and event_type in SUBSCRIBABLE
            and event_type not in self.subscribed
        ):
            self.record.unsubscribed["events"] = self.record.unsubscribed.get("events", 0) + 1
            return
        if await self._signal({"msg_type": MsgType.EVENT_UPDATE, "event": event}):
            self.record.sent.events.append(event)

    async def _state(self, state: int, reason: int) -> None:
        msg = {
            "msg_type": MsgType.STREAM_STATE_UPDATE,
            "state": int(state),
            "reason": int(reason),
            "timestamp": now_ms(),
        }
        if await self._signal(msg):
            self.record.sent.state_updates.append(msg)

    async def _session(self, state: int, reason: int | None = None) -> None:
        msg: dict[str, Any] = {
            "msg_type": MsgType.SESSION_STATE_UPDATE,
            "rtms_session_id": self.rtms_session_id,
            "state": int(state),
            "timestamp": now_ms(),
        }
        if reason is not None:
            msg["reason"] = msg["stop_reason"] = int(reason)
        if await self._signal(msg):
            self.record.sent.state_updates.append(msg)

    # ---- media ---------------------------------------------------------------------------------
    async def _media(self, mtype: str, message: str, tick: int) -> bool:
        """Send one media message of ``mtype``; keep it until a keep-alive confirms it."""
        conn = self.media.get(mtype)
        if conn is None and mtype not in self.wanted:
            self.record.unsubscribed[mtype] = self.record.unsubscribed.get(mtype, 0) + 1
            return False
        n = self._sent_n.get(mtype, 0) + 1
        self._sent_n[mtype] = n
        buf = self._unconfirmed.setdefault(mtype, deque())
        buf.append((n, tick, message))
        horizon = tick - round(self.cfg.replay_buffer_seconds * 1000 / FRAME_MS)  # Zoom buffers ~60 s
        while buf and buf[0][1] < horizon:
            buf.popleft()
        if conn is None:
            return True  # buffered: replayed on the next connection
        if await conn.send(message):
            conn.written[mtype] = n
        elif not self.cfg.replay_buffer_seconds:
            buf.pop()  # the socket closed under it and nothing is replayed: never delivered
            self.record.undelivered[mtype] = self.record.undelivered.get(mtype, 0) + 1
            return False
        return True

    async def _send_audio(self, tick: int) -> None:
        conn = self.media.get("audio")
        if conn is None:
            if "audio" not in self.wanted:
                self.record.unsubscribed["audio"] = self.record.unsubscribed.get("audio", 0) + 1
            return
        params = conn.params.get("audio", AUDIO_DEFAULTS)
        k = max(1, params["send_rate"] // FRAME_MS)
        if tick % k:
            return
        ts = self.t0_ms + tick * FRAME_MS
        scenario = self.scenario
        if params["data_opt"] == 1:
            data, b64 = scenario.audio_payload(None, tick, k)
            msg = f'{{"msg_type":14,"content":{{"user_id":0,"data":"{b64}","length":{len(data)},"timestamp":{ts}}}}}'
            if await self._media("audio", msg, tick):
                self._sent_audio(0, "", data, ts)
            return
        if scenario.mixed is not None and not any(p.segments for p in scenario.participants):
            # only a room mix: label it with the active speaker, as Zoom's SDK does
            data, b64 = scenario.audio_payload(None, tick, k)
            uid = self.active_speaker or 0
            name = scenario.by_user_id()[uid].user_name if uid else ""
            if await self._media("audio", self._audio_msg(uid, name, b64, len(data), ts), tick):
                self._sent_audio(uid, name, data, ts)
            return
        for p in scenario.participants:
            payload = scenario.audio_payload(p, tick, k)
            if payload is None:
                continue
            data, b64 = payload
            if await self._media("audio", self._audio_msg(p.user_id, p.user_name, b64, len(data), ts), tick):
                self._sent_audio(p.user_id, p.user_name, data, ts)

    def _sent_audio(self, uid: int, name: str, data: bytes, ts: int) -> None:
        sent = self.record.sent
        sent.audio_byte_counts[uid] = sent.audio_byte_counts.get(uid, 0) + len(data)
        if name:
            sent.user_names[uid] = name
        if self.cfg.record_audio:
            sent.audio.setdefault(uid, bytearray()).extend(data)
            sent.audio_frames.setdefault(uid, []).append(ts)

    @staticmethod
    def _audio_msg(uid: int, name: str, b64: str, length: int, ts: int) -> str:
        return (
            f'{{"msg_type":14,"content":{{"user_id":{uid},"user_name":{_dumps(name)},'
            f'"data":"{b64}","length":{length},"timestamp":{ts}}}}}'
        )

    # ---- timeline entries ------------------------------------------------------------------
    async def _do(self, item: Any) -> None:
        tick = round(getattr(item, "at", getattr(item, "end", 0)) * 1000 / FRAME_MS)
        if isinstance(item, Utterance):
            if self.paused:
                return
            p = self.scenario.participant(item.participant)
            content = {
                "user_id": p.user_id,
                "user_name": p.user_name,
                "start_time": self._ts(item.start),
                "end_time": self._ts(item.end),
                "timestamp": self._ts(item.start),
                "language": item.language,
                "data": item.text,
            }
            if await self._media(
                "transcript", _dumps({"msg_type": MsgType.MEDIA_DATA_TRANSCRIPT, "content": content}), tick
            ):
                self.record.sent.transcript.append(content)
            return
        if isinstance(item, ChatMessage):
            if self.paused:
                return
            await self._chat(item, tick)
            return
        e: TimelineEvent = item
        p = self.scenario.participant(e.participant) if e.participant else None
        if e.type == "join" and p:
            await self._event(
                EventType.PARTICIPANT_JOIN,
                {"participants": [{"user_id": p.user_id, "user_name": p.user_name}]},
                at=e.at,
            )
        elif e.type == "leave" and p:
            await self._event(
                EventType.PARTICIPANT_LEAVE, {"participants": [{"user_id": p.user_id}]}, at=e.at
            )
        elif e.type == "active_speaker" and p:
            self.active_speaker = p.user_id
            await self._event(
                EventType.ACTIVE_SPEAKER_CHANGE, {"user_id": p.user_id, "user_name": p.user_name}, at=e.at
            )
        elif e.type == "sharing_start" and p:
            await self._event(
                EventType.SHARING_START, {"user_id": p.user_id, "user_name": p.user_name}, at=e.at
            )
        elif e.type == "sharing_stop":
            await self._event(EventType.SHARING_STOP, {}, at=e.at)
        elif e.type in ("pause", "resume"):
            await self._pause(e.type == "pause", e.at)
        elif e.type == "fault":
            await self._fault(e)

    async def _chat(self, c, tick: int) -> None:
        sender = self.scenario.participant(c.participant)
        message_id = str(uuid.uuid4())
        content: dict[str, Any] = {
            "user_id": sender.user_id,
            "user_name": sender.user_name,
            "timestamp": self._ts(c.at),
        }
        if self.cfg.chat_format == "json":
            inner: dict[str, Any] = {
                "message_id": message_id,
                "data": c.text,
                "operation_type": 1,
                "chat_session": {"type": 2 if c.to else 1, "id": self.meeting_uuid},
                "sender": {"user_id": sender.user_id, "user_name": sender.user_name},
            }
            if c.to:
                to = self.scenario.participant(c.to)
                inner["receiver"] = {"user_id": to.user_id, "user_name": to.user_name}
            content["data"] = _dumps(inner)
        else:
            content["data"] = c.text
        if await self._media("chat", _dumps({"msg_type": MsgType.MEDIA_DATA_CHAT, "content": content}), tick):
            self.record.sent.chat.append(content | {"text": c.text, "message_id": message_id})

    async def _pause(self, pause: bool, at: float) -> None:
        if pause == self.paused:
            self.record.notes.append(f"{'pause' if pause else 'resume'} at {at}s ignored (already)")
            return
        self.paused = pause
        if pause:
            self._pause_started = at
            await self._state(StreamState.PAUSED, StopReason.UNDEFINED)
            await self._session(SessionState.PAUSED)
        else:
            self.record.paused_intervals.append((self._pause_started or 0.0, at))
            await self._state(StreamState.RESUMED, StopReason.UNDEFINED)
            await self._session(SessionState.RESUMED)

    # ---- faults --------------------------------------------------------------------------------
    async def _fence(self, conn: _Conn, timeout: float = 1.0) -> bool:
        """Send a keep-alive and wait for its answer: everything before it was delivered."""
        seq = await self._keepalive(conn)
        deadline = time.monotonic() + timeout
        while seq in conn.ka_pending and not conn.closed and time.monotonic() < deadline:
            conn.answered.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.answered.wait(), max(0.0, deadline - time.monotonic()))
        return seq not in conn.ka_pending

    async def _fault(self, e: TimelineEvent) -> None:
        kind = e.params["fault"]
        entry = {"fault": kind, "at": e.at, "params": {k: v for k, v in e.params.items() if k != "fault"}}
        entry["wall"] = self.record.now()
        self.record.faults.append(entry)
        fence = e.params.get("fence", True)
        if kind in ("media_abort", "media_close"):
            mtype = e.params.get("media", "audio")
            conn = self.media.get(mtype) if mtype != "all" else next(iter(self.media.values()), None)
            if conn is None:
                entry["skipped"] = f"no live {mtype} socket"
                return
            if fence:  # every socket: a client may drop them all on a media loss (Zoom's SDK does)
                entry["fenced"] = all(await asyncio.gather(*(self._fence(c) for c in self._live_conns())))
            if kind == "media_abort":
                conn.abort()
            else:
                await conn.close(e.params.get("code", 1001), "emulator fault")
        elif kind in ("signaling_abort", "signaling_close"):
            conn = self.signaling
            if conn is None:
                entry["skipped"] = "no signaling socket"
                return
            if fence:
                entry["fenced"] = all(await asyncio.gather(*(self._fence(c) for c in self._live_conns())))
            if kind == "signaling_abort":
                conn.abort()
            else:
                await conn.close(e.params.get("code", 1001), "emulator fault")
        elif kind == "outage":
            # the RTMS server unreachable for ``seconds``: every socket dropped (TCP abort), every
            # upgrade answered 503 meanwhile; the stream is kept for ``reconnect_window``
            seconds = float(e.params.get("seconds", 10))
            if fence:
                entry["fenced"] = all(await asyncio.gather(*(self._fence(c) for c in self._live_conns())))
            self.down_until = time.monotonic() + seconds
            entry["seconds"] = seconds
            for c in self._live_conns():
                c.abort()
        elif kind == "failover":
            if not self.webhook_url:
                entry["skipped"] = "failover needs a webhook URL"
                return
            conns = self._live_conns()
            await asyncio.gather(*(self._fence(c) for c in conns))
            self._failing_over = True
            self.generation += 1
            for c in conns:
                c.abort()
            entry["server_urls"] = self.server_urls
            await self._webhook(f"{self.product}.rtms_started", self._started_payload())
        elif kind == "duplicate_webhook":
            if not self.webhook_url or self._started_body is None:
                entry["skipped"] = "no rtms_started webhook to repeat"
                return
            await self._webhook(f"{self.product}.rtms_started", {}, body=self._started_body)
        elif kind == "junk":
            await self._junk(e.params.get("socket", "both"), e.params.get("kinds", list(JUNK_KINDS)))
        elif kind == "keepalive_storm":
            for conn in [c for c in [self.signaling, *self.media.values()] if c is not None]:
                for _ in range(e.params.get("count", 20)):
                    await self._keepalive(conn)
        elif kind == "terminate":
            await self.terminate(e.params.get("reason", StopReason.STOP_BC_HOST_TRIGGERED))
        elif kind in ("pause", "resume"):
            await self._pause(kind == "pause", e.at)

    def _live_conns(self) -> list[_Conn]:
        conns = [self.signaling, *dict.fromkeys(self.media.values())]
        return [c for c in conns if c is not None and not c.closed]

    async def _junk(self, where: str, kinds: list[str]) -> None:
        frames: dict[str, str | bytes] = {
            "malformed_json": '{"msg_type": 14, "content": {"user_id": ',
            "json_array": '[14, {"user_id": 1}]',
            "non_utf8": b"\xff\xfe\xfd\x00\xc3(",
            "unknown_msg_type": '{"msg_type": 99, "content": {}}',
            "string_msg_type": '{"msg_type": "MEDIA_DATA_AUDIO", "content": {}}',
            "unknown_event_type": _dumps({"msg_type": 6, "event": {"event_type": 99, "timestamp": now_ms()}}),
        }
        targets: list[_Conn] = []
        if where in ("signaling", "both") and self.signaling:
            targets.append(self.signaling)
        if where in ("media", "both"):
            targets += list(dict.fromkeys(self.media.values()))
        for conn in targets:
            for kind in kinds:
                if kind == "unknown_event_type" and conn is not self.signaling:
                    continue
                await conn.send(frames[kind], data=False)

    # ---- keep-alive ------------------------------------------------------------------------
    async def _keepalive(self, conn: _Conn) -> int:
        conn.ka_seq += 1
        seq, ts = conn.ka_seq, now_ms()
        ka = KeepAlive(conn.label, seq, ts, self.record.now())
        # An answer confirms what was written to this socket before the request, nothing else:
        # on a new socket whose replay has not started yet, a fence at the newest message
        # produced would confirm (and so never replay) everything lost with the old socket.
        fences = {t: conn.written.get(t, 0) for t in conn.types}
        conn.ka_pending[seq] = (ka, fences)
        self.record.keepalives.append(ka)
        await conn.send({"msg_type": MsgType.KEEP_ALIVE_REQ, "timestamp": ts, "sequence": seq}, data=False)
        return seq

    async def keepalive_loop(self, conn: _Conn) -> None:
        interval = self.cfg.keepalive_interval
        while not conn.closed and not self.terminated:
            await asyncio.sleep(interval)
            if conn.closed or self.terminated:
                return
            if self.cfg.keepalive_idle_only and time.monotonic() - conn.last_data < interval:
                continue
            if any(not ka.late for ka, _ in conn.ka_pending.values()):
                for ka, _ in conn.ka_pending.values():
                    ka.late = True  # still unanswered when the next one is due: a miss
                conn.misses += 1
                if conn.misses >= self.cfg.keepalive_max_misses:
                    self.record.notes.append(f"{conn.label}: {conn.misses} keep-alives unanswered, dropped")
                    if conn is self.signaling:
                        self._ka_timeout = True
                    conn.abort()
                    return
            await self._keepalive(conn)

    def keepalive_answer(self, conn: _Conn, msg: dict) -> None:
        seq = msg.get("sequence")
        entry = conn.ka_pending.pop(seq, None) if isinstance(seq, int) else None
        if entry is None:  # answer without (or with an unknown) sequence: match by timestamp
            for s, (ka, _) in list(conn.ka_pending.items()):
                if ka.timestamp == msg.get("timestamp"):
                    entry = conn.ka_pending.pop(s)
                    break
        if entry is None:
            self.record.unexpected_keepalive_answers.append(
                {"socket": conn.label, "message": msg, "at": self.record.now()}
            )
            return
        ka, fences = entry
        ka.answered_at = self.record.now()
        ka.echoed_timestamp = msg.get("timestamp")
        ka.echoed_sequence = seq
        conn.misses = 0
        conn.answered.set()
        for mtype, n in fences.items():
            buf = self._unconfirmed.get(mtype)
            while buf and buf[0][0] <= n:
                buf.popleft()

    # ---- connections ---------------------------------------------------------------------------
    async def attach_signaling(self, conn: _Conn) -> None:
        old = self.signaling
        self.signaling = conn
        self.wanted = set()
        self._cancel_window("signaling")
        self._update_ready()
        if old is not None and not old.closed:  # duplicate_signaling="kick": the first one goes
            old.live = False
            stale = {*self.media.values(), *self.pending_media}
            self.media.clear()
            self.pending_media = []
            for media in stale:
                media.abort()
            await old.close(1000, "kicked by a new signaling connection")

    async def attach_media(self, conn: _Conn) -> None:
        self.pending_media.append(conn)

    async def ready_ack(self, conn: _Conn) -> None:
        """CLIENT_READY_ACK on signaling: handshaked media sockets go live (and get their replay).

        After a rejoin (a new signaling connection on a started stream) the session is announced
        again ``ready_delay`` later (Section A.3), then buffered media is replayed."""
        rejoin = not conn.live and self.record.started
        conn.live = True
        newly = [c for c in self.pending_media if not c.closed]
        self.pending_media = []
        recovered = False
        for media in newly:
            media.live = True
            for t in media.types:
                self.media[t] = media
                self.wanted.add(t)
                self._cancel_window(f"media:{t}")
                if t in self._interrupted_types:
                    self._interrupted_types.discard(t)
                    recovered = True
        if self.terminated:
            return
        if rejoin:
            self._spawn(self._rejoined(newly))
            return
        for media in newly:
            await self._replay(media)
        if recovered and self.record.started:
            await self._state(StreamState.ACTIVE, StopReason.UNDEFINED)
        self._update_ready()

    async def _rejoined(self, media: list[_Conn]) -> None:
        await asyncio.sleep(self.cfg.ready_delay)
        if self.terminated:
            return
        await self._announce(first=False)
        for conn in media:
            await self._replay(conn)
        self._update_ready()

    async def _replay(self, conn: _Conn) -> None:
        for t in conn.types:
            buf = self._unconfirmed.get(t)
            if not buf:
                continue
            if t == "audio" and self._replay_data_opt.get(t) not in (
                None,
                conn.params.get("audio", {}).get("data_opt"),
            ):
                self.record.notes.append("audio data_opt changed on reconnect: buffered audio dropped")
                self.record.undelivered["audio"] = self.record.undelivered.get("audio", 0) + len(buf)
                buf.clear()
                continue
            for n, _, message in list(buf):
                if await conn.send(message):
                    conn.written[t] = max(conn.written.get(t, 0), n)
                self.record.replayed_messages += 1
        for t in conn.types:
            if t == "audio":
                self._replay_data_opt[t] = conn.params.get("audio", {}).get("data_opt")

    async def connection_lost(self, conn: _Conn) -> None:
        if self.terminated:
            return
        if conn is self.signaling:
            self.signaling = None
            if self.cfg.signaling_loss_keeps_media:
                stale = set(self.pending_media)  # live media sockets stay open and keep streaming
            else:
                stale = {*self.media.values(), *self.pending_media}
                self.media.clear()
            self.pending_media = []
            self._update_ready()
            self._interrupted_types.clear()
            for media in stale:
                media.abort()  # Zoom interrupts media with signaling (PROTOCOL.md §7.8)
            if not self._failing_over:
                self._spawn(
                    self._webhook(
                        f"{self.product}.rtms_interrupted",
                        {self.id_key: self.meeting_uuid, "rtms_stream_id": self.rtms_stream_id},
                    )
                )
            self._failing_over = False
            reason = (
                StopReason.STOP_BC_KEEP_ALIVE_TIMEOUT
                if self._ka_timeout
                else StopReason.STOP_BC_AWAIT_RECONNECTION_TIMEOUT
            )
            self._open_window("signaling", self.cfg.reconnect_window, reason)
            return
        if conn in self.pending_media:
            self.pending_media.remove(conn)
        lost = [t for t, c in self.media.items() if c is conn]
        for t in lost:
            del self.media[t]
        self._update_ready()
        if lost and self.signaling is not None and self.signaling.live:
            self._interrupted_types |= set(lost)
            await self._event(EventType.MEDIA_CONNECTION_INTERRUPTED, {}, at=0.0, ts=now_ms())
            await self._state(StreamState.INTERRUPTED, StopReason.STOP_BC_DATA_CONNECTION_INTERRUPTED)
            for t in lost:
                self._open_window(
                    f"media:{t}",
                    self.cfg.media_reconnect_window,
                    StopReason.STOP_BC_AWAIT_RECONNECTION_TIMEOUT,
                )

    def _open_window(self, key: str, seconds: float, reason: int) -> None:
        self._cancel_window(key)

        async def expire() -> None:
            await asyncio.sleep(seconds)
            self._windows.pop(key, None)
            self.record.notes.append(f"{key}: no reconnection within {seconds}s")
            await self.terminate(reason)

        self._windows[key] = self._spawn(expire())

    def _cancel_window(self, key: str) -> None:
        task = self._windows.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def terminate(self, reason: int) -> None:
        """End the stream: SESSION_STATE_UPDATE STOPPED + STREAM_STATE_UPDATE TERMINATED with
        ``reason``, close every socket, POST ``*.rtms_stopped``. Idempotent."""
        if self.terminated:
            return
        self.terminated = True
        self.record.stop_reason = int(reason)
        self.record.terminated_at = self.record.now()
        self._ready.set()
        current = asyncio.current_task()
        for key in list(self._windows):
            self._cancel_window(key)
        if self._producer is not None and self._producer is not current and not self._producer.done():
            self._producer.cancel()
        await self._session(SessionState.STOPPED, reason)
        await self._state(StreamState.TERMINATED, reason)
        conns = [c for c in {self.signaling, *self.media.values(), *self.pending_media} if c is not None]
        waits = [asyncio.ensure_future(c.closed_event.wait()) for c in conns if not c.closed]
        if waits:  # the client closes its sockets on TERMINATED; give it a second
            _, pending = await asyncio.wait(waits, timeout=1.0)
            for w in pending:
                w.cancel()
        await asyncio.gather(*(c.close(1000, "stream terminated") for c in conns if not c.closed))
        for mtype, buf in self._unconfirmed.items():
            if buf and mtype not in self.media:
                self.record.undelivered[mtype] = self.record.undelivered.get(mtype, 0) + len(buf)
        await self._webhook(
            f"{self.product}.rtms_stopped",
            {
                self.id_key: self.meeting_uuid,
                "rtms_stream_id": self.rtms_stream_id,
                "stop_reason": int(reason),
            },
        )
        self.emulator._finished(self)
        self._done.set()

    async def client_message(self, conn: _Conn, msg: dict) -> None:
        """A parsed message from the client on ``conn`` after its handshake."""
        mt = msg.get("msg_type")
        rec = self.record
        if mt == MsgType.KEEP_ALIVE_RESP:
            self.keepalive_answer(conn, msg)
        elif conn.label != "signaling":
            if mt == MsgType.CLIENT_READY_ACK:
                rec.ready_acks.append({"socket": conn.label, "at": rec.now()})
            else:
                rec.client_requests.append({"socket": conn.label, "msg_type": mt, "at": rec.now()})
        elif mt == MsgType.CLIENT_READY_ACK:
            rec.ready_acks.append({"socket": "signaling", "at": rec.now()})
            await self.ready_ack(conn)
        elif mt == MsgType.EVENT_SUBSCRIPTION:
            rec.event_subscriptions.append({"events": msg.get("events"), "at": rec.now()})
            for item in msg.get("events") or []:
                if isinstance(item, dict) and isinstance(item.get("event_type"), int):
                    if item.get("subscribe", True):
                        self.subscribed.add(item["event_type"])
                    else:
                        self.subscribed.discard(item["event_type"])
        elif mt == MsgType.STREAM_CLOSE_REQ:
            rec.client_requests.append({"socket": "signaling", "msg_type": mt, "at": rec.now()})
            await conn.send(
                {
                    "msg_type": MsgType.STREAM_CLOSE_RESP,
                    "rtms_stream_id": self.rtms_stream_id,
                    "status_code": 0,
                    "reason": "OK",
                    "timestamp": now_ms(),
                }
            )
            self._spawn(self.terminate(StopReason.STOP_BC_RECEIVER_REQUEST_CLOSE))
        elif mt == MsgType.SESSION_STATE_REQ:
            rec.client_requests.append({"socket": "signaling", "msg_type": mt, "at": rec.now()})
            known = msg.get("rtms_session_id") == self.rtms_session_id
            state = (
                (SessionState.PAUSED if self.paused else SessionState.STARTED)
                if known
                else SessionState.INACTIVE
            )
            await conn.send(
                {
                    "msg_type": MsgType.SESSION_STATE_RESP,
                    "rtms_session_id": msg.get("rtms_session_id"),
                    "state": int(state),
                    "timestamp": now_ms(),
                }
            )
        elif mt == MsgType.STREAM_STATE_REQ:
            rec.client_requests.append({"socket": "signaling", "msg_type": mt, "at": rec.now()})
            state = StreamState.PAUSED if self.paused else StreamState.ACTIVE
            await conn.send(
                {
                    "msg_type": MsgType.STREAM_STATE_RESP,
                    "state": int(state),
                    "rtms_stream_id": self.rtms_stream_id,
                    "timestamp": now_ms(),
                }
            )
        elif mt == MsgType.VIDEO_SUBSCRIPTION_REQ:
            rec.client_requests.append({"socket": "signaling", "msg_type": mt, "at": rec.now()})
            await conn.send(
                {
                    "msg_type": MsgType.VIDEO_SUBSCRIPTION_RESP,
                    "user_id": msg.get("user_id"),
                    "status_code": 0,
                    "reason": "OK",
                    "timestamp": now_ms(),
                }
            )
        else:
            rec.client_requests.append(
                {"socket": "signaling", "msg_type": mt, "at": rec.now(), "unexpected": True}
            )


class Emulator:
    """The RTMS emulator server. Use ``async with Emulator(config) as emu:`` (or start/stop)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.runs: dict[str, Run] = {}
        self.finished: list[Run] = []
        self.rejected_handshakes: list[Handshake] = []  # every refused handshake, any stream
        self._server = None
        self.port = self.config.port

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def start(self) -> None:
        self._server = await serve(
            self._handler,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            select_subprotocol=lambda _conn, offered: "websocket" if "websocket" in offered else None,
            ping_interval=None,
            close_timeout=1.0,
            max_size=2**20,
            compression=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Terminate every running stream (stop reason 6) and close the server."""
        await asyncio.gather(
            *(run.terminate(StopReason.STOP_BC_MEETING_ENDED) for run in list(self.runs.values()))
        )
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise EmulatorError("emulator not started")
        return f"ws://{self.config.public_host or self.config.host}:{self.port}"

    def url(self, path: str, generation: int = 0) -> str:
        prefix = f"/fo{generation}" if generation else ""
        return f"{self.base_url}{prefix}/{path}"

    def run(self, rtms_stream_id: str) -> Run:
        try:
            return self.runs[rtms_stream_id]
        except KeyError:
            raise EmulatorError(f"unknown rtms_stream_id {rtms_stream_id}") from None

    def _finished(self, run: Run) -> None:
        self.runs.pop(run.rtms_stream_id, None)
        self.finished.append(run)

    async def validate_url(self, webhook_url: str):
        """Send ``endpoint.url_validation`` to ``webhook_url`` and check the answer."""
        return await validate_url(
            webhook_url, secret_token=self.config.webhook_secret, timeout=self.config.webhook_timeout
        )

    async def play(
        self,
        scenario: Scenario | str | Path,
        *,
        webhook_url: str | None = None,
        speed: float | None = 1.0,
        product: str = "meeting",
        faults: Iterable[Fault | str] = (),
        meeting_uuid: str | None = None,
        rtms_stream_id: str | None = None,
        id_key: str | None = None,
        stop_reason: int | None = None,
    ) -> Run:
        """Register a stream and start playing ``scenario`` to whoever joins it.

        With ``webhook_url`` the signed ``<product>.rtms_started`` is POSTed first (the
        delivery is in ``run.record.webhooks``); without, the caller joins directly with
        ``run.join_params()``. Media starts after the client's CLIENT_READY_ACK.
        ``speed``: 1.0 real time, >1 accelerated, None unpaced (as fast as the client reads).
        ``product``: meeting | webinar | session (id key meeting_uuid | webinar_uuid |
        session_id unless ``id_key``). Returns at once; ``await run.wait(timeout)``.
        """
        if self._server is None:
            raise EmulatorError("emulator not started")
        if product not in PRODUCT_ID_KEY:
            raise EmulatorError(f"product must be one of {sorted(PRODUCT_ID_KEY)}, got {product!r}")
        if speed is not None and speed <= 0:
            raise EmulatorError(f"speed must be > 0 or None, got {speed}")
        if not isinstance(scenario, Scenario):
            scenario = await asyncio.to_thread(load_scenario, scenario)
        rtms_stream_id = rtms_stream_id or uuid.uuid4().hex
        if rtms_stream_id in self.runs:
            raise EmulatorError(f"stream {rtms_stream_id} is already playing")
        run = Run(
            self,
            scenario,
            speed=speed,
            product=product,
            faults=[f if isinstance(f, Fault) else Fault.parse(f) for f in faults],
            meeting_uuid=meeting_uuid or base64.b64encode(secrets.token_bytes(16)).decode(),
            rtms_stream_id=rtms_stream_id,
            webhook_url=webhook_url,
            id_key=id_key or PRODUCT_ID_KEY[product],
            stop_reason=self.config.stop_reason if stop_reason is None else stop_reason,
        )
        self.runs[rtms_stream_id] = run
        run.start()
        if webhook_url:
            await run.send_started()
        return run

    # ---- server side ---------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request):
        route = parse_path(request.path)
        if route is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "not an RTMS endpoint\n")
        run = self.runs.get(route.rtms_stream_id or "")
        if run is not None and route.generation != run.generation:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "this RTMS server is gone (failover)\n")
        if run is not None and run.down_until is not None and time.monotonic() < run.down_until:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "RTMS server down (outage fault)\n")
        return None

    def _status(self, code: StatusCode) -> int:
        if self.config.legacy_status_codes:
            return int(LEGACY.get(code, code))
        return int(code)

    async def _first_message(self, ws: ServerConnection) -> tuple[dict | None, str]:
        try:
            raw = await asyncio.wait_for(ws.recv(), self.config.handshake_timeout)
        except TimeoutError:
            return None, "no handshake message in time"
        except ConnectionClosed:
            return None, "closed"
        return _parse(raw)

    def _log_handshake(
        self, run: Run | None, label: str, ws: ServerConnection, status: StatusCode, reason: str, msg
    ) -> None:
        hs = Handshake(
            label,
            ws.request.path,
            run.record.now() if run else 0.0,
            self._status(status),
            reason,
            msg,
            ws.request.headers.get("User-Agent", ""),
            ws.subprotocol,
        )
        if run is not None:
            run.record.handshakes.append(hs)
        if status != StatusCode.OK:
            self.rejected_handshakes.append(hs)

    def _check_identity(self, msg: dict, route: _Route) -> tuple[Run | None, StatusCode, str]:
        sid = msg.get("rtms_stream_id")
        run = self.runs.get(sid) if isinstance(sid, str) else None
        if run is None or run.terminated or (route.rtms_stream_id and route.rtms_stream_id != sid):
            return None, StatusCode.INVALID_RTMS_STREAM_ID, "unknown rtms_stream_id"
        ids = [msg[k] for k in ID_KEYS if isinstance(msg.get(k), str)]
        if run.meeting_uuid not in ids:
            return None, StatusCode.INVALID_RTMS_STREAM_ID, "instance id does not match the stream"
        expected = handshake_signature(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            instance_id=run.meeting_uuid,
            rtms_stream_id=run.rtms_stream_id,
        )
        signature = msg.get("signature")
        if not isinstance(signature, str) or not hmac.compare_digest(signature.encode(), expected.encode()):
            return None, StatusCode.INVALID_SIGNATURE, "invalid signature"
        return run, StatusCode.OK, ""

    async def _handler(self, ws: ServerConnection) -> None:
        route = parse_path(ws.request.path)
        assert route is not None  # noqa: S101  (process_request rejected the rest)
        if route.kind == "signaling":
            await self._serve_signaling(ws, route)
        else:
            await self._serve_media(ws, route)

    async def _serve_signaling(self, ws: ServerConnection, route: _Route) -> None:
        msg, problem = await self._first_message(ws)
        run = (
            self.runs.get(msg.get("rtms_stream_id"))
            if isinstance(msg, dict) and isinstance(msg.get("rtms_stream_id"), str)
            else None
        )
        conn = _Conn(ws, run, "signaling", self.config.binary_frames)
        status, reason = StatusCode.OK, ""
        if msg is None:
            status, reason = StatusCode.INVALID_PAYLOAD, problem
        elif msg.get("msg_type") != MsgType.SIGNALING_HAND_SHAKE_REQ:
            status, reason = StatusCode.INVALID_MESSAGE_TYPE, "expected SIGNALING_HAND_SHAKE_REQ"
        elif msg.get("protocol_version") != PROTOCOL_VERSION:
            status, reason = StatusCode.INVALID_PAYLOAD, "unsupported protocol_version"
        else:
            checked, status, reason = self._check_identity(msg, route)
            if (
                checked is not None
                and checked.signaling is not None
                and not checked.signaling.closed
                and self.config.duplicate_signaling == "reject"
            ):
                status, reason = StatusCode.DUPLICATE_SIGNAL_REQUEST, "duplicate signal request"
        if problem == "closed":
            return
        self._log_handshake(run, "signaling", ws, status, reason, msg)
        response: dict[str, Any] = {
            "msg_type": MsgType.SIGNALING_HAND_SHAKE_RESP,
            "protocol_version": PROTOCOL_VERSION,
            "sequence": 0,
            "status_code": self._status(status),
            "reason": reason,
        }
        if status != StatusCode.OK or run is None:
            log.info("signaling handshake refused: %s (%s)", status.name, reason)
            await conn.send(response)
            await conn.close(1000, reason)
            return
        urls = {
            t: self.url(f"media/{t}/{run.rtms_stream_id}", run.generation) for t in self.config.media_types
        }
        urls["all"] = self.url(f"media/all/{run.rtms_stream_id}", run.generation)
        response["media_server"] = {"server_urls": urls}
        await conn.send(response)
        await run.attach_signaling(conn)
        await self._serve_connection(run, conn)

    async def _serve_media(self, ws: ServerConnection, route: _Route) -> None:
        msg, problem = await self._first_message(ws)
        run = (
            self.runs.get(msg.get("rtms_stream_id"))
            if isinstance(msg, dict) and isinstance(msg.get("rtms_stream_id"), str)
            else None
        )
        label = f"media:{route.media}"
        conn = _Conn(ws, run, label, self.config.binary_frames)
        status, reason, types, params = StatusCode.OK, "", (), {}
        if msg is None:
            status, reason = StatusCode.INVALID_PAYLOAD, problem
        elif msg.get("msg_type") != MsgType.DATA_HAND_SHAKE_REQ:
            status, reason = StatusCode.INVALID_MESSAGE_TYPE, "expected DATA_HAND_SHAKE_REQ"
        else:
            checked, status, reason = self._check_identity(msg, route)
            if checked is not None:
                status, reason, types = self._media_types(checked, route.media, msg.get("media_type"))
            if checked is not None and status == StatusCode.OK:
                status, reason, params = _media_params(types, msg.get("media_params"))
        if problem == "closed":
            return
        self._log_handshake(run, label, ws, status, reason, msg)
        response: dict[str, Any] = {
            "msg_type": MsgType.DATA_HAND_SHAKE_RESP,
            "protocol_version": PROTOCOL_VERSION,
            "sequence": 0,
            "status_code": self._status(status),
            "reason": reason,
            "payload_encrypted": False,
            "media_params": params or None,
        }
        if status != StatusCode.OK or run is None:
            log.info("media handshake refused: %s (%s)", status.name, reason)
            await conn.send(response)
            await conn.close(1000, reason)
            return
        conn.types = types
        conn.params = params
        await conn.send(response)
        await run.attach_media(conn)
        await self._serve_connection(run, conn)

    def _media_types(
        self, run: Run, path_type: str | None, media_type: Any
    ) -> tuple[StatusCode, str, tuple[str, ...]]:
        if isinstance(media_type, bool) or not isinstance(media_type, int):
            return StatusCode.INVALID_MEDIA_TYPE, "media_type must be an integer", ()
        if media_type <= 0 or media_type > 63 or (media_type & 32 and media_type != 32):
            return StatusCode.MEDIA_TYPE_INVALID_VALUE, f"invalid media_type {media_type}", ()
        if media_type == MediaType.ALL:
            types = tuple(self.config.media_types)
        else:
            types = tuple(name for bit, name in BIT_NAMES.items() if media_type & bit)
            for name in types:
                if name not in self.config.media_types:
                    return NOT_SUPPORTED[name], f"{name} is not in the app's scopes", ()
        if path_type != "all" and (len(types) != 1 or types[0] != path_type) and media_type != 32:
            return (
                StatusCode.INVALID_MEDIA_TYPE,
                f"media_type {media_type} does not match the {path_type} URL",
                (),
            )
        if path_type != "all" and media_type == 32:
            return StatusCode.INVALID_MEDIA_TYPE, "media_type 32 belongs on the 'all' URL", ()
        taken = {t for t, c in run.media.items() if not c.closed}
        taken |= {t for c in run.pending_media if not c.closed for t in c.types}
        if media_type == MediaType.ALL and taken:
            return StatusCode.MEDIA_DATA_ALL_CONNECTION_EXIST, "a media connection already exists", ()
        if set(types) & taken:
            return (
                StatusCode.DUPLICATE_MEDIA_DATA_CONNECTION,
                f"duplicate media connection for {sorted(set(types) & taken)}",
                (),
            )
        return StatusCode.OK, "", types

    async def _serve_connection(self, run: Run, conn: _Conn) -> None:
        conn.ka_task = asyncio.create_task(run.keepalive_loop(conn))
        try:
            async for raw in conn.ws:
                run.record.client_frames["binary" if isinstance(raw, bytes) else "text"] += 1
                msg, problem = _parse(raw)
                if msg is None:
                    run.record.client_junk.append(
                        {"socket": conn.label, "problem": problem, "at": run.record.now()}
                    )
                    log.info("client sent junk on %s: %s", conn.label, problem)
                    continue
                await run.client_message(conn, msg)
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            conn.closed_event.set()
            conn.live = False
            conn.ka_task.cancel()
            for ka, _ in conn.ka_pending.values():
                if ka.late:
                    ka.missed = True  # never answered, though the socket stayed open an interval
                else:
                    ka.pending_at_close = True
            rcvd = conn.ws.protocol.close_rcvd
            run.record.closes.append(
                ConnectionClose(
                    conn.label,
                    run.record.now(),
                    "server" if conn.server_closed else "client",
                    rcvd.code if rcvd else 1006,
                    rcvd.reason if rcvd else "",
                    rcvd is not None,
                )
            )
            await run.connection_lost(conn)


def _parse(raw: str | bytes) -> tuple[dict | None, str]:
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


def _media_params(types: tuple[str, ...], given: Any) -> tuple[StatusCode, str, dict[str, dict]]:
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


__all__ = ["Emulator", "EmulatorConfig", "EmulatorError", "Run", "parse_path"]

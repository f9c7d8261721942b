"""Sans-IO state machine of one emulated RTMS stream: Zoom's protocol decisions, no I/O.

Pure: no asyncio, no sockets, no clock of its own. The asyncio transport (``run.py``, one
:class:`rtms_emulator.run.Run` per stream) tells it what happened on the stream's sockets
(:class:`rtms_emulator.link.Link`: a socket's protocol state) — a handshake passed, a client
message, a CLIENT_READY_ACK, a socket lost, media produced — passing wall-clock epoch
milliseconds (``wall_ms``: the timestamps sent); it answers with messages to send (dicts, see
``messages.py``) and decisions: sockets to drop, reconnection windows to open or cancel
(:class:`Window`), webhooks, replays, the stop reason. Its parts: ``keepalives``
(``keepalive.py``: requests, misses, answers and fences), ``replay`` (``replay.py``: media kept
until confirmed); handshake requests are checked in ``handshake.py``. What the server did and
what the client did go into the stream's :class:`rtms_emulator.record.StreamRecord`. Wire
facts: PROTOCOL.md Section A; the behaviour: docs/emulator.md ("What it does on the wire").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rtms_emulator import messages
from rtms_emulator.config import EmulatorConfig
from rtms_emulator.handshake import stream_url
from rtms_emulator.keepalive import KeepAlives
from rtms_emulator.link import Link
from rtms_emulator.record import StreamRecord
from rtms_emulator.replay import ReplayBuffer
from streams.rtms.protocol import (
    SUBSCRIBABLE_EVENTS,
    EventType,
    MsgType,
    SessionState,
    StopReason,
    StreamState,
)


@dataclass(frozen=True)
class Window:
    """A reconnection window: end the stream with ``reason`` unless the ``key`` socket
    (``signaling`` or ``media:<type>``) is back within ``seconds``."""

    key: str
    seconds: float
    reason: int


@dataclass
class Reply:
    """What a client message asks of the transport: ``send`` these on the same socket;
    ``answered``: it answered a pending keep-alive (wake a fence); ``ready_ack``: CLIENT_READY_ACK
    on signaling, call :meth:`Session.ready_ack`; ``terminate``: end the stream with this stop
    reason once ``send`` went out."""

    send: list[dict] = field(default_factory=list)
    answered: bool = False
    ready_ack: bool = False
    terminate: int | None = None


@dataclass
class Attached:
    """A new signaling socket took over: cancel ``cancel_windows``; with
    ``duplicate_signaling="kick"``, drop (TCP abort) the ``drop`` media sockets and close the
    ``kicked`` signaling socket (1000)."""

    cancel_windows: list[str]
    kicked: Link | None = None
    drop: list[Link] = field(default_factory=list)


@dataclass
class Ready:
    """After CLIENT_READY_ACK: ``newly`` media sockets went live (replay to them), cancel
    ``cancel_windows``; ``rejoin``: a new signaling socket on a started stream, announce the
    session again ``ready_delay`` later and replay then; ``recovered``: an interrupted media type
    is back (STREAM_STATE_UPDATE ACTIVE after the replays, if the stream has started)."""

    newly: list[Link]
    rejoin: bool
    recovered: bool
    cancel_windows: list[str]


@dataclass
class Lost:
    """After a socket was lost: drop (abort) ``drop``, POST ``rtms_interrupted`` if
    ``interrupted_webhook``, send ``messages`` on signaling, then open ``windows``."""

    drop: list[Link] = field(default_factory=list)
    interrupted_webhook: bool = False
    messages: list[dict] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)


class Session:
    """The protocol state of one stream (one ``rtms_stream_id``) and its decisions.

    State the transport and the player read: ``signaling`` (the signaling link, None when
    lost), ``media`` (media type -> live link), ``pending_media`` (handshaked, waiting for
    CLIENT_READY_ACK), ``wanted`` (types the client asked for since its signaling handshake),
    ``subscribed`` (event types), ``paused``, ``terminated``, ``t0_ms`` (FIRST_PACKET_TIMESTAMP,
    epoch ms), ``active_speaker``, ``generation`` (failovers), ``base_url`` (the server's
    ``ws://host:port``), ``keepalives``, ``replay``.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        record: StreamRecord,
        *,
        base_url: str,
        rtms_stream_id: str,
        meeting_uuid: str,
        rtms_session_id: str,
    ) -> None:
        self.config = config
        self.record = record
        self.base_url = base_url
        self.rtms_stream_id = rtms_stream_id
        self.meeting_uuid = meeting_uuid
        self.rtms_session_id = rtms_session_id
        self.generation = 0
        self.signaling: Link | None = None
        self.media: dict[str, Link] = {}
        self.pending_media: list[Link] = []
        self.wanted: set[str] = set()
        self.subscribed: set[int] = set()
        self.terminated = False
        self.paused = False
        self.t0_ms = 0
        self.active_speaker: int | None = None
        self.replay = ReplayBuffer(config.replay_buffer_seconds, record)
        self.keepalives = KeepAlives(config, record, self.replay)
        self.interrupted_types: set[str] = set()
        self.failing_over = False
        self._pause_started: float | None = None

    # ---- URLs ---------------------------------------------------------------------------------
    @property
    def server_urls(self) -> str:
        """The signaling URL of the current generation (what ``rtms_started`` carries)."""
        return stream_url(self.base_url, f"signaling/{self.rtms_stream_id}", self.generation)

    def failover(self) -> None:
        """Move the stream to the next generation of URLs; the coming signaling loss is the
        failover's, not an interruption (no ``rtms_interrupted``)."""
        self.failing_over = True
        self.generation += 1

    # ---- sockets -------------------------------------------------------------------------------
    def taken_media(self) -> set[str]:
        """Media types an open socket (live or waiting for CLIENT_READY_ACK) carries."""
        taken = {t for t, c in self.media.items() if not c.closed}
        taken |= {t for c in self.pending_media if not c.closed for t in c.types}
        return taken

    def links(self) -> list[Link]:
        """Every socket of the stream (signaling, live and pending media), each once."""
        return [c for c in dict.fromkeys([self.signaling, *self.media.values(), *self.pending_media]) if c]

    def live_links(self) -> list[Link]:
        """The signaling socket and the live media sockets, still open, each once."""
        conns = [self.signaling, *dict.fromkeys(self.media.values())]
        return [c for c in conns if c is not None and not c.closed]

    def ready(self) -> bool:
        """Whether the timeline may play: signaling live and every wanted media type live (with
        ``signaling_loss_keeps_media``, after the start, the media alone); always once over."""
        if self.terminated:
            return True
        media_up = all(t in self.media for t in self.wanted)
        if self.signaling is None and self.config.signaling_loss_keeps_media and self.record.started:
            return media_up and bool(self.wanted)
        return media_up and self.signaling is not None and self.signaling.live

    def attach_signaling(self, link: Link) -> Attached:
        """``link`` passed its signaling handshake: it is the stream's signaling socket now, and
        the client asks for its media again."""
        old = self.signaling
        self.signaling = link
        self.wanted = set()
        attached = Attached(cancel_windows=["signaling"])
        if old is not None and not old.closed:  # duplicate_signaling="kick": the first one goes
            old.live = False
            attached.kicked = old
            attached.drop = list(dict.fromkeys([*self.media.values(), *self.pending_media]))
            self.media.clear()
            self.pending_media = []
        return attached

    def attach_media(self, link: Link) -> None:
        """``link`` passed its media handshake; it goes live at the next CLIENT_READY_ACK."""
        self.pending_media.append(link)

    def ready_ack(self, link: Link) -> Ready:
        """CLIENT_READY_ACK on the signaling ``link``: the handshaked media sockets go live."""
        rejoin = not link.live and self.record.started
        link.live = True
        newly = [c for c in self.pending_media if not c.closed]
        self.pending_media = []
        recovered = False
        cancel = []
        for media in newly:
            media.live = True
            for t in media.types:
                self.media[t] = media
                self.wanted.add(t)
                cancel.append(f"media:{t}")
                if t in self.interrupted_types:
                    self.interrupted_types.discard(t)
                    recovered = True
        return Ready(newly, rejoin, recovered, cancel)

    def connection_lost(self, link: Link, *, wall_ms: int) -> Lost:
        """``link``'s socket closed (either side). Signaling: media interrupted too (PROTOCOL.md
        §7.8) unless ``signaling_loss_keeps_media``, ``rtms_interrupted`` (not after a failover),
        a ``reconnect_window`` (then stop reason 24 if keep-alives dropped signaling, else 19).
        Media: EVENT_UPDATE 7 + STREAM_STATE_UPDATE INTERRUPTED (14), a ``media_reconnect_window``."""
        link.closed = True
        link.live = False
        self.keepalives.settle(link)
        if self.terminated:
            return Lost()
        if link is self.signaling:
            self.signaling = None
            if self.config.signaling_loss_keeps_media:
                drop = list(self.pending_media)  # live media sockets stay open and keep streaming
            else:
                drop = list(dict.fromkeys([*self.media.values(), *self.pending_media]))
                self.media.clear()
            self.pending_media = []
            self.interrupted_types.clear()
            webhook = not self.failing_over
            self.failing_over = False
            reason = (
                StopReason.STOP_BC_KEEP_ALIVE_TIMEOUT
                if self.keepalives.signaling_timed_out
                else StopReason.STOP_BC_AWAIT_RECONNECTION_TIMEOUT
            )
            return Lost(drop, webhook, windows=[Window("signaling", self.config.reconnect_window, reason)])
        if link in self.pending_media:
            self.pending_media.remove(link)
        lost = [t for t, c in self.media.items() if c is link]
        for t in lost:
            del self.media[t]
        if not lost or self.signaling is None or not self.signaling.live:
            return Lost()
        self.interrupted_types |= set(lost)
        reason = StopReason.STOP_BC_DATA_CONNECTION_INTERRUPTED
        return Lost(
            messages=[
                messages.event_update(EventType.MEDIA_CONNECTION_INTERRUPTED, {}, ts=wall_ms),
                messages.stream_state_update(StreamState.INTERRUPTED, reason, wall_ms=wall_ms),
            ],
            windows=[
                Window(
                    f"media:{t}",
                    self.config.media_reconnect_window,
                    StopReason.STOP_BC_AWAIT_RECONNECTION_TIMEOUT,
                )
                for t in lost
            ],
        )

    def terminate(self, reason: int, *, wall_ms: int) -> list[dict] | None:
        """End the stream with ``reason``: SESSION_STATE_UPDATE STOPPED and STREAM_STATE_UPDATE
        TERMINATED to send; None if it has already ended (termination is idempotent)."""
        if self.terminated:
            return None
        self.terminated = True
        self.record.stop_reason = int(reason)
        self.record.terminated_at = self.record.now()
        return [
            messages.session_state_update(
                self.rtms_session_id, SessionState.STOPPED, reason, wall_ms=wall_ms
            ),
            messages.stream_state_update(StreamState.TERMINATED, reason, wall_ms=wall_ms),
        ]

    # ---- what the server plays -----------------------------------------------------------------
    def ts(self, seconds: float) -> int:
        """Epoch ms of meeting time ``seconds`` (FIRST_PACKET_TIMESTAMP + seconds)."""
        return self.t0_ms + round(seconds * 1000)

    def event_update(self, event_type: int, body: dict, *, ts: int) -> dict | None:
        """EVENT_UPDATE, or None (counted in ``record.unsubscribed``) for a subscribable event
        the client did not subscribe to (with ``require_event_subscription``)."""
        if (
            self.config.require_event_subscription
            and event_type in SUBSCRIBABLE_EVENTS
            and event_type not in self.subscribed
        ):
            self.note_unsubscribed("events")
            return None
        return messages.event_update(event_type, body, ts=ts)

    def signaled(self, msg: dict) -> None:
        """``msg`` was written to the signaling socket: EVENT_UPDATE and state updates are
        recorded in ``record.sent``."""
        mt = msg["msg_type"]
        if mt == MsgType.EVENT_UPDATE:
            self.record.sent.events.append(msg["event"])
        elif mt in (MsgType.STREAM_STATE_UPDATE, MsgType.SESSION_STATE_UPDATE):
            self.record.sent.state_updates.append(msg)

    def start(self, t0_ms: int) -> None:
        """The timeline starts: FIRST_PACKET_TIMESTAMP is ``t0_ms`` (epoch ms)."""
        self.t0_ms = t0_ms
        self.record.first_packet_timestamp = t0_ms
        self.record.started = True

    def announce(self, *, first: bool, wall_ms: int) -> list[dict]:
        """EVENT_UPDATE FIRST_PACKET_TIMESTAMP, STREAM_STATE_UPDATE ACTIVE (PAUSED),
        SESSION_STATE_UPDATE STARTED (+ PAUSED): at the start and after a rejoin (Section A.3)."""
        state = StreamState.PAUSED if self.paused else StreamState.ACTIVE
        sent = [
            messages.event_update(EventType.FIRST_PACKET_TIMESTAMP, {}, ts=self.t0_ms),
            messages.stream_state_update(state, StopReason.UNDEFINED, wall_ms=wall_ms),
            messages.session_state_update(self.rtms_session_id, SessionState.STARTED, wall_ms=wall_ms),
        ]
        if self.paused:
            sent.append(
                messages.session_state_update(self.rtms_session_id, SessionState.PAUSED, wall_ms=wall_ms)
            )
        if not first:
            self.record.notes.append(f"session re-announced at {self.record.now()}s")
        return sent

    def pause(self, pause: bool, at: float, *, wall_ms: int) -> list[dict]:
        """Pause (``pause``) or resume at meeting time ``at``: the state updates to send, none
        if it already is (noted)."""
        if pause == self.paused:
            self.record.notes.append(f"{'pause' if pause else 'resume'} at {at}s ignored (already)")
            return []
        self.paused = pause
        if pause:
            self._pause_started = at
            stream, session = StreamState.PAUSED, SessionState.PAUSED
        else:
            self.record.paused_intervals.append((self._pause_started or 0.0, at))
            stream, session = StreamState.RESUMED, SessionState.RESUMED
        return [
            messages.stream_state_update(stream, StopReason.UNDEFINED, wall_ms=wall_ms),
            messages.session_state_update(self.rtms_session_id, session, wall_ms=wall_ms),
        ]

    def note_unsubscribed(self, kind: str) -> None:
        """A message of ``kind`` (a media type or ``events``) not sent: not asked for."""
        self.record.unsubscribed[kind] = self.record.unsubscribed.get(kind, 0) + 1

    def media_out(self, mtype: str, message: str, tick: int) -> tuple[Link | None, int]:
        """A media ``message`` of ``mtype`` produced at ``tick``: ``(link, n)``: write it to
        ``link``, then ``replay.sent(link, mtype, n, ok)``; ``(None, n)``: kept, replayed on the
        next socket; ``(None, 0)``: the client did not ask for ``mtype`` (``record.unsubscribed``)."""
        link = self.media.get(mtype)
        if link is None and mtype not in self.wanted:
            self.note_unsubscribed(mtype)
            return None, 0
        return link, self.replay.add(mtype, message, tick)

    # ---- client messages -----------------------------------------------------------------------
    def client_message(self, link: Link, msg: dict, *, wall_ms: int) -> Reply:
        """A parsed message (``msg_type`` an int) from the client on ``link`` after its
        handshake. A media socket takes only keep-alive answers (anything else is recorded)."""
        mt = msg.get("msg_type")
        rec = self.record
        if mt == MsgType.KEEP_ALIVE_RESP:
            return Reply(answered=self.keepalives.answer(link, msg))
        if link.label != "signaling":
            if mt == MsgType.CLIENT_READY_ACK:
                rec.ready_acks.append({"socket": link.label, "at": rec.now()})
            else:
                rec.client_requests.append({"socket": link.label, "msg_type": mt, "at": rec.now()})
            return Reply()
        if mt == MsgType.CLIENT_READY_ACK:
            rec.ready_acks.append({"socket": "signaling", "at": rec.now()})
            return Reply(ready_ack=True)
        if mt == MsgType.EVENT_SUBSCRIPTION:
            rec.event_subscriptions.append({"events": msg.get("events"), "at": rec.now()})
            for item in msg.get("events") or []:
                if isinstance(item, dict) and isinstance(item.get("event_type"), int):
                    if item.get("subscribe", True):
                        self.subscribed.add(item["event_type"])
                    else:
                        self.subscribed.discard(item["event_type"])
            return Reply()
        answer = messages.request_answer(
            mt,
            msg,
            rtms_stream_id=self.rtms_stream_id,
            rtms_session_id=self.rtms_session_id,
            paused=self.paused,
            wall_ms=wall_ms,
        )
        request = {"socket": "signaling", "msg_type": mt, "at": rec.now()}
        rec.client_requests.append(request if answer else request | {"unexpected": True})
        if answer is None:
            return Reply()
        if mt == MsgType.STREAM_CLOSE_REQ:
            return Reply([answer], terminate=StopReason.STOP_BC_RECEIVER_REQUEST_CLOSE)
        return Reply([answer])

"""Asyncio RTMS client (framework-free): one instance per ``rtms_stream_id``.

Usage::

    client = RTMSClient(ClientConfig(client_id=..., client_secret=..., instance_id=meeting_uuid,
                                     rtms_stream_id=..., server_urls=payload["server_urls"]))
    async for event in client.events():      # starts the connection; ends after StreamEnded
        ...                                  # AudioFrame, TranscriptEvent, ChatEvent, ...
    await client.close(request_stream_close=True)   # from another task: STREAM_CLOSE_REQ

This module is the **asyncio transport**; the decisions are in the sans-IO state machine
(``connection.py``: handshake messages and answers, keep-alive answers, replay de-duplication,
the end of the stream, reconnect decisions on the one policy of ``reconnect.py``), the sockets
in ``sockets.py``, the consumer's queue in ``outbox.py``. docs/rtms_client.md has the full story.
``RTMSClient`` stays one class of ~540 lines (module ~600) because its supervisor and its readers
share one set of sockets across every await (the drain, keep-alive and replay-fence races of
issue 18 live between them), and splitting them over two objects would spread one race over two.

* One **reader task per socket** (signaling, one per media type, or one ``all`` socket) feeds
  every frame to the state machine and at once sends the KEEP_ALIVE_RESP it returns on that
  socket (before any queueing), routes handshake answers to the handshake waiter and queues the
  typed events.
* A **supervisor task** drives the connection: handshakes, media-only reopen when a media socket
  is lost while signaling lives, full re-handshake when signaling is lost (the media sockets kept
  reading meanwhile, then closed with a drain), waits announced by ``Reconnecting``, failover,
  clean close (STREAM_CLOSE_REQ), and the end of the stream with a drain of every socket so no
  frame sent just before TERMINATED is lost (PROTOCOL.md A.4). Audio a cancelled reader left
  unread is counted as dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import websockets

from streams.rtms.config import ClientConfig, ClientStats
from streams.rtms.connection import Connection, EndSignal
from streams.rtms.errors import RTMSConnectionError, RTMSHandshakeError, RTMSStreamEnded
from streams.rtms.events import AudioFrame, Connected, RTMSEvent, StreamEnded
from streams.rtms.handshake import MEDIA_NOT_SUPPORTED
from streams.rtms.outbox import Outbox
from streams.rtms.reconnect import Retry
from streams.rtms.sockets import Socket, unread_frames

__all__ = ["MEDIA_NOT_SUPPORTED", "ClientConfig", "ClientStats", "RTMSClient"]

logger = logging.getLogger("streams.rtms")


def _now_ms() -> int:
    return int(time.time() * 1000)


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
        self._conn = Connection(config, self.stats)
        self._urls = config.signaling_urls()
        self._outbox = Outbox(config.audio_queue_size, config.event_queue_size, self.stats)
        self._supervisor: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # anything the supervisor should look at
        self._alive = asyncio.Event()  # cleared at shutdown: readers stop waiting for queue space
        self._signaling: Socket | None = None
        self._media: dict[str, Socket] = {}  # socket name -> socket
        self._old_media: list[Socket] = []  # kept reading across a signaling loss
        self._failover_urls: list[str] | None = None
        self._close_request: bool | None = None  # request_stream_close flag once close() is called
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
        final = self.ended or self._conn.final
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
        conn = self._conn
        error: Exception | None = None
        try:
            await self._lifecycle()
        except asyncio.CancelledError:
            conn.end = conn.end or EndSignal(None, "client cancelled")
            raise
        except Exception as exc:  # a bug of ours must still end the stream cleanly, with a trace
            logger.exception("RTMS client %s crashed", self.config.rtms_stream_id)
            conn.end = EndSignal(None, f"client error: {exc!r}")
            error = exc
        finally:
            self._alive.clear()  # readers stop waiting for queue space (they append anyway)
            await self._close_all(old_media=True)  # drained, readers stopped: nothing follows StreamEnded
            end = conn.end or EndSignal(None, "client stopped")
            conn.finish(end.stop_reason, end.detail, error, wall_ms=_now_ms())
            self.ended = conn.final or StreamEnded(end.stop_reason, end.detail, _now_ms(), error)
            self._outbox.force(self.ended)
            log = logger.warning if self.ended.error is not None else logger.info
            log(
                "RTMS stream %s ended: %s (stop_reason=%s)",
                self.config.rtms_stream_id,
                self.ended.detail,
                self.ended.stop_reason,
            )

    async def _lifecycle(self) -> None:
        conn = self._conn
        reconnect = False
        retry: Retry | None = None  # the current outage's schedule (streams/rtms/reconnect.py)
        while True:
            if conn.end is not None:  # TERMINATED arrived during a handshake that then failed
                return
            if self._close_request is not None:
                conn.end = EndSignal(None, "closed by the client before a connection was up")
                return
            if self._failover_urls is not None:
                self._urls, self._failover_urls = self._failover_urls, None
            try:
                await self._connect_full(reconnect=reconnect)
            except RTMSHandshakeError as exc:
                await self._close_all()
                if not exc.retryable:
                    conn.finish(None, str(exc), exc, wall_ms=_now_ms())
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
                retry = conn.policy.begin(time.monotonic())
                if outcome == "failover":
                    continue  # immediate attempt against the new URL
                if not await self._wait_retry(retry, "signaling", conn.lost_reason or "connection lost"):
                    return
                continue
            retry = conn.attempt_failed(retry, last_error, now=time.monotonic())
            if conn.end is not None:
                return
            if self._failover_urls is not None:  # new server: a fresh window, no backoff
                retry = conn.policy.begin(time.monotonic())
                continue
            if not await self._wait_retry(retry, "signaling", str(last_error), error=last_error):
                return

    async def _wait_retry(
        self, retry: Retry, scope: str, reason: str, *, error: Exception | None = None
    ) -> bool:
        """Announce and sleep until the next attempt of ``retry``; False (and the stream
        finished with the reason) when the reconnect window is over."""
        decision = self._conn.next_attempt(
            retry, scope, reason, now=time.monotonic(), wall_ms=_now_ms(), error=error
        )
        if decision.delay is None or decision.event is None:
            return False
        self._outbox.force(decision.event)
        await self._sleep(decision.delay)
        return True

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
        conn = self._conn
        sock = await self._open_first(self._urls)
        self._signaling = sock
        await self._send_or_raise(sock, conn.handshakes.signaling_handshake_req())
        server_urls = conn.handshakes.accept_signaling_handshake(
            await sock.await_handshake(self.config.handshake_timeout)
        )
        subscription = conn.handshakes.event_subscription()
        if subscription is not None:
            await self._send_or_raise(sock, subscription)
        await self._retire_old_media()  # one media connection per type: the old ones go first
        plan = conn.handshakes.plan_media(server_urls)
        results = await asyncio.gather(
            *(self._open_media(name, url, media) for name, (url, media) in plan.items()),
            return_exceptions=True,
        )
        first_error: BaseException | None = None
        for name, result in zip(list(plan), results, strict=True):
            if isinstance(result, Socket):
                self._media[name] = result
            elif conn.handshakes.drop_if_not_granted(name, result):
                continue
            elif isinstance(result, BaseException) and (
                first_error is None or (isinstance(result, RTMSHandshakeError) and not result.retryable)
            ):
                first_error = result
        if first_error is not None:
            raise first_error
        await self._send_or_raise(sock, conn.handshakes.client_ready_ack())
        self.stats.connects += 1
        if reconnect:
            self.stats.reconnects += 1
            self.stats.full_reconnects += 1
        self._announce_connected(reconnect, [sock, *self._media.values()])

    def _announce_connected(self, reconnect: bool, sockets: list[Socket]) -> None:
        self.granted_media = self._conn.handshakes.granted_media(s.media for s in self._media.values())
        self.media_params = {name: s.media_params for name, s in self._media.items()}
        self._outbox.force(Connected(reconnect, self.granted_media))
        for sock in sockets:  # no await between flush and ready: the readers cannot interleave
            self._flush_staged(sock)
            sock.ready = True
        logger.info(
            "RTMS %s connected (reconnect=%s, media=%s)",
            self.config.rtms_stream_id,
            reconnect,
            self.granted_media,
        )

    async def _open_media(self, name: str, url: str, media: tuple[str, ...]) -> Socket:
        sock = await self._open(url, name, media)
        try:
            msg, params = self._conn.handshakes.data_handshake_req(media)
            await self._send_or_raise(sock, msg)
            resp = await sock.await_handshake(self.config.handshake_timeout)
            sock.media_params = self._conn.handshakes.accept_data_handshake(name, sock.scope, resp, params)
            return sock
        except BaseException:
            await self._close_socket(sock)
            raise

    async def _open_first(self, urls: list[str]) -> Socket:
        errors: list[str] = []
        for url in urls:
            try:
                return await self._open(url, "signaling", ())
            except RTMSConnectionError as exc:
                errors.append(str(exc))
        raise RTMSConnectionError("; ".join(errors) or "no signaling URL")

    async def _open(self, url: str, name: str, media: tuple[str, ...]) -> Socket:
        sock = await Socket.open(self.config, url, name, media)
        sock.replay_guard = self.stats.connects > 0
        sock.reader = asyncio.get_running_loop().create_task(self._read(sock), name=f"rtms-reader-{name}")
        return sock

    async def _send(self, sock: Socket, msg: dict[str, Any]) -> bool:
        return await sock.send(msg, self.config.send_timeout, self.config.rtms_stream_id)

    async def _send_or_raise(self, sock: Socket, msg: dict[str, Any]) -> None:
        if not await self._send(sock, msg):
            raise RTMSConnectionError(
                f"cannot send msg {msg.get('msg_type')} on {sock.scope}", scope=sock.scope
            )

    async def _close_socket(self, sock: Socket) -> None:
        """Close ``sock`` and drain it (``Socket.close_drained``); the audio a cancelled reader
        left unread is counted as dropped (``stats.audio_frames_dropped``, ``AudioDropped``)."""
        if not await sock.close_drained(self.config.close_timeout):
            self._count_unread(sock)

    def _count_unread(self, sock: Any) -> None:
        """Audio frames left in a cancelled reader's WebSocket queue: counted as dropped (at the
        gap, like a queue overflow), never lost silently."""
        for frame in self._conn.unread_audio(unread_frames(sock.ws), replay_guard=sock.replay_guard):
            self._outbox.note_dropped(frame)

    def _flush_staged(self, sock: Socket) -> None:
        """Deliver the events held during a handshake (in order)."""
        for event in sock.staged:
            self._deliver_now(event)
        sock.staged.clear()

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
            self._flush_staged(sock)

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
            self._flush_staged(signaling)

    async def _retire_old_media(self) -> None:
        """Close (with a drain) the media sockets kept from the previous connection."""
        old, self._old_media = self._old_media, []
        if old:
            await asyncio.gather(*(self._close_socket(s) for s in old))

    # --- connected state ---------------------------------------------------------------------------

    async def _monitor(self) -> str:
        """Watch the live connection. Returns "end" (stream over, StreamEnded queued),
        "signaling" (signaling lost: full re-handshake) or "failover"."""
        conn = self._conn
        down: dict[str, Retry] = {}  # socket name -> its outage's schedule (next_attempt_at)
        while True:
            self._wake.clear()
            if conn.end is not None:
                await self._drain()
                conn.finish(conn.end.stop_reason, conn.end.detail, wall_ms=_now_ms())
                return "end"
            if self._close_request is not None:
                await self._handle_close(self._close_request)
                return "end"
            signaling = self._signaling
            if signaling is None:  # pragma: no cover - _connect_full sets it
                return "signaling"
            if self._failover_urls is not None:
                self._outbox.force(
                    conn.interrupted("signaling", "failover: new server_urls", wall_ms=_now_ms())
                )
                await self._close_all()
                return "failover"
            if signaling.lost.is_set():
                if conn.signaling_lost(signaling.lost_reason):
                    continue
                self._outbox.force(conn.interrupted("signaling", signaling.lost_reason, wall_ms=_now_ms()))
                await self._keep_media_while_reconnecting()
                return "signaling"
            now = time.monotonic()
            for sock in (signaling, *self._media.values()):
                if not sock.lost.is_set() and conn.is_idle(sock.last_frame_at, now):
                    sock.abort(f"no frame for {self.config.idle_timeout:g}s")  # its reader ends, wakes us
            for name, sock in list(self._media.items()):
                if sock.lost.is_set() and not signaling.lost.is_set():
                    self._outbox.force(conn.interrupted(sock.scope, sock.lost_reason, wall_ms=_now_ms()))
                    await self._close_socket(sock)
                    del self._media[name]
                    down[name], announce = conn.media_lost(
                        sock.scope, sock.lost_reason, lost_at=now, now=time.monotonic(), wall_ms=_now_ms()
                    )
                    self._outbox.force(announce)
            if signaling.lost.is_set():
                continue  # the signaling loss is the outage: one interruption, full re-handshake
            if conn.suspect_media_due(now):
                for sock in self._media.values():
                    if conn.silent_since_suspect(sock.last_frame_at):
                        logger.warning(
                            "RTMS %s: %s silent after MEDIA_CONNECTION_INTERRUPTED",
                            self.config.rtms_stream_id,
                            sock.scope,
                        )
                        sock.abort("silent after MEDIA_CONNECTION_INTERRUPTED")
                conn.media_suspect_at = None
            due = [name for name, retry in down.items() if (retry.next_attempt_at or now) <= now]
            if due:
                if await self._reopen_media(due, down):
                    return "end"
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.5)

    async def _reopen_media(self, due: list[str], down: dict[str, Retry]) -> bool:
        """Media-only reconnect (msg 3 → 4, then msg 7 on signaling). True if it gave up."""
        conn = self._conn
        results = await asyncio.gather(
            *(self._open_media(name, *conn.handshakes.media_plan[name]) for name in due),
            return_exceptions=True,
        )
        reopened: list[Socket] = []
        for name, result in zip(due, results, strict=True):
            if isinstance(result, Socket):
                if self._signaling is None or self._signaling.lost.is_set() or conn.end is not None:
                    await self._close_socket(result)
                    continue
                self._media[name] = result
                reopened.append(result)
                del down[name]
                continue
            if not isinstance(result, Exception):
                raise result
            decision = conn.media_attempt_failed(
                name, down[name], result, now=time.monotonic(), wall_ms=_now_ms()
            )
            if decision.event is None:
                return True
            self._outbox.force(decision.event)
        if reopened:
            if self._signaling is None or not await self._send(
                self._signaling, conn.handshakes.client_ready_ack()
            ):
                return False  # signaling is going down: the full re-handshake redoes everything
            self.stats.reconnects += 1
            self.stats.media_reconnects += 1
            self._announce_connected(True, reopened)
        return False

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
            self._flush_staged(sock)

    async def _handle_close(self, request_stream_close: bool) -> None:
        conn = self._conn
        sig = self._signaling
        if not request_stream_close or sig is None or sig.lost.is_set():
            conn.finish(None, conn.close_without_request(request_stream_close), wall_ms=_now_ms())
            return
        sent = await self._send(sig, conn.handshakes.stream_close_req())
        deadline = time.monotonic() + self.config.close_timeout
        while (
            sent and conn.end is None and not sig.lost.is_set() and (left := deadline - time.monotonic()) > 0
        ):
            if conn.close_resp is not None:
                # 22 arrived: give TERMINATED a moment to follow (its stop reason is the real one)
                deadline = min(deadline, time.monotonic() + min(1.0, self.config.close_timeout))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(left, 0.25))
        await self._drain()
        stop_reason, detail = conn.close_outcome(sent)
        conn.finish(stop_reason, detail, wall_ms=_now_ms())

    # --- readers ---------------------------------------------------------------------------------

    async def _read(self, sock: Socket) -> None:
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

    async def _handle_frame(self, sock: Socket, frame: str | bytes) -> bool:
        """One frame through the state machine. Returns False only when a keep-alive answer
        could not be sent."""
        got = self._conn.receive(
            sock.name,
            frame,
            now=time.monotonic(),
            can_answer=sock.can_answer,
            awaiting_handshake=not sock.handshake.done(),
            replay_guard=sock.replay_guard,
        )
        if got.wake:
            self._wake.set()
        if got.answer is not None:
            ok = await self._send(sock, got.answer)
            if ok:
                self._conn.answered_keep_alive(sock.name)
            return ok
        if got.handshake is not None:
            sock.handshake.set_result(got.handshake)
        for event in got.events:
            if not sock.ready:
                sock.staged.append(event)
            elif isinstance(event, AudioFrame):
                self._deliver_now(event)
            else:
                await self._outbox.put_event(event, alive=self._alive)
        return True

    def _deliver_now(self, event: RTMSEvent) -> None:
        if isinstance(event, AudioFrame):
            ClientStats._bump(self.stats.audio_frames, event.user_id)
            ClientStats._bump(self.stats.audio_bytes, event.user_id, len(event.data))
            self._outbox.put_audio(event)
        else:
            self._outbox.force(event)

"""The asyncio transport of one emulated stream (:class:`Run`): drives its sans-IO
:class:`rtms_emulator.session.Session` over the stream's sockets.

It owns what takes time: sending on the sockets (``sockets.Conn``), the keep-alive timer and
fences, the reconnection windows, the delayed re-announce after a rejoin, termination (wait for
the client to close, close the rest, ``rtms_stopped``) and the webhooks
(``webhook.StreamWebhooks``). The protocol decisions are the session's; the timeline is played
by ``player.py`` and faults by ``fault_injection.py``; ``server.py`` accepts the sockets and
hands each one here after its handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Coroutine, Iterable
from typing import Any, Protocol

from rtms_emulator import messages
from rtms_emulator.config import EmulatorConfig
from rtms_emulator.faults import Fault
from rtms_emulator.player import Player
from rtms_emulator.record import StreamRecord
from rtms_emulator.scenario import Scenario
from rtms_emulator.session import Session, Window
from rtms_emulator.sockets import Conn, now_ms
from rtms_emulator.webhook import StreamWebhooks
from streams.rtms.protocol import StopReason, StreamState


class EmulatorHost(Protocol):
    """What a run needs of the server that holds it (:class:`rtms_emulator.server.Emulator`,
    named by this interface so that the server imports the run, never the reverse)."""

    config: EmulatorConfig

    @property
    def base_url(self) -> str: ...

    def run_finished(self, run: Run) -> None: ...


log = logging.getLogger(__name__)


class Run:
    """One stream being played: its ids, URLs, live connections, timeline and record.

    Public: ``rtms_stream_id``, ``meeting_uuid`` (the instance id, whatever the product),
    ``product``, ``server_urls`` (current signaling URL), ``join_params()``, ``record``,
    ``done``, ``await wait(timeout)``, ``await stop(reason)``, ``emulator``; the parts:
    ``session`` (the protocol state), ``player`` (the timeline), ``webhooks``. ``ready`` is set
    while the timeline may play (``Session.ready``); ``down_until``: monotonic seconds until
    which upgrades are refused (an ``outage`` fault).
    """

    def __init__(
        self,
        emulator: EmulatorHost,
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
        self.record = StreamRecord(rtms_stream_id, meeting_uuid, scenario.name)
        self.session = Session(
            self.cfg,
            self.record,
            base_url=emulator.base_url,
            rtms_stream_id=rtms_stream_id,
            meeting_uuid=meeting_uuid,
            rtms_session_id=str(uuid.uuid4()),
        )
        self.webhooks = StreamWebhooks(
            webhook_url,
            product=product,
            id_key=id_key,
            meeting_uuid=meeting_uuid,
            rtms_stream_id=rtms_stream_id,
            secret_token=self.cfg.webhook_secret,
            timeout=self.cfg.webhook_timeout,
            retry_delays=self.cfg.webhook_retry_delays,
            record=self.record,
            spawn=self.spawn,
        )
        self.player = Player(self, scenario, speed=speed, faults=faults, stop_reason=stop_reason)
        self.ready = asyncio.Event()
        self.down_until: float | None = None
        self._done = asyncio.Event()
        self._windows: dict[str, asyncio.Task] = {}
        self._producer: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    # ---- public --------------------------------------------------------------------------------
    @property
    def rtms_stream_id(self) -> str:
        return self.session.rtms_stream_id

    @property
    def meeting_uuid(self) -> str:
        return self.session.meeting_uuid

    @property
    def product(self) -> str:
        return self.webhooks.product

    @property
    def server_urls(self) -> str:
        return self.session.server_urls

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

    async def send_started(self) -> None:
        """POST the first ``<product>.rtms_started``."""
        await self.webhooks.started(self.server_urls, first=True)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task:
        """Run ``coro`` beside the timeline (kept referenced until it ends)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def update_ready(self) -> None:
        if self.session.ready():
            self.ready.set()
        else:
            self.ready.clear()

    async def _produce(self) -> None:
        try:
            await self.player.play()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("emulator stream %s crashed", self.rtms_stream_id)
            self.record.notes.append("emulator error, see log")
            await self.terminate(StopReason.STOP_BC_INTERNAL_EXCEPTION)

    # ---- sending -------------------------------------------------------------------------------
    async def signal(self, msg: dict | None) -> bool:
        """Write ``msg`` on the live signaling socket (recorded as sent); False if there is none
        (or ``msg`` is None: not to be sent)."""
        conn = self.session.signaling
        if msg is None or conn is None or not conn.live:
            return False
        if not await conn.send(msg):
            return False
        self.session.signaled(msg)
        return True

    async def event(self, event_type: int, body: dict, *, ts: int) -> None:
        await self.signal(self.session.event_update(event_type, body, ts=ts))

    async def announce(self, *, first: bool) -> None:
        for msg in self.session.announce(first=first, wall_ms=now_ms()):
            await self.signal(msg)

    async def pause(self, pause: bool, at: float) -> None:
        for msg in self.session.pause(pause, at, wall_ms=now_ms()):
            await self.signal(msg)

    async def media(self, mtype: str, message: str, tick: int) -> bool:
        """Send one media message of ``mtype``, kept until a keep-alive confirms it; False if
        it was not sent and will not be (not asked for, or lost without a replay buffer)."""
        link, n = self.session.media_out(mtype, message, tick)
        if link is None:
            return n > 0  # buffered: replayed on the next connection
        return self.session.replay.sent(link, mtype, n, await link.send(message))

    async def _replay(self, conn: Conn) -> None:
        for mtype, n, message in self.session.replay.plan(conn):
            self.session.replay.replayed(conn, mtype, n, await conn.send(message))

    # ---- keep-alives ---------------------------------------------------------------------------
    async def keepalive(self, conn: Conn) -> int:
        """Send a KEEP_ALIVE_REQ on ``conn``; returns its sequence."""
        msg = self.session.keepalives.request(conn, wall_ms=now_ms())
        await conn.send(msg, data=False)
        return msg["sequence"]

    async def keepalive_loop(self, conn: Conn) -> None:
        """Every ``keepalive_interval`` on ``conn`` until it closes: a request, or a drop."""
        interval = self.cfg.keepalive_interval
        while not conn.closed and not self.session.terminated:
            await asyncio.sleep(interval)
            if conn.closed or self.session.terminated:
                return
            is_signaling = conn is self.session.signaling
            due = self.session.keepalives.due(conn, now=time.monotonic(), signaling=is_signaling)
            if due == "drop":
                conn.abort()
                return
            if due == "send":
                await self.keepalive(conn)

    async def fence(self, conn: Conn, timeout: float = 1.0) -> bool:
        """Send a keep-alive and wait for its answer: everything before it was delivered."""
        seq = await self.keepalive(conn)
        deadline = time.monotonic() + timeout
        while seq in conn.ka_pending and not conn.closed and time.monotonic() < deadline:
            conn.answered.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.answered.wait(), max(0.0, deadline - time.monotonic()))
        return seq not in conn.ka_pending

    async def fence_all(self) -> bool:
        """:meth:`fence` every open socket at once: True if all answered."""
        return all(await asyncio.gather(*(self.fence(c) for c in self.session.live_links())))

    # ---- connections ---------------------------------------------------------------------------
    async def attach_signaling(self, conn: Conn) -> None:
        attached = self.session.attach_signaling(conn)
        for key in attached.cancel_windows:
            self._cancel_window(key)
        self.update_ready()
        for media in attached.drop:
            media.abort()
        if attached.kicked is not None:
            await attached.kicked.close(1000, "kicked by a new signaling connection")

    async def ready_ack(self, conn: Conn) -> None:
        """CLIENT_READY_ACK on signaling: handshaked media sockets go live (and get their replay).

        After a rejoin (a new signaling connection on a started stream) the session is announced
        again ``ready_delay`` later (Section A.3), then buffered media is replayed."""
        ready = self.session.ready_ack(conn)
        for key in ready.cancel_windows:
            self._cancel_window(key)
        if self.session.terminated:
            return
        if ready.rejoin:
            self.spawn(self._rejoined(ready.newly))
            return
        for media in ready.newly:
            await self._replay(media)
        if ready.recovered and self.record.started:
            await self.signal(
                messages.stream_state_update(StreamState.ACTIVE, StopReason.UNDEFINED, wall_ms=now_ms())
            )
        self.update_ready()

    async def _rejoined(self, media: list[Conn]) -> None:
        await asyncio.sleep(self.cfg.ready_delay)
        if self.session.terminated:
            return
        await self.announce(first=False)
        for conn in media:
            await self._replay(conn)
        self.update_ready()

    async def client_message(self, conn: Conn, msg: dict) -> None:
        """A parsed message from the client on ``conn`` after its handshake."""
        reply = self.session.client_message(conn, msg, wall_ms=now_ms())
        if reply.answered:
            conn.answered.set()
        for answer in reply.send:
            await conn.send(answer)
        if reply.ready_ack:
            await self.ready_ack(conn)
        if reply.terminate is not None:
            self.spawn(self.terminate(reply.terminate))

    async def connection_lost(self, conn: Conn) -> None:
        lost = self.session.connection_lost(conn, wall_ms=now_ms())
        self.update_ready()
        for media in lost.drop:
            media.abort()  # Zoom interrupts media with signaling (PROTOCOL.md §7.8)
        if lost.interrupted_webhook:
            self.spawn(self.webhooks.interrupted())
        for msg in lost.messages:
            await self.signal(msg)
        for window in lost.windows:
            self._open_window(window)

    def _open_window(self, window: Window) -> None:
        self._cancel_window(window.key)

        async def expire() -> None:
            await asyncio.sleep(window.seconds)
            self._windows.pop(window.key, None)
            self.record.notes.append(f"{window.key}: no reconnection within {window.seconds}s")
            await self.terminate(window.reason)

        self._windows[window.key] = self.spawn(expire())

    def _cancel_window(self, key: str) -> None:
        task = self._windows.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def terminate(self, reason: int) -> None:
        """End the stream: SESSION_STATE_UPDATE STOPPED + STREAM_STATE_UPDATE TERMINATED with
        ``reason``, close every socket, POST ``*.rtms_stopped``. Idempotent."""
        final = self.session.terminate(reason, wall_ms=now_ms())
        if final is None:
            return
        self.ready.set()
        current = asyncio.current_task()
        for key in list(self._windows):
            self._cancel_window(key)
        if self._producer is not None and self._producer is not current and not self._producer.done():
            self._producer.cancel()
        for msg in final:
            await self.signal(msg)
        conns = self.session.links()
        waits = [asyncio.ensure_future(c.closed_event.wait()) for c in conns if not c.closed]
        if waits:  # the client closes its sockets on TERMINATED; give it a second
            _, pending = await asyncio.wait(waits, timeout=1.0)
            for w in pending:
                w.cancel()
        await asyncio.gather(*(c.close(1000, "stream terminated") for c in conns if not c.closed))
        self.session.replay.count_undelivered(self.session.media)
        await self.webhooks.stopped(reason)
        self.emulator.run_finished(self)
        self._done.set()

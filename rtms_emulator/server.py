"""The emulator's server: one asyncio WebSocket server playing Zoom's RTMS side for many streams.

URLs (one host:port for everything; ``/fo<N>`` prefix after the N-th failover of a stream):

- signaling: ``ws://HOST:PORT/signaling/<rtms_stream_id>`` (also ``/`` and ``/signaling``: the
  stream is then taken from SIGNALING_HAND_SHAKE_REQ, for clients given a bare base URL);
- media: ``ws://HOST:PORT/media/<audio|video|deskshare|transcript|chat|all>/<rtms_stream_id>``,
  announced in SIGNALING_HAND_SHAKE_RESP ``media_server.server_urls`` with per-type keys plus
  ``all`` (PROTOCOL.md Section A.1).

:class:`Emulator` is the ``websockets`` transport: it routes upgrades (404, 503 after a
failover or during an outage), reads each socket's first frame, answers the handshake as
``handshake.py`` decides, then hands the socket (``sockets.Conn``) to its stream's
:class:`rtms_emulator.run.Run` and feeds it the client's frames until the socket closes. The
protocol decisions are sans-IO (``session.py``, ``handshake.py``, ``keepalive.py``,
``replay.py``); the timeline is ``player.py``. Protocol behaviour follows PROTOCOL.md Section A
and Appendix A; the rules are spelled out in docs/emulator.md. See ``rtms_emulator/__init__.py``
for the public API.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from rtms_emulator.config import EmulatorConfig, EmulatorError
from rtms_emulator.faults import Fault
from rtms_emulator.handshake import (
    HandshakeAnswer,
    answer_media,
    answer_signaling,
    parse_frame,
    parse_path,
    stream_url,
)
from rtms_emulator.record import ConnectionClose, Handshake
from rtms_emulator.run import Run
from rtms_emulator.scenario import Scenario
from rtms_emulator.scenario_loader import load_scenario
from rtms_emulator.sockets import Conn
from rtms_emulator.webhook import UrlValidationResult, validate_url
from streams.rtms.protocol import PRODUCT_ID_KEYS, StopReason

log = logging.getLogger(__name__)


class Emulator:
    """The RTMS emulator server. Use ``async with Emulator(config) as emu:`` (or start/stop).

    ``runs``: streams playing, by ``rtms_stream_id``; ``finished``: streams that ended;
    ``rejected_handshakes``: every refused handshake, any stream, with the status sent."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.runs: dict[str, Run] = {}
        self.finished: list[Run] = []
        self.rejected_handshakes: list[Handshake] = []
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
        return stream_url(self.base_url, path, generation)

    def run(self, rtms_stream_id: str) -> Run:
        try:
            return self.runs[rtms_stream_id]
        except KeyError:
            raise EmulatorError(f"unknown rtms_stream_id {rtms_stream_id}") from None

    def run_finished(self, run: Run) -> None:
        """``run``'s stream ended (called by ``Run.terminate``): it moves to ``finished``."""
        self.runs.pop(run.rtms_stream_id, None)
        self.finished.append(run)

    async def validate_url(self, webhook_url: str) -> UrlValidationResult:
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
        if product not in PRODUCT_ID_KEYS:
            raise EmulatorError(f"product must be one of {sorted(PRODUCT_ID_KEYS)}, got {product!r}")
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
            id_key=id_key or PRODUCT_ID_KEYS[product][0],
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
        if run is not None and route.generation != run.session.generation:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "this RTMS server is gone (failover)\n")
        if run is not None and run.down_until is not None and time.monotonic() < run.down_until:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "RTMS server down (outage fault)\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        route = parse_path(ws.request.path)
        assert route is not None  # noqa: S101  (process_request rejected the rest)
        try:
            raw = await asyncio.wait_for(ws.recv(), self.config.handshake_timeout)
        except TimeoutError:
            msg, problem = None, "no handshake message in time"
        except ConnectionClosed:
            return
        else:
            msg, problem = parse_frame(raw)
        sid = msg.get("rtms_stream_id") if msg is not None else None
        run = self.runs.get(sid) if isinstance(sid, str) else None
        session = run.session if run is not None else None
        if route.kind == "signaling":
            label = "signaling"
            answer = answer_signaling(msg, problem, route, session, self.config)
        else:
            label = f"media:{route.media}"
            answer = answer_media(msg, problem, route, session, self.config)
        conn = Conn(ws, label, self.config.binary_frames)
        self._log_handshake(run, label, ws, answer, msg)
        if not answer.ok or run is None:
            log.info("%s handshake refused: %s (%s)", route.kind, answer.status.name, answer.reason)
            await conn.send(answer.response)
            await conn.close(1000, answer.reason)
            return
        conn.types = answer.types
        conn.params = answer.params
        await conn.send(answer.response)
        if route.kind == "signaling":
            await run.attach_signaling(conn)
        else:
            run.session.attach_media(conn)
        await self._serve_connection(run, conn)

    def _log_handshake(
        self, run: Run | None, label: str, ws: ServerConnection, answer: HandshakeAnswer, msg: dict | None
    ) -> None:
        hs = Handshake(
            label,
            ws.request.path,
            run.record.now() if run else 0.0,
            answer.response["status_code"],
            answer.reason,
            msg,
            ws.request.headers.get("User-Agent", ""),
            ws.subprotocol,
        )
        if run is not None:
            run.record.handshakes.append(hs)
        if not answer.ok:
            self.rejected_handshakes.append(hs)

    async def _serve_connection(self, run: Run, conn: Conn) -> None:
        """Feed ``conn``'s frames to ``run`` until the socket closes, then report the loss."""
        record = run.record
        conn.ka_task = asyncio.create_task(run.keepalive_loop(conn))
        try:
            async for raw in conn.ws:
                record.client_frames["binary" if isinstance(raw, bytes) else "text"] += 1
                msg, problem = parse_frame(raw)
                if msg is None:
                    record.client_junk.append({"socket": conn.label, "problem": problem, "at": record.now()})
                    log.info("client sent junk on %s: %s", conn.label, problem)
                    continue
                await run.client_message(conn, msg)
        except ConnectionClosed:
            pass
        finally:
            conn.closed_event.set()
            conn.ka_task.cancel()
            rcvd = conn.ws.protocol.close_rcvd
            record.closes.append(
                ConnectionClose(
                    conn.label,
                    record.now(),
                    "server" if conn.server_closed else "client",
                    rcvd.code if rcvd else 1006,
                    rcvd.reason if rcvd else "",
                    rcvd is not None,
                )
            )
            await run.connection_lost(conn)

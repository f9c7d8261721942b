"""One RTMS WebSocket of the asyncio transport (websockets): open, send, await a handshake
answer, close with a drain. No protocol decisions here (``connection.py`` makes them) and no
reader loop (``client.py`` runs one per socket and feeds the state machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
import time
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.protocol import State

from streams.rtms import messages
from streams.rtms.config import ClientConfig
from streams.rtms.errors import RTMSConnectionError
from streams.rtms.events import RTMSEvent

logger = logging.getLogger("streams.rtms")


def scope_of(name: str) -> str:
    """``signaling`` or ``media:<name>``: the scope of errors and ``Interrupted``."""
    return "signaling" if name == "signaling" else f"media:{name}"


class Socket:
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
        return scope_of(self.name)

    @classmethod
    async def open(cls, config: ClientConfig, url: str, name: str, media: tuple[str, ...]) -> Socket:
        """Connect (TCP + TLS + upgrade within ``connect_timeout``); ``RTMSConnectionError``."""
        scope = scope_of(name)
        kwargs: dict[str, Any] = {
            "open_timeout": config.connect_timeout,
            "close_timeout": config.close_timeout,
            "ping_interval": config.ping_interval,
            "ping_timeout": config.ping_interval,
            "max_size": config.max_frame_bytes,
            "max_queue": 64,
        }
        if url.startswith("wss://"):
            kwargs["ssl"] = config.ssl if config.ssl is not None else ssl_module.create_default_context()
        elif not url.startswith("ws://"):
            raise RTMSConnectionError(f"unsupported URL scheme: {url[:40]!r}", scope=scope)
        try:
            async with asyncio.timeout(config.connect_timeout + 1):
                ws = await ws_connect(url, **kwargs)
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException, ValueError) as exc:
            raise RTMSConnectionError(f"cannot open {scope} socket to {url}: {exc!r}", scope=scope) from exc
        return cls(name, url, ws, media)

    @property
    def can_answer(self) -> bool:
        """Open and not closing: a keep-alive answer can still be sent. Otherwise our close frame
        is out, or the server's is in (the reader is behind) or the connection is gone."""
        return not self.closing and self.ws.state is State.OPEN

    async def send(self, msg: dict[str, Any], timeout: float, stream_id: str) -> bool:
        """Send one message as compact JSON text within ``timeout``; False if it failed."""
        try:
            async with asyncio.timeout(timeout):
                await self.ws.send(messages.encode(msg))
            return True
        except (TimeoutError, websockets.exceptions.ConnectionClosed) as exc:
            logger.warning("RTMS %s: send on %s failed: %r", stream_id, self.scope, exc)
            return False

    async def await_handshake(self, timeout: float) -> dict[str, Any]:
        """The handshake answer the reader routed here; ``RTMSConnectionError`` after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(self.handshake)
        except TimeoutError as exc:
            raise RTMSConnectionError(
                f"no handshake answer on {self.scope} within {timeout:g}s", scope=self.scope
            ) from exc

    def abort(self, reason: str) -> None:
        """Drop the connection now (no close frame); the reader ends and reports ``reason``."""
        self.lost_reason = reason
        self.ws.transport.abort()

    async def close_drained(self, close_timeout: float) -> bool:
        """Close with a close frame and **drain**: the reader keeps running during the closing
        handshake and then delivers every frame still queued (the server's frames precede its
        close frame), so nothing already received is thrown away. Returns False when the reader
        had to be cancelled (``close_timeout`` later): its unread frames are then in
        :func:`unread_frames`."""
        self.closing = True  # keep-alives are no longer answered (a send would abort the drain)
        if not self.lost.is_set():
            # The server's close frame comes after everything it sent: wait for it as long as
            # frames keep arriving (no frame for close_timeout, or 12 × close_timeout in all,
            # aborts), instead of websockets' fixed close timeout cutting a backlog short.
            self.ws.close_timeout = None
            closer = asyncio.ensure_future(self.ws.close())
            started = time.monotonic()
            while not closer.done():
                await asyncio.wait({closer}, timeout=min(0.5, close_timeout))
                now = time.monotonic()
                quiet = now - max(self.last_frame_at, started)
                if not closer.done() and (quiet > close_timeout or now - started > 12 * close_timeout):
                    self.ws.transport.abort()
                    await asyncio.wait({closer}, timeout=close_timeout)
                    break
            if closer.done() and not closer.cancelled():
                closer.exception()  # retrieved (ConnectionClosed is already swallowed by close())
            else:
                closer.cancel()
        reader = self.reader
        if reader is not None and not reader.done():
            await asyncio.wait({reader}, timeout=close_timeout)
            if not reader.done():
                reader.cancel()
                await asyncio.wait({reader}, timeout=close_timeout)
                return False
        return True


def unread_frames(ws: Any) -> list[bytes]:
    """Take the frames left in websockets' receive queue of ``ws`` (a cancelled reader's; best
    effort on websockets' internals: an unknown shape yields nothing)."""
    frames = getattr(getattr(getattr(ws, "recv_messages", None), "frames", None), "queue", None)
    taken: list[bytes] = []
    for frame in list(frames or ()):
        with contextlib.suppress(AttributeError, TypeError):
            taken.append(bytes(frame.data))
    if frames:
        frames.clear()
    return taken

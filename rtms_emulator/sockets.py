"""One WebSocket the emulator accepted (``websockets`` server side): send, abort, close.

No protocol decisions here (``session.py`` and its parts make them): a :class:`Conn` is the
socket's protocol state (:class:`rtms_emulator.link.Link`) plus its WebSocket and the asyncio
events the transport (``run.py``, ``server.py``) waits on.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from rtms_emulator.link import Link
from rtms_emulator.messages import dumps


def now_ms() -> int:
    """Wall-clock epoch milliseconds: the timestamps the transport hands the session to send."""
    return int(time.time() * 1000)


class Conn(Link):
    """An accepted WebSocket. ``binary``: every message goes out as a binary frame;
    ``server_closed``: the emulator closed or aborted it; ``answered``: set when a keep-alive
    answer matched (fences wait on it); ``closed_event``: set once the socket is gone;
    ``ka_task``: its keep-alive timer. Keep-alive sequences start at a random 1-1000."""

    def __init__(self, ws: ServerConnection, label: str, binary: bool) -> None:
        super().__init__(label, ka_seq=secrets.randbelow(1000) + 1)
        self.ws = ws
        self.binary = binary
        self.server_closed = False
        self.last_data = time.monotonic()
        self.ka_task: asyncio.Task | None = None
        self.answered = asyncio.Event()
        self.closed_event = asyncio.Event()

    async def send(self, message: str | bytes | dict, *, data: bool = True) -> bool:
        """Write ``message`` (a dict is encoded compact); False if the socket is gone.
        ``data``: counts as data for ``keepalive_idle_only`` (keep-alives and junk do not)."""
        if self.closed:
            return False
        text = dumps(message) if isinstance(message, dict) else message
        payload = text.encode() if self.binary and isinstance(text, str) else text
        try:
            await self.ws.send(payload)
        except ConnectionClosed:
            return False
        if data:
            self.last_data = time.monotonic()
        return True

    def abort(self) -> None:
        """Drop the TCP connection, no close frame."""
        self.server_closed = True
        transport = self.ws.transport
        if transport is not None:
            transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close frame with ``code``; gives up waiting for the client's after 2 s."""
        self.server_closed = True
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await asyncio.wait_for(self.ws.close(code, reason), 2.0)

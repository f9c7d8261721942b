"""A small scriptable RTMS peer on 127.0.0.1 for unit tests of the client's connection logic
(handshakes, keep-alives, reconnection). The protocol-faithful emulator lives in rtms_emulator.

Paths: ``/signaling`` answers msg 1 with msg 2 (status from ``signaling_statuses``, then 0) and
per-type media URLs ``/audio``, ``/transcript``, ``/chat`` (or only ``/all`` with ``only_all``);
media paths answer msg 3 with msg 4 (status from ``media_statuses[path]``, then 0). Every frame the
client sends is recorded in ``received`` as (path, msg). Tests push frames with :meth:`send`,
drop sockets with :meth:`abort` (no close frame) or :meth:`close` (close frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from streams.rtms.signing import handshake_signature

CLIENT_ID = "client-id"
CLIENT_SECRET = "client-secret"
MEETING_UUID = "4nYtdqLVTVqGJ+QB62ED7Q=="
STREAM_ID = "03db704592624398931a588dd78200cb"


class FakeRTMS:
    def __init__(self, *, only_all: bool = False, answer_handshakes: bool = True, ssl: Any = None) -> None:
        self.ssl = ssl
        self.scheme = "wss" if ssl is not None else "ws"
        self.only_all = only_all
        self.answer_handshakes = answer_handshakes
        self.signaling_statuses: list[int] = []
        self.media_statuses: dict[str, list[int]] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.raw_received: list[tuple[str, str | bytes]] = []
        self.conns: dict[str, ServerConnection] = {}
        self.on_message: Callable[[str, dict[str, Any]], Any] | None = None
        self._server: Any = None
        self.port = 0
        self._changed = asyncio.Event()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/signaling"

    async def __aenter__(self) -> FakeRTMS:
        self._server = await serve(self._handle, "127.0.0.1", self.port, ping_interval=None, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def restart(self) -> None:
        """Listen again on the same port after :meth:`stop`."""
        self._server = await serve(self._handle, "127.0.0.1", self.port, ping_interval=None, ssl=self.ssl)

    def msgs(self, path: str | None = None, msg_type: int | None = None) -> list[dict[str, Any]]:
        return [
            m
            for p, m in self.received
            if (path is None or p == path) and (msg_type is None or m.get("msg_type") == msg_type)
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)

    async def send(self, path: str, frame: dict[str, Any] | str | bytes) -> None:
        data = json.dumps(frame) if isinstance(frame, dict) else frame
        await asyncio.wait_for(self.conns[path].send(data), 5)

    def abort(self, path: str) -> None:
        """Drop the connection without a close frame (TCP reset, code 1006 on the client)."""
        self.conns.pop(path).transport.abort()

    async def close(self, path: str, code: int = 1000) -> None:
        await asyncio.wait_for(self.conns.pop(path).close(code), 5)

    def media_urls(self) -> dict[str, str]:
        base = f"{self.scheme}://127.0.0.1:{self.port}"
        if self.only_all:
            return {"all": f"{base}/all"}
        return {name: f"{base}/{name}" for name in ("audio", "transcript", "chat")}

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else "/"
        name = path.strip("/")
        self.conns[name] = ws
        try:
            async for frame in ws:
                self.raw_received.append((name, frame))
                msg = json.loads(frame)
                self.received.append((name, msg))
                self._changed.set()
                if self.on_message is not None:
                    result = self.on_message(name, msg)
                    if asyncio.iscoroutine(result):
                        await result
                if not self.answer_handshakes:
                    continue
                if msg.get("msg_type") == 1:
                    await ws.send(json.dumps(self._signaling_resp(msg)))
                elif msg.get("msg_type") == 3:
                    statuses = self.media_statuses.get(name, [])
                    status = statuses.pop(0) if statuses else 0
                    await ws.send(
                        json.dumps(
                            {
                                "msg_type": 4,
                                "status_code": status,
                                "reason": "" if status == 0 else "rejected",
                                "payload_encrypted": False,
                                "media_params": msg.get("media_params"),
                            }
                        )
                    )
        except ConnectionClosed:
            pass
        finally:
            if self.conns.get(name) is ws:
                del self.conns[name]
            self._changed.set()

    def _signaling_resp(self, msg: dict[str, Any]) -> dict[str, Any]:
        expected = handshake_signature(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            instance_id=MEETING_UUID,
            rtms_stream_id=STREAM_ID,
        )
        status = self.signaling_statuses.pop(0) if self.signaling_statuses else 0
        if msg.get("signature") != expected:
            status = 3
        if status:
            return {
                "msg_type": 2,
                "status_code": status,
                "reason": "duplicate signal request" if status == 8 else "no",
            }
        return {
            "msg_type": 2,
            "protocol_version": 1,
            "status_code": 0,
            "reason": "",
            "media_server": {"server_urls": self.media_urls()},
        }

"""Shared helpers for the RTMS client tests: fast config and an event collector."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from streams.rtms.client import ClientConfig, RTMSClient
from streams.rtms.events import RTMSEvent, StreamEnded
from tests.streams.rtms.fake_rtms_server import CLIENT_ID, CLIENT_SECRET, MEETING_UUID, STREAM_ID


def fast_config(server_urls: str, **overrides: Any) -> ClientConfig:
    values: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "instance_id": MEETING_UUID,
        "rtms_stream_id": STREAM_ID,
        "server_urls": server_urls,
        "connect_timeout": 2.0,
        "handshake_timeout": 2.0,
        "send_timeout": 2.0,
        "close_timeout": 2.0,
        "end_drain_timeout": 0.5,
        "reconnect_initial_delay": 0.1,
        "reconnect_max_delay": 0.4,
        "reconnect_window": 3.0,
        "idle_timeout": 20.0,
    }
    values.update(overrides)
    return ClientConfig(**values)


class Collector:
    """Consumes ``client.events()`` in a background task into ``events``."""

    def __init__(self, client: RTMSClient, *, start: bool = True) -> None:
        self.client = client
        self.events: list[RTMSEvent] = []
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        if start:
            self.start()

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._consume())

    async def _consume(self) -> None:
        async for event in self.client.events():
            self.events.append(event)
            self._changed.set()

    def of(self, cls: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; events so far: {self.events[-15:]!r}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.05)

    async def wait_type(self, cls: type, count: int = 1, timeout: float = 5.0) -> list[Any]:
        await self.wait_for(lambda: len(self.of(cls)) >= count, timeout)
        return self.of(cls)

    async def until_end(self, timeout: float = 10.0) -> StreamEnded:
        await self.wait_type(StreamEnded, timeout=timeout)
        assert self.task is not None
        await asyncio.wait_for(self.task, 2)
        assert isinstance(self.events[-1], StreamEnded), "StreamEnded must be the last event"
        return self.events[-1]

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

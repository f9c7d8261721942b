"""What the scenario player and the fault injection see of one stream's run (a Protocol).

:class:`rtms_emulator.run.Run` is the stream's asyncio transport; it owns a
:class:`rtms_emulator.player.Player`, which plays the scenario's timeline through this
interface and hands timeline faults to :func:`rtms_emulator.fault_injection.inject`. Naming the
interface here, not the class, keeps the imports one way: run -> player -> fault_injection ->
stage, with no circle back to run.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from rtms_emulator.config import EmulatorConfig
from rtms_emulator.record import StreamRecord
from rtms_emulator.session import Session
from rtms_emulator.sockets import Conn
from rtms_emulator.webhook import StreamWebhooks


class Stage(Protocol):
    """One stream as its timeline drives it: ``session`` (the pure protocol state), ``record``
    (what happened, for tests), ``cfg``, ``ready`` (set once every socket is up),
    ``webhooks``, ``down_until`` (monotonic seconds of an ``outage`` fault, or None)."""

    session: Session
    record: StreamRecord
    cfg: EmulatorConfig
    ready: asyncio.Event
    webhooks: StreamWebhooks
    down_until: float | None

    async def announce(self, *, first: bool) -> None: ...

    async def event(self, event_type: int, body: dict, *, ts: int) -> None: ...

    async def pause(self, pause: bool, at: float) -> None: ...

    async def media(self, mtype: str, message: str, tick: int) -> bool: ...

    async def keepalive(self, conn: Conn) -> int: ...

    async def fence(self, conn: Conn, timeout: float = 1.0) -> bool: ...

    async def fence_all(self) -> bool: ...

    async def terminate(self, reason: int) -> None: ...

"""Wake the ingest supervisor in this process as soon as a webhook changed a stream.

Embedded mode: the webhook view runs in the same process as the supervisor, so the view's
``on_commit`` calls :func:`notify`, which sets the supervisor's ``asyncio.Event`` on its own loop
(``loop.call_soon_threadsafe``): a new stream is noticed within milliseconds. Scaled mode: the
worker is another process and polls every ``RTMS_WORKER_POLL_SECONDS``; :func:`notify` is then a
no-op in the web process.
"""

from __future__ import annotations

import asyncio
import threading

_lock = threading.Lock()
_targets: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []


def register(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    """Register a supervisor's loop and event (call from that loop)."""
    with _lock:
        _targets.append((loop, event))


def unregister(event: asyncio.Event) -> None:
    with _lock:
        _targets[:] = [(loop, ev) for loop, ev in _targets if ev is not event]


def notify() -> None:
    """Set every registered supervisor's event; safe from any thread, never blocks."""
    with _lock:
        targets = list(_targets)
    for loop, event in targets:
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

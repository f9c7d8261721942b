"""Wake ingest supervisors as soon as a webhook (or a handover) changed a stream.

* Same process (embedded mode): :func:`notify` sets each registered supervisor's
  ``asyncio.Event`` on its own loop (``loop.call_soon_threadsafe``): a new stream is noticed
  within milliseconds of the webhook's commit.
* Other processes (scaled mode, ``REDIS_URL`` set): :func:`notify` also publishes on the Redis
  channel :data:`WAKE_CHANNEL`; every ``rtms_worker`` runs :func:`listen`, which sets its event
  on each message. Polling every ``RTMS_WORKER_POLL_SECONDS`` stays the fallback: a lost message
  or a Redis outage only costs that delay (failures are logged, never raised to the caller).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading

import redis
import redis.asyncio as aioredis
from django.conf import settings

from jobs.backoff import backoff_delay

logger = logging.getLogger(__name__)
WAKE_CHANNEL = "rtms_assistant:ingest:wake"
REDIS_TIMEOUT_SECONDS = 0.5

_lock = threading.Lock()
_targets: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []


def register(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    """Register a supervisor's loop and event (call from that loop)."""
    with _lock:
        _targets.append((loop, event))


def unregister(event: asyncio.Event) -> None:
    with _lock:
        _targets[:] = [(loop, ev) for loop, ev in _targets if ev is not event]


@functools.cache
def _publisher(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )


def notify() -> None:
    """Wake every supervisor (this process: at once; others: through Redis). Never raises."""
    with _lock:
        targets = list(_targets)
    for loop, event in targets:
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)
    if settings.REDIS_URL:
        try:
            _publisher(settings.REDIS_URL).publish(WAKE_CHANNEL, b"1")
        except redis.RedisError as exc:
            logger.warning("ingest wake-up not published (workers will poll): %s", exc)


async def listen(event: asyncio.Event) -> None:
    """Set ``event`` on every wake-up published by another process; reconnects with back-off.

    Runs until cancelled. Only meaningful with ``REDIS_URL`` (returns at once otherwise).
    """
    if not settings.REDIS_URL:
        return
    failures = 0
    while True:
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(WAKE_CHANNEL)
                failures = 0
                event.set()  # anything published while we were not subscribed: look now
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        event.set()
        except (redis.RedisError, OSError) as exc:
            logger.warning("ingest wake-up channel lost (polling meanwhile): %s", exc)
        finally:
            await client.aclose()
        failures += 1
        await asyncio.sleep(backoff_delay(failures, initial=0.5, cap=10.0))

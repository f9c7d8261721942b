"""Where a stream's database work runs: ORM lanes, dedicated threads of the ingest process.

A stream's database work runs on dedicated threads of this process, never on
asgiref's one thread-sensitive thread (which serves the WebSocket consumers, and in embedded
mode every other ``database_sync_to_async`` call of the server):

* **event lanes** (:data:`EVENT_LANES` threads; one on SQLite, whose writes serialize anyway):
  transcript segments, chat, participant events, state and the stream's other writes, with
  their on-commit render + push. A stream always uses the same lane (``stream_id`` modulo the
  lane count), so its writes stay in order; a segment never waits behind audio flushes;
* **the audio lane** (one thread): audio flushes of every stream (one transaction each) and the
  Whisper-fallback windows they produce.

Each lane call runs like ``database_sync_to_async`` (stale connections closed before and
after; on SQLite the lane keeps its connection and only replaces it after an error) and routes
the sync live pushes of its on-commit callbacks to the calling loop (``meetings.live.use_loop``).

:func:`db_retry` runs a call on a lane and retries transient database errors
(:data:`TRANSIENT_DB_ERRORS`) with back-off for at most ``RTMS_DB_RETRY_SECONDS``. Used by
:class:`streams.runner.StreamRunner` (its writer and recorder methods run on these threads).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from jobs.backoff import backoff_delay
from meetings import live

logger = logging.getLogger(__name__)
# Database errors worth retrying: the connection was lost or refused (server restarting, network).
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
RETRY_INITIAL_DELAY = 0.2
RETRY_MAX_DELAY = 5.0

EVENT_LANES = 4  # threads for the event writes of all streams (1 on SQLite)


class Lane:
    """One dedicated thread for ORM work, called from the event loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        # SQLite: the lane keeps its connection (opening one costs ~1 ms with the PRAGMAs);
        # other databases hand it back to their pool after every call (CONN_MAX_AGE rules).
        self.keep_connection = connection.vendor == "sqlite"

    async def call(self, fn, /, *args):
        """``fn(*args)`` on this lane's thread; its sync live pushes go to the calling loop."""
        loop = asyncio.get_running_loop()

        def run():
            if not self.keep_connection:
                close_old_connections()
            try:
                with live.use_loop(loop):
                    return fn(*args)
            except BaseException:
                close_old_connections()  # a broken connection is replaced on the next call
                raise
            finally:
                if not self.keep_connection:
                    close_old_connections()

        return await loop.run_in_executor(self.executor, run)


_event_lanes: list[Lane] = []
_audio_lane: Lane | None = None


def event_lane(stream_id: int) -> Lane:
    """The lane of one stream's event writes (always the same one for a stream: order)."""
    if not _event_lanes:
        count = 1 if connection.vendor == "sqlite" else EVENT_LANES
        _event_lanes.extend(Lane(f"rtms-events-{i}") for i in range(count))
    return _event_lanes[stream_id % len(_event_lanes)]


def audio_lane() -> Lane:
    """The lane of every stream's audio flushes."""
    global _audio_lane
    if _audio_lane is None:
        _audio_lane = Lane("rtms-audio")
    return _audio_lane


async def db_retry(fn, /, *args, what: str, rtms_stream_id: str, lane: Lane):
    """``fn(*args)`` on ``lane``; transient database errors (:data:`TRANSIENT_DB_ERRORS`)
    are retried with back-off (0.2 s doubling to 5 s) for at most ``RTMS_DB_RETRY_SECONDS``,
    after which the last error is raised. ``fn`` must be idempotent (every ingest write is)."""
    deadline = time.monotonic() + settings.RTMS_DB_RETRY_SECONDS
    attempt = 0
    while True:
        try:
            return await lane.call(fn, *args)
        except TRANSIENT_DB_ERRORS as exc:
            attempt += 1
            delay = backoff_delay(attempt, initial=RETRY_INITIAL_DELAY, cap=RETRY_MAX_DELAY)
            if time.monotonic() + delay > deadline:
                logger.error("stream %s: %s: database unavailable, giving up: %s", rtms_stream_id, what, exc)
                raise
            logger.warning(
                "stream %s: %s: database unavailable, retrying in %.1f s: %s",
                rtms_stream_id,
                what,
                delay,
                exc,
            )
            await asyncio.sleep(delay)

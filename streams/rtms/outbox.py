"""The outbox between the RTMS client's socket readers and its consumer (asyncio, no sockets).

Audio: bounded, drop-oldest, every drop reported in-band as ``AudioDropped`` at the gap and
counted in ``ClientStats``. Other events: bounded, never dropped (``put_event`` waits for
space). docs/rtms_client.md ("Backpressure") says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from typing import Any

from streams.rtms.config import ClientStats
from streams.rtms.events import AudioDropped, AudioFrame, RTMSEvent

logger = logging.getLogger("streams.rtms")


class Outbox:
    """Readers → consumer. Audio: bounded, drop-oldest, drops reported as AudioDropped at the gap.
    Other events: bounded, never dropped (``put_event`` waits for space). ``force`` ignores the
    bound (control events: Connected, Interrupted, StreamEnded, staged handshake-time events)."""

    def __init__(self, audio_size: int, event_size: int, stats: ClientStats) -> None:
        self._audio: deque[tuple[int, AudioFrame]] = deque()
        self._events: deque[tuple[int, RTMSEvent]] = deque()
        self._drops: dict[str, list[Any]] = {}  # user_id -> [user_name, frames, bytes, first_ts, last_ts]
        self._seq = itertools.count()
        self._audio_size = audio_size
        self._event_size = event_size
        self._stats = stats
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()

    def __len__(self) -> int:
        return len(self._audio) + len(self._events) + len(self._drops)

    def put_audio(self, frame: AudioFrame) -> None:
        if len(self._audio) >= self._audio_size:
            _, old = self._audio.popleft()
            self.note_dropped(old)
        self._audio.append((next(self._seq), frame))
        self._stats.audio_queue_high_water = max(self._stats.audio_queue_high_water, len(self._audio))
        self._ready.set()

    def note_dropped(self, old: AudioFrame) -> None:
        """Count a frame that will never reach the consumer; reported as AudioDropped next."""
        drop = self._drops.get(old.user_id)
        if drop is None:
            self._drops[old.user_id] = [old.user_name, 1, len(old.data), old.timestamp, old.timestamp]
        else:
            drop[1] += 1
            drop[2] += len(old.data)
            drop[3] = min(drop[3], old.timestamp)
            drop[4] = max(drop[4], old.timestamp)
        ClientStats._bump(self._stats.audio_frames_dropped, old.user_id)
        ClientStats._bump(self._stats.audio_bytes_dropped, old.user_id, len(old.data))
        self._ready.set()

    def force(self, event: RTMSEvent) -> None:
        self._events.append((next(self._seq), event))
        self._stats.event_queue_high_water = max(self._stats.event_queue_high_water, len(self._events))
        self._ready.set()

    async def put_event(self, event: RTMSEvent, *, alive: asyncio.Event) -> None:
        """Append, waiting while the queue is full (checked each second; gives up waiting, and
        appends anyway, once ``alive`` is cleared: the client is shutting down)."""
        if len(self._events) >= self._event_size:
            self._stats.event_queue_full_waits += 1
            if self._stats.event_queue_full_waits % 100 == 1:
                logger.warning(
                    "RTMS event queue full (%d events): the consumer is too slow (%d waits so far)",
                    self._event_size,
                    self._stats.event_queue_full_waits,
                )
            while len(self._events) >= self._event_size and alive.is_set():
                self._space.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._space.wait(), 1.0)
        self.force(event)

    async def get(self) -> RTMSEvent:
        while True:
            if self._drops:
                user_id, (name, frames, nbytes, first, last) = next(iter(self._drops.items()))
                del self._drops[user_id]
                return AudioDropped(user_id, name, frames, nbytes, first, last)
            if self._audio or self._events:
                use_audio = bool(self._audio) and (not self._events or self._audio[0][0] < self._events[0][0])
                if use_audio:
                    return self._audio.popleft()[1]
                event = self._events.popleft()[1]
                if len(self._events) < self._event_size:
                    self._space.set()
                return event
            self._ready.clear()
            await self._ready.wait()  # every put sets it (no timer per wait: this is per frame)

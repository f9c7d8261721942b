"""Replay de-duplication, sans-IO: Zoom (and the emulator) may send again, on a socket opened by
a reconnect, media it could not confirm before the loss (docs/rtms_client.md, "Replays after a
reconnect"). Pure state, no I/O; part of the state machine of ``connection.py``.
"""

from __future__ import annotations

from collections import deque

from streams.rtms.config import ClientStats
from streams.rtms.events import AudioFrame, ChatEvent, RTMSEvent, TranscriptEvent

_RECENT_KEYS = 1024  # transcript/chat messages remembered


class ReplayFilter:
    """Remembers the last audio timestamp per ``user_id`` and the last 1024 transcript/chat
    messages; counts what it drops in ``stats.duplicates_skipped``."""

    def __init__(self, stats: ClientStats) -> None:
        self.stats = stats
        self._last_audio_ts: dict[str, int] = {}
        self._recent_order: deque[tuple[str, str, int, str]] = deque(maxlen=_RECENT_KEYS)
        self._recent_keys: set[tuple[str, str, int, str]] = set()

    def is_replay(self, event: RTMSEvent, *, replay_guard: bool) -> bool:
        """Media Zoom sends again after a reconnect (its buffer of frames it could not confirm)
        is dropped and counted: audio at or before the last timestamp delivered for that
        ``user_id``, a transcript or chat message identical to a recent one. Only with
        ``replay_guard`` (sockets opened by a reconnect); the first connection drops nothing."""
        if isinstance(event, AudioFrame):
            last = self._last_audio_ts.get(event.user_id)
            if replay_guard and last is not None and event.timestamp <= last:
                ClientStats._bump(self.stats.duplicates_skipped, "audio")
                return True
            self._last_audio_ts[event.user_id] = max(event.timestamp, last or event.timestamp)
            return False
        if isinstance(event, (TranscriptEvent, ChatEvent)):
            kind = "transcript" if isinstance(event, TranscriptEvent) else "chat"
            key = (kind, event.user_id, event.timestamp, event.text)
            if replay_guard and key in self._recent_keys:
                ClientStats._bump(self.stats.duplicates_skipped, kind)
                return True
            if len(self._recent_order) == self._recent_order.maxlen:
                self._recent_keys.discard(self._recent_order[0])
            self._recent_order.append(key)
            self._recent_keys.add(key)
        return False

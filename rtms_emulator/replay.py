"""The emulator's replay buffer, sans-IO: media kept until a keep-alive confirms it was read.

Zoom's RTMS server buffers ~60 s of media and sends again, after a reconnect, what the client
did not confirm (docs/emulator.md, "Losses"). Every media message gets a number per media type
(1, 2, ...); a keep-alive request carries a *fence* per type (the number of the newest message
written to its socket, ``keepalive.py``) and its answer drops everything up to the fence. Pure
state, no I/O; part of the session state machine (``session.py``).
"""

from __future__ import annotations

from collections import deque

from rtms_emulator.link import Link
from rtms_emulator.record import StreamRecord
from streams.rtms.protocol import FRAME_MS


class ReplayBuffer:
    """Unconfirmed media per type: ``(number, tick, message)``, oldest first, at most
    ``seconds`` of meeting time (older entries are dropped as newer ones come; 0: nothing is
    replayed, a message whose socket closed under it is lost). What is lost or replayed is
    counted in ``record.undelivered`` / ``record.replayed_messages``."""

    def __init__(self, seconds: float, record: StreamRecord) -> None:
        self.seconds = seconds
        self.record = record
        self._horizon_ticks = round(seconds * 1000 / FRAME_MS)
        self._numbers: dict[str, int] = {}
        self._buffers: dict[str, deque[tuple[int, int, str]]] = {}
        self._audio_data_opt: int | None = None  # of the socket audio was last replayed to

    def add(self, mtype: str, message: str, tick: int) -> int:
        """Keep ``message`` of ``mtype`` produced at ``tick``; returns its number."""
        n = self._numbers.get(mtype, 0) + 1
        self._numbers[mtype] = n
        buf = self._buffers.get(mtype)
        if buf is None:
            buf = self._buffers[mtype] = deque()
        buf.append((n, tick, message))
        horizon = tick - self._horizon_ticks  # Zoom buffers ~60 s
        while buf and buf[0][1] < horizon:
            buf.popleft()
        return n

    def sent(self, link: Link, mtype: str, n: int, ok: bool) -> bool:
        """Message ``n`` of ``mtype`` (just added) was written to ``link`` (``ok``) or its socket
        was gone: without a buffer it is then lost (``record.undelivered``, returns False)."""
        if ok:
            link.written[mtype] = n
            return True
        if not self.seconds:
            self._buffers[mtype].pop()  # the socket closed under it and nothing is replayed
            self.record.undelivered[mtype] = self.record.undelivered.get(mtype, 0) + 1
            return False
        return True

    def confirm(self, fences: dict[str, int]) -> None:
        """A keep-alive answer: every message numbered up to ``fences[mtype]`` was read."""
        for mtype, n in fences.items():
            buf = self._buffers.get(mtype)
            while buf and buf[0][0] <= n:
                buf.popleft()

    def pending(self, mtype: str) -> list[tuple[int, int, str]]:
        """The unconfirmed messages of ``mtype``: ``(number, tick, message)``, oldest first."""
        return list(self._buffers.get(mtype, ()))

    def plan(self, link: Link) -> list[tuple[str, int, str]]:
        """What to write to ``link``, now live, before new media: ``(type, number, message)``,
        oldest first. Audio buffered for another ``data_opt`` (mixed vs multi-stream) is
        dropped instead, counted in ``record.undelivered``."""
        data_opt = link.params.get("audio", {}).get("data_opt")
        plan: list[tuple[str, int, str]] = []
        for t in link.types:
            buf = self._buffers.get(t)
            if not buf:
                continue
            if t == "audio" and self._audio_data_opt not in (None, data_opt):
                self.record.notes.append("audio data_opt changed on reconnect: buffered audio dropped")
                self.record.undelivered["audio"] = self.record.undelivered.get("audio", 0) + len(buf)
                buf.clear()
                continue
            plan += [(t, n, message) for n, _, message in buf]
        if "audio" in link.types:
            self._audio_data_opt = data_opt
        return plan

    def replayed(self, link: Link, mtype: str, n: int, ok: bool) -> None:
        """Replayed message ``n`` of ``mtype`` was written to ``link`` (``ok``) or not."""
        if ok:
            link.written[mtype] = max(link.written.get(mtype, 0), n)
        self.record.replayed_messages += 1

    def count_undelivered(self, live_types: set[str] | dict) -> None:
        """At the end of the stream: what is still unconfirmed for a type with no live socket
        was lost (``record.undelivered``)."""
        for mtype, buf in self._buffers.items():
            if buf and mtype not in live_types:
                self.record.undelivered[mtype] = self.record.undelivered.get(mtype, 0) + len(buf)

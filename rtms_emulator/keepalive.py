"""Keep-alives of one emulated stream, sans-IO (PROTOCOL.md §7.6, Zoom's side): requests with a
per-socket ``sequence``, misses, answers, and the fences that confirm media for the replay buffer.

A request is a *fence*: it records, per media type its socket carries, the number of the newest
message written to that socket; its answer (on the same socket) confirms everything up to there
(``ReplayBuffer.confirm``). A request still unanswered when the next one is due is a miss;
``keepalive_max_misses`` in a row drop the socket. Pure: no asyncio, no clock of its own (the
transport passes ``wall_ms``, epoch ms, and ``now``, monotonic seconds); part of the session
state machine (``session.py``), whose transport (``run.py``) runs the timer.
"""

from __future__ import annotations

from typing import Literal

from rtms_emulator import messages
from rtms_emulator.config import EmulatorConfig
from rtms_emulator.link import Link
from rtms_emulator.record import KeepAlive, StreamRecord
from rtms_emulator.replay import ReplayBuffer

KeepAliveDue = Literal["send", "skip", "drop"]


class KeepAlives:
    """Keep-alive bookkeeping of one stream's sockets (the state itself is on each
    :class:`Link`); every request and answer is recorded in ``record.keepalives``.
    ``signaling_timed_out``: a signaling socket was dropped for unanswered requests (the stream
    then ends with stop reason 24 if nobody rejoins)."""

    def __init__(self, config: EmulatorConfig, record: StreamRecord, replay: ReplayBuffer) -> None:
        self.config = config
        self.record = record
        self.replay = replay
        self.signaling_timed_out = False

    def request(self, link: Link, *, wall_ms: int) -> dict:
        """KEEP_ALIVE_REQ for ``link`` (next ``sequence``), registered with its fences."""
        # An answer confirms what was written to this socket before the request, nothing else:
        # on a new socket whose replay has not started yet, a fence at the newest message
        # produced would confirm (and so never replay) everything lost with the old socket.
        link.ka_seq += 1
        seq = link.ka_seq
        ka = KeepAlive(link.label, seq, wall_ms, self.record.now())
        link.ka_pending[seq] = (ka, {t: link.written.get(t, 0) for t in link.types})
        self.record.keepalives.append(ka)
        return messages.keep_alive_req(seq, wall_ms=wall_ms)

    def due(self, link: Link, *, now: float, signaling: bool) -> KeepAliveDue:
        """The interval elapsed on ``link`` (``now``: monotonic seconds; ``signaling``: it is the
        stream's signaling socket): ``send`` a request, ``skip`` (``keepalive_idle_only`` and data
        went out within the interval) or ``drop`` the socket (too many misses in a row)."""
        if self.config.keepalive_idle_only and now - link.last_data < self.config.keepalive_interval:
            return "skip"
        if any(not ka.late for ka, _ in link.ka_pending.values()):
            for ka, _ in link.ka_pending.values():
                ka.late = True  # still unanswered when the next one is due: a miss
            link.misses += 1
            if link.misses >= self.config.keepalive_max_misses:
                self.record.notes.append(f"{link.label}: {link.misses} keep-alives unanswered, dropped")
                if signaling:
                    self.signaling_timed_out = True
                return "drop"
        return "send"

    def answer(self, link: Link, msg: dict) -> bool:
        """KEEP_ALIVE_RESP on ``link``, matched by ``sequence`` (else by ``timestamp``): confirms
        the media up to its fences, resets the misses; True if it matched a pending request (an
        unknown answer goes to ``record.unexpected_keepalive_answers``)."""
        seq = msg.get("sequence")
        entry = link.ka_pending.pop(seq, None) if isinstance(seq, int) else None
        if entry is None:  # answer without (or with an unknown) sequence: match by timestamp
            for s, (ka, _) in list(link.ka_pending.items()):
                if ka.timestamp == msg.get("timestamp"):
                    entry = link.ka_pending.pop(s)
                    break
        if entry is None:
            self.record.unexpected_keepalive_answers.append(
                {"socket": link.label, "message": msg, "at": self.record.now()}
            )
            return False
        ka, fences = entry
        ka.answered_at = self.record.now()
        ka.echoed_timestamp = msg.get("timestamp")
        ka.echoed_sequence = seq
        link.misses = 0
        self.replay.confirm(fences)
        return True

    @staticmethod
    def settle(link: Link) -> None:
        """``link`` closed: a request already late was ``missed``, a newer one
        ``pending_at_close`` (it does not count against the client)."""
        for ka, _ in link.ka_pending.values():
            if ka.late:
                ka.missed = True  # never answered, though the socket stayed open an interval
            else:
                ka.pending_at_close = True

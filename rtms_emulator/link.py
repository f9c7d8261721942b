"""The protocol state of one socket the emulator accepted (signaling or media), no I/O.

Shared by the sans-IO parts (``session.py``, ``keepalive.py``, ``replay.py``); the asyncio
transport's :class:`rtms_emulator.sockets.Conn` is a ``Link`` with its WebSocket.
"""

from __future__ import annotations

from rtms_emulator.record import KeepAlive


class Link:
    """One accepted socket, as the protocol sees it.

    ``label``: ``signaling`` or ``media:<path type>``; ``types`` / ``params``: the media types it
    carries and their effective media_params (msg 4); ``live``: past the CLIENT_READY_ACK that
    put it in use; ``closed``: gone. Keep-alives: ``ka_seq`` (last sequence sent),
    ``ka_pending`` (sequence -> (its ``KeepAlive`` record, its fences: media type -> message
    number)), ``misses`` (consecutive), ``written`` (media type -> number of the newest media
    message written to *this* socket: all an answer here can confirm), ``last_data``
    (monotonic seconds of the last data frame sent, for ``keepalive_idle_only``).
    """

    def __init__(self, label: str, *, ka_seq: int = 0) -> None:
        self.label = label
        self.types: tuple[str, ...] = ()
        self.params: dict[str, dict] = {}
        self.live = False
        self.closed = False
        self.ka_seq = ka_seq
        self.ka_pending: dict[int, tuple[KeepAlive, dict[str, int]]] = {}
        self.written: dict[str, int] = {}
        self.misses = 0
        self.last_data = 0.0

    def __repr__(self) -> str:
        return f"<Link {self.label}{' live' if self.live else ''}{' closed' if self.closed else ''}>"

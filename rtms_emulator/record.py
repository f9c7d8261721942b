"""What the emulator sent and what the client did, per stream, and a PASS/FAIL verdict on it.

``StreamRecord.sent`` holds the data exactly as sent once (replays after a reconnect are counted
in ``replayed_messages``, not added twice): audio bytes per ``user_id`` (``0`` = mixed stream),
transcript and chat entries, EVENT_UPDATE events, state updates. The client side lists every
handshake, CLIENT_READY_ACK, keep-alive exchange per socket, event subscription, close request,
non-JSON/unknown frame from the client, and how every connection closed.
Times: ``at`` fields are seconds since the record was created (monotonic clock).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Handshake:
    socket: str  # "signaling" or "media:<type>"
    path: str
    at: float
    status_code: int
    reason: str
    request: Any
    user_agent: str = ""
    subprotocol: str | None = None


@dataclass
class KeepAlive:
    socket: str
    sequence: int
    timestamp: int
    sent_at: float
    answered_at: float | None = None
    echoed_timestamp: Any = None
    echoed_sequence: Any = None
    late: bool = False  # not answered by the time the next request was due (Zoom counts a miss)
    missed: bool = False  # never answered although its socket stayed open at least an interval
    pending_at_close: bool = False

    @property
    def answered_ok(self) -> bool:
        return self.answered_at is not None and self.echoed_timestamp == self.timestamp


@dataclass
class ConnectionClose:
    socket: str
    at: float
    by: str  # "client" (client closed or dropped) or "server"
    code: int | None
    reason: str
    close_frame: bool  # a close frame was received from the client


@dataclass
class Verdict:
    passed: bool
    reasons: list[str]

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return "PASS" if self.passed else "FAIL: " + "; ".join(self.reasons)


@dataclass
class SentData:
    audio: dict[int, bytearray] = field(default_factory=dict)  # user_id -> bytes (0 = mixed)
    audio_frames: dict[int, list[int]] = field(default_factory=dict)  # user_id -> timestamps
    audio_byte_counts: dict[int, int] = field(default_factory=dict)  # kept even without record_audio
    user_names: dict[int, str] = field(default_factory=dict)
    transcript: list[dict] = field(default_factory=list)
    chat: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    state_updates: list[dict] = field(default_factory=list)

    def audio_bytes(self, user_id: int) -> bytes:
        return bytes(self.audio.get(user_id, b""))


@dataclass
class StreamRecord:
    rtms_stream_id: str
    meeting_uuid: str
    scenario: str
    t0: float = field(default_factory=time.monotonic)
    sent: SentData = field(default_factory=SentData)
    handshakes: list[Handshake] = field(default_factory=list)
    ready_acks: list[dict] = field(default_factory=list)  # {"socket", "at"}
    keepalives: list[KeepAlive] = field(default_factory=list)
    unexpected_keepalive_answers: list[dict] = field(default_factory=list)
    event_subscriptions: list[dict] = field(default_factory=list)
    client_requests: list[dict] = field(default_factory=list)  # msg 10/19/21/28 etc.
    client_junk: list[dict] = field(default_factory=list)
    client_frames: dict[str, int] = field(default_factory=lambda: {"text": 0, "binary": 0})
    closes: list[ConnectionClose] = field(default_factory=list)
    webhooks: list[dict] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    replayed_messages: int = 0
    undelivered: dict[str, int] = field(default_factory=dict)  # media type -> messages lost in a drop
    unsubscribed: dict[str, int] = field(default_factory=dict)  # type -> messages not sent: not asked for
    paused_intervals: list[tuple[float, float]] = field(default_factory=list)  # meeting seconds
    first_packet_timestamp: int | None = None
    started: bool = False
    completed: bool = False  # the whole scenario timeline was played
    stop_reason: int | None = None
    terminated_at: float | None = None

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 4)

    # ---- convenience views ------------------------------------------------------------------
    def handshakes_on(self, prefix: str) -> list[Handshake]:
        return [h for h in self.handshakes if h.socket.startswith(prefix)]

    def keepalives_on(self, socket: str) -> list[KeepAlive]:
        return [k for k in self.keepalives if k.socket == socket]

    def keepalive_answers(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.keepalives:
            if k.answered_ok:
                out[k.socket] = out.get(k.socket, 0) + 1
        return out

    def verdict(
        self,
        *,
        require_complete: bool = True,
        require_keepalive_answers: bool = True,
        min_keepalive_answers: int = 0,
        allow_junk_from_client: bool = False,
        expect_stop_reason: int | None = None,
    ) -> Verdict:
        """PASS when the client behaved like a correct RTMS client:

        - at least one signaling handshake succeeded, and every successful one was followed by
          a CLIENT_READY_ACK on the signaling socket; no CLIENT_READY_ACK on a media socket;
        - every keep-alive request was answered on its socket with the same ``timestamp`` (a
          request still pending when its socket closed is not counted), no 3-miss timeout;
          with ``min_keepalive_answers`` at least that many answers per socket kind;
        - (``require_complete``) the whole scenario was played and nothing was left undelivered;
        - the client sent only JSON objects (unless ``allow_junk_from_client``);
        - (``expect_stop_reason``) the stream ended with that stop reason.
        """
        reasons: list[str] = []
        sig_ok = [h for h in self.handshakes_on("signaling") if h.status_code == 0]
        if not sig_ok:
            reasons.append("no successful signaling handshake")
        sig_acks = [a for a in self.ready_acks if a["socket"] == "signaling"]
        for h in sig_ok:
            if not any(a["at"] >= h.at for a in sig_acks):
                reasons.append(f"no CLIENT_READY_ACK on signaling after the handshake at {h.at}s")
        wrong = [a for a in self.ready_acks if a["socket"] != "signaling"]
        if wrong:
            reasons.append(
                f"CLIENT_READY_ACK sent on {sorted({a['socket'] for a in wrong})} (must be signaling)"
            )
        if require_keepalive_answers:
            bad = [k for k in self.keepalives if k.answered_at is not None and not k.answered_ok]
            if bad:
                reasons.append(f"{len(bad)} keep-alive answer(s) did not echo the timestamp")
            missed = [k for k in self.keepalives if k.missed]
            if missed:
                reasons.append(
                    f"{len(missed)} keep-alive request(s) unanswered ({sorted({k.socket for k in missed})})"
                )
            if min_keepalive_answers:
                answers = self.keepalive_answers()
                kinds = {"signaling"} | {h.socket for h in self.handshakes_on("media:") if h.status_code == 0}
                for kind in sorted(kinds):
                    if answers.get(kind, 0) < min_keepalive_answers:
                        reasons.append(f"only {answers.get(kind, 0)} keep-alive answer(s) on {kind}")
        if require_complete:
            if not self.completed:
                reasons.append("scenario not played to the end")
            lost = {k: v for k, v in self.undelivered.items() if v}
            if lost:
                reasons.append(f"undelivered messages: {lost}")
        delivered = {w["body_sha"] for w in self.webhooks if 200 <= w["status"] < 300}
        failed = [w for w in self.webhooks if not 200 <= w["status"] < 300 and w["body_sha"] not in delivered]
        if failed:
            reasons.append(
                f"webhook(s) not accepted: {[(w['event'], w['status'], w['error']) for w in failed]}"
            )
        if self.client_junk and not allow_junk_from_client:
            reasons.append(f"{len(self.client_junk)} malformed message(s) from the client")
        if expect_stop_reason is not None and self.stop_reason != expect_stop_reason:
            reasons.append(f"stop reason {self.stop_reason}, expected {expect_stop_reason}")
        return Verdict(not reasons, reasons)

    def summary(self) -> dict:
        """JSON-ready overview (audio as byte counts, not bytes)."""
        return {
            "rtms_stream_id": self.rtms_stream_id,
            "meeting_uuid": self.meeting_uuid,
            "scenario": self.scenario,
            "verdict": str(self.verdict()),
            "stop_reason": self.stop_reason,
            "completed": self.completed,
            "audio_bytes": {str(k): v for k, v in self.sent.audio_byte_counts.items()},
            "transcript_messages": len(self.sent.transcript),
            "chat_messages": len(self.sent.chat),
            "events": len(self.sent.events),
            "handshakes": [asdict(h) | {"request": None} for h in self.handshakes],
            "ready_acks": self.ready_acks,
            "keepalive_answers": self.keepalive_answers(),
            "keepalive_requests": len(self.keepalives),
            "client_junk": len(self.client_junk),
            "closes": [asdict(c) for c in self.closes],
            "webhooks": self.webhooks,
            "faults": self.faults,
            "replayed_messages": self.replayed_messages,
            "undelivered": self.undelivered,
            "notes": self.notes,
        }

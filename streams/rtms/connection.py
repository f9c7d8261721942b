"""Sans-IO state machine of one RTMS stream: what to send, what to deliver, when to retry.

Pure: no asyncio, no sockets, no Django, no clock of its own. The asyncio transport
(``client.py``) feeds it received frames (:meth:`Connection.receive`), handshake answers,
losses and failed attempts, with ``time.monotonic()`` seconds (``now``) and wall-clock epoch
milliseconds (``wall_ms``) passed in; it answers with messages to send (dicts, encoded by the
transport), typed events to deliver (``streams.rtms.events``) and decisions: a keep-alive
answer, the handshake answer a socket waited for, retry after N seconds or give up
(``streams/rtms/reconnect.py`` is the one backoff), how the stream ended. Wire facts from
``../shared/rtms/PROTOCOL.md`` (Section A wins); the behaviour is in docs/rtms_client.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from streams.rtms import messages
from streams.rtms.config import ClientConfig, ClientStats
from streams.rtms.errors import (
    FrameDecodeError,
    FrameSchemaError,
    RTMSConnectionError,
    RTMSError,
    RTMSFrameError,
    RTMSHandshakeError,
    UnknownEventType,
    UnknownMessageType,
)
from streams.rtms.events import (
    AudioFrame,
    Interrupted,
    MediaConnectionInterrupted,
    Reconnecting,
    RTMSEvent,
    SessionStateChanged,
    StreamEnded,
    StreamStateChanged,
)
from streams.rtms.handshake import Handshakes
from streams.rtms.protocol import MsgType, SessionState, StopReason, StreamState
from streams.rtms.reconnect import Retry
from streams.rtms.replay import ReplayFilter

logger = logging.getLogger("streams.rtms")

_LOG_EVERY = 1000  # after the first 20 skipped frames, log one in this many


@dataclass
class EndSignal:
    """The stream is over (TERMINATED, last session STOPPED, ...): drain, then end."""

    stop_reason: int | None
    detail: str


@dataclass
class Received:
    """What one received frame asks of the transport.

    ``answer``: a KEEP_ALIVE_RESP to send at once on the same socket; ``handshake``: the
    handshake answer that socket waits for; ``events``: typed events to deliver, in order,
    replays already dropped; ``wake``: lifecycle state changed (end, close answer, media
    interruption), the supervisor should look.
    """

    answer: dict[str, Any] | None = None
    handshake: dict[str, Any] | None = None
    events: list[RTMSEvent] = field(default_factory=list)
    wake: bool = False


@dataclass(frozen=True)
class RetryDecision:
    """Wait ``delay`` seconds, announcing ``event``, then try again; ``delay`` None: the window
    is over and the stream is finished (:attr:`Connection.final`)."""

    delay: float | None
    event: Reconnecting | None = None


class Connection:
    """The decisions of one RTMS stream (one ``rtms_stream_id``), for one transport.

    Public state the transport reads: ``end`` (:class:`EndSignal` once the stream is over),
    ``terminating`` (STREAM_STATE_UPDATE TERMINATING seen), ``media_suspect_at`` (monotonic
    seconds of the last MEDIA_CONNECTION_INTERRUPTED / INTERRUPTED), ``close_resp``
    (``(status, reason)`` of STREAM_CLOSE_RESP), ``handshakes`` (:class:`Handshakes`: the
    handshake messages and answers, the media plan), ``replays`` (:class:`ReplayFilter`),
    ``lost_reason`` (why the last connection was lost), ``final`` (the
    :class:`StreamEnded` once decided; first decision wins).
    """

    def __init__(self, config: ClientConfig, stats: ClientStats) -> None:
        self.config = config
        self.stats = stats
        self.policy = config.reconnect_policy()
        self.handshakes = Handshakes(config)
        self.replays = ReplayFilter(stats)
        self.end: EndSignal | None = None
        self.terminating = False
        self.sessions: set[str] = set()
        self.media_suspect_at: float | None = None
        self.close_resp: tuple[int, str] | None = None
        self.lost_reason = ""
        self.final: StreamEnded | None = None
        self._skipped_logged = 0

    # --- frames ----------------------------------------------------------------------------------

    def receive(
        self,
        name: str,
        frame: str | bytes,
        *,
        now: float,
        can_answer: bool = True,
        awaiting_handshake: bool = False,
        replay_guard: bool = False,
    ) -> Received:
        """One frame received on socket ``name`` (``signaling``, a media name or ``all``).

        ``can_answer``: the socket is open and not closing (else a KEEP_ALIVE_REQ is skipped:
        the reader is behind a close and must read on); ``awaiting_handshake``: the socket waits
        for its msg 2 / msg 4; ``replay_guard``: the socket was opened by a reconnect (replayed
        media is dropped). Malformed or unknown frames are logged, counted and skipped.
        """
        scope = "signaling" if name == "signaling" else f"media:{name}"
        try:
            msg = messages.decode_frame(frame)
            mtype = messages.msg_type_of(msg)
        except RTMSFrameError as exc:
            self._skip(scope, exc, frame)
            return Received()
        if mtype == MsgType.KEEP_ALIVE_REQ:
            return Received(answer=messages.keep_alive_resp(msg) if can_answer else None)
        if mtype in (MsgType.SIGNALING_HAND_SHAKE_RESP, MsgType.DATA_HAND_SHAKE_RESP):
            expected = (
                MsgType.SIGNALING_HAND_SHAKE_RESP if name == "signaling" else MsgType.DATA_HAND_SHAKE_RESP
            )
            if mtype == expected and awaiting_handshake:
                return Received(handshake=msg)
            self._skip(scope, "unexpected", frame, f"unexpected {mtype.name} on {scope}")
            return Received()
        if mtype == MsgType.STREAM_CLOSE_RESP:
            try:
                self.close_resp = messages.parse_stream_close_resp(msg)
            except RTMSFrameError as exc:
                self._skip(scope, exc, frame)
                self.close_resp = (-1, "malformed STREAM_CLOSE_RESP")
            return Received(wake=True)
        try:
            events = messages.parse_server_message(msg)
        except messages.IgnoredMessage as exc:
            ClientStats._bump(self.stats.frames_skipped, "ignored")
            logger.debug("RTMS %s: %s: %s", self.config.rtms_stream_id, scope, exc)
            return Received()
        except RTMSFrameError as exc:
            self._skip(scope, exc, frame)
            return Received()
        out = Received()
        for event in events:
            if self.replays.is_replay(event, replay_guard=replay_guard):
                continue
            out.wake = self._observe(event, now) or out.wake
            out.events.append(event)
        return out

    def answered_keep_alive(self, name: str) -> None:
        """The transport sent the keep-alive answer on ``name``."""
        ClientStats._bump(self.stats.keepalives_answered, name)

    def unread_audio(self, frames: Iterable[bytes], *, replay_guard: bool) -> list[AudioFrame]:
        """The audio among raw frames a cancelled reader left unread (to count as dropped);
        anything else, junk included, is ignored."""
        audio: list[AudioFrame] = []
        for data in frames:
            try:
                events = messages.parse_server_message(messages.decode_frame(data))
            except (RTMSFrameError, messages.IgnoredMessage, AttributeError, TypeError):
                continue
            audio += [
                e
                for e in events
                if isinstance(e, AudioFrame) and not self.replays.is_replay(e, replay_guard=replay_guard)
            ]
        return audio

    def _observe(self, event: RTMSEvent, now: float) -> bool:
        """Lifecycle state from signaling events (TERMINATED, sessions, media interruptions);
        True when the supervisor should look."""
        if isinstance(event, StreamStateChanged):
            if event.state == StreamState.TERMINATED:
                self.end = EndSignal(event.reason, "stream terminated (STREAM_STATE_UPDATE TERMINATED)")
            elif event.state == StreamState.TERMINATING:
                self.terminating = True
            elif event.state == StreamState.INTERRUPTED:
                self.media_suspect_at = self.media_suspect_at or now
        elif isinstance(event, SessionStateChanged):
            if event.state == SessionState.STOPPED:
                self.sessions.discard(event.rtms_session_id)
                if not self.sessions:
                    self.end = EndSignal(event.reason, "last session stopped (SESSION_STATE_UPDATE STOPPED)")
            elif event.state != SessionState.INACTIVE:
                self.sessions.add(event.rtms_session_id)
        elif isinstance(event, MediaConnectionInterrupted):
            self.media_suspect_at = self.media_suspect_at or now
        else:
            return False
        return True

    def _skip(self, scope: str, exc: RTMSFrameError | str, frame: str | bytes, text: str = "") -> None:
        if isinstance(exc, FrameDecodeError):
            cause = "decode"
        elif isinstance(exc, UnknownMessageType):
            cause = "msg_type"
        elif isinstance(exc, UnknownEventType):
            cause = "event_type"
        elif isinstance(exc, FrameSchemaError):
            cause = "schema"
        elif isinstance(exc, RTMSError):
            cause = "frame"
        else:
            cause = exc
        ClientStats._bump(self.stats.frames_skipped, cause)
        self._skipped_logged += 1
        if self._skipped_logged <= 20 or self._skipped_logged % _LOG_EVERY == 0:
            preview = frame[:120] if isinstance(frame, (str, bytes)) else repr(frame)[:120]
            logger.warning(
                "RTMS %s: skipped frame on %s (%s: %s) #%d: %r",
                self.config.rtms_stream_id,
                scope,
                cause,
                text or exc,
                self._skipped_logged,
                preview,
            )

    # --- losses and reconnect decisions (PROTOCOL.md §7.8, streams/rtms/reconnect.py) ------------

    def is_idle(self, last_frame_at: float, now: float) -> bool:
        """A socket with no frame at all for ``idle_timeout`` is lost (§7.6)."""
        return now - last_frame_at > self.config.idle_timeout

    def suspect_media_due(self, now: float) -> bool:
        """``media_interrupt_grace`` passed since a media interruption: check the media sockets."""
        return (
            self.media_suspect_at is not None
            and now - self.media_suspect_at >= self.config.media_interrupt_grace
        )

    def silent_since_suspect(self, last_frame_at: float) -> bool:
        """A media socket that received nothing since the interruption is reopened."""
        return self.media_suspect_at is not None and last_frame_at < self.media_suspect_at

    def interrupted(self, scope: str, reason: str, *, wall_ms: int) -> Interrupted:
        """A socket was lost: the ``Interrupted`` event to deliver (``lost_reason`` kept)."""
        logger.warning("RTMS %s: %s interrupted: %s", self.config.rtms_stream_id, scope, reason)
        self.lost_reason = f"{scope}: {reason or 'connection lost'}"
        return Interrupted(scope, reason or "connection lost", wall_ms)

    def signaling_lost(self, reason: str) -> bool:
        """Signaling closed: after TERMINATING that is the normal end (``end`` set, True);
        otherwise an outage (False: full re-handshake)."""
        if self.terminating:
            self.end = EndSignal(None, f"signaling closed after TERMINATING: {reason}")
            return True
        return False

    def attempt_failed(self, retry: Retry | None, error: Exception, *, now: float) -> Retry:
        """A full (re)connection attempt failed: counted on the outage's schedule (a new one for
        a first connection that fails)."""
        self.stats.failed_attempts += 1
        retry = retry or self.policy.begin(now)
        retry.failed(error)
        logger.warning(
            "RTMS %s connect attempt %d failed: %s", self.config.rtms_stream_id, retry.attempts, error
        )
        return retry

    def next_attempt(
        self,
        retry: Retry,
        scope: str,
        reason: str,
        *,
        now: float,
        wall_ms: int,
        error: Exception | None = None,
        give_up_detail: str | None = None,
    ) -> RetryDecision:
        """Wait before the next attempt of ``retry`` (with the ``Reconnecting`` to announce), or
        give up: the window is over, the stream is finished with the reason."""
        delay = retry.next_delay(now)
        if delay is None:
            detail = give_up_detail or (
                f"could not (re)connect within the {self.policy.window:g}s reconnect window "
                f"({retry.attempts} attempt(s) failed; last error: {retry.last_error or reason})"
            )
            self.finish(None, detail, error or RTMSConnectionError(reason, scope=scope), wall_ms=wall_ms)
            return RetryDecision(None)
        return RetryDecision(delay, self._reconnecting(retry, scope, reason, delay, now=now, wall_ms=wall_ms))

    def media_lost(
        self, scope: str, reason: str, *, lost_at: float, now: float, wall_ms: int
    ) -> tuple[Retry, Reconnecting]:
        """A media socket lost (noticed at ``lost_at``) while signaling lives: its own outage
        schedule and the first ``Reconnecting`` (only that socket is reopened)."""
        retry = self.policy.begin(lost_at)
        delay = retry.next_delay(lost_at) or 0.0
        return retry, self._reconnecting(
            retry, scope, reason or "connection lost", delay, now=now, wall_ms=wall_ms
        )

    def media_attempt_failed(
        self, name: str, retry: Retry, error: Exception, *, now: float, wall_ms: int
    ) -> RetryDecision:
        """Reopening media socket ``name`` failed: a non-retryable handshake status ends the
        stream; otherwise the next wait, or give up after the window."""
        if isinstance(error, RTMSHandshakeError) and not error.retryable:
            self.finish(None, str(error), error, wall_ms=wall_ms)
            return RetryDecision(None)
        retry.failed(error)
        self.stats.failed_attempts += 1
        logger.warning(
            "RTMS %s: reopening %s failed (attempt %d): %s",
            self.config.rtms_stream_id,
            name,
            retry.attempts,
            error,
        )
        return self.next_attempt(
            retry,
            f"media:{name}",
            str(error),
            now=now,
            wall_ms=wall_ms,
            error=error,
            give_up_detail=(
                f"media:{name} not reopened within the {self.policy.window:g}s reconnect window "
                f"({retry.attempts} attempt(s) failed; last error: {error})"
            ),
        )

    def _reconnecting(
        self, retry: Retry, scope: str, reason: str, delay: float, *, now: float, wall_ms: int
    ) -> Reconnecting:
        return Reconnecting(
            scope=scope,
            attempt=retry.attempts + 1,
            error=retry.last_error or reason,
            next_attempt_at=wall_ms + int(delay * 1000),
            deadline_at=wall_ms + int((retry.deadline - now) * 1000),
        )

    # --- the end -----------------------------------------------------------------------------------

    def finish(
        self, stop_reason: int | None, detail: str, error: Exception | None = None, *, wall_ms: int
    ) -> None:
        """Record how the stream ended (first call wins); the transport queues it last."""
        if self.final is None:
            self.final = StreamEnded(stop_reason, detail, wall_ms, error)

    def close_without_request(self, request_stream_close: bool) -> str:
        """The detail of a close that sends no STREAM_CLOSE_REQ (handover, or signaling down)."""
        if not request_stream_close:
            return "closed by the client without STREAM_CLOSE_REQ (handover)"
        return "closed by the client; signaling was down, STREAM_CLOSE_REQ not sent"

    def close_outcome(self, sent: bool) -> tuple[int | None, str]:
        """After STREAM_CLOSE_REQ (``sent`` or not) and the wait: the stop reason (TERMINATED's,
        or 20 after a STREAM_CLOSE_RESP with status 0) and the detail."""
        if self.end is not None:
            stop_reason = self.end.stop_reason
        elif self.close_resp is not None and self.close_resp[0] == 0:
            stop_reason = int(StopReason.STOP_BC_RECEIVER_REQUEST_CLOSE)
        else:
            stop_reason = None
        detail = "closed by the client (STREAM_CLOSE_REQ)"
        if self.close_resp is None:
            detail += "; no STREAM_CLOSE_RESP" if sent else "; STREAM_CLOSE_REQ could not be sent"
        elif self.close_resp[0] != 0:
            detail += f"; STREAM_CLOSE_RESP status {self.close_resp[0]} {self.close_resp[1]!r}"
        return stop_reason, detail

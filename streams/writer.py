"""The writer side of a stream runner: applies RTMS events (all but audio) on its event lane.

Every method runs on the stream's event lane thread (``streams.lanes.Lane``), never on the
event loop; on-commit live pushes go to the runner's loop (``meetings.live.use_loop``). Every
row has an idempotency key (see ``streams/ingest.py``), so a batch applied twice, or an event
Zoom re-sends after a reconnect or a takeover, is stored once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Protocol

from django.db import IntegrityError, close_old_connections
from django.utils import timezone

from meetings.models import Meeting, Participant, ParticipantEvent
from meetings.services.chat import chat_message_record, chat_message_revise
from meetings.services.meetings import epoch_ms_to_datetime
from meetings.services.participants import gap_retry_note, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record
from streams import recording, services
from streams.models import Stream
from streams.rtms import events as ev
from streams.rtms.protocol import (
    ChatOperation,
    SessionState,
    StopReason,
    StreamState,
    TranscriptLanguage,
)

logger = logging.getLogger(__name__)

Kind = ParticipantEvent.Kind


def stop_reason_name(reason: int | None) -> str:
    if reason is None:
        return ""
    try:
        return StopReason(reason).name
    except ValueError:
        return f"STOP_REASON_{reason}"


def _language(code: int | None) -> str:
    if code is None:
        return ""
    try:
        return TranscriptLanguage(code).name.lower()[:16]
    except ValueError:
        return str(code)[:16]


def _now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def _dt(epoch_ms: int) -> dt.datetime:
    return epoch_ms_to_datetime(epoch_ms)


def chat_source_key(event: ev.ChatEvent) -> str:
    if event.message_id:
        return f"zoom:{event.message_id}"[:200]
    digest = hashlib.sha256(f"{event.user_id}|{event.timestamp}|{event.text}".encode()).hexdigest()
    return f"hash:{digest}"


def transcript_source_key(rtms_stream_id: str, event: ev.TranscriptEvent) -> str:
    return f"{rtms_stream_id}:{event.user_id}:{event.start_time or event.timestamp}"[:200]


# --- the writer: applies non-audio events on the event lane ----------------------------------------


@dataclass
class Outcome:
    """How a runner ended: ``finalize`` (stream over), ``handover`` (shutdown), ``lost`` (lease)."""

    kind: str
    state: str = Stream.State.STOPPED
    stop_reason: int | None = None
    detail: str = ""


class RunnerState(Protocol):
    """What the writer reads of the ``streams.runner.StreamRunner`` that owns it. A protocol, not
    an import: the runner imports this module, so importing it back would make a cycle."""

    claim: services.Claim
    owner: str
    has_zoom_transcript: bool


class EventWriter:
    """Sync side of a runner: every method runs on its event lane (never on the event loop)."""

    def __init__(self, runner: RunnerState) -> None:
        self.runner = runner
        self.claim = runner.claim
        self.sid = runner.claim.rtms_stream_id
        self._meeting: Meeting | None = None
        self._participants: dict[str, Participant] = {}

    @property
    def meeting(self) -> Meeting:
        if self._meeting is None:
            self._meeting = Meeting.objects.get(pk=self.claim.meeting_id)
        return self._meeting

    def participant(self, user_id: str, user_name: str = "") -> Participant | None:
        if not user_id:
            return None
        cached = self._participants.get(user_id)
        if cached is not None and (not user_name or cached.display_name == user_name):
            return cached
        participant = participant_upsert(meeting=self.meeting, zoom_user_id=user_id, display_name=user_name)
        self._participants[user_id] = participant
        return participant

    def apply_batch(self, batch: list[object]) -> None:
        """Apply events in order. Idempotent (keys), so a batch retried after a database error
        stores nothing twice. An event the services refuse (``ValueError``, a constraint) is
        logged and skipped, like a malformed frame; other database errors propagate (retry)."""
        close_old_connections()
        for event in batch:
            handler = getattr(self, f"on_{type(event).__name__}", None)
            if handler is None:
                continue
            try:
                handler(event)
            except (ValueError, IntegrityError) as exc:
                logger.warning("stream %s: %s not stored: %s", self.sid, type(event).__name__, exc)

    def event(self, kind: str, *, user_id: str, user_name: str, timestamp: int, **extra) -> None:
        participant_event_record(
            meeting=self.meeting,
            kind=kind,
            source_key=f"{self.sid}:{kind}:{user_id}:{timestamp}"[:200],
            occurred_at=_dt(timestamp),
            participant=self.participant(user_id, user_name),
            **extra,
        )

    # -- media --

    def on_TranscriptEvent(self, event: ev.TranscriptEvent) -> None:
        if not event.text.strip():
            return
        start = event.start_time or event.timestamp
        origin = self.claim.meeting_started_ms
        transcript_segment_record(
            meeting=self.meeting,
            source="zoom",
            source_key=transcript_source_key(self.sid, event),
            text=event.text,
            start_ms=start - origin,
            end_ms=(event.end_time - origin) if event.end_time else None,
            participant=self.participant(event.user_id, event.user_name),
            speaker_name=event.user_name,
            language=_language(event.language),
        )
        if not self.runner.has_zoom_transcript:
            self.runner.has_zoom_transcript = True
            services.stream_has_zoom_transcript(stream_id=self.claim.stream_id)

    def on_ChatEvent(self, event: ev.ChatEvent) -> None:
        if event.operation in (ChatOperation.UPDATE, ChatOperation.DELETE):
            revised = chat_message_revise(
                meeting=self.meeting,
                source_key=chat_source_key(event),
                text=event.text,
                deleted=event.operation == ChatOperation.DELETE,
            )
            if revised is None:
                logger.info(
                    "stream %s: chat %s of an unknown message %r: not stored",
                    self.sid,
                    ChatOperation(event.operation).name,
                    event.message_id,
                )
            return
        if event.operation != ChatOperation.NEW:  # emoji reactions are not stored
            logger.info("stream %s: chat operation %s not stored", self.sid, event.operation)
            return
        chat_message_record(
            meeting=self.meeting,
            source_key=chat_source_key(event),
            text=event.text,
            sent_at=_dt(event.timestamp),
            participant=self.participant(event.user_id, event.user_name),
            sender_name=event.user_name,
            recipient_name=event.recipient_name,
        )

    # -- participant events --

    def on_ParticipantJoined(self, event: ev.ParticipantJoined) -> None:
        self.event(Kind.JOIN, user_id=event.user_id, user_name=event.user_name, timestamp=event.timestamp)

    def on_ParticipantLeft(self, event: ev.ParticipantLeft) -> None:
        self.event(Kind.LEAVE, user_id=event.user_id, user_name=event.user_name, timestamp=event.timestamp)

    def on_ActiveSpeakerChanged(self, event: ev.ActiveSpeakerChanged) -> None:
        self.event(
            Kind.ACTIVE_SPEAKER, user_id=event.user_id, user_name=event.user_name, timestamp=event.timestamp
        )

    def on_SharingStarted(self, event: ev.SharingStarted) -> None:
        self.event(
            Kind.SHARING_START, user_id=event.user_id, user_name=event.user_name, timestamp=event.timestamp
        )

    def on_SharingStopped(self, event: ev.SharingStopped) -> None:
        self.event(Kind.SHARING_STOP, user_id=event.user_id, user_name="", timestamp=event.timestamp)

    def on_FirstPacketTimestamp(self, event: ev.FirstPacketTimestamp) -> None:
        services.stream_first_packet(stream_id=self.claim.stream_id, timestamp=event.timestamp)

    # -- pauses, interruptions, connection state --

    def pause(self, *, paused: bool, timestamp: int, scope: str, reason: int | None) -> None:
        open_pause = ParticipantEvent.objects.filter(
            meeting_id=self.claim.meeting_id,
            kind=Kind.PAUSE,
            end_offset_ms__isnull=True,
            source_key__startswith=f"{self.sid}:{Kind.PAUSE}:",
        ).exists()
        if paused and not open_pause:
            services.stream_gap_open(
                meeting_id=self.claim.meeting_id,
                rtms_stream_id=self.sid,
                kind=Kind.PAUSE,
                started_at=_dt(timestamp),
                scope=scope,
                reason=f"{scope} paused" + (f" ({stop_reason_name(reason)})" if reason else ""),
            )
            services.stream_mark_paused(stream_id=self.claim.stream_id, owner=self.runner.owner, paused=True)
        elif not paused and open_pause:
            services.stream_gaps_close(
                meeting_id=self.claim.meeting_id,
                rtms_stream_id=self.sid,
                kind=Kind.PAUSE,
                ended_at=_dt(timestamp),
            )
            self.event(Kind.RESUME, user_id="", user_name="", timestamp=timestamp, reason=f"{scope} resumed")
            services.stream_mark_paused(stream_id=self.claim.stream_id, owner=self.runner.owner, paused=False)

    def on_StreamStateChanged(self, event: ev.StreamStateChanged) -> None:
        if event.state == StreamState.PAUSED:
            self.pause(paused=True, timestamp=event.timestamp, scope="stream", reason=event.reason)
        elif event.state == StreamState.RESUMED:
            self.pause(paused=False, timestamp=event.timestamp, scope="stream", reason=event.reason)

    def on_SessionStateChanged(self, event: ev.SessionStateChanged) -> None:
        if event.state == SessionState.PAUSED:
            self.pause(paused=True, timestamp=event.timestamp, scope="session", reason=event.reason)
        elif event.state == SessionState.RESUMED:
            self.pause(paused=False, timestamp=event.timestamp, scope="session", reason=event.reason)

    def _open_gap_exists(self) -> bool:
        return ParticipantEvent.objects.filter(
            meeting_id=self.claim.meeting_id,
            kind=Kind.INTERRUPTION,
            end_offset_ms__isnull=True,
            source_key__startswith=f"{self.sid}:{Kind.INTERRUPTION}:",
        ).exists()

    def on_Interrupted(self, event: ev.Interrupted) -> None:
        """One interruption per outage: a loss noticed while a gap is still open (e.g. media
        found lost together with signaling) is part of that gap, not a second, overlapping one."""
        if self._open_gap_exists():
            logger.info("stream %s: %s lost during an open interruption", self.sid, event.scope)
        else:
            self.gap_open(
                started_ms=event.timestamp, scope=event.scope, reason=f"{event.scope}: {event.reason}"
            )
        services.stream_mark_interrupted(stream_id=self.claim.stream_id, owner=self.runner.owner)

    def on_AudioDropped(self, event: ev.AudioDropped) -> None:
        """Audio that will never be in the WAV (the RTMS client's queue or the runner's audio
        buffer overflowed, a lost lease, a failed flush: ``event.reason``; counted in
        ``audio_frames_dropped`` by the recorder): a closed interruption gap of that
        participant, from the first to the end of the last dropped frame, so the silence in the
        WAV is explained, never silent."""
        participant_event_record(
            meeting=self.meeting,
            kind=Kind.INTERRUPTION,
            source_key=f"{self.sid}:{Kind.INTERRUPTION}:audio:{event.user_id}:{event.first_timestamp}"[:200],
            occurred_at=_dt(event.first_timestamp),
            participant=self.participant(event.user_id, event.user_name),
            reason=(
                f"audio dropped: {event.frames} frame(s) of {event.user_name or event.user_id} "
                f"{event.reason or 'not received in time by the ingest'} (counted in audio_frames_dropped)"
            )[:200],
            details={
                "rtms_stream_id": self.sid,
                "scope": "audio",
                "cause": event.reason or "ingest behind",
                "frames": event.frames,
                "bytes": event.bytes,
            },
            end_offset_ms=event.last_timestamp + 20 - self.claim.meeting_started_ms,
        )

    def on_Reconnecting(self, event: ev.Reconnecting) -> None:
        """The client waits before attempt ``event.attempt``: the stream is ``retrying`` (attempt,
        last error, next attempt, window end on the Stream row, and on the open gap for the
        meeting page)."""
        next_at, deadline = _dt(event.next_attempt_at), _dt(event.deadline_at)
        services.stream_mark_retrying(
            stream_id=self.claim.stream_id,
            owner=self.runner.owner,
            attempt=event.attempt,
            error=event.error,
            next_attempt_at=next_at,
            deadline_at=deadline,
        )
        if not self._open_gap_exists():  # a first connection that fails: the gap starts now
            self.gap_open(started_ms=_now_ms(), scope=event.scope, reason=f"{event.scope}: {event.error}")
        gap_retry_note(
            meeting=self.meeting,
            source_key_prefix=f"{self.sid}:{Kind.INTERRUPTION}:",
            retry={
                "attempt": event.attempt,
                "error": event.error[:300],
                "next_attempt_at": next_at.isoformat(),
                "deadline_at": deadline.isoformat(),
            },
        )

    def gap_open(self, *, started_ms: int, scope: str, reason: str) -> None:
        services.stream_gap_open(
            meeting_id=self.claim.meeting_id,
            rtms_stream_id=self.sid,
            kind=Kind.INTERRUPTION,
            started_at=_dt(started_ms),
            scope=scope,
            reason=reason,
        )

    def on_Connected(self, event: ev.Connected) -> None:
        now = timezone.now()
        services.stream_mark_active(
            stream_id=self.claim.stream_id, owner=self.runner.owner, reconnected=event.reconnect
        )
        services.stream_gaps_close(
            meeting_id=self.claim.meeting_id, rtms_stream_id=self.sid, kind=Kind.INTERRUPTION, ended_at=now
        )
        if not self.claim.was_connected and not event.reconnect:
            participant_event_record(
                meeting=self.meeting,
                kind=Kind.STREAM_START,
                source_key=f"{self.sid}:{Kind.STREAM_START}",
                occurred_at=now,
                details={"rtms_stream_id": self.sid, "media": list(event.media)},
            )

    def takeover_gap(self) -> None:
        """A claim of a stream someone else had connected: the gap since their last frame."""
        claim = self.claim
        if claim.previous_owner:
            reason = f"worker takeover: lease of {claim.previous_owner} expired"
        else:
            reason = "worker handover (previous worker shut down)"
        since = claim.last_frame_at or claim.lease_expires_at or timezone.now()
        self.gap_open(started_ms=int(since.timestamp() * 1000), scope="worker", reason=reason)

    def finalize(self, outcome: Outcome) -> None:
        now = timezone.now()
        for kind in (Kind.INTERRUPTION, Kind.PAUSE):
            services.stream_gaps_close(
                meeting_id=self.claim.meeting_id, rtms_stream_id=self.sid, kind=kind, ended_at=now
            )
        stream = Stream.objects.filter(pk=self.claim.stream_id).values("stop_reason").first() or {}
        stop_reason = outcome.stop_reason if outcome.stop_reason is not None else stream.get("stop_reason")
        participant_event_record(
            meeting=self.meeting,
            kind=Kind.STREAM_STOP,
            source_key=f"{self.sid}:{Kind.STREAM_STOP}",
            occurred_at=now,
            reason=(stop_reason_name(stop_reason) or outcome.detail)[:200],
            details={"rtms_stream_id": self.sid, "stop_reason": stop_reason, "detail": outcome.detail[:300]},
        )
        recording.mix_build(meeting_id=self.claim.meeting_id, rtms_stream_id=self.sid)
        services.stream_mark_ended(
            stream_id=self.claim.stream_id,
            state=outcome.state,
            stop_reason=outcome.stop_reason,
            detail=outcome.detail,
            owner=self.runner.owner,
            ended_at=now,
        )

"""Writes of the meeting domain. Keyword-only, typed, idempotent where ingestion calls them.

Ingestion (``streams``), tasks, admin actions, the API and the dashboard all write through these
functions. Side effects (live pushes, task enqueues) run in ``transaction.on_commit``; live pushes
with ``robust=True``: the data is saved first, a channel-layer hiccup only costs a live update
(the page catches up from ``seq``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from meetings import fragments, live, outbound
from meetings.models import (
    ChatMessage,
    Meeting,
    Participant,
    ParticipantEvent,
    TranscriptSegment,
    ZoomIdentity,
)
from meetings.summaries import summary_request

logger = logging.getLogger(__name__)
User = get_user_model()


def epoch_ms_to_datetime(epoch_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)


def meeting_offset_ms(*, meeting: Meeting, epoch_ms: int) -> int:
    """Milliseconds from the meeting start to ``epoch_ms`` (never negative)."""
    return max(0, int(epoch_ms - meeting.started_at.timestamp() * 1000))


def meeting_next_seq(*, meeting_id: int) -> int:
    """Allocate the next per-meeting change number. Call inside the writing transaction.

    The UPDATE row-locks the meeting until commit (PostgreSQL; SQLite serializes writers), so
    seq order is commit order: a reader that saw seq N never misses a smaller seq later.
    """
    Meeting.objects.filter(pk=meeting_id).update(last_seq=F("last_seq") + 1)
    return Meeting.objects.filter(pk=meeting_id).values_list("last_seq", flat=True).get()


@transaction.atomic
def meeting_get_or_create(
    *,
    product: str,
    zoom_uuid: str,
    started_at: dt.datetime | None = None,
    topic: str = "",
    zoom_meeting_id: str = "",
    host_user_id: str = "",
) -> tuple[Meeting, bool]:
    """The meeting for a Zoom instance id, created on its first ``rtms_started``.

    The owner is the user whose ``ZoomIdentity`` matches the host/operator id, if any.
    """
    owner = None
    if host_user_id:
        identity = ZoomIdentity.objects.filter(zoom_user_id=host_user_id).select_related("user").first()
        owner = identity.user if identity else None
    try:
        with transaction.atomic():
            meeting, created = Meeting.objects.get_or_create(
                product=product,
                zoom_uuid=zoom_uuid,
                defaults={
                    "started_at": started_at or timezone.now(),
                    "topic": topic,
                    "zoom_meeting_id": zoom_meeting_id,
                    "host_user_id": host_user_id,
                    "owner": owner,
                },
            )
    except IntegrityError:
        meeting, created = Meeting.objects.get(product=product, zoom_uuid=zoom_uuid), False
    if not created and meeting.status == Meeting.Status.ENDED:
        # A new stream for an ended meeting (streaming restarted): live again.
        Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.LIVE, ended_at=None)
        meeting.refresh_from_db()
        created = False
    live.after_commit(fragments.push_meeting_status, meeting.pk)
    if created:
        outbound.emit_on_commit(event="meeting.started", meeting_id=meeting.pk)
    return meeting, created


@transaction.atomic
def meeting_end(*, meeting: Meeting, ended_at: dt.datetime | None = None) -> Meeting:
    """Mark the meeting ended (idempotent), close open gaps and request the final summary.

    The summary is enqueued at once when the transcript is complete, else it waits until the
    meeting's last Whisper window is transcribed (``meetings.summaries``). The UPDATE below
    locks the meeting row until commit, which that gate relies on.
    """
    ended_at = max(ended_at or timezone.now(), meeting.started_at)
    updated = Meeting.objects.filter(pk=meeting.pk, status=Meeting.Status.LIVE).update(
        status=Meeting.Status.ENDED, ended_at=ended_at
    )
    Participant.objects.filter(meeting=meeting, is_present=True).update(
        is_present=False, last_left_at=ended_at
    )
    meeting.refresh_from_db()
    if updated:
        live.after_commit(fragments.push_meeting_status, meeting.pk)
        outbound.emit_on_commit(event="meeting.ended", meeting_id=meeting.pk)
        summary_request(meeting=meeting)
    return meeting


def meeting_share(*, meeting: Meeting, user) -> None:
    meeting.shared_with.add(user)


@transaction.atomic
def participant_upsert(*, meeting: Meeting, zoom_user_id: str, display_name: str = "") -> Participant:
    """The participant for a Zoom ``user_id``; fills in the display name when first known."""
    zoom_user_id = str(zoom_user_id)
    try:
        with transaction.atomic():
            participant, created = Participant.objects.get_or_create(
                meeting=meeting, zoom_user_id=zoom_user_id, defaults={"display_name": display_name}
            )
    except IntegrityError:
        participant, created = Participant.objects.get(meeting=meeting, zoom_user_id=zoom_user_id), False
    if not created and display_name and participant.display_name != display_name:
        participant.display_name = display_name
        participant.save(update_fields=["display_name"])
    if created:
        live.after_commit(fragments.push_participants, meeting.pk)
    return participant


@transaction.atomic
def transcript_segment_record(
    *,
    meeting: Meeting,
    source: str,
    source_key: str,
    text: str,
    start_ms: int,
    end_ms: int | None = None,
    participant: Participant | None = None,
    speaker_name: str = "",
    language: str = "",
    is_final: bool = True,
) -> tuple[TranscriptSegment, bool]:
    """Insert or revise one segment; returns ``(segment, changed)``.

    Idempotent on ``(meeting, source, source_key)``: the same content again changes nothing and
    pushes nothing; different content (a partial becoming final, a revision) updates the row,
    takes a new ``seq`` and pushes the replacement. A final segment is never downgraded to a
    partial. Empty text is refused with ``ValueError`` (no empty segments).
    """
    text = text.strip()
    if not text:
        raise ValueError("a transcript segment needs text")
    start_ms = max(0, int(start_ms))
    end_ms = None if end_ms is None else max(start_ms, int(end_ms))
    speaker_name = speaker_name or (participant.display_name if participant else "")
    fields = {
        "text": text,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "participant": participant,
        "speaker_name": speaker_name,
        "language": language,
        "is_final": is_final,
    }
    existing = (
        TranscriptSegment.objects.select_for_update()
        .filter(meeting=meeting, source=source, source_key=source_key)
        .first()
    )
    if existing is not None:
        if existing.is_final and not is_final:
            return existing, False
        if all(getattr(existing, name) == value for name, value in fields.items()):
            return existing, False
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.seq = meeting_next_seq(meeting_id=meeting.pk)
        existing.save()
        segment = existing
    else:
        segment = TranscriptSegment.objects.create(
            meeting=meeting,
            source=source,
            source_key=source_key,
            seq=meeting_next_seq(meeting_id=meeting.pk),
            **fields,
        )
    live.after_commit(fragments.push_segment, segment)
    if segment.is_final:
        outbound.emit_on_commit(event="transcript.segment", meeting_id=meeting.pk, object_id=segment.pk)
    return segment, True


@transaction.atomic
def chat_message_record(
    *,
    meeting: Meeting,
    source_key: str,
    text: str,
    sent_at: dt.datetime,
    participant: Participant | None = None,
    sender_name: str = "",
    recipient_name: str = "",
) -> tuple[ChatMessage, bool]:
    """Store one chat message once (idempotent on ``source_key``); returns ``(message, created)``."""
    existing = ChatMessage.objects.filter(meeting=meeting, source_key=source_key).first()
    if existing is not None:
        return existing, False
    message = ChatMessage.objects.create(
        meeting=meeting,
        source_key=source_key,
        seq=meeting_next_seq(meeting_id=meeting.pk),
        text=text,
        sent_at=sent_at,
        offset_ms=meeting_offset_ms(meeting=meeting, epoch_ms=int(sent_at.timestamp() * 1000)),
        participant=participant,
        sender_name=sender_name or (participant.display_name if participant else ""),
        recipient_name=recipient_name,
    )
    live.after_commit(fragments.push_chat, message.pk)
    return message, True


@transaction.atomic
def chat_message_revise(
    *, meeting: Meeting, source_key: str, text: str | None = None, deleted: bool = False
) -> ChatMessage | None:
    """Apply Zoom's edit (``text``) or deletion (``deleted=True``) of a stored chat message
    (RTMS chat ``operation_type`` 3 UPDATE / 2 DELETE, PROTOCOL.md §8.15, §10.5).

    The message keeps its place in the timeline and takes a new ``seq``; watching pages replace
    their copy, a reconnecting page catches it up. A deleted message keeps its row, marked
    ``is_deleted`` with its text cleared (shown as "(deleted)", left out of search). Idempotent:
    the same edit again, or a second deletion, changes and pushes nothing. Returns the message,
    or None when ``source_key`` is not stored (an edit of a message sent before the stream).
    """
    message = ChatMessage.objects.select_for_update().filter(meeting=meeting, source_key=source_key).first()
    if message is None:
        return None
    if deleted:
        if message.is_deleted:
            return message
        message.is_deleted, message.text = True, ""
    else:
        text = (text or "").strip()
        if message.is_deleted or not text or text == message.text:
            return message
        message.text = text
    message.seq = meeting_next_seq(meeting_id=meeting.pk)
    message.save(update_fields=["text", "is_deleted", "seq"])
    live.after_commit(fragments.push_chat, message.pk)
    return message


@transaction.atomic
def participant_event_record(
    *,
    meeting: Meeting,
    kind: str,
    source_key: str,
    occurred_at: dt.datetime,
    participant: Participant | None = None,
    reason: str = "",
    details: dict | None = None,
    end_offset_ms: int | None = None,
) -> tuple[ParticipantEvent, bool]:
    """Store one event once (idempotent on ``source_key``) and apply it to the participant.

    JOIN/LEAVE update ``first_joined_at``/``last_left_at``/``is_present``. Returns
    ``(event, created)``.
    """
    existing = ParticipantEvent.objects.filter(meeting=meeting, source_key=source_key).first()
    if existing is not None:
        return existing, False
    offset_ms = meeting_offset_ms(meeting=meeting, epoch_ms=int(occurred_at.timestamp() * 1000))
    event = ParticipantEvent.objects.create(
        meeting=meeting,
        participant=participant,
        kind=kind,
        source_key=source_key,
        seq=meeting_next_seq(meeting_id=meeting.pk),
        offset_ms=offset_ms,
        occurred_at=occurred_at,
        reason=reason,
        details=details or {},
        end_offset_ms=end_offset_ms,
    )
    if participant is not None and kind == ParticipantEvent.Kind.JOIN:
        Participant.objects.filter(pk=participant.pk, first_joined_at__isnull=True).update(
            first_joined_at=occurred_at
        )
        Participant.objects.filter(pk=participant.pk).update(is_present=True)
    elif participant is not None and kind == ParticipantEvent.Kind.LEAVE:
        Participant.objects.filter(pk=participant.pk).update(is_present=False, last_left_at=occurred_at)
    live.after_commit(fragments.push_event, event.pk)
    return event, True


@transaction.atomic
def gap_retry_note(*, meeting: Meeting, source_key_prefix: str, retry: dict) -> ParticipantEvent | None:
    """Record on the open interruption whose key starts with ``source_key_prefix`` that the
    stream is retrying: ``retry`` = ``{"attempt": int (next, 1-based), "error": str,
    "next_attempt_at": ISO 8601, "deadline_at": ISO 8601}`` in ``details["retry"]``, a new
    ``seq``, pushed to watching pages (the health badge shows it). None without an open gap."""
    event = (
        ParticipantEvent.objects.select_for_update()
        .filter(
            meeting=meeting,
            kind=ParticipantEvent.Kind.INTERRUPTION,
            source_key__startswith=source_key_prefix,
            end_offset_ms__isnull=True,
        )
        .order_by("offset_ms", "pk")
        .first()
    )
    if event is None:
        return None
    event.details = {**event.details, "retry": retry}
    event.seq = meeting_next_seq(meeting_id=meeting.pk)
    event.save(update_fields=["details", "seq"])
    live.after_commit(fragments.push_event, event.pk)
    return event


@transaction.atomic
def gap_close(*, meeting: Meeting, source_key: str, ended_at: dt.datetime) -> ParticipantEvent | None:
    """Close an open interruption or pause (``end_offset_ms``); idempotent."""
    event = (
        ParticipantEvent.objects.select_for_update()
        .filter(meeting=meeting, source_key=source_key, end_offset_ms__isnull=True)
        .first()
    )
    if event is None:
        return None
    event.end_offset_ms = max(
        event.offset_ms, meeting_offset_ms(meeting=meeting, epoch_ms=int(ended_at.timestamp() * 1000))
    )
    event.seq = meeting_next_seq(meeting_id=meeting.pk)
    event.save(update_fields=["end_offset_ms", "seq"])
    live.after_commit(fragments.push_event, event.pk)
    return event


@transaction.atomic
def transcript_track_prune(
    *, meeting: Meeting, source: str, key_prefixes: tuple[str, ...], keep_source_keys: set[str]
) -> int:
    """Delete ``source`` segments whose key starts with one of ``key_prefixes`` and is not kept.

    Used by Whisper re-transcription to replace a recording's earlier Whisper segments (live or
    an earlier run) by the new ones, and to drop a live partial that its final window found
    empty. Returns the number deleted. Watching pages remove them after the commit
    (``fragments.push_segments_deleted``).
    """
    if not key_prefixes:
        return 0
    prefix_q = Q()
    for prefix in key_prefixes:
        prefix_q |= Q(source_key__startswith=prefix)
    segment_ids = list(
        TranscriptSegment.objects.filter(meeting=meeting, source=source)
        .filter(prefix_q)
        .exclude(source_key__in=keep_source_keys)
        .values_list("pk", flat=True)
    )
    if not segment_ids:
        return 0
    deleted, _ = TranscriptSegment.objects.filter(pk__in=segment_ids).delete()
    live.after_commit(fragments.push_segments_deleted, meeting.pk, segment_ids)
    return deleted

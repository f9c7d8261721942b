"""Writes of participants: who joined, their timeline events and stream gaps, and the names people give speakers."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from meetings import fragments, live
from meetings.models import (
    Meeting,
    Participant,
    ParticipantEvent,
)
from meetings.services.meetings import meeting_next_seq, meeting_offset_ms


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


SPEAKER_NAME_MAX = 200


def _clean_text(text: str, *, max_length: int) -> str:
    """One line: whitespace collapsed; control characters or more than ``max_length``
    characters raise ``ValueError``."""
    cleaned = " ".join((text or "").split())
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in cleaned):
        raise ValueError("control characters are not allowed")
    if len(cleaned) > max_length:
        raise ValueError(f"at most {max_length} characters (got {len(cleaned)})")
    return cleaned


@transaction.atomic
def participant_rename(*, participant: Participant, name: str) -> Participant:
    """Give a speaker the name shown everywhere (``Participant.custom_name``); Zoom's own
    ``display_name`` is kept. An empty name, or Zoom's name itself, resets to Zoom's name.

    Whitespace is collapsed; more than :data:`SPEAKER_NAME_MAX` characters or control
    characters raise ``ValueError`` (nothing is changed). Every watching page updates its lines,
    participants, talk time and summary after the commit (``fragments.push_speaker_names``);
    an unchanged name changes and pushes nothing. Returns the participant.
    """
    cleaned = _clean_text(name, max_length=SPEAKER_NAME_MAX)
    if cleaned == participant.display_name:
        cleaned = ""
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    if locked.custom_name != cleaned:
        locked.custom_name = cleaned
        locked.save(update_fields=["custom_name"])
        live.after_commit(fragments.push_speaker_names, locked.meeting_id)
    participant.custom_name = locked.custom_name
    return participant

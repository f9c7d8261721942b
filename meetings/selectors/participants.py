"""Reads of participants: the list, talk time, timeline events and the names people gave speakers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Sum
from django.db.models.functions import Coalesce, Greatest

from meetings.models import (
    Meeting,
    Participant,
    ParticipantEvent,
    TranscriptSegment,
)

EVENT_WINDOW = 100  # timeline events on the first paint
# Events shown in the timeline; active-speaker changes only move the indicator.
TIMELINE_KINDS = [
    kind for kind in ParticipantEvent.Kind.values if kind != ParticipantEvent.Kind.ACTIVE_SPEAKER
]


def event_window(*, meeting: Meeting, size: int = EVENT_WINDOW) -> list[ParticipantEvent]:
    """The latest timeline events (joins, leaves, interruptions, stream start/stop...)."""
    rows = list(
        ParticipantEvent.objects.filter(meeting=meeting, kind__in=TIMELINE_KINDS)
        .select_related("participant")
        .order_by("-offset_ms", "-pk")[:size]
    )
    rows.reverse()
    return rows


def participant_list(*, meeting: Meeting) -> list[Participant]:
    """Participants, present ones first, each with ``is_active_speaker`` set."""
    active_id = (
        ParticipantEvent.objects.filter(meeting=meeting, kind=ParticipantEvent.Kind.ACTIVE_SPEAKER)
        .order_by("-offset_ms", "-pk")
        .values_list("participant_id", flat=True)
        .first()
    )
    participants = list(
        Participant.objects.filter(meeting=meeting).order_by("-is_present", "first_joined_at", "pk")
    )
    for participant in participants:
        participant.is_active_speaker = participant.pk == active_id and participant.is_present
        participant.meeting = meeting  # the panel links to the rename form: no query each
    return participants


@dataclass(frozen=True)
class TalkTime:
    speaker: str
    talk_ms: int
    percent: int  # of the loudest speaker's time (bar width)
    share: int  # of all speech, rounded


def talk_time_list(*, meeting: Meeting) -> list[TalkTime]:
    """Per-speaker speaking time from final segments, longest first. One aggregate query.

    Summed per speaker and source; when both Zoom's transcript and Whisper cover a speaker (the
    live fallback overlapping Zoom), the larger of the two totals counts, so speech is never
    counted twice. A segment without ``end_ms`` counts as zero. Speakers are shown by the name
    on the page: a renamed participant's custom name, else Zoom's ``speaker_name``."""
    rows = (
        TranscriptSegment.objects.filter(meeting=meeting, is_final=True)
        .values("speaker_name", "source", "participant__custom_name")
        .annotate(talk_ms=Sum(Greatest(Coalesce(F("end_ms"), F("start_ms")) - F("start_ms"), 0)))
        .order_by()
    )
    per_source: dict[tuple[str, str], int] = {}
    for row in rows:
        speaker = row["participant__custom_name"] or row["speaker_name"] or "Unknown speaker"
        key = (speaker, row["source"])
        per_source[key] = per_source.get(key, 0) + (row["talk_ms"] or 0)
    per_speaker: dict[str, int] = {}
    for (speaker, _source), talk_ms in per_source.items():
        per_speaker[speaker] = max(per_speaker.get(speaker, 0), talk_ms)
    ranked = sorted(per_speaker.items(), key=lambda item: (-item[1], item[0]))
    total = sum(per_speaker.values())
    longest = max(per_speaker.values(), default=0)
    return [
        TalkTime(
            speaker=speaker,
            talk_ms=talk_ms,
            percent=round(100 * talk_ms / longest) if longest else 0,
            share=round(100 * talk_ms / total) if total else 0,
        )
        for speaker, talk_ms in ranked
    ]


def speaker_custom_names(*, meeting_id: int) -> dict[int, str]:
    """``{participant pk: custom name}`` of the meeting's renamed speakers (one small query).

    Pages render each transcript line's speaker with it (``meeting_extras.speaker_label``);
    participants without a custom name are absent (their lines keep Zoom's ``speaker_name``)."""
    return dict(
        Participant.objects.filter(meeting_id=meeting_id)
        .exclude(custom_name="")
        .values_list("pk", "custom_name")
    )


def participant_get(*, meeting: Meeting, participant_id: int) -> Participant | None:
    """A participant of ``meeting`` (one the caller may see), else None (answer 404)."""
    return Participant.objects.filter(meeting=meeting, pk=participant_id).first()

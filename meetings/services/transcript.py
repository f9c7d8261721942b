"""Writes of transcript lines: one idempotent row per final (Zoom's captions or Whisper), and pruning a
track Whisper re-transcribed.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from meetings import fragments, live, outbound
from meetings.models import (
    Meeting,
    Participant,
    TranscriptSegment,
)
from meetings.services.meetings import meeting_next_seq


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

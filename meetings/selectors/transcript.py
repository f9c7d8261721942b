"""Reads of transcript lines for the dashboard: the keyset window of the first paint, counts, the lag."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from meetings import transcription
from meetings.models import (
    Meeting,
    TranscriptSegment,
)

TRANSCRIPT_WINDOW = 200  # segments on the first paint and per "load earlier" page


@dataclass(frozen=True)
class SegmentWindow:
    """A page of segments in timeline order, and the cursor of the page before it (if any)."""

    segments: list[TranscriptSegment]
    earlier_cursor: tuple[int, int] | None  # (start_ms, pk) of the first segment shown


def segment_window(
    *, meeting: Meeting, before: tuple[int, int] | None = None, size: int = TRANSCRIPT_WINDOW
) -> SegmentWindow:
    """The ``size`` segments just before ``before`` = ``(start_ms, pk)`` (or the latest ones),
    in ``(start_ms, pk)`` order. Keyset pagination on the ``meetings_segment_timeline`` index:
    the cost does not grow with the meeting's length. One query (``size + 1`` rows)."""
    queryset = TranscriptSegment.objects.filter(meeting=meeting)
    if before is not None:
        start_ms, pk = before
        queryset = queryset.filter(Q(start_ms__lt=start_ms) | Q(start_ms=start_ms, pk__lt=pk))
    rows = list(queryset.order_by("-start_ms", "-pk")[: size + 1])
    has_earlier = len(rows) > size
    rows = rows[:size]
    rows.reverse()
    cursor = (rows[0].start_ms, rows[0].pk) if has_earlier and rows else None
    return SegmentWindow(segments=rows, earlier_cursor=cursor)


def segment_count(*, meeting: Meeting) -> int:
    return TranscriptSegment.objects.filter(meeting=meeting).count()


def transcription_pending_seconds(*, meeting: Meeting) -> int:
    """Seconds of the meeting's audio still to be transcribed (Whisper windows queued or running,
    a re-transcription in progress; ``meetings.transcription``), rounded up; 0 when complete.
    The final summary waits for them."""
    return transcription.pending_audio_seconds(meeting_id=meeting.pk)


def transcript_lag_ms(*, meeting: Meeting) -> int:
    """Milliseconds the live transcript is behind: now minus the end of the oldest audio not
    transcribed yet (``meetings.transcription``); 0 when caught up."""
    return transcription.transcript_lag_ms(meeting_id=meeting.pk)


def segment_get(*, meeting: Meeting, segment_id: int) -> TranscriptSegment | None:
    """A transcript line of ``meeting``, else None."""
    return TranscriptSegment.objects.filter(meeting=meeting, pk=segment_id).first()

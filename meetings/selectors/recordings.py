"""Reads of audio recordings for replay: where a clicked line plays, the default track."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meetings.models import (
    Meeting,
    TranscriptSegment,
)


@dataclass(frozen=True)
class PlaybackCue:
    """Where a transcript line is heard: ``recording`` from ``offset_ms`` (its start relative to
    the recording's first sample, never negative)."""

    recording: Any  # AudioRecording
    offset_ms: int


def playback_cue(*, meeting: Meeting, segment_id: int) -> PlaybackCue | None:
    """The recording to play a line of ``meeting`` from, or None (no such line, no recording).

    Prefers the **mixed** recording (everyone, as heard in the meeting) of the stream whose span
    covers the line's start; while a meeting is live the mix does not exist yet (it is built at
    stream end, ``streams.recording.mix_build``), so it falls back to the **speaker's own
    track** covering it. Seek = ``segment.start_ms − recording.start_ms``.
    """
    from meetings.models import AudioRecording

    segment = TranscriptSegment.objects.filter(meeting=meeting, pk=segment_id).first()
    if segment is None:
        return None
    recordings = list(
        AudioRecording.objects.filter(meeting=meeting, data_bytes__gt=0).order_by("start_ms", "pk")
    )

    def covers(recording) -> bool:
        return recording.start_ms <= segment.start_ms < recording.start_ms + recording.duration_ms

    mixed = [r for r in recordings if r.kind == AudioRecording.Kind.MIXED]
    own = [r for r in recordings if r.kind == AudioRecording.Kind.PARTICIPANT]
    own = [r for r in own if segment.participant_id and r.participant_id == segment.participant_id]
    for candidates in (mixed, own):
        found = next((r for r in candidates if covers(r)), None)
        if found is not None:
            return PlaybackCue(recording=found, offset_ms=segment.start_ms - found.start_ms)
    return None


def recording_default(*, meeting: Meeting):
    """The recording the player loads first: the earliest mixed one with audio, else None."""
    from meetings.models import AudioRecording

    return (
        AudioRecording.objects.filter(meeting=meeting, kind=AudioRecording.Kind.MIXED, data_bytes__gt=0)
        .order_by("start_ms", "pk")
        .first()
    )

"""Reads of the ingestion side that ``meetings`` needs without importing ``streams``.

:func:`transcription_pending_ms` is registered with ``meetings.transcription`` at start-up
(``StreamsConfig.ready``): the meetings side asks it how much audio is still to be transcribed
(its final summary waits for that, and the meeting page shows it). :func:`transcription_lag_ms`
is registered the same way: how far behind the live transcript is.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db.models import Min
from django.utils import timezone

from transcription.audio import BYTES_PER_MS
from transcription.models import AudioWindow, Retranscription

# A window still pending this long after it was queued, or a re-transcription that has not moved
# for this long, has lost its worker (an embedded server restarted, retries exhausted): it no
# longer holds the summary back. Windows take seconds; a backlog of half an hour means trouble.
ABANDONED_AFTER = dt.timedelta(minutes=30)


def transcription_pending_ms(meeting_id: int, *, now: dt.datetime | None = None) -> int:
    """Milliseconds of the meeting's audio not transcribed yet: pending Whisper windows (queued or
    running; a partial and the final of the same start count once, as the longer) plus what the
    running re-transcriptions have left. 0 when the transcript is complete."""
    since = (now or timezone.now()) - ABANDONED_AFTER
    spans: dict[tuple[int, int], int] = {}
    for recording_id, byte_offset, byte_length in AudioWindow.objects.filter(
        recording__meeting_id=meeting_id, status=AudioWindow.Status.PENDING, queued_at__gte=since
    ).values_list("recording_id", "byte_offset", "byte_length"):
        key = (recording_id, byte_offset)
        spans[key] = max(spans.get(key, 0), byte_length)
    pending = -(-sum(spans.values()) // BYTES_PER_MS)  # any pending window is at least 1 ms
    for audio_ms, done_ms in Retranscription.objects.filter(
        meeting_id=meeting_id, status=Retranscription.Status.RUNNING, updated_at__gte=since
    ).values_list("audio_ms", "done_ms"):
        pending += max(1, audio_ms - done_ms)
    return pending


def transcription_lag_ms(meeting_id: int, *, now_ms: int | None = None) -> int:
    """How far behind the meeting's live Whisper transcript is, in ms: now minus the end of the
    oldest audio not transcribed yet (the wall-clock time its last speech arrived,
    ``AudioWindow.speech_end_wall_ms``, over the pending windows). 0 when nothing is pending.
    ``now_ms``: epoch ms (default: now). Windows abandoned (``ABANDONED_AFTER``) do not count."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    since = timezone.now() - ABANDONED_AFTER
    oldest = AudioWindow.objects.filter(
        recording__meeting_id=meeting_id,
        status=AudioWindow.Status.PENDING,
        queued_at__gte=since,
        speech_end_wall_ms__isnull=False,
    ).aggregate(oldest=Min("speech_end_wall_ms"))["oldest"]
    return 0 if oldest is None else max(0, now_ms - oldest)

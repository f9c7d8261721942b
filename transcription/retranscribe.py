"""Re-transcription after the meeting: a meeting's stored recordings into its Whisper track.

:func:`recording_retranscribe` (the ``transcription.tasks.recording_retranscribe`` task, the
``retranscribe`` command) reads every participant recording (the mixed one only for a stream
without per-participant recordings), cuts windows offline at pauses with the live cutter
(:func:`transcription.cutter.cut_windows`), transcribes each with
:func:`transcription.service.transcribe_samples` (the previous window as its lead, the other
participants for cross-talk) and writes them with ``source_key = "rt:<recording>:<byte_offset>"``,
replacing earlier Whisper segments of those recordings; Zoom's track is untouched, so the two
tracks stand side by side.

A :class:`Retranscription` row tells ``meetings`` how much audio is left; when the run ends,
``meetings.services.summaries.summary_request_when_transcribed`` asks for the final summary of the
new transcript once. A recording that cannot be read is logged and counted
(``failed_recordings``); database and engine errors propagate (the run is marked failed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils import timezone

from meetings.models import AudioRecording, Meeting, TranscriptSegment
from meetings.services.summaries import summary_request_when_transcribed
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from transcription.audio import BYTES_PER_MS, AudioFormatError, read_wav
from transcription.cutter import PEAK_CONTEXT_MS, cut_windows
from transcription.engines import get_engine
from transcription.models import Retranscription
from transcription.service import lead_between, recording_path, transcribe_samples

logger = logging.getLogger(__name__)


def retranscribe_source_key(recording_id: int, byte_offset: int) -> str:
    return f"rt:{recording_id}:{byte_offset}"


@dataclass
class RetranscribeResult:
    meeting_id: int
    recordings: int = 0
    windows: int = 0
    segments: int = 0
    removed: int = 0
    audio_seconds: float = 0.0
    compute_seconds: float = 0.0
    failed_recordings: int = 0


def _span(samples: np.ndarray, offset_ms: int, count: int) -> np.ndarray:
    """``count`` samples from ``offset_ms`` into ``samples`` (zeros outside it)."""
    out = np.zeros(count, dtype=np.float32)
    first = offset_ms * 16
    lo, hi = max(0, first), min(samples.size, first + count)
    if hi > lo:
        out[lo - first : hi - first] = samples[lo:hi]
    return out


def meeting_recordings_for_whisper(*, meeting: Meeting) -> list[AudioRecording]:
    """Participant recordings; the mixed recording only for streams without per-participant ones."""
    recordings = list(meeting.recordings.select_related("participant").order_by("pk"))
    per_participant = {r.stream_key for r in recordings if r.kind == AudioRecording.Kind.PARTICIPANT}
    return [
        r
        for r in recordings
        if r.kind == AudioRecording.Kind.PARTICIPANT or r.stream_key not in per_participant
    ]


def recording_retranscribe(
    *,
    meeting_id: int,
    recording_id: int | None = None,
    progress: Callable[[float, float], None] | None = None,
    engine=None,
) -> RetranscribeResult:
    """Re-transcribe a meeting's stored recordings (or one of them) into the Whisper track.

    ``progress(done_seconds, total_seconds)`` is called after each window (audio seconds).
    Earlier Whisper segments of the re-transcribed recordings (live ``w:`` and earlier ``rt:``
    keys not produced again) are removed afterwards, so re-running converges. Returns counts.

    Like live windows, the run holds the final summary back: a :class:`Retranscription` row
    tells ``meetings`` how much audio is left (the page shows it), and when the run ends the
    final summary of the new transcript is requested once
    (``summary_request_when_transcribed(transcript_replaced=True)``; nothing new for a run that
    changed nothing, one summary per transcript revision).
    """
    meeting = Meeting.objects.get(pk=meeting_id)
    recordings = meeting_recordings_for_whisper(meeting=meeting)
    if recording_id is not None:
        recordings = [r for r in recordings if r.pk == recording_id]
    result = RetranscribeResult(meeting_id=meeting.pk)
    loaded = []
    for recording in recordings:
        try:
            samples, _info = read_wav(recording_path(recording))
        except (OSError, AudioFormatError) as exc:
            logger.error("recording %s (%s) cannot be read: %s", recording.pk, recording.path, exc)
            result.failed_recordings += 1
            continue
        loaded.append((recording, samples))
    engine = engine or get_engine()
    run = _RunProgress(
        Retranscription.objects.create(meeting=meeting, audio_ms=sum(s.size for _, s in loaded) // 16)
    )
    try:
        _retranscribe_loaded(meeting, loaded, result, engine=engine, progress=progress, run=run)
    except BaseException:
        run.finish(Retranscription.Status.FAILED)
        raise
    run.finish(Retranscription.Status.DONE)
    return result


@dataclass
class _RunProgress:
    """A :class:`Retranscription` row moving along: ``done_ms`` after every window (what the
    meeting page shows as audio left), ``meetings`` told at most once a second while it runs."""

    run: Retranscription
    base_ms: int = 0  # audio of the recordings already finished
    told_at: float = 0.0
    NOTIFY_EVERY_S = 1.0

    def window_done(self, end_ms: int) -> None:
        """The current recording is transcribed up to ``end_ms`` (ms into its audio)."""
        now = timezone.now()
        Retranscription.objects.filter(pk=self.run.pk).update(done_ms=self.base_ms + end_ms, updated_at=now)
        if time.monotonic() - self.told_at >= self.NOTIFY_EVERY_S:
            self.told_at = time.monotonic()
            summary_request_when_transcribed(meeting_id=self.run.meeting_id)

    def recording_done(self, duration_ms: int) -> None:
        self.base_ms += duration_ms

    def finish(self, status: str) -> None:
        """Mark the run ``status``; a finished run asks for the summary of the new transcript,
        a failed one only stops holding a waiting summary back."""
        now = timezone.now()
        done = status == Retranscription.Status.DONE
        Retranscription.objects.filter(pk=self.run.pk).update(
            status=status, finished_at=now, updated_at=now, **({"done_ms": self.run.audio_ms} if done else {})
        )
        try:
            summary_request_when_transcribed(meeting_id=self.run.meeting_id, transcript_replaced=done)
        except Exception:
            if done:
                raise
            logger.exception("re-transcription %s failed, and so did the summary request", self.run.pk)


def _retranscribe_loaded(
    meeting: Meeting,
    loaded: list[tuple[AudioRecording, np.ndarray]],
    result: RetranscribeResult,
    *,
    engine,
    progress: Callable[[float, float], None] | None,
    run: _RunProgress,
) -> None:
    total = sum(s.size for _, s in loaded) / 16000
    done = 0.0
    for recording, samples in loaded:
        siblings = [
            (other.start_ms, other_samples)
            for other, other_samples in loaded
            if other.pk != recording.pk
            and other.stream_key == recording.stream_key
            and recording.kind == other.kind == AudioRecording.Kind.PARTICIPANT
        ]
        result.recordings += 1
        result.audio_seconds += samples.size / 16000
        keep: set[str] = set()
        previous, previous_text = None, None
        for window in cut_windows(samples, start_ms=recording.start_ms):
            chunk = samples[window.byte_offset // 2 : (window.byte_offset + window.byte_length) // 2]
            started = time.perf_counter()
            others = [_span(o, window.start_ms - o_start, chunk.size) for o_start, o in siblings]
            end = (window.byte_offset + window.byte_length) // 2
            context = samples[max(0, end - PEAK_CONTEXT_MS * 16) : end]
            text = transcribe_samples(
                chunk,
                start_ms=window.start_ms,
                speech_ms=window.speech_ms,
                others=others,
                engine=engine,
                context=context,
                lead=lead_between(samples, previous, window, previous_text),
            )
            previous, previous_text = window, text.text if text is not None else None
            result.compute_seconds += time.perf_counter() - started
            result.windows += 1
            if text is not None:
                key = retranscribe_source_key(recording.pk, window.byte_offset)
                keep.add(key)
                transcript_segment_record(
                    meeting=meeting,
                    source=TranscriptSegment.Source.WHISPER,
                    source_key=key,
                    text=text.text,
                    start_ms=text.start_ms,
                    end_ms=text.end_ms,
                    participant=recording.participant,
                    language=settings.WHISPER_LANGUAGE,
                    is_final=True,
                )
                result.segments += 1
            done += window.byte_length / BYTES_PER_MS / 1000
            run.window_done(end // 16)
            if progress is not None:
                progress(done, total)
        result.removed += transcript_track_prune(
            meeting=meeting,
            source=TranscriptSegment.Source.WHISPER,
            key_prefixes=(f"w:{recording.pk}:", f"rt:{recording.pk}:"),
            keep_source_keys=keep,
        )
        run.recording_done(samples.size // 16)
    if progress is not None:
        progress(total, total)

"""Live Whisper windows: stored, queued, transcribed into the meeting's Whisper track.

* :func:`audio_windows_create` / :func:`audio_window_create` persist windows cut by
  :class:`transcription.live.LiveTranscriber` (idempotent on the byte range) and enqueue
  ``transcription.tasks.audio_window_transcribe`` on commit, with the window id only.
  :func:`audio_windows_resume` enqueues the windows left ``pending`` again at start-up.
* The queue's order (:func:`audio_window_next`, the task's body): finals before partials, oldest
  first (:func:`window_queue_order`); a window is claimed by a compare-and-set on
  ``started_at``, and stale partials are dropped without a model call.
* :func:`audio_window_transcribe` reads the window's bytes from the recording file, runs
  :func:`transcription.service.transcribe_samples` and writes one
  ``TranscriptSegment(source="whisper")`` per window through
  ``meetings.services.transcript.transcript_segment_record`` (the speaker is the window's participant,
  times are meeting-relative ms). Partial and final windows starting at the same byte write the
  same segment (``source_key = "w:<recording>:<byte_offset>"``): the final replaces the partial,
  a partial never replaces the final (the service refuses the downgrade). A final window whose
  tentative twin (the same range, cut 300 ms into the pause) is transcribed reuses its text
  without running the model; a window continuing the same participant's previous one is decoded
  with it as its lead (:class:`transcription.service.Lead`).

A finished window tells ``meetings.services.summaries.summary_request_when_transcribed``: an
ended meeting's final summary waits until no window is pending
(``transcription.selectors.transcription_pending_ms``), then is made once.

Bad input never raises out of these functions for a *recording* problem: a missing file, a
truncated file, a wrong format are logged and the window is marked ``failed``; silence or
noise is marked ``empty`` and stores nothing. Database errors propagate (the task retries them).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

import jobs
from meetings import fragments as meeting_fragments
from meetings.models import AudioRecording, Meeting, TranscriptSegment
from meetings.services.summaries import summary_request_when_transcribed
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from transcription.audio import BYTES_PER_MS, AudioFormatError, read_pcm_range
from transcription.cutter import PEAK_CONTEXT_MS
from transcription.engines import EngineUnavailable
from transcription.live import WindowSpec
from transcription.models import AudioWindow
from transcription.selectors import transcription_lag_ms
from transcription.service import Lead, lead_between, lead_first_byte, recording_path, transcribe_samples

logger = logging.getLogger(__name__)
TRANSCRIBE_TASK = "transcription.tasks.audio_window_transcribe"  # enqueued by name: tasks import us

W = AudioWindow.Status
PARTIAL_MAX_AGE_S = 2.0
# A window claimed longer ago than this has lost its worker (the task's hard time limit is 150 s):
# another worker may take it.
CLAIM_STALE_AFTER = dt.timedelta(seconds=180)
CLAIM_ATTEMPTS = 5
# A window finishing this late (or a new one while the oldest pending is this old) updates the
# "Transcript N s behind" line of the meeting's pages.
LAG_PUSH_FROM_MS = 2_000
SUPERSEDED = "superseded by a later window"
# A final window whose tentative twin (same range, cut 300 ms into the pause) is being
# transcribed waits this long for it rather than running the model a second time; a window
# waits as long for the window it continues (its lead).
TENTATIVE_WAIT_S = 3.0


def live_source_key(recording_id: int, byte_offset: int) -> str:
    return f"w:{recording_id}:{byte_offset}"


# --- live windows ------------------------------------------------------------------------------


def audio_window_create(*, spec: WindowSpec) -> AudioWindow | None:
    """Store one window and enqueue its transcription on commit; None if it already existed."""
    with transaction.atomic():
        window, created = AudioWindow.objects.get_or_create(
            recording_id=spec.recording_id,
            byte_offset=spec.byte_offset,
            byte_length=spec.byte_length,
            is_final=spec.is_final,
            defaults={
                "stream_id": spec.stream_id,
                "participant_id": spec.participant_id,
                "start_ms": spec.start_ms,
                "end_ms": spec.end_ms,
                "source_key": live_source_key(spec.recording_id, spec.byte_offset),
                "speech_end_wall_ms": spec.speech_end_wall_ms,
                "is_tentative": spec.is_tentative,
            },
        )
        if not created:
            return None
        jobs.enqueue(TRANSCRIBE_TASK, window.pk, on_commit=True)
    return window


def audio_windows_resume(*, release_claims: bool = False) -> int:
    """Enqueue one task per ``pending`` window again (at start-up: windows left when the server
    or a Celery worker stopped, ``jobs.inprocess.shutdown``, or whose task was lost
    with the broker); the tasks take them in the queue's order (:func:`audio_window_next`).
    ``release_claims``: the windows' claims are cleared first (embedded mode at start: no other
    process can be transcribing them; in scaled mode a claim is only taken over once stale).
    Returns how many. Safe to repeat: a window is transcribed once (finished ones are skipped,
    segments have idempotency keys)."""
    pending = AudioWindow.objects.filter(status=W.PENDING)
    if release_claims:
        pending.filter(started_at__isnull=False).update(started_at=None)
    ids = list(pending.order_by("queued_at", "pk").values_list("pk", flat=True))
    for window_id in ids:
        jobs.enqueue(TRANSCRIBE_TASK, window_id)
    if ids:
        logger.info("resumed %d pending Whisper window(s)", len(ids))
    return len(ids)


def audio_windows_create(*, specs: Iterable[WindowSpec]) -> list[AudioWindow]:
    """:func:`audio_window_create` for each spec (the ingest runner's batch); returns the new rows.
    When a meeting's transcript is behind by ``LAG_PUSH_FROM_MS`` or more, its pages are told
    how far (the workers may be busy with other meetings: nothing of this one finishes)."""
    specs = list(specs)
    created = [w for spec in specs if (w := audio_window_create(spec=spec)) is not None]
    for meeting_id in {spec.meeting_id for spec in specs} if created else ():
        lag_ms = transcription_lag_ms(meeting_id)
        if lag_ms >= LAG_PUSH_FROM_MS:
            transaction.on_commit(
                lambda m=meeting_id, lag=lag_ms: meeting_fragments.push_transcript_lag(m, lag_ms=lag),
                robust=True,
            )
    return created


def _superseded(window: AudioWindow) -> bool:
    """A partial is stale once a longer window of the same start is queued or done, or when it
    waited in the queue longer than ``PARTIAL_MAX_AGE_S`` (a newer one is on its way; the finals
    behind it matter more than an old partial). Finals are never stale. Finals going first is
    the queue's order (:func:`audio_window_next`), not a reason to drop a partial."""
    if window.is_final:
        return False
    if (timezone.now() - window.queued_at).total_seconds() > PARTIAL_MAX_AGE_S:
        return True
    return (
        AudioWindow.objects.filter(recording_id=window.recording_id, byte_offset=window.byte_offset)
        .filter(byte_length__gt=window.byte_length)
        .exists()
        or AudioWindow.objects.filter(
            recording_id=window.recording_id, byte_offset=window.byte_offset, is_final=True
        ).exists()
    )


# --- the queue's order ---------------------------------------------------------------------------


def _claimable(now):
    """Pending windows nobody works on: never claimed, or claimed by a worker that must be gone
    (longer ago than ``CLAIM_STALE_AFTER``: the task's hard time limit has passed)."""
    return AudioWindow.objects.filter(status=W.PENDING).filter(
        Q(started_at__isnull=True) | Q(started_at__lt=now - CLAIM_STALE_AFTER)
    )


def window_queue_order(queryset):
    """``queryset`` of windows in the order the transcription workers take them: finals (and
    tentative finals, the final's transcript started early) before partials, oldest first."""
    return queryset.annotate(
        urgency=Case(When(Q(is_final=True) | Q(is_tentative=True), then=Value(0)), default=Value(1))
    ).order_by("urgency", "queued_at", "pk")


def _claim_next() -> AudioWindow | None:
    """Claim the most urgent claimable window (sets ``started_at``; compare-and-set on the value
    read, so two workers never claim the same window). None when nothing is left."""
    for _ in range(CLAIM_ATTEMPTS):
        now = timezone.now()
        candidates = list(
            window_queue_order(_claimable(now)).values_list("pk", "started_at")[:CLAIM_ATTEMPTS]
        )
        if not candidates:
            return None
        for pk, started_at in candidates:
            if AudioWindow.objects.filter(pk=pk, status=W.PENDING, started_at=started_at).update(
                started_at=now
            ):
                return (
                    AudioWindow.objects.select_related("recording", "recording__meeting", "participant")
                    .filter(pk=pk)
                    .first()
                )
    return None


def audio_window_next(*, window_id: int) -> str:
    """The transcription task's body: one task is enqueued per window, and each task
    transcribes the most urgent window pending *at the moment it runs*, not necessarily the one
    it was enqueued for (``window_id``). So the queue's order is ours in both run modes, whatever
    the broker does: finals before partials, oldest first (:func:`window_queue_order`), and
    partials that went stale while finals ran are dropped (marked ``empty``, superseded) without
    a model call, the next window taken instead. There are as many tasks as windows, so every
    window is taken once; a final is never dropped (after the meeting if need be).

    When nothing is claimable, ``window_id`` itself is transcribed if it is still pending and
    its claim is stale (its worker died). Returns the status of the window transcribed (or
    ``"none"``).
    """
    while (window := _claim_next()) is not None:
        if _superseded(window):
            _finish(window, W.EMPTY, SUPERSEDED)
            summary_request_when_transcribed(meeting_id=window.recording.meeting_id)
            _lag_changed(window.recording.meeting_id, window.speech_end_wall_ms)
            continue
        return audio_window_transcribe(window_id=window.pk)
    stale = AudioWindow.objects.filter(
        pk=window_id, status=W.PENDING, started_at__lt=timezone.now() - CLAIM_STALE_AFTER
    ).exists()
    return audio_window_transcribe(window_id=window_id) if stale else "none"


def _live_lead(window: AudioWindow, context: np.ndarray, context_at: int) -> Lead | None:
    """The lead of a live window: the same recording's previous final window, if it stored a
    segment. A final or tentative window waits (``TENTATIVE_WAIT_S`` at most) for a previous
    window that another worker is transcribing right now (a window cut at 10 s mid-speech is
    followed at once by the next); a partial, or a predecessor still queued, goes without."""
    previous = (
        AudioWindow.objects.filter(
            recording_id=window.recording_id, is_final=True, byte_offset__lt=window.byte_offset
        )
        .order_by("-byte_offset")
        .first()
    )
    if previous is None or lead_first_byte(previous, window) is None:
        return None
    if window.is_final or window.is_tentative:
        _wait_while_running(previous)
    if previous.status != W.DONE:
        return None
    text = (
        TranscriptSegment.objects.filter(
            meeting_id=window.recording.meeting_id,
            source=TranscriptSegment.Source.WHISPER,
            source_key=previous.source_key,
        )
        .values_list("text", flat=True)
        .first()
    )
    return lead_between(context, previous, window, text, samples_at=context_at)


def _wait_while_running(window: AudioWindow) -> None:
    """Poll ``window`` (refreshed in place) while another worker is transcribing it, for at most
    ``TENTATIVE_WAIT_S``; a window still queued is not waited for (with one transcription
    thread it could only run after us)."""
    deadline = time.monotonic() + TENTATIVE_WAIT_S
    while window.status == W.PENDING and window.started_at is not None and time.monotonic() < deadline:
        time.sleep(0.02)
        window.refresh_from_db(fields=["status", "started_at", "error"])


def _sibling_audio(recording: AudioRecording, *, start_ms: int, samples: int) -> list[np.ndarray]:
    """The same time span of the stream's other participant recordings (for cross-talk)."""
    if recording.kind != AudioRecording.Kind.PARTICIPANT:
        return []
    siblings = AudioRecording.objects.filter(
        meeting_id=recording.meeting_id, stream_key=recording.stream_key, kind=AudioRecording.Kind.PARTICIPANT
    ).exclude(pk=recording.pk)
    out = []
    for sibling in siblings:
        offset_ms = start_ms - sibling.start_ms
        skip = 0
        if offset_ms < 0:  # the sibling started later: silence before its first sample
            skip, offset_ms = -offset_ms * 16, 0
        if skip >= samples:
            continue
        try:
            audio = read_pcm_range(
                recording_path(sibling), offset_ms * BYTES_PER_MS, (samples - skip) * 2, warn_short=False
            )
        except (OSError, AudioFormatError) as exc:
            logger.warning("cross-talk check skips recording %s: %s", sibling.pk, exc)
            continue
        out.append(np.concatenate([np.zeros(skip, dtype=np.float32), audio]) if skip else audio)
    return out


def _finish(window: AudioWindow, status: str, error: str = "") -> None:
    AudioWindow.objects.filter(pk=window.pk).update(status=status, error=error[:300], done_at=timezone.now())


def audio_window_transcribe(*, window_id: int) -> str:
    """Transcribe one window into the meeting's Whisper track; returns the window's new status.

    Idempotent: a window already ``done``/``empty`` is not transcribed again; a stale partial
    (superseded by a longer or final window of the same start) is skipped as ``empty``.

    Once the window is finished (done, empty, skipped or failed: all count as transcribed) and
    its status committed, ``meetings.services.summaries.summary_request_when_transcribed`` is told: for
    an ended meeting it pushes the seconds of audio left and, after the last window, enqueues
    the final summary that waited for the complete transcript (``meetings`` cannot see windows;
    it asks ``transcription.selectors.transcription_pending_ms``).
    """
    status = _transcribe_window(window_id=window_id)
    row = (
        AudioWindow.objects.filter(pk=window_id)
        .values_list("recording__meeting_id", "speech_end_wall_ms")
        .first()
    )
    if row is not None and status in (W.DONE, W.EMPTY, W.FAILED):
        summary_request_when_transcribed(meeting_id=row[0])
        _lag_changed(row[0], row[1])
    return status


def _lag_changed(meeting_id: int, speech_end_wall_ms: int | None) -> None:
    """A window of the meeting finished: when it was behind (``LAG_PUSH_FROM_MS``), the pages may
    show a lag counted from it, so they get the new one (possibly 0: caught up). Windows on
    time push nothing (a page shows the lag only from ``meetings.transcription.LAG_VISIBLE_MS``
    on, and only after a push said so, so a window on time cannot leave a stale line behind)."""
    if speech_end_wall_ms is None or time.time() * 1000 - speech_end_wall_ms < LAG_PUSH_FROM_MS:
        return
    try:
        meeting_fragments.push_transcript_lag(meeting_id)
    except Exception:  # the transcript is stored; a failed push only delays the page's line
        logger.exception("could not push the transcript lag of meeting %s", meeting_id)


def _transcribe_window(*, window_id: int) -> str:
    window = (
        AudioWindow.objects.select_related("recording", "recording__meeting", "participant")
        .filter(pk=window_id)
        .first()
    )
    if window is None:
        logger.warning("audio window %s does not exist (deleted?)", window_id)
        return "missing"
    if window.status in (W.DONE, W.EMPTY):
        return window.status
    if _superseded(window):
        _finish(window, W.EMPTY, SUPERSEDED)
        return W.EMPTY
    if window.is_final and (reused := _reuse_tentative(window)) is not None:
        return reused
    AudioWindow.objects.filter(pk=window.pk).update(
        attempts=window.attempts + 1, started_at=timezone.now(), engine=settings.WHISPER_ENGINE
    )
    path = recording_path(window.recording)
    try:
        end = window.byte_offset + window.byte_length
        context_start = max(0, end - PEAK_CONTEXT_MS * BYTES_PER_MS)
        context = read_pcm_range(path, context_start, end - context_start)
        samples = context[(window.byte_offset - context_start) // 2 :]
        others = _sibling_audio(window.recording, start_ms=window.start_ms, samples=samples.size)
        # Partials are replaced within seconds: greedy decoding (about 30 % cheaper) is enough.
        # A tentative is the final's transcript if the pause lasts: decoded like a final.
        beam = settings.WHISPER_BEAM_SIZE if window.is_final or window.is_tentative else 1
        result = transcribe_samples(
            samples,
            start_ms=window.start_ms,
            others=others,
            beam_size=beam,
            context=context,
            lead=_live_lead(window, context, context_start),
        )
    except (OSError, AudioFormatError, EngineUnavailable) as exc:
        logger.error("audio window %s (%s) failed: %s", window.pk, path, exc)
        _finish(window, W.FAILED, str(exc))
        return W.FAILED
    meeting = window.recording.meeting
    if result is None:
        if window.is_final:
            _drop_partial(meeting, window.source_key)
        _finish(window, W.EMPTY)
        return W.EMPTY
    return _store(window, meeting, result.text, result.start_ms, result.end_ms, is_final=window.is_final)


def _store(
    window: AudioWindow, meeting: Meeting, text: str, start_ms: int, end_ms: int, *, is_final: bool
) -> str:
    """Write the window's segment (its ``source_key``) and mark the window done, atomically."""
    with transaction.atomic():
        transcript_segment_record(
            meeting=meeting,
            source=TranscriptSegment.Source.WHISPER,
            source_key=window.source_key,
            text=text,
            start_ms=start_ms,
            end_ms=end_ms,
            participant=window.participant,
            language=settings.WHISPER_LANGUAGE,
            is_final=is_final,
        )
        _finish(window, W.DONE)
    return W.DONE


def _reuse_tentative(window: AudioWindow) -> str | None:
    """Finish a final window from its tentative twin (the same range, transcribed from 300 ms
    into the pause, ``transcription.cutter.WindowCutter``): the same audio, lead and beam, so the same
    text; the segment is only marked final. Waits up to ``TENTATIVE_WAIT_S`` for a tentative
    that is running. Returns the final's new status, or None when it must be transcribed
    itself (no tentative, it failed, was skipped, or did not finish in time)."""
    twin = AudioWindow.objects.filter(
        recording_id=window.recording_id,
        byte_offset=window.byte_offset,
        byte_length=window.byte_length,
        is_final=False,
        is_tentative=True,
    ).first()
    if twin is None:
        return None
    _wait_while_running(twin)
    meeting = window.recording.meeting
    if twin.status == W.EMPTY and twin.error != SUPERSEDED:  # it heard nothing worth storing
        _drop_partial(meeting, window.source_key)
        _finish(window, W.EMPTY, "as its tentative window")
        return W.EMPTY
    if twin.status != W.DONE:
        return None
    segment = TranscriptSegment.objects.filter(
        meeting=meeting, source=TranscriptSegment.Source.WHISPER, source_key=window.source_key
    ).first()
    if segment is None:
        return None
    # attempts stays 0: the model did not run for this window
    return _store(window, meeting, segment.text, segment.start_ms, segment.end_ms, is_final=True)


def _drop_partial(meeting: Meeting, source_key: str) -> None:
    """The final window said nothing: the partial's text (a greedy decode of a shorter prefix)
    was not speech either, so its segment is deleted rather than kept. In the AMI excerpt both
    such partials were a listener's headset bleed ("It's... It's... Maybe..."): keeping them as
    final cost 2 points of WER. Watching pages remove it live (``transcript_track_prune``)."""
    partial = TranscriptSegment.objects.filter(
        meeting=meeting, source=TranscriptSegment.Source.WHISPER, source_key=source_key, is_final=False
    )
    if not partial.exists():
        return
    # The key is a prefix of longer keys ("w:1:12" of "w:1:120"): keep those.
    longer = set(
        TranscriptSegment.objects.filter(
            meeting=meeting, source=TranscriptSegment.Source.WHISPER, source_key__startswith=source_key
        )
        .exclude(source_key=source_key)
        .values_list("source_key", flat=True)
    )
    transcript_track_prune(
        meeting=meeting,
        source=TranscriptSegment.Source.WHISPER,
        key_prefixes=(source_key,),
        keep_source_keys=longer,
    )

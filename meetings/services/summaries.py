"""Summary requests: create the pending ``Summary`` once per transcript revision, enqueue on commit.

A final summary waits for the transcript. When Whisper windows (or a re-transcription) of the
meeting are still to be transcribed (``meetings.transcription.pending_audio_ms``), the final
summary is created PENDING but not enqueued: the page says "Waiting for the transcript". The
transcription side calls :func:`summary_request_when_transcribed` each time it finishes a piece;
once nothing is left, that enqueues the waiting summary, which then covers every segment. It
never creates a summary, so the last windows' new transcript revisions do not make a second one:
one final summary per meeting end. The summary task checks the same gate again
(``meetings.summarizer.service.summary_generate``), for a final summary enqueued some other way.

Both paths lock the meeting row (``meeting_end`` updates it, the others ``SELECT ... FOR
UPDATE``), so an end and a last window finishing at the same moment cannot both conclude that
the other one will enqueue the summary.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

import jobs
from meetings import fragments, live, transcription
from meetings.models import Meeting, Summary

SUMMARY_TASK = "meetings.tasks.summary_generate"  # enqueued by name: the task imports the summarizer


def _waiting_final(meeting: Meeting) -> Summary | None:
    """The meeting's final summary that no worker has started yet (waiting or queued), if any."""
    return (
        Summary.objects.filter(
            meeting=meeting, kind=Summary.Kind.FINAL, status=Summary.Status.PENDING, started_at__isnull=True
        )
        .order_by("-pk")
        .first()
    )


def _enqueue_if_transcribed(summary: Summary, meeting: Meeting) -> bool:
    """Enqueue ``summary`` on commit unless it is final and transcription is still pending.

    A released summary takes the meeting's current revision (it covers the segments written
    while it waited) unless another summary of its kind already has that revision. Enqueuing a
    summary twice is harmless: the task claims it once.
    """
    if summary.kind == Summary.Kind.FINAL and transcription.pending_audio_ms(meeting_id=meeting.pk):
        return False
    if (
        summary.transcript_revision != meeting.last_seq
        and not Summary.objects.filter(
            meeting=meeting, kind=summary.kind, transcript_revision=meeting.last_seq
        ).exists()
    ):
        Summary.objects.filter(pk=summary.pk, status=Summary.Status.PENDING).update(
            transcript_revision=meeting.last_seq
        )
        summary.transcript_revision = meeting.last_seq
    jobs.enqueue(SUMMARY_TASK, summary.pk, on_commit=True)
    return True


def _lock(meeting: Meeting) -> None:
    """Lock the meeting row until commit and refresh ``meeting``'s status and revision."""
    status, last_seq = (
        Meeting.objects.select_for_update().filter(pk=meeting.pk).values_list("status", "last_seq").get()
    )
    meeting.status, meeting.last_seq = status, last_seq


@transaction.atomic
def summary_request(*, meeting: Meeting, kind: str = Summary.Kind.FINAL) -> Summary:
    """Idempotent: the same meeting revision (``last_seq``) is summarized once.

    A final summary is enqueued only when the transcript is complete; until then it waits (see
    the module doc), and requesting again returns the waiting one instead of a new revision.
    """
    _lock(meeting)
    if kind == Summary.Kind.FINAL and (waiting := _waiting_final(meeting)) is not None:
        _enqueue_if_transcribed(waiting, meeting)
        return waiting
    try:
        with transaction.atomic():
            summary, created = Summary.objects.get_or_create(
                meeting=meeting, kind=kind, transcript_revision=meeting.last_seq
            )
    except IntegrityError:
        summary, created = (
            Summary.objects.get(meeting=meeting, kind=kind, transcript_revision=meeting.last_seq),
            False,
        )
    if created and not _enqueue_if_transcribed(summary, meeting):
        live.after_commit(fragments.push_summary, summary.pk)  # "Waiting for the transcript"
    return summary


@transaction.atomic
def summary_request_when_transcribed(*, meeting_id: int, transcript_replaced: bool = False) -> Summary | None:
    """Transcription of the meeting progressed: a window was transcribed, found empty, skipped or
    failed, or a re-transcription moved on or finished. ``streams`` calls this (``meetings``
    cannot see windows).

    For an ended meeting: pushes the seconds of audio left to the page and, once none are left,
    enqueues the final summary that waits for them. Nothing is created here, so the revisions
    the last windows add never make a second final summary. Only ``transcript_replaced`` (a
    re-transcription finished: the Whisper track is new) requests the final summary of the new
    transcript when none waits (:func:`summary_request`, once per revision). Returns the summary
    enqueued or requested, else None (a live meeting, audio still pending, nothing waiting).
    """
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return None
    _lock(meeting)
    if meeting.status != Meeting.Status.ENDED:
        return None
    live.after_commit(fragments.push_transcription_progress, meeting.pk)
    waiting = _waiting_final(meeting)
    if waiting is None:
        return summary_request(meeting=meeting) if transcript_replaced else None
    return waiting if _enqueue_if_transcribed(waiting, meeting) else None

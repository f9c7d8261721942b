"""Meeting lifecycle writes used by the API, the retention command and its beat task.

* :func:`meeting_delete` removes a meeting's rows (segments, chat, events, participants,
  summaries, recordings, streams, webhook deliveries: all ``CASCADE``) and, after commit, its
  audio files;
* :func:`meeting_purge_older_than` applies the retention rule (``RETENTION_DAYS``);
* :func:`recording_retranscribe_request` enqueues the Whisper re-transcription task, which lives
  in ``streams`` (which ``meetings`` must not import): it is looked up by name in the Celery
  registry, so embedded mode still runs it in-process through ``RoutedTask``.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import jobs
from jobs import TaskUnavailable  # noqa: F401  (re-exported: the API catches lifecycle.TaskUnavailable)
from meetings.models import AudioRecording, Meeting

logger = logging.getLogger(__name__)
RETRANSCRIBE_TASK = "transcription.tasks.recording_retranscribe"


class MeetingLive(RuntimeError):
    """The meeting is still live: its streams are writing rows and audio files."""


def media_path(relative: str) -> Path | None:
    """``relative`` under MEDIA_ROOT, or None if it would escape it (never delete outside)."""
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path != root else None


def audio_files_delete(paths: list[str]) -> int:
    """Delete recording files (paths relative to MEDIA_ROOT) and their then-empty folders up to
    ``RECORDINGS_DIR``. Missing files are fine. Returns the number of files removed."""
    removed = 0
    stop = Path(getattr(settings, "RECORDINGS_DIR", settings.MEDIA_ROOT)).resolve()
    for relative in paths:
        path = media_path(relative)
        if path is None:
            logger.warning("not deleting %r: outside MEDIA_ROOT", relative)
            continue
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        parent = path.parent
        while parent != stop and parent.is_relative_to(stop):
            try:
                parent.rmdir()  # only succeeds when empty
            except OSError:
                break
            parent = parent.parent
    return removed


@transaction.atomic
def meeting_delete(*, meeting: Meeting) -> dict[str, int]:
    """Delete ``meeting`` and everything under it; its audio files go after commit.

    Returns the row counts per model label (Django's ``delete()`` result) plus ``audio_files``
    (files scheduled for removal). A live meeting raises :class:`MeetingLive` (its ingestion
    would go on writing files nobody owns): delete it once it has ended.
    """
    meeting.refresh_from_db(fields=["status"])
    if meeting.is_live:
        raise MeetingLive(f"meeting {meeting.public_id} is live")
    paths = list(AudioRecording.objects.filter(meeting=meeting).values_list("path", flat=True))
    _, per_model = Meeting.objects.filter(pk=meeting.pk).delete()
    transaction.on_commit(partial(audio_files_delete, paths))
    logger.info("deleted meeting %s (%d audio files)", meeting.public_id, len(paths))
    return {**per_model, "audio_files": len(paths)}


def meeting_purge_older_than(
    *, days: int, dry_run: bool = False, now: dt.datetime | None = None
) -> list[Meeting]:
    """Delete every meeting that started more than ``days`` days ago and is not live.

    Live meetings are kept whatever their age (their stream is still writing). Returns the
    meetings deleted (or that would be, with ``dry_run``). ``days`` must be >= 1.
    """
    if days < 1:
        raise ValueError("retention needs days >= 1")
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    expired = list(
        Meeting.objects.filter(started_at__lt=cutoff)
        .exclude(status=Meeting.Status.LIVE)
        .order_by("started_at")
    )
    if not dry_run:
        for meeting in expired:
            meeting_delete(meeting=meeting)
    return expired


def recording_retranscribe_request(*, meeting: Meeting) -> str:
    """Enqueue ``transcription.tasks.recording_retranscribe(meeting.pk)`` after commit; returns the
    task name. Raises :class:`TaskUnavailable` when the task is not registered."""
    jobs.enqueue(RETRANSCRIBE_TASK, meeting.pk, on_commit=True)
    return RETRANSCRIBE_TASK

"""The Django side of summaries: load the transcript, run a backend, store, push.

Entry points:

* :func:`summary_generate` (the Celery task ``meetings.tasks.summary_generate`` calls it):
  claims a PENDING summary with a conditional UPDATE, runs the configured backend, writes the
  ``Summary`` and its ``ActionItem`` rows in one transaction, pushes ``#summary`` live and emits
  the ``summary.ready`` webhook on commit. Idempotent: a READY (or INSUFFICIENT/FAILED) summary
  is left alone, a RUNNING one claimed by another worker is not duplicated.
* :func:`summary_regenerate`: on demand (meeting page button, admin action).
* :func:`summary_running_request_if_due`: the running summary every
  ``SUMMARY_RUNNING_INTERVAL_MINUTES`` during a live meeting; the ingest loop calls it.

Status: ``pending -> running -> ready | insufficient | failed``; ``running -> pending`` when a
transient error is retried.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

import jobs
from meetings import fragments, live, outbound, transcription
from meetings.models import ActionItem, Meeting, Participant, Summary, TranscriptSegment
from meetings.services.action_items import action_items_store_generated
from meetings.services.summaries import SUMMARY_TASK, summary_request
from meetings.summarizer import llm, offline
from meetings.summarizer.errors import SummaryError, TransientSummaryError
from meetings.summarizer.types import INSUFFICIENT, NOT_ENOUGH_TEXT, Person, SummaryResult, Utterance

logger = logging.getLogger(__name__)
# Longer than the task's hard time limit: a RUNNING summary this old has lost its worker.
RUNNING_STALE_SECONDS = 1000
FALLBACK_NOTE = "The LLM summary failed ({reason}); this is the offline summary instead."


def transcript_utterances(*, meeting: Meeting) -> list[Utterance]:
    """The meeting's final segments as utterances, in time order, from one track.

    The Zoom track when it has segments (``transcript_mode`` auto or zoom), else Whisper's;
    ``transcript_mode=whisper`` uses Whisper's only.
    """
    finals = TranscriptSegment.objects.filter(meeting=meeting, is_final=True)
    if meeting.transcript_mode == Meeting.TranscriptMode.WHISPER:
        source = TranscriptSegment.Source.WHISPER
    elif (
        meeting.transcript_mode == Meeting.TranscriptMode.ZOOM
        or finals.filter(source=TranscriptSegment.Source.ZOOM).exists()
    ):
        source = TranscriptSegment.Source.ZOOM
    else:
        source = TranscriptSegment.Source.WHISPER
    rows = (
        finals.filter(source=source)
        .order_by("start_ms", "pk")
        .values_list("pk", "speaker_name", "participant__custom_name", "participant_id", "start_ms", "text")
    )
    # Speakers by the name shown on the page: a renamed participant's custom name (issue 20).
    return [
        Utterance(pk, custom or speaker or "", participant_id, start_ms, text)
        for pk, speaker, custom, participant_id, start_ms, text in rows
    ]


def llm_config() -> llm.LLMConfig:
    return llm.LLMConfig(
        base_url=settings.SUMMARY_OPENAI_BASE_URL,
        model=settings.SUMMARY_OPENAI_MODEL,
        api_key=settings.SUMMARY_OPENAI_API_KEY,
        context_tokens=settings.SUMMARY_CONTEXT_TOKENS,
        timeout_seconds=settings.SUMMARY_TIMEOUT_SECONDS,
    )


def summary_generate(*, summary_id: int, allow_retry: bool = False) -> Summary | None:
    """Generate one summary (see the module doc). Returns it, or None when there is nothing to do.

    ``allow_retry``: a transient LLM error puts the summary back to PENDING and raises
    :class:`TransientSummaryError` (the task retries); without it (the last attempt) the
    offline summary is stored with a note instead. Unexpected errors mark it FAILED and raise.
    """
    if _waits_for_transcript(summary_id):
        return None
    now = timezone.now()
    claimable = Q(status=Summary.Status.PENDING) | Q(
        status=Summary.Status.RUNNING, started_at__lt=now - dt.timedelta(seconds=RUNNING_STALE_SECONDS)
    )
    claimed = (
        Summary.objects.filter(pk=summary_id)
        .filter(claimable)
        .update(status=Summary.Status.RUNNING, started_at=now, note="")
    )
    if claimed != 1:
        logger.info("summary %s: not pending (done, running elsewhere or gone)", summary_id)
        return None
    summary = Summary.objects.select_related("meeting").get(pk=summary_id)
    live.after_commit(_push, summary.pk)  # outside atomic: runs now, logged on error
    try:
        result = _run(summary, allow_retry=allow_retry)
        return _store(summary, result, claimed_at=now)
    except (TransientSummaryError, OperationalError):
        Summary.objects.filter(pk=summary_id, status=Summary.Status.RUNNING, started_at=now).update(
            status=Summary.Status.PENDING, started_at=None
        )
        raise
    except BaseException as exc:  # SoftTimeLimitExceeded too: record it, then let it propagate
        Summary.objects.filter(pk=summary_id, status=Summary.Status.RUNNING, started_at=now).update(
            status=Summary.Status.FAILED,
            note=f"Summary failed: {type(exc).__name__}",
            completed_at=timezone.now(),
        )
        live.after_commit(_push, summary_id)
        raise


def _waits_for_transcript(summary_id: int) -> bool:
    """A final summary is not generated while the meeting's audio is still being transcribed: it
    stays PENDING, and ``meetings.services.summaries.summary_request_when_transcribed`` enqueues it again
    when the last window is done (the gate of ``meetings.services.summaries``, checked here too for a
    summary enqueued before a late window or a re-transcription started)."""
    row = Summary.objects.filter(pk=summary_id).values_list("kind", "meeting_id").first()
    if row is None or row[0] != Summary.Kind.FINAL:
        return False
    pending_ms = transcription.pending_audio_ms(meeting_id=row[1])
    if pending_ms:
        logger.info("summary %s: waits for the transcript (%d ms of audio left)", summary_id, pending_ms)
    return bool(pending_ms)


def _run(summary: Summary, *, allow_retry: bool) -> SummaryResult:
    meeting = summary.meeting
    utterances = transcript_utterances(meeting=meeting)
    participants = [  # by the name shown on the page (a rename wins over Zoom's name)
        Person(custom or name, pk)
        for pk, name, custom in Participant.objects.filter(meeting=meeting).values_list(
            "pk", "display_name", "custom_name"
        )
        if custom or name
    ]
    meeting_date = timezone.localdate(meeting.started_at)
    offline_result = partial(
        offline.summarize, utterances, meeting_date=meeting_date, participants=participants
    )
    if settings.SUMMARY_BACKEND != "openai":
        return offline_result()
    probe = offline_result()
    if probe.status == INSUFFICIENT:  # never ask a model to summarize nothing: it would invent
        return probe
    try:
        return llm.summarize(
            utterances, config=llm_config(), meeting_date=meeting_date, participants=participants
        )
    except TransientSummaryError as exc:
        if allow_retry:
            logger.warning("summary %s: LLM transient error, will retry: %s", summary.pk, exc)
            raise
        reason = str(exc)
    except SummaryError as exc:
        reason = str(exc)
    logger.warning("summary %s: LLM failed, offline fallback: %s", summary.pk, reason)
    return dataclasses.replace(probe, note=FALLBACK_NOTE.format(reason=reason))


@transaction.atomic
def _store(summary: Summary, result: SummaryResult, *, claimed_at: dt.datetime) -> Summary | None:
    """Write the result if this worker still holds the claim; replace the generated action items
    (those a person edited are kept: ``meetings.services.action_items.action_items_store_generated``)."""
    locked = (
        Summary.objects.select_for_update()
        .filter(pk=summary.pk, status=Summary.Status.RUNNING, started_at=claimed_at)
        .first()
    )
    if locked is None:
        logger.info("summary %s: claim lost to another worker; result dropped", summary.pk)
        return None
    ready = result.status != INSUFFICIENT
    locked.status = Summary.Status.READY if ready else Summary.Status.INSUFFICIENT
    locked.backend = result.backend
    locked.model = result.model
    locked.overview = result.overview if ready else ""
    locked.key_points = [item.as_json() for item in result.key_points]
    locked.decisions = [item.as_json() for item in result.decisions]
    locked.topics = [item.as_json() for item in result.topics]
    locked.note = result.note or ("" if ready else NOT_ENOUGH_TEXT)
    locked.completed_at = timezone.now()
    locked.duration_ms = max(0, int((locked.completed_at - claimed_at).total_seconds() * 1000))
    locked.save()
    meeting_id = locked.meeting_id
    participant_ids = set(Participant.objects.filter(meeting_id=meeting_id).values_list("pk", flat=True))
    segment_ids = set(
        TranscriptSegment.objects.filter(
            meeting_id=meeting_id, pk__in=[a.segment_id for a in result.action_items if a.segment_id]
        ).values_list("pk", flat=True)
    )
    drafts = [
        ActionItem(
            meeting_id=meeting_id,
            text=draft.text,
            generated_text=draft.text,
            owner_id=draft.owner_participant_id if draft.owner_participant_id in participant_ids else None,
            owner_name=draft.owner_name[:200],
            owner_kind=draft.owner_kind if draft.owner_kind in ActionItem.OwnerKind.values else "",
            due_date=draft.due_date,
            due_text=draft.due_text[:100],
            source_segment_id=draft.segment_id if draft.segment_id in segment_ids else None,
        )
        for draft in result.action_items
    ]
    # Items a person ticked, edited or assigned are kept, in the place of their new match.
    action_items_store_generated(summary=locked, drafts=drafts)
    live.after_commit(_push, locked.pk)
    if ready:
        outbound.emit_on_commit(event="summary.ready", meeting_id=meeting_id, object_id=locked.pk)
    logger.info("summary %s: %s by %s in %s ms", locked.pk, locked.status, locked.backend, locked.duration_ms)
    return locked


def _push(summary_id: int) -> None:
    fragments.push_summary(summary_id)


@transaction.atomic
def summary_regenerate(*, meeting: Meeting) -> Summary:
    """Summarize the meeting now (button, admin action): idempotent while one is on the way.

    Kind ``final`` for an ended meeting, ``running`` for a live one. The summary of the current
    transcript revision is reset to PENDING (if done) or created, and generated on commit. A
    final summary waits while the meeting's audio is still being transcribed
    (``meetings.services.summaries``): a request meanwhile returns the waiting summary.
    """
    kind = Summary.Kind.RUNNING if meeting.is_live else Summary.Kind.FINAL
    meeting.refresh_from_db(fields=["last_seq", "status"])
    existing = Summary.objects.filter(
        meeting=meeting, kind=kind, transcript_revision=meeting.last_seq
    ).first()
    if existing is None or (existing.status == Summary.Status.PENDING and existing.started_at is None):
        return summary_request(meeting=meeting, kind=kind)  # a waiting final summary: enqueued if due
    done = [Summary.Status.READY, Summary.Status.INSUFFICIENT, Summary.Status.FAILED]
    reset = Summary.objects.filter(pk=existing.pk, status__in=done).update(
        status=Summary.Status.PENDING, started_at=None, completed_at=None, note=""
    )
    existing.refresh_from_db()
    if reset:
        live.after_commit(_push, existing.pk)
        jobs.enqueue(SUMMARY_TASK, existing.pk, on_commit=True)
    return existing


def summary_running_request_if_due(*, meeting: Meeting, now: dt.datetime | None = None) -> Summary | None:
    """Request a running summary when ``SUMMARY_RUNNING_INTERVAL_MINUTES`` have passed.

    For the ingest loop: call it after storing final segments (cheap: two small queries; calling
    it every few seconds is fine). Returns the new pending summary, or None when not due: the
    interval is 0 (off), the meeting is not live, the last running summary (or the meeting start)
    is younger than the interval, or the transcript has not changed since.
    """
    interval = settings.SUMMARY_RUNNING_INTERVAL_MINUTES
    if not interval:
        return None
    meeting.refresh_from_db(fields=["status", "last_seq"])
    if not meeting.is_live:
        return None
    now = now or timezone.now()
    last = (
        Summary.objects.filter(meeting=meeting, kind=Summary.Kind.RUNNING)
        .order_by("-created_at", "-pk")
        .values_list("created_at", "transcript_revision")
        .first()
    )
    since, revision = last if last else (meeting.started_at, -1)
    if now - since < dt.timedelta(minutes=interval) or meeting.last_seq == revision:
        return None
    return summary_request(meeting=meeting, kind=Summary.Kind.RUNNING)


__all__ = [
    "summary_generate",
    "summary_regenerate",
    "summary_running_request_if_due",
    "transcript_utterances",
]

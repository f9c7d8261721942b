"""Celery tasks of the ingestion domain: thin wrappers over services (ids in, nothing out).

All run on the ``transcription`` queue (``CELERY_TASK_ROUTES``); one worker process per core,
one thread each (``celery -A rtms_assistant worker -Q transcription -c 2`` on two cores, see the
Procfile; embedded mode runs ``WHISPER_WORKERS`` in-process threads instead). They are idempotent,
so ``acks_late`` is safe: a window redelivered after a worker crash is transcribed once.
Only transient database errors are retried (bounded, with backoff); a bad recording is logged
and marked failed by the service, never retried.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError, close_old_connections

from transcription import engines, retranscribe, windows

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT,
    max_retries=3,
    retry_backoff=True,
    retry_backoff_max=30,
    soft_time_limit=120,
    time_limit=150,
)
def audio_window_transcribe(window_id: int) -> str:
    """One per window; transcribes the most urgent pending window when it runs (finals before
    partials, oldest first: ``transcription.windows.audio_window_next``)."""
    return windows.audio_window_next(window_id=window_id)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT,
    max_retries=2,
    retry_backoff=True,
    soft_time_limit=3 * 60 * 60,
    time_limit=3 * 60 * 60 + 60,
)
def recording_retranscribe(meeting_id: int, recording_id: int | None = None) -> dict:
    return asdict(retranscribe.recording_retranscribe(meeting_id=meeting_id, recording_id=recording_id))


@shared_task(ignore_result=True)
def engine_warm_up() -> bool:
    """Load the Whisper engine of the worker that runs it (``engines.engine_warm_up``); enqueued
    when the embedded server starts (``rtms_assistant/runtime.py``) and, once per process, when
    a Celery worker on ``transcription`` starts (:func:`resume_pending_windows`)."""
    return engines.engine_warm_up()


@worker_ready.connect
def resume_pending_windows(sender=None, **kwargs) -> None:
    """Scaled mode: a Celery worker consuming ``transcription`` starts by enqueuing the Whisper
    windows left ``pending`` (a stopped or killed worker's, or a task lost with the broker).
    A window whose message is still in the broker is then delivered twice and transcribed once
    (the service skips finished windows). SIGTERM is Celery's warm shutdown: no new task, the
    running ones finish (``soft_time_limit``), the queued ones stay in the broker."""
    try:
        queues = {queue.name for queue in sender.task_consumer.queues}
    except AttributeError:
        queues = set()
    if "transcription" not in queues:
        return
    pool_processes = getattr(getattr(sender, "controller", None), "concurrency", None) or 1
    for _ in range(pool_processes):
        engine_warm_up.delay()  # one per pool process, if each idle one takes one (prefetch 1)
    try:
        windows.audio_windows_resume()
    except Exception:  # the worker must start even if the database is not reachable yet
        logger.exception("could not resume pending Whisper windows")
    finally:
        close_old_connections()

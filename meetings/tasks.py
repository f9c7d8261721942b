"""Celery tasks of the meeting domain: thin interfaces to services (ids in, nothing out)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from meetings import outbound
from meetings.services import lifecycle
from meetings.summarizer import service as summarizer_service
from meetings.summarizer.errors import TransientSummaryError


@shared_task(
    bind=True,
    acks_late=True,  # idempotent: the service claims the summary with a conditional UPDATE
    autoretry_for=(TransientSummaryError, OperationalError),
    retry_backoff=10,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=900,  # an LLM map-reduce makes several requests of SUMMARY_TIMEOUT_SECONDS
    time_limit=960,
)
def summary_generate(self, summary_id: int) -> None:
    """Generate one summary; transient LLM/DB errors are retried, the last attempt falls back offline."""
    summarizer_service.summary_generate(
        summary_id=summary_id, allow_retry=self.request.retries < self.max_retries
    )


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt at an outbound webhook delivery; schedules the next one with backoff."""
    countdown = outbound.delivery_attempt(delivery_id=delivery_id)
    if countdown is not None:
        outbound.delivery_schedule(delivery_id=delivery_id, countdown=countdown)


@shared_task(soft_time_limit=600, time_limit=660)
def meetings_purge_expired() -> int:
    """Celery beat (``RETENTION_DAYS``): delete meetings older than the retention period."""
    outbound.delivery_requeue_due()
    if not settings.RETENTION_DAYS:
        return 0
    return len(lifecycle.meeting_purge_older_than(days=settings.RETENTION_DAYS))

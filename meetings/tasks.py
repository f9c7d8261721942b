"""Celery tasks of the meeting domain: thin interfaces to services (ids in, nothing out)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, max_retries=3, soft_time_limit=300, time_limit=330)
def summary_generate(summary_id: int) -> None:
    from meetings.summarizer.service import summary_generate as generate

    generate(summary_id=summary_id)

"""Summary requests: create the pending ``Summary`` once per transcript revision, enqueue on commit."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from meetings.models import Meeting, Summary


@transaction.atomic
def summary_request(*, meeting: Meeting, kind: str = Summary.Kind.FINAL) -> Summary:
    """Idempotent: the same meeting revision (``last_seq``) is summarized once."""
    from meetings.tasks import summary_generate as summary_generate_task

    meeting.refresh_from_db(fields=["last_seq"])
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
    if created:
        summary_generate_task.delay_on_commit(summary.pk)
    return summary

"""Writes of a meeting itself: created on its first stream, ended, its change numbers (``seq``).

Ingestion (``streams``), tasks, admin actions, the API and the dashboard all write the meeting domain
through ``meetings.services.<entity>``. Side effects (live pushes, task enqueues) run in
``transaction.on_commit``; live pushes with ``robust=True``: the data is saved first, a channel-layer
hiccup only costs a live update (the page catches up from ``seq``).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from meetings import fragments, live, outbound
from meetings.models import (
    Meeting,
    Participant,
    ZoomIdentity,
)
from meetings.services.summaries import summary_request


def epoch_ms_to_datetime(epoch_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)


def meeting_offset_ms(*, meeting: Meeting, epoch_ms: int) -> int:
    """Milliseconds from the meeting start to ``epoch_ms`` (never negative)."""
    return max(0, int(epoch_ms - meeting.started_at.timestamp() * 1000))


def meeting_next_seq(*, meeting_id: int) -> int:
    """Allocate the next per-meeting change number. Call inside the writing transaction.

    The UPDATE row-locks the meeting until commit (PostgreSQL; SQLite serializes writers), so
    seq order is commit order: a reader that saw seq N never misses a smaller seq later.
    """
    Meeting.objects.filter(pk=meeting_id).update(last_seq=F("last_seq") + 1)
    return Meeting.objects.filter(pk=meeting_id).values_list("last_seq", flat=True).get()


@transaction.atomic
def meeting_get_or_create(
    *,
    product: str,
    zoom_uuid: str,
    started_at: dt.datetime | None = None,
    topic: str = "",
    zoom_meeting_id: str = "",
    host_user_id: str = "",
) -> tuple[Meeting, bool]:
    """The meeting for a Zoom instance id, created on its first ``rtms_started``.

    The owner is the user whose ``ZoomIdentity`` matches the host/operator id, if any.
    """
    owner = None
    if host_user_id:
        identity = ZoomIdentity.objects.filter(zoom_user_id=host_user_id).select_related("user").first()
        owner = identity.user if identity else None
    try:
        with transaction.atomic():
            meeting, created = Meeting.objects.get_or_create(
                product=product,
                zoom_uuid=zoom_uuid,
                defaults={
                    "started_at": started_at or timezone.now(),
                    "topic": topic,
                    "zoom_meeting_id": zoom_meeting_id,
                    "host_user_id": host_user_id,
                    "owner": owner,
                },
            )
    except IntegrityError:
        meeting, created = Meeting.objects.get(product=product, zoom_uuid=zoom_uuid), False
    if not created and meeting.status == Meeting.Status.ENDED:
        # A new stream for an ended meeting (streaming restarted): live again.
        Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.LIVE, ended_at=None)
        meeting.refresh_from_db()
        created = False
    live.after_commit(fragments.push_meeting_status, meeting.pk)
    if created:
        outbound.emit_on_commit(event="meeting.started", meeting_id=meeting.pk)
    return meeting, created


@transaction.atomic
def meeting_end(*, meeting: Meeting, ended_at: dt.datetime | None = None) -> Meeting:
    """Mark the meeting ended (idempotent), close open gaps and request the final summary.

    The summary is enqueued at once when the transcript is complete, else it waits until the
    meeting's last Whisper window is transcribed (``meetings.services.summaries``). The UPDATE below
    locks the meeting row until commit, which that gate relies on.
    """
    ended_at = max(ended_at or timezone.now(), meeting.started_at)
    updated = Meeting.objects.filter(pk=meeting.pk, status=Meeting.Status.LIVE).update(
        status=Meeting.Status.ENDED, ended_at=ended_at
    )
    Participant.objects.filter(meeting=meeting, is_present=True).update(
        is_present=False, last_left_at=ended_at
    )
    meeting.refresh_from_db()
    if updated:
        live.after_commit(fragments.push_meeting_status, meeting.pk)
        outbound.emit_on_commit(event="meeting.ended", meeting_id=meeting.pk)
        summary_request(meeting=meeting)
    return meeting


def meeting_share(*, meeting: Meeting, user) -> None:
    meeting.shared_with.add(user)

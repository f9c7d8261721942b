"""Reads of meetings: the meetings list (filtered, annotated with counts) and one meeting's row.

Access is decided in ``meetings.selectors.access``; these take a user or a meeting from there."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet

from meetings.models import Meeting
from meetings.selectors.access import meeting_list_for_user
from meetings.selectors.action_items import action_item_open_count

# --- Meetings list ----------------------------------------------------------------------------


def meeting_list_annotated(queryset: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """Adds ``participant_count`` (one aggregate) and ``open_action_items`` (a subquery) for the
    list rows."""
    return queryset.annotate(
        participant_count=Count("participants", distinct=True), open_action_items=action_item_open_count()
    )


def meeting_list_filtered(
    *,
    user,
    status: str = "",
    date: dt.date | None = None,
    query: str = "",
) -> QuerySet[Meeting]:
    """The list page: visible meetings filtered by status (``live``/``ended``), start date (UTC)
    and a case-insensitive topic search, with ``participant_count``."""
    queryset = meeting_list_for_user(user=user)
    if status in Meeting.Status.values:
        queryset = queryset.filter(status=status)
    if date is not None:
        queryset = queryset.filter(started_at__date=date)
    if query:
        queryset = queryset.filter(topic__icontains=query)
    return meeting_list_annotated(queryset).order_by("-started_at", "-pk")


def meeting_row_get(*, meeting_id: int) -> Meeting | None:
    """One list row (with ``participant_count``), for live pushes."""
    return meeting_list_annotated(Meeting.objects.filter(pk=meeting_id)).first()

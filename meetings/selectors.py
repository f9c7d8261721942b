"""Reads of the meeting domain; ``*_for_user`` variants are the one place access is decided.

A meeting is visible to its owner, to the users it is shared with, and to staff. Pages, the
WebSocket consumer and the REST API all go through these functions.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from meetings.models import Meeting


def meeting_visible_q(user) -> Q | None:
    """Filter for meetings ``user`` may see; None = everything (staff)."""
    if user.is_staff or user.is_superuser:
        return None
    return Q(owner=user) | Q(shared_with=user)


def meeting_list_for_user(*, user) -> QuerySet[Meeting]:
    if not user.is_authenticated:
        return Meeting.objects.none()
    queryset = Meeting.objects.all()
    visible = meeting_visible_q(user)
    if visible is not None:
        queryset = queryset.filter(visible).distinct()
    return queryset


def meeting_get_for_user(*, user, public_id) -> Meeting | None:
    """The meeting if ``user`` may see it, else None (callers answer 404 / close 4403)."""
    return meeting_list_for_user(user=user).filter(public_id=public_id).first()

"""Who may see a meeting: the one place access is decided.

A meeting is visible to its owner, to the users it is shared with, and to staff. Pages, the
WebSocket consumers and the REST API all go through :func:`meeting_visible_q` /
:func:`meeting_list_for_user` / :func:`meeting_get_for_user`; the other reads of
``meetings.selectors.<entity>`` take a meeting the caller got from them.
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
    """Meetings ``user`` may see (none for anonymous users), newest first."""
    if not user.is_authenticated:
        return Meeting.objects.none()
    if not user.is_active:
        return Meeting.objects.none()
    queryset = Meeting.objects.all()
    visible = meeting_visible_q(user)
    if visible is not None:
        # A subquery, not a join: no duplicate rows and no DISTINCT over annotations.
        queryset = queryset.filter(pk__in=Meeting.objects.filter(visible).values("pk"))
    return queryset


def meeting_get_for_user(*, user, public_id) -> Meeting | None:
    """The meeting if ``user`` may see it, else None (callers answer 404 / close 4403)."""
    return meeting_list_for_user(user=user).filter(public_id=public_id).first()


def meeting_watcher_user_ids(*, meeting_id: int) -> list[int]:
    """Non-staff users who may see the meeting (owner + shared), for the list's per-user groups."""
    meeting = Meeting.objects.filter(pk=meeting_id).values("owner_id").first()
    if meeting is None:
        return []
    ids = set(
        Meeting.shared_with.through.objects.filter(meeting_id=meeting_id).values_list("user_id", flat=True)
    )
    if meeting["owner_id"] is not None:
        ids.add(meeting["owner_id"])
    return sorted(ids)

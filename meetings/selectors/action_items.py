"""Reads of action items: the current summary's items, open counts, and a user's items across meetings."""

from __future__ import annotations

from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from meetings.models import (
    ActionItem,
    Meeting,
    Summary,
    ZoomIdentity,
)
from meetings.selectors.access import meeting_get_for_user, meeting_list_for_user

MY_ACTION_ITEMS_LIMIT = 500


def action_item_current_summary_id(meeting_ref) -> Subquery:
    """The pk of the newest READY summary of the meeting ``meeting_ref`` (an ``OuterRef``): the
    summary whose action items are the meeting's current ones (edited items move to it when it
    is stored, ``services.action_items_store_generated``)."""
    return Subquery(
        Summary.objects.filter(meeting=meeting_ref, status=Summary.Status.READY)
        .order_by("-pk")
        .values("pk")[:1]
    )


def _action_items_current_qs() -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(summary_id=action_item_current_summary_id(OuterRef("meeting_id")))


def action_item_list_current(*, meeting: Meeting) -> list[ActionItem]:
    """The meeting's current action items (of its newest ready summary), in position order,
    with owner, assignee and meeting loaded. Empty before the first ready summary."""
    return list(
        _action_items_current_qs()
        .filter(meeting=meeting)
        .select_related("owner", "assignee", "meeting", "edited_by")
        .order_by("position", "pk")
    )


def action_item_open_count() -> Coalesce:
    """Annotation: the number of open current action items of each meeting row."""
    return Coalesce(
        Subquery(
            _action_items_current_qs()
            .filter(meeting_id=OuterRef("pk"), status=ActionItem.Status.OPEN)
            .order_by()
            .values("meeting_id")
            .annotate(count=Count("pk"))
            .values("count")[:1]
        ),
        0,
    )


def action_item_get_for_user(*, user, public_id, item_id: int) -> ActionItem | None:
    """Action item ``item_id`` of meeting ``public_id`` if ``user`` may see the meeting, else
    None (callers answer 404, the same as for a meeting they may not see)."""
    meeting = meeting_get_for_user(user=user, public_id=public_id)
    if meeting is None:
        return None
    item = (
        ActionItem.objects.filter(pk=item_id, meeting=meeting)
        .select_related("owner", "assignee", "edited_by")
        .first()
    )
    if item is not None:
        item.meeting = meeting
    return item


def action_item_list_for_user(*, user, status: str = "") -> list[ActionItem]:
    """ "My action items": current items of meetings ``user`` may see that are assigned to them,
    or owned by a participant with their Zoom user id (``ZoomIdentity``) and assigned to nobody
    else. Open first, then by due date (undated last), newest meeting first; at most
    ``MY_ACTION_ITEMS_LIMIT``. ``status``: ``open`` | ``done`` | "" (both)."""
    if not user.is_authenticated:
        return []
    mine = Q(assignee=user)
    zoom_user_id = ZoomIdentity.objects.filter(user=user).values_list("zoom_user_id", flat=True).first()
    if zoom_user_id:
        mine |= Q(assignee__isnull=True, owner__zoom_user_id=zoom_user_id)
    queryset = (
        _action_items_current_qs()
        .filter(mine, meeting__in=meeting_list_for_user(user=user).values("pk"))
        .select_related("meeting", "owner", "assignee")
    )
    if status in ActionItem.Status.values:
        queryset = queryset.filter(status=status)
    open_first = Case(When(status=ActionItem.Status.OPEN, then=Value(0)), default=Value(1))
    return list(
        queryset.order_by(
            open_first, F("due_date").asc(nulls_last=True), "-meeting__started_at", "position", "pk"
        )[:MY_ACTION_ITEMS_LIMIT]
    )

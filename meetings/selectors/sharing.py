"""Reads of access (issue 20): who may share, who a meeting is shared with, its share links."""

from __future__ import annotations

from typing import Any

from meetings.models import Meeting


def meeting_can_share(*, user, meeting: Meeting) -> bool:
    """Whether ``user`` manages the sharing of ``meeting``: its owner, or staff. (Users it is
    shared with may read it, not re-share it.)"""
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        user.is_staff or user.is_superuser or (meeting.owner_id is not None and meeting.owner_id == user.pk)
    )


def share_user_list(*, meeting: Meeting) -> list[Any]:
    """The users ``meeting`` is shared with, by username."""
    return list(meeting.shared_with.order_by("username", "pk"))


def share_link_list(*, meeting: Meeting) -> list[Any]:
    """The meeting's share links, newest first (revoked and expired ones included)."""
    from meetings.models import ShareLink

    return list(ShareLink.objects.filter(meeting=meeting).order_by("-created_at", "-pk"))


def share_link_resolve(*, token: str):
    """The active ``ShareLink`` a token opens (with its meeting), or None: a forged or altered
    token, an unknown, revoked or expired link."""
    from django.utils import timezone

    from meetings import share_links
    from meetings.models import ShareLink

    key = share_links.key_from_token(token)
    if key is None:
        return None
    return (
        ShareLink.objects.select_related("meeting")
        .filter(key=key, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )

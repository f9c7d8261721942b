"""Reads of bookmarks (issue 20)."""

from __future__ import annotations

from meetings.models import (
    Bookmark,
    Meeting,
)


def bookmark_list(*, meeting: Meeting) -> list[Bookmark]:
    """The meeting's bookmarks in timeline order (``offset_ms``, pk), with their line, its
    participant and the author loaded (one query)."""
    return list(
        Bookmark.objects.filter(meeting=meeting)
        .select_related("segment", "segment__participant", "created_by")
        .order_by("offset_ms", "pk")
    )


def bookmark_get(*, meeting: Meeting, bookmark_id: int) -> Bookmark | None:
    """A bookmark of ``meeting`` (one the caller may see), else None (answer 404)."""
    return (
        Bookmark.objects.filter(meeting=meeting, pk=bookmark_id)
        .select_related("segment", "segment__participant", "created_by")
        .first()
    )

"""Reads of chat messages for the dashboard's first paint."""

from __future__ import annotations

from meetings.models import (
    ChatMessage,
    Meeting,
)

CHAT_WINDOW = 200  # chat messages on the first paint


def chat_window(*, meeting: Meeting, size: int = CHAT_WINDOW) -> tuple[list[ChatMessage], int]:
    """The latest ``size`` chat messages in timeline order, and how many earlier ones exist."""
    rows = list(ChatMessage.objects.filter(meeting=meeting).order_by("-offset_ms", "-pk")[: size + 1])
    earlier = 0
    if len(rows) > size:
        rows = rows[:size]
        earlier = ChatMessage.objects.filter(meeting=meeting).count() - size
    rows.reverse()
    return rows, earlier

"""Reads of summaries for the dashboard."""

from __future__ import annotations

from meetings.models import (
    Meeting,
    Summary,
)


def summary_latest(*, meeting: Meeting) -> Summary | None:
    """The newest summary of the meeting (what the summary panel shows), with its action items."""
    return Summary.objects.filter(meeting=meeting).order_by("-pk").prefetch_related("action_items").first()

"""The catch-up after a reconnect: every row changed after a page's last ``seq``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meetings.models import (
    ChatMessage,
    Meeting,
    ParticipantEvent,
    TranscriptSegment,
)

CATCH_UP_LIMIT = 1000  # rows per kind per catch-up batch


@dataclass(frozen=True)
class Changes:
    """A batch of changes after some seq, in seq order: ``(seq, kind, row)`` with ``kind`` one of
    ``"segment"``, ``"chat"``, ``"event"``. The batch holds *every* change up to ``through_seq``;
    ``complete`` says ``through_seq`` is the meeting's ``last_seq`` (else ask again from it)."""

    items: list[tuple[int, str, Any]]
    through_seq: int
    complete: bool


def changes_after(*, meeting: Meeting, after_seq: int, limit: int | None = None) -> Changes:
    """What changed after ``after_seq`` (a revised row appears once, at its latest ``seq``).

    ``last_seq`` is read *before* the rows: every change with ``seq <= last_seq`` is settled
    (seq order is commit order, see ``services.meeting_next_seq``), so this batch plus the live
    pushes that follow leave no gap. At most ``limit`` rows per kind (``CATCH_UP_LIMIT``); when a
    kind is cut, the batch ends at the lowest cut point and ``complete`` is False.
    """
    limit = limit or CATCH_UP_LIMIT
    last_seq = Meeting.objects.filter(pk=meeting.pk).values_list("last_seq", flat=True).get()
    window = {"meeting": meeting, "seq__gt": after_seq, "seq__lte": last_seq}
    per_kind = {
        "segment": list(TranscriptSegment.objects.filter(**window).order_by("seq")[:limit]),
        "chat": list(ChatMessage.objects.filter(**window).order_by("seq")[:limit]),
        "event": list(
            ParticipantEvent.objects.filter(**window).select_related("participant").order_by("seq")[:limit]
        ),
    }
    through_seq = min([rows[-1].seq for rows in per_kind.values() if len(rows) >= limit] or [last_seq])
    items = sorted(
        ((row.seq, kind, row) for kind, rows in per_kind.items() for row in rows if row.seq <= through_seq),
        key=lambda item: item[0],
    )
    return Changes(items=items, through_seq=max(through_seq, after_seq), complete=through_seq == last_seq)

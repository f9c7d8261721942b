"""Stream health shown on the meeting page: connected, retrying, interrupted, stopped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.dateparse import parse_datetime

from meetings.models import (
    Meeting,
    ParticipantEvent,
)


@dataclass(frozen=True)
class StreamHealth:
    """The stream-health badge. ``state``: ``waiting`` | ``connected`` | ``interrupted`` |
    ``retrying`` | ``paused`` | ``stopped`` | ``ended``. Offsets are ms from the meeting start.
    While ``retrying``: ``retry_attempt`` (the next attempt, 1-based), ``retry_error`` (the last
    failure), ``retry_next_at`` / ``retry_deadline_at`` (aware datetimes: next attempt, end of
    Zoom's reconnect window)."""

    state: str
    label: str
    reason: str = ""
    since_ms: int | None = None  # start of the open gap (interrupted/paused)
    since_at: dt.datetime | None = None  # the same, wall clock (the page ticks the gap length)
    last_gap_ms: int | None = None  # length of the last closed interruption
    last_gap_reason: str = ""
    interruptions: int = 0
    retry_attempt: int | None = None
    retry_error: str = ""
    retry_next_at: dt.datetime | None = None
    retry_deadline_at: dt.datetime | None = None


def _retry_fields(details: dict) -> dict:
    retry = details.get("retry") if isinstance(details, dict) else None
    if not isinstance(retry, dict):
        return {}
    return {
        "retry_attempt": int(retry.get("attempt") or 0) or None,
        "retry_error": str(retry.get("error") or ""),
        "retry_next_at": parse_datetime(retry["next_attempt_at"]) if retry.get("next_attempt_at") else None,
        "retry_deadline_at": parse_datetime(retry["deadline_at"]) if retry.get("deadline_at") else None,
    }


def meeting_health(*, meeting: Meeting) -> StreamHealth:
    """Stream health from meeting-domain data only (``Meeting.status`` + stream events).

    Rules, first match wins: meeting ended → ``ended`` (reason of the last ``stream_stop``);
    an open ``interruption`` → ``retrying`` when the stream is reconnecting (its
    ``details["retry"]``, ``meetings.services.participants.gap_retry_note``), else ``interrupted``, since its offset; a ``stream_stop`` after the last
    ``stream_start`` → ``stopped``; an open ``pause`` → ``paused``; any ``stream_start`` or any
    data → ``connected``; else ``waiting``. Two queries.
    """
    kinds = [
        ParticipantEvent.Kind.INTERRUPTION,
        ParticipantEvent.Kind.PAUSE,
        ParticipantEvent.Kind.RESUME,
        ParticipantEvent.Kind.STREAM_START,
        ParticipantEvent.Kind.STREAM_STOP,
    ]
    events = list(
        ParticipantEvent.objects.filter(meeting=meeting, kind__in=kinds)
        .order_by("offset_ms", "seq")
        .only("kind", "offset_ms", "end_offset_ms", "reason", "occurred_at", "seq", "details")
    )
    K = ParticipantEvent.Kind
    interruptions = [event for event in events if event.kind == K.INTERRUPTION]
    closed = [event for event in interruptions if event.end_offset_ms is not None]
    last_gap = max(closed, key=lambda event: event.end_offset_ms) if closed else None
    common = {
        "interruptions": len(interruptions),
        "last_gap_ms": (last_gap.end_offset_ms - last_gap.offset_ms) if last_gap else None,
        "last_gap_reason": last_gap.reason if last_gap else "",
    }
    stops = [event for event in events if event.kind == K.STREAM_STOP]
    starts = [event for event in events if event.kind == K.STREAM_START]
    if meeting.status == Meeting.Status.ENDED:
        return StreamHealth(state="ended", label="Ended", reason=stops[-1].reason if stops else "", **common)
    open_gap = next((event for event in reversed(interruptions) if event.end_offset_ms is None), None)
    if open_gap is not None:
        retry = _retry_fields(open_gap.details)
        return StreamHealth(
            state="retrying" if retry else "interrupted",
            label=f"Reconnecting (attempt {retry['retry_attempt']})" if retry else "Interrupted",
            reason=open_gap.reason,
            since_ms=open_gap.offset_ms,
            since_at=open_gap.occurred_at,
            **common,
            **retry,
        )
    if stops and (not starts or stops[-1].seq > starts[-1].seq):
        return StreamHealth(state="stopped", label="Stream stopped", reason=stops[-1].reason, **common)
    pauses = [event for event in events if event.kind == K.PAUSE]
    if pauses and pauses[-1].end_offset_ms is None:
        resumes = [event for event in events if event.kind == K.RESUME and event.seq > pauses[-1].seq]
        if not resumes:
            return StreamHealth(
                state="paused",
                label="Paused",
                reason=pauses[-1].reason,
                since_ms=pauses[-1].offset_ms,
                since_at=pauses[-1].occurred_at,
                **common,
            )
    if starts or meeting.last_seq:
        return StreamHealth(state="connected", label="Connected", **common)
    return StreamHealth(state="waiting", label="Waiting for the stream", **common)

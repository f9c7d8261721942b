"""Writes of the ingestion domain: the stream state machine, stream leases, gaps.

Webhooks are stored and applied by ``streams.webhook_events`` (the inbox), which moves streams
through the functions here.

* The stream state machine: :data:`TRANSITIONS` is the one table of allowed moves; every move is a
  conditional ``UPDATE … WHERE state IN (allowed sources)`` (:func:`stream_transition`).
* Leases: a stream is held by one worker (``lease_owner`` until ``lease_expires_at``). Claim,
  renew and release are single conditional UPDATEs, atomic on SQLite and PostgreSQL alike:
  the row count says whether this worker won (healthchecks' ``sendalerts`` pattern).

Times on the lease are the worker's wall clock (aware UTC); workers of one deployment are
expected to have synchronized clocks (NTP), the lease being seconds long.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from meetings.models import Meeting, ParticipantEvent
from meetings.services.meetings import meeting_end
from meetings.services.participants import gap_close, participant_event_record
from streams.models import Stream

logger = logging.getLogger(__name__)

S = Stream.State
OPEN_STATES = (S.PENDING, S.CONNECTING, S.ACTIVE, S.INTERRUPTED, S.RETRYING, S.PAUSED, S.STOPPING)
TERMINAL_STATES = (S.STOPPED, S.FAILED)
# target state -> states it may be reached from. The one table of allowed moves.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.PENDING: (),  # only ever created in this state
    # claim / takeover / reconnect
    S.CONNECTING: (S.PENDING, S.ACTIVE, S.INTERRUPTED, S.RETRYING, S.PAUSED),
    S.ACTIVE: (S.CONNECTING, S.INTERRUPTED, S.RETRYING, S.PAUSED),
    S.INTERRUPTED: (S.CONNECTING, S.ACTIVE, S.PAUSED),
    # waiting for the next (re)connection attempt; again at every attempt
    S.RETRYING: (S.CONNECTING, S.ACTIVE, S.INTERRUPTED, S.RETRYING, S.PAUSED),
    S.PAUSED: (S.CONNECTING, S.ACTIVE, S.INTERRUPTED, S.RETRYING),
    S.STOPPING: (S.PENDING, S.CONNECTING, S.ACTIVE, S.INTERRUPTED, S.RETRYING, S.PAUSED),
    S.STOPPED: (S.PENDING, S.CONNECTING, S.ACTIVE, S.INTERRUPTED, S.RETRYING, S.PAUSED, S.STOPPING),
    S.FAILED: (S.PENDING, S.CONNECTING, S.ACTIVE, S.INTERRUPTED, S.RETRYING, S.PAUSED, S.STOPPING),
}


class InvalidTransition(Exception):
    """A state move the table does not allow (a programming error, not a race)."""


# --- state machine -------------------------------------------------------------------------------


def stream_transition(*, stream_id: int, to: str, owner: str | None = None, **fields) -> bool:
    """Move a stream to ``to`` if its current state allows it (one conditional UPDATE).

    ``owner``: only if this worker holds the lease. Extra ``fields`` are set in the same UPDATE.
    Returns whether the row moved. Raises :class:`InvalidTransition` for an unknown target.
    """
    if to not in TRANSITIONS or to == S.PENDING:
        raise InvalidTransition(to)
    qs = Stream.objects.filter(pk=stream_id, state__in=TRANSITIONS[to])
    if owner is not None:
        qs = qs.filter(lease_owner=owner)
    return qs.update(state=to, state_changed_at=timezone.now(), **fields) == 1


def stream_mark_active(*, stream_id: int, owner: str, reconnected: bool = False) -> bool:
    """Connected (again): ``active``, retry fields cleared; ``reconnected`` (the RTMS client
    reconnected by itself, not a first connection) counts one more ``reconnect_count``."""
    now = timezone.now()
    fields: dict = {"retry_attempt": 0, "retry_error": "", "retry_next_at": None, "retry_deadline_at": None}
    if reconnected:
        fields["reconnect_count"] = F("reconnect_count") + 1
    moved = stream_transition(stream_id=stream_id, to=S.ACTIVE, owner=owner, **fields)
    Stream.objects.filter(pk=stream_id, connected_at__isnull=True).update(connected_at=now)
    return moved


def stream_mark_interrupted(*, stream_id: int, owner: str) -> bool:
    return stream_transition(stream_id=stream_id, to=S.INTERRUPTED, owner=owner)


def stream_mark_retrying(
    *,
    stream_id: int,
    owner: str,
    attempt: int,
    error: str,
    next_attempt_at: dt.datetime,
    deadline_at: dt.datetime,
) -> bool:
    """Waiting before reconnection attempt number ``attempt`` (1-based) after ``error``; the
    stream fails if Zoom's window ends (``deadline_at``) first. Returns whether the row moved."""
    return stream_transition(
        stream_id=stream_id,
        to=S.RETRYING,
        owner=owner,
        retry_attempt=attempt,
        retry_error=error[:300],
        retry_next_at=next_attempt_at,
        retry_deadline_at=deadline_at,
    )


def stream_mark_paused(*, stream_id: int, owner: str, paused: bool) -> bool:
    return stream_transition(stream_id=stream_id, to=S.PAUSED if paused else S.ACTIVE, owner=owner)


def stream_first_packet(*, stream_id: int, timestamp: int) -> None:
    Stream.objects.filter(pk=stream_id, first_packet_ts__isnull=True).update(first_packet_ts=timestamp)


def stream_has_zoom_transcript(*, stream_id: int) -> None:
    Stream.objects.filter(pk=stream_id, has_zoom_transcript=False).update(has_zoom_transcript=True)


@transaction.atomic
def stream_mark_ended(
    *,
    stream_id: int,
    state: str = S.STOPPED,
    stop_reason: int | None = None,
    detail: str = "",
    owner: str | None = None,
    ended_at: dt.datetime | None = None,
) -> bool:
    """Close a stream (``stopped`` or ``failed``), release its lease, and end the meeting when this
    was its last open stream (``meetings.services.meetings.meeting_end`` enqueues the final summary).

    A stop reason already set by the ``rtms_stopped`` webhook is kept when ``stop_reason`` is
    None. Idempotent: returns False when the stream was already closed (or ``owner`` lost it).
    """
    if state not in TERMINAL_STATES:
        raise InvalidTransition(state)
    ended_at = ended_at or timezone.now()
    qs = Stream.objects.filter(pk=stream_id, state__in=TRANSITIONS[state])
    if owner is not None:
        qs = qs.filter(Q(lease_owner=owner) | Q(lease_owner=""))
    fields: dict = {
        "state": state,
        "state_changed_at": ended_at,
        "stopped_at": ended_at,
        "lease_owner": "",
        "lease_expires_at": None,
    }
    if stop_reason is not None:
        fields["stop_reason"] = stop_reason
    if detail:
        fields["stop_detail"] = Case(When(stop_detail="", then=Value(detail[:300])), default=F("stop_detail"))
    if qs.update(**fields) != 1:
        return False
    stream = Stream.objects.select_related("meeting").get(pk=stream_id)
    meeting = stream.meeting
    if not Stream.objects.filter(meeting=meeting, state__in=OPEN_STATES).exists():
        meeting_end(meeting=meeting, ended_at=ended_at)
    logger.info("rtms stream %s %s (stop_reason %s)", stream.rtms_stream_id, state, stream.stop_reason)
    return True


# --- leases --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """A stream this worker now holds, with what the previous holder left (for the takeover gap)."""

    stream_id: int
    rtms_stream_id: str
    meeting_id: int
    meeting_uuid: str
    meeting_started_ms: int
    product: str
    server_urls: str
    server_urls_version: int
    previous_state: str
    previous_owner: str
    was_connected: bool
    last_frame_at: dt.datetime | None
    lease_expires_at: dt.datetime | None
    stop_reason: int | None


def _claimable(now: dt.datetime) -> Q:
    return Q(state__in=OPEN_STATES) & (Q(lease_owner="") | Q(lease_expires_at__lt=now))


def stream_claim_next(
    *, owner: str, lease_seconds: float, limit: int = 10, exclude_ids: Collection[int] = ()
) -> list[Claim]:
    """Claim up to ``limit`` claimable streams (pending, released, or with an expired lease),
    except those in ``exclude_ids`` (streams the caller is still closing).

    Each claim is one conditional UPDATE that re-checks the claim condition, so two workers can
    never both win the same stream. A claimed pending/running stream moves to ``connecting``
    (``reconnect_count`` + 1 if it had been connected before); a ``stopping`` one stays
    ``stopping`` (the new holder only finalizes it).
    """
    now = timezone.now()
    candidates = list(
        Stream.objects.filter(_claimable(now))
        .exclude(pk__in=exclude_ids)
        .select_related("meeting")
        .order_by("created_at", "pk")[:limit]
    )
    claims: list[Claim] = []
    for stream in candidates:
        won = (
            Stream.objects.filter(pk=stream.pk, lease_owner=stream.lease_owner)
            .filter(_claimable(now))
            .update(
                lease_owner=owner,
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                state=Case(When(state=S.STOPPING, then=Value(S.STOPPING)), default=Value(S.CONNECTING)),
                state_changed_at=now,
                reconnect_count=Case(
                    When(connected_at__isnull=False, then=F("reconnect_count") + 1),
                    default=F("reconnect_count"),
                    output_field=models.PositiveIntegerField(),
                ),
            )
        )
        if won != 1:
            continue
        meeting: Meeting = stream.meeting
        claims.append(
            Claim(
                stream_id=stream.pk,
                rtms_stream_id=stream.rtms_stream_id,
                meeting_id=meeting.pk,
                meeting_uuid=meeting.zoom_uuid,
                meeting_started_ms=int(meeting.started_at.timestamp() * 1000),
                product=meeting.product,
                server_urls=stream.server_urls,
                server_urls_version=stream.server_urls_version,
                previous_state=stream.state,
                previous_owner=stream.lease_owner,
                was_connected=stream.connected_at is not None,
                last_frame_at=stream.last_frame_at,
                lease_expires_at=stream.lease_expires_at,
                stop_reason=stream.stop_reason,
            )
        )
        logger.info("worker %s claimed stream %s (was %s)", owner, stream.rtms_stream_id, stream.state)
    return claims


@dataclass(frozen=True, slots=True)
class LeaseStatus:
    """The holder's view after a renewal: ``held`` False means the lease is lost (stop now)."""

    held: bool
    state: str = ""
    server_urls: str = ""
    server_urls_version: int = 0
    stop_reason: int | None = None


def stream_lease_renew(*, stream_id: int, owner: str, lease_seconds: float) -> LeaseStatus:
    """Extend this worker's lease (conditional UPDATE on owner and open state) and return the
    stream's current state, server URLs (failover) and stop reason (stop requests)."""
    now = timezone.now()
    renewed = Stream.objects.filter(pk=stream_id, lease_owner=owner, state__in=OPEN_STATES).update(
        lease_expires_at=now + dt.timedelta(seconds=lease_seconds)
    )
    if renewed != 1:
        return LeaseStatus(held=False)
    row = (
        Stream.objects.filter(pk=stream_id)
        .values("state", "server_urls", "server_urls_version", "stop_reason")
        .get()
    )
    return LeaseStatus(held=True, **row)


def stream_lease_release(*, stream_id: int, owner: str) -> bool:
    """Give a held stream back (graceful shutdown): another worker may claim it at once."""
    return (
        Stream.objects.filter(pk=stream_id, lease_owner=owner, state__in=OPEN_STATES).update(
            lease_owner="", lease_expires_at=None
        )
        == 1
    )


# --- gaps (interruptions and pauses) --------------------------------------------------------------


def gap_source_key(*, rtms_stream_id: str, kind: str, started_ms: int, scope: str = "") -> str:
    """Idempotency key of an interruption/pause event: same gap re-reported → same row."""
    return f"{rtms_stream_id}:{kind}:{scope}:{started_ms}"[:200]


def stream_gap_open(
    *, meeting_id: int, rtms_stream_id: str, kind: str, started_at: dt.datetime, scope: str, reason: str
) -> ParticipantEvent:
    """Record the start of an interruption or pause (``end_offset_ms`` null until closed)."""
    meeting = Meeting.objects.get(pk=meeting_id)
    event, _ = participant_event_record(
        meeting=meeting,
        kind=kind,
        source_key=gap_source_key(
            rtms_stream_id=rtms_stream_id,
            kind=kind,
            started_ms=int(started_at.timestamp() * 1000),
            scope=scope,
        ),
        occurred_at=started_at,
        reason=reason[:200],
        details={"rtms_stream_id": rtms_stream_id, "scope": scope},
    )
    return event


def stream_gaps_close(*, meeting_id: int, rtms_stream_id: str, kind: str, ended_at: dt.datetime) -> int:
    """Close every open gap of ``kind`` for this stream (after a reconnect / resume); returns how many."""
    meeting = Meeting.objects.get(pk=meeting_id)
    keys = list(
        ParticipantEvent.objects.filter(
            meeting=meeting,
            kind=kind,
            end_offset_ms__isnull=True,
            source_key__startswith=f"{rtms_stream_id}:{kind}:",
        ).values_list("source_key", flat=True)
    )
    for key in keys:
        gap_close(meeting=meeting, source_key=key, ended_at=ended_at)
    return len(keys)

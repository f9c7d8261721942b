"""Writes of the ingestion domain: webhooks received, the stream state machine, stream leases.

* Webhooks, an inbox: :func:`webhook_events_record` (the view) stores verified Zoom webhooks
  once each (by body hash), nothing else; :func:`webhook_events_apply` (the ingest supervisor)
  applies the pending ones in arrival order, each once: ``rtms_started`` creates the meeting and
  the ``pending`` stream (idempotent by ``rtms_stream_id``; different ``server_urls`` for an
  open stream is a failover and bumps ``server_urls_version``), ``rtms_stopped`` asks the holder
  to stop (``stopping``) or stops a stream nobody holds.
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
import hashlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from meetings.models import Meeting, ParticipantEvent
from meetings.services.meetings import epoch_ms_to_datetime, meeting_end, meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record
from streams import wakeup
from streams.models import Stream, WebhookEvent
from streams.rtms.protocol import PRODUCT_ID_KEYS
from streams.webhook_payload import RtmsWebhook, WebhookRejected, parse_rtms_webhook

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


# --- webhooks ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """What applying a webhook did: ``duplicate`` (same body seen before, or a retried start),
    ``created`` (new stream), ``failover`` (server_urls changed), ``stopping``/``stopped`` (stop
    applied), ``ignored`` (nothing to do), ``error`` (applying raised; logged, not retried)."""

    result: str
    stream_id: int | None = None


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """A verified webhook as the view stores it (:func:`webhook_events_record`)."""

    event: str
    event_ts: int | None
    rtms_stream_id: str
    body_sha256: str
    payload: dict


def body_sha256(raw_body: bytes) -> str:
    return hashlib.sha256(raw_body).hexdigest()


def webhook_events_record(records: Sequence[WebhookRecord]) -> list[bool]:
    """Store verified webhooks, each once by body hash, in **one** transaction (group commit).

    Returns, per record, whether it is new (False: a body already stored, e.g. Zoom's retry, or
    twice in ``records``). The rows are *pending* (``applied_at`` null): the ingest supervisor
    applies them (:func:`webhook_events_apply`), woken after the commit (``streams.wakeup``).
    Two queries whatever the batch size: the known hashes, then one multi-row INSERT that skips
    conflicts (a concurrent insert of the same body by another process is a duplicate too).
    Raises ``DatabaseError`` when the database is unreachable (nothing stored: the view answers
    500 and Zoom retries).
    """
    hashes = [r.body_sha256 for r in records]
    with transaction.atomic():
        known = set(WebhookEvent.objects.filter(body_sha256__in=hashes).values_list("body_sha256", flat=True))
        new: list[bool] = []
        rows: list[WebhookEvent] = []
        for record in records:
            if record.body_sha256 in known:
                new.append(False)
                continue
            known.add(record.body_sha256)
            new.append(True)
            rows.append(
                WebhookEvent(
                    event=record.event[:100],
                    event_ts=record.event_ts,
                    rtms_stream_id=record.rtms_stream_id[:200],
                    body_sha256=record.body_sha256,
                    payload=record.payload,
                )
            )
        if rows:
            WebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
            transaction.on_commit(_wake)
    return new


def webhook_event_receive(
    *, event: str, event_ts: int | None, payload: dict, raw_body: bytes, rtms: RtmsWebhook | None
) -> WebhookOutcome:
    """Record a verified webhook and apply every pending one at once (synchronous helper).

    The view only records (:func:`webhook_events_record`); this is for callers that want the
    stream now (tests, tools): ``duplicate`` when the body was seen before, else the outcome of
    applying it. The stored payload carries ``rtms``'s fields (flat, Zoom's form) on top of
    ``payload``, so that applying the stored row, here or by a supervisor, acts on ``rtms``.
    """
    record = WebhookRecord(
        event=event,
        event_ts=event_ts,
        rtms_stream_id=rtms.rtms_stream_id if rtms else "",
        body_sha256=body_sha256(raw_body),
        payload={**payload, **_flat_payload(rtms)} if rtms else payload,
    )
    if not webhook_events_record([record])[0]:
        return WebhookOutcome("duplicate")
    outcome = WebhookOutcome("ignored")
    while (applied := webhook_event_apply_next()) is not None:
        if applied[0] == record.body_sha256:
            outcome = applied[1]
    return outcome


def _flat_payload(rtms: RtmsWebhook) -> dict:
    """The flat Zoom payload that ``streams.webhooks.parse_rtms_webhook`` reads back as ``rtms``."""
    fields: dict = {PRODUCT_ID_KEYS[rtms.product][0]: rtms.instance_id, "rtms_stream_id": rtms.rtms_stream_id}
    if rtms.server_urls:
        fields["server_urls"] = rtms.server_urls
    if rtms.stop_reason is not None:
        fields["stop_reason"] = rtms.stop_reason
    if rtms.operator_id:
        fields["operator_id"] = rtms.operator_id
    if rtms.zoom_meeting_id:
        fields["webinar_id" if rtms.product == "webinar" else "meeting_id"] = rtms.zoom_meeting_id
    if rtms.topic:
        fields["topic"] = rtms.topic
    return fields


def webhook_events_apply(*, limit: int = 100) -> int:
    """Apply up to ``limit`` pending webhooks in arrival (``pk``) order; returns how many.

    Called by the ingest supervisor before each claim round (embedded: on the server's loop,
    off-thread; scaled: in ``rtms_worker``), so a pending event survives any crash: it is
    applied at the next round of any supervisor. Raises ``DatabaseError`` (the current event
    stays pending).
    """
    applied = 0
    while applied < limit and webhook_event_apply_next() is not None:
        applied += 1
    return applied


@transaction.atomic
def webhook_event_apply_next() -> tuple[str, WebhookOutcome] | None:
    """Apply the oldest pending webhook: ``(body_sha256, outcome)``, or None when none is pending.

    One transaction: lock the oldest pending row (``SELECT … FOR UPDATE``: a second supervisor
    waits, then finds it applied, so events are applied once and in order), apply it, set
    ``applied_at``. Applying is idempotent anyway (``rtms_stream_id`` is unique, meetings are
    got-or-created). A bug raised while applying rolls back that event's writes, is logged and
    recorded as ``error`` (never retried forever); a ``DatabaseError`` propagates and the
    event stays pending.
    """
    event = WebhookEvent.objects.select_for_update().filter(applied_at__isnull=True).order_by("pk").first()
    if event is None:
        return None
    try:
        with transaction.atomic():
            outcome = _apply(event)
    except DatabaseError:
        raise
    except Exception:
        logger.exception("webhook event %s (%s) could not be applied", event.pk, event.event)
        outcome = WebhookOutcome("error")
    WebhookEvent.objects.filter(pk=event.pk).update(applied_at=timezone.now(), outcome=outcome.result)
    logger.info("webhook %s %s applied: %s", event.event, event.rtms_stream_id or "-", outcome.result)
    return event.body_sha256, outcome


def _apply(event: WebhookEvent) -> WebhookOutcome:
    try:
        rtms = parse_rtms_webhook(
            {"event": event.event, "event_ts": event.event_ts, "payload": event.payload}
        )
    except WebhookRejected:  # stored rows were validated by the view; a hand-made one may not be
        return WebhookOutcome("ignored")
    if rtms is None:
        return WebhookOutcome("ignored")
    if rtms.action == "started":
        return _stream_started(rtms)
    if rtms.action == "stopped":
        return _stream_stop_requested(rtms)
    # rtms_interrupted: Zoom lost our signaling connection. The holder's client reconnects by
    # itself (and records the gap); an unheld stream is claimable anyway. Wake the supervisor.
    stream = Stream.objects.filter(rtms_stream_id=rtms.rtms_stream_id).first()
    if stream is not None and stream.is_open:
        transaction.on_commit(_wake)
    return WebhookOutcome("ignored", stream.pk if stream else None)


def _wake() -> None:
    wakeup.notify()


def _stream_started(rtms: RtmsWebhook) -> WebhookOutcome:
    started_at = epoch_ms_to_datetime(rtms.event_ts) if rtms.event_ts is not None else None
    stream = Stream.objects.filter(rtms_stream_id=rtms.rtms_stream_id).first()
    if stream is None:
        meeting, _ = meeting_get_or_create(
            product=rtms.product,
            zoom_uuid=rtms.instance_id,
            started_at=started_at,
            topic=rtms.topic,
            zoom_meeting_id=rtms.zoom_meeting_id,
            host_user_id=rtms.operator_id,
        )
        try:
            with transaction.atomic():
                stream = Stream.objects.create(
                    meeting=meeting,
                    rtms_stream_id=rtms.rtms_stream_id,
                    server_urls=rtms.server_urls,
                    started_event_ts=rtms.event_ts,
                )
        except IntegrityError:  # a concurrent delivery of the same start won the race
            return WebhookOutcome("duplicate")
        logger.info("rtms stream %s started (meeting %s)", rtms.rtms_stream_id, meeting.pk)
        transaction.on_commit(_wake)
        return WebhookOutcome("created", stream.pk)
    if stream.server_urls == rtms.server_urls:
        return WebhookOutcome("duplicate", stream.pk)  # a retried delivery: nothing changes
    updated = Stream.objects.filter(
        pk=stream.pk, state__in=OPEN_STATES, server_urls_version=stream.server_urls_version
    ).update(server_urls=rtms.server_urls, server_urls_version=F("server_urls_version") + 1)
    if not updated:
        logger.info("rtms_started with new server_urls for closed stream %s: ignored", rtms.rtms_stream_id)
        return WebhookOutcome("ignored", stream.pk)
    logger.info("rtms stream %s failover to new server_urls", rtms.rtms_stream_id)
    transaction.on_commit(_wake)
    return WebhookOutcome("failover", stream.pk)


def _stream_stop_requested(rtms: RtmsWebhook) -> WebhookOutcome:
    stream = Stream.objects.filter(rtms_stream_id=rtms.rtms_stream_id).first()
    if stream is None or not stream.is_open:
        return WebhookOutcome("ignored", stream.pk if stream else None)
    now = timezone.now()
    # Nobody ever held it: stop it here. Otherwise the holder stops its connection cleanly.
    if Stream.objects.filter(pk=stream.pk, state=S.PENDING, lease_owner="").exists():
        stream_mark_ended(
            stream_id=stream.pk, state=S.STOPPED, stop_reason=rtms.stop_reason, detail="rtms_stopped"
        )
        return WebhookOutcome("stopped", stream.pk)
    Stream.objects.filter(pk=stream.pk, state__in=TRANSITIONS[S.STOPPING]).update(
        state=S.STOPPING, state_changed_at=now, stop_reason=rtms.stop_reason, stop_detail="rtms_stopped"
    )
    transaction.on_commit(_wake)
    return WebhookOutcome("stopping", stream.pk)


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

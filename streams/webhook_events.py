"""The inbox of Zoom webhooks: verified webhooks stored once each, then applied in arrival order.

* :func:`webhook_events_record` (the view, ``streams.webhooks``) stores verified webhooks once
  each (by body hash), nothing else, in one transaction, and wakes the ingest supervisor after
  the commit (``streams.wakeup``).
* :func:`webhook_events_apply` (the ingest supervisor) applies the pending ones in arrival order,
  each once: ``rtms_started`` creates the meeting and the ``pending`` stream (idempotent by
  ``rtms_stream_id``; different ``server_urls`` for an open stream is a failover and bumps
  ``server_urls_version``), ``rtms_stopped`` asks the holder to stop (``stopping``) or stops a
  stream nobody holds (``streams.services.stream_mark_ended``).
* :func:`webhook_event_receive` records and applies at once (tests, tools).

The stream's states and their allowed moves are ``streams.services``; the payload's parser is
``streams.webhook_payload`` (the view validates with it, applying parses the stored row again).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from meetings.services.meetings import epoch_ms_to_datetime, meeting_get_or_create
from streams import wakeup
from streams.models import Stream, WebhookEvent
from streams.rtms.protocol import PRODUCT_ID_KEYS
from streams.services import OPEN_STATES, TRANSITIONS, S, stream_mark_ended
from streams.webhook_payload import RtmsWebhook, WebhookRejected, parse_rtms_webhook

logger = logging.getLogger(__name__)


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

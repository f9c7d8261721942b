"""Outbound webhooks for integrators: signed JSON POSTs, delivered by Celery with retries.

Events (``WebhookSubscription.Event``): ``meeting.started``, ``meeting.ended``,
``transcript.segment`` (final segments; a revised final segment is a new event) and
``summary.ready``. A subscription receives the events of the meetings its owner can see.

Request::

    POST <subscription.url>
    Content-Type: application/json
    X-RTMS-Event: transcript.segment
    Idempotency-Key: <64 hex chars, the same on every retry of one delivery>
    X-RTMS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>

    {"id": <idempotency key>, "event": ..., "created_at": <ISO 8601>, "data": {...}}

Delivery (:func:`delivery_attempt`): 2xx is delivered; 408, 429, 5xx, timeouts and connection
errors are retried with exponential backoff (``WEBHOOK_RETRY_BASE_SECONDS`` × 2^(attempt-1),
capped by ``WEBHOOK_RETRY_MAX_SECONDS``, at least ``Retry-After``) up to
``WEBHOOK_MAX_ATTEMPTS``; any other status gives up at once. Redirects are not followed.

Private-address guard (:func:`target_resolve`): the host is resolved once, every address must be
public (not private, loopback, link-local, multicast, reserved or unspecified; IPv4-mapped IPv6
included), and the request connects to that vetted address (TLS still verifies the host name
through SNI), so a DNS answer that changes between check and connect cannot reach an internal
service. ``allow_private`` on the subscription lifts the guard (development, tests).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from urllib.parse import urlsplit

import httpx2
from django.conf import settings
from django.utils import timezone

import jobs
from jobs.backoff import backoff_delay
from meetings import live
from meetings.models import (
    ActionItem,
    Meeting,
    Summary,
    TranscriptSegment,
    WebhookDelivery,
    WebhookSubscription,
)
from meetings.selectors.access import meeting_list_for_user

logger = logging.getLogger(__name__)
DELIVER_TASK = "meetings.tasks.webhook_deliver"  # enqueued by name: the task imports this module

SIGNATURE_HEADER = "X-RTMS-Signature"
EVENT_HEADER = "X-RTMS-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_TOLERANCE_SECONDS = 300
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
EXCERPT_CHARS = 500
Event = WebhookSubscription.Event


class TargetRefused(ValueError):
    """The subscription URL may not be called (bad scheme, unresolvable, or not public)."""


# --- Signing ----------------------------------------------------------------------------------


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-RTMS-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "t.body")>``."""
    message = str(int(timestamp)).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={int(timestamp)},v1={digest}"


def verify(
    *,
    secret: str,
    body: bytes,
    header: str,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: parse the header, reject old timestamps, compare in constant time."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
        received = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, received)


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed (compact, key-sorted JSON, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


# --- Private-address guard --------------------------------------------------------------------


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


@dataclasses.dataclass(frozen=True)
class Target:
    url: str  # the subscription URL
    host: str  # its host name (for Host and SNI)
    address: str  # the vetted IP address to connect to


def target_resolve(url: str, *, allow_private: bool = False) -> Target:
    """Resolve ``url``'s host and vet the addresses; raises :class:`TargetRefused`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"not an http(s) URL: {url!r}")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise TargetRefused(f"cannot resolve {parts.hostname!r}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefused(f"{parts.hostname!r} has no address")
    if not allow_private:
        blocked = [a for a in addresses if not address_is_public(a)]
        if blocked:
            raise TargetRefused(f"{parts.hostname!r} resolves to a non-public address ({blocked[0]})")
    return Target(url=url, host=parts.hostname, address=addresses[0])


# --- Emitting events --------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _meeting_data(meeting: Meeting) -> dict:
    return {
        "id": str(meeting.public_id),
        "topic": meeting.topic,
        "status": meeting.status,
        "started_at": _iso(meeting.started_at),
        "ended_at": _iso(meeting.ended_at),
        "api_url": f"/api/meetings/{meeting.public_id}/",
    }


def event_data(*, event: str, meeting: Meeting, object_id: int | None) -> tuple[dict, str] | None:
    """``(data, version)`` for one event, or None when its object is gone or not eligible.

    ``version`` distinguishes repeated events of one object (a revised segment's new ``seq``).
    """
    data: dict = {"meeting": _meeting_data(meeting)}
    if event == Event.MEETING_STARTED:
        return data, _iso(meeting.started_at) or ""
    if event == Event.MEETING_ENDED:
        return data, _iso(meeting.ended_at) or ""
    if event == Event.TRANSCRIPT_SEGMENT:
        segment = TranscriptSegment.objects.filter(pk=object_id, meeting=meeting, is_final=True).first()
        if segment is None:
            return None
        data["segment"] = {
            "id": segment.pk,
            "seq": segment.seq,
            "source": segment.source,
            "speaker": segment.speaker_name,
            "start_ms": segment.start_ms,
            "end_ms": segment.end_ms,
            "text": segment.text,
        }
        return data, str(segment.seq)
    if event == Event.SUMMARY_READY:
        summary = Summary.objects.filter(pk=object_id, meeting=meeting, status=Summary.Status.READY).first()
        if summary is None:
            return None
        items = ActionItem.objects.filter(summary=summary).order_by("position")
        data["summary"] = {
            "id": summary.pk,
            "kind": summary.kind,
            "overview": summary.overview,
            "key_points": summary.key_points,
            "decisions": summary.decisions,
            "action_items": [
                {"text": i.text, "owner": i.owner_name, "due": i.due_text or _iso_date(i.due_date)}
                for i in items
            ],
        }
        return data, str(summary.pk)
    raise ValueError(f"unknown webhook event {event!r}")


def _iso_date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def idempotency_key(*, subscription_id: int, event: str, meeting: Meeting, object_id, version: str) -> str:
    raw = f"{subscription_id}|{event}|{meeting.public_id}|{object_id}|{version}"
    return hashlib.sha256(raw.encode()).hexdigest()


def emit(*, event: str, meeting_id: int, object_id: int | None = None) -> list[int]:
    """Create one delivery per matching subscription and enqueue it; returns the new delivery ids.

    Idempotent: the same event (same object and version) for the same subscription makes one
    delivery (unique ``idempotency_key``). Call after commit (:func:`emit_on_commit`).
    """
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(active=True).select_related("owner")
        if event in s.events
    ]
    if not subscriptions:
        return []
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return []
    built = event_data(event=event, meeting=meeting, object_id=object_id)
    if built is None:
        return []
    data, version = built
    created_ids: list[int] = []
    for subscription in subscriptions:
        if not meeting_list_for_user(user=subscription.owner).filter(pk=meeting.pk).exists():
            continue
        key = idempotency_key(
            subscription_id=subscription.pk,
            event=event,
            meeting=meeting,
            object_id=object_id,
            version=version,
        )
        payload = {"id": key, "event": event, "created_at": _iso(timezone.now()), "data": data}
        delivery, created = WebhookDelivery.objects.get_or_create(
            idempotency_key=key,
            defaults={"subscription": subscription, "meeting": meeting, "event": event, "payload": payload},
        )
        if created:
            created_ids.append(delivery.pk)
    for delivery_id in created_ids:
        jobs.enqueue(DELIVER_TASK, delivery_id)
    return created_ids


def emit_on_commit(*, event: str, meeting_id: int, object_id: int | None = None) -> None:
    """The one call domain services make: :func:`emit` after the current transaction commits.

    ``robust``: a webhook bookkeeping failure never undoes or breaks the domain write.
    """
    live.after_commit(emit, event=event, meeting_id=meeting_id, object_id=object_id)


# --- Delivering -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    delivered: bool
    retry: bool
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    retry_after: float | None = None


def _retry_after(response: httpx2.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    return float(raw) if raw.strip().isdigit() else None


def post(*, target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST ``body`` to the vetted address of ``target`` (no proxies, no redirects)."""
    url = httpx2.URL(target.url)
    pinned = url.copy_with(host=target.address)
    host = f"[{target.host}]" if ":" in target.host else target.host  # IPv6 literal
    host_header = host if url.port is None else f"{host}:{url.port}"
    try:
        with httpx2.Client(
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,
        ) as client:
            response = client.post(
                pinned,
                content=body,
                headers={**headers, "Host": host_header},
                extensions={"sni_hostname": target.host},
            )
            excerpt = response.text[:EXCERPT_CHARS]
    except httpx2.HTTPError as exc:
        return Outcome(delivered=False, retry=True, error=f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS])
    code = response.status_code
    return Outcome(
        delivered=200 <= code < 300,
        retry=code in RETRYABLE_STATUS,
        status_code=code,
        excerpt=excerpt,
        retry_after=_retry_after(response),
    )


def backoff_seconds(attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: base × 2^(attempt-1), capped."""
    return backoff_delay(
        attempt,
        initial=float(settings.WEBHOOK_RETRY_BASE_SECONDS),
        cap=float(settings.WEBHOOK_RETRY_MAX_SECONDS),
    )


def delivery_attempt(*, delivery_id: int) -> float | None:
    """Make one attempt at a pending delivery and log it; returns the seconds until the next
    attempt, or None when done (delivered, refused, given up, or nothing to do)."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return None
    subscription = delivery.subscription
    now = timezone.now()
    if not subscription.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, last_error="subscription inactive", next_retry_at=None
        )
        return None
    try:
        target = target_resolve(subscription.url, allow_private=subscription.allow_private)
    except TargetRefused as exc:
        logger.warning("webhook delivery %s refused: %s", delivery.pk, exc)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.REFUSED,
            attempts=delivery.attempts + 1,
            last_error=str(exc)[:EXCERPT_CHARS],
            next_retry_at=None,
        )
        return None
    body = body_bytes(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "rtms-assistant-webhooks/1",
        EVENT_HEADER: delivery.event,
        IDEMPOTENCY_HEADER: delivery.idempotency_key,
        SIGNATURE_HEADER: sign(secret=subscription.secret, body=body, timestamp=int(time.time())),
    }
    outcome = post(target=target, body=body, headers=headers, timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS))
    attempts = delivery.attempts + 1
    fields: dict = {
        "attempts": attempts,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "response_excerpt": outcome.excerpt,
        "next_retry_at": None,
    }
    countdown: float | None = None
    if outcome.delivered:
        fields.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=now)
    elif outcome.retry and attempts < int(settings.WEBHOOK_MAX_ATTEMPTS):
        countdown = max(
            backoff_seconds(attempts), min(outcome.retry_after or 0.0, settings.WEBHOOK_RETRY_MAX_SECONDS)
        )
        fields["next_retry_at"] = now + dt.timedelta(seconds=countdown)
    else:
        fields["status"] = WebhookDelivery.Status.FAILED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    logger.info(
        "webhook delivery %s attempt %d: status=%s error=%s retry_in=%s",
        delivery.pk,
        attempts,
        outcome.status_code,
        outcome.error or "-",
        countdown,
    )
    return countdown


def delivery_schedule(*, delivery_id: int, countdown: float) -> None:
    """Run ``webhook_deliver(delivery_id)`` again in ``countdown`` seconds.

    The countdown is the same in both run modes (``jobs.enqueue``). A countdown held in memory
    (embedded mode) is lost if the process stops: the delivery stays ``pending`` with
    ``next_retry_at``, and :func:`delivery_requeue_due` resumes it.
    """
    jobs.enqueue(DELIVER_TASK, delivery_id, countdown=countdown)


def delivery_requeue_due(*, now: dt.datetime | None = None) -> int:
    """Enqueue pending deliveries whose retry time has passed (after a restart); returns how many."""
    due = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_retry_at__lte=now or timezone.now()
    ).values_list("pk", flat=True)
    count = 0
    for delivery_id in due:
        jobs.enqueue(DELIVER_TASK, delivery_id)
        count += 1
    return count

"""Zoom webhook endpoint ``POST /webhooks/zoom/``: verify, validate, record, reply fast.

Order of checks (PROTOCOL.md §2, STYLE.md §3.8), each failure answered with an **empty** body:

1. ``ZOOM_WEBHOOK_SECRET_TOKEN`` unset → 503 (fail closed: an empty key would accept forgeries).
2. Body larger than ``ZOOM_WEBHOOK_MAX_BODY_BYTES`` (declared or actual) → 413.
   ``Content-Type`` other than ``application/json`` (Zoom always sends it) → 415.
3. ``x-zm-request-timestamp`` missing, not Unix seconds, or more than 300 s from now → 401.
4. ``x-zm-signature`` ≠ ``v0=`` HMAC-SHA256(secret, ``v0:{ts}:{raw body}``) (constant time) → 401.
   Every event is verified, ``endpoint.url_validation`` included: an unsigned challenge would turn
   the endpoint into an HMAC oracle for forged signatures.
5. Not JSON / not an object / no ``event`` → 400. ``endpoint.url_validation`` → 200 JSON
   ``{plainToken, encryptedToken}`` (a malformed ``plainToken`` → 400).
6. ``meeting.*`` / ``webinar.*`` / ``session.*`` ``rtms_started|rtms_stopped|rtms_interrupted`` with
   a missing or mistyped field → 400, nothing written. Other events → recorded, 200, ignored.
7. :func:`streams.services.webhook_event_receive` records it (idempotent) → 200, empty body. The
   RTMS connection is made later by the ingest supervisor (woken on commit): no network I/O here.

Logs carry the event name and the ``rtms_stream_id`` only: never bodies, headers, tokens or
signatures. Payloads may be flat (Zoom) or nested under ``payload.object`` (some docs, §14).
"""

from __future__ import annotations

import json
import logging
import re
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from streams import services
from streams.rtms.protocol import PRODUCT_ID_KEYS
from streams.rtms.signing import url_validation_token, webhook_signature_is_valid

logger = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300
RTMS_ACTIONS = ("rtms_started", "rtms_stopped", "rtms_interrupted")
URL_VALIDATION = "endpoint.url_validation"
_PLAIN_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{1,256}$")
_MAX_ID_LENGTH = 200


class WebhookRejected(Exception):
    """Bad input: ``status`` is the HTTP status to answer (4xx); ``why`` goes to the log only."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


# --- pure functions --------------------------------------------------------------------------------


def verify_request(*, secret: str, timestamp: str, signature: str, body: bytes, now: float) -> None:
    """Raise :class:`WebhookRejected` (401) unless the timestamp is fresh and the signature valid."""
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookRejected(401, "missing or malformed x-zm-request-timestamp")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise WebhookRejected(401, "stale x-zm-request-timestamp")
    if not webhook_signature_is_valid(
        secret_token=secret, timestamp=timestamp, body=body, signature=signature
    ):
        raise WebhookRejected(401, "bad x-zm-signature")


def parse_envelope(body: bytes) -> dict:
    """The JSON envelope ``{"event": str, "event_ts"?: int, "payload"?: object}``; 400 otherwise."""
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected(400, "body is not JSON") from None
    if not isinstance(envelope, dict):
        raise WebhookRejected(400, "body is not a JSON object")
    event = envelope.get("event")
    if not isinstance(event, str) or not event or len(event) > 100:
        raise WebhookRejected(400, "missing event")
    payload = envelope.get("payload", {})
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "payload is not an object")
    event_ts = envelope.get("event_ts")
    if event_ts is not None and (isinstance(event_ts, bool) or not isinstance(event_ts, int) or event_ts < 0):
        raise WebhookRejected(400, "event_ts is not an integer")
    return envelope


def payload_fields(envelope: dict) -> dict:
    """Flat payload fields; a nested ``payload.object`` (SKILL/S-FLOW form) is merged underneath."""
    payload = envelope.get("payload") or {}
    nested = payload.get("object")
    if isinstance(nested, dict):
        return {**nested, **{k: v for k, v in payload.items() if k != "object"}}
    return payload


def _text(fields: dict, key: str, *, required: bool, event: str) -> str:
    value = fields.get(key)
    if value is None or value == "":
        if required:
            raise WebhookRejected(400, f"{event}: missing {key}")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise WebhookRejected(400, f"{event}: {key} has the wrong type")
    value = str(value)
    if len(value) > _MAX_ID_LENGTH:
        raise WebhookRejected(400, f"{event}: {key} too long")
    return value


def parse_rtms_webhook(envelope: dict) -> services.RtmsWebhook | None:
    """The RTMS webhook in ``envelope``, or None for an event we do not act on.

    Raises :class:`WebhookRejected` (400) when an RTMS event lacks ``rtms_stream_id``, the
    product's id (``meeting_uuid``; webinars ``webinar_uuid`` or ``meeting_uuid``; Video SDK
    ``session_id`` or ``meeting_uuid``), ``server_urls`` (started) or has mistyped fields.
    """
    event = envelope["event"]
    product, _, action = event.partition(".")
    if product not in PRODUCT_ID_KEYS or action not in RTMS_ACTIONS:
        return None
    fields = payload_fields(envelope)
    instance_id = ""
    for key in PRODUCT_ID_KEYS[product]:
        instance_id = _text(fields, key, required=False, event=event)
        if instance_id:
            break
    if not instance_id:
        raise WebhookRejected(400, f"{event}: missing {'/'.join(PRODUCT_ID_KEYS[product])}")
    rtms_stream_id = _text(fields, "rtms_stream_id", required=True, event=event)
    server_urls = ""
    if action == "rtms_started":
        raw_urls = fields.get("server_urls")
        if not isinstance(raw_urls, str) or not raw_urls.strip():
            raise WebhookRejected(400, f"{event}: missing server_urls")
        urls = [u.strip() for u in raw_urls.split(",") if u.strip()]
        if not urls or any(not u.startswith(("wss://", "ws://")) or len(u) > 1000 for u in urls):
            raise WebhookRejected(400, f"{event}: server_urls is not a WebSocket URL list")
        server_urls = ",".join(urls)
    stop_reason = None
    if action == "rtms_stopped" and fields.get("stop_reason") is not None:
        raw = fields["stop_reason"]
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise WebhookRejected(400, f"{event}: stop_reason is not an integer")
        stop_reason = raw
    return services.RtmsWebhook(
        event=event,
        product=product,
        action=action.removeprefix("rtms_"),
        instance_id=instance_id,
        rtms_stream_id=rtms_stream_id,
        event_ts=envelope.get("event_ts"),
        server_urls=server_urls,
        stop_reason=stop_reason,
        operator_id=_text(fields, "operator_id", required=False, event=event),
        zoom_meeting_id=_text(fields, "webinar_id", required=False, event=event)
        or _text(fields, "meeting_id", required=False, event=event),
        topic=fields["topic"][:300] if isinstance(fields.get("topic"), str) else "",
    )


def url_validation_response(envelope: dict, *, secret: str) -> dict:
    plain = payload_fields(envelope).get("plainToken")
    if not isinstance(plain, str) or not _PLAIN_TOKEN.match(plain):
        raise WebhookRejected(400, "url_validation: bad plainToken")
    return {
        "plainToken": plain,
        "encryptedToken": url_validation_token(secret_token=secret, plain_token=plain),
    }


# --- the view ------------------------------------------------------------------------------------


def _read_body(request: HttpRequest, limit: int) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit():
        raise WebhookRejected(400, "bad Content-Length")
    if int(declared) > limit:
        raise WebhookRejected(413, "body too large")
    body = request.read(limit + 1)  # never trust the header alone
    if len(body) > limit:
        raise WebhookRejected(413, "body too large")
    return body


@csrf_exempt
@require_POST
def zoom_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.ZOOM_WEBHOOK_SECRET_TOKEN
    if not secret:
        logger.error("zoom webhook refused: ZOOM_WEBHOOK_SECRET_TOKEN is not set")
        return HttpResponse(status=503)
    try:
        body = _read_body(request, settings.ZOOM_WEBHOOK_MAX_BODY_BYTES)
        if request.content_type != "application/json":
            raise WebhookRejected(415, "Content-Type is not application/json")
        verify_request(
            secret=secret,
            timestamp=request.headers.get("x-zm-request-timestamp", ""),
            signature=request.headers.get("x-zm-signature", ""),
            body=body,
            now=time.time(),
        )
        envelope = parse_envelope(body)
        if envelope["event"] == URL_VALIDATION:
            return JsonResponse(url_validation_response(envelope, secret=secret))
        rtms = parse_rtms_webhook(envelope)
    except WebhookRejected as rejected:
        logger.warning("zoom webhook rejected (%s): %s", rejected.status, rejected.why)
        return HttpResponse(status=rejected.status)
    outcome = services.webhook_event_receive(
        event=envelope["event"],
        event_ts=envelope.get("event_ts"),
        payload=envelope.get("payload") or {},
        raw_body=body,
        rtms=rtms,
    )
    logger.info(
        "zoom webhook %s %s: %s", envelope["event"], rtms.rtms_stream_id if rtms else "-", outcome.result
    )
    return HttpResponse(status=200)

"""What a Zoom RTMS webhook says: the envelope and ``rtms_started|stopped|interrupted`` parsed
into :class:`RtmsWebhook`, pure (no Django, no I/O).

The webhook view (``streams.webhooks``) parses a request with it before storing the event, and
the ingest supervisor (``streams.webhook_events.webhook_events_apply``) parses the stored event again
to apply it: one parser, imported by both, so neither imports the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from streams.rtms.protocol import PRODUCT_ID_KEYS

RTMS_ACTIONS = ("rtms_started", "rtms_stopped", "rtms_interrupted")
_MAX_ID_LENGTH = 200


class WebhookRejected(Exception):
    """Bad input: ``status`` is the HTTP status to answer (4xx); ``why`` goes to the log only."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


@dataclass(frozen=True, slots=True)
class RtmsWebhook:
    """A validated ``<product>.rtms_started|stopped|interrupted`` webhook (see streams.webhooks).

    ``instance_id`` is the product's id (``meeting_uuid`` / ``webinar_uuid`` / ``session_id``),
    ``event_ts`` epoch ms, ``server_urls`` the signaling URL(s) (started only), ``stop_reason``
    RTMS_STOP_REASON (stopped only).
    """

    event: str
    product: str
    action: str  # "started" | "stopped" | "interrupted"
    instance_id: str
    rtms_stream_id: str
    event_ts: int | None
    server_urls: str = ""
    stop_reason: int | None = None
    operator_id: str = ""
    zoom_meeting_id: str = ""
    topic: str = ""


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


def parse_rtms_webhook(envelope: dict) -> RtmsWebhook | None:
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
    return RtmsWebhook(
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

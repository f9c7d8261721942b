"""Zoom's side of webhooks: build, sign and POST them exactly as Zoom does (PROTOCOL.md §2).

Body: compact JSON ``{"event", "event_ts" (ms), "payload"}`` with a flat payload. Headers:
``x-zm-request-timestamp`` (Unix seconds) and ``x-zm-signature`` = ``v0=`` + hex
HMAC-SHA256(secret token, ``v0:{timestamp}:{raw body}``) over the exact bytes sent.
Delivery uses stdlib urllib in a worker thread (no proxy), 3 s timeout like Zoom's.
:class:`StreamWebhooks` sends one stream's webhooks, records them and retries failed ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from rtms_emulator.record import StreamRecord
from streams.rtms.signing import url_validation_token, webhook_signature

log = logging.getLogger(__name__)

USER_AGENT = "Zoom Marketplace/1.1a"
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def webhook_body(event: str, payload: dict, *, event_ts: int | None = None) -> bytes:
    """Compact JSON body as Zoom serialises it (no whitespace)."""
    body = {
        "event": event,
        "event_ts": int(time.time() * 1000) if event_ts is None else event_ts,
        "payload": payload,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(*, secret_token: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Zoom sends with ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "content-type": "application/json; charset=utf-8",
        "user-agent": USER_AGENT,
        "x-zm-request-timestamp": ts,
        "x-zm-signature": webhook_signature(secret_token=secret_token, timestamp=ts, body=body),
    }


@dataclass
class WebhookDelivery:
    """One POST: what was sent and what the endpoint answered (status 0 = no HTTP answer)."""

    event: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int = 0
    response: bytes = b""
    error: str = ""
    sent_at: float = 0.0
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def as_dict(self) -> dict:
        return {
            "event": self.event,
            "status": self.status,
            "error": self.error,
            "elapsed": round(self.elapsed, 4),
            "payload": json.loads(self.body)["payload"],
            "body_sha": hashlib.sha256(self.body).hexdigest()[:16],
        }


def _post_blocking(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.read(65536), ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(65536), ""
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return 0, b"", f"{type(exc).__name__}: {exc}"


async def post_webhook(
    url: str, event: str, payload: dict, *, secret_token: str, timeout: float = 3.0, body: bytes | None = None
) -> WebhookDelivery:
    """Sign and POST one webhook; never raises on HTTP or network errors (see ``.error``)."""
    body = webhook_body(event, payload) if body is None else body
    headers = signed_headers(secret_token=secret_token, body=body)
    delivery = WebhookDelivery(event=event, url=url, body=body, headers=headers, sent_at=time.time())
    start = time.monotonic()
    delivery.status, delivery.response, delivery.error = await asyncio.to_thread(
        _post_blocking, url, body, headers, timeout
    )
    delivery.elapsed = time.monotonic() - start
    return delivery


class StreamWebhooks:
    """The webhooks of one stream, POSTed to ``url`` (None: no webhooks, every send is skipped):
    ``<product>.rtms_started`` / ``rtms_interrupted`` / ``rtms_stopped`` with the instance id
    under ``id_key``, and ``rtms_stream_id``.

    Each delivery goes into ``record.webhooks`` (``as_dict()`` + ``at``, ``attempt``); a failed
    one (non-2xx, timeout) is sent again after each of ``retry_delays`` seconds, same body,
    fresh signature (Zoom's retries, PROTOCOL.md §2.5), in a task made by ``spawn``.
    ``started_body``: the body of the first ``rtms_started`` (a ``duplicate_webhook`` fault sends
    it again)."""

    def __init__(
        self,
        url: str | None,
        *,
        product: str,
        id_key: str,
        meeting_uuid: str,
        rtms_stream_id: str,
        secret_token: str,
        timeout: float,
        retry_delays: tuple[float, ...],
        record: StreamRecord,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task],
    ) -> None:
        self.url = url
        self.product = product
        self.ids = {id_key: meeting_uuid, "rtms_stream_id": rtms_stream_id}
        self.secret_token = secret_token
        self.timeout = timeout
        self.retry_delays = retry_delays
        self.record = record
        self.spawn = spawn
        self.started_body: bytes | None = None

    def started_payload(self, server_urls: str) -> dict:
        """``rtms_started``: the ids, ``server_urls`` (the signaling URL), ``operator_id``, and
        for a meeting a numeric ``meeting_id``."""
        payload = self.ids | {"server_urls": server_urls, "operator_id": "emulator-operator"}
        if self.product == "meeting":
            payload["meeting_id"] = 80000000000 + int(self.ids["rtms_stream_id"][:6], 16)
        return payload

    async def started(self, server_urls: str, *, first: bool = False) -> None:
        """POST ``rtms_started`` for ``server_urls``; the ``first`` one's body is kept."""
        event = f"{self.product}.rtms_started"
        if not first:
            await self.send(event, self.started_payload(server_urls))
            return
        self.started_body = webhook_body(event, self.started_payload(server_urls))
        await self.send(event, {}, body=self.started_body)

    async def started_again(self) -> bool:
        """POST the first ``rtms_started`` again, same body (a Zoom retry); False if none."""
        if not self.url or self.started_body is None:
            return False
        await self.send(f"{self.product}.rtms_started", {}, body=self.started_body)
        return True

    async def interrupted(self) -> None:
        await self.send(f"{self.product}.rtms_interrupted", dict(self.ids))

    async def stopped(self, reason: int) -> None:
        await self.send(f"{self.product}.rtms_stopped", self.ids | {"stop_reason": int(reason)})

    async def send(self, event: str, payload: dict, *, body: bytes | None = None) -> WebhookDelivery | None:
        """POST ``event`` with ``payload`` (or the exact ``body``); None without a URL."""
        if not self.url:
            return None
        delivery = await post_webhook(
            self.url, event, payload, secret_token=self.secret_token, timeout=self.timeout, body=body
        )
        self.record.webhooks.append(delivery.as_dict() | {"at": self.record.now(), "attempt": 1})
        if not delivery.ok:
            log.warning("webhook %s -> %s %s", event, delivery.status, delivery.error)
            if self.retry_delays:
                self.spawn(self._retry(self.url, event, delivery.body))
        return delivery

    async def _retry(self, url: str, event: str, body: bytes) -> None:
        for attempt, delay in enumerate(self.retry_delays, start=2):
            await asyncio.sleep(delay)
            delivery = await post_webhook(
                url, event, {}, secret_token=self.secret_token, timeout=self.timeout, body=body
            )
            self.record.webhooks.append(delivery.as_dict() | {"at": self.record.now(), "attempt": attempt})
            if delivery.ok:
                return


@dataclass
class UrlValidationResult:
    """Outcome of ``endpoint.url_validation``: ``ok`` when the endpoint answered 200 with the
    same plainToken and the right encryptedToken (PROTOCOL.md §2.3)."""

    ok: bool
    status: int
    plain_token: str
    expected_token: str
    answer: dict | None
    detail: str


async def validate_url(url: str, *, secret_token: str, timeout: float = 3.0) -> UrlValidationResult:
    """Send Zoom's URL-validation challenge and check the answer."""
    plain = secrets.token_urlsafe(16)
    expected = url_validation_token(secret_token=secret_token, plain_token=plain)
    delivery = await post_webhook(
        url, "endpoint.url_validation", {"plainToken": plain}, secret_token=secret_token, timeout=timeout
    )
    answer = None
    if delivery.error:
        detail = delivery.error
    elif delivery.status != 200:
        detail = f"HTTP {delivery.status}"
    else:
        try:
            answer = json.loads(delivery.response)
        except (json.JSONDecodeError, UnicodeDecodeError):
            detail = "answer is not JSON"
        else:
            if not isinstance(answer, dict):
                detail = "answer is not a JSON object"
            elif answer.get("plainToken") != plain:
                detail = "plainToken not echoed"
            elif answer.get("encryptedToken") != expected:
                detail = "encryptedToken is wrong"
            else:
                detail = "ok"
    return UrlValidationResult(detail == "ok", delivery.status, plain, expected, answer, detail)

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
7. :func:`streams.webhook_events.webhook_events_record` stores it, pending, once by body hash
   (group-committed with concurrent requests: :class:`GroupCommit`) → 200, empty body. That is
   all the request does: the ingest supervisor, woken on commit (``streams.wakeup``), applies
   the event (meeting, stream, list-row push, failover, stop; ``webhook_events_apply``) and
   opens the RTMS connection. No network I/O here but the commit (a database error → 500,
   nothing stored, Zoom retries).

Two adapters share these checks (:func:`accept`): :class:`FastPath`, the ASGI wrapper Daphne
serves the endpoint through (no Django request stack; also checks method and ``Host``), and the
async Django view :func:`zoom_webhook` (``runserver``, the test client, anything without the
wrapper).

Logs carry the event name and the ``rtms_stream_id`` only: never bodies, headers, tokens or
signatures. Payloads may be flat (Zoom) or nested under ``payload.object`` (some docs, §14).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port, validate_host
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from streams import webhook_events
from streams.rtms.signing import url_validation_token, webhook_signature_is_valid
from streams.webhook_payload import (
    WebhookRejected,
    parse_envelope,
    parse_rtms_webhook,
    payload_fields,
)

logger = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300
URL_VALIDATION = "endpoint.url_validation"
_PLAIN_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{1,256}$")


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


def url_validation_response(envelope: dict, *, secret: str) -> dict:
    plain = payload_fields(envelope).get("plainToken")
    if not isinstance(plain, str) or not _PLAIN_TOKEN.match(plain):
        raise WebhookRejected(400, "url_validation: bad plainToken")
    return {
        "plainToken": plain,
        "encryptedToken": url_validation_token(secret_token=secret, plain_token=plain),
    }


# --- the endpoint: one core, two adapters (Django view, raw ASGI fast path) ---------------------


def _check_declared_length(declared: str, limit: int) -> None:
    if not declared.isdigit():
        raise WebhookRejected(400, "bad Content-Length")
    if int(declared) > limit:
        raise WebhookRejected(413, "body too large")


def accept(
    *, secret: str, content_type: str, timestamp: str, signature: str, body: bytes, now: float
) -> dict | webhook_events.WebhookRecord:
    """Checks 2 (content type) to 6 on a body already read within the size limit.

    Returns the URL-validation answer (a dict, nothing to store) or the record to store. Raises
    :class:`WebhookRejected` (4xx). ``content_type`` is the media type without parameters,
    lower case.
    """
    if content_type != "application/json":
        raise WebhookRejected(415, "Content-Type is not application/json")
    verify_request(secret=secret, timestamp=timestamp, signature=signature, body=body, now=now)
    envelope = parse_envelope(body)
    if envelope["event"] == URL_VALIDATION:
        return url_validation_response(envelope, secret=secret)
    rtms = parse_rtms_webhook(envelope)
    return webhook_events.WebhookRecord(
        event=envelope["event"],
        event_ts=envelope.get("event_ts"),
        rtms_stream_id=rtms.rtms_stream_id if rtms else "",
        body_sha256=webhook_events.body_sha256(body),
        payload=envelope.get("payload") or {},
    )


class GroupCommit:
    """Concurrent requests share one transaction for their inserts (group commit).

    :meth:`record` queues a row and waits for the commit that carries it. When no commit is in
    flight, the caller starts one for everything queued (a task, so a cancelled caller never
    strands the others); rows queued meanwhile go in the next one. Under a burst the batches
    grow by themselves: one commit per batch instead of one per request, and no timer adds
    latency when requests come one at a time. The write runs on ``executor`` (the ASGI fast
    path: one dedicated thread and connection) or, when None, through thread-sensitive
    ``sync_to_async`` (the Django view: the request's thread; the test's thread in tests).
    """

    def __init__(self, executor: ThreadPoolExecutor | None = None) -> None:
        self.executor = executor
        self.queue: list[tuple[webhook_events.WebhookRecord, asyncio.Future[bool]]] = []
        self.flushing: asyncio.Task | None = None

    async def record(self, record: webhook_events.WebhookRecord) -> bool:
        """Whether ``record`` is new (False: stored before); raises what the insert raised."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.queue.append((record, done))
        while not done.done():
            if self.flushing is None:
                batch, self.queue = self.queue, []
                self.flushing = asyncio.ensure_future(self._flush(batch))
            await asyncio.wait((done, self.flushing), return_when=asyncio.FIRST_COMPLETED)
        return done.result()

    async def _write(self, records: list[webhook_events.WebhookRecord]) -> list[bool]:
        if self.executor is None:
            return await sync_to_async(webhook_events.webhook_events_record)(records)

        def write() -> list[bool]:
            close_old_connections()  # CONN_MAX_AGE / health checks, as around a Django request
            try:
                return webhook_events.webhook_events_record(records)
            finally:
                close_old_connections()

        return await asyncio.get_running_loop().run_in_executor(self.executor, write)

    async def _flush(self, batch: list[tuple[webhook_events.WebhookRecord, asyncio.Future[bool]]]) -> None:
        try:
            new = await self._write([record for record, _ in batch])
        except BaseException as exc:
            failure = exc if isinstance(exc, Exception) else RuntimeError("webhook commit cancelled")
            for _, done in batch:
                if not done.done():
                    done.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
        else:
            for (_, done), is_new in zip(batch, new, strict=True):
                if not done.done():
                    done.set_result(is_new)
        finally:
            self.flushing = None


_group_commits: dict[tuple[asyncio.AbstractEventLoop, bool], GroupCommit] = {}
_commit_executor: ThreadPoolExecutor | None = None


def _group_commit(*, dedicated_thread: bool) -> GroupCommit:
    global _commit_executor
    loop = asyncio.get_running_loop()
    group = _group_commits.get((loop, dedicated_thread))
    if group is None:
        for key in [key for key in _group_commits if key[0].is_closed()]:
            del _group_commits[key]
        executor = None
        if dedicated_thread:
            if _commit_executor is None:
                _commit_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-commit")
            executor = _commit_executor
        group = _group_commits[(loop, dedicated_thread)] = GroupCommit(executor)
    return group


async def _store(record: webhook_events.WebhookRecord, *, dedicated_thread: bool) -> None:
    is_new = await _group_commit(dedicated_thread=dedicated_thread).record(record)
    logger.info(
        "zoom webhook %s %s: %s",
        record.event,
        record.rtms_stream_id or "-",
        "recorded" if is_new else "duplicate",
    )


def _read_body(request: HttpRequest, limit: int) -> bytes:
    _check_declared_length(request.META.get("CONTENT_LENGTH") or "0", limit)
    body = request.read(limit + 1)  # never trust the header alone
    if len(body) > limit:
        raise WebhookRejected(413, "body too large")
    return body


@csrf_exempt
@require_POST
async def zoom_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, parse, store the event (pending), answer 200: nothing else on the request path.

    Async, so concurrent requests do not queue for one thread; the insert is group-committed
    (:class:`GroupCommit`). Applying the event (meeting, stream, live list row, failover, stop)
    is the ingest supervisor's job (``streams.webhook_events.webhook_events_apply``). Under Daphne
    the same endpoint is served by :class:`FastPath` without Django's request stack.
    """
    secret = settings.ZOOM_WEBHOOK_SECRET_TOKEN
    if not secret:
        logger.error("zoom webhook refused: ZOOM_WEBHOOK_SECRET_TOKEN is not set")
        return HttpResponse(status=503)
    try:
        body = _read_body(request, settings.ZOOM_WEBHOOK_MAX_BODY_BYTES)
        accepted = accept(
            secret=secret,
            content_type=request.content_type or "",
            timestamp=request.headers.get("x-zm-request-timestamp", ""),
            signature=request.headers.get("x-zm-signature", ""),
            body=body,
            now=time.time(),
        )
    except WebhookRejected as rejected:
        logger.warning("zoom webhook rejected (%s): %s", rejected.status, rejected.why)
        return HttpResponse(status=rejected.status)
    if isinstance(accepted, dict):
        return JsonResponse(accepted)
    await _store(accepted, dedicated_thread=False)
    return HttpResponse(status=200)


class FastPath:
    """ASGI wrapper serving ``POST /webhooks/zoom/`` itself; everything else goes to ``app``.

    The same checks and answers as :func:`zoom_webhook` (``accept``), without Django's request
    machinery: no middleware (each ``MiddlewareMixin`` hop is a thread switch under ASGI), no
    per-request thread, no ``HttpRequest``. The inserts are group-committed on one dedicated
    thread. Also checked here: the method (405, ``Allow: POST``) and the ``Host`` header
    (``ALLOWED_HOSTS``, 400), which Django's stack would check. A database error answers 500
    (nothing stored; Zoom retries).
    """

    def __init__(self, app) -> None:
        self.app = app
        self.path = ""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not self.path:
            self.path = reverse("streams:zoom-webhook")
        if scope["path"] != self.path:
            return await self.app(scope, receive, send)
        status, body, content_type = await self._handle(scope, receive)
        headers = [(b"content-length", str(len(body)).encode())]
        if content_type:
            headers.append((b"content-type", content_type))
        if status == 405:
            headers.append((b"allow", b"POST"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope, receive) -> tuple[int, bytes, bytes]:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            headers.setdefault(raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
        try:
            if not _host_allowed(headers.get("host") or (scope.get("server") or ("",))[0] or ""):
                raise WebhookRejected(400, "Host not in ALLOWED_HOSTS")
            if scope["method"] != "POST":
                raise WebhookRejected(405, "method not allowed")
            secret = settings.ZOOM_WEBHOOK_SECRET_TOKEN
            if not secret:
                logger.error("zoom webhook refused: ZOOM_WEBHOOK_SECRET_TOKEN is not set")
                return 503, b"", b""
            limit = settings.ZOOM_WEBHOOK_MAX_BODY_BYTES
            _check_declared_length(headers.get("content-length", "0"), limit)
            body = await _receive_body(receive, limit)
            if body is None:
                return 400, b"", b""  # the client went away
            accepted = accept(
                secret=secret,
                content_type=headers.get("content-type", "").partition(";")[0].strip().lower(),
                timestamp=headers.get("x-zm-request-timestamp", ""),
                signature=headers.get("x-zm-signature", ""),
                body=body,
                now=time.time(),
            )
        except WebhookRejected as rejected:
            logger.warning("zoom webhook rejected (%s): %s", rejected.status, rejected.why)
            return rejected.status, b"", b""
        if isinstance(accepted, dict):
            return 200, json.dumps(accepted).encode(), b"application/json"
        try:
            await _store(accepted, dedicated_thread=True)
        except DatabaseError:
            logger.exception("zoom webhook %s not stored", accepted.event)
            return 500, b"", b""
        return 200, b"", b""


def _host_allowed(host: str) -> bool:
    """``HttpRequest.get_host``'s rule: ``ALLOWED_HOSTS``, or local names when DEBUG and unset."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


async def _receive_body(receive, limit: int) -> bytes | None:
    """The request body (at most ``limit`` bytes: 413 beyond), or None on ``http.disconnect``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise WebhookRejected(413, "body too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)

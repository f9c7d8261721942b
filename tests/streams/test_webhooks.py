"""POST /webhooks/zoom/: verification, validation, idempotency, failover, stop; nothing written on bad input.

The view only stores the event (pending); :func:`apply` plays the ingest supervisor's part
(``webhook_events.webhook_events_apply``), so each happy-path test checks the stored event and what
applying it did.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.db import OperationalError
from django.urls import reverse

from meetings.models import Meeting
from streams import webhook_events, webhooks
from streams.models import Stream, WebhookEvent
from streams.rtms.signing import url_validation_token, webhook_signature
from streams.webhook_payload import RtmsWebhook

SECRET = "test-webhook-secret"
URL = "/webhooks/zoom/"
STREAM_ID = "03db704592624398931a588dd78200cb"
MEETING_UUID = "4nYtdqLVTVqGJ+QB62ED7Q=="


def body_of(event: str, payload: dict, event_ts: int = 1_732_313_171_881) -> bytes:
    return json.dumps(
        {"event": event, "event_ts": event_ts, "payload": payload}, separators=(",", ":")
    ).encode()


def started(server_urls: str = "wss://rtms-sjc1.zoom.us/a", **extra) -> dict:
    return {
        "meeting_uuid": MEETING_UUID,
        "rtms_stream_id": STREAM_ID,
        "server_urls": server_urls,
        "operator_id": "P3Q8W2X9Y5",
        **extra,
    }


def post(
    client,
    body: bytes,
    *,
    secret: str = SECRET,
    ts: int | None = None,
    ts_offset: int = 0,
    signature: str | None = None,
):
    """POST ``body`` signed at ``ts`` (default: now + ``ts_offset`` s, read when called)."""
    ts_s = str(int(time.time()) + ts_offset if ts is None else ts)
    sig = (
        signature
        if signature is not None
        else webhook_signature(secret_token=secret, timestamp=ts_s, body=body)
    )
    return client.generic(
        "POST",
        URL,
        body,
        content_type="application/json",
        headers={"x-zm-request-timestamp": ts_s, "x-zm-signature": sig},
    )


def apply() -> int:
    """What the ingest supervisor does after the webhook's commit."""
    return webhook_events.webhook_events_apply()


def deliver(client, body: bytes):
    response = post(client, body)
    apply()
    return response


def nothing_written() -> bool:
    return not WebhookEvent.objects.exists() and not Stream.objects.exists() and not Meeting.objects.exists()


def test_url_is_routed():
    assert reverse("streams:zoom-webhook") == URL


@pytest.mark.django_db
def test_url_validation_answers_the_challenge(client):
    response = post(client, body_of("endpoint.url_validation", {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}))
    assert response.status_code == 200
    assert response.json() == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": url_validation_token(secret_token=SECRET, plain_token="qgg8vlvZRS6UYooatFL8Aw"),
    }
    assert nothing_written()


@pytest.mark.django_db
def test_url_validation_needs_a_signature_too(client):
    """An unsigned challenge would make the endpoint an HMAC oracle for forged signatures."""
    body = body_of("endpoint.url_validation", {"plainToken": "v0:1700000000:{}"})
    assert post(client, body, signature="").status_code == 401
    assert post(client, body).status_code == 400  # signed, but not a token


@pytest.mark.django_db
def test_started_creates_meeting_and_pending_stream(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body_of("meeting.rtms_started", started()))
    assert response.status_code == 200
    assert response.content == b""
    # the request stored the event, pending, and nothing else
    event = WebhookEvent.objects.get()
    assert (event.event, event.applied_at) == ("meeting.rtms_started", None)
    assert not Stream.objects.exists()
    assert not Meeting.objects.exists()
    assert apply() == 1
    stream = Stream.objects.get()
    assert stream.rtms_stream_id == STREAM_ID
    assert stream.state == Stream.State.PENDING
    assert stream.server_urls == "wss://rtms-sjc1.zoom.us/a"
    assert stream.started_event_ts == 1_732_313_171_881
    meeting = stream.meeting
    assert (meeting.product, meeting.zoom_uuid, meeting.host_user_id) == (
        "meeting",
        MEETING_UUID,
        "P3Q8W2X9Y5",
    )
    assert int(meeting.started_at.timestamp() * 1000) == 1_732_313_171_881
    event.refresh_from_db()
    assert event.rtms_stream_id == STREAM_ID
    assert event.applied_at is not None
    assert event.outcome == "created"
    assert apply() == 0  # applied once


@pytest.mark.django_db
def test_retried_started_changes_nothing(client):
    body = body_of("meeting.rtms_started", started())
    assert deliver(client, body).status_code == 200
    assert deliver(client, body).status_code == 200  # same body: Zoom's retry
    # a re-delivery with another event_ts but the same server_urls: also a retry
    assert (
        deliver(client, body_of("meeting.rtms_started", started(), event_ts=1_732_313_471_881)).status_code
        == 200
    )
    stream = Stream.objects.get()
    assert stream.server_urls_version == 1
    assert Meeting.objects.count() == 1
    assert WebhookEvent.objects.count() == 2  # bodies are stored once each
    assert list(WebhookEvent.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "created",
        "duplicate",
    ]


@pytest.mark.django_db
def test_started_with_new_server_urls_is_a_failover(client):
    deliver(client, body_of("meeting.rtms_started", started()))
    Stream.objects.update(state=Stream.State.ACTIVE, lease_owner="w1", lease_expires_at="2100-01-01T00:00Z")
    response = deliver(
        client, body_of("meeting.rtms_started", started("wss://rtms-iad.zoom.us/b"), event_ts=2)
    )
    assert response.status_code == 200
    stream = Stream.objects.get()
    assert stream.server_urls == "wss://rtms-iad.zoom.us/b"
    assert stream.server_urls_version == 2
    assert stream.lease_owner == "w1"  # the holder reconnects; nobody else claims it


@pytest.mark.django_db
def test_stopped_for_unclaimed_stream_ends_it_and_the_meeting(client):
    deliver(client, body_of("meeting.rtms_started", started()))
    response = deliver(
        client,
        body_of(
            "meeting.rtms_stopped",
            {"meeting_uuid": MEETING_UUID, "rtms_stream_id": STREAM_ID, "stop_reason": 6},
        ),
    )
    assert response.status_code == 200
    stream = Stream.objects.get()
    assert (stream.state, stream.stop_reason) == (Stream.State.STOPPED, 6)
    assert stream.meeting.status == Meeting.Status.ENDED


@pytest.mark.django_db
def test_stopped_for_held_stream_asks_the_holder_to_stop(client):
    deliver(client, body_of("meeting.rtms_started", started()))
    Stream.objects.update(state=Stream.State.ACTIVE, lease_owner="w1", lease_expires_at="2100-01-01T00:00Z")
    deliver(
        client,
        body_of(
            "meeting.rtms_stopped",
            {"meeting_uuid": MEETING_UUID, "rtms_stream_id": STREAM_ID, "stop_reason": 1},
        ),
    )
    stream = Stream.objects.get()
    assert (stream.state, stream.stop_reason) == (Stream.State.STOPPING, 1)
    assert stream.meeting.status == Meeting.Status.LIVE  # ends when the holder has flushed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "payload", "product", "instance"),
    [
        ("webinar.rtms_started", {"webinar_uuid": "W1=="}, "webinar", "W1=="),
        ("webinar.rtms_started", {"meeting_uuid": "W2=="}, "webinar", "W2=="),
        ("session.rtms_started", {"session_id": "S1"}, "session", "S1"),
    ],
)
def test_products_and_their_id_keys(client, event, payload, product, instance):
    payload = {**payload, "rtms_stream_id": STREAM_ID, "server_urls": "wss://x.zoom.us/s"}
    assert deliver(client, body_of(event, payload)).status_code == 200
    meeting = Stream.objects.get().meeting
    assert (meeting.product, meeting.zoom_uuid) == (product, instance)


@pytest.mark.django_db
def test_nested_payload_object_is_accepted(client):
    assert deliver(client, body_of("meeting.rtms_started", {"object": started()})).status_code == 200
    assert Stream.objects.get().rtms_stream_id == STREAM_ID


@pytest.mark.django_db
def test_unknown_event_is_acknowledged_and_ignored(client):
    assert deliver(client, body_of("meeting.participant_joined", {"x": 1})).status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.event, event.outcome) == ("meeting.participant_joined", "ignored")
    assert event.applied_at is not None
    assert not Stream.objects.exists()


@pytest.mark.django_db
def test_interrupted_is_recorded(client):
    deliver(client, body_of("meeting.rtms_started", started()))
    payload = {"meeting_uuid": MEETING_UUID, "rtms_stream_id": STREAM_ID}
    assert deliver(client, body_of("meeting.rtms_interrupted", payload)).status_code == 200
    assert WebhookEvent.objects.filter(event="meeting.rtms_interrupted").count() == 1
    assert Stream.objects.get().state == Stream.State.PENDING


# --- the inbox: stored by the view, applied later by the supervisor, in order, once ------------------


@pytest.mark.django_db
def test_pending_events_are_applied_in_arrival_order(client):
    """A start and its stop both acknowledged before the supervisor looks: applied in order."""
    post(client, body_of("meeting.rtms_started", started()))
    stopped = {"meeting_uuid": MEETING_UUID, "rtms_stream_id": STREAM_ID, "stop_reason": 6}
    post(client, body_of("meeting.rtms_stopped", stopped))
    assert WebhookEvent.objects.filter(applied_at__isnull=True).count() == 2
    assert not Stream.objects.exists()
    assert apply() == 2
    stream = Stream.objects.get()
    assert (stream.state, stream.stop_reason) == (Stream.State.STOPPED, 6)
    assert list(WebhookEvent.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "created",
        "stopped",
    ]


@pytest.mark.django_db
def test_commit_wakes_the_supervisor(client, django_capture_on_commit_callbacks, monkeypatch):
    woken = []
    monkeypatch.setattr("streams.wakeup.notify", lambda: woken.append(1))
    with django_capture_on_commit_callbacks(execute=True):
        post(client, body_of("meeting.rtms_started", started()))
    assert woken == [1]
    with django_capture_on_commit_callbacks(execute=True):
        post(client, body_of("meeting.rtms_started", started()))  # a duplicate: nothing to apply
    assert woken == [1]


@pytest.mark.django_db
def test_event_survives_a_failure_between_ack_and_apply(client, monkeypatch):
    """The database fails while applying: the event stays pending and the next round applies it
    (as a supervisor started after a crash would)."""
    post(client, body_of("meeting.rtms_started", started()))
    real = webhook_events._stream_started

    def unreachable(rtms):
        real(rtms)  # its writes must be rolled back with the event's transaction
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(webhook_events, "_stream_started", unreachable)
    with pytest.raises(OperationalError):
        apply()
    assert WebhookEvent.objects.get().applied_at is None
    assert not Stream.objects.exists()
    assert not Meeting.objects.exists()
    monkeypatch.setattr(webhook_events, "_stream_started", real)
    assert apply() == 1
    assert Stream.objects.get().state == Stream.State.PENDING


@pytest.mark.django_db
def test_an_event_that_cannot_be_applied_does_not_block_the_next(client, monkeypatch, caplog):
    post(client, body_of("meeting.rtms_started", started()))
    other = {**started(), "rtms_stream_id": "other-stream", "meeting_uuid": "other=="}
    post(client, body_of("meeting.rtms_started", other))
    real = webhook_events._stream_started

    def buggy(rtms):
        if rtms.rtms_stream_id == STREAM_ID:
            real(rtms)
            raise KeyError("a bug")
        return real(rtms)

    monkeypatch.setattr(webhook_events, "_stream_started", buggy)
    assert apply() == 2
    assert list(WebhookEvent.objects.order_by("pk").values_list("outcome", flat=True)) == ["error", "created"]
    assert list(Stream.objects.values_list("rtms_stream_id", flat=True)) == ["other-stream"]  # rolled back
    assert "could not be applied" in caplog.text


def test_group_commit_shares_one_transaction_between_concurrent_requests(monkeypatch):
    """Requests arriving while a commit is in flight go together in the next one."""
    import asyncio

    batches = []

    def record(records):
        batches.append([r.body_sha256 for r in records])
        return [not r.body_sha256.startswith("dup") for r in records]

    monkeypatch.setattr(webhook_events, "webhook_events_record", record)

    def rec(key: str) -> webhook_events.WebhookRecord:
        return webhook_events.WebhookRecord(
            event="e", event_ts=None, rtms_stream_id="", body_sha256=key, payload={}
        )

    async def burst():
        group = webhooks.GroupCommit()
        keys = ["a", "b", "dup-c", "d", "e"]
        return await asyncio.gather(*(group.record(rec(k)) for k in keys))

    assert asyncio.run(burst()) == [True, True, False, True, True]
    assert batches == [["a"], ["b", "dup-c", "d", "e"]]  # the first alone, the rest in one commit


def test_group_commit_failure_reaches_every_request_of_the_batch(monkeypatch):
    import asyncio

    def record(records):
        raise OperationalError("database is locked")

    monkeypatch.setattr(webhook_events, "webhook_events_record", record)

    async def burst():
        group = webhooks.GroupCommit()
        rec = webhook_events.WebhookRecord(
            event="e", event_ts=None, rtms_stream_id="", body_sha256="x", payload={}
        )
        results = await asyncio.gather(group.record(rec), group.record(rec), return_exceptions=True)
        return results, group.flushing

    results, flushing = asyncio.run(burst())
    assert all(isinstance(r, OperationalError) for r in results)
    assert flushing is None  # the next request starts a new commit


@pytest.mark.django_db
def test_records_are_stored_once_even_within_one_batch():
    rec = webhook_events.WebhookRecord(
        event="meeting.rtms_started", event_ts=1, rtms_stream_id=STREAM_ID, body_sha256="f" * 64, payload={}
    )
    assert webhook_events.webhook_events_record([rec, rec]) == [True, False]
    assert webhook_events.webhook_events_record([rec]) == [False]
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("product", ["meeting", "webinar", "session"])
def test_receive_helper_applies_the_given_rtms_webhook(product):
    """``webhook_event_receive`` (tests, tools) stores what applying needs, whatever ``payload``."""
    rtms = RtmsWebhook(
        event=f"{product}.rtms_started",
        product=product,
        action="started",
        instance_id="inst==",
        rtms_stream_id=STREAM_ID,
        event_ts=1_732_313_171_881,
        server_urls="wss://x.zoom.us/s",
        operator_id="op",
        zoom_meeting_id="123",
        topic="Weekly",
    )
    kwargs = {"event": rtms.event, "event_ts": rtms.event_ts, "payload": {}, "raw_body": b"b", "rtms": rtms}
    assert webhook_events.webhook_event_receive(**kwargs).result == "created"
    assert webhook_events.webhook_event_receive(**kwargs).result == "duplicate"
    stream = Stream.objects.select_related("meeting").get()
    assert (
        webhooks.parse_rtms_webhook(
            {"event": rtms.event, "event_ts": rtms.event_ts, "payload": WebhookEvent.objects.get().payload}
        )
        == rtms
    )
    assert (stream.meeting.product, stream.meeting.zoom_uuid, stream.meeting.topic) == (
        product,
        "inst==",
        "Weekly",
    )


# --- bad input: 4xx, nothing written, empty body ----------------------------------------------------

GOOD = body_of("meeting.rtms_started", started())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "kwargs", "body", "status"),
    [
        ("bad signature", {"signature": "v0=" + "0" * 64}, GOOD, 401),
        ("signature of another secret", {"secret": "another"}, GOOD, 401),
        ("missing signature", {"signature": ""}, GOOD, 401),
        ("stale timestamp", {"ts_offset": -400}, GOOD, 401),
        ("future timestamp", {"ts_offset": 400}, GOOD, 401),
        ("malformed JSON", {}, b'{"event": "meeting.rtms_started", ', 400),
        ("JSON array", {}, b"[1, 2]", 400),
        ("not UTF-8", {}, b"\xff\xfe\x00", 400),
        ("no event", {}, json.dumps({"payload": started()}).encode(), 400),
        (
            "missing rtms_stream_id",
            {},
            body_of("meeting.rtms_started", {**started(), "rtms_stream_id": ""}),
            400,
        ),
        (
            "missing meeting_uuid",
            {},
            body_of("meeting.rtms_started", {k: v for k, v in started().items() if k != "meeting_uuid"}),
            400,
        ),
        (
            "missing server_urls",
            {},
            body_of("meeting.rtms_started", {k: v for k, v in started().items() if k != "server_urls"}),
            400,
        ),
        (
            "server_urls not a websocket",
            {},
            body_of("meeting.rtms_started", started("http://evil.example/")),
            400,
        ),
        (
            "rtms_stream_id wrong type",
            {},
            body_of("meeting.rtms_started", {**started(), "rtms_stream_id": {"a": 1}}),
            400,
        ),
        (
            "payload not an object",
            {},
            json.dumps({"event": "meeting.rtms_started", "payload": [1]}).encode(),
            400,
        ),
        (
            "stop_reason not an int",
            {},
            body_of("meeting.rtms_stopped", {"meeting_uuid": "m", "rtms_stream_id": "s", "stop_reason": "6"}),
            400,
        ),
        (
            "event_ts not an int",
            {},
            json.dumps({"event": "meeting.rtms_started", "event_ts": "x", "payload": started()}).encode(),
            400,
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(client, caplog, case, kwargs, body, status):
    caplog.set_level(logging.DEBUG)
    response = post(client, body, **kwargs)
    assert response.status_code == status, case
    assert response.content == b""
    assert nothing_written()
    logged = caplog.text
    assert SECRET not in logged
    assert "v0=" not in logged
    assert STREAM_ID not in logged  # no body content in the logs
    assert MEETING_UUID not in logged


@pytest.mark.django_db
def test_oversized_body_is_413(client, settings):
    settings.ZOOM_WEBHOOK_MAX_BODY_BYTES = 1024
    body = body_of("meeting.rtms_started", started(topic="x" * 2000))
    response = post(client, body)
    assert response.status_code == 413
    assert response.content == b""
    assert nothing_written()


@pytest.mark.django_db
def test_fails_closed_without_a_secret(client, settings):
    settings.ZOOM_WEBHOOK_SECRET_TOKEN = ""
    # signed with an empty key: would verify if the check did not fail closed
    response = post(client, GOOD, secret="")
    assert response.status_code == 503
    assert nothing_written()


@pytest.mark.django_db
def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_verify_request_is_constant_time_compare(monkeypatch):
    calls = []
    import hmac

    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    ts = str(int(time.time()))
    sig = webhook_signature(secret_token=SECRET, timestamp=ts, body=b"{}")
    webhooks.verify_request(secret=SECRET, timestamp=ts, signature=sig, body=b"{}", now=time.time())
    assert calls


def test_parse_rtms_webhook_is_pure():
    envelope = json.loads(body_of("meeting.rtms_started", started("wss://a/1, wss://b/2")))
    parsed = webhooks.parse_rtms_webhook(envelope)
    assert parsed.action == "started"
    assert parsed.server_urls == "wss://a/1,wss://b/2"
    assert webhooks.parse_rtms_webhook({"event": "meeting.started", "payload": {}}) is None


# --- the ASGI fast path (what Daphne serves): same answers without Django's request stack ----------


async def asgi_call(*, method="POST", path=URL, headers=None, body=b"", chunks=None, host="testserver"):
    from asgiref.testing import ApplicationCommunicator

    async def django_app(scope, receive, send):  # stands for the rest of the site
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"django"})

    raw = [(b"host", host.encode())] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": method, "path": path, "headers": raw, "query_string": b""}
    app = ApplicationCommunicator(webhooks.FastPath(django_app), scope)
    for i, chunk in enumerate(chunks or [body]):
        await app.send_input(
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks or [body]) - 1}
        )
    start = await app.receive_output(5)
    content = await app.receive_output(5)
    return start["status"], dict(start["headers"]), content["body"]


def signed(body: bytes, *, content_type="application/json", ts: int | None = None) -> dict:
    ts_s = str(int(time.time()) if ts is None else ts)
    return {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "x-zm-request-timestamp": ts_s,
        "x-zm-signature": webhook_signature(secret_token=SECRET, timestamp=ts_s, body=body),
    }


@pytest.fixture
def stored(monkeypatch, settings):
    """The records the fast path commits (no database: this is about the HTTP side)."""
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.ZOOM_WEBHOOK_SECRET_TOKEN = SECRET
    rows = []

    def record(records):
        rows.extend(records)
        return [True] * len(records)

    monkeypatch.setattr(webhook_events, "webhook_events_record", record)
    return rows


async def test_fast_path_stores_and_answers_200_empty(stored):
    body = body_of("meeting.rtms_started", started())
    status, _, content = await asgi_call(headers=signed(body), chunks=[body[:10], body[10:]])
    assert (status, content) == (200, b"")
    assert [(r.event, r.rtms_stream_id, r.event_ts) for r in stored] == [
        ("meeting.rtms_started", STREAM_ID, 1_732_313_171_881)
    ]
    assert stored[0].payload == started()


async def test_fast_path_leaves_other_paths_to_django(stored):
    assert (await asgi_call(method="GET", path="/meetings/"))[0] == 299


async def test_fast_path_answers_the_url_validation(stored):
    body = body_of("endpoint.url_validation", {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"})
    status, headers, content = await asgi_call(headers=signed(body), body=body)
    assert (status, headers[b"content-type"]) == (200, b"application/json")
    assert json.loads(content)["encryptedToken"] == url_validation_token(
        secret_token=SECRET, plain_token="qgg8vlvZRS6UYooatFL8Aw"
    )
    assert stored == []


@pytest.mark.parametrize(
    ("case", "make_kwargs", "status"),
    [  # built when the test runs: a signature made at collection time may be stale by then
        ("GET", lambda: {"method": "GET"}, 405),
        ("bad host", lambda: {"host": "evil.example"}, 400),
        ("not JSON content type", lambda: {"headers": signed(GOOD, content_type="text/plain")}, 415),
        ("unsigned", lambda: {"headers": {"Content-Type": "application/json"}}, 401),
        ("stale", lambda: {"headers": signed(GOOD, ts=int(time.time()) - 400)}, 401),
        ("declared too large", lambda: {"headers": signed(GOOD) | {"Content-Length": "70000"}}, 413),
        ("bad content length", lambda: {"headers": signed(GOOD) | {"Content-Length": "-1"}}, 400),
        ("actually too large", lambda: {"headers": signed(GOOD), "chunks": [GOOD, b" " * 70000]}, 413),
        ("not JSON", lambda: {"headers": signed(b"{nope")}, 400),
    ],
)
async def test_fast_path_refuses_bad_input_and_stores_nothing(stored, case, make_kwargs, status):
    kwargs = make_kwargs()
    kwargs.setdefault("body", GOOD if case != "not JSON" else b"{nope")
    got, headers, content = await asgi_call(**kwargs)
    assert (got, content) == (status, b""), case
    assert stored == []
    if status == 405:
        assert headers[b"allow"] == b"POST"


async def test_fast_path_fails_closed_without_a_secret(stored, settings):
    settings.ZOOM_WEBHOOK_SECRET_TOKEN = ""
    assert (await asgi_call(headers=signed(GOOD), body=GOOD))[0] == 503
    assert stored == []


async def test_fast_path_answers_500_when_the_database_is_down(stored, monkeypatch):
    def down(records):
        raise OperationalError("connection refused")

    monkeypatch.setattr(webhook_events, "webhook_events_record", down)
    assert (await asgi_call(headers=signed(GOOD), body=GOOD))[0] == 500  # Zoom retries

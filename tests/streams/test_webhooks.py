"""POST /webhooks/zoom/: verification, validation, idempotency, failover, stop; nothing written on bad input."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.urls import reverse

from meetings.models import Meeting
from streams import webhooks
from streams.models import Stream, WebhookEvent
from streams.rtms.signing import url_validation_token, webhook_signature

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


def post(client, body: bytes, *, secret: str = SECRET, ts: int | None = None, signature: str | None = None):
    ts_s = str(int(time.time()) if ts is None else ts)
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
    assert WebhookEvent.objects.get().rtms_stream_id == STREAM_ID


@pytest.mark.django_db
def test_retried_started_changes_nothing(client):
    body = body_of("meeting.rtms_started", started())
    assert post(client, body).status_code == 200
    assert post(client, body).status_code == 200  # same body: Zoom's retry
    # a re-delivery with another event_ts but the same server_urls: also a retry
    assert (
        post(client, body_of("meeting.rtms_started", started(), event_ts=1_732_313_471_881)).status_code
        == 200
    )
    stream = Stream.objects.get()
    assert stream.server_urls_version == 1
    assert Meeting.objects.count() == 1
    assert WebhookEvent.objects.count() == 2  # bodies are stored once each


@pytest.mark.django_db
def test_started_with_new_server_urls_is_a_failover(client):
    post(client, body_of("meeting.rtms_started", started()))
    Stream.objects.update(state=Stream.State.ACTIVE, lease_owner="w1", lease_expires_at="2100-01-01T00:00Z")
    response = post(client, body_of("meeting.rtms_started", started("wss://rtms-iad.zoom.us/b"), event_ts=2))
    assert response.status_code == 200
    stream = Stream.objects.get()
    assert stream.server_urls == "wss://rtms-iad.zoom.us/b"
    assert stream.server_urls_version == 2
    assert stream.lease_owner == "w1"  # the holder reconnects; nobody else claims it


@pytest.mark.django_db
def test_stopped_for_unclaimed_stream_ends_it_and_the_meeting(client):
    post(client, body_of("meeting.rtms_started", started()))
    response = post(
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
    post(client, body_of("meeting.rtms_started", started()))
    Stream.objects.update(state=Stream.State.ACTIVE, lease_owner="w1", lease_expires_at="2100-01-01T00:00Z")
    post(
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
    assert post(client, body_of(event, payload)).status_code == 200
    meeting = Stream.objects.get().meeting
    assert (meeting.product, meeting.zoom_uuid) == (product, instance)


@pytest.mark.django_db
def test_nested_payload_object_is_accepted(client):
    assert post(client, body_of("meeting.rtms_started", {"object": started()})).status_code == 200
    assert Stream.objects.get().rtms_stream_id == STREAM_ID


@pytest.mark.django_db
def test_unknown_event_is_acknowledged_and_ignored(client):
    assert post(client, body_of("meeting.participant_joined", {"x": 1})).status_code == 200
    assert WebhookEvent.objects.get().event == "meeting.participant_joined"
    assert not Stream.objects.exists()


@pytest.mark.django_db
def test_interrupted_is_recorded(client):
    post(client, body_of("meeting.rtms_started", started()))
    payload = {"meeting_uuid": MEETING_UUID, "rtms_stream_id": STREAM_ID}
    assert post(client, body_of("meeting.rtms_interrupted", payload)).status_code == 200
    assert WebhookEvent.objects.filter(event="meeting.rtms_interrupted").count() == 1
    assert Stream.objects.get().state == Stream.State.PENDING


# --- bad input: 4xx, nothing written, empty body ----------------------------------------------------

GOOD = body_of("meeting.rtms_started", started())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "kwargs", "body", "status"),
    [
        ("bad signature", {"signature": "v0=" + "0" * 64}, GOOD, 401),
        ("signature of another secret", {"secret": "another"}, GOOD, 401),
        ("missing signature", {"signature": ""}, GOOD, 401),
        ("stale timestamp", {"ts": int(time.time()) - 400}, GOOD, 401),
        ("future timestamp", {"ts": int(time.time()) + 400}, GOOD, 401),
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

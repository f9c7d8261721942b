"""Outbound webhooks: signing, delivery to a real local HTTP server, retries, backoff, the guard."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from meetings import outbound
from meetings.models import Summary, WebhookDelivery, WebhookSubscription
from meetings.services.meetings import meeting_end, meeting_get_or_create
from meetings.services.transcript import transcript_segment_record
from tests.factories import MeetingFactory, UserFactory

SECRET = "whsec-test"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers with the next scripted status and logs requests."""

    def __init__(self, statuses: list[int | tuple[int, dict]]) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": body, "path": self.path, "at": time.monotonic()}
                )
                scripted = receiver.statuses.pop(0) if receiver.statuses else 200
                code, headers = scripted if isinstance(scripted, tuple) else (scripted, {})
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(f"answer {code}".encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rtms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([]) as r:
        yield r


@pytest.fixture
def eager_off():
    """Celery's own config (read at start-up), not Django's settings, decides eager mode."""
    from rtms_assistant.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.0
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    settings.WEBHOOK_TIMEOUT_SECONDS = 5.0


def subscribe(
    owner, url: str, events=("transcript.segment",), *, allow_private: bool = True
) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        owner=owner, url=url, secret=SECRET, events=list(events), allow_private=allow_private
    )


def record_final(meeting, key: str = "k1", text: str = "Ship it on Friday.", **kwargs):
    return transcript_segment_record(
        meeting=meeting, source="zoom", source_key=key, text=text, start_ms=0, **kwargs
    )[0]


# --- signing ------------------------------------------------------------------------------------


def test_signature_verifies_and_rejects_tampering_and_old_timestamps():
    body = outbound.body_bytes({"event": "meeting.started", "data": {"x": "é"}})
    now = 1_800_000_000
    header = outbound.sign(secret=SECRET, body=body, timestamp=now)
    assert header.startswith(f"t={now},v1=")
    assert outbound.verify(secret=SECRET, body=body, header=header, now=now + 10)
    assert not outbound.verify(secret="other", body=body, header=header, now=now)
    assert not outbound.verify(secret=SECRET, body=body + b" ", header=header, now=now)
    assert not outbound.verify(secret=SECRET, body=body, header=header, now=now + 301)
    assert not outbound.verify(secret=SECRET, body=body, header="garbage", now=now)
    # The documented recipe, spelled out: HMAC-SHA256 over "<t>.<body>".
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={expected}"


# --- private-address guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://172.16.0.5/",
        "http://192.168.1.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "ftp://93.184.216.34/",
        "http://user:pw@93.184.216.34/",
        "not a url",
        "http://no-such-host.invalid/",
    ],
)
def test_guard_refuses_private_loopback_link_local_and_odd_targets(url):
    with pytest.raises(outbound.TargetRefused):
        outbound.target_resolve(url)


def test_guard_allows_public_addresses_and_private_ones_when_allowed():
    target = outbound.target_resolve("https://93.184.216.34:8443/x")
    assert (target.host, target.address) == ("93.184.216.34", "93.184.216.34")
    assert outbound.target_resolve("http://[2606:4700::1111]/").address == "2606:4700::1111"
    assert outbound.target_resolve("http://127.0.0.1:9/", allow_private=True).address == "127.0.0.1"


@pytest.mark.django_db
def test_private_target_is_refused_and_never_called(
    user, meeting, receiver, django_capture_on_commit_callbacks
):
    subscribe(user, receiver.url, allow_private=False)
    with django_capture_on_commit_callbacks(execute=True):
        record_final(meeting)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.REFUSED
    assert "non-public address (127.0.0.1)" in delivery.last_error
    assert receiver.requests == []


# --- delivery -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_final_segment_is_delivered_signed_with_event_and_idempotency_headers(
    user, meeting, receiver, django_capture_on_commit_callbacks
):
    subscribe(user, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        record_final(meeting, key="p", text="partial words", is_final=False)  # partials: no event
        segment = record_final(meeting)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-rtms-event"] == "transcript.segment"
    assert headers["content-type"] == "application/json"
    assert headers["host"] == receiver.url.split("/")[2]
    assert outbound.verify(secret=SECRET, body=request["body"], header=headers["x-rtms-signature"])
    payload = json.loads(request["body"])
    assert payload["event"] == "transcript.segment"
    assert payload["id"] == headers["idempotency-key"]
    assert payload["data"]["meeting"]["id"] == str(meeting.public_id)
    assert payload["data"]["segment"] == {
        "id": segment.pk,
        "seq": segment.seq,
        "source": "zoom",
        "speaker": "",
        "start_ms": 0,
        "end_ms": None,
        "text": "Ship it on Friday.",
    }
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert delivery.response_excerpt == "answer 200"
    assert delivery.delivered_at is not None


@pytest.mark.backends
@pytest.mark.django_db
def test_same_event_twice_is_one_delivery_and_a_revision_is_a_new_one(
    user, meeting, receiver, django_capture_on_commit_callbacks
):
    subscribe(user, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        segment = record_final(meeting)
    assert outbound.emit(event="transcript.segment", meeting_id=meeting.pk, object_id=segment.pk) == []
    with django_capture_on_commit_callbacks(execute=True):
        record_final(meeting, text="Ship it on Monday.")
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == 2
    assert len(set(keys)) == 2
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.django_db
def test_meeting_started_ended_and_summary_ready_events(user, receiver, django_capture_on_commit_callbacks):
    from meetings.models import ZoomIdentity

    ZoomIdentity.objects.create(user=user, zoom_user_id="host-1")
    subscribe(user, receiver.url, events=[e.value for e in WebhookSubscription.Event])
    with django_capture_on_commit_callbacks(execute=True):
        meeting, _ = meeting_get_or_create(product="meeting", zoom_uuid="abc==", host_user_id="host-1")
    with django_capture_on_commit_callbacks(execute=True):
        meeting_end(meeting=meeting)
    summary = Summary.objects.filter(meeting=meeting).first() or Summary.objects.create(meeting=meeting)
    Summary.objects.filter(pk=summary.pk).update(status=Summary.Status.READY, overview="Done.")
    outbound.emit(event="summary.ready", meeting_id=meeting.pk, object_id=summary.pk)
    events = [json.loads(r["body"])["event"] for r in receiver.requests]
    assert events == ["meeting.started", "meeting.ended", "summary.ready"]
    assert json.loads(receiver.requests[2]["body"])["data"]["summary"]["overview"] == "Done."


@pytest.mark.django_db
def test_events_of_meetings_the_owner_cannot_see_are_not_sent(receiver, django_capture_on_commit_callbacks):
    stranger = UserFactory()
    meeting = MeetingFactory(owner=UserFactory())
    subscribe(stranger, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        record_final(meeting)
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


@pytest.mark.django_db
def test_retries_5xx_until_delivered_with_the_same_idempotency_key(
    user, meeting, fast_retries, django_capture_on_commit_callbacks
):
    with Receiver([503, 500, 200]) as receiver:
        subscribe(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            record_final(meeting)
    assert len(receiver.requests) == 3
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 1
    for request in receiver.requests:
        assert outbound.verify(
            secret=SECRET, body=request["body"], header=request["headers"]["X-RTMS-Signature"]
        )
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 3


@pytest.mark.django_db
def test_gives_up_after_max_attempts_and_at_once_on_4xx(
    user, meeting, fast_retries, django_capture_on_commit_callbacks
):
    with Receiver([500] * 10) as receiver:
        subscribe(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            record_final(meeting)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 4, 500)
    assert len(receiver.requests) == 4

    with Receiver([400, 200]) as receiver:
        WebhookSubscription.objects.update(url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            record_final(meeting, key="k2")
    delivery = WebhookDelivery.objects.order_by("-pk").first()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 400)
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_connection_errors_are_retried(user, meeting, fast_retries, django_capture_on_commit_callbacks):
    with Receiver([]) as receiver:
        url = receiver.url
    subscribe(user, url)  # the server is gone: connection refused
    with django_capture_on_commit_callbacks(execute=True):
        record_final(meeting)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 4)
    assert "ConnectError" in delivery.last_error


def test_backoff_is_exponential_and_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600
    assert [outbound.backoff_seconds(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


@pytest.mark.django_db
def test_retry_after_header_sets_the_next_attempt(user, meeting, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.5
    with Receiver([(429, {"Retry-After": "7"})]) as receiver:
        subscription = subscribe(user, receiver.url)
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            meeting=meeting,
            event="meeting.started",
            idempotency_key="x" * 64,
            payload={},
        )
        countdown = outbound.delivery_attempt(delivery_id=delivery.pk)
    assert countdown == 7.0
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.next_retry_at is not None


@pytest.mark.django_db(transaction=True)
def test_embedded_mode_waits_the_backoff_between_attempts(settings, eager_off):
    """In-process tasks (embedded mode): the retry runs after the backoff, on a timer."""
    from jobs import inprocess

    settings.CELERY_TASKS_IN_PROCESS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.3
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    owner = UserFactory()
    meeting = MeetingFactory(owner=owner)
    with Receiver([500, 500, 200]) as receiver:
        subscribe(owner, receiver.url)
        record_final(meeting)  # commits: the delivery task goes to the in-process queue
        deadline = time.monotonic() + 15
        while len(receiver.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        inprocess.drain(timeout=10)
    times = [r["at"] for r in receiver.requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.3
    assert times[2] - times[1] >= 0.6
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)


@pytest.mark.django_db
def test_requeue_due_resumes_pending_deliveries(user, meeting, receiver):
    from django.utils import timezone

    subscription = subscribe(user, receiver.url)
    WebhookDelivery.objects.create(
        subscription=subscription,
        meeting=meeting,
        event="meeting.started",
        idempotency_key="y" * 64,
        payload={"event": "meeting.started"},
        attempts=2,
        next_retry_at=timezone.now(),
    )
    assert outbound.delivery_requeue_due() == 1
    assert WebhookDelivery.objects.get().status == "delivered"
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_admin_shows_the_delivery_log_and_retries(admin_client, user, meeting, fast_retries):
    with Receiver([500, 200]) as receiver:
        subscription = subscribe(user, receiver.url)
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            meeting=meeting,
            event="meeting.ended",
            idempotency_key="z" * 64,
            payload={},
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status="failed", attempts=1, last_status_code=500
        )
        log = admin_client.get("/admin/meetings/webhookdelivery/")
        assert log.status_code == 200
        assert "500" in log.content.decode()
        page = admin_client.get(f"/admin/meetings/webhooksubscription/{subscription.pk}/change/")
        assert page.status_code == 200
        assert "meeting.ended" in page.content.decode()
        admin_client.post(
            "/admin/meetings/webhookdelivery/", {"action": "retry_now", "_selected_action": [delivery.pk]}
        )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_subscription_validation_names_unknown_events(user):
    from django.core.exceptions import ValidationError

    good = WebhookSubscription(
        owner=user, url="https://hooks.example.com/x", secret="s", events=["meeting.ended"]
    )
    good.full_clean()
    with pytest.raises(ValidationError, match="unknown events"):
        WebhookSubscription(
            owner=user, url="https://hooks.example.com/x", secret="s", events=["meeting.exploded"]
        ).full_clean()
    with pytest.raises(ValidationError, match="non-empty list"):
        WebhookSubscription(owner=user, url="https://hooks.example.com/x", secret="s", events=[]).full_clean()


@pytest.mark.django_db
def test_ipv6_loopback_target_gets_a_bracketed_host_header(user, meeting):
    import socket
    from http.server import ThreadingHTTPServer

    class V6Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    try:
        server = V6Server(("::1", 0), Handler)
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://[::1]:{server.server_address[1]}/hook"
        target = outbound.target_resolve(url, allow_private=True)
        outcome = outbound.post(
            target=target, body=b"{}", headers={"Content-Type": "application/json"}, timeout=5
        )
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.delivered
    assert outcome.status_code == 204
    assert seen == [f"[::1]:{server.server_address[1]}"]

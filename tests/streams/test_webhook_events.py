"""The webhook inbox under concurrency: several supervisors apply each stored webhook once, in order."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from streams import webhook_events
from streams.models import Stream, WebhookEvent

pytestmark = pytest.mark.backends  # applying locks the oldest pending row: run on both databases


@pytest.mark.backends
@pytest.mark.django_db(transaction=True)
def test_concurrent_appliers_apply_each_webhook_once_and_in_order():
    """Four supervisors (four connections) apply ten starts each followed by its stop: every
    event is applied exactly once, and no stop overtakes its start (it would be ``ignored``)."""
    records = []
    for i in range(10):
        for action, extra in (
            ("started", {"server_urls": "wss://x.zoom.us/s"}),
            ("stopped", {"stop_reason": 6}),
        ):
            payload = {"meeting_uuid": f"m{i}", "rtms_stream_id": f"s{i}", **extra}
            records.append(
                webhook_events.WebhookRecord(
                    event=f"meeting.rtms_{action}",
                    event_ts=1_732_313_171_881,
                    rtms_stream_id=f"s{i}",
                    body_sha256=f"{i}-{action}".ljust(64, "0"),
                    payload=payload,
                )
            )
    assert all(webhook_events.webhook_events_record(records))
    barrier = threading.Barrier(4)
    applied: list[int] = []
    errors: list[BaseException] = []

    def supervisor() -> None:
        try:
            barrier.wait(timeout=10)
            applied.append(webhook_events.webhook_events_apply(limit=100))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=supervisor) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sum(applied) == 20
    outcomes = dict(WebhookEvent.objects.values_list("body_sha256", "outcome"))
    assert sorted(outcomes.values()) == ["created"] * 10 + ["stopped"] * 10
    assert not WebhookEvent.objects.filter(applied_at__isnull=True).exists()
    assert set(Stream.objects.values_list("state", flat=True)) == {Stream.State.STOPPED}

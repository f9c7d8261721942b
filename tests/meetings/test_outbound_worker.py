"""Scaled mode: a real Celery worker (Redis broker, PostgreSQL) delivers a webhook with retries.

The worker runs ``meetings.tasks.webhook_deliver``; a failed attempt schedules the next one
through the broker with the backoff as its ``countdown`` (ETA), so the gaps between attempts
seen by the receiving server are at least the backoff.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from meetings.models import WebhookDelivery, WebhookSubscription
from meetings.services.transcript import transcript_segment_record
from tests.factories import MeetingFactory, UserFactory
from tests.meetings.test_outbound_webhooks import SECRET, Receiver

ROOT = Path(__file__).resolve().parents[2]
WORKER_COMMAND = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "rtms_assistant",
    "worker",
    "-Q",
    "default",
    "--pool",
    "solo",
]
pytestmark = [pytest.mark.scaled, pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def celery_worker(tmp_path):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (the scaled pass)")
    from rtms_assistant.celery import app

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings",
        "DJANGO_SECRET_KEY": "worker-test-secret",
        "DJANGO_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "WEBHOOK_RETRY_BASE_SECONDS": "1",
        "WEBHOOK_MAX_ATTEMPTS": "4",
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [*WORKER_COMMAND, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield tmp_path / "worker.log"
    finally:
        app.conf.task_always_eager = previous
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


@pytest.mark.django_db(transaction=True)
def test_real_worker_retries_with_backoff_until_delivered(celery_worker, settings):
    settings.CELERY_TASKS_IN_PROCESS = False
    owner = UserFactory()
    meeting = MeetingFactory(owner=owner)
    with Receiver([503, 500, 200]) as receiver:
        WebhookSubscription.objects.create(
            owner=owner, url=receiver.url, secret=SECRET, events=["transcript.segment"], allow_private=True
        )
        transcript_segment_record(meeting=meeting, source="zoom", source_key="k", text="Hi.", start_ms=0)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            delivery = WebhookDelivery.objects.first()
            if delivery is not None and delivery.status != "pending":
                break
            time.sleep(0.2)
    log = celery_worker.read_text()[-4000:]
    assert delivery is not None, log
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200), log
    times = [r["at"] for r in receiver.requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 1.0  # backoff 1 s
    assert times[2] - times[1] >= 2.0  # then 2 s
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 1

"""/metrics: Prometheus text read from the database at scrape time, for a token or staff only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from meetings.models import AudioRecording, ParticipantEvent, Summary
from streams.models import Stream, WebhookEvent
from tests.factories import ParticipantEventFactory, ParticipantFactory, StreamFactory, UserFactory
from transcription.models import AudioWindow

pytestmark = pytest.mark.django_db
TOKEN = "scrape-me-please"


@pytest.fixture(autouse=True)
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_a_scrape_reports_ingest_whisper_webhooks_and_summaries(client, meeting):
    now = timezone.now()
    StreamFactory(
        meeting=meeting, audio_frames=1000, audio_frames_dropped=3, reconnect_count=2, state="active"
    )
    StreamFactory(meeting=meeting, audio_frames=500, state="stopped")
    ParticipantEventFactory(meeting=meeting, kind=ParticipantEvent.Kind.INTERRUPTION)
    WebhookEvent.objects.create(event="meeting.rtms_started", body_sha256="a" * 64, outcome="started")
    WebhookEvent.objects.create(event="meeting.rtms_started", body_sha256="b" * 64)
    recording = AudioRecording.objects.create(
        meeting=meeting,
        participant=ParticipantFactory(meeting=meeting),
        kind=AudioRecording.Kind.PARTICIPANT,
        stream_key="s1",
        path="x.wav",
    )
    window = {"recording": recording, "byte_length": 32_000, "start_ms": 0, "end_ms": 1000}
    waiting = AudioWindow.objects.create(byte_offset=0, **window)
    AudioWindow.objects.filter(pk=waiting.pk).update(queued_at=now - dt.timedelta(seconds=42))
    AudioWindow.objects.create(byte_offset=0, is_final=False, **window)
    wall = int(now.timestamp() * 1000)
    AudioWindow.objects.create(
        byte_offset=64_000,
        status="done",
        started_at=now - dt.timedelta(seconds=1),
        done_at=now,
        speech_end_wall_ms=wall - 1500,
        **window,
    )
    Summary.objects.create(meeting=meeting, status="ready", duration_ms=2500, completed_at=now)

    metrics = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert metrics[("rtms_audio_frames_received_total", ())] == 1503
    assert metrics[("rtms_audio_frames_stored_total", ())] == 1500
    assert metrics[("rtms_audio_frames_dropped_total", ())] == 3
    assert metrics[("rtms_stream_reconnects_total", ())] == 2
    assert metrics[("rtms_stream_interruptions_total", ())] == 1
    assert metrics[("rtms_streams", (("state", "active"),))] == 1
    assert (
        metrics[("rtms_zoom_webhooks_total", (("event", "meeting.rtms_started"), ("outcome", "started")))]
        == 1
    )
    assert (
        metrics[("rtms_zoom_webhooks_total", (("event", "meeting.rtms_started"), ("outcome", "pending")))]
        == 1
    )
    assert metrics[("rtms_webhook_deliveries", (("status", "delivered"),))] == 0
    assert metrics[("rtms_whisper_queue_windows", (("kind", "final"),))] == 1
    assert metrics[("rtms_whisper_queue_windows", (("kind", "partial"),))] == 1
    assert 41 <= metrics[("rtms_whisper_queue_oldest_age_seconds", ())] < 60
    assert metrics[("rtms_final_line_lag_seconds_count", ())] == 1
    assert 1.4 <= metrics[("rtms_final_line_lag_seconds", (("quantile", "0.9"),))] < 3
    assert metrics[("rtms_whisper_run_seconds_sum", ())] == pytest.approx(1.0, abs=0.01)
    assert metrics[("rtms_summary_duration_seconds_sum", ())] == 2.5
    assert metrics[("rtms_summaries", (("status", "ready"),))] == 1
    assert ("rtms_transcript_lag_seconds", ()) in metrics


def test_staff_may_look_without_a_token(client):
    client.force_login(UserFactory(is_staff=True))
    assert ("rtms_meetings_live", ()) in scrape(client)


def test_strangers_are_refused(client, settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401  # no token set: none works
    client.force_login(UserFactory())
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"rtms_" not in response.content
    assert Stream.objects.count() == 0  # nothing was touched

"""Issue 18, item 3: reconnection is visible. The RTMS client's ``Interrupted`` /
``Reconnecting`` / ``Connected`` events, applied by the ingest writer, make the stream
``retrying`` with the attempt, the last error and the next attempt time (Stream row, admin,
API, meeting page), count every successful reconnect, and record one interruption per outage."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from meetings.models import ParticipantEvent
from meetings.selectors.health import meeting_health
from streams import services
from streams.models import Stream
from streams.rtms import events as ev
from streams.writer import EventWriter
from tests.factories import MeetingFactory, StreamFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # apply_batch closes stale connections
S = Stream.State
K = ParticipantEvent.Kind


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


@pytest.fixture
def setup():
    user = UserFactory()
    meeting = MeetingFactory(owner=user)
    stream = StreamFactory(
        meeting=meeting,
        state=S.ACTIVE,
        lease_owner="w1",
        lease_expires_at=timezone.now() + dt.timedelta(minutes=5),
        connected_at=timezone.now(),
    )
    claim = SimpleNamespace(
        rtms_stream_id=stream.rtms_stream_id,
        meeting_id=meeting.pk,
        stream_id=stream.pk,
        was_connected=True,
        meeting_started_ms=_ms(meeting.started_at),
    )
    writer = EventWriter(SimpleNamespace(claim=claim, owner="w1"))
    return SimpleNamespace(user=user, meeting=meeting, stream=stream, writer=writer)


def test_an_outage_is_one_interruption_retrying_visibly_then_one_reconnect(setup, client):
    now = timezone.now()
    lost = _ms(now)
    setup.writer.apply_batch(
        [
            ev.Interrupted("signaling", "connection lost without a close frame", lost),
            ev.Interrupted("media:audio", "connection lost without a close frame", lost + 3),  # same outage
            ev.Reconnecting("signaling", 1, "signaling: connection lost", lost + 3000, lost + 60_000),
            ev.Reconnecting(
                "signaling", 2, "cannot open signaling socket: refused", lost + 9000, lost + 60_000
            ),
        ]
    )
    stream = Stream.objects.get(pk=setup.stream.pk)
    assert stream.state == S.RETRYING
    assert (stream.retry_attempt, stream.retry_error) == (2, "cannot open signaling socket: refused")
    assert _ms(stream.retry_next_at) == lost + 9000
    assert _ms(stream.retry_deadline_at) == lost + 60_000
    gaps = list(ParticipantEvent.objects.filter(meeting=setup.meeting, kind=K.INTERRUPTION))
    assert len(gaps) == 1
    assert gaps[0].reason == "signaling: connection lost without a close frame"
    assert gaps[0].end_offset_ms is None

    health = meeting_health(meeting=setup.meeting)
    assert (health.state, health.retry_attempt) == ("retrying", 2)
    assert health.retry_error == "cannot open signaling socket: refused"
    assert _ms(health.retry_next_at) == lost + 9000
    client.force_login(setup.user)
    page = client.get(reverse("meetings:detail", args=[setup.meeting.public_id])).content.decode()
    assert 'data-state="retrying"' in page
    assert "Reconnecting (attempt 2)" in page
    assert "retrying: attempt 2" in page
    assert 'last error: <span class="retry-error">cannot open signaling socket: refused</span>' in page

    api = APIClient()
    api.force_authenticate(setup.user)
    data = api.get(f"/api/meetings/{setup.meeting.public_id}/").json()
    (row,) = data["streams"]
    assert (row["state"], row["retry_attempt"], row["retry_error"]) == (
        "retrying",
        2,
        "cannot open signaling socket: refused",
    )
    assert row["retry_next_at"] is not None
    assert row["reconnect_count"] == 0

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    admin_page = client.get(reverse("admin:streams_stream_changelist")).content.decode()
    assert "cannot open signaling socket: refused" in admin_page

    setup.writer.apply_batch([ev.Connected(reconnect=True, media=("audio",))])
    stream = Stream.objects.get(pk=setup.stream.pk)
    assert stream.state == S.ACTIVE
    assert stream.reconnect_count == 1  # the client's own reconnect counts (not only takeovers)
    assert (stream.retry_attempt, stream.retry_error, stream.retry_next_at) == (0, "", None)
    (gap,) = ParticipantEvent.objects.filter(meeting=setup.meeting, kind=K.INTERRUPTION)
    assert gap.end_offset_ms is not None
    assert gap.end_offset_ms >= gap.offset_ms
    setup.meeting.refresh_from_db()
    assert meeting_health(meeting=setup.meeting).state == "connected"

    # a second outage is a second interruption, and a second reconnect
    setup.writer.apply_batch(
        [
            ev.Interrupted("media:audio", "server closed the socket", _ms(timezone.now())),
            ev.Connected(reconnect=True, media=("audio",)),
        ]
    )
    assert Stream.objects.get(pk=setup.stream.pk).reconnect_count == 2
    assert ParticipantEvent.objects.filter(meeting=setup.meeting, kind=K.INTERRUPTION).count() == 2


def test_a_first_connection_that_fails_is_retrying_with_a_gap_and_fails_with_the_reason(setup):
    Stream.objects.filter(pk=setup.stream.pk).update(state=S.CONNECTING, connected_at=None)
    now = _ms(timezone.now())
    setup.writer.apply_batch([ev.Reconnecting("signaling", 2, "handshake status 8", now + 500, now + 60_000)])
    stream = Stream.objects.get(pk=setup.stream.pk)
    assert (stream.state, stream.retry_attempt) == (S.RETRYING, 2)
    (gap,) = ParticipantEvent.objects.filter(meeting=setup.meeting, kind=K.INTERRUPTION)
    assert gap.details["retry"]["attempt"] == 2
    assert services.stream_mark_ended(
        stream_id=stream.pk, state=S.FAILED, detail="could not (re)connect within the 60s reconnect window"
    )
    stream.refresh_from_db()
    assert stream.state == S.FAILED
    assert "60s reconnect window" in stream.stop_detail
    assert stream.retry_error == "handshake status 8"  # kept: why it failed


def test_retrying_is_an_open_state_a_worker_can_take_over():
    stream = StreamFactory(
        state=S.RETRYING, lease_owner="w1", lease_expires_at=timezone.now(), connected_at=timezone.now()
    )
    assert S.RETRYING in services.OPEN_STATES
    (claim,) = services.stream_claim_next(owner="w2", lease_seconds=5)
    assert claim.stream_id == stream.pk
    stream.refresh_from_db()
    assert (stream.state, stream.lease_owner, stream.reconnect_count) == (S.CONNECTING, "w2", 1)


def test_audio_the_client_dropped_is_a_gap_with_its_reason(setup):
    start = _ms(setup.meeting.started_at) + 10_000
    dropped = ev.AudioDropped(
        "16778240", "Ada", frames=50, bytes=32_000, first_timestamp=start, last_timestamp=start + 980
    )
    setup.writer.apply_batch([dropped, dropped])  # applied twice (a retried batch): stored once
    (gap,) = ParticipantEvent.objects.filter(meeting=setup.meeting, kind=K.INTERRUPTION)
    assert abs(gap.offset_ms - 10_000) <= 1  # meeting start has sub-ms precision
    assert abs(gap.end_offset_ms - 11_000) <= 1
    assert gap.reason.startswith("audio dropped: 50 frame(s) of Ada")
    assert gap.participant.display_name == "Ada"
    assert meeting_health(meeting=setup.meeting).state != "interrupted"  # a closed gap


@pytest.mark.parametrize(
    "reason",
    ["not written: the worker lost the stream's lease", "not written: the audio flush failed (disk full)"],
)
def test_audio_the_runner_dropped_is_a_gap_with_its_own_reason(setup, reason):
    """Issue 18: audio counted as dropped on a lost lease or a failed flush is a gap too."""
    start = _ms(setup.meeting.started_at) + 20_000
    dropped = ev.AudioDropped("16778240", "Ada", 5, 3_200, start, start + 80, reason)
    setup.writer.apply_batch([dropped])
    (gap,) = ParticipantEvent.objects.filter(meeting=setup.meeting, kind=K.INTERRUPTION)
    assert gap.reason == f"audio dropped: 5 frame(s) of Ada {reason} (counted in audio_frames_dropped)"
    assert gap.details["cause"] == reason
    assert abs(gap.end_offset_ms - 20_100) <= 1

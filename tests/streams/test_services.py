"""Stream state machine and leases: conditional UPDATEs, atomic claims, expiry takeover, release."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from meetings.models import Meeting, ParticipantEvent
from streams import services
from streams.models import Stream
from tests.factories import MeetingFactory, StreamFactory

S = Stream.State
pytestmark = pytest.mark.backends  # leases are about the database's atomic UPDATEs: run on both


@pytest.mark.django_db
def test_transition_table_is_enforced():
    stream = StreamFactory()
    assert not services.stream_transition(stream_id=stream.pk, to=S.ACTIVE)  # pending -> active: no
    assert services.stream_transition(stream_id=stream.pk, to=S.CONNECTING)
    assert services.stream_transition(stream_id=stream.pk, to=S.ACTIVE)
    assert services.stream_transition(stream_id=stream.pk, to=S.STOPPING)
    assert not services.stream_transition(stream_id=stream.pk, to=S.ACTIVE)  # stopping is one-way
    with pytest.raises(services.InvalidTransition):
        services.stream_transition(stream_id=stream.pk, to="bogus")


def test_terminal_states_have_no_way_out():
    for target, sources in services.TRANSITIONS.items():
        assert S.STOPPED not in sources, target
        assert S.FAILED not in sources, target


@pytest.mark.django_db
def test_transition_checks_the_owner():
    stream = StreamFactory(state=S.CONNECTING, lease_owner="w1", lease_expires_at=timezone.now())
    assert not services.stream_transition(stream_id=stream.pk, to=S.ACTIVE, owner="w2")
    assert services.stream_transition(stream_id=stream.pk, to=S.ACTIVE, owner="w1")


@pytest.mark.django_db
def test_claim_takes_pending_streams_once():
    a, b = StreamFactory(), StreamFactory()
    claims = services.stream_claim_next(owner="w1", lease_seconds=30)
    assert {c.stream_id for c in claims} == {a.pk, b.pk}
    assert services.stream_claim_next(owner="w2", lease_seconds=30) == []
    a.refresh_from_db()
    assert (a.state, a.lease_owner) == (S.CONNECTING, "w1")
    assert a.lease_expires_at > timezone.now() + dt.timedelta(seconds=25)


@pytest.mark.django_db
def test_expired_lease_is_taken_over_and_counted_as_reconnect():
    now = timezone.now()
    stream = StreamFactory(
        state=S.ACTIVE,
        lease_owner="dead",
        lease_expires_at=now - dt.timedelta(seconds=1),
        connected_at=now - dt.timedelta(minutes=1),
    )
    (claim,) = services.stream_claim_next(owner="w2", lease_seconds=30)
    assert claim.previous_owner == "dead"
    assert claim.was_connected
    stream.refresh_from_db()
    assert (stream.lease_owner, stream.state, stream.reconnect_count) == ("w2", S.CONNECTING, 1)


@pytest.mark.django_db
def test_live_lease_is_not_taken():
    StreamFactory(state=S.ACTIVE, lease_owner="w1", lease_expires_at=timezone.now() + dt.timedelta(seconds=5))
    assert services.stream_claim_next(owner="w2", lease_seconds=30) == []


@pytest.mark.django_db
def test_renew_reports_state_and_failover_and_loss():
    stream = StreamFactory()
    services.stream_claim_next(owner="w1", lease_seconds=30)
    status = services.stream_lease_renew(stream_id=stream.pk, owner="w1", lease_seconds=30)
    assert status.held
    assert (status.state, status.server_urls_version) == (S.CONNECTING, 1)
    Stream.objects.filter(pk=stream.pk).update(server_urls="wss://new/", server_urls_version=2)
    status = services.stream_lease_renew(stream_id=stream.pk, owner="w1", lease_seconds=30)
    assert (status.server_urls, status.server_urls_version) == ("wss://new/", 2)
    assert not services.stream_lease_renew(stream_id=stream.pk, owner="w2", lease_seconds=30).held


@pytest.mark.django_db
def test_release_hands_over_at_once():
    stream = StreamFactory()
    services.stream_claim_next(owner="w1", lease_seconds=300)
    services.stream_transition(stream_id=stream.pk, to=S.ACTIVE, owner="w1")
    assert services.stream_lease_release(stream_id=stream.pk, owner="w1")
    (claim,) = services.stream_claim_next(owner="w2", lease_seconds=30)
    assert claim.previous_owner == ""
    assert not services.stream_lease_renew(stream_id=stream.pk, owner="w1", lease_seconds=30).held


@pytest.mark.django_db
def test_claim_of_a_stopping_stream_keeps_it_stopping():
    StreamFactory(
        state=S.STOPPING, lease_owner="dead", lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    (claim,) = services.stream_claim_next(owner="w2", lease_seconds=30)
    assert claim.previous_state == S.STOPPING
    assert Stream.objects.get().state == S.STOPPING


@pytest.mark.django_db
def test_mark_ended_ends_the_meeting_with_its_last_stream(django_capture_on_commit_callbacks):
    meeting = MeetingFactory()
    a = StreamFactory(meeting=meeting, state=S.ACTIVE)
    b = StreamFactory(meeting=meeting, state=S.ACTIVE)
    with django_capture_on_commit_callbacks(execute=False):
        assert services.stream_mark_ended(stream_id=a.pk, stop_reason=6, detail="done")
        assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.LIVE
        assert services.stream_mark_ended(stream_id=b.pk, state=S.FAILED, detail="gave up")
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.ENDED
    a.refresh_from_db()
    assert (a.state, a.stop_reason, a.stop_detail, a.lease_owner) == (S.STOPPED, 6, "done", "")
    assert not services.stream_mark_ended(stream_id=a.pk)  # idempotent


@pytest.mark.django_db
def test_mark_ended_keeps_the_webhooks_stop_reason():
    stream = StreamFactory(state=S.STOPPING, stop_reason=1, stop_detail="rtms_stopped")
    services.stream_mark_ended(stream_id=stream.pk, detail="closed")
    stream.refresh_from_db()
    assert (stream.stop_reason, stream.stop_detail) == (1, "rtms_stopped")


@pytest.mark.django_db
def test_gaps_open_once_and_close():
    stream = StreamFactory()
    started = timezone.now() - dt.timedelta(seconds=3)
    for _ in range(2):  # the same interruption reported twice is one gap
        services.stream_gap_open(
            meeting_id=stream.meeting_id,
            rtms_stream_id=stream.rtms_stream_id,
            kind=ParticipantEvent.Kind.INTERRUPTION,
            started_at=started,
            scope="media:audio",
            reason="media:audio: connection lost",
        )
    gap = ParticipantEvent.objects.get()
    assert gap.end_offset_ms is None
    closed = services.stream_gaps_close(
        meeting_id=stream.meeting_id,
        rtms_stream_id=stream.rtms_stream_id,
        kind=ParticipantEvent.Kind.INTERRUPTION,
        ended_at=timezone.now(),
    )
    assert closed == 1
    gap.refresh_from_db()
    assert gap.end_offset_ms - gap.offset_ms >= 2900
    assert gap.reason == "media:audio: connection lost"


@pytest.mark.backends
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_share_a_stream():
    """Eight threads (eight DB connections) race for twenty streams: each is claimed exactly once."""
    streams = [StreamFactory() for _ in range(20)]
    won: dict[str, list[int]] = {}
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            mine: list[int] = []
            for _ in range(10):
                mine += [
                    c.stream_id for c in services.stream_claim_next(owner=name, lease_seconds=30, limit=3)
                ]
            won[name] = mine
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    claimed = [pk for ids in won.values() for pk in ids]
    assert sorted(claimed) == sorted(s.pk for s in streams)
    owners = dict(Stream.objects.values_list("pk", "lease_owner"))
    for name, ids in won.items():
        assert all(owners[pk] == name for pk in ids)

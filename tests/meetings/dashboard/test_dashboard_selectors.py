"""Access rules and dashboard reads (meetings/selectors/access.py and its siblings)."""

from __future__ import annotations

import pytest

from meetings.models import ParticipantEvent
from meetings.selectors.access import meeting_get_for_user, meeting_list_for_user, meeting_watcher_user_ids
from meetings.selectors.changes import changes_after
from meetings.selectors.health import meeting_health
from meetings.selectors.meetings import meeting_list_filtered
from meetings.selectors.participants import participant_list, talk_time_list
from meetings.selectors.transcript import segment_window
from tests.factories import (
    MeetingFactory,
    ParticipantEventFactory,
    ParticipantFactory,
    TranscriptSegmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_owner_shared_user_and_staff_see_the_meeting_and_others_do_not():
    owner, friend, staff, stranger = UserFactory(), UserFactory(), UserFactory(is_staff=True), UserFactory()
    meeting = MeetingFactory(owner=owner)
    meeting.shared_with.add(friend)
    MeetingFactory(owner=stranger)

    for user in (owner, friend, staff):
        assert meeting_get_for_user(user=user, public_id=meeting.public_id) == meeting
    assert meeting_get_for_user(user=stranger, public_id=meeting.public_id) is None
    assert list(meeting_list_for_user(user=owner)) == [meeting]
    assert list(meeting_list_for_user(user=friend)) == [meeting]
    assert meeting_list_for_user(user=staff).count() == 2


def test_anonymous_and_inactive_users_see_nothing(django_user_model):
    from django.contrib.auth.models import AnonymousUser

    owner = UserFactory(is_active=False)
    meeting = MeetingFactory(owner=owner)
    assert meeting_get_for_user(user=AnonymousUser(), public_id=meeting.public_id) is None
    assert meeting_get_for_user(user=owner, public_id=meeting.public_id) is None


def test_a_meeting_shared_with_several_users_is_listed_once():
    owner = UserFactory()
    meeting = MeetingFactory(owner=owner)
    meeting.shared_with.add(UserFactory(), UserFactory())
    assert list(meeting_list_filtered(user=owner)) == [meeting]


def test_watcher_ids_are_owner_and_shared_users():
    owner, friend = UserFactory(), UserFactory()
    meeting = MeetingFactory(owner=owner)
    meeting.shared_with.add(friend)
    assert meeting_watcher_user_ids(meeting_id=meeting.pk) == sorted([owner.pk, friend.pk])


def test_segment_window_pages_backwards_in_timeline_order(meeting):
    segments = [TranscriptSegmentFactory(meeting=meeting, start_ms=i * 1000) for i in range(7)]

    latest = segment_window(meeting=meeting, size=3)
    assert latest.segments == segments[4:]
    assert latest.earlier_cursor == (segments[4].start_ms, segments[4].pk)

    middle = segment_window(meeting=meeting, before=latest.earlier_cursor, size=3)
    assert middle.segments == segments[1:4]
    first = segment_window(meeting=meeting, before=middle.earlier_cursor, size=3)
    assert first.segments == segments[:1]
    assert first.earlier_cursor is None


def test_talk_time_sums_final_segments_per_speaker(meeting):
    TranscriptSegmentFactory(meeting=meeting, speaker_name="Ada", start_ms=0, end_ms=3000)
    TranscriptSegmentFactory(meeting=meeting, speaker_name="Ada", start_ms=5000, end_ms=6000)
    TranscriptSegmentFactory(meeting=meeting, speaker_name="Bo", start_ms=7000, end_ms=9000)
    TranscriptSegmentFactory(meeting=meeting, speaker_name="Bo", start_ms=9000, end_ms=20000, is_final=False)

    rows = talk_time_list(meeting=meeting)

    assert [(row.speaker, row.talk_ms, row.percent, row.share) for row in rows] == [
        ("Ada", 4000, 100, 67),
        ("Bo", 2000, 50, 33),
    ]


def test_health_follows_stream_events_and_meeting_status(meeting):
    K = ParticipantEvent.Kind
    assert meeting_health(meeting=meeting).state == "waiting"

    ParticipantEventFactory(meeting=meeting, kind=K.STREAM_START, offset_ms=0)
    assert meeting_health(meeting=meeting).state == "connected"

    gap = ParticipantEventFactory(
        meeting=meeting, kind=K.INTERRUPTION, offset_ms=5000, reason="media socket lost"
    )
    health = meeting_health(meeting=meeting)
    assert (health.state, health.reason, health.since_ms) == ("interrupted", "media socket lost", 5000)

    gap.end_offset_ms = 9200
    gap.save()
    health = meeting_health(meeting=meeting)
    assert (health.state, health.last_gap_ms, health.interruptions) == ("connected", 4200, 1)

    ParticipantEventFactory(
        meeting=meeting, kind=K.STREAM_STOP, offset_ms=20000, reason="STOP_BC_MEETING_ENDED"
    )
    assert meeting_health(meeting=meeting).state == "stopped"
    meeting.status = meeting.Status.ENDED
    meeting.save()
    health = meeting_health(meeting=meeting)
    assert (health.state, health.reason) == ("ended", "STOP_BC_MEETING_ENDED")


def test_active_speaker_is_the_last_active_speaker_event_of_a_present_participant(meeting):
    ada = ParticipantFactory(meeting=meeting, display_name="Ada", is_present=True)
    bo = ParticipantFactory(meeting=meeting, display_name="Bo", is_present=True)
    ParticipantEventFactory(
        meeting=meeting, participant=ada, kind=ParticipantEvent.Kind.ACTIVE_SPEAKER, offset_ms=1
    )
    ParticipantEventFactory(
        meeting=meeting, participant=bo, kind=ParticipantEvent.Kind.ACTIVE_SPEAKER, offset_ms=2
    )

    speaking = {p.display_name: p.is_active_speaker for p in participant_list(meeting=meeting)}

    assert speaking == {"Ada": False, "Bo": True}


def test_changes_after_returns_every_kind_in_seq_order_once(meeting):
    from tests.factories import ChatMessageFactory

    TranscriptSegmentFactory(meeting=meeting, seq=1)
    ChatMessageFactory(meeting=meeting, seq=2)
    ParticipantEventFactory(meeting=meeting, seq=3)
    TranscriptSegmentFactory(meeting=meeting, seq=4)
    meeting.last_seq = 4
    meeting.save()

    changes = changes_after(meeting=meeting, after_seq=1)

    assert [(seq, kind) for seq, kind, _ in changes.items] == [(2, "chat"), (3, "event"), (4, "segment")]
    assert (changes.through_seq, changes.complete) == (4, True)


def test_changes_after_cuts_a_long_catch_up_without_leaving_a_hole(meeting):
    from tests.factories import ChatMessageFactory

    # seqs: segments 1-6, chat 7, segments 8-9
    for seq in range(1, 7):
        TranscriptSegmentFactory(meeting=meeting, seq=seq)
    ChatMessageFactory(meeting=meeting, seq=7)
    for seq in (8, 9):
        TranscriptSegmentFactory(meeting=meeting, seq=seq)
    meeting.last_seq = 9
    meeting.save()

    first = changes_after(meeting=meeting, after_seq=0, limit=4)
    second = changes_after(meeting=meeting, after_seq=first.through_seq, limit=4)

    assert [seq for seq, _, _ in first.items] == [1, 2, 3, 4]
    assert (first.through_seq, first.complete) == (4, False)
    assert [seq for seq, _, _ in second.items] == [5, 6, 7, 8, 9]
    assert (second.through_seq, second.complete) == (9, True)


def test_talk_time_counts_speech_covered_by_zoom_and_whisper_once(meeting):
    TranscriptSegmentFactory(meeting=meeting, speaker_name="Ada", source="zoom", start_ms=0, end_ms=5000)
    TranscriptSegmentFactory(meeting=meeting, speaker_name="Ada", source="whisper", start_ms=100, end_ms=4900)
    TranscriptSegmentFactory(meeting=meeting, speaker_name="", source="whisper", start_ms=6000, end_ms=7000)

    rows = talk_time_list(meeting=meeting)

    assert [(row.speaker, row.talk_ms) for row in rows] == [("Ada", 5000), ("Unknown speaker", 1000)]


def test_every_push_is_plain_data_that_msgpack_and_json_carry(
    meeting, monkeypatch, django_capture_on_commit_callbacks
):
    import datetime as dt
    import json

    import msgpack
    from django.utils import timezone

    from meetings import live
    from meetings.services.chat import chat_message_record
    from meetings.services.participants import gap_close, participant_event_record, participant_upsert
    from meetings.services.transcript import transcript_segment_record

    sent = []
    monkeypatch.setattr(live, "group_send", lambda group, message: sent.append((group, message)))
    meeting.shared_with.add(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        ada = participant_upsert(meeting=meeting, zoom_user_id="1", display_name="Ada")
        participant_event_record(
            meeting=meeting, kind="join", source_key="j1", occurred_at=timezone.now(), participant=ada
        )
        transcript_segment_record(
            meeting=meeting,
            source="zoom",
            source_key="s1",
            text="Hi",
            start_ms=0,
            end_ms=500,
            participant=ada,
        )
        chat_message_record(meeting=meeting, source_key="c1", text="yo", sent_at=timezone.now())
        participant_event_record(
            meeting=meeting, kind="interruption", source_key="g1", occurred_at=timezone.now(), reason="lost"
        )
        gap_close(meeting=meeting, source_key="g1", ended_at=timezone.now() + dt.timedelta(seconds=2))

    groups = {group for group, _ in sent}
    assert f"meeting.{meeting.pk}" in groups
    assert f"user.{meeting.owner_id}" in groups
    assert "meetings.staff" in groups
    for _, message in sent:
        assert json.loads(json.dumps(message)) == message
        assert msgpack.unpackb(msgpack.packb(message)) == message
        assert set(message) == {"type", "html", "seq"}

"""Every model's constraints hold at the database level (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from meetings.models import (
    ActionItem,
    AudioRecording,
    ChatMessage,
    Meeting,
    Participant,
    ParticipantEvent,
    Summary,
    TranscriptSegment,
    ZoomIdentity,
)
from tests.factories import (
    ChatMessageFactory,
    MeetingFactory,
    ParticipantEventFactory,
    ParticipantFactory,
    TranscriptSegmentFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.backends]


def violates(fn) -> bool:
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


def test_meeting_zoom_uuid_is_unique_per_product():
    meeting = MeetingFactory(zoom_uuid="4nYtdqLVTVqGJ+QB62ED7Q==")
    assert violates(lambda: MeetingFactory(zoom_uuid=meeting.zoom_uuid))
    assert not violates(lambda: MeetingFactory(zoom_uuid=meeting.zoom_uuid, product=Meeting.Product.WEBINAR))


def test_meeting_cannot_end_before_it_starts():
    now = timezone.now()
    assert violates(lambda: MeetingFactory(started_at=now, ended_at=now - dt.timedelta(seconds=1)))
    assert not violates(lambda: MeetingFactory(started_at=now, ended_at=now))


def test_participant_is_unique_per_meeting_and_zoom_user():
    participant = ParticipantFactory()
    assert violates(
        lambda: ParticipantFactory(meeting=participant.meeting, zoom_user_id=participant.zoom_user_id)
    )
    assert not violates(lambda: ParticipantFactory(zoom_user_id=participant.zoom_user_id))


def test_zoom_identity_maps_one_zoom_user_to_one_user():
    ZoomIdentity.objects.create(user=UserFactory(), zoom_user_id="host-1")
    assert violates(lambda: ZoomIdentity.objects.create(user=UserFactory(), zoom_user_id="host-1"))


def test_segment_source_key_and_seq_are_unique_per_meeting():
    segment = TranscriptSegmentFactory()
    assert violates(
        lambda: TranscriptSegmentFactory(
            meeting=segment.meeting, source=segment.source, source_key=segment.source_key
        )
    )
    assert violates(lambda: TranscriptSegmentFactory(meeting=segment.meeting, seq=segment.seq))
    # the same key from the other source is a different segment (a Whisper track beside Zoom's)
    assert not violates(
        lambda: TranscriptSegmentFactory(
            meeting=segment.meeting, source=TranscriptSegment.Source.WHISPER, source_key=segment.source_key
        )
    )


def test_segment_times_are_ordered_and_not_negative():
    assert violates(lambda: TranscriptSegmentFactory(start_ms=-1, end_ms=10))
    assert violates(lambda: TranscriptSegmentFactory(start_ms=500, end_ms=499))
    assert not violates(lambda: TranscriptSegmentFactory(start_ms=500, end_ms=None))


def test_chat_and_events_are_stored_once_per_source_key():
    chat = ChatMessageFactory()
    assert violates(lambda: ChatMessageFactory(meeting=chat.meeting, source_key=chat.source_key))
    event = ParticipantEventFactory()
    assert violates(lambda: ParticipantEventFactory(meeting=event.meeting, source_key=event.source_key))


def test_event_gap_ends_after_it_starts():
    assert violates(
        lambda: ParticipantEventFactory(
            kind=ParticipantEvent.Kind.INTERRUPTION, offset_ms=5_000, end_offset_ms=4_000
        )
    )


def test_recording_kind_matches_participant_and_tracks_are_unique():
    meeting = MeetingFactory()
    participant = ParticipantFactory(meeting=meeting)

    def track(**kw):
        defaults = {
            "meeting": meeting,
            "stream_key": "s1",
            "path": "x.wav",
            "kind": AudioRecording.Kind.PARTICIPANT,
        }
        return AudioRecording.objects.create(**{**defaults, **kw})

    track(participant=participant)
    assert violates(lambda: track(participant=participant))
    assert violates(lambda: track(participant=None))
    track(kind=AudioRecording.Kind.MIXED)
    assert violates(lambda: track(kind=AudioRecording.Kind.MIXED))
    assert violates(lambda: track(kind=AudioRecording.Kind.MIXED, stream_key="s2", participant=participant))
    assert not violates(lambda: track(participant=participant, stream_key="s2"))


def test_recording_duration_comes_from_pcm_bytes():
    recording = AudioRecording(sample_rate=16000, channels=1, data_bytes=32_000 * 3 + 640)
    assert recording.duration_ms == 3_020


def test_summary_revision_is_summarized_once_and_action_items_are_ordered():
    meeting = MeetingFactory()
    summary = Summary.objects.create(meeting=meeting, transcript_revision=7)
    assert violates(lambda: Summary.objects.create(meeting=meeting, transcript_revision=7))
    assert not violates(
        lambda: Summary.objects.create(meeting=meeting, transcript_revision=7, kind="running")
    )
    ActionItem.objects.create(summary=summary, meeting=meeting, position=0, text="Write the patch")
    assert violates(
        lambda: ActionItem.objects.create(summary=summary, meeting=meeting, position=0, text="dup")
    )


def test_deleting_a_meeting_removes_its_timeline():
    segment = TranscriptSegmentFactory()
    meeting = segment.meeting
    ChatMessageFactory(meeting=meeting)
    ParticipantEventFactory(meeting=meeting, participant=ParticipantFactory(meeting=meeting))
    meeting.delete()
    assert not TranscriptSegment.objects.exists()
    assert not ChatMessage.objects.exists()
    assert not ParticipantEvent.objects.exists()
    assert not Participant.objects.exists()


@pytest.mark.parametrize(
    ("topic", "number", "expected"),
    [
        ("Weekly planning", "81234567890", "Weekly planning"),
        ("", "81234567890", "Meeting 812 3456 7890"),
        ("", "8000000", "Meeting 8000000"),
        ("", "", "Meeting of 03 Dec 2026, 10:04"),
    ],
)
def test_meeting_label_until_a_topic_is_set(settings, topic, number, expected):
    settings.TIME_ZONE = "UTC"
    meeting = Meeting(
        zoom_uuid="abc==",
        topic=topic,
        zoom_meeting_id=number,
        started_at=dt.datetime(2026, 12, 3, 10, 4, tzinfo=dt.UTC),
    )
    assert str(meeting) == expected

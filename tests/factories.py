"""factory_boy factories for both apps."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from meetings.models import ChatMessage, Meeting, Participant, ParticipantEvent, TranscriptSegment
from streams.models import Stream


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    # Hashed at build time and saved with the row (a post-generation set_password was never
    # saved, which broke session logins: the session hash did not match the stored password).
    password = factory.django.Password("pw-for-tests")


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    zoom_uuid = factory.Sequence(lambda n: f"zoom/uuid+{n}==")  # deliberately not group-name safe
    topic = factory.Sequence(lambda n: f"Weekly sync {n}")
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=5))


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    meeting = factory.SubFactory(MeetingFactory)
    zoom_user_id = factory.Sequence(lambda n: str(16778240 + n))
    display_name = factory.Sequence(lambda n: f"Speaker {n}")


class TranscriptSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TranscriptSegment

    meeting = factory.SubFactory(MeetingFactory)
    source = TranscriptSegment.Source.ZOOM
    source_key = factory.Sequence(lambda n: f"key-{n}")
    seq = factory.Sequence(lambda n: n + 1)
    speaker_name = "Alice"
    text = factory.Sequence(lambda n: f"Sentence number {n}.")
    start_ms = factory.Sequence(lambda n: n * 1_000)
    end_ms = factory.LazyAttribute(lambda o: o.start_ms + 900)


class ChatMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatMessage

    meeting = factory.SubFactory(MeetingFactory)
    source_key = factory.Sequence(lambda n: f"chat-{n}")
    seq = factory.Sequence(lambda n: 100_000 + n)
    offset_ms = factory.Sequence(lambda n: n * 1_000)
    sent_at = factory.LazyFunction(timezone.now)
    sender_name = "Bob"
    text = factory.Sequence(lambda n: f"chat line {n}")


class ParticipantEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ParticipantEvent

    meeting = factory.SubFactory(MeetingFactory)
    kind = ParticipantEvent.Kind.JOIN
    source_key = factory.Sequence(lambda n: f"event-{n}")
    seq = factory.Sequence(lambda n: 200_000 + n)
    offset_ms = factory.Sequence(lambda n: n * 1_000)
    occurred_at = factory.LazyFunction(timezone.now)


class StreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stream

    meeting = factory.SubFactory(MeetingFactory)
    rtms_stream_id = factory.Sequence(lambda n: f"{n:032x}")
    server_urls = "ws://127.0.0.1:1/signaling"

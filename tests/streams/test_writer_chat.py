"""The ingest writer applies Zoom's chat operations (PROTOCOL.md §8.15, §10.5): NEW stores a
message, UPDATE edits it in place, DELETE marks it deleted and clears its text; reactions and
operations on messages we never saw store nothing."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from meetings.models import ChatMessage
from streams.rtms import events as ev
from streams.rtms.protocol import ChatOperation
from streams.writer import EventWriter
from tests.factories import MeetingFactory

pytestmark = pytest.mark.django_db(transaction=True)  # apply_batch closes stale connections


def writer_for(meeting) -> EventWriter:
    claim = SimpleNamespace(rtms_stream_id="chat-stream", meeting_id=meeting.pk)
    return EventWriter(SimpleNamespace(claim=claim))


def test_chat_edits_and_deletions_change_the_stored_message_in_place():
    meeting = MeetingFactory()
    writer = writer_for(meeting)
    sent = int(meeting.started_at.timestamp() * 1000) + 5_000
    new = ev.ChatEvent(
        user_id="16778240", user_name="Ada", text="Budget is 10k", timestamp=sent, message_id="m1"
    )
    writer.apply_batch([new])
    original = ChatMessage.objects.get()

    edit = replace(new, text="Budget is 12k", timestamp=sent + 3_000, operation=ChatOperation.UPDATE)
    writer.apply_batch([edit, edit])  # a replayed edit changes nothing more
    edited = ChatMessage.objects.get()
    assert (edited.text, edited.offset_ms, edited.is_deleted) == ("Budget is 12k", original.offset_ms, False)
    assert edited.seq == original.seq + 1

    reaction = replace(new, text="👍", operation=ChatOperation.ADD_EMOJI_REACTION)
    unknown = replace(edit, message_id="m-before-the-stream")
    writer.apply_batch([reaction, unknown])
    assert list(ChatMessage.objects.values_list("text", flat=True)) == ["Budget is 12k"]

    delete = replace(new, text="", operation=ChatOperation.DELETE)
    writer.apply_batch([delete, edit])  # an edit after the deletion does not bring it back
    deleted = ChatMessage.objects.get()
    assert (deleted.is_deleted, deleted.text, deleted.seq) == (True, "", edited.seq + 1)

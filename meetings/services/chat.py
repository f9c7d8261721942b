"""Writes of chat messages: recorded once per Zoom message id, revised when Zoom edits or deletes one."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from meetings import fragments, live
from meetings.models import (
    ChatMessage,
    Meeting,
    Participant,
)
from meetings.services.meetings import meeting_next_seq, meeting_offset_ms


@transaction.atomic
def chat_message_record(
    *,
    meeting: Meeting,
    source_key: str,
    text: str,
    sent_at: dt.datetime,
    participant: Participant | None = None,
    sender_name: str = "",
    recipient_name: str = "",
) -> tuple[ChatMessage, bool]:
    """Store one chat message once (idempotent on ``source_key``); returns ``(message, created)``."""
    existing = ChatMessage.objects.filter(meeting=meeting, source_key=source_key).first()
    if existing is not None:
        return existing, False
    message = ChatMessage.objects.create(
        meeting=meeting,
        source_key=source_key,
        seq=meeting_next_seq(meeting_id=meeting.pk),
        text=text,
        sent_at=sent_at,
        offset_ms=meeting_offset_ms(meeting=meeting, epoch_ms=int(sent_at.timestamp() * 1000)),
        participant=participant,
        sender_name=sender_name or (participant.display_name if participant else ""),
        recipient_name=recipient_name,
    )
    live.after_commit(fragments.push_chat, message.pk)
    return message, True


@transaction.atomic
def chat_message_revise(
    *, meeting: Meeting, source_key: str, text: str | None = None, deleted: bool = False
) -> ChatMessage | None:
    """Apply Zoom's edit (``text``) or deletion (``deleted=True``) of a stored chat message
    (RTMS chat ``operation_type`` 3 UPDATE / 2 DELETE, PROTOCOL.md §8.15, §10.5).

    The message keeps its place in the timeline and takes a new ``seq``; watching pages replace
    their copy, a reconnecting page catches it up. A deleted message keeps its row, marked
    ``is_deleted`` with its text cleared (shown as "(deleted)", left out of search). Idempotent:
    the same edit again, or a second deletion, changes and pushes nothing. Returns the message,
    or None when ``source_key`` is not stored (an edit of a message sent before the stream).
    """
    message = ChatMessage.objects.select_for_update().filter(meeting=meeting, source_key=source_key).first()
    if message is None:
        return None
    if deleted:
        if message.is_deleted:
            return message
        message.is_deleted, message.text = True, ""
    else:
        text = (text or "").strip()
        if message.is_deleted or not text or text == message.text:
            return message
        message.text = text
    message.seq = meeting_next_seq(meeting_id=meeting.pk)
    message.save(update_fields=["text", "is_deleted", "seq"])
    live.after_commit(fragments.push_chat, message.pk)
    return message

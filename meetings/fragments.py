"""Render-once fragments for live pushes: one partial template per thing.

The same partials render the meeting page (``{% include %}``) and the WebSocket pushes, so the
markup exists once. Each ``push_*`` reads the row, renders it and broadcasts it to the meeting's
group with its ``seq``; called from services via ``transaction.on_commit(..., robust=True)``.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from meetings import live
from meetings.models import ChatMessage, Meeting, ParticipantEvent, TranscriptSegment


def push_segment(segment_id: int) -> None:
    segment = TranscriptSegment.objects.select_related("participant").filter(pk=segment_id).first()
    if segment is None:
        return
    html = render_to_string("meetings/partials/_segment_push.html", {"segment": segment})
    live.push(segment.meeting_id, html, seq=segment.seq)


def push_chat(message_id: int) -> None:
    message = ChatMessage.objects.filter(pk=message_id).first()
    if message is None:
        return
    html = render_to_string("meetings/partials/_chat_push.html", {"message": message})
    live.push(message.meeting_id, html, seq=message.seq)


def push_event(event_id: int) -> None:
    event = ParticipantEvent.objects.select_related("participant").filter(pk=event_id).first()
    if event is None:
        return
    html = render_to_string("meetings/partials/_event_push.html", {"event": event})
    live.push(event.meeting_id, html, seq=event.seq)


def push_meeting_status(meeting_id: int) -> None:
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return
    html = render_to_string("meetings/partials/_status.html", {"meeting": meeting, "oob": True})
    live.push(meeting.pk, html)


def push_participants(meeting_id: int) -> None:
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return
    participants = list(meeting.participants.all())
    html = render_to_string(
        "meetings/partials/_participants.html",
        {"meeting": meeting, "participants": participants, "oob": True},
    )
    live.push(meeting.pk, html)

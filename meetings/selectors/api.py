"""Reads for the REST API (access is decided by ``meetings.selectors.meetings`` first).

Every function here takes a ``Meeting`` the caller already got from
``meeting_get_for_user`` (or a user for the list), so nothing here can widen access.
Streams live in the ``streams`` app, which ``meetings`` must not import: they are read through
the reverse relation ``meeting.streams`` with ``.values()``.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from meetings.models import (
    ActionItem,
    AudioRecording,
    ChatMessage,
    Meeting,
    Participant,
    ParticipantEvent,
    Summary,
    TranscriptSegment,
)
from meetings.selectors.access import meeting_list_for_user

STREAM_FIELDS = (
    "rtms_stream_id",
    "state",
    "stop_reason",
    "stop_detail",
    "connected_at",
    "stopped_at",
    "reconnect_count",
    "retry_attempt",
    "retry_error",
    "retry_next_at",
    "retry_deadline_at",
    "has_zoom_transcript",
)


def meeting_list_filtered(
    *,
    user,
    status: str | None = None,
    started_after: dt.datetime | None = None,
    started_before: dt.datetime | None = None,
    search: str = "",
) -> QuerySet[Meeting]:
    """Meetings ``user`` may see, newest first, filtered by status, start-date range and a
    case-insensitive ``search`` in the topic or the Zoom meeting number."""
    queryset = meeting_list_for_user(user=user).select_related("owner")
    if status:
        queryset = queryset.filter(status=status)
    if started_after is not None:
        queryset = queryset.filter(started_at__gte=started_after)
    if started_before is not None:
        queryset = queryset.filter(started_at__lte=started_before)
    if search:
        queryset = queryset.filter(Q(topic__icontains=search) | Q(zoom_meeting_id__icontains=search))
    return queryset.order_by("-started_at", "-pk")


def meeting_streams(*, meeting: Meeting) -> list[dict]:
    """The meeting's RTMS streams (oldest first) as dicts of :data:`STREAM_FIELDS`.

    ``stop_reason`` is Zoom's RTMS_STOP_REASON number (PROTOCOL.md §8.3), null while open.
    """
    return list(meeting.streams.order_by("created_at", "pk").values(*STREAM_FIELDS))


def participant_list(*, meeting: Meeting) -> QuerySet[Participant]:
    return meeting.participants.order_by("first_joined_at", "pk")


def summary_latest(*, meeting: Meeting) -> Summary | None:
    """The summary to show: the newest ready final one, else the newest ready running one,
    else the newest of any status (so a pending or failed request is visible)."""
    summaries = Summary.objects.filter(meeting=meeting).order_by("-created_at", "-pk")
    return (
        summaries.filter(kind=Summary.Kind.FINAL, status=Summary.Status.READY).first()
        or summaries.filter(kind=Summary.Kind.RUNNING, status=Summary.Status.READY).first()
        or summaries.first()
    )


def action_item_list(*, summary: Summary | None) -> list[ActionItem]:
    if summary is None:
        return []
    return list(summary.action_items.select_related("owner", "assignee").order_by("position"))


def segment_list_after(
    *, meeting: Meeting, after_seq: int = 0, source: str | None = None, limit: int = 100
) -> list[TranscriptSegment]:
    """Segments with ``seq > after_seq`` in seq order, at most ``limit``.

    A revised segment takes a new ``seq``, so it comes back once more with its new text; a
    client that remembers the largest ``seq`` it saw and asks again misses nothing and gets no
    row twice for the same revision.
    """
    queryset = TranscriptSegment.objects.filter(meeting=meeting, seq__gt=after_seq)
    if source:
        queryset = queryset.filter(source=source)
    return list(queryset.select_related("participant").order_by("seq")[:limit])


def chat_list_after(*, meeting: Meeting, after_seq: int = 0, limit: int = 100) -> list[ChatMessage]:
    return list(ChatMessage.objects.filter(meeting=meeting, seq__gt=after_seq).order_by("seq")[:limit])


def event_list_after(*, meeting: Meeting, after_seq: int = 0, limit: int = 100) -> list[ParticipantEvent]:
    return list(
        ParticipantEvent.objects.filter(meeting=meeting, seq__gt=after_seq)
        .select_related("participant")
        .order_by("seq")[:limit]
    )


def recording_get(*, meeting: Meeting, participant: str | None = None) -> AudioRecording | None:
    """The meeting's mixed recording (the first stream's), or one participant's track.

    ``participant`` is a Zoom ``user_id`` or our ``Participant`` pk (both are digits: the Zoom
    id is tried first). None when there is no such recording.
    """
    recordings = AudioRecording.objects.filter(meeting=meeting).order_by("created_at", "pk")
    if not participant:
        return recordings.filter(kind=AudioRecording.Kind.MIXED).first()
    tracks = recordings.filter(kind=AudioRecording.Kind.PARTICIPANT)
    track = tracks.filter(participant__zoom_user_id=participant).first()
    if track is None and participant.isdigit():
        track = tracks.filter(participant_id=int(participant)).first()
    return track

"""Reads for the REST API and the exports (access is decided by ``meetings.selectors`` first).

Every function here takes a ``Meeting`` the caller already got from
``selectors.meeting_get_for_user`` (or a user for the list), so nothing here can widen access.
Streams live in the ``streams`` app, which ``meetings`` must not import: they are read through
the reverse relation ``meeting.streams`` with ``.values()``.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from meetings import exports, selectors
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
    queryset = selectors.meeting_list_for_user(user=user).select_related("owner")
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


def transcript_default_source(*, meeting: Meeting) -> str:
    """Which transcript the notes use: the meeting's mode, or in ``auto`` mode Zoom's when there
    is any, else Whisper's."""
    if meeting.transcript_mode in (Meeting.TranscriptMode.ZOOM, Meeting.TranscriptMode.WHISPER):
        return meeting.transcript_mode
    has_zoom = TranscriptSegment.objects.filter(
        meeting=meeting, source=TranscriptSegment.Source.ZOOM, is_final=True
    ).exists()
    return TranscriptSegment.Source.ZOOM if has_zoom else TranscriptSegment.Source.WHISPER


def _items(raw) -> list[exports.ExportItem]:
    items: list[exports.ExportItem] = []
    for entry in raw or []:
        if isinstance(entry, dict):
            ids = [int(i) for i in entry.get("segment_ids") or [] if isinstance(i, int)]
            item: exports.ExportItem = {"text": str(entry.get("text", "")), "segment_ids": ids}
            if entry.get("points"):
                item["points"] = _items(entry["points"])
            items.append(item)
        elif isinstance(entry, str):
            items.append({"text": entry, "segment_ids": []})
    return items


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def meeting_export_data(*, meeting: Meeting, source: str | None = None) -> exports.MeetingExport:
    """The :class:`exports.MeetingExport` dict of a meeting: final segments of one source in
    time order, the summary of :func:`summary_latest` and its action items."""
    source = source or transcript_default_source(meeting=meeting)
    summary = summary_latest(meeting=meeting)
    segments = (
        TranscriptSegment.objects.filter(meeting=meeting, source=source, is_final=True)
        .select_related("participant")
        .order_by("start_ms", "pk")
    )
    export_summary: exports.ExportSummary | None = None
    if summary is not None:
        export_summary = {
            "status": summary.status,
            "overview": summary.overview,
            "key_points": _items(summary.key_points),
            "decisions": _items(summary.decisions),
            "topics": _items(summary.topics),
        }
    return {
        "id": str(meeting.public_id),
        "title": str(meeting),
        "status": meeting.status,
        "started_at": _iso(meeting.started_at) or "",
        "ended_at": _iso(meeting.ended_at),
        "participants": [
            {"zoom_user_id": p.zoom_user_id, "name": p.shown_name, "zoom_name": p.display_name}
            for p in participant_list(meeting=meeting)
        ],
        "summary": export_summary,
        "action_items": [
            {
                "text": item.text,
                "status": item.status,
                "completed_at": _iso(item.completed_at),
                "owner": item.owner_label,
                "owner_kind": item.owner_kind,
                "due": item.due_date.isoformat() if item.due_date else item.due_text,
                "due_date": item.due_date.isoformat() if item.due_date else None,
                "due_text": item.due_text,
            }
            for item in action_item_list(summary=summary)
        ],
        "transcript_source": source,
        "transcript": [
            {
                "id": s.pk,
                "seq": s.seq,
                "source": s.source,
                "speaker": s.speaker,
                "start_ms": s.start_ms,
                "end_ms": s.end_ms,
                "text": s.text,
            }
            for s in segments
        ],
        "bookmarks": bookmark_export_list(meeting=meeting),
    }


# --- Speaker names and bookmarks (issue 20) ---------------------------------------------------


def bookmark_export_list(*, meeting: Meeting) -> list[exports.ExportBookmark]:
    """The meeting's bookmarks as :class:`exports.ExportBookmark` dicts, in time order; a
    bookmark's speaker is shown by the current name (a rename applies)."""
    return [
        {
            "id": bookmark.pk,
            "segment_id": bookmark.segment_id,
            "start_ms": bookmark.offset_ms,
            "speaker": bookmark.segment.speaker if bookmark.segment else "",
            "text": bookmark.segment.text if bookmark.segment else "",
            "note": bookmark.note,
            "created_by": bookmark.created_by.get_username() if bookmark.created_by else "",
            "created_at": _iso(bookmark.created_at) or "",
        }
        for bookmark in selectors.bookmark_list(meeting=meeting)
    ]

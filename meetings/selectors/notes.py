"""The meeting's notes as export data (``meetings.exports`` renders them; the API, the shared page
and the outbound webhooks read them here). Access is decided by the caller first.
"""

from __future__ import annotations

import datetime as dt

from meetings import exports
from meetings.models import (
    Meeting,
    TranscriptSegment,
)
from meetings.selectors.api import action_item_list, participant_list, summary_latest
from meetings.selectors.bookmarks import bookmark_list


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
        for bookmark in bookmark_list(meeting=meeting)
    ]

"""Dashboard pages: the meetings list and the meeting page (htmx-aware function views).

Every page is complete without JavaScript; htmx (with its ws extension) and ``static/js/live.js``
add the live updates and the in-place "load earlier".
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from meetings import transcription
from meetings.models import Meeting
from meetings.selectors.access import meeting_get_for_user
from meetings.selectors.action_items import action_item_list_current
from meetings.selectors.bookmarks import bookmark_list
from meetings.selectors.chat import chat_window
from meetings.selectors.health import meeting_health
from meetings.selectors.meetings import meeting_list_filtered
from meetings.selectors.participants import (
    event_window,
    participant_list,
    speaker_custom_names,
    talk_time_list,
)
from meetings.selectors.summaries import summary_latest
from meetings.selectors.transcript import (
    segment_count,
    segment_window,
    transcript_lag_ms,
    transcription_pending_seconds,
)

MEETING_LIST_LIMIT = 200


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _parse_date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _parse_cursor(raw: str) -> tuple[int, int] | None:
    """``"<start_ms>.<pk>"`` → ``(start_ms, pk)``; anything else → None (the latest page)."""
    start, _, pk = raw.partition(".")
    if not (start.isdigit() and pk.isdigit()):
        return None
    return int(start), int(pk)


def _meeting_or_404(request: HttpRequest, public_id) -> Meeting:
    meeting = meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    return meeting


@require_GET
@login_required
def meeting_list(request: HtmxHttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in Meeting.Status.values else ""
    date = _parse_date(request.GET.get("date", ""))
    query = request.GET.get("q", "").strip()[:200]
    meetings = list(
        meeting_list_filtered(user=request.user, status=status, date=date, query=query)[
            : MEETING_LIST_LIMIT + 1
        ]
    )
    filters = {"status": status, "date": date, "q": query, "active": bool(status or date or query)}
    return render(
        request,
        "meetings/meeting_list.html",
        {
            "meetings": meetings[:MEETING_LIST_LIMIT],
            "truncated": len(meetings) > MEETING_LIST_LIMIT,
            "filters": filters,
        },
    )


@require_GET
@login_required
def meeting_detail(request: HtmxHttpRequest, public_id) -> HttpResponse:
    """The meeting page. ``?before=<start_ms>.<pk>`` shows an earlier transcript page instead of
    the latest one (the no-JavaScript "load earlier"; no live updates on such a page)."""
    meeting = _meeting_or_404(request, public_id)
    last_seq = meeting.last_seq  # read before the rows: the catch-up starts here
    before = _parse_cursor(request.GET.get("before", ""))
    chat_messages, chat_earlier = chat_window(meeting=meeting)
    context = {
        "meeting": meeting,
        "last_seq": last_seq,
        "live_updates": before is None,
        "window": segment_window(meeting=meeting, before=before),
        "segment_total": segment_count(meeting=meeting),
        "chat_messages": chat_messages,
        "chat_earlier": chat_earlier,
        "events": event_window(meeting=meeting),
        "participants": participant_list(meeting=meeting),
        "talk_time": talk_time_list(meeting=meeting),
        "health": meeting_health(meeting=meeting),
        "summary": summary_latest(meeting=meeting),
        "action_items": action_item_list_current(meeting=meeting),
        "transcription_pending_seconds": transcription_pending_seconds(meeting=meeting),
        "speaker_names": speaker_custom_names(meeting_id=meeting.pk),
        "bookmarks": bookmark_list(meeting=meeting),
        "transcript_lag_ms": transcript_lag_ms(meeting=meeting),
        "lag_visible_ms": transcription.LAG_VISIBLE_MS,
    }
    return render(request, "meetings/meeting_detail.html", context)


@require_GET
@login_required
def transcript_earlier(request: HtmxHttpRequest, public_id) -> HttpResponse:
    """The transcript page before ``?before=<start_ms>.<pk>``: for htmx, the fragment that
    replaces the "load earlier" link; otherwise the full meeting page at that position."""
    meeting = _meeting_or_404(request, public_id)
    before = _parse_cursor(request.GET.get("before", ""))
    if not request.htmx:
        return meeting_detail(request, public_id)
    window = segment_window(meeting=meeting, before=before)
    return render(
        request,
        "meetings/partials/_transcript_page.html",
        {
            "meeting": meeting,
            "segments": window.segments,
            "earlier_cursor": window.earlier_cursor,
            "speaker_names": speaker_custom_names(meeting_id=meeting.pk),
        },
    )

"""The on-demand summary button: ``POST /meetings/<public_id>/summarize/``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from meetings.selectors.access import meeting_get_for_user
from meetings.selectors.action_items import action_item_list_current
from meetings.selectors.transcript import transcription_pending_seconds
from meetings.summarizer.service import summary_regenerate


@require_POST
@login_required
def meeting_summarize(request: HttpRequest, public_id) -> HttpResponse:
    """Request a (re)generated summary of a meeting the user may see (CSRF-protected).

    htmx: answers the ``#summary`` panel (pending), which the live push later replaces; a plain
    form post is redirected back to the meeting page. Someone else's meeting: 404.
    """
    meeting = meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    summary = summary_regenerate(meeting=meeting)
    if getattr(request, "htmx", False):
        context = {
            "summary": summary,
            "meeting": meeting,
            "transcription_pending_seconds": transcription_pending_seconds(meeting=meeting),
            "action_items": action_item_list_current(meeting=meeting),
        }
        return render(request, "meetings/partials/_summary.html", context)
    return redirect(meeting.get_absolute_url() + "#summary")

"""Dashboard pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from meetings import selectors


@require_GET
@login_required
def meeting_list(request: HttpRequest) -> HttpResponse:
    meetings = selectors.meeting_list_for_user(user=request.user)
    return render(request, "meetings/meeting_list.html", {"meetings": meetings})


@require_GET
@login_required
def meeting_detail(request: HttpRequest, public_id) -> HttpResponse:
    meeting = selectors.meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    return render(request, "meetings/meeting_detail.html", {"meeting": meeting})

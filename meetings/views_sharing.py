"""Sharing from the meeting page, and the read-only notes page a share link opens (issue 20).

Owner (or staff) only, CSRF-protected form posts (htmx or plain):

* ``GET  /meetings/<id>/sharing/``: the sharing panel (htmx) or a page with it (no JavaScript);
* ``POST /meetings/<id>/sharing/users/`` (``user``: username or e-mail) grants access;
  ``POST .../sharing/users/revoke/`` (``user_id``) revokes it;
* ``POST /meetings/<id>/sharing/links/`` (``days``) creates a read-only link;
  ``POST .../sharing/links/revoke/`` (``link_id``) revokes one.

htmx gets the re-rendered ``#sharing`` panel (200, with the error in it when the input was bad:
htmx does not swap 4xx answers); a plain post is redirected back (303), or answered 400 with
the panel and the error. A stranger gets 404, a user the meeting is shared with 403.

``GET /notes/<token>/`` (no login): the notes of the meeting a share link points to (summary,
action items, transcript) with nothing to edit and no account or stream data; 404 for a forged,
unknown, revoked or expired link.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from meetings import share_links
from meetings.models import Meeting
from meetings.selectors.access import meeting_get_for_user
from meetings.selectors.notes import meeting_export_data
from meetings.selectors.sharing import meeting_can_share, share_link_list, share_link_resolve, share_user_list
from meetings.services import sharing as sharing_services
from meetings.services.sharing import (
    SHARE_LINK_DEFAULT_DAYS,
    SHARE_LINK_MAX_DAYS,
    SharingError,
    meeting_share_grant,
    meeting_share_revoke,
    share_link_create,
)


def _meeting_to_share(request: HttpRequest, public_id) -> Meeting:
    meeting = meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    if not meeting_can_share(user=request.user, meeting=meeting):
        raise PermissionDenied("Only the meeting's owner can share it.")
    return meeting


def sharing_context(request: HttpRequest, meeting: Meeting, **extra) -> dict:
    """The context of ``partials/_sharing.html``: ``meeting`` and ``sharing`` (``users``, ``links``
    with their absolute ``url``, ``error``, ``new_link_id``, the choices of days)."""
    links = []
    for link in share_link_list(meeting=meeting):
        token = share_links.token_for(key=link.key, created_at=link.created_at)
        link.url = request.build_absolute_uri(reverse("meetings:shared-notes", kwargs={"token": token}))
        links.append(link)
    sharing = {
        "users": share_user_list(meeting=meeting),
        "links": links,
        "day_choices": [1, SHARE_LINK_DEFAULT_DAYS, 30, SHARE_LINK_MAX_DAYS],
        "default_days": SHARE_LINK_DEFAULT_DAYS,
        **extra,
    }
    return {"meeting": meeting, "sharing": sharing}


def _answer(request: HttpRequest, meeting: Meeting, *, error: str = "", **extra) -> HttpResponse:
    if getattr(request, "htmx", False):
        context = sharing_context(request, meeting, error=error, **extra)
        return render(request, "meetings/partials/_sharing.html", context)
    if error:
        context = sharing_context(request, meeting, error=error, **extra)
        return render(request, "meetings/sharing.html", context, status=400)
    return redirect(reverse("meetings:sharing", kwargs={"public_id": meeting.public_id}), permanent=False)


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


@require_GET
@login_required
def sharing_panel(request: HttpRequest, public_id) -> HttpResponse:
    meeting = _meeting_to_share(request, public_id)
    template = (
        "meetings/partials/_sharing.html" if getattr(request, "htmx", False) else "meetings/sharing.html"
    )
    return render(request, template, sharing_context(request, meeting))


@require_POST
@login_required
def sharing_user_add(request: HttpRequest, public_id) -> HttpResponse:
    meeting = _meeting_to_share(request, public_id)
    try:
        meeting_share_grant(meeting=meeting, identifier=request.POST.get("user", "")[:254])
    except SharingError as exc:
        return _answer(request, meeting, error=str(exc))
    return _answer(request, meeting)


@require_POST
@login_required
def sharing_user_revoke(request: HttpRequest, public_id) -> HttpResponse:
    meeting = _meeting_to_share(request, public_id)
    user_id = _int(request.POST.get("user_id"))
    if user_id is None or not meeting_share_revoke(meeting=meeting, user_id=user_id):
        return _answer(request, meeting, error="The meeting is not shared with this user.")
    return _answer(request, meeting)


@require_POST
@login_required
def share_link_add(request: HttpRequest, public_id) -> HttpResponse:
    meeting = _meeting_to_share(request, public_id)
    days = _int(request.POST.get("days", str(SHARE_LINK_DEFAULT_DAYS)))
    try:
        link = share_link_create(meeting=meeting, created_by=request.user, days=days or 0)
    except SharingError as exc:
        return _answer(request, meeting, error=str(exc))
    return _answer(request, meeting, new_link_id=link.pk)


@require_POST
@login_required
def share_link_revoke(request: HttpRequest, public_id) -> HttpResponse:
    meeting = _meeting_to_share(request, public_id)
    link_id = _int(request.POST.get("link_id"))
    if link_id is None or sharing_services.share_link_revoke(meeting=meeting, link_id=link_id) is None:
        return _answer(request, meeting, error="No such link.")
    return _answer(request, meeting)


@require_GET
def shared_notes(request: HttpRequest, token: str) -> HttpResponse:
    """The read-only notes a share link opens (no login); 404 once revoked or expired."""
    link = share_link_resolve(token=token)
    if link is None:
        raise Http404("No such link, or it was revoked or has expired")
    meeting = link.meeting
    context = {
        "meeting": meeting,
        "notes": meeting_export_data(meeting=meeting),
        "link": link,
    }
    response = render(request, "meetings/shared_notes.html", context)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response

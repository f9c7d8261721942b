"""Bookmarks from the meeting page (CSRF-protected POSTs, htmx or plain forms).

* ``POST /meetings/<public_id>/bookmarks/`` ``segment=<pk>`` [``note``]: bookmark a line
  (``static/js/bookmarks.js`` posts it for the ☆ button and the ``b`` key);
* ``POST /meetings/<public_id>/bookmarks/<pk>/`` ``note``: change the note;
* ``POST /meetings/<public_id>/bookmarks/<pk>/delete/``: remove it.

Each delegates to ``meetings.services``; the bookmarks panel of every watching page is then
replaced by the live push. htmx gets the panel back too (the page may have no socket); a
plain form is redirected to the meeting page. Bad input: 400 with the reason. Someone else's
meeting, or a bookmark or line of another meeting: 404.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from meetings import fragments
from meetings.models import Meeting
from meetings.selectors.access import meeting_get_for_user
from meetings.selectors.bookmarks import bookmark_get
from meetings.selectors.transcript import segment_get
from meetings.services import bookmarks as bookmark_services
from meetings.services.bookmarks import BOOKMARK_NOTE_MAX


class BookmarkCreateForm(forms.Form):
    segment = forms.IntegerField(min_value=1)
    note = forms.CharField(max_length=BOOKMARK_NOTE_MAX, required=False)


class BookmarkNoteForm(forms.Form):
    note = forms.CharField(max_length=BOOKMARK_NOTE_MAX, required=False)


def _meeting_or_404(request: HttpRequest, public_id) -> Meeting:
    meeting = meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    return meeting


def _bad_request(form: forms.Form | None, message: str = "") -> HttpResponse:
    if form is not None:
        message = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _answer(request: HttpRequest, meeting: Meeting, *, status: int = 200) -> HttpResponse:
    if getattr(request, "htmx", False):
        return HttpResponse(fragments.render_bookmarks(meeting), status=status)
    return redirect(meeting.get_absolute_url() + "#bookmarks")


@require_POST
@login_required
def bookmark_create(request: HttpRequest, public_id) -> HttpResponse:
    meeting = _meeting_or_404(request, public_id)
    form = BookmarkCreateForm(request.POST)
    if not form.is_valid():
        return _bad_request(form)
    segment = segment_get(meeting=meeting, segment_id=form.cleaned_data["segment"])
    if segment is None:
        raise Http404("No such line")
    try:
        _bookmark, created = bookmark_services.bookmark_create(
            meeting=meeting, segment=segment, user=request.user, note=form.cleaned_data["note"]
        )
    except ValueError as exc:
        return _bad_request(None, str(exc))
    return _answer(request, meeting, status=201 if created else 200)


@require_POST
@login_required
def bookmark_update(request: HttpRequest, public_id, bookmark_id: int) -> HttpResponse:
    meeting = _meeting_or_404(request, public_id)
    bookmark = bookmark_get(meeting=meeting, bookmark_id=bookmark_id)
    if bookmark is None:
        raise Http404("No such bookmark")
    form = BookmarkNoteForm(request.POST)
    if not form.is_valid():
        return _bad_request(form)
    try:
        bookmark_services.bookmark_update(bookmark=bookmark, note=form.cleaned_data["note"])
    except ValueError as exc:
        return _bad_request(None, str(exc))
    return _answer(request, meeting)


@require_POST
@login_required
def bookmark_delete(request: HttpRequest, public_id, bookmark_id: int) -> HttpResponse:
    meeting = _meeting_or_404(request, public_id)
    bookmark = bookmark_get(meeting=meeting, bookmark_id=bookmark_id)
    if bookmark is None:
        raise Http404("No such bookmark")
    bookmark_services.bookmark_delete(bookmark=bookmark)
    return _answer(request, meeting)

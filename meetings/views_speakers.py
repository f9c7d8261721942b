"""Renaming a speaker from the meeting page: ``/meetings/<public_id>/participants/<pk>/rename/``.

GET shows the form (the fragment for htmx, which loads it into ``#speaker-rename``; a page of
its own without JavaScript). POST validates and calls ``participant_rename``; every
watching page then updates by the live push. Someone else's meeting, or a participant of
another meeting: 404.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from meetings import fragments
from meetings.selectors.access import meeting_get_for_user
from meetings.selectors.participants import participant_get
from meetings.services import participants as participant_services
from meetings.services.participants import SPEAKER_NAME_MAX


class RenameForm(forms.Form):
    name = forms.CharField(max_length=SPEAKER_NAME_MAX, required=False, strip=True)


@require_http_methods(["GET", "POST"])
@login_required
def participant_rename(request: HttpRequest, public_id, participant_id: int) -> HttpResponse:
    meeting = meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    participant = participant_get(meeting=meeting, participant_id=participant_id)
    if participant is None:
        raise Http404("No such participant")
    participant.meeting = meeting
    htmx = bool(getattr(request, "htmx", False))
    form_template = (
        "meetings/partials/_speaker_rename_form.html" if htmx else "meetings/participant_rename.html"
    )
    context = {"meeting": meeting, "participant": participant, "name": participant.custom_name, "error": ""}
    if request.method == "GET":
        return render(request, form_template, context)
    form = RenameForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            participant_services.participant_rename(participant=participant, name=form.cleaned_data["name"])
        except ValueError as exc:
            error = f"Not renamed: {exc}."
    else:
        error = "Not renamed: " + " ".join(
            message for messages in form.errors.values() for message in messages
        )
    if error:
        context.update(name=request.POST.get("name", "")[:SPEAKER_NAME_MAX], error=error)
        return render(request, form_template, context, status=400)
    if not htmx:
        return redirect(meeting.get_absolute_url() + "#participants")
    updates = mark_safe(fragments.render_speaker_names(meeting))  # noqa: S308 - rendered templates
    return render(
        request, "meetings/partials/_speaker_renamed.html", {"participant": participant, "updates": updates}
    )

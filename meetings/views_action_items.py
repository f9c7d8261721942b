"""Action items people work with (issue 20, part 1): tick, edit, assign and re-date an item from
the meeting page (htmx, in place), and "My action items" across meetings.

* ``GET  /meetings/<public_id>/action-items/<id>/``: the item (htmx: its ``<li>``; otherwise a
  redirect to it on the meeting page); ``POST``: change it (CSRF). Fields, each optional:
  ``status`` (``open``/``done``), ``text``, ``owner`` (``p:<participant id>``, ``u:<user id>``
  or empty for nobody), ``due_date`` (``YYYY-MM-DD`` or empty). htmx gets the updated ``<li>``
  (every other page gets it pushed live); a plain form post is redirected back. Bad input: 400
  (htmx: the reason as text, shown under the form; otherwise the form page again), nothing saved.
* ``GET  /meetings/<public_id>/action-items/<id>/edit/``: the edit form (htmx: in place).
* ``GET  /action-items/?status=open|done``: items assigned to the logged-in user, open first.

A meeting the user may not see, or an item of another meeting: 404.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from meetings.models import ActionItem
from meetings.selectors.action_items import action_item_get_for_user, action_item_list_for_user
from meetings.services.action_items import (
    ACTION_ITEM_TEXT_MAX,
    ActionItemError,
    action_item_owner_choices,
    action_item_update,
)


class ActionItemForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItem.Status.choices, required=False)
    text = forms.CharField(required=False, max_length=ACTION_ITEM_TEXT_MAX, strip=True)
    owner = forms.RegexField(
        regex=r"^([pu]:\d{1,12})?$",
        required=False,
        error_messages={"invalid": "Choose an owner from the list."},
    )
    due_date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])


def _item_or_404(request: HttpRequest, public_id, item_id: int) -> ActionItem:
    item = action_item_get_for_user(user=request.user, public_id=public_id, item_id=item_id)
    if item is None:
        raise Http404("No such action item")
    return item


def _owner_value(item: ActionItem) -> str:
    if item.assignee_id is not None:
        return f"u:{item.assignee_id}"
    return f"p:{item.owner_id}" if item.owner_id is not None else ""


def _form_context(item: ActionItem, *, data=None, errors: str = "") -> dict:
    participants, users = action_item_owner_choices(meeting=item.meeting)
    owner_value = (data or {}).get("owner", _owner_value(item))
    due_value = (data or {}).get("due_date", item.due_date.isoformat() if item.due_date else "")
    return {
        "item": item,
        "text": (data or {}).get("text", item.text),
        "due_value": due_value,
        "participant_options": [(f"p:{p.pk}", str(p), owner_value == f"p:{p.pk}") for p in participants],
        "user_options": [
            (f"u:{u.pk}", u.get_full_name() or u.get_username(), owner_value == f"u:{u.pk}") for u in users
        ],
        "errors": errors,
    }


def _changes(form: ActionItemForm, posted) -> dict:
    """The service's keyword arguments for the fields that were posted."""
    data = form.cleaned_data
    changes: dict = {}
    if "status" in posted and data["status"]:
        changes["status"] = data["status"]
    if "text" in posted:
        changes["text"] = data["text"]
    if "owner" in posted:
        kind, _, pk = data["owner"].partition(":")
        if kind == "p":
            changes["owner_participant_id"] = int(pk)
        elif kind == "u":
            changes["assignee_id"] = int(pk)
        else:
            changes["owner_participant_id"] = None
    if "due_date" in posted:
        changes["due_date"] = data["due_date"]
    return changes


def _error_text(form: ActionItemForm) -> str:
    return " ".join(f"{name.replace('_', ' ')}: {' '.join(errs)}" for name, errs in form.errors.items())


@require_http_methods(["GET", "POST"])
@login_required
def action_item(request: HttpRequest, public_id, item_id: int) -> HttpResponse:
    item = _item_or_404(request, public_id, item_id)
    anchor = f"{item.meeting.get_absolute_url()}#action-item-{item.pk}"
    if request.method == "GET":
        if getattr(request, "htmx", False):
            return render(request, "meetings/partials/_action_item.html", {"item": item})
        return redirect(anchor)
    form = ActionItemForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            item = action_item_update(item=item, user=request.user, **_changes(form, request.POST))
        except ActionItemError as exc:
            error = str(exc)
    else:
        error = _error_text(form)
    if error:
        if getattr(request, "htmx", False):
            return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
        context = _form_context(item, data=request.POST, errors=error)
        return render(request, "meetings/action_item_edit.html", context, status=400)
    if getattr(request, "htmx", False):
        return render(request, "meetings/partials/_action_item.html", {"item": item})
    return redirect(anchor)


@require_GET
@login_required
def action_item_edit(request: HttpRequest, public_id, item_id: int) -> HttpResponse:
    item = _item_or_404(request, public_id, item_id)
    template = (
        "meetings/partials/_action_item_form.html"
        if getattr(request, "htmx", False)
        else "meetings/action_item_edit.html"
    )
    return render(request, template, _form_context(item))


@require_GET
@login_required
def my_action_items(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in ActionItem.Status.values else ""
    items = action_item_list_for_user(user=request.user, status=status)
    open_count = sum(1 for i in items if i.status == ActionItem.Status.OPEN)
    if status == ActionItem.Status.DONE:
        open_count = len(action_item_list_for_user(user=request.user, status=ActionItem.Status.OPEN))
    return render(
        request, "meetings/my_action_items.html", {"items": items, "status": status, "open_count": open_count}
    )

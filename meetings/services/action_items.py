"""Writes of action items: stored from a summary, then ticked, edited, assigned and re-dated by people.

A person ticks, edits, assigns and re-dates the notes' action items (the meeting page, the
API); each change marks the item ``edited_at``. A re-summary never undoes such a change:
:func:`action_items_store_generated` matches the new summary's items to the edited ones (source
segment + text) and keeps the edited row in their place, and never deletes an edited row.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from meetings import fragments, live
from meetings.models import (
    ActionItem,
    Meeting,
    Participant,
)

User = get_user_model()


UNSET: object = object()  # "field not given" for the partial updates below
ACTION_ITEM_TEXT_MAX = 2000


class ActionItemError(ValueError):
    """A change to an action item was refused (the message says why, for a 400)."""


def _action_item_normalized(text: str) -> str:
    import re

    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _action_item_match_score(draft: ActionItem, item: ActionItem) -> float:
    """How well a new summary item matches an edited one: 0 = no match, higher is better.

    Same source segment: the texts need a similarity ratio of 0.5; no segment on either side:
    0.8; different segments: 0.9 (the same sentence, said again). The edited item's text is
    compared as the summarizer first wrote it (``generated_text``), so a person's rewording
    does not break the match.
    """
    from difflib import SequenceMatcher

    old = _action_item_normalized(item.generated_text or item.text)
    new = _action_item_normalized(draft.text)
    ratio = SequenceMatcher(None, old, new).ratio() if old and new else 0.0
    same_segment = draft.source_segment_id is not None and draft.source_segment_id == item.source_segment_id
    if same_segment:
        return 1.0 + ratio if ratio >= 0.5 else 0.0
    if draft.source_segment_id is None or item.source_segment_id is None:
        return ratio if ratio >= 0.8 else 0.0
    return ratio if ratio >= 0.9 else 0.0


def action_items_store_generated(*, summary, drafts: list[ActionItem]) -> list[ActionItem]:
    """Replace ``summary``'s generated action items by ``drafts`` (unsaved rows, in order),
    keeping every item a person edited. Call inside the summary's writing transaction.

    Edited items of the meeting (any of its summaries) move to ``summary``: one that matches a
    draft (:func:`_action_item_match_score`, best first, each used once) takes that draft's
    place and the draft is dropped, so the person's text, owner, due date and done status stay;
    the others follow at the end in their old order. Unedited items of ``summary`` itself are
    deleted (older summaries keep theirs). Returns the items of ``summary`` in position order.
    Locks the meeting row first, as :func:`action_item_update` does, so an edit and a store
    never interleave.
    """
    meeting_id = summary.meeting_id
    Meeting.objects.select_for_update().filter(pk=meeting_id).values_list("pk", flat=True).get()
    kept = list(
        ActionItem.objects.select_for_update()
        .filter(meeting_id=meeting_id, edited_at__isnull=False)
        .order_by("summary_id", "position", "pk")
    )
    ActionItem.objects.filter(summary=summary, edited_at__isnull=True).delete()
    free = list(kept)
    order: list[ActionItem] = []
    for draft in drafts:
        draft.generated_text = draft.generated_text or draft.text
        scored = [(_action_item_match_score(draft, item), item) for item in free]
        best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
        if best[1] is not None and best[0] > 0:
            free.remove(best[1])
            order.append(best[1])
        else:
            order.append(draft)
    order += free
    # Park the kept rows beyond any final position (unique (summary, position)), then place all.
    park = 1_000_000
    for offset, item in enumerate(kept):
        ActionItem.objects.filter(pk=item.pk).update(summary=summary, position=park + offset)
    new_rows = []
    for position, item in enumerate(order):
        item.summary, item.position = summary, position
        if item.pk is None:
            item.meeting_id = meeting_id
            new_rows.append(item)
        else:
            ActionItem.objects.filter(pk=item.pk).update(position=position)
    ActionItem.objects.bulk_create(new_rows)
    live.after_commit(fragments.push_meeting_row, meeting_id)  # the list's open-item count
    return order


def action_item_owner_choices(*, meeting: Meeting) -> tuple[list[Participant], list]:
    """Who an item of ``meeting`` may be assigned to: its participants (named ones), and the
    users who may see the meeting (owner and shared users; an item assigned to someone else
    would show them notes they cannot open)."""
    participants = list(Participant.objects.filter(meeting=meeting).order_by("display_name", "pk"))
    users = list(
        User.objects.filter(Q(owned_meetings=meeting) | Q(shared_meetings=meeting), is_active=True)
        .distinct()
        .order_by("username")
    )
    return participants, users


@transaction.atomic
def action_item_update(
    *,
    item: ActionItem,
    user,
    text: str | object = UNSET,
    status: str | object = UNSET,
    owner_participant_id: int | object | None = UNSET,
    assignee_id: int | object | None = UNSET,
    due_date: dt.date | object | None = UNSET,
) -> ActionItem:
    """A person changes an action item; only the fields given (not :data:`UNSET`) change.

    * ``text``: 1..2000 characters after trimming;
    * ``status``: ``"open"`` | ``"done"`` (``completed_at`` set to now / cleared);
    * ``owner_participant_id``: a participant of the item's meeting, or None; it replaces a
      user assignee. ``assignee_id``: a user who may see the meeting (owner or shared user), or
      None; it replaces a participant owner. Give at most one of the two (None clears both);
    * ``due_date``: a date or None (clears the date and what was said, ``due_text``).

    Sets ``edited_at``/``edited_by`` (a re-summary keeps the item from now on), then pushes the
    item to every page watching the meeting and the list row (its open-item count) after
    commit. Raises :class:`ActionItemError` for a value out of range; nothing is saved then.
    """
    if (
        owner_participant_id is not UNSET
        and assignee_id is not UNSET
        and (owner_participant_id and assignee_id)
    ):
        raise ActionItemError("Give an owner participant or an assignee user, not both.")
    Meeting.objects.select_for_update().filter(pk=item.meeting_id).values_list("pk", flat=True).get()
    locked = ActionItem.objects.select_for_update().get(pk=item.pk)
    now = timezone.now()
    if text is not UNSET:
        cleaned = " ".join(str(text).split())
        if not cleaned:
            raise ActionItemError("The text of an action item cannot be empty.")
        if len(cleaned) > ACTION_ITEM_TEXT_MAX:
            raise ActionItemError(f"The text is longer than {ACTION_ITEM_TEXT_MAX} characters.")
        locked.text = cleaned
    if status is not UNSET:
        if status not in ActionItem.Status.values:
            raise ActionItemError(f"Unknown status {status!r}: one of {', '.join(ActionItem.Status.values)}.")
        if status != locked.status:
            locked.status = status
            locked.completed_at = now if status == ActionItem.Status.DONE else None
    if owner_participant_id is not UNSET and owner_participant_id is not None:
        participant = Participant.objects.filter(
            pk=owner_participant_id, meeting_id=locked.meeting_id
        ).first()
        if participant is None:
            raise ActionItemError("The owner must be a participant of this meeting.")
        locked.owner, locked.assignee = participant, None
        locked.owner_name, locked.owner_kind = participant.display_name[:200], ""
    elif assignee_id is not UNSET and assignee_id is not None:
        _participants, users = action_item_owner_choices(meeting=locked.meeting)
        assignee = next((u for u in users if u.pk == assignee_id), None)
        if assignee is None:
            raise ActionItemError("The assignee must be a user who can see this meeting.")
        locked.assignee, locked.owner = assignee, None
        locked.owner_name = (assignee.get_full_name() or assignee.get_username())[:200]
        locked.owner_kind = ""
    elif owner_participant_id is None or assignee_id is None:  # explicitly nobody
        locked.owner = locked.assignee = None
        locked.owner_name, locked.owner_kind = "", ""
    if due_date is not UNSET:
        if due_date is not None and not isinstance(due_date, dt.date):
            raise ActionItemError("The due date must be a date (YYYY-MM-DD).")
        locked.due_date, locked.due_text = due_date, ""
    locked.edited_at, locked.edited_by = now, user if getattr(user, "is_authenticated", False) else None
    locked.save()
    live.after_commit(fragments.push_action_item, locked.pk)
    live.after_commit(fragments.push_meeting_row, locked.meeting_id)
    return locked

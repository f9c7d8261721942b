"""Writes of the meeting domain. Keyword-only, typed, idempotent where ingestion calls them.

Ingestion (``streams``), tasks, admin actions, the API and the dashboard all write through these
functions. Side effects (live pushes, task enqueues) run in ``transaction.on_commit``; live pushes
with ``robust=True``: the data is saved first, a channel-layer hiccup only costs a live update
(the page catches up from ``seq``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from meetings import fragments, live, outbound
from meetings.models import (
    ActionItem,
    Bookmark,
    ChatMessage,
    Meeting,
    Participant,
    ParticipantEvent,
    TranscriptSegment,
    ZoomIdentity,
)
from meetings.summaries import summary_request

logger = logging.getLogger(__name__)
User = get_user_model()


def epoch_ms_to_datetime(epoch_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)


def meeting_offset_ms(*, meeting: Meeting, epoch_ms: int) -> int:
    """Milliseconds from the meeting start to ``epoch_ms`` (never negative)."""
    return max(0, int(epoch_ms - meeting.started_at.timestamp() * 1000))


def meeting_next_seq(*, meeting_id: int) -> int:
    """Allocate the next per-meeting change number. Call inside the writing transaction.

    The UPDATE row-locks the meeting until commit (PostgreSQL; SQLite serializes writers), so
    seq order is commit order: a reader that saw seq N never misses a smaller seq later.
    """
    Meeting.objects.filter(pk=meeting_id).update(last_seq=F("last_seq") + 1)
    return Meeting.objects.filter(pk=meeting_id).values_list("last_seq", flat=True).get()


@transaction.atomic
def meeting_get_or_create(
    *,
    product: str,
    zoom_uuid: str,
    started_at: dt.datetime | None = None,
    topic: str = "",
    zoom_meeting_id: str = "",
    host_user_id: str = "",
) -> tuple[Meeting, bool]:
    """The meeting for a Zoom instance id, created on its first ``rtms_started``.

    The owner is the user whose ``ZoomIdentity`` matches the host/operator id, if any.
    """
    owner = None
    if host_user_id:
        identity = ZoomIdentity.objects.filter(zoom_user_id=host_user_id).select_related("user").first()
        owner = identity.user if identity else None
    try:
        with transaction.atomic():
            meeting, created = Meeting.objects.get_or_create(
                product=product,
                zoom_uuid=zoom_uuid,
                defaults={
                    "started_at": started_at or timezone.now(),
                    "topic": topic,
                    "zoom_meeting_id": zoom_meeting_id,
                    "host_user_id": host_user_id,
                    "owner": owner,
                },
            )
    except IntegrityError:
        meeting, created = Meeting.objects.get(product=product, zoom_uuid=zoom_uuid), False
    if not created and meeting.status == Meeting.Status.ENDED:
        # A new stream for an ended meeting (streaming restarted): live again.
        Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.LIVE, ended_at=None)
        meeting.refresh_from_db()
        created = False
    live.after_commit(fragments.push_meeting_status, meeting.pk)
    if created:
        outbound.emit_on_commit(event="meeting.started", meeting_id=meeting.pk)
    return meeting, created


@transaction.atomic
def meeting_end(*, meeting: Meeting, ended_at: dt.datetime | None = None) -> Meeting:
    """Mark the meeting ended (idempotent), close open gaps and request the final summary.

    The summary is enqueued at once when the transcript is complete, else it waits until the
    meeting's last Whisper window is transcribed (``meetings.summaries``). The UPDATE below
    locks the meeting row until commit, which that gate relies on.
    """
    ended_at = max(ended_at or timezone.now(), meeting.started_at)
    updated = Meeting.objects.filter(pk=meeting.pk, status=Meeting.Status.LIVE).update(
        status=Meeting.Status.ENDED, ended_at=ended_at
    )
    Participant.objects.filter(meeting=meeting, is_present=True).update(
        is_present=False, last_left_at=ended_at
    )
    meeting.refresh_from_db()
    if updated:
        live.after_commit(fragments.push_meeting_status, meeting.pk)
        outbound.emit_on_commit(event="meeting.ended", meeting_id=meeting.pk)
        summary_request(meeting=meeting)
    return meeting


def meeting_share(*, meeting: Meeting, user) -> None:
    meeting.shared_with.add(user)


@transaction.atomic
def participant_upsert(*, meeting: Meeting, zoom_user_id: str, display_name: str = "") -> Participant:
    """The participant for a Zoom ``user_id``; fills in the display name when first known."""
    zoom_user_id = str(zoom_user_id)
    try:
        with transaction.atomic():
            participant, created = Participant.objects.get_or_create(
                meeting=meeting, zoom_user_id=zoom_user_id, defaults={"display_name": display_name}
            )
    except IntegrityError:
        participant, created = Participant.objects.get(meeting=meeting, zoom_user_id=zoom_user_id), False
    if not created and display_name and participant.display_name != display_name:
        participant.display_name = display_name
        participant.save(update_fields=["display_name"])
    if created:
        live.after_commit(fragments.push_participants, meeting.pk)
    return participant


@transaction.atomic
def transcript_segment_record(
    *,
    meeting: Meeting,
    source: str,
    source_key: str,
    text: str,
    start_ms: int,
    end_ms: int | None = None,
    participant: Participant | None = None,
    speaker_name: str = "",
    language: str = "",
    is_final: bool = True,
) -> tuple[TranscriptSegment, bool]:
    """Insert or revise one segment; returns ``(segment, changed)``.

    Idempotent on ``(meeting, source, source_key)``: the same content again changes nothing and
    pushes nothing; different content (a partial becoming final, a revision) updates the row,
    takes a new ``seq`` and pushes the replacement. A final segment is never downgraded to a
    partial. Empty text is refused with ``ValueError`` (no empty segments).
    """
    text = text.strip()
    if not text:
        raise ValueError("a transcript segment needs text")
    start_ms = max(0, int(start_ms))
    end_ms = None if end_ms is None else max(start_ms, int(end_ms))
    speaker_name = speaker_name or (participant.display_name if participant else "")
    fields = {
        "text": text,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "participant": participant,
        "speaker_name": speaker_name,
        "language": language,
        "is_final": is_final,
    }
    existing = (
        TranscriptSegment.objects.select_for_update()
        .filter(meeting=meeting, source=source, source_key=source_key)
        .first()
    )
    if existing is not None:
        if existing.is_final and not is_final:
            return existing, False
        if all(getattr(existing, name) == value for name, value in fields.items()):
            return existing, False
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.seq = meeting_next_seq(meeting_id=meeting.pk)
        existing.save()
        segment = existing
    else:
        segment = TranscriptSegment.objects.create(
            meeting=meeting,
            source=source,
            source_key=source_key,
            seq=meeting_next_seq(meeting_id=meeting.pk),
            **fields,
        )
    live.after_commit(fragments.push_segment, segment)
    if segment.is_final:
        outbound.emit_on_commit(event="transcript.segment", meeting_id=meeting.pk, object_id=segment.pk)
    return segment, True


@transaction.atomic
def chat_message_record(
    *,
    meeting: Meeting,
    source_key: str,
    text: str,
    sent_at: dt.datetime,
    participant: Participant | None = None,
    sender_name: str = "",
    recipient_name: str = "",
) -> tuple[ChatMessage, bool]:
    """Store one chat message once (idempotent on ``source_key``); returns ``(message, created)``."""
    existing = ChatMessage.objects.filter(meeting=meeting, source_key=source_key).first()
    if existing is not None:
        return existing, False
    message = ChatMessage.objects.create(
        meeting=meeting,
        source_key=source_key,
        seq=meeting_next_seq(meeting_id=meeting.pk),
        text=text,
        sent_at=sent_at,
        offset_ms=meeting_offset_ms(meeting=meeting, epoch_ms=int(sent_at.timestamp() * 1000)),
        participant=participant,
        sender_name=sender_name or (participant.display_name if participant else ""),
        recipient_name=recipient_name,
    )
    live.after_commit(fragments.push_chat, message.pk)
    return message, True


@transaction.atomic
def chat_message_revise(
    *, meeting: Meeting, source_key: str, text: str | None = None, deleted: bool = False
) -> ChatMessage | None:
    """Apply Zoom's edit (``text``) or deletion (``deleted=True``) of a stored chat message
    (RTMS chat ``operation_type`` 3 UPDATE / 2 DELETE, PROTOCOL.md §8.15, §10.5).

    The message keeps its place in the timeline and takes a new ``seq``; watching pages replace
    their copy, a reconnecting page catches it up. A deleted message keeps its row, marked
    ``is_deleted`` with its text cleared (shown as "(deleted)", left out of search). Idempotent:
    the same edit again, or a second deletion, changes and pushes nothing. Returns the message,
    or None when ``source_key`` is not stored (an edit of a message sent before the stream).
    """
    message = ChatMessage.objects.select_for_update().filter(meeting=meeting, source_key=source_key).first()
    if message is None:
        return None
    if deleted:
        if message.is_deleted:
            return message
        message.is_deleted, message.text = True, ""
    else:
        text = (text or "").strip()
        if message.is_deleted or not text or text == message.text:
            return message
        message.text = text
    message.seq = meeting_next_seq(meeting_id=meeting.pk)
    message.save(update_fields=["text", "is_deleted", "seq"])
    live.after_commit(fragments.push_chat, message.pk)
    return message


@transaction.atomic
def participant_event_record(
    *,
    meeting: Meeting,
    kind: str,
    source_key: str,
    occurred_at: dt.datetime,
    participant: Participant | None = None,
    reason: str = "",
    details: dict | None = None,
    end_offset_ms: int | None = None,
) -> tuple[ParticipantEvent, bool]:
    """Store one event once (idempotent on ``source_key``) and apply it to the participant.

    JOIN/LEAVE update ``first_joined_at``/``last_left_at``/``is_present``. Returns
    ``(event, created)``.
    """
    existing = ParticipantEvent.objects.filter(meeting=meeting, source_key=source_key).first()
    if existing is not None:
        return existing, False
    offset_ms = meeting_offset_ms(meeting=meeting, epoch_ms=int(occurred_at.timestamp() * 1000))
    event = ParticipantEvent.objects.create(
        meeting=meeting,
        participant=participant,
        kind=kind,
        source_key=source_key,
        seq=meeting_next_seq(meeting_id=meeting.pk),
        offset_ms=offset_ms,
        occurred_at=occurred_at,
        reason=reason,
        details=details or {},
        end_offset_ms=end_offset_ms,
    )
    if participant is not None and kind == ParticipantEvent.Kind.JOIN:
        Participant.objects.filter(pk=participant.pk, first_joined_at__isnull=True).update(
            first_joined_at=occurred_at
        )
        Participant.objects.filter(pk=participant.pk).update(is_present=True)
    elif participant is not None and kind == ParticipantEvent.Kind.LEAVE:
        Participant.objects.filter(pk=participant.pk).update(is_present=False, last_left_at=occurred_at)
    live.after_commit(fragments.push_event, event.pk)
    return event, True


@transaction.atomic
def gap_retry_note(*, meeting: Meeting, source_key_prefix: str, retry: dict) -> ParticipantEvent | None:
    """Record on the open interruption whose key starts with ``source_key_prefix`` that the
    stream is retrying: ``retry`` = ``{"attempt": int (next, 1-based), "error": str,
    "next_attempt_at": ISO 8601, "deadline_at": ISO 8601}`` in ``details["retry"]``, a new
    ``seq``, pushed to watching pages (the health badge shows it). None without an open gap."""
    event = (
        ParticipantEvent.objects.select_for_update()
        .filter(
            meeting=meeting,
            kind=ParticipantEvent.Kind.INTERRUPTION,
            source_key__startswith=source_key_prefix,
            end_offset_ms__isnull=True,
        )
        .order_by("offset_ms", "pk")
        .first()
    )
    if event is None:
        return None
    event.details = {**event.details, "retry": retry}
    event.seq = meeting_next_seq(meeting_id=meeting.pk)
    event.save(update_fields=["details", "seq"])
    live.after_commit(fragments.push_event, event.pk)
    return event


@transaction.atomic
def gap_close(*, meeting: Meeting, source_key: str, ended_at: dt.datetime) -> ParticipantEvent | None:
    """Close an open interruption or pause (``end_offset_ms``); idempotent."""
    event = (
        ParticipantEvent.objects.select_for_update()
        .filter(meeting=meeting, source_key=source_key, end_offset_ms__isnull=True)
        .first()
    )
    if event is None:
        return None
    event.end_offset_ms = max(
        event.offset_ms, meeting_offset_ms(meeting=meeting, epoch_ms=int(ended_at.timestamp() * 1000))
    )
    event.seq = meeting_next_seq(meeting_id=meeting.pk)
    event.save(update_fields=["end_offset_ms", "seq"])
    live.after_commit(fragments.push_event, event.pk)
    return event


@transaction.atomic
def transcript_track_prune(
    *, meeting: Meeting, source: str, key_prefixes: tuple[str, ...], keep_source_keys: set[str]
) -> int:
    """Delete ``source`` segments whose key starts with one of ``key_prefixes`` and is not kept.

    Used by Whisper re-transcription to replace a recording's earlier Whisper segments (live or
    an earlier run) by the new ones, and to drop a live partial that its final window found
    empty. Returns the number deleted. Watching pages remove them after the commit
    (``fragments.push_segments_deleted``).
    """
    if not key_prefixes:
        return 0
    prefix_q = Q()
    for prefix in key_prefixes:
        prefix_q |= Q(source_key__startswith=prefix)
    segment_ids = list(
        TranscriptSegment.objects.filter(meeting=meeting, source=source)
        .filter(prefix_q)
        .exclude(source_key__in=keep_source_keys)
        .values_list("pk", flat=True)
    )
    if not segment_ids:
        return 0
    deleted, _ = TranscriptSegment.objects.filter(pk__in=segment_ids).delete()
    live.after_commit(fragments.push_segments_deleted, meeting.pk, segment_ids)
    return deleted


# --- Speaker names and bookmarks (issue 20) ---------------------------------------------------

SPEAKER_NAME_MAX = 200
BOOKMARK_NOTE_MAX = 500


def _clean_text(text: str, *, max_length: int) -> str:
    """One line: whitespace collapsed; control characters or more than ``max_length``
    characters raise ``ValueError``."""
    cleaned = " ".join((text or "").split())
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in cleaned):
        raise ValueError("control characters are not allowed")
    if len(cleaned) > max_length:
        raise ValueError(f"at most {max_length} characters (got {len(cleaned)})")
    return cleaned


@transaction.atomic
def participant_rename(*, participant: Participant, name: str) -> Participant:
    """Give a speaker the name shown everywhere (``Participant.custom_name``); Zoom's own
    ``display_name`` is kept. An empty name, or Zoom's name itself, resets to Zoom's name.

    Whitespace is collapsed; more than :data:`SPEAKER_NAME_MAX` characters or control
    characters raise ``ValueError`` (nothing is changed). Every watching page updates its lines,
    participants, talk time and summary after the commit (``fragments.push_speaker_names``);
    an unchanged name changes and pushes nothing. Returns the participant.
    """
    cleaned = _clean_text(name, max_length=SPEAKER_NAME_MAX)
    if cleaned == participant.display_name:
        cleaned = ""
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    if locked.custom_name != cleaned:
        locked.custom_name = cleaned
        locked.save(update_fields=["custom_name"])
        live.after_commit(fragments.push_speaker_names, locked.meeting_id)
    participant.custom_name = locked.custom_name
    return participant


@transaction.atomic
def bookmark_create(
    *, meeting: Meeting, segment: TranscriptSegment, user, note: str = ""
) -> tuple[Bookmark, bool]:
    """Bookmark a transcript line of ``meeting`` for ``user`` (who may see the meeting: the
    caller checked). Idempotent per (line, user): bookmarking the same line again returns the
    existing bookmark (its note replaced when a non-empty one is given). Returns
    ``(bookmark, created)``. ``ValueError`` for a segment of another meeting or a note longer
    than :data:`BOOKMARK_NOTE_MAX`. Watching pages get the new bookmarks list after commit."""
    if segment.meeting_id != meeting.pk:
        raise ValueError("the line is not in this meeting")
    note = _clean_text(note, max_length=BOOKMARK_NOTE_MAX)
    try:
        with transaction.atomic():
            bookmark, created = Bookmark.objects.get_or_create(
                meeting=meeting,
                segment=segment,
                created_by=user,
                defaults={"offset_ms": segment.start_ms, "note": note},
            )
    except IntegrityError:
        bookmark, created = Bookmark.objects.get(meeting=meeting, segment=segment, created_by=user), False
    changed = created
    if not created and note and bookmark.note != note:
        bookmark.note = note
        bookmark.save(update_fields=["note", "updated_at"])
        changed = True
    if changed:
        live.after_commit(fragments.push_bookmarks, meeting.pk)
    return bookmark, created


@transaction.atomic
def bookmark_update(*, bookmark: Bookmark, note: str) -> Bookmark:
    """Replace a bookmark's note ("" clears it). Bookmarks are shared notes: everyone who may
    see the meeting may change them (the caller checked). ``ValueError`` for a note over
    :data:`BOOKMARK_NOTE_MAX` characters or with control characters. Pushed after commit."""
    note = _clean_text(note, max_length=BOOKMARK_NOTE_MAX)
    if bookmark.note != note:
        bookmark.note = note
        bookmark.save(update_fields=["note", "updated_at"])
        live.after_commit(fragments.push_bookmarks, bookmark.meeting_id)
    return bookmark


@transaction.atomic
def bookmark_delete(*, bookmark: Bookmark) -> None:
    """Delete a bookmark (anyone who may see the meeting: the caller checked). Pushed to
    watching pages after commit."""
    meeting_id = bookmark.meeting_id
    bookmark.delete()
    live.after_commit(fragments.push_bookmarks, meeting_id)


# --- Action items people work with (issue 20, part 1) -------------------------------------------
#
# A person ticks, edits, assigns and re-dates the notes' action items (the meeting page, the
# API); each change marks the item ``edited_at``. A re-summary never undoes such a change:
# :func:`action_items_store_generated` matches the new summary's items to the edited ones (source
# segment + text) and keeps the edited row in their place, and never deletes an edited row.

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


# --- Sharing (issue 20): grant/revoke access, read-only share links ------------------------------

SHARE_LINK_DEFAULT_DAYS = 7
SHARE_LINK_MAX_DAYS = 90


class SharingError(ValueError):
    """A sharing request that cannot be carried out; ``str(error)`` says why, for a 400."""


def share_user_find(*, identifier: str):
    """The active user whose username is ``identifier`` (exact), else whose e-mail is (any case).

    Raises :class:`SharingError` when nobody or several users match.
    """
    identifier = identifier.strip()
    if not identifier:
        raise SharingError("Give a username or an e-mail address.")
    users = User.objects.filter(is_active=True)
    user = users.filter(username=identifier).first()
    if user is not None:
        return user
    matches = list(users.filter(email__iexact=identifier)[:2]) if "@" in identifier else []
    if len(matches) > 1:
        raise SharingError(f"Several users have the e-mail address {identifier}; give a username.")
    if not matches:
        raise SharingError(f"No user {identifier!r}.")
    return matches[0]


@transaction.atomic
def meeting_share_grant(*, meeting: Meeting, identifier: str):
    """Share ``meeting`` with the user named by ``identifier`` (username or e-mail); returns the
    user. Idempotent. Their meetings list gets the row live. Raises :class:`SharingError` for an
    unknown user or the owner."""
    user = share_user_find(identifier=identifier)
    if user.pk == meeting.owner_id:
        raise SharingError(f"{user.get_username()} owns this meeting.")
    meeting_share(meeting=meeting, user=user)
    live.after_commit(fragments.push_meeting_row, meeting.pk)
    return user


@transaction.atomic
def meeting_share_revoke(*, meeting: Meeting, user_id: int) -> bool:
    """Stop sharing ``meeting`` with the user ``user_id``; False if it was not shared with them.

    Their next page load or API call is refused (404); after the commit their open tabs on the
    meeting are closed (WebSocket 4403, ``live.push_access_changed``)."""
    removed, _ = Meeting.shared_with.through.objects.filter(meeting=meeting, user_id=user_id).delete()
    if removed:
        live.after_commit(live.push_access_changed, meeting.pk, user_id)
    return bool(removed)


def share_link_create(*, meeting: Meeting, created_by, days: int = SHARE_LINK_DEFAULT_DAYS):
    """A new read-only link to the notes of ``meeting``, valid for ``days`` (1 to
    :data:`SHARE_LINK_MAX_DAYS`) from now. Raises :class:`SharingError` outside that range."""
    from meetings.models import ShareLink

    if not 1 <= int(days) <= SHARE_LINK_MAX_DAYS:
        raise SharingError(f"A link lasts 1 to {SHARE_LINK_MAX_DAYS} days.")
    now = timezone.now().replace(microsecond=0)  # the token's timestamp has whole seconds
    return ShareLink.objects.create(
        meeting=meeting, created_by=created_by, created_at=now, expires_at=now + dt.timedelta(days=int(days))
    )


def share_link_revoke(*, meeting: Meeting, link_id: int):
    """Revoke the meeting's link ``link_id`` (idempotent: the first revocation time is kept);
    returns it, or None when the meeting has no such link."""
    from meetings.models import ShareLink

    link = ShareLink.objects.filter(meeting=meeting, pk=link_id).first()
    if link is not None and link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link

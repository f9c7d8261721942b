"""Writes of bookmarks people set on a transcript line (issue 20)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from meetings import fragments, live
from meetings.models import (
    Bookmark,
    Meeting,
    TranscriptSegment,
)
from meetings.services.participants import _clean_text

BOOKMARK_NOTE_MAX = 500


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

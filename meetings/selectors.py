"""Reads of the meeting domain; ``*_for_user`` variants are the one place access is decided.

A meeting is visible to its owner, to the users it is shared with, and to staff. Pages, the
WebSocket consumers and the REST API all go through :func:`meeting_visible_q` /
:func:`meeting_list_for_user` / :func:`meeting_get_for_user`.

The dashboard reads (transcript windows, talk time, stream health, the catch-up after a
reconnect) live here too, so views, consumers and ``meetings.fragments`` share one query each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils.dateparse import parse_datetime

from meetings import transcription
from meetings.models import (
    ActionItem,
    Bookmark,
    ChatMessage,
    Meeting,
    Participant,
    ParticipantEvent,
    Summary,
    TranscriptSegment,
    ZoomIdentity,
)

TRANSCRIPT_WINDOW = 200  # segments on the first paint and per "load earlier" page
CHAT_WINDOW = 200  # chat messages on the first paint
EVENT_WINDOW = 100  # timeline events on the first paint
# Events shown in the timeline; active-speaker changes only move the indicator.
TIMELINE_KINDS = [
    kind for kind in ParticipantEvent.Kind.values if kind != ParticipantEvent.Kind.ACTIVE_SPEAKER
]


# --- Access -----------------------------------------------------------------------------------


def meeting_visible_q(user) -> Q | None:
    """Filter for meetings ``user`` may see; None = everything (staff)."""
    if user.is_staff or user.is_superuser:
        return None
    return Q(owner=user) | Q(shared_with=user)


def meeting_list_for_user(*, user) -> QuerySet[Meeting]:
    """Meetings ``user`` may see (none for anonymous users), newest first."""
    if not user.is_authenticated:
        return Meeting.objects.none()
    if not user.is_active:
        return Meeting.objects.none()
    queryset = Meeting.objects.all()
    visible = meeting_visible_q(user)
    if visible is not None:
        # A subquery, not a join: no duplicate rows and no DISTINCT over annotations.
        queryset = queryset.filter(pk__in=Meeting.objects.filter(visible).values("pk"))
    return queryset


def meeting_get_for_user(*, user, public_id) -> Meeting | None:
    """The meeting if ``user`` may see it, else None (callers answer 404 / close 4403)."""
    return meeting_list_for_user(user=user).filter(public_id=public_id).first()


def meeting_watcher_user_ids(*, meeting_id: int) -> list[int]:
    """Non-staff users who may see the meeting (owner + shared), for the list's per-user groups."""
    meeting = Meeting.objects.filter(pk=meeting_id).values("owner_id").first()
    if meeting is None:
        return []
    ids = set(
        Meeting.shared_with.through.objects.filter(meeting_id=meeting_id).values_list("user_id", flat=True)
    )
    if meeting["owner_id"] is not None:
        ids.add(meeting["owner_id"])
    return sorted(ids)


# --- Meetings list ----------------------------------------------------------------------------


def meeting_list_annotated(queryset: QuerySet[Meeting]) -> QuerySet[Meeting]:
    """Adds ``participant_count`` (one aggregate) and ``open_action_items`` (a subquery) for the
    list rows."""
    return queryset.annotate(
        participant_count=Count("participants", distinct=True), open_action_items=action_item_open_count()
    )


def meeting_list_filtered(
    *,
    user,
    status: str = "",
    date: dt.date | None = None,
    query: str = "",
) -> QuerySet[Meeting]:
    """The list page: visible meetings filtered by status (``live``/``ended``), start date (UTC)
    and a case-insensitive topic search, with ``participant_count``."""
    queryset = meeting_list_for_user(user=user)
    if status in Meeting.Status.values:
        queryset = queryset.filter(status=status)
    if date is not None:
        queryset = queryset.filter(started_at__date=date)
    if query:
        queryset = queryset.filter(topic__icontains=query)
    return meeting_list_annotated(queryset).order_by("-started_at", "-pk")


def meeting_row_get(*, meeting_id: int) -> Meeting | None:
    """One list row (with ``participant_count``), for live pushes."""
    return meeting_list_annotated(Meeting.objects.filter(pk=meeting_id)).first()


# --- Transcript, chat, events -----------------------------------------------------------------


@dataclass(frozen=True)
class SegmentWindow:
    """A page of segments in timeline order, and the cursor of the page before it (if any)."""

    segments: list[TranscriptSegment]
    earlier_cursor: tuple[int, int] | None  # (start_ms, pk) of the first segment shown


def segment_window(
    *, meeting: Meeting, before: tuple[int, int] | None = None, size: int = TRANSCRIPT_WINDOW
) -> SegmentWindow:
    """The ``size`` segments just before ``before`` = ``(start_ms, pk)`` (or the latest ones),
    in ``(start_ms, pk)`` order. Keyset pagination on the ``meetings_segment_timeline`` index:
    the cost does not grow with the meeting's length. One query (``size + 1`` rows)."""
    queryset = TranscriptSegment.objects.filter(meeting=meeting)
    if before is not None:
        start_ms, pk = before
        queryset = queryset.filter(Q(start_ms__lt=start_ms) | Q(start_ms=start_ms, pk__lt=pk))
    rows = list(queryset.order_by("-start_ms", "-pk")[: size + 1])
    has_earlier = len(rows) > size
    rows = rows[:size]
    rows.reverse()
    cursor = (rows[0].start_ms, rows[0].pk) if has_earlier and rows else None
    return SegmentWindow(segments=rows, earlier_cursor=cursor)


def chat_window(*, meeting: Meeting, size: int = CHAT_WINDOW) -> tuple[list[ChatMessage], int]:
    """The latest ``size`` chat messages in timeline order, and how many earlier ones exist."""
    rows = list(ChatMessage.objects.filter(meeting=meeting).order_by("-offset_ms", "-pk")[: size + 1])
    earlier = 0
    if len(rows) > size:
        rows = rows[:size]
        earlier = ChatMessage.objects.filter(meeting=meeting).count() - size
    rows.reverse()
    return rows, earlier


def event_window(*, meeting: Meeting, size: int = EVENT_WINDOW) -> list[ParticipantEvent]:
    """The latest timeline events (joins, leaves, interruptions, stream start/stop...)."""
    rows = list(
        ParticipantEvent.objects.filter(meeting=meeting, kind__in=TIMELINE_KINDS)
        .select_related("participant")
        .order_by("-offset_ms", "-pk")[:size]
    )
    rows.reverse()
    return rows


CATCH_UP_LIMIT = 1000  # rows per kind per catch-up batch


@dataclass(frozen=True)
class Changes:
    """A batch of changes after some seq, in seq order: ``(seq, kind, row)`` with ``kind`` one of
    ``"segment"``, ``"chat"``, ``"event"``. The batch holds *every* change up to ``through_seq``;
    ``complete`` says ``through_seq`` is the meeting's ``last_seq`` (else ask again from it)."""

    items: list[tuple[int, str, Any]]
    through_seq: int
    complete: bool


def changes_after(*, meeting: Meeting, after_seq: int, limit: int | None = None) -> Changes:
    """What changed after ``after_seq`` (a revised row appears once, at its latest ``seq``).

    ``last_seq`` is read *before* the rows: every change with ``seq <= last_seq`` is settled
    (seq order is commit order, see ``services.meeting_next_seq``), so this batch plus the live
    pushes that follow leave no gap. At most ``limit`` rows per kind (``CATCH_UP_LIMIT``); when a
    kind is cut, the batch ends at the lowest cut point and ``complete`` is False.
    """
    limit = limit or CATCH_UP_LIMIT
    last_seq = Meeting.objects.filter(pk=meeting.pk).values_list("last_seq", flat=True).get()
    window = {"meeting": meeting, "seq__gt": after_seq, "seq__lte": last_seq}
    per_kind = {
        "segment": list(TranscriptSegment.objects.filter(**window).order_by("seq")[:limit]),
        "chat": list(ChatMessage.objects.filter(**window).order_by("seq")[:limit]),
        "event": list(
            ParticipantEvent.objects.filter(**window).select_related("participant").order_by("seq")[:limit]
        ),
    }
    through_seq = min([rows[-1].seq for rows in per_kind.values() if len(rows) >= limit] or [last_seq])
    items = sorted(
        ((row.seq, kind, row) for kind, rows in per_kind.items() for row in rows if row.seq <= through_seq),
        key=lambda item: item[0],
    )
    return Changes(items=items, through_seq=max(through_seq, after_seq), complete=through_seq == last_seq)


# --- Participants, talk time, health ----------------------------------------------------------


def participant_list(*, meeting: Meeting) -> list[Participant]:
    """Participants, present ones first, each with ``is_active_speaker`` set."""
    active_id = (
        ParticipantEvent.objects.filter(meeting=meeting, kind=ParticipantEvent.Kind.ACTIVE_SPEAKER)
        .order_by("-offset_ms", "-pk")
        .values_list("participant_id", flat=True)
        .first()
    )
    participants = list(
        Participant.objects.filter(meeting=meeting).order_by("-is_present", "first_joined_at", "pk")
    )
    for participant in participants:
        participant.is_active_speaker = participant.pk == active_id and participant.is_present
        participant.meeting = meeting  # the panel links to the rename form: no query each
    return participants


@dataclass(frozen=True)
class TalkTime:
    speaker: str
    talk_ms: int
    percent: int  # of the loudest speaker's time (bar width)
    share: int  # of all speech, rounded


def talk_time_list(*, meeting: Meeting) -> list[TalkTime]:
    """Per-speaker speaking time from final segments, longest first. One aggregate query.

    Summed per speaker and source; when both Zoom's transcript and Whisper cover a speaker (the
    live fallback overlapping Zoom), the larger of the two totals counts, so speech is never
    counted twice. A segment without ``end_ms`` counts as zero. Speakers are shown by the name
    on the page: a renamed participant's custom name, else Zoom's ``speaker_name``."""
    rows = (
        TranscriptSegment.objects.filter(meeting=meeting, is_final=True)
        .values("speaker_name", "source", "participant__custom_name")
        .annotate(talk_ms=Sum(Greatest(Coalesce(F("end_ms"), F("start_ms")) - F("start_ms"), 0)))
        .order_by()
    )
    per_source: dict[tuple[str, str], int] = {}
    for row in rows:
        speaker = row["participant__custom_name"] or row["speaker_name"] or "Unknown speaker"
        key = (speaker, row["source"])
        per_source[key] = per_source.get(key, 0) + (row["talk_ms"] or 0)
    per_speaker: dict[str, int] = {}
    for (speaker, _source), talk_ms in per_source.items():
        per_speaker[speaker] = max(per_speaker.get(speaker, 0), talk_ms)
    ranked = sorted(per_speaker.items(), key=lambda item: (-item[1], item[0]))
    total = sum(per_speaker.values())
    longest = max(per_speaker.values(), default=0)
    return [
        TalkTime(
            speaker=speaker,
            talk_ms=talk_ms,
            percent=round(100 * talk_ms / longest) if longest else 0,
            share=round(100 * talk_ms / total) if total else 0,
        )
        for speaker, talk_ms in ranked
    ]


@dataclass(frozen=True)
class StreamHealth:
    """The stream-health badge. ``state``: ``waiting`` | ``connected`` | ``interrupted`` |
    ``retrying`` | ``paused`` | ``stopped`` | ``ended``. Offsets are ms from the meeting start.
    While ``retrying``: ``retry_attempt`` (the next attempt, 1-based), ``retry_error`` (the last
    failure), ``retry_next_at`` / ``retry_deadline_at`` (aware datetimes: next attempt, end of
    Zoom's reconnect window)."""

    state: str
    label: str
    reason: str = ""
    since_ms: int | None = None  # start of the open gap (interrupted/paused)
    since_at: dt.datetime | None = None  # the same, wall clock (the page ticks the gap length)
    last_gap_ms: int | None = None  # length of the last closed interruption
    last_gap_reason: str = ""
    interruptions: int = 0
    retry_attempt: int | None = None
    retry_error: str = ""
    retry_next_at: dt.datetime | None = None
    retry_deadline_at: dt.datetime | None = None


def _retry_fields(details: dict) -> dict:
    retry = details.get("retry") if isinstance(details, dict) else None
    if not isinstance(retry, dict):
        return {}
    return {
        "retry_attempt": int(retry.get("attempt") or 0) or None,
        "retry_error": str(retry.get("error") or ""),
        "retry_next_at": parse_datetime(retry["next_attempt_at"]) if retry.get("next_attempt_at") else None,
        "retry_deadline_at": parse_datetime(retry["deadline_at"]) if retry.get("deadline_at") else None,
    }


def meeting_health(*, meeting: Meeting) -> StreamHealth:
    """Stream health from meeting-domain data only (``Meeting.status`` + stream events).

    Rules, first match wins: meeting ended → ``ended`` (reason of the last ``stream_stop``);
    an open ``interruption`` → ``retrying`` when the stream is reconnecting (its
    ``details["retry"]``, ``meetings.services.gap_retry_note``), else ``interrupted``, since its offset; a ``stream_stop`` after the last
    ``stream_start`` → ``stopped``; an open ``pause`` → ``paused``; any ``stream_start`` or any
    data → ``connected``; else ``waiting``. Two queries.
    """
    kinds = [
        ParticipantEvent.Kind.INTERRUPTION,
        ParticipantEvent.Kind.PAUSE,
        ParticipantEvent.Kind.RESUME,
        ParticipantEvent.Kind.STREAM_START,
        ParticipantEvent.Kind.STREAM_STOP,
    ]
    events = list(
        ParticipantEvent.objects.filter(meeting=meeting, kind__in=kinds)
        .order_by("offset_ms", "seq")
        .only("kind", "offset_ms", "end_offset_ms", "reason", "occurred_at", "seq", "details")
    )
    K = ParticipantEvent.Kind
    interruptions = [event for event in events if event.kind == K.INTERRUPTION]
    closed = [event for event in interruptions if event.end_offset_ms is not None]
    last_gap = max(closed, key=lambda event: event.end_offset_ms) if closed else None
    common = {
        "interruptions": len(interruptions),
        "last_gap_ms": (last_gap.end_offset_ms - last_gap.offset_ms) if last_gap else None,
        "last_gap_reason": last_gap.reason if last_gap else "",
    }
    stops = [event for event in events if event.kind == K.STREAM_STOP]
    starts = [event for event in events if event.kind == K.STREAM_START]
    if meeting.status == Meeting.Status.ENDED:
        return StreamHealth(state="ended", label="Ended", reason=stops[-1].reason if stops else "", **common)
    open_gap = next((event for event in reversed(interruptions) if event.end_offset_ms is None), None)
    if open_gap is not None:
        retry = _retry_fields(open_gap.details)
        return StreamHealth(
            state="retrying" if retry else "interrupted",
            label=f"Reconnecting (attempt {retry['retry_attempt']})" if retry else "Interrupted",
            reason=open_gap.reason,
            since_ms=open_gap.offset_ms,
            since_at=open_gap.occurred_at,
            **common,
            **retry,
        )
    if stops and (not starts or stops[-1].seq > starts[-1].seq):
        return StreamHealth(state="stopped", label="Stream stopped", reason=stops[-1].reason, **common)
    pauses = [event for event in events if event.kind == K.PAUSE]
    if pauses and pauses[-1].end_offset_ms is None:
        resumes = [event for event in events if event.kind == K.RESUME and event.seq > pauses[-1].seq]
        if not resumes:
            return StreamHealth(
                state="paused",
                label="Paused",
                reason=pauses[-1].reason,
                since_ms=pauses[-1].offset_ms,
                since_at=pauses[-1].occurred_at,
                **common,
            )
    if starts or meeting.last_seq:
        return StreamHealth(state="connected", label="Connected", **common)
    return StreamHealth(state="waiting", label="Waiting for the stream", **common)


def segment_count(*, meeting: Meeting) -> int:
    return TranscriptSegment.objects.filter(meeting=meeting).count()


def transcription_pending_seconds(*, meeting: Meeting) -> int:
    """Seconds of the meeting's audio still to be transcribed (Whisper windows queued or running,
    a re-transcription in progress; ``meetings.transcription``), rounded up; 0 when complete.
    The final summary waits for them."""
    return transcription.pending_audio_seconds(meeting_id=meeting.pk)


def transcript_lag_ms(*, meeting: Meeting) -> int:
    """Milliseconds the live transcript is behind: now minus the end of the oldest audio not
    transcribed yet (``meetings.transcription``); 0 when caught up."""
    return transcription.transcript_lag_ms(meeting_id=meeting.pk)


def summary_latest(*, meeting: Meeting) -> Summary | None:
    """The newest summary of the meeting (what the summary panel shows), with its action items."""
    return Summary.objects.filter(meeting=meeting).order_by("-pk").prefetch_related("action_items").first()


# --- Speaker names and bookmarks (issue 20) ---------------------------------------------------


def speaker_custom_names(*, meeting_id: int) -> dict[int, str]:
    """``{participant pk: custom name}`` of the meeting's renamed speakers (one small query).

    Pages render each transcript line's speaker with it (``meeting_extras.speaker_label``);
    participants without a custom name are absent (their lines keep Zoom's ``speaker_name``)."""
    return dict(
        Participant.objects.filter(meeting_id=meeting_id)
        .exclude(custom_name="")
        .values_list("pk", "custom_name")
    )


def participant_get(*, meeting: Meeting, participant_id: int) -> Participant | None:
    """A participant of ``meeting`` (one the caller may see), else None (answer 404)."""
    return Participant.objects.filter(meeting=meeting, pk=participant_id).first()


def bookmark_list(*, meeting: Meeting) -> list[Bookmark]:
    """The meeting's bookmarks in timeline order (``offset_ms``, pk), with their line, its
    participant and the author loaded (one query)."""
    return list(
        Bookmark.objects.filter(meeting=meeting)
        .select_related("segment", "segment__participant", "created_by")
        .order_by("offset_ms", "pk")
    )


def bookmark_get(*, meeting: Meeting, bookmark_id: int) -> Bookmark | None:
    """A bookmark of ``meeting`` (one the caller may see), else None (answer 404)."""
    return (
        Bookmark.objects.filter(meeting=meeting, pk=bookmark_id)
        .select_related("segment", "segment__participant", "created_by")
        .first()
    )


def segment_get(*, meeting: Meeting, segment_id: int) -> TranscriptSegment | None:
    """A transcript line of ``meeting``, else None."""
    return TranscriptSegment.objects.filter(meeting=meeting, pk=segment_id).first()


# --- Action items people work with (issue 20, part 1) -------------------------------------------

MY_ACTION_ITEMS_LIMIT = 500


def action_item_current_summary_id(meeting_ref) -> Subquery:
    """The pk of the newest READY summary of the meeting ``meeting_ref`` (an ``OuterRef``): the
    summary whose action items are the meeting's current ones (edited items move to it when it
    is stored, ``services.action_items_store_generated``)."""
    return Subquery(
        Summary.objects.filter(meeting=meeting_ref, status=Summary.Status.READY)
        .order_by("-pk")
        .values("pk")[:1]
    )


def _action_items_current_qs() -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(summary_id=action_item_current_summary_id(OuterRef("meeting_id")))


def action_item_list_current(*, meeting: Meeting) -> list[ActionItem]:
    """The meeting's current action items (of its newest ready summary), in position order,
    with owner, assignee and meeting loaded. Empty before the first ready summary."""
    return list(
        _action_items_current_qs()
        .filter(meeting=meeting)
        .select_related("owner", "assignee", "meeting", "edited_by")
        .order_by("position", "pk")
    )


def action_item_open_count() -> Coalesce:
    """Annotation: the number of open current action items of each meeting row."""
    return Coalesce(
        Subquery(
            _action_items_current_qs()
            .filter(meeting_id=OuterRef("pk"), status=ActionItem.Status.OPEN)
            .order_by()
            .values("meeting_id")
            .annotate(count=Count("pk"))
            .values("count")[:1]
        ),
        0,
    )


def action_item_get_for_user(*, user, public_id, item_id: int) -> ActionItem | None:
    """Action item ``item_id`` of meeting ``public_id`` if ``user`` may see the meeting, else
    None (callers answer 404, the same as for a meeting they may not see)."""
    meeting = meeting_get_for_user(user=user, public_id=public_id)
    if meeting is None:
        return None
    item = (
        ActionItem.objects.filter(pk=item_id, meeting=meeting)
        .select_related("owner", "assignee", "edited_by")
        .first()
    )
    if item is not None:
        item.meeting = meeting
    return item


def action_item_list_for_user(*, user, status: str = "") -> list[ActionItem]:
    """ "My action items": current items of meetings ``user`` may see that are assigned to them,
    or owned by a participant with their Zoom user id (``ZoomIdentity``) and assigned to nobody
    else. Open first, then by due date (undated last), newest meeting first; at most
    ``MY_ACTION_ITEMS_LIMIT``. ``status``: ``open`` | ``done`` | "" (both)."""
    if not user.is_authenticated:
        return []
    mine = Q(assignee=user)
    zoom_user_id = ZoomIdentity.objects.filter(user=user).values_list("zoom_user_id", flat=True).first()
    if zoom_user_id:
        mine |= Q(assignee__isnull=True, owner__zoom_user_id=zoom_user_id)
    queryset = (
        _action_items_current_qs()
        .filter(mine, meeting__in=meeting_list_for_user(user=user).values("pk"))
        .select_related("meeting", "owner", "assignee")
    )
    if status in ActionItem.Status.values:
        queryset = queryset.filter(status=status)
    open_first = Case(When(status=ActionItem.Status.OPEN, then=Value(0)), default=Value(1))
    return list(
        queryset.order_by(
            open_first, F("due_date").asc(nulls_last=True), "-meeting__started_at", "position", "pk"
        )[:MY_ACTION_ITEMS_LIMIT]
    )


# --- Audio replay and sharing (issue 20) -------------------------------------------------------


@dataclass(frozen=True)
class PlaybackCue:
    """Where a transcript line is heard: ``recording`` from ``offset_ms`` (its start relative to
    the recording's first sample, never negative)."""

    recording: Any  # AudioRecording
    offset_ms: int


def playback_cue(*, meeting: Meeting, segment_id: int) -> PlaybackCue | None:
    """The recording to play a line of ``meeting`` from, or None (no such line, no recording).

    Prefers the **mixed** recording (everyone, as heard in the meeting) of the stream whose span
    covers the line's start; while a meeting is live the mix does not exist yet (it is built at
    stream end, ``streams.recording.mix_build``), so it falls back to the **speaker's own
    track** covering it. Seek = ``segment.start_ms − recording.start_ms``.
    """
    from meetings.models import AudioRecording

    segment = TranscriptSegment.objects.filter(meeting=meeting, pk=segment_id).first()
    if segment is None:
        return None
    recordings = list(
        AudioRecording.objects.filter(meeting=meeting, data_bytes__gt=0).order_by("start_ms", "pk")
    )

    def covers(recording) -> bool:
        return recording.start_ms <= segment.start_ms < recording.start_ms + recording.duration_ms

    mixed = [r for r in recordings if r.kind == AudioRecording.Kind.MIXED]
    own = [r for r in recordings if r.kind == AudioRecording.Kind.PARTICIPANT]
    own = [r for r in own if segment.participant_id and r.participant_id == segment.participant_id]
    for candidates in (mixed, own):
        found = next((r for r in candidates if covers(r)), None)
        if found is not None:
            return PlaybackCue(recording=found, offset_ms=segment.start_ms - found.start_ms)
    return None


def recording_default(*, meeting: Meeting):
    """The recording the player loads first: the earliest mixed one with audio, else None."""
    from meetings.models import AudioRecording

    return (
        AudioRecording.objects.filter(meeting=meeting, kind=AudioRecording.Kind.MIXED, data_bytes__gt=0)
        .order_by("start_ms", "pk")
        .first()
    )


def meeting_can_share(*, user, meeting: Meeting) -> bool:
    """Whether ``user`` manages the sharing of ``meeting``: its owner, or staff. (Users it is
    shared with may read it, not re-share it.)"""
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        user.is_staff or user.is_superuser or (meeting.owner_id is not None and meeting.owner_id == user.pk)
    )


def share_user_list(*, meeting: Meeting) -> list[Any]:
    """The users ``meeting`` is shared with, by username."""
    return list(meeting.shared_with.order_by("username", "pk"))


def share_link_list(*, meeting: Meeting) -> list[Any]:
    """The meeting's share links, newest first (revoked and expired ones included)."""
    from meetings.models import ShareLink

    return list(ShareLink.objects.filter(meeting=meeting).order_by("-created_at", "-pk"))


def share_link_resolve(*, token: str):
    """The active ``ShareLink`` a token opens (with its meeting), or None: a forged or altered
    token, an unknown, revoked or expired link."""
    from django.utils import timezone

    from meetings import share_links
    from meetings.models import ShareLink

    key = share_links.key_from_token(token)
    if key is None:
        return None
    return (
        ShareLink.objects.select_related("meeting")
        .filter(key=key, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )

"""Render-once fragments for live pushes: one partial template per thing.

The same partials render the meeting page (``{% include %}``) and the WebSocket pushes, so the
markup exists once. Each ``push_*`` reads the rows (``push_segment`` takes the writer's committed
instance), renders them once and broadcasts the HTML to
the meeting's group (``meeting.<pk>``) with its ``seq``, however many browsers watch. Services
call them through ``transaction.on_commit(..., robust=True)``; other producers may call them
directly after their own commit.

Wire format (what ``htmx-ext-ws`` receives): every top-level element is swapped out of band.
Segments, chat messages and timeline events are *live lines*: their markup and swap semantics
(an upsert by id and ``data-seq``) are owned by ``meetings/live_lines.py``, which renders them
for the page and for these pushes alike. Panels (``#meeting-status``, ``#stream-health``,
``#participants``, ``#talk-time``) are replaced by id.

Names other modules call: ``push_segment``, ``push_segments_deleted``, ``push_chat``, ``push_event``,
``push_meeting_status``, ``push_participants``, ``push_meeting_row``,
``push_transcription_progress``, ``push_transcript_lag``, ``push_speaker_names``, ``push_bookmarks``
(and the summary module's ``push_summary``).
``render_changes_after`` is the consumer's catch-up after a reconnect.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from meetings import live, live_lines, transcription
from meetings.models import ChatMessage, Meeting, ParticipantEvent, Summary, TranscriptSegment
from meetings.selectors.access import meeting_watcher_user_ids
from meetings.selectors.action_items import action_item_list_current
from meetings.selectors.bookmarks import bookmark_list
from meetings.selectors.changes import changes_after
from meetings.selectors.health import meeting_health
from meetings.selectors.meetings import meeting_row_get
from meetings.selectors.participants import (
    TIMELINE_KINDS,
    participant_list,
    speaker_custom_names,
    talk_time_list,
)
from meetings.selectors.summaries import summary_latest
from meetings.selectors.transcript import transcript_lag_ms, transcription_pending_seconds

HEALTH_KINDS = {
    ParticipantEvent.Kind.INTERRUPTION,
    ParticipantEvent.Kind.PAUSE,
    ParticipantEvent.Kind.RESUME,
    ParticipantEvent.Kind.STREAM_START,
    ParticipantEvent.Kind.STREAM_STOP,
}
PARTICIPANT_KINDS = {
    ParticipantEvent.Kind.JOIN,
    ParticipantEvent.Kind.LEAVE,
    ParticipantEvent.Kind.ACTIVE_SPEAKER,
}
CATCH_UP_BATCH = 100  # items per WebSocket message during a catch-up


# --- Rendering (shared by pushes and the catch-up) --------------------------------------------


def render_segment(segment: TranscriptSegment, *, speaker_names: dict[int, str] | None = None) -> str:
    """A segment, out of band. ``speaker_names``: the meeting's renamed speakers; when not given,
    the name in hand (:func:`_speaker_name_in_hand`, no query)."""
    if speaker_names is None:
        speaker_names = _speaker_name_in_hand(segment)
    return live_lines.render_push("transcript", segment, speaker_names=speaker_names)


def _speaker_name_in_hand(row: TranscriptSegment | ChatMessage) -> dict[int, str]:
    """``{participant pk: custom name}`` of ``row``'s own participant when the row already holds
    it (the writer's instance, or a ``select_related``), else ``{}``: a live push never waits
    for a query to name its speaker. The name may be stale (a rename in another process after
    the writer loaded the participant), which no page shows: every page applies the meeting's
    current names to each line it gets (``#speaker-names``, replaced on every rename and after
    every catch-up; ``static/js/speakers.js``)."""
    if not type(row)._meta.get_field("participant").is_cached(row):
        return {}
    participant = row.participant
    return {participant.pk: participant.custom_name} if participant and participant.custom_name else {}


def render_talk_time(meeting: Meeting) -> str:
    """The talk-time panel, out of band (one aggregate query)."""
    return render_to_string(
        "meetings/partials/_talk_time.html",
        {"talk_time": talk_time_list(meeting=meeting), "oob": True},
    )


def render_summary(meeting: Meeting, summary, *, pending_s: int | None = None) -> str:
    """The summary panel, out of band; ``pending_s``: seconds of audio still to be transcribed
    (queried when not given), which a waiting final summary shows."""
    if pending_s is None:
        pending_s = transcription_pending_seconds(meeting=meeting)
    return render_to_string(
        "meetings/partials/_summary.html",
        {
            "meeting": meeting,
            "summary": summary,
            "oob": True,
            "transcription_pending_seconds": pending_s,
            "action_items": action_item_list_current(meeting=meeting),
        },
    )


def render_chat(message: ChatMessage, *, speaker_names: dict[int, str] | None = None) -> str:
    """A chat message, out of band; ``speaker_names`` as for :func:`render_segment`."""
    if speaker_names is None:
        speaker_names = _speaker_name_in_hand(message)
    return live_lines.render_push("chat", message, speaker_names=speaker_names)


def render_event(event: ParticipantEvent, *, with_panels: bool = True) -> str:
    """The timeline entry (if the kind is shown there) plus, when ``with_panels``, the panels the
    event changes: participants (join/leave/active speaker), stream health (stream events)."""
    line = live_lines.render_push("events", event) if event.kind in TIMELINE_KINDS else ""
    context: dict[str, object] = {"participants": None, "health": None}
    if with_panels and event.kind in PARTICIPANT_KINDS:
        context["participants"] = participant_list(meeting=event.meeting)
    if with_panels and event.kind in HEALTH_KINDS:
        context["health"] = meeting_health(meeting=event.meeting)
    if context["participants"] is None and context["health"] is None:
        return line
    return line + render_to_string("meetings/partials/_event_panels_push.html", context)


def render_panels(meeting: Meeting) -> str:
    """Status, health, participants, talk time and summary: the state a catch-up ends with."""
    pending_s = transcription_pending_seconds(meeting=meeting)
    return "".join(
        [
            render_to_string(
                "meetings/partials/_status_push.html",
                {
                    "meeting": meeting,
                    "health": meeting_health(meeting=meeting),
                    "participants": participant_list(meeting=meeting),
                    "transcription_pending_seconds": pending_s,
                },
            ),
            render_talk_time(meeting),
            render_summary(meeting, summary_latest(meeting=meeting), pending_s=pending_s),
            render_to_string(  # speakers renamed and bookmarks changed while away
                "meetings/partials/_speaker_names.html",
                {"speaker_names": speaker_custom_names(meeting_id=meeting.pk), "oob": True},
            ),
            render_bookmarks(meeting),
            render_transcript_lag(meeting),
        ]
    )


def render_changes_after(*, meeting_id: int, after_seq: int) -> tuple[list[str], int, bool]:
    """One catch-up batch for a browser holding every change up to ``after_seq``.

    Returns ``(messages, through_seq, complete)``: the segments, chat messages and timeline events
    with ``after_seq < seq <= through_seq`` in seq order, rendered with the push partials
    (``CATCH_UP_BATCH`` items per message). When not ``complete``, ask again from
    ``through_seq``; when complete, finish with :func:`render_panels`. Unknown meeting: ``([], after_seq, True)``.
    """
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return [], after_seq, True
    changes = changes_after(meeting=meeting, after_seq=max(0, int(after_seq)))
    rendered: list[str] = []
    names = speaker_custom_names(meeting_id=meeting.pk)
    for _seq, kind, row in changes.items:
        row.meeting = meeting  # the rows' meeting, without a query each
        if kind == "segment":
            rendered.append(render_segment(row, speaker_names=names))
        elif kind == "chat":
            rendered.append(render_chat(row, speaker_names=names))
        elif row.kind in TIMELINE_KINDS:
            rendered.append(render_event(row, with_panels=False))
    messages = ["".join(rendered[i : i + CATCH_UP_BATCH]) for i in range(0, len(rendered), CATCH_UP_BATCH)]
    return messages, changes.through_seq, changes.complete


def render_meeting_panels(*, meeting_id: int) -> str:
    """:func:`render_panels` by pk ("" for an unknown meeting): the end of a catch-up."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    return render_panels(meeting) if meeting is not None else ""


# --- Pushes -----------------------------------------------------------------------------------


def push_segment(segment: TranscriptSegment) -> None:
    """A new or revised segment, as committed (the writer's own instance: no query), then for a
    final one the talk-time bars as a second message, so the segment does not wait for the
    aggregate query."""
    live.push(segment.meeting_id, render_segment(segment), seq=segment.seq)
    if segment.is_final:
        live.push(segment.meeting_id, render_talk_time(segment.meeting))


def push_segments_deleted(meeting_id: int, segment_ids: list[int]) -> None:
    """Deleted segments (a pruned Whisper partial, a replaced Whisper track): every page removes
    its copy (htmx ``hx-swap-oob="delete"``). Deletions carry no seq: a tab that is offline at
    that moment keeps its copy until the page is loaded again."""
    if segment_ids:
        html = render_to_string("meetings/partials/_segments_deleted.html", {"segment_ids": segment_ids})
        live.push(meeting_id, html)


def push_chat(message_id: int) -> None:
    message = ChatMessage.objects.select_related("participant").filter(pk=message_id).first()
    if message is None:
        return
    live.push(message.meeting_id, render_chat(message), seq=message.seq)


def push_event(event_id: int) -> None:
    """A participant or stream event: timeline entry plus the panels it changes."""
    event = ParticipantEvent.objects.select_related("participant", "meeting").filter(pk=event_id).first()
    if event is None:
        return
    live.push(event.meeting_id, render_event(event), seq=event.seq)


def push_meeting_status(meeting_id: int) -> None:
    """Live/ended status and stream health on the meeting page, and the meetings-list row."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return
    html = render_to_string(
        "meetings/partials/_status_push.html",
        {
            "meeting": meeting,
            "health": meeting_health(meeting=meeting),
            # an ending meeting marks everyone as gone (services.meeting_end)
            "participants": participant_list(meeting=meeting),
            "transcription_pending_seconds": transcription_pending_seconds(meeting=meeting),
        },
    )
    live.push(meeting.pk, html)
    push_meeting_row(meeting.pk)


def push_participants(meeting_id: int) -> None:
    """The participants panel (a participant was added or renamed) and the list row's count."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return
    html = render_to_string(
        "meetings/partials/_participants.html",
        {"participants": participant_list(meeting=meeting), "oob": True},
    )
    live.push(meeting.pk, html)
    push_meeting_row(meeting.pk)


def push_meeting_row(meeting_id: int) -> None:
    """The meeting's row on the meetings list of its owner, its shared users and staff.

    New rows are inserted in start order by ``live.js``, existing ones replaced by id."""
    meeting = meeting_row_get(meeting_id=meeting_id)
    if meeting is None:
        return
    html = render_to_string("meetings/partials/_meeting_row_push.html", {"meeting": meeting})
    live.push_list(meeting_watcher_user_ids(meeting_id=meeting.pk), html)


def push_summary(summary_id: int) -> None:
    """The summary panel (``#summary``), replaced by id: pending, running, ready or failed.

    Skipped when a newer summary of the meeting exists (the page shows the newest one)."""
    summary = Summary.objects.select_related("meeting").filter(pk=summary_id).first()
    if summary is None or Summary.objects.filter(meeting_id=summary.meeting_id, pk__gt=summary.pk).exists():
        return
    live.push(summary.meeting_id, render_summary(summary.meeting, summary))


def push_transcription_progress(meeting_id: int) -> None:
    """An ended meeting's transcription moved on: the status line ("Transcribing — N s of audio
    left") and the summary panel (waiting for the transcript, or summarizing once it is
    complete), both replaced by id."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return
    pending_s = transcription_pending_seconds(meeting=meeting)
    status = render_to_string(
        "meetings/partials/_status.html",
        {"meeting": meeting, "oob": True, "transcription_pending_seconds": pending_s},
    )
    summary = render_summary(meeting, summary_latest(meeting=meeting), pending_s=pending_s)
    live.push(meeting.pk, status + summary)


# --- Speaker names and bookmarks (issue 20) ---------------------------------------------------


def render_speaker_names(meeting: Meeting) -> str:
    """What a rename changes, out of band: the custom-name map every line's speaker is shown by
    (``#speaker-names-box``; ``static/js/speakers.js`` applies it to every line and chat
    message on the page), the participants panel, the talk-time bars, the bookmarks (their
    speakers) and the summary panel (action-item owners)."""
    return "".join(
        [
            render_to_string(
                "meetings/partials/_speaker_names.html",
                {"speaker_names": speaker_custom_names(meeting_id=meeting.pk), "oob": True},
            ),
            render_to_string(
                "meetings/partials/_participants.html",
                {"participants": participant_list(meeting=meeting), "oob": True},
            ),
            render_talk_time(meeting),
            render_bookmarks(meeting),
            render_summary(meeting, summary_latest(meeting=meeting)),
        ]
    )


def render_bookmarks(meeting: Meeting) -> str:
    """The bookmarks panel (``#bookmarks``), out of band."""
    return render_to_string(
        "meetings/partials/_bookmarks.html",
        {"meeting": meeting, "bookmarks": bookmark_list(meeting=meeting), "oob": True},
    )


def push_speaker_names(meeting_id: int) -> None:
    """A speaker was renamed (``services.participant_rename``): :func:`render_speaker_names`."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return
    live.push(meeting.pk, render_speaker_names(meeting))


def push_bookmarks(meeting_id: int) -> None:
    """A bookmark was added, changed or removed: the bookmarks panel, replaced by id."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return
    live.push(meeting.pk, render_bookmarks(meeting))


# --- Action items people work with (issue 20, part 1) -------------------------------------------


def render_action_item(item, *, oob: bool = False) -> str:
    """One action item (``<li id="action-item-<pk>">``); ``oob``: swapped by id on every page."""
    return render_to_string("meetings/partials/_action_item.html", {"item": item, "oob": oob})


def push_action_item(item_id: int) -> None:
    """An action item a person changed: replaced by id on every page watching its meeting
    (an item not on a page, e.g. of an older summary, is ignored there)."""
    from meetings.models import ActionItem

    item = (
        ActionItem.objects.select_related("meeting", "owner", "assignee", "edited_by")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        return
    live.push(item.meeting_id, render_action_item(item, oob=True))


def render_transcript_lag(meeting: Meeting, *, lag_ms: int | None = None) -> str:
    """The "Transcript N s behind" line (``#transcript-lag``, replaced by id; hidden below
    ``transcription.LAG_VISIBLE_MS``). ``live.js`` counts it up between pushes while shown."""
    if lag_ms is None:
        lag_ms = transcript_lag_ms(meeting=meeting)
    return render_to_string(
        "meetings/partials/_transcript_lag.html",
        {"lag_ms": lag_ms, "lag_visible_ms": transcription.LAG_VISIBLE_MS, "oob": True},
    )


def push_transcript_lag(meeting_id: int, *, lag_ms: int | None = None) -> None:
    """How far behind the live transcript is (``lag_ms``, read when None), to the meeting's pages."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is not None:
        live.push(meeting.pk, render_transcript_lag(meeting, lag_ms=lag_ms))

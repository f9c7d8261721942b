"""Template filters for the dashboard: meeting-relative times and durations (input in ms)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from django.utils.html import format_html

from meetings import exports, live_lines
from meetings.clock import clock as meeting_clock

register = template.Library()


@register.filter
def clock(ms: int | None) -> str:
    """Meeting-relative time: ``83_000`` → ``"1:23"``, ``3_723_000`` → ``"1:02:03"``."""
    return "" if ms is None else meeting_clock(ms)


@register.filter
def seconds(ms: int | None) -> str:
    """A short gap: ``4_200`` → ``"4.2 s"``."""
    if ms is None:
        return ""
    return f"{max(0, int(ms)) / 1000:.1f} s"


@register.filter
def duration(ms: int | None) -> str:
    """A length: ``200_000`` → ``"3 min 20 s"``, ``3_723_000`` → ``"1 h 02 min"``."""
    if ms is None:
        return ""
    total = max(0, int(ms)) // 1000
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@register.simple_tag
def meeting_duration_ms(meeting) -> int:
    """Start to end (ended meetings) or to now (live meetings), in ms."""
    end: dt.datetime = meeting.ended_at or timezone.now()
    return max(0, int((end - meeting.started_at).total_seconds() * 1000))


@register.filter
def gap_ms(event) -> int | None:
    """Length of a closed interruption/pause (``end_offset_ms - offset_ms``), else None."""
    if getattr(event, "end_offset_ms", None) is None:
        return None
    return max(0, event.end_offset_ms - event.offset_ms)


@register.simple_tag(takes_context=True)
def include_optional(context, template_name: str, placeholder_id: str = "") -> str:
    """``{% include %}`` for a partial another part of the app may not ship yet: renders
    ``template_name`` with the current context, or an empty ``<div id="placeholder_id">``
    (so a later out-of-band push by id still finds its target)."""
    try:
        partial = get_template(template_name)
    except TemplateDoesNotExist:
        return (
            format_html('<div id="{}" class="placeholder"></div>', placeholder_id) if placeholder_id else ""
        )
    return partial.render(context.flatten(), context.get("request"))


@register.filter
def event_actor(event) -> str:
    """Who an event is about: the participant's name, else the name in the event's details, else ""."""
    participant = getattr(event, "participant", None)
    if participant is not None and participant.shown_name:
        return participant.shown_name
    details = getattr(event, "details", None) or {}
    return str(details.get("user_name") or "") if isinstance(details, dict) else ""


@register.simple_tag
def elapsed_ms(since: dt.datetime | None) -> int:
    """Milliseconds from ``since`` to now (0 for None): the first value of a ticking counter."""
    if since is None:
        return 0
    return max(0, int((timezone.now() - since).total_seconds() * 1000))


# --- Stop reasons in words (issue 20: small defects) ------------------------------------------


@register.filter
def reason_words(reason: str | None) -> str:
    """A stored event/stream reason for people: stop-reason codes → words
    (``meetings.stop_reasons.reason_words``); other text unchanged."""
    from meetings.stop_reasons import reason_words as words

    return words(reason or "")


@register.filter
def reason_code(reason: str | None) -> str:
    """The stored reason, for a tooltip, when it holds a stop-reason code; else ``""``."""
    from meetings.stop_reasons import has_stop_code

    return reason if reason and has_stop_code(reason) else ""


# --- Speaker names (issue 20) -----------------------------------------------------------------


@register.filter
def speaker_label(segment, names: dict[int, str] | None) -> str:
    """The speaker shown on a transcript line: the custom name of its participant in ``names``
    (``selectors.speaker_custom_names``), else Zoom's ``speaker_name``, else "Unknown speaker".
    Never queries (``names`` missing or empty: Zoom's name)."""
    custom = (names or {}).get(getattr(segment, "participant_id", None))
    return custom or getattr(segment, "speaker_name", "") or "Unknown speaker"


@register.filter
def sender_label(message, names: dict[int, str] | None) -> str:
    """A chat message's sender as shown: the custom name of its participant in ``names``, else
    the name Zoom sent, else "Someone"."""
    custom = (names or {}).get(getattr(message, "participant_id", None))
    return custom or getattr(message, "sender_name", "") or "Someone"


@register.simple_tag
def export_formats() -> list:
    """The export formats of ``meetings.exports.EXPORT_FORMATS``, in order (for the export links)."""
    return list(exports.EXPORT_FORMATS.values())


@register.simple_tag(takes_context=True)
def live_line(context, list_id: str, row) -> str:
    """One line of a live list for the first paint, rendered as pushes render it
    (``meetings.live_lines.render_line``); the context's ``speaker_names`` name the speakers."""
    return live_lines.render_line(list_id, row, speaker_names=context.get("speaker_names"))

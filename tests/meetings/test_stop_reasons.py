"""Stop reasons in user words (issue 20): one table for PROTOCOL.md §8.3, shown on the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from meetings.models import Meeting, ParticipantEvent
from meetings.selectors.health import meeting_health
from meetings.stop_reasons import STOP_REASON_WORDS, reason_words, stop_reason_words
from streams.rtms.protocol import StopReason
from streams.writer import stop_reason_name
from tests.factories import MeetingFactory, ParticipantEventFactory


def test_every_protocol_stop_reason_has_words():
    missing = [reason.name for reason in StopReason if reason.name not in STOP_REASON_WORDS]
    assert not missing
    for reason in StopReason:
        words = stop_reason_words(reason.name)
        assert words, reason
        assert "_" not in words, (reason, words)  # no code left in the words


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("STOP_BC_MEETING_ENDED", "Meeting ended"),
        (stop_reason_name(6), "Meeting ended"),
        (stop_reason_name(18), "Zoom refused the app's credentials"),
        (stop_reason_name(99), "Stopped by Zoom (reason 99)"),  # a number Zoom never documented
        ("stream paused (STOP_BC_HOST_TRIGGERED)", "stream paused (Stopped by the host)"),
        ("STOP_BC_APP_DISABLED_BY_HOST", "The host turned the app off"),  # older name, same number
        ("signaling: connection reset by peer", "signaling: connection reset by peer"),
        ("", ""),
    ],
)
def test_reason_words(stored, shown):
    assert reason_words(stored) == shown


@pytest.mark.django_db
def test_timeline_and_health_badge_show_words_with_the_code_in_a_tooltip():
    meeting = MeetingFactory(status=Meeting.Status.ENDED, ended_at=timezone.now())
    stop = ParticipantEventFactory(
        meeting=meeting,
        kind=ParticipantEvent.Kind.STREAM_STOP,
        reason="STOP_BC_MEETING_ENDED",
        offset_ms=60_000,
        occurred_at=meeting.started_at + dt.timedelta(minutes=1),
    )

    event_html = render_to_string("meetings/partials/_event.html", {"event": stop})
    health_html = render_to_string(
        "meetings/partials/_health.html", {"health": meeting_health(meeting=meeting)}
    )

    for html in (event_html, health_html):
        assert "Meeting ended" in html
        assert 'title="STOP_BC_MEETING_ENDED"' in html  # the technical code, for whoever needs it
        assert ">STOP_BC_MEETING_ENDED<" not in html
        assert "(STOP_BC_MEETING_ENDED)" not in html

"""The one ms -> clock formatter (meetings/clock.py) in each of its uses."""

from __future__ import annotations

import pytest

from meetings.clock import clock
from meetings.exports import clock as export_clock
from meetings.exports import short_clock
from meetings.templatetags.meeting_extras import clock as clock_filter


@pytest.mark.parametrize(
    ("ms", "auto", "vtt", "srt", "notes"),
    [
        (0, "0:00", "00:00:00.000", "00:00:00,000", "0:00:00"),
        (-5, "0:00", "00:00:00.000", "00:00:00,000", "0:00:00"),
        (83_000, "1:23", "00:01:23.000", "00:01:23,000", "0:01:23"),
        (3_723_004, "1:02:03", "01:02:03.004", "01:02:03,004", "1:02:03"),
    ],
)
def test_every_use_formats_through_the_one_clock(ms, auto, vtt, srt, notes):
    assert clock(ms) == clock_filter(ms) == auto
    assert export_clock(ms) == vtt
    assert export_clock(ms, sep=",") == srt
    assert short_clock(ms) == notes
    assert export_clock(ms, hours=False) == clock(ms, hours="never")


def test_the_filter_leaves_a_missing_time_empty():
    assert clock_filter(None) == ""

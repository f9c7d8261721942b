"""The one ms -> clock formatter: meeting-relative times in exports, notes and the dashboard."""

from __future__ import annotations

from typing import Literal


def clock(
    ms: int, *, hours: Literal["always", "auto", "never"] = "auto", pad_hours: bool = False, millis: str = ""
) -> str:
    """``ms`` (negative: 0) as a clock.

    ``hours``: ``"always"`` ``H:MM:SS``, ``"auto"`` ``H:MM:SS`` from one hour on and ``M:SS``
    below, ``"never"`` ``MM:SS`` (minutes of the hour). ``pad_hours``: two-digit hours.
    ``millis``: the separator before three-digit milliseconds ("" for none; "." WebVTT, "," SubRip).
    ``83_000`` → ``"1:23"``; ``3_723_000`` → ``"1:02:03"``;
    ``clock(3_723_004, hours="always", pad_hours=True, millis=".")`` → ``"01:02:03.004"``.
    """
    h, rest = divmod(max(0, int(ms)), 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1_000)
    if hours == "always" or (hours == "auto" and h):
        text = f"{h:02d}:{m:02d}:{s:02d}" if pad_hours else f"{h}:{m:02d}:{s:02d}"
    elif hours == "never":
        text = f"{m:02d}:{s:02d}"
    else:
        text = f"{m}:{s:02d}"
    return f"{text}{millis}{milli:03d}" if millis else text

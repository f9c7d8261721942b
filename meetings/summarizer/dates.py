"""Due dates said in a sentence ("by Wednesday", "tomorrow", "next Monday", "March 3").

A small regex finds the phrase (so words such as "may" or "now" are never taken for dates);
``dateparser`` turns it into a date relative to the meeting date, preferring the future.
Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
import re

_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"
)
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
_PHRASE = re.compile(
    r"\b(?:(?:by|before|until|on|due|for)\s+)?(?:"
    r"(?P<rel>today|tonight|tomorrow|the day after tomorrow)"
    r"|(?:(?P<next>next|this|coming)\s+)?(?P<wd>" + _WEEKDAY + r")"
    r"|(?P<md>" + _MONTH + r"\s+" + _DAY + r"|(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r")"
    r"|(?P<eo>end of (?:the )?(?:day|week|month))"
    r"|(?P<nw>next week)"
    r")\b",
    re.IGNORECASE,
)


def find_due(sentence: str, *, meeting_date: dt.date | None) -> tuple[str, dt.date | None]:
    """The due phrase as said (``"by Wednesday"``) and its date, or ``("", None)``.

    The date is None when there is no meeting date to resolve it against or when
    ``dateparser`` cannot resolve it; the phrase is kept either way.
    """
    match = _PHRASE.search(sentence)
    if match is None:
        return "", None
    phrase = match.group(0).strip()
    if meeting_date is None:
        return phrase, None
    return phrase, resolve(match, meeting_date=meeting_date)


def resolve(match: re.Match[str], *, meeting_date: dt.date) -> dt.date | None:
    base = dt.datetime.combine(meeting_date, dt.time(12, 0))
    if match.group("eo"):
        unit = match.group("eo").lower().rsplit(" ", 1)[-1]
        if unit == "day":
            return meeting_date
        if unit == "week":
            return meeting_date + dt.timedelta(days=(4 - meeting_date.weekday()) % 7)  # Friday
        following = (meeting_date.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)
    if match.group("nw"):
        return meeting_date + dt.timedelta(days=7 - meeting_date.weekday())  # next Monday
    if match.group("rel") and match.group("rel").lower() == "the day after tomorrow":
        return meeting_date + dt.timedelta(days=2)
    import dateparser  # lazily: ~0.2 s to import

    phrase = match.group("rel") or match.group("md") or match.group("wd")
    if match.group("next") and match.group("next").lower() == "next":
        phrase = f"next {phrase}"
    parsed = dateparser.parse(
        phrase,
        languages=["en"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"},
    )
    return parsed.date() if parsed else None

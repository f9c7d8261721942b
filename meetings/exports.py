"""Meeting notes exports: pure functions from a :class:`MeetingExport` dict to text.

No Django and no database here: ``meetings.selectors.notes.meeting_export_data`` builds the dict,
the API and the dashboard call :func:`render`. Formats:

* ``md``   Markdown notes: title, date, participants, summary, decisions, action items with
  owners, due dates and status (``- [x]`` when done), bookmarks, transcript (CommonMark; user text is backslash-escaped so it cannot add structure);
* ``txt``  the same notes as plain text;
* ``json`` the dict itself, valid against :data:`EXPORT_JSON_SCHEMA` (JSON Schema 2020-12);
* ``vtt``  a WebVTT caption file of the transcript, speakers as voice spans ``<v Name>``,
  bookmarks as ``NOTE`` blocks;
* ``srt``  a SubRip caption file of the transcript, ``Name: text`` per cue.

Times in the dict are milliseconds from the meeting start (``start_ms``/``end_ms``) and ISO 8601
UTC strings for wall-clock dates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from meetings.clock import clock as meeting_clock

# A cue with no known end (a live partial, an end equal to the start) lasts this long.
DEFAULT_CUE_MS = 2_000


class ExportParticipant(TypedDict):
    zoom_user_id: str
    name: str  # as shown: the custom name when the speaker was renamed, else Zoom's
    zoom_name: NotRequired[str]  # the name Zoom sent (equal to ``name`` unless renamed)


class ExportItem(TypedDict):
    text: str
    segment_ids: list[int]
    points: NotRequired[list[ExportItem]]  # a topic's key sentences


class ExportActionItem(TypedDict):
    text: str
    status: str  # open | done (ticked by a person)
    completed_at: str | None  # ISO 8601 UTC, when ticked done
    owner: str  # empty when nobody could be told; "Everyone" for the group
    owner_kind: str  # speaker | addressee | third_party | group | unknown | ""
    due: (
        str  # the absolute date (ISO 8601) when one was resolved, else as said ("next meeting"); may be empty
    )
    due_date: str | None  # the absolute due date (ISO 8601 YYYY-MM-DD), null when none is known
    due_text: str  # as said ("by Friday"); may be empty


class ExportSummary(TypedDict):
    status: str  # pending | running | ready | insufficient | failed
    overview: str
    key_points: list[ExportItem]
    decisions: list[ExportItem]
    topics: list[ExportItem]


class ExportSegment(TypedDict):
    id: int
    seq: int
    source: str  # zoom | whisper
    speaker: str
    start_ms: int
    end_ms: int | None
    text: str


class ExportBookmark(TypedDict):
    id: int
    segment_id: int | None  # null when the line was replaced (re-transcription)
    start_ms: int  # the line's start, from the meeting start
    speaker: str  # as shown ("" when the line was replaced)
    text: str  # the line ("" when replaced)
    note: str
    created_by: str  # username ("" when the user was deleted)
    created_at: str  # ISO 8601, UTC


class MeetingExport(TypedDict):
    id: str  # Meeting.public_id
    title: str
    status: str  # live | ended
    started_at: str  # ISO 8601, UTC
    ended_at: str | None
    participants: list[ExportParticipant]
    summary: ExportSummary | None
    action_items: list[ExportActionItem]
    transcript_source: str  # the source of ``transcript``: zoom | whisper
    transcript: list[ExportSegment]
    bookmarks: NotRequired[list[ExportBookmark]]  # in time order; always set by the API


_ITEM_SCHEMA = {
    "type": "object",
    "required": ["text", "segment_ids"],
    "properties": {
        "text": {"type": "string"},
        "segment_ids": {"type": "array", "items": {"type": "integer"}},
        "points": {  # a topic's key sentences
            "type": "array",
            "items": {
                "type": "object",
                "required": ["text", "segment_ids"],
                "properties": {
                    "text": {"type": "string"},
                    "segment_ids": {"type": "array", "items": {"type": "integer"}},
                },
            },
        },
    },
}
EXPORT_JSON_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rtms-assistant meeting export",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "title",
        "status",
        "started_at",
        "ended_at",
        "participants",
        "summary",
        "action_items",
        "transcript_source",
        "transcript",
    ],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "title": {"type": "string"},
        "status": {"enum": ["live", "ended"]},
        "started_at": {"type": "string", "format": "date-time"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "participants": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["zoom_user_id", "name"],
                "properties": {
                    "zoom_user_id": {"type": "string"},
                    "name": {"type": "string"},
                    "zoom_name": {"type": "string"},
                },
            },
        },
        "summary": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["status", "overview", "key_points", "decisions", "topics"],
                    "properties": {
                        "status": {"enum": ["pending", "running", "ready", "insufficient", "failed"]},
                        "overview": {"type": "string"},
                        "key_points": {"type": "array", "items": _ITEM_SCHEMA},
                        "decisions": {"type": "array", "items": _ITEM_SCHEMA},
                        "topics": {"type": "array", "items": _ITEM_SCHEMA},
                    },
                },
            ]
        },
        "action_items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "text",
                    "status",
                    "completed_at",
                    "owner",
                    "owner_kind",
                    "due",
                    "due_date",
                    "due_text",
                ],
                "properties": {
                    "text": {"type": "string"},
                    "status": {"enum": ["open", "done"]},
                    "completed_at": {"type": ["string", "null"], "format": "date-time"},
                    "due_date": {"type": ["string", "null"], "format": "date"},
                    "owner": {"type": "string"},
                    "owner_kind": {"type": "string"},
                    "due": {"type": "string"},
                    "due_text": {"type": "string"},
                },
            },
        },
        "transcript_source": {"enum": ["zoom", "whisper"]},
        "transcript": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "seq", "source", "speaker", "start_ms", "end_ms", "text"],
                "properties": {
                    "id": {"type": "integer"},
                    "seq": {"type": "integer"},
                    "source": {"enum": ["zoom", "whisper"]},
                    "speaker": {"type": "string"},
                    "start_ms": {"type": "integer", "minimum": 0},
                    "end_ms": {"type": ["integer", "null"], "minimum": 0},
                    "text": {"type": "string"},
                },
            },
        },
        "bookmarks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "segment_id",
                    "start_ms",
                    "speaker",
                    "text",
                    "note",
                    "created_by",
                    "created_at",
                ],
                "properties": {
                    "id": {"type": "integer"},
                    "segment_id": {"type": ["integer", "null"]},
                    "start_ms": {"type": "integer", "minimum": 0},
                    "speaker": {"type": "string"},
                    "text": {"type": "string"},
                    "note": {"type": "string"},
                    "created_by": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
        },
    },
}

_WHITESPACE = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")
_MD_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")


def one_line(text: str) -> str:
    """Collapse newlines and runs of whitespace (a blank line would end a caption cue)."""
    return _WHITESPACE.sub(" ", text).strip()


def md_escape(text: str) -> str:
    """Backslash-escape CommonMark punctuation so user text stays inline text.

    Inline markers (emphasis, links, code, HTML, tables) are escaped everywhere; block markers
    (list bullets, ordered-list numbers, setext underlines) only at the start of the text.
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", one_line(text))
    return _MD_LINE_START.sub(_escape_block_marker, escaped)


def _escape_block_marker(match: re.Match[str]) -> str:
    marker = match.group(1)
    return marker + "\\" if marker[0].isdigit() else "\\" + marker


def clock(ms: int, *, sep: str = ".", hours: bool = True) -> str:
    """``ms`` as ``HH:MM:SS.mmm`` (``sep`` "," for SubRip)."""
    if not hours:
        return meeting_clock(ms, hours="never")
    return meeting_clock(ms, hours="always", pad_hours=True, millis=sep)


def short_clock(ms: int) -> str:
    """``H:MM:SS`` for notes (no milliseconds)."""
    return meeting_clock(ms, hours="always")


def cue_end_ms(segment: ExportSegment) -> int:
    end = segment["end_ms"]
    if end is None or end <= segment["start_ms"]:
        return segment["start_ms"] + DEFAULT_CUE_MS
    return end


def _date_line(data: MeetingExport) -> str:
    started = data["started_at"].replace("T", " ")[:16]
    if data["ended_at"]:
        return f"{started} – {data['ended_at'].replace('T', ' ')[11:16]} UTC"
    return f"{started} UTC (live)"


def _action_line(item: ExportActionItem, *, escape) -> str:
    line = escape(item["text"])
    if item["owner"]:
        line += f" — owner: {escape(item['owner'])}"
    if item["due"]:
        said = item.get("due_text", "")
        due = f"{item['due']}, {said}" if said and said != item["due"] else item["due"]
        line += f" (due {escape(due)})"
    return line


def render_md(data: MeetingExport) -> str:
    """Markdown notes: one H1 (the title), then H2 sections in a fixed order."""
    out = [f"# {md_escape(data['title']) or 'Meeting'}", "", f"*{md_escape(_date_line(data))}*", ""]
    out += ["## Participants", ""]
    out += [f"- {md_escape(p['name'] or 'user ' + p['zoom_user_id'])}" for p in data["participants"]] or [
        "*None recorded.*"
    ]
    summary = data["summary"]
    out += ["", "## Summary", ""]
    if summary is None:
        out.append("*No summary yet.*")
    elif summary["status"] != "ready":
        out.append(f"*Summary {summary['status']}.*")
    else:
        out.append(md_escape(summary["overview"]) or "*Empty.*")
        if any(topic.get("points") for topic in summary["topics"]):
            out += ["", "### Topics", ""]
            for topic in summary["topics"]:
                out.append(f"- **{md_escape(topic['text'])}**")
                out += [f"  - {md_escape(point['text'])}" for point in topic.get("points", [])]
        elif summary["key_points"]:
            out += ["", "### Key points", ""]
            out += [f"- {md_escape(item['text'])}" for item in summary["key_points"]]
    out += ["", "## Decisions", ""]
    decisions = summary["decisions"] if summary else []
    out += [f"- {md_escape(item['text'])}" for item in decisions] or ["*None recorded.*"]
    out += ["", "## Action items", ""]
    out += [
        f"- [{'x' if item.get('status') == 'done' else ' '}] {_action_line(item, escape=md_escape)}"
        for item in data["action_items"]
    ] or ["*None recorded.*"]
    out += _md_bookmarks(data)
    out += ["", "## Transcript", ""]
    for segment in data["transcript"]:
        speaker = md_escape(segment["speaker"]) or "Unknown"
        out.append(f"**\\[{short_clock(segment['start_ms'])}\\] {speaker}:** {md_escape(segment['text'])}")
        out.append("")
    if not data["transcript"]:
        out += ["*No transcript.*", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def render_txt(data: MeetingExport) -> str:
    """Plain-text notes with the same sections as :func:`render_md`."""
    title = one_line(data["title"]) or "Meeting"
    out = [title, "=" * len(title), _date_line(data), "", "Participants:"]
    out += [f"  - {one_line(p['name']) or 'user ' + p['zoom_user_id']}" for p in data["participants"]] or [
        "  (none)"
    ]
    summary = data["summary"]
    out += ["", "Summary:"]
    if summary is None:
        out.append("  (no summary yet)")
    elif summary["status"] != "ready":
        out.append(f"  (summary {summary['status']})")
    else:
        out.append(f"  {one_line(summary['overview'])}")
        if any(topic.get("points") for topic in summary["topics"]):
            for topic in summary["topics"]:
                out.append(f"  {one_line(topic['text'])}:")
                out += [f"    * {one_line(point['text'])}" for point in topic.get("points", [])]
        else:
            out += [f"  * {one_line(item['text'])}" for item in summary["key_points"]]
    out += ["", "Decisions:"]
    out += [f"  - {one_line(item['text'])}" for item in (summary["decisions"] if summary else [])] or [
        "  (none)"
    ]
    out += ["", "Action items:"]
    out += [
        f"  - {'[done] ' if item.get('status') == 'done' else ''}{_action_line(item, escape=one_line)}"
        for item in data["action_items"]
    ] or ["  (none)"]
    out += _txt_bookmarks(data)
    out += ["", "Transcript:"]
    out += [
        f"[{short_clock(s['start_ms'])}] {one_line(s['speaker']) or 'Unknown'}: {one_line(s['text'])}"
        for s in data["transcript"]
    ] or ["  (none)"]
    return "\n".join(out) + "\n"


def render_json(data: MeetingExport) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _vtt_escape(text: str) -> str:
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(data: MeetingExport) -> str:
    """WebVTT: one cue per segment, id ``segment-<pk>``, speaker as a voice span ``<v Name>``;
    each bookmark as a ``NOTE`` block just before the cue of its line (or at its time)."""
    out = ["WEBVTT", ""]
    notes = sorted(data.get("bookmarks") or [], key=lambda b: (b["start_ms"], b["id"]))
    for segment in data["transcript"]:
        while notes and notes[0]["start_ms"] <= segment["start_ms"]:
            out += [_vtt_note(notes.pop(0)), ""]
        start, end = segment["start_ms"], cue_end_ms(segment)
        speaker = _vtt_escape(segment["speaker"])
        text = _vtt_escape(segment["text"])
        out.append(f"segment-{segment['id']}")
        out.append(f"{clock(start)} --> {clock(end)}")
        out.append(f"<v {speaker}>{text}" if speaker else text)
        out.append("")
    out += [block for note in notes for block in (_vtt_note(note), "")]
    return "\n".join(out) + "\n" if len(out) > 2 else "WEBVTT\n"


def render_srt(data: MeetingExport) -> str:
    """SubRip: numbered cues from 1, ``HH:MM:SS,mmm``, text ``Name: words``."""
    out: list[str] = []
    for index, segment in enumerate(data["transcript"], start=1):
        start, end = segment["start_ms"], cue_end_ms(segment)
        speaker = one_line(segment["speaker"])
        text = one_line(segment["text"])
        out += [
            str(index),
            f"{clock(start, sep=',')} --> {clock(end, sep=',')}",
            f"{speaker}: {text}" if speaker else text,
            "",
        ]
    return "\n".join(out)


# --- Bookmarks (issue 20) ---------------------------------------------------------------------


def _bookmark_parts(bookmark: ExportBookmark, *, escape) -> str:
    line = escape(f"[{short_clock(bookmark['start_ms'])}]")
    if bookmark["speaker"]:
        line += f" {escape(bookmark['speaker'])}:"
    line += f" “{escape(bookmark['text'])}”" if bookmark["text"] else " (the line was replaced)"
    if bookmark["note"]:
        line += f" — {escape(bookmark['note'])}"
    return line


def _md_bookmarks(data: MeetingExport) -> list[str]:
    """The "Bookmarks" section (before the transcript), only when there are bookmarks."""
    bookmarks = data.get("bookmarks") or []
    if not bookmarks:
        return []
    return ["", "## Bookmarks", ""] + [f"- {_bookmark_parts(b, escape=md_escape)}" for b in bookmarks]


def _txt_bookmarks(data: MeetingExport) -> list[str]:
    bookmarks = data.get("bookmarks") or []
    if not bookmarks:
        return []
    return ["", "Bookmarks:"] + [f"  - {_bookmark_parts(b, escape=one_line)}" for b in bookmarks]


def _vtt_note(bookmark: ExportBookmark) -> str:
    """A WebVTT ``NOTE`` block (one line; "-->" cannot occur in a note, so it is rewritten)."""
    text = f"NOTE Bookmark {_bookmark_parts(bookmark, escape=one_line)}"
    return text.replace("-->", "→")


# --- The registry: one entry per export format -------------------------------------------------


@dataclass(frozen=True)
class ExportFormat:
    """One export format. ``name`` is the ``?format=`` value of ``/api/meetings/<id>/export/``;
    ``media_type`` the response's type (the API adds ``; charset=utf-8``); ``extension`` the
    downloaded file's; ``label`` the link text on the meeting page; ``render`` turns a
    :class:`MeetingExport` into the file's text."""

    name: str
    label: str
    media_type: str
    extension: str
    render: Callable[[MeetingExport], str]


# Registering a format is one entry here: the API's renderers, its OpenAPI enum, the 400 that
# lists the formats, the download file name and the meeting page's export links all read it.
EXPORT_FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in (
        ExportFormat("md", "Markdown", "text/markdown", "md", render_md),
        ExportFormat("txt", "Text", "text/plain", "txt", render_txt),
        ExportFormat("json", "JSON", "application/json", "json", render_json),
        ExportFormat("vtt", "WebVTT", "text/vtt", "vtt", render_vtt),
        ExportFormat("srt", "SRT", "application/x-subrip", "srt", render_srt),
    )
}


def render(data: MeetingExport, fmt: str) -> str:
    """The export of ``data`` in format ``fmt`` (a key of :data:`EXPORT_FORMATS`); ``ValueError`` otherwise."""
    try:
        export_format = EXPORT_FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {sorted(EXPORT_FORMATS)}") from None
    return export_format.render(data)

"""Every export format, checked by a parser: webvtt-py, srt, markdown-it-py, jsonschema."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pytest
import srt
import webvtt
from markdown_it import MarkdownIt

from meetings import exports
from meetings.models import ActionItem, Meeting, Summary, TranscriptSegment
from tests.factories import MeetingFactory, ParticipantFactory, TranscriptSegmentFactory
from tests.meetings.api.conftest import token_client

NASTY = "Use <b>bold</b> & --> arrows\n\n# not a heading [link](http://x) *stars* 1. item"


def sample_export() -> exports.MeetingExport:
    return {
        "id": "6f1c3c0e-1111-4222-8333-944444444444",
        "title": "Q3 *planning* #1",
        "status": "ended",
        "started_at": "2026-11-20T14:00:00Z",
        "ended_at": "2026-11-20T14:45:00Z",
        "participants": [{"zoom_user_id": "1", "name": "Alice"}, {"zoom_user_id": "2", "name": "- Bob"}],
        "summary": {
            "status": "ready",
            "overview": "We planned Q3.",
            "key_points": [{"text": "Hiring is slow", "segment_ids": [1]}],
            "decisions": [{"text": "Ship on Friday", "segment_ids": [2]}],
            "topics": [],
        },
        "action_items": [
            {
                "text": "Send the budget",
                "status": "open",
                "completed_at": None,
                "owner": "Alice",
                "owner_kind": "addressee",
                "due": "2026-11-21",
                "due_date": "2026-11-21",
                "due_text": "by Friday",
            }
        ],
        "transcript_source": "zoom",
        "transcript": [
            {
                "id": 1,
                "seq": 1,
                "source": "zoom",
                "speaker": "Alice",
                "start_ms": 0,
                "end_ms": 1500,
                "text": "Hello.",
            },
            {
                "id": 2,
                "seq": 2,
                "source": "zoom",
                "speaker": "- Bob",
                "start_ms": 1500,
                "end_ms": None,
                "text": NASTY,
            },
            {
                "id": 3,
                "seq": 5,
                "source": "zoom",
                "speaker": "",
                "start_ms": 3_725_042,
                "end_ms": 3_725_042,
                "text": "Bye",
            },
        ],
    }


def test_webvtt_parses_with_speakers_and_times():
    text = exports.render(sample_export(), "vtt")
    captions = webvtt.from_string(text).captions
    assert len(captions) == 3
    assert captions[0].voice == "Alice"
    assert captions[0].start == "00:00:00.000"
    assert captions[0].end == "00:00:01.500"
    assert captions[1].voice == "- Bob"
    assert "<b>" not in captions[1].raw_text  # escaped, not markup
    assert captions[1].end == "00:00:03.500"  # no end: the default cue length
    assert captions[2].start == "01:02:05.042"
    assert captions[2].end_in_seconds > captions[2].start_in_seconds
    assert captions[1].identifier == "segment-2"


def test_srt_parses_with_speakers_and_times():
    subtitles = list(srt.parse(exports.render(sample_export(), "srt")))
    assert [s.index for s in subtitles] == [1, 2, 3]
    assert subtitles[0].content == "Alice: Hello."
    assert subtitles[1].content.startswith("- Bob: Use <b>bold</b> & --> arrows # not a heading")
    assert subtitles[2].start == dt.timedelta(hours=1, minutes=2, seconds=5, milliseconds=42)
    assert subtitles[2].end > subtitles[2].start
    assert srt.compose(subtitles)  # round-trips


def test_markdown_has_the_notes_structure_and_user_text_adds_none():
    tokens = MarkdownIt("commonmark").parse(exports.render(sample_export(), "md"))
    headings = [
        (tok.tag, tokens[i + 1].content) for i, tok in enumerate(tokens) if tok.type == "heading_open"
    ]
    assert headings == [
        ("h1", "Q3 \\*planning\\* \\#1"),
        ("h2", "Participants"),
        ("h2", "Summary"),
        ("h3", "Key points"),
        ("h2", "Decisions"),
        ("h2", "Action items"),
        ("h2", "Transcript"),
    ]
    html = MarkdownIt("commonmark").render(exports.render(sample_export(), "md"))
    assert "<h1>Q3 *planning* #1</h1>" in html
    assert "<li>- Bob</li>" in html  # not a nested list
    assert "<b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<a href" not in html
    assert "<em>" not in html.split("<h2>Transcript</h2>")[1]
    assert "Send the budget — owner: Alice (due 2026-11-21, by Friday)" in html
    assert html.count("<strong>") == 3  # one speaker label per segment


def test_json_matches_its_schema():
    data = json.loads(exports.render(sample_export(), "json"))
    jsonschema.validate(data, exports.EXPORT_JSON_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert data == sample_export()


def test_txt_has_every_section():
    text = exports.render(sample_export(), "txt")
    for line in ("Participants:", "Summary:", "Decisions:", "Action items:", "Transcript:"):
        assert f"\n{line}\n" in text
    assert "[1:02:05] Unknown: Bye" in text


def test_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="unknown export format"):
        exports.render(sample_export(), "docx")


def test_empty_meeting_exports_in_every_format():
    data = {**sample_export(), "summary": None, "action_items": [], "participants": [], "transcript": []}
    assert webvtt.from_string(exports.render(data, "vtt")).captions == []
    assert list(srt.parse(exports.render(data, "srt"))) == []
    jsonschema.validate(json.loads(exports.render(data, "json")), exports.EXPORT_JSON_SCHEMA)
    assert "*No summary yet.*" in exports.render(data, "md")


@pytest.fixture
def api(user):
    return token_client(user)


@pytest.fixture
def recorded_meeting(user) -> Meeting:
    meeting = MeetingFactory(owner=user, topic="Roadmap")
    alice = ParticipantFactory(meeting=meeting, display_name="Alice")
    first = TranscriptSegmentFactory(
        meeting=meeting, participant=alice, speaker_name="Alice", start_ms=0, text="Hi."
    )
    TranscriptSegmentFactory(meeting=meeting, speaker_name="Bob", start_ms=2000, text="Let's ship.")
    TranscriptSegmentFactory(meeting=meeting, start_ms=1000, text="partial words", is_final=False)
    TranscriptSegmentFactory(meeting=meeting, source=TranscriptSegment.Source.WHISPER, start_ms=0, text="hi")
    summary = Summary.objects.create(
        meeting=meeting,
        status="ready",
        overview="Ship it.",
        decisions=[{"text": "Ship", "segment_ids": [first.pk]}],
    )
    ActionItem.objects.create(
        summary=summary,
        meeting=meeting,
        text="Write notes",
        owner=alice,
        owner_kind=ActionItem.OwnerKind.SPEAKER,
        due_date=dt.date(2026, 11, 23),
        due_text="on Monday",
    )
    return meeting


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("md", "text/markdown; charset=utf-8"),
        ("txt", "text/plain; charset=utf-8"),
        ("json", "application/json; charset=utf-8"),
        ("vtt", "text/vtt; charset=utf-8"),
        ("srt", "application/x-subrip; charset=utf-8"),
    ],
)
def test_export_endpoint_serves_each_format_as_an_attachment(api, recorded_meeting, fmt, media_type):
    response = api.get(f"/api/meetings/{recorded_meeting.public_id}/export/?format={fmt}")
    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="Roadmap-{recorded_meeting.started_at:%Y-%m-%d}.{fmt}"'
    )
    body = response.content.decode()
    if fmt == "vtt":
        assert [c.voice for c in webvtt.from_string(body).captions] == ["Alice", "Bob"]
    elif fmt == "srt":
        assert [s.content for s in srt.parse(body)] == ["Alice: Hi.", "Bob: Let's ship."]
    elif fmt == "json":
        data = json.loads(body)
        jsonschema.validate(data, exports.EXPORT_JSON_SCHEMA, format_checker=jsonschema.FormatChecker())
        assert data["action_items"] == [
            {
                "text": "Write notes",
                "status": "open",
                "completed_at": None,
                "owner": "Alice",
                "owner_kind": "speaker",
                "due": "2026-11-23",
                "due_date": "2026-11-23",
                "due_text": "on Monday",
            }
        ]
        assert data["summary"]["decisions"][0]["text"] == "Ship"
    else:
        assert "Write notes" in body
        assert "Alice" in body


@pytest.mark.django_db
def test_export_default_is_markdown_and_source_selects_the_transcript(api, recorded_meeting):
    response = api.get(f"/api/meetings/{recorded_meeting.public_id}/export/")
    assert response["Content-Type"].startswith("text/markdown")
    whisper = api.get(f"/api/meetings/{recorded_meeting.public_id}/export/?format=json&source=whisper").json()
    assert [s["text"] for s in whisper["transcript"]] == ["hi"]
    assert api.get(f"/api/meetings/{recorded_meeting.public_id}/export/?format=docx").status_code == 400


@pytest.mark.django_db
def test_export_errors_are_json_whatever_the_format(api, other_user):
    theirs = MeetingFactory(owner=other_user)
    response = api.get(f"/api/meetings/{theirs.public_id}/export/?format=vtt")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No such meeting"}
    bad = api.get(f"/api/meetings/{theirs.public_id}/export/?format=srt&source=otter")
    assert bad.status_code == 404  # access is checked before input


@pytest.mark.django_db
def test_meeting_page_links_every_export_and_the_session_can_download(client, user, recorded_meeting):
    client.force_login(user)
    html = client.get(recorded_meeting.get_absolute_url()).content.decode()
    for fmt in exports.EXPORT_FORMATS:
        assert f'href="/api/meetings/{recorded_meeting.public_id}/export/?format={fmt}"' in html
    download = client.get(f"/api/meetings/{recorded_meeting.public_id}/export/?format=vtt")
    assert download.status_code == 200
    assert download.content.startswith(b"WEBVTT")


@pytest.mark.django_db
def test_every_registered_format_is_served_linked_and_named_from_its_one_entry(
    client, user, recorded_meeting
):
    """The registry is the one place: each entry's media type, extension and label reach the
    API response, the download name and the page's link, and the schema's enum lists them all."""
    client.force_login(user)
    html = client.get(recorded_meeting.get_absolute_url()).content.decode()
    url = f"/api/meetings/{recorded_meeting.public_id}/export/"
    for name, export_format in exports.EXPORT_FORMATS.items():
        assert f'href="{url}?format={name}" download>{export_format.label}</a>' in html
        response = client.get(f"{url}?format={name}")
        assert response.status_code == 200
        assert response["Content-Type"].split(";")[0] == export_format.media_type
        assert response["Content-Disposition"].endswith(f'.{export_format.extension}"')
    schema = client.get("/api/schema/?format=json").json()
    [param] = [
        p
        for p in next(path for key, path in schema["paths"].items() if key.endswith("/export/"))["get"][
            "parameters"
        ]
        if p["name"] == "format"
    ]
    assert sorted(param["schema"]["enum"]) == sorted(exports.EXPORT_FORMATS)

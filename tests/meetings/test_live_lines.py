"""The live-line render contract (``meetings/live_lines.py``): the page's first paint and the push
carry the same line, and the push wraps it in the one documented out-of-band swap."""

from __future__ import annotations

import pytest

from meetings import fragments, live_lines
from meetings.models import ParticipantEvent
from tests.factories import (
    ChatMessageFactory,
    ParticipantEventFactory,
    ParticipantFactory,
    TranscriptSegmentFactory,
)

pytestmark = pytest.mark.django_db


def test_the_page_and_the_push_render_the_same_line_for_each_list(client, user, meeting):
    speaker = ParticipantFactory(meeting=meeting, display_name="Zoom name", custom_name="Fiona")
    rows = {
        "transcript": TranscriptSegmentFactory(
            meeting=meeting, participant=speaker, text="We need a remote."
        ),
        "chat": ChatMessageFactory(meeting=meeting, participant=speaker, text="link?"),
        "events": ParticipantEventFactory(
            meeting=meeting, participant=speaker, kind=ParticipantEvent.Kind.JOIN
        ),
    }
    client.force_login(user)
    page = client.get(meeting.get_absolute_url()).content.decode()
    pushes = {
        "transcript": fragments.render_segment(rows["transcript"]),
        "chat": fragments.render_chat(rows["chat"]),
        "events": fragments.render_event(rows["events"], with_panels=False),
    }
    for list_id, row in rows.items():
        line = live_lines.render_line(list_id, row, speaker_names={speaker.pk: "Fiona"})
        assert f'id="{line.split(chr(34))[1]}"' in line  # the root element carries its id
        assert line in page, list_id
        assert pushes[list_id] == f'<div hx-swap-oob="{live_lines.SWAP}:#{list_id}">{line}</div>'
        list_tag = page.split(f'id="{list_id}"')[1].split(">")[0]
        assert "data-live-list" in list_tag, list_id


def test_an_unknown_list_is_refused():
    with pytest.raises(KeyError):
        live_lines.push_wrapper("notes", "<p>x</p>")

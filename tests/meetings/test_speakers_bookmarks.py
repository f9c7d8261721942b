"""Speaker names and bookmarks (issue 20): services, selectors, pages, live pushes, exports,
search and the summary's owner names."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from meetings import exports, fragments, search
from meetings.models import ActionItem, Bookmark, Participant, Summary, TranscriptSegment
from meetings.selectors.notes import meeting_export_data
from meetings.selectors.participants import speaker_custom_names, talk_time_list
from meetings.services.bookmarks import bookmark_create
from meetings.services.participants import participant_rename, participant_upsert
from meetings.services.transcript import transcript_track_prune
from tests.factories import (
    ChatMessageFactory,
    MeetingFactory,
    ParticipantFactory,
    TranscriptSegmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushes(monkeypatch):
    """Every live push as ``(meeting_id, html)``."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr("meetings.live.push", lambda meeting_id, html, seq=0: sent.append((meeting_id, html)))
    return sent


@pytest.fixture
def fee(meeting):
    """An AMI-style speaker with two lines and a chat message."""
    participant = ParticipantFactory(meeting=meeting, display_name="FEE013")
    for n, text in enumerate(["We need a remote.", "It should be yellow."]):
        TranscriptSegmentFactory(
            meeting=meeting,
            participant=participant,
            speaker_name="FEE013",
            text=text,
            start_ms=n * 5_000,
            end_ms=n * 5_000 + 4_000,
        )
    ChatMessageFactory(meeting=meeting, participant=participant, sender_name="FEE013", text="see the doc")
    return participant


# --- Speaker names: the service -----------------------------------------------------------------


def test_rename_keeps_zooms_name_and_shows_the_new_one(fee, pushes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        participant_rename(participant=fee, name="  Fiona   Smith ")
    fee.refresh_from_db()
    assert (fee.display_name, fee.custom_name, fee.shown_name, str(fee)) == (
        "FEE013",
        "Fiona Smith",
        "Fiona Smith",
        "Fiona Smith",
    )
    assert len(pushes) == 1
    html = pushes[0][1]
    assert json.loads(html.split('type="application/json">')[1].split("</script>")[0]) == {
        str(fee.pk): "Fiona Smith"
    }
    for panel in ('id="participants"', 'id="talk-time"', 'id="bookmarks"', 'id="summary"'):
        assert panel in html, panel
    assert "Fiona Smith" in html.split('id="talk-time"')[1]


def test_rename_to_empty_or_zooms_name_resets_and_an_unchanged_name_pushes_nothing(
    fee, pushes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        participant_rename(participant=fee, name="Fiona")
        participant_rename(participant=fee, name="Fiona")  # unchanged: no push
        participant_rename(participant=fee, name="FEE013")  # Zoom's own name: reset
    assert Participant.objects.get(pk=fee.pk).custom_name == ""
    assert len(pushes) == 2
    with django_capture_on_commit_callbacks(execute=True):
        participant_rename(participant=fee, name="Fiona")
        participant_rename(participant=fee, name="   ")
    assert Participant.objects.get(pk=fee.pk).shown_name == "FEE013"


@pytest.mark.parametrize("bad", ["x" * 201, "Fi\x00ona", "Fi\x1bona"])
def test_rename_refuses_bad_names_and_changes_nothing(fee, bad):
    with pytest.raises(ValueError, match="characters"):
        participant_rename(participant=fee, name=bad)
    assert Participant.objects.get(pk=fee.pk).custom_name == ""


def test_zoom_renaming_the_participant_later_keeps_the_custom_name(meeting, fee):
    participant_rename(participant=fee, name="Fiona")
    participant_upsert(meeting=meeting, zoom_user_id=fee.zoom_user_id, display_name="Fee (phone)")
    fee.refresh_from_db()
    assert (fee.display_name, fee.shown_name) == ("Fee (phone)", "Fiona")


# --- Speaker names: everywhere they show -----------------------------------------------------------


def test_talk_time_and_segments_use_the_new_name(meeting, fee, django_assert_num_queries):
    participant_rename(participant=fee, name="Fiona")
    assert [row.speaker for row in talk_time_list(meeting=meeting)] == ["Fiona"]
    names = speaker_custom_names(meeting_id=meeting.pk)
    assert names == {fee.pk: "Fiona"}
    segment = fee.segments.select_related("participant").first()
    with django_assert_num_queries(0):  # the live path names the speaker from the row in hand
        html = fragments.render_segment(segment)
    assert f'<span class="speaker" data-participant="{fee.pk}" data-zoom-name="FEE013">Fiona</span>' in html
    # Pushed by a writer that loaded the participant before the rename: its name, no query. The
    # page shows the current name anyway (speakers.js applies #speaker-names to every line; the
    # browser test renames a speaker live and checks the lines spoken afterwards).
    segment.participant.custom_name = ""
    with django_assert_num_queries(0):
        html = fragments.render_segment(segment)
    assert f'data-participant="{fee.pk}" data-zoom-name="FEE013">FEE013</span>' in html
    # A row without its participant loaded: Zoom's name, still no query; the page's catch-up and
    # first paint pass the meeting's names.
    bare = TranscriptSegment.objects.get(pk=segment.pk)
    with django_assert_num_queries(0):
        bare_html = fragments.render_segment(bare)
    assert 'data-zoom-name="FEE013">FEE013</span>' in bare_html, bare_html
    assert ">Fiona</span>" in fragments.render_segment(bare, speaker_names=names)


def test_talk_time_still_counts_a_speaker_once_across_zoom_and_whisper(meeting, fee):
    TranscriptSegmentFactory(
        meeting=meeting, participant=fee, speaker_name="FEE013", source="whisper", start_ms=0, end_ms=3_000
    )
    participant_rename(participant=fee, name="Fiona")
    [row] = talk_time_list(meeting=meeting)
    assert (row.speaker, row.talk_ms) == ("Fiona", 8_000)  # Zoom's 2 x 4 s, not + Whisper's 3 s


def test_meeting_page_shows_the_new_name_on_lines_chat_participants_and_talk_time(client, user, meeting, fee):
    participant_rename(participant=fee, name="Fiona")
    client.force_login(user)
    html = client.get(meeting.get_absolute_url()).content.decode()
    transcript = html.split('id="transcript"')[1].split('id="live-end"')[0]
    assert transcript.count(">Fiona</span>") == 2
    assert "FEE013</span>" not in transcript
    assert f'data-participant="{fee.pk}" data-zoom-name="FEE013">Fiona</span>' in html.split('id="chat"')[1]
    participants = html.split('id="participants"')[1].split("</section>")[0]
    assert "Fiona" in participants
    assert "(FEE013)" in participants
    assert "Fiona" in html.split('id="talk-time"')[1].split("</section>")[0]
    assert 'id="speaker-names"' in html


def test_catch_up_panels_carry_the_names(meeting, fee):
    participant_rename(participant=fee, name="Fiona")
    panels = fragments.render_meeting_panels(meeting_id=meeting.pk)
    assert f'{{"{fee.pk}": "Fiona"}}' in panels
    type(meeting).objects.filter(pk=meeting.pk).update(last_seq=10**9)  # factories set seq by hand
    messages, _through, _complete = fragments.render_changes_after(meeting_id=meeting.pk, after_seq=0)
    assert "".join(messages).count(">Fiona</span>") == 3  # two lines, one chat message


def test_exports_use_the_new_name_and_keep_zooms(meeting, fee):
    summary = Summary.objects.create(meeting=meeting, status=Summary.Status.READY, overview="Remote.")
    ActionItem.objects.create(
        summary=summary, meeting=meeting, text="Draw the remote", owner=fee, owner_name="FEE013"
    )
    participant_rename(participant=fee, name="Fiona")
    data = meeting_export_data(meeting=meeting)
    assert data["participants"] == [
        {"zoom_user_id": fee.zoom_user_id, "name": "Fiona", "zoom_name": "FEE013"}
    ]
    assert {s["speaker"] for s in data["transcript"]} == {"Fiona"}
    assert data["action_items"][0]["owner"] == "Fiona"
    assert "**\\[0:00:00\\] Fiona:** We need a remote." in exports.render(data, "md")
    assert "<v Fiona>We need a remote." in exports.render(data, "vtt")


def test_summary_panel_shows_action_item_owners_by_the_new_name(client, user, meeting, fee):
    summary = Summary.objects.create(meeting=meeting, status=Summary.Status.READY, overview="Remote.")
    ActionItem.objects.create(
        summary=summary, meeting=meeting, text="Draw the remote", owner=fee, owner_name="FEE013"
    )
    participant_rename(participant=fee, name="Fiona")
    client.force_login(user)
    html = client.get(meeting.get_absolute_url()).content.decode()
    assert "— Fiona</span>" in html.split('id="summary"')[1]


def test_a_new_summary_is_written_with_the_new_names(meeting, fee):
    from meetings.summarizer.service import transcript_utterances

    participant_rename(participant=fee, name="Fiona")
    assert {u.speaker for u in transcript_utterances(meeting=meeting)} == {"Fiona"}


def test_search_hits_show_the_new_name(user, meeting, fee):
    participant_rename(participant=fee, name="Fiona")
    hits = search.search(user=user, query="yellow")
    assert [(hit.kind, hit.speaker) for hit in hits] == [("transcript", "Fiona")]
    assert [hit.speaker for hit in search.search(user=user, query="doc", kinds=("chat",))] == ["Fiona"]


# --- Speaker names: the page endpoint --------------------------------------------------------------


def test_rename_page_form_and_htmx_post(client, user, meeting, fee, pushes):
    client.force_login(user)
    url = reverse("meetings:participant-rename", args=[meeting.public_id, fee.pk])
    form = client.get(url, headers={"HX-Request": "true"})
    assert form.status_code == 200
    assert b'name="name"' in form.content
    assert b"<html" not in form.content  # the fragment for htmx
    assert b"<html" in client.get(url).content  # a page of its own without JavaScript
    response = client.post(url, {"name": "Fiona"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "is now shown as <strong>Fiona</strong>" in body
    assert 'id="participants"' in body
    assert 'hx-swap-oob="true"' in body
    assert Participant.objects.get(pk=fee.pk).custom_name == "Fiona"
    response = client.post(url, {"name": "Fee"})  # a plain form post: back to the page
    assert response.status_code == 302
    assert response["Location"].endswith("#participants")


def test_rename_page_refuses_bad_input_with_400(client, user, meeting, fee):
    client.force_login(user)
    url = reverse("meetings:participant-rename", args=[meeting.public_id, fee.pk])
    response = client.post(url, {"name": "x" * 250}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert b"Not renamed" in response.content
    assert Participant.objects.get(pk=fee.pk).custom_name == ""


def test_rename_page_is_404_for_a_stranger_and_for_another_meetings_participant(client, meeting, fee):
    stranger = UserFactory()
    client.force_login(stranger)
    url = reverse("meetings:participant-rename", args=[meeting.public_id, fee.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "Mallory"}).status_code == 404
    assert Participant.objects.get(pk=fee.pk).custom_name == ""
    client.force_login(meeting.owner)
    elsewhere = ParticipantFactory(meeting=MeetingFactory(owner=stranger))
    url = reverse("meetings:participant-rename", args=[meeting.public_id, elsewhere.pk])
    assert client.post(url, {"name": "x"}).status_code == 404


# --- Bookmarks -----------------------------------------------------------------------------------


def test_bookmark_create_is_idempotent_per_line_and_user_and_pushes(
    meeting, fee, user, pushes, django_capture_on_commit_callbacks
):
    line = fee.segments.order_by("start_ms").last()
    with django_capture_on_commit_callbacks(execute=True):
        first, created = bookmark_create(meeting=meeting, segment=line, user=user)
        again, created_again = bookmark_create(meeting=meeting, segment=line, user=user)
    assert (created, created_again, first.pk) == (True, False, again.pk)
    assert first.offset_ms == line.start_ms
    assert len(pushes) == 1
    assert 'id="bookmarks"' in pushes[0][1]
    with django_capture_on_commit_callbacks(execute=True):
        bookmark_create(meeting=meeting, segment=line, user=user, note="the colour")
    assert Bookmark.objects.get(pk=first.pk).note == "the colour"
    other, created = bookmark_create(meeting=meeting, segment=line, user=UserFactory())
    assert created
    assert other.pk != first.pk


def test_bookmark_refuses_a_line_of_another_meeting_and_long_notes(meeting, user):
    elsewhere = TranscriptSegmentFactory()
    with pytest.raises(ValueError, match="not in this meeting"):
        bookmark_create(meeting=meeting, segment=elsewhere, user=user)
    line = TranscriptSegmentFactory(meeting=meeting)
    with pytest.raises(ValueError, match="at most 500"):
        bookmark_create(meeting=meeting, segment=line, user=user, note="n" * 501)
    assert not Bookmark.objects.exists()


def test_bookmark_keeps_its_place_when_its_line_is_replaced(meeting, user):
    line = TranscriptSegmentFactory(meeting=meeting, source="whisper", source_key="w:1", start_ms=7_000)
    bookmark, _ = bookmark_create(meeting=meeting, segment=line, user=user, note="keep")
    transcript_track_prune(meeting=meeting, source="whisper", key_prefixes=("w:",), keep_source_keys=set())
    bookmark.refresh_from_db()
    assert (bookmark.segment_id, bookmark.offset_ms, bookmark.note) == (None, 7_000, "keep")
    [exported] = meeting_export_data(meeting=meeting)["bookmarks"]
    assert (exported["segment_id"], exported["text"]) == (None, "")
    assert "(the line was replaced)" in fragments.render_bookmarks(meeting)


def test_bookmarks_page_endpoints(client, user, meeting, fee, pushes):
    client.force_login(user)
    line = fee.segments.order_by("start_ms").first()
    create = reverse("meetings:bookmark-create", args=[meeting.public_id])
    response = client.post(create, {"segment": line.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 201
    bookmark = Bookmark.objects.get()
    assert f'id="bookmark-{bookmark.pk}"' in response.content.decode()
    assert client.post(create, {"segment": line.pk}, headers={"HX-Request": "true"}).status_code == 200
    assert client.post(create, {"segment": "x"}).status_code == 400
    assert client.post(create, {"segment": TranscriptSegmentFactory().pk}).status_code == 404
    update = reverse("meetings:bookmark-update", args=[meeting.public_id, bookmark.pk])
    assert client.post(update, {"note": "remote"}).status_code == 302
    assert Bookmark.objects.get().note == "remote"
    assert client.post(update, {"note": "n" * 501}).status_code == 400
    html = client.get(meeting.get_absolute_url()).content.decode()
    panel = html.split('id="bookmarks"')[1].split("</section>")[0]
    assert 'value="remote"' in panel
    assert "We need a remote." in panel
    assert ">FEE013</span>" in panel
    delete = reverse("meetings:bookmark-delete", args=[meeting.public_id, bookmark.pk])
    assert client.post(delete, headers={"HX-Request": "true"}).status_code == 200
    assert not Bookmark.objects.exists()
    assert client.post(delete).status_code == 404


def test_bookmarks_page_endpoints_are_404_for_a_stranger(client, meeting, fee, user):
    line = fee.segments.first()
    bookmark, _ = bookmark_create(meeting=meeting, segment=line, user=user, note="mine")
    client.force_login(UserFactory())
    assert (
        client.post(
            reverse("meetings:bookmark-create", args=[meeting.public_id]), {"segment": line.pk}
        ).status_code
        == 404
    )
    for name in ("meetings:bookmark-update", "meetings:bookmark-delete"):
        response = client.post(reverse(name, args=[meeting.public_id, bookmark.pk]), {"note": "theirs"})
        assert response.status_code == 404
    assert Bookmark.objects.get().note == "mine"


def test_bookmarks_in_every_export(meeting, fee, user):
    line = fee.segments.order_by("start_ms").last()
    bookmark_create(meeting=meeting, segment=line, user=user, note="colour --> decided")
    participant_rename(participant=fee, name="Fiona")
    data = meeting_export_data(meeting=meeting)
    [bookmark] = data["bookmarks"]
    assert bookmark | {"created_at": ""} == {
        "id": bookmark["id"],
        "segment_id": line.pk,
        "start_ms": 5_000,
        "speaker": "Fiona",
        "text": "It should be yellow.",
        "note": "colour --> decided",
        "created_by": user.username,
        "created_at": "",
    }
    md = exports.render(data, "md")
    assert "## Bookmarks\n\n- \\[0:00:05\\] Fiona: “It should be yellow.” — colour --\\> decided" in md
    assert "Bookmarks:\n  - [0:00:05] Fiona: “It should be yellow.” — colour --> decided" in exports.render(
        data, "txt"
    )
    vtt = exports.render(data, "vtt")
    assert "NOTE Bookmark [0:00:05] Fiona: “It should be yellow.” — colour → decided\n" in vtt
    assert vtt.index("NOTE Bookmark") < vtt.index(f"segment-{line.pk}\n")
    assert json.loads(exports.render(data, "json"))["bookmarks"][0]["note"] == "colour --> decided"

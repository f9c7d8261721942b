"""REST API: renaming speakers (PATCH a participant) and bookmarks (list/create/patch/delete).
A stranger gets 404 and no data, and changes nothing."""

from __future__ import annotations

import pytest

from meetings.models import Bookmark, Participant
from meetings.services.bookmarks import bookmark_create
from tests.factories import MeetingFactory, ParticipantFactory, TranscriptSegmentFactory
from tests.meetings.api.conftest import token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def fee(meeting):
    participant = ParticipantFactory(meeting=meeting, display_name="FEE013")
    TranscriptSegmentFactory(meeting=meeting, participant=participant, speaker_name="FEE013", text="Yellow.")
    return participant


def participant_url(meeting, participant) -> str:
    return f"/api/meetings/{meeting.public_id}/participants/{participant.pk}/"


def test_patch_renames_and_every_read_shows_the_new_name(api, meeting, fee):
    response = api.patch(participant_url(meeting, fee), {"custom_name": " Fiona "}, format="json")
    assert response.status_code == 200
    assert response.json() | {"first_joined_at": None, "last_left_at": None} == {
        "id": fee.pk,
        "zoom_user_id": fee.zoom_user_id,
        "display_name": "FEE013",
        "custom_name": "Fiona",
        "name": "Fiona",
        "first_joined_at": None,
        "last_left_at": None,
        "is_present": False,
    }
    assert api.get(participant_url(meeting, fee)).json()["name"] == "Fiona"
    detail = api.get(f"/api/meetings/{meeting.public_id}/").json()
    assert [(p["display_name"], p["name"]) for p in detail["participants"]] == [("FEE013", "Fiona")]
    [line] = api.get(f"/api/meetings/{meeting.public_id}/transcript/").json()["results"]
    assert (line["speaker_name"], line["speaker"]) == ("FEE013", "Fiona")
    export = api.get(f"/api/meetings/{meeting.public_id}/export/?format=json").json()
    assert export["transcript"][0]["speaker"] == "Fiona"
    assert api.get("/api/search/?q=yellow").json()["results"][0]["speaker"] == "Fiona"
    reset = api.patch(participant_url(meeting, fee), {"custom_name": ""}, format="json")
    assert reset.json()["name"] == "FEE013"


@pytest.mark.parametrize(
    "body", [{}, {"custom_name": "x" * 201}, {"custom_name": "a\x07b"}, {"custom_name": None}]
)
def test_patch_refuses_bad_input_with_400(api, meeting, fee, body):
    response = api.patch(participant_url(meeting, fee), body, format="json")
    assert response.status_code == 400, response.content
    assert Participant.objects.get(pk=fee.pk).custom_name == ""


def test_stranger_gets_404_and_renames_nothing(other_api, meeting, fee):
    for response in (
        other_api.get(participant_url(meeting, fee)),
        other_api.patch(participant_url(meeting, fee), {"custom_name": "Mallory"}, format="json"),
    ):
        assert response.status_code == 404
        assert b"FEE013" not in response.content
    assert Participant.objects.get(pk=fee.pk).custom_name == ""


def test_participant_of_another_meeting_is_404(api, meeting, other_user):
    elsewhere = ParticipantFactory(meeting=MeetingFactory(owner=other_user), display_name="Zed")
    response = api.patch(participant_url(meeting, elsewhere), {"custom_name": "x"}, format="json")
    assert response.status_code == 404
    assert Participant.objects.get(pk=elsewhere.pk).custom_name == ""


# --- Bookmarks -------------------------------------------------------------------------------------


def bookmarks_url(meeting) -> str:
    return f"/api/meetings/{meeting.public_id}/bookmarks/"


def test_bookmark_create_list_patch_delete(api, meeting, fee, user):
    line = fee.segments.get()
    created = api.post(bookmarks_url(meeting), {"segment_id": line.pk, "note": "the colour"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("segment_id", "start_ms", "speaker", "text", "note", "created_by")} == {
        "segment_id": line.pk,
        "start_ms": line.start_ms,
        "speaker": "FEE013",
        "text": "Yellow.",
        "note": "the colour",
        "created_by": user.username,
    }
    again = api.post(bookmarks_url(meeting), {"segment_id": line.pk}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    page = api.get(bookmarks_url(meeting)).json()
    assert page["count"] == 1
    assert page["results"][0]["id"] == body["id"]
    one = f"{bookmarks_url(meeting)}{body['id']}/"
    assert api.patch(one, {"note": "decided"}, format="json").json()["note"] == "decided"
    assert api.get(one).json()["note"] == "decided"
    assert api.delete(one).status_code == 204
    assert api.get(one).status_code == 404
    assert not Bookmark.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"segment_id": "x"}, {"segment_id": 0}, {"segment_id": None}, {"note": "no line"}]
)
def test_bookmark_create_refuses_bad_input_with_400(api, meeting, fee, body):
    assert api.post(bookmarks_url(meeting), body, format="json").status_code == 400
    assert not Bookmark.objects.exists()


def test_bookmark_of_a_line_in_another_meeting_is_400(api, meeting, other_user):
    line = TranscriptSegmentFactory(meeting=MeetingFactory(owner=other_user), text="secret")
    response = api.post(bookmarks_url(meeting), {"segment_id": line.pk}, format="json")
    assert response.status_code == 400
    assert b"secret" not in response.content
    assert not Bookmark.objects.exists()


def test_bookmark_note_too_long_is_400(api, meeting, fee):
    line = fee.segments.get()
    assert (
        api.post(
            bookmarks_url(meeting), {"segment_id": line.pk, "note": "n" * 501}, format="json"
        ).status_code
        == 400
    )
    bookmark, _ = bookmark_create(meeting=meeting, segment=line, user=meeting.owner, note="ok")
    url = f"{bookmarks_url(meeting)}{bookmark.pk}/"
    assert api.patch(url, {"note": "n" * 501}, format="json").status_code == 400
    assert Bookmark.objects.get().note == "ok"


def test_bookmarks_stranger_gets_404_and_no_data(other_api, meeting, fee, user):
    line = fee.segments.get()
    bookmark, _ = bookmark_create(meeting=meeting, segment=line, user=user, note="private note")
    one = f"{bookmarks_url(meeting)}{bookmark.pk}/"
    responses = [
        other_api.get(bookmarks_url(meeting)),
        other_api.post(bookmarks_url(meeting), {"segment_id": line.pk}, format="json"),
        other_api.get(one),
        other_api.patch(one, {"note": "mine now"}, format="json"),
        other_api.delete(one),
    ]
    for response in responses:
        assert response.status_code == 404
        assert b"private note" not in response.content
        assert b"Yellow" not in response.content
    assert list(Bookmark.objects.values_list("note", flat=True)) == ["private note"]


def test_a_shared_user_may_bookmark_and_sees_everyones_bookmarks(meeting, fee, other_user, user):
    meeting.shared_with.add(other_user)
    line = fee.segments.get()
    bookmark_create(meeting=meeting, segment=line, user=user)
    shared = token_client(other_user)
    assert shared.post(bookmarks_url(meeting), {"segment_id": line.pk}, format="json").status_code == 201
    assert shared.get(bookmarks_url(meeting)).json()["count"] == 2

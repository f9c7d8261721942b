"""REST API for action items (issue 20, part 1): list, PATCH (Input/Output serializers), mine."""

from __future__ import annotations

import datetime as dt

import pytest

from meetings.models import ActionItem
from tests.factories import MeetingFactory, ParticipantFactory
from tests.meetings.test_action_items import make_items

pytestmark = pytest.mark.backends


def url(item: ActionItem) -> str:
    return f"/api/meetings/{item.meeting.public_id}/action-items/{item.pk}/"


@pytest.mark.django_db
def test_list_gives_the_current_items_with_status_owner_and_due_date(api, meeting):
    items = make_items(meeting, due_date=dt.date(2027, 1, 8))
    response = api.get(f"/api/meetings/{meeting.public_id}/action-items/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [i.pk for i in items]
    first = response.json()[0]
    assert (first["status"], first["due_date"], first["edited_at"]) == ("open", "2027-01-08", None)
    assert set(first) >= {"text", "owner_name", "owner_participant_id", "assignee_id", "completed_at"}


@pytest.mark.django_db
def test_patch_ticks_assigns_and_redates(api, user, meeting):
    item = make_items(meeting)[0]
    ada = ParticipantFactory(meeting=meeting, display_name="Ada")
    response = api.patch(
        url(item), {"status": "done", "owner_participant_id": ada.pk, "due_date": "2027-01-15"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["owner_name"], body["due_date"]) == ("done", "Ada", "2027-01-15")
    assert body["completed_at"]
    assert body["edited_at"]
    response = api.patch(url(item), {"assignee_id": user.pk, "text": "Send it"}, format="json")
    assert (response.json()["assignee_id"], response.json()["owner_participant_id"]) == (user.pk, None)
    item.refresh_from_db()
    assert (item.text, item.assignee, item.edited_by) == ("Send it", user, user)
    # and it shows in the meeting's detail and the export
    detail = api.get(f"/api/meetings/{meeting.public_id}/").json()
    assert detail["action_items"][0]["status"] == "done"
    export = api.get(f"/api/meetings/{meeting.public_id}/export/?format=json").json()
    exported = export["action_items"][0]
    assert (exported["status"], exported["due_date"], exported["owner"]) == (
        "done",
        "2027-01-15",
        user.username,
    )
    md = api.get(f"/api/meetings/{meeting.public_id}/export/?format=md").content.decode()
    assert f"- [x] Send it — owner: {user.username} (due 2027-01-15)" in md


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"status": "finished"},
        {"due_date": "next friday"},
        {"text": ""},
        {"owner_participant_id": 1, "assignee_id": 1},
        {"owner_participant_id": 999999},
        {"assignee_id": 999999},
    ],
)
def test_patch_bad_input_is_a_400_and_nothing_changes(api, meeting, payload):
    item = make_items(meeting)[0]
    response = api.patch(url(item), payload, format="json")
    assert response.status_code == 400, payload
    assert response.json()  # says why
    item.refresh_from_db()
    assert (item.status, item.text, item.edited_at) == ("open", "Send the budget", None)


@pytest.mark.django_db
def test_a_stranger_gets_404_and_no_data(other_api, meeting):
    item = make_items(meeting)[0]
    for response in (
        other_api.get(f"/api/meetings/{meeting.public_id}/action-items/"),
        other_api.get(url(item)),
        other_api.patch(url(item), {"status": "done"}, format="json"),
    ):
        assert response.status_code == 404
        assert "Send the budget" not in response.content.decode()
    item.refresh_from_db()
    assert item.status == "open"
    assert other_api.get("/api/action-items/").json() == []


@pytest.mark.django_db
def test_mine_lists_items_assigned_to_the_caller(api, user, other_user, meeting):
    item = make_items(meeting)[0]
    api.patch(url(item), {"assignee_id": user.pk}, format="json")
    hidden = make_items(MeetingFactory(owner=other_user), texts=("Secret",))[0]
    ActionItem.objects.filter(pk=hidden.pk).update(assignee=user)  # a meeting the user cannot see
    rows = api.get("/api/action-items/").json()
    assert [(r["id"], r["meeting_id"]) for r in rows] == [(item.pk, str(meeting.public_id))]
    assert api.get("/api/action-items/?status=bogus").status_code == 400

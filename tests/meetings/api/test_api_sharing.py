"""Sharing through the REST API (issue 20): grant/revoke users, create/revoke read-only links."""

from __future__ import annotations

import pytest

from meetings.models import ShareLink
from meetings.selectors.sharing import share_user_list
from meetings.services.meetings import meeting_share
from meetings.services.sharing import SHARE_LINK_DEFAULT_DAYS, share_link_create
from tests.factories import TranscriptSegmentFactory, UserFactory
from tests.meetings.api.conftest import token_client


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", email="bob@example.com")


def base(meeting) -> str:
    return f"/api/meetings/{meeting.public_id}/sharing/"


@pytest.mark.django_db
def test_owner_grants_lists_and_revokes_a_user(api, meeting, bob):
    response = api.post(f"{base(meeting)}users/", {"user": "bob@example.com"}, format="json")
    assert response.status_code == 201
    assert response.json() == {"id": bob.pk, "username": "bob"}
    assert token_client(bob).get(f"/api/meetings/{meeting.public_id}/").status_code == 200
    assert api.get(base(meeting)).json()["users"] == [{"id": bob.pk, "username": "bob"}]
    assert api.delete(f"{base(meeting)}users/?user_id={bob.pk}").status_code == 204
    assert token_client(bob).get(f"/api/meetings/{meeting.public_id}/").status_code == 404
    assert api.delete(f"{base(meeting)}users/?user_id={bob.pk}").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"user": ""}, {"user": "nobody"}])
def test_granting_bad_input_is_400_and_changes_nothing(api, meeting, body):
    response = api.post(f"{base(meeting)}users/", body, format="json")
    assert response.status_code == 400
    assert "user" in response.json()
    assert meeting.shared_with.count() == 0


@pytest.mark.django_db
def test_owner_creates_a_link_that_works_logged_out_then_revokes_it(api, meeting, client):
    TranscriptSegmentFactory(meeting=meeting, text="We ship on Friday.")
    response = api.post(f"{base(meeting)}links/", {"days": 3}, format="json")
    assert response.status_code == 201
    link = response.json()
    assert link["url"].startswith("http://testserver/notes/")
    assert response["Location"] == link["url"]
    assert link["is_active"] is True
    assert link["revoked_at"] is None
    path = link["url"].removeprefix("http://testserver")
    page = client.get(path)  # not logged in
    assert page.status_code == 200
    assert b"We ship on Friday." in page.content
    assert api.get(base(meeting)).json()["links"][0]["url"] == link["url"]  # copyable again
    revoked = api.delete(f"{base(meeting)}links/?id={link['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False
    assert revoked.json()["revoked_at"]
    assert client.get(path).status_code == 404
    assert api.delete(f"{base(meeting)}links/?id=999999").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"days": 0}, {"days": 91}, {"days": "soon"}])
def test_link_lifetime_out_of_range_is_400(api, meeting, body):
    assert api.post(f"{base(meeting)}links/", body, format="json").status_code == 400
    assert not ShareLink.objects.exists()


@pytest.mark.django_db
def test_link_lifetime_defaults_to_a_week(api, meeting):
    link = ShareLink.objects.get(pk=api.post(f"{base(meeting)}links/", {}, format="json").json()["id"])
    assert (link.expires_at - link.created_at).days == SHARE_LINK_DEFAULT_DAYS


@pytest.mark.django_db
def test_a_stranger_gets_404_and_no_data_and_changes_nothing(other_api, meeting, user, bob):
    meeting_share(meeting=meeting, user=bob)
    link = share_link_create(meeting=meeting, created_by=user)
    calls = [
        other_api.get(base(meeting)),
        other_api.post(f"{base(meeting)}users/", {"user": "bob"}, format="json"),
        other_api.delete(f"{base(meeting)}users/?user_id={bob.pk}"),
        other_api.post(f"{base(meeting)}links/", {"days": 1}, format="json"),
        other_api.delete(f"{base(meeting)}links/?id={link.pk}"),
    ]
    for response in calls:
        assert response.status_code == 404
        assert b"bob" not in response.content
        assert b"/notes/" not in response.content
    assert list(meeting.shared_with.all()) == [bob]
    assert ShareLink.objects.get().is_active
    assert ShareLink.objects.count() == 1


@pytest.mark.django_db
def test_a_user_it_is_shared_with_may_read_but_not_share(meeting, bob):
    meeting_share(meeting=meeting, user=bob)
    bob_api = token_client(bob)
    assert bob_api.get(f"/api/meetings/{meeting.public_id}/").status_code == 200
    assert bob_api.get(base(meeting)).status_code == 403
    assert bob_api.post(f"{base(meeting)}links/", {}, format="json").status_code == 403
    assert (
        bob_api.post(f"{base(meeting)}users/", {"user": UserFactory().username}, format="json").status_code
        == 403
    )
    assert not ShareLink.objects.exists()
    assert share_user_list(meeting=meeting) == [bob]

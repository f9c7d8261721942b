"""Sharing from the meeting page and the read-only notes page of a share link (issue 20)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from meetings import share_links
from meetings.models import ActionItem, ShareLink, Summary
from meetings.services.meetings import meeting_share
from meetings.services.sharing import share_link_create, share_link_revoke
from tests.factories import ParticipantFactory, TranscriptSegmentFactory, UserFactory


def url(meeting, tail: str = "") -> str:
    return f"/meetings/{meeting.public_id}/sharing/{tail}"


@pytest.fixture
def owner_client(client, meeting):
    client.force_login(meeting.owner)
    return client


@pytest.mark.django_db
def test_the_meeting_page_shows_the_sharing_panel_to_the_owner_only(owner_client, meeting, client):
    page = owner_client.get(meeting.get_absolute_url())
    assert b'id="sharing"' in page.content
    assert b'id="audio-player"' in page.content
    reader = UserFactory()
    meeting_share(meeting=meeting, user=reader)
    client.force_login(reader)
    page = client.get(meeting.get_absolute_url())
    assert page.status_code == 200
    assert b'id="sharing"' not in page.content
    assert b'id="audio-player"' in page.content


@pytest.mark.django_db
def test_htmx_share_with_a_user_answers_the_panel(owner_client, meeting):
    UserFactory(username="carol")
    response = owner_client.post(url(meeting, "users/"), {"user": "carol"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'data-username="carol"' in response.content
    assert meeting.shared_with.get().username == "carol"


@pytest.mark.django_db
def test_htmx_errors_are_shown_in_the_panel(owner_client, meeting):
    response = owner_client.post(url(meeting, "users/"), {"user": "nobody"}, headers={"HX-Request": "true"})
    assert response.status_code == 200  # htmx swaps only 2xx: the error shows in the panel
    assert b"No user &#x27;nobody&#x27;" in response.content
    assert b'role="alert"' in response.content


@pytest.mark.django_db
def test_without_javascript_posts_redirect_or_answer_400(owner_client, meeting):
    carol = UserFactory(username="carol")
    response = owner_client.post(url(meeting, "users/"), {"user": "carol"})
    assert response.status_code == 302
    assert response["Location"] == url(meeting)
    bad = owner_client.post(url(meeting, "users/"), {"user": ""})
    assert bad.status_code == 400
    assert b"Give a username" in bad.content
    assert owner_client.get(url(meeting)).status_code == 200  # the no-JS sharing page
    assert owner_client.post(url(meeting, "users/revoke/"), {"user_id": carol.pk}).status_code == 302
    assert meeting.shared_with.count() == 0
    assert owner_client.post(url(meeting, "users/revoke/"), {"user_id": "x"}).status_code == 400


@pytest.mark.django_db
def test_create_copy_and_revoke_a_link_from_the_page(owner_client, meeting, client):
    response = owner_client.post(url(meeting, "links/"), {"days": "30"}, headers={"HX-Request": "true"})
    link = ShareLink.objects.get()
    assert (link.expires_at - link.created_at).days == 30
    match = re.search(rb'value="(http://testserver/notes/[^"]+)"', response.content)
    assert match is not None
    assert b"share-link active new" in response.content
    assert owner_client.post(url(meeting, "links/"), {"days": "365"}).status_code == 400
    revoke = owner_client.post(
        url(meeting, "links/revoke/"), {"link_id": link.pk}, headers={"HX-Request": "true"}
    )
    assert b"Revoked" in revoke.content
    assert match.group(1) not in revoke.content  # a revoked link is no longer offered to copy
    assert ShareLink.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_a_reader_gets_403_and_a_stranger_404_on_every_sharing_action(client, meeting):
    reader, stranger = UserFactory(), UserFactory()
    meeting_share(meeting=meeting, user=reader)
    for who, code in ((reader, 403), (stranger, 404)):
        client.force_login(who)
        assert client.get(url(meeting)).status_code == code
        assert client.post(url(meeting, "users/"), {"user": stranger.username}).status_code == code
        assert client.post(url(meeting, "links/"), {"days": "7"}).status_code == code
    assert list(meeting.shared_with.all()) == [reader]
    assert not ShareLink.objects.exists()


@pytest.fixture
def notes_meeting(meeting):
    alice = ParticipantFactory(meeting=meeting, display_name="Alice")
    line = TranscriptSegmentFactory(meeting=meeting, participant=alice, text="Alice will send the budget.")
    summary = Summary.objects.create(
        meeting=meeting,
        status="ready",
        overview="Budget review.",
        decisions=[{"text": "Ship on Friday", "segment_ids": [line.pk]}],
    )
    ActionItem.objects.create(
        summary=summary, meeting=meeting, text="Send the budget", owner_name="Alice", source_segment=line
    )
    return meeting


@pytest.mark.django_db
def test_the_shared_notes_page_is_read_only_and_has_no_account_data(client, notes_meeting, user, settings):
    link = share_link_create(meeting=notes_meeting, created_by=user)
    token = share_links.token_for(key=link.key, created_at=link.created_at)
    response = client.get(f"/notes/{token}/")
    assert response.status_code == 200
    body = response.content.decode()
    for text in ("Budget review.", "Ship on Friday", "Send the budget", "Alice will send the budget."):
        assert text in body
    assert "<form" not in body
    assert "hx-post" not in body
    assert user.username not in body  # no owner, no shared users, no stream or admin data
    assert "sharing" not in body
    assert "/api/" not in body
    assert "ws-connect" not in body
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]


@pytest.mark.django_db
def test_the_shared_notes_page_is_404_once_revoked_or_expired_or_forged(client, notes_meeting, user):
    link = share_link_create(meeting=notes_meeting, created_by=user)
    token = share_links.token_for(key=link.key, created_at=link.created_at)
    assert client.get(f"/notes/{token}/").status_code == 200
    altered = token[:-1] + ("B" if token[-1] == "A" else "A")
    assert client.get(f"/notes/{altered}/").status_code == 404
    assert client.get("/notes/not-a-token/").status_code == 404
    share_link_revoke(meeting=notes_meeting, link_id=link.pk)
    assert client.get(f"/notes/{token}/").status_code == 404
    expired = share_link_create(meeting=notes_meeting, created_by=user, days=1)
    now = timezone.now().replace(microsecond=0)
    ShareLink.objects.filter(pk=expired.pk).update(
        created_at=now - dt.timedelta(days=1, seconds=5), expires_at=now - dt.timedelta(seconds=5)
    )
    expired.refresh_from_db()
    assert (
        client.get(
            f"/notes/{share_links.token_for(key=expired.key, created_at=expired.created_at)}/"
        ).status_code
        == 404
    )

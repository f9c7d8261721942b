"""Sharing services and selectors (issue 20): grant/revoke access, signed revocable share links."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from meetings import share_links
from meetings.models import ShareLink
from meetings.selectors.access import meeting_get_for_user, meeting_watcher_user_ids
from meetings.selectors.sharing import meeting_can_share, share_link_resolve, share_user_list
from meetings.services.meetings import meeting_share
from meetings.services.sharing import (
    SHARE_LINK_MAX_DAYS,
    SharingError,
    meeting_share_grant,
    meeting_share_revoke,
    share_link_create,
    share_link_revoke,
)
from tests.factories import MeetingFactory, UserFactory


def token(link: ShareLink) -> str:
    return share_links.token_for(key=link.key, created_at=link.created_at)


@pytest.mark.django_db
def test_grant_by_username_or_email_then_revoke(meeting):
    bob = UserFactory(username="bob", email="Bob@Example.com")
    assert meeting_share_grant(meeting=meeting, identifier="bob") == bob
    assert meeting_get_for_user(user=bob, public_id=meeting.public_id) == meeting
    assert meeting_share_grant(meeting=meeting, identifier=" bob@example.COM ") == bob  # idempotent
    assert share_user_list(meeting=meeting) == [bob]
    assert meeting_share_revoke(meeting=meeting, user_id=bob.pk) is True
    assert meeting_share_revoke(meeting=meeting, user_id=bob.pk) is False
    assert meeting_get_for_user(user=bob, public_id=meeting.public_id) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("identifier", "message"),
    [("", "Give a username"), ("nobody", "No user 'nobody'"), ("twin@example.com", "Several users")],
)
def test_grant_refuses_unknown_ambiguous_or_empty(meeting, identifier, message):
    UserFactory(email="twin@example.com")
    UserFactory(email="TWIN@example.com")
    with pytest.raises(SharingError, match=message):
        meeting_share_grant(meeting=meeting, identifier=identifier)
    assert share_user_list(meeting=meeting) == []


@pytest.mark.django_db
def test_grant_refuses_the_owner_and_inactive_users(meeting, user):
    with pytest.raises(SharingError, match="owns this meeting"):
        meeting_share_grant(meeting=meeting, identifier=user.username)
    UserFactory(username="gone", is_active=False)
    with pytest.raises(SharingError, match="No user"):
        meeting_share_grant(meeting=meeting, identifier="gone")


@pytest.mark.django_db
def test_only_the_owner_or_staff_manage_sharing(meeting, user, other_user):
    shared = UserFactory()
    meeting_share(meeting=meeting, user=shared)
    assert meeting_can_share(user=user, meeting=meeting)
    assert meeting_can_share(user=UserFactory(is_staff=True), meeting=meeting)
    assert not meeting_can_share(user=shared, meeting=meeting)
    assert not meeting_can_share(user=other_user, meeting=meeting)
    assert not meeting_can_share(user=UserFactory(), meeting=MeetingFactory(owner=None))


@pytest.mark.django_db
def test_a_link_resolves_until_revoked(meeting, user):
    link = share_link_create(meeting=meeting, created_by=user, days=7)
    assert link.expires_at - link.created_at == dt.timedelta(days=7)
    assert token(link) == token(ShareLink.objects.get(pk=link.pk))  # the same row, the same token
    assert share_link_resolve(token=token(link)) == link
    revoked = share_link_revoke(meeting=meeting, link_id=link.pk)
    assert revoked.revoked_at is not None
    assert not revoked.is_active
    first = revoked.revoked_at
    assert share_link_revoke(meeting=meeting, link_id=link.pk).revoked_at == first
    assert share_link_resolve(token=token(link)) is None
    assert share_link_revoke(meeting=MeetingFactory(), link_id=link.pk) is None


@pytest.mark.django_db
def test_an_expired_link_does_not_resolve(meeting, user):
    link = share_link_create(meeting=meeting, created_by=user, days=1)
    now = timezone.now().replace(microsecond=0)
    ShareLink.objects.filter(pk=link.pk).update(
        created_at=now - dt.timedelta(days=1, seconds=1), expires_at=now - dt.timedelta(seconds=1)
    )
    link.refresh_from_db()
    assert share_links.key_from_token(token(link)) == link.key  # genuine, but the row says expired
    assert share_link_resolve(token=token(link)) is None


@pytest.mark.django_db
def test_forged_altered_or_foreign_tokens_do_not_resolve(meeting, user, settings):
    link = share_link_create(meeting=meeting, created_by=user)
    good = token(link)
    key_hex, stamp, signature = good.split(":")
    other = share_link_create(meeting=MeetingFactory(), created_by=user)
    forged = [
        "",
        "garbage",
        f"{other.key.hex}:{stamp}:{signature}",  # another link's key under this signature
        f"{key_hex}:{stamp}:{signature[:-2]}{'yy' if signature.endswith('xx') else 'xx'}",
        f"{key_hex}:{stamp}:{signature}extra",
        f"{key_hex}:zzzzzz:{signature}",
    ]
    for candidate in forged:
        assert share_link_resolve(token=candidate) is None, candidate
    settings.SECRET_KEY = "another-secret-key-another-secret-key-0123456789"
    assert share_link_resolve(token=good) is None  # rotating the key kills every link


@pytest.mark.django_db
def test_no_token_is_accepted_past_the_max_age(meeting, user):
    link = share_link_create(meeting=meeting, created_by=user)
    old = timezone.now() - share_links.MAX_AGE - dt.timedelta(days=1)
    stale = share_links.token_for(key=link.key, created_at=old)
    assert share_links.key_from_token(stale) is None
    assert share_links.key_from_token(token(link)) == link.key


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, -1, SHARE_LINK_MAX_DAYS + 1])
def test_link_lifetime_is_bounded(meeting, user, days):
    with pytest.raises(SharingError, match="1 to"):
        share_link_create(meeting=meeting, created_by=user, days=days)
    assert not ShareLink.objects.exists()


@pytest.mark.django_db
def test_granting_pushes_the_row_to_the_new_users_meetings_list(
    meeting, monkeypatch, django_capture_on_commit_callbacks
):
    from meetings import fragments

    pushed = []
    monkeypatch.setattr(fragments, "push_meeting_row", pushed.append)
    bob = UserFactory(username="bob")
    with django_capture_on_commit_callbacks(execute=True):
        meeting_share_grant(meeting=meeting, identifier="bob")
    assert pushed == [meeting.pk]
    assert bob.pk in meeting_watcher_user_ids(meeting_id=meeting.pk)

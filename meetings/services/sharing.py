"""Writes of access (issue 20): grant and revoke a user's access, create and revoke read-only share links."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from meetings import fragments, live
from meetings.models import Meeting
from meetings.services.meetings import meeting_share

User = get_user_model()


SHARE_LINK_DEFAULT_DAYS = 7
SHARE_LINK_MAX_DAYS = 90


class SharingError(ValueError):
    """A sharing request that cannot be carried out; ``str(error)`` says why, for a 400."""


def share_user_find(*, identifier: str):
    """The active user whose username is ``identifier`` (exact), else whose e-mail is (any case).

    Raises :class:`SharingError` when nobody or several users match.
    """
    identifier = identifier.strip()
    if not identifier:
        raise SharingError("Give a username or an e-mail address.")
    users = User.objects.filter(is_active=True)
    user = users.filter(username=identifier).first()
    if user is not None:
        return user
    matches = list(users.filter(email__iexact=identifier)[:2]) if "@" in identifier else []
    if len(matches) > 1:
        raise SharingError(f"Several users have the e-mail address {identifier}; give a username.")
    if not matches:
        raise SharingError(f"No user {identifier!r}.")
    return matches[0]


@transaction.atomic
def meeting_share_grant(*, meeting: Meeting, identifier: str):
    """Share ``meeting`` with the user named by ``identifier`` (username or e-mail); returns the
    user. Idempotent. Their meetings list gets the row live. Raises :class:`SharingError` for an
    unknown user or the owner."""
    user = share_user_find(identifier=identifier)
    if user.pk == meeting.owner_id:
        raise SharingError(f"{user.get_username()} owns this meeting.")
    meeting_share(meeting=meeting, user=user)
    live.after_commit(fragments.push_meeting_row, meeting.pk)
    return user


@transaction.atomic
def meeting_share_revoke(*, meeting: Meeting, user_id: int) -> bool:
    """Stop sharing ``meeting`` with the user ``user_id``; False if it was not shared with them.

    Their next page load or API call is refused (404); after the commit their open tabs on the
    meeting are closed (WebSocket 4403, ``live.push_access_changed``)."""
    removed, _ = Meeting.shared_with.through.objects.filter(meeting=meeting, user_id=user_id).delete()
    if removed:
        live.after_commit(live.push_access_changed, meeting.pk, user_id)
    return bool(removed)


def share_link_create(*, meeting: Meeting, created_by, days: int = SHARE_LINK_DEFAULT_DAYS):
    """A new read-only link to the notes of ``meeting``, valid for ``days`` (1 to
    :data:`SHARE_LINK_MAX_DAYS`) from now. Raises :class:`SharingError` outside that range."""
    from meetings.models import ShareLink

    if not 1 <= int(days) <= SHARE_LINK_MAX_DAYS:
        raise SharingError(f"A link lasts 1 to {SHARE_LINK_MAX_DAYS} days.")
    now = timezone.now().replace(microsecond=0)  # the token's timestamp has whole seconds
    return ShareLink.objects.create(
        meeting=meeting, created_by=created_by, created_at=now, expires_at=now + dt.timedelta(days=int(days))
    )


def share_link_revoke(*, meeting: Meeting, link_id: int):
    """Revoke the meeting's link ``link_id`` (idempotent: the first revocation time is kept);
    returns it, or None when the meeting has no such link."""
    from meetings.models import ShareLink

    link = ShareLink.objects.filter(meeting=meeting, pk=link_id).first()
    if link is not None and link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link

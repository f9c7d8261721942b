"""Removing a user from a meeting's sharing closes their open tabs on it (WebSocket 4403)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import transaction

from meetings.routing import websocket_urlpatterns
from meetings.services.meetings import meeting_share
from meetings.services.sharing import meeting_share_revoke
from tests.factories import MeetingFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.backends]
TIMEOUT = 5


def as_user(user):
    router = URLRouter(websocket_urlpatterns)

    async def app(scope, receive, send):
        return await router({**scope, "user": user}, receive, send)

    return app


async def open_socket(user, meeting):
    communicator = WebsocketCommunicator(as_user(user), f"/ws/meetings/{meeting.public_id}/")
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


def revoke(meeting, user) -> bool:
    with transaction.atomic():  # the close is sent after the commit
        return meeting_share_revoke(meeting=meeting, user_id=user.pk)


async def test_a_revoked_users_open_tab_is_closed_and_the_others_stay():
    owner, reader, other_reader = [await database_sync_to_async(UserFactory)() for _ in range(3)]
    meeting = await database_sync_to_async(MeetingFactory)(owner=owner)
    for user in (reader, other_reader):
        await database_sync_to_async(meeting_share)(meeting=meeting, user=user)
    owner_tab = await open_socket(owner, meeting)
    reader_tab = await open_socket(reader, meeting)
    other_tab = await open_socket(other_reader, meeting)
    try:
        assert await database_sync_to_async(revoke)(meeting, reader) is True
        assert await reader_tab.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
        assert await owner_tab.receive_nothing(timeout=0.3)
        assert await other_tab.receive_nothing(timeout=0.1)
        # The owner's and the other reader's tabs still get live pushes.
        from meetings import live

        await live.agroup_send(
            live.meeting_group_name(meeting.pk), live.fragment_message("<p>still here</p>")
        )
        assert await owner_tab.receive_from(timeout=TIMEOUT) == "<p>still here</p>"
        assert await other_tab.receive_from(timeout=TIMEOUT) == "<p>still here</p>"
    finally:
        for tab in (owner_tab, reader_tab, other_tab):
            await tab.disconnect()


async def test_a_staff_user_removed_from_sharing_keeps_watching():
    """Staff see every meeting: removing them from ``shared_with`` does not close their tab."""
    staff = await database_sync_to_async(UserFactory)(is_staff=True)
    meeting = await database_sync_to_async(MeetingFactory)(owner=await database_sync_to_async(UserFactory)())
    await database_sync_to_async(meeting_share)(meeting=meeting, user=staff)
    tab = await open_socket(staff, meeting)
    try:
        assert await database_sync_to_async(revoke)(meeting, staff) is True
        assert await tab.receive_nothing(timeout=0.5)
    finally:
        await tab.disconnect()

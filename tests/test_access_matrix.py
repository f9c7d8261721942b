"""Cross-user access, consolidated: every meeting-scoped route denies a stranger, whatever the auth.

The per-area tests check named endpoints (``tests/meetings/api/test_api_permissions.py`` with
token auth, ``tests/meetings/dashboard/test_dashboard_views.py``, the summarize button, search,
the consumers' 4403). This matrix adds what they cannot: it **enumerates the URLconf**, so a
meeting route added later is covered automatically, and it uses the browser's session login
(how the page's export links are followed). For every ``<uuid:public_id>`` route and every
method: a logged-in stranger gets 404 (or 405 for a method the route does not have), never a
page or a file, and nothing is changed; the owner gets the page, which proves the route was
reachable. Also: lists and search never show the other user's meeting, and the meeting
WebSocket closes a stranger with 4403.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern, URLResolver, get_resolver

from meetings.models import ActionItem, Bookmark, Meeting, Participant, Summary, TranscriptSegment
from meetings.routing import websocket_urlpatterns
from tests.factories import (
    ChatMessageFactory,
    MeetingFactory,
    ParticipantFactory,
    TranscriptSegmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.backends


# Other path parameters of meeting routes, filled with the pk of an object of the secret meeting.
ROUTE_OBJECTS = {
    "<int:participant_id>": "participant",
    "<int:bookmark_id>": "bookmark",
    "<int:item_id>": "item",
}


def meeting_routes() -> list[str]:
    """Every HTTP route of the project taking a meeting's ``public_id`` (as a path template)."""
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and "<uuid:public_id>" in str(p.pattern):
                route = "/" + (prefix + str(p.pattern)).replace("<uuid:public_id>", "{id}")
                for converter, key in ROUTE_OBJECTS.items():
                    route = route.replace(converter, "{" + key + "}")
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return sorted(found)


ROUTES = meeting_routes()
SECRET_TOPIC = "Quarterly layoffs plan"
SECRET_TEXT = "The acquisition closes on Friday"


def test_the_matrix_sees_every_meeting_route():
    """Guard: the enumeration works (pages and API both found), so the matrix cannot pass empty."""
    assert "/meetings/{id}/" in ROUTES
    assert "/api/meetings/{id}/export/" in ROUTES
    assert "/api/meetings/{id}/bookmarks/{bookmark}/" in ROUTES
    assert "/meetings/{id}/participants/{participant}/rename/" in ROUTES
    assert not [route for route in ROUTES if "<" in route]  # every path parameter is filled
    assert "/api/meetings/{id}/action-items/{item}/" in ROUTES
    assert len(ROUTES) >= 10


@pytest.fixture
def secret_meeting(db):
    owner = UserFactory()
    meeting = MeetingFactory(owner=owner, topic=SECRET_TOPIC)
    participant = ParticipantFactory(meeting=meeting, display_name="Secret speaker")
    segment = TranscriptSegmentFactory(meeting=meeting, text=SECRET_TEXT, participant=participant)
    ChatMessageFactory(meeting=meeting, text=SECRET_TEXT)
    bookmark = Bookmark.objects.create(meeting=meeting, segment=segment, offset_ms=0, note=SECRET_TEXT)
    summary = Summary.objects.create(meeting=meeting, status=Summary.Status.READY)
    meeting.secret_item = ActionItem.objects.create(
        summary=summary, meeting=meeting, text=SECRET_TEXT, source_segment=segment
    )
    meeting.route_ids = {
        "participant": participant.pk,
        "bookmark": bookmark.pk,
        "item": meeting.secret_item.pk,
    }
    return meeting


def route_url(route: str, meeting) -> str:
    return route.format(id=meeting.public_id, **meeting.route_ids)


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_stranger_with_a_session_is_denied_on_every_meeting_route(client, secret_meeting, route, method):
    client.force_login(UserFactory())
    response = getattr(client, method)(
        route_url(route, secret_meeting), {"name": "x", "note": "x", "segment": 1}
    )
    assert response.status_code in (404, 405), (route, method, response.status_code)
    assert SECRET_TEXT.encode() not in response.content
    assert SECRET_TOPIC.encode() not in response.content
    meeting = Meeting.objects.get(pk=secret_meeting.pk)
    assert (meeting.topic, meeting.status) == (SECRET_TOPIC, secret_meeting.status)
    assert TranscriptSegment.objects.filter(meeting=meeting).count() == 1
    assert list(Participant.objects.filter(meeting=meeting).values_list("custom_name", flat=True)) == [""]
    assert list(Bookmark.objects.filter(meeting=meeting).values_list("note", flat=True)) == [SECRET_TEXT]
    item = ActionItem.objects.get(pk=secret_meeting.secret_item.pk)
    assert (item.text, item.status, item.edited_at) == (SECRET_TEXT, "open", None)


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
def test_owner_reaches_every_meeting_route(client, secret_meeting, route):
    """The other side of the matrix: the owner is not told "no such meeting" (a 404 for a missing
    part, e.g. no summary yet, or 405 for a POST-only route is fine)."""
    client.force_login(secret_meeting.owner)
    response = client.get(route_url(route, secret_meeting))
    assert response.status_code in (200, 302, 400, 404, 405), (route, response.status_code)
    if response.status_code == 404:
        assert response.json()["detail"] != "No such meeting", route


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search/?q=acquisition",
        "/api/meetings/",
        "/api/search/?q=acquisition",
        "/action-items/",
        "/api/action-items/",
    ],
)
def test_lists_and_search_do_not_leak_another_users_meeting(client, secret_meeting, path):
    client.force_login(UserFactory())
    response = client.get(path)
    assert response.status_code == 200
    assert SECRET_TEXT.encode() not in response.content
    assert SECRET_TOPIC.encode() not in response.content
    assert str(secret_meeting.public_id).encode() not in response.content


@pytest.mark.django_db(transaction=True)
async def test_meeting_websocket_closes_a_stranger_with_4403():
    meeting = await database_sync_to_async(MeetingFactory)(topic=SECRET_TOPIC)
    stranger = await database_sync_to_async(UserFactory)()
    router = URLRouter(websocket_urlpatterns)

    async def app(scope, receive, send):
        return await router({**scope, "user": stranger}, receive, send)

    communicator = WebsocketCommunicator(app, f"/ws/meetings/{meeting.public_id}/")
    connected, _ = await communicator.connect(timeout=5)
    assert connected  # accepted, then closed: htmx does not reconnect-loop
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await communicator.disconnect()


@pytest.mark.django_db
@pytest.mark.parametrize("route", [route for route in ROUTES if route.startswith("/api/")])
@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_stranger_with_a_token_is_denied_on_every_api_meeting_route(client, secret_meeting, route, keyword):
    """Token auth in both header forms (``Bearer`` added in issue 20) follows the same rules."""
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=UserFactory())
    response = client.get(
        route_url(route, secret_meeting), headers={"Authorization": f"{keyword} {token.key}"}
    )
    assert response.status_code in (404, 405), (route, keyword, response.status_code)
    assert SECRET_TEXT.encode() not in response.content
    assert SECRET_TOPIC.encode() not in response.content


# --- Audio replay and sharing (issue 20) -------------------------------------------------------


def test_the_matrix_covers_the_replay_and_sharing_routes():
    """They take the meeting's public_id, so the matrix above checks them for every method."""
    for route in (
        "/api/meetings/{id}/audio/cue/",
        "/api/meetings/{id}/sharing/",
        "/api/meetings/{id}/sharing/users/",
        "/api/meetings/{id}/sharing/links/",
        "/meetings/{id}/sharing/",
        "/meetings/{id}/sharing/users/",
        "/meetings/{id}/sharing/users/revoke/",
        "/meetings/{id}/sharing/links/",
        "/meetings/{id}/sharing/links/revoke/",
    ):
        assert route in ROUTES, route


@pytest.mark.django_db
@pytest.mark.parametrize("login", [False, True])
def test_the_shared_notes_route_needs_a_live_link_not_a_session(client, secret_meeting, login):
    """``/notes/<token>/`` has no public_id: without a valid, unrevoked link nobody (logged in or
    not) gets the notes, and a revoked link is a 404 for everyone."""
    from meetings import share_links
    from meetings.services.sharing import share_link_create, share_link_revoke

    if login:
        client.force_login(UserFactory())
    for token in ("", "x", f"{secret_meeting.public_id.hex}:1xaaaa:forged"):
        response = client.get(f"/notes/{token}/")
        assert response.status_code == 404
        assert SECRET_TEXT.encode() not in response.content
    link = share_link_create(meeting=secret_meeting, created_by=secret_meeting.owner)
    token = share_links.token_for(key=link.key, created_at=link.created_at)
    assert SECRET_TEXT.encode() in client.get(f"/notes/{token}/").content
    share_link_revoke(meeting=secret_meeting, link_id=link.pk)
    response = client.get(f"/notes/{token}/")
    assert response.status_code == 404
    assert SECRET_TEXT.encode() not in response.content

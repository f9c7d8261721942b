"""Access rules: another user's meeting is a 404 on every endpoint; no credentials is a 401."""

from __future__ import annotations

import pytest

from meetings.models import Meeting, TranscriptSegment
from tests.factories import MeetingFactory, TranscriptSegmentFactory

pytestmark = pytest.mark.backends  # visibility queries and cascades, on PostgreSQL too

ENDPOINTS = [
    ("get", "/api/meetings/{id}/"),
    ("get", "/api/meetings/{id}/transcript/"),
    ("get", "/api/meetings/{id}/transcript/?after_seq=0&source=zoom"),
    ("get", "/api/meetings/{id}/chat/"),
    ("get", "/api/meetings/{id}/events/"),
    ("get", "/api/meetings/{id}/audio/"),
    ("get", "/api/meetings/{id}/summary/"),
    ("post", "/api/meetings/{id}/summarize/"),
    ("post", "/api/meetings/{id}/retranscribe/"),
    ("get", "/api/meetings/{id}/export/?format=md"),
    ("get", "/api/meetings/{id}/export/?format=txt"),
    ("get", "/api/meetings/{id}/export/?format=json"),
    ("get", "/api/meetings/{id}/export/?format=vtt"),
    ("get", "/api/meetings/{id}/export/?format=srt"),
    ("delete", "/api/meetings/{id}/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_another_users_meeting_is_404_on_every_endpoint(other_api, meeting, method, path):
    TranscriptSegmentFactory(meeting=meeting)
    response = getattr(other_api, method)(path.format(id=meeting.public_id))
    assert response.status_code == 404
    assert Meeting.objects.filter(pk=meeting.pk).exists()
    assert TranscriptSegment.objects.filter(meeting=meeting).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_unknown_meeting_is_404_on_every_endpoint(api, method, path):
    response = getattr(api, method)(path.format(id="00000000-0000-4000-8000-000000000000"))
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"), [*ENDPOINTS, ("get", "/api/meetings/"), ("get", "/api/search/?q=x")]
)
def test_no_credentials_is_401(client, meeting, method, path):
    response = getattr(client, method)(path.format(id=meeting.public_id))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_bad_token_is_401(client, meeting):
    response = client.get("/api/meetings/", headers={"Authorization": "Token not-a-real-key"})
    assert response.status_code == 401


@pytest.mark.django_db
def test_shared_user_and_staff_see_the_meeting_others_do_not(api, other_api, other_user, meeting):
    from tests.factories import UserFactory
    from tests.meetings.api.conftest import token_client

    assert other_api.get(f"/api/meetings/{meeting.public_id}/").status_code == 404
    assert other_api.get("/api/meetings/").json()["count"] == 0
    meeting.shared_with.add(other_user)
    assert other_api.get(f"/api/meetings/{meeting.public_id}/").status_code == 200
    staff = UserFactory(is_staff=True)
    assert token_client(staff).get(f"/api/meetings/{meeting.public_id}/").status_code == 200
    MeetingFactory()  # nobody's
    assert api.get("/api/meetings/").json()["count"] == 1


@pytest.mark.django_db
def test_session_login_also_works(client, user, meeting):
    client.force_login(user)
    assert client.get(f"/api/meetings/{meeting.public_id}/").status_code == 200

"""``Authorization: Bearer <key>`` beside ``Token <key>``, and an unknown ``?format=`` is a 400
that names the formats (issue 20's small defects)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from meetings import exports
from tests.factories import MeetingFactory, TranscriptSegmentFactory

pytestmark = pytest.mark.django_db


def bearer_client(user, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token.key}")
    return client


@pytest.mark.parametrize("keyword", ["Bearer", "bearer", "Token"])
def test_the_token_works_as_bearer_and_as_token(user, meeting, keyword):
    response = bearer_client(user, keyword).get(f"/api/meetings/{meeting.public_id}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(meeting.public_id)


def test_a_bad_bearer_token_is_401(meeting):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-key")
    response = client.get("/api/meetings/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_other_schemes_are_still_refused(user, meeting):
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token.key}")
    assert client.get("/api/meetings/").status_code == 401


def test_a_stranger_with_a_bearer_token_gets_404_and_no_data(other_user, meeting):
    TranscriptSegmentFactory(meeting=meeting, text="The secret plan")
    client = bearer_client(other_user)
    for path in ("/", "/transcript/", "/export/?format=md", "/export/?format=docx"):
        response = client.get(f"/api/meetings/{meeting.public_id}{path}")
        assert response.status_code == 404, path
        assert b"secret plan" not in response.content
    assert client.get("/api/meetings/").json()["count"] == 0


def test_unknown_export_format_is_400_listing_the_formats(api, meeting):
    response = api.get(f"/api/meetings/{meeting.public_id}/export/?format=docx")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    message = response.json()["format"][0]
    assert "'docx'" in message
    for fmt in exports.EXPORT_FORMATS:
        assert fmt in message


def test_unknown_format_needs_credentials_first(client, meeting):
    response = client.get(f"/api/meetings/{meeting.public_id}/export/?format=docx")
    assert response.status_code == 401


def test_unknown_format_on_other_endpoints_is_400_too(api, meeting):
    response = api.get("/api/meetings/?format=docx")
    assert response.status_code == 400
    assert "json" in response.json()["format"][0]
    assert api.get("/api/meetings/?format=json").status_code == 200


def test_a_known_format_still_exports(api, meeting):
    MeetingFactory()  # someone else's, irrelevant
    response = api.get(f"/api/meetings/{meeting.public_id}/export/?format=vtt")
    assert response.status_code == 200
    assert response.content.startswith(b"WEBVTT")


def test_schema_documents_bearer_beside_token(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    schemes = response.json()["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["tokenAuth"]["type"] == "apiKey"

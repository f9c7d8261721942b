"""Property-based API test: schemathesis generates requests from /api/schema/; no 5xx allowed.

The Django WSGI app is called in-process (same thread, same test transaction). Half of the
generated cases get the id of a real meeting with data (owned by the token's user), so the
operations run past the 404 of an unknown id; DELETE is sent last so the data lives meanwhile.
"""

from __future__ import annotations

import random

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from meetings.models import Summary
from tests.factories import (
    ChatMessageFactory,
    MeetingFactory,
    ParticipantEventFactory,
    ParticipantFactory,
    StreamFactory,
    TranscriptSegmentFactory,
)

MAX_EXAMPLES = 30


@pytest.fixture
def keep_connection():
    """Like Django's test client: a finished request must not close the test's connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.slow
@pytest.mark.django_db
def test_schemathesis_finds_no_server_error(user, settings, tmp_path, monkeypatch, keep_connection):
    from rest_framework.authtoken.models import Token

    from meetings.services import lifecycle
    from rtms_assistant.celery import app

    class NoTask:  # retranscribe: enqueue nothing (the Whisper task is tested elsewhere)
        def apply_async(self, args, countdown=None) -> None:
            pass

    monkeypatch.setitem(app.tasks, lifecycle.RETRANSCRIBE_TASK, NoTask())
    settings.MEDIA_ROOT = tmp_path
    token = Token.objects.create(user=user)
    meeting = MeetingFactory(owner=user, topic="Schema run")
    participant = ParticipantFactory(meeting=meeting)
    for i in range(3):
        TranscriptSegmentFactory(meeting=meeting, participant=participant, text=f"Budget line {i} <b>&")
    ChatMessageFactory(meeting=meeting)
    ParticipantEventFactory(meeting=meeting, participant=participant)
    StreamFactory(meeting=meeting, state="stopped", stop_reason=6)
    Summary.objects.create(
        meeting=meeting, status="ready", overview="Budget.", decisions=[{"text": "x", "segment_ids": []}]
    )

    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/", get_wsgi_application(), headers={"Authorization": f"Token {token.key}"}
    )
    headers = {"Authorization": f"Token {token.key}"}
    rng = random.Random(8)
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda op: op.method == "delete"
    )
    assert {op.path for op in operations} >= {
        "/api/meetings/",
        "/api/meetings/{public_id}/",
        "/api/meetings/{public_id}/transcript/",
        "/api/meetings/{public_id}/export/",
        "/api/search/",
    }
    failures: list[str] = []
    for operation in operations:

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            if case.path_parameters and "public_id" in case.path_parameters and rng.random() < 0.5:
                case.path_parameters["public_id"] = str(meeting.public_id)
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {response.status_code}")
            case.validate_response(
                response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
            )

        run()
    assert failures == []

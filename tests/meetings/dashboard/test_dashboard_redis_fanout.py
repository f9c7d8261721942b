"""Fan-out across processes through the real Redis channel layer (scaled mode).

A separate Python process writes through ``meetings.services`` (as the ingest worker does);
its on-commit push goes through channels-redis (msgpack) to the consumers in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection

from meetings.routing import websocket_urlpatterns
from tests.factories import MeetingFactory, UserFactory

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parents[3]
TIMEOUT = 10

PRODUCER = """
import django, sys
django.setup()
from django.utils import timezone
from meetings.services.chat import chat_message_record
from meetings.services.transcript import transcript_segment_record
from meetings.models import Meeting
meeting = Meeting.objects.get(pk=int(sys.argv[1]))
for i in range(3):
    transcript_segment_record(
        meeting=meeting, source="zoom", source_key=f"p{i}", text=f"from another process {i}", start_ms=i * 1000
    )
chat_message_record(meeting=meeting, source_key="c0", text="chat from afar", sent_at=timezone.now())
"""


def as_user(user):
    router = URLRouter(websocket_urlpatterns)

    async def app(scope, receive, send):
        return await router({**scope, "user": user}, receive, send)

    return app


@pytest.fixture
def redis_layer():
    if "channels_redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        pytest.skip("needs the Redis channel layer (set REDIS_URL and DATABASE_URL)")


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


async def test_pushes_from_another_process_reach_every_watcher(redis_layer):
    owner = await database_sync_to_async(UserFactory)()
    meeting = await database_sync_to_async(MeetingFactory)(owner=owner)
    database_url = await database_sync_to_async(_database_url)()
    path = f"/ws/meetings/{meeting.public_id}/"
    watchers = []
    for _ in range(2):
        communicator = WebsocketCommunicator(as_user(owner), path)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        watchers.append(communicator)

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings_test",
    }
    result = await database_sync_to_async(subprocess.run)(
        [sys.executable, "-c", PRODUCER, str(meeting.pk)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

    for communicator in watchers:
        messages = [await communicator.receive_from(timeout=TIMEOUT) for _ in range(7)]
        # each final segment is followed by its talk-time bars (no seq)
        assert ['id="talk-time"' in message for message in messages] == [False, True] * 3 + [False]
        received = messages[0::2]
        assert [message.split("-->", 1)[0] for message in received] == [f"<!--seq:{n}" for n in (1, 2, 3, 4)]
        assert "from another process 0" in received[0]
        assert "from another process 2" in received[2]
        assert "chat from afar" in received[3]
        await communicator.disconnect()

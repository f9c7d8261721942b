"""End to end: poll ``/transcript/?after_seq=`` over HTTP while the RTMS emulator plays a meeting.

The product runs as in production's embedded mode (Daphne in a subprocess, its own SQLite
database); the emulator (Zoom's side) sends the signed ``meeting.rtms_started`` webhook and
plays ``planning_meeting.json``; this test is an API client with a token. Every segment
revision must reach the client exactly once, and the last revision seen of every segment must
be what is stored once the meeting has ended.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from rtms_assistant.processes import Processes, free_port

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "rtms_emulator" / "scenarios" / "planning_meeting.json"
ZOOM = {
    "ZOOM_CLIENT_ID": "e2e-client-id",
    "ZOOM_CLIENT_SECRET": "e2e-client-secret",
    "ZOOM_WEBHOOK_SECRET_TOKEN": "e2e-webhook-secret",
}
SETUP = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from meetings.models import ZoomIdentity
user = get_user_model().objects.create_user("e2e", password="e2e-password")
ZoomIdentity.objects.create(user=user, zoom_user_id="emulator-operator")
print(Token.objects.create(user=user).key)
"""


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our loopback server
        return json.loads(response.read())


class Poller(threading.Thread):
    """Polls the meeting list, then the transcript with after_seq, until told to stop."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.base, self.token = base, token
        self.seen: list[dict] = []
        self.polls = 0
        self.meeting_id: str | None = None
        self.cursor = 0
        self.stop_after_ended = threading.Event()
        self.error: BaseException | None = None

    def drain(self) -> bool:
        """Fetch every page now; returns whether the meeting has ended and its streams are
        closed (the documented "nothing more will come" condition)."""
        while True:
            page = get_json(
                f"{self.base}/api/meetings/{self.meeting_id}/transcript/?after_seq={self.cursor}&limit=4",
                self.token,
            )
            self.polls += 1
            self.seen += page["results"]
            self.cursor = page["next_after_seq"]
            if not page["has_more"]:
                break
        detail = get_json(f"{self.base}/api/meetings/{self.meeting_id}/", self.token)
        self.last_detail = detail
        streams_closed = all(s["state"] in ("stopped", "failed") for s in detail["streams"])
        return detail["status"] == "ended" and streams_closed

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 240
            while self.meeting_id is None and time.monotonic() < deadline:
                results = get_json(f"{self.base}/api/meetings/", self.token)["results"]
                self.meeting_id = results[0]["id"] if results else None
                time.sleep(0.1)
            while time.monotonic() < deadline:
                ended = self.drain()
                if ended and self.stop_after_ended.is_set():
                    self.drain()  # anything committed with the end
                    return
                time.sleep(0.15)
            raise TimeoutError("the meeting did not end in time")
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.mark.slow
def test_after_seq_polling_during_a_live_emulator_meeting_sees_every_segment_once(tmp_path, shared_data):
    from rtms_emulator import Emulator, EmulatorConfig

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ZOOM_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env |= ZOOM | {"DJANGO_SETTINGS_MODULE": "rtms_assistant.settings", "DJANGO_DATA_DIR": str(tmp_path)}
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--run-syncdb", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    token = subprocess.run(
        [*manage, "shell", "-c", SETUP],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Processes(tmp_path, env)
    try:
        server.start_web(port, name="server")
        poller = Poller(base, token)
        poller.start()

        async def play() -> None:
            config = EmulatorConfig(
                client_id=ZOOM["ZOOM_CLIENT_ID"],
                client_secret=ZOOM["ZOOM_CLIENT_SECRET"],
                webhook_secret=ZOOM["ZOOM_WEBHOOK_SECRET_TOKEN"],
            )
            async with Emulator(config) as emulator:
                run = await emulator.play(SCENARIO, webhook_url=f"{base}/webhooks/zoom/", speed=4.0)
                await run.wait(timeout=180)

        asyncio.run(asyncio.wait_for(play(), timeout=200))
        poller.stop_after_ended.set()
        poller.join(timeout=120)
        assert poller.error is None, repr(poller.error)
        assert not poller.is_alive()

        final, cursor = [], 0
        while True:
            page = get_json(
                f"{base}/api/meetings/{poller.meeting_id}/transcript/?after_seq={cursor}&limit=50", token
            )
            final += page["results"]
            cursor = page["next_after_seq"]
            if not page["has_more"]:
                break
    finally:
        server.stop_all(timeout=20)

    pairs = [(row["id"], row["seq"]) for row in poller.seen]
    assert len(pairs) == len(set(pairs)), "a segment revision was returned twice"
    assert [seq for _, seq in pairs] == sorted(seq for _, seq in pairs)
    assert poller.polls > 10  # it really was incremental, during the meeting
    stored = {row["id"]: (row["seq"], row["text"]) for row in final}
    assert len(stored) >= 10
    assert {row["id"]: (row["seq"], row["text"]) for row in poller.seen} == stored

"""End to end in a real browser: a meeting streamed by the Zoom emulator appears live,
completely and in order, only to the people allowed to see it.

The product runs under Daphne in embedded mode (SQLite, in-memory channel layer, RTMS ingestion
inside the server process) and, in the scaled pass, in scaled mode (PostgreSQL, Redis, a separate
``rtms_worker`` process pushing through channels-redis). The emulator (``rtms_emulator``) plays
``scenarios/planning_meeting.json``: it POSTs the signed ``meeting.rtms_started`` webhook, the
ingest runner connects to it, and the transcript, chat and participant events flow through
``meetings.services`` to the browser. An audio-socket abort is injected mid-meeting; the page's
stream-health badge must show the interruption. Debian's Chromium is driven by Playwright.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import threading
from pathlib import Path

import pytest

from tests.browser.browser_support import (
    CHROMIUM_ARGS,
    PASSWORD,
    REPO,
    Process,
    base_env,
    chromium_or_skip,
    cleanup_dir,
    daphne,
    django_shell,
    login,
    migrate,
    scaled_urls_or_skip,
    scratch_postgres,
    scratch_redis,
    screenshot_path,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCENARIO = REPO / "rtms_emulator" / "scenarios" / "planning_meeting.json"
SPEED = 2.0  # the 70 s meeting plays in about 35 s
CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET = (
    "browser-client-id",
    "browser-client-secret",
    "browser-webhook-secret",
)
OPERATOR = "emulator-operator"  # the operator_id of the emulator's rtms_started

SETUP = f"""
from django.contrib.auth import get_user_model
from meetings.models import ZoomIdentity
User = get_user_model()
owner = User.objects.create_user("olivia", password={PASSWORD!r})
ZoomIdentity.objects.create(user=owner, zoom_user_id={OPERATOR!r})
User.objects.create_user("mallory", password={PASSWORD!r})
"""

# Records, as the page changes: every state of the stream-health badge (the element is replaced
# on each push), the order in which final Zoom lines and chat lines first appear, and how many
# segments were on the page at each change (to tell live arrival from one big render).
WATCH_PAGE = """() => {
    const log = window.__watch = {health: [], zoom: [], chat: [], counts: []};
    const record = () => {
        const badge = document.getElementById("stream-health");
        const state = badge && badge.getAttribute("data-state");
        if (state && log.health[log.health.length - 1] !== state) log.health.push(state);
        document.querySelectorAll("#transcript .segment.source-zoom.final .text").forEach(e => {
            if (!log.zoom.includes(e.textContent)) log.zoom.push(e.textContent);
        });
        document.querySelectorAll("#chat .chat-message .text").forEach(e => {
            if (!log.chat.includes(e.textContent)) log.chat.push(e.textContent);
        });
        const count = document.querySelectorAll("#transcript .segment").length;
        if (log.counts[log.counts.length - 1] !== count) log.counts.push(count);
    };
    record();
    new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


class EmulatorThread:
    """The emulator on its own event loop in a background thread (the test itself is sync)."""

    def __init__(self) -> None:
        from rtms_emulator import Emulator, EmulatorConfig

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="emulator", daemon=True)
        self.emulator = Emulator(
            EmulatorConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, webhook_secret=WEBHOOK_SECRET)
        )

    def call(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> EmulatorThread:
        self.thread.start()
        self.call(self.emulator.start())
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.call(self.emulator.stop(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


def expected_lines() -> tuple[list[str], list[str]]:
    """The transcript turns and chat lines the scenario sends, in order."""
    scenario = json.loads(SCENARIO.read_text())
    meeting = REPO.parent / "shared" / "data" / "speech" / "tts_meeting" / "meeting.json"
    if not meeting.exists():
        pytest.skip(f"shared data missing: {meeting}")
    turns = [turn["text"] for turn in json.loads(meeting.read_text())["turns"]]
    return turns, [chat["text"] for chat in scenario["chat"]]


@pytest.fixture(params=["embedded", pytest.param("scaled", marks=pytest.mark.scaled)])
def deployment(request):
    """The product as it runs: embedded (one Daphne process: SQLite, in-memory channel layer,
    ingestion inside) or scaled (Daphne + ``rtms_worker`` on PostgreSQL + Redis)."""
    mode = request.param
    data_dir = Path(tempfile.mkdtemp(prefix="rtms-browser-"))
    zoom = {
        "ZOOM_CLIENT_ID": CLIENT_ID,
        "ZOOM_CLIENT_SECRET": CLIENT_SECRET,
        "ZOOM_WEBHOOK_SECRET_TOKEN": WEBHOOK_SECRET,
    }
    try:
        with contextlib.ExitStack() as stack:
            if mode == "scaled":
                database_url, redis_url = scaled_urls_or_skip()
                scratch_url = stack.enter_context(scratch_postgres(database_url))
                scratch_redis_url = stack.enter_context(scratch_redis(redis_url))
                env = base_env(data_dir, DATABASE_URL=scratch_url, REDIS_URL=scratch_redis_url, **zoom)
            else:
                env = base_env(data_dir, **zoom)
            migrate(env)
            django_shell(env, SETUP)
            if mode == "scaled":
                stack.enter_context(Process(env, data_dir / "rtms_worker.log", "rtms_worker"))
            yield mode, env, data_dir
    finally:
        cleanup_dir(data_dir)


def test_emulated_meeting_appears_live_in_order_only_to_its_owner(deployment):
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_or_skip()
    if not SCENARIO.exists():
        pytest.skip(f"emulator scenario missing: {SCENARIO}")
    turns, chats = expected_lines()
    mode, env, data_dir = deployment
    with daphne(env, data_dir / "daphne.log") as base, sync_playwright() as pw, EmulatorThread() as emu:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            login(page, base, "olivia")
            expect(page.locator(".list-page")).to_have_attribute("data-ws", "open", timeout=10_000)
            stranger = browser.new_page()
            login(stranger, base, "mallory")
            expect(stranger.locator(".list-page")).to_have_attribute("data-ws", "open", timeout=10_000)

            # Zoom starts streaming: the emulator POSTs rtms_started, ingestion connects.
            emu.call(
                emu.emulator.play(
                    SCENARIO, webhook_url=f"{base}/webhooks/zoom/", speed=SPEED, faults=["media_abort@30"]
                )
            )

            # The new meeting appears on the owner's list without a reload, live.
            row = page.locator("#meeting-rows .meeting-row")
            expect(row).to_have_count(1, timeout=15_000)
            expect(row.first).to_have_attribute("data-status", "live")
            # A second tab of the owner stays on the list: the row must turn "ended" by itself.
            list_tab = browser.new_page()
            login(list_tab, base, "olivia")
            expect(list_tab.locator("#meeting-rows .meeting-row")).to_have_attribute("data-status", "live")
            row.first.locator("a.topic").click()
            expect(page.locator("#meeting-live")).to_have_attribute("data-synced", "true", timeout=10_000)
            page.evaluate(WATCH_PAGE)

            # Every transcript line and chat message, in order, as they are spoken/sent.
            # (Zoom's transcript is complete; Whisper segments, if the live fallback produced
            # some, are marked as such and sit at their time in the same timeline.)
            zoom_lines = page.locator("#transcript .segment.source-zoom.final .text")
            expect(zoom_lines).to_have_count(len(turns), timeout=90_000)
            expect(zoom_lines).to_have_text(turns)
            expect(page.locator("#chat .chat-message .text")).to_have_text(chats, timeout=15_000)
            expect(page.locator("#meeting-status .badge")).to_have_text("Ended", timeout=30_000)
            expect(page.locator("#stream-health")).to_have_attribute("data-state", "ended")
            expect(list_tab.locator("#meeting-rows .meeting-row")).to_have_attribute("data-status", "ended")
            expect(list_tab.locator("#meeting-rows .meeting-row .participant-count")).to_have_text(
                "3 participants"
            )

            watch = page.evaluate("window.__watch")
            # They arrived live, a few at a time, each line first shown in the spoken order.
            assert watch["zoom"] == turns
            assert watch["chat"] == chats
            assert len(watch["counts"]) >= 6, watch["counts"]
            # The injected interruption showed on the badge while it lasted (interrupted, then
            # retrying while the client waits for its next attempt), then in the record.
            assert {"interrupted", "retrying"} & set(watch["health"]), watch["health"]
            assert watch["health"][-1] == "ended"
            expect(page.locator("#events .event.kind-interruption")).to_have_count(1)
            expect(page.locator("#stream-health .last-gap")).to_contain_text("1 interruption")
            expect(page.locator("#participants .participant .name")).to_contain_text(
                ["Alice", "Bob", "Carol"]
            )
            for speaker in ("Alice", "Bob"):
                expect(page.locator("#talk-time .talk-row", has_text=speaker)).to_have_count(1)
            # nothing duplicated (one element per segment id), everything in timeline order
            segments = page.eval_on_selector_all(
                "#transcript .segment",
                "els => els.map(e => [e.id, Number(e.dataset.sort), Number(e.dataset.pk), e.className])",
            )
            ids = [segment[0] for segment in segments]
            assert len(ids) == len(set(ids))
            assert [s[1:3] for s in segments] == sorted(s[1:3] for s in segments)
            assert all("source-zoom" in s[3] or "source-whisper" in s[3] for s in segments)
            assert page.locator("#segment-total").inner_text() == str(len(segments))

            page.evaluate("document.getElementById('transcript').scrollTop = 0")
            path = screenshot_path(f"dashboard-emulator-{mode}")
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")

            # Someone else sees nothing: not on their list, 404 on the page, 4403 on the socket.
            meeting_path = page.url.removeprefix(base)
            expect(stranger.locator("#meeting-rows .meeting-row")).to_have_count(0)
            stranger.reload()
            expect(stranger.locator("#meeting-rows .meeting-row")).to_have_count(0)
            assert stranger.goto(f"{base}{meeting_path}").status == 404
            ws_url = base.replace("http://", "ws://") + "/ws" + meeting_path
            code = stranger.evaluate(
                """url => new Promise(resolve => {
                    const ws = new WebSocket(url);
                    ws.onclose = event => resolve(event.code);
                })""",
                ws_url,
            )
            assert code == 4403
        finally:
            browser.close()

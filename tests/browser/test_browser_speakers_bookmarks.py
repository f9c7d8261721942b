"""Speaker names and bookmarks in a real browser (issue 20), during a live emulated meeting.

Daphne serves the product in embedded mode; the Zoom emulator plays ``planning_meeting.json``
(Alice and Bob talk, Carol chats). Two browser contexts (two sessions of the owner) watch the
meeting page. In the first, Alice is renamed "Alicia" from the participants panel: in the second,
every line of hers, the participants list and the talk-time chart change without a reload, and
lines spoken after the rename carry the new name too. Then a line is bookmarked with the ``b``
key while the meeting is live, its note is edited in the other context, and the bookmark is
found in the Markdown and WebVTT exports.
"""

from __future__ import annotations

import contextlib
import re

import pytest

from tests.browser.browser_support import (
    CHROMIUM_ARGS,
    chromium_or_skip,
    daphne,
    embedded_deployment,
    login,
    screenshot_path,
)
from tests.browser.test_dashboard_browser import (
    CLIENT_ID,
    CLIENT_SECRET,
    SCENARIO,
    SETUP,
    WEBHOOK_SECRET,
    EmulatorThread,
    expected_lines,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPEED = 1.5  # the 70 s meeting plays in about 47 s: time to rename and bookmark while it is live


@pytest.fixture
def deployment():
    with embedded_deployment(
        "rtms-browser-notes-",
        SETUP,
        ZOOM_CLIENT_ID=CLIENT_ID,
        ZOOM_CLIENT_SECRET=CLIENT_SECRET,
        ZOOM_WEBHOOK_SECRET_TOKEN=WEBHOOK_SECRET,
    ) as (env, data_dir, _):
        yield env, data_dir


def open_meeting(browser, base: str):
    """A new browser context (its own session) of the owner, on the live meeting's page."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
    login(page, base, "olivia")
    row = page.locator("#meeting-rows .meeting-row")
    expect(row).to_have_count(1, timeout=20_000)
    row.first.locator("a.topic").click()
    expect(page.locator("#meeting-live")).to_have_attribute("data-synced", "true", timeout=10_000)
    return page


def test_rename_a_speaker_and_bookmark_live_across_two_contexts(deployment):
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_or_skip()
    if not SCENARIO.exists():
        pytest.skip(f"emulator scenario missing: {SCENARIO}")
    expected_lines()  # skips when the shared speech data is missing
    env, data_dir = deployment
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(daphne(env, data_dir / "daphne.log"))
        pw = stack.enter_context(sync_playwright())
        emu = stack.enter_context(EmulatorThread())
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        stack.callback(browser.close)
        emu.call(emu.emulator.play(SCENARIO, webhook_url=f"{base}/webhooks/zoom/", speed=SPEED))
        first = open_meeting(browser, base)
        second = open_meeting(browser, base)
        expect(second.locator("#meeting-status .badge")).not_to_have_text("Ended")

        # Alice has spoken a few lines; both pages show them by Zoom's name.
        alice_lines = second.locator("#transcript .segment .speaker", has_text=re.compile(r"^Alice$"))
        expect(alice_lines.nth(1)).to_be_visible(timeout=60_000)
        expect(second.locator("#talk-time .talk-row .who", has_text=re.compile(r"^Alice$"))).to_have_count(1)

        # Rename her in the first context, from the participants panel.
        first.locator("#participants .participant", has_text="Alice").locator(".rename-link").click()
        first.fill("#speaker-rename input[name=name]", "Alicia")
        first.click("#speaker-rename button[type=submit]")
        expect(first.locator("#speaker-rename .rename-done")).to_contain_text("Alicia")

        # The second context updates by itself: every line of hers, participants, talk time.
        expect(second.locator("#talk-time .talk-row .who", has_text=re.compile(r"^Alicia$"))).to_have_count(
            1, timeout=10_000
        )
        expect(second.locator("#talk-time .talk-row .who", has_text=re.compile(r"^Alice$"))).to_have_count(0)
        expect(
            second.locator("#participants .participant .name", has_text=re.compile(r"^Alicia$"))
        ).to_have_count(1)
        expect(
            second.locator("#transcript .segment .speaker", has_text=re.compile(r"^Alice$"))
        ).to_have_count(0)
        renamed = second.locator("#transcript .segment .speaker", has_text=re.compile(r"^Alicia$"))
        before = renamed.count()
        assert before >= 2
        # Lines she speaks after the rename arrive with the new name.
        expect(renamed.nth(before)).to_be_visible(timeout=60_000)
        speakers = set(second.locator("#transcript .segment .speaker").all_inner_texts())
        assert speakers <= {"Alicia", "Bob"}, speakers

        # Bookmark the latest line with the key "b" while the meeting is live (second context).
        expect(second.locator("#meeting-status .badge")).not_to_have_text("Ended")
        second.locator("h1").click()  # focus on the page, not in a text field
        second.keyboard.press("b")
        expect(second.locator("#bookmarks .bookmark")).to_have_count(1, timeout=10_000)
        expect(first.locator("#bookmarks .bookmark")).to_have_count(1, timeout=10_000)  # pushed live
        marked = second.locator("#transcript .segment.bookmarked")
        expect(marked).to_have_count(1)
        line_text = marked.locator(".text").inner_text()
        # The note, added in the first context, reaches the second.
        first.fill("#bookmarks .bookmark input[name=note]", "Follow up with legal")
        first.locator("#bookmarks .bookmark .bookmark-note button").click()
        expect(second.locator("#bookmarks .bookmark input[name=note]")).to_have_value(
            "Follow up with legal", timeout=10_000
        )
        # Its link scrolls the transcript to the line.
        second.evaluate("document.getElementById('transcript').scrollTop = 0")
        second.locator("#bookmarks .bookmark-link").click()
        expect(marked).to_be_in_viewport()
        path = screenshot_path("notes-speakers-bookmarks")
        second.screenshot(path=str(path), full_page=True)

        # The exports have it (the page's own export links, with the session).
        meeting_id = first.url.rstrip("/").rsplit("/", 1)[-1]
        md = first.request.get(f"{base}/api/meetings/{meeting_id}/export/?format=md")
        assert md.ok, md.status
        notes = md.text()
        bookmarks = notes.split("## Bookmarks", 1)[1].split("## Transcript", 1)[0]
        assert "Follow up with legal" in bookmarks
        assert line_text.split()[0] in bookmarks
        assert "Alicia:" in notes
        assert "Alice:" not in notes.split("## Transcript", 1)[1]
        vtt = first.request.get(f"{base}/api/meetings/{meeting_id}/export/?format=vtt").text()
        assert re.search(r"^NOTE Bookmark .*Follow up with legal$", vtt, re.MULTILINE), vtt[:500]
        assert "<v Alicia>" in vtt

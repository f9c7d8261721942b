"""Partials that show, in a real browser: the AMI scenario (four headset channels, no Zoom
transcript, so the live Whisper fallback transcribes from the first word) played in real time
into the product (Daphne, embedded mode, the real tiny.en model), watched by Debian's Chromium.

While someone speaks, a grey partial line must appear and then be replaced *in place* (the same
element id) by its final line; no line may be left partial at the end.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from tests.meetings.dashboard.browser_support import (
    CHROMIUM_ARGS,
    REPO,
    base_env,
    chromium_or_skip,
    cleanup_dir,
    daphne,
    django_shell,
    migrate,
    screenshot_path,
)
from tests.meetings.dashboard.test_dashboard_browser import (
    CLIENT_ID,
    CLIENT_SECRET,
    SETUP,
    WEBHOOK_SECRET,
    EmulatorThread,
    login,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

AMI = REPO / "streams" / "emulator" / "scenarios" / "ami_excerpt.json"
AMI_AUDIO = REPO.parent / "shared" / "data" / "speech" / "ami_meeting_excerpt" / "source0.wav"

# For every Whisper segment id: when (page clock, ms) it was first seen partial and first seen
# final, and how many elements carried the id at most (replaced in place = never two).
WATCH_WHISPER = """() => {
    const log = window.__whisper = {};
    const record = () => {
        const now = Date.now();
        const seen = {};
        document.querySelectorAll("#transcript .segment.source-whisper").forEach(e => {
            seen[e.id] = (seen[e.id] || 0) + 1;
            const entry = log[e.id] = log[e.id] || {sort: Number(e.dataset.sort), copies: 0};
            const kind = e.classList.contains("partial") ? "partial" : "final";
            if (!entry[kind]) entry[kind] = now;
            if (kind === "partial" && !entry.partialText) {
                entry.partialText = e.querySelector(".text").textContent;
                entry.grey = getComputedStyle(e.querySelector(".text")).fontStyle === "italic";
            }
        });
        Object.keys(seen).forEach(id => { log[id].copies = Math.max(log[id].copies, seen[id]); });
    };
    record();
    new MutationObserver(record).observe(document.getElementById("transcript"),
                                         {subtree: true, childList: true, attributes: true});
}"""


@pytest.fixture
def embedded():
    data_dir = Path(tempfile.mkdtemp(prefix="rtms-partials-"))
    env = base_env(
        data_dir,
        ZOOM_CLIENT_ID=CLIENT_ID,
        ZOOM_CLIENT_SECRET=CLIENT_SECRET,
        ZOOM_WEBHOOK_SECRET_TOKEN=WEBHOOK_SECRET,
    )
    try:
        migrate(env)
        django_shell(env, SETUP)
        yield env, data_dir
    finally:
        cleanup_dir(data_dir)


def test_partials_appear_while_people_speak_and_are_replaced_in_place_by_finals(embedded):
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_or_skip()
    if not AMI_AUDIO.exists():
        pytest.skip(f"shared data missing: {AMI_AUDIO}")
    env, data_dir = embedded
    with daphne(env, data_dir / "daphne.log") as base, sync_playwright() as pw, EmulatorThread() as emu:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            login(page, base, "olivia")
            expect(page.locator(".list-page")).to_have_attribute("data-ws", "open", timeout=10_000)
            emu.call(emu.emulator.play(AMI, webhook_url=f"{base}/webhooks/zoom/", speed=1.0))
            row = page.locator("#meeting-rows .meeting-row")
            expect(row).to_have_count(1, timeout=15_000)
            row.first.locator("a.topic").click()
            expect(page.locator("#meeting-live")).to_have_attribute("data-synced", "true", timeout=10_000)
            page.evaluate(WATCH_WHISPER)
            started_ms = page.evaluate(
                "Date.parse(document.querySelector('#meeting-status time').getAttribute('datetime'))"
            )

            # The meeting plays for 60 s in real time; Whisper catches up after it ends.
            expect(page.locator("#meeting-status .badge")).to_have_text("Ended", timeout=120_000)
            # Caught up: no partial line left and no "Transcript N s behind" shown, twice in a row.
            deadline, settled = time.monotonic() + 240, 0
            while settled < 2 and time.monotonic() < deadline:
                busy = (
                    page.locator("#transcript .segment.source-whisper.partial").count()
                    or page.locator("#transcript-lag").is_visible()
                )
                settled = 0 if busy else settled + 1
                time.sleep(1.0)
            left_partial = page.locator("#transcript .segment.source-whisper.partial").count()
            log = page.evaluate("window.__whisper")
            path = screenshot_path("whisper-partials")
            page.screenshot(path=str(path), full_page=True)
        finally:
            browser.close()

    shown = {k: v for k, v in log.items() if v.get("partial")}
    replaced = {k: v for k, v in shown.items() if v.get("final") and v["final"] > v["partial"]}
    # how long after the segment's audio began (meeting start + its start, page clock) the
    # partial line appeared: the meeting's start is the webhook's time, slightly before the audio,
    # so this is an upper bound
    delays = sorted(round((v["partial"] - started_ms - v["sort"]) / 1000, 2) for v in shown.values())
    print(
        f"whisper segments {len(log)}, partials shown {len(shown)}, replaced {len(replaced)}; delays {delays}"
    )
    assert shown, f"no partial line was ever shown: {log}"
    assert replaced, f"no partial was replaced by its final: {shown}"
    assert all(v["copies"] == 1 for v in log.values()), log  # replaced in place, never duplicated
    assert all(v["grey"] for v in shown.values()), shown  # partials are shown grey, in italics
    assert left_partial == 0  # every partial ended final, or removed when its final said nothing
    assert delays[0] <= 4.0, delays  # while the speaker talks, within seconds

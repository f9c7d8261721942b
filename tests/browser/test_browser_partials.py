"""Partials that show, in a real browser: the AMI scenario (no Zoom transcript, so the live
Whisper fallback transcribes from the first word) played in real time into the product (Daphne,
embedded mode, the real tiny.en model), watched by Debian's Chromium.

While someone speaks, a grey partial line must appear and then be replaced *in place* (the same
element id) by its final line; no line may be left partial at the end.

Only FEE013's headset channel of the excerpt is played, its first 35 s (she holds the floor from
7 to 30 s: long turns, the case partials are for). Partials need spare transcription capacity:
when the workers fall behind they are the first thing dropped (docs/whisper.md, "The queue's
order, and overload"), and on a machine shared with other work the four channels at once left
Whisper a minute behind, with every partial rightly dropped.
"""

from __future__ import annotations

import time

import pytest

from tests.browser.browser_support import (
    CHROMIUM_ARGS,
    REPO,
    chromium_or_skip,
    daphne,
    embedded_deployment,
    login,
    screenshot_path,
)
from tests.browser.test_dashboard_browser import (
    CLIENT_ID,
    CLIENT_SECRET,
    SETUP,
    WEBHOOK_SECRET,
    EmulatorThread,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

AMI = REPO / "rtms_emulator" / "scenarios" / "ami_excerpt.json"
SPEAKER, SECONDS = "FEE013", 35.0
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
        const lag = document.getElementById("transcript-lag");
        if (lag && !lag.hidden) window.__lagShown = true;
    };
    record();
    new MutationObserver(record).observe(document.getElementById("transcript"),
                                         {subtree: true, childList: true, attributes: true});
}"""


def one_speaker():
    """The AMI scenario with one participant's channel, cut to ``SECONDS``."""
    from dataclasses import replace

    from rtms_emulator.scenario_loader import load_scenario

    scenario = load_scenario(AMI)
    return replace(
        scenario,
        participants=tuple(p for p in scenario.participants if p.key == SPEAKER),
        events=(),
        chat=(),
        mixed=None,
        duration=SECONDS,
    )


@pytest.fixture
def embedded():
    with embedded_deployment(
        "rtms-partials-",
        SETUP,
        ZOOM_CLIENT_ID=CLIENT_ID,
        ZOOM_CLIENT_SECRET=CLIENT_SECRET,
        ZOOM_WEBHOOK_SECRET_TOKEN=WEBHOOK_SECRET,
    ) as (env, data_dir, _):
        yield env, data_dir


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
            emu.call(emu.emulator.play(one_speaker(), webhook_url=f"{base}/webhooks/zoom/", speed=1.0))
            row = page.locator("#meeting-rows .meeting-row")
            expect(row).to_have_count(1, timeout=15_000)
            row.first.locator("a.topic").click()
            expect(page.locator("#meeting-live")).to_have_attribute("data-synced", "true", timeout=10_000)
            page.evaluate(WATCH_WHISPER)
            started_ms = page.evaluate(
                "Date.parse(document.querySelector('#meeting-status time').getAttribute('datetime'))"
            )

            # The meeting plays for 35 s in real time; Whisper catches up after it ends if behind.
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
            lag_shown = bool(page.evaluate("window.__lagShown"))
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
    print(f"'Transcript N s behind' shown: {lag_shown}")
    assert shown, f"no partial line was ever shown (transcript behind: {lag_shown}): {log}"
    assert replaced, f"no partial was replaced by its final: {shown}"
    assert all(v["copies"] == 1 for v in log.values()), log  # replaced in place, never duplicated
    assert all(v["grey"] for v in shown.values()), shown  # partials are shown grey, in italics
    assert left_partial == 0  # every partial ended final, or removed when its final said nothing
    # While the speaker talks, within seconds (the first partial is cut 1.2 s into the window) --
    # when Whisper keeps up. On a machine too busy for it the page said how far behind it was,
    # and partials, dropped first, came as late as that.
    if not lag_shown:
        assert delays[0] <= 4.0, delays

"""Issue 20 in a real browser: click a transcript line to hear it; share the notes by link.

Daphne serves the product in embedded mode; Debian's Chromium (Playwright) drives two browser
contexts: the owner's, and a logged-out one that opens the share link. The meeting's audio is
made by the product's own recorder (``streams.recording.StreamRecorder``: RTMS-sized 20 ms
frames with timestamps, two participants) and mixed by ``mix_build`` at "stream end", so the
mixed WAV starts where the first participant's audio starts (1.5 s into the meeting), not at 0:
the seek must subtract it.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.browser_support import (
    CHROMIUM_ARGS,
    PASSWORD,
    chromium_or_skip,
    daphne,
    embedded_deployment,
    login,
    screenshot_path,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AUDIO_START_MS = 1_500  # the first audio frame, relative to the meeting start
LINES = [  # (speaker, start_ms, text): where each line starts in the meeting
    ("Alice", 2_000, "Welcome, let's look at the budget."),
    ("Bob", 12_000, "The numbers are in the shared sheet."),
    ("Alice", 21_000, "Good, we ship on Friday."),
]

SETUP = f"""
import numpy as np
from django.contrib.auth import get_user_model
from django.utils import timezone
from meetings.services.meetings import meeting_end, meeting_get_or_create
from meetings.services.transcript import transcript_segment_record
from meetings.models import Meeting, Summary, ActionItem
from streams.models import Stream
from streams import recording
User = get_user_model()
owner = User.objects.create_user("olivia", password={PASSWORD!r})
meeting, _ = meeting_get_or_create(product="meeting", zoom_uuid="browser/audio==", topic="Budget review")
meeting.owner = owner
meeting.save()
stream = Stream.objects.create(meeting=meeting, rtms_stream_id="audio-stream-1", server_urls="wss://x")
started = int(meeting.started_at.timestamp() * 1000)
rec = recording.StreamRecorder(meeting_id=meeting.pk, stream_id=stream.pk, rtms_stream_id="audio-stream-1",
                               meeting_started_ms=started, max_buffer_bytes=1 << 26)
people = {{"Alice": ("16778240", 440.0), "Bob": ("16778241", 660.0)}}
lines = {LINES!r}
t = np.arange(320) / 16000
for i, (speaker, start, text) in enumerate(lines):
    user_id, hz = people[speaker]
    end = lines[i + 1][1] if i + 1 < len(lines) else start + 9_000
    begin = {AUDIO_START_MS} if i == 0 else start
    for ms in range(begin, end, 20):
        tone = (3000 * np.sin(2 * np.pi * hz * (t + ms / 1000))).astype("<i2").tobytes()
        rec.add(user_id=user_id, user_name=speaker, data=tone, timestamp=started + ms)
    rec.flush_sync(rec.take_batch())
mixed = recording.mix_build(meeting_id=meeting.pk, rtms_stream_id="audio-stream-1")
participants = {{p.display_name: p for p in meeting.participants.all()}}
segments = []
for i, (speaker, start, text) in enumerate(lines):
    segment, _ = transcript_segment_record(
        meeting=meeting, source="zoom", source_key=f"line-{{i}}", text=text, start_ms=start,
        end_ms=start + 8_000, participant=participants[speaker], speaker_name=speaker)
    segments.append(segment)
meeting_end(meeting=meeting)
summary = Summary.objects.create(meeting=meeting, status="ready", overview="The budget and the launch date.",
                                 decisions=[{{"text": "Ship on Friday", "segment_ids": [segments[2].pk]}}])
ActionItem.objects.create(summary=summary, meeting=meeting, text="Send the budget sheet", owner_name="Bob")
print(meeting.public_id, mixed.start_ms, mixed.pk, *[s.pk for s in segments])
"""

# Resolves once the player has taken the click on line ``pk`` and the <audio> element plays
# (not seeking): its position then, and where it was loaded from.
WAIT_PLAYING = """pk => new Promise((resolve, reject) => {
    const audio = document.getElementById("meeting-audio");
    const player = document.getElementById("audio-player");
    const started = Date.now();
    const tick = () => {
        if (player.dataset.segment === String(pk) && !audio.paused && !audio.seeking && audio.readyState >= 3) {
            return resolve({time: audio.currentTime, paused: audio.paused, src: audio.currentSrc});
        }
        if (Date.now() - started > 15000) {
            return reject(new Error("not playing: " + audio.readyState + " " +
                (audio.error && audio.error.message) + " " +
                document.querySelector("#audio-player .audio-status").textContent));
        }
        setTimeout(tick, 10);
    };
    tick();
})"""


@pytest.fixture
def deployment():
    with embedded_deployment("rtms-browser-audio-", SETUP) as (env, data_dir, out):
        public_id, mix_start, mixed_id, *segment_ids = out.split()
        yield env, data_dir, public_id, int(mix_start), int(mixed_id), [int(pk) for pk in segment_ids]


def test_click_a_line_to_hear_it_and_share_the_notes_by_a_revocable_link(deployment):
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_or_skip()
    env, data_dir, public_id, mix_start, mixed_id, segment_ids = deployment
    assert mix_start == AUDIO_START_MS  # the mix starts with the first audio, not the meeting
    with daphne(env, data_dir / "daphne.log") as base, sync_playwright() as pw:
        # No autoplay flag: playback starts from the click (a user gesture), as for a person.
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            owner = browser.new_context(viewport={"width": 1300, "height": 1000})
            page = owner.new_page()
            audio_statuses: list[tuple[int, str]] = []
            page.on(
                "response",
                lambda r: (
                    "/audio/?recording=" in r.url
                    and audio_statuses.append((r.status, r.headers.get("content-range", "")))
                ),
            )
            login(page, base, "olivia")
            page.goto(f"{base}/meetings/{public_id}/")

            # Click the second line's time: the mixed recording plays from that line's start.
            for index in (1, 2, 0):
                speaker, start_ms, _ = LINES[index]
                page.locator(f"#segment-{segment_ids[index]} .at").click()
                state = page.evaluate(WAIT_PLAYING, segment_ids[index])
                expected = (start_ms - AUDIO_START_MS) / 1000
                assert not state["paused"]
                assert abs(state["time"] - expected) <= 0.5, (index, state, expected)
                assert state["src"].endswith(f"/api/meetings/{public_id}/audio/?recording={mixed_id}")
                expect(page.locator(f"#segment-{segment_ids[index]}")).to_have_class(
                    re.compile(r"\bplaying\b")  # (also "selected": a click picks the line for bookmarks)
                )
                expect(page.locator("#audio-player .audio-status")).to_contain_text(f"Playing {speaker} at")
                page.wait_for_timeout(700)  # it keeps playing forward from there
                later = page.evaluate("document.getElementById('meeting-audio').currentTime")
                assert later > state["time"]
            page.evaluate("document.getElementById('meeting-audio').pause()")
            # Chromium fetched the WAV by byte ranges (seeking without the whole file).
            assert any(status == 206 and rng.startswith("bytes ") for status, rng in audio_statuses), (
                audio_statuses
            )

            # Share: create a read-only link on the page; a logged-out browser opens the notes.
            page.locator("#sharing .create-link").click()
            link_input = page.locator("#sharing .share-link.active.new .share-url")
            expect(link_input).to_have_count(1)
            share_url = link_input.input_value()
            assert share_url.startswith(f"{base}/notes/")
            page.screenshot(path=str(screenshot_path("audio-share-owner")), full_page=True)

            anonymous = browser.new_context()
            reader = anonymous.new_page()
            response = reader.goto(share_url)
            assert response.status == 200
            expect(reader.locator("#shared-notes h1")).to_have_text("Budget review")
            expect(reader.locator("#shared-notes .summary-action-items")).to_contain_text(
                "Send the budget sheet"
            )
            expect(reader.locator("#shared-notes .summary-decisions")).to_contain_text("Ship on Friday")
            expect(reader.locator("#shared-notes .segment .text")).to_have_text(
                [text for _, _, text in LINES]
            )
            expect(reader.locator("form")).to_have_count(0)  # nothing to edit, not even log out
            reader.screenshot(path=str(screenshot_path("audio-share-notes")), full_page=True)
            # The logged-out reader still cannot open the meeting page or its audio.
            assert reader.goto(f"{base}/meetings/{public_id}/").url.startswith(f"{base}/accounts/login/")
            assert reader.goto(f"{base}/api/meetings/{public_id}/audio/").status in (401, 403)

            # The owner revokes it: the link answers 404 from then on.
            page.locator("#sharing .share-link.active .revoke-link").click()
            expect(page.locator("#sharing .share-link.active")).to_have_count(0)
            expect(page.locator("#sharing .share-link.inactive")).to_contain_text("Revoked")
            assert reader.goto(share_url).status == 404
            assert "Send the budget sheet" not in reader.content()
        finally:
            browser.close()

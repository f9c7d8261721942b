"""In real Chromium (issue 20, parts 6 and 7): the pages fit a 390 px phone screen with no
horizontal scrolling and the navigation ("Log out" included) in view; the 404 page is styled and
has the navigation; /favicon.ico resolves; stop reasons read as words; the search result's
"transcript" tag is readable (WCAG AA contrast).

The product runs under Daphne in embedded mode on a scratch data dir; the meetings are stored
through ``meetings.services`` (real rows, seq and all) with what makes a narrow page overflow:
long topics and names, an unbroken URL in a transcript line and in the chat, an interruption
and Zoom's stop reason. Debian's Chromium is driven by Playwright with a phone viewport.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from tests.browser.browser_support import (
    CHROMIUM_ARGS,
    PASSWORD,
    base_env,
    chromium_or_skip,
    cleanup_dir,
    daphne,
    django_shell,
    migrate,
    screenshot_path,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
LONG_URL = "https://example.com/" + "a-very-long-path-segment/" * 6 + "that_never_breaks_anywhere"

SEED = f"""
import datetime as dt
from django.contrib.auth import get_user_model
from django.utils import timezone
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record
from meetings.models import ActionItem, Meeting, Summary, TranscriptSegment
owner = get_user_model().objects.create_user("olivia", password={PASSWORD!r})
start = timezone.now() - dt.timedelta(hours=1)
meeting, _ = meeting_get_or_create(
    product="meeting", zoom_uuid="phone-uuid==", started_at=start,
    topic="Quarterly roadmap review with the platform, infrastructure and design teams")
people = [participant_upsert(meeting=meeting, zoom_user_id=str(i), display_name=name)
          for i, name in enumerate(["Alexandra Wonderland-Smithson", "FEE013", "Bob"], 1)]
for i in range(24):
    text = "Look at {LONG_URL} first." if i == 3 else f"Line {{i}}: the release plan and the budget for next quarter."
    transcript_segment_record(
        meeting=meeting, source="zoom" if i % 2 else "whisper", source_key=f"s{{i}}", text=text,
        start_ms=i * 4000, end_ms=i * 4000 + 3500, participant=people[i % 3])
chat_message_record(meeting=meeting, source_key="c1", sender_name="Bob",
                             text="{LONG_URL}", sent_at=start + dt.timedelta(seconds=30))
participant_event_record(meeting=meeting, kind="interruption", source_key="gap1",
    occurred_at=start + dt.timedelta(minutes=2), reason="signaling: connection closed abnormally",
    end_offset_ms=125_000)
participant_event_record(meeting=meeting, kind="stream_stop", source_key="stop1",
    occurred_at=start + dt.timedelta(minutes=5), reason="STOP_BC_MEETING_ENDED")
Meeting.objects.filter(pk=meeting.pk).update(owner=owner, status="ended", ended_at=start + dt.timedelta(minutes=5))
first = TranscriptSegment.objects.filter(meeting=meeting).order_by("start_ms").first()
summary = Summary.objects.create(meeting=meeting, status="ready", backend="offline", model="sumy-lsa+luhn",
    duration_ms=72, overview="We reviewed the roadmap.", completed_at=timezone.now(),
    decisions=[{{"text": "Ship on Thursday", "segment_ids": [first.pk]}}])
ActionItem.objects.create(summary=summary, meeting=meeting, position=0, owner=people[0],
    text="Send the updated estimate with the full breakdown of the infrastructure costs",
    owner_name=people[0].display_name, owner_kind="addressee", due_date=dt.date(2026, 12, 9), due_text="by Wednesday")
for k in range(3):
    other, _ = meeting_get_or_create(product="meeting", zoom_uuid=f"live-{{k}}", started_at=start,
        topic=f"Another meeting number {{k}} with a fairly long topic name")
    Meeting.objects.filter(pk=other.pk).update(owner=owner)
print(meeting.public_id)
"""

# Where the page is wider than the screen: scrollWidth, and the elements sticking out (for the message).
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    document.querySelectorAll("body *").forEach(e => {
        const r = e.getBoundingClientRect();
        if (r.width > 0 && r.right > width + 0.5) out.push(`${e.tagName}.${e.className} right=${Math.round(r.right)}`);
    });
    return {scrollWidth: document.documentElement.scrollWidth, clientWidth: width, over: out.slice(0, 10)};
}"""

# WCAG 2 contrast ratio of an element's text against its (first opaque) background.
CONTRAST = """el => {
    const rgba = s => s.match(/[\\d.]+/g).map(Number);
    const lum = ([r, g, b]) => {
        const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    let bg = null;
    for (let node = el; node; node = node.parentElement) {
        const c = rgba(getComputedStyle(node).backgroundColor);
        if (c.length < 4 || c[3] > 0.99) { bg = c; break; }
    }
    bg = bg || [255, 255, 255];
    const fg = rgba(getComputedStyle(el).color);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
}"""


def assert_fits(page, name: str) -> None:
    layout = page.evaluate(OVERFLOW)
    page.screenshot(path=str(screenshot_path(f"phone-{name}")), full_page=True)
    assert layout["scrollWidth"] <= PHONE["width"], (name, layout)


def assert_navigation_in_view(page) -> None:
    for locator in (page.locator(".site-header a.brand"), page.get_by_role("button", name="Log out")):
        box = locator.bounding_box()
        assert locator.is_visible()
        assert box is not None
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE["width"], box


def test_phone_layout_error_pages_favicon_and_readable_words():
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_or_skip()
    data_dir = Path(tempfile.mkdtemp(prefix="rtms-phone-"))
    try:
        env = base_env(data_dir)
        migrate(env)
        public_id = django_shell(env, SEED).strip().splitlines()[-1]
        with daphne(env, data_dir / "daphne.log") as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            try:
                phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
                page = phone.new_page()

                page.goto(f"{base}/accounts/login/")
                assert_fits(page, "login")
                page.fill("#id_username", "olivia")
                page.fill("#id_password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")

                # The meetings list: live (socket open), every row, nothing wider than the phone.
                expect(page.locator(".list-page")).to_have_attribute("data-ws", "open", timeout=10_000)
                expect(page.locator("#meeting-rows .meeting-row")).to_have_count(4)
                assert_fits(page, "list")
                assert_navigation_in_view(page)

                # The meeting page, synced over its socket.
                page.goto(f"{base}/meetings/{public_id}/")
                expect(page.locator("#meeting-live")).to_have_attribute("data-synced", "true", timeout=10_000)
                expect(page.locator("#transcript .segment")).to_have_count(24)
                expect(page.locator("#transcript")).to_contain_text(LONG_URL)
                assert_fits(page, "meeting")
                assert_navigation_in_view(page)
                # A timeline time never breaks over two lines beside a long event ("0:" / "16").
                wrapped = page.evaluate(
                    """[...document.querySelectorAll('#events .event .at')].filter(el => {
                        const lines = document.createRange();
                        lines.selectNodeContents(el);
                        return lines.getClientRects().length > 1;  // one rect per line of text
                    }).map(el => el.textContent)"""
                )
                assert page.locator("#events .event .at").count() >= 2
                assert wrapped == [], wrapped
                # Zoom's stop reason in words; the code only in the tooltip.
                expect(page.locator("#stream-health .reason")).to_have_text("— Meeting ended")
                expect(page.locator("#stream-health .reason")).to_have_attribute(
                    "title", "STOP_BC_MEETING_ENDED"
                )
                assert "STOP_BC" not in page.locator("main").inner_text()
                expect(page.locator(".summary-provenance")).to_have_text(
                    re.compile(r"^Extracted from the transcript")
                )

                # Search: fits, and the kind tag is readable (AA: contrast >= 4.5).
                page.goto(f"{base}/search/?q=release")
                tag = page.locator(".search-hit.kind-transcript .source-tag").first
                expect(tag).to_have_text("transcript")
                assert_fits(page, "search")
                contrast = tag.evaluate(CONTRAST)
                assert contrast >= 4.5, contrast

                # The 404 page: styled, with the navigation and a way back.
                response = page.goto(f"{base}/no/such/page/")
                assert response.status == 404
                expect(page.locator("h1")).to_have_text("Page not found")
                assert_fits(page, "404")
                assert_navigation_in_view(page)
                page.get_by_role("link", name="Back to the meetings").click()
                page.wait_for_url(f"{base}/")

                # The favicon: linked from every page, and /favicon.ico resolves to it.
                icon = page.evaluate("document.querySelector('link[rel=icon]').href")
                assert page.request.get(icon).status == 200
                favicon = page.request.get(f"{base}/favicon.ico")
                assert favicon.status == 200
                assert favicon.headers["content-type"] == "image/svg+xml"
            finally:
                browser.close()
    finally:
        cleanup_dir(data_dir)

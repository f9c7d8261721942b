"""Action items in a real browser (issue 20, part 1): tick an item in one browser context and
see it change in a second one (live push), then re-date and assign one and see it persist after
a reload.

The product runs under Daphne in embedded mode (SQLite, in-memory channel layer); Debian's
Chromium is driven by Playwright. Two contexts = two separate sessions (the owner and a user the
meeting is shared with), each with its own WebSocket.
"""

from __future__ import annotations

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

SETUP = f"""
from django.contrib.auth import get_user_model
from meetings.services.meetings import meeting_end, meeting_get_or_create
from meetings.services.participants import participant_upsert
from meetings.services.transcript import transcript_segment_record
from meetings.models import ActionItem, Meeting, Summary
User = get_user_model()
owner = User.objects.create_user("olivia", password={PASSWORD!r})
sam = User.objects.create_user("sam", password={PASSWORD!r}, first_name="Sam", last_name="Shared")
meeting, _ = meeting_get_or_create(product="meeting", zoom_uuid="browser/actions==", topic="Launch plan")
meeting.owner = owner
meeting.save()
meeting.shared_with.add(sam)
ada = participant_upsert(meeting=meeting, zoom_user_id="16778240", display_name="Ada Lovelace")
segments = [
    transcript_segment_record(meeting=meeting, source="zoom", source_key=f"z{{i}}", text=text,
                                       start_ms=1000 + i * 4000, end_ms=4000 + i * 4000, participant=ada)[0]
    for i, text in enumerate(["Ada will send the budget by Friday.", "Someone books the venue."])
]
meeting_end(meeting=meeting)
Summary.objects.filter(meeting=meeting).delete()  # no worker here: write the notes directly
summary = Summary.objects.create(meeting=meeting, status="ready", backend="offline", overview="Launch.")
for i, (text, segment) in enumerate([("Send the budget", segments[0]), ("Book the venue", segments[1])]):
    ActionItem.objects.create(summary=summary, meeting=meeting, position=i, text=text, generated_text=text,
                              source_segment=segment, owner=ada if i == 0 else None, due_text="by Friday" if i == 0 else "")
print(meeting.public_id, *ActionItem.objects.order_by("position").values_list("pk", flat=True))
"""


@pytest.fixture
def deployment():
    with embedded_deployment("rtms-browser-actions-", SETUP) as (env, data_dir, out):
        public_id, first, second = out.strip().splitlines()[-1].split()
        yield env, data_dir, public_id, int(first), int(second)


def test_tick_in_one_context_shows_in_the_other_and_edits_persist(deployment):
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_or_skip()
    env, data_dir, public_id, first, second = deployment
    with daphne(env, data_dir / "daphne.log") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            owner = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            shared = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            login(owner, base, "olivia")
            expect(owner.locator(".meeting-row .open-items")).to_have_text("2 open items")
            login(shared, base, "sam")
            for page in (owner, shared):
                page.goto(f"{base}/meetings/{public_id}/")
                expect(page.locator("#meeting-live")).to_have_attribute("data-synced", "true", timeout=10_000)
            item_a, item_b = f"#action-item-{first}", f"#action-item-{second}"
            expect(shared.locator(item_a)).to_have_attribute("data-status", "open")

            # tick in one context -> the other context changes live, without a reload
            owner.locator(f"{item_a} .action-done-box").check()
            expect(owner.locator(item_a)).to_have_attribute("data-status", "done")
            expect(shared.locator(item_a)).to_have_attribute("data-status", "done", timeout=10_000)
            expect(shared.locator(f"{item_a} .action-done-box")).to_be_checked()
            expect(shared.locator(f"{item_a} .edited-tag")).to_be_visible()

            # re-date and assign (to the shared user) in place, from the second context
            shared.locator(f"{item_b} .action-edit").click()
            form = shared.locator(f"#action-item-{second}-edit")
            expect(form).to_be_visible()
            form.locator("textarea[name=text]").fill("Book the venue for 40 people")
            form.locator("select[name=owner]").select_option(label="Sam Shared")
            form.locator("input[name=due_date]").fill("2027-01-15")
            form.locator("button[type=submit]").click()
            expect(shared.locator(f"{item_b} .action-text")).to_have_text("Book the venue for 40 people")
            expect(owner.locator(f"{item_b} .owner")).to_have_text("— Sam Shared", timeout=10_000)
            expect(owner.locator(f"{item_b} .due time")).to_have_attribute("datetime", "2027-01-15")

            # a bad date from the form is refused with the reason shown, nothing lost
            shared.locator(f"{item_b} .action-edit").click()
            form.locator("textarea[name=text]").fill("   ")
            form.locator("textarea[name=text]").evaluate("el => el.removeAttribute('required')")
            form.locator("button[type=submit]").click()
            expect(form.locator(".form-error")).to_contain_text("cannot be empty")
            form.locator("a", has_text="Cancel").click()
            expect(shared.locator(f"{item_b} .action-text")).to_have_text("Book the venue for 40 people")

            # everything persists across a reload, in both contexts
            for page in (owner, shared):
                page.reload()
                expect(page.locator(item_a)).to_have_attribute("data-status", "done")
                expect(page.locator(f"{item_b} .due time")).to_have_attribute("datetime", "2027-01-15")
                expect(page.locator(f"{item_b} .owner")).to_have_text("— Sam Shared")
            owner.screenshot(path=str(screenshot_path("action-items")), full_page=True)

            # "My action items" of the shared user lists the item assigned to them; the list counts 1 open
            shared.click("text=My action items")
            expect(shared.locator(".my-action-item .action-text")).to_have_text(
                ["Book the venue for 40 people"]
            )
            expect(shared.locator(".my-action-item .due time")).to_have_attribute("datetime", "2027-01-15")
            owner.goto(f"{base}/")
            expect(owner.locator(".meeting-row .open-items")).to_have_text("1 open item")
        finally:
            browser.close()

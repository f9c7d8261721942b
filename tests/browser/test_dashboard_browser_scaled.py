"""Browser test, scaled mode: Daphne + PostgreSQL + Redis, changes written by another process.

Debian's Chromium (Playwright) logs in, opens a live meeting and sees segments, chat, a
revision and the stream-health badge change as a separate process writes through
``meetings.services`` (as the ingest worker does) and pushes through channels-redis; a second
user is refused. The emulator-driven end-to-end test is ``test_dashboard_browser.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.browser.browser_support import (
    CHROMIUM_ARGS,
    PASSWORD,
    DaphneServer,
    base_env,
    chromium_or_skip,
    cleanup_dir,
    django_shell,
    login,
    migrate,
    scaled_urls_or_skip,
    scratch_postgres,
    scratch_redis,
    screenshot_path,
)

pytestmark = [pytest.mark.browser, pytest.mark.scaled, pytest.mark.slow]

SETUP = f"""
from django.contrib.auth import get_user_model
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from meetings.models import ZoomIdentity
User = get_user_model()
owner = User.objects.create_user("olivia", password={PASSWORD!r})
ZoomIdentity.objects.create(user=owner, zoom_user_id="zoom-olivia")
User.objects.create_user("mallory", password={PASSWORD!r})
meeting, _ = meeting_get_or_create(product="meeting", zoom_uuid="browser/scaled==", topic="Quarterly planning")
meeting.owner = owner
meeting.save()
print(meeting.public_id)
"""

WRITE = """
import datetime as dt
from django.utils import timezone
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from meetings.models import Meeting
meeting = Meeting.objects.get(public_id="{public_id}")
now = timezone.now()
ada = participant_upsert(meeting=meeting, zoom_user_id="16778240", display_name="Ada Lovelace")
bob = participant_upsert(meeting=meeting, zoom_user_id="16778241", display_name="Bob Builder")
participant_event_record(meeting=meeting, kind="stream_start", source_key="start", occurred_at=now)
for who in (ada, bob):
    participant_event_record(meeting=meeting, kind="join", source_key=f"join-{{who.pk}}", occurred_at=now, participant=who)
lines = [(ada, "Good morning, let's start with the budget."), (bob, "The numbers are in the shared sheet."),
         (ada, "Great, we agreed to ship on Friday.")]
for i, (who, text) in enumerate(lines):
    transcript_segment_record(meeting=meeting, source="zoom", source_key=f"z{{i}}", text=text,
                                       start_ms=1000 + i * 4000, end_ms=4000 + i * 4000, participant=who)
    participant_event_record(meeting=meeting, kind="active_speaker", source_key=f"as{{i}}", occurred_at=now, participant=who)
chat_message_record(meeting=meeting, source_key="c1", text="Link: sheet <b>v2</b>", sent_at=now, participant=bob)
transcript_segment_record(meeting=meeting, source="whisper", source_key="w0", text="and Bob takes the", start_ms=13000, participant=bob, is_final=False)
transcript_segment_record(meeting=meeting, source="whisper", source_key="w0", text="And Bob takes the release notes.", start_ms=13000, end_ms=15500, participant=bob)
chat_message_record(meeting=meeting, source_key="c2", text="thanks!", sent_at=now + dt.timedelta(seconds=2), participant=ada)
"""

NEW_MEETING = """
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
meeting, _ = meeting_get_or_create(
    product="meeting", zoom_uuid="browser/second==", topic="Standup", host_user_id="zoom-olivia"
)
participant_upsert(meeting=meeting, zoom_user_id="1", display_name="Ada Lovelace")
"""

# Written while the web server is down (the pushes reach nobody): the page must catch up.
WHILE_DOWN = """
from django.utils import timezone
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from meetings.models import Meeting, Participant
meeting = Meeting.objects.get(public_id="{public_id}")
ada = Participant.objects.get(meeting=meeting, display_name="Ada Lovelace")
transcript_segment_record(meeting=meeting, source="zoom", source_key="z3", text="Written while you were away.",
                                   start_ms=17000, end_ms=19000, participant=ada)
bob = Participant.objects.get(meeting=meeting, display_name="Bob Builder")
transcript_segment_record(meeting=meeting, source="zoom", source_key="z1", text="The numbers are in the shared sheet, tab two.",
                                   start_ms=5000, end_ms=8000, participant=bob)
chat_message_record(meeting=meeting, source_key="c3", text="missed chat", sent_at=timezone.now(), participant=ada)
gap_close(meeting=meeting, source_key="gap-1", ended_at=timezone.now())
"""

# A live Whisper partial whose final window then came back empty (headset bleed): it is pruned.
PARTIAL = """
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from meetings.models import Meeting, Participant
meeting = Meeting.objects.get(public_id="{public_id}")
bob = Participant.objects.get(meeting=meeting, display_name="Bob Builder")
transcript_segment_record(meeting=meeting, source="whisper", source_key="w:9:640", text="It's... it's...",
                                   start_ms=20000, participant=bob, is_final=False)
"""
PRUNE = """
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from meetings.models import Meeting
meeting = Meeting.objects.get(public_id="{public_id}")
print(transcript_track_prune(meeting=meeting, source="whisper", key_prefixes=("w:9:640",), keep_source_keys=set()))
"""

BIG_MEETING = """
from django.contrib.auth import get_user_model
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from meetings.models import Meeting, TranscriptSegment
meeting, _ = meeting_get_or_create(product="meeting", zoom_uuid="browser/big==", topic="All hands")
meeting.owner = get_user_model().objects.get(username="olivia")
meeting.save()
TranscriptSegment.objects.bulk_create(
    TranscriptSegment(meeting=meeting, source="zoom", source_key=f"b{i}", seq=i + 1, speaker_name=f"Speaker {i % 5}",
                      text=f"Big meeting line {i}.", start_ms=i * 2000, end_ms=i * 2000 + 1500)
    for i in range(450)
)
Meeting.objects.filter(pk=meeting.pk).update(last_seq=450)
print(meeting.public_id)
"""

ONE_MORE_LINE = """
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from meetings.models import Meeting
meeting = Meeting.objects.get(public_id="{public_id}")
transcript_segment_record(meeting=meeting, source="zoom", source_key="b450", text="Big meeting line 450.",
                                   start_ms=900000, end_ms=901000)
"""

INTERRUPT = """
from django.utils import timezone
from meetings.services.chat import chat_message_record
from meetings.services.meetings import meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record, participant_upsert
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from meetings.models import Meeting
meeting = Meeting.objects.get(public_id="{public_id}")
participant_event_record(meeting=meeting, kind="interruption", source_key="gap-1", occurred_at=timezone.now(), reason="media connection interrupted")
"""


@pytest.fixture
def scaled_deployment():
    database_url, redis_url = scaled_urls_or_skip()
    data_dir = Path(tempfile.mkdtemp(prefix="rtms-browser-"))
    try:
        with scratch_postgres(database_url) as scratch_url, scratch_redis(redis_url) as scratch_redis_url:
            env = base_env(data_dir, DATABASE_URL=scratch_url, REDIS_URL=scratch_redis_url)
            migrate(env)
            public_id = django_shell(env, SETUP).strip().splitlines()[-1]
            yield env, public_id, data_dir
    finally:
        cleanup_dir(data_dir)


def test_live_meeting_in_a_real_browser_scaled_mode(scaled_deployment):
    from playwright.sync_api import expect, sync_playwright

    executable = chromium_or_skip()
    env, public_id, data_dir = scaled_deployment
    server = DaphneServer(env, data_dir / "daphne.log")
    base = server.start()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            login(page, base, "olivia")
            # the list: a new meeting appears without a reload (the row is pushed to its owner)
            expect(page.locator("#meeting-rows .meeting-row .topic")).to_have_text(["Quarterly planning"])
            expect(page.locator(".list-page")).to_have_attribute("data-ws", "open", timeout=10_000)
            django_shell(env, NEW_MEETING)
            expect(page.locator("#meeting-rows .meeting-row .topic")).to_have_text(
                ["Standup", "Quarterly planning"], timeout=10_000
            )
            expect(page.locator("#meeting-rows .meeting-row").first).to_contain_text("1 participant")
            page.screenshot(path=str(screenshot_path("meetings-list-scaled")), full_page=True)

            page.goto(f"{base}/meetings/{public_id}/")
            expect(page.locator("#meeting-live")).to_have_attribute("data-synced", "true", timeout=10_000)

            django_shell(env, WRITE.format(public_id=public_id))

            transcript = page.locator("#transcript .segment .text")
            expect(transcript).to_have_text(
                [
                    "Good morning, let's start with the budget.",
                    "The numbers are in the shared sheet.",
                    "Great, we agreed to ship on Friday.",
                    "And Bob takes the release notes.",
                ],
                timeout=15_000,
            )
            expect(page.locator("#transcript .segment.partial")).to_have_count(0)
            expect(page.locator("#transcript .segment.source-whisper")).to_have_count(1)
            expect(page.locator("#chat .chat-message .text")).to_have_text(
                ["Link: sheet <b>v2</b>", "thanks!"]
            )
            expect(page.locator("#participants .participant.speaking .name")).to_have_text(["Ada Lovelace"])
            expect(page.locator("#talk-time .talk-row")).to_have_count(2)
            expect(page.locator("#stream-health")).to_have_attribute("data-state", "connected")

            django_shell(env, INTERRUPT.format(public_id=public_id))
            expect(page.locator("#stream-health")).to_have_attribute(
                "data-state", "interrupted", timeout=10_000
            )
            expect(page.locator("#stream-health")).to_contain_text("media connection interrupted")

            # The web server restarts; meanwhile the meeting goes on. The browser reconnects by
            # itself and catches up from the last change it holds: no gap, no duplicate.
            server.stop()
            expect(page.locator("#meeting-live")).to_have_attribute("data-ws", "closed", timeout=10_000)
            django_shell(env, WHILE_DOWN.format(public_id=public_id))
            server.start()
            expect(page.locator("#transcript .segment .text")).to_have_text(
                [
                    "Good morning, let's start with the budget.",
                    "The numbers are in the shared sheet, tab two.",
                    "Great, we agreed to ship on Friday.",
                    "And Bob takes the release notes.",
                    "Written while you were away.",
                ],
                timeout=30_000,
            )
            expect(page.locator("#chat .chat-message .text")).to_have_text(
                ["Link: sheet <b>v2</b>", "thanks!", "missed chat"]
            )
            expect(page.locator("#stream-health")).to_have_attribute("data-state", "connected")
            ids = page.eval_on_selector_all(
                "#transcript .segment, #chat .chat-message", "els => els.map(e => e.id)"
            )
            assert len(ids) == len(set(ids)) == 8
            last_seq = page.locator("#meeting-live").get_attribute("data-last-seq")
            assert (
                last_seq
                == django_shell(
                    env,
                    f'from meetings.models import Meeting; print(Meeting.objects.get(public_id="{public_id}").last_seq)',
                ).strip()
            )

            # A pruned Whisper partial leaves every watching page without a reload.
            django_shell(env, PARTIAL.format(public_id=public_id))
            expect(page.locator("#transcript .segment.partial .text")).to_have_text(
                ["It's... it's..."], timeout=10_000
            )
            assert django_shell(env, PRUNE.format(public_id=public_id)).strip() == "1"
            expect(page.locator("#transcript .segment.partial")).to_have_count(0, timeout=10_000)
            expect(page.locator("#transcript .segment")).to_have_count(5)

            path = screenshot_path("dashboard-scaled")
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")

            other = browser.new_page()
            login(other, base, "mallory")
            expect(other.locator(f"#meeting-rows a[href='/meetings/{public_id}/']")).to_have_count(0)
            response = other.goto(f"{base}/meetings/{public_id}/")
            assert response.status == 404
            ws_url = base.replace("http://", "ws://") + f"/ws/meetings/{public_id}/"
            close_code = other.evaluate(
                """url => new Promise(resolve => {
                    const ws = new WebSocket(url);
                    ws.onclose = event => resolve(event.code);
                })""",
                ws_url,
            )
            assert close_code == 4403

            # A 5,000-segment-class meeting: the latest 200 first, "load earlier" in place, and
            # "jump to live" when new lines arrive while reading back.
            big_id = django_shell(env, BIG_MEETING).strip().splitlines()[-1]
            page.goto(f"{base}/meetings/{big_id}/")
            expect(page.locator("#meeting-live")).to_have_attribute("data-synced", "true", timeout=10_000)
            segments = page.locator("#transcript .segment")
            expect(segments).to_have_count(200)
            expect(segments.first).to_contain_text("Big meeting line 250.")
            page.click("#load-earlier")
            expect(segments).to_have_count(400)
            expect(segments.first).to_contain_text("Big meeting line 50.")
            page.click("#load-earlier")
            expect(segments).to_have_count(450)
            expect(page.locator("#load-earlier")).to_have_count(0)
            texts = segments.all_inner_texts()
            assert [t.rsplit("Big meeting line ", 1)[1] for t in texts] == [f"{i}." for i in range(450)]
            page.evaluate("document.getElementById('transcript').scrollTop = 0")
            django_shell(env, ONE_MORE_LINE.format(public_id=big_id))
            expect(page.locator("#jump-to-live")).to_be_visible(timeout=10_000)
            expect(page.locator("#jump-to-live")).to_contain_text("1 new")
            page.click("#jump-to-live")
            expect(page.locator("#jump-to-live")).to_be_hidden()
            expect(segments.last).to_be_in_viewport()
            expect(page.locator("#segment-total")).to_have_text("451")

            # without JavaScript the page is still complete and readable
            static = browser.new_context(java_script_enabled=False)
            static_page = static.new_page()
            login(static_page, base, "olivia")
            static_page.goto(f"{base}/meetings/{public_id}/")
            expect(static_page.locator("#transcript .segment")).to_have_count(5)
            expect(static_page.locator("#stream-health")).to_have_attribute("data-state", "connected")
            static.close()
        finally:
            browser.close()
            server.stop()

"""The Django side: task + service (idempotency, retry, fallback), live push, view, admin, running."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from meetings import live
from meetings.models import ActionItem, Meeting, Summary
from meetings.services.meetings import meeting_end
from meetings.services.summaries import summary_request
from meetings.summarizer import service
from tests.factories import MeetingFactory, ParticipantFactory, TranscriptSegmentFactory, UserFactory

pytestmark = pytest.mark.backends  # the claim (conditional UPDATE) and the transaction also run on PostgreSQL

STARTED = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)  # a Friday
NAMES = {"A": "Alice", "B": "Bob"}


@pytest.fixture
def pushed(monkeypatch):
    """HTML fragments pushed to browsers, by meeting pk."""
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(live, "push", lambda meeting_id, html, seq=0: sent.append((meeting_id, html)))
    return sent


@pytest.fixture
def planning_meeting(db, user, planning_turns):
    meeting = MeetingFactory(owner=user, started_at=STARTED)
    people = {key: ParticipantFactory(meeting=meeting, display_name=name) for key, name in NAMES.items()}
    for number, turn in enumerate(planning_turns, start=1):
        TranscriptSegmentFactory(
            meeting=meeting,
            participant=people[turn["speaker"]],
            speaker_name=NAMES[turn["speaker"]],
            source_key=f"zoom-{number}",
            text=turn["text"],
            start_ms=int(turn["start"] * 1000),
            end_ms=int(turn["end"] * 1000),
        )
    return meeting


@pytest.fixture
def eager_retries(monkeypatch):
    """Let Celery's eager mode run retries in place (with eager_propagates the Retry escapes)."""
    from meetings.tasks import summary_generate as summary_generate_task

    monkeypatch.setitem(summary_generate_task.app.conf, "task_eager_propagates", False)


def segment_pk(meeting: Meeting, text_start: str) -> int:
    return meeting.segments.get(text__startswith=text_start).pk


def openai_settings(settings, server) -> None:
    settings.SUMMARY_BACKEND = "openai"
    settings.SUMMARY_OPENAI_BASE_URL = server.base_url
    settings.SUMMARY_OPENAI_MODEL = "stub-model"
    settings.SUMMARY_TIMEOUT_SECONDS = 5.0


@pytest.mark.django_db
def test_meeting_end_summarizes_with_grounded_action_items(
    planning_meeting, pushed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting_end(meeting=planning_meeting)

    summary = Summary.objects.get(meeting=planning_meeting)
    assert (summary.kind, summary.status, summary.backend) == ("final", "ready", "offline")
    assert summary.model == "extractive notes"
    assert summary.duration_ms is not None
    assert summary.completed_at is not None
    items = {item.text: item for item in ActionItem.objects.filter(summary=summary).select_related("owner")}
    patch = items["Write the patch today."]
    assert (patch.owner.display_name, patch.owner_kind) == ("Bob", ActionItem.OwnerKind.SPEAKER)
    assert patch.due_date == dt.date(2026, 11, 20)
    assert patch.source_segment_id == segment_pk(planning_meeting, "Yes, I think so")
    assert patch.source_segment.text.find("write the patch today") > 0  # grounded in its segment
    estimate = items["Send me the updated estimate by Wednesday."]
    assert (estimate.owner.display_name, estimate.due_date) == ("Bob", dt.date(2026, 11, 25))
    assert estimate.owner_kind == ActionItem.OwnerKind.ADDRESSEE  # Bob answered "Will do."
    maria = items["Ask Maria to review it tomorrow morning."]
    assert (maria.owner, maria.owner_name, maria.due_date) == (None, "Maria", dt.date(2026, 11, 21))
    assert maria.owner_kind == ActionItem.OwnerKind.THIRD_PARTY
    summary_html = [html for _pk, html in pushed if 'id="summary"' in html]
    assert summary_html
    assert 'hx-swap-oob="true"' in summary_html[-1]
    assert "Action items" in summary_html[-1]
    assert f'href="#segment-{patch.source_segment_id}"' in summary_html[-1]


@pytest.mark.django_db
def test_ready_summary_is_not_regenerated(planning_meeting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        summary = summary_request(meeting=planning_meeting)
    summary.refresh_from_db()
    first_items = list(ActionItem.objects.filter(summary=summary).values_list("pk", flat=True))

    assert service.summary_generate(summary_id=summary.pk) is None  # a redelivered task
    with django_capture_on_commit_callbacks(execute=True):
        assert summary_request(meeting=planning_meeting).pk == summary.pk  # same revision: same row

    again = Summary.objects.get(pk=summary.pk)
    assert (again.status, again.completed_at) == ("ready", summary.completed_at)
    assert list(ActionItem.objects.filter(summary=summary).values_list("pk", flat=True)) == first_items


@pytest.mark.django_db
def test_summary_running_elsewhere_is_not_duplicated_unless_stale(planning_meeting):
    now = timezone.now()
    summary = Summary.objects.create(meeting=planning_meeting, status=Summary.Status.RUNNING, started_at=now)

    assert service.summary_generate(summary_id=summary.pk) is None
    summary.refresh_from_db()
    assert (summary.status, summary.started_at) == ("running", now)

    Summary.objects.filter(pk=summary.pk).update(started_at=now - dt.timedelta(hours=1))  # worker died
    assert service.summary_generate(summary_id=summary.pk).status == "ready"


@pytest.mark.django_db
@pytest.mark.parametrize("texts", [[], ["Hello?"]], ids=["empty", "one-line"])
def test_too_little_transcript_is_insufficient(meeting, texts, pushed, django_capture_on_commit_callbacks):
    for number, text in enumerate(texts):
        TranscriptSegmentFactory(meeting=meeting, text=text, source_key=f"k{number}")

    with django_capture_on_commit_callbacks(execute=True):
        summary = summary_request(meeting=meeting)

    summary.refresh_from_db()
    assert summary.status == "insufficient"
    assert "Not enough to summarize" in summary.note
    assert not summary.overview
    assert not summary.action_items.exists()
    assert "Not enough to summarize" in pushed[-1][1]


@pytest.mark.django_db
def test_zoom_track_is_preferred_and_whisper_used_without_it(meeting):
    TranscriptSegmentFactory(meeting=meeting, source="whisper", text="whisper words", start_ms=0)
    TranscriptSegmentFactory(meeting=meeting, source="whisper", text="partial", start_ms=10, is_final=False)
    assert [u.text for u in service.transcript_utterances(meeting=meeting)] == ["whisper words"]

    TranscriptSegmentFactory(meeting=meeting, source="zoom", text="zoom words", start_ms=5)
    assert [u.text for u in service.transcript_utterances(meeting=meeting)] == ["zoom words"]

    Meeting.objects.filter(pk=meeting.pk).update(transcript_mode=Meeting.TranscriptMode.WHISPER)
    meeting.refresh_from_db()
    assert [u.text for u in service.transcript_utterances(meeting=meeting)] == ["whisper words"]


@pytest.mark.django_db
def test_llm_summary_is_stored_with_backend_and_model(
    planning_meeting, settings, openai_server, django_capture_on_commit_callbacks
):
    openai_settings(settings, openai_server)
    answer = {
        "overview": "Release planning.",
        "key_points": [],
        "decisions": [
            {"text": "Budget approved.", "segment_ids": [segment_pk(planning_meeting, "Then let's")]}
        ],
        "action_items": [
            {
                "text": "Write the patch.",
                "owner": "Bob",
                "due": "today",
                "segment_ids": [segment_pk(planning_meeting, "Yes, I think")],
            }
        ],
        "topics": [],
    }
    openai_server.script = [{"content": json.dumps(answer)}]

    with django_capture_on_commit_callbacks(execute=True):
        summary = summary_request(meeting=planning_meeting)

    summary.refresh_from_db()
    assert (summary.status, summary.backend, summary.model, summary.note) == (
        "ready",
        "openai",
        "stub-model",
        "",
    )
    item = summary.action_items.get()
    assert (item.owner.display_name, item.due_date) == ("Bob", dt.date(2026, 11, 20))


@pytest.mark.django_db
def test_invalid_llm_answer_falls_back_to_offline_and_says_so(
    planning_meeting, settings, openai_server, pushed, django_capture_on_commit_callbacks
):
    openai_settings(settings, openai_server)
    openai_server.script = [{"content": "I cannot produce JSON today."}]

    with django_capture_on_commit_callbacks(execute=True):
        summary = summary_request(meeting=planning_meeting)

    summary.refresh_from_db()
    assert (summary.status, summary.backend) == ("ready", "offline")
    assert "offline summary instead" in summary.note
    assert summary.action_items.count() >= 3
    assert "offline summary instead" in pushed[-1][1]
    assert len(openai_server.requests) == 1  # a bad answer is not retried


@pytest.mark.django_db
def test_transient_llm_errors_are_retried_then_fall_back(
    eager_retries, planning_meeting, settings, openai_server, django_capture_on_commit_callbacks
):
    openai_settings(settings, openai_server)
    openai_server.script = [{"status": 500}]

    with django_capture_on_commit_callbacks(execute=True):
        summary = summary_request(meeting=planning_meeting)

    summary.refresh_from_db()
    assert len(openai_server.requests) == 4  # the first try + max_retries=3
    assert (summary.status, summary.backend) == ("ready", "offline")
    assert "HTTP 500" in summary.note


@pytest.mark.django_db
def test_a_transient_error_then_success_stores_the_llm_summary(
    eager_retries, planning_meeting, settings, openai_server, django_capture_on_commit_callbacks
):
    openai_settings(settings, openai_server)
    openai_server.script = [
        {"status": 503},
        {
            "content": json.dumps(
                {"overview": "Planning.", "key_points": [], "decisions": [], "action_items": [], "topics": []}
            )
        },
    ]

    with django_capture_on_commit_callbacks(execute=True):
        summary = summary_request(meeting=planning_meeting)

    summary.refresh_from_db()
    assert (summary.status, summary.backend, summary.overview) == ("ready", "openai", "Planning.")
    assert len(openai_server.requests) == 2


@pytest.mark.django_db
def test_transient_error_releases_the_claim_for_the_retry(planning_meeting, settings, openai_server):
    openai_settings(settings, openai_server)
    openai_server.script = [{"status": 500}]
    summary = Summary.objects.create(meeting=planning_meeting)

    with pytest.raises(service.TransientSummaryError):
        service.summary_generate(summary_id=summary.pk, allow_retry=True)

    summary.refresh_from_db()
    assert (summary.status, summary.started_at) == ("pending", None)


@pytest.mark.django_db
def test_regenerate_resets_a_ready_summary(planning_meeting, django_capture_on_commit_callbacks):
    Meeting.objects.filter(pk=planning_meeting.pk).update(
        status=Meeting.Status.ENDED, ended_at=timezone.now()
    )
    planning_meeting.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        first = service.summary_regenerate(meeting=planning_meeting)
    first.refresh_from_db()
    assert (first.kind, first.status) == ("final", "ready")

    with django_capture_on_commit_callbacks(execute=True):
        again = service.summary_regenerate(meeting=planning_meeting)

    again.refresh_from_db()
    assert again.pk == first.pk
    assert again.status == "ready"
    assert again.completed_at > first.completed_at
    assert again.action_items.count() == first.action_items.count()  # replaced, not duplicated


@pytest.mark.django_db
def test_summarize_button_for_htmx(client, user, planning_meeting, django_capture_on_commit_callbacks):
    client.force_login(user)
    url = reverse("meetings:summarize", kwargs={"public_id": planning_meeting.public_id})

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert 'id="summary"' in response.content.decode()
    assert "Summarizing" in response.content.decode()
    assert callbacks  # the task is enqueued on commit
    summary = Summary.objects.get(meeting=planning_meeting)
    assert summary.kind == "running"  # the meeting is still live


@pytest.mark.django_db
def test_summarize_button_without_htmx_redirects(client, user, planning_meeting):
    client.force_login(user)
    url = reverse("meetings:summarize", kwargs={"public_id": planning_meeting.public_id})

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"].endswith("#summary")


@pytest.mark.django_db
def test_summarize_button_access(client, planning_meeting, other_user):
    url = reverse("meetings:summarize", kwargs={"public_id": planning_meeting.public_id})
    assert client.post(url).status_code == 302  # anonymous: to the login page

    client.force_login(other_user)
    assert client.post(url).status_code == 404  # someone else's meeting
    assert client.get(url).status_code == 405
    assert not Summary.objects.exists()


@pytest.mark.django_db
def test_summarize_button_checks_csrf(user, planning_meeting):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(reverse("meetings:summarize", kwargs={"public_id": planning_meeting.public_id}))

    assert response.status_code == 403


@pytest.mark.django_db
def test_admin_action_regenerates(client, planning_meeting, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:meetings_meeting_changelist"),
            {"action": "regenerate_summary", "_selected_action": [planning_meeting.pk]},
        )

    assert response.status_code == 302
    assert Summary.objects.get(meeting=planning_meeting).status == "ready"


@pytest.mark.django_db
def test_running_summary_is_requested_every_interval(
    settings, planning_meeting, django_capture_on_commit_callbacks
):
    settings.SUMMARY_RUNNING_INTERVAL_MINUTES = 5
    Meeting.objects.filter(pk=planning_meeting.pk).update(last_seq=12)
    now = STARTED + dt.timedelta(minutes=3)
    assert service.summary_running_request_if_due(meeting=planning_meeting, now=now) is None  # too early

    with django_capture_on_commit_callbacks(execute=True):
        first = service.summary_running_request_if_due(
            meeting=planning_meeting, now=STARTED + dt.timedelta(minutes=6)
        )
    assert first.kind == "running"
    assert first.transcript_revision == 12
    Summary.objects.filter(pk=first.pk).update(created_at=STARTED + dt.timedelta(minutes=6))

    later = STARTED + dt.timedelta(minutes=20)
    assert service.summary_running_request_if_due(meeting=planning_meeting, now=later) is None  # no new talk
    Meeting.objects.filter(pk=planning_meeting.pk).update(last_seq=20)
    with django_capture_on_commit_callbacks(execute=True):
        second = service.summary_running_request_if_due(meeting=planning_meeting, now=later)
    assert second.transcript_revision == 20
    assert Summary.objects.get(pk=second.pk).status == "ready"

    settings.SUMMARY_RUNNING_INTERVAL_MINUTES = 0
    assert service.summary_running_request_if_due(meeting=planning_meeting, now=later) is None


def test_task_retries_only_transient_errors_a_bounded_number_of_times():
    from django.db import OperationalError

    from meetings.tasks import summary_generate as summary_generate_task

    assert set(summary_generate_task.autoretry_for) == {service.TransientSummaryError, OperationalError}
    assert summary_generate_task.max_retries == 3
    assert summary_generate_task.retry_backoff
    assert summary_generate_task.retry_jitter
    assert summary_generate_task.acks_late
    assert (
        summary_generate_task.soft_time_limit
        < summary_generate_task.time_limit
        < service.RUNNING_STALE_SECONDS
    )


def test_meeting_page_shows_the_summary_with_segment_links(
    client, user, planning_meeting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        summary = summary_request(meeting=planning_meeting)
    client.force_login(user)

    page = client.get(planning_meeting.get_absolute_url()).content.decode()

    assert 'id="summary"' in page
    assert "Decisions" in page
    assert "Action items" in page
    item = summary.action_items.exclude(source_segment=None).first()
    assert f'href="#segment-{item.source_segment_id}"' in page
    assert f'id="segment-{item.source_segment_id}"' in page  # the anchor exists on the page
    assert reverse("meetings:summarize", kwargs={"public_id": planning_meeting.public_id}) in page

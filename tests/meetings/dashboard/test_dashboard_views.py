"""Dashboard pages: login, access, filters, the big-meeting first paint (meetings/views.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from meetings.models import Meeting, TranscriptSegment
from tests.factories import ChatMessageFactory, MeetingFactory, TranscriptSegmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, user):
    client.force_login(user)
    return client


def test_pages_need_a_login(client, meeting):
    response = client.get(reverse("meetings:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get(meeting.get_absolute_url()).status_code == 302


def test_login_page_logs_in_and_logout_logs_out(client, user):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": user.username, "password": "pw-for-tests"})
    assert response.status_code == 302
    assert client.get(reverse("meetings:list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("meetings:list")).status_code == 302


def test_someone_elses_meeting_is_404(client, meeting, other_user):
    client.force_login(other_user)
    assert client.get(meeting.get_absolute_url()).status_code == 404
    url = reverse("meetings:transcript-earlier", kwargs={"public_id": meeting.public_id})
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 404


def test_shared_user_and_staff_open_the_meeting(client, meeting):
    friend = UserFactory()
    meeting.shared_with.add(friend)
    for user in (friend, UserFactory(is_staff=True)):
        client.force_login(user)
        assert client.get(meeting.get_absolute_url()).status_code == 200


def test_list_shows_visible_meetings_with_status_and_participants(owner_client, user):
    mine = MeetingFactory(owner=user, topic="Design review")
    MeetingFactory(topic="Not yours")

    content = owner_client.get(reverse("meetings:list")).content.decode()

    assert "Design review" in content
    assert "Not yours" not in content
    assert f'id="meeting-{mine.pk}"' in content
    assert 'ws-connect="/ws/meetings/"' in content
    assert "0 participants" in content


def test_list_filters_by_status_date_and_topic(owner_client, user):
    today = timezone.now()
    MeetingFactory(owner=user, topic="Budget sync", started_at=today - dt.timedelta(minutes=1))
    MeetingFactory(
        owner=user,
        topic="Budget retro",
        status=Meeting.Status.ENDED,
        started_at=today - dt.timedelta(days=3),
        ended_at=today - dt.timedelta(days=3) + dt.timedelta(hours=1),
    )
    MeetingFactory(owner=user, topic="Hiring", started_at=today - dt.timedelta(minutes=2))

    def topics(**params):
        response = owner_client.get(reverse("meetings:list"), params)
        return sorted(m.topic for m in response.context["meetings"])

    assert topics() == ["Budget retro", "Budget sync", "Hiring"]
    assert topics(status="live") == ["Budget sync", "Hiring"]
    assert topics(status="ended") == ["Budget retro"]
    assert topics(q="budget") == ["Budget retro", "Budget sync"]
    assert topics(date=(today - dt.timedelta(days=3)).date().isoformat()) == ["Budget retro"]
    assert topics(status="bogus", date="not-a-date") == ["Budget retro", "Budget sync", "Hiring"]


def test_meeting_page_marks_source_and_partial_and_escapes_user_text(owner_client, meeting):
    TranscriptSegmentFactory(meeting=meeting, source=TranscriptSegment.Source.ZOOM, text="Zoom says hi")
    TranscriptSegmentFactory(
        meeting=meeting, source=TranscriptSegment.Source.WHISPER, text="still talking", is_final=False
    )
    ChatMessageFactory(meeting=meeting, text="<script>alert(1)</script>")

    content = owner_client.get(meeting.get_absolute_url()).content.decode()

    assert "segment source-zoom final" in content
    assert "segment source-whisper partial" in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)</script>" not in content
    assert f'data-last-seq="{meeting.last_seq}"' in content
    assert f'ws-connect="/ws/meetings/{meeting.public_id}/"' in content
    assert 'id="stream-health"' in content
    assert 'id="summary"' in content


def test_big_meeting_first_paint_shows_the_latest_window_in_bounded_queries(
    owner_client, meeting, django_assert_max_num_queries
):
    TranscriptSegment.objects.bulk_create(
        TranscriptSegment(
            meeting=meeting,
            source="zoom",
            source_key=f"k{i}",
            seq=i + 1,
            speaker_name=f"Speaker {i % 4}",
            text=f"Sentence {i}.",
            start_ms=i * 1000,
            end_ms=i * 1000 + 800,
        )
        for i in range(5000)
    )
    Meeting.objects.filter(pk=meeting.pk).update(last_seq=5000)

    # One query per panel whatever the meeting's size (session, user, meeting, lines, chat, timeline,
    # participants, talk time, summary, action items, transcription progress and lag, speaker
    # names, bookmarks, recordings, share links): 21 today.
    with django_assert_max_num_queries(24):
        response = owner_client.get(meeting.get_absolute_url())

    content = response.content.decode()
    assert content.count('class="segment ') == 200
    assert "Sentence 4999." in content
    assert "Sentence 4799." not in content
    assert "Load earlier transcript" in content
    assert len(response.context["talk_time"]) == 4


def test_load_earlier_returns_the_previous_page_as_a_fragment_and_as_a_page(owner_client, meeting):
    segments = [TranscriptSegmentFactory(meeting=meeting, start_ms=i * 1000) for i in range(250)]
    cursor = f"{segments[50].start_ms}.{segments[50].pk}"
    url = reverse("meetings:transcript-earlier", kwargs={"public_id": meeting.public_id})

    fragment = owner_client.get(url, {"before": cursor}, headers={"HX-Request": "true"})
    page = owner_client.get(url, {"before": cursor})

    body = fragment.content.decode()
    assert "<html" not in body
    assert body.count('class="segment ') == 50
    assert f'id="segment-{segments[0].pk}"' in body
    assert f'id="segment-{segments[50].pk}"' not in body
    assert "Load earlier" not in body
    assert "<html" in page.content.decode()
    assert "ws-connect" not in page.content.decode()  # an earlier page is not live

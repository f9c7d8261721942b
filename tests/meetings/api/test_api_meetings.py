"""The meeting endpoints: list (pagination, filters), detail, audio, delete, summarize, retranscribe."""

from __future__ import annotations

import datetime as dt
import wave
from pathlib import Path

import pytest
from django.utils import timezone

from meetings.models import ActionItem, AudioRecording, Meeting, Summary, TranscriptSegment
from meetings.services import lifecycle
from tests.factories import (
    ChatMessageFactory,
    MeetingFactory,
    ParticipantEventFactory,
    ParticipantFactory,
    StreamFactory,
    TranscriptSegmentFactory,
)


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_DIR = settings.MEDIA_ROOT / "recordings"
    return settings.MEDIA_ROOT


def write_wav(path: Path, *, samples: int = 1600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x01\x00" * samples)


@pytest.mark.django_db
def test_list_is_paginated_with_limit_and_offset(api, user):
    for _ in range(5):
        MeetingFactory(owner=user)
    page = api.get("/api/meetings/?limit=2").json()
    assert page["count"] == 5
    assert len(page["results"]) == 2
    assert page["next"].endswith("limit=2&offset=2")
    rest = api.get("/api/meetings/?limit=2&offset=4").json()
    assert len(rest["results"]) == 1
    assert rest["next"] is None


@pytest.mark.django_db
def test_list_filters_by_status_date_range_and_search(api, user):
    now = timezone.now()
    old = MeetingFactory(owner=user, topic="Budget review", started_at=now - dt.timedelta(days=10))
    old.status = Meeting.Status.ENDED
    old.ended_at = old.started_at + dt.timedelta(hours=1)
    old.save()
    live = MeetingFactory(owner=user, topic="Design sync", started_at=now - dt.timedelta(hours=1))

    def ids(query: str) -> set[str]:
        response = api.get("/api/meetings/" + query)
        assert response.status_code == 200, response.content
        return {m["id"] for m in response.json()["results"]}

    assert ids("?status=live") == {str(live.public_id)}
    assert ids("?status=ended") == {str(old.public_id)}
    after = (now - dt.timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert ids(f"?started_after={after}") == {str(live.public_id)}
    assert ids(f"?started_before={after}") == {str(old.public_id)}
    assert ids("?search=budget") == {str(old.public_id)}
    assert api.get("/api/meetings/?status=nope").status_code == 400
    assert api.get("/api/meetings/?started_after=yesterday").status_code == 400


@pytest.mark.django_db
def test_detail_has_participants_streams_summary_and_action_items(api, meeting):
    alice = ParticipantFactory(meeting=meeting, display_name="Alice")
    StreamFactory(meeting=meeting, rtms_stream_id="s1", state="stopped", stop_reason=6)
    StreamFactory(meeting=meeting, rtms_stream_id="s2", state="active")
    segment = TranscriptSegmentFactory(meeting=meeting, text="Alice will send the budget.")
    summary = Summary.objects.create(
        meeting=meeting,
        status=Summary.Status.READY,
        overview="We agreed on a budget.",
        decisions=[{"text": "Budget approved", "segment_ids": [segment.pk]}],
    )
    ActionItem.objects.create(
        summary=summary,
        meeting=meeting,
        text="Send the budget",
        owner=alice,
        owner_name="Alice",
        due_text="Friday",
    )
    data = api.get(f"/api/meetings/{meeting.public_id}/").json()
    assert data["id"] == str(meeting.public_id)
    assert [p["display_name"] for p in data["participants"]] == ["Alice"]
    streams = {s["rtms_stream_id"]: s for s in data["streams"]}
    assert streams["s1"]["state"] == "stopped"
    assert streams["s1"]["stop_reason"] == 6
    assert streams["s2"]["stop_reason"] is None
    assert data["summary"]["overview"] == "We agreed on a budget."
    assert data["summary"]["decisions"] == [{"text": "Budget approved", "segment_ids": [segment.pk]}]
    assert data["action_items"][0]["owner_name"] == "Alice"
    assert data["action_items"][0]["owner_participant_id"] == alice.pk
    assert data["links"]["export"] == f"/api/meetings/{meeting.public_id}/export/"


@pytest.mark.django_db
def test_chat_and_events_pages(api, meeting):
    ChatMessageFactory(meeting=meeting, seq=3, text="hi all")
    ParticipantEventFactory(meeting=meeting, seq=4)
    chat = api.get(f"/api/meetings/{meeting.public_id}/chat/").json()
    assert [m["text"] for m in chat["results"]] == ["hi all"]
    assert chat["next_after_seq"] == 3
    assert api.get(f"/api/meetings/{meeting.public_id}/chat/?after_seq=3").json()["results"] == []
    events = api.get(f"/api/meetings/{meeting.public_id}/events/?after_seq=0").json()
    assert [e["kind"] for e in events["results"]] == ["join"]
    assert api.get(f"/api/meetings/{meeting.public_id}/events/?after_seq=-1").status_code == 400


@pytest.mark.django_db
def test_audio_serves_the_mixed_wav_or_a_participant_track(api, meeting, media_root):
    alice = ParticipantFactory(meeting=meeting, zoom_user_id="16778240")
    write_wav(media_root / "recordings/m1/mixed.wav", samples=1600)
    write_wav(media_root / "recordings/m1/alice.wav", samples=800)
    AudioRecording.objects.create(
        meeting=meeting, stream_key="s1", kind="mixed", path="recordings/m1/mixed.wav"
    )
    AudioRecording.objects.create(
        meeting=meeting,
        stream_key="s1",
        kind="participant",
        participant=alice,
        path="recordings/m1/alice.wav",
    )
    response = api.get(f"/api/meetings/{meeting.public_id}/audio/")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    body = b"".join(response.streaming_content)
    assert body[:4] == b"RIFF"
    assert len(body) == 44 + 3200
    for key in ("16778240", str(alice.pk)):
        track = api.get(f"/api/meetings/{meeting.public_id}/audio/?participant={key}")
        assert track.status_code == 200
        assert len(b"".join(track.streaming_content)) == 44 + 1600
    assert api.get(f"/api/meetings/{meeting.public_id}/audio/?participant=999").status_code == 404


@pytest.mark.django_db
def test_audio_is_404_without_a_recording_or_with_a_missing_file(api, meeting, media_root):
    assert api.get(f"/api/meetings/{meeting.public_id}/audio/").status_code == 404
    AudioRecording.objects.create(meeting=meeting, stream_key="s1", kind="mixed", path="recordings/gone.wav")
    assert api.get(f"/api/meetings/{meeting.public_id}/audio/").status_code == 404
    AudioRecording.objects.filter(meeting=meeting).update(path="../../etc/passwd")
    assert api.get(f"/api/meetings/{meeting.public_id}/audio/").status_code == 404


@pytest.mark.backends
@pytest.mark.django_db(transaction=True)
def test_delete_removes_rows_and_audio_files(api, user, media_root):
    meeting = MeetingFactory(owner=user, status=Meeting.Status.ENDED, ended_at=timezone.now())
    keep = MeetingFactory(owner=user)
    write_wav(media_root / "recordings/m1/mixed.wav")
    write_wav(media_root / "recordings/keep/mixed.wav")
    AudioRecording.objects.create(
        meeting=meeting, stream_key="s1", kind="mixed", path="recordings/m1/mixed.wav"
    )
    AudioRecording.objects.create(
        meeting=keep, stream_key="s2", kind="mixed", path="recordings/keep/mixed.wav"
    )
    TranscriptSegmentFactory(meeting=meeting)
    StreamFactory(meeting=meeting)
    response = api.delete(f"/api/meetings/{meeting.public_id}/")
    assert response.status_code == 204
    assert not Meeting.objects.filter(pk=meeting.pk).exists()
    assert not TranscriptSegment.objects.filter(meeting_id=meeting.pk).exists()
    assert not (media_root / "recordings/m1/mixed.wav").exists()
    assert not (media_root / "recordings/m1").exists()  # emptied folder removed
    assert (media_root / "recordings/keep/mixed.wav").exists()
    assert api.get(f"/api/meetings/{meeting.public_id}/").status_code == 404


@pytest.mark.django_db
def test_summarize_is_accepted_with_a_status_url(api, meeting, django_capture_on_commit_callbacks):
    TranscriptSegmentFactory(meeting=meeting)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(f"/api/meetings/{meeting.public_id}/summarize/")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["status_url"] == f"/api/meetings/{meeting.public_id}/summary/"
    assert response["Location"] == body["status_url"]
    assert len(callbacks) == 1  # the summary task, enqueued on commit
    assert (
        api.post(f"/api/meetings/{meeting.public_id}/summarize/").json()["summary_id"] == body["summary_id"]
    )
    status = api.get(body["status_url"]).json()
    assert status["id"] == body["summary_id"]
    assert status["status"] == "pending"


@pytest.mark.django_db
def test_retranscribe_enqueues_the_transcription_task_by_name(
    api, meeting, monkeypatch, django_capture_on_commit_callbacks
):
    from rtms_assistant.celery import app

    calls = []

    class FakeTask:
        def apply_async(self, args, countdown=None):
            calls.append(tuple(args))

    monkeypatch.setitem(app.tasks, lifecycle.RETRANSCRIBE_TASK, FakeTask())
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/meetings/{meeting.public_id}/retranscribe/")
    assert response.status_code == 202
    assert response.json()["status_url"] == f"/api/meetings/{meeting.public_id}/transcript/?source=whisper"
    assert calls == [(meeting.pk,)]


@pytest.mark.django_db
def test_retranscribe_is_503_when_the_task_is_not_registered(api, meeting, monkeypatch):
    monkeypatch.setattr(lifecycle, "RETRANSCRIBE_TASK", "transcription.tasks.no_such_task")
    response = api.post(f"/api/meetings/{meeting.public_id}/retranscribe/")
    assert response.status_code == 503


@pytest.mark.django_db
def test_retranscribe_task_is_registered_by_the_transcription_app():
    import jobs

    assert jobs.task(lifecycle.RETRANSCRIBE_TASK).name == lifecycle.RETRANSCRIBE_TASK


@pytest.mark.django_db
def test_schema_and_docs_pages_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/meetings/{public_id}/transcript/" in paths
    assert "Token" in str(schema.json()["components"]["securitySchemes"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn.jsdelivr" not in html


def test_openapi_schema_generates_without_warnings_and_validates(tmp_path, capsys):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    output = capsys.readouterr()
    assert "Error" not in output.out + output.err  # e.g. a view whose schema could not be built
    text = (tmp_path / "schema.yaml").read_text()
    for operation in ("meetings_export", "meetings_transcript", "meetings_destroy", "search"):
        assert f"operationId: {operation}" in text


@pytest.mark.django_db
def test_a_live_meeting_cannot_be_deleted(api, meeting):
    response = api.delete(f"/api/meetings/{meeting.public_id}/")
    assert response.status_code == 409
    assert Meeting.objects.filter(pk=meeting.pk).exists()

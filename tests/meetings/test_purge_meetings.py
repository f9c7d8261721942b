"""Retention: ``purge_meetings`` and its Celery beat task delete old meetings and their audio."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from meetings.models import AudioRecording, Meeting, TranscriptSegment
from meetings.tasks import meetings_purge_expired
from tests.factories import MeetingFactory, TranscriptSegmentFactory

pytestmark = pytest.mark.backends  # visibility queries and cascades, on PostgreSQL too


@pytest.fixture
def aged(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDINGS_DIR = settings.MEDIA_ROOT / "recordings"
    now = timezone.now()

    def make(days: float, *, live: bool = False) -> Meeting:
        started = now - dt.timedelta(days=days)
        meeting = MeetingFactory(started_at=started)
        if not live:
            Meeting.objects.filter(pk=meeting.pk).update(
                status="ended", ended_at=started + dt.timedelta(hours=1)
            )
        relative = f"recordings/{meeting.public_id}/mixed.wav"
        path = settings.MEDIA_ROOT / relative
        path.parent.mkdir(parents=True)
        path.write_bytes(b"RIFF")
        AudioRecording.objects.create(meeting=meeting, stream_key="s", kind="mixed", path=relative)
        TranscriptSegmentFactory(meeting=meeting)
        return meeting

    return make


def exists(meeting: Meeting) -> bool:
    return Meeting.objects.filter(pk=meeting.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_purge_deletes_old_meetings_with_their_audio_and_keeps_the_rest(aged, settings):
    old, recent, old_but_live = aged(40), aged(5), aged(90, live=True)
    out = StringIO()
    call_command("purge_meetings", "--older-than-days", "30", stdout=out)
    assert not exists(old)
    assert exists(recent)
    assert exists(old_but_live)
    assert not TranscriptSegment.objects.filter(meeting_id=old.pk).exists()
    assert not (settings.MEDIA_ROOT / f"recordings/{old.public_id}").exists()
    assert (settings.MEDIA_ROOT / f"recordings/{recent.public_id}/mixed.wav").exists()
    assert "deleted 1 meeting(s) older than 30 day(s)" in out.getvalue()


@pytest.mark.django_db
def test_dry_run_deletes_nothing(aged):
    old = aged(40)
    out = StringIO()
    call_command("purge_meetings", "--older-than-days", "30", "--dry-run", stdout=out)
    assert exists(old)
    assert f"would delete {old.public_id}" in out.getvalue()


@pytest.mark.django_db
def test_days_are_required_and_positive(settings):
    settings.RETENTION_DAYS = 0
    with pytest.raises(CommandError):
        call_command("purge_meetings")
    with pytest.raises(CommandError):
        call_command("purge_meetings", "--older-than-days", "0")


@pytest.mark.django_db(transaction=True)
def test_beat_task_uses_retention_days_and_is_scheduled(aged, settings):
    old, recent = aged(10), aged(1)
    settings.RETENTION_DAYS = 0
    assert meetings_purge_expired() == 0
    assert exists(old)
    settings.RETENTION_DAYS = 7
    assert meetings_purge_expired() == 1
    assert not exists(old)
    assert exists(recent)
    assert settings.CELERY_BEAT_SCHEDULE["meetings-purge-expired"]["task"] == meetings_purge_expired.name

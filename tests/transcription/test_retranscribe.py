"""Re-transcription after the meeting (real model): a Whisper track beside Zoom's, rebuilt from
the stored recordings; the admin action that queues it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from meetings.models import TranscriptSegment
from meetings.services.transcript import transcript_segment_record
from tests.factories import ParticipantFactory
from transcription.audio import read_wav
from transcription.retranscribe import recording_retranscribe

from .conftest import make_recording, pad

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_retranscribe_builds_a_whisper_track_beside_zoom_and_replaces_live_whisper(
    media, meeting, jfk, speech_dir, faster_engine
):
    alice = ParticipantFactory(meeting=meeting, display_name="Alice")
    bob = ParticipantFactory(meeting=meeting, display_name="Bob")
    libri, _ = read_wav(speech_dir / "librispeech_2412-153948-0000.wav")
    rec_a = make_recording(media, meeting, alice, pad(jfk[0], 0.5, 13.0))
    make_recording(media, meeting, bob, pad(libri, 12.0, 0.5))
    zoom, _ = transcript_segment_record(
        meeting=meeting, source="zoom", source_key="z1", text="Zoom says hello", start_ms=0
    )
    transcript_segment_record(
        meeting=meeting, source="whisper", source_key=f"w:{rec_a.pk}:0", text="old live text", start_ms=0
    )
    call_command("retranscribe", str(meeting.public_id), "--no-progress")
    whisper = TranscriptSegment.objects.filter(meeting=meeting, source="whisper").order_by("start_ms")
    assert not whisper.filter(source_key__startswith="w:").exists()  # live Whisper replaced
    assert {s.speaker_name for s in whisper} == {"Alice", "Bob"}
    assert whisper.first().speaker_name == "Alice"
    assert all(s.source_key.startswith("rt:") and s.is_final for s in whisper)
    assert TranscriptSegment.objects.filter(pk=zoom.pk, text="Zoom says hello").exists()
    keys = sorted(whisper.values_list("source_key", flat=True))
    progress = []
    result = recording_retranscribe(meeting_id=meeting.pk, progress=lambda d, t: progress.append((d, t)))
    assert sorted(whisper.values_list("source_key", flat=True)) == keys  # re-running converges
    assert result.segments == len(keys)
    assert result.removed == 0
    assert progress[-1][0] == progress[-1][1] > 20


def test_retranscribe_skips_an_unreadable_recording(media, meeting, jfk, faster_engine):
    good = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    bad = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    (media / bad.path).write_bytes(b"garbage")
    result = recording_retranscribe(meeting_id=meeting.pk)
    assert result.failed_recordings == 1
    assert result.segments >= 1
    assert set(TranscriptSegment.objects.values_list("participant", flat=True)) == {good.participant_id}


def test_admin_action_queues_retranscription(meeting, admin_client, django_capture_on_commit_callbacks):
    from django.urls import reverse

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:meetings_meeting_changelist"),
            {"action": "retranscribe_with_whisper", "_selected_action": [meeting.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert b"Whisper re-transcription queued for 1 meeting" in response.content
    assert len(callbacks) == 1

"""An ended meeting's final summary waits for its Whisper windows (issue 17, "complete before Ready").

The meeting ends with windows still pending: the final summary is created but waits; the page,
the pushes and the API show the seconds of audio left; the last window (transcribed, empty,
skipped or failed) enqueues it, once. A re-transcription holds it back the same way.
Celery runs eagerly on commit (test settings), so "enqueued" means "generated" here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db.models import Max
from django.utils import timezone

from meetings import fragments, live, transcription
from meetings.models import Meeting, Summary, TranscriptSegment
from meetings.services.meetings import meeting_end
from meetings.services.summaries import summary_request
from meetings.services.transcript import transcript_segment_record
from meetings.summarizer import service as summarizer_service
from tests.factories import ParticipantFactory
from transcription.models import AudioWindow, Retranscription
from transcription.retranscribe import recording_retranscribe
from transcription.windows import audio_window_create, audio_window_transcribe

from .conftest import make_recording, spec_for

pytestmark = [pytest.mark.django_db, pytest.mark.backends]  # the gate relies on row locks: PostgreSQL too

W = AudioWindow.Status
LINES = [
    "We should use the rubber case for the remote control because it feels better.",
    "I will write the specification for the buttons by Friday and send it round.",
    "The price has to stay under twelve euros or marketing will not accept it.",
]


@pytest.fixture
def pushed(monkeypatch) -> list[str]:
    """HTML pushed to the meeting's browsers."""
    sent: list[str] = []
    monkeypatch.setattr(live, "push", lambda meeting_id, html, seq=0: sent.append(html))
    return sent


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run ``fn`` and then its on-commit callbacks (pushes, eager tasks), as a real commit would."""

    def run(fn, /, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), dtype=np.float32)


def zoom_lines(meeting) -> None:
    """A transcript worth summarizing (written like ingestion writes it: it takes seqs)."""
    for number, text in enumerate(LINES):
        transcript_segment_record(
            meeting=meeting, source="zoom", source_key=f"z{number}", text=text, start_ms=number * 5000
        )


def window(recording, stream, **kwargs) -> AudioWindow:
    """A queued window (its task is not run: it stays pending until the test transcribes it)."""
    return audio_window_create(spec=spec_for(recording, stream, **kwargs))


def finals(meeting) -> list[Summary]:
    return list(Summary.objects.filter(meeting=meeting, kind=Summary.Kind.FINAL))


def test_ending_with_pending_windows_does_not_summarize(media, meeting, stream, pushed, run_on_commit):
    zoom_lines(meeting)
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), silence(2.5))
    window(recording, stream)

    run_on_commit(meeting_end, meeting=meeting)

    [summary] = finals(meeting)
    assert (summary.status, summary.started_at, summary.completed_at) == ("pending", None, None)
    assert any("Transcribing — 3 s of audio left" in html for html in pushed)  # 2.5 s, rounded up
    assert any("Waiting for the transcript: 3 s of audio" in html for html in pushed)
    # Asking again (API, button) returns the waiting summary; the task itself refuses too.
    assert run_on_commit(summary_request, meeting=meeting).pk == summary.pk
    assert summarizer_service.summary_generate(summary_id=summary.pk) is None
    summary.refresh_from_db()
    assert summary.status == "pending"
    assert len(finals(meeting)) == 1


def test_the_last_window_finishing_enqueues_the_one_final_summary(
    media, meeting, stream, pushed, run_on_commit
):
    zoom_lines(meeting)
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), silence(3.0))
    first = window(recording, stream, byte_length=2 * 16000 * 2)  # 2 s
    second = window(recording, stream, byte_offset=2 * 16000 * 2)  # 1 s
    run_on_commit(meeting_end, meeting=meeting)
    pushed.clear()

    assert run_on_commit(audio_window_transcribe, window_id=first.pk) == W.EMPTY  # silence: no model
    [summary] = finals(meeting)
    assert summary.status == "pending"  # one window left
    assert any("Transcribing — 1 s of audio left" in html for html in pushed)  # updated live
    pushed.clear()

    assert run_on_commit(audio_window_transcribe, window_id=second.pk) == W.EMPTY

    [summary] = finals(meeting)
    assert summary.status == "ready"
    assert summary.overview
    assert not any("Transcribing —" in html for html in pushed)
    # The window redelivered, and a summary request after it: still exactly one final summary.
    assert run_on_commit(audio_window_transcribe, window_id=second.pk) == W.EMPTY
    assert run_on_commit(summary_request, meeting=meeting).pk == summary.pk
    assert len(finals(meeting)) == 1


def test_a_failed_window_counts_as_transcribed(media, meeting, stream, run_on_commit):
    zoom_lines(meeting)
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), silence(2.0))
    broken = window(recording, stream)
    (media / recording.path).unlink()  # the recording file is gone: the window fails
    run_on_commit(meeting_end, meeting=meeting)
    assert finals(meeting)[0].status == "pending"

    assert run_on_commit(audio_window_transcribe, window_id=broken.pk) == W.FAILED

    [summary] = finals(meeting)
    assert summary.status == "ready"


def test_page_and_api_show_the_seconds_left(media, meeting, stream, user, client, run_on_commit):
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), silence(6.5))
    window(recording, stream, byte_length=4 * 16000 * 2)  # 0-4 s
    window(recording, stream, byte_length=2 * 16000 * 2, is_final=False)  # its partial counts once
    window(recording, stream, byte_offset=4 * 16000 * 2)  # 4-6.5 s
    run_on_commit(meeting_end, meeting=meeting)
    client.force_login(user)

    page = client.get(meeting.get_absolute_url()).content.decode()
    detail = client.get(f"/api/meetings/{meeting.public_id}/").json()

    assert "Transcribing — 7 s of audio left" in page  # 4 s + 2.5 s, rounded up
    assert "Waiting for the transcript: 7 s of audio" in page
    assert detail["transcription_pending_seconds"] == 7
    assert detail["summary"]["status"] == "pending"


def test_a_window_abandoned_long_ago_does_not_hold_the_summary(media, meeting, stream, run_on_commit):
    zoom_lines(meeting)
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), silence(2.0))
    lost = window(recording, stream)
    AudioWindow.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - dt.timedelta(minutes=31))

    run_on_commit(meeting_end, meeting=meeting)

    assert transcription.pending_audio_ms(meeting_id=meeting.pk) == 0
    assert finals(meeting)[0].status == "ready"


@pytest.mark.slow
def test_whisper_text_stored_after_the_end_is_in_the_single_summary(
    media, meeting, stream, jfk, faster_engine, run_on_commit
):
    """The real model: the summary starts after the newest Whisper segment and covers it."""
    samples, _ = jfk
    recording = make_recording(
        media, meeting, ParticipantFactory(meeting=meeting, display_name="Ann"), samples
    )
    half = recording.data_bytes // 2 // 640 * 640
    first = window(recording, stream, byte_length=half)
    second = window(recording, stream, byte_offset=half)
    run_on_commit(meeting_end, meeting=meeting)

    assert run_on_commit(audio_window_transcribe, window_id=first.pk) == W.DONE
    assert finals(meeting)[0].status == "pending"
    assert run_on_commit(audio_window_transcribe, window_id=second.pk) == W.DONE

    [summary] = finals(meeting)
    meeting.refresh_from_db()
    newest = TranscriptSegment.objects.filter(meeting=meeting).aggregate(at=Max("updated_at"), seq=Max("seq"))
    assert summary.status in ("ready", "insufficient")  # one short sentence: the summarizer decides
    assert summary.started_at >= newest["at"]
    assert summary.transcript_revision == meeting.last_seq >= newest["seq"]


@pytest.mark.slow
def test_retranscription_holds_the_summary_back_and_requests_one(
    media, meeting, jfk, faster_engine, run_on_commit
):
    run_on_commit(meeting_end, meeting=meeting)  # no windows, no transcript: summarized at once
    before = {s.pk for s in finals(meeting)}
    make_recording(media, meeting, ParticipantFactory(meeting=meeting, display_name="Ann"), jfk[0])
    seen: list[tuple[int, str, str]] = []

    def progress(done: float, total: float) -> None:
        if done < total:  # mid-run: audio is pending, and a summary requested now waits
            request = run_on_commit(summary_request, meeting=meeting)  # as if committed now
            request.refresh_from_db()
            panels = fragments.render_panels(meeting)  # what a page (re)connecting now gets
            seen.append((transcription.pending_audio_ms(meeting_id=meeting.pk), request.status, panels))

    run_on_commit(recording_retranscribe, meeting_id=meeting.pk, progress=progress)

    assert seen
    for pending_ms, status, panels in seen:
        assert pending_ms > 0
        assert status == "pending"
        assert "Transcribing —" in panels
        assert "Waiting for the transcript" in panels
    run = Retranscription.objects.get(meeting=meeting)
    assert (run.status, run.done_ms) == ("done", run.audio_ms)
    assert transcription.pending_audio_ms(meeting_id=meeting.pk) == 0
    [new] = [s for s in finals(meeting) if s.pk not in before]  # the one requested mid-run
    assert new.status in ("ready", "insufficient")
    whisper = TranscriptSegment.objects.filter(meeting=meeting, source="whisper")
    assert whisper.exists()
    assert new.started_at >= whisper.aggregate(at=Max("updated_at"))["at"]
    assert new.transcript_revision == Meeting.objects.get(pk=meeting.pk).last_seq


def test_regenerate_enqueues_a_summary_whose_window_was_lost(media, meeting, stream, run_on_commit):
    """The embedded server restarted with a window queued: once it counts as lost, the admin's
    "Regenerate summary" (or the API) makes the waiting summary; before that it keeps waiting."""
    from meetings.summarizer.service import summary_regenerate

    zoom_lines(meeting)
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), silence(2.0))
    lost = window(recording, stream)
    run_on_commit(meeting_end, meeting=meeting)
    [waiting] = finals(meeting)
    assert run_on_commit(summary_regenerate, meeting=meeting).pk == waiting.pk
    waiting.refresh_from_db()
    assert waiting.status == "pending"

    AudioWindow.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - dt.timedelta(minutes=31))
    assert run_on_commit(summary_regenerate, meeting=meeting).pk == waiting.pk

    [summary] = finals(meeting)
    assert summary.status == "ready"

"""Whisper windows end to end (real model, Celery eager): recording file -> TranscriptSegment."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pytest
from django.utils import timezone

from meetings.models import TranscriptSegment
from streams.rtms.protocol import FRAME_BYTES
from tests.factories import ParticipantFactory
from transcription.audio import float32_to_pcm16, read_wav, write_wav
from transcription.live import LiveTranscriber
from transcription.models import AudioWindow
from transcription.windows import (
    CLAIM_STALE_AFTER,
    SUPERSEDED,
    audio_window_create,
    audio_window_next,
    audio_window_transcribe,
    audio_windows_create,
    window_queue_order,
)

from .conftest import make_recording, pad, spec_for, word_error_rate

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_window_becomes_a_whisper_segment_with_speaker_and_meeting_times(
    media, meeting, stream, jfk, faster_engine, django_capture_on_commit_callbacks
):
    samples, reference = jfk
    alice = ParticipantFactory(meeting=meeting, display_name="Alice")
    recording = make_recording(media, meeting, alice, pad(samples, 1.0), start_ms=5000)
    with django_capture_on_commit_callbacks(execute=True):  # Celery eager: runs the task on commit
        window = audio_window_create(spec=spec_for(recording, stream))
    window.refresh_from_db()
    assert window.status == AudioWindow.Status.DONE
    assert window.attempts == 1
    segment = TranscriptSegment.objects.get(meeting=meeting)
    assert segment.source == TranscriptSegment.Source.WHISPER
    assert segment.participant == alice
    assert segment.speaker_name == "Alice"
    assert segment.is_final
    assert 5800 <= segment.start_ms <= 6600  # speech starts ~1 s into a recording that starts at 5 s
    assert 14000 <= segment.end_ms <= 5000 + 12500
    assert word_error_rate(reference, segment.text) == 0.0
    assert segment.source_key == f"w:{recording.pk}:0"


def test_transcribing_twice_changes_nothing(media, meeting, stream, jfk, faster_engine):
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    window = audio_window_create(spec=spec_for(recording, stream))
    assert audio_window_transcribe(window_id=window.pk) == "done"
    seq = TranscriptSegment.objects.get().seq
    assert audio_window_create(spec=spec_for(recording, stream)) is None  # same range: no new row
    assert audio_window_transcribe(window_id=window.pk) == "done"
    assert TranscriptSegment.objects.get().seq == seq
    assert AudioWindow.objects.get().attempts == 1
    assert audio_window_transcribe(window_id=10**9) == "missing"


def test_partial_then_final_and_a_late_partial_never_overwrites_the_final(
    media, meeting, stream, jfk, faster_engine
):
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    partial = audio_window_create(spec=spec_for(recording, stream, byte_length=5 * 16000 * 2, is_final=False))
    assert audio_window_transcribe(window_id=partial.pk) == "done"
    segment = TranscriptSegment.objects.get()
    assert not segment.is_final
    assert "fellow americans" in segment.text.lower()
    assert "your country" not in segment.text.lower().split("americans", 1)[1]
    final = audio_window_create(spec=spec_for(recording, stream))
    assert audio_window_transcribe(window_id=final.pk) == "done"
    segment = TranscriptSegment.objects.get()  # the same row, now final with the whole sentence
    assert segment.is_final
    assert segment.text.lower().rstrip(".").endswith("for your country")
    final_text, final_seq = segment.text, segment.seq
    late = audio_window_create(spec=spec_for(recording, stream, byte_length=3 * 16000 * 2, is_final=False))
    assert audio_window_transcribe(window_id=late.pk) == "empty"  # superseded: not even transcribed
    segment.refresh_from_db()
    assert (segment.text, segment.seq, segment.is_final) == (final_text, final_seq, True)


def test_silence_stores_nothing(media, meeting, stream, faster_engine):
    recording = make_recording(
        media, meeting, ParticipantFactory(meeting=meeting), np.zeros(16000 * 3, np.float32)
    )
    window = audio_window_create(spec=spec_for(recording, stream))
    assert audio_window_transcribe(window_id=window.pk) == "empty"
    assert not TranscriptSegment.objects.exists()


def test_low_noise_stores_nothing(media, meeting, stream, faster_engine):
    noise = np.random.default_rng(1).normal(0, 0.003, 16000 * 4).astype(np.float32)  # about -50 dBFS hiss
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), noise)
    window = audio_window_create(spec=spec_for(recording, stream))
    assert audio_window_transcribe(window_id=window.pk) == "empty"
    assert not TranscriptSegment.objects.exists()


def test_missing_file_fails_the_window_without_raising(media, meeting, stream, jfk, faster_engine, caplog):
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    (media / recording.path).unlink()
    window = audio_window_create(spec=spec_for(recording, stream))
    with caplog.at_level(logging.ERROR, logger="transcription.windows"):
        assert audio_window_transcribe(window_id=window.pk) == "failed"
    window.refresh_from_db()
    assert window.status == "failed"
    assert "No such file" in window.error
    assert "failed" in caplog.text
    assert not TranscriptSegment.objects.exists()


def test_truncated_recording_transcribes_what_is_there(media, meeting, stream, jfk, faster_engine, caplog):
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    path = media / recording.path
    with path.open("r+b") as handle:
        handle.truncate(44 + 6 * 16000 * 2)  # the last 5 s never reached the disk
    window = audio_window_create(spec=spec_for(recording, stream))
    with caplog.at_level(logging.WARNING, logger="transcription.audio"):
        assert audio_window_transcribe(window_id=window.pk) == "done"
    assert "fellow americans" in TranscriptSegment.objects.get().text.lower()
    assert "truncated" in caplog.text or "requested" in caplog.text


def test_clipped_audio_is_transcribed_and_logged(media, meeting, stream, jfk, faster_engine, caplog):
    samples, reference = jfk
    clipped = np.clip(samples * 20, -1, 1)
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), clipped)
    window = audio_window_create(spec=spec_for(recording, stream))
    with caplog.at_level(logging.WARNING, logger="transcription.service"):
        assert audio_window_transcribe(window_id=window.pk) == "done"
    assert "clipped" in caplog.text
    assert word_error_rate(reference, TranscriptSegment.objects.get().text) < 0.3


def test_cross_talk_from_another_participant_is_not_attributed_to_them(
    media, meeting, stream, jfk, faster_engine
):
    samples, _ = jfk
    alice = ParticipantFactory(meeting=meeting, display_name="Alice")
    bob = ParticipantFactory(meeting=meeting, display_name="Bob")
    rec_a = make_recording(media, meeting, alice, samples)
    rec_b = make_recording(media, meeting, bob, samples * 0.05)  # Alice's voice leaking into Bob's mic
    win_b = audio_window_create(spec=spec_for(rec_b, stream))
    win_a = audio_window_create(spec=spec_for(rec_a, stream))
    assert audio_window_transcribe(window_id=win_b.pk) == "empty"
    assert audio_window_transcribe(window_id=win_a.pk) == "done"
    assert list(TranscriptSegment.objects.values_list("participant__display_name", flat=True)) == ["Alice"]


def test_live_path_attributes_ami_speakers_to_their_own_streams(
    media, meeting, stream, speech_dir, faster_engine, django_capture_on_commit_callbacks
):
    """The AMI excerpt as four per-participant streams, no Zoom transcript: the live path
    (LiveTranscriber -> windows -> eager Celery -> segments) over the first 30 s."""
    meeting.transcript_mode = "auto"
    meeting.save()
    ami = speech_dir / "ami_meeting_excerpt"
    recordings = []
    for index in range(4):
        samples, _ = read_wav(ami / f"source{index}.wav")
        participant = ParticipantFactory(meeting=meeting, display_name=f"source{index}")
        recordings.append((make_recording(media, meeting, participant, samples[: 30 * 16000]), samples))
    transcriber = LiveTranscriber(stream_id=stream.pk, meeting_id=meeting.pk, mode="auto", fallback_after_s=8)
    transcriber.zoom_transcript_available(False)  # no transcript media
    specs = []
    for offset in range(0, 30 * 16000 * 2, FRAME_BYTES):
        for recording, samples in recordings:  # interleaved, as frames arrive
            pcm = float32_to_pcm16(samples[offset // 2 : (offset + FRAME_BYTES) // 2])
            specs += transcriber.feed(
                recording_id=recording.pk,
                participant_id=recording.participant_id,
                pcm=pcm,
                byte_offset=offset,
                start_ms=offset // 32,
            )
    specs += transcriber.flush()
    with django_capture_on_commit_callbacks(execute=True):
        audio_windows_create(specs=specs)
    assert not AudioWindow.objects.filter(status=AudioWindow.Status.FAILED).exists()
    segments = TranscriptSegment.objects.filter(meeting=meeting, source="whisper", is_final=True)
    assert not TranscriptSegment.objects.filter(meeting=meeting, is_final=False).exists()
    said = {f"source{i}": "" for i in range(4)}
    for segment in segments.order_by("start_ms"):
        said[segment.speaker_name] += " " + segment.text.lower()
    # Who said what (mixture.rttm): FEE016 = source3 opens, FEE013 = source1 holds the floor
    # from 7 s to 30 s, MEO015 = source0 answers at 5 s.
    assert "necessarily understand" in said["source3"]
    assert "main things on the front" in said["source1"]
    assert "simplification" in said["source0"]
    for phrase, owner in (("necessarily understand", "source3"), ("main things on the front", "source1")):
        assert [name for name, text in said.items() if phrase in text] == [owner]


def test_the_queue_takes_finals_before_partials_oldest_first(media, meeting, stream, jfk, faster_engine):
    alice = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    bob = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0], stream_key="s1")
    partial = audio_window_create(spec=spec_for(alice, stream, byte_length=5 * 16000 * 2, is_final=False))
    older = audio_window_create(spec=spec_for(bob, stream, byte_length=4 * 16000 * 2))
    newer = audio_window_create(
        spec=spec_for(bob, stream, byte_offset=4 * 16000 * 2, byte_length=6 * 16000 * 2)
    )
    order = list(window_queue_order(AudioWindow.objects.all()).values_list("pk", flat=True))
    assert order == [older.pk, newer.pk, partial.pk]
    # The task enqueued for the partial takes the oldest final instead; the partial is not
    # skipped for waiting behind finals, it runs once they are taken.
    assert audio_window_next(window_id=partial.pk) == "done"
    assert AudioWindow.objects.get(pk=older.pk).status == "done"
    assert AudioWindow.objects.get(pk=partial.pk).status == "pending"
    assert audio_window_next(window_id=older.pk) == "done"
    assert AudioWindow.objects.get(pk=newer.pk).status == "done"
    AudioWindow.objects.filter(pk=partial.pk).update(queued_at=timezone.now())  # not stale (yet)
    assert audio_window_next(window_id=newer.pk) == "done"
    assert AudioWindow.objects.get(pk=partial.pk).status == "done"
    assert audio_window_next(window_id=partial.pk) == "none"  # every window taken once


def test_stale_partials_are_dropped_first_and_the_next_window_taken(
    media, meeting, stream, jfk, faster_engine
):
    alice = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    stale = audio_window_create(spec=spec_for(alice, stream, byte_length=3 * 16000 * 2, is_final=False))
    AudioWindow.objects.filter(pk=stale.pk).update(queued_at=timezone.now() - dt.timedelta(seconds=5))
    final = audio_window_create(
        spec=spec_for(alice, stream, byte_offset=5 * 16000 * 2, byte_length=5 * 16000 * 2)
    )
    AudioWindow.objects.filter(pk=final.pk).update(queued_at=timezone.now() - dt.timedelta(seconds=1))
    fresh = audio_window_create(
        spec=spec_for(alice, stream, byte_offset=3 * 16000 * 2, byte_length=2 * 16000 * 2, is_final=False)
    )
    assert audio_window_next(window_id=fresh.pk) == "done"  # the final, first
    assert AudioWindow.objects.get(pk=final.pk).status == "done"
    AudioWindow.objects.filter(pk=fresh.pk).update(queued_at=timezone.now())  # still fresh
    # the stale partial dropped without a model call, the fresh one run instead
    assert audio_window_next(window_id=stale.pk) in ("done", "empty")
    stale.refresh_from_db()
    assert (stale.status, stale.error, stale.attempts) == ("empty", SUPERSEDED, 0)
    assert AudioWindow.objects.get(pk=fresh.pk).attempts == 1


def test_a_window_whose_worker_died_is_taken_over_once_its_claim_is_stale(
    media, meeting, stream, jfk, faster_engine
):
    alice = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    window = audio_window_create(spec=spec_for(alice, stream))
    AudioWindow.objects.filter(pk=window.pk).update(started_at=timezone.now())  # a worker claimed it
    assert audio_window_next(window_id=window.pk) == "none"  # running elsewhere: not run twice
    AudioWindow.objects.filter(pk=window.pk).update(started_at=timezone.now() - CLAIM_STALE_AFTER * 2)
    assert audio_window_next(window_id=window.pk) == "done"  # its worker is gone: taken over


def test_a_partial_is_dropped_when_its_final_says_nothing(media, meeting, stream, jfk, faster_engine):
    samples, _ = jfk
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), samples)
    other = make_recording(media, meeting, ParticipantFactory(meeting=meeting), samples)
    kept = audio_window_create(spec=spec_for(other, stream))
    assert audio_window_transcribe(window_id=kept.pk) == "done"
    partial = audio_window_create(spec=spec_for(recording, stream, byte_length=5 * 16000 * 2, is_final=False))
    assert audio_window_transcribe(window_id=partial.pk) == "done"
    assert TranscriptSegment.objects.filter(participant=recording.participant, is_final=False).exists()
    # What the final window covers turns out to hold nothing (as when the partial was bleed).
    write_wav(media / recording.path, bytes(recording.data_bytes))
    final = audio_window_create(spec=spec_for(recording, stream))
    assert audio_window_transcribe(window_id=final.pk) == "empty"
    assert not TranscriptSegment.objects.filter(participant=recording.participant).exists()
    assert TranscriptSegment.objects.filter(participant=other.participant, is_final=True).count() == 1


# --- tentative finals (cut 300 ms into a pause, transcription.cutter.WindowCutter) ---------------------


def _counting_engine(monkeypatch, engine) -> list[int]:
    from transcription import service

    calls: list[int] = []

    def get_engine(*args, **kwargs):
        calls.append(1)
        return engine

    monkeypatch.setattr(service, "get_engine", get_engine)
    return calls


def _tentative(spec):
    import dataclasses

    return dataclasses.replace(spec, is_final=False, is_tentative=True)


def test_a_final_reuses_the_transcript_of_its_tentative_twin(
    media, meeting, stream, jfk, faster_engine, monkeypatch
):
    samples, reference = jfk
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), pad(samples, 0.5))
    spec = spec_for(recording, stream)
    tentative = audio_window_create(spec=_tentative(spec))
    assert audio_window_transcribe(window_id=tentative.pk) == "done"
    segment = TranscriptSegment.objects.get()
    assert not segment.is_final  # shown as a partial until the pause is confirmed
    assert word_error_rate(reference, segment.text) == 0.0
    calls = _counting_engine(monkeypatch, faster_engine)
    final = audio_window_create(spec=spec)
    assert audio_window_transcribe(window_id=final.pk) == "done"
    promoted = TranscriptSegment.objects.get()
    assert promoted.is_final
    assert promoted.pk == segment.pk
    assert (promoted.text, promoted.start_ms, promoted.end_ms) == (
        segment.text,
        segment.start_ms,
        segment.end_ms,
    )
    assert promoted.seq > segment.seq  # pushed again, now final
    assert calls == []
    assert AudioWindow.objects.get(pk=final.pk).attempts == 0


def test_a_final_whose_tentative_heard_nothing_is_empty_without_the_model(
    media, meeting, stream, faster_engine, monkeypatch
):
    recording = make_recording(
        media, meeting, ParticipantFactory(meeting=meeting), np.zeros(32000, np.float32)
    )
    spec = spec_for(recording, stream)
    tentative = audio_window_create(spec=_tentative(spec))
    assert audio_window_transcribe(window_id=tentative.pk) == "empty"
    calls = _counting_engine(monkeypatch, faster_engine)
    final = audio_window_create(spec=spec)
    assert audio_window_transcribe(window_id=final.pk) == "empty"
    assert calls == []
    assert not TranscriptSegment.objects.exists()


def test_a_tentative_left_behind_by_its_final_is_skipped_and_the_final_runs(
    media, meeting, stream, jfk, faster_engine, monkeypatch
):
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    spec = spec_for(recording, stream)
    tentative = audio_window_create(spec=_tentative(spec))
    final = audio_window_create(spec=spec)  # the pause was confirmed before the tentative started
    calls = _counting_engine(monkeypatch, faster_engine)
    assert audio_window_transcribe(window_id=tentative.pk) == "empty"  # superseded, not run
    assert calls == []
    assert audio_window_transcribe(window_id=final.pk) == "done"
    assert calls == [1]
    assert TranscriptSegment.objects.get().is_final


def test_a_final_waits_for_a_running_tentative_only_so_long(
    media, meeting, stream, jfk, faster_engine, monkeypatch, settings
):
    from django.utils import timezone

    from transcription import windows

    monkeypatch.setattr(windows, "TENTATIVE_WAIT_S", 0.2)
    recording = make_recording(media, meeting, ParticipantFactory(meeting=meeting), jfk[0])
    spec = spec_for(recording, stream)
    tentative = audio_window_create(spec=_tentative(spec))
    AudioWindow.objects.filter(pk=tentative.pk).update(started_at=timezone.now())  # a worker died on it
    calls = _counting_engine(monkeypatch, faster_engine)
    final = audio_window_create(spec=spec)
    assert audio_window_transcribe(window_id=final.pk) == "done"
    assert calls == [1]
    assert TranscriptSegment.objects.get().is_final

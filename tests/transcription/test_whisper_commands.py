"""Commands and task wiring around Whisper (no model needed)."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import CommandError, call_command

from jobs.inprocess import queue_for
from transcription import tasks


def test_tasks_run_on_the_transcription_queue():
    assert tasks.audio_window_transcribe.name == "transcription.tasks.audio_window_transcribe"
    assert queue_for(tasks.audio_window_transcribe.name) == "transcription"
    assert queue_for(tasks.recording_retranscribe.name) == "transcription"
    assert tasks.audio_window_transcribe.acks_late


def test_whisper_convert_keeps_an_existing_checkpoint(tmp_path, capsys):
    target = tmp_path / "tiny.en.pt"
    target.write_bytes(b"keep me")
    call_command("whisper_convert", output=str(target))
    assert target.read_bytes() == b"keep me"
    assert "already exists" in capsys.readouterr().out


def test_whisper_convert_reports_a_bad_model_folder(tmp_path):
    with pytest.raises(CommandError, match=r"no CTranslate2 model\.bin"):
        call_command("whisper_convert", model=str(tmp_path), output=str(tmp_path / "x.pt"))


@pytest.mark.django_db
def test_retranscribe_rejects_unknown_meetings():
    with pytest.raises(CommandError, match="not a meeting public id"):
        call_command("retranscribe", "nope")
    with pytest.raises(CommandError, match="no meeting with public id"):
        call_command("retranscribe", str(uuid.uuid4()))


@pytest.mark.django_db
def test_retranscribe_queue_enqueues_the_task(meeting, capsys, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.recording_retranscribe, "delay", lambda *args: sent.append(args))
    call_command("retranscribe", str(meeting.public_id), "--queue")
    assert sent == [(meeting.pk,)]
    assert "queued 1 meeting" in capsys.readouterr().out

"""Fixtures for the Whisper tests: the real tiny.en model, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from meetings.models import AudioRecording
from tests.factories import StreamFactory
from transcription.audio import float32_to_pcm16, read_wav, write_wav
from transcription.live import WindowSpec


@pytest.fixture(scope="session")
def jfk(speech_dir) -> tuple[np.ndarray, str]:
    samples, _ = read_wav(speech_dir / "jfk.wav")
    return samples, (speech_dir / "jfk.txt").read_text().strip()


@pytest.fixture(scope="session")
def faster_engine():
    """The engine the services use (``get_engine()``, cached per process): one load per session."""
    from transcription.engines import get_engine

    return get_engine("faster-whisper")


@pytest.fixture(scope="session")
def whisper_checkpoint(tmp_path_factory) -> Path:
    """The .pt checkpoint written by ``manage.py whisper_convert`` (once per session)."""
    from django.core.management import call_command

    path = tmp_path_factory.mktemp("whisper") / "tiny.en.pt"
    call_command("whisper_convert", output=str(path))
    return path


@pytest.fixture(scope="session")
def openai_engine(whisper_checkpoint):
    from transcription.engines import build_engine

    return build_engine("openai-whisper", checkpoint=whisper_checkpoint, cpu_threads=1)


def normalized(text: str) -> str:
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()(text)


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(normalized(reference), normalized(hypothesis))


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Recordings under a per-test MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def stream(meeting):
    return StreamFactory(meeting=meeting)


# --- helpers: a participant's recording on disk, a window of it ---------------------------------


def make_recording(media: Path, meeting, participant, samples: np.ndarray, *, start_ms=0, stream_key="s1"):
    relative = (
        f"recordings/{meeting.pk}/{stream_key}/{participant.zoom_user_id if participant else 'mix'}.wav"
    )
    path = media / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = float32_to_pcm16(samples)
    write_wav(path, pcm)
    return AudioRecording.objects.create(
        meeting=meeting,
        stream_key=stream_key,
        participant=participant,
        kind=AudioRecording.Kind.PARTICIPANT if participant else AudioRecording.Kind.MIXED,
        path=relative,
        start_ms=start_ms,
        data_bytes=len(pcm),
    )


def spec_for(recording, stream, *, byte_offset=0, byte_length=None, is_final=True) -> WindowSpec:
    length = recording.data_bytes - byte_offset if byte_length is None else byte_length
    start_ms = recording.start_ms + byte_offset // 32
    return WindowSpec(
        stream_id=stream.pk,
        meeting_id=recording.meeting_id,
        recording_id=recording.pk,
        participant_id=recording.participant_id,
        byte_offset=byte_offset,
        byte_length=length,
        start_ms=start_ms,
        end_ms=start_ms + length // 32,
        is_final=is_final,
        speech_end_wall_ms=0,
    )


def pad(samples: np.ndarray, before_s: float, after_s: float = 0.5) -> np.ndarray:
    return np.concatenate(
        [np.zeros(int(before_s * 16000), np.float32), samples, np.zeros(int(after_s * 16000), np.float32)]
    )

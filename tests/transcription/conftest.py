"""Fixtures for the Whisper tests: the real tiny.en model, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.factories import StreamFactory
from transcription.audio import read_wav


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

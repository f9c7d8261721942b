"""Shared fixtures: thin wrappers over factories, plus markers for the second (backends) pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import MeetingFactory, UserFactory

# The product in embedded or scaled mode, for the ingestion, end-to-end and fault suites.
pytest_plugins = ["tests.ingest_fixtures"]

SHARED_DIR = Path(__file__).resolve().parent.parent.parent / "shared"
DATA_DIR = SHARED_DIR / "data"


@pytest.fixture
def shared_data() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared data folder missing: {DATA_DIR}")
    return DATA_DIR


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def meeting(db, user):
    return MeetingFactory(owner=user)


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    """Real speech clips (``jfk.wav`` + ``jfk.txt``, …) in ``../shared/data/speech``, for the Whisper tests."""
    speech = DATA_DIR / "speech"
    if not speech.is_dir():
        pytest.skip(f"shared speech data missing: {speech}")
    return speech

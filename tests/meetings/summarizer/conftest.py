"""Fixtures of the summarizer tests: the planning meeting as utterances, an OpenAI-compatible stub."""

from __future__ import annotations

import json

import pytest

from meetings.summarizer.types import Utterance
from tests.meetings.summarizer import openai_stub


@pytest.fixture
def planning_turns(shared_data) -> list[dict]:
    """The two-person planning meeting (speakers A and B) of ../shared/data/speech/tts_meeting."""
    return json.loads((shared_data / "speech" / "tts_meeting" / "meeting.json").read_text())["turns"]


@pytest.fixture
def planning_utterances(planning_turns) -> list[Utterance]:
    participant_ids = {"A": 101, "B": 102}
    return [
        Utterance(
            segment_id=number,
            speaker=turn["speaker"],
            participant_id=participant_ids[turn["speaker"]],
            start_ms=int(turn["start"] * 1000),
            text=turn["text"],
        )
        for number, turn in enumerate(planning_turns, start=1)
    ]


@pytest.fixture
def openai_server():
    server = openai_stub.start()
    yield server
    server.shutdown()
    server.server_close()

"""The whole live Whisper path: emulator (AMI scenario, no Zoom transcript) → webhook → ingest
→ windows → transcription task (in-process, embedded mode) → TranscriptSegment(source="whisper").

Runs the real product (Daphne, embedded mode) in a subprocess, as tests/e2e/test_ingest_e2e.py
does (its ``Product`` and helpers are reused), with the real tiny.en model.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from django.db import connection

from meetings.models import TranscriptSegment
from tests.streams.ingest_harness import Product, db, emulator, wait_ended
from transcription.models import AudioWindow

AMI = Path(__file__).resolve().parents[2] / "rtms_emulator" / "scenarios" / "ami_excerpt.json"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def product(tmp_path, transactional_db, speech_dir):
    if connection.vendor != "sqlite":
        pytest.skip("embedded-mode end-to-end runs on SQLite")
    product = Product(tmp_path, scaled=False)
    product.env |= {"TRANSCRIPT_FALLBACK_SECONDS": "2", "RTMS_AUDIO_FLUSH_SECONDS": "0.2"}
    product.start_web()
    yield product
    product.stop()


@db
def whisper_state(meeting_id: int) -> tuple[int, list[tuple[str, str, bool]]]:
    pending = AudioWindow.objects.filter(recording__meeting_id=meeting_id, status="pending").count()
    segments = [
        (s.speaker_name, s.text.lower(), s.is_final)
        for s in TranscriptSegment.objects.filter(meeting_id=meeting_id).order_by("start_ms", "pk")
    ]
    return pending, segments


@db
def window_statuses(meeting_id: int) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for status in AudioWindow.objects.filter(recording__meeting_id=meeting_id).values_list(
        "status", flat=True
    ):
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


async def test_ami_scenario_without_zoom_transcript_yields_whisper_segments_per_participant(product):
    async with emulator() as emu:
        run = await emu.play(AMI, webhook_url=product.webhook_url, speed=4.0)
        record = await run.wait(60)
    stream = await wait_ended(record.rtms_stream_id, product, timeout=30)
    deadline = time.monotonic() + 180
    while True:  # the transcription queue drains after the stream ends
        pending, segments = await whisper_state(stream.meeting_id)
        if pending == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    statuses = await window_statuses(stream.meeting_id)
    assert pending == 0, (statuses, product.log("daphne"))
    assert statuses.get("failed", 0) == 0, product.log("daphne")
    assert segments, product.log("daphne")
    assert all(final for _, _, final in segments)  # no partial left behind
    said: dict[str, str] = {}
    for speaker, text, _ in segments:
        said[speaker] = said.get(speaker, "") + " " + text
    # Channel-to-speaker mapping in the scenario: FEE016 opens, FEE013 holds the floor 7-30 s,
    # MEO015 answers about the LCD display from 44 s.
    for phrase, owner in (
        ("necessarily understand", "FEE016"),
        ("main things on the front", "FEE013"),
        ("same lines", "MEO015"),
    ):
        assert [name for name, text in said.items() if phrase in text] == [owner], said

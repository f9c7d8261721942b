"""The LLM path with the real ``openai`` client against an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from meetings.summarizer import llm
from meetings.summarizer.types import Person

MEETING_DATE = dt.date(2026, 11, 20)
ANSWER = {
    "overview": "The team planned the release: a login bug fix and the design budget.",
    "key_points": [{"text": "About two hundred Android users are logged out early.", "segment_ids": [4]}],
    "decisions": [
        {"text": "The design budget is approved.", "segment_ids": [9]},
        {"text": "An invented decision.", "segment_ids": [999]},
    ],
    "action_items": [
        {"text": "Write the patch today.", "owner": "B", "due": "today", "segment_ids": [6]},
        {"text": "Send the updated estimate.", "owner": "b", "due": "by Wednesday", "segment_ids": ["#9"]},
        {"text": "Book a party.", "owner": "Zed", "due": "", "segment_ids": []},
    ],
    "topics": [{"text": "Login bug", "segment_ids": [2, 4]}],
}


def config(server, **overrides) -> llm.LLMConfig:
    return llm.LLMConfig(
        **{"base_url": server.base_url, "model": "stub-model", "timeout_seconds": 5.0, **overrides}
    )


def run(server, utterances, **overrides):
    return llm.summarize(
        utterances,
        config=config(server, **overrides),
        meeting_date=MEETING_DATE,
        participants=[Person("A", 101), Person("B", 102)],
    )


def test_schema_answer_is_validated_and_grounded(openai_server, planning_utterances):
    openai_server.script = [{"content": json.dumps(ANSWER)}]

    result = run(openai_server, planning_utterances)

    assert openai_server.modes() == ["json_schema"]
    request = openai_server.requests[0]
    assert request["model"] == "stub-model"
    assert request["response_format"]["json_schema"]["schema"] == llm.SUMMARY_SCHEMA
    assert "[#6] B: Yes, I think so." in request["messages"][1]["content"]
    assert (result.status, result.backend, result.model) == ("ready", "openai", "stub-model")
    assert result.overview.startswith("The team planned")
    assert [d.text for d in result.decisions] == ["The design budget is approved."]  # #999 was never said
    actions = result.action_items
    assert [a.text for a in actions] == ["Write the patch today.", "Send the updated estimate."]
    assert [(a.owner_name, a.owner_participant_id, a.segment_id) for a in actions] == [
        ("B", 102, 6),
        ("B", 102, 9),
    ]
    assert [a.due_date for a in actions] == [MEETING_DATE, dt.date(2026, 11, 25)]
    assert result.topics[0].segment_ids == (2, 4)


def test_schema_rejection_falls_back_to_json_object_with_the_schema(openai_server, planning_utterances):
    openai_server.script = [
        {"status": 400, "reject": "json_schema", "message": "response_format json_schema is not supported"},
        {"content": json.dumps(ANSWER)},
    ]

    result = run(openai_server, planning_utterances)

    assert openai_server.modes() == ["json_schema", "json_object"]
    # llama-cpp-python's form: the schema beside the type, with bounds for its grammar
    assert openai_server.requests[1]["response_format"]["schema"] == llm.BOUNDED_SUMMARY_SCHEMA
    assert llm.BOUNDED_SUMMARY_SCHEMA["properties"]["key_points"]["maxItems"] == 6
    assert result.decisions


def test_llama_cpp_500_naming_response_format_is_a_rejection(openai_server, planning_utterances):
    # What llama-cpp-python 0.3.36's server answers to json_schema (seen with `make llm-test`)
    message = (
        "1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\"}"
    )
    openai_server.script = [
        {"status": 500, "reject": "json_schema", "message": message},
        {"content": json.dumps(ANSWER)},
    ]

    result = run(openai_server, planning_utterances)

    assert openai_server.modes() == ["json_schema", "json_object"]
    assert result.decisions


def test_every_format_rejected_falls_back_to_the_prompt(openai_server, planning_utterances):
    openai_server.script = [
        {"status": 400, "reject": "json_schema"},
        {"status": 400, "reject": "json_object"},
        {"status": 422, "reject": "json_object"},
        {"content": json.dumps(ANSWER)},
    ]

    result = run(openai_server, planning_utterances)

    assert openai_server.modes() == ["json_schema", "json_object", "json_object", "none"]
    assert "schema" in openai_server.requests[1]["response_format"]
    assert "schema" not in openai_server.requests[2]["response_format"]
    assert "JSON Schema" in openai_server.requests[-1]["messages"][0]["content"]
    assert result.action_items


def test_cut_off_answer_keeps_its_complete_items(openai_server, planning_utterances):
    whole = json.dumps(ANSWER)
    openai_server.script = [{"content": whole[: whole.index('"Send the updated') + 10]}]  # max_tokens hit

    result = run(openai_server, planning_utterances)

    assert [d.text for d in result.decisions] == ["The design budget is approved."]
    assert [a.text for a in result.action_items] == ["Write the patch today."]
    assert result.topics == ()  # never written


def test_max_tokens_rejection_switches_to_max_completion_tokens(openai_server, planning_utterances):
    openai_server.script = [
        {
            "status": 400,
            "message": "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens' instead.",
        },
        {"content": json.dumps(ANSWER)},
    ]

    result = run(openai_server, planning_utterances)

    assert "max_tokens" in openai_server.requests[0]
    assert "max_completion_tokens" in openai_server.requests[1]
    assert "max_tokens" not in openai_server.requests[1]
    assert openai_server.modes() == ["json_schema", "json_schema"]
    assert result.decisions


def test_fenced_json_after_a_think_block_is_parsed(openai_server, planning_utterances):
    answer = (
        "<think>The user wants {json}. Let me think.</think>\nHere it is:\n```json\n"
        + json.dumps(ANSWER)
        + "\n```"
    )
    openai_server.script = [{"content": answer}]

    result = run(openai_server, planning_utterances)

    assert result.overview.startswith("The team planned")


def test_invalid_json_is_an_llm_error(openai_server, planning_utterances):
    openai_server.script = [{"content": '{"overview": "cut off'}]

    with pytest.raises(llm.LLMError, match=r"no JSON object|not valid JSON"):
        run(openai_server, planning_utterances)


def test_wrong_shape_is_an_llm_error(openai_server, planning_utterances):
    openai_server.script = [{"content": json.dumps({"overview": ["not", "a", "string"]})}]

    with pytest.raises(llm.LLMError, match="schema"):
        run(openai_server, planning_utterances)


def test_server_error_is_transient(openai_server, planning_utterances):
    openai_server.script = [{"status": 500}]

    with pytest.raises(llm.LLMTransientError, match="HTTP 500"):
        run(openai_server, planning_utterances)
    assert len(openai_server.requests) == 1  # the client does not retry by itself


def test_unauthorized_is_not_transient(openai_server, planning_utterances):
    openai_server.script = [{"status": 401}]

    with pytest.raises(llm.LLMError) as caught:
        run(openai_server, planning_utterances)
    assert not isinstance(caught.value, llm.LLMTransientError)


def test_slow_server_times_out_as_transient(openai_server, planning_utterances):
    openai_server.script = [{"sleep": 3.0, "content": json.dumps(ANSWER)}]

    started = time.monotonic()
    with pytest.raises(llm.LLMTransientError, match="APITimeoutError"):
        run(openai_server, planning_utterances, timeout_seconds=0.5)
    assert time.monotonic() - started < 2.5


def test_long_transcript_is_mapped_and_reduced(openai_server, planning_utterances):
    openai_server.script = [{"content": json.dumps(ANSWER)}]
    # context 1,200 tokens: 1,200 - 200 (answer) - 700 (prompt) = 300 tokens = 1,200 chars per part
    result = run(openai_server, planning_utterances * 3, context_tokens=1200, max_output_tokens=200)

    transcripts = [r["messages"][1]["content"] for r in openai_server.requests]
    parts = [t for t in transcripts if t.startswith("Transcript:")]
    merges = [r for r in openai_server.requests if "Merge them" in r["messages"][0]["content"]]
    assert len(parts) >= 2
    assert merges
    assert all(len(t) <= 1200 + len("Transcript:\n") for t in parts)
    assert "map-reduce" in result.note
    assert result.decisions


def test_unreachable_server_is_transient(planning_utterances):
    cfg = llm.LLMConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout_seconds=1.0)

    with pytest.raises(llm.LLMTransientError):
        llm.summarize(planning_utterances, config=cfg)


@pytest.mark.parametrize(
    "content",
    [
        '```\n{"overview": "x"}\n```',
        '<think>\nhmm\n</think>{"overview": "x"}',
        'Sure! {"overview": "x"} Hope it helps.',
    ],
)
def test_lenient_parsing(content):
    assert llm.parse_json_answer(content) == {"overview": "x"}

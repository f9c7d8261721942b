"""The LLM path's grounding check: items the cited segments do not support are dropped.

Real sentences: the planning meeting (../shared/data/speech/tts_meeting) and faithful or
invented summaries of it, including ones SmolLM2-135M-Instruct wrote (`make llm-test`).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from meetings.summarizer import grounding, llm
from meetings.summarizer.types import Person

MEETING_DATE = dt.date(2026, 11, 20)  # a Friday
NAMES = frozenset({"a", "b", "alice", "bob"})


@pytest.fixture
def said(planning_turns) -> dict[int, str]:
    """Segment number → what was said (1-based, as in the fixtures' segment ids)."""
    return {number: turn["text"] for number, turn in enumerate(planning_turns, start=1)}


@pytest.mark.parametrize(
    ("claim", "segments"),
    [
        ("About 200 users on older Android phones get logged out early.", [4]),
        ("The session token expires too early for two hundred Android users.", [4]),
        ("Bob will write the patch today.", [6]),
        ("Maria reviews the patch tomorrow morning.", [6]),
        ("The remaining $12,000 covers two more weeks of design.", [8]),
        ("Plan the demo for next Monday at 10.", [11]),
        ("Send the updated estimate by Wednesday.", [9]),
        ("Fix the login bug before Thursday's release.", [2, 5]),
        ("The team discussed the budget for new design work.", [7]),  # "the team discussed": framing
    ],
)
def test_faithful_paraphrases_are_supported(said, claim, segments):
    assert grounding.support_problem(claim, " ".join(said[n] for n in segments), names=NAMES) == ""


@pytest.mark.parametrize(
    ("claim", "segments", "reason"),
    [
        ("The release moves to Friday.", [5], "names Friday"),  # Friday is said, but in #2
        ("About 500 users were affected.", [4], "says 500"),
        ("John will review the patch tomorrow.", [6], "names John"),
        ("Hire two new designers for the app.", [8], "only"),
        ("The sales team gets a demo of the iOS app.", [10], "names iOS"),
        # SmolLM2-135M-Instruct's own output on this meeting:
        ("The budget should double this quarter.", [7], "only"),
        (
            "We will have a 10% discount on the final product for two weeks before launch.",
            [8],
            "says 10",
        ),
        ("We will also discuss the new design work in detail tomorrow morning.", [10], "only"),
        ("2-3 sentences", [1], "says 2, 3"),
        ("Okay.", [5], "nothing checkable"),
    ],
)
def test_invented_claims_are_not_supported(said, claim, segments, reason):
    assert reason in grounding.support_problem(claim, " ".join(said[n] for n in segments), names=NAMES)


def test_numbers_are_read_in_words_and_digits():
    assert grounding.evidence("We have twelve thousand dollars and about two hundred users.").numbers == {
        12000,
        200,
    }
    assert grounding.evidence("$12,000, 12k, the 3rd, one hundred and twenty five").numbers == {12000, 3, 125}


def answer(**sections) -> str:
    return json.dumps(
        {"overview": "", "key_points": [], "decisions": [], "action_items": [], "topics": [], **sections}
    )


def summarize(server, utterances, content: str):
    server.script = [{"content": content}]
    return llm.summarize(
        utterances,
        config=llm.LLMConfig(base_url=server.base_url, model="stub-model", timeout_seconds=5.0),
        meeting_date=MEETING_DATE,
        participants=[Person("A", 101), Person("B", 102)],
    )


def test_unsupported_items_are_dropped_and_counted(openai_server, planning_utterances):
    content = answer(
        overview=(
            "The team planned the mobile app release and a login bug fix. "
            "The video explains a discount for the sales team."
        ),
        key_points=[
            {"text": "About 200 Android users get logged out too early.", "segment_ids": [4]},
            {"text": "About 500 users were affected.", "segment_ids": [4]},
            {"text": "The session token expires too early.", "segment_ids": []},
        ],
        decisions=[
            {"text": "The design budget is approved.", "segment_ids": [9]},  # "that" = #8's money
            {"text": "The release moves to Friday.", "segment_ids": [5]},
        ],
        topics=[
            {"text": "Login bug", "segment_ids": [2]},
            {"text": "Hiring", "segment_ids": [7]},
        ],
    )

    result = summarize(openai_server, planning_utterances, content)

    assert result.overview == "The team planned the mobile app release and a login bug fix."
    assert [p.text for p in result.key_points] == ["About 200 Android users get logged out too early."]
    assert [d.text for d in result.decisions] == ["The design budget is approved."]
    assert [(t.text, t.segment_ids) for t in result.topics] == [("Login bug", (2,))]
    assert (result.timings_ms["kept"], result.timings_ms["dropped"]) == (4, 5)  # overview sentences count


def test_action_item_owners_are_normalized_like_the_offline_path(openai_server, planning_utterances):
    content = answer(
        action_items=[
            {"text": "Write the patch today.", "owner": "b", "due": "today", "segment_ids": [6]},
            {"text": "Review the patch tomorrow morning.", "owner": "Maria", "due": "", "segment_ids": [6]},
            {"text": "Plan the demo for next Monday.", "owner": "The team", "due": "", "segment_ids": [11]},
            {"text": "Send the updated estimate.", "owner": "Zed", "due": "Wednesday", "segment_ids": [9]},
            {"text": "Fix it before the release.", "owner": "", "due": "", "segment_ids": [5]},
        ]
    )

    result = summarize(openai_server, planning_utterances, content)

    owners = [(a.owner_name, a.owner_participant_id, a.owner_kind) for a in result.action_items]
    assert owners == [
        ("B", 102, "speaker"),
        ("Maria", None, "third_party"),  # named in #6, not a participant
        ("Everyone", None, "group"),
        ("B", 102, "addressee"),  # "Zed" is nobody here: the offline rules read #9 ("Please send me")
        ("B", 102, "addressee"),  # no owner given: "Can you fix that ...?", B answers "Yes"
    ]
    assert result.timings_ms["cleared"] == 1  # Zed


def test_due_dates_must_be_said_in_the_cited_segments(openai_server, planning_utterances):
    content = answer(
        action_items=[
            {"text": "Send the updated estimate.", "owner": "B", "due": "by Wednesday", "segment_ids": [9]},
            {"text": "Send the estimate by Wednesday.", "owner": "B", "due": "", "segment_ids": [9]},
            {"text": "Write the patch.", "owner": "B", "due": "Friday", "segment_ids": [6]},
            {"text": "Plan the demo.", "owner": "A", "due": "2026-11-23", "segment_ids": [11]},
            {"text": "Fix the login bug.", "owner": "B", "due": "2026-12-24", "segment_ids": [2, 5]},
        ]
    )

    result = summarize(openai_server, planning_utterances, content)

    assert [(a.due_text, a.due_date) for a in result.action_items] == [
        ("by Wednesday", dt.date(2026, 11, 25)),
        ("by Wednesday", dt.date(2026, 11, 25)),  # from the item's own words
        ("", None),  # nobody said Friday in #6
        ("for next Monday", dt.date(2026, 11, 23)),  # an ISO date that #11's words give
        ("", None),  # #2 and #5 say Friday and Thursday, not Christmas Eve
    ]
    assert result.timings_ms["cleared"] == 2


def test_overview_keeps_three_supported_sentences_and_no_invented_speakers(
    openai_server, planning_utterances
):
    # SmolLM2-135M-Instruct's overview of this meeting (`make llm-test`): the transcript retold
    # with speakers C to H, who are not in it
    overview = (
        "A: Good morning everyone. Let's get started with the weekly planning meeting for the mobile "
        "app release. C: We have two hundred users affected, and they're getting logged out. "
        "D: I'm going to send you a patch by Wednesday. The video explains a discount for the sales "
        "team. B: The main item today is the login bug that customers reported last Friday. "
        "I'll send it tomorrow morning."
    )

    result = summarize(openai_server, planning_utterances, answer(overview=overview))

    assert result.overview == (
        "A: Good morning everyone. Let's get started with the weekly planning meeting for the mobile "
        "app release. B: The main item today is the login bug that customers reported last Friday."
    )
    assert result.timings_ms["dropped"] == 4  # C, D, the video, and a fourth sentence

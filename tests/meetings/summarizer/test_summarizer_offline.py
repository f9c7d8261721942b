"""The offline summarizer on the shared meetings: structure, grounding, the planning meeting."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from meetings.summarizer import dates, offline, ranking, text
from meetings.summarizer.types import INSUFFICIENT, READY, Person, Utterance

MEETING_DATE = dt.date(2026, 11, 20)  # a Friday
SHARED_MEETINGS = ["ES2004a", "IS1003b", "IS1003d", "TS3004a", "TS3011c", "education_17"]


def load_shared_meeting(shared_data, name: str) -> list[Utterance]:
    data = json.loads((shared_data / "meetings" / f"{name}.json").read_text())
    return [
        Utterance(number, segment["speaker"], None, number * 4000, segment["text"])
        for number, segment in enumerate(data["segments"], start=1)
    ]


@pytest.mark.parametrize("name", SHARED_MEETINGS)
def test_shared_meeting_summary_is_structured_and_grounded(shared_data, name):
    utterances = load_shared_meeting(shared_data, name)
    by_id = {u.segment_id: u for u in utterances}

    result = offline.summarize(utterances, meeting_date=MEETING_DATE)

    assert result.status == READY
    assert result.backend == "offline"
    assert not result.note
    covered, *said = text.split_sentences(result.overview)
    assert covered.startswith("The meeting covered ")
    assert 1 <= len(said) <= offline.OVERVIEW_SENTENCES
    for sentence in said:
        assert any(text.is_grounded(sentence, u.text) for u in utterances), sentence
        assert not text.is_fragment(sentence), sentence
    assert result.topics
    for topic in result.topics:
        assert len(topic.text.split()) >= 2, topic.text  # a title, not a word
        assert "," not in topic.text, topic.text  # nor a list of words
        assert 1 <= len(topic.points) <= 3, topic
        for point in topic.points:
            assert text.is_grounded(point.text, by_id[point.segment_ids[0]].text), point
            assert not text.is_fragment(point.text), point
    assert result.key_points == tuple(topic.points[0] for topic in result.topics if topic.points)
    assert len(result.decisions) <= offline.MAX_DECISIONS
    assert len(result.action_items) <= 2 * offline.MAX_ACTION_ITEMS  # a sentence may hold two tasks
    for decision in result.decisions:
        assert text.is_grounded(decision.text, by_id[decision.segment_ids[0]].text), decision
    for action in result.action_items:
        assert text.is_grounded(action.text, by_id[action.segment_id].text), action


def test_planning_meeting_action_items(planning_utterances):
    result = offline.summarize(
        planning_utterances,
        meeting_date=MEETING_DATE,
        participants=[Person("A", 101), Person("B", 102)],
    )

    owners = {a.text: (a.owner_name, a.due_date) for a in result.action_items}
    assert owners == {
        "Fix that before the release on Thursday.": ("B", dt.date(2026, 11, 26)),
        "Write the patch today.": ("B", MEETING_DATE),
        "Ask Maria to review it tomorrow morning.": ("Maria", MEETING_DATE + dt.timedelta(days=1)),
        "Send me the updated estimate by Wednesday.": ("B", dt.date(2026, 11, 25)),
    }


def test_a_failing_step_leaves_only_its_part_out(planning_utterances, monkeypatch):
    def broken(utterances, **kwargs):
        raise IndexError("no such group")  # the kind of bug one odd sentence used to trigger

    monkeypatch.setattr(offline.topics, "topics", broken)

    result = offline.summarize(planning_utterances, meeting_date=MEETING_DATE)

    assert result.status == READY
    assert result.note == "Left out because it failed: topics."
    assert result.topics == ()
    assert len(result.action_items) == 4
    assert result.overview


@pytest.mark.parametrize(
    "utterances",
    [
        [],
        [Utterance(1, "Alice", None, 0, "Hello everyone, let's approve the budget today.")],
        [Utterance(1, "Alice", None, 0, "Um."), Utterance(2, "Bob", None, 900, "Uh, yeah.")],
        [Utterance(1, "Alice", None, 0, "   "), Utterance(2, "Bob", None, 900, "...")],
    ],
    ids=["empty", "one-line", "fillers-only", "blank"],
)
def test_too_little_transcript_is_insufficient_not_invented(utterances):
    result = offline.summarize(utterances, meeting_date=MEETING_DATE)

    assert result.status == INSUFFICIENT
    assert "Not enough to summarize" in result.note
    assert not (result.overview)
    assert not (result.key_points)
    assert not (result.decisions)
    assert not (result.action_items)


def test_grounding_check_catches_added_words():
    assert not text.is_grounded("We approved the budget.", "We need the budget.")
    assert text.is_grounded("need budget", "We need the budget.")


@pytest.mark.parametrize(
    ("sentence", "phrase", "due"),
    [
        ("Send it by Wednesday.", "by Wednesday", dt.date(2026, 11, 25)),
        ("Let's meet next Monday.", "next Monday", dt.date(2026, 11, 23)),
        ("I'll do it tomorrow morning.", "tomorrow", dt.date(2026, 11, 21)),
        ("The draft is due March 3.", "due March 3", dt.date(2027, 3, 3)),
        ("Finish it by the end of the week.", "end of the week", dt.date(2026, 11, 20)),
        ("We may look at it now.", "", None),
    ],
)
def test_due_dates_resolve_against_the_meeting_date(sentence, phrase, due):
    assert dates.find_due(sentence, meeting_date=MEETING_DATE) == (phrase, due)


def test_due_phrase_without_a_meeting_date_has_no_date():
    assert dates.find_due("by Friday", meeting_date=None) == ("by Friday", None)


def test_lsa_ranks_equal_sumys_svd_ranks(shared_data):
    import numpy as np
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.summarizers.lsa import LsaSummarizer

    fast, _luhn = ranking.sumy_parts()
    tokenizer = text.WordTokenizer()
    sentences = [
        Sentence(text.clean_sentence(u.text), tokenizer)
        for u in load_shared_meeting(shared_data, "TS3004a")[:120]
        if len(text.words(u.text)) > 6
    ]
    document = ObjectDocumentModel([Paragraph(sentences)])
    sumy_lsa = LsaSummarizer(fast._stemmer)
    sumy_lsa.stop_words = fast.stop_words
    dictionary = sumy_lsa._create_dictionary(document)
    matrix = sumy_lsa._compute_term_frequency(sumy_lsa._create_matrix(document, dictionary))
    _u, sigma, v = np.linalg.svd(matrix, full_matrices=False)

    expected = sumy_lsa._compute_ranks(sigma, v)  # sumy's own loops
    ours = fast.rank_columns(fast._compute_term_frequency(fast._create_matrix(document, dictionary)))

    assert np.allclose(ours, expected)

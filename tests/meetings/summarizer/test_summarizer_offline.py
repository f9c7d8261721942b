"""The offline summarizer on the shared meetings: structure, grounding, the planning meeting."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from meetings.summarizer import dates, offline, text
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
    assert result.overview
    assert 1 <= len(result.key_points) <= 20
    assert 60 <= len(result.summary_text().split()) <= 160  # the 130-word budget, give or take
    assert result.topics
    assert len(result.decisions) <= offline.MAX_DECISIONS
    assert len(result.action_items) <= offline.MAX_ACTION_ITEMS
    for item in [*result.key_points, *result.decisions]:
        assert item.segment_ids, item
        assert any(text.is_grounded(item.text, by_id[i].text) for i in item.segment_ids), item
        if item.context:
            assert any(text.is_grounded(item.context, by_id[i].text) for i in item.context_segment_ids)
    stem = offline._sumy_parts()[0].stem_word
    for topic in result.topics:  # the linked segment is where the topic's words are said
        said = {stem(w) for w in text.words(by_id[topic.segment_ids[0]].text)}
        assert any(stem(label) in said for label in topic.text.split(", ")), topic
    for action in result.action_items:
        assert text.is_grounded(action.text, by_id[action.segment_id].text), action
    overview_sentences = [s for s in result.overview.split(". ") if s]
    assert all(any(text.is_grounded(sentence, u.text) for u in utterances) for sentence in overview_sentences)


def test_topic_labels_are_words_that_were_said(shared_data):
    utterances = load_shared_meeting(shared_data, "ES2004a")
    said = {w.lower() for u in utterances for w in text.words(u.text)}

    result = offline.summarize(utterances)

    for topic in result.topics:
        assert all(label in said for label in topic.text.split(", ")), topic


def test_planning_meeting_decisions_and_action_items(planning_utterances):
    result = offline.summarize(
        planning_utterances,
        meeting_date=MEETING_DATE,
        participants=[Person("A", 101), Person("B", 102)],
    )

    decisions = [d.text for d in result.decisions]
    assert "Let's approve that." in decisions
    approve = next(d for d in result.decisions if d.text == "Let's approve that.")
    assert "twelve thousand dollars" in approve.context  # what was approved
    assert approve.segment_ids == (9,)
    assert approve.context_segment_ids == (8,)
    assert any("demo for next Monday at ten" in d for d in decisions)

    actions = {a.text: a for a in result.action_items}
    patch = actions["I will write the patch today."]
    assert (patch.owner_name, patch.owner_participant_id, patch.due_date) == ("B", 102, MEETING_DATE)
    review = actions["Ask Maria to review it tomorrow morning."]
    assert review.owner_name == "Maria"
    assert review.owner_participant_id is None
    assert review.due_date == MEETING_DATE + dt.timedelta(days=1)
    estimate = actions["Please send me the updated estimate by Wednesday."]
    assert (estimate.owner_name, estimate.owner_participant_id) == ("B", 102)  # B answered "Will do."
    assert (estimate.due_text, estimate.due_date) == ("by Wednesday", dt.date(2026, 11, 25))
    assert all(a.segment_id in {5, 6, 9} for a in result.action_items)


def test_addressed_participant_owns_the_request():
    utterances = [
        Utterance(1, "Alice", 1, 0, "We need the quarterly numbers for the board meeting next week."),
        Utterance(2, "Alice", 1, 4000, "Bob, can you prepare the slides by Thursday?"),
        Utterance(3, "Carol", 3, 8000, "I can help with the charts if needed."),
    ]

    result = offline.summarize(
        utterances, meeting_date=MEETING_DATE, participants=[Person("Bob Smith", 2), Person("Alice", 1)]
    )

    [action] = [a for a in result.action_items if "slides" in a.text]
    assert (action.owner_name, action.owner_participant_id) == ("Bob Smith", 2)
    assert action.due_date == dt.date(2026, 11, 26)


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


def test_an_hour_of_talk_takes_under_two_seconds(shared_data):
    pool = [u.text for name in SHARED_MEETINGS for u in load_shared_meeting(shared_data, name)]
    utterances, words = [], 0
    while words < 9000:
        line = pool[len(utterances) % len(pool)]
        utterances.append(Utterance(len(utterances) + 1, f"S{len(utterances) % 4}", None, 0, line))
        words += len(line.split())
    offline.summarize(utterances[:50])  # imports

    started = time.perf_counter()
    result = offline.summarize(utterances, meeting_date=MEETING_DATE)

    assert result.status == READY
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    ("said", "cleaned"),
    [
        ("Um , so we we need the the budget , you know .", "We need the budget."),
        ("Okay , um , first is the functional design .", "First is the functional design."),
        ("I'll I'll go with the kinet kinetic energy , so .", "I'll go with the kinetic energy."),
        ("Do you know the answer ?", "Do you know the answer?"),
        ("We should go to the theatre .", "We should go to the theatre."),
        ("Hmm hmm hmm .", ""),
    ],
)
def test_cleaning_removes_fillers_and_only_removes(said, cleaned):
    assert text.clean_sentence(said) == cleaned
    assert text.is_grounded(cleaned, said)


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

    fast, _luhn = offline._sumy_parts()
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

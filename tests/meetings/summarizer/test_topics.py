"""Topic segmentation, titles and key sentences (meetings.summarizer.segmentation and .topics)."""

from __future__ import annotations

import itertools
import random

import pytest

from meetings.summarizer import segmentation, text, topics
from meetings.summarizer.types import Utterance

BUDGET = [
    "Um, so the production budget for the remote control is twelve euros per unit.",
    "We need to keep the manufacturing cost under the budget of twelve euros.",
    "The marketing budget will pay for the television advert and the sales campaign.",
    "Our profit target is fifty million euros, so the selling price should be twenty five euros.",
    "I think the the selling price of twenty five euros is fine for the target market.",
    "The finance department wants the production cost report by Friday.",
    "Uh the sales forecast says we will sell four million units in the first year.",
    "If the manufacturing cost goes over budget, the profit margin will shrink.",
    "The advert campaign costs more than the finance department expected.",
    "Yeah.",
    "Okay.",
]
MATERIALS = [
    "The case could be made of rubber, which feels soft in the hand.",
    "A titanium case is strong, but the titanium material is heavy and expensive.",
    "We could power the device with a kinetic battery that charges when you shake it.",
    "The solar cells need light, so a kinetic battery is the safer battery choice.",
    "The rubber case comes in bright colours like yellow and lime green.",
    "Um, the chip on the circuit board needs a battery with enough power for the display.",
    "The plastic case is cheap, but the rubber case feels better than plastic.",
    "You know, a curved case fits the hand better than a flat plastic case.",
    "The battery sits under the rubber case next to the circuit board.",
    "Mm-hmm.",
    "Right.",
]


def meeting(first: list[str], second: list[str], turns_each: int = 30, seed: int = 3) -> list[Utterance]:
    """``turns_each`` turns drawn from ``first``, then as many from ``second``, four speakers."""
    rng = random.Random(seed)
    lines = [rng.choice(first) for _ in range(turns_each)] + [rng.choice(second) for _ in range(turns_each)]
    return [
        Utterance(
            segment_id=100 + number,
            speaker=f"Speaker {number % 4}",
            participant_id=None,
            start_ms=number * 3000,
            text=line,
        )
        for number, line in enumerate(lines)
    ]


def test_segment_finds_the_boundary_between_two_topics():
    utterances = meeting(BUDGET, MATERIALS)

    boundaries = segmentation.segment([u.text for u in utterances], n_topics=2)

    assert len(boundaries) == 1
    assert abs(boundaries[0] - 30) <= 2


def test_segment_accepts_speaker_text_pairs_and_utterances():
    utterances = meeting(BUDGET, MATERIALS)

    by_pairs = segmentation.segment([(u.speaker, u.text) for u in utterances], n_topics=2)
    by_utterances = segmentation.segment(utterances, n_topics=2)

    assert by_pairs == by_utterances == segmentation.segment([u.text for u in utterances], n_topics=2)


def test_segment_of_one_topic_or_no_text_has_no_boundary():
    assert segmentation.segment([], n_topics=3) == []
    assert segmentation.segment(["Yeah.", "Okay."], n_topics=2) == []
    assert segmentation.segment([u.text for u in meeting(BUDGET, BUDGET)], n_topics=1) == []


def test_topic_count_grows_with_meeting_length_within_bounds():
    counts = [segmentation.topic_count(words) for words in (0, 100, 2000, 9000, 20000, 10**7)]

    assert counts == sorted(counts)
    assert counts[0] == counts[1] == 1
    assert all(segmentation.MIN_TOPICS <= c <= segmentation.MAX_TOPICS for c in counts)


def test_topics_have_multiword_titles_and_complete_grounded_key_sentences():
    utterances = meeting(BUDGET, MATERIALS)
    by_id = {u.segment_id: u for u in utterances}

    blocks = topics.topics(utterances, n_topics=2)

    assert [(b.start_index, b.end_index) for b in blocks] == [
        (0, blocks[1].start_index),
        (blocks[1].start_index, 60),
    ]
    for block in blocks:
        assert 2 <= len(block.title.split()) <= topics.MAX_TITLE_WORDS, block.title
        assert "," not in block.title
        assert block.title[0].isupper()
        assert block.segment_ids == tuple(
            u.segment_id for u in utterances[block.start_index : block.end_index]
        )
        assert 1 <= len(block.key_sentences) <= topics.MAX_KEY_SENTENCES
        ids = [segment_id for _sentence, segment_id in block.key_sentences]
        assert len(set(ids)) == len(ids)  # at most one per utterance
        assert ids == sorted(ids)  # in meeting order
        for sentence, segment_id in block.key_sentences:
            assert segment_id in block.segment_ids
            assert text.is_grounded(sentence, by_id[segment_id].text), sentence
            assert topics.is_complete(sentence), sentence
            assert len(text.words(sentence)) >= topics.MIN_SENTENCE_WORDS
            assert not {"um", "uh"} & {w.lower() for w in text.words(sentence)}
    budget, materials = blocks
    assert any(word in budget.title.lower() for word in ("budget", "price", "cost", "euros", "finance"))
    assert any(
        word in materials.title.lower() for word in ("case", "battery", "rubber", "titanium", "circuit")
    )


def test_titles_keep_the_usual_casing_of_names():
    title = topics.title(
        ["Transcriber interface windows are small.", "The Transcriber interface shows the waveform."] * 2,
        others=[["The disk racks in the machine room are full.", "The disk racks need more space."]],
    )

    assert title.startswith("Transcriber interface")
    assert "," not in title


def test_topics_of_an_empty_or_tiny_meeting():
    assert topics.topics([]) == ()
    assert topics.topics([Utterance(1, "A", None, 0, "Hello.")]) == ()


def test_topics_of_a_real_sized_meeting_use_the_count_rule():
    utterances = meeting(BUDGET, MATERIALS, turns_each=300)

    blocks = topics.topics(utterances)

    assert blocks[0].start_index == 0
    assert blocks[-1].end_index == len(utterances)
    assert all(a.end_index == b.start_index for a, b in itertools.pairwise(blocks))
    assert len(blocks) <= segmentation.topic_count(sum(len(text.words(u.text)) for u in utterances))
    assert blocks[0].as_json()["title"] == blocks[0].title


@pytest.mark.parametrize(
    "sentence",
    [
        "We should use the rubber case for the remote control.",
        "I think I can finish the prototype by Friday.",
        "Let's use the kinetic battery in the final design.",
        "When it is ready, we will send the design to the manufacturer.",
        "The remote control should cost less than twelve euros.",
        "It uses the TV and a PC at the same time.",
        "I'll take a closer look at it.",
        "That's okay with me, we can meet on Monday.",
        "Lastly the transmission interface is something you don't have to worry about.",
    ],
)
def test_is_complete_accepts_complete_sentences(sentence):
    assert topics.is_complete(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "And then we go to the next one.",  # starts with a conjunction
        "Because the battery is expensive and heavy.",
        "We need to decide on the budget for the",  # ends mid-thought
        "The price of the new remote control unit.",  # no finite verb
        "Should we use the rubber case for the remote?",  # a question
        "Does she have transcribers sitting idle right now.",  # a question without its mark
        "If we talked about it in this meeting.",  # a subordinate clause alone
        "I'll give I'll read the digit strings first, so we can see.",  # restart
        "We should -- the case is made of rubber and plastic.",
        "Bu w I'd like to have y guys pick the package this week.",  # cut-off words
        "Is it I guess I don't know The situation of collecting data.",
        "Maybe we can put some disks in the in that back room there.",
        "I this is volume control and channel changes for the set.",
        "Compared to an, bigger data collection effort, we will take care.",
        "I think it's he's in all of the recordings.",
        "It was training on Macrophone and testing yeah, on meeting digits.",
        "What are we going to do now is Next meeting is in half an hour.",
        "This was a problem which nobody have has because navigation systems don't care.",
        "We want to keep the remote close to us, a and not to yell at it.",
    ],
)
def test_is_complete_rejects_fragments_questions_and_false_starts(sentence):
    assert not topics.is_complete(sentence)

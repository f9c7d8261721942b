"""The text helpers never raise and cleaning never adds a word: on random text and on a whole corpus.

Random text (hypothesis, a few hundred examples each): any unicode, punctuation runs, empty
strings, very long words, and "spoken" text drawn from the words the cleaning rules look for
(fillers, restart dashes, ``{disfmarker}``, AMI tokens), so the rules fire in odd combinations.
Then every turn of the QMSum corpus (../shared/data/qmsum, train + val, ~108k turns) goes
through :func:`normalize_corpus_text`, :func:`split_sentences`, :func:`clean_sentence`,
:func:`is_fragment` and :func:`is_grounded` in a plain loop.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetings.summarizer import text

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SPOKEN_TOKENS = [
    *("um", "uh", "Um", "mm-hmm", "Mm", "-", "hmm", "oh"),
    *("you", "know", "You", "I", "mean", "sort", "of", "kind", "kinda", "sorta", "like"),
    *("the", "The", "a", "it", "It", "it's", "we", "We", "he", "they", "so", "So", "okay", "right", "and"),
    *("that", "is", "do", "n't", "'s", "'re", "need", "budget", "w", "th", "kinet", "kinetic", "beca-"),
    *("--", "—", "–", "...", "…", "-", ",", ".", "?", "!", ";", ":", " , ", " . "),
    *("{disfmarker}", "{vocalsound}", "{gap}", "{", "}", "@", "@@"),
    *("İ", "ß", "ﬁ", "K", "’", "é", "\u200b", "\t", "\n", "🙂"),
]
spoken = st.lists(st.sampled_from(SPOKEN_TOKENS), max_size=40).map(" ".join)
glued = st.lists(st.one_of(st.sampled_from(SPOKEN_TOKENS), st.text(max_size=4)), max_size=30).map("".join)
punctuation_runs = st.text(alphabet=".,;:!?-—–… '\"(){}@", max_size=200)
long_words = st.builds(
    lambda letter, n, rest: letter * n + rest,
    st.sampled_from("aZé-.'"),
    st.integers(50, 5000),
    st.text(max_size=20),
)
any_text = st.one_of(st.text(), st.text(max_size=2000), spoken, glued, punctuation_runs, long_words)


def check(sentence: str) -> None:
    """Every helper runs on ``sentence``; the cleaned sentence is grounded in it."""
    cleaned = text.clean_sentence(sentence)
    assert isinstance(cleaned, str)
    assert text.is_grounded(cleaned, sentence), (sentence, cleaned)
    assert isinstance(text.is_fragment(cleaned), bool)
    assert isinstance(text.is_fragment(sentence), bool)
    assert all(isinstance(word, str) for word in text.words(cleaned))


@FUZZ
@given(any_text)
def test_cleaning_random_text_never_raises_and_only_removes(raw):
    check(raw)
    for sentence in text.split_sentences(raw):
        check(sentence)


@FUZZ
@given(any_text)
def test_normalizing_random_corpus_text_never_raises(raw):
    normalized = text.normalize_corpus_text(raw)
    assert isinstance(normalized, str)
    assert "{disfmarker}" not in normalized
    for sentence in text.split_sentences(normalized):
        check(sentence)


@FUZZ
@given(any_text, any_text)
def test_grounding_never_raises_and_accepts_any_cleaning(first, second):
    assert text.is_grounded("", first)
    assert text.is_grounded(first, first)
    assert isinstance(text.is_grounded(first, second), bool)
    assert text.is_grounded(text.clean_sentence(first + " " + second), first + " " + second)


@FUZZ
@given(spoken)
def test_cleaning_is_stable_on_spoken_text(raw):
    once = text.clean_sentence(raw)
    assert text.is_grounded(text.clean_sentence(once), once)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_every_qmsum_turn_cleans_without_error_and_stays_grounded(shared_data):
    """~108k turns, ~164k sentences: a plain loop, not hypothesis (~10 s on an idle core)."""
    files = sorted((shared_data / "qmsum").glob("*/*.json"))
    assert files, "no QMSum meetings in ../shared/data/qmsum"
    turns = sentences = 0
    ungrounded = []
    for path in files:
        for turn in json.loads(path.read_text())["meeting_transcripts"]:
            turns += 1
            normalized = text.normalize_corpus_text(turn["content"])
            for sentence in text.split_sentences(normalized):
                sentences += 1
                cleaned = text.clean_sentence(sentence)
                text.is_fragment(cleaned)
                if not text.is_grounded(cleaned, sentence):
                    ungrounded.append((path.name, sentence, cleaned))

    assert turns > 100_000
    assert sentences > 150_000
    assert not ungrounded, ungrounded[:5]

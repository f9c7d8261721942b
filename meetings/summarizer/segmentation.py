"""Where a meeting's topics begin: lexical cohesion between blocks of talk (pure: no Django).

:func:`segment` returns the positions of the utterances that open a new topic. Every gap between
two utterances is scored by the lexical cohesion of the blocks of talk before and after it
(:func:`cohesion`: TF-IDF cosine over stemmed content words, :func:`content_stems`: sumy's
Snowball stemmer and stop words from :func:`meetings.summarizer.ranking.sumy_parts`, spoken
fillers left out), smoothed; TextTiling-style depth scores (:func:`depth_scores`, plus
``CUE_BONUS`` where an utterance opens a topic: "next item", "let's move on": :func:`cue_bonus`);
the deepest valleys become boundaries, at least ``MIN_TOPIC_WORDS`` apart. The number of topics
comes from the meeting length (:func:`topic_count`, a rule fitted on QMSum's train split).

The parameters were tuned on QMSum train/ with ``bench/topics_eval.py``, which measures this
module alone (Pk and WindowDiff; ``--tune`` sets the module's constants). Titles and key
sentences of each topic: :mod:`meetings.summarizer.topics`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from meetings.summarizer import text
from meetings.summarizer.ranking import sumy_parts as _sumy_parts
from meetings.summarizer.types import Utterance

# --- segmentation parameters (tuned on QMSum train/ with bench/topics_eval.py) -------------------
BLOCK_WORDS = 300  # content words on each side of a gap compared for cohesion
SMOOTH_WORDS = 60  # moving-average width of the cohesion curve, in content words
MIN_TOPIC_WORDS = 150  # no topic shorter than this many content words (unless the meeting is)
VALLEYS_ONLY = False  # boundaries only at local minima of the smoothed cohesion
CUE_BONUS = 0.05  # added to the depth of a gap when the utterance after it opens a topic ("next item")
# Topic count from the meeting's length: round(COUNT_SCALE * words ** COUNT_POWER), clipped: 3 topics
# up to ~7,700 words, 4 up to ~60,000. Fitted on QMSum train/ by Pk (bench/topics_eval.py --tune):
# the least-squares fit of the count (1.475 * words ** 0.127) predicts counts better but, like every
# rule with more topics, scores worse on Pk (0.390 against 0.365 on train).
COUNT_SCALE = 2.25
COUNT_POWER = 0.05
MIN_TOPICS = 1
MAX_TOPICS = 10


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Spoken words that are not content even when sumy's stop list lets them through.
_SPOKEN = _set(
    """yeah yes yep okay ok alright right gonna wanna gotta kinda sorta sort kind thing things stuff
    lot lots bit mean know think thought guess actually really just like well um uh mm hmm oh
    maybe probably basically anyway sure fine good great nice cool yup huh mhm ah er erm eh
    something anything everything nothing somebody someone everybody everyone people way ways
    let say said saying got get getting go going went come coming look looking want wanted need
    needs pretty quite little much many also still even though already sorry thanks thank please
    time times point question idea whatever stuff one two three four five first second"""
)
# Utterances that open a new topic: "Okay, next item", "Let's move on to", "the agenda".
_TOPIC_CUE = re.compile(
    r"^\W*(?:(?:okay|ok|right|alright|so|now|well|um|uh)\W+)*(?:next|moving on|the next|now we|so now|item|"
    r"agenda|let's (?:move|go on|go to|turn|talk about|start))\b"
    r"|\b(?:next item|agenda|move on|moving on|next point|next question|next thing|turn to)\b",
    re.IGNORECASE,
)


# --- tokens -----------------------------------------------------------------------------------------


def is_content(word: str, stop_words: frozenset[str]) -> bool:
    """A content word: over two letters, not in ``stop_words`` (lower case) or a spoken filler, not digits."""
    lower = word.lower()
    return len(lower) > 2 and lower not in stop_words and lower not in _SPOKEN and not lower.isdigit()


def content_stems(sentence: str) -> list[str]:
    """Stems of the content words of ``sentence`` (sumy stop words and spoken fillers dropped)."""
    summarizer, _luhn = _sumy_parts()
    stop_words = summarizer.stop_words
    return [summarizer.stem_word(w.lower()) for w in text.words(sentence) if is_content(w, stop_words)]


def _unit_text(unit: str | tuple[str, str] | Utterance) -> str:
    if isinstance(unit, Utterance):
        return unit.text
    if isinstance(unit, tuple):
        return unit[-1]
    return unit


# --- segmentation ---------------------------------------------------------------------------------


def cue_bonus(texts: Sequence[str]) -> list[float]:
    """Per utterance: ``CUE_BONUS`` when it sounds like the start of a topic ("next item"), else 0."""
    return [CUE_BONUS if _TOPIC_CUE.search(t) else 0.0 for t in texts]


def topic_count(n_words: int) -> int:
    """How many topics a meeting of ``n_words`` words has (rule fitted on QMSum train/)."""
    if n_words <= 0:
        return 1
    guess = round(COUNT_SCALE * n_words**COUNT_POWER)
    return max(MIN_TOPICS, min(MAX_TOPICS, guess, max(1, n_words // (2 * MIN_TOPIC_WORDS))))


def _term_matrix(stems: Sequence[Sequence[str]]):
    """Sparse unit × stem count matrix (scipy CSR) and the stem vocabulary."""
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, unit in enumerate(stems):
        for stem in unit:
            rows.append(row)
            cols.append(vocabulary.setdefault(stem, len(vocabulary)))
    data = np.ones(len(rows), dtype=np.float64)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(stems), max(1, len(vocabulary))))
    matrix.sum_duplicates()
    return matrix, vocabulary


def _windows(lengths: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """For every gap g (before unit g, g = 1..n-1): the first unit of the ``size``-word block
    ending at the gap, and the end (exclusive) of the ``size``-word block starting there."""
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    gaps = np.arange(1, len(lengths))
    left = np.searchsorted(cumulative, cumulative[gaps] - size, side="right") - 1
    left = np.clip(left, 0, gaps - 1)
    right = np.searchsorted(cumulative, cumulative[gaps] + size, side="left")
    right = np.clip(right, gaps + 1, len(lengths))
    return left, right


def _band(starts: np.ndarray, ends: np.ndarray, n: int):
    """Sparse 0/1 matrix whose row r selects units ``starts[r]`` to ``ends[r]`` (exclusive)."""
    from scipy import sparse

    sizes = ends - starts
    rows = np.repeat(np.arange(len(starts)), sizes)
    offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    cols = np.repeat(starts, sizes) + offsets
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(starts), n))


def cohesion(stems: Sequence[Sequence[str]], *, block_words: float = BLOCK_WORDS) -> np.ndarray:
    """Cosine similarity (TF-IDF) of the blocks either side of every gap; gap g is before unit g+1."""
    from scipy import sparse

    n = len(stems)
    if n < 2:
        return np.zeros(0)
    matrix, _vocabulary = _term_matrix(stems)
    lengths = np.asarray([len(unit) for unit in stems], dtype=float)
    # IDF over pseudo-documents of about block_words content words.
    chunk = np.minimum((np.cumsum(lengths) - lengths) // max(block_words, 1.0), 10**6).astype(int)
    n_chunks = int(chunk.max()) + 1
    chunk_matrix = sparse.csr_matrix((np.ones(n), (chunk, np.arange(n))), shape=(n_chunks, n)) @ matrix
    document_frequency = np.asarray((chunk_matrix > 0).sum(axis=0)).ravel()
    idf = np.log((1 + n_chunks) / (1 + document_frequency)) + 1.0
    weighted = matrix @ sparse.diags(idf)
    left, right = _windows(lengths, block_words)
    gaps = np.arange(1, n)
    select_l = _band(left, gaps, n)
    select_r = _band(gaps, right, n)
    block_l = select_l @ weighted
    block_r = select_r @ weighted
    dot = np.asarray(block_l.multiply(block_r).sum(axis=1)).ravel()
    norm_l = np.sqrt(np.asarray(block_l.multiply(block_l).sum(axis=1)).ravel())
    norm_r = np.sqrt(np.asarray(block_r.multiply(block_r).sum(axis=1)).ravel())
    return dot / np.maximum(norm_l * norm_r, 1e-12)


def _smooth(values: np.ndarray, positions: np.ndarray, width: float) -> np.ndarray:
    """Moving average over a window of ``width`` content words centred on each gap."""
    if width <= 0 or len(values) < 3:
        return values
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    low = np.searchsorted(positions, positions - width / 2, side="left")
    high = np.searchsorted(positions, positions + width / 2, side="right")
    return (cumulative[high] - cumulative[low]) / np.maximum(high - low, 1)


def depth_scores(similarity: np.ndarray) -> np.ndarray:
    """TextTiling depth: how far the similarity climbs on both sides of each gap before falling."""
    n = len(similarity)
    depth = np.zeros(n)
    for i in range(n):
        left = similarity[i]
        j = i
        while j > 0 and similarity[j - 1] >= left:
            j -= 1
            left = similarity[j]
        right = similarity[i]
        j = i
        while j < n - 1 and similarity[j + 1] >= right:
            j += 1
            right = similarity[j]
        depth[i] = (left - similarity[i]) + (right - similarity[i])
    return depth


def segment_stems(
    stems: Sequence[Sequence[str]],
    *,
    n_topics: int,
    block_words: float = BLOCK_WORDS,
    smooth_words: float = SMOOTH_WORDS,
    min_topic_words: float = MIN_TOPIC_WORDS,
    valleys_only: bool = VALLEYS_ONLY,
    bonus: Sequence[float] | None = None,
) -> list[int]:
    """:func:`segment` on already-stemmed units (:func:`content_stems`); parameters for tuning."""
    n = len(stems)
    lengths = np.asarray([len(unit) for unit in stems], dtype=float)
    total = float(lengths.sum())
    if n_topics <= 1 or n < 2 or total == 0:
        return []
    if min_topic_words * n_topics > total:  # a forced count on a short meeting: shorter topics
        min_topic_words = total / (2 * n_topics)
    similarity = cohesion(stems, block_words=block_words)
    positions = np.cumsum(lengths)[:-1]  # content words before each gap
    smoothed = _smooth(similarity, positions, smooth_words)
    depth = depth_scores(smoothed)
    if valleys_only:  # only local minima of the smoothed curve, not points on its slopes
        higher_left = np.concatenate([[True], smoothed[:-1] > smoothed[1:]])
        higher_right = np.concatenate([smoothed[1:] >= smoothed[:-1], [True]])
        depth = np.where(higher_left & higher_right, depth, 0.0)
    if bonus is not None:  # per unit: added to the depth of the gap before it
        depth = depth + np.asarray(bonus, dtype=float)[1:]
    # The deepest gaps, at least min_topic_words apart; ties go to the earlier gap.
    chosen: list[int] = []
    for gap in np.argsort(-depth, kind="stable"):
        if len(chosen) >= n_topics - 1 or depth[gap] <= 0:
            break
        at = positions[gap]
        if at < min_topic_words or total - at < min_topic_words:
            continue
        if any(abs(at - positions[other]) < min_topic_words for other in chosen):
            continue
        chosen.append(int(gap))
    return sorted(gap + 1 for gap in chosen)


def segment(
    units: Sequence[str] | Sequence[tuple[str, str]] | Sequence[Utterance], *, n_topics: int | None = None
) -> list[int]:
    """Topic boundaries of a meeting: the positions of the units that start a new topic.

    ``units`` are the utterances' texts in order (or ``(speaker, text)`` pairs, or
    :class:`Utterance` objects). The result is sorted and excludes 0: ``[120, 340]`` means three
    topics, units 0-119, 120-339 and 340-end. ``n_topics`` overrides the length rule.
    """
    texts = [_unit_text(unit) for unit in units]
    if n_topics is None:
        n_topics = topic_count(sum(len(text.words(t)) for t in texts))
    return segment_stems([content_stems(t) for t in texts], n_topics=n_topics, bonus=cue_bonus(texts))

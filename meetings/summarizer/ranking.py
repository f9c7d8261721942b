"""Sentence ranking for extractive notes: sumy's LSA and Luhn over our sentence units (pure: no Django).

:func:`sumy_parts` builds sumy's summarizers once (English Snowball stemmer, cached; sumy's stop
words; LSA with numpy instead of per-cell Python loops). :func:`rank` scores sentences: the mean
of LSA and Luhn, each scaled to [0, 1]. :func:`content_stems` is the stemmed content-word set the
redundancy checks compare. No NLTK data is needed: sumy gets :class:`.text.WordTokenizer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

import numpy as np

from meetings.summarizer import text

LUHN_WEIGHT = 0.5  # rank = (1 - w) * LSA + w * Luhn, both scaled to [0, 1]
LUHN_SIGNIFICANT_SHARE = 0.05  # Luhn's "significant words": the 5 % most frequent stems


@cache
def sumy_parts():
    """sumy's LSA (numpy-vectorized inner loops) and Luhn summarizers, English stemmer and stop words."""
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lsa import LsaSummarizer
    from sumy.summarizers.luhn import LuhnSummarizer
    from sumy.utils import get_stop_words

    class FastLsaSummarizer(LsaSummarizer):
        """sumy's LSA with the per-cell Python loops replaced by the same numpy arithmetic."""

        def _compute_term_frequency(self, matrix, smooth=0.4):
            maxima = matrix.max(axis=0)
            safe = np.where(maxima == 0, 1.0, maxima)
            scaled = smooth + (1.0 - smooth) * (matrix / safe)
            return np.where(maxima == 0, matrix, scaled)

        def _compute_ranks(self, sigma, v_matrix):
            dimensions = max(self.MIN_DIMENSIONS, int(len(sigma) * self.REDUCTION_RATIO))
            powered = np.where(np.arange(len(sigma)) < dimensions, sigma**2, 0.0)
            return list(np.sqrt(powered @ (v_matrix**2)))

        def rank_columns(self, matrix) -> list[float]:
            """sumy's LSA rank of every sentence (column) of the weighted term matrix.

            With ``REDUCTION_RATIO`` 1 (sumy's default) every singular value is kept, and
            ``sum_i sigma_i^2 v_ij^2`` is the squared norm of column j: the same numbers without
            the SVD (its cost grows with words x sentences; 0.4 s for a 1-hour meeting).
            """
            if self.REDUCTION_RATIO >= 1 and min(matrix.shape) >= self.MIN_DIMENSIONS:
                return list(np.linalg.norm(matrix, axis=0))
            _u, sigma, v = np.linalg.svd(matrix, full_matrices=False)
            return self._compute_ranks(sigma, v)

    # Snowball stemming is the hot spot; the same words come back all meeting long.
    stemmer = lru_cache(maxsize=65536)(Stemmer("english"))
    stop_words = get_stop_words("english")
    summarizer = FastLsaSummarizer(stemmer)
    summarizer.stop_words = stop_words
    luhn = LuhnSummarizer(stemmer)
    luhn.stop_words = stop_words
    luhn.significant_percentage = LUHN_SIGNIFICANT_SHARE
    return summarizer, luhn


def rank(sentences: Sequence[str]) -> list[float]:
    """One score per sentence in [0, 1] (0 for a meeting with no content words), same order."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    if not sentences:
        return []
    summarizer, luhn = sumy_parts()
    tokenizer = text.WordTokenizer()
    units = [Sentence(s, tokenizer) for s in sentences]
    document = ObjectDocumentModel([Paragraph(units)])
    dictionary = summarizer._create_dictionary(document)
    if not dictionary:
        return [0.0] * len(sentences)
    matrix = summarizer._compute_term_frequency(summarizer._create_matrix(document, dictionary))
    lsa = np.asarray(summarizer.rank_columns(matrix), dtype=float)
    lsa /= lsa.max() or 1.0
    significant = frozenset(luhn._get_significant_words(document.words))
    ratings = np.asarray([luhn.rate_sentence(unit, significant) for unit in units], dtype=float)
    ratings /= ratings.max() or 1.0
    combined = (1 - LUHN_WEIGHT) * lsa + LUHN_WEIGHT * ratings
    # Rounded: float noise must not reorder equal scores (ties go to the earlier sentence).
    return [round(float(score), 6) for score in combined]


def content_stems(sentence: str) -> frozenset[str]:
    """Stemmed content words of a sentence (stop words dropped)."""
    summarizer, _luhn = sumy_parts()
    return frozenset(
        summarizer.stem_word(w) for w in text.words(sentence) if w.lower() not in summarizer.stop_words
    )

"""Hallucination guards: what Whisper says about silence or noise is not a transcript.

Applied to every engine's output before anything is stored:

* the window is not sent to the engine at all when it holds no speech (speech level below
  ``MIN_SPEECH_DBFS`` before gain normalization): Whisper invents "Thank you." for silence;
* a segment is dropped when it is one short phrase said three times or more ("Thank you, thank
  you, thank you") or holds a longer phrase (3-12 words) looping three times, when Whisper itself thinks it is not speech (``no_speech_prob`` above
  0.6 with ``avg_logprob`` below -1, Whisper's own rule), when it is a degenerate repetition
  (``compression_ratio`` above 2.4), when its confidence is very low (``avg_logprob`` below
  -1.5), or when it has no letters or digits (empty, "...", "♪");
* the stock phrases Whisper produces for noise ("Thank you.", "Thanks for watching!", "you")
  are dropped when they are the *only* thing said in a window with little speech.
"""

from __future__ import annotations

import re

from transcription.engines import Segment

MIN_SPEECH_DBFS = -78.0
NO_SPEECH_PROB = 0.6
LOGPROB_WITH_NO_SPEECH = -1.0
MIN_AVG_LOGPROB = -1.5
MAX_COMPRESSION_RATIO = 2.4
_WORDISH = re.compile(r"[A-Za-z0-9\u00c0-\uffff]")
_STOCK = {"thank you", "thanks for watching", "thank you for watching", "you", "bye", "okay"}


def is_repetition(text: str, *, times: int = 3, loop_words: int = 3, max_phrase_words: int = 12) -> bool:
    """True when ``text`` is Whisper looping.

    Either the whole text is one short phrase (1-4 words) said ``times`` times or more in a row
    ("thank you thank you thank you"), or somewhere in it a phrase of ``loop_words`` to
    ``max_phrase_words`` words is repeated ``times`` times in a row ("so we're going to go for
    some seconds" x 3, seen on headset cross-talk of the AMI excerpt). Short phrases repeated
    inside a longer sentence ("yeah yeah yeah, I agree") are speech, not a loop.
    """
    words = re.sub(r"[^\w' ]", " ", text.lower()).split()
    for size in range(1, 5):
        if len(words) < size * times or len(words) % size:
            continue
        phrase = words[:size]
        if all(words[i : i + size] == phrase for i in range(0, len(words), size)):
            return True
    for size in range(loop_words, min(max_phrase_words, len(words) // times) + 1):
        for first in range(len(words) - size * times + 1):
            phrase = words[first : first + size]
            if all(words[first + k * size : first + (k + 1) * size] == phrase for k in range(1, times)):
                return True
    return False


def segment_is_hallucination(segment: Segment) -> bool:
    if not _WORDISH.search(segment.text):
        return True
    if is_repetition(segment.text):
        return True
    if segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < LOGPROB_WITH_NO_SPEECH:
        return True
    if segment.compression_ratio > MAX_COMPRESSION_RATIO:
        return True
    return segment.avg_logprob < MIN_AVG_LOGPROB


def filter_segments(segments: list[Segment], *, speech_ms: int | None = None) -> list[Segment]:
    """The segments worth storing (see module docstring); order kept."""
    kept = [s for s in segments if not segment_is_hallucination(s)]
    if len(kept) == 1 and (speech_ms is None or speech_ms < 1500):
        words = re.sub(r"[^a-z ]", "", kept[0].text.lower()).strip()
        if words in _STOCK and kept[0].no_speech_prob > 0.3:
            return []
    return kept


def join_text(segments: list[Segment]) -> str:
    """One line of text from consecutive segments (single spaces)."""
    return " ".join(s.text.strip() for s in segments if s.text.strip())

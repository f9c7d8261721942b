"""Sentence splitting, filler cleaning and word tokens for spoken transcripts (pure: no Django).

Transcript segments are the natural units; inside a segment, sentences end at ``.``, ``?`` or
``!`` (AMI-style text puts a space before the mark: ``"Okay , that's fine ."``). No NLTK data
is needed: sumy gets our tokenizer (:class:`WordTokenizer`) instead of its punkt one.

Cleaning only *removes* words (fillers such as "um", "uh", "you know", repeated words, leading
discourse markers such as "okay so"), so a cleaned sentence's words are an ordered subsequence
of the words that were said (see :func:`is_grounded`).
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*(?:-[A-Za-z0-9]+)*")
_TOKEN = re.compile(r"\S+")
FILLERS = frozenset(
    {"um", "umm", "uh", "uhh", "erm", "er", "ah", "hmm", "hm", "mm", "mmm", "mm-hmm", "uh-huh", "huh"}
)
FILLERS |= {"uh-oh", "mhm", "eh", "oh"}
_LEADING_MARKERS = frozenset(
    {"okay", "ok", "so", "right", "well", "yeah", "yes", "yep", "and", "but", "alright", "now", "oh", "um"}
)
_LEADING_MARKERS |= {"uh", "mm", "hmm", "'kay", "kay", "then", "also", "actually", "anyway", "like"}
_TRAILING_MARKERS = frozenset({"so", "yeah", "okay", "ok", "right", "then", "um", "uh", "and", "but", "or"})
# Short common words that may begin a longer word ("the theatre"): never taken for a false start.
_COMMON_PREFIXES = frozenset(
    [
        "the",
        "and",
        "for",
        "her",
        "his",
        "our",
        "can",
        "not",
        "all",
        "any",
        "one",
        "out",
        "see",
        "use",
        "new",
        "now",
        "old",
        "two",
        "way",
        "who",
        "how",
        "day",
        "get",
        "has",
        "him",
        "its",
        "let",
        "put",
        "say",
        "she",
        "too",
        "you",
        "are",
        "but",
        "had",
        "was",
        "off",
        "own",
        "per",
        "set",
        "in",
        "on",
        "at",
        "to",
        "of",
        "is",
        "it",
        "we",
        "be",
        "do",
        "go",
        "no",
        "so",
        "up",
        "an",
        "as",
        "by",
        "if",
        "me",
        "my",
        "or",
        "us",
        "he",
    ]
)
_PHRASE_FILLERS = (
    re.compile(r"(^|[,.;]\s*)you know\s*(,|\s(?=[.?!]|$))", re.IGNORECASE),
    re.compile(r"(^|[,.;]\s*)i mean\s*,", re.IGNORECASE),
    re.compile(r",\s*you know\s*$", re.IGNORECASE),
)


def split_sentences(text: str) -> list[str]:
    """Sentences of one segment's text, in order (empty pieces dropped)."""
    return [piece.strip() for piece in _SENTENCE_END.split(text.strip()) if piece.strip()]


def words(text: str) -> list[str]:
    """Word tokens (letters/digits, inner apostrophes and hyphens kept), original case."""
    return _WORD.findall(text)


def _bare(token: str) -> str:
    return token.strip(',.;:!?"()[]').lower()


def clean_sentence(sentence: str) -> str:
    """Remove fillers, repeated words and leading discourse markers; tidy spacing.

    ``"Um , so we we need the the budget , you know ."`` → ``"We need the budget."``
    Only removes words: the result never contains a word that was not said.
    """
    text = sentence
    for pattern in _PHRASE_FILLERS:
        text = pattern.sub(lambda m: m.group(1), text)
    kept: list[str] = []
    previous = ""
    tokens = _TOKEN.findall(text)
    for position, token in enumerate(tokens):
        bare = _bare(token)
        following = _bare(tokens[position + 1]) if position + 1 < len(tokens) else ""
        if not bare:  # punctuation standing alone (AMI style " , " or " .")
            if kept and token in {",", ";", ":"} and not kept[-1].endswith((",", ";", ":")):
                kept[-1] += token
            elif kept and token in {".", "?", "!"}:
                kept[-1] = kept[-1].rstrip(",;:") + token
            continue
        if bare in FILLERS:
            if token[-1] in ".?!" and kept:
                kept[-1] = kept[-1].rstrip(",;:") + token[-1]
            continue
        if bare == previous and re.fullmatch(r"[a-z']+", bare):  # "the the", "I'll I'll"
            continue
        if (  # a false start: "kinet kinetic", "dyn dynamos"
            len(bare) >= 2
            and bare not in _COMMON_PREFIXES
            and following != bare
            and following.startswith(bare)
            and token[-1] not in ",.;:?!"
        ):
            continue
        kept.append(token)
        previous = bare
    while kept and _bare(kept[0]) in _LEADING_MARKERS and len(kept) > 1:
        kept.pop(0)
    while len(kept) > 2 and _bare(kept[-1]) in _TRAILING_MARKERS and kept[-2][-1] in ",;:":
        ending = kept.pop()[-1]
        kept[-1] = kept[-1].rstrip(",;:") + (ending if ending in ".?!" else "")
    if not kept:
        return ""
    result = " ".join(kept).strip(" ,;:")
    result = re.sub(r"\s+([,.;:?!])", r"\1", result)
    result = result[0].upper() + result[1:]
    if result[-1] not in ".?!":
        result += "."
    return result


def is_grounded(text: str, source: str) -> bool:
    """True when ``text``'s words appear, in order, among ``source``'s words (case-insensitive).

    The grounding test for extracted items: cleaning may drop words, never add one.
    """
    wanted = [w.lower() for w in words(text)]
    said = iter(w.lower() for w in words(source))
    return all(any(word == candidate for candidate in said) for word in wanted)


class WordTokenizer:
    """The tokenizer object sumy expects (``to_sentences``/``to_words``), without NLTK data."""

    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(words(sentence))

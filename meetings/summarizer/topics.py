"""A meeting's topics, each with a short title and key sentences (pure: no Django).

:func:`topics` cuts the meeting into contiguous topics and describes each one:

* segmentation: where each topic begins (:func:`meetings.summarizer.segmentation.segment`:
  lexical cohesion between blocks of talk, TextTiling-style; the number of topics from the
  meeting's length);
* a title (:func:`title`): the segment's best one or two key phrases (runs of 2-3 content words,
  ranked by TF-IDF of the segment against the other segments), in the words' usual surface form;
* 1-3 key sentences: cleaned with :func:`meetings.summarizer.text.clean_sentence`, complete
  (:func:`is_complete`), at least ``MIN_SENTENCE_WORDS`` words, ranked by TF-IDF similarity to the
  segment's centroid, at most one per utterance, no near-duplicates; in meeting order.

Every key sentence is a cleaned sentence of the utterance it names (so it is grounded:
:func:`meetings.summarizer.text.is_grounded`). Cost: a 1-hour meeting (~9,000 words) takes
about 0.12 s on one core (``bench/topics_eval.py``). QMSum val/ (35 meetings): Pk 0.373,
WindowDiff 0.395, against 0.450/0.454 for an even split and 0.409/0.413 for nltk's TextTiling
tuned on train/.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from meetings.summarizer import text
from meetings.summarizer.ranking import sumy_parts as _sumy_parts
from meetings.summarizer.segmentation import content_stems, cue_bonus, is_content, segment_stems, topic_count
from meetings.summarizer.types import Utterance

MIN_MEETING_WORDS = 12

# --- descriptions ---------------------------------------------------------------------------------
MIN_SENTENCE_WORDS = 7
MAX_SENTENCE_WORDS = 35
MAX_KEY_SENTENCES = 3
WORDS_PER_KEY_SENTENCE = 300  # a topic gets one key sentence per this many words (1..3)
MAX_TITLE_WORDS = 6
SECOND_PHRASE_SHARE = 0.6  # a second key phrase joins the title when it scores this share of the first


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Never in a title phrase: numbers ("thirty hours") and light verbs ("makes sense").
_TITLE_WEAK = _set(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    thousand million billion half make makes made making sense take takes took taking give gives
    gave giving put puts putting use uses using used talk talks talked talking work works worked
    try tries tried trying seen see sees saw start started starting real bucks bit"""
)
_NON_FINAL = _set(
    """the a an to of and or but nor with for from by into onto than that which who
    whose whom my our your their his her its is are was were be been being am
    has have had do does did can could will would shall should may might must i we they he
    she it's i'm we're you're they're there's that's very so because if when as like just
    not no some any each every another such"""
    """ i'll we'll you'll they'll i've we've you've they've i'd we'd you'd they'd"""
)
_CONJUNCTIONS = _set(
    """and but or nor so because cause 'cause cos though although whereas which who whom whose
    while unless until whether plus then"""
)
_FINITE = _set(
    """am is are was were has have had do does did can could will would shall should may might must
    isn't aren't wasn't weren't hasn't haven't hadn't doesn't don't didn't can't cannot couldn't
    won't wouldn't shouldn't mustn't let's"""
)
_SUBJECTS = _set(
    """i we you they he she it there this that these those everyone everybody someone somebody
    nobody people one who what which"""
)
_CONTRACTION = re.compile(r"^[a-z]+['’](?:s|re|m|ve|ll|d)$|n['’]t$", re.IGNORECASE)
_PERSONAL = _set("i we you they he she")
_PREPOSITIONS = _set("in on at to of for with from by into about the a an")
_SUBORDINATORS = _set("if when whenever since as unless while whether once")
_SHORT_WORDS = _set(
    """a i am an as at be by do go he hi if in is it me my no of oh ok on or so to up us we ye
    ah eh uh um mm tv pc"""
)
_CAPITAL_RESTARTS = _set(
    """The A An It It's We We're We'll They You That That's This So And But Is Are What What's There
    There's Maybe Well Now Then If When How Why Where Yeah Okay My Our Your He She Do Does Can Could
    Would Should Will"""
)
_SUBJECT_CONTRACTION = re.compile(r"^(?:i|we|you|they|he|she|it|that|there)'(?:s|re|m|ve|ll|d)$")
_AUXILIARIES = _set("is are was were has have had do does did am")
_CUT_ARTICLE = re.compile(r"\b(?:a|an|the)\s+(?:and|or|but|the|a|an|to|of|in|on|is|are)\b", re.IGNORECASE)
_CUT_FUNCTION_WORD = re.compile(
    r"\b(?:the|a|an|to|of|with|for|in|on|at|from|by|into|my|our|your|their|his|her|its|than|and|or)\s*,",
    re.IGNORECASE,
)
_RESTART_MARKS = re.compile(r"--|—|–|\.\.\.|…")


@dataclass(frozen=True)
class TopicBlock:
    """One topic: utterances ``start_index`` (inclusive) to ``end_index`` (exclusive), by position.

    ``key_sentences`` are ``(cleaned sentence, segment_id of the utterance it was said in)``, in
    meeting order; ``segment_ids`` are the block's utterances' segment ids, in order (the first
    one is where the topic starts).
    """

    title: str
    start_index: int
    end_index: int
    key_sentences: tuple[tuple[str, int], ...]
    segment_ids: tuple[int, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "start_index": self.start_index,
            "end_index": self.end_index,
            "key_sentences": [{"text": s, "segment_id": i} for s, i in self.key_sentences],
            "segment_ids": list(self.segment_ids),
        }


# --- titles -----------------------------------------------------------------------------------------


def _phrases(sentence: str, stop_words: frozenset[str]) -> list[list[str]]:
    """Runs of consecutive content words (not crossing punctuation) in a cleaned sentence."""
    runs: list[list[str]] = []
    current: list[str] = []
    for token in sentence.split():
        word = token.strip(',.;:!?"()[]')
        if (
            word
            and text.words(word) == [word]
            and is_content(word, stop_words)
            and word.lower() not in _TITLE_WEAK
            and ("'" not in word or word[0].isupper())
        ):
            current.append(word)
        else:
            if len(current) >= 2:
                runs.append(current)
            current = []
            continue
        if token[-1] in ',.;:!?")]':
            if len(current) >= 2:
                runs.append(current)
            current = []
    if len(current) >= 2:
        runs.append(current)
    return runs


def _ngrams(run: list[str]) -> list[tuple[str, ...]]:
    return [tuple(run[i : i + n]) for n in (2, 3) for i in range(len(run) - n + 1)]


class _Surface:
    """The usual written form of each word (its most frequent casing, sentence starts excluded)."""

    def __init__(self) -> None:
        self.forms: dict[str, Counter[str]] = {}

    def add(self, sentence: str) -> None:
        for word in text.words(sentence)[1:]:
            self.forms.setdefault(word.lower(), Counter())[word] += 1

    def form(self, word: str) -> str:
        counter = self.forms.get(word.lower())
        if counter:
            return counter.most_common(1)[0][0]
        return word if word.isupper() and len(word) > 1 else word.lower()


def _titles(segment_sentences: list[list[str]], surface: _Surface) -> list[str]:
    """One title per segment (its cleaned sentences given), from TF-IDF-ranked key phrases."""
    summarizer, _luhn = _sumy_parts()
    stop_words = summarizer.stop_words
    stem = summarizer.stem_word
    phrase_counts: list[Counter[tuple[str, ...]]] = []
    phrase_forms: dict[tuple[str, ...], Counter[tuple[str, ...]]] = {}
    unigram_counts: list[Counter[str]] = []
    word_forms: dict[str, Counter[str]] = {}
    for sentences in segment_sentences:
        phrases: Counter[tuple[str, ...]] = Counter()
        unigrams: Counter[str] = Counter()
        for sentence in sentences:
            for run in _phrases(sentence, stop_words):
                for gram in _ngrams(run):
                    key = tuple(stem(w.lower()) for w in gram)
                    if len(set(key)) < len(key):
                        continue
                    phrases[key] += 1
                    phrase_forms.setdefault(key, Counter())[tuple(w.lower() for w in gram)] += 1
            for word in text.words(sentence):
                if is_content(word, stop_words):
                    key = stem(word.lower())
                    unigrams[key] += 1
                    word_forms.setdefault(key, Counter())[word.lower()] += 1
        phrase_counts.append(phrases)
        unigram_counts.append(unigrams)
    n_segments = len(segment_sentences)
    phrase_df: Counter[tuple[str, ...]] = Counter(k for counts in phrase_counts for k in counts)
    unigram_df: Counter[str] = Counter(k for counts in unigram_counts for k in counts)

    def idf(df: int) -> float:
        return math.log((1 + n_segments) / df) + (1.0 if n_segments == 1 else 0.05)

    titles = []
    for phrases, unigrams in zip(phrase_counts, unigram_counts, strict=True):
        word_score = {k: c * idf(unigram_df[k]) for k, c in unigrams.items()}
        scored = {
            key: count * idf(phrase_df[key]) * (1 + 0.5 * (len(key) - 2))
            + 0.25 * sum(word_score.get(part, 0.0) for part in key) / len(key)
            for key, count in phrases.items()
            if count >= 2 or not any(c >= 2 for c in phrases.values())
        }
        ranked = sorted(scored, key=lambda key: (-scored[key], key))
        # A trigram beats its own bigrams; drop phrases that are contained in a better one.
        picked: list[tuple[str, ...]] = []
        for key in ranked:
            if any(set(key) & set(other) for other in picked):
                continue
            if picked and (
                scored[key] < SECOND_PHRASE_SHARE * scored[picked[0]]
                or len(picked[0]) + len(key) + 1 > MAX_TITLE_WORDS
                or (n_segments > 1 and phrase_df[key] == n_segments)
            ):
                break
            picked.append(key)
            if len(picked) == 2:
                break
        if picked:
            parts = [
                " ".join(surface.form(w) for w in phrase_forms[key].most_common(1)[0][0]) for key in picked
            ]
        else:  # no repeated phrase: the two most distinctive words, joined ("Budget and schedule")
            usable = [k for k in word_score if word_forms[k].most_common(1)[0][0] not in _TITLE_WEAK]
            best = sorted(usable, key=lambda key: (-word_score[key], key))[:2]
            parts = [surface.form(word_forms[key].most_common(1)[0][0]) for key in best]
        if not parts:
            titles.append("")
            continue
        title = " and ".join(parts)
        titles.append(title[0].upper() + title[1:])
    return titles


def title(sentences: Sequence[str], others: Sequence[Sequence[str]] = ()) -> str:
    """A 2-6 word title for a topic said in ``sentences``, distinctive against ``others`` topics."""
    cleaned = [[text.clean_sentence(s) for s in group] for group in [sentences, *others]]
    surface = _Surface()
    for group in cleaned:
        for sentence in group:
            surface.add(sentence)
    return _titles(cleaned, surface)[0]


# --- key sentences ----------------------------------------------------------------------------------


def is_complete(sentence: str) -> bool:
    """True for a complete declarative sentence; False for a fragment or a question.

    Rejects: questions; sentences that start with a conjunction ("and", "because", "which"), or with
    "if"/"when"/... and no main clause after it; sentences that end on a word that cannot end one
    ("the", "to", "we", "is"); sentences cut by a false start or a restart ("we should -- I mean",
    "the price the price is", "I'll give I'll read", "to ha to n to have", "I don't know The
    situation", "an, compared"); and word strings without a subject and a finite verb.
    """
    if text.is_fragment(sentence):  # the shared fragment rules first (meetings/summarizer/text.py)
        return False
    stripped = sentence.strip()
    if not stripped or stripped.endswith("?") or _RESTART_MARKS.search(stripped):
        return False
    raw_tokens = [w.replace("’", "'") for w in text.words(stripped)]
    tokens = [w.lower() for w in raw_tokens]
    if len(tokens) < 3:
        return False
    if tokens[0] in _CONJUNCTIONS or tokens[-1] in _NON_FINAL:
        return False
    if tokens[0] in _FINITE - {"let's"}:  # "Does she have ...", "Is it ...": a question
        return False
    if tokens[0] in _SUBORDINATORS and not re.search(r",|\bthen\b", stripped):
        return False
    if _false_start(stripped, raw_tokens, tokens):
        return False
    finite_at = [
        i
        for i, word in enumerate(tokens)
        if word in _FINITE
        or _CONTRACTION.search(word)
        or (i and tokens[i - 1] in _SUBJECTS and word.endswith("ed"))
    ]
    # "we need", "it works"; "that/this/there/which" need a finite verb next ("that is", "there's").
    subject_verb = any(
        (tokens[i] in _PERSONAL | {"it"} and tokens[i + 1] not in _NON_FINAL - _FINITE)
        or (
            tokens[i] in _SUBJECTS
            and (
                tokens[i + 1] in _FINITE
                or (
                    re.fullmatch(r"[a-z]+(?:s|ed)", tokens[i + 1]) is not None
                    and tokens[i + 1] not in _NON_FINAL
                )
            )
        )
        for i in range(len(tokens) - 1)
    )
    subject_verb = subject_verb or any(
        _SUBJECT_CONTRACTION.match(word) or word in {"here's", "what's", "who's"} for word in tokens
    )
    if not finite_at and not subject_verb:
        return False
    # A finite verb that only opens the sentence ("Do the slides first") needs a subject later.
    return subject_verb or tokens[0] == "let's" or any(i > 0 for i in finite_at)


def _false_start(sentence: str, raw_tokens: list[str], tokens: list[str]) -> bool:
    """Signs of a false start or restart left in a cleaned sentence."""
    stop_words = _sumy_parts()[0].stop_words
    # A discourse marker in mid-sentence: "testing yeah, on", "a good id okay so let's".
    if re.search(r"\w\s+(?:yeah|yep|okay so|ok so|alright so)\b", sentence, re.IGNORECASE):
        return True
    for raw, word in zip(raw_tokens, tokens, strict=True):
        # Cut-off words: "w", "y", "ha", "n" (lower-case "i" too); acronyms ("TV", "A") are fine.
        if len(word) <= 2 and word not in _SHORT_WORDS and not (raw.isupper() or raw.isdigit()):
            return True
    for i in range(1, len(tokens)):
        # A new start in mid-sentence: "I don't know The situation", "we need It is".
        capital_function_word = raw_tokens[i] in _CAPITAL_RESTARTS or (
            raw_tokens[i][0].isupper() and raw_tokens[i][1:].islower() and tokens[i] in stop_words
        )
        if capital_function_word and re.search(rf"[A-Za-z0-9]\s+{re.escape(raw_tokens[i])}\b", sentence):
            return True
        # The same subject (with its verb) said again: "I'll give I'll read", "it's not it's".
        if (_CONTRACTION.search(tokens[i]) or tokens[i] in _SUBJECTS - {"i", "that", "one"}) and tokens[
            i
        ] in tokens[max(0, i - 3) : i - 1]:
            return True
    for i in range(len(tokens) - 2):
        # A subject straight after a subject ("I this is", "it's he's"), "I do I don't", "in the in that".
        if tokens[i] in _PERSONAL and tokens[i + 1] in _PERSONAL | {"this", "it", "there"}:
            return True
        if _SUBJECT_CONTRACTION.match(tokens[i]) and _SUBJECT_CONTRACTION.match(tokens[i + 1]):
            return True
        # Two different verb forms in a row: "nobody have has", "it was is".
        if tokens[i] in _AUXILIARIES and tokens[i + 1] in _AUXILIARIES and tokens[i] != tokens[i + 1]:
            return True
        if tokens[i] == tokens[i + 2] and (
            (tokens[i] in _PERSONAL and tokens[i + 1] in _FINITE) or tokens[i] in _PREPOSITIONS
        ):
            return True
    # The same two words said again shortly after ("I think the I think we").
    for i in range(len(tokens) - 1):
        pair = tokens[i : i + 2]
        for j in range(i + 2, min(i + 4, len(tokens) - 1)):
            if tokens[j : j + 2] == pair:
                return True
    # A function word cut off by a comma: "compared to an, bigger", "and the, Tango mode".
    # ... or by another word: "a and not to yell", "the the" (when cleaning kept it).
    return bool(_CUT_FUNCTION_WORD.search(sentence) or _CUT_ARTICLE.search(sentence))


@dataclass
class _Candidate:
    utterance: int
    segment_id: int
    clean: str
    stems: list[str]


def _candidates(utterances: Sequence[Utterance], start: int, end: int) -> tuple[list[_Candidate], list[str]]:
    """Key sentence candidates of utterances[start:end], and all its cleaned sentences."""
    candidates, cleaned = [], []
    for position in range(start, end):
        utterance = utterances[position]
        for raw in text.split_sentences(utterance.text):
            clean = text.clean_sentence(raw)
            if not clean:
                continue
            cleaned.append(clean)
            n_words = len(text.words(clean))
            if MIN_SENTENCE_WORDS <= n_words <= MAX_SENTENCE_WORDS and is_complete(clean):
                candidates.append(_Candidate(position, utterance.segment_id, clean, content_stems(clean)))
    return candidates, cleaned


def _key_sentences(
    candidates: list[_Candidate], idf: dict[str, float], limit: int
) -> tuple[tuple[str, int], ...]:
    """The ``limit`` candidates closest to the topic's TF-IDF centroid (of all its candidates), at most
    one per utterance, none sharing over half its content words with a better one; in meeting order."""
    centroid: Counter[str] = Counter()
    for candidate in candidates:
        centroid.update(candidate.stems)
    centroid_weights = {k: c * idf.get(k, 1.0) for k, c in centroid.items()}
    centroid_norm = math.sqrt(sum(v * v for v in centroid_weights.values())) or 1.0

    def score(candidate: _Candidate) -> float:
        weights = Counter()
        for stem in candidate.stems:
            weights[stem] += idf.get(stem, 1.0)
        norm = math.sqrt(sum(v * v for v in weights.values()))
        if not norm:
            return 0.0
        return sum(v * centroid_weights.get(k, 0.0) for k, v in weights.items()) / (norm * centroid_norm)

    ranked = sorted(candidates, key=lambda c: (-round(score(c), 9), c.utterance))
    chosen: list[_Candidate] = []
    for candidate in ranked:
        if len(chosen) >= limit:
            break
        if any(candidate.utterance == other.utterance for other in chosen):
            continue
        mine = set(candidate.stems)
        if any(len(mine & set(o.stems)) > 0.5 * max(1, min(len(mine), len(set(o.stems)))) for o in chosen):
            continue
        chosen.append(candidate)
    return tuple((c.clean, c.segment_id) for c in sorted(chosen, key=lambda c: c.utterance))


# --- the whole ----------------------------------------------------------------------------------


def topics(utterances: Sequence[Utterance], *, n_topics: int | None = None) -> tuple[TopicBlock, ...]:
    """The meeting's topics in order, each with a title and 1-3 key sentences (see module doc).

    Returns ``()`` for a meeting with too little text to have a topic. Never raises on odd text.
    """
    stems = [content_stems(u.text) for u in utterances]
    total_words = sum(len(text.words(u.text)) for u in utterances)
    if total_words < MIN_MEETING_WORDS or not any(stems):
        return ()
    if n_topics is None:
        n_topics = topic_count(total_words)
    boundaries = segment_stems(stems, n_topics=n_topics, bonus=cue_bonus([u.text for u in utterances]))
    edges = [0, *boundaries, len(utterances)]
    spans = list(itertools.pairwise(edges))
    segment_sentences, segment_candidates = [], []
    surface = _Surface()
    for start, end in spans:
        candidates, cleaned = _candidates(utterances, start, end)
        segment_sentences.append(cleaned)
        segment_candidates.append(candidates)
        for sentence in cleaned:
            surface.add(sentence)
    titles = _titles(segment_sentences, surface)
    # IDF of stems over the topics: words that mark this topic count more in its centroid.
    document_frequency: Counter[str] = Counter()
    for start, end in spans:
        document_frequency.update({stem for unit in stems[start:end] for stem in unit})
    idf = {k: math.log((1 + len(spans)) / df) + 1.0 for k, df in document_frequency.items()}
    blocks = []
    for number, ((start, end), heading, candidates) in enumerate(
        zip(spans, titles, segment_candidates, strict=True), start=1
    ):
        words_here = sum(len(text.words(u.text)) for u in utterances[start:end])
        limit = max(1, min(MAX_KEY_SENTENCES, words_here // WORDS_PER_KEY_SENTENCE))
        blocks.append(
            TopicBlock(
                title=heading or f"Topic {number}",
                start_index=start,
                end_index=end,
                key_sentences=_key_sentences(candidates, idf, limit),
                segment_ids=tuple(u.segment_id for u in utterances[start:end]),
            )
        )
    return tuple(blocks)

"""The offline summarizer: extractive, grounded, no model download (pure: no Django).

``summarize(utterances, ...)`` returns a :class:`SummaryResult` built only from sentences that
were said, cleaned of fillers (:mod:`meetings.summarizer.text`):

* key points and the overview: sentences ranked with sumy's LSA (numpy SVD) and Luhn
  summarizers (scores averaged) over our own sentence units (no NLTK punkt data), chosen within a
  word budget with a redundancy check;
* decisions: sentences with decision cues ("let's", "we'll go with", "agreed", "approve",
  "decided"), ranked by cue strength;
* action items: clauses with commitment or request cues ("I'll", "I will", "can you",
  "please", "action item", "by <day>"); owner = the speaker for the first person, the
  addressee for a request ("Bob, can you ..." when Bob is a participant; else the next
  speaker when they accept: "Will do"), a named third person ("ask Maria to ...");
  due date from the clause (:mod:`meetings.summarizer.dates`);
* topics: the meeting cut into contiguous blocks where the vocabulary shifts, each labelled
  with its most distinctive words and linked to the block's first segment.

Cost: one 1-hour meeting (~9,000 words) takes well under 2 s on one core.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from meetings.summarizer import dates, text
from meetings.summarizer.types import (
    INSUFFICIENT,
    NOT_ENOUGH_TEXT,
    READY,
    ActionItemDraft,
    Item,
    Person,
    SummaryResult,
    Utterance,
)

BACKEND = "offline"
MODEL = "sumy-lsa+luhn"
WORD_BUDGET = 130  # overview + key points, in words (the QMSum references are ~100-190 words)
OVERVIEW_SENTENCES = 2
LUHN_WEIGHT = 0.5  # rank = (1 - w) * LSA + w * Luhn, both scaled to [0, 1]
LUHN_SIGNIFICANT_SHARE = 0.05  # Luhn's "significant words": the 5 % most frequent stems
MIN_SENTENCE_WORDS = 7
MIN_MEETING_WORDS = 12
MAX_DECISIONS = 8
MAX_ACTION_ITEMS = 12
MAX_TOPICS = 6

_DECISION_CUES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), weight)
    for pattern, weight in (
        (r"\bwe(?:'ve| have)? (?:all |just |already )?(?:decided|agreed)\b", 3.0),
        (r"\b(?:decision is|final decision|we'll go (?:with|for)|we will go (?:with|for))\b", 3.0),
        (
            r"\b(?:let's|let us) (?:go (?:with|for)|approve|agree|stick with|use|keep|choose|plan|do|make|have|schedule|put)\b",
            2.5,
        ),
        (r"\b(?:it's|it is|that's|that is) (?:decided|agreed|settled)\b|^agreed\b", 2.5),
        (r"\b(?:approve[ds]?|approval)\b", 2.0),
        (r"\b(?:settled on|go ahead with)\b", 2.0),
        (r"\bwe (?:should|will|'ll) (?:go with|use|keep|stick with)\b", 1.5),
        (r"\b(?:let's|let us|decided|agreed)\b", 1.0),
    )
)
MIN_DECISION_WEIGHT = 1.5
_NOT_DECISION = re.compile(
    r"\b(?:let's|let us) (?:get started|start|begin|move on|go on|go to|go back|see|talk|discuss|"
    r"wrap up|finish|stop|say|think|hear|look|try|just|continue|get going|get back|get on)\b"
    r"|\blet's not\b|\?\s*$",
    re.IGNORECASE,
)
_ACTION_CUES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), weight)
    for pattern, weight in (
        (r"\baction (?:item|point)\b", 3.0),
        (
            r"\b(?:i|we)(?:'ll| will| am going to|'m going to| are going to|'re going to)\s+(?:also\s+)?"
            r"(?!be\b|have\b|see\b|need\b|probably\b|just\b|come\b|go into\b|get (?:into|to)\b|talk\b|"
            r"show\b|explain\b|start\b|try\b|leave\b|let\b|skip\b|stop\b|now\b|then\b|already\b)\w+",
            2.0,
        ),
        (
            r"(?:^|[,;]\s*|^\w+,\s*)(?:can|could|would|will) you (?:please )?(?!see|hear|imagine|tell me|explain)\w+",
            2.0,
        ),
        (r"\bplease\b", 2.0),
        (r"\b(?:ask|remind|tell) [A-Z]\w+ to\b", 1.5),
        (r"\b(?:you|he|she|they) (?:need|needs|have|has) to\b", 1.0),
        (r"\bmake sure\b", 1.0),
    )
)
# Requests about the meeting itself ("next slide", "speak up") are not action items.
_NOT_ACTION = re.compile(
    r"\b(?:next|previous|last|this|that|other) slide\b|\bslides? (?:back|forward)\b|\bgo (?:back|forward)\b|"
    r"\b(?:do|give|start) (?:your|the|my) presentation\b|\bscreen\b|\bmicrophones?\b|\bmics?\b|"
    r"\blapel\b|\bspeak up\b|\bsay that again\b|\brepeat that\b|\bsit down\b|\bhear me\b|\blater\b|"
    r"\bholidays?\b|\bfor you\b|^(?:if|when|because|as|since|although)\b",
    re.IGNORECASE,
)
_ACTION_VERBS = (
    "ask|book|call|check|circulate|contact|create|do|draft|email|file|find|finish|fix|follow|get|"
    "look|make|organi[sz]e|prepare|put|review|schedule|send|set|share|talk|test|update|write|"
    "present|research|investigate|deliver|submit|build|design|order|arrange|confirm|reply"
)
_CLAUSE_SPLIT = re.compile(rf",?\s+and (?:then )?(?=(?:{_ACTION_VERBS})\b)", re.IGNORECASE)
_THIRD_PERSON = re.compile(r"\b(?:ask|remind|tell|get)\s+(?P<name>[A-Z][a-z]+)\s+to\b")
_ACCEPT = re.compile(
    r"^\W*(?:will do|yes|yeah|yep|sure|ok|okay|of course|no problem|i will|i can|i'll|fine)\b", re.I
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'll|i'm)\b", re.IGNORECASE)
_NOT_NAMES = frozenset(
    {"okay", "ok", "so", "right", "well", "yes", "yeah", "please", "and", "but", "now", "then"}
)


@dataclass
class _Sentence:
    index: int
    utterance: int
    segment_id: int
    speaker: str
    participant_id: int | None
    raw: str
    clean: str
    n_words: int


def summarize(
    utterances: Sequence[Utterance],
    *,
    meeting_date: dt.date | None = None,
    participants: Sequence[Person] = (),
    word_budget: int = WORD_BUDGET,
) -> SummaryResult:
    """Summarize a meeting extractively. ``utterances`` in meeting order; see the module doc.

    Returns ``status="insufficient"`` (with :data:`NOT_ENOUGH_TEXT` as note) for an empty or
    one-line meeting instead of inventing anything. Never raises on odd text.
    """
    started = time.perf_counter()
    sentences = _sentences(utterances)
    spoken = [u for u in utterances if text.words(u.text)]
    total_words = sum(s.n_words for s in sentences)
    if len(spoken) < 2 or total_words < MIN_MEETING_WORDS:
        return SummaryResult(status=INSUFFICIENT, backend=BACKEND, model=MODEL, note=NOT_ENOUGH_TEXT)
    people = _people(utterances, participants)

    scores = _rank(sentences)
    ranked_at = time.perf_counter()
    overview, key_points = _select(sentences, scores, word_budget=word_budget)
    decisions = _decisions(sentences, scores)
    action_items = _action_items(sentences, utterances, people, meeting_date=meeting_date)
    topics = _topics(sentences)
    finished = time.perf_counter()
    return SummaryResult(
        status=READY,
        backend=BACKEND,
        model=MODEL,
        overview=overview,
        key_points=key_points,
        decisions=decisions,
        topics=topics,
        action_items=action_items,
        timings_ms={
            "rank": round((ranked_at - started) * 1000, 1),
            "total": round((finished - started) * 1000, 1),
        },
    )


def _sentences(utterances: Sequence[Utterance]) -> list[_Sentence]:
    result: list[_Sentence] = []
    for position, utterance in enumerate(utterances):
        for raw in text.split_sentences(utterance.text):
            clean = text.clean_sentence(raw)
            n_words = len(text.words(clean))
            if not n_words:
                continue
            result.append(
                _Sentence(
                    index=len(result),
                    utterance=position,
                    segment_id=utterance.segment_id,
                    speaker=utterance.speaker,
                    participant_id=utterance.participant_id,
                    raw=raw,
                    clean=clean,
                    n_words=n_words,
                )
            )
    return result


def _people(utterances: Sequence[Utterance], participants: Sequence[Person]) -> dict[str, Person]:
    """Known people by lower-cased first name and full name."""
    people: dict[str, Person] = {}
    everyone = [*participants, *(Person(u.speaker, u.participant_id) for u in utterances if u.speaker)]
    for person in everyone:
        name = person.name.strip()
        if not name:
            continue
        for key in {name.lower(), name.split()[0].lower()}:
            if key not in people or (people[key].participant_id is None and person.participant_id):
                people[key] = person
    return people


# --- ranking ------------------------------------------------------------------------------------


@cache
def _sumy_parts():
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


def _rank(sentences: list[_Sentence]) -> dict[int, float]:
    """Score per candidate sentence index: mean of sumy's LSA and Luhn ratings, each scaled to [0, 1].

    Candidates: cleaned sentences of at least ``MIN_SENTENCE_WORDS`` words that are not questions.
    """
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    candidates = [s for s in sentences if s.n_words >= MIN_SENTENCE_WORDS and not s.clean.endswith("?")]
    if not candidates:
        candidates = [s for s in sentences if s.n_words >= 3] or sentences
    summarizer, luhn = _sumy_parts()
    tokenizer = text.WordTokenizer()
    units = [Sentence(s.clean, tokenizer) for s in candidates]
    document = ObjectDocumentModel([Paragraph(units)])
    dictionary = summarizer._create_dictionary(document)
    if not dictionary:
        return {s.index: 0.0 for s in candidates}
    matrix = summarizer._compute_term_frequency(summarizer._create_matrix(document, dictionary))
    ranks = summarizer.rank_columns(matrix)
    significant = frozenset(luhn._get_significant_words(document.words))
    lsa = np.asarray(ranks, dtype=float)
    lsa /= lsa.max() or 1.0
    ratings = np.asarray([luhn.rate_sentence(unit, significant) for unit in units], dtype=float)
    ratings /= ratings.max() or 1.0
    combined = (1 - LUHN_WEIGHT) * lsa + LUHN_WEIGHT * ratings
    # Rounded: float noise must not reorder equal scores (ties go to the earlier sentence).
    return {s.index: round(float(score), 6) for s, score in zip(candidates, combined, strict=True)}


def _content_stems(sentence: str) -> frozenset[str]:
    summarizer, _luhn = _sumy_parts()
    return frozenset(
        summarizer.stem_word(w) for w in text.words(sentence) if w.lower() not in summarizer.stop_words
    )


def _select(
    sentences: list[_Sentence], scores: dict[int, float], *, word_budget: int
) -> tuple[str, tuple[Item, ...]]:
    """Best sentences within the word budget, skipping near-duplicates; overview = the top ones."""
    chosen: list[_Sentence] = []
    chosen_stems: list[frozenset[str]] = []
    used = 0
    for index in sorted(scores, key=lambda i: -scores[i]):
        sentence = sentences[index]
        if used + sentence.n_words > word_budget * 1.1:
            continue
        stems = _content_stems(sentence.clean)
        if any(len(stems & other) > 0.6 * min(len(stems), len(other)) for other in chosen_stems):
            continue
        chosen.append(sentence)
        chosen_stems.append(stems)
        used += sentence.n_words
        if used >= word_budget:
            break
    overview_set = {s.index for s in chosen[:OVERVIEW_SENTENCES]}
    overview = " ".join(s.clean for s in sorted(chosen, key=lambda s: s.index) if s.index in overview_set)
    key_points = tuple(
        Item(text=s.clean, segment_ids=(s.segment_id,))
        for s in sorted(chosen, key=lambda s: s.index)
        if s.index not in overview_set
    )
    return overview, key_points


# --- decisions ----------------------------------------------------------------------------------


def _cue_weight(sentence: str, cues: tuple[tuple[re.Pattern[str], float], ...]) -> float:
    return max((weight for pattern, weight in cues if pattern.search(sentence)), default=0.0)


def _needs_context(sentence: _Sentence) -> bool:
    return sentence.n_words <= 6 or bool(re.search(r"\b(?:that|it|this|those|them)\b\W*$", sentence.clean))


def _context(sentences: list[_Sentence], sentence: _Sentence) -> _Sentence | None:
    """The nearest earlier sentence of 4+ words (within three), for "Let's approve that."."""
    for earlier in reversed(sentences[max(0, sentence.index - 3) : sentence.index]):
        if earlier.n_words >= 4:
            return earlier
    return None


def _decisions(sentences: list[_Sentence], scores: dict[int, float]) -> tuple[Item, ...]:
    found: list[tuple[float, _Sentence]] = []
    for sentence in sentences:
        if sentence.n_words < 3 or _NOT_DECISION.search(sentence.clean):
            continue
        weight = _cue_weight(sentence.clean, _DECISION_CUES)
        if weight >= MIN_DECISION_WEIGHT:
            found.append((weight + scores.get(sentence.index, 0.0), sentence))
    best = sorted(found, key=lambda pair: -pair[0])[:MAX_DECISIONS]
    items = []
    for _score, sentence in sorted(best, key=lambda pair: pair[1].index):
        context = _context(sentences, sentence) if _needs_context(sentence) else None
        items.append(
            Item(
                text=sentence.clean,
                segment_ids=(sentence.segment_id,),
                context=context.clean if context else "",
                context_segment_ids=(context.segment_id,) if context else (),
            )
        )
    return tuple(items)


# --- action items -------------------------------------------------------------------------------


def _action_items(
    sentences: list[_Sentence],
    utterances: Sequence[Utterance],
    people: dict[str, Person],
    *,
    meeting_date: dt.date | None,
) -> tuple[ActionItemDraft, ...]:
    found: list[tuple[float, int, ActionItemDraft]] = []
    for sentence in sentences:
        if sentence.n_words < 3:
            continue
        for clause in _CLAUSE_SPLIT.split(sentence.clean):
            clause = clause.strip(" ,")
            weight = _cue_weight(clause, _ACTION_CUES)
            due_text, due_date = dates.find_due(clause, meeting_date=meeting_date)
            if due_text and weight:
                weight += 1.0
            if weight < 2.0 or len(text.words(clause)) < 3 or _NOT_ACTION.search(clause):
                continue
            owner = _owner(clause, sentence, utterances, people)
            clause = clause[0].upper() + clause[1:]
            draft = ActionItemDraft(
                text=clause if clause[-1] in ".?!" else clause + ".",
                segment_id=sentence.segment_id,
                owner_name=owner.name if owner else "",
                owner_participant_id=owner.participant_id if owner else None,
                due_text=due_text,
                due_date=due_date,
            )
            found.append((weight, sentence.index, draft))
    best = sorted(found, key=lambda entry: (-entry[0], entry[1]))[:MAX_ACTION_ITEMS]
    return tuple(draft for _w, _i, draft in sorted(best, key=lambda entry: entry[1]))


def _owner(
    clause: str, sentence: _Sentence, utterances: Sequence[Utterance], people: dict[str, Person]
) -> Person | None:
    third = _THIRD_PERSON.search(clause)
    if third:
        name = third.group("name")
        return people.get(name.lower(), Person(name))
    first_word = re.match(r"^\W*([A-Za-z]+)\s*,", sentence.raw)
    if first_word and first_word.group(1).lower() not in _NOT_NAMES:
        addressed = people.get(first_word.group(1).lower())
        if addressed is not None:
            return addressed
    if re.search(r"\b(?:you|please)\b", clause, re.IGNORECASE) and not _FIRST_PERSON.search(
        re.sub(r"\bsend me\b|\bme\b", "", clause, flags=re.IGNORECASE)
    ):
        return _responder(sentence, utterances)
    if (
        _FIRST_PERSON.search(clause) and sentence.speaker
    ):  # "I'll ...": the speaker; "we'll": nobody in particular
        return people.get(sentence.speaker.lower(), Person(sentence.speaker, sentence.participant_id))
    return None


def _responder(sentence: _Sentence, utterances: Sequence[Utterance]) -> Person | None:
    """The next other speaker, when their reply accepts the request ("Will do", "Yes")."""
    for following in utterances[sentence.utterance + 1 : sentence.utterance + 3]:
        if following.speaker and following.speaker != sentence.speaker:
            if _ACCEPT.search(following.text):
                return Person(following.speaker, following.participant_id)
            return None
    return None


# --- topics -------------------------------------------------------------------------------------


def _topics(sentences: list[_Sentence]) -> tuple[Item, ...]:
    """Contiguous blocks where the vocabulary shifts, labelled by their most distinctive words."""
    summarizer, _luhn = _sumy_parts()
    units = [s for s in sentences if s.n_words >= 4]
    if len(units) < 4:
        return ()
    tokens = [
        [
            summarizer.stem_word(w)
            for w in text.words(s.clean)
            if len(w) > 2 and w.lower() not in summarizer.stop_words
        ]
        for s in units
    ]
    surface: dict[str, Counter[str]] = {}
    for s in units:
        for w in text.words(s.clean):
            if len(w) > 2 and w.lower() not in summarizer.stop_words:
                surface.setdefault(summarizer.stem_word(w), Counter())[w.lower()] += 1
    n_blocks = max(1, min(MAX_TOPICS, round(math.sqrt(len(units) / 12))))
    size = math.ceil(len(units) / n_blocks)
    blocks = [range(start, min(start + size, len(units))) for start in range(0, len(units), size)]
    document_frequency: Counter[str] = Counter()
    block_counts = []
    for block in blocks:
        counts = Counter(stem for i in block for stem in tokens[i])
        block_counts.append(counts)
        document_frequency.update(counts.keys())
    items = []
    for block, counts in zip(blocks, block_counts, strict=True):
        weighted = {
            stem: count * math.log(1 + len(blocks) / document_frequency[stem])
            for stem, count in counts.items()
            if count >= 2
        }
        best = sorted(weighted, key=lambda stem: -weighted[stem])[:3]
        if not best:
            continue
        label = ", ".join(surface[stem].most_common(1)[0][0] for stem in best)
        first = next((units[i] for i in block if set(tokens[i]) & set(best)), units[block[0]])
        items.append(Item(text=label, segment_ids=(first.segment_id,)))
    return tuple(items)

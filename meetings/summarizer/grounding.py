"""Grounding of an LLM summary: an item stays only if the segments it cites support it (pure: no Django).

:func:`support_problem` says why a text is not supported by a source ("" when it is): enough of
its content words (stemmed, stop words and framing words such as "discussed" left out) said
there (``MIN_SUPPORT``; ``MIN_TOPIC_SUPPORT`` for topic labels), every number it gives said
there (in digits or words: :func:`evidence`), every name it gives known or said there.

:class:`Grounding` checks one answer of the model (``meetings.summarizer.llm``) against the
transcript it summarizes: key points, decisions (with the segment said just before each) and
topics against the segments they cite; overview sentences against the whole transcript
(``MIN_OVERVIEW_SUPPORT``, at most ``OVERVIEW_SENTENCES``); an action item's owner must be a
participant, the group ("we", "team": ``owners.GROUP``) or someone the cited segments name, else
the offline path's owner rules decide from the cited sentence; a due date must be said in the
cited segments, and is resolved like the offline path's (``dates.find_due``). What was dropped
or cleared, and why, is in its :class:`GroundingReport`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from meetings.summarizer import dates, owners
from meetings.summarizer.text import split_sentences
from meetings.summarizer.text import words as text_words
from meetings.summarizer.types import ActionItemDraft, Item, Person, Utterance


class CitedText(Protocol):
    """An item of the model's answer: its text and the segment ids it cites."""

    text: str
    segment_ids: list[int]


class CitedAction(CitedText, Protocol):
    """An action item of the model's answer: also the owner and due date as the model gave them."""

    owner: str | None
    due: str | None


def _split(spaced: str) -> list[str]:
    return spaced.split()


MIN_SUPPORT = 0.6  # share of an item's content words said in the segments it cites
MIN_TOPIC_SUPPORT = 0.5  # topic labels are one to three words: "Design budget" may cite one of them
MIN_OVERVIEW_SUPPORT = 0.75  # the overview cites nothing: checked against the whole transcript
OVERVIEW_SENTENCES = 3  # the prompt asks for two or three
_SPEAKER_LABEL = re.compile(r"^([A-Z][\w'-]{0,20}(?: [A-Z][\w'-]{0,20}){0,2}):\s")  # "C:", "Bob Smith:"
# Words a summary uses to frame what was said ("the team decided to ..."), never evidence.
_FRAME_STEMS = frozenset(
    _split(
        "meet discuss decid decis agre mention talk said say team group everyon everybodi particip "
        "speaker suggest propos confirm note action item task topic summari transcript overview"
    )
)
_DUE_WORDS = frozenset({"by", "before", "until", "on", "due", "for", "the", "of"})
_NO_OWNER = frozenset(
    {"", "none", "unknown", "n/a", "na", "null", "nobody", "no one", "tbd", "unassigned", "-", "?"}
)
_GROUP_OWNERS = frozenset(
    {
        "we", "us", "team", "everyone", "everybody", "all", "group", "all of us", "whole team",
        "entire team", "both", "both of us", "all participants", "participants", "each of us",
    }
)  # fmt: skip
_UNITS = {
    word: value
    for value, word in enumerate(
        _split(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
            "fifteen sixteen seventeen eighteen nineteen"
        )
    )
}
_TENS = {
    word: 10 * (i + 2)
    for i, word in enumerate(_split("twenty thirty forty fifty sixty seventy eighty ninety"))
}
_ORDINALS = dict(  # "first" and "second" are left out: "first of all", "just a second"
    zip(
        _split("third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"),
        range(3, 13),
        strict=True,
    )
)
_SCALES = {"hundred": 100, "thousand": 1000, "k": 1000, "million": 10**6, "m": 10**6, "billion": 10**9}
_DIGITS = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_TOKEN = re.compile(r"[a-z]+|\d+(?:,\d{3})*(?:\.\d+)?")
_NAME_LIKE = re.compile(r"^(?:[A-Z][a-z]+|[A-Z]{2,}s?|[a-z]+[A-Z]\w*)$")  # Maria, API, iOS


@dataclass(frozen=True)
class Evidence:
    """What a text says, for the support check: content-word stems, words and numbers."""

    stems: frozenset[str]
    words: frozenset[str]
    numbers: frozenset[float]


@lru_cache(maxsize=1)
def _language() -> tuple[object, frozenset[str]]:
    from sumy.nlp.stemmers import Stemmer
    from sumy.utils import get_stop_words

    return lru_cache(maxsize=65536)(Stemmer("english")), frozenset(get_stop_words("english"))


def evidence(text: str) -> Evidence:
    """The stems of ``text``'s content words (stop words and numbers left out), its lower-cased
    words, and the numbers it says in digits or words ("twelve thousand", "$12,000", "12k")."""
    stem, stop_words = _language()
    lowered = [w.lower().replace("’", "'") for w in text_words(text)]
    words = set()
    stems = set()
    for word in lowered:
        for part in word.split("-"):
            bare = re.sub(r"'(?:s|re|m|ve|ll|d|t)$", "", part)
            words.update({part, bare})
            if (
                bare
                and not bare.isdigit()
                and bare not in stop_words
                and part not in stop_words
                and bare not in _UNITS
                and bare not in _TENS
                and bare not in _SCALES
            ):
                stems.add(stem(bare))
    return Evidence(frozenset(stems), frozenset(words), frozenset(_numbers(text)))


def _numbers(text: str) -> set[float]:
    """Numbers said in ``text``: digits (with thousands commas, "12k", "1.5 million") and words
    ("two hundred", "twelve thousand", "third"). 0 and 1 are left out: "a", "one", "first" are
    too often not numbers at all."""
    found: set[float] = set()
    words = _TOKEN.findall(text.lower().replace("-", " "))
    current: float | None = None
    total = 0.0

    def flush() -> None:
        nonlocal current, total
        if current is not None or total:
            found.add(total + (current or 0))
        current, total = None, 0.0

    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if _DIGITS.fullmatch(word):
            flush()
            current = float(word.replace(",", ""))
        elif word in _UNITS and current is not None and current >= 20 and current % 10 == 0:
            current += _UNITS[word]  # "twenty five", "a hundred and five"
        elif word in _UNITS or word in _TENS:
            if current is not None and not (current >= 100 and current % 100 == 0):
                flush()  # "three, four"
            current = (current or 0) + (_UNITS[word] if word in _UNITS else _TENS[word])
        elif word in _ORDINALS:
            flush()
            found.add(_ORDINALS[word])
        elif word in _SCALES and (current is not None or len(word) > 1):  # "12k", "a thousand"
            if _SCALES[word] == 100:
                current = (current or 1) * 100
            else:
                total += (current or 1) * _SCALES[word]
                current = None
        elif word == "a" and following in _SCALES:
            flush()
            current = 1
        elif not (word == "and" and current is not None and (following in _UNITS or following in _TENS)):
            flush()
    flush()
    return {n for n in found if n not in (0, 1)}


def support_problem(
    text: str,
    source: str | Evidence,
    *,
    names: frozenset[str] = frozenset(),
    min_share: float = MIN_SUPPORT,
) -> str:
    """Why ``source`` does not support ``text``, or "" when it does.

    Supported means: at least ``min_share`` of the text's content-word stems (stop words,
    numbers, people's ``names`` and framing words such as "discussed" or "the team decided"
    left out) occur in the source, at least one does, every number the text says (2 or more)
    is said in the source, and every name in the text (a capitalized word after a sentence's
    first, or a first word that is the subject: "John will ...") is one of ``names`` (lower
    case) or said in the source.
    """
    said = source if isinstance(source, Evidence) else evidence(source)
    claim = evidence(text)
    stem = _language()[0]
    content = claim.stems - _FRAME_STEMS - names - {stem(name) for name in names}
    if not content:
        return "says nothing checkable"
    missing_numbers = claim.numbers - said.numbers
    if missing_numbers:
        return f"says {', '.join(f'{n:g}' for n in sorted(missing_numbers))}, which the cited segments do not"
    for name in _names_in(text):
        if name.lower() not in said.words and name.lower() not in names:
            return f"names {name}, which the cited segments do not"
    share = len(content & said.stems) / len(content)
    if share < min_share:
        return f"only {share:.0%} of its words are in the cited segments"
    return ""


_SUBJECT_VERBS = frozenset(
    _split("will 'll shall should must can could would is was has had needs wants agreed asked said to and")
)


def _names_in(text: str) -> list[str]:
    """Capitalized words that are not the first of a sentence (names, places, products), and a
    first word that is the subject of a verb ("John will ...", "Marketing should ...")."""
    _stem, stop_words = _language()
    found = []
    for sentence in split_sentences(text):
        tokens = [re.sub(r"[^\w'’-]+", "", token) for token in sentence.split()]
        for i, token in enumerate(tokens):
            word = re.sub(r"['’](?:s|re|m|ve|ll|d|t)$", "", token)
            if word == "I" or not _NAME_LIKE.match(word):
                continue
            if i == 0:
                following = tokens[1].lower().replace("’", "'") if len(tokens) > 1 else ""
                subject = following in _SUBJECT_VERBS or token.lower().endswith("'ll")
                if not subject or word.lower() in stop_words:
                    continue
            found.append(word)
    return found


@dataclass
class GroundingReport:
    """What the grounding check did: items kept, items dropped and owners or due dates cleared
    (each as (section, text, reason))."""

    kept: int = 0
    dropped: list[tuple[str, str, str]] = field(default_factory=list)
    cleared: list[tuple[str, str, str]] = field(default_factory=list)

    def drop(self, section: str, text: str, reason: str) -> None:
        self.dropped.append((section, text, reason))

    def clear(self, section: str, text: str, reason: str) -> None:
        self.cleared.append((section, text, reason))


class Grounding:
    """The check of one answer against the transcript it summarizes (``report`` says what it did)."""

    def __init__(
        self,
        utterances: Sequence[Utterance],
        participants: Sequence[Person],
        *,
        meeting_date: dt.date | None,
    ) -> None:
        self.utterances = list(utterances)
        self.position = {u.segment_id: i for i, u in enumerate(self.utterances)}
        self.people = owners.directory(self.utterances, participants)
        self.names = frozenset(self.people)
        self.meeting_date = meeting_date
        self.report = GroundingReport()
        self.whole = evidence(" ".join(u.text for u in self.utterances))

    def ids(self, segment_ids: Sequence[int]) -> tuple[int, ...]:
        return tuple(dict.fromkeys(i for i in segment_ids if i in self.position))

    def source(self, ids: Sequence[int], *, with_previous: bool = False) -> str:
        """The cited segments' text; ``with_previous`` adds the segment said just before each
        (a decision such as "Then let's approve that." takes its meaning from it)."""
        positions = sorted({self.position[i] for i in ids})
        if with_previous:
            positions = sorted({p - 1 for p in positions if p > 0} | set(positions))
        return " ".join(self.utterances[p].text for p in positions)

    def item(self, section: str, entry: CitedText, *, min_share: float = MIN_SUPPORT) -> Item | None:
        text = " ".join(entry.text.split())
        ids = self.ids(entry.segment_ids)
        if not text:
            return None
        if not ids:
            self.report.drop(section, text, "cites no segment of this meeting")
            return None
        problem = support_problem(
            text,
            self.source(ids, with_previous=section == "decisions"),
            names=self.names,
            min_share=min_share,
        )
        if problem:
            self.report.drop(section, text, problem)
            return None
        self.report.kept += 1
        return Item(text=text, segment_ids=ids)

    def overview(self, overview: str) -> str:
        """The overview's sentences that the whole transcript supports (it cites no segment),
        at most :data:`OVERVIEW_SENTENCES`; a sentence put in the mouth of a speaker label that
        is nobody here ("C: I will ...") is dropped."""
        kept: list[str] = []
        for sentence in split_sentences(" ".join(overview.split())):
            label = _SPEAKER_LABEL.match(sentence)
            if label and label.group(1).lower() not in self.names:
                problem = f"quotes {label.group(1)}, who is not in this meeting"
            elif len(kept) == OVERVIEW_SENTENCES:
                problem = f"the overview has {OVERVIEW_SENTENCES} sentences already"
            else:
                problem = support_problem(
                    sentence, self.whole, names=self.names, min_share=MIN_OVERVIEW_SUPPORT
                )
            if problem:
                self.report.drop("overview", sentence, problem)
            else:
                self.report.kept += 1
                kept.append(sentence)
        return " ".join(kept)

    def action(self, entry: CitedAction) -> ActionItemDraft | None:
        item = self.item("action_items", entry)
        if item is None:
            return None
        source = self.source(item.segment_ids)
        kind, person = self.owner((entry.owner or "").strip(), item, source)
        due_text, due_date = self.due((entry.due or "").strip(), item.text, source)
        return ActionItemDraft(
            text=item.text,
            segment_id=item.segment_ids[0],
            owner_name=owners.GROUP_NAME if kind == owners.GROUP else (person.name if person else ""),
            owner_participant_id=person.participant_id if person else None,
            owner_kind=kind,
            due_text=due_text,
            due_date=due_date,
        )

    def owner(self, said: str, item: Item, source: str) -> tuple[str, Person | None]:
        """The owner the model named, if it is a participant, the group, or someone the cited
        segments name; else the offline path's rules on the cited sentence (often: unknown)."""
        key = re.sub(r"^(?:the|our)\s+", "", re.sub(r"[^\w\s'-]", " ", said.lower())).strip()
        key = " ".join(key.split())
        if key in _GROUP_OWNERS:
            return owners.GROUP, None
        if key not in _NO_OWNER:
            person = self.people.get(key) or self.people.get(key.split()[0])
            speaker = self.utterances[self.position[item.segment_ids[0]]].speaker
            if person is not None:
                return (owners.SPEAKER if person.name == speaker else owners.ADDRESSEE), person
            first = said.split()[0].strip(",.")
            if first[:1].isupper() and first.lower() in evidence(source).words:
                return owners.THIRD_PARTY, Person(first[:200])
            self.report.clear("owner", f"{item.text} ({said})", "owner is not a participant or named there")
        position, sentence = self._best_sentence(item)
        owner = owners.resolve_owner(
            sentence, position=position, utterances=self.utterances, people=self.people
        )
        return owner.kind, owner.person

    def _best_sentence(self, item: Item) -> tuple[int, str]:
        """The cited sentence that shares the most content words with the item."""
        claim = evidence(item.text).stems
        best = (-1, self.position[item.segment_ids[0]], "")
        for segment_id in item.segment_ids:
            position = self.position[segment_id]
            for sentence in split_sentences(self.utterances[position].text):
                overlap = len(claim & evidence(sentence).stems)
                if overlap > best[0]:
                    best = (overlap, position, sentence)
        return best[1], best[2]

    def due(self, said: str, text: str, source: str) -> tuple[str, dt.date | None]:
        """The due phrase the model gave (or its item text says) when the cited segments say it
        too, resolved like the offline path's (``dates.find_due``); an ISO date is kept when a
        due phrase of the cited segments resolves to it. Otherwise no due date."""
        said_words = evidence(source).words
        try:
            iso = dt.date.fromisoformat(said)
        except ValueError:
            iso = None
        if iso is not None:
            phrase, date = dates.find_due(source, meeting_date=self.meeting_date)
            if date == iso:
                return phrase[:100], date
            self.report.clear("due date", f"{text} ({said})", "the cited segments give no such date")
            return "", None
        for candidate in (said, text):
            phrase, date = dates.find_due(candidate, meeting_date=self.meeting_date)
            if not phrase:
                continue
            core = [w.lower() for w in text_words(phrase) if w.lower() not in _DUE_WORDS]
            if all(w in said_words for w in core):
                return phrase[:100], date
            self.report.clear("due date", f"{text} ({said or phrase})", "the cited segments do not say it")
            return "", None
        return "", None

"""The LLM summarizer: any OpenAI-compatible chat server (OpenAI, Ollama, vLLM, llama.cpp) via
the ``openai`` client (pure: no Django).

``summarize(utterances, config=...)`` sends the transcript as ``[#<segment id>] Speaker: text``
lines and asks for JSON matching :data:`SUMMARY_SCHEMA`, trying in order

1. ``response_format={"type": "json_schema", ...}`` (strict schema),
2. ``{"type": "json_object", "schema": ...}`` (llama-cpp-python's server) when the server
   rejects that (HTTP 400/422, or llama-cpp-python's 500 naming ``response_format``),
3. ``{"type": "json_object"}``,
4. no ``response_format``, the schema spelled out in the prompt;

and parses the answer leniently (``<think>`` blocks and code fences stripped, the outermost
JSON object taken). Then every item is grounded (:func:`support_problem`): a key point,
decision, action item or topic must cite segment ids we sent, and is dropped unless the cited
segments support it: enough of its content words (stemmed, stop words left out) said there,
every number it gives said there, every name it gives known or said there. Overview sentences
are checked against the whole transcript. An action item's owner must be a participant, the
group ("we", "team": ``owners.GROUP``) or someone the cited segments name, else the offline
path's owner rules decide from the cited sentence; a due date must be said in the cited
segments, and is resolved like the offline path's (``dates.find_due``).

When the transcript exceeds the context (``context_tokens``, estimated at 4 characters a token),
it is cut into segment-aligned chunks (map), each summarized alone, and the partial summaries
are merged by the model (reduce, repeated until one is left).

Errors: :class:`LLMTransientError` (timeout, connection, HTTP 5xx/429: worth a retry) and
:class:`LLMError` (anything else: bad answers, refusals, auth). The caller falls back to the
offline summary.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, ValidationError, field_validator

from meetings.summarizer import dates, owners
from meetings.summarizer.errors import SummaryError, TransientSummaryError
from meetings.summarizer.text import split_sentences
from meetings.summarizer.text import words as text_words
from meetings.summarizer.types import (
    READY,
    ActionItemDraft,
    Item,
    Person,
    SummaryResult,
    Utterance,
)

logger = logging.getLogger(__name__)
BACKEND = "openai"
CHARS_PER_TOKEN = 4
PROMPT_OVERHEAD_TOKENS = 700  # system prompt + schema + answer framing


class LLMError(SummaryError):
    """The LLM path failed for good (bad answer, refused request, auth): fall back."""


class LLMTransientError(LLMError, TransientSummaryError):
    """Timeout, connection error, HTTP 5xx or 429: the same request may work later."""


@dataclass(frozen=True)
class LLMConfig:
    """``base_url`` like ``http://127.0.0.1:11434/v1``; ``timeout_seconds`` per HTTP request."""

    base_url: str
    model: str
    api_key: str = ""
    context_tokens: int = 8192
    timeout_seconds: float = 60.0
    max_output_tokens: int = 1200


_ITEM = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "segment_ids": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["text", "segment_ids"],
    "additionalProperties": False,
}
_ACTION = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "owner": {"type": "string"},
        "due": {"type": "string"},
        "segment_ids": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["text", "owner", "due", "segment_ids"],
    "additionalProperties": False,
}
SUMMARY_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "overview": {"type": "string"},
        "key_points": {"type": "array", "items": _ITEM},
        "decisions": {"type": "array", "items": _ITEM},
        "action_items": {"type": "array", "items": _ACTION},
        "topics": {"type": "array", "items": _ITEM},
    },
    "required": ["overview", "key_points", "decisions", "action_items", "topics"],
    "additionalProperties": False,
}
# The same shape with bounds, for servers that compile the schema into a grammar (llama.cpp):
# a small model that repeats itself stops at the bounds instead of at max_tokens. Not sent in
# strict json_schema mode, where OpenAI does not accept every bound.
_MAX_ITEMS = {"key_points": 6, "decisions": 4, "action_items": 6, "topics": 5}
_MAX_CHARS = {"overview": 500, "text": 200, "owner": 60, "due": 40}


def _bounded(schema: dict, name: str = "") -> dict:
    if schema.get("type") == "object":
        properties = {key: _bounded(value, key) for key, value in schema["properties"].items()}
        return {**schema, "properties": properties}
    if schema.get("type") == "array":
        limit = _MAX_ITEMS.get(name, 4 if name == "segment_ids" else None)
        bounded = {**schema, "items": _bounded(schema["items"])}
        return {**bounded, "maxItems": limit} if limit else bounded
    if schema.get("type") == "string" and name in _MAX_CHARS:
        return {**schema, "maxLength": _MAX_CHARS[name]}
    return schema


BOUNDED_SUMMARY_SCHEMA = _bounded(SUMMARY_SCHEMA)
SYSTEM_PROMPT = (
    "You summarize meeting transcripts. Each transcript line starts with [#ID], the segment id. "
    "Answer with one JSON object only: overview (two or three sentences), key_points, decisions (only what "
    "was actually decided), action_items (only tasks someone committed to or was asked to do; "
    "owner = the person's name as in the transcript or empty; due = the deadline as said or "
    "empty), topics (short labels). Every item lists in segment_ids the [#ID]s it comes from. "
    "Use the speakers' own words. Never invent facts, names, numbers, owners or dates: items the "
    "cited lines do not support are discarded. Empty lists are fine."
)
MERGE_PROMPT = (
    "Below are JSON summaries of consecutive parts of one meeting. Merge them into one summary "
    "of the whole meeting with the same JSON shape. Keep the segment_ids; drop duplicates."
)


class _ItemIn(BaseModel):
    text: str
    segment_ids: list[int] = []

    @field_validator("segment_ids", mode="before")
    @classmethod
    def _ids(cls, value):
        if value is None:
            return []
        values = value if isinstance(value, list) else [value]
        ids = []
        for entry in values:  # lenient: "#12", "12", 12
            match = re.search(r"\d+", str(entry))
            if match:
                ids.append(int(match.group(0)))
        return ids


class _ActionIn(_ItemIn):
    owner: str | None = ""
    due: str | None = ""


class _SummaryIn(BaseModel):
    overview: str = ""
    key_points: list[_ItemIn] = []
    decisions: list[_ItemIn] = []
    action_items: list[_ActionIn] = []
    topics: list[_ItemIn] = []

    @field_validator("key_points", "decisions", "topics", mode="before")
    @classmethod
    def _strings_as_items(cls, value):
        if isinstance(value, list):
            return [
                {"text": entry, "segment_ids": []} if isinstance(entry, str) else entry for entry in value
            ]
        return value


def summarize(
    utterances: Sequence[Utterance],
    *,
    config: LLMConfig,
    meeting_date: dt.date | None = None,
    participants: Sequence[Person] = (),
) -> SummaryResult:
    """Summarize with the configured server; raises :class:`LLMError` / :class:`LLMTransientError`."""
    started = time.perf_counter()
    session = _Session(config)
    lines = [_line(u) for u in utterances if u.text.strip()]
    budget_chars = (
        config.context_tokens - config.max_output_tokens - PROMPT_OVERHEAD_TOKENS
    ) * CHARS_PER_TOKEN
    if budget_chars <= 0:
        raise LLMError("SUMMARY_CONTEXT_TOKENS leaves no room for the transcript")
    chunks = _chunks(lines, budget_chars=budget_chars)
    partials = [session.ask(SYSTEM_PROMPT, "Transcript:\n" + "\n".join(chunk)) for chunk in chunks]
    while len(partials) > 1:
        partials = _reduce(session, partials, budget_chars=budget_chars)
    result, report = _validate(partials[0], utterances, participants, meeting_date=meeting_date)
    logger.info(
        "summary LLM %s: %d items kept, %d dropped, %d owners or due dates cleared",
        config.model,
        report.kept,
        len(report.dropped),
        len(report.cleared),
    )
    for section, text, reason in report.dropped + report.cleared:
        logger.info("summary LLM grounding: %s %r: %s", section, text[:120], reason)
    return SummaryResult(
        status=READY,
        backend=BACKEND,
        model=config.model,
        timings_ms={
            "total": round((time.perf_counter() - started) * 1000, 1),
            "requests": session.requests,
            "kept": report.kept,
            "dropped": len(report.dropped),
            "cleared": len(report.cleared),
        },
        note=f"map-reduce over {len(chunks)} parts" if len(chunks) > 1 else "",
        **result,
    )


def _line(utterance: Utterance) -> str:
    speaker = utterance.speaker or "Unknown"
    return f"[#{utterance.segment_id}] {speaker}: {' '.join(utterance.text.split())}"


def _chunks(lines: list[str], *, budget_chars: int) -> list[list[str]]:
    """Consecutive lines in chunks under ``budget_chars`` (a longer single line is cut)."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        line = line[:budget_chars]
        if chunks[-1] and size + len(line) + 1 > budget_chars:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    return [chunk for chunk in chunks if chunk] or [[]]


def _reduce(session: _Session, partials: list[dict], *, budget_chars: int) -> list[dict]:
    texts = [json.dumps(partial, ensure_ascii=False) for partial in partials]
    groups = _chunks(texts, budget_chars=budget_chars)
    if len(groups) == len(partials) and len(partials) > 1:  # each alone fills the context: pair them
        groups = [texts[i : i + 2] for i in range(0, len(texts), 2)]
    return [session.ask(SYSTEM_PROMPT + " " + MERGE_PROMPT, "\n\n".join(group)) for group in groups]


class _RejectedFormat(Exception):
    """The server refused the request's ``response_format`` (or a parameter): try the next mode."""

    def __init__(self, exc: Exception, status: int) -> None:
        super().__init__(str(exc))
        self.status = status


class _Session:
    """One summary's requests: remembers which ``response_format`` the server accepts.

    Modes, in order: ``json_schema`` (OpenAI, vLLM, Ollama), ``json_object_schema`` (a JSON
    object with the schema alongside, ``{"type": "json_object", "schema": ...}``: how
    llama-cpp-python's server constrains its output to a schema), ``json_object``, ``prompt`` (no
    ``response_format``; the schema is spelled out in the system prompt).
    """

    MODES = ("json_schema", "json_object_schema", "json_object", "prompt")

    def __init__(self, config: LLMConfig) -> None:
        import openai

        self.openai = openai
        self.config = config
        self.client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "not-needed",  # local servers ignore it; the client wants one
            timeout=config.timeout_seconds,
            max_retries=0,  # retries are the Celery task's job (bounded, with backoff)
        )
        self.mode = 0
        # Newer OpenAI models refuse max_tokens ("use max_completion_tokens"); older servers
        # (llama.cpp, vLLM, Ollama) may not know max_completion_tokens. Start with the old name.
        self.length_param = "max_tokens"
        self.requests = 0

    def ask(self, system: str, user: str) -> dict:
        while True:
            mode = self.MODES[self.mode]
            try:
                content = self._complete(system, user, mode)
            except _RejectedFormat as exc:
                if self.length_param == "max_tokens" and "max_completion_tokens" in str(exc):
                    self.length_param = "max_completion_tokens"
                    continue
                if self.mode + 1 < len(self.MODES):
                    logger.info(
                        "summary LLM rejected response_format=%s (%s); trying the next", mode, exc.status
                    )
                    self.mode += 1
                    continue
                raise LLMError(f"the server rejected the request: HTTP {exc.status}") from exc
            return parse_json_answer(content)

    def _complete(self, system: str, user: str, mode: str) -> str:
        openai = self.openai
        kwargs: dict[str, object] = {}
        if mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "meeting_summary", "schema": SUMMARY_SCHEMA, "strict": True},
            }
        elif mode == "json_object_schema":
            kwargs["response_format"] = {"type": "json_object", "schema": BOUNDED_SUMMARY_SCHEMA}
        elif mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        else:
            system = f"{system}\nThe JSON must follow this JSON Schema:\n{json.dumps(SUMMARY_SCHEMA)}"
        self.requests += 1
        try:
            response = self.client.chat.completions.create(
                model=self.config.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                temperature=0,
                **{self.length_param: self.config.max_output_tokens},
                **kwargs,
            )
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise LLMTransientError(f"summary server unreachable or slow: {type(exc).__name__}") from exc
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            raise _RejectedFormat(exc, exc.status_code) from exc
        except openai.InternalServerError as exc:
            # llama-cpp-python's server answers a response_format it does not know with HTTP 500
            # and the validation error ("Input should be 'text' or 'json_object'"): a rejection.
            if "response_format" in str(exc) and mode != "prompt":
                raise _RejectedFormat(exc, exc.status_code) from exc
            raise LLMTransientError(f"summary server busy or failing: HTTP {exc.status_code}") from exc
        except openai.RateLimitError as exc:
            raise LLMTransientError(f"summary server busy or failing: HTTP {exc.status_code}") from exc
        except openai.APIStatusError as exc:  # 401, 403, 404 ...: retrying will not help
            raise LLMError(f"summary server refused the request: HTTP {exc.status_code}") from exc
        if not response.choices:
            raise LLMError("the summary server answered without choices")
        message = response.choices[0].message
        if getattr(message, "refusal", None):
            raise LLMError("the model refused to summarize")
        return message.content or ""


_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def parse_json_answer(content: str) -> dict:
    """The JSON object in a model's answer: ``<think>`` blocks and code fences removed.

    Raises :class:`LLMError` when no JSON object can be read.
    """
    text = _THINK.sub("", content or "").strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0:
        raise LLMError("the model's answer holds no JSON object")
    try:
        data = json.loads(text[start : max(end, start) + 1], strict=False)  # raw newlines in strings
    except json.JSONDecodeError as exc:
        data = _complete_prefix(text[start:])
        if data is None:
            raise LLMError(f"the model's answer is not valid JSON: {exc.msg}") from exc
        logger.info("summary LLM: the answer was cut off; its complete items are used")
    if not isinstance(data, dict):
        raise LLMError("the model's answer is not a JSON object")
    return data


# --- grounding: every item must be supported by the segments it cites ------------------------


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


class _Grounding:
    """The check of one answer against the transcript it summarizes."""

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

    def item(self, section: str, entry: _ItemIn, *, min_share: float = MIN_SUPPORT) -> Item | None:
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

    def action(self, entry: _ActionIn) -> ActionItemDraft | None:
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


def _complete_prefix(text: str, *, tries: int = 200) -> dict | None:
    """The longest prefix of a cut-off JSON object (an answer that hit ``max_tokens``) that
    ends after a complete value, with its open brackets closed; None if there is none.

    Only what the model wrote is kept: the item it was writing when it stopped is left out.
    """
    stack: list[str] = []
    in_string = escaped = False
    cuts: list[tuple[int, str]] = []  # (end of a complete object/array, the closers it needs)
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
            if stack:
                cuts.append((i + 1, "".join(reversed(stack))))
    for end, closers in reversed(cuts[-tries:]):
        try:
            data = json.loads(text[:end] + closers, strict=False)
        except json.JSONDecodeError:
            continue
        return data if isinstance(data, dict) else None
    return None


def _validate(
    data: dict,
    utterances: Sequence[Utterance],
    participants: Sequence[Person],
    *,
    meeting_date: dt.date | None,
) -> tuple[dict[str, object], GroundingReport]:
    try:
        parsed = _SummaryIn.model_validate(data)
    except ValidationError as exc:
        raise LLMError(
            f"the model's JSON does not match the summary schema ({exc.error_count()} errors)"
        ) from exc
    check = _Grounding(utterances, participants, meeting_date=meeting_date)

    def items(section: str, entries: list[_ItemIn], min_share: float = MIN_SUPPORT) -> tuple[Item, ...]:
        kept: dict[str, Item] = {}
        for entry in entries:
            item = check.item(section, entry, min_share=min_share)
            if item is not None:
                kept.setdefault(item.text.lower(), item)
        return tuple(kept.values())

    actions = [check.action(entry) for entry in parsed.action_items]
    result = {
        "overview": check.overview(parsed.overview),
        "key_points": items("key_points", parsed.key_points),
        "decisions": items("decisions", parsed.decisions),
        "topics": items("topics", parsed.topics, MIN_TOPIC_SUPPORT),
        "action_items": tuple(a for a in actions if a is not None),
    }
    return result, check.report

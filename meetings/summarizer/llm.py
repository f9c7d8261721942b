"""The LLM summarizer: any OpenAI-compatible chat server (OpenAI, Ollama, vLLM, llama.cpp) via
the ``openai`` client (pure: no Django).

``summarize(utterances, config=...)`` sends the transcript as ``[#<segment id>] Speaker: text``
lines and asks for JSON matching :data:`SUMMARY_SCHEMA`, trying in order

1. ``response_format={"type": "json_schema", ...}`` (strict schema),
2. ``response_format={"type": "json_object"}`` when the server rejects (400) the schema,
3. no ``response_format``, the schema spelled out in the prompt, when that is rejected too;

and parses the answer leniently (``<think>`` blocks and code fences stripped, the outermost
JSON object taken). Items are validated: segment ids must be ones we sent; decisions and action
items citing no valid segment are dropped (never shown ungrounded); owners are matched to the
participants; due dates are resolved against the meeting date.

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
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError, field_validator

from meetings.summarizer import dates
from meetings.summarizer.errors import SummaryError, TransientSummaryError
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
SYSTEM_PROMPT = (
    "You summarize meeting transcripts. Each transcript line starts with [#ID], the segment id. "
    "Answer with one JSON object only: overview (2-3 sentences), key_points, decisions (only what "
    "was actually decided), action_items (only tasks someone committed to or was asked to do; "
    "owner = the person's name as in the transcript or empty; due = the deadline as said or "
    "empty), topics (short labels). Every item lists in segment_ids the [#ID]s it comes from. "
    "Never invent facts, owners or dates. Empty lists are fine."
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
    result = _validate(partials[0], utterances, participants, meeting_date=meeting_date)
    return SummaryResult(
        status=READY,
        backend=BACKEND,
        model=config.model,
        timings_ms={"total": round((time.perf_counter() - started) * 1000, 1), "requests": session.requests},
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


class _Session:
    """One summary's requests: remembers which ``response_format`` the server accepts."""

    MODES = ("json_schema", "json_object", "prompt")

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
            except self.openai.BadRequestError as exc:
                if self.length_param == "max_tokens" and "max_completion_tokens" in str(exc):
                    self.length_param = "max_completion_tokens"
                    continue
                if self.mode + 1 < len(self.MODES):
                    logger.info(
                        "summary LLM rejected response_format=%s (%s); trying the next", mode, exc.status_code
                    )
                    self.mode += 1
                    continue
                raise LLMError(f"the server rejected the request: HTTP {exc.status_code}") from exc
            return parse_json_answer(content)

    def _complete(self, system: str, user: str, mode: str) -> str:
        openai = self.openai
        kwargs: dict[str, object] = {}
        if mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "meeting_summary", "schema": SUMMARY_SCHEMA, "strict": True},
            }
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
        except (openai.InternalServerError, openai.RateLimitError) as exc:
            raise LLMTransientError(f"summary server busy or failing: HTTP {exc.status_code}") from exc
        except openai.BadRequestError:
            raise
        except openai.APIStatusError as exc:  # 401, 403, 404, 422 ...: retrying will not help
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
    if start < 0 or end <= start:
        raise LLMError("the model's answer holds no JSON object")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise LLMError(f"the model's answer is not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise LLMError("the model's answer is not a JSON object")
    return data


def _validate(
    data: dict,
    utterances: Sequence[Utterance],
    participants: Sequence[Person],
    *,
    meeting_date: dt.date | None,
) -> dict[str, object]:
    try:
        parsed = _SummaryIn.model_validate(data)
    except ValidationError as exc:
        raise LLMError(
            f"the model's JSON does not match the summary schema ({exc.error_count()} errors)"
        ) from exc
    known = {u.segment_id for u in utterances}
    people = {p.name.strip().lower(): p for p in participants if p.name.strip()}
    for person in list(people.values()):
        people.setdefault(person.name.split()[0].lower(), person)
    for u in utterances:
        if u.speaker:
            people.setdefault(u.speaker.strip().lower(), Person(u.speaker, u.participant_id))

    def items(entries: list[_ItemIn], *, require_source: bool) -> tuple[Item, ...]:
        result = []
        for entry in entries:
            ids = tuple(dict.fromkeys(i for i in entry.segment_ids if i in known))
            if entry.text.strip() and (ids or not require_source):
                result.append(Item(text=entry.text.strip(), segment_ids=ids))
        return tuple(result)

    actions = []
    for entry in parsed.action_items:
        ids = [i for i in entry.segment_ids if i in known]
        if not entry.text.strip() or not ids:
            continue  # an action item nobody can find in the transcript is not shown
        owner_name = (entry.owner or "").strip()
        owner = people.get(owner_name.lower()) or (
            people.get(owner_name.split()[0].lower()) if owner_name else None
        )
        due_text = (entry.due or "").strip()[:100]
        due_date = _due_date(due_text, meeting_date=meeting_date)
        actions.append(
            ActionItemDraft(
                text=entry.text.strip(),
                segment_id=ids[0],
                owner_name=owner.name if owner else owner_name[:200],
                owner_participant_id=owner.participant_id if owner else None,
                due_text=due_text,
                due_date=due_date,
            )
        )
    return {
        "overview": parsed.overview.strip(),
        "key_points": items(parsed.key_points, require_source=False),
        "decisions": items(parsed.decisions, require_source=True),
        "topics": items(parsed.topics, require_source=False),
        "action_items": tuple(actions),
    }


def _due_date(due_text: str, *, meeting_date: dt.date | None) -> dt.date | None:
    if not due_text:
        return None
    try:
        return dt.date.fromisoformat(due_text)
    except ValueError:
        return dates.find_due(due_text, meeting_date=meeting_date)[1]

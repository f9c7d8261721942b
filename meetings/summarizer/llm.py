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
JSON object taken). Then every item is grounded (:class:`meetings.summarizer.grounding.Grounding`):
a key point, decision, action item or topic must cite segment ids we sent, and is dropped unless
the cited segments support it; overview sentences are checked against the whole transcript;
owners and due dates must be said there (the rules are in that module's docstring).

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

from meetings.summarizer.errors import SummaryError, TransientSummaryError
from meetings.summarizer.grounding import MIN_SUPPORT, MIN_TOPIC_SUPPORT, Grounding, GroundingReport
from meetings.summarizer.types import READY, Item, Person, SummaryResult, Utterance

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
    check = Grounding(utterances, participants, meeting_date=meeting_date)

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

"""Typed input and output of the summarizers (pure: no Django).

Input is a list of :class:`Utterance` (one per final transcript segment, in meeting order);
output is a :class:`SummaryResult`. Every key point, decision, topic and action item names the
transcript segment(s) it comes from (``segment_ids``: ``TranscriptSegment`` primary keys), so
the page can link each item to ``#segment-<pk>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

READY = "ready"
INSUFFICIENT = "insufficient"
NOT_ENOUGH_TEXT = "Not enough to summarize: the meeting has too little transcript."


@dataclass(frozen=True)
class Utterance:
    """One transcript segment: ``start_ms`` from the meeting start; ``speaker`` may be empty."""

    segment_id: int
    speaker: str
    participant_id: int | None
    start_ms: int
    text: str


@dataclass(frozen=True)
class Person:
    """Someone who may own an action item (a meeting participant)."""

    name: str
    participant_id: int | None = None


@dataclass(frozen=True)
class Item:
    """A key point, decision or topic: ``text`` plus the segments it comes from.

    ``context`` (optional) is the sentence said just before, for items such as "Then let's
    approve that." that need it; it comes from ``context_segment_ids``. A decision's
    ``segment_ids`` are the proposal and, when someone else accepted it, the acceptance.
    A topic's ``points`` are its 1-3 key sentences.
    """

    text: str
    segment_ids: tuple[int, ...]
    context: str = ""
    context_segment_ids: tuple[int, ...] = ()
    points: tuple[Item, ...] = ()  # a topic's key sentences

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"text": self.text, "segment_ids": list(self.segment_ids)}
        if self.context:
            data["context"] = self.context
            data["context_segment_ids"] = list(self.context_segment_ids)
        if self.points:
            data["points"] = [point.as_json() for point in self.points]
        return data


@dataclass(frozen=True)
class ActionItemDraft:
    """An action item before it is stored: owner by name (and participant id when known).

    ``owner_kind``: ``speaker`` (committed to it), ``addressee`` (was asked), ``third_party``
    (named), ``group`` (the team: ``owner_name`` is "Everyone") or ``unknown``/"" (nobody
    could be told; better than a wrong name). ``confidence``: the detector's probability, 0-1.
    """

    text: str
    segment_id: int | None
    owner_name: str = ""
    owner_participant_id: int | None = None
    due_text: str = ""
    due_date: dt.date | None = None
    owner_kind: str = ""
    confidence: float | None = None


@dataclass(frozen=True)
class SummaryResult:
    """What a summarizer produced. ``status`` is ``ready`` or ``insufficient``."""

    status: str
    backend: str
    model: str = ""
    overview: str = ""
    key_points: tuple[Item, ...] = ()
    decisions: tuple[Item, ...] = ()
    topics: tuple[Item, ...] = ()
    action_items: tuple[ActionItemDraft, ...] = ()
    note: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    def summary_text(self) -> str:
        """Overview plus key points as one text (what the ROUGE benchmark scores)."""
        return " ".join([self.overview, *(point.text for point in self.key_points)]).strip()

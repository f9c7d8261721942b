"""The labelled meetings for the notes detector: QMSum transcripts + our labels (``labels/notes/``).

``meetings(split)`` yields :class:`LabelledMeeting`: the transcript as product
:class:`~meetings.summarizer.types.Utterance` s (``segment_id`` = the QMSum turn index, one
utterance per turn, corpus markers removed and AMI tokenization undone, as Zoom or Whisper would
give the text) and the labelled action items and decisions (labels/notes/GUIDELINE.md).
Reads ``../shared/data/qmsum/`` (``QMSUM_DIR`` overrides); raises FileNotFoundError without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from meetings.summarizer.text import normalize_corpus_text
from meetings.summarizer.types import Utterance

ROOT = Path(__file__).resolve().parent.parent
LABELS_DIR = ROOT / "labels" / "notes"
QMSUM_DIR = Path(os.environ.get("QMSUM_DIR", ROOT.parent / "shared" / "data" / "qmsum"))
TURN_MS = 5000  # QMSum has no times: one turn every 5 s, so due dates and links still work


@dataclass(frozen=True)
class GoldItem:
    """One labelled action item or decision: ``turns`` are every turn that states it."""

    kind: str  # "action" | "decision"
    turn: int
    turns: frozenset[int]
    text: str
    owner: str = ""
    owner_kind: str = ""
    due: str = ""
    quote: str = ""


@dataclass
class LabelledMeeting:
    meeting_id: str
    split: str
    domain: str
    utterances: list[Utterance]
    actions: list[GoldItem] = field(default_factory=list)
    decisions: list[GoldItem] = field(default_factory=list)
    topic_list: list[dict] = field(default_factory=list)
    reference_summary: str = ""

    @property
    def speakers(self) -> list[str]:
        return sorted({u.speaker for u in self.utterances if u.speaker})


def corpus_text(text: str) -> str:
    """QMSum turn text as a product transcript would read (markers removed, AMI spacing undone)."""
    return normalize_corpus_text(text)


def domain_of(meeting_id: str) -> str:
    if meeting_id.startswith(("ES", "IS", "TS")):
        return "ami"
    if meeting_id.startswith("B"):
        return "icsi"
    return "parliament"


def load_transcript(split: str, meeting_id: str) -> dict:
    return json.loads((QMSUM_DIR / split / f"{meeting_id}.json").read_text())


def utterances_of(data: dict) -> list[Utterance]:
    return [
        Utterance(
            segment_id=i,
            speaker=turn["speaker"],
            participant_id=None,
            start_ms=i * TURN_MS,
            text=corpus_text(turn["content"]),
        )
        for i, turn in enumerate(data["meeting_transcripts"])
    ]


def _gold(kind: str, entry: dict) -> GoldItem:
    turns = {int(entry["turn"]), *(int(t) for t in entry.get("also_turns", []))}
    if entry.get("proposal_turn") is not None:
        turns.add(int(entry["proposal_turn"]))
    return GoldItem(
        kind=kind,
        turn=int(entry["turn"]),
        turns=frozenset(turns),
        text=entry.get("text", ""),
        owner=entry.get("owner", "") or "",
        owner_kind=entry.get("owner_kind", "") or "",
        due=entry.get("due", "") or "",
        quote=entry.get("quote", "") or "",
    )


def labelled_ids(split: str) -> list[str]:
    return sorted(path.stem for path in (LABELS_DIR / split).glob("*.json"))


def meeting(split: str, meeting_id: str) -> LabelledMeeting:
    labels = json.loads((LABELS_DIR / split / f"{meeting_id}.json").read_text())
    data = load_transcript(split, meeting_id)
    general = [q["answer"] for q in data.get("general_query_list", []) if q.get("answer")]
    return LabelledMeeting(
        meeting_id=meeting_id,
        split=split,
        domain=labels.get("domain") or domain_of(meeting_id),
        utterances=utterances_of(data),
        actions=[_gold("action", a) for a in labels.get("action_items", [])],
        decisions=[_gold("decision", d) for d in labels.get("decisions", [])],
        topic_list=data.get("topic_list", []),
        reference_summary=general[0] if general else "",
    )


def meetings(split: str) -> Iterator[LabelledMeeting]:
    for meeting_id in labelled_ids(split):
        yield meeting(split, meeting_id)


def unlabelled_meetings(split: str) -> Iterator[tuple[str, dict]]:
    """Every QMSum meeting of the split (for topics and ROUGE, which need no labels of ours)."""
    for path in sorted((QMSUM_DIR / split).glob("*.json")):
        yield path.stem, json.loads(path.read_text())

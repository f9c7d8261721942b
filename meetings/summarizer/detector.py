"""Action items and decisions, found by a model trained on labelled real meetings (pure: no Django).

Two stages per kind (action item, decision), both logistic regressions trained by
``python -m bench.notes_train`` on ``labels/notes/train/`` (labels/notes/GUIDELINE.md) and
stored as plain numbers in ``models/notes_detector.json`` (no scikit-learn at run time):

1. **cues**: a sentence that passes the cheap first filter (:mod:`.cues`) is scored on its
   linguistic cues (commitment, request, modality, tense, addressee, agreement, meeting-flow)
   and its context (the reply of the next speaker, the turn before, where in the meeting, how
   much the speaker leads). Sentences under the first threshold stop here.
2. **embedding + cues**: the rest are embedded with all-MiniLM-L6-v2 (:mod:`.embeddings`) and
   scored again; items at or above the second threshold (chosen on train for precision) are kept,
   and action items that say when they are due from :data:`DUE_FLOOR` on.

Action items get an owner (:mod:`.owners`) and a due date (:mod:`.dates`); decisions cite the
proposal and the agreement (the next other speaker's acceptance) as two segments. Near-duplicate
items (a task restated in the recap) are merged, the best-scored kept. Without the embedding
model the second stage is skipped and only first-stage scores above the stricter ``cue_only``
threshold are kept (fewer items, same precision target).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from meetings.summarizer import cues, dates, embeddings, owners, text
from meetings.summarizer.types import ActionItemDraft, Item, Person, Utterance

logger = logging.getLogger(__name__)
MODEL_PATH = Path(__file__).resolve().parent / "models" / "notes_detector.json"
MAX_ACTION_ITEMS = 15
MAX_DECISIONS = 12
MIN_WORDS = 3
CONTEXT_NAMES: tuple[str, ...] = (
    "next_accepts",
    "next_refuses",
    "prev_question",
    "prev_request",
    "agreement_after",
    "position",
    "late",
    "early",
    "speaker_share",
    "top_speaker",
    "log_words",
    "turn_sentences",
    "last_in_turn",
    "due_phrase",
    "accepted_request",
    "task_with_due",
)
FEATURE_NAMES: tuple[str, ...] = (*cues.FEATURE_NAMES, *CONTEXT_NAMES)
# A task that says when it is due ("... by Wednesday") is kept from this probability on, below the
# precision-first threshold: on train (out of fold) it adds recall at a point of precision.
DUE_FLOOR = 0.5
TASK_WITH_DUE = FEATURE_NAMES.index("task_with_due")


def keeps(probability: float, row: np.ndarray, threshold: float, *, action: bool) -> bool:
    """Stage 2's rule: at or over the threshold, or an action item with its due date at DUE_FLOOR."""
    return probability >= threshold or (action and probability >= DUE_FLOOR and row[TASK_WITH_DUE] > 0)


@dataclass(frozen=True)
class Sentence:
    """One cleaned sentence of ``utterances[position]``."""

    position: int
    segment_id: int
    speaker: str
    participant_id: int | None
    raw: str
    clean: str
    n_words: int
    index_in_turn: int
    turn_sentences: int


def split(utterances: Sequence[Utterance]) -> list[Sentence]:
    """Every sentence of every utterance, cleaned; sentences that clean to nothing are dropped."""
    result = []
    for position, utterance in enumerate(utterances):
        pieces = text.split_sentences(utterance.text or "")
        for index, raw in enumerate(pieces):
            clean = text.clean_sentence(raw)
            n_words = len(text.words(clean))
            if n_words:
                result.append(
                    Sentence(
                        position=position,
                        segment_id=utterance.segment_id,
                        speaker=utterance.speaker,
                        participant_id=utterance.participant_id,
                        raw=raw,
                        clean=clean,
                        n_words=n_words,
                        index_in_turn=index,
                        turn_sentences=len(pieces),
                    )
                )
    return result


class _Stats:
    """Meeting-level facts the context features need (share of words per speaker)."""

    def __init__(self, utterances: Sequence[Utterance]) -> None:
        counts: Counter[str] = Counter()
        for u in utterances:
            counts[u.speaker] += len(text.words(u.text or ""))
        total = sum(counts.values()) or 1
        self.share = {speaker: n / total for speaker, n in counts.items()}
        self.top = counts.most_common(1)[0][0] if counts else ""
        self.n = max(1, len(utterances))


def _next_other(utterances: Sequence[Utterance], position: int, reach: int = 3) -> Utterance | None:
    speaker = utterances[position].speaker
    for following in utterances[position + 1 : position + 1 + reach]:
        if following.speaker != speaker and (following.text or "").strip():
            return following
    return None


def _previous_other(utterances: Sequence[Utterance], position: int, reach: int = 3) -> Utterance | None:
    speaker = utterances[position].speaker
    for earlier in reversed(utterances[max(0, position - reach) : position]):
        if earlier.speaker != speaker and (earlier.text or "").strip():
            return earlier
    return None


_REQUEST = re.compile(r"\b(?:(?:can|could|would|will) you|why don't you|please)\b", re.IGNORECASE)


def _context(sentence: Sentence, utterances: Sequence[Utterance], stats: _Stats) -> list[float]:
    following = _next_other(utterances, sentence.position)
    previous = _previous_other(utterances, sentence.position)
    later = [
        u for u in utterances[sentence.position + 1 : sentence.position + 5] if u.speaker != sentence.speaker
    ]
    relative = sentence.position / stats.n
    due = 1.0 if dates.find_due(sentence.clean, meeting_date=None)[0] else 0.0
    request = bool(_REQUEST.search(sentence.clean))
    accepted = following is not None and bool(cues.ACCEPTANCE.search(following.text))
    return [
        1.0 if following is not None and cues.ACCEPTANCE.search(following.text) else 0.0,
        1.0 if following is not None and cues.REFUSAL.search(following.text) else 0.0,
        1.0 if previous is not None and previous.text.rstrip().endswith("?") else 0.0,
        1.0 if previous is not None and cues.CUE["request"].search(previous.text) else 0.0,
        float(sum(1 for u in later if cues.ACCEPTANCE.search(u.text))) / 4.0,
        relative,
        1.0 if relative > 0.85 else 0.0,
        1.0 if relative < 0.08 else 0.0,
        stats.share.get(sentence.speaker, 0.0),
        1.0 if sentence.speaker == stats.top else 0.0,
        math.log1p(sentence.n_words) / 4.0,
        min(sentence.turn_sentences, 10) / 10.0,
        1.0 if sentence.index_in_turn == sentence.turn_sentences - 1 else 0.0,
        due,
        1.0 if request and accepted else 0.0,
        1.0 if due and (request or cues.CUE["i_commit"].search(sentence.clean)) else 0.0,
    ]


def base_features(sentences: Sequence[Sentence], utterances: Sequence[Utterance]) -> np.ndarray:
    """Cue + context features, shape ``(len(sentences), len(FEATURE_NAMES))``."""
    stats = _Stats(utterances)
    rows = [cues.cue_vector(s.clean) + _context(s, utterances, stats) for s in sentences]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FEATURE_NAMES))


@dataclass(frozen=True)
class LinearModel:
    """A standardized logistic regression: p = sigmoid(((x - mean) / scale) . coef + intercept)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        return cls(
            mean=np.asarray(data["mean"], dtype=np.float32),
            scale=np.asarray(data["scale"], dtype=np.float32),
            coef=np.asarray(data["coef"], dtype=np.float32),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
        )

    def probability(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class KindModel:
    """Both stages for one kind; ``cue_only`` is the stage-1 threshold used without embeddings."""

    cues: LinearModel
    full: LinearModel
    cue_only: float


@dataclass(frozen=True)
class DetectorModel:
    action: KindModel
    decision: KindModel
    version: str

    @classmethod
    def from_json(cls, data: dict) -> DetectorModel:
        def kind(entry: dict) -> KindModel:
            return KindModel(
                cues=LinearModel.from_json(entry["cues"]),
                full=LinearModel.from_json(entry["full"]),
                cue_only=float(entry["cue_only_threshold"]),
            )

        if list(data["feature_names"]) != list(FEATURE_NAMES):
            raise ValueError(
                "notes_detector.json was trained on other features: run python -m bench.notes_train"
            )
        return cls(
            action=kind(data["action"]), decision=kind(data["decision"]), version=data.get("version", "")
        )


@cache
def default_model() -> DetectorModel:
    """The shipped model (``models/notes_detector.json``)."""
    return DetectorModel.from_json(json.loads(MODEL_PATH.read_text()))


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    probability: float


def stage_one(
    sentences: Sequence[Sentence], features: np.ndarray, kind: KindModel, candidate: callable
) -> dict[int, float]:
    """Stage-1 probability of every candidate sentence that passes the stage-1 threshold, by index."""
    index = [i for i, s in enumerate(sentences) if s.n_words >= MIN_WORDS and candidate(s.clean)]
    if not index:
        return {}
    stage1 = kind.cues.probability(features[index])
    return {i: float(p) for i, p in zip(index, stage1, strict=True) if p >= kind.cues.threshold}


def stage_two(
    sentences: Sequence[Sentence],
    features: np.ndarray,
    kind: KindModel,
    passed: dict[int, float],
    vectors: dict[int, np.ndarray] | None,
    *,
    action: bool,
) -> list[Scored]:
    """Sentences kept by stage 2 (cues + embedding); without ``vectors``, stage 1's stricter threshold."""
    order = sorted(passed)
    if vectors is None:
        return [
            Scored(sentences[i], passed[i])
            for i in order
            if keeps(passed[i], features[i], kind.cue_only, action=action)
        ]
    if not order:
        return []
    full = kind.full.probability(np.hstack([features[order], np.stack([vectors[i] for i in order])]))
    return [
        Scored(sentences[i], float(p))
        for i, p in zip(order, full, strict=True)
        if keeps(float(p), features[i], kind.full.threshold, action=action)
    ]


def _embed(sentences: Sequence[Sentence], wanted: set[int]) -> dict[int, np.ndarray] | None:
    """One embedding call for every sentence either kind needs; None without the model."""
    order = sorted(wanted)
    try:
        vectors = embeddings.encode([sentences[i].clean for i in order])
    except embeddings.EmbeddingUnavailable as exc:
        logger.warning("notes: %s; using cue features only", exc)
        return None
    return dict(zip(order, vectors, strict=True))


def _content(sentence: str) -> frozenset[str]:
    return frozenset(w.lower() for w in text.words(sentence) if len(w) > 3)


def _dedupe(found: list[Scored], limit: int) -> list[Scored]:
    """Best first; a sentence sharing most content words with a kept one is a restatement."""
    kept: list[Scored] = []
    for item in sorted(found, key=lambda s: -s.probability):
        words = _content(item.sentence.clean)
        if any(
            len(words & _content(other.sentence.clean))
            > 0.6 * max(1, min(len(words), len(_content(other.sentence.clean))))
            for other in kept
        ):
            continue
        kept.append(item)
        if len(kept) >= limit:
            break
    return sorted(kept, key=lambda s: (s.sentence.position, s.sentence.index_in_turn))


_TASK_START = re.compile(
    r"^(?:(?:so|and|but|then|well|okay|ok|right|um|uh)[, ]+)*"
    r"(?:(?:i|we)(?:'ll| will| shall| can| could|'m going to| am going to|'re going to| are going to)\s+"
    r"(?:(?:just|also|probably|certainly|then|try to|have to)\s+)*|"
    r"(?:can|could|would|will) you (?:please |just |maybe )*|please )",
    re.IGNORECASE,
)


def task_text(sentence: str) -> str:
    """The sentence as said, tidied into a note ("Could you send me X?" → "Send me X.")."""
    stripped = _TASK_START.sub("", sentence).strip()
    if len(text.words(stripped)) < 3 or not re.match(r"[A-Za-z]", stripped):
        stripped = sentence
    stripped = stripped.rstrip(" ?.!,;:") + "."
    return stripped[0].upper() + stripped[1:]


_ACTION_VERBS = (
    "ask|book|call|check|circulate|contact|create|do|draft|email|e-mail|file|find|finish|fix|follow|get|"
    "look|make|organi[sz]e|prepare|put|review|schedule|send|set|share|talk|test|update|write|"
    "present|research|investigate|deliver|submit|build|design|order|arrange|confirm|reply|run|try"
)
_CLAUSE_SPLIT = re.compile(rf",?\s+and (?:then |also )?(?=(?:{_ACTION_VERBS})\b)", re.IGNORECASE)


def clauses(sentence: str) -> list[str]:
    """One task per clause: "I will write the patch and ask Maria to review it" gives two."""
    parts = [part.strip(" ,") for part in _CLAUSE_SPLIT.split(sentence)]
    if len(parts) > 1 and all(len(text.words(part)) >= 3 for part in parts):
        return parts
    return [sentence]


def detect(
    utterances: Sequence[Utterance],
    *,
    participants: Sequence[Person] = (),
    meeting_date: dt.date | None = None,
    model: DetectorModel | None = None,
    use_embeddings: bool = True,
) -> tuple[tuple[ActionItemDraft, ...], tuple[Item, ...]]:
    """Action items and decisions of a meeting, in meeting order (see the module doc)."""
    model = model or default_model()
    sentences = split(utterances)
    if not sentences:
        return (), ()
    features = base_features(sentences, utterances)
    people = owners.directory(utterances, participants)
    action_passed = stage_one(sentences, features, model.action, cues.is_action_candidate)
    decision_passed = stage_one(sentences, features, model.decision, cues.is_decision_candidate)
    vectors = _embed(sentences, {*action_passed, *decision_passed}) if use_embeddings else None
    found_actions = _dedupe(
        stage_two(sentences, features, model.action, action_passed, vectors, action=True), MAX_ACTION_ITEMS
    )
    found_decisions = _dedupe(
        stage_two(sentences, features, model.decision, decision_passed, vectors, action=False), MAX_DECISIONS
    )
    return items_from(found_actions, found_decisions, utterances, people=people, meeting_date=meeting_date)


def items_from(
    found_actions: Sequence[Scored],
    found_decisions: Sequence[Scored],
    utterances: Sequence[Utterance],
    *,
    people: dict[str, Person],
    meeting_date: dt.date | None = None,
) -> tuple[tuple[ActionItemDraft, ...], tuple[Item, ...]]:
    """Kept sentences → action items (one per clause, with owner and due date) and decisions
    (proposal plus the next speaker's acceptance when there is one). Shared by :func:`detect` and
    the training benchmark so both score exactly what the product shows."""
    actions = []
    for item in found_actions:
        s = item.sentence
        first_owner = None
        for clause in clauses(s.clean):
            owner = owners.resolve_owner(clause, position=s.position, utterances=utterances, people=people)
            if owner.kind == owners.UNKNOWN and first_owner is not None:
                owner = first_owner  # "I'll write it and send it round": the same doer
            first_owner = first_owner or owner
            due_text, due_date = dates.find_due(clause, meeting_date=meeting_date)
            actions.append(
                ActionItemDraft(
                    text=task_text(clause),
                    segment_id=s.segment_id,
                    owner_name=owner.name,
                    owner_participant_id=owner.person.participant_id if owner.person else None,
                    owner_kind=owner.kind,
                    due_text=due_text,
                    due_date=due_date,
                    confidence=round(item.probability, 3),
                )
            )
    decisions = []
    for item in found_decisions:
        s = item.sentence
        agreement = _next_other(utterances, s.position)
        agreed = agreement is not None and cues.ACCEPTANCE.search(agreement.text)
        context = _previous_other(utterances, s.position) if s.n_words <= 6 else None
        decisions.append(
            Item(
                text=s.clean,
                segment_ids=(s.segment_id, agreement.segment_id) if agreed else (s.segment_id,),
                context=text.clean_sentence(context.text) if context is not None else "",
                context_segment_ids=(context.segment_id,) if context is not None else (),
            )
        )
    return tuple(actions), tuple(decisions)

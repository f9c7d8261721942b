"""Scoring notes against the labels: one-to-one matching by turn, precision, recall, owner accuracy.

A predicted item *matches* a labelled one when one of the turns it cites is a turn the label
lists (``turn``, ``also_turns``, ``proposal_turn``); each label is matched at most once, so a
restated item counts against precision. Owners compare the corpus speaker label, ``group`` or
``""`` (unknown): "unknown" is never counted correct unless the label says unknown too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.notes_data import GoldItem
from meetings.summarizer.owners import GROUP


@dataclass(frozen=True)
class Predicted:
    turns: tuple[int, ...]
    owner: str = ""  # a speaker label, "group" or ""
    text: str = ""


@dataclass
class Tally:
    predicted: int = 0
    gold: int = 0
    matched_predicted: int = 0
    matched_gold: int = 0
    owner_right: int = 0
    owner_wrong_person: int = 0
    owner_unknown: int = 0
    false_positives: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.predicted += other.predicted
        self.gold += other.gold
        self.matched_predicted += other.matched_predicted
        self.matched_gold += other.matched_gold
        self.owner_right += other.owner_right
        self.owner_wrong_person += other.owner_wrong_person
        self.owner_unknown += other.owner_unknown
        self.false_positives += other.false_positives

    @property
    def precision(self) -> float:
        return self.matched_predicted / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.matched_gold / self.gold if self.gold else 1.0

    @property
    def owner_accuracy(self) -> float:
        return self.owner_right / self.matched_gold if self.matched_gold else 0.0

    def f(self, beta: float = 1.0) -> float:
        p, r = self.precision, self.recall
        return (1 + beta**2) * p * r / (beta**2 * p + r) if p + r else 0.0


def score(predicted: Sequence[Predicted], gold: Sequence[GoldItem], *, owners: bool = False) -> Tally:
    tally = Tally(predicted=len(predicted), gold=len(gold))
    used: set[int] = set()
    for item in predicted:
        match = next(
            (
                g
                for g, label in enumerate(gold)
                if g not in used and any(t in label.turns for t in item.turns)
            ),
            None,
        )
        if match is None:
            tally.false_positives.append(item.text)
            continue
        used.add(match)
        tally.matched_predicted += 1
        tally.matched_gold += 1
        if owners:
            want = gold[match].owner.strip()
            got = item.owner.strip()
            if got == want or (want.lower() == "group" and got.lower() == "group"):
                tally.owner_right += 1
            elif not got:
                tally.owner_unknown += 1
            else:
                tally.owner_wrong_person += 1
    return tally


def predicted(action_items, decisions) -> tuple[list[Predicted], list[Predicted]]:
    """The product's ``ActionItemDraft``/``Item`` tuples as scoring rows (owner: a name, "group" or "")."""
    actions = [
        Predicted(
            turns=(a.segment_id,),
            owner="group" if a.owner_kind == GROUP else a.owner_name,
            text=a.text,
        )
        for a in action_items
        if a.segment_id is not None
    ]
    return actions, [Predicted(turns=tuple(d.segment_ids), text=d.text) for d in decisions]

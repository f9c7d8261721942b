"""The trained action-item and decision detector (meetings/summarizer/detector.py) on real text."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np

from meetings.summarizer import cues, detector, owners, text
from meetings.summarizer.types import Person, Utterance

MEETING_DATE = dt.date(2026, 11, 20)  # a Friday


def test_the_planning_meeting_lists_its_four_action_items_with_owners_and_dates(planning_utterances):
    actions, _decisions = detector.detect(
        planning_utterances, participants=[Person("A", 101), Person("B", 102)], meeting_date=MEETING_DATE
    )

    by_text = {a.text: a for a in actions}
    assert set(by_text) == {
        "Fix that before the release on Thursday.",
        "Write the patch today.",
        "Ask Maria to review it tomorrow morning.",
        "Send me the updated estimate by Wednesday.",
    }
    fix = by_text["Fix that before the release on Thursday."]
    assert (fix.owner_name, fix.owner_participant_id, fix.owner_kind) == ("B", 102, owners.ADDRESSEE)
    assert (fix.due_text, fix.due_date, fix.segment_id) == ("on Thursday", dt.date(2026, 11, 26), 5)
    patch = by_text["Write the patch today."]
    assert (patch.owner_name, patch.owner_kind, patch.due_date, patch.segment_id) == (
        "B",
        owners.SPEAKER,
        MEETING_DATE,
        6,
    )
    review = by_text["Ask Maria to review it tomorrow morning."]
    assert (review.owner_name, review.owner_participant_id, review.owner_kind) == (
        "Maria",
        None,
        "third_party",
    )
    assert review.due_date == MEETING_DATE + dt.timedelta(days=1)
    estimate = by_text["Send me the updated estimate by Wednesday."]
    assert (estimate.owner_name, estimate.owner_kind) == ("B", owners.ADDRESSEE)  # B answered "Will do."
    assert (estimate.due_text, estimate.due_date) == ("by Wednesday", dt.date(2026, 11, 25))


def test_every_item_is_grounded_in_the_segment_it_links_to(planning_utterances):
    by_id = {u.segment_id: u for u in planning_utterances}

    actions, decisions = detector.detect(planning_utterances, meeting_date=MEETING_DATE)

    for action in actions:
        assert text.is_grounded(action.text, by_id[action.segment_id].text), action
    for decision in decisions:
        assert text.is_grounded(decision.text, by_id[decision.segment_ids[0]].text), decision


def test_the_ami_excerpt_gets_no_junk_action_items(shared_data):
    """The demo's AMI minute is brainstorming ("you could think of", "I wonder if"): no tasks."""
    said = (shared_data / "speech" / "ami_meeting_excerpt" / "reference_turn_order.txt").read_text()
    speakers = ["FEE013", "FEE016", "MEE014", "MEO015"]
    utterances = [
        Utterance(i, speakers[i % 4], None, i * 3000, sentence)
        for i, sentence in enumerate(text.split_sentences(said))
    ]

    actions, _decisions = detector.detect(utterances)

    assert actions == ()


def _probability(sentence: str) -> float:
    utterances = [
        Utterance(1, "Chair", 1, 0, "Thanks everyone for coming to this meeting about the budget."),
        Utterance(2, "Chair", 1, 4000, sentence),
        Utterance(3, "Sam", 2, 8000, "Okay."),
    ]
    sentences = detector.split(utterances)
    features = detector.base_features(sentences, utterances)
    [index] = [i for i, s in enumerate(sentences) if s.position == 1]
    vector = np.hstack([features[[index]], detector.embeddings.encode([sentences[index].clean])])
    return float(detector.default_model().action.full.probability(vector)[0])


def test_meeting_flow_moves_score_below_real_tasks():
    flow = [
        _probability(s) for s in ("I'll move on.", "We'll come back to that later.", "I'll wait for you.")
    ]
    tasks = [
        _probability(s)
        for s in ("I will send you the figures by Friday.", "Could you e-mail me your slides?")
    ]

    assert max(flow) < min(tasks), (flow, tasks)
    assert max(flow) < detector.default_model().action.full.threshold


def test_without_the_embedding_model_the_cue_stage_alone_decides(planning_utterances, monkeypatch):
    def unavailable(texts):
        raise detector.embeddings.EmbeddingUnavailable("not installed")

    monkeypatch.setattr(detector.embeddings, "encode", unavailable)

    actions, _decisions = detector.detect(planning_utterances, meeting_date=MEETING_DATE)

    floor = detector.default_model().action.cue_only
    assert all(a.confidence >= floor or (a.confidence >= detector.DUE_FLOOR and a.due_text) for a in actions)


def test_the_shipped_model_matches_the_features():
    data = json.loads(detector.MODEL_PATH.read_text())

    assert data["feature_names"] == list(detector.FEATURE_NAMES)
    assert len(data["action"]["full"]["coef"]) == len(detector.FEATURE_NAMES) + 384
    assert all(name.startswith(("train/", "")) for name in data["trained_on"])
    assert len(cues.FEATURE_NAMES) == len(cues.cue_vector("We will send it."))


def test_restatements_are_merged_keeping_the_best():
    def scored(position, sentence, probability):
        s = detector.Sentence(position, position, "A", None, sentence, sentence, len(sentence.split()), 0, 1)
        return detector.Scored(s, probability)

    found = [
        scored(1, "I will send the cost figures to the committee.", 0.9),
        scored(40, "So I will send the cost figures to the committee then.", 0.95),
        scored(7, "We need a new battery supplier.", 0.8),
    ]

    kept = detector._dedupe(found, limit=10)

    assert [k.sentence.position for k in kept] == [7, 40]

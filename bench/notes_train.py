"""Train the notes detector on ``labels/notes/train/`` only: ``python -m bench.notes_train``.

Writes ``meetings/summarizer/models/notes_detector.json`` (plain numbers, read by
:mod:`meetings.summarizer.detector` without scikit-learn) and prints the cross-validated figures
on train (8 folds by meeting). Thresholds are chosen on those out-of-fold predictions: stage 1
keeps >= 95 % of the labelled sentences; stage 2 takes the lowest threshold whose out-of-fold
precision meets the target (action items 0.8, decisions 0.7), else the best F0.5. ``val/`` is
never read here: it is what ``python -m bench --only notes`` reports.

Sentence labels: for each labelled item, the candidate sentence of its ``turn`` that shares
most words with its quote is positive; candidates of its other turns that share at least a
third of the quote's (or the note's) words are positive too; the other sentences of those turns
are left out of training (not negative: they may restate it); every other candidate is negative.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench import notes_data, notes_eval
from meetings.summarizer import cues, detector, embeddings, owners, text

TARGET_PRECISION = {"action": 0.8, "decision": 0.7}
FOLDS = 8  # cross-validation folds, by meeting
STAGE1_RECALL = 0.95
CANDIDATE = {"action": cues.is_action_candidate, "decision": cues.is_decision_candidate}


@dataclass
class Prepared:
    meeting: notes_data.LabelledMeeting
    sentences: list[detector.Sentence]
    features: np.ndarray
    candidate: dict[str, np.ndarray]  # kind -> bool mask
    label: dict[str, np.ndarray]  # kind -> 1 / 0 / -1 (left out)
    vectors: np.ndarray  # embeddings of every sentence that is a candidate of either kind (else 0)


def _overlap(sentence: str, reference: str) -> float:
    want = {w.lower() for w in text.words(reference)}
    if not want:
        return 0.0
    return len(want & {w.lower() for w in text.words(sentence)}) / len(want)


def _labels(sentences, gold, candidate_mask) -> np.ndarray:
    y = np.zeros(len(sentences), dtype=np.int8)
    by_turn: dict[int, list[int]] = {}
    for i, s in enumerate(sentences):
        by_turn.setdefault(s.position, []).append(i)
    for item in gold:
        for turn in item.turns:
            members = [i for i in by_turn.get(turn, []) if candidate_mask[i]]
            for i in by_turn.get(turn, []):
                if y[i] != 1:
                    y[i] = -1
            if not members:
                continue
            reference = item.quote or item.text
            ranked = sorted(members, key=lambda i: -_overlap(sentences[i].clean, reference))
            best = ranked[0]
            if turn == item.turn or _overlap(sentences[best].clean, reference) >= 0.34:
                y[best] = 1
    return y


def prepare(meeting: notes_data.LabelledMeeting) -> Prepared:
    sentences = detector.split(meeting.utterances)
    features = detector.base_features(sentences, meeting.utterances)
    candidate = {
        kind: np.array([s.n_words >= detector.MIN_WORDS and test(s.clean) for s in sentences])
        for kind, test in CANDIDATE.items()
    }
    label = {
        "action": _labels(sentences, meeting.actions, candidate["action"]),
        "decision": _labels(sentences, meeting.decisions, candidate["decision"]),
    }
    either = candidate["action"] | candidate["decision"]
    vectors = np.zeros((len(sentences), embeddings.DIMENSIONS), dtype=np.float32)
    index = np.flatnonzero(either)
    vectors[index] = _encode_cached([sentences[i].clean for i in index])
    return Prepared(meeting, sentences, features, candidate, label, vectors)


_CACHE_DIR = notes_data.ROOT / "var" / "cache"
_cache: dict[str, np.ndarray] | None = None


def _encode_cached(sentences: list[str]) -> np.ndarray:
    """embeddings.encode with a disk cache under var/cache (training re-runs embed nothing new)."""
    global _cache
    keys, values = _CACHE_DIR / "notes_embeddings.json", _CACHE_DIR / "notes_embeddings.npy"
    if _cache is None:
        _cache = {}
        if keys.exists() and values.exists():
            _cache = dict(zip(json.loads(keys.read_text()), np.load(values), strict=True))
    missing = [s for s in dict.fromkeys(sentences) if s not in _cache]
    if missing:
        for sentence, vector in zip(missing, embeddings.encode(missing), strict=True):
            _cache[sentence] = vector
        _CACHE_DIR.mkdir(parents=True, exist_ok=True)
        keys.write_text(json.dumps(list(_cache)))
        np.save(values, np.asarray(list(_cache.values()), dtype=np.float32))
    return np.asarray([_cache[s] for s in sentences], dtype=np.float32).reshape(len(sentences), -1)


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    model.fit((x - mean) / scale, y)
    return model, mean, scale


def _prob(fitted, x):
    model, mean, scale = fitted
    return model.predict_proba((x - mean) / scale)[:, 1] if len(x) else np.zeros(0)


def _rows(items: list[Prepared], kind: str, *, full: bool):
    xs, ys, owners_ = [], [], []
    for p in items:
        keep = p.candidate[kind] & (p.label[kind] >= 0)
        x = p.features[keep]
        if full:
            x = np.hstack([x, p.vectors[keep]])
        xs.append(x)
        ys.append(p.label[kind][keep])
        owners_.append(keep)
    return np.vstack(xs), np.concatenate(ys)


def _predict_meeting(p: Prepared, kind: str, probabilities: np.ndarray, threshold: float):
    """The product's pipeline on one meeting given per-sentence probabilities (NaN = not a candidate)."""
    found = [
        detector.Scored(p.sentences[i], float(probabilities[i]))
        for i in range(len(p.sentences))
        if not np.isnan(probabilities[i])
        and detector.keeps(float(probabilities[i]), p.features[i], threshold, action=kind == "action")
    ]
    limit = detector.MAX_ACTION_ITEMS if kind == "action" else detector.MAX_DECISIONS
    kept = detector._dedupe(found, limit)
    people = owners.directory(p.meeting.utterances)
    actions, decisions = detector.items_from(
        kept if kind == "action" else [],
        kept if kind != "action" else [],
        p.meeting.utterances,
        people=people,
    )
    predicted_actions, predicted_decisions = notes_eval.predicted(actions, decisions)
    return predicted_actions if kind == "action" else predicted_decisions


def _tally(items, kind, oof, threshold) -> notes_eval.Tally:
    total = notes_eval.Tally()
    for p, probabilities in zip(items, oof, strict=True):
        gold = p.meeting.actions if kind == "action" else p.meeting.decisions
        total.add(
            notes_eval.score(
                _predict_meeting(p, kind, probabilities, threshold), gold, owners=kind == "action"
            )
        )
    return total


def _choose(items, kind, oof) -> tuple[float, notes_eval.Tally]:
    grid = np.round(np.arange(0.30, 0.991, 0.01), 3)
    tallies = [(t, _tally(items, kind, oof, t)) for t in grid]
    good = [
        (t, tally)
        for t, tally in tallies
        if tally.precision >= TARGET_PRECISION[kind] and tally.predicted >= 5
    ]
    if good:
        return max(good, key=lambda pair: (pair[1].recall, -pair[0]))
    return max(tallies, key=lambda pair: pair[1].f(0.5))


def _to_json(fitted, threshold: float) -> dict:
    model, mean, scale = fitted
    return {
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
        "threshold": round(float(threshold), 4),
    }


def train_kind(items: list[Prepared], kind: str, *, c1: float, c2: float) -> tuple[dict, dict]:
    # Stage 1, out of fold: the threshold that keeps STAGE1_RECALL of the positive sentences.
    oof1 = [np.full(len(p.sentences), np.nan) for p in items]
    for fold in range(FOLDS):
        rest = [p for j, p in enumerate(items) if j % FOLDS != fold]
        fitted = _fit(*_rows(rest, kind, full=False), c1)
        for k in range(fold, len(items), FOLDS):
            mask = items[k].candidate[kind]
            oof1[k][mask] = _prob(fitted, items[k].features[mask])
    positives = np.concatenate(
        [o[(p.label[kind] == 1) & p.candidate[kind]] for p, o in zip(items, oof1, strict=True)]
    )
    stage1 = float(np.quantile(positives, 1 - STAGE1_RECALL)) if len(positives) else 0.5
    cue_only, cue_tally = _choose(items, kind, oof1)
    # Stage 2, out of fold, on the sentences stage 1 passes.
    oof2 = [np.full(len(p.sentences), np.nan) for p in items]
    for fold in range(FOLDS):
        xs, ys = [], []
        for j, p in enumerate(items):
            if j % FOLDS == fold:
                continue
            keep = p.candidate[kind] & (p.label[kind] >= 0) & (np.nan_to_num(oof1[j], nan=-1) >= stage1)
            xs.append(np.hstack([p.features[keep], p.vectors[keep]]))
            ys.append(p.label[kind][keep])
        fitted = _fit(np.vstack(xs), np.concatenate(ys), c2)
        for k in range(fold, len(items), FOLDS):
            held = items[k]
            mask = held.candidate[kind] & (np.nan_to_num(oof1[k], nan=-1) >= stage1)
            oof2[k][mask] = _prob(fitted, np.hstack([held.features[mask], held.vectors[mask]]))
    threshold, tally = _choose(items, kind, oof2)
    # Final models on all of train.
    final1 = _fit(*_rows(items, kind, full=False), c1)
    xs, ys = [], []
    for p in items:
        mask = p.candidate[kind]
        p1 = np.full(len(p.sentences), -1.0)
        p1[mask] = _prob(final1, p.features[mask])
        keep = mask & (p.label[kind] >= 0) & (p1 >= stage1)
        xs.append(np.hstack([p.features[keep], p.vectors[keep]]))
        ys.append(p.label[kind][keep])
    final2 = _fit(np.vstack(xs), np.concatenate(ys), c2)
    report = {
        "cv_precision": round(tally.precision, 3),
        "cv_recall": round(tally.recall, 3),
        "cv_owner_accuracy": round(tally.owner_accuracy, 3) if kind == "action" else None,
        "cv_predicted": tally.predicted,
        "cv_gold": tally.gold,
        "cue_only_cv_precision": round(cue_tally.precision, 3),
        "cue_only_cv_recall": round(cue_tally.recall, 3),
        "stage1_threshold": round(stage1, 4),
    }
    return (
        {
            "cues": _to_json(final1, stage1),
            "full": _to_json(final2, threshold),
            "cue_only_threshold": cue_only,
        },
        report,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notes_train", description=__doc__)
    parser.add_argument("--c1", type=float, default=0.3)
    parser.add_argument("--c2", type=float, default=0.003)
    parser.add_argument("--dry-run", action="store_true", help="print the CV figures, write nothing")
    args = parser.parse_args(argv)
    items = [prepare(m) for m in notes_data.meetings("train")]
    print(f"train: {len(items)} meetings, {sum(len(p.sentences) for p in items)} sentences")
    model: dict = {
        "version": dt.datetime.now(dt.UTC).date().isoformat(),
        "trained_on": [p.meeting.meeting_id for p in items],
        "embedding": embeddings.MODEL_NAME,
        "feature_names": list(detector.FEATURE_NAMES),
    }
    for kind in ("action", "decision"):
        model[kind], report = train_kind(items, kind, c1=args.c1, c2=args.c2)
        model[kind]["train_cv"] = report
        print(kind, json.dumps(report))
    if not args.dry_run:
        detector.MODEL_PATH.write_text(json.dumps(model, separators=(",", ":")) + "\n")
        print(f"wrote {detector.MODEL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

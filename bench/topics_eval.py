"""Topic segmentation benchmark: Pk and WindowDiff against QMSum's topic lists, and speed.

``.venv/bin/python -m bench.topics_eval [--smoke] [--tune]`` prints method × split → mean Pk and
WindowDiff over meetings (nltk.metrics.segmentation; k = half the mean reference segment length,
in turns), and the seconds :func:`meetings.summarizer.topics.topics` takes per hour of meeting.

Data: ../shared/data/qmsum/{train,val}/*.json. Turns are cleaned as Zoom/Whisper would give them:
``{vocalsound}``-style markers removed, AMI tokenization undone ("do n't ." → "don't."). The
reference segmentation labels each turn with the first topic whose span covers it (uncovered
turns join the previous topic); a boundary is where the label changes.

Methods: ``lexical`` (segmentation.segment with the count rule), ``lexical-oracle`` (the reference
count), ``even`` (even split into the rule's count, by turns), ``even-oracle``, ``texttiling``
(nltk's TextTilingTokenizer, one turn per paragraph, sumy's stop words, its own count; with nltk's
defaults and ``-tuned`` with w and k from a grid on train/). Everything is tuned on train/ only
(``--tune`` runs the grid for segmentation.py); val/ is reported.

Results (mean over meetings; lower is better; "none" = one topic, no boundary):

    method            train Pk  train WD    val Pk    val WD
    none                 0.385     0.385     0.385     0.385
    even                 0.456     0.462     0.450     0.454
    even-oracle          0.466     0.475     0.460     0.468
    texttiling           0.608     0.981     0.613     0.986
    texttiling-tuned     0.391     0.395     0.409     0.413
    lexical              0.355     0.369     0.373     0.395
    lexical-oracle       0.353     0.374     0.369     0.395
    topics() on a ~9,000-word hour: 0.12 s (0.2-0.5 s while other jobs share the 2 cores)

Pk and WindowDiff favour few boundaries: "none" scores 0.385, so compare methods with it too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import statistics
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np
from nltk.metrics.segmentation import pk, windowdiff

from meetings.summarizer import segmentation
from meetings.summarizer import topics as topics_module
from meetings.summarizer.types import Utterance

QMSUM_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "qmsum"
SPLITS = ("train", "val")
_MARKER = re.compile(r"\{[^}]*\}")
# TextTiling's pseudo-sentence size w and block size k: the best Pk of a small grid on every third
# train/ meeting (w 20-1300 tokens, k 3-20; nltk's defaults w=20, k=10 cut a meeting into ~100 pieces).
TEXTTILING_TUNED = {"w": 800, "k": 5}


def detokenize(content: str) -> str:
    """A QMSum turn as a live transcript would have it: no ``{...}`` markers, no AMI tokenization."""
    clean = _MARKER.sub(" ", content)
    clean = re.sub(r"\s+(n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", clean, flags=re.IGNORECASE)
    clean = re.sub(r"\b((?:[A-Z]_)+)", lambda m: m.group(1).replace("_", ""), clean)  # "T_V_" → "TV"
    clean = re.sub(r"\s+([.,?!;:])", r"\1", clean)
    clean = re.sub(r"([.,?!;:])(?:\s*[.,;:])+", r"\1", clean)  # "so . ," left by a removed marker
    return re.sub(r"\s+", " ", clean).strip(" ,")


def reference_labels(data: dict) -> list[int]:
    """Topic label per turn: the first topic covering it; uncovered turns join the previous one."""
    n = len(data["meeting_transcripts"])
    labels: list[int | None] = [None] * n
    for number, topic in enumerate(data["topic_list"]):
        for first, last in topic["relevant_text_span"]:
            for i in range(int(first), min(int(last), n - 1) + 1):
                if labels[i] is None:
                    labels[i] = number
    previous = next((label for label in labels if label is not None), 0)
    result = []
    for label in labels:
        previous = previous if label is None else label
        result.append(previous)
    return result


def boundary_string(boundaries: list[int], n: int) -> str:
    """nltk's form: character i is "1" when a new segment starts after unit i."""
    marks = ["0"] * n
    for start in boundaries:
        if 0 < start < n:
            marks[start - 1] = "1"
    return "".join(marks)


@cache
def load_split(split: str) -> list[tuple[str, list[str], list[str], list[int]]]:
    """(name, speakers, cleaned turn texts, reference boundaries) per meeting of a split."""
    meetings = []
    for path in sorted((QMSUM_DIR / split).glob("*.json")):
        data = json.loads(path.read_text())
        turns = data["meeting_transcripts"]
        labels = reference_labels(data)
        boundaries = [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]]
        meetings.append(
            (path.stem, [t["speaker"] for t in turns], [detokenize(t["content"]) for t in turns], boundaries)
        )
    return meetings


def score(reference: list[int], hypothesis: list[int], n: int) -> tuple[float, float]:
    ref = boundary_string(reference, n)
    hyp = boundary_string(hypothesis, n)
    k = max(2, round(n / (2 * (len(reference) + 1))))
    return pk(ref, hyp, k=k), windowdiff(ref, hyp, k)


def even_split(n: int, count: int) -> list[int]:
    return sorted({round(n * i / count) for i in range(1, count)} - {0, n})


@cache
def _stop_words() -> frozenset[str]:
    from meetings.summarizer.ranking import sumy_parts as _sumy_parts

    return frozenset(_sumy_parts()[0].stop_words)


@cache
def _texttiling_class():
    from nltk.tokenize import TextTilingTokenizer

    class FastTextTiling(TextTilingTokenizer):
        """nltk's TextTiling with its block comparison in numpy: the same scores, not O(gaps × vocab × k)
        Python (20 s for one meeting)."""

        def _block_comparison(self, tokseqs, token_table):
            row = {ts.index: position for position, ts in enumerate(tokseqs)}
            counts = np.zeros((len(tokseqs), len(token_table)))
            for column, field in enumerate(token_table.values()):
                for index, count in field.ts_occurences:
                    if index in row:
                        counts[row[index], column] += count
            cumulative = np.vstack([np.zeros(len(token_table)), np.cumsum(counts, axis=0)])
            numgaps = len(tokseqs) - 1
            scores = []
            for gap in range(numgaps):
                if gap < self.k - 1:
                    window = gap + 1
                elif gap > numgaps - self.k:
                    window = numgaps - gap
                else:
                    window = self.k
                # nltk slices the blocks, so a block past either end is cut short.
                b1 = cumulative[gap + 1] - cumulative[max(0, gap + 1 - window)]
                b2 = cumulative[min(len(tokseqs), gap + 1 + window)] - cumulative[gap + 1]
                divisor = math.sqrt(float(b1 @ b1) * float(b2 @ b2))
                scores.append(float(b1 @ b2) / divisor if divisor else 0.0)
            return scores

    return FastTextTiling


def texttiling(turns: list[str], *, w: int = 20, k: int = 10) -> list[int]:
    """nltk's TextTiling over one paragraph per turn; boundaries mapped back to turn starts.

    ``w`` (pseudo-sentence size, tokens) and ``k`` (block size, pseudo-sentences): nltk's defaults,
    or ``TEXTTILING_TUNED`` (the best of a small grid on train/).
    """
    tokenizer = _texttiling_class()(w=w, k=k, stopwords=list(_stop_words()))
    paragraphs = [t if t.strip() else "." for t in turns]
    try:
        pieces = tokenizer.tokenize("\n\n".join(paragraphs))
    except ValueError:  # too short for a TextTiling window: one segment
        return []
    boundaries, position = [], 0
    for piece in pieces[:-1]:
        position += piece.strip("\n").count("\n\n") + 1
        boundaries.append(position)
    return [b for b in boundaries if 0 < b < len(turns)]


@cache
def _stems(split: str) -> list[list[list[str]]]:
    return [[segmentation.content_stems(t) for t in turns] for _n, _s, turns, _r in load_split(split)]


def evaluate(split: str, method: str, **params) -> tuple[float, float]:
    """Mean Pk and WindowDiff of one method over a split."""
    pks, wds = [], []
    for (_name, _speakers, turns, reference), stems, words in zip(
        load_split(split), _stems(split), _words(split), strict=True
    ):
        n = len(turns)
        if method == "lexical":
            hypothesis = segmentation.segment_stems(
                stems, n_topics=segmentation.topic_count(words), bonus=_cues(turns), **params
            )
        elif method == "lexical-oracle":
            hypothesis = segmentation.segment_stems(
                stems, n_topics=len(reference) + 1, bonus=_cues(turns), **params
            )
        elif method == "none":
            hypothesis = []
        elif method == "even":
            hypothesis = even_split(n, segmentation.topic_count(words))
        elif method == "even-oracle":
            hypothesis = even_split(n, len(reference) + 1)
        elif method == "texttiling":
            hypothesis = texttiling(turns)
        elif method == "texttiling-tuned":
            hypothesis = texttiling(turns, **TEXTTILING_TUNED)
        else:
            raise ValueError(method)
        p, w = score(reference, hypothesis, n)
        pks.append(p)
        wds.append(w)
    return statistics.fmean(pks), statistics.fmean(wds)


def _cues(turns: list[str]) -> list[float]:
    return segmentation.cue_bonus(turns)


@cache
def _words(split: str) -> list[int]:
    return [_raw_words(turns) for _n, _s, turns, _r in load_split(split)]


def _raw_words(turns: list[str]) -> int:
    from meetings.summarizer import text

    return sum(len(text.words(t)) for t in turns)


def fit_count_rule(split: str = "train") -> tuple[float, float]:
    """Least squares of log(reference topic count) on log(words): count = scale * words ** power."""
    xs, ys = [], []
    for _name, _speakers, turns, reference in load_split(split):
        xs.append(np.log(_raw_words(turns)))
        ys.append(np.log(len(reference) + 1))
    power, intercept = np.polyfit(xs, ys, 1)
    return float(np.exp(intercept)), float(power)


def tune_cohesion() -> dict[str, float]:
    """Stage 1 on train/: block, smoothing and minimum topic length, with the reference count."""
    results = []
    for block, smooth, minimum in itertools.product(
        (100, 150, 200, 300), (60, 120, 240, 400), (150, 250, 400, 600)
    ):
        params = {"block_words": block, "smooth_words": smooth, "min_topic_words": minimum}
        oracle = evaluate("train", "lexical-oracle", **params)
        results.append((oracle[0], params))
        print(f"  {params} oracle-count Pk {oracle[0]:.3f} WD {oracle[1]:.3f}", flush=True)
    best_pk, best = min(results, key=lambda r: r[0])
    print(f"best on train (oracle count): {best} Pk {best_pk:.3f}")
    return best


def tune_count(params: dict[str, float]) -> None:
    """Stage 2 on train/: valleys only or not, the cue bonus, then the count rule (least squares, and
    a grid by Pk)."""
    for valleys in (False, True):
        oracle = evaluate("train", "lexical-oracle", valleys_only=valleys, **params)
        print(f"  valleys_only={valleys}: oracle-count Pk {oracle[0]:.3f} WD {oracle[1]:.3f}", flush=True)
    saved_bonus = segmentation.CUE_BONUS
    try:
        for bonus in (0.0, 0.02, 0.05, 0.1):
            segmentation.CUE_BONUS = bonus
            oracle = evaluate("train", "lexical-oracle", **params)
            rule = evaluate("train", "lexical", **params)
            print(
                f"  cue bonus {bonus}: Pk/WD oracle count {oracle[0]:.3f}/{oracle[1]:.3f}, rule {rule[0]:.3f}/{rule[1]:.3f}"
            )
    finally:
        segmentation.CUE_BONUS = saved_bonus
    scale, power = fit_count_rule()
    print(f"count rule, least squares of log(count) on log(words), train: {scale:.3f} * words ** {power:.3f}")
    counts = [len(r) + 1 for *_x, r in load_split("train")]
    saved = segmentation.COUNT_SCALE, segmentation.COUNT_POWER
    try:
        for s, p in [
            (scale, power),
            *itertools.product((1.0, 1.5, 2.0, 2.25, 2.5, 3.0, 4.0), (0.0, 0.05, 0.075, 0.1, 0.125)),
        ]:
            segmentation.COUNT_SCALE, segmentation.COUNT_POWER = s, p
            predicted = [segmentation.topic_count(w) for w in _words("train")]
            error = statistics.fmean(abs(a - b) for a, b in zip(counts, predicted, strict=True))
            rule = evaluate("train", "lexical", **params)
            print(
                f"  count = {s:.3f} * words ** {p:.3f}: count MAE {error:.2f}, Pk {rule[0]:.3f} WD {rule[1]:.3f}",
                flush=True,
            )
    finally:
        segmentation.COUNT_SCALE, segmentation.COUNT_POWER = saved


def synthetic_hour() -> list[Utterance]:
    """About 9,000 words of real meeting talk: the first val meetings' turns, one after another."""
    utterances: list[Utterance] = []
    words = 0
    for _name, speakers, turns, _reference in load_split("val"):
        for speaker, turn in zip(speakers, turns, strict=True):
            if words >= 9000:
                return utterances
            words += len(turn.split())
            number = len(utterances) + 1
            utterances.append(Utterance(number, speaker, None, number * 3000, turn))
    return utterances


def seconds_per_hour(repeats: int = 3) -> float:
    """Wall time of topics() (segmentation + titles + key sentences) on a ~9,000-word meeting."""
    hour = synthetic_hour()
    topics_module.topics(hour[:50])  # imports and sumy's one-time loads
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        topics_module.topics(hour)
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="run the parameter grid on train/")
    parser.add_argument("--smoke", action="store_true", help="val only, no TextTiling")
    args = parser.parse_args(argv)
    if args.tune:
        tune_count(tune_cohesion())
        return 0
    methods = ["none", "even", "even-oracle", "lexical", "lexical-oracle"]
    if not args.smoke:
        methods[3:3] = ["texttiling", "texttiling-tuned"]
    splits = ("val",) if args.smoke else SPLITS
    print(f"{'method':<16}" + "".join(f"{split + ' Pk':>10}{split + ' WD':>10}" for split in splits))
    for method in methods:
        cells = []
        for split in splits:
            p, w = evaluate(split, method)
            cells.append(f"{p:>10.3f}{w:>10.3f}")
        print(f"{method:<16}" + "".join(cells), flush=True)
    print("meetings: " + ", ".join(f"{split} {len(load_split(split))}" for split in splits))
    print(f"topics() on a ~9,000-word hour: {seconds_per_hour():.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

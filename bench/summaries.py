"""Offline summarizer benchmark: ROUGE against the shared meetings' references, and speed.

``.venv/bin/python -m bench.summaries [--smoke]`` prints a table (meeting, R-1, R-2, R-L,
seconds) and writes JSON to bench/results/. ROUGE F1 with rouge-score, stemmer on, averaged
over each meeting's references (``qmsum_general``, ``ami_abstract``, ``qmsum_decisions`` where
present), scoring ``SummaryResult.summary_text()`` (overview + key points). Targets: mean
ROUGE-1 >= 0.30; a synthetic 1-hour meeting (about 9,000 words) in <= 5 s.

Also runnable through ``python -m bench --only summaries`` (``run(smoke=...)``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path

from bench.common import Row, format_table, target_row, write_results
from meetings.summarizer.offline import summarize
from meetings.summarizer.types import Utterance

MEETINGS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "meetings"
ROUGE_1_TARGET = 0.30
HOUR_SECONDS_TARGET = 5.0  # issue 17: offline notes <= 5 s per hour of meeting


def load_meeting(path: Path) -> tuple[list[Utterance], dict[str, str]]:
    """Utterances (segment ids 1..n, 4 s apart) and the reference summaries of one meeting."""
    data = json.loads(path.read_text())
    utterances = [
        Utterance(
            segment_id=number,
            speaker=segment["speaker"],
            participant_id=None,
            start_ms=number * 4000,
            text=segment["text"],
        )
        for number, segment in enumerate(data["segments"], start=1)
    ]
    return utterances, data["references"]


def synthetic_hour(seed: int = 7) -> list[Utterance]:
    """About 9,000 words (an hour of talk at 150 wpm) re-mixed from the shared meetings' turns."""
    pool = []
    for path in sorted(MEETINGS_DIR.glob("*.json")):
        pool.extend(u.text for u in load_meeting(path)[0])
    rng = random.Random(seed)
    utterances, words = [], 0
    while words < 9000:
        line = rng.choice(pool)
        words += len(line.split())
        number = len(utterances) + 1
        utterances.append(Utterance(number, f"Speaker {number % 5}", None, number * 3000, line))
    return utterances


def warm_up() -> None:
    """Imports and one-time loads (sumy, NLTK's stemmer, dateparser's locale: ~1 s) a worker pays once."""
    summarize(load_meeting(sorted(MEETINGS_DIR.glob("*.json"))[0])[0], meeting_date=dt.date(2026, 1, 5))
    from meetings.summarizer.dates import find_due

    find_due("by March 3", meeting_date=dt.date(2026, 1, 5))


def score_meetings() -> list[dict[str, object]]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    results = []
    for path in sorted(MEETINGS_DIR.glob("*.json")):
        utterances, references = load_meeting(path)
        started = time.perf_counter()
        summary = summarize(utterances, meeting_date=dt.date(2026, 1, 5))
        seconds = time.perf_counter() - started
        candidate = summary.summary_text()
        totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
        for reference in references.values():
            scores = scorer.score(reference, candidate)
            for key in totals:
                totals[key] += scores[key].fmeasure / len(references)
        results.append(
            {
                "meeting": path.stem,
                "r1": totals["rouge1"],
                "r2": totals["rouge2"],
                "rl": totals["rougeL"],
                "seconds": seconds,
                "words": len(candidate.split()),
                "decisions": len(summary.decisions),
                "action_items": len(summary.action_items),
            }
        )
    return results


def run(*, smoke: bool = False) -> list[Row]:
    if not MEETINGS_DIR.is_dir():
        raise FileNotFoundError(f"shared meetings missing: {MEETINGS_DIR}")
    warm_up()
    meetings = score_meetings()
    rows = [
        Row("summaries", f"{m['meeting']} R-1/R-2/R-L", f"{m['r1']:.3f}/{m['r2']:.3f}/{m['rl']:.3f}")
        for m in meetings
    ]
    mean = {key: sum(m[key] for m in meetings) / len(meetings) for key in ("r1", "r2", "rl")}
    rows.append(target_row("summaries", "mean ROUGE-1", mean["r1"], "", ">=", ROUGE_1_TARGET))
    rows.append(Row("summaries", "mean ROUGE-2", round(mean["r2"], 4)))
    rows.append(Row("summaries", "mean ROUGE-L", round(mean["rl"], 4)))
    hour = synthetic_hour()
    started = time.perf_counter()
    summarize(hour, meeting_date=dt.date(2026, 1, 5))
    seconds = time.perf_counter() - started
    rows.append(
        target_row(
            "summaries", "1-hour meeting", seconds, "s", "<=", HOUR_SECONDS_TARGET, utterances=len(hour)
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.summaries", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="same run (it takes seconds)")
    args = parser.parse_args(argv)
    warm_up()
    meetings = score_meetings()
    header = (
        f"{'meeting':<14} {'R-1':>6} {'R-2':>6} {'R-L':>6} {'seconds':>8} {'words':>6} {'dec':>4} {'act':>4}"
    )
    print(header)
    print("-" * len(header))
    for m in meetings:
        print(
            f"{m['meeting']:<14} {m['r1']:>6.3f} {m['r2']:>6.3f} {m['rl']:>6.3f} {m['seconds']:>8.3f}"
            f" {m['words']:>6} {m['decisions']:>4} {m['action_items']:>4}"
        )
    mean = {key: sum(m[key] for m in meetings) / len(meetings) for key in ("r1", "r2", "rl", "seconds")}
    print(f"{'mean':<14} {mean['r1']:>6.3f} {mean['r2']:>6.3f} {mean['rl']:>6.3f} {mean['seconds']:>8.3f}")
    hour = synthetic_hour()
    started = time.perf_counter()
    summarize(hour, meeting_date=dt.date(2026, 1, 5))
    seconds = time.perf_counter() - started
    words = sum(len(u.text.split()) for u in hour)
    print(f"\nsynthetic 1-hour meeting: {len(hour)} utterances, {words} words, {seconds:.3f} s")
    rows = [
        Row("summaries", "meeting", m["meeting"], extra={k: v for k, v in m.items() if k != "meeting"})
        for m in meetings
    ]
    rows.append(target_row("summaries", "mean ROUGE-1", mean["r1"], "", ">=", ROUGE_1_TARGET))
    rows.append(Row("summaries", "mean ROUGE-2", round(mean["r2"], 4)))
    rows.append(Row("summaries", "mean ROUGE-L", round(mean["rl"], 4)))
    rows.append(target_row("summaries", "1-hour meeting", seconds, "s", "<=", HOUR_SECONDS_TARGET))
    print()
    print(format_table(rows[len(meetings) :]))
    print(f"\nresults: {write_results('summaries', rows, smoke=args.smoke)}")
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

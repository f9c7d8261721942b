"""Notes benchmark on QMSum's val/ split: ``python -m bench --only notes`` (or ``python -m bench.notes``).

Prints, per domain (AMI design meetings, ICSI research meetings, parliamentary committees) and
overall, on the labelled val meetings (``labels/notes/val/``, labels/notes/GUIDELINE.md):

* action items: precision, recall, owner accuracy on matched items (bench/notes_eval.py);
* decisions: precision, recall;

and on every val meeting: topic segmentation Pk / WindowDiff against QMSum's ``topic_list``
(with the even-split and TextTiling baselines, bench/topics_eval.py), ROUGE-1/2/L F1 of the
summary text (overview + key points) against QMSum's general summary, and the offline summary's
seconds per hour of meeting (meeting length from its word count at 150 words a minute).

The detector was trained on ``labels/notes/train/`` only (``python -m bench.notes_train``);
nothing here is tuned on val. ``--smoke``: three meetings, to check the benchmark runs.
``--llm``: score the LLM path instead (the server in ``SUMMARY_OPENAI_BASE_URL``,
``SUMMARY_OPENAI_MODEL``, ``SUMMARY_OPENAI_API_KEY``; docs/summaries.md lists setups), e.g. to
measure a capable model against the same labels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench import notes_data, notes_eval
from bench.common import Row, format_table, target_row, write_results
from meetings.summarizer import llm, offline, text

DOMAINS = ("ami", "icsi", "parliament")
TARGETS = {
    "action precision": (">=", 0.8),
    "action recall": (">=", 0.5),
    "owner accuracy": (">=", 0.8),
    "decision precision": (">=", 0.7),
    "decision recall": (">=", 0.4),
}
ROUGE_TARGET = 0.35
SECONDS_PER_HOUR_TARGET = 5.0
WORDS_PER_HOUR = 9000


def _rouge(summary: str, reference: str) -> dict[str, float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    scores = scorer.score(reference, summary)
    return {name: scores[name].fmeasure for name in ("rouge1", "rouge2", "rougeL")}


def llm_summarizer_from_env():
    """``utterances -> SummaryResult`` through the configured OpenAI-compatible server; raises
    SystemExit naming the missing variable."""
    base_url = os.environ.get("SUMMARY_OPENAI_BASE_URL", "")
    model = os.environ.get("SUMMARY_OPENAI_MODEL", "")
    if not (base_url and model):
        raise SystemExit("--llm needs SUMMARY_OPENAI_BASE_URL and SUMMARY_OPENAI_MODEL (docs/summaries.md)")
    config = llm.LLMConfig(
        base_url=base_url,
        model=model,
        api_key=os.environ.get("SUMMARY_OPENAI_API_KEY", ""),
        context_tokens=int(os.environ.get("SUMMARY_CONTEXT_TOKENS", "8192")),
        timeout_seconds=float(os.environ.get("SUMMARY_TIMEOUT_SECONDS", "600")),
    )
    return lambda utterances: llm.summarize(utterances, config=config)


def run(*, smoke: bool = False, split: str = "val", summarize=None) -> list[Row]:
    """``summarize``: ``utterances -> SummaryResult``; the offline summarizer when None."""
    summarize = summarize or offline.summarize
    rows: list[Row] = []
    per_domain = {d: {"action": notes_eval.Tally(), "decision": notes_eval.Tally()} for d in DOMAINS}
    ids = notes_data.labelled_ids(split)[: 3 if smoke else None]
    seconds_per_hour = []
    for meeting_id in ids:
        meeting = notes_data.meeting(split, meeting_id)
        started = time.perf_counter()
        result = summarize(meeting.utterances)
        elapsed = time.perf_counter() - started
        words = sum(len(text.words(u.text)) for u in meeting.utterances)
        seconds_per_hour.append(elapsed / max(words / WORDS_PER_HOUR, 1e-6))
        actions, decisions = notes_eval.predicted(result.action_items, result.decisions)
        tally_a = notes_eval.score(actions, meeting.actions, owners=True)
        tally_d = notes_eval.score(decisions, meeting.decisions)
        per_domain[meeting.domain]["action"].add(tally_a)
        per_domain[meeting.domain]["decision"].add(tally_d)
        print(
            f"   {meeting_id:14s} actions {tally_a.matched_predicted}/{tally_a.predicted} of {tally_a.gold}"
            f"  decisions {tally_d.matched_predicted}/{tally_d.predicted} of {tally_d.gold}  {elapsed:.1f} s",
            flush=True,
        )
    overall = {"action": notes_eval.Tally(), "decision": notes_eval.Tally()}
    for domain in DOMAINS:
        for kind in overall:
            overall[kind].add(per_domain[domain][kind])
    for scope, tallies in [*((d, per_domain[d]) for d in DOMAINS), ("all", overall)]:
        a, d = tallies["action"], tallies["decision"]
        figures = {
            "action precision": (a.precision, f"{a.matched_predicted}/{a.predicted}"),
            "action recall": (a.recall, f"{a.matched_gold}/{a.gold}"),
            "owner accuracy": (a.owner_accuracy, f"{a.owner_right}/{a.matched_gold}"),
            "decision precision": (d.precision, f"{d.matched_predicted}/{d.predicted}"),
            "decision recall": (d.recall, f"{d.matched_gold}/{d.gold}"),
        }
        for metric, (value, counts) in figures.items():
            if scope == "all":
                op, bound = TARGETS[metric]
                rows.append(target_row("notes", f"{metric} ({split})", value, "", op, bound, counts=counts))
            else:
                rows.append(Row("notes", f"{metric} ({scope})", round(value, 3), counts))
    rows.append(
        target_row(
            "notes",
            "offline seconds per hour of meeting (median)",
            statistics.median(seconds_per_hour),
            "s",
            "<=",
            SECONDS_PER_HOUR_TARGET,
        )
    )
    rows.extend(_topics_and_rouge(split, smoke=smoke))
    return rows


def _topics_and_rouge(split: str, *, smoke: bool) -> list[Row]:
    from bench import topics_eval

    rows = []
    for method in ("lexical", "even", "texttiling", "texttiling-tuned"):
        pk, windowdiff = topics_eval.evaluate(split, method)
        rows.append(
            Row("notes", f"topics Pk / WindowDiff, {method} ({split})", f"{pk:.3f} / {windowdiff:.3f}")
        )
    rouge = []
    for _meeting_id, data in list(notes_data.unlabelled_meetings(split))[: 3 if smoke else None]:
        general = [q["answer"] for q in data.get("general_query_list", []) if q.get("answer")]
        if not general:
            continue
        result = offline.summarize(notes_data.utterances_of(data), use_embeddings=False)
        rouge.append(_rouge(result.summary_text(), general[0]))
    for name in ("rouge1", "rouge2", "rougeL"):
        mean = statistics.mean(r[name] for r in rouge)
        if name == "rouge1":
            rows.append(
                target_row("notes", f"ROUGE-1 F1 vs general summary ({split})", mean, "", ">=", ROUGE_TARGET)
            )
        else:
            rows.append(Row("notes", f"{name} F1 ({split})", round(mean, 3)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notes", description=__doc__)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--split", default="val", help="val (the reported split) or train (a sanity check)")
    parser.add_argument("--llm", action="store_true", help="score the LLM path (SUMMARY_OPENAI_* variables)")
    args = parser.parse_args(argv)
    summarize = llm_summarizer_from_env() if args.llm else None
    rows = run(smoke=args.smoke, split=args.split, summarize=summarize)
    print(format_table(rows))
    print(f"\nresults: {write_results('notes', rows, smoke=args.smoke)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

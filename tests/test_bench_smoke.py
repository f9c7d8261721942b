"""The product benchmarks still work: ``python -m bench --smoke`` for the four product benches.

This is what CI runs of ``bench/`` (seconds-long variants; their figures are not targets): it
starts the real product (Daphne; ``rtms_worker`` when PostgreSQL and Redis answer) against the
RTMS emulator, and checks the run exits 0 and prints every metric row with a value.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHES = "webhook_ack,ingest_capacity,live_latency,page_load"
METRICS = [
    r"webhook_ack\[embedded\] +webhooks answered 200 +10/10",
    r"webhook_ack\[embedded\] +one webhook alone \(median of 10\) +[\d.]+ ms",
    r"webhook_ack\[embedded\] +ack p99 +[\d.]+ ms",
    r"webhook_ack\[embedded\] +streams connected +10/10",
    r"ingest_capacity\[(scaled|embedded)\] +max concurrent meetings \(0 lost, lag < 1 s\) +1 meetings",
    r"ingest_capacity\[(scaled|embedded)\] +worker audio frames per CPU-second +[\d.]+ frames/cpu-s",
    r"ingest_capacity\[(scaled|embedded)\] +audio streams per core +[\d.]+ streams",
    r"ingest_capacity\[(scaled|embedded)\] +ceiling \(bare client\) frames per CPU-second +[\d.]+ frames/cpu-s",
    r"ingest_capacity\[(scaled|embedded)\] +worker / ceiling +[\d.]+ %",
    r"live_latency\[embedded\] +fragments delivered +(\d+)/\1 ",
    r"live_latency\[embedded\] +transcript -> 5 viewers p50 +[\d.]+ ms",
    r"live_latency\[embedded\] +transcript -> 5 viewers p99 +[\d.]+ ms",
    r"page_load\[embedded\] +page with 200 segments renders the latest +yes",
    r"page_load\[embedded\] +median of 3 +[\d.]+ ms",
]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bench_smoke_runs_and_prints_every_metric(shared_data, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["BENCH_RESULTS_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", BENCHES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    missing = [m for m in METRICS if not re.search(m, out)]
    assert not missing, f"rows missing: {missing}\n{out[-3000:]}"
    assert " error " not in out
    assert list(tmp_path.glob("bench-smoke-*.json")), "no JSON results written"


def test_the_notes_bench_llm_option_names_what_it_misses(monkeypatch):
    from bench import notes

    monkeypatch.delenv("SUMMARY_OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("SUMMARY_OPENAI_MODEL", "some-model")
    with pytest.raises(SystemExit, match="SUMMARY_OPENAI_BASE_URL"):
        notes.main(["--llm", "--smoke"])


def test_whisper_capacity_plays_the_ami_excerpt_looped_and_rotated_per_meeting(shared_data):
    from bench.whisper_capacity import _lags, ami_meeting, meeting_sizes
    from rtms_emulator.scenario_loader import load_scenario

    base = load_scenario("ami_excerpt")
    first, second = ami_meeting(seconds=150, offset_s=0), ami_meeting(seconds=150, offset_s=13)
    assert first.transcript is None  # no Zoom transcript: Whisper from the first word
    assert [p.user_id for p in first.participants] == [p.user_id for p in base.participants]
    original, looped, rotated = base.participants[0], first.participants[0], second.participants[0]
    # looped: 60 s later the same audio again; rotated: meeting 2 is 13 s ahead in the excerpt
    assert looped.frame(100) == original.frame(100)
    assert looped.frame(3000 + 100) == original.frame(100)
    assert rotated.frame(100) == original.frame(650 + 100)
    assert looped.frame(7400) is not None  # still playing near the end of the step
    # P speaking participants: meetings of 4, the last one with the first P mod 4 people
    assert [meeting_sizes(p) for p in (1, 6, 8)] == [[1], [4, 2], [4, 4]]
    pair = ami_meeting(seconds=150, offset_s=0, participants=2)
    assert [p.user_id for p in pair.participants] == [p.user_id for p in base.participants[:2]]

    t0 = 1_000_000
    windows = [
        [True, "done", 0, t0 + 1_500, t0 + 1_000],  # first half, 0.5 s
        [True, "done", 0, t0 + 9_000, t0 + 6_000],  # second half, 3 s
        [False, "done", 0, t0 + 2_000, t0 + 1_000],  # a partial: not a final line
        [True, "empty", 0, t0 + 2_000, t0 + 1_000],  # stored nothing
    ]
    lags = _lags(windows, t0, t0 + 10_000)
    assert lags["finals_done"] == 2
    assert lags["lag_p90_first_half_s"] == 0.5
    assert lags["lag_p90_second_half_s"] == 3.0

"""``manage.py demo --headless`` (what ``make demo HEADLESS=1`` runs), embedded mode, end to end.

The real product (Daphne subprocess, SQLite, in-process Whisper) on a scratch data dir and port;
the emulator plays both demo meetings through signed webhooks. The command checks what was
stored and exported against what the emulator sent and exits 0 only if every check passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rtms_assistant.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_PASSES = [
    "planning_meeting: emulator verdict on our RTMS client",
    "planning_meeting: every Zoom transcript utterance stored, exact text, right speaker",
    "planning_meeting: chat messages exact",
    "planning_meeting: join/leave events stored",
    "planning_meeting: per-participant audio equals what the emulator sent",
    "planning_meeting: a ready summary with grounded items",
    "planning_meeting: its four action items, owners and dates",
    "ami_excerpt: no junk action items",
    "planning_meeting: WebVTT export parses, cues carry the speakers",
    "planning_meeting: Markdown notes have the expected sections and speakers",
    "ami_excerpt: live Whisper segments for all four participants",
    "ami_excerpt: WER vs the AMI reference",
    "ami_excerpt: stream stopped with Zoom's stop reason, meeting ended",
    "ami_excerpt: a ready summary with grounded items",
    "ami_excerpt: one final summary, made after the last transcript segment was stored",
    "planning_meeting: one final summary, made after the last transcript segment was stored",
    "ami_excerpt: WebVTT export parses, cues carry the speakers",
    # the demo names each meeting once ingestion has created it (a rename sent right after the
    # webhook once hit no meeting and the AMI meeting stayed untitled)
    "planning_meeting: keeps its demo topic",
    "ami_excerpt: keeps its demo topic",
]


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_headless_demo_passes_every_check(tmp_path, shared_data):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "ZOOM_", "RTMS_", "WHISPER_", "SUMMARY_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {"DJANGO_SETTINGS_MODULE": "rtms_assistant.settings", "DJANGO_DATA_DIR": str(tmp_path / "data")}
    env["RTMS_SHARED_DATA"] = str(shared_data)
    export_dir = tmp_path / "exports"
    proc = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--headless",
            "--port",
            str(free_port()),
            "--export-dir",
            str(export_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    lines = output.splitlines()
    assert not [line for line in lines if line.startswith("FAIL")], output[-6000:]
    for name in EXPECTED_PASSES:
        assert any(line.startswith(f"PASS  {name}") for line in lines), f"no PASS line for {name!r}"
    assert "All checks passed." in output
    for scenario in ("planning_meeting", "ami_excerpt"):
        for fmt in ("md", "vtt"):
            assert (export_dir / f"{scenario}.{fmt}").stat().st_size > 0

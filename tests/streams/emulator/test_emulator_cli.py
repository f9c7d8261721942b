"""The command line (``python -m rtms_emulator`` / ``manage.py rtms_emulator``) and many streams."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from rtms_emulator import Emulator
from tests.streams.emulator.conftest import emulator_config
from tests.streams.emulator.test_emulator_protocol import RawClient, tiny_scenario

REPO = Path(__file__).resolve().parents[3]


def test_cli_prints_join_params_and_fails_the_check_when_nobody_joins(tmp_path):
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rtms_emulator",
            "--port",
            "0",
            "--scenario",
            "planning_meeting",
            "--connect-timeout",
            "0.5",
            "--check",
            "--report-json",
            str(report),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert lines[0].startswith("RTMS emulator listening on ws://127.0.0.1:")
    join = json.loads(lines[1])
    assert set(join) == {"scenario", "meeting_uuid", "rtms_stream_id", "server_urls"}
    assert join["server_urls"].endswith(f"/signaling/{join['rtms_stream_id']}")
    assert "FAIL: no successful signaling handshake" in lines[2]
    assert "(stop_reason 11)" in lines[2]
    assert json.loads(report.read_text())[0]["stop_reason"] == 11


def test_cli_rejects_unknown_scenario_and_bad_fault():
    bad = subprocess.run(
        [sys.executable, "-m", "rtms_emulator", "--port", "0", "--scenario", "nosuch"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "scenario not found: nosuch" in bad.stdout
    fault = subprocess.run(
        [sys.executable, "-m", "rtms_emulator", "--fault", "explode@3"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert fault.returncode == 2
    assert "unknown fault 'explode'" in fault.stderr


def test_management_command_is_wired(capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("rtms_emulator", "--help")
    assert exit_.value.code == 0
    assert "--keepalive-idle-only" in capsys.readouterr().out


async def test_one_process_serves_a_hundred_concurrent_streams(shared_data):
    async with Emulator(emulator_config(keepalive_interval=1.0, ready_delay=0.05, terminate_gap=0.05)) as emu:
        scenario = tiny_scenario(shared_data, duration=2.0)
        started = time.monotonic()
        runs = await asyncio.gather(*(emu.play(scenario, speed=1.0) for _ in range(100)))
        clients = [RawClient(run) for run in runs]
        await asyncio.gather(*(c.join(types=("audio", "transcript")) for c in clients))
        records = await asyncio.wait_for(asyncio.gather(*(r.wait() for r in runs)), 60)
        elapsed = time.monotonic() - started
        await asyncio.gather(*(c.close() for c in clients))
    expected = scenario.expected_audio(16778240)
    assert all(r.sent.audio_bytes(16778240) == expected for r in records)
    assert all(r.verdict() for r in records), [str(r.verdict()) for r in records if not r.verdict()]
    assert len({r.rtms_stream_id for r in records}) == 100
    assert elapsed < 20, f"100 real-time 2 s streams took {elapsed:.1f}s"

"""Fixtures for the emulator tests: a started emulator and Zoom's SDK as a child process."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rtms_emulator import Emulator, EmulatorConfig

PEER = Path(__file__).resolve().parent / "sdk_peer.py"
CLIENT_ID = "emu-test-client"
CLIENT_SECRET = "emu-test-secret"
WEBHOOK_SECRET = "emu-test-webhook-secret"


@pytest.fixture(autouse=True)
def _shared_data_env(shared_data, monkeypatch):
    monkeypatch.setenv("RTMS_SHARED_DATA", str(shared_data))


def emulator_config(**overrides) -> EmulatorConfig:
    base = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        "keepalive_interval": 0.5,
        "reconnect_window": 10.0,
        "media_reconnect_window": 10.0,
        "connect_timeout": 20.0,
    }
    return EmulatorConfig(**(base | overrides))


@pytest.fixture
async def emulator():
    async with Emulator(emulator_config()) as emu:
        yield emu


@dataclass
class SdkResult:
    """What Zoom's SDK reported, de-duplicated where a reconnect may replay data."""

    events: list[dict]
    audio: dict[int, bytes] = field(default_factory=dict)  # user_id -> bytes ordered by timestamp
    audio_names: dict[int, set[str]] = field(default_factory=dict)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind]

    @property
    def transcripts(self) -> list[dict]:
        unique = {(t["user_id"], t["start"]): t for t in self.of("transcript")}
        return [unique[k] for k in sorted(unique, key=lambda k: k[1])]


def sdk_available() -> None:
    try:
        import rtms  # noqa: F401
    except ImportError:
        pytest.skip("Zoom's RTMS SDK (PyPI rtms, manylinux x86_64 / CPython 3.11) is not installed")


async def run_sdk(run, tmp_path: Path, *, timeout: float = 40.0, audio_params: str = "l16") -> SdkResult:
    """Join ``run`` with Zoom's SDK in a child process, wait for the stream to end, parse."""
    sdk_available()
    workdir = tmp_path / "sdk"
    workdir.mkdir()
    cfg = {
        **run.join_params(),
        "client": CLIENT_ID,
        "secret": CLIENT_SECRET,
        "out": str(workdir),
        "timeout": timeout,
        "audio_params": audio_params,
    }
    (workdir / "cfg.json").write_text(json.dumps(cfg))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PEER),
        str(workdir / "cfg.json"),
        cwd=workdir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": ""},
    )
    try:
        await asyncio.wait_for(proc.wait(), timeout + 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    events = [json.loads(line) for line in (workdir / "events.jsonl").read_text().splitlines()]
    frames: dict[int, dict[int, bytes]] = {}
    names: dict[int, set[str]] = {}
    for e in events:
        if e["kind"] == "audio":
            frames.setdefault(e["user_id"], {})[e["timestamp"]] = base64.b64decode(e["data"])
            names.setdefault(e["user_id"], set()).add(e["user_name"])
    audio = {uid: b"".join(f[ts] for ts in sorted(f)) for uid, f in frames.items()}
    return SdkResult(events, audio, names)

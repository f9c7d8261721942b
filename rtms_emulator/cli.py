"""Command line of the emulator, shared by ``python -m rtms_emulator`` and
``python manage.py rtms_emulator``. Flags are documented in docs/emulator.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from rtms_emulator.config import EmulatorConfig
from rtms_emulator.faults import Fault
from rtms_emulator.scenario import ScenarioError
from rtms_emulator.scenario_loader import load_scenario
from rtms_emulator.server import Emulator


def _speed(text: str) -> float | None:
    if text in ("max", "none", "unpaced"):
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("speed must be > 0 (or 'max')")
    return value


def _fault(text: str) -> Fault:
    try:
        return Fault.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="listen port, 0 = any free port (default 8765)"
    )
    parser.add_argument("--public-host", default=None, help="host written into server_urls (default --host)")
    parser.add_argument("--client-id", default=env("ZOOM_CLIENT_ID") or "emulator-client-id")
    parser.add_argument("--client-secret", default=env("ZOOM_CLIENT_SECRET") or "emulator-client-secret")
    parser.add_argument(
        "--webhook-secret", default=env("ZOOM_WEBHOOK_SECRET_TOKEN") or "emulator-webhook-secret"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        help="planning_meeting, ami_excerpt, a JSON path, or long:N:M (repeatable; default planning_meeting)",
    )
    parser.add_argument("--streams", type=int, default=1, help="concurrent streams per scenario (default 1)")
    parser.add_argument(
        "--webhook-url", default=None, help="POST signed webhooks here; without it, print join params"
    )
    parser.add_argument(
        "--validate-url", action="store_true", help="send endpoint.url_validation first and check it"
    )
    parser.add_argument("--speed", type=_speed, default=1.0, help="1 = real time, 20 = 20x, max = unpaced")
    parser.add_argument("--product", choices=("meeting", "webinar", "session"), default="meeting")
    parser.add_argument(
        "--fault", type=_fault, action="append", default=[], help="kind@seconds[:k=v,...] (repeatable)"
    )
    parser.add_argument(
        "--binary-frames", action="store_true", help="send every server message as a binary frame"
    )
    parser.add_argument("--keepalive-interval", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument(
        "--keepalive-idle-only", action="store_true", help="keep-alives only when no data flows"
    )
    parser.add_argument(
        "--reconnect-window", type=float, default=60.0, help="signaling loss grace, s (default 60)"
    )
    parser.add_argument(
        "--media-reconnect-window", type=float, default=65.0, help="media loss grace, s (default 65)"
    )
    parser.add_argument(
        "--connect-timeout", type=float, default=30.0, help="rtms_started -> ready, s (default 30)"
    )
    parser.add_argument("--duplicate-signaling", choices=("reject", "kick"), default="reject")
    parser.add_argument("--legacy-status-codes", action="store_true", help="legacy 0-75 status numbering")
    parser.add_argument("--media-types", default="audio,video,deskshare,transcript,chat", help="app scopes")
    parser.add_argument("--chat-format", choices=("json", "text"), default="json")
    parser.add_argument(
        "--webhook-retries", default="", help="retry delays in s after a failed webhook, e.g. 300,1200,3600"
    )
    parser.add_argument("--replay-buffer", type=float, default=60.0, help="media replay buffer, s (0 = off)")
    parser.add_argument("--timeout", type=float, default=None, help="give up waiting for the streams after s")
    parser.add_argument(
        "--report-json", type=Path, default=None, help="write every stream's record summary here"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 unless every stream's verdict is PASS")


def config_from(options: argparse.Namespace | dict) -> EmulatorConfig:
    o = vars(options) if isinstance(options, argparse.Namespace) else options
    return EmulatorConfig(
        client_id=o["client_id"],
        client_secret=o["client_secret"],
        webhook_secret=o["webhook_secret"],
        host=o["host"],
        port=o["port"],
        public_host=o["public_host"],
        keepalive_interval=o["keepalive_interval"],
        keepalive_idle_only=o["keepalive_idle_only"],
        reconnect_window=o["reconnect_window"],
        media_reconnect_window=o["media_reconnect_window"],
        connect_timeout=o["connect_timeout"],
        duplicate_signaling=o["duplicate_signaling"],
        binary_frames=o["binary_frames"],
        legacy_status_codes=o["legacy_status_codes"],
        media_types=tuple(t.strip() for t in o["media_types"].split(",") if t.strip()),
        chat_format=o["chat_format"],
        replay_buffer_seconds=o["replay_buffer"],
        webhook_retry_delays=tuple(float(x) for x in o["webhook_retries"].split(",") if x.strip()),
    )


async def run_cli(options: argparse.Namespace | dict, out=None) -> int:
    """Play the requested streams, print join params / verdicts; return the exit code."""
    out = out or sys.stdout
    o = vars(options) if isinstance(options, argparse.Namespace) else options

    def say(obj) -> None:
        out.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        out.flush()

    try:
        scenarios = [load_scenario(name) for name in (o["scenario"] or ["planning_meeting"])]
    except ScenarioError as exc:
        say(f"error: {exc}")
        return 2
    async with Emulator(config_from(o)) as emu:
        say(f"RTMS emulator listening on {emu.base_url}")
        if o["validate_url"]:
            if not o["webhook_url"]:
                say("error: --validate-url needs --webhook-url")
                return 2
            check = await emu.validate_url(o["webhook_url"])
            say(f"url_validation: {'PASS' if check.ok else 'FAIL'} ({check.detail})")
            if not check.ok:
                return 1
        runs = []
        for scenario in scenarios:
            for _ in range(o["streams"]):
                run = await emu.play(
                    scenario,
                    webhook_url=o["webhook_url"],
                    speed=o["speed"],
                    product=o["product"],
                    faults=o["fault"],
                )
                runs.append(run)
                say({"scenario": scenario.name, **run.join_params()})
        try:
            records = await asyncio.wait_for(asyncio.gather(*(r.wait() for r in runs)), o["timeout"])
        except TimeoutError:
            say("error: streams still running at --timeout")
            return 1
    verdicts = [r.verdict() for r in records]
    for record, verdict in zip(records, verdicts, strict=True):
        say(f"{record.rtms_stream_id} {record.scenario}: {verdict} (stop_reason {record.stop_reason})")
    if o["report_json"]:
        o["report_json"].write_text(json.dumps([r.summary() for r in records], indent=1, default=str))
    return 0 if all(verdicts) or not o["check"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtms_emulator", description=__doc__)
    add_arguments(parser)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run_cli(options))
    except KeyboardInterrupt:
        return 130

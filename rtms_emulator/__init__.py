"""A protocol-faithful Zoom RTMS emulator: plays recorded meetings to an RTMS client.

Plays Zoom's side of RTMS (PROTOCOL.md Section A, Appendix A): signed webhooks
(``endpoint.url_validation``, ``<product>.rtms_started`` / ``rtms_stopped`` /
``rtms_interrupted``), the signaling WebSocket and the per-type media WebSockets, keep-alives
with ``sequence``, state updates, L16 16 kHz mono audio (mixed or multi-stream), Zoom transcript,
chat, participant / active-speaker / sharing events, pause/resume, fault injection. One process
serves any number of concurrent streams. It records what the client did and judges it.
No Django: runs from ``python -m rtms_emulator`` or ``python manage.py rtms_emulator``.

Python API (all coroutines run on one asyncio loop)::

    from rtms_emulator import Emulator, EmulatorConfig, Fault, load_scenario

    config = EmulatorConfig(client_id="...", client_secret="...", webhook_secret="...",
                            host="127.0.0.1", port=0, keepalive_interval=10.0,
                            record_audio=True)     # False: byte counts only (long load runs)
    async with Emulator(config) as emu:            # starts / stops the server
        emu.base_url                               # "ws://127.0.0.1:<port>"
        check = await emu.validate_url("http://127.0.0.1:8000/webhooks/zoom/")  # .ok, .detail
        run = await emu.play(
            "planning_meeting",                    # Scenario, shipped name, JSON path or "long:N:M"
            webhook_url="http://127.0.0.1:8000/webhooks/zoom/",  # None: join directly
            speed=20.0,                            # 1.0 real time, >1 faster, None unpaced
            product="meeting",                     # meeting | webinar | session
            faults=["media_abort@20", Fault("junk", 5.0, {"socket": "signaling"})],
        )
        run.join_params()                          # {"meeting_uuid", "rtms_stream_id", "server_urls"}
        record = await run.wait(timeout=60)        # StreamRecord, once the stream ended
        record.verdict()                           # Verdict: bool(), str() -> "PASS" / "FAIL: ..."
        record.sent.audio_bytes(16778240)          # exact bytes sent for that user_id (0 = mixed)
        record.sent.transcript / .chat / .events   # what was sent, as on the wire
        record.handshakes / .ready_acks / .keepalives / .closes / .webhooks
        runs = await asyncio.gather(*(emu.play("long:4:5", webhook_url=url, speed=None) for _ in range(200)))

``Emulator.play(scenario, *, webhook_url=None, speed=1.0, product="meeting", faults=(),
meeting_uuid=None, rtms_stream_id=None, id_key=None, stop_reason=None) -> Run``;
``Run.wait(timeout=None) -> StreamRecord``; ``Run.stop(reason=1) -> StreamRecord``;
``Run.join_params() -> dict``; ``Run.server_urls``; ``Emulator.validate_url(url) ->
UrlValidationResult``; ``Emulator.rejected_handshakes``; ``StreamRecord.verdict(*,
require_complete=True, require_keepalive_answers=True, min_keepalive_answers=0,
allow_junk_from_client=False, expect_stop_reason=None) -> Verdict``.
Full description: docs/emulator.md.
"""

from __future__ import annotations

from rtms_emulator.config import EmulatorConfig, EmulatorError
from rtms_emulator.faults import FAULT_KINDS, JUNK_KINDS, Fault
from rtms_emulator.record import StreamRecord, Verdict
from rtms_emulator.run import Run
from rtms_emulator.scenario import Scenario, ScenarioError, shared_data_dir
from rtms_emulator.scenario_generator import generate_long_meeting
from rtms_emulator.scenario_loader import load_scenario, scenario_from_dict
from rtms_emulator.server import Emulator
from rtms_emulator.webhook import (
    UrlValidationResult,
    post_webhook,
    signed_headers,
    validate_url,
    webhook_body,
)

__all__ = [
    "FAULT_KINDS",
    "JUNK_KINDS",
    "Emulator",
    "EmulatorConfig",
    "EmulatorError",
    "Fault",
    "Run",
    "Scenario",
    "ScenarioError",
    "StreamRecord",
    "UrlValidationResult",
    "Verdict",
    "generate_long_meeting",
    "load_scenario",
    "post_webhook",
    "scenario_from_dict",
    "shared_data_dir",
    "signed_headers",
    "validate_url",
    "webhook_body",
]

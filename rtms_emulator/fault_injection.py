"""Fault injection on a playing stream: what each fault kind of ``faults.py`` does, when the
timeline reaches it (``player.py``). Drops are preceded by a keep-alive fence on every socket
unless ``fence`` is false (``faults.py`` says why). Every fault is recorded in
``record.faults`` as applied (``skipped`` with the reason when it could not be, ``fenced``
whether every socket answered its fence).
"""

from __future__ import annotations

import asyncio
import time

from rtms_emulator.faults import JUNK_KINDS
from rtms_emulator.messages import dumps
from rtms_emulator.scenario import TimelineEvent
from rtms_emulator.sockets import Conn, now_ms
from rtms_emulator.stage import Stage
from streams.rtms.protocol import StopReason


async def inject(run: Stage, e: TimelineEvent) -> None:
    """Apply the fault ``e`` (``e.params["fault"]``: its kind, the rest its parameters) to
    ``run``'s stream now."""
    kind = e.params["fault"]
    entry = {"fault": kind, "at": e.at, "params": {k: v for k, v in e.params.items() if k != "fault"}}
    entry["wall"] = run.record.now()
    run.record.faults.append(entry)
    fence = e.params.get("fence", True)
    session = run.session
    if kind in ("media_abort", "media_close"):
        mtype = e.params.get("media", "audio")
        conn = session.media.get(mtype) if mtype != "all" else next(iter(session.media.values()), None)
        if conn is None:
            entry["skipped"] = f"no live {mtype} socket"
            return
        if fence:  # every socket: a client may drop them all on a media loss (Zoom's SDK does)
            entry["fenced"] = await run.fence_all()
        if kind == "media_abort":
            conn.abort()
        else:
            await conn.close(e.params.get("code", 1001), "emulator fault")
    elif kind in ("signaling_abort", "signaling_close"):
        conn = session.signaling
        if conn is None:
            entry["skipped"] = "no signaling socket"
            return
        if fence:
            entry["fenced"] = await run.fence_all()
        if kind == "signaling_abort":
            conn.abort()
        else:
            await conn.close(e.params.get("code", 1001), "emulator fault")
    elif kind == "outage":
        # the RTMS server unreachable for ``seconds``: every socket dropped (TCP abort), every
        # upgrade answered 503 meanwhile; the stream is kept for ``reconnect_window``
        seconds = float(e.params.get("seconds", 10))
        if fence:
            entry["fenced"] = await run.fence_all()
        run.down_until = time.monotonic() + seconds
        entry["seconds"] = seconds
        for c in session.live_links():
            c.abort()
    elif kind == "failover":
        if not run.webhooks.url:
            entry["skipped"] = "failover needs a webhook URL"
            return
        conns = session.live_links()
        await asyncio.gather(*(run.fence(c) for c in conns))
        session.failover()
        for c in conns:
            c.abort()
        entry["server_urls"] = session.server_urls
        await run.webhooks.started(session.server_urls)
    elif kind == "duplicate_webhook":
        if not await run.webhooks.started_again():
            entry["skipped"] = "no rtms_started webhook to repeat"
    elif kind == "junk":
        await _junk(run, e.params.get("socket", "both"), e.params.get("kinds", list(JUNK_KINDS)))
    elif kind == "keepalive_storm":
        for conn in [c for c in [session.signaling, *session.media.values()] if c is not None]:
            for _ in range(e.params.get("count", 20)):
                await run.keepalive(conn)
    elif kind == "terminate":
        await run.terminate(e.params.get("reason", StopReason.STOP_BC_HOST_TRIGGERED))
    elif kind in ("pause", "resume"):
        await run.pause(kind == "pause", e.at)


async def _junk(run: Stage, where: str, kinds: list[str]) -> None:
    """Malformed frames of ``kinds`` on the signaling and/or media sockets (``where``)."""
    frames: dict[str, str | bytes] = {
        "malformed_json": '{"msg_type": 14, "content": {"user_id": ',
        "json_array": '[14, {"user_id": 1}]',
        "non_utf8": b"\xff\xfe\xfd\x00\xc3(",
        "unknown_msg_type": '{"msg_type": 99, "content": {}}',
        "string_msg_type": '{"msg_type": "MEDIA_DATA_AUDIO", "content": {}}',
        "unknown_event_type": dumps({"msg_type": 6, "event": {"event_type": 99, "timestamp": now_ms()}}),
    }
    signaling = run.session.signaling
    targets: list[Conn] = []
    if where in ("signaling", "both") and signaling:
        targets.append(signaling)
    if where in ("media", "both"):
        targets += list(dict.fromkeys(run.session.media.values()))
    for conn in targets:
        for kind in kinds:
            if kind == "unknown_event_type" and conn is not signaling:
                continue
            await conn.send(frames[kind], data=False)

"""Zoom's official RTMS SDK (PyPI ``rtms``) as a test peer, run in a child process.

Usage: ``python sdk_peer.py CONFIG.json`` with ``{"meeting_uuid", "rtms_stream_id", "server_urls",
"client", "secret", "out", "timeout", "audio_params": "l16" | "sdk_default", "transcript": bool}``.
Writes ``<out>/events.jsonl`` (one JSON object per SDK callback; audio as base64) and exits with
``os._exit`` once ``on_leave`` fired or ``timeout`` passed (the SDK may crash at interpreter exit,
PROTOCOL.md Section A). The working directory must be a scratch dir: the SDK writes ./logs/.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time


def main() -> None:
    cfg = json.loads(open(sys.argv[1]).read())  # noqa: SIM115
    os.makedirs("logs", exist_ok=True)
    import rtms

    out = open(os.path.join(cfg["out"], "events.jsonl"), "w", buffering=1)  # noqa: SIM115
    lock = threading.Lock()
    left = threading.Event()

    def emit(kind: str, **fields) -> None:
        with lock:
            out.write(json.dumps({"kind": kind, "t": time.time(), **fields}) + "\n")

    client = rtms.Client()

    def on_join_confirm(reason):
        emit("join_confirm", reason=reason)

    def on_leave(reason):
        emit("leave", reason=reason)
        left.set()

    def on_session_update(op, session):
        emit("session_update", op=op, session_id=session.sessionId, status=session.status)

    def on_audio(data, size, timestamp, metadata):
        emit(
            "audio",
            user_id=metadata.userId,
            user_name=metadata.userName,
            timestamp=timestamp,
            size=size,
            data=base64.b64encode(bytes(data)).decode(),
        )

    def on_transcript(data, size, timestamp, metadata):
        emit(
            "transcript",
            user_id=metadata.userId,
            user_name=metadata.userName,
            timestamp=timestamp,
            start=metadata.startTs,
            end=metadata.endTs,
            text=bytes(data).decode("utf-8", "replace"),
        )

    def on_participant(event, timestamp, participants):
        emit("participant", event=event, timestamp=timestamp, participants=participants)

    def on_speaker(timestamp, user_id, user_name):
        emit("active_speaker", timestamp=timestamp, user_id=user_id, user_name=user_name)

    def on_raw(data):
        emit("raw_event", data=data)

    client.on_join_confirm(on_join_confirm)
    client.on_leave(on_leave)
    client.on_session_update(on_session_update)
    if cfg.get("audio_params", "l16") == "l16":
        client.set_audio_params(
            rtms.AudioParams(
                content_type=2, codec=1, sample_rate=1, channel=1, data_opt=2, duration=20, frame_size=320
            )
        )
    client.on_audio_data(on_audio)
    if cfg.get("transcript", True):
        client.on_transcript_data(on_transcript)
    client.on_participant_event(on_participant)
    client.on_active_speaker_event(on_speaker)
    client.on_event_ex(on_raw)
    # Drive the SDK's EventLoop on this thread: alloc()+join() happen in _drain_pending(), and
    # subscribe_event() only works after alloc() (before it silently does nothing; inside a
    # callback or from another thread it deadlocks), so subscribe right after the join.
    loop = rtms.EventLoop(poll_interval=0.005)
    loop.add(client)
    client.join(
        meeting_uuid=cfg["meeting_uuid"],
        rtms_stream_id=cfg["rtms_stream_id"],
        server_urls=cfg["server_urls"],
        client=cfg["client"],
        secret=cfg["secret"],
    )
    loop._drain_pending()
    emit(
        "subscribed",
        ok=client.subscribe_event(
            [rtms.EVENT_ACTIVE_SPEAKER_CHANGE, rtms.EVENT_PARTICIPANT_JOIN, rtms.EVENT_PARTICIPANT_LEAVE]
        ),
    )
    deadline = time.monotonic() + cfg.get("timeout", 60)
    while not left.is_set() and time.monotonic() < deadline:
        loop._poll_all()
        time.sleep(0.005)
    finished = left.is_set()
    time.sleep(0.2)
    emit("exit", left=finished)
    out.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

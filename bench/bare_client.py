"""The ceiling of the ingest benchmark: a bare RTMS reader that does nothing but decode.

``python -m bench.bare_client`` reads one JSON line on stdin: ``{"client_id", "client_secret",
"streams": [{"meeting_uuid", "rtms_stream_id", "server_urls"}, ...]}``. For each stream it
performs the handshakes our client performs (signaling, one media socket per type for audio,
transcript and chat, CLIENT_READY_ACK), answers keep-alives, and for every media frame does
only ``json.loads`` + base64 decode of the payload: no events, no queues, no storage. It prints
one JSON line per second ``{"t": epoch s, "frames": audio frames so far, "cpu": process CPU s}``
and a final ``{"done": true, ...}`` when every stream has ended. Same library (``websockets``)
and the same wire as the product, so frames per CPU-second is the ceiling for this machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys
import time

from websockets.asyncio.client import connect

from streams.rtms import messages
from streams.rtms.protocol import MediaType
from streams.rtms.signing import handshake_signature

frames = 0
MEDIA = {
    "audio": (MediaType.AUDIO, {"audio": messages.audio_media_params()}),
    "transcript": (MediaType.TRANSCRIPT, {"transcript": messages.transcript_media_params()}),
    "chat": (MediaType.CHAT, {"chat": messages.chat_media_params()}),
}


async def _reader(ws, done: asyncio.Event) -> None:
    global frames
    async for raw in ws:
        msg = json.loads(raw)
        t = msg.get("msg_type")
        if t == 14:
            base64.b64decode(msg["content"]["data"])
            frames += 1
        elif t in (17, 18):
            msg["content"].get("data")
        elif t == 12:
            await ws.send(json.dumps(messages.keep_alive_resp(msg)))
        elif t == 8 and msg.get("state") == 4:
            done.set()
            return


async def _stream(spec: dict, client_id: str, client_secret: str) -> None:
    sig = handshake_signature(
        client_id=client_id,
        client_secret=client_secret,
        instance_id=spec["meeting_uuid"],
        rtms_stream_id=spec["rtms_stream_id"],
    )
    ids = {"instance_id": spec["meeting_uuid"], "rtms_stream_id": spec["rtms_stream_id"], "signature": sig}
    done = asyncio.Event()
    async with connect(spec["server_urls"], max_queue=64) as sig_ws:
        await sig_ws.send(json.dumps(messages.signaling_handshake_req(sequence=1, **ids)))
        resp = json.loads(await asyncio.wait_for(sig_ws.recv(), 30))
        urls = resp["media_server"]["server_urls"]
        await sig_ws.send(json.dumps(messages.event_subscription([2, 3, 4, 5, 6])))
        sockets = []
        for name, (bit, params) in MEDIA.items():
            ws = await connect(urls[name], max_queue=64)
            await ws.send(
                json.dumps(
                    messages.data_handshake_req(sequence=0, media_type=int(bit), media_params=params, **ids)
                )
            )
            json.loads(await asyncio.wait_for(ws.recv(), 30))
            sockets.append(ws)
        await sig_ws.send(json.dumps(messages.client_ready_ack(spec["rtms_stream_id"])))
        readers = [asyncio.create_task(_reader(ws, done)) for ws in [sig_ws, *sockets]]
        await done.wait()
        await asyncio.sleep(1.0)  # media sent in the same millisecond as TERMINATED
        for task in readers:
            task.cancel()
        for ws in sockets:
            await ws.close()


async def _report(stop: asyncio.Event) -> None:
    while not stop.is_set():
        print(json.dumps({"t": time.time(), "frames": frames, "cpu": time.process_time()}), flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def main() -> None:
    spec = json.loads(sys.stdin.readline())
    stop = asyncio.Event()
    reporter = asyncio.create_task(_report(stop))
    results = await asyncio.gather(
        *(_stream(s, spec["client_id"], spec["client_secret"]) for s in spec["streams"]),
        return_exceptions=True,
    )
    stop.set()
    await reporter
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    print(
        json.dumps(
            {"done": True, "t": time.time(), "frames": frames, "cpu": time.process_time(), "errors": errors}
        )
    )


if __name__ == "__main__":
    asyncio.run(main())

"""Whisper through the whole live pipeline: emulator → webhook → ingest → windows → task → segments.

Used by ``bench.whisper`` (``run_pipeline(engine, smoke=...)``). The product runs for real in a
subprocess (Daphne, embedded mode: SQLite, the transcription queue on its in-process thread) on a
scratch data dir; the emulator plays, in real time (speed 1.0, so latency means something):

* ``clips``: the single-speaker clips (FLEURS x5, JFK, LibriSpeech), one participant each, one
  after another with 1.5 s gaps; WER per participant (FLEURS corpus-level);
* ``ami_excerpt``: the AMI scenario (four headset streams with cross-talk), WER of all Whisper
  segments in start-time order against ``reference_turn_order.txt``;
* ``planning_meeting`` with its Zoom transcript removed: two TTS voices.

The emulator grants no transcript scope, so the stream has no transcript media and the Whisper
fallback is on from the first word (``TRANSCRIPT_FALLBACK_SECONDS`` does not delay it).

Latency = time a final window's segment was stored (``AudioWindow.done_at``, committed in the
same transaction) minus the wall-clock time of the end of its last speech: the meeting start
(``Meeting.started_at``, the webhook's event_ts) + the window's end in meeting time - the 200 ms
post-roll the cutter keeps. It includes the pause detection (``transcription.cutter.MIN_PAUSE_MS``,
500 ms), the audio flush interval (``RTMS_AUDIO_FLUSH_SECONDS``, the product's default 0.25 s),
queueing and transcription.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from rtms_assistant.processes import Processes, free_port

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "rtms_emulator" / "scenarios"
SPEECH = ROOT.parent / "shared" / "data" / "speech"
CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET = "bench-client-id", "bench-client-secret", "bench-webhook-secret"
POST_ROLL_MS = 200


class Product:
    """Daphne (embedded mode) on the bench's scratch data dir."""

    def __init__(self, data_dir: Path, *, engine: str, checkpoint: Path, model: str = "tiny.en") -> None:
        self.port = free_port()
        self.name = f"daphne-{engine}"
        self.log_path = data_dir / f"{self.name}.log"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RTMS_", "ZOOM_"))
        } | {
            "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings",
            "DJANGO_SECRET_KEY": "bench-secret-key",
            "DJANGO_DATA_DIR": str(data_dir),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ZOOM_CLIENT_ID": CLIENT_ID,
            "ZOOM_CLIENT_SECRET": CLIENT_SECRET,
            "ZOOM_WEBHOOK_SECRET_TOKEN": WEBHOOK_SECRET,
            "WHISPER_ENGINE": engine,
            "WHISPER_CHECKPOINT": str(checkpoint),
            "WHISPER_MODEL": model if engine == "faster-whisper" else "tiny.en",
        }
        self.env.pop("REDIS_URL", None)
        self.env.pop("DATABASE_URL", None)
        self.processes = Processes(data_dir, self.env)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/zoom/"

    def start(self) -> None:
        self.processes.start_web(self.port, name=self.name, timeout=30)

    def stop(self) -> None:
        self.processes.stop_all()


def clips_scenario(directory: Path, names: list[str]) -> tuple[Path, dict[str, str]]:
    """One participant per clip, one after another; returns the file and participant -> reference."""
    from transcription.audio import wav_info

    participants, references, at = [], {}, 0.5
    for index, name in enumerate(names):
        info = wav_info(SPEECH / f"{name}.wav")
        participants.append(
            {
                "id": name,
                "user_id": 16778240 + index * 1024,
                "user_name": name,
                "audio": f"data:speech/{name}.wav",
                "audio_offset": round(at, 2),
            }
        )
        references[name] = (SPEECH / f"{name}.txt").read_text().strip()
        at += info.data_bytes / 32000 + 1.5
    path = directory / "whisper_clips.json"
    path.write_text(json.dumps({"name": "whisper_clips", "participants": participants, "transcript": None}))
    return path, references


def planning_without_transcript(directory: Path) -> Path:
    data = json.loads((SCENARIOS / "planning_meeting.json").read_text())
    data["transcript"] = None
    data["name"] = "planning_meeting_whisper"
    path = directory / "planning_whisper.json"
    path.write_text(json.dumps(data))
    return path


def _collect(meeting_id: int) -> dict:
    from django.db import connection

    from meetings.models import Meeting, TranscriptSegment
    from transcription.models import AudioWindow

    try:
        meeting = Meeting.objects.get(pk=meeting_id)
        start = meeting.started_at.timestamp() * 1000
        windows = list(
            AudioWindow.objects.filter(recording__meeting_id=meeting_id).values(
                "status",
                "is_final",
                "is_tentative",
                "recording_id",
                "byte_offset",
                "byte_length",
                "end_ms",
                "done_at",
                "started_at",
                "queued_at",
                "speech_end_wall_ms",
            )
        )
        # Windows cut before the fallback engaged (released from the backlog at once) would
        # measure the fallback delay, not the pipeline: only speech that ended after the first
        # window was queued counts.
        engaged = min((w["queued_at"].timestamp() * 1000 for w in windows), default=0.0)
        counted = [
            w
            for w in windows
            if w["is_final"] and w["status"] == "done" and w["done_at"] and start + w["end_ms"] >= engaged
        ]

        def since_speech_end(w: dict, moment) -> float:
            """Seconds from the end of the window's last speech to ``moment`` (a datetime)."""
            return (moment.timestamp() * 1000 - (start + w["end_ms"] - POST_ROLL_MS)) / 1000

        latencies = [since_speech_end(w, w["done_at"]) for w in counted]
        # Where it goes, on the window that was transcribed (the tentative twin when the final
        # reused it): speech end -> window queued (pause detection + flush tick), queued -> task
        # started (waiting for a transcription thread), started -> stored (the task).
        twins = {
            (w["recording_id"], w["byte_offset"], w["byte_length"]): w
            for w in windows
            if w["is_tentative"] and w["status"] == "done"
        }
        ran = []
        for w in counted:
            twin = twins.get((w["recording_id"], w["byte_offset"], w["byte_length"]))
            ran.append(twin if twin is not None and w["started_at"] is None else w)
        parts = {
            "detect": [since_speech_end(w, w["queued_at"]) for w in ran],
            "wait": [(w["started_at"] - w["queued_at"]).total_seconds() for w in ran if w["started_at"]],
            "run": [(w["done_at"] - w["started_at"]).total_seconds() for w in ran if w["started_at"]],
            "reused": sum(1 for w, r in zip(counted, ran, strict=True) if r is not w),
        }
        busy = sum(
            (w["done_at"] - w["started_at"]).total_seconds()
            for w in windows
            if w["done_at"] and w["started_at"]
        )
        segments = list(
            TranscriptSegment.objects.filter(meeting_id=meeting_id, source="whisper")
            .order_by("start_ms", "pk")
            .values_list("speaker_name", "text", "is_final")
        )
        return {
            "windows": windows,
            "latencies": latencies,
            "parts": parts,
            "busy_s": busy,
            "segments": segments,
        }
    finally:
        connection.close()


async def _play(product: Product, scenario: Path, *, speed: float) -> dict:
    from asgiref.sync import sync_to_async

    from rtms_emulator import Emulator, EmulatorConfig
    from streams.models import Stream
    from transcription.models import AudioWindow

    config = EmulatorConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        keepalive_interval=1.0,
        # No transcript scope: the "no transcript media" case, Whisper from the first word.
        media_types=("audio", "video", "deskshare", "chat"),
    )
    async with Emulator(config) as emu:
        run = await emu.play(scenario, webhook_url=product.webhook_url, speed=speed)
        record = await run.wait(600)

    def state():
        from django.db import connection

        try:
            stream = Stream.objects.filter(rtms_stream_id=record.rtms_stream_id).first()
            if stream is None or stream.is_open:
                return None, None
            pending = AudioWindow.objects.filter(
                recording__meeting_id=stream.meeting_id, status="pending"
            ).count()
            return stream.meeting_id, pending
        finally:
            connection.close()

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        meeting_id, pending = await sync_to_async(state, thread_sensitive=False)()
        if meeting_id is not None and pending == 0:
            return await sync_to_async(_collect, thread_sensitive=False)(meeting_id)
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{scenario.name}: transcription did not finish; see {product.log_path}")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_pipeline(
    engine_name: str, *, smoke: bool, checkpoint: Path | None = None, model: str = "tiny.en"
) -> list:
    from django.conf import settings
    from django.core.management import call_command

    from bench.common import Row, target_row
    from bench.whisper_targets import (
        AMI_TARGET,
        FLEURS_TARGET,
        LATENCY_P50_TARGET_S,
        ensure_checkpoint,
        wer,
    )

    bench = f"whisper-live[{engine_name}]"
    data_dir = Path(settings.DATA_DIR)
    call_command("migrate", run_syncdb=True, verbosity=0)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="whisper-scenarios-") as tmp:
        tmp_path = Path(tmp)
        checkpoint = checkpoint or ensure_checkpoint(data_dir)
        names = (
            ["jfk"]
            if smoke
            else [f"fleurs_en_{i:03d}" for i in range(5)] + ["jfk", "librispeech_2412-153948-0000"]
        )
        clips, references = clips_scenario(tmp_path, names)
        plays = [("clips", clips)]
        if not smoke:
            plays += [
                ("ami_excerpt", SCENARIOS / "ami_excerpt.json"),
                ("planning_meeting", planning_without_transcript(tmp_path)),
            ]
        # BENCH_WHISPER_SCENARIOS=clips (comma-separated labels) plays only those.
        only = [x for x in os.environ.get("BENCH_WHISPER_SCENARIOS", "").split(",") if x]
        plays = [(label, scenario) for label, scenario in plays if not only or label in only]
        product = Product(data_dir, engine=engine_name, checkpoint=checkpoint, model=model)
        product.start()
        latencies: list[float] = []
        try:
            for label, scenario in plays:
                started = time.perf_counter()
                result = asyncio.run(_play(product, scenario, speed=1.0))
                wall = time.perf_counter() - started
                latencies += result["latencies"]
                segments = result["segments"]
                failed = sum(1 for w in result["windows"] if w["status"] == "failed")
                extra = {
                    "engine": engine_name,
                    "windows": len(result["windows"]),
                    "failed": failed,
                    "wall_s": round(wall, 1),
                }
                if label == "clips":
                    said: dict[str, str] = {}
                    for speaker, text, _ in segments:
                        said[speaker] = (said.get(speaker, "") + " " + text).strip()
                    extra["clips"] = {n: said.get(n, "") for n in names}
                    extra["clip_segments"] = {
                        n: [text for speaker, text, _ in segments if speaker == n] for n in names
                    }
                    fleurs = [n for n in names if n.startswith("fleurs")]
                    if fleurs:
                        value = wer([references[n] for n in fleurs], [said.get(n, "") for n in fleurs]) * 100
                        rows.append(
                            target_row(
                                bench, "WER FLEURS (live)", value, "%", "<=", FLEURS_TARGET * 100, **extra
                            )
                        )
                    for n in names:
                        if not n.startswith("fleurs"):
                            rows.append(
                                Row(
                                    bench,
                                    f"WER {n} (live)",
                                    round(wer([references[n]], [said.get(n, "")]) * 100, 2),
                                    "%",
                                    extra={"engine": engine_name},
                                )
                            )
                elif label == "ami_excerpt":
                    reference = (SPEECH / "ami_meeting_excerpt" / "reference_turn_order.txt").read_text()
                    hypothesis = " ".join(text for _, text, _ in segments)
                    extra["hypothesis"] = hypothesis
                    value = wer([reference], [hypothesis]) * 100
                    rows.append(
                        target_row(
                            bench,
                            "WER AMI excerpt (live, 4 streams)",
                            value,
                            "%",
                            "<=",
                            AMI_TARGET * 100,
                            **extra,
                        )
                    )
                else:
                    turns = json.loads((SPEECH / "tts_meeting" / "meeting.json").read_text())["turns"]
                    reference = " ".join(t["text"] for t in sorted(turns, key=lambda t: t["start"]))
                    hypothesis = " ".join(text for _, text, _ in segments)
                    extra["hypothesis"] = hypothesis
                    rows.append(
                        Row(
                            bench,
                            "WER planning meeting (live, 2 voices)",
                            round(wer([reference], [hypothesis]) * 100, 2),
                            "%",
                            extra=extra,
                        )
                    )
                rows.append(
                    Row(
                        bench,
                        f"latency p50 / p90 ({label})",
                        f"{_percentile(result['latencies'], 0.5):.2f} / {_percentile(result['latencies'], 0.9):.2f}",
                        "s",
                        extra={"engine": engine_name, "n": len(result["latencies"])},
                    )
                )
                parts = result["parts"]
                rows.append(
                    Row(
                        bench,
                        f"latency p50 detect / wait / run ({label})",
                        " / ".join(f"{_percentile(parts[k], 0.5):.2f}" for k in ("detect", "wait", "run")),
                        "s",
                        extra={
                            "engine": engine_name,
                            "n": len(result["latencies"]),
                            "from_tentative": parts["reused"],
                        },
                    )
                )
                rows.append(
                    Row(
                        bench,
                        f"transcription busy / meeting time ({label})",
                        round(result["busy_s"] / max(wall, 1e-9), 3),
                        extra={"engine": engine_name},
                    )
                )
        finally:
            product.stop()
    p50 = _percentile(latencies, 0.5)
    rows.append(
        target_row(
            bench,
            "latency p50 (utterance end -> stored)",
            p50,
            "s",
            "<=",
            LATENCY_P50_TARGET_S,
            engine=engine_name,
            n=len(latencies),
        )
    )
    rows.append(
        Row(bench, "latency p90", round(_percentile(latencies, 0.9), 3), "s", extra={"engine": engine_name})
    )
    return rows

"""``python manage.py demo [--headless] [--mode embedded|scaled]``: the product on a real meeting.

1. creates the tables if needed (``migrate --run-syncdb``) and a demo user (login printed) whose
   ``ZoomIdentity`` is the emulator's ``operator_id``, so the demo meetings are theirs;
2. starts the product: Daphne on 127.0.0.1:8000 (``--port``) in a subprocess; in scaled mode
   (``REDIS_URL`` + ``DATABASE_URL`` in the environment) also one ``rtms_worker`` and one Celery
   worker (queues default + transcription); Zoom
   credentials and the webhook secret are demo values shared with the emulator;
3. the RTMS emulator (Zoom's side) plays ``planning_meeting.json`` through the signed webhook:
   ``meeting.rtms_started`` → our ingest connects → audio, transcript, chat and events flow;
4. waits for the meeting to end, prints the stored transcript and chat and checks them against
   what the emulator sent. ``--headless`` then exits (status 0 only if everything matches);
   otherwise the server keeps running for the browser until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from meetings.models import AudioRecording, ChatMessage, Meeting, TranscriptSegment, ZoomIdentity
from streams.models import Stream

ROOT = Path(settings.BASE_DIR)
SCENARIO = ROOT / "streams" / "emulator" / "scenarios" / "planning_meeting.json"
DEMO_ZOOM = {
    "ZOOM_CLIENT_ID": "demo-client-id",
    "ZOOM_CLIENT_SECRET": "demo-client-secret",
    "ZOOM_WEBHOOK_SECRET_TOKEN": "demo-webhook-secret",
}
EMULATOR_OPERATOR_ID = "emulator-operator"  # the operator_id the emulator's rtms_started carries
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"


class Command(BaseCommand):
    help = "Run the product against the RTMS emulator playing a real meeting, and check what was stored."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--headless", action="store_true", help="exit after the check (0 = match)")
        parser.add_argument("--mode", choices=("embedded", "scaled"), default="embedded")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--speed", type=float, default=1.0, help="emulator pacing (1 = real time)")

    def handle(self, *args, headless: bool, mode: str, port: int, speed: float, **options) -> None:
        if mode != settings.RUN_MODE:
            raise CommandError(
                f"--mode {mode} but the environment selects {settings.RUN_MODE} mode "
                "(scaled needs REDIS_URL and DATABASE_URL)"
            )
        # Migrated apps first (auth), then tables of apps without migrations (PostgreSQL checks
        # their foreign keys to auth at once); both are no-ops once everything exists.
        call_command("migrate", interactive=False, verbosity=0)
        call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
        self._demo_user()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")} | DEMO_ZOOM
        env.setdefault("DJANGO_SETTINGS_MODULE", "rtms_assistant.settings")
        procs: list[subprocess.Popen] = []
        try:
            procs.append(
                self._spawn(
                    env, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "rtms_assistant.asgi:application"
                )
            )
            self._wait_healthy(port, procs[0])
            if mode == "scaled":
                procs.append(self._spawn(env, "manage.py", "rtms_worker", "--worker-id", "demo-worker"))
                procs.append(
                    self._spawn(
                        env,
                        "-m",
                        "celery",
                        "-A",
                        "rtms_assistant",
                        "worker",
                        "-Q",
                        "default,transcription",
                        "-c",
                        "1",
                        "-n",
                        "demo@%h",
                        "--loglevel",
                        "WARNING",
                    )
                )
            self.stdout.write(f"Server: http://127.0.0.1:{port}/  (login {DEMO_USER} / {DEMO_PASSWORD})")
            ok = asyncio.run(self._play(port, speed))
            if headless:
                if not ok:
                    raise CommandError("stored data does not match what the emulator sent")
                return
            self.stdout.write("Browse the meeting; Ctrl-C to stop.")
            try:
                while all(p.poll() is None for p in procs):
                    time.sleep(0.5)
            except KeyboardInterrupt:
                self.stdout.write("stopping")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def _demo_user(self) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=DEMO_USER)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        ZoomIdentity.objects.update_or_create(zoom_user_id=EMULATOR_OPERATOR_ID, defaults={"user": user})

    def _spawn(self, env: dict, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env)  # noqa: S603 (our own argv)

    def _wait_healthy(self, port: int, proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CommandError(f"the server exited with status {proc.returncode} (port {port} in use?)")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise CommandError("the server did not become healthy within 30 s")

    async def _play(self, port: int, speed: float) -> bool:
        from asgiref.sync import sync_to_async

        from streams.emulator.server import Emulator, EmulatorConfig

        config = EmulatorConfig(
            client_id=DEMO_ZOOM["ZOOM_CLIENT_ID"],
            client_secret=DEMO_ZOOM["ZOOM_CLIENT_SECRET"],
            webhook_secret=DEMO_ZOOM["ZOOM_WEBHOOK_SECRET_TOKEN"],
        )
        async with Emulator(config) as emu:
            validation = await emu.validate_url(f"http://127.0.0.1:{port}/webhooks/zoom/")
            self.stdout.write(f"Webhook URL validation: {validation}")
            self.stdout.write(f"Playing {SCENARIO.name} at {speed:g}x ...")
            run = await emu.play(SCENARIO, webhook_url=f"http://127.0.0.1:{port}/webhooks/zoom/", speed=speed)
            record = await run.wait(timeout=600)
        self.stdout.write(f"Emulator verdict on our RTMS client: {record.verdict()}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stream = await sync_to_async(Stream.objects.filter(rtms_stream_id=record.rtms_stream_id).first)()
            if stream is not None and not stream.is_open:
                break
            await asyncio.sleep(0.2)
        else:
            self.stderr.write("The stream did not end within 60 s of the emulator's end")
            return False
        return await sync_to_async(self._report)(record, stream) and bool(record.verdict())

    def _report(self, record, stream: Stream) -> bool:
        meeting = Meeting.objects.get(pk=stream.meeting_id)
        segments = list(TranscriptSegment.objects.filter(meeting=meeting).order_by("start_ms", "pk"))
        chat = list(ChatMessage.objects.filter(meeting=meeting).order_by("offset_ms", "pk"))
        self.stdout.write(f"\n== {meeting} ({meeting.get_status_display()}), owner {meeting.owner}")
        self.stdout.write(f"   {meeting.get_absolute_url()}\n")
        for s in segments:
            self.stdout.write(f"[{s.start_ms / 1000:7.2f}s] {s.speaker_name}: {s.text}")
        for c in chat:
            self.stdout.write(f"[{c.offset_ms / 1000:7.2f}s] (chat) {c.sender_name}: {c.text}")
        checks = {
            "transcript": [(s.speaker_name, s.text) for s in segments if s.source == "zoom"]
            == [
                (c["user_name"], c["data"])
                for c in sorted(record.sent.transcript, key=lambda c: c["start_time"])
            ],
            "chat": [(c.sender_name, c.text) for c in chat]
            == [(c["user_name"], c["text"]) for c in record.sent.chat],
            "audio": {
                r.participant.zoom_user_id: r.frames_received
                for r in AudioRecording.objects.filter(meeting=meeting, kind="participant").select_related(
                    "participant"
                )
            }
            == {str(uid): len(ts) for uid, ts in record.sent.audio_frames.items() if uid},
            "stream stopped": stream.state == Stream.State.STOPPED
            and stream.stop_reason == record.stop_reason,
            "meeting ended": meeting.status == Meeting.Status.ENDED,
            "owned by the demo user": meeting.owner is not None and meeting.owner.username == DEMO_USER,
        }
        self.stdout.write("")
        for name, ok in checks.items():
            self.stdout.write(f"{'PASS' if ok else 'FAIL'}  {name}")
        return all(checks.values())

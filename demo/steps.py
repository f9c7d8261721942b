"""The demo: the whole product on real recordings, driven by the RTMS emulator as Zoom would drive it.

Used by ``python manage.py demo`` (``make demo``). What it does, in order:

1. :func:`database_prepare` creates the tables (``migrate``; plus ``--run-syncdb`` while an app
   has no migration files), and :func:`demo_user_prepare` the demo user (``demo`` /
   ``demo-password``), its API token and its ``ZoomIdentity`` = the emulator's ``operator_id``,
   so the demo meetings are theirs. Scaled mode first creates the PostgreSQL database if missing
   (:func:`postgres_database_ensure`).
2. :class:`Product` starts the server: embedded, one Daphne process (ingestion and tasks inside);
   scaled, ``honcho start`` on the ``Procfile`` (Daphne x2 on ``port`` and ``port + 1``,
   ``rtms_worker`` x2, a Celery worker for ``default`` and one for ``transcription``). Every
   process gets the demo Zoom credentials shared with the emulator; logs go to a file.
3. :func:`play` has the emulator (Zoom's side of RTMS) validate the webhook URL and play both
   scenarios at once through signed ``meeting.rtms_started`` webhooks: ``planning_meeting``
   (two voices, Zoom's transcript, chat, a late joiner, screen sharing) and ``ami_excerpt`` (a
   real 4-person AMI meeting with no Zoom transcript: the live Whisper fallback transcribes each
   participant's audio, windows -> ``transcription`` queue -> segments).
4. :func:`results_wait` waits until both streams are closed, every Whisper window is done and
   the final summary is done: the product makes it only once the transcript is complete (a
   meeting that ends with windows still queued has its summary wait for them).
5. :func:`exports_write` fetches the notes over the REST API with the demo user's token
   (``/api/meetings/<id>/export/?format=md|vtt``) and writes them to the export folder.
6. :func:`checks_run` compares what was stored and exported with what the emulator sent
   (:class:`Check` per line: PASS/FAIL and the details).

Times are seconds unless named ``*_ms``. Errors: :class:`DemoError` with a message for the
person running it (port in use, server exited, a wait timed out).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import Max

from meetings.models import (
    AudioRecording,
    ChatMessage,
    Meeting,
    ParticipantEvent,
    Summary,
    TranscriptSegment,
    ZoomIdentity,
)
from rtms_assistant.processes import daphne_args
from streams.models import Stream
from streams.rtms.protocol import PCM_BYTES_PER_MS as BYTES_PER_MS
from streams.rtms.protocol import WAV_HEADER_BYTES
from transcription.models import AudioWindow

logger = logging.getLogger(__name__)

ROOT = Path(settings.BASE_DIR)
SCENARIO_DIR = ROOT / "rtms_emulator" / "scenarios"
# name -> (scenario file, topic shown in the dashboard: Zoom's rtms_started carries no topic)
SCENARIOS: dict[str, tuple[Path, str]] = {
    "planning_meeting": (SCENARIO_DIR / "planning_meeting.json", "Weekly planning (demo, Zoom transcript)"),
    "ami_excerpt": (SCENARIO_DIR / "ami_excerpt.json", "AMI design meeting (demo, live Whisper)"),
}
AMI_SPEAKERS = {"FEE013", "FEE016", "MEE014", "MEO015"}
# A sanity bound for the live transcript of real overlapping speech, not the quality target:
# live AMI WER measured 24.6-36.2 % on 2 busy cores (windows are cut differently under load);
# the Whisper benchmark (bench/whisper.py) tracks the 22 % target.
AMI_WER_BOUND = 0.40
DEMO_ZOOM = {
    "ZOOM_CLIENT_ID": "demo-client-id",
    "ZOOM_CLIENT_SECRET": "demo-client-secret",
    "ZOOM_WEBHOOK_SECRET_TOKEN": "demo-webhook-secret",
}
EMULATOR_OPERATOR_ID = "emulator-operator"  # the operator_id of the emulator's rtms_started
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rtms_demo"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
MD_SECTIONS = ["Participants", "Summary", "Decisions", "Action items", "Transcript"]
MEETING_APPEAR_SECONDS = 30.0  # from the rtms_started webhook to the meeting row (normally < 1 s)


class DemoError(Exception):
    """Something the person running the demo must fix or know (message printed as is)."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass
class MeetingResult:
    """One played scenario: the emulator's record and what the product stored for it."""

    scenario: str
    record: object  # rtms_emulator.StreamRecord
    meeting_id: int | None = None
    stream_id: int | None = None
    exports: dict[str, Path] = field(default_factory=dict)  # format -> file


# --- preparing ------------------------------------------------------------------------------------


def scaled_environment(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` with the scaled-mode defaults filled in (PostgreSQL, Redis, a fresh secret key)."""
    env = dict(environ)
    env["DATABASE_URL"] = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    env["REDIS_URL"] = env.get("REDIS_URL") or DEFAULT_REDIS_URL
    env["DJANGO_SECRET_KEY"] = env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
    return env


def postgres_database_ensure() -> bool:
    """Create the ``default`` PostgreSQL database if it does not exist; True if it was created.

    Connects to the server's ``postgres`` maintenance database with the same credentials. A
    SQLite database needs nothing (the file is created on first use).
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return False
    import psycopg
    from psycopg import sql

    params = {
        "dbname": "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "connect_timeout": 10,
    }
    try:
        with psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
            if exists:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
            return True
    except psycopg.OperationalError as exc:
        raise DemoError(f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} is not reachable: {exc}") from exc


def database_prepare() -> None:
    """``migrate --fake-initial``; then ``--run-syncdb`` only while one of our apps has no migration files."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    # --fake-initial adopts a database whose tables were made by --run-syncdb before the apps had
    # migration files (an earlier demo run); on a new database it changes nothing.
    call_command("migrate", interactive=False, fake_initial=True, verbosity=0)
    unmigrated = MigrationLoader(connection, ignore_no_migrations=True).unmigrated_apps
    if unmigrated & {"meetings", "streams"}:
        call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)


def demo_user_prepare() -> str:
    """The demo user (created once, password set; staff and superuser, so the same login opens
    the admin), linked to the emulator's Zoom operator id.

    Returns the user's REST API token key (created once).
    """
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, created = get_user_model().objects.get_or_create(username=DEMO_USER)
    if created or not user.has_usable_password():
        user.set_password(DEMO_PASSWORD)
    # The demo login also opens the admin (/admin/): sharing, webhooks, raw stream state.
    user.is_staff = user.is_superuser = True
    user.save()
    ZoomIdentity.objects.filter(user=user).exclude(zoom_user_id=EMULATOR_OPERATOR_ID).delete()
    ZoomIdentity.objects.update_or_create(zoom_user_id=EMULATOR_OPERATOR_ID, defaults={"user": user})
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


# --- the product ------------------------------------------------------------------------------------


class Product:
    """The server processes, started from this checkout's Python (``sys.executable``).

    ``mode`` embedded: ``python -m daphne`` on ``port``. Scaled: ``honcho start`` with the
    Procfile: web x2 (``port``, ``port + 1``), ingest x2, worker, transcription. Output goes to
    ``log_path``.
    """

    def __init__(
        self, *, mode: str, port: int, log_path: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.mode = mode
        self.port = port
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")} | DEMO_ZOOM
        env.setdefault("DJANGO_SETTINGS_MODULE", "rtms_assistant.settings")
        env.setdefault("RTMS_AUDIO_FLUSH_SECONDS", "0.5")  # Whisper text sooner than the 1 s default
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONUNBUFFERED"] = "1"
        self.env = env | (extra_env or {})
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/zoom/"

    def command(self) -> list[str]:
        if self.mode == "embedded":
            return [sys.executable, *daphne_args(self.port)]
        honcho = shutil.which("honcho", path=self.env["PATH"])
        if honcho is None:
            raise DemoError("scaled mode needs honcho (pip install -r requirements-dev.txt)")
        return [
            honcho,
            "start",
            "--no-colour",
            "-f",
            str(ROOT / "Procfile"),
            "-d",
            str(ROOT),
            "-p",
            str(self.port),
            "-c",
            "web=2,ingest=2,worker=1,transcription=1",
        ]

    def start(self, timeout: float = 60.0) -> None:
        for port in self.ports():
            if _port_busy(port):
                raise DemoError(f"port {port} is in use: stop what runs there or pass --port")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        argv = self.command()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 (our own argv)
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        pending = set(self.ports())
        while pending and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DemoError(f"the server exited with status {self.proc.returncode}; see {self.log_path}")
            for port in list(pending):
                if _healthy(port):
                    pending.discard(port)
            if pending:
                time.sleep(0.3)
        if pending:
            raise DemoError(f"the server did not become healthy within {timeout:g} s; see {self.log_path}")

    def ports(self) -> list[int]:
        return [self.port] if self.mode == "embedded" else [self.port, self.port + 1]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the whole process group (honcho and its children, or Daphne), then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        import signal

        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def _port_busy(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# --- playing ----------------------------------------------------------------------------------------


async def play(
    *,
    webhook_url: str,
    speed: float,
    say: Callable[[str], None],
    timeout: float = 900.0,
) -> dict[str, MeetingResult]:
    """Validate the webhook URL, play every scenario of :data:`SCENARIOS` at once, wait for the ends.

    ``speed``: 1 = real time. Prints progress every 10 s through ``say``. Raises
    :class:`DemoError` when the URL validation fails.
    """
    from asgiref.sync import sync_to_async

    from rtms_emulator import Emulator, EmulatorConfig

    config = EmulatorConfig(
        client_id=DEMO_ZOOM["ZOOM_CLIENT_ID"],
        client_secret=DEMO_ZOOM["ZOOM_CLIENT_SECRET"],
        webhook_secret=DEMO_ZOOM["ZOOM_WEBHOOK_SECRET_TOKEN"],
    )
    async with Emulator(config) as emu:
        validation = await emu.validate_url(webhook_url)
        if not validation.ok:
            raise DemoError(f"Zoom's URL validation of {webhook_url} failed: {validation.detail}")
        say(f"Zoom URL validation of {webhook_url}: OK")
        runs, namings = {}, {}
        for name, (path, topic) in SCENARIOS.items():
            runs[name] = await emu.play(path, webhook_url=webhook_url, speed=speed)
            # The webhook is acknowledged before the meeting exists (ingestion applies it a moment
            # later): name it once it does, without holding up the other scenario.
            namings[name] = asyncio.ensure_future(
                sync_to_async(_meeting_name_off_thread, thread_sensitive=False)(
                    runs[name].meeting_uuid, topic
                )
            )
            say(f"  meeting.rtms_started sent: {name} (rtms_stream_id {runs[name].rtms_stream_id})")
        for name, named in namings.items():
            if not await named:
                say(f"  {name}: the meeting did not appear within {MEETING_APPEAR_SECONDS:g} s to be named")
        waits = {name: asyncio.ensure_future(run.wait(timeout=timeout)) for name, run in runs.items()}
        started = time.monotonic()
        while not all(w.done() for w in waits.values()):
            await asyncio.wait(list(waits.values()), timeout=10)
            if not all(w.done() for w in waits.values()):
                progress = await sync_to_async(_progress)([r.meeting_uuid for r in runs.values()])
                say(f"  [{time.monotonic() - started:5.0f} s] {progress}")
        records = {name: w.result() for name, w in waits.items()}
    return {name: MeetingResult(scenario=name, record=record) for name, record in records.items()}


def _meeting_name(
    meeting_uuid: str, topic: str, *, timeout: float = MEETING_APPEAR_SECONDS, poll: float = 0.1
) -> bool:
    """Give the demo meeting a topic (Zoom's webhook has none; a real app could ask Zoom's REST API).

    The webhook is answered before ingestion creates the meeting, so this waits (polling every
    ``poll`` s, up to ``timeout`` s) for the meeting to exist, then sets the topic if it has none.
    Returns True once the meeting has a topic; False if it never appeared (the "keeps its topic"
    check then fails).
    """
    deadline = time.monotonic() + timeout
    while True:
        Meeting.objects.filter(zoom_uuid=meeting_uuid, topic="").update(topic=topic)
        if Meeting.objects.filter(zoom_uuid=meeting_uuid).exclude(topic="").exists():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def _meeting_name_off_thread(meeting_uuid: str, topic: str) -> bool:
    """:func:`_meeting_name` in a worker thread of its own, closing that thread's connection after."""
    from django.db import connection

    try:
        return _meeting_name(meeting_uuid, topic)
    finally:
        connection.close()


def _progress(meeting_uuids: list[str]) -> str:
    parts = []
    for meeting in Meeting.objects.filter(zoom_uuid__in=meeting_uuids):
        zoom = TranscriptSegment.objects.filter(meeting=meeting, source="zoom").count()
        whisper = TranscriptSegment.objects.filter(meeting=meeting, source="whisper").count()
        chat = ChatMessage.objects.filter(meeting=meeting).count()
        parts.append(
            f"{meeting.topic or meeting.zoom_uuid}: {zoom} Zoom + {whisper} Whisper segments, {chat} chat"
        )
    return "; ".join(parts) or "waiting for the meetings"


# --- waiting for the results ---------------------------------------------------------------------


class Api:
    """The REST API as the demo user (token auth), stdlib HTTP."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token

    def request(self, method: str, path: str, *, params: dict | None = None) -> tuple[int, bytes]:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        req = urllib.request.Request(  # noqa: S310 (our own http://127.0.0.1 URL)
            url, method=method, headers={"Authorization": f"Token {self.token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def _state(result: MeetingResult) -> dict:
    """Where the stored meeting is: stream closed?, Whisper windows pending, final summary status."""
    from django.db import close_old_connections

    close_old_connections()
    stream = Stream.objects.filter(rtms_stream_id=result.record.rtms_stream_id).first()
    if stream is None:
        return {"stream": None}
    result.stream_id, result.meeting_id = stream.pk, stream.meeting_id
    meeting = Meeting.objects.get(pk=stream.meeting_id)
    summary = Summary.objects.filter(meeting=meeting, kind=Summary.Kind.FINAL).order_by("-pk").first()
    return {
        "stream": stream,
        "meeting": meeting,
        "windows_pending": AudioWindow.objects.filter(
            recording__meeting=meeting, status=AudioWindow.Status.PENDING
        ).count(),
        "summary": summary,
    }


async def results_wait(
    results: dict[str, MeetingResult], api: Api, *, say: Callable[[str], None], timeout: float = 300.0
) -> None:
    """Wait for closed streams, drained Whisper windows and the final summary being done.

    The product makes the final summary once the transcript is complete: a meeting that ends
    with Whisper windows still queued has its summary wait for them (``meetings.services.summaries``),
    which the page and the API show (``transcription_pending_seconds``, read here once per
    meeting). Nothing is asked for again here: :func:`checks_run` verifies there is exactly one
    final summary and that it started after the newest segment was stored.
    Raises :class:`DemoError` after ``timeout``.
    """
    from asgiref.sync import sync_to_async

    deadline = time.monotonic() + timeout
    reported: set[tuple[str, str]] = set()
    while True:
        done = True
        for name, result in results.items():
            state = await sync_to_async(_state, thread_sensitive=False)(result)
            stream, summary = state["stream"], state.get("summary")
            if stream is None or stream.is_open:
                done = False
                continue
            if ("ended", name) not in reported:
                reported.add(("ended", name))
                say(f"  {name}: stream {stream.state} (stop reason {stream.stop_reason}); meeting ended")
            waiting = summary is not None and summary.status == Summary.Status.PENDING
            if state["windows_pending"] and waiting and ("waiting", name) not in reported:
                reported.add(("waiting", name))
                status, body = await asyncio.to_thread(
                    api.request, "GET", f"/api/meetings/{state['meeting'].public_id}/"
                )
                left = (
                    json.loads(body).get("transcription_pending_seconds")
                    if status == 200
                    else f"HTTP {status}"
                )
                say(f"  {name}: the summary waits for the transcript ({left} s of audio left)")
            if (
                state["windows_pending"]
                or summary is None
                or summary.status
                in (
                    Summary.Status.PENDING,
                    Summary.Status.RUNNING,
                )
            ):
                done = False
                continue
            if ("summary", name) not in reported:
                reported.add(("summary", name))
                say(f"  {name}: summary {summary.status}")
        if done:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"the meetings were not finished and summarized within {timeout:g} s")
        await asyncio.sleep(0.5)


# --- exports -----------------------------------------------------------------------------------------


def exports_write(results: dict[str, MeetingResult], api: Api, export_dir: Path) -> None:
    """Fetch Markdown and WebVTT notes of each meeting over the REST API into ``export_dir``.

    Files: ``<scenario>.md`` and ``<scenario>.vtt``. Raises :class:`DemoError` on a non-200.
    """
    export_dir.mkdir(parents=True, exist_ok=True)
    for name, result in results.items():
        public_id = Meeting.objects.values_list("public_id", flat=True).get(pk=result.meeting_id)
        for fmt in ("md", "vtt"):
            status, body = api.request("GET", f"/api/meetings/{public_id}/export/", params={"format": fmt})
            if status != 200:
                raise DemoError(f"export {fmt} of {name}: HTTP {status}: {body[:200]!r}")
            path = export_dir / f"{name}.{fmt}"
            path.write_bytes(body)
            result.exports[fmt] = path


# --- checks -----------------------------------------------------------------------------------------


def _normalizer():
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (jiwer) on text normalized by Whisper's ``EnglishTextNormalizer``."""
    import jiwer

    normalize = _normalizer()
    return jiwer.wer(normalize(reference), normalize(hypothesis))


def ami_reference() -> str:
    from rtms_emulator import shared_data_dir

    return (shared_data_dir() / "speech" / "ami_meeting_excerpt" / "reference_turn_order.txt").read_text()


def checks_run(results: dict[str, MeetingResult]) -> list[Check]:
    """Every check of the demo, in order (see docs/demo.md)."""
    out: list[Check] = []
    for name, result in results.items():
        meeting = Meeting.objects.get(pk=result.meeting_id)
        stream = Stream.objects.get(pk=result.stream_id)
        record = result.record
        out.append(
            Check(
                f"{name}: emulator verdict on our RTMS client", bool(record.verdict()), str(record.verdict())
            )
        )
        out.append(
            Check(
                f"{name}: stream stopped with Zoom's stop reason, meeting ended",
                stream.state == Stream.State.STOPPED
                and stream.stop_reason is not None
                and stream.stop_reason == record.stop_reason
                and meeting.status == Meeting.Status.ENDED,
                f"stream {stream.state}, stop reason {stream.stop_reason} (sent {record.stop_reason}), "
                f"meeting {meeting.status}",
            )
        )
        topic = SCENARIOS[name][1]
        out.append(Check(f"{name}: keeps its demo topic", meeting.topic == topic, f"topic {meeting.topic!r}"))
        out.append(
            Check(
                f"{name}: owned by the demo user",
                meeting.owner is not None and meeting.owner.username == DEMO_USER,
                f"owner {meeting.owner}",
            )
        )
        out.append(_check_audio(meeting, stream, record, name))
        out.append(_check_events(meeting, record, name))
        if record.sent.transcript:
            out += _checks_zoom_transcript(meeting, record, name)
        else:
            out += _checks_whisper(meeting, name)
        out.append(_check_chat(meeting, record, name))
        out += _checks_summary(meeting, name, need_action_items=bool(record.sent.transcript))
        out.append(_check_summary_after_transcript(meeting, name))
        out += _checks_exports(meeting, result, name)
    return out


def _check_audio(meeting: Meeting, stream: Stream, record, name: str) -> Check:
    """Per participant: frames stored once each, byte count equal to what was sent, each frame in place."""
    media_root = Path(settings.MEDIA_ROOT)
    recordings = {
        r.participant.zoom_user_id: r
        for r in AudioRecording.objects.filter(meeting=meeting, kind="participant").select_related(
            "participant"
        )
    }
    problems, totals = [], []
    sent_users = {uid for uid, data in record.sent.audio.items() if uid and data}
    if set(recordings) != {str(uid) for uid in sent_users}:
        problems.append(f"tracks {sorted(recordings)} != sent {sorted(map(str, sent_users))}")
    for uid in sorted(sent_users):
        sent = record.sent.audio_bytes(uid)
        timestamps = record.sent.audio_frames[uid]
        rec = recordings.get(str(uid))
        if rec is None:
            continue
        frame_len = len(sent) // len(timestamps)
        stored_bytes = rec.frames_received * frame_len
        totals.append(f"{record.sent.user_names.get(uid, uid)} {stored_bytes}/{len(sent)} B")
        if rec.frames_received != len(timestamps) or stored_bytes != len(sent):
            problems.append(f"user {uid}: {rec.frames_received} frames stored, {len(timestamps)} sent")
            continue
        wav = (media_root / rec.path).read_bytes()[WAV_HEADER_BYTES:]
        origin = stream.started_event_ts + rec.start_ms
        misplaced = sum(
            1
            for i, ts in enumerate(timestamps)
            if wav[(ts - origin) * BYTES_PER_MS : (ts - origin) * BYTES_PER_MS + frame_len]
            != sent[i * frame_len : (i + 1) * frame_len]
        )
        if misplaced:
            problems.append(f"user {uid}: {misplaced} frame(s) not at their timestamp in {rec.path}")
    return Check(
        f"{name}: per-participant audio equals what the emulator sent (bytes, frames in place)",
        not problems,
        "; ".join(problems) or ", ".join(totals),
    )


def _check_events(meeting: Meeting, record, name: str) -> Check:
    expected = set()
    for event in record.sent.events:
        kind = {3: "join", 4: "leave"}.get(event.get("event_type"))
        if kind:
            expected |= {(kind, str(p["user_id"])) for p in event.get("participants", [])}
    stored = set(
        ParticipantEvent.objects.filter(meeting=meeting, kind__in=["join", "leave"]).values_list(
            "kind", "participant__zoom_user_id"
        )
    )
    missing = expected - stored
    return Check(
        f"{name}: join/leave events stored",
        bool(expected) and not missing,
        f"missing {sorted(missing)}" if missing else f"{len(expected)} join/leave events",
    )


def _checks_zoom_transcript(meeting: Meeting, record, name: str) -> list[Check]:
    stored = list(
        TranscriptSegment.objects.filter(meeting=meeting, source="zoom")
        .order_by("start_ms", "pk")
        .values_list("speaker_name", "text")
    )
    sent = [
        (c["user_name"], c["data"]) for c in sorted(record.sent.transcript, key=lambda c: c["start_time"])
    ]
    wrong = [
        f"#{i}: stored {s!r}, sent {e!r}"
        for i, (s, e) in enumerate(zip(stored, sent, strict=False))
        if s != e
    ]
    whisper = TranscriptSegment.objects.filter(meeting=meeting, source="whisper").count()
    return [
        Check(
            f"{name}: every Zoom transcript utterance stored, exact text, right speaker",
            stored == sent,
            f"{len(stored)}/{len(sent)} utterances" + (f"; {wrong[0]}" if wrong else ""),
        ),
        Check(
            f"{name}: no Whisper fallback beside Zoom's transcript",
            whisper == 0,
            f"{whisper} Whisper segment(s)",
        ),
    ]


def _checks_whisper(meeting: Meeting, name: str) -> list[Check]:
    segments = list(
        TranscriptSegment.objects.filter(meeting=meeting, is_final=True)
        .order_by("start_ms", "pk")
        .values_list("source", "speaker_name", "text")
    )
    speakers = {speaker for source, speaker, _ in segments if source == "whisper"}
    sources = {source for source, _, _ in segments}
    hypothesis = " ".join(text for source, _, text in segments if source == "whisper")
    value = wer(ami_reference(), hypothesis)
    windows = AudioWindow.objects.filter(recording__meeting=meeting)
    failed = windows.filter(status=AudioWindow.Status.FAILED).count()
    return [
        Check(
            f"{name}: live Whisper segments for all four participants",
            sources == {"whisper"} and speakers >= AMI_SPEAKERS,
            f"{len(segments)} segments from {windows.filter(is_final=True).count()} final windows "
            f"({failed} failed), speakers {sorted(speakers)}, sources {sorted(sources)}",
        ),
        Check(
            f"{name}: WER vs the AMI reference <= {AMI_WER_BOUND:.0%}",
            value <= AMI_WER_BOUND,
            f"WER {value:.1%} ({len(hypothesis.split())} words heard)",
        ),
    ]


def _check_chat(meeting: Meeting, record, name: str) -> Check:
    stored = list(
        ChatMessage.objects.filter(meeting=meeting)
        .order_by("offset_ms", "pk")
        .values_list("sender_name", "text")
    )
    sent = [(c["user_name"], c["text"]) for c in record.sent.chat]
    return Check(f"{name}: chat messages exact", stored == sent, f"{len(stored)}/{len(sent)} messages")


PLANNING_ACTIONS = {
    ("Fix that before the release on Thursday.", "Bob", "on Thursday"),
    ("Write the patch today.", "Bob", "today"),
    ("Ask Maria to review it tomorrow morning.", "Maria", "tomorrow"),
    ("Send me the updated estimate by Wednesday.", "Bob", "by Wednesday"),
}


def _checks_summary(meeting: Meeting, name: str, *, need_action_items: bool) -> list[Check]:
    from meetings.summarizer.text import is_grounded

    summary = (
        Summary.objects.filter(meeting=meeting, kind=Summary.Kind.FINAL, status=Summary.Status.READY)
        .order_by("-transcript_revision")
        .first()
    )
    if summary is None:
        statuses = list(Summary.objects.filter(meeting=meeting).values_list("status", flat=True))
        return [Check(f"{name}: a ready summary", False, f"summaries: {statuses}")]
    texts = dict(TranscriptSegment.objects.filter(meeting=meeting).values_list("pk", "text"))
    items = [(item["text"], item.get("segment_ids", [])) for item in summary.key_points + summary.decisions]
    actions = list(summary.action_items.all())
    items += [(a.text, [a.source_segment_id] if a.source_segment_id else []) for a in actions]
    grounded = [
        text for text, ids in items if ids and is_grounded(text, " ".join(texts.get(i, "") for i in ids))
    ]
    out = [
        Check(
            f"{name}: a ready summary with grounded items",
            bool(summary.overview) and len(grounded) >= 1,
            f"{len(grounded)}/{len(items)} items grounded in their source segment; "
            f"{len(summary.key_points)} key points, {len(summary.decisions)} decisions, {len(actions)} action items",
        )
    ]
    found = "; ".join(f"{a.text} ({a.owner_name or 'no owner'}, {a.due_text or 'no date'})" for a in actions)
    if need_action_items:  # the planning meeting: its four tasks, each with its owner and due date
        got = {(a.text, a.owner_name, a.due_text) for a in actions}
        out.append(
            Check(
                f"{name}: its four action items, owners and dates", got == PLANNING_ACTIONS, found or "none"
            )
        )
    else:  # the AMI minute is brainstorming: a task listed there would be junk
        out.append(Check(f"{name}: no junk action items", not actions, found or "none"))
    return out


def _check_summary_after_transcript(meeting: Meeting, name: str) -> Check:
    """Exactly one final summary, and it read the complete transcript: no window is pending, and
    the summary was started (claimed by the worker, which then reads the transcript) and completed
    only after the newest final segment was stored; its revision covers that segment's seq. The
    AMI meeting ends with Whisper windows still queued, so this is where a summary made at the
    end, or a second one after the last windows, would show."""
    finals = list(Summary.objects.filter(meeting=meeting, kind=Summary.Kind.FINAL).order_by("pk"))
    newest = TranscriptSegment.objects.filter(meeting=meeting, is_final=True).aggregate(
        at=Max("updated_at"), seq=Max("seq")
    )
    windows = AudioWindow.objects.filter(recording__meeting=meeting)
    pending = windows.filter(status=AudioWindow.Status.PENDING).count()
    after_end = windows.filter(done_at__gt=meeting.ended_at).count() if meeting.ended_at else 0
    check = f"{name}: one final summary, made after the last transcript segment was stored"
    if len(finals) != 1 or newest["at"] is None:
        statuses = [f"{s.status}@{s.transcript_revision}" for s in finals]
        return Check(check, False, f"final summaries {statuses}, newest segment {newest['at']}")
    summary = finals[0]
    started, completed = summary.started_at, summary.completed_at
    ok = (
        summary.status == Summary.Status.READY
        and not pending
        and started is not None
        and completed is not None
        and started >= newest["at"]
        and completed >= newest["at"]
        and summary.transcript_revision >= newest["seq"]
    )
    detail = (
        f"1 final summary ({summary.status}), started {_seconds_after(started, newest['at'])} and "
        f"completed {_seconds_after(completed, newest['at'])} after the newest segment was stored; "
        f"revision {summary.transcript_revision} >= segment seq {newest['seq']}; {pending} windows pending, "
        f"{after_end} Whisper windows finished after the meeting ended"
    )
    return Check(check, ok, detail)


def _seconds_after(moment, reference) -> str:
    return "never" if moment is None else f"{(moment - reference).total_seconds():+.2f} s"


def _checks_exports(meeting: Meeting, result: MeetingResult, name: str) -> list[Check]:
    import webvtt
    from markdown_it import MarkdownIt

    speakers = set(
        TranscriptSegment.objects.filter(meeting=meeting, is_final=True).values_list(
            "speaker_name", flat=True
        )
    )
    out = []
    vtt_path = result.exports.get("vtt")
    try:
        captions = list(webvtt.read(str(vtt_path))) if vtt_path else []
        voices = {c.voice for c in captions if c.voice}
        out.append(
            Check(
                f"{name}: WebVTT export parses, cues carry the speakers",
                bool(captions) and voices == speakers and all(c.voice for c in captions),
                f"{len(captions)} cues, voices {sorted(voices)} ({vtt_path})",
            )
        )
    except webvtt.errors.MalformedFileError as exc:
        out.append(Check(f"{name}: WebVTT export parses", False, str(exc)))
    md_path = result.exports.get("md")
    text = md_path.read_text() if md_path else ""
    tokens = MarkdownIt().parse(text)
    headings = [
        tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"
    ]
    titled = any(t.type == "heading_open" and t.tag == "h1" for t in tokens)
    missing_speakers = [s for s in speakers if s and f"{s}:**" not in text]
    out.append(
        Check(
            f"{name}: Markdown notes have the expected sections and speakers",
            titled and headings == MD_SECTIONS and not missing_speakers and "*No summary yet.*" not in text,
            f"sections {headings}" + (f"; missing speakers {missing_speakers}" if missing_speakers else ""),
        )
    )
    return out


# --- what a person reads --------------------------------------------------------------------------


def meeting_report(result: MeetingResult, base_url: str) -> list[str]:
    """A few lines per meeting: page URL, summary overview, action items, export files."""
    meeting = Meeting.objects.get(pk=result.meeting_id)
    summary = (
        Summary.objects.filter(meeting=meeting, kind=Summary.Kind.FINAL)
        .order_by("-transcript_revision")
        .first()
    )
    lines = [f"== {meeting.topic or meeting.zoom_uuid}", f"   {base_url}{meeting.get_absolute_url()}"]
    if summary is not None and summary.status == Summary.Status.READY:
        lines.append(f"   Summary: {summary.overview}")
        lines += [
            f"   - [ ] {a.text}" + (f" ({a.owner_name})" if a.owner_name else "")
            for a in summary.action_items.all()
        ]
    elif summary is not None:
        lines.append(f"   Summary: {summary.status} {summary.note}")
    lines += [f"   {fmt}: {path}" for fmt, path in result.exports.items()]
    return lines

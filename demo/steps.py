"""The demo: the whole product on real recordings, driven by the RTMS emulator as Zoom would drive it.

Used by ``python manage.py demo`` (``make demo``). What it does, in order:

1. :func:`database_prepare` creates the tables (``migrate``; plus ``--run-syncdb`` while an app
   has no migration files), and :func:`demo_user_prepare` the demo user (``demo`` /
   ``demo-password``), its API token and its ``ZoomIdentity`` = the emulator's ``operator_id``,
   so the demo meetings are theirs. Scaled mode first creates the PostgreSQL database if missing
   (:func:`postgres_database_ensure`).
2. :class:`demo.product.Product` starts the server: embedded, one Daphne process (ingestion and tasks inside);
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
6. :func:`demo.checks.checks_run` compares what was stored and exported with what the emulator
   sent (:class:`demo.checks.Check` per line: PASS/FAIL and the details).

Times are seconds unless named ``*_ms``. Errors: :class:`DemoError` with a message for the
person running it (port in use, server exited, a wait timed out).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from meetings.models import (
    ChatMessage,
    Meeting,
    Summary,
    TranscriptSegment,
    ZoomIdentity,
)
from streams.models import Stream
from transcription.models import AudioWindow

logger = logging.getLogger(__name__)

ROOT = Path(settings.BASE_DIR)
SCENARIO_DIR = ROOT / "rtms_emulator" / "scenarios"
# name -> (scenario file, topic shown in the dashboard: Zoom's rtms_started carries no topic)
SCENARIOS: dict[str, tuple[Path, str]] = {
    "planning_meeting": (SCENARIO_DIR / "planning_meeting.json", "Weekly planning (demo, Zoom transcript)"),
    "ami_excerpt": (SCENARIO_DIR / "ami_excerpt.json", "AMI design meeting (demo, live Whisper)"),
}
DEMO_ZOOM = {
    "ZOOM_CLIENT_ID": "demo-client-id",
    "ZOOM_CLIENT_SECRET": "demo-client-secret",
    "ZOOM_WEBHOOK_SECRET_TOKEN": "demo-webhook-secret",
}
EMULATOR_OPERATOR_ID = "emulator-operator"  # the operator_id of the emulator's rtms_started
DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rtms_demo"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
MEETING_APPEAR_SECONDS = 30.0  # from the rtms_started webhook to the meeting row (normally < 1 s)


class DemoError(Exception):
    """Something the person running the demo must fix or know (message printed as is)."""


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

"""Fault injection in scaled mode: Daphne + ``rtms_worker`` processes on PostgreSQL + Redis.

Issue 9's fault suite (``pytest -m faults``): each fault is injected during a real meeting played
by the emulator through the signed webhook, and each test asserts 0 segments/chat/events lost, 0
duplicated, every audio frame at its place once (or, where the design must drop audio, counted),
the gaps recorded with their reasons, and the stream ending ``stopped`` with Zoom's stop reason
and the meeting ended.

* Emulator faults (media abort, media close frame, signaling abort and close frame, failover
  ``rtms_started``, duplicate webhooks, keep-alive storm) against a worker process:
  ``tests/faults/test_ingest_faults_emulator.py``.
* Worker SIGKILL (takeover) and SIGTERM (handover): ``tests/e2e/test_ingest_e2e.py``.
* Redis restart: a **private** ``redis-server`` (never the machine's shared one) used by Daphne
  and the worker is stopped for 3 s mid-meeting, then started again on the same port.
* PostgreSQL restart: a **private** cluster (``initdb`` into a temporary directory, run as the
  ``postgres`` user, trust auth, ephemeral port) holds the product's database; it is stopped
  (``pg_ctl stop -m fast``: every connection is cut) for 3 s mid-meeting, then started again.
  Once with a lease longer than the outage (the stream survives on its worker) and once with a
  lease shorter than it (the holder must close; the stream is taken over with a fresh handshake).

Needs the machine's PostgreSQL and Redis (DATABASE_URL / REDIS_URL, the second test pass) for
the test database and the emulator-fault tests; the restart tests also need ``redis-server`` and
PostgreSQL's server binaries (``initdb``, ``pg_ctl``), and root (to run them as ``postgres``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from streams.models import Stream
from tests.streams.ingest_harness import (
    EXTRA_DATABASES,
    PLANNING,
    ROOT,
    Product,
    assert_stored_equals_sent,
    emulator,
    free_port,
    gaps,
    holder,
    stored,
    wait_ended,
)

pytestmark = [pytest.mark.slow, pytest.mark.scaled, pytest.mark.faults, pytest.mark.timeout(180)]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
OUTAGE_SECONDS = 3.0
RESTART_SPEED = 3.0  # the planning meeting (68.6 s) lasts ~23 s: long enough for an outage


def needs_scaled_pass() -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql" or not settings.REDIS_URL:
        pytest.skip("scaled mode needs DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)")


# --- private Redis and PostgreSQL servers ---------------------------------------------------------------


def _wait_port(port: int, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port}")


class PrivateRedis:
    """``redis-server`` on an ephemeral port, no persistence; restartable on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, timeout=10, what="redis-server")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class PrivatePostgres:
    """A throw-away PostgreSQL 15 cluster: initdb as ``postgres``, trust auth, ephemeral port,
    unix socket in the cluster's temporary directory; restartable (``stop`` / ``start``)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rtms-faults-pg-"))
        shutil.chown(self.root, user="postgres", group="postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.dbname = "rtms_faults"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.dbname}"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        self._as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.dbname
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def ensure_running(self) -> None:
        status = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            timeout=30,
        )
        if status.returncode != 0:
            self.start()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_redis(tmp_path):
    needs_scaled_pass()
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


PG_ALIAS = "faults_pg"


@pytest.fixture(scope="module")
def private_postgres_cluster():
    """A private cluster with the product's tables (module-wide: initdb + tables take ~8 s)."""
    needs_scaled_pass()
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip(f"needs root, runuser and PostgreSQL server binaries in {PG_BIN}")
    server = PrivatePostgres()
    try:
        server.init()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RTMS_", "ZOOM_"))} | {
            "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings",
            "DJANGO_SECRET_KEY": "faults-secret-key",
            "DJANGO_DATA_DIR": str(server.root),
            "DATABASE_URL": server.url,
        }
        env.pop("REDIS_URL", None)
        # auth first: an app without migration files is created by --run-syncdb before any
        # migration runs, and our tables' foreign keys need auth_user.
        for args in (["auth"], ["--run-syncdb"]):
            migrate = subprocess.run(
                [sys.executable, "manage.py", "migrate", *args, "-v", "0"],
                cwd=ROOT,
                env=env,
                timeout=120,
                capture_output=True,
                text=True,
            )
            assert migrate.returncode == 0, migrate.stderr[-3000:]
        alias_settings = dict(connections["default"].settings_dict)
        alias_settings.update(
            NAME=server.dbname, USER="postgres", PASSWORD="", HOST="127.0.0.1", PORT=str(server.port)
        )
        alias_settings["CONN_MAX_AGE"] = 0
        # No pool: pools are kept per alias for the process, and this server restarts.
        alias_settings["OPTIONS"] = {k: v for k, v in alias_settings["OPTIONS"].items() if k != "pool"}
        server.alias_settings = alias_settings
        yield server
    finally:
        server.destroy()


@pytest.fixture
def private_postgres(private_postgres_cluster, transactional_db):
    """The private cluster, readable from the test as ``PG_ALIAS`` (and running again)."""
    private_postgres_cluster.ensure_running()  # a failed test may have left it stopped
    EXTRA_DATABASES[PG_ALIAS] = private_postgres_cluster.alias_settings
    yield private_postgres_cluster
    EXTRA_DATABASES.pop(PG_ALIAS, None)


async def _restart(stop, start, seconds: float) -> tuple[float, float]:
    """Stop a server, wait, start it again (in threads); returns (stopped_at, started_at) monotonic."""
    await asyncio.to_thread(stop)
    stopped_at = time.monotonic()
    await asyncio.sleep(seconds)
    await asyncio.to_thread(start)
    return stopped_at, time.monotonic()


# --- Redis restart -----------------------------------------------------------------------------------------


async def test_redis_restart_mid_meeting_loses_nothing(tmp_path, transactional_db, private_redis):
    """Redis (channel layer, wake-ups, broker) down for 3 s mid-meeting: the stream stays on its
    worker (Redis is not on the ingest path), everything is stored exactly once, no gap, the
    wake-up listener falls back to polling and resubscribes."""
    needs_scaled_pass()
    product = Product(tmp_path, scaled=True, redis_url=private_redis.url)
    try:
        product.start_web()
        product.start_worker("w1")
        async with emulator() as emu:
            run = await emu.play(PLANNING, webhook_url=product.webhook_url, speed=RESTART_SPEED)
            await holder(run.rtms_stream_id, product)
            await asyncio.sleep(2.0)
            await _restart(private_redis.stop, private_redis.start, OUTAGE_SECONDS)
            assert not run.record.completed, "the outage ended after the meeting: lower RESTART_SPEED"
            record = await run.wait(90)
        stream = await wait_ended(record.rtms_stream_id, product)
        assert record.verdict(), record.verdict()
        assert emu.rejected_handshakes == []
        data = await assert_stored_equals_sent(record, stream, product)
        assert gaps(data) == []
        assert stream.reconnect_count == 0
        assert stream.audio_frames_dropped == 0
        assert "ingest wake-up channel lost" in product.log(
            "w1", tail=None
        )  # the outage did reach the worker
    finally:
        product.stop()


# --- PostgreSQL restart --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lease", "taken_over"),
    [pytest.param("10", False, id="lease-outlives-outage"), pytest.param("2", True, id="lease-expires")],
)
async def test_postgres_restart_mid_meeting_loses_nothing_acknowledged(
    tmp_path, private_postgres, lease, taken_over
):
    """PostgreSQL down for 3 s mid-meeting (every connection cut). Writes are retried with
    back-off (bounded), audio batches kept and re-flushed. With a lease longer than the outage
    the stream survives on its worker and everything is stored exactly; with a shorter one the
    holder closes its connection when its lease can no longer be renewed and the stream is taken
    over with a fresh handshake: text stored exactly once, every audio frame either stored once
    or counted as dropped, the takeover recorded as a gap."""
    needs_scaled_pass()
    product = Product(
        tmp_path,
        scaled=True,
        db_alias=PG_ALIAS,
        database_url=private_postgres.url,
        env={"RTMS_LEASE_SECONDS": lease, "RTMS_DB_RETRY_SECONDS": "60"},
    )
    try:
        product.start_web()
        product.start_worker("w1")
        # A webhook arriving during the outage (rtms_interrupted, when the holder lets go) gets a
        # 500; Zoom retries it (here after 2 s and 5 s) and the retry must succeed.
        async with emulator(webhook_retry_delays=(2.0, 5.0)) as emu:
            run = await emu.play(PLANNING, webhook_url=product.webhook_url, speed=RESTART_SPEED)
            await holder(run.rtms_stream_id, product)
            await asyncio.sleep(2.0)
            await _restart(private_postgres.stop, private_postgres.start, OUTAGE_SECONDS)
            assert not run.record.completed, "the outage ended after the meeting: lower RESTART_SPEED"
            record = await run.wait(90)
        stream = await wait_ended(record.rtms_stream_id, product, timeout=45)
        worker_log = product.log("w1", tail=None)
        # the outage did reach the worker (its pool could not connect, or a query failed)
        assert "error connecting" in worker_log or "database unavailable" in worker_log
        assert record.verdict(), record.verdict()
        assert emu.rejected_handshakes == []  # never two live connections for the stream
        if not taken_over:
            data = await assert_stored_equals_sent(record, stream, product)
            assert gaps(data) == []
            assert stream.reconnect_count == 0
            assert stream.audio_frames_dropped == 0
            return
        data = await stored(stream.meeting_id, PG_ALIAS)
        assert stream.state == Stream.State.STOPPED
        assert stream.stop_reason == record.stop_reason
        sent = sorted(
            (c["user_name"], c["data"], c["start_time"] - stream.started_event_ts)
            for c in record.sent.transcript
        )
        assert sorted((s[0], s[1], s[2]) for s in data["segments"]) == sent  # each once
        assert data["chat"] == [(c["user_name"], c["text"]) for c in record.sent.chat]
        assert stream.reconnect_count >= 1
        takeovers = [g for g in gaps(data) if "takeover" in g["reason"]]
        assert takeovers, gaps(data)
        assert all(g["end_offset_ms"] is not None for g in gaps(data))
        sent_frames = sum(len(ts) for uid, ts in record.sent.audio_frames.items() if uid)
        recordings = [r for r in data["recordings"] if r.kind == "participant"]
        stored_frames = sum(r.frames_received for r in recordings)
        assert stored_frames <= sent_frames  # none twice
        assert stored_frames + stream.audio_frames_dropped >= sent_frames  # none silently lost
    finally:
        product.stop()

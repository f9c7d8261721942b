"""Shared harness of the product benchmarks: the product's processes on scratch data, and the load.

* :class:`Product` starts the real product in subprocesses, as deployed: Daphne
  (``rtms_assistant.asgi``) and, in scaled mode, ``manage.py rtms_worker`` processes, on a
  scratch ``DJANGO_DATA_DIR``; the tables come from ``manage.py migrate`` then
  ``migrate --run-syncdb`` (both no-ops once the tables exist, so this works with and without
  migration files). Scaled mode creates a fresh PostgreSQL database (dropped at the end) and uses
  Redis database :data:`REDIS_DB` (flushed before and after).
* ``Product.db(command, **args)`` runs :mod:`bench.dbtool` with the product's environment (users,
  sessions, seeded meetings, read-backs) and returns its JSON answer.
* :func:`cpu_seconds` reads a process's CPU time (user + system, all threads) from ``/proc``.
* :func:`load_scenario_continuous` builds the load meeting: ``participants`` people who all speak
  continuously (real recordings from ../shared/data), so every participant is one audio stream
  at 50 frames/s, plus a Zoom transcript utterance every ``utterance_every`` seconds.
* :func:`http_request` is a minimal asyncio HTTP/1.1 client (one request per connection) used to
  time the server without a client library in the way.

Zoom credentials are bench values shared by the product and the emulator.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rtms_assistant.processes import ROOT, Processes, free_port, worker_args

CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET = "bench-client-id", "bench-client-secret", "bench-webhook-secret"
OPERATOR_ID = "emulator-operator"  # the operator_id in the emulator's rtms_started
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_DB = 13
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (every thread), from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def scaled_available() -> str:
    """'' when PostgreSQL and Redis answer, else why not (the scaled benchmarks are then skipped)."""
    try:
        import psycopg
        import redis

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
        redis.Redis.from_url(f"{REDIS_BASE_URL}/{REDIS_DB}", socket_timeout=3).ping()
    except Exception as exc:  # any failure means: not available; reported, not hidden
        return f"PostgreSQL ({PG_ADMIN_URL}) or Redis ({REDIS_BASE_URL}) unavailable: {exc}"
    return ""


class Product:
    """The product in subprocesses on scratch data. Use as a context manager."""

    def __init__(self, name: str, *, scaled: bool, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.scaled = scaled
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        self.port = free_port()
        self.flush_s = 1.0  # the product's RTMS_AUDIO_FLUSH_SECONDS, when a benchmark reads it
        self.db_name = f"bench_{name}_{os.getpid()}_{secrets.token_hex(3)}" if scaled else ""
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RTMS_", "ZOOM_"))
        } | {
            "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings",
            "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(30),
            "DJANGO_DATA_DIR": str(self.tmp),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_LEVEL": "WARNING",
            "ZOOM_CLIENT_ID": CLIENT_ID,
            "ZOOM_CLIENT_SECRET": CLIENT_SECRET,
            "ZOOM_WEBHOOK_SECRET_TOKEN": WEBHOOK_SECRET,
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        if scaled:
            base = PG_ADMIN_URL.rsplit("/", 1)[0]
            self.env["DATABASE_URL"] = f"{base}/{self.db_name}"
            self.env["REDIS_URL"] = f"{REDIS_BASE_URL}/{REDIS_DB}"
        self.env |= env or {}
        # BENCH_ENV_<NAME>=value sets <NAME> for the product's processes (experiments).
        self.env |= {
            k.removeprefix("BENCH_ENV_"): v for k, v in os.environ.items() if k.startswith("BENCH_ENV_")
        }
        # BENCH_PRODUCT_ROOT=<checkout> runs that checkout's product under this bench and emulator
        # (before/after comparisons of the product alone; the checkout shares this interpreter).
        self.root = Path(os.environ.get("BENCH_PRODUCT_ROOT") or ROOT)
        self.processes = Processes(self.tmp, self.env, root=self.root)

    # -- lifecycle --

    def __enter__(self) -> Product:
        try:
            if self.scaled:
                self._create_database()
                self._flush_redis()
            self.manage("migrate", "--noinput", "-v", "0")
            self.manage("migrate", "--run-syncdb", "--noinput", "-v", "0")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.processes.stop_all(timeout=20)
        if self.scaled:
            self._drop_database()
            self._flush_redis()
        if os.environ.get("BENCH_KEEP"):  # keep the logs and data for a post-mortem
            print(f"   kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')

    def _drop_database(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def _flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.env["REDIS_URL"], socket_timeout=5).flushdb()

    # -- processes --

    def manage(self, *args: str, timeout: float = 180) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def db(self, command: str, **args) -> dict:
        """Run ``bench.dbtool <command>`` with this product's environment; its JSON answer."""
        result = subprocess.run(
            [sys.executable, "-m", "bench.dbtool", command, json.dumps(args)],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"bench.dbtool {command} failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def spawn(self, name: str, args: list[str], *, prefix: list[str] | None = None) -> subprocess.Popen:
        return self.processes.spawn(name, args, prefix=prefix)

    def start_web(self) -> subprocess.Popen:
        return self.processes.start_web(self.port)

    def start_worker(self, name: str = "worker", *, max_streams: int = 1000, prefix=None) -> subprocess.Popen:
        return self.spawn(name, worker_args(f"bench-{name}", max_streams=max_streams), prefix=prefix)

    def log(self, name: str) -> str:
        return self.processes.log(name, tail=4000)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/zoom/"


def emulator_config(**overrides):
    from rtms_emulator.config import EmulatorConfig

    return EmulatorConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        **{"record_audio": False, "keepalive_interval": 10.0, **overrides},
    )


def load_scenario_continuous(
    *, participants: int = 4, seconds: float = 30.0, utterance_every: float = 2.0, tag: str = "bench"
):
    """A meeting where all ``participants`` speak the whole time (real recordings back to back,
    one audio stream each at 50 frames/s, none silent) and a Zoom transcript utterance arrives
    every ``utterance_every`` seconds, rotating speakers, with a unique text ``<tag>-utt-<n>``."""
    from rtms_emulator.scenario import (
        FIRST_USER_ID,
        FRAME_MS,
        Clip,
        Participant,
        Scenario,
        Segment,
        Utterance,
        read_wav_pcm16,
        shared_data_dir,
    )
    from rtms_emulator.scenario_generator import SPEECH_CLIPS

    clips = [Clip(read_wav_pcm16(shared_data_dir() / f"{stem}.wav"), name=stem) for stem in SPEECH_CLIPS]
    n_ticks = round(seconds * 1000 / FRAME_MS)
    people = []
    for i in range(participants):
        segments, tick, k = [], 0, i
        while tick < n_ticks:
            clip = clips[k % len(clips)]
            segments.append(Segment(tick, clip))
            tick += clip.n_frames
            k += 1
        people.append(
            Participant(
                key=f"p{i + 1:02d}",
                user_id=FIRST_USER_ID + 1024 * i,
                user_name=f"Speaker {i + 1:02d}",
                segments=tuple(segments),
            )
        )
    utterances = []
    t, n = utterance_every, 0
    while t < seconds - 0.5:
        p = people[n % participants]
        utterances.append(
            Utterance(p.key, max(0.0, t - utterance_every), t, f"{tag}-utt-{n} words spoken here")
        )
        t += utterance_every
        n += 1
    return Scenario(
        name=f"bench_{participants}p_{seconds:g}s",
        participants=tuple(people),
        transcript=tuple(utterances),
        duration=seconds,
        silence="send",
        description="benchmark load: every participant speaks continuously",
    )


async def http_request(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes, float]:
    """One HTTP/1.1 request on a fresh connection: ``(status, body, seconds)`` where the time runs
    from the TCP connect to the last byte of the response."""
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        head.append(f"Content-Length: {len(body)}")
    started = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await asyncio.wait_for(reader.read(), timeout)  # Connection: close → read to EOF
        elapsed = time.perf_counter() - started
    finally:
        writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    status = int(status_line.split()[1]) if status_line else 0
    return status, rest.partition(b"\r\n\r\n")[2], elapsed


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]

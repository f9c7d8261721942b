"""Real-server helpers for the browser tests: a scratch deployment served by Daphne, and
Debian's Chromium driven by Playwright (Playwright's own browser download is not used)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rtms_assistant.processes import Processes, free_port

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"


def chromium_or_skip() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's Chromium is missing ({CHROMIUM}): apt-get install chromium")
    return CHROMIUM


def manage(env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    """Run ``manage.py`` for the scratch deployment; returns stdout, raises with stderr on failure."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout


def django_shell(env: dict[str, str], code: str, timeout: float = 120) -> str:
    return manage(env, "shell", "--no-imports", "-c", code, timeout=timeout)


class DaphneServer:
    """``rtms_assistant.asgi:application`` under Daphne on 127.0.0.1:``port``; restartable on the
    same port (the browser's WebSocket then sees an abnormal close and reconnects)."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.name = log_path.stem  # its output goes to log_path
        self.processes = Processes(log_path.parent, env)

    def start(self) -> str:
        self.processes.start_web(self.port, name=self.name, timeout=30)
        return self.base

    def stop(self) -> None:
        self.processes.stop(self.name, timeout=10)


@contextlib.contextmanager
def daphne(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Serve the app on a free port for the duration of the block; yields the base URL."""
    server = DaphneServer(env, log_path)
    try:
        yield server.start()
    finally:
        server.stop()


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "rtms_assistant.settings",
            "DJANGO_SECRET_KEY": "browser-test-secret-key-not-for-production",
            "DJANGO_DATA_DIR": str(data_dir),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def cleanup_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def embedded_deployment(prefix: str, setup: str, **extra: str) -> Iterator[tuple[dict[str, str], Path, str]]:
    """A scratch embedded deployment: a new data folder (removed after), migrated, with the
    Django shell code ``setup`` run in it. Yields ``(env, data_dir, setup's stdout)``;
    ``extra``: more environment (e.g. the emulator's Zoom credentials)."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        env = base_env(data_dir, **extra)
        migrate(env)
        yield env, data_dir, django_shell(env, setup)
    finally:
        cleanup_dir(data_dir)


def login(page, base: str, username: str) -> None:
    """Log ``username`` (password :data:`PASSWORD`) in through the login form; lands on the list."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


@contextlib.contextmanager
def scratch_postgres(database_url: str) -> Iterator[str]:
    """A throw-away database on the server of ``database_url``; yields its URL, drops it after."""
    import uuid

    import psycopg

    name = f"rtms_browser_{uuid.uuid4().hex[:8]}"
    server = database_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scaled_urls_or_skip() -> tuple[str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not (database_url.startswith("postgres") and redis_url):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL and REDIS_URL)")
    return database_url, redis_url


def migrate(env: dict[str, str]) -> None:
    """Create the schema: Django's own apps by migration, ours by syncdb (no migrations yet)."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "migrate", "--run-syncdb", "--noinput", "-v", "0")


class Process:
    """A long-running ``manage.py`` command (e.g. ``rtms_worker``) with its output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.env, self.log_path, self.args = env, log_path, args
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Process:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", *self.args],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


BROWSER_REDIS_DB = 11  # not the test pass's database: the Celery messages left behind are flushed


@contextlib.contextmanager
def scratch_redis(redis_url: str) -> Iterator[str]:
    """``redis_url`` pointed at database ``BROWSER_REDIS_DB``, flushed after use (the served app
    leaves Celery messages and channel-layer keys there that no later test must pick up)."""
    import redis

    base, _, last = redis_url.rstrip("/").rpartition("/")
    url = f"{base}/{BROWSER_REDIS_DB}" if last.isdigit() else f"{redis_url.rstrip('/')}/{BROWSER_REDIS_DB}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        yield url
    finally:
        client.flushdb()
        client.close()

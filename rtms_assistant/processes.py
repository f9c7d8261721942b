"""The product's own processes, launched from outside: Daphne and ``rtms_worker`` subprocesses.

One place for the command lines, start-up waits, logs and clean shutdown, used by the
benchmarks (``bench/harness.py``, ``bench/whisper_pipeline.py``) and the end-to-end tests
(``tests/streams/ingest_harness.py``, ``tests/browser/browser_support.py``). Imports
no Django: callers build the environment (``DJANGO_*``, ``DATABASE_URL``, ``REDIS_URL``, ...)
and run before or beside Django's own set-up.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_SECONDS = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daphne_args(port: int) -> list[str]:
    """Arguments after ``python`` that serve ``rtms_assistant.asgi`` on 127.0.0.1:``port``.

    The listen backlog is raised from Twisted's 50 to 1024: a burst of simultaneous connections
    (e.g. 200 webhooks at once) beyond the backlog has its SYNs dropped and retried after 1 s.
    """
    endpoint = f"tcp:port={port}:interface=127.0.0.1:backlog=1024"
    return ["-m", "daphne", "-e", endpoint, "rtms_assistant.asgi:application"]


def worker_args(worker_id: str, *, max_streams: int | None = None) -> list[str]:
    """Arguments after ``python`` of one ``manage.py rtms_worker`` (scaled mode's ingest)."""
    args = ["manage.py", "rtms_worker", "--worker-id", worker_id]
    return [*args, "--max-streams", str(max_streams)] if max_streams is not None else args


class Processes:
    """Named subprocesses of the product with their output in ``<log_dir>/<name>.log``.

    ``spawn`` starts one: ``python <args>`` (``prefix`` may replace ``python``, e.g. a profiler)
    run in ``root`` (this repository, or the checkout a benchmark compares against); ``stop_all``
    sends SIGTERM to every live one, waits up to ``timeout`` seconds each, then SIGKILLs what is
    left.
    """

    def __init__(self, log_dir: Path, env: dict[str, str], *, root: Path = ROOT) -> None:
        self.log_dir = log_dir
        self.env = env
        self.root = root
        self.procs: dict[str, subprocess.Popen] = {}

    def spawn(self, name: str, args: list[str], *, prefix: list[str] | None = None) -> subprocess.Popen:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603 (our own argv)
                [*(prefix or [sys.executable]), *args],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs[name] = proc
        return proc

    def log(self, name: str, tail: int | None = 6000) -> str:
        """The output of ``name`` so far: its last ``tail`` characters (None: all)."""
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text[-tail:] if tail else text

    def start_web(self, port: int, *, name: str = "daphne", timeout: float = 60.0) -> subprocess.Popen:
        """Daphne on ``port``; returns once ``/healthz`` answers 200.

        Raises RuntimeError (with the log's tail) if it exits or is not healthy in ``timeout`` s.
        """
        proc = self.spawn(name, daphne_args(port))
        wait_healthy(f"http://127.0.0.1:{port}", timeout=timeout, proc=proc, log=lambda: self.log(name))
        return proc

    def stop(self, name: str, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        proc = self.procs.get(name)
        if proc is not None:
            stop_process(proc, timeout=timeout)

    def stop_all(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            stop_process(proc, timeout=timeout)


def stop_process(proc: subprocess.Popen, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM (if still running), wait ``timeout`` s, then SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def wait_healthy(
    base_url: str, *, timeout: float = 60.0, proc: subprocess.Popen | None = None, log=lambda: ""
) -> None:
    """Poll ``<base_url>/healthz`` until it answers 200.

    Raises RuntimeError, with ``log()`` (the server's output) appended, when ``proc`` exits
    first or ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{base_url}: the server exited ({proc.returncode}):\n{log()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310 (http://127.0.0.1)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{base_url}/healthz did not answer 200 within {timeout:.0f} s:\n{log()}")

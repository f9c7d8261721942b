"""The product's server processes for the demo, started from this checkout's Python.

:class:`Product` starts them (embedded: one Daphne process; scaled: ``honcho start`` on the
Procfile), waits until every web port answers ``/healthz``, and stops the whole process group.
Every process gets the demo Zoom credentials shared with the emulator (``demo.steps.DEMO_ZOOM``);
output goes to a log file. Errors: :class:`demo.steps.DemoError` (port in use, server exited,
not healthy in time).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from demo.steps import DEMO_ZOOM, ROOT, DemoError
from rtms_assistant.processes import daphne_args


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

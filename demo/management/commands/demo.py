"""``python manage.py demo``: the whole product on two real meetings, played by the RTMS emulator.

Embedded mode (default): SQLite, one Daphne process. ``--mode scaled``: PostgreSQL + Redis and the
Procfile under honcho (``DATABASE_URL`` / ``REDIS_URL`` default to the local servers; the command
re-runs itself with them). The steps are in ``demo/steps.py`` (the server processes in
``demo/product.py``, the checks in ``demo/checks.py``) and docs/demo.md.

Exit status: 0; with ``--headless`` 0 only if every check passes (``CommandError`` otherwise).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from demo import steps as demo
from demo.checks import checks_run
from demo.product import Product

HEADLESS_SPEED = 1.5  # Whisper on the 4 AMI tracks costs ~1x real time on 2 busy cores: keep close to live


class Command(BaseCommand):
    help = "Run the product against the RTMS emulator playing two real meetings; check what was stored."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--headless", action="store_true", help="no waiting for a person; exit after the checks"
        )
        parser.add_argument("--mode", choices=("embedded", "scaled"), default="embedded")
        parser.add_argument("--port", type=int, default=8000, help="server port (scaled: also port + 1)")
        parser.add_argument(
            "--speed",
            type=float,
            default=None,
            help=f"emulator pacing, 1 = real time (default 1; headless {HEADLESS_SPEED:g})",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=None,
            help="seconds to open the dashboard before playing (default 10; headless 0)",
        )
        parser.add_argument(
            "--export-dir", type=Path, default=None, help="default: DATA_DIR/demo-exports/<UTC time>/"
        )

    def handle(self, *args, headless: bool, mode: str, port: int, speed, wait, export_dir, **options) -> None:
        if mode == "scaled" and settings.RUN_MODE != "scaled":
            self._rerun_scaled(headless=headless, port=port, speed=speed, wait=wait, export_dir=export_dir)
        if mode != settings.RUN_MODE:
            raise CommandError(
                f"--mode {mode} but the environment selects {settings.RUN_MODE} mode (REDIS_URL set?)"
            )
        speed = speed or (HEADLESS_SPEED if headless else 1.0)
        wait = (0.0 if headless else 10.0) if wait is None else wait
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        export_dir = export_dir or Path(settings.DATA_DIR) / "demo-exports" / stamp
        say = self.stdout.write
        product = None
        try:
            if demo.postgres_database_ensure():
                say(f"Created the PostgreSQL database {settings.DATABASES['default']['NAME']}")
            demo.database_prepare()
            token = demo.demo_user_prepare()
            product = Product(
                mode=mode, port=port, log_path=Path(settings.DATA_DIR) / "demo-logs" / f"server-{stamp}.log"
            )
            # Ctrl-C or SIGTERM (a supervisor, CI) stops the server too: SIGINT may arrive ignored
            # from a non-interactive parent shell, so restore Python's handler for both.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            say(f"Starting the server ({mode} mode; logs: {product.log_path}) ...")
            started = time.monotonic()
            product.start()
        except (demo.DemoError, KeyboardInterrupt) as exc:
            if product is not None:
                product.stop()
            raise CommandError(str(exc) or "interrupted") from exc
        try:
            say(f"Server up in {time.monotonic() - started:.1f} s.")
            say("")
            say(f"  Dashboard: {product.base_url}/")
            say(f"  Login:     {demo.DEMO_USER} / {demo.DEMO_PASSWORD}")
            say(f"  Admin:     {product.base_url}/admin/ (same login)")
            say("")
            if wait > 0:
                say(f"Open the dashboard now; the meetings start in {wait:g} s ...")
                time.sleep(wait)
            ok = self._run(product, token, speed=speed, export_dir=export_dir)
            if headless:
                if not ok:
                    raise CommandError("the demo's checks failed (FAIL lines above)")
                say("All checks passed.")
                return
            say("")
            say(
                f"The server keeps running at {product.base_url}/ (login {demo.DEMO_USER} / {demo.DEMO_PASSWORD})."
            )
            say("Press Ctrl-C to stop it.")
            try:
                while product.alive():
                    time.sleep(0.5)
                self.stderr.write(f"The server exited; see {product.log_path}")
            except KeyboardInterrupt:
                say("\nStopping.")
        except KeyboardInterrupt:
            self.stderr.write("\nInterrupted; stopping the server.")
            raise CommandError("interrupted") from None
        finally:
            product.stop()

    def _run(self, product: Product, token: str, *, speed: float, export_dir: Path) -> bool:
        say = self.stdout.write
        api = demo.Api(product.base_url, token)
        names = ", ".join(demo.SCENARIOS)
        say(f"Playing {names} at {speed:g}x through signed webhooks ...")
        started = time.monotonic()
        try:
            results = asyncio.run(demo.play(webhook_url=product.webhook_url, speed=speed, say=say))
            say(
                f"Both meetings played in {time.monotonic() - started:.1f} s; waiting for transcripts and summaries ..."
            )
            asyncio.run(demo.results_wait(results, api, say=say))
            say(f"Finished and summarized {time.monotonic() - started:.1f} s after the start.")
            demo.exports_write(results, api, export_dir)
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        say("")
        for result in results.values():
            for line in demo.meeting_report(result, product.base_url):
                say(line)
            say("")
        say(f"Exported notes (Markdown, WebVTT): {export_dir}")
        say("")
        checks = checks_run(results)
        for check in checks:
            say(check.line())
        return all(check.ok for check in checks)

    def _rerun_scaled(self, *, headless: bool, port: int, speed, wait, export_dir) -> None:
        """Scaled mode needs DATABASE_URL/REDIS_URL before Django starts: run again with the defaults."""
        env = demo.scaled_environment(dict(os.environ))
        self.stdout.write(f"Scaled mode: DATABASE_URL={env['DATABASE_URL']} REDIS_URL={env['REDIS_URL']}")
        argv = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "demo",
            "--mode",
            "scaled",
            "--port",
            str(port),
        ]
        argv += ["--headless"] if headless else []
        argv += ["--speed", str(speed)] if speed else []
        argv += ["--wait", str(wait)] if wait is not None else []
        argv += ["--export-dir", str(export_dir)] if export_dir else []
        sys.stdout.flush()
        os.execve(sys.executable, argv, env)  # noqa: S606 (our own interpreter and argv)

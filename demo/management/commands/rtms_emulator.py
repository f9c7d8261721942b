"""``python manage.py rtms_emulator``: the Zoom RTMS emulator (rtms_emulator, docs/emulator.md).

Thin wrapper: same flags as ``python -m rtms_emulator``; credentials default to the settings'
ZOOM_CLIENT_ID / ZOOM_CLIENT_SECRET / ZOOM_WEBHOOK_SECRET_TOKEN.
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rtms_emulator.cli import add_arguments, run_cli


class Command(BaseCommand):
    help = "Play recorded meetings as Zoom RTMS (signed webhooks, signaling and media WebSockets)."

    def add_arguments(self, parser):
        add_arguments(parser)
        parser.set_defaults(
            client_id=settings.ZOOM_CLIENT_ID or "emulator-client-id",
            client_secret=settings.ZOOM_CLIENT_SECRET or "emulator-client-secret",
            webhook_secret=settings.ZOOM_WEBHOOK_SECRET_TOKEN or "emulator-webhook-secret",
        )

    def handle(self, *args, **options):
        code = asyncio.run(run_cli(options, out=self.stdout))
        if code:
            raise CommandError(f"emulator finished with exit code {code}", returncode=code)

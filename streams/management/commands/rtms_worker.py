"""``python manage.py rtms_worker``: the scaled-mode RTMS ingest process (run one or more).

Claims streams announced by the webhook (``pending``) or whose holder died (expired lease), holds
one RTMS connection per stream, and stores everything the meeting streams. SIGTERM/SIGINT hand
every held stream over to another worker at once (no waiting for the lease to expire).
"""

from __future__ import annotations

import asyncio

from django.core.management.base import BaseCommand

from streams import ingest


class Command(BaseCommand):
    help = "Run the RTMS ingest worker (scaled mode): claim streams, connect, store what they send."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--worker-id",
            default="",
            help="Lease owner name (default: rtms_worker:<hostname>:<pid>). Must be unique per process.",
        )
        parser.add_argument("--max-streams", type=int, default=None, help="Streams held at most at once.")

    def handle(self, *args, worker_id: str = "", max_streams: int | None = None, **options) -> None:
        worker_id = worker_id or ingest.default_worker_id("rtms_worker")
        self.stdout.write(f"rtms_worker {worker_id} starting")
        asyncio.run(
            ingest.supervise(worker_id=worker_id, install_signal_handlers=True, max_streams=max_streams)
        )
        self.stdout.write(f"rtms_worker {worker_id} stopped")

"""``manage.py purge_meetings --older-than-days N [--dry-run]``: the retention rule by hand.

Deletes every meeting (rows and audio files) that started more than N days ago and is no
longer live. Celery beat runs the same rule hourly when ``RETENTION_DAYS`` is set.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from meetings.services import lifecycle


class Command(BaseCommand):
    help = "Delete meetings (data and audio files) that started more than N days ago."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help="Age limit in days (default: the RETENTION_DAYS setting).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be deleted; delete nothing."
        )

    def handle(self, *args, older_than_days: int | None, dry_run: bool, **options) -> None:
        days = older_than_days if older_than_days is not None else settings.RETENTION_DAYS
        if not days or days < 1:
            raise CommandError("give --older-than-days N (N >= 1) or set RETENTION_DAYS")
        meetings = lifecycle.meeting_purge_older_than(days=days, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for meeting in meetings:
            self.stdout.write(f"{verb} {meeting.public_id} {meeting.started_at:%Y-%m-%d} {meeting}")
        self.stdout.write(f"{verb} {len(meetings)} meeting(s) older than {days} day(s)")

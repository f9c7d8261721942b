"""``manage.py retranscribe <meeting public_id | all> [--engine ...] [--queue]``.

Re-transcribes a meeting's stored recordings with Whisper (per participant, windows cut at
pauses) into the Whisper track beside Zoom's, with a progress bar (audio seconds). ``all``
does every ended meeting that has recordings. ``--queue`` enqueues the Celery task instead of
running here.
"""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from meetings.models import Meeting
from transcription.engines import EngineUnavailable, get_engine
from transcription.retranscribe import recording_retranscribe
from transcription.tasks import recording_retranscribe as recording_retranscribe_task


class Command(BaseCommand):
    help = "Re-transcribe stored meeting recordings with Whisper (a Whisper track beside Zoom's)."

    def add_arguments(self, parser):
        parser.add_argument("meeting", help="the meeting's public id (UUID), or 'all' (ended meetings)")
        parser.add_argument(
            "--engine", choices=["faster-whisper", "openai-whisper"], help="default: WHISPER_ENGINE"
        )
        parser.add_argument("--queue", action="store_true", help="enqueue the Celery task instead")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, meeting, engine=None, queue=False, no_progress=False, **options):
        if meeting == "all":
            meetings = list(
                Meeting.objects.filter(status=Meeting.Status.ENDED, recordings__isnull=False).distinct()
            )
        else:
            try:
                public_id = uuid.UUID(meeting)
            except ValueError:
                raise CommandError(f"not a meeting public id: {meeting!r}") from None
            meetings = list(Meeting.objects.filter(public_id=public_id))
            if not meetings:
                raise CommandError(f"no meeting with public id {meeting}")
        if queue:
            for item in meetings:
                recording_retranscribe_task.delay(item.pk)
            self.stdout.write(f"queued {len(meetings)} meeting(s) on the transcription queue")
            return
        try:
            loaded = get_engine(engine)
        except EngineUnavailable as exc:
            raise CommandError(str(exc)) from exc
        for item in meetings:
            bar = tqdm(
                total=1.0,
                unit="s",
                desc=str(item)[:40],
                disable=no_progress,
                file=self.stderr._out,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]",
            )

            def progress(done: float, total: float, bar=bar) -> None:
                bar.total = max(total, 1e-9)
                bar.n = min(done, bar.total)
                bar.refresh()

            result = recording_retranscribe(meeting_id=item.pk, progress=progress, engine=loaded)
            bar.close()
            rtf = result.compute_seconds / result.audio_seconds if result.audio_seconds else 0.0
            self.stdout.write(
                f"{item.public_id}: {result.recordings} recording(s), {result.windows} windows, "
                f"{result.segments} segments ({result.removed} replaced), "
                f"{result.audio_seconds:.0f} s audio, RTF {rtf:.3f}"
                + (f", {result.failed_recordings} unreadable" if result.failed_recordings else "")
            )

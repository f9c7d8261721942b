"""Whisper's work queue: audio windows to transcribe and re-transcription runs.

Both models were born in the ``streams`` app and moved here with the transcription code; their
tables keep their names (``streams_audiowindow``, ``streams_retranscription``: ``Meta.db_table``)
and the move was state-only (``SeparateDatabaseAndState`` in ``transcription/migrations/0001``
and ``streams/migrations/0006``), so no row was copied or lost.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from meetings.models import Meeting


class AudioWindow(models.Model):
    """A span of one participant's recording queued for Whisper (live fallback).

    ``byte_offset``/``byte_length`` index the recording's WAV data chunk (s16le 16 kHz mono,
    32 bytes per ms); ``start_ms``/``end_ms`` are relative to the meeting start. A partial window
    (``is_final=False``, the speaker still talking) is superseded by the final window with the
    same ``byte_offset``: both write the same transcript segment (``source_key``). A tentative
    window (``is_tentative``, a partial cut 300 ms into a pause) has exactly the range of the
    final that follows if the pause lasts: that final reuses its transcript. Rows carry ids
    only; the audio stays in the file.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Transcribed"
        EMPTY = "empty", "No speech"
        FAILED = "failed", "Failed"

    stream = models.ForeignKey(
        "streams.Stream", null=True, blank=True, on_delete=models.CASCADE, related_name="windows"
    )
    recording = models.ForeignKey("meetings.AudioRecording", on_delete=models.CASCADE, related_name="windows")
    participant = models.ForeignKey(
        "meetings.Participant", null=True, blank=True, on_delete=models.SET_NULL, related_name="windows"
    )
    byte_offset = models.BigIntegerField()
    byte_length = models.BigIntegerField()
    start_ms = models.BigIntegerField()
    end_ms = models.BigIntegerField()
    is_final = models.BooleanField(default=True)
    is_tentative = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    source_key = models.CharField(max_length=200)  # the TranscriptSegment key it writes
    attempts = models.PositiveSmallIntegerField(default=0)
    engine = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=300, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    speech_end_wall_ms = models.BigIntegerField(null=True, blank=True)  # epoch ms the window was cut

    class Meta:
        db_table = "streams_audiowindow"  # created by streams/migrations/0001_initial.py
        ordering = ["recording", "start_ms", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recording", "byte_offset", "byte_length", "is_final"],
                name="streams_audiowindow_unique_range",
            ),
            models.CheckConstraint(
                condition=Q(byte_offset__gte=0) & Q(byte_length__gt=0), name="streams_audiowindow_valid_range"
            ),
            models.CheckConstraint(
                condition=Q(end_ms__gte=models.F("start_ms")), name="streams_audiowindow_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["status", "queued_at"], name="streams_audiowindow_status")]

    def __str__(self) -> str:
        kind = "final" if self.is_final else "partial"
        return f"{kind} window {self.start_ms}-{self.end_ms} ms of recording {self.recording_id}"


class Retranscription(models.Model):
    """One run of ``transcription.retranscribe.recording_retranscribe`` over a meeting's
    recordings. While it runs, the meeting's Whisper track is being replaced, so the final
    summary waits for it like for live windows (``transcription.selectors.transcription_pending_ms``:
    ``audio_ms - done_ms`` left). ``updated_at`` moves with every window: a run that stopped
    moving (its worker died) no longer holds the summary back after ``ABANDONED_AFTER``."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="retranscriptions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    audio_ms = models.BigIntegerField(default=0)  # the recordings to transcribe
    done_ms = models.BigIntegerField(default=0)  # how far it got
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "streams_retranscription"  # created by streams/migrations/0004_retranscription.py
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["meeting", "status"], name="streams_retranscription_state")]

    def __str__(self) -> str:
        return f"re-transcription of meeting {self.meeting_id} ({self.status})"

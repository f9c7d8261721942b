from __future__ import annotations

from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"
    verbose_name = "Whisper transcription"

    def ready(self) -> None:
        # meetings cannot import transcription: it learns how much audio is still being
        # transcribed (its final summary waits for it) through these registered functions (also how far behind the live transcript is).
        # Imported here, not at module level: models may not be imported before the app registry is ready.
        from meetings import transcription
        from transcription.selectors import transcription_lag_ms, transcription_pending_ms

        transcription.pending_audio_source_register(transcription_pending_ms)
        transcription.lag_source_register(transcription_lag_ms)

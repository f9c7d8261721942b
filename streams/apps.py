from __future__ import annotations

from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Zoom RTMS ingestion"

    def ready(self) -> None:
        # meetings cannot import streams: it learns how much audio is still being transcribed
        # (its final summary waits for it) through this registered function.
        from meetings import transcription
        from streams.selectors import transcription_lag_ms, transcription_pending_ms

        transcription.pending_audio_source_register(transcription_pending_ms)
        transcription.lag_source_register(transcription_lag_ms)

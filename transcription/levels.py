"""Levels of float32 speech, the gain that evens them out, and cross-talk (pure numpy, no Django).

Samples are float32 mono 16 kHz in [-1, 1] (``transcription.audio`` reads them from the
recordings); levels are dBFS (a full-scale sine is about -3 dBFS; silence is ``SILENCE_DBFS``),
measured on RTMS's 20 ms frames.

* :func:`rms_dbfs`, :func:`frame_dbfs`, :func:`clipping_ratio`: levels.
* :func:`speech_level_dbfs` (the loud part of a window), :func:`speech_peak_dbfs` (what a
  speaker's loud frames reach: own speech or only the room).
* :func:`normalize_gain`: scale a participant's window so its *speech* frames sit at
  ``target_dbfs`` (quiet speakers otherwise vanish: FLEURS levels differ by 40 dB), with a gain
  ceiling and a peak limit so nothing clips.
* :func:`suppress_crosstalk`: silence the frames of a window that belong to another
  participant of the stream (headset bleed, open mics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from streams.rtms.protocol import FRAME_MS, PCM_SAMPLE_RATE

SILENCE_DBFS = -100.0
FRAME_SAMPLES = FRAME_MS * PCM_SAMPLE_RATE // 1000  # 320: one 20 ms frame


def rms_dbfs(samples: np.ndarray) -> float:
    """Root mean square level in dBFS (full-scale sine ≈ -3 dBFS); -100 for silence/empty."""
    if samples.size == 0:
        return SILENCE_DBFS
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return max(SILENCE_DBFS, 10.0 * math.log10(power)) if power > 0 else SILENCE_DBFS


def frame_dbfs(samples: np.ndarray, frame_samples: int = FRAME_SAMPLES) -> np.ndarray:
    """Per-frame RMS level in dBFS (20 ms frames by default); a partial last frame is dropped."""
    count = samples.size // frame_samples
    if count == 0:
        return np.zeros(0, dtype=np.float64)
    frames = samples[: count * frame_samples].reshape(count, frame_samples).astype(np.float64)
    power = np.mean(np.square(frames), axis=1)
    with np.errstate(divide="ignore"):
        return np.maximum(SILENCE_DBFS, 10.0 * np.log10(power))


def clipping_ratio(samples: np.ndarray, threshold: float = 0.999) -> float:
    """Fraction of samples at (or within 0.1 % of) full scale."""
    if samples.size == 0:
        return 0.0
    return float(np.count_nonzero(np.abs(samples) >= threshold)) / samples.size


def speech_peak_dbfs(samples: np.ndarray, *, percentile: float = 95.0) -> float:
    """The level a speaker's loud frames reach: the ``percentile`` of 20 ms frame levels (dBFS).

    Over a participant's recent audio (``transcription.cutter.PEAK_CONTEXT_MS``) it is their own speech level
    as long as they spoke for 5 % of it; over one window it tells whether the window holds that
    speech or only the room. -100 for silence or fewer than one frame.
    """
    levels = frame_dbfs(np.asarray(samples, dtype=np.float32))
    if levels.size == 0:
        return SILENCE_DBFS
    return float(np.percentile(levels, percentile))


def speech_level_dbfs(samples: np.ndarray, *, floor_dbfs: float = -80.0) -> float:
    """The level of the loud (speech) part: mean power of the frames in the top 60 % by level.

    Robust to long pauses (which would pull a plain RMS down). -100 when nothing is above
    ``floor_dbfs``.
    """
    levels = frame_dbfs(samples)
    levels = levels[levels > floor_dbfs]
    if levels.size == 0:
        return SILENCE_DBFS
    loud = np.sort(levels)[int(levels.size * 0.4) :]
    return float(10.0 * np.log10(np.mean(np.power(10.0, loud / 10.0))))


@dataclass(frozen=True)
class GainResult:
    samples: np.ndarray
    gain_db: float  # applied gain
    speech_dbfs: float  # speech level before
    clipping: float  # clipping ratio of the input


def normalize_gain(
    samples: np.ndarray,
    *,
    target_dbfs: float = -20.0,
    max_gain_db: float = 50.0,
    floor_dbfs: float = -80.0,
) -> GainResult:
    """Scale ``samples`` so the speech level is ``target_dbfs``; peaks are limited to 0.99.

    Gain is capped at ``max_gain_db`` (so near-silence is not blown up into noise) and never
    negative beyond what the peak limit needs. Returns a new array; the input is untouched.
    """
    samples = np.asarray(samples, dtype=np.float32)
    clipping = clipping_ratio(samples)
    speech = speech_level_dbfs(samples, floor_dbfs=floor_dbfs)
    if speech <= SILENCE_DBFS:
        return GainResult(samples.copy(), 0.0, speech, clipping)
    gain_db = min(max_gain_db, target_dbfs - speech)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0:
        gain_db = min(gain_db, 20.0 * math.log10(0.99 / peak))
    out = samples * np.float32(10.0 ** (gain_db / 20.0))
    return GainResult(out, gain_db, speech, clipping)


@dataclass(frozen=True)
class CrosstalkResult:
    samples: np.ndarray  # the window with the frames owned by other participants silenced
    own_speech_ms: int  # speech frames where this participant is the dominant channel
    suppressed_ms: int  # speech frames silenced as cross-talk


def suppress_crosstalk(
    samples: np.ndarray,
    others: list[np.ndarray],
    *,
    margin_db: float = 3.0,
    speech_dbfs: float = -70.0,
    hold_frames: int = 5,
) -> CrosstalkResult:
    """Silence the parts of one participant's window that belong to someone else.

    ``others`` are the *same time span* of the other participants' recordings of the stream
    (shorter arrays are treated as silence where they end). A 20 ms frame is the participant's
    own speech when it is above ``speech_dbfs`` and not ``margin_db`` below the loudest other
    channel; own frames are held for ``hold_frames`` frames on both sides (word edges), the rest
    is faded to zero. With clean per-participant streams (Zoom's AUDIO_MULTI_STREAMS) nothing
    changes; with open mics or headsets that pick up the room (the AMI excerpt), the bleed of a
    louder speaker no longer becomes a duplicate transcript attributed to the wrong person.
    """
    samples = np.asarray(samples, dtype=np.float32)
    frame = FRAME_SAMPLES
    count = samples.size // frame
    own = frame_dbfs(samples)
    if count == 0:
        return CrosstalkResult(samples.copy(), 0, 0)
    loudest = np.full(count, SILENCE_DBFS)
    for other in others:
        levels = frame_dbfs(np.asarray(other, dtype=np.float32)[: count * frame])
        loudest[: levels.size] = np.maximum(loudest[: levels.size], levels)
    speech = own > speech_dbfs
    mine = speech & (own >= loudest - margin_db)
    if hold_frames and mine.any():
        kernel = np.ones(2 * hold_frames + 1)
        mine = np.convolve(mine.astype(np.float64), kernel, mode="same") > 0
    suppressed = int(np.count_nonzero(speech & ~mine))
    if mine.all():
        return CrosstalkResult(samples.copy(), int(np.count_nonzero(speech)) * FRAME_MS, 0)
    gains = np.repeat(mine.astype(np.float32), frame)
    # 10 ms linear ramps at the edges, so no clicks; a trailing partial frame follows the last.
    ramp = np.ones(160, dtype=np.float32) / 160
    gains = np.clip(np.convolve(gains, ramp, mode="same"), 0.0, 1.0)
    out = samples.copy()
    out[: gains.size] *= gains
    if samples.size > gains.size:
        out[gains.size :] *= gains[-1]
    return CrosstalkResult(out, int(np.count_nonzero(speech & mine)) * FRAME_MS, suppressed * FRAME_MS)

"""Levels, gain and clipping on real speech (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from transcription.audio import read_wav
from transcription.levels import clipping_ratio, normalize_gain, speech_level_dbfs


def test_gain_normalization_lifts_a_quiet_fleurs_clip(speech_dir):
    samples, _ = read_wav(speech_dir / "fleurs_en_004.wav")
    before = speech_level_dbfs(samples)
    assert before < -60  # the clip really is quiet (the data set's quietest reader)
    result = normalize_gain(samples)
    assert speech_level_dbfs(result.samples) == pytest.approx(-20.0, abs=1.5)
    assert result.gain_db > 35
    assert np.max(np.abs(result.samples)) <= 0.99 + 1e-6  # peak-limited, nothing clips
    assert clipping_ratio(result.samples) == 0.0


def test_gain_normalization_leaves_silence_alone():
    silence = np.zeros(16000, dtype=np.float32)
    result = normalize_gain(silence)
    assert result.gain_db == 0.0
    assert not result.samples.any()


def test_clipping_is_detected(jfk):
    samples, _ = jfk
    clipped = np.clip(samples * 30, -1, 1)
    assert clipping_ratio(samples) < 0.001
    assert clipping_ratio(clipped) > 0.05

"""PCM conversion and WAV reading: wrong rate, stereo, truncated and bad files."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest

from transcription.audio import (
    AudioFormatError,
    float32_to_pcm16,
    pcm16_to_float32,
    read_pcm_range,
    read_wav,
    resample,
    wav_info,
    write_wav,
)


def test_pcm_round_trip_is_exact_for_int16():
    pcm = np.array([-32768, -1, 0, 1, 32767], dtype="<i2").tobytes()
    assert float32_to_pcm16(pcm16_to_float32(pcm)) == pcm
    assert pcm16_to_float32(pcm + b"\x01").size == 5  # odd trailing byte ignored


def test_wrong_sample_rate_is_resampled_and_logged(tmp_path, jfk, caplog):
    samples, _ = jfk
    path = tmp_path / "jfk8k.wav"
    write_wav(path, float32_to_pcm16(resample(samples, 16000, 8000)), sample_rate=8000)
    with caplog.at_level(logging.WARNING, logger="transcription.audio"):
        out, info = read_wav(path)
    assert info.sample_rate == 8000
    assert out.size == pytest.approx(samples.size, abs=2)
    assert "resampling" in caplog.text


def test_stereo_is_mixed_down(tmp_path):
    left = np.full(1600, 0.5, dtype=np.float32)
    interleaved = np.stack([left, -left * 0], axis=1).reshape(-1)
    path = tmp_path / "stereo.wav"
    write_wav(path, float32_to_pcm16(interleaved), channels=2)
    out, info = read_wav(path)
    assert info.channels == 2
    assert out.size == 1600
    assert out.mean() == pytest.approx(0.25, abs=1e-3)


def test_truncated_wav_reads_what_is_there(tmp_path, jfk, caplog):
    samples, _ = jfk
    path = tmp_path / "cut.wav"
    pcm = float32_to_pcm16(samples)
    write_wav(path, pcm)
    with path.open("r+b") as handle:  # lose the second half of the data, keep the header
        handle.truncate(44 + len(pcm) // 2 + 1)  # and end mid-sample
    with caplog.at_level(logging.WARNING, logger="transcription.audio"):
        out, info = read_wav(path)
    assert info.truncated
    assert out.size == len(pcm) // 4
    assert "truncated WAV" in caplog.text
    # A live window past the end gets what exists, with a warning, not an exception.
    assert read_pcm_range(path, len(pcm) // 2 - 640, 6400).size == 320


def test_live_header_with_zero_size_reads_to_end_of_file(tmp_path):
    path = tmp_path / "live.wav"
    write_wav(path, b"\x01\x00" * 800)
    data = bytearray(path.read_bytes())
    data[40:44] = struct.pack("<I", 0)  # a writer that has not updated the header yet
    path.write_bytes(bytes(data))
    info = wav_info(path)
    assert info.data_bytes == 1600
    assert not info.truncated


def test_not_a_wav_and_unsupported_encodings_raise_clearly(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"ID3" + bytes(100))
    with pytest.raises(AudioFormatError, match="not a RIFF/WAVE"):
        read_wav(junk)
    eight_bit = tmp_path / "u8.wav"
    write_wav(eight_bit, bytes(100))
    data = bytearray(eight_bit.read_bytes())
    data[34:36] = struct.pack("<H", 8)
    eight_bit.write_bytes(bytes(data))
    with pytest.raises(AudioFormatError, match="unsupported encoding"):
        read_wav(eight_bit)


def test_live_windows_refuse_a_recording_in_another_format(tmp_path):
    path = tmp_path / "r.wav"
    write_wav(path, bytes(3200), sample_rate=8000)
    with pytest.raises(AudioFormatError, match="16 kHz mono"):
        read_pcm_range(path, 0, 640)

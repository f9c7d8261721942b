"""PCM format and WAV reading and writing (pure numpy, no Django).

Audio everywhere in this project is RTMS L16: PCM signed 16-bit little-endian (s16le), 16 kHz,
mono, so one millisecond is 32 bytes and a 20 ms RTMS frame is 640 bytes. Whisper wants float32
samples in [-1, 1] at 16 kHz. Levels, gain and cross-talk of those samples: :mod:`transcription.levels`;
cutting a participant's audio into windows at pauses: :mod:`transcription.cutter`.

* :func:`pcm16_to_float32` / :func:`float32_to_pcm16`: conversion (an odd trailing byte is dropped).
* :func:`read_wav` / :func:`read_pcm_range`: WAV reading with validation. A wrong sample rate is
  resampled to 16 kHz (logged); stereo is mixed down; a truncated file (data chunk shorter than
  its header says, or a header still being written live) is read as far as it goes (logged);
  anything that is not PCM 16-bit / float32 WAV raises :class:`AudioFormatError`.
* :func:`write_wav` / :func:`wav_header`: the one WAV writer (the ``wave`` module); recordings
  reuse the header.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from streams.rtms.protocol import (
    PCM_BYTES_PER_MS,
    PCM_BYTES_PER_SAMPLE,
    PCM_SAMPLE_RATE,
)

logger = logging.getLogger(__name__)

# The recordings' PCM format is what RTMS delivers (s16le 16 kHz mono, 20 ms frames), which is
# also Whisper's input rate: one source, the protocol module (pure, imports nothing of ours).
SAMPLE_RATE = PCM_SAMPLE_RATE
BYTES_PER_SAMPLE = PCM_BYTES_PER_SAMPLE
BYTES_PER_MS = PCM_BYTES_PER_MS  # 32


class AudioFormatError(ValueError):
    """The file is not audio we can read (not RIFF/WAVE, unsupported encoding, no data chunk)."""


# --- conversion -------------------------------------------------------------------------------


def pcm16_to_float32(data: bytes | bytearray | memoryview) -> np.ndarray:
    """s16le bytes -> float32 samples in [-1, 1). An odd trailing byte is ignored."""
    usable = len(data) - (len(data) % 2)
    return np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0


def float32_to_pcm16(samples: np.ndarray) -> bytes:
    """float32 samples (clipped to [-1, 1]) -> s16le bytes."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 32767 / 32768)
    return (np.round(clipped * 32768.0)).astype("<i2").tobytes()


def resample(samples: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited polyphase resampling (``scipy.signal.resample_poly``; offline use: whole
    files, not live frames). float32 in, float32 out, ``len * rate_out / rate_in`` samples."""
    if rate_in == rate_out or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    step = math.gcd(rate_in, rate_out)
    out = resample_poly(samples.astype(np.float64), rate_out // step, rate_in // step)
    return out.astype(np.float32)


# --- WAV reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WavInfo:
    sample_rate: int
    channels: int
    bits_per_sample: int
    format_tag: int  # 1 = PCM, 3 = IEEE float
    data_offset: int  # file offset of the first data byte
    data_bytes: int  # bytes of data actually present in the file
    declared_bytes: int  # what the header says (0 / 0xFFFFFFFF while a live writer has it open)
    truncated: bool


def wav_info(path: str | Path) -> WavInfo:
    """Parse the RIFF header of ``path``; :class:`AudioFormatError` if it is not a WAV we read."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise AudioFormatError(f"{path}: not a RIFF/WAVE file")
        fmt = None
        offset = 12
        while True:
            handle.seek(offset)
            chunk = handle.read(8)
            if len(chunk) < 8:
                raise AudioFormatError(f"{path}: no data chunk")
            chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                body = handle.read(min(chunk_size, 40))
                if len(body) < 16:
                    raise AudioFormatError(f"{path}: fmt chunk too short")
                format_tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
                if format_tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: sub-format
                    format_tag = struct.unpack("<H", body[24:26])[0]
                fmt = (format_tag, channels, rate, bits)
            elif chunk_id == b"data":
                if fmt is None:
                    raise AudioFormatError(f"{path}: data chunk before fmt chunk")
                format_tag, channels, rate, bits = fmt
                if (format_tag, bits) not in ((1, 16), (3, 32)):
                    raise AudioFormatError(
                        f"{path}: unsupported encoding (format {format_tag}, {bits} bits); "
                        "need PCM 16-bit or float 32-bit"
                    )
                if channels < 1 or rate < 1000:
                    raise AudioFormatError(f"{path}: invalid channels={channels} rate={rate}")
                data_offset = offset + 8
                present = max(0, size - data_offset)
                live = chunk_size in (0, 0xFFFFFFFF)
                data_bytes = present if live else min(chunk_size, present)
                frame = channels * bits // 8
                data_bytes -= data_bytes % frame
                return WavInfo(
                    sample_rate=rate,
                    channels=channels,
                    bits_per_sample=bits,
                    format_tag=format_tag,
                    data_offset=data_offset,
                    data_bytes=data_bytes,
                    declared_bytes=chunk_size,
                    truncated=not live and chunk_size > present,
                )
            offset += 8 + chunk_size + (chunk_size & 1)


def _decode(raw: bytes, info: WavInfo) -> np.ndarray:
    if info.format_tag == 3:
        samples = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    else:
        samples = pcm16_to_float32(raw)
    if info.channels > 1:
        samples = samples[: samples.size - samples.size % info.channels]
        samples = samples.reshape(-1, info.channels).mean(axis=1).astype(np.float32)
    return samples


def read_wav(path: str | Path) -> tuple[np.ndarray, WavInfo]:
    """The whole file as float32 mono 16 kHz samples, plus its header facts.

    Resamples other rates (logged at WARNING), mixes stereo down, reads a truncated file as far as
    it goes (logged at WARNING). Raises :class:`AudioFormatError` for non-WAV/unsupported files.
    """
    info = wav_info(path)
    with Path(path).open("rb") as handle:
        handle.seek(info.data_offset)
        raw = handle.read(info.data_bytes)
    if info.truncated:
        logger.warning(
            "truncated WAV %s: header says %d data bytes, file has %d; reading what is there",
            path,
            info.declared_bytes,
            info.data_bytes,
        )
    samples = _decode(raw, info)
    if info.sample_rate != SAMPLE_RATE:
        logger.warning("WAV %s is %d Hz; resampling to %d Hz", path, info.sample_rate, SAMPLE_RATE)
        samples = resample(samples, info.sample_rate, SAMPLE_RATE)
    return samples, info


def read_pcm_range(
    path: str | Path, byte_offset: int, byte_length: int, *, warn_short: bool = True
) -> np.ndarray:
    """Samples of a byte range of a 16 kHz mono s16le recording's *data chunk*.

    ``byte_offset`` counts from the first data byte (not the file start), as the ingest writer
    and :class:`transcription.cutter.WindowCutter` count. A range past the end returns what exists (maybe nothing).
    A recording in another format raises :class:`AudioFormatError`: live windows are cut from
    our own RTMS recordings, which are always L16 16 kHz mono. A short read is logged unless
    ``warn_short`` is False (another participant's track that simply ends earlier: they were
    silent, and Zoom sends no packets for silence).
    """
    info = wav_info(path)
    if (info.format_tag, info.bits_per_sample, info.channels, info.sample_rate) != (1, 16, 1, SAMPLE_RATE):
        raise AudioFormatError(
            f"{path}: live windows need PCM s16le 16 kHz mono, got format {info.format_tag} "
            f"{info.bits_per_sample}-bit {info.channels} ch {info.sample_rate} Hz"
        )
    byte_offset = max(0, int(byte_offset)) & ~1
    available = max(0, info.data_bytes - byte_offset)
    length = min(int(byte_length), available)
    if length < byte_length and warn_short:
        logger.warning(
            "recording %s has %d of the %d bytes requested at offset %d",
            path,
            length,
            byte_length,
            byte_offset,
        )
    if length <= 0:
        return np.zeros(0, dtype=np.float32)
    with Path(path).open("rb") as handle:
        handle.seek(info.data_offset + byte_offset)
        return pcm16_to_float32(handle.read(length))


def wav_header(data_bytes: int, *, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
    """The 44-byte RIFF/WAVE header (``wave`` module) of s16le PCM with ``data_bytes`` of samples:
    what a recording being written starts with (``streams.recording``, patched as it grows)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(BYTES_PER_SAMPLE)
        wav.setframerate(sample_rate)
        wav.setnframes(data_bytes // (channels * BYTES_PER_SAMPLE))
        wav.writeframesraw(b"")  # writes the header only
        return buffer.getvalue()  # before close() patches the sizes to the (empty) data


def write_wav(path: str | Path, pcm: bytes, *, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> None:
    """Write s16le PCM as a canonical 44-byte-header WAV (``wave`` module; tests, bench, fixtures)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(BYTES_PER_SAMPLE)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)

"""PCM format, WAV reading and writing, and the pause-based window cutter (pure numpy, no Django).

Audio everywhere in this project is RTMS L16: PCM signed 16-bit little-endian (s16le), 16 kHz,
mono, so one millisecond is 32 bytes and a 20 ms RTMS frame is 640 bytes. Whisper wants float32
samples in [-1, 1] at 16 kHz. Levels, gain and cross-talk of those samples: :mod:`transcription.levels`.

* :func:`pcm16_to_float32` / :func:`float32_to_pcm16`: conversion (an odd trailing byte is dropped).
* :func:`read_wav` / :func:`read_pcm_range`: WAV reading with validation. A wrong sample rate is
  resampled to 16 kHz (logged); stereo is mixed down; a truncated file (data chunk shorter than
  its header says, or a header still being written live) is read as far as it goes (logged);
  anything that is not PCM 16-bit / float32 WAV raises :class:`AudioFormatError`.
* :class:`WindowCutter`: turns one participant's live PCM into transcription windows cut at
  pauses (>= ``min_pause_ms`` of silence, <= ``max_window_ms``), with an energy VAD whose
  threshold adapts to the participant's noise floor and speech level. While speech continues it
  emits *partial* windows (every ``partial_every_ms``); at the pause it emits the *final* window.
  Windows carry byte offsets into the participant's recording data (the WAV data chunk) and
  times in ms relative to the meeting start.

The VAD is energy based on purpose: :meth:`WindowCutter.feed` runs on the ingest event loop for
every 20 ms frame of every participant, so it must cost O(frame) (one mean of squares per 20 ms).
faster-whisper's bundled Silero VAD costs a model call per 30 ms chunk (~0.1 ms each on one core
via onnxruntime, plus a 64 ms context), which does not fit that budget; see docs/whisper.md.

The cutter stays beside the format and the WAV reading (about 530 lines in all): its windows are
byte ranges of a recording's data chunk, read back with :func:`read_pcm_range`, and
:func:`cut_windows` replays a whole file through it exactly as live.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import struct
import wave
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from streams.rtms.protocol import (
    FRAME_BYTES,
    FRAME_MS,
    PCM_BYTES_PER_MS,
    PCM_BYTES_PER_SAMPLE,
    PCM_SAMPLE_RATE,
)
from transcription.levels import SILENCE_DBFS, frame_dbfs

logger = logging.getLogger(__name__)

# The recordings' PCM format is what RTMS delivers (s16le 16 kHz mono, 20 ms frames), which is
# also Whisper's input rate: one source, the protocol module (pure, imports nothing of ours).
SAMPLE_RATE = PCM_SAMPLE_RATE
BYTES_PER_SAMPLE = PCM_BYTES_PER_SAMPLE
BYTES_PER_MS = PCM_BYTES_PER_MS  # 32
# A window closes after this much non-speech. 500 ms, not 300: cutting at every 300 ms breath
# splits sentences and Whisper loses their context (AMI excerpt, 4 headset streams, tiny.en:
# WER 25.4 % at 300 ms, 24.6 % at 400, 22.4 % at 500, 20.3 % at 800; see docs/whisper.md).
MIN_PAUSE_MS = 500
PEAK_CONTEXT_MS = 60_000  # how much of a participant's past audio sets their speech peak


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
    and :class:`WindowCutter` count. A range past the end returns what exists (maybe nothing).
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


# --- live windowing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A span of one participant's recording to transcribe.

    ``byte_offset``/``byte_length``: into the recording's data chunk (s16le, 32 bytes per ms).
    ``start_ms``/``end_ms``: relative to the meeting start. ``is_final``: False for a partial
    (the speaker is still talking; a later window with the same ``byte_offset`` supersedes it).
    ``is_tentative``: a partial with exactly the range the final window will have if the pause
    that has begun lasts (see :class:`WindowCutter`'s ``early_final_ms``).
    """

    byte_offset: int
    byte_length: int
    start_ms: int
    end_ms: int
    is_final: bool
    speech_ms: int
    is_tentative: bool = False


class WindowCutter:
    """Cut one participant's live PCM into windows at pauses. Not thread-safe; one per participant.

    Feed consecutive chunks (any length; RTMS sends 20 ms) with :meth:`feed`; each call returns
    the windows completed by that chunk (usually none). :meth:`flush` closes the open window.

    VAD: a 20 ms frame is speech when its level is above all of ``abs_floor_dbfs``, the noise
    floor (the minimum level over the last ``noise_window_ms``) + ``snr_db`` and the tracked speech peak - ``peak_range_db`` (the last one keeps
    headset cross-talk from other speakers out of a loud participant's windows).
    A window opens at the first speech frame (minus ``pre_roll_ms``), emits a first partial
    ``first_partial_ms`` after it opened (1.2 s, at most ``partial_every_ms``: a line shows on the
    page within about 2 s of the first word) and one every ``partial_every_ms`` after that while it grows, and closes as final after ``min_pause_ms`` of non-speech
    (keeping ``post_roll_ms``) or, at ``max_window_ms``, at its quietest frame past
    ``min_window_ms``. Windows with less than ``min_speech_ms`` of speech are dropped.
    A chunk whose byte offset or start time does not follow the previous one (a gap) closes the
    open window first.

    Tentative final: after ``early_final_ms`` of a pause (300 ms, past the ``post_roll_ms`` kept),
    the final window's range is already known; it is emitted at once as a partial marked
    ``is_tentative`` so transcription can start 200 ms before the pause is confirmed. If the
    pause reaches ``min_pause_ms`` the final window follows with the same range (and reuses the
    tentative's transcript, :mod:`transcription.windows`); if the speaker goes on, it was
    one more partial. :meth:`tentative` does the same for a participant who sent nothing more.
    """

    def __init__(
        self,
        *,
        min_pause_ms: int = MIN_PAUSE_MS,
        max_window_ms: int = 10_000,
        min_window_ms: int = 3_000,
        partial_every_ms: int = 2_500,
        first_partial_ms: int | None = 1_200,
        min_speech_ms: int = 200,
        pre_roll_ms: int = 200,
        post_roll_ms: int = 200,
        early_final_ms: int | None = 300,
        abs_floor_dbfs: float = -78.0,
        snr_db: float = 10.0,
        peak_range_db: float = 32.0,
        noise_window_ms: int = 5_000,
    ) -> None:
        self.min_pause_ms = min_pause_ms
        self.max_window_ms = max_window_ms
        self.min_window_ms = min_window_ms
        self.partial_every_ms = partial_every_ms
        first_partial_ms = (
            partial_every_ms if first_partial_ms is None else min(first_partial_ms, partial_every_ms)
        )
        if first_partial_ms <= 0:
            raise ValueError("first_partial_ms must be positive")
        self.first_partial_ms = first_partial_ms
        self.min_speech_ms = min_speech_ms
        self.pre_roll_bytes = pre_roll_ms * BYTES_PER_MS
        self.post_roll_bytes = post_roll_ms * BYTES_PER_MS
        if early_final_ms is not None and not post_roll_ms <= early_final_ms < min_pause_ms:
            raise ValueError("early_final_ms must be between post_roll_ms and min_pause_ms")
        self.early_final_ms = early_final_ms
        self._tentative_end: int | None = None  # end of the tentative sent for the open window
        self.abs_floor_dbfs = abs_floor_dbfs
        self.snr_db = snr_db
        self.peak_range_db = peak_range_db
        # Stream position (data-chunk bytes) and its meeting time anchor.
        self._pos: int | None = None  # byte offset of the next expected byte
        self._anchor_byte = 0
        self._anchor_ms = 0
        self._carry = b""  # bytes of an incomplete 20 ms frame
        self._floor = SILENCE_DBFS
        self._peak = -60.0
        self._block_min = 0.0  # minimum level of the current 100 ms block
        self._block_frames = 0
        self._blocks: deque[float] = deque(maxlen=noise_window_ms // 100)
        # Open window.
        self._start: int | None = None
        self._start_ms = 0
        self._last_voice_end = 0
        self._speech_ms = 0
        self._silence_ms = 0
        self._next_partial = 0
        self._quietest: tuple[float, int] | None = None  # (dBFS, byte offset) past min_window_ms
        self._window_floor = 0  # windows never start before the previous window's end

    # Byte offset <-> meeting ms for the current anchor (the latest chunk's start).
    def _ms(self, byte: int) -> int:
        return self._anchor_ms + (byte - self._anchor_byte) // BYTES_PER_MS

    @property
    def position(self) -> int:
        """Byte offset just past the last byte fed (0 before the first chunk)."""
        return self._pos or 0

    @property
    def in_speech(self) -> bool:
        """True while a window is open (the participant is talking or paused < min_pause_ms)."""
        return self._start is not None

    def feed(self, pcm: bytes, *, byte_offset: int, start_ms: int) -> list[Window]:
        """Process one chunk at ``byte_offset`` (data-chunk bytes) starting at ``start_ms``."""
        out: list[Window] = []
        if self._pos is not None:
            expected_ms = self._ms(self._pos)
            if byte_offset != self._pos or abs(start_ms - expected_ms) > self.min_pause_ms:
                out.extend(self.flush())
                self._carry = b""
        if self._pos is None or byte_offset != self._pos:
            self._carry = b""
            self._window_floor = byte_offset
        # Anchor the times on this chunk; carried bytes belong just before it.
        self._anchor_byte, self._anchor_ms = byte_offset, start_ms
        data = self._carry + pcm
        base = byte_offset - len(self._carry)
        usable = len(data) - len(data) % FRAME_BYTES
        if usable:
            levels = frame_dbfs(pcm16_to_float32(data[:usable]))
            for index, level in enumerate(levels.tolist()):
                window = self._frame(base + index * FRAME_BYTES, level)
                if window is not None:
                    out.extend(window)
        self._carry = data[usable:]
        self._pos = byte_offset + len(pcm)
        return out

    def _is_voiced(self, level: float) -> bool:
        threshold = max(self.abs_floor_dbfs, self._floor + self.snr_db, self._peak - self.peak_range_db)
        voiced = level > threshold
        # Noise floor: the minimum level over the last ``noise_window_ms`` (minimum statistics in
        # 100 ms blocks: one min() over 50 numbers every 5 frames); speech peak: rises at once,
        # decays ~1 dB/s.
        self._block_min = level if self._block_frames == 0 else min(self._block_min, level)
        self._block_frames += 1
        if self._block_frames == 100 // FRAME_MS:
            self._blocks.append(self._block_min)
            self._block_frames = 0
            self._floor = min(self._blocks)
        elif not self._blocks:
            self._floor = self._block_min
        if voiced:
            self._peak = max(self._peak, level)
        self._peak = max(self._peak - 0.02, self._floor + self.snr_db)
        return voiced

    def _frame(self, frame_start: int, level: float) -> list[Window] | None:
        voiced = self._is_voiced(level)
        frame_end = frame_start + FRAME_BYTES
        if self._start is None:
            if not voiced:
                return None
            self._start = max(self._window_floor, frame_start - self.pre_roll_bytes)
            self._start_ms = self._ms(self._start)
            self._speech_ms = 0
            self._silence_ms = 0
            self._next_partial = self._start + self.first_partial_ms * BYTES_PER_MS
            self._quietest = None
        if voiced:
            self._speech_ms += FRAME_MS
            self._silence_ms = 0
            self._last_voice_end = frame_end
        else:
            self._silence_ms += FRAME_MS
        length_ms = (frame_end - self._start) // BYTES_PER_MS
        if length_ms >= self.min_window_ms and (self._quietest is None or level <= self._quietest[0]):
            self._quietest = (level, frame_start + FRAME_BYTES // 2)
        if self._silence_ms >= self.min_pause_ms:
            end = min(frame_end, self._last_voice_end + self.post_roll_bytes)
            return self._close(end)
        if self._silence_ms == self.early_final_ms:
            return self._tentative(self._last_voice_end + self.post_roll_bytes)
        if length_ms >= self.max_window_ms:
            cut = self._quietest[1] if self._quietest else frame_end
            cut -= cut % 2
            closed = self._close(cut)
            if cut < frame_end:  # the rest of the window continues as a new one
                self._start = cut
                self._start_ms = self._ms(cut)
                self._speech_ms = max(0, (self._last_voice_end - cut) // BYTES_PER_MS)
                self._silence_ms = 0 if voiced else self._silence_ms
                self._next_partial = cut + self.partial_every_ms * BYTES_PER_MS
                self._quietest = None
            return closed
        if frame_end >= self._next_partial and self._speech_ms >= self.min_speech_ms and voiced:
            self._next_partial = frame_end + self.partial_every_ms * BYTES_PER_MS
            return [self._window(self._start, frame_end, is_final=False)]
        return None

    def _window(self, start: int, end: int, *, is_final: bool) -> Window:
        return Window(
            byte_offset=start,
            byte_length=end - start,
            start_ms=self._start_ms,
            end_ms=self._start_ms + (end - start) // BYTES_PER_MS,
            is_final=is_final,
            speech_ms=self._speech_ms,
        )

    def _final_worthy(self) -> bool:
        partial_sent = self._next_partial > self._start + self.partial_every_ms * BYTES_PER_MS
        return self._speech_ms >= self.min_speech_ms or partial_sent

    def _tentative(self, end: int) -> list[Window]:
        if (
            self._start is None
            or end <= self._start
            or end == self._tentative_end
            or not self._final_worthy()
        ):
            return []
        self._tentative_end = end
        window = self._window(self._start, end, is_final=False)
        return [dataclasses.replace(window, is_tentative=True)]

    def tentative(self) -> list[Window]:
        """The tentative final of the open window as :meth:`flush` would close it now (at most
        once per range): for a participant who has sent nothing for ``early_final_ms``."""
        if self._start is None or self._pos is None or self.early_final_ms is None:
            return []
        end = min(self._pos - len(self._carry), self._last_voice_end + self.post_roll_bytes)
        return self._tentative(end)

    def _close(self, end: int) -> list[Window]:
        start = self._start
        if start is None:
            return []
        self._tentative_end = None
        window = self._window(start, end, is_final=True)
        worthy = self._final_worthy()
        self._start = None
        self._window_floor = end
        if not worthy:
            return []
        return [window] if end > start else []

    def flush(self) -> list[Window]:
        """Close the open window (stream end, or a gap): returns it as final, if it has speech."""
        if self._start is None or self._pos is None:
            return []
        end = min(self._pos - len(self._carry), self._last_voice_end + self.post_roll_bytes)
        end = max(end, self._start)
        return self._close(end)


def cut_windows(samples: np.ndarray, *, start_ms: int = 0) -> list[Window]:
    """Final windows of a whole recording, cut at pauses exactly as live (20 ms chunks)."""
    pcm = float32_to_pcm16(samples)
    cutter = WindowCutter()
    windows: list[Window] = []
    for offset in range(0, len(pcm), FRAME_BYTES):
        chunk = pcm[offset : offset + FRAME_BYTES]
        windows.extend(cutter.feed(chunk, byte_offset=offset, start_ms=start_ms + offset // BYTES_PER_MS))
    windows.extend(cutter.flush())
    return [w for w in windows if w.is_final]

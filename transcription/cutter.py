"""The pause-based window cutter: one participant's PCM into transcription windows (pure numpy,
no Django).

:class:`WindowCutter` turns one participant's live PCM (s16le 16 kHz mono, :mod:`transcription.audio`)
into windows cut at pauses (>= ``min_pause_ms`` of silence, <= ``max_window_ms``), with an
energy VAD whose threshold adapts to the participant's noise floor and speech level. While
speech continues it emits *partial* windows (every ``partial_every_ms``); at the pause it emits
the *final* window. Windows carry byte offsets into the participant's recording data (the WAV
data chunk, read back with :func:`transcription.audio.read_pcm_range`) and times in ms relative
to the meeting start. :func:`cut_windows` replays a whole file through it exactly as live
(re-transcription, the benchmarks).

The VAD is energy based on purpose: :meth:`WindowCutter.feed` runs on the ingest event loop for
every 20 ms frame of every participant, so it must cost O(frame) (one mean of squares per 20 ms).
faster-whisper's bundled Silero VAD costs a model call per 30 ms chunk (~0.1 ms each on one core
via onnxruntime, plus a 64 ms context), which does not fit that budget; see docs/whisper.md.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass

import numpy as np

from streams.rtms.protocol import FRAME_BYTES, FRAME_MS
from transcription.audio import BYTES_PER_MS, float32_to_pcm16, pcm16_to_float32
from transcription.levels import SILENCE_DBFS, frame_dbfs

# A window closes after this much non-speech. 500 ms, not 300: cutting at every 300 ms breath
# splits sentences and Whisper loses their context (AMI excerpt, 4 headset streams, tiny.en:
# WER 25.4 % at 300 ms, 24.6 % at 400, 22.4 % at 500, 20.3 % at 800; see docs/whisper.md).
MIN_PAUSE_MS = 500
PEAK_CONTEXT_MS = 60_000  # how much of a participant's past audio sets their speech peak


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

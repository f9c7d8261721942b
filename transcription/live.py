"""Live Whisper fallback for one RTMS stream: decide when, and cut the audio into windows.

The ingest runner owns one :class:`LiveTranscriber` per stream and calls it on its event loop::

    transcriber = LiveTranscriber(
        stream_id=stream.pk,
        meeting_id=meeting.pk,
        mode=meeting.transcript_mode,  # "auto" | "zoom" | "whisper"
        fallback_after_s=settings.TRANSCRIPT_FALLBACK_SECONDS,
    )
    transcriber.zoom_transcript_available(False)  # transcript media not granted (or absent)
    transcriber.zoom_transcript_available(True, until_ms=end_ms)  # every Zoom transcript frame
    # for every audio frame, after its bytes are written (and flushed) to the recording file:
    specs = transcriber.feed(
        recording_id=recording.pk,     # the participant's AudioRecording (or the mixed one)
        participant_id=participant.pk, # None for the mixed stream
        pcm=frame_pcm,                 # s16le 16 kHz mono bytes of this frame
        byte_offset=offset,            # where these bytes start in the recording's data chunk
        start_ms=start_ms,             # the frame's start, ms relative to the meeting start
    )
    # on every flush tick (meeting time now): close windows of participants who went silent
    # without sending silence (Zoom sends no packets for them)
    specs += transcriber.close_idle(now_ms)
    # at stream end (stopped, or handing over): close every open window
    specs += transcriber.flush()
    # persist (sync, after the bytes are on disk):
    await database_sync_to_async(audio_windows_create)(specs=specs)

:meth:`LiveTranscriber.feed` costs O(frame): one level computation per 20 ms and a few int
comparisons (about 25 µs per frame on this machine). Nothing here touches the database.

When Whisper is active (:attr:`LiveTranscriber.active`):

* mode ``"whisper"``: always; mode ``"zoom"``: never;
* mode ``"auto"``: when transcript media is not available (``zoom_transcript_available(False)``),
  or when someone has been speaking for ``fallback_after_s`` seconds (meeting time) with no
  Zoom transcript frame since the speech began. Speech up to the end of the latest Zoom
  utterance (``until_ms``) counts as answered: Zoom sends an utterance when it ends, and audio
  is fed in flush batches, so the tail of an answered utterance must not start the timer. The windows cut while waiting for that verdict
  (the first seconds of the unanswered speech) are released on activation, so nothing said is
  lost. A Zoom transcript frame switches an automatic fallback off again (windows already
  started are still finished, so no partial segment is left behind).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from transcription.audio import BYTES_PER_MS
from transcription.cutter import MIN_PAUSE_MS, Window, WindowCutter

logger = logging.getLogger(__name__)

MODES = ("auto", "zoom", "whisper")
BACKLOG_LIMIT = 200
IDLE_CLOSE_MS = MIN_PAUSE_MS  # a participant silent (no packets) this long has paused, as in the cutter
IDLE_TENTATIVE_MS = 300  # ... and this long: the tentative final (WindowCutter's early_final_ms)
IDLE_WALL_S = 2.0  # ... and not fed for this long (longer than the runner's flush interval)


@dataclass(frozen=True)
class WindowSpec:
    """One window to persist with :func:`transcription.windows.audio_windows_create`.

    Byte offsets index the recording's data chunk; ``start_ms``/``end_ms`` are meeting time;
    ``speech_end_wall_ms`` is the wall clock (epoch ms) at which the last speech in the window
    was received (the latency benchmark measures from it).
    """

    stream_id: int | None
    meeting_id: int
    recording_id: int
    participant_id: int | None
    byte_offset: int
    byte_length: int
    start_ms: int
    end_ms: int
    is_final: bool
    speech_end_wall_ms: int
    is_tentative: bool = False  # a partial with the range the final will have (transcription.cutter.Window)


class LiveTranscriber:
    def __init__(
        self,
        *,
        stream_id: int | None,
        meeting_id: int,
        mode: str,
        fallback_after_s: float,
        idle_wall_s: float = IDLE_WALL_S,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"transcript mode must be one of {MODES}, got {mode!r}")
        self.stream_id = stream_id
        self.meeting_id = meeting_id
        self.mode = mode
        self.fallback_after_ms = int(fallback_after_s * 1000)
        self.transcript_media: bool | None = None  # unknown until the runner says
        self.fallback = False  # automatic fallback engaged (mode "auto")
        self._cutters: dict[int, WindowCutter] = {}
        self._participants: dict[int, int | None] = {}
        self._open: set[tuple[int, int]] = set()  # (recording, byte_offset) with a partial sent
        self._unanswered_since_ms: int | None = None
        self._answered_until_ms = -1  # meeting ms: speech before this has a Zoom transcript
        self._backlog: list[WindowSpec] = []
        self._last_end_ms: dict[int, int] = {}  # per recording: meeting ms just past its last frame
        self._next_idle_check_ms = 0
        self._last_feed_wall: dict[int, float] = {}
        self.idle_wall_s = idle_wall_s

    # --- decisions ---------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True when Whisper windows are being emitted for this stream."""
        if self.mode == "whisper":
            return True
        if self.mode == "zoom":
            return False
        return self.transcript_media is False or self.fallback

    def set_mode(self, mode: str) -> None:
        """The meeting's transcript mode changed (e.g. set to "whisper" in the admin)."""
        if mode not in MODES:
            raise ValueError(f"transcript mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def zoom_transcript_available(self, available: bool, *, until_ms: int | None = None) -> None:
        """``False``: the stream has no transcript media. ``True``: a Zoom transcript frame arrived;
        ``until_ms`` (meeting ms) is the end of that utterance, when Zoom gave one."""
        if not available:
            self.transcript_media = False
            return
        self.transcript_media = True
        if until_ms is not None:
            self._answered_until_ms = max(self._answered_until_ms, until_ms)
        self._unanswered_since_ms = None
        self._backlog.clear()
        if self.fallback:
            logger.info("stream %s: Zoom transcript is back; Whisper fallback off", self.stream_id)
            self.fallback = False

    # --- audio -------------------------------------------------------------------------------

    def feed(
        self,
        *,
        recording_id: int,
        participant_id: int | None,
        pcm: bytes,
        byte_offset: int,
        start_ms: int,
    ) -> list[WindowSpec]:
        """Process one frame of one participant; returns the windows to persist (usually none)."""
        if self.mode == "zoom":
            return []
        cutter = self._cutters.get(recording_id)
        if cutter is None:
            cutter = self._cutters[recording_id] = WindowCutter()
        self._participants[recording_id] = participant_id
        windows = cutter.feed(pcm, byte_offset=byte_offset, start_ms=start_ms)
        self._last_end_ms[recording_id] = start_ms + len(pcm) // BYTES_PER_MS
        self._last_feed_wall[recording_id] = time.monotonic()
        was_active = self.active
        if self.mode == "auto" and not was_active and self.transcript_media is not False:
            if cutter.in_speech and self._unanswered_since_ms is None and start_ms > self._answered_until_ms:
                self._unanswered_since_ms = start_ms
            if (
                self._unanswered_since_ms is not None
                and start_ms - self._unanswered_since_ms >= self.fallback_after_ms
            ):
                logger.info(
                    "stream %s: no Zoom transcript for %.1f s of speech; Whisper fallback on",
                    self.stream_id,
                    (start_ms - self._unanswered_since_ms) / 1000,
                )
                self.fallback = True
        end_of_frame = byte_offset + len(pcm)
        specs = [self._spec(recording_id, w, end_of_frame) for w in windows]
        if start_ms >= self._next_idle_check_ms:  # at most every 100 ms of meeting time
            self._next_idle_check_ms = start_ms + 100
            specs += self._idle_specs(start_ms, skip=recording_id, wall_s=self.idle_wall_s)
        return self._route(specs, released=self.active and not was_active)

    def close_idle(self, now_ms: int) -> list[WindowSpec]:
        """Close the windows of participants who sent nothing for ``IDLE_CLOSE_MS`` up to ``now_ms``
        (meeting time). Zoom sends no packets for a silent participant, so their trailing pause
        never reaches :meth:`feed`. Call it on each flush tick *after* feeding that flush's ranges.
        :meth:`feed` also checks, but only for tracks not fed for ``idle_wall_s`` of wall time."""
        return self._route(self._idle_specs(now_ms, skip=None, wall_s=0.0), released=False)

    def _idle_specs(self, now_ms: int, *, skip: int | None, wall_s: float) -> list[WindowSpec]:
        # The runner feeds each flush's ranges track after track, so another track being behind
        # in meeting time proves nothing by itself: it must also not have been fed for wall_s.
        specs: list[WindowSpec] = []
        wall_now = time.monotonic()
        for recording_id, cutter in self._cutters.items():
            if recording_id == skip or not cutter.in_speech:
                continue
            if wall_now - self._last_feed_wall.get(recording_id, wall_now) < wall_s:
                continue
            idle_ms = now_ms - self._last_end_ms.get(recording_id, now_ms)
            if idle_ms >= IDLE_CLOSE_MS:
                specs.extend(self._spec(recording_id, w, cutter.position) for w in cutter.flush())
            elif idle_ms >= IDLE_TENTATIVE_MS:
                specs.extend(self._spec(recording_id, w, cutter.position) for w in cutter.tentative())
        return specs

    def flush(self) -> list[WindowSpec]:
        """Stream end: close every participant's open window (as final)."""
        specs = []
        for recording_id, cutter in self._cutters.items():
            specs.extend(self._spec(recording_id, w, cutter.position) for w in cutter.flush())
        return self._route(specs, released=False)

    def _route(self, specs: list[WindowSpec], *, released: bool) -> list[WindowSpec]:
        out: list[WindowSpec] = []
        if released:
            out.extend(self._backlog)
            self._backlog.clear()
        for spec in specs:
            key = (spec.recording_id, spec.byte_offset)
            if self.active or key in self._open:
                out.append(spec)
                if spec.is_final:
                    self._open.discard(key)
                else:
                    self._open.add(key)
            elif spec.is_final and self.mode == "auto" and self._unanswered_since_ms is not None:
                self._backlog.append(spec)  # released if the fallback engages
                del self._backlog[:-BACKLOG_LIMIT]
        return out

    def _spec(self, recording_id: int, window: Window, end_of_fed: int) -> WindowSpec:
        # Wall-clock time the last speech of the window arrived: now, minus what came after it.
        trailing_ms = max(0, end_of_fed - (window.byte_offset + window.byte_length)) // BYTES_PER_MS
        return WindowSpec(
            stream_id=self.stream_id,
            meeting_id=self.meeting_id,
            recording_id=recording_id,
            participant_id=self._participants.get(recording_id),
            byte_offset=window.byte_offset,
            byte_length=window.byte_length,
            start_ms=window.start_ms,
            end_ms=window.end_ms,
            is_final=window.is_final,
            speech_end_wall_ms=int(time.time() * 1000) - trailing_ms - 200,  # 200 = the post-roll kept
            is_tentative=window.is_tentative,
        )

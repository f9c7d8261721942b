"""The scenario model the emulator plays: participants and their audio, transcript, chat, events.

A :class:`Scenario` is what :mod:`rtms_emulator.player` plays; it comes from a JSON file
(:mod:`rtms_emulator.scenario_loader`, which documents the format) or is generated
(:mod:`rtms_emulator.scenario_generator`, the long load-test meeting). Audio is L16 16 kHz mono
(the RTMS wire default, PROTOCOL.md §10.1); WAVs must be 16 kHz mono 16-bit. Shared recordings
live under ``$RTMS_SHARED_DATA`` (default ``<repo>/../shared/data``, :func:`shared_data_dir`).

Time in a scenario is **seconds of meeting time** from the stream's media start (the emulator's
FIRST_PACKET_TIMESTAMP); the emulator turns it into epoch ms on the wire. Audio is cut into 20 ms
frames (``FRAME_BYTES`` = 640 bytes); a participant's audio is placed at whole 20 ms ticks.

Errors: a bad scenario file, WAV or generator argument raises :class:`ScenarioError`.
"""

from __future__ import annotations

import base64
import bisect
import math
import os
import wave
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from streams.rtms.protocol import FRAME_BYTES, FRAME_MS, PCM_SAMPLE_RATE

FRAME_SAMPLES = FRAME_BYTES // 2
_MISSING = object()
FIRST_USER_ID = 16778240  # Zoom-like user ids: 16778240, 16779264, ... (step 1024)


class ScenarioError(ValueError):
    """A scenario file or generator argument is invalid; the message names the file and field."""


def shared_data_dir() -> Path:
    """``$RTMS_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("RTMS_SHARED_DATA", "").strip()
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def read_wav_pcm16(path: Path) -> np.ndarray:
    """Samples of a 16 kHz mono 16-bit WAV as int16. ScenarioError on any other format."""
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (PCM_SAMPLE_RATE, 1, 2):
                raise ScenarioError(
                    f"{path}: need 16000 Hz mono 16-bit PCM, got {wav.getframerate()} Hz, "
                    f"{wav.getnchannels()} channel(s), {8 * wav.getsampwidth()}-bit"
                )
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise ScenarioError(f"audio file not found: {path}") from None
    except (wave.Error, EOFError) as exc:
        raise ScenarioError(f"{path}: not a readable WAV file ({exc})") from None
    return np.frombuffer(raw, dtype="<i2")


class Clip:
    """PCM samples padded to whole 20 ms frames, with per-frame bytes and a silence map."""

    def __init__(self, samples: np.ndarray, *, name: str = "") -> None:
        n_frames = max(1, math.ceil(len(samples) / FRAME_SAMPLES))
        padded = np.zeros(n_frames * FRAME_SAMPLES, dtype="<i2")
        padded[: len(samples)] = samples
        self.name = name
        self.samples = padded
        self.n_frames = n_frames
        frames = padded.reshape(n_frames, FRAME_SAMPLES)
        self.silent = ~frames.any(axis=1)
        self._bytes = padded.tobytes()

    def frame(self, index: int) -> bytes:
        return self._bytes[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]


@dataclass(frozen=True)
class Segment:
    """A clip placed on a participant's track at a 20 ms tick."""

    start_tick: int
    clip: Clip

    @property
    def end_tick(self) -> int:
        return self.start_tick + self.clip.n_frames


@dataclass(frozen=True)
class Participant:
    """One meeting participant. ``join``/``leave`` in seconds (leave None = stays to the end)."""

    key: str
    user_id: int
    user_name: str
    segments: tuple[Segment, ...] = ()
    join: float = 0.0
    leave: float | None = None

    @cached_property
    def _starts(self) -> list[int]:
        return [s.start_tick for s in self.segments]

    def frame(self, tick: int) -> bytes | None:
        """The participant's 20 ms frame at ``tick`` (None when no audio segment covers it)."""
        i = bisect.bisect_right(self._starts, tick) - 1
        if i < 0:
            return None
        seg = self.segments[i]
        if tick >= seg.end_tick:
            return None
        return seg.clip.frame(tick - seg.start_tick)

    def is_silent(self, tick: int) -> bool:
        i = bisect.bisect_right(self._starts, tick) - 1
        if i < 0 or tick >= self.segments[i].end_tick:
            return True
        seg = self.segments[i]
        return bool(seg.clip.silent[tick - seg.start_tick])

    def present(self, tick: int) -> bool:
        t = tick * FRAME_MS / 1000
        return t >= self.join - 1e-9 and (self.leave is None or t < self.leave - 1e-9)

    @property
    def audio_end(self) -> float:
        return max((s.end_tick for s in self.segments), default=0) * FRAME_MS / 1000


@dataclass(frozen=True)
class Utterance:
    """One Zoom transcript utterance (msg 17), seconds of meeting time."""

    participant: str
    start: float
    end: float
    text: str
    language: int = 9


@dataclass(frozen=True)
class ChatMessage:
    at: float
    participant: str
    text: str
    to: str | None = None


@dataclass(frozen=True)
class TimelineEvent:
    """A timed scenario entry: join/leave/active_speaker/sharing_*/pause/resume/fault."""

    at: float
    type: str
    participant: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    """A loaded scenario. ``transcript`` None means: no transcript media at all."""

    name: str
    participants: tuple[Participant, ...]
    transcript: tuple[Utterance, ...] | None = None
    chat: tuple[ChatMessage, ...] = ()
    events: tuple[TimelineEvent, ...] = ()
    duration: float = 0.0
    silence: str = "skip"
    mixed: Clip | None = None
    description: str = ""
    source: Path | None = None
    _mixed_cache: dict[int, bytes] = field(default_factory=dict, repr=False)
    _payload_cache: dict[tuple[int, int, int], tuple[bytes, str] | None] = field(
        default_factory=dict, repr=False
    )

    @property
    def n_ticks(self) -> int:
        return math.ceil(self.duration * 1000 / FRAME_MS)

    def participant(self, key: str) -> Participant:
        for p in self.participants:
            if p.key == key:
                return p
        raise KeyError(key)

    def by_user_id(self) -> dict[int, Participant]:
        return {p.user_id: p for p in self.participants}

    def mixed_frame(self, tick: int) -> bytes:
        """AUDIO_MIXED_STREAM frame at ``tick``: the room mix file, or the clipped sum of the
        present participants' tracks (cached for meetings up to 10 minutes)."""
        cached = self._mixed_cache.get(tick)
        if cached is not None:
            return cached
        if self.mixed is not None:
            data = self.mixed.frame(tick) if tick < self.mixed.n_frames else bytes(FRAME_BYTES)
        else:
            acc = None
            for p in self.participants:
                if not p.present(tick):
                    continue
                frame = p.frame(tick)
                if frame is None:
                    continue
                arr = np.frombuffer(frame, dtype="<i2").astype(np.int32)
                acc = arr if acc is None else acc + arr
            data = bytes(FRAME_BYTES) if acc is None else np.clip(acc, -32768, 32767).astype("<i2").tobytes()
        if self.duration <= 600:
            self._mixed_cache[tick] = data
        return data

    def multi_frame(self, participant: Participant, tick: int) -> bytes | None:
        """AUDIO_MULTI_STREAMS frame for one participant at ``tick``; None = no packet (absent,
        no audio there, or digital silence with ``silence: "skip"``)."""
        if not participant.present(tick):
            return None
        frame = participant.frame(tick)
        if frame is None:
            return bytes(FRAME_BYTES) if self.silence == "send" else None
        if self.silence == "skip" and participant.is_silent(tick):
            return None
        return frame

    def audio_payload(
        self, participant: Participant | None, tick: int, k: int = 1
    ) -> tuple[bytes, str] | None:
        """Bytes and base64 of one audio packet of ``k`` frames from ``tick``: a participant's
        multi-stream packet (None = no packet: all its frames absent or silent) or, with
        ``participant`` None, the mixed packet. Cached on the scenario (shared by every stream
        playing it) for scenarios up to 500 000 packets."""
        key = (participant.user_id if participant else 0, tick, k)
        cached = self._payload_cache.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        ticks = range(tick, min(tick + k, self.n_ticks))
        result: tuple[bytes, str] | None
        if participant is None:
            data = b"".join(self.mixed_frame(t) for t in ticks)
            result = (data, b64(data))
        else:
            frames = [self.multi_frame(participant, t) for t in ticks]
            if all(f is None for f in frames):
                result = None
            else:
                data = b"".join(f if f is not None else bytes(FRAME_BYTES) for f in frames)
                result = (data, b64(data))
        if self.n_ticks * (len(self.participants) + 1) <= 500_000:
            self._payload_cache[key] = result
        return result

    def expected_audio(self, user_id: int, *, paused: list[tuple[float, float]] | None = None) -> bytes:
        """All multi-stream bytes a participant sends in an unfaulted play (20 ms granularity)."""
        p = self.by_user_id()[user_id]
        out = bytearray()
        for tick in range(self.n_ticks):
            t = tick * FRAME_MS / 1000
            if paused and any(a <= t < b for a, b in paused):
                continue
            frame = self.multi_frame(p, tick)
            if frame is not None:
                out += frame
        return bytes(out)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

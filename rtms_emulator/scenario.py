"""Meeting scenarios the emulator plays: participants, audio, transcript, chat, events, faults.

A scenario is a JSON file (format in docs/emulator.md and below) or a generated long meeting.
Audio is L16 16 kHz mono (the RTMS wire default, PROTOCOL.md §10.1); WAVs must be 16 kHz mono
16-bit. Paths starting with ``data:`` resolve against ``$RTMS_SHARED_DATA`` (default
``<repo>/../shared/data``); other relative paths against the scenario file's folder.

Time in a scenario is **seconds of meeting time** from the stream's media start (the emulator's
FIRST_PACKET_TIMESTAMP); the emulator turns it into epoch ms on the wire. Audio is cut into 20 ms
frames (``FRAME_BYTES`` = 640 bytes); a participant's ``audio_offset`` is rounded to 20 ms.

JSON format (all keys except ``participants`` optional)::

    {
      "name": "planning_meeting",
      "description": "...",
      "duration": 69.0,                      # default: end of the last audio / utterance / event + 0.5 s
      "audio": {"silence": "skip",           # "skip": no multi-stream packet for an all-zero frame
                                             # (Zoom sends none for muted users); "send": every frame
                "mixed": "data:speech/x.wav"},  # optional room mix used for AUDIO_MIXED_STREAM
      "participants": [
        {"id": "alice", "user_id": 16778240, "user_name": "Alice",
         "audio": "data:speech/tts_meeting/meeting_spkA.wav", "audio_offset": 0.0,
         "join": 0.0, "leave": null}
      ],
      "transcript": [{"participant": "alice", "start": 0.0, "end": 5.6, "text": "...", "language": 9}]
        or {"source": "data:speech/tts_meeting/meeting.json", "format": "tts_meeting",
            "speakers": {"A": "alice", "B": "bob"}},
        (absent or null: no transcript media at all, which forces a Whisper fallback)
      "active_speaker": "transcript" | "none" | {"rttm": "data:...rttm", "speakers": {"FEE013": "fee013"}},
      "chat": [{"at": 10.0, "participant": "alice", "text": "...", "to": null}],
      "events": [{"at": 20.0, "type": "sharing_start", "participant": "bob"},
                 {"at": 30.0, "type": "sharing_stop"},
                 {"at": 35.0, "type": "active_speaker", "participant": "alice"},
                 {"at": 40.0, "type": "pause"}, {"at": 45.0, "type": "resume"},
                 {"at": 50.0, "type": "fault", "fault": "media_abort", "media": "audio"}]
    }

Errors: every problem raises :class:`ScenarioError` naming the file and the JSON path
(e.g. ``planning_meeting.json: participants[1].audio: file not found: ...``).
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import os
import random
import re
import wave
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from streams.rtms.protocol import FRAME_BYTES, FRAME_MS, PCM_SAMPLE_RATE

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
FRAME_SAMPLES = FRAME_BYTES // 2
EVENT_TYPES = frozenset(
    {"join", "leave", "active_speaker", "sharing_start", "sharing_stop", "pause", "resume", "fault"}
)
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


def resolve_path(ref: str, *, base: Path | None) -> Path:
    """``data:rel/path`` -> shared data dir; relative -> ``base``; absolute as is."""
    if ref.startswith("data:"):
        return shared_data_dir() / ref[len("data:") :]
    path = Path(ref)
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


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


# ---------------------------------------------------------------------------------------------
# Loading


def _err(where: str, msg: str) -> ScenarioError:
    return ScenarioError(f"{where}: {msg}")


def _num(obj: dict, key: str, where: str, default: float | None = None, *, required: bool = False) -> float:
    if key not in obj or obj[key] is None:
        if required:
            raise _err(where, f"missing required field '{key}'")
        return default  # type: ignore[return-value]
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _err(f"{where}.{key}", f"must be a number >= 0, got {value!r}")
    return float(value)


def _str(obj: dict, key: str, where: str, *, required: bool = True) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise _err(where, f"missing required field '{key}'")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _err(f"{where}.{key}", f"must be a non-empty string, got {value!r}")
    return value


def load_scenario(ref: str | Path) -> Scenario:
    """Load a scenario: a path to a JSON file, or the name of a shipped one (``planning_meeting``,
    ``ami_excerpt``), or ``long:N:M`` (generated: N participants, M minutes, see
    :func:`generate_long_meeting`). Raises ScenarioError with file and field on bad input."""
    text = str(ref)
    match = re.fullmatch(r"long:(\d+):(\d+(?:\.\d+)?)", text)
    if match:
        return generate_long_meeting(participants=int(match[1]), minutes=float(match[2]))
    path = Path(text)
    if not path.suffix and not path.exists():
        path = SCENARIO_DIR / f"{text}.json"
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        shipped = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.json")))
        raise ScenarioError(f"scenario not found: {text} (shipped: {shipped}; or long:N:M)") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path.name}: invalid JSON: {exc}") from None
    try:
        return scenario_from_dict(data, base=path.parent, default_name=path.stem)
    except ScenarioError as exc:
        raise ScenarioError(f"{path.name}: {exc}") from None


def scenario_from_dict(data: Any, *, base: Path | None = None, default_name: str = "scenario") -> Scenario:
    """Build a Scenario from the parsed JSON object (see the module docstring for the format)."""
    if not isinstance(data, dict):
        raise _err("(top)", "a scenario must be a JSON object")
    known = {"name", "description", "duration", "audio", "participants", "transcript", "chat", "events"}
    known |= {"active_speaker"}
    unknown = set(data) - known
    if unknown:
        raise _err("(top)", f"unknown keys {sorted(unknown)}")
    audio = data.get("audio") or {}
    if not isinstance(audio, dict):
        raise _err("audio", "must be an object")
    silence = audio.get("silence", "skip")
    if silence not in ("skip", "send"):
        raise _err("audio.silence", f"must be 'skip' or 'send', got {silence!r}")
    mixed = None
    if audio.get("mixed"):
        mixed = Clip(read_wav_pcm16(resolve_path(_str(audio, "mixed", "audio"), base=base)), name="mixed")

    plist = data.get("participants")
    if not isinstance(plist, list) or not plist:
        raise _err("participants", "must be a non-empty list")
    participants: list[Participant] = []
    seen_keys: set[str] = set()
    seen_ids: set[int] = set()
    for i, item in enumerate(plist):
        where = f"participants[{i}]"
        if not isinstance(item, dict):
            raise _err(where, "must be an object")
        key = _str(item, "id", where)
        if key in seen_keys:
            raise _err(f"{where}.id", f"duplicate participant id {key!r}")
        user_id = item.get("user_id", FIRST_USER_ID + 1024 * i)
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
            raise _err(f"{where}.user_id", f"must be a positive integer, got {user_id!r}")
        if user_id in seen_ids:
            raise _err(f"{where}.user_id", f"duplicate user_id {user_id}")
        segments: tuple[Segment, ...] = ()
        if item.get("audio"):
            try:
                clip = Clip(read_wav_pcm16(resolve_path(_str(item, "audio", where), base=base)), name=key)
            except ScenarioError as exc:
                raise _err(f"{where}.audio", str(exc)) from None
            offset = _num(item, "audio_offset", where, 0.0)
            segments = (Segment(round(offset * 1000 / FRAME_MS), clip),)
        join = _num(item, "join", where, 0.0)
        leave = _num(item, "leave", where, None)
        if leave is not None and leave <= join:
            raise _err(f"{where}.leave", f"must be after join ({join}), got {leave}")
        participants.append(
            Participant(
                key=key,
                user_id=user_id,
                user_name=_str(item, "user_name", where),
                segments=segments,
                join=join,
                leave=leave,
            )
        )
        seen_keys.add(key)
        seen_ids.add(user_id)

    def ref(obj: dict, where: str, field_name: str = "participant", *, required: bool = True) -> str | None:
        value = obj.get(field_name)
        if value is None and not required:
            return None
        if value not in seen_keys:
            raise _err(f"{where}.{field_name}", f"unknown participant {value!r} (known: {sorted(seen_keys)})")
        return value

    transcript = _load_transcript(data.get("transcript"), base=base, ref=ref)

    chat: list[ChatMessage] = []
    chat_raw = data.get("chat") or []
    if not isinstance(chat_raw, list):
        raise _err("chat", "must be a list")
    for i, item in enumerate(chat_raw):
        where = f"chat[{i}]"
        if not isinstance(item, dict):
            raise _err(where, "must be an object")
        chat.append(
            ChatMessage(
                at=_num(item, "at", where, required=True),
                participant=ref(item, where),  # type: ignore[arg-type]
                text=_str(item, "text", where),
                to=ref(item, where, "to", required=False),
            )
        )

    events: list[TimelineEvent] = []
    events_raw = data.get("events") or []
    if not isinstance(events_raw, list):
        raise _err("events", "must be a list")
    for i, item in enumerate(events_raw):
        where = f"events[{i}]"
        if not isinstance(item, dict):
            raise _err(where, "must be an object")
        etype = _str(item, "type", where)
        if etype not in EVENT_TYPES:
            raise _err(f"{where}.type", f"unknown event type {etype!r} (known: {sorted(EVENT_TYPES)})")
        needs_participant = etype in ("join", "leave", "active_speaker", "sharing_start")
        participant = ref(item, where, required=needs_participant)
        params = {k: v for k, v in item.items() if k not in ("at", "type", "participant")}
        if etype == "fault":
            from rtms_emulator.faults import parse_fault_params

            try:
                parse_fault_params(params)
            except ValueError as exc:
                raise _err(where, str(exc)) from None
        events.append(TimelineEvent(_num(item, "at", where, required=True), etype, participant, params))

    active = data.get("active_speaker", "transcript")
    events += _active_speaker_events(active, transcript, base=base, ref=ref, known=seen_keys)
    events.sort(key=lambda e: e.at)

    ends = [p.audio_end for p in participants] + [e.at for e in events] + [c.at for c in chat]
    ends += [u.end for u in transcript or ()]
    if mixed is not None:
        ends.append(mixed.n_frames * FRAME_MS / 1000)
    duration = _num(data, "duration", "(top)", max(ends) + 0.5)
    if duration <= 0:
        raise _err("duration", "must be > 0")
    name = data.get("name") or default_name
    return Scenario(
        name=str(name),
        participants=tuple(participants),
        transcript=transcript,
        chat=tuple(sorted(chat, key=lambda c: c.at)),
        events=tuple(events),
        duration=duration,
        silence=silence,
        mixed=mixed,
        description=str(data.get("description", "")),
        source=base,
    )


def _load_transcript(raw: Any, *, base: Path | None, ref) -> tuple[Utterance, ...] | None:
    if raw is None:
        return None
    utterances: list[Utterance] = []
    if isinstance(raw, dict):
        fmt = raw.get("format")
        if fmt != "tts_meeting":
            raise _err("transcript.format", f"only 'tts_meeting' is supported, got {fmt!r}")
        path = resolve_path(_str(raw, "source", "transcript"), base=base)
        speakers = raw.get("speakers")
        if not isinstance(speakers, dict):
            raise _err("transcript.speakers", "must map the file's speaker labels to participant ids")
        try:
            turns = json.loads(path.read_text(encoding="utf-8"))["turns"]
        except FileNotFoundError:
            raise _err("transcript.source", f"file not found: {path}") from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise _err("transcript.source", f"{path}: not a tts_meeting JSON ({exc})") from None
        for i, turn in enumerate(turns):
            label = turn.get("speaker")
            if label not in speakers:
                raise _err("transcript.speakers", f"no participant for speaker {label!r} (turn {i})")
            key = ref({"participant": speakers[label]}, "transcript.speakers")
            utterances.append(Utterance(key, float(turn["start"]), float(turn["end"]), str(turn["text"])))
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            where = f"transcript[{i}]"
            if not isinstance(item, dict):
                raise _err(where, "must be an object")
            start = _num(item, "start", where, required=True)
            end = _num(item, "end", where, required=True)
            if end < start:
                raise _err(f"{where}.end", f"must be >= start ({start}), got {end}")
            language = item.get("language", 9)
            if isinstance(language, bool) or not isinstance(language, int):
                raise _err(f"{where}.language", f"must be an integer language id, got {language!r}")
            utterances.append(Utterance(ref(item, where), start, end, _str(item, "text", where), language))
    else:
        raise _err("transcript", "must be a list of utterances, a {source, format, speakers} object or null")
    utterances.sort(key=lambda u: u.start)
    return tuple(utterances)


def _active_speaker_events(active: Any, transcript, *, base, ref, known) -> list[TimelineEvent]:
    if active in (None, "none"):
        return []
    turns: list[tuple[float, str]] = []
    if active == "transcript":
        turns = [(u.start, u.participant) for u in transcript or ()]
    elif isinstance(active, dict) and "rttm" in active:
        path = resolve_path(_str(active, "rttm", "active_speaker"), base=base)
        speakers = active.get("speakers") or {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise _err("active_speaker.rttm", f"file not found: {path}") from None
        for n, line in enumerate(lines):
            parts = line.split()
            if len(parts) < 8 or parts[0] != "SPEAKER":
                continue
            label = parts[7]
            key = speakers.get(label, label)
            if key not in known:
                raise _err("active_speaker.speakers", f"RTTM line {n + 1}: no participant for {label!r}")
            turns.append((float(parts[3]), key))
    else:
        raise _err("active_speaker", f"must be 'transcript', 'none' or {{rttm, speakers}}, got {active!r}")
    events = []
    last = None
    for at, key in sorted(turns):
        if key != last:
            events.append(TimelineEvent(at, "active_speaker", key))
            last = key
    return events


# ---------------------------------------------------------------------------------------------
# Generated long meeting (load tests)

_GEN_CLIPS = [
    "speech/jfk",
    "speech/librispeech_2412-153948-0000",
    "speech/fleurs_en_000",
    "speech/fleurs_en_001",
    "speech/fleurs_en_002",
    "speech/fleurs_en_003",
    "speech/fleurs_en_004",
]
_clip_cache: dict[str, tuple[Clip, str]] = {}


def _gen_clip(stem: str) -> tuple[Clip, str]:
    if stem not in _clip_cache:
        base = shared_data_dir() / stem
        text = base.with_suffix(".txt").read_text(encoding="utf-8").strip()
        _clip_cache[stem] = (
            Clip(read_wav_pcm16(base.with_suffix(".wav")), name=stem),
            " ".join(text.split()),
        )
    return _clip_cache[stem]


def generate_long_meeting(
    *,
    participants: int = 6,
    minutes: float = 30.0,
    seed: int = 0,
    transcript: bool = True,
    chat_every: float = 60.0,
) -> Scenario:
    """A long meeting for load tests: ``participants`` people take turns for ``minutes`` minutes.

    Each turn is a real shared clip (JFK, LibriSpeech, FLEURS, 4-12 s) spoken by one participant,
    with 0.3-1.2 s pauses and an occasional overlap; the Zoom transcript (if ``transcript``) is
    each clip's reference text at the turn's exact times. Clips are shared, not copied, so a
    60-minute meeting costs the memory of the 7 clips. Deterministic for a given ``seed``.
    """
    if participants < 1 or participants > 200:
        raise ScenarioError(f"participants must be 1..200, got {participants}")
    if minutes <= 0 or minutes > 24 * 60:
        raise ScenarioError(f"minutes must be in (0, 1440], got {minutes}")
    try:
        clips = [_gen_clip(stem) for stem in _GEN_CLIPS]
    except (FileNotFoundError, ScenarioError) as exc:
        raise ScenarioError(f"generated meeting needs the shared speech clips: {exc}") from None
    rng = random.Random(seed)
    duration = minutes * 60
    per: dict[int, list[Segment]] = {i: [] for i in range(participants)}
    utterances: list[Utterance] = []
    t = 0.5
    last = -1
    while True:
        speaker = rng.randrange(participants)
        if participants > 1 and speaker == last:
            speaker = (speaker + 1) % participants
        clip, text = clips[rng.randrange(len(clips))]
        start_tick = round(t * 1000 / FRAME_MS)
        length = clip.n_frames * FRAME_MS / 1000
        if start_tick * FRAME_MS / 1000 + length > duration - 0.5:
            break
        prev = per[speaker][-1].end_tick if per[speaker] else 0
        start_tick = max(start_tick, prev)
        per[speaker].append(Segment(start_tick, clip))
        start = start_tick * FRAME_MS / 1000
        utterances.append(Utterance(f"p{speaker + 1:02d}", start, start + length, text))
        last = speaker
        overlap = rng.random() < 0.1
        t = start + length + (-0.8 if overlap else rng.uniform(0.3, 1.2))
    people = tuple(
        Participant(
            key=f"p{i + 1:02d}",
            user_id=FIRST_USER_ID + 1024 * i,
            user_name=f"Participant {i + 1:02d}",
            segments=tuple(per[i]),
        )
        for i in range(participants)
    )
    chat = tuple(
        ChatMessage(at=at, participant=f"p{(n % participants) + 1:02d}", text=f"Chat message {n + 1}")
        for n, at in enumerate(np.arange(chat_every, duration - 1, chat_every).tolist())
    )
    events = tuple(TimelineEvent(u.start, "active_speaker", u.participant) for u in utterances)
    return Scenario(
        name=f"long_{participants}p_{minutes:g}min",
        participants=people,
        transcript=tuple(utterances) if transcript else None,
        chat=chat,
        events=events,
        duration=duration,
        description=f"generated: {participants} participants, {minutes:g} minutes, seed {seed}",
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

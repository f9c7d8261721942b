"""Loading a scenario: a JSON file (or shipped name, or ``long:N:M``), validated, as a Scenario.

The JSON format is below (and in docs/emulator.md); ``long:N:M`` is the generated long meeting
(:mod:`rtms_emulator.scenario_generator`); the result is a :class:`rtms_emulator.scenario.Scenario`.
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

import json
import re
from pathlib import Path
from typing import Any

from rtms_emulator.scenario import (
    FIRST_USER_ID,
    FRAME_MS,
    ChatMessage,
    Clip,
    Participant,
    Scenario,
    ScenarioError,
    Segment,
    TimelineEvent,
    Utterance,
    read_wav_pcm16,
    shared_data_dir,
)
from rtms_emulator.scenario_generator import generate_long_meeting

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
EVENT_TYPES = frozenset(
    {"join", "leave", "active_speaker", "sharing_start", "sharing_stop", "pause", "resume", "fault"}
)


def resolve_path(ref: str, *, base: Path | None) -> Path:
    """``data:rel/path`` -> shared data dir; relative -> ``base``; absolute as is."""
    if ref.startswith("data:"):
        return shared_data_dir() / ref[len("data:") :]
    path = Path(ref)
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


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

"""The generated long meeting for load tests (``long:N:M`` scenarios): real shared clips in turns.

See :func:`generate_long_meeting`. The clips come from the shared data dir
(:func:`rtms_emulator.scenario.shared_data_dir`); a missing clip raises ScenarioError.
"""

from __future__ import annotations

import random

import numpy as np

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

SPEECH_CLIPS = [  # the shared data's single-speaker clips (stems under ../shared/data)
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
        clips = [_gen_clip(stem) for stem in SPEECH_CLIPS]
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

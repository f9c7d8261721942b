"""Unit tests: webhook signing, scenario loading and generation, frames, fault specs, pacing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import wave

import numpy as np
import pytest

from rtms_emulator import (
    Emulator,
    Fault,
    ScenarioError,
    generate_long_meeting,
    load_scenario,
    scenario_from_dict,
    signed_headers,
    webhook_body,
)
from rtms_emulator.scenario import Clip, Participant, Scenario, Segment
from streams.rtms.protocol import FRAME_BYTES
from streams.rtms.signing import webhook_signature, webhook_signature_is_valid
from tests.streams.emulator.conftest import emulator_config
from tests.streams.emulator.test_emulator_protocol import RawClient, tiny_scenario

# ---- webhook signing -------------------------------------------------------------------------


def test_webhook_signature_matches_an_independent_hmac():
    body = webhook_body(
        "meeting.rtms_started", {"meeting_uuid": "a/b+c==", "rtms_stream_id": "s1"}, event_ts=1
    )
    headers = signed_headers(secret_token="sekret", body=body, timestamp=1700000000)

    assert (
        body
        == b'{"event":"meeting.rtms_started","event_ts":1,"payload":{"meeting_uuid":"a/b+c==","rtms_stream_id":"s1"}}'
    )
    digest = hmac.new(b"sekret", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert headers["x-zm-request-timestamp"] == "1700000000"
    assert headers["x-zm-signature"] == f"v0={digest}"
    assert headers["x-zm-signature"] == webhook_signature(
        secret_token="sekret", timestamp="1700000000", body=body
    )
    assert webhook_signature_is_valid(
        secret_token="sekret", timestamp="1700000000", body=body, signature=headers["x-zm-signature"]
    )
    assert not webhook_signature_is_valid(
        secret_token="other", timestamp="1700000000", body=body, signature=headers["x-zm-signature"]
    )
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    assert not webhook_signature_is_valid(
        secret_token="sekret", timestamp="1700000000", body=reserialised, signature=headers["x-zm-signature"]
    )


def test_webhook_timestamp_header_is_unix_seconds():
    headers = signed_headers(secret_token="s", body=b"{}")
    assert abs(int(headers["x-zm-request-timestamp"]) - time.time()) < 5


# ---- scenario loading ------------------------------------------------------------------------


def test_planning_meeting_loads_with_exact_transcript(shared_data):
    scenario = load_scenario("planning_meeting")
    turns = json.loads((shared_data / "speech/tts_meeting/meeting.json").read_text())["turns"]

    assert [p.user_name for p in scenario.participants] == ["Alice", "Bob", "Carol"]
    assert [(u.participant, u.start, u.end, u.text) for u in scenario.transcript] == [
        ({"A": "alice", "B": "bob"}[t["speaker"]], t["start"], t["end"], t["text"]) for t in turns
    ]
    assert len(scenario.chat) == 4
    assert scenario.chat[-1].to == "bob"
    speakers = [e.participant for e in scenario.events if e.type == "active_speaker"]
    assert speakers[:3] == ["alice", "bob", "alice"]
    alice_wav = shared_data / "speech/tts_meeting/meeting_spkA.wav"
    with wave.open(str(alice_wav)) as wav:
        raw = wav.readframes(wav.getnframes())
    assert scenario.duration == pytest.approx(len(raw) / 32000 + 0.5, abs=0.021)  # end of audio + 0.5 s
    frames = [raw[i : i + FRAME_BYTES] for i in range(0, len(raw), FRAME_BYTES)]
    expected = b"".join(f.ljust(FRAME_BYTES, b"\0") for f in frames if any(f))
    assert scenario.expected_audio(16778240) == expected


def test_ami_excerpt_has_four_speakers_and_no_transcript():
    scenario = load_scenario("ami_excerpt")
    assert [p.key for p in scenario.participants] == ["FEE013", "FEE016", "MEE014", "MEO015"]
    assert scenario.transcript is None
    assert scenario.mixed is not None
    assert scenario.mixed.n_frames == 3000
    assert [e.participant for e in scenario.events if e.type == "active_speaker"][:3] == [
        "FEE016",
        "FEE013",
        "MEO015",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"participants": []}, "participants: must be a non-empty list"),
        ({"participants": [{"id": "a"}]}, "participants[0]: missing required field 'user_name'"),
        ({"participants": [{"id": "a", "user_name": "A"}], "colour": 1}, "unknown keys ['colour']"),
        (
            {"participants": [{"id": "a", "user_name": "A"}, {"id": "a", "user_name": "B"}]},
            "participants[1].id: duplicate participant id 'a'",
        ),
        (
            {"participants": [{"id": "a", "user_name": "A", "audio": "data:speech/nope.wav"}]},
            "participants[0].audio: audio file not found",
        ),
        (
            {
                "participants": [{"id": "a", "user_name": "A"}],
                "chat": [{"at": 1, "participant": "z", "text": "x"}],
            },
            "chat[0].participant: unknown participant 'z'",
        ),
        (
            {"participants": [{"id": "a", "user_name": "A"}], "events": [{"at": 1, "type": "dance"}]},
            "events[0].type: unknown event type 'dance'",
        ),
        (
            {
                "participants": [{"id": "a", "user_name": "A"}],
                "events": [{"at": 1, "type": "fault", "fault": "media_abort", "media": "smell"}],
            },
            "events[0]: fault media_abort: media must be one of",
        ),
        (
            {
                "participants": [{"id": "a", "user_name": "A"}],
                "transcript": [{"participant": "a", "start": 2, "end": 1, "text": "x"}],
            },
            "transcript[0].end: must be >= start",
        ),
        (
            {"participants": [{"id": "a", "user_name": "A", "join": -1}]},
            "participants[0].join: must be a number >= 0",
        ),
    ],
)
def test_invalid_scenarios_fail_with_the_field_named(data, message):
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert message in str(err.value)


def test_scenario_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(ScenarioError, match=r"broken.json: invalid JSON"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match=r"scenario not found: nosuch .*planning_meeting"):
        load_scenario("nosuch")
    stereo = tmp_path / "stereo.wav"
    with wave.open(str(stereo), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\0" * 6400)
    scenario_file = tmp_path / "s.json"
    scenario_file.write_text(
        json.dumps({"participants": [{"id": "a", "user_name": "A", "audio": "stereo.wav"}]})
    )
    with pytest.raises(
        ScenarioError,
        match=r"s.json: participants\[0\].audio: .*need 16000 Hz mono 16-bit PCM, got 16000 Hz, 2 channel",
    ):
        load_scenario(scenario_file)


def test_generated_long_meeting_is_deterministic_and_well_formed():
    a = generate_long_meeting(participants=5, minutes=3, seed=7)
    b = generate_long_meeting(participants=5, minutes=3, seed=7)
    assert [(u.participant, u.start, u.text) for u in a.transcript] == [
        (u.participant, u.start, u.text) for u in b.transcript
    ]
    assert a.duration == 180
    assert len(a.participants) == 5
    assert all(u.end <= a.duration for u in a.transcript)
    for p in a.participants:
        assert all(s1.end_tick <= s2.start_tick for s1, s2 in zip(p.segments, p.segments[1:], strict=False))
    assert {u.participant for u in a.transcript} == {p.key for p in a.participants}
    assert load_scenario("long:3:1").name == "long_3p_1min"
    with pytest.raises(ScenarioError):
        generate_long_meeting(participants=0, minutes=1)


# ---- frames ----------------------------------------------------------------------------------


def _scenario(tracks: list[np.ndarray], silence: str = "skip") -> Scenario:
    people = tuple(
        Participant(key=f"p{i}", user_id=100 + i, user_name=f"P{i}", segments=(Segment(0, Clip(t)),))
        for i, t in enumerate(tracks)
    )
    return Scenario(name="t", participants=people, duration=len(tracks[0]) / 16000, silence=silence)


def test_frames_are_640_bytes_and_silence_is_skipped_or_sent():
    track = np.zeros(320 * 3 + 100, dtype="<i2")
    track[320:640] = 1000  # frame 1 has signal
    skip, send = _scenario([track]), _scenario([track], silence="send")
    p = skip.participants[0]
    assert Clip(track).n_frames == 4
    assert len(p.frame(3)) == FRAME_BYTES
    assert [skip.multi_frame(p, t) is None for t in range(4)] == [True, False, True, True]
    assert all(len(send.multi_frame(send.participants[0], t)) == FRAME_BYTES for t in range(4))
    assert p.frame(4) is None


def test_mixed_frame_is_the_clipped_sum():
    loud = np.full(320, 30000, dtype="<i2")
    quiet = np.full(320, -100, dtype="<i2")
    mixed = _scenario([loud, loud]).mixed_frame(0)
    assert np.frombuffer(mixed, "<i2").tolist() == [32767] * 320
    mixed = _scenario([loud, quiet]).mixed_frame(0)
    assert np.frombuffer(mixed, "<i2").tolist() == [29900] * 320


def test_fault_specs_parse_and_reject_bad_input():
    assert Fault.parse("media_abort@20") == Fault("media_abort", 20.0, {})
    assert Fault.parse("junk@5:socket=signaling,kinds=json_array+non_utf8").params == {
        "socket": "signaling",
        "kinds": ["json_array", "non_utf8"],
    }
    assert Fault.parse("terminate@3:reason=6").params == {"reason": 6}
    for bad in (
        "explode@1",
        "media_abort@x",
        "media_abort@1:media=smell",
        "terminate@1:reason=soon",
        "junk@1:colour=red",
    ):
        with pytest.raises(ValueError, match=r"fault"):
            Fault.parse(bad)


# ---- pacing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("speed", [4.0, None])
async def test_pacing_follows_speed(shared_data, speed):
    async with Emulator(emulator_config(ready_delay=0.05, terminate_gap=0.05)) as emu:
        run = await emu.play(tiny_scenario(shared_data, duration=2.0), speed=speed)
        client = RawClient(run)
        await client.join(types=("audio",))
        arrivals = []
        while not run.done:
            arrivals.append((time.monotonic(), len(client.of("audio", 14))))
            await asyncio.sleep(0.01)
        await client.close()
    total = arrivals[-1][1]
    first = next(t for t, n in arrivals if n > 0)
    last = next(t for t, n in arrivals if n == total)
    span = last - first
    if speed:
        assert 0.35 < span < 0.8  # 2 s of meeting at 4x = 0.5 s
    else:
        assert span < 0.35
    stamps = [m["content"]["timestamp"] for m in client.of("audio", 14)]
    assert stamps[-1] - stamps[0] == 20 * (len(stamps) - 1)

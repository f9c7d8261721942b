"""Zoom's official SDK joins the emulator and gets exactly what the scenario holds."""

from __future__ import annotations

import json

import pytest

from rtms_emulator import Emulator, load_scenario
from tests.streams.emulator.conftest import emulator_config, run_sdk

pytestmark = pytest.mark.sdk

SPEED = 20.0


def assert_sdk_got_planning_meeting(sdk, record, scenario, shared_data) -> None:
    alice, bob, carol = scenario.participants
    # audio: byte-exact per participant, against both the record and the WAV frames
    for p in (alice, bob):
        assert sdk.audio[p.user_id] == record.sent.audio_bytes(p.user_id)
        assert sdk.audio[p.user_id] == scenario.expected_audio(p.user_id)
        assert sdk.audio_names[p.user_id] == {p.user_name}
    assert set(sdk.audio) == {alice.user_id, bob.user_id}
    # transcript: exact texts and speakers, in order
    turns = json.loads((shared_data / "speech/tts_meeting/meeting.json").read_text())["turns"]
    names = {"A": "Alice", "B": "Bob"}
    assert [(t["user_name"], t["text"]) for t in sdk.transcripts] == [
        (names[t["speaker"]], t["text"]) for t in turns
    ]
    # participant and active-speaker events
    joins = [e for e in sdk.of("participant") if e["event"] == "join"]
    assert joins[0]["participants"] == [
        {"user_id": alice.user_id, "user_name": "Alice"},
        {"user_id": bob.user_id, "user_name": "Bob"},
    ]
    assert {"user_id": carol.user_id, "user_name": "Carol"} in [p for e in joins for p in e["participants"]]
    speakers = [(e["user_id"], e["user_name"]) for e in sdk.of("active_speaker")]
    expected = [(e["user_id"], e["user_name"]) for e in record.sent.events if e["event_type"] == 2]
    assert speakers[: len(expected)] == expected
    assert speakers[0] == (alice.user_id, "Alice")
    assert sdk.of("join_confirm")[0]["reason"] == 0
    assert sdk.of("leave")[-1]["reason"] == 6


async def test_sdk_receives_exact_meeting(emulator, tmp_path, shared_data):
    scenario = load_scenario("planning_meeting")
    run = await emulator.play(scenario, speed=SPEED)
    sdk = await run_sdk(run, tmp_path)
    record = await run.wait(10)

    assert_sdk_got_planning_meeting(sdk, record, scenario, shared_data)
    assert record.verdict(min_keepalive_answers=2), str(record.verdict(min_keepalive_answers=2))
    assert [a["socket"] for a in record.ready_acks] == ["signaling"]
    assert {h.socket for h in record.handshakes} == {"signaling", "media:audio", "media:transcript"}
    assert all(h.user_agent == "Mozilla/5.0 Zoom.App" for h in record.handshakes)
    answered = [k for k in record.keepalives if k.answered_ok]
    assert all(k.echoed_sequence == k.sequence for k in answered)
    assert record.replayed_messages == 0
    assert record.stop_reason == 6


async def test_sdk_receives_exact_meeting_in_binary_frames(tmp_path, shared_data):
    scenario = load_scenario("planning_meeting")
    async with Emulator(emulator_config(binary_frames=True)) as emu:
        run = await emu.play(scenario, speed=SPEED)
        sdk = await run_sdk(run, tmp_path)
        record = await run.wait(10)
    assert_sdk_got_planning_meeting(sdk, record, scenario, shared_data)
    assert record.verdict(min_keepalive_answers=2)


async def test_sdk_skips_junk_frames_and_keeps_streaming(emulator, tmp_path, shared_data):
    scenario = load_scenario("planning_meeting")
    run = await emulator.play(
        scenario, speed=SPEED, faults=["junk@5", "junk@30:socket=media", "keepalive_storm@40:count=5"]
    )
    sdk = await run_sdk(run, tmp_path)
    record = await run.wait(10)

    assert [f["fault"] for f in record.faults] == ["junk", "junk", "keepalive_storm"]
    assert_sdk_got_planning_meeting(sdk, record, scenario, shared_data)
    assert record.verdict(), str(record.verdict())
    assert len(record.handshakes_on("signaling")) == 1  # junk did not break the connection


async def test_sdk_rejoins_after_media_drop_and_loses_nothing(emulator, tmp_path, shared_data):
    scenario = load_scenario("planning_meeting")
    run = await emulator.play(scenario, speed=SPEED, faults=["media_abort@20:media=audio"])
    sdk = await run_sdk(run, tmp_path)
    record = await run.wait(10)

    assert record.faults[0]["fault"] == "media_abort"
    assert_sdk_got_planning_meeting(sdk, record, scenario, shared_data)
    # the SDK rejoined from scratch (Section A.3): two signaling handshakes, a READY_ACK after each
    assert [h.status_code for h in record.handshakes_on("signaling")] == [0, 0]
    assert [a["socket"] for a in record.ready_acks] == ["signaling", "signaling"]
    dropped = next(c for c in record.closes if c.socket == "media:audio")
    assert (dropped.by, dropped.code, dropped.close_frame) == ("server", 1006, False)
    assert [s["state"] for s in record.sent.state_updates if s["msg_type"] == 9].count(2) == 2  # re-announced
    assert record.verdict(), str(record.verdict())


async def test_sdk_rejoins_after_signaling_drop_and_loses_nothing(emulator, tmp_path, shared_data):
    scenario = load_scenario("planning_meeting")
    run = await emulator.play(scenario, speed=SPEED, faults=["signaling_abort@30"])
    sdk = await run_sdk(run, tmp_path)
    record = await run.wait(10)

    assert_sdk_got_planning_meeting(sdk, record, scenario, shared_data)
    assert [h.status_code for h in record.handshakes_on("signaling")] == [0, 0]
    dropped = record.closes[0]
    assert (dropped.socket, dropped.by, dropped.close_frame) == ("signaling", "server", False)
    assert record.verdict(), str(record.verdict())


async def test_sdk_receives_ami_excerpt_without_transcript(emulator, tmp_path):
    scenario = load_scenario("ami_excerpt")
    run = await emulator.play(scenario, speed=SPEED)
    sdk = await run_sdk(run, tmp_path)
    record = await run.wait(10)

    assert set(sdk.audio) == {p.user_id for p in scenario.participants}
    for p in scenario.participants:
        assert (
            sdk.audio[p.user_id] == scenario.expected_audio(p.user_id) == record.sent.audio_bytes(p.user_id)
        )
    assert sdk.of("transcript") == []
    assert record.sent.transcript == []
    speakers = [e["user_name"] for e in sdk.of("active_speaker")]
    assert speakers[:3] == ["FEE016", "FEE013", "MEO015"]
    assert record.verdict(), str(record.verdict())


async def test_sdk_with_its_default_opus_params_gets_the_l16_bytes_untouched(emulator, tmp_path, shared_data):
    scenario = load_scenario("planning_meeting")
    run = await emulator.play(scenario, speed=SPEED)
    sdk = await run_sdk(run, tmp_path, audio_params="sdk_default")
    record = await run.wait(10)

    audio_hs = record.handshakes_on("media:audio")[0]
    assert audio_hs.request["media_params"]["audio"]["codec"] == 4  # OPUS, 48 kHz, stereo: echoed as asked
    for p in scenario.participants[:2]:
        assert sdk.audio[p.user_id] == scenario.expected_audio(p.user_id)
    assert record.verdict(), str(record.verdict())

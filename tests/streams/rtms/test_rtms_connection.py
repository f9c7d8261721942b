"""The sans-IO connection state machine (``streams/rtms/connection.py``), without sockets or a loop:
messages in, messages/events/decisions out."""

from __future__ import annotations

import base64
import json
import random

import pytest

from streams.rtms.config import ClientStats
from streams.rtms.connection import Connection
from streams.rtms.errors import RTMSAuthError, RTMSConnectionError, RTMSDuplicateError, RTMSHandshakeError
from streams.rtms.events import (
    AudioFrame,
    Interrupted,
    ParticipantJoined,
    Reconnecting,
    StreamStateChanged,
    TranscriptEvent,
)
from streams.rtms.protocol import MsgType, StopReason
from streams.rtms.signing import handshake_signature
from tests.streams.rtms.fake_rtms_server import CLIENT_ID, CLIENT_SECRET, MEETING_UUID, STREAM_ID
from tests.streams.rtms.rtms_client_helpers import fast_config

WALL = 1_765_000_000_000  # a wall-clock epoch ms passed in by the "transport"


def new_conn(**overrides) -> Connection:
    return Connection(fast_config("ws://rtms.test/signal", **overrides), ClientStats())


def frame(msg: dict) -> str:
    return json.dumps(msg)


def audio(user_id: int, i: int) -> dict:
    data = bytes([i % 256]) * 640
    content = {
        "user_id": user_id,
        "user_name": f"user{user_id}",
        "data": base64.b64encode(data).decode(),
        "timestamp": 1_700_000_000_000 + 20 * i,
    }
    return {"msg_type": 14, "content": content}


def state(state: int, reason: int | None = None) -> dict:
    msg = {"msg_type": 8, "rtms_stream_id": STREAM_ID, "state": state, "timestamp": 1}
    if reason is not None:
        msg["reason"] = reason
    return msg


def session(state: int, session_id: str) -> dict:
    return {
        "msg_type": 9,
        "rtms_stream_id": STREAM_ID,
        "rtms_session_id": session_id,
        "state": state,
        "timestamp": 1,
    }


# --- handshakes --------------------------------------------------------------------------------------


def test_signaling_handshake_success_gives_the_media_plan_and_the_subscription():
    conn = new_conn()
    req = conn.handshakes.signaling_handshake_req()
    assert req["msg_type"] == MsgType.SIGNALING_HAND_SHAKE_REQ
    assert req["meeting_uuid"] == MEETING_UUID
    assert req["rtms_stream_id"] == STREAM_ID
    assert req["signature"] == handshake_signature(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, instance_id=MEETING_UUID, rtms_stream_id=STREAM_ID
    )
    urls = conn.handshakes.accept_signaling_handshake(
        {
            "msg_type": 2,
            "status_code": 0,
            "media_server": {"server_urls": {"audio": "ws://m/a", "all": "ws://m/all"}},
        }
    )
    assert urls == {"audio": "ws://m/a", "all": "ws://m/all"}
    sub = conn.handshakes.event_subscription()
    assert sub is not None
    assert sub["msg_type"] == MsgType.EVENT_SUBSCRIPTION
    assert [e["event_type"] for e in sub["events"]] == [2, 3, 4, 5, 6]
    # audio has its own socket; transcript and chat share the "all" socket with the OR of their bits
    assert conn.handshakes.plan_media(urls) == {
        "audio": ("ws://m/a", ("audio",)),
        "all": ("ws://m/all", ("transcript", "chat")),
    }
    assert conn.handshakes.media_plan == conn.handshakes.plan_media(urls)
    msg3, params = conn.handshakes.data_handshake_req(("transcript", "chat"))
    assert msg3["msg_type"] == MsgType.DATA_HAND_SHAKE_REQ
    assert msg3["media_type"] == 8 | 16
    assert set(params) == {"transcript", "chat"}
    assert msg3["sequence"] == req["sequence"] + 1  # one sequence for every handshake of the stream


def test_no_subscription_message_when_nothing_is_subscribed():
    assert new_conn(subscribe_events=()).handshakes.event_subscription() is None


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [(3, RTMSAuthError, False), (8, RTMSDuplicateError, True), (18, RTMSHandshakeError, False)],
)
def test_signaling_handshake_status_code_not_zero_raises_its_error(status, error, retryable):
    conn = new_conn()
    conn.handshakes.signaling_handshake_req()
    with pytest.raises(error) as info:
        conn.handshakes.accept_signaling_handshake({"msg_type": 2, "status_code": status, "reason": "no"})
    assert info.value.status_code == status
    assert info.value.retryable is retryable
    assert info.value.scope == "signaling"


def test_malformed_signaling_handshake_is_a_connection_error():
    with pytest.raises(RTMSConnectionError, match="malformed SIGNALING_HAND_SHAKE_RESP"):
        new_conn().handshakes.accept_signaling_handshake({"msg_type": 2, "status_code": 0})


def test_data_handshake_answer_and_a_media_type_not_granted():
    conn = new_conn()
    conn.handshakes.plan_media({"audio": "ws://m/a", "transcript": "ws://m/t", "chat": "ws://m/c"})
    _, params = conn.handshakes.data_handshake_req(("audio",))
    echoed = {"audio": {**params["audio"], "sample_rate": 3}}
    got = conn.handshakes.accept_data_handshake(
        "audio", "media:audio", {"msg_type": 4, "status_code": 0, "media_params": echoed}, params
    )
    assert got == echoed  # a changed rate is logged, the server's params are the effective ones
    with pytest.raises(RTMSHandshakeError) as info:
        conn.handshakes.accept_data_handshake("chat", "media:chat", {"msg_type": 4, "status_code": 13}, {})
    assert conn.handshakes.drop_if_not_granted("chat", info.value) is True
    assert "chat" not in conn.handshakes.media_plan
    assert conn.handshakes.drop_if_not_granted("audio", RTMSConnectionError("gone")) is False
    assert conn.handshakes.granted_media([("audio",), ("transcript",)]) == ("audio", "transcript")


# --- frames --------------------------------------------------------------------------------------------


def test_keep_alive_is_answered_echoing_timestamp_and_sequence_unless_the_socket_cannot_answer():
    conn = new_conn()
    req = {"msg_type": 12, "timestamp": 1_700_000_000_123, "sequence": 77}
    got = conn.receive("audio", frame(req), now=0.0)
    assert got.answer == {"msg_type": 13, "timestamp": 1_700_000_000_123, "sequence": 77}
    assert got.events == []
    assert not got.wake
    conn.answered_keep_alive("audio")
    assert conn.stats.keepalives_answered == {"audio": 1}
    # behind a close frame: no answer, the reader reads on
    assert conn.receive("audio", frame(req), now=0.0, can_answer=False).answer is None


def test_handshake_answers_are_routed_only_to_a_waiting_socket_of_the_right_kind():
    conn = new_conn()
    msg2 = {"msg_type": 2, "status_code": 0}
    assert conn.receive("signaling", frame(msg2), now=0.0, awaiting_handshake=True).handshake == msg2
    assert conn.receive("signaling", frame(msg2), now=0.0, awaiting_handshake=False).handshake is None
    assert conn.receive("audio", frame(msg2), now=0.0, awaiting_handshake=True).handshake is None
    assert conn.stats.frames_skipped == {"unexpected": 2}


def test_junk_is_counted_and_skipped():
    conn = new_conn()
    for junk in ("not json", b"\xff\xfe", frame({"msg_type": "x"}), frame({"msg_type": 999})):
        assert conn.receive("chat", junk, now=0.0).events == []
    assert conn.stats.total_frames_skipped == 4


def test_events_are_parsed_in_order():
    conn = new_conn()
    join = {"msg_type": 6, "content": {"event_type": 3, "participants": [{"user_id": 1}, {"user_id": 2}]}}
    got = conn.receive("signaling", frame(join), now=0.0)
    assert [type(e) for e in got.events] == [ParticipantJoined, ParticipantJoined]
    assert [e.user_id for e in got.events] == ["1", "2"]


def test_replayed_media_is_dropped_only_on_a_reconnected_socket():
    conn = new_conn()
    first = [conn.receive("audio", frame(audio(1, i)), now=0.0).events for i in range(3)]
    assert all(isinstance(e[0], AudioFrame) for e in first)
    # the first connection drops nothing, even an old timestamp
    assert conn.receive("audio", frame(audio(1, 1)), now=0.0).events
    # a socket opened by a reconnect drops audio at or before the last delivered timestamp
    assert conn.receive("audio", frame(audio(1, 2)), now=0.0, replay_guard=True).events == []
    assert conn.receive("audio", frame(audio(1, 3)), now=0.0, replay_guard=True).events
    text = {"msg_type": 17, "content": {"user_id": 5, "user_name": "Ada", "data": "hi", "timestamp": 9}}
    assert isinstance(conn.receive("transcript", frame(text), now=0.0).events[0], TranscriptEvent)
    assert conn.receive("transcript", frame(text), now=0.0, replay_guard=True).events == []
    assert conn.stats.duplicates_skipped == {"audio": 1, "transcript": 1}


def test_stream_state_terminated_ends_the_stream_with_its_reason():
    conn = new_conn()
    got = conn.receive("signaling", frame(state(4, reason=6)), now=5.0)
    assert isinstance(got.events[0], StreamStateChanged)
    assert got.wake
    assert conn.end is not None
    assert conn.end.stop_reason == 6
    assert "TERMINATED" in conn.end.detail


def test_terminating_makes_a_signaling_close_the_normal_end():
    conn = new_conn()
    assert conn.signaling_lost("server closed") is False  # an outage: full re-handshake
    conn.receive("signaling", frame(state(3)), now=0.0)
    assert conn.terminating
    assert conn.signaling_lost("server closed") is True
    assert conn.end is not None
    assert "after TERMINATING" in conn.end.detail


def test_the_last_session_stopped_ends_the_stream():
    conn = new_conn()
    conn.receive("signaling", frame(session(2, "s1")), now=0.0)
    conn.receive("signaling", frame(session(2, "s2")), now=0.0)
    conn.receive("signaling", frame(session(5, "s1")), now=0.0)
    assert conn.end is None
    conn.receive("signaling", frame(session(5, "s2")), now=0.0)
    assert conn.end is not None
    assert "last session stopped" in conn.end.detail


def test_media_interruption_marks_silent_sockets_after_the_grace():
    conn = new_conn(media_interrupt_grace=12.0)
    event7 = {"msg_type": 6, "content": {"event_type": 7, "timestamp": 1}}
    assert conn.receive("signaling", frame(event7), now=100.0).wake
    assert not conn.suspect_media_due(111.0)
    assert conn.suspect_media_due(112.0)
    assert conn.silent_since_suspect(99.0)
    assert not conn.silent_since_suspect(105.0)


def test_stream_close_resp_and_the_close_outcome():
    conn = new_conn()
    assert conn.handshakes.stream_close_req() == {"msg_type": 21, "rtms_stream_id": STREAM_ID}
    assert conn.close_outcome(sent=False) == (
        None,
        "closed by the client (STREAM_CLOSE_REQ); STREAM_CLOSE_REQ could not be sent",
    )
    assert conn.receive("signaling", frame({"msg_type": 22, "status_code": 0}), now=0.0).wake
    assert conn.close_outcome(sent=True) == (
        int(StopReason.STOP_BC_RECEIVER_REQUEST_CLOSE),
        "closed by the client (STREAM_CLOSE_REQ)",
    )
    conn.receive("signaling", frame(state(4, reason=6)), now=0.0)
    assert conn.close_outcome(sent=True)[0] == 6  # TERMINATED's reason is the real one


# --- losses and reconnect decisions -----------------------------------------------------------


def test_a_loss_is_retried_on_the_policy_schedule_then_given_up():
    conn = new_conn(
        reconnect_initial_delay=3.0, reconnect_max_delay=30.0, reconnect_window=60.0, reconnect_jitter=0.0
    )
    interrupted = conn.interrupted("signaling", "server closed", wall_ms=WALL)
    assert interrupted == Interrupted("signaling", "server closed", WALL)
    assert conn.lost_reason == "signaling: server closed"
    retry = conn.policy.begin(0.0, rng=random.Random(1))
    now, starts = 0.0, []
    while True:
        decision = conn.next_attempt(
            retry, "signaling", conn.lost_reason, now=now, wall_ms=WALL + int(now * 1000)
        )
        if decision.delay is None:
            break
        assert isinstance(decision.event, Reconnecting)
        assert decision.event.attempt == len(starts) + 1
        assert decision.event.deadline_at == WALL + 60_000
        now += decision.delay
        starts.append(round(now, 6))
        retry = conn.attempt_failed(retry, RTMSConnectionError("refused"), now=now)
    assert starts == [3, 9, 21, 45, 59]
    assert conn.stats.failed_attempts == 5
    assert conn.final is not None
    assert conn.final.stop_reason is None
    assert "within the 60s reconnect window (5 attempt(s) failed; last error: refused)" in conn.final.detail
    assert isinstance(conn.final.error, RTMSConnectionError)


def test_a_lost_media_socket_gets_its_own_schedule_and_a_fatal_reopen_ends_the_stream():
    conn = new_conn(
        reconnect_initial_delay=3.0, reconnect_max_delay=30.0, reconnect_window=60.0, reconnect_jitter=0.0
    )
    retry, event = conn.media_lost("media:audio", "", lost_at=10.0, now=10.0, wall_ms=WALL)
    assert event.scope == "media:audio"
    assert event.attempt == 1
    assert event.error == "connection lost"
    assert event.next_attempt_at == WALL + 3000
    assert retry.next_attempt_at == 13.0
    decision = conn.media_attempt_failed(
        "audio", retry, RTMSConnectionError("refused"), now=13.0, wall_ms=WALL
    )
    assert decision.delay == pytest.approx(6.0)
    assert decision.event.attempt == 2
    assert conn.final is None
    fatal = conn.media_attempt_failed(
        "audio", retry, RTMSAuthError(3, "bad signature", scope="media:audio"), now=19.0, wall_ms=WALL
    )
    assert decision.event is not None
    assert fatal.delay is None
    assert fatal.event is None
    assert conn.final is not None
    assert isinstance(conn.final.error, RTMSAuthError)


def test_idle_and_the_first_finish_wins():
    conn = new_conn(idle_timeout=65.0)
    assert not conn.is_idle(0.0, 65.0)
    assert conn.is_idle(0.0, 65.1)
    conn.finish(None, "first", wall_ms=WALL)
    conn.finish(6, "second", wall_ms=WALL)
    assert conn.final is not None
    assert conn.final.detail == "first"
    assert conn.close_without_request(False).endswith("(handover)")


def test_unread_audio_is_found_among_junk():
    conn = new_conn()
    frames = [frame(audio(7, 1)).encode(), b"\xff junk", frame(audio(7, 2)).encode()]
    assert [f.timestamp for f in conn.unread_audio(frames, replay_guard=False)] == [
        1_700_000_000_020,
        1_700_000_000_040,
    ]

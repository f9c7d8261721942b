"""The emulator's sans-IO stream state machine (``rtms_emulator/session.py`` with its
``keepalive.py`` and ``replay.py``), without sockets or a loop: links and messages in, messages
and decisions out."""

from __future__ import annotations

from rtms_emulator.config import EmulatorConfig
from rtms_emulator.link import Link
from rtms_emulator.record import StreamRecord
from rtms_emulator.session import Session, Window
from streams.rtms.protocol import EventType, MsgType, SessionState, StopReason, StreamState

WALL = 1_765_000_000_000  # a wall-clock epoch ms passed in by the "transport"


def new_session(**overrides) -> Session:
    config = EmulatorConfig(**({"reconnect_window": 60.0, "media_reconnect_window": 65.0} | overrides))
    return Session(
        config,
        StreamRecord("stream-1", "meeting-1", "unit"),
        base_url="ws://rtms.test:7000",
        rtms_stream_id="stream-1",
        meeting_uuid="meeting-1",
        rtms_session_id="session-1",
    )


def media_link(*types: str, data_opt: int = 2) -> Link:
    link = Link(f"media:{types[0] if len(types) == 1 else 'all'}")
    link.types = types
    link.params = {"audio": {"data_opt": data_opt, "send_rate": 20}} if "audio" in types else {}
    return link


def join(s: Session, *types: str, data_opt: int = 2) -> tuple[Link, Link]:
    """A client's signaling + one media socket, handshaked and CLIENT_READY_ACKed."""
    signaling, media = Link("signaling"), media_link(*types, data_opt=data_opt)
    s.attach_signaling(signaling)
    s.attach_media(media)
    s.ready_ack(signaling)
    return signaling, media


def send_audio(s: Session, tick: int, *, ok: bool = True) -> int:
    """Produce one audio message at ``tick``, written to the live audio link (``ok``)."""
    link, n = s.media_out("audio", f"audio-{tick}", tick)
    assert link is not None
    s.replay.sent(link, "audio", n, ok)
    return n


def answer(s: Session, link: Link, request: dict) -> bool:
    msg = {
        "msg_type": MsgType.KEEP_ALIVE_RESP,
        "timestamp": request["timestamp"],
        "sequence": request["sequence"],
    }
    return s.client_message(link, msg, wall_ms=WALL).answered


def pending_audio(s: Session) -> list[str]:
    return [message for _, _, message in s.replay.pending("audio")]


# ---- start, readiness ----------------------------------------------------------------------------


def test_the_timeline_waits_for_signaling_and_every_wanted_media_type():
    s = new_session()
    signaling, media = Link("signaling"), media_link("audio")
    s.attach_signaling(signaling)
    s.attach_media(media)
    assert not s.ready()  # handshaked, not acknowledged

    ready = s.ready_ack(signaling)

    assert s.ready()
    assert (ready.newly, ready.rejoin, ready.recovered) == ([media], False, False)
    assert ready.cancel_windows == ["media:audio"]
    assert s.media == {"audio": media}
    assert s.wanted == {"audio"}


def test_announce_sends_first_packet_timestamp_active_and_started():
    s = new_session()
    s.start(WALL)

    sent = s.announce(first=True, wall_ms=WALL + 5)

    assert sent[0] == {
        "msg_type": MsgType.EVENT_UPDATE,
        "event": {"event_type": EventType.FIRST_PACKET_TIMESTAMP, "timestamp": WALL},
    }
    assert [(m["msg_type"], m["state"]) for m in sent[1:]] == [
        (MsgType.STREAM_STATE_UPDATE, StreamState.ACTIVE),
        (MsgType.SESSION_STATE_UPDATE, SessionState.STARTED),
    ]
    assert sent[2]["rtms_session_id"] == "session-1"
    assert s.ts(1.5) == WALL + 1500


def test_pause_and_resume_send_their_states_once():
    s = new_session()

    paused = s.pause(True, 3.0, wall_ms=WALL)
    again = s.pause(True, 4.0, wall_ms=WALL)
    resumed = s.pause(False, 5.0, wall_ms=WALL)

    assert [m["state"] for m in paused] == [StreamState.PAUSED, SessionState.PAUSED]
    assert again == []
    assert [m["state"] for m in resumed] == [StreamState.RESUMED, SessionState.RESUMED]
    assert s.record.paused_intervals == [(3.0, 5.0)]
    assert "pause at 4.0s ignored (already)" in s.record.notes


def test_subscribable_events_wait_for_a_subscription_and_1_and_7_never_do():
    s = new_session()
    signaling, _ = join(s, "audio")
    assert s.event_update(EventType.PARTICIPANT_JOIN, {}, ts=1) is None
    assert s.event_update(EventType.FIRST_PACKET_TIMESTAMP, {}, ts=1) is not None
    assert s.event_update(EventType.MEDIA_CONNECTION_INTERRUPTED, {}, ts=1) is not None

    subscription = {"msg_type": MsgType.EVENT_SUBSCRIPTION, "events": [{"event_type": 3, "subscribe": True}]}
    s.client_message(signaling, subscription, wall_ms=WALL)

    assert s.event_update(EventType.PARTICIPANT_JOIN, {"participants": []}, ts=7)["event"] == {
        "event_type": 3,
        "timestamp": 7,
        "participants": [],
    }
    assert s.record.unsubscribed == {"events": 1}


# ---- client requests -----------------------------------------------------------------------------


def test_stream_close_request_is_answered_then_ends_the_stream_with_reason_20():
    s = new_session()
    signaling, _ = join(s, "audio")

    reply = s.client_message(signaling, {"msg_type": MsgType.STREAM_CLOSE_REQ}, wall_ms=WALL)

    assert reply.send == [
        {
            "msg_type": MsgType.STREAM_CLOSE_RESP,
            "rtms_stream_id": "stream-1",
            "status_code": 0,
            "reason": "OK",
            "timestamp": WALL,
        }
    ]
    assert reply.terminate == StopReason.STOP_BC_RECEIVER_REQUEST_CLOSE


def test_session_state_request_names_the_state_of_a_known_session_only():
    s = new_session()
    signaling, _ = join(s, "audio")
    s.pause(True, 1.0, wall_ms=WALL)

    known = s.client_message(signaling, {"msg_type": 10, "rtms_session_id": "session-1"}, wall_ms=WALL)
    unknown = s.client_message(signaling, {"msg_type": 10, "rtms_session_id": "other"}, wall_ms=WALL)

    assert known.send[0]["state"] == SessionState.PAUSED
    assert unknown.send[0]["state"] == SessionState.INACTIVE
    assert known.terminate is None


def test_ready_ack_on_a_media_socket_and_unknown_requests_are_only_recorded():
    s = new_session()
    signaling, media = join(s, "audio")

    on_media = s.client_message(media, {"msg_type": MsgType.CLIENT_READY_ACK}, wall_ms=WALL)
    odd = s.client_message(signaling, {"msg_type": 99}, wall_ms=WALL)

    assert (on_media.ready_ack, on_media.send, odd.send) == (False, [], [])
    assert s.record.ready_acks[-1]["socket"] == "media:audio"
    assert s.record.client_requests[-1] | {"at": 0} == {
        "socket": "signaling",
        "msg_type": 99,
        "at": 0,
        "unexpected": True,
    }


# ---- keep-alives and fences ----------------------------------------------------------------------


def test_a_keepalive_answer_confirms_what_was_written_before_the_request_only():
    s = new_session()
    _, media = join(s, "audio")
    send_audio(s, 1)
    send_audio(s, 2)
    request = s.keepalives.request(media, wall_ms=WALL)
    send_audio(s, 3)  # after the fence: not confirmed by its answer

    assert answer(s, media, request)

    assert pending_audio(s) == ["audio-3"]
    assert s.record.keepalives[-1].answered_ok


def test_a_fence_on_a_new_socket_confirms_nothing_the_old_one_lost():
    s = new_session()
    signaling, old = join(s, "audio")
    send_audio(s, 1)
    send_audio(s, 2)
    s.connection_lost(old, wall_ms=WALL)
    new = media_link("audio")
    s.attach_media(new)
    s.ready_ack(signaling)

    request = s.keepalives.request(new, wall_ms=WALL)  # before its replay started
    answer(s, new, request)

    assert pending_audio(s) == ["audio-1", "audio-2"]
    assert request["sequence"] == 1


def test_an_answer_matches_by_timestamp_without_a_sequence_and_unknown_answers_are_recorded():
    s = new_session()
    signaling, _ = join(s, "audio")
    request = s.keepalives.request(signaling, wall_ms=WALL)

    unknown = s.client_message(signaling, {"msg_type": 13, "timestamp": WALL + 1}, wall_ms=WALL)
    by_timestamp = s.client_message(
        signaling, {"msg_type": 13, "timestamp": request["timestamp"]}, wall_ms=WALL
    )

    assert (unknown.answered, by_timestamp.answered) == (False, True)
    assert s.record.unexpected_keepalive_answers[0]["message"]["timestamp"] == WALL + 1
    assert signaling.ka_pending == {}


def test_three_missed_keepalives_drop_signaling_and_end_with_reason_24():
    s = new_session(keepalive_max_misses=3)
    signaling, _ = join(s, "audio")
    dues = []
    for _ in range(4):
        due = s.keepalives.due(signaling, now=100.0, signaling=True)
        dues.append(due)
        if due == "send":
            s.keepalives.request(signaling, wall_ms=WALL)

    lost = s.connection_lost(signaling, wall_ms=WALL)

    assert dues == ["send", "send", "send", "drop"]
    assert lost.windows == [Window("signaling", 60.0, StopReason.STOP_BC_KEEP_ALIVE_TIMEOUT)]
    assert [ka.missed for ka in s.record.keepalives] == [True, True, True]


def test_an_answer_resets_the_misses():
    s = new_session(keepalive_max_misses=2)
    _, media = join(s, "audio")
    request = s.keepalives.request(media, wall_ms=WALL)
    assert s.keepalives.due(media, now=0.0, signaling=False) == "send"  # one miss
    answer(s, media, request)

    s.keepalives.request(media, wall_ms=WALL)

    assert s.keepalives.due(media, now=0.0, signaling=False) == "send"
    assert media.misses == 1


def test_idle_only_keepalives_skip_while_data_flows():
    s = new_session(keepalive_idle_only=True, keepalive_interval=10.0)
    _, media = join(s, "audio")
    media.last_data = 95.0

    assert s.keepalives.due(media, now=100.0, signaling=False) == "skip"
    assert s.keepalives.due(media, now=105.0, signaling=False) == "send"


# ---- losses, rejoin, replay ----------------------------------------------------------------------


def test_a_media_loss_interrupts_the_stream_and_its_return_recovers_it():
    s = new_session()
    signaling, media = join(s, "audio")

    lost = s.connection_lost(media, wall_ms=WALL)

    assert [m["msg_type"] for m in lost.messages] == [MsgType.EVENT_UPDATE, MsgType.STREAM_STATE_UPDATE]
    assert lost.messages[0]["event"] == {
        "event_type": EventType.MEDIA_CONNECTION_INTERRUPTED,
        "timestamp": WALL,
    }
    assert (lost.messages[1]["state"], lost.messages[1]["reason"]) == (
        StreamState.INTERRUPTED,
        StopReason.STOP_BC_DATA_CONNECTION_INTERRUPTED,
    )
    assert lost.windows == [Window("media:audio", 65.0, StopReason.STOP_BC_AWAIT_RECONNECTION_TIMEOUT)]
    assert not lost.interrupted_webhook
    assert not s.ready()

    s.attach_media(media_link("audio"))
    ready = s.ready_ack(signaling)

    assert (ready.recovered, ready.rejoin, ready.cancel_windows) == (True, False, ["media:audio"])
    assert s.ready()


def test_a_signaling_loss_drops_media_posts_interrupted_and_waits_for_a_rejoin():
    s = new_session()
    signaling, media = join(s, "audio")

    lost = s.connection_lost(signaling, wall_ms=WALL)

    assert (lost.drop, lost.interrupted_webhook, lost.messages) == ([media], True, [])
    assert lost.windows == [Window("signaling", 60.0, StopReason.STOP_BC_AWAIT_RECONNECTION_TIMEOUT)]
    assert (s.signaling, s.media) == (None, {})


def test_with_signaling_loss_keeps_media_the_media_streams_on_alone():
    s = new_session(signaling_loss_keeps_media=True)
    signaling, media = join(s, "audio")
    s.start(WALL)

    lost = s.connection_lost(signaling, wall_ms=WALL)

    assert lost.drop == []
    assert s.media == {"audio": media}
    assert s.ready()


def test_a_signaling_loss_after_a_failover_is_no_interruption():
    s = new_session()
    signaling, _ = join(s, "audio")

    s.failover()
    lost = s.connection_lost(signaling, wall_ms=WALL)

    assert not lost.interrupted_webhook
    assert s.server_urls == "ws://rtms.test:7000/fo1/signaling/stream-1"
    assert lost.windows[0].key == "signaling"  # still waits for the client on the new URLs


def test_after_a_rejoin_the_unconfirmed_media_is_replayed_in_order():
    s = new_session()
    signaling, media = join(s, "audio")
    s.start(WALL)
    send_audio(s, 1)
    send_audio(s, 2)
    request = s.keepalives.request(media, wall_ms=WALL)
    send_audio(s, 3)
    answer(s, media, request)  # 1 and 2 confirmed
    s.connection_lost(signaling, wall_ms=WALL)
    send_audio_while_away = s.media_out("audio", "audio-4", 4)  # client away: kept for the replay

    rejoined, new_media = Link("signaling"), media_link("audio")
    s.attach_signaling(rejoined)
    s.attach_media(new_media)
    ready = s.ready_ack(rejoined)
    plan = s.replay.plan(new_media)
    for mtype, n, _ in plan:
        s.replay.replayed(new_media, mtype, n, True)

    assert send_audio_while_away == (None, 4)
    assert (ready.rejoin, ready.newly) == (True, [new_media])
    assert [message for _, _, message in plan] == ["audio-3", "audio-4"]
    assert s.record.replayed_messages == 2
    assert new_media.written == {"audio": 4}  # a fence on the new socket now confirms the replay


def test_buffered_audio_is_dropped_when_the_client_rejoins_with_another_data_opt():
    s = new_session()
    signaling, media = join(s, "audio", data_opt=2)
    s.replay.plan(media)  # the first socket set the audio data_opt
    send_audio(s, 1)
    s.connection_lost(media, wall_ms=WALL)
    mixed = media_link("audio", data_opt=1)
    s.attach_media(mixed)
    s.ready_ack(signaling)

    assert s.replay.plan(mixed) == []
    assert s.record.undelivered == {"audio": 1}


def test_without_a_replay_buffer_a_message_whose_socket_closed_is_lost():
    s = new_session(replay_buffer_seconds=0)
    join(s, "audio")
    link, n = s.media_out("audio", "audio-1", 1)

    assert s.replay.sent(link, "audio", n, False) is False
    assert s.replay.pending("audio") == []
    assert s.record.undelivered == {"audio": 1}


def test_the_replay_buffer_keeps_at_most_its_seconds_of_media():
    s = new_session(replay_buffer_seconds=1.0)  # 50 ticks
    join(s, "audio")
    for tick in range(0, 120, 10):
        send_audio(s, tick)

    assert pending_audio(s) == ["audio-60", "audio-70", "audio-80", "audio-90", "audio-100", "audio-110"]


def test_media_nobody_asked_for_is_counted_not_kept():
    s = new_session()
    join(s, "audio")

    assert s.media_out("chat", "chat-1", 1) == (None, 0)
    assert s.record.unsubscribed == {"chat": 1}


# ---- termination ---------------------------------------------------------------------------------


def test_termination_sends_stopped_and_terminated_with_the_reason_once():
    s = new_session()
    signaling, media = join(s, "audio")

    final = s.terminate(StopReason.STOP_BC_MEETING_ENDED, wall_ms=WALL)
    again = s.terminate(StopReason.STOP_BC_HOST_TRIGGERED, wall_ms=WALL)
    after = s.connection_lost(signaling, wall_ms=WALL)

    assert final == [
        {
            "msg_type": 9,
            "rtms_session_id": "session-1",
            "state": 5,
            "timestamp": WALL,
            "reason": 6,
            "stop_reason": 6,
        },
        {"msg_type": 8, "state": 4, "reason": 6, "timestamp": WALL},
    ]
    assert again is None
    assert s.record.stop_reason == StopReason.STOP_BC_MEETING_ENDED
    assert (after.windows, after.drop, after.interrupted_webhook) == ([], [], False)
    assert s.links() == [signaling, media]


def test_unconfirmed_media_of_a_type_without_a_socket_at_the_end_is_undelivered():
    s = new_session()
    _, media = join(s, "audio", "transcript")
    send_audio(s, 1)
    s.connection_lost(media, wall_ms=WALL)
    s.media_out("transcript", "transcript-1", 2)

    s.terminate(StopReason.STOP_BC_MEETING_ENDED, wall_ms=WALL)
    s.replay.count_undelivered(s.media)

    assert s.record.undelivered == {"audio": 1, "transcript": 1}


def test_unconfirmed_media_still_on_a_live_socket_at_the_end_is_not_counted_lost():
    s = new_session()
    join(s, "audio")
    send_audio(s, 1)

    s.terminate(StopReason.STOP_BC_MEETING_ENDED, wall_ms=WALL)
    s.replay.count_undelivered(s.media)

    assert s.record.undelivered == {}

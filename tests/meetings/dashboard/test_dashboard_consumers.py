"""WebSocket consumers: access (4403), fan-out, and the catch-up after a reconnect."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from meetings.models import ParticipantEvent, TranscriptSegment
from meetings.routing import websocket_urlpatterns
from meetings.services.chat import chat_message_record, chat_message_revise
from meetings.services.meetings import meeting_end, meeting_get_or_create
from meetings.services.participants import gap_close, participant_event_record
from meetings.services.transcript import transcript_segment_record, transcript_track_prune
from tests.factories import MeetingFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.backends]
TIMEOUT = 5


def as_user(user):
    """The router with ``user`` in the scope (what AuthMiddlewareStack provides)."""
    router = URLRouter(websocket_urlpatterns)

    async def app(scope, receive, send):
        return await router({**scope, "user": user}, receive, send)

    return app


async def open_socket(user, path):
    communicator = WebsocketCommunicator(as_user(user), path)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


def items(html: str) -> list[tuple[str, int]]:
    """(id, data-seq) of every transcript/chat/event item in a message."""
    return [
        (m.group(1), int(m.group(2)))
        for m in re.finditer(r'<(?:article|div) id="((?:segment|chat|event)-\d+)"[^>]*data-seq="(\d+)"', html)
    ]


async def receive_until_sync(communicator) -> tuple[list[str], int]:
    messages = []
    while True:
        message = await communicator.receive_from(timeout=TIMEOUT)
        messages.append(message)
        match = re.match(r"<!--sync:(\d+)-->", message)
        if match:
            return messages, int(match.group(1))


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def live_meeting(owner):
    return MeetingFactory(owner=owner)


def record_segment(meeting, key, text, start_ms, source=TranscriptSegment.Source.ZOOM, **kwargs):
    return transcript_segment_record(
        meeting=meeting,
        source=source,
        source_key=key,
        text=text,
        start_ms=start_ms,
        **kwargs,
    )[0]


arecord_segment = database_sync_to_async(record_segment)


async def test_anonymous_and_other_users_are_accepted_then_closed_with_4403(live_meeting):
    path = f"/ws/meetings/{live_meeting.public_id}/"
    stranger = await database_sync_to_async(UserFactory)()
    for user in (AnonymousUser(), stranger):
        communicator = await open_socket(user, path)
        assert await communicator.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
        await communicator.disconnect()
    communicator = await open_socket(AnonymousUser(), "/ws/meetings/")
    assert await communicator.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
    await communicator.disconnect()


async def test_a_segment_fans_out_to_every_allowed_watcher_rendered_once(owner, live_meeting):
    friend = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(live_meeting.shared_with.add)(friend)
    path = f"/ws/meetings/{live_meeting.public_id}/"
    watchers = [await open_socket(owner, path), await open_socket(friend, path)]

    segment = await arecord_segment(live_meeting, "s1", "Hello <everyone>", 1000, end_ms=2000)

    for communicator in watchers:
        message = await communicator.receive_from(timeout=TIMEOUT)
        assert message.startswith(f"<!--seq:{segment.seq}-->")
        assert '<div hx-swap-oob="beforeend:#transcript">' in message
        assert items(message) == [(f"segment-{segment.pk}", segment.seq)]
        assert "Hello &lt;everyone&gt;" in message
        assert 'id="talk-time"' not in message  # the segment does not wait for the bars
        bars = await communicator.receive_from(timeout=TIMEOUT)  # a final segment: then its bars
        assert bars.startswith('<section id="talk-time" ')
        assert 'hx-swap-oob="true"' in bars
        assert "1 s · 100%" in bars  # the segment's one second of speech
        assert await communicator.receive_nothing(timeout=0.1)
        await communicator.disconnect()


async def test_events_update_participants_and_health_panels(owner, live_meeting):
    communicator = await open_socket(owner, f"/ws/meetings/{live_meeting.public_id}/")

    def interrupt():
        now = timezone.now()
        return participant_event_record(
            meeting=live_meeting,
            kind=ParticipantEvent.Kind.INTERRUPTION,
            source_key="gap-1",
            occurred_at=now,
            reason="media connection interrupted",
        )[0]

    event = await database_sync_to_async(interrupt)()
    message = await communicator.receive_from(timeout=TIMEOUT)
    assert message.startswith(f"<!--seq:{event.seq}-->")
    assert items(message) == [(f"event-{event.pk}", event.seq)]
    assert 'id="stream-health" class="health health-interrupted"' in message
    assert "media connection interrupted" in message

    await database_sync_to_async(gap_close)(
        meeting=live_meeting, source_key="gap-1", ended_at=timezone.now() + dt.timedelta(seconds=3)
    )
    message = await communicator.receive_from(timeout=TIMEOUT)
    assert 'class="health health-connected"' in message
    assert "gap of " in message
    await communicator.disconnect()


async def test_reconnect_catches_up_from_the_last_seq_without_gap_or_duplicate(owner, live_meeting):
    path = f"/ws/meetings/{live_meeting.public_id}/"
    first = await arecord_segment(live_meeting, "s1", "one", 1000)
    page_seq = first.seq  # what the page rendered

    # given: a tab that connects after two more changes and asks to resume from its page
    second = await arecord_segment(live_meeting, "s2", "two", 2000)
    third = await arecord_segment(live_meeting, "s3", "three", 3000)
    communicator = await open_socket(owner, path)
    await communicator.send_to(text_data=json.dumps({"resume_after_seq": page_seq, "HEADERS": {}}))
    messages, synced = await receive_until_sync(communicator)
    seen = [item for message in messages for item in items(message)]
    assert seen == [(f"segment-{second.pk}", second.seq), (f"segment-{third.pk}", third.seq)]
    assert synced == third.seq
    assert 'id="participants"' in messages[-1]
    assert 'id="meeting-status"' in messages[-1]

    # when: the socket drops, things happen (a new segment, a chat line, a revision), it comes back
    await communicator.disconnect()
    fourth = await arecord_segment(live_meeting, "s4", "four", 4000)
    chat = (
        await database_sync_to_async(chat_message_record)(
            meeting=live_meeting, source_key="c1", text="hi all", sent_at=timezone.now(), sender_name="Ada"
        )
    )[0]
    revised = await arecord_segment(live_meeting, "s2", "two, revised", 2000)
    communicator = await open_socket(owner, path)
    await communicator.send_to(text_data=json.dumps({"resume_after_seq": synced}))
    messages, synced_again = await receive_until_sync(communicator)

    # then: exactly the missed changes, in seq order, each once; then live pushes continue
    seen = [item for message in messages for item in items(message)]
    assert seen == [
        (f"segment-{fourth.pk}", fourth.seq),
        (f"chat-{chat.pk}", chat.seq),
        (f"segment-{revised.pk}", revised.seq),
    ]
    assert synced_again == revised.seq
    assert "two, revised" in "".join(messages)
    fifth = await arecord_segment(live_meeting, "s5", "five", 5000)
    live = await communicator.receive_from(timeout=TIMEOUT)
    assert items(live) == [(f"segment-{fifth.pk}", fifth.seq)]
    assert fifth.seq == synced_again + 1
    assert 'id="talk-time"' in await communicator.receive_from(timeout=TIMEOUT)
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()


async def test_bad_client_messages_are_ignored(owner, live_meeting):
    communicator = await open_socket(owner, f"/ws/meetings/{live_meeting.public_id}/")
    for text in (
        "not json",
        json.dumps([1]),
        json.dumps({"resume_after_seq": -1}),
        json.dumps({"resume_after_seq": "1"}),
        "x" * 5000,
    ):
        await communicator.send_to(text_data=text)
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.send_to(text_data=json.dumps({"resume_after_seq": 0}))
    assert (await communicator.receive_from(timeout=TIMEOUT)).startswith("<!--sync:0-->")
    await communicator.send_to(text_data=json.dumps({"resume_after_seq": 0}))  # once per connection
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_list_rows_reach_owner_and_staff_but_not_strangers(owner, live_meeting, monkeypatch):
    # The final summary (enqueued by meeting_end) is another module's business.
    monkeypatch.setattr("meetings.services.summaries.summary_request", lambda **kwargs: None)
    staff = await database_sync_to_async(UserFactory)(is_staff=True)
    stranger = await database_sync_to_async(UserFactory)()
    lists = {
        name: await open_socket(user, "/ws/meetings/")
        for name, user in [("owner", owner), ("staff", staff), ("stranger", stranger)]
    }

    await database_sync_to_async(meeting_end)(meeting=live_meeting)

    for name in ("owner", "staff"):
        message = await lists[name].receive_from(timeout=TIMEOUT)
        assert '<div hx-swap-oob="afterbegin:#meeting-rows">' in message
        assert f'id="meeting-{live_meeting.pk}" class="meeting-row status-ended"' in message
    assert await lists["stranger"].receive_nothing(timeout=0.2)
    for communicator in lists.values():
        await communicator.disconnect()


async def test_a_new_meeting_appears_on_its_owners_list(owner):
    from meetings.models import ZoomIdentity

    await database_sync_to_async(ZoomIdentity.objects.create)(user=owner, zoom_user_id="host-1")
    communicator = await open_socket(owner, "/ws/meetings/")

    meeting, created = await database_sync_to_async(meeting_get_or_create)(
        product="meeting", zoom_uuid="abc/def==", topic="Fresh meeting", host_user_id="host-1"
    )

    assert created
    message = await communicator.receive_from(timeout=TIMEOUT)
    assert f'id="meeting-{meeting.pk}"' in message
    assert "Fresh meeting" in message
    await communicator.disconnect()


async def test_a_long_catch_up_arrives_complete_in_batches(owner, live_meeting, monkeypatch):
    monkeypatch.setattr("meetings.selectors.changes.CATCH_UP_LIMIT", 3)
    segments = [await arecord_segment(live_meeting, f"s{i}", f"line {i}", i * 1000) for i in range(8)]
    communicator = await open_socket(owner, f"/ws/meetings/{live_meeting.public_id}/")

    await communicator.send_to(text_data=json.dumps({"resume_after_seq": 0}))
    messages, synced = await receive_until_sync(communicator)

    seen = [item for message in messages for item in items(message)]
    assert seen == [(f"segment-{s.pk}", s.seq) for s in segments]
    assert synced == segments[-1].seq
    await communicator.disconnect()


async def test_tabs_of_one_meeting_share_one_group_member_and_skip_the_orm_thread(
    owner, live_meeting, monkeypatch
):
    """Every tab of a meeting in one process is fed by one group member (the hub); no tab's
    fragment goes through Channels' per-message close_old_connections hop."""
    import channels.consumer
    from channels.layers import InMemoryChannelLayer, get_channel_layer

    from meetings.live import meeting_group_name

    hops = []

    async def counting_hop():
        hops.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counting_hop)
    layer = get_channel_layer()
    group = meeting_group_name(live_meeting.pk)
    path = f"/ws/meetings/{live_meeting.public_id}/"
    tabs = [await open_socket(owner, path) for _ in range(3)]
    in_memory = isinstance(layer, InMemoryChannelLayer)  # its members are visible
    if in_memory:
        assert len(layer.groups.get(group, {})) == 1

    segment = await arecord_segment(live_meeting, "hub-1", "One render, three tabs", 0)
    for tab in tabs:
        message = await tab.receive_from(timeout=TIMEOUT)
        assert items(message) == [(f"segment-{segment.pk}", segment.seq)]
        assert 'id="talk-time"' in await tab.receive_from(timeout=TIMEOUT)
    assert hops == []

    await tabs[0].disconnect()  # the others still receive
    segment2 = await arecord_segment(live_meeting, "hub-2", "Two tabs left", 1000)
    for tab in tabs[1:]:
        message = await tab.receive_from(timeout=TIMEOUT)
        assert items(message) == [(f"segment-{segment2.pk}", segment2.seq)]
        assert 'id="talk-time"' in await tab.receive_from(timeout=TIMEOUT)
        await tab.disconnect()
    if in_memory:  # the last tab gone: the hub left the group
        assert not layer.groups.get(group)


async def test_the_first_tab_waits_until_its_hub_is_subscribed(owner, live_meeting, monkeypatch):
    """The hub's probe comes back through the layer before the first tab's catch-up is read, so
    a change committed after the catch-up is published to a subscribed hub (Redis pub/sub
    answers SUBSCRIBE asynchronously); a layer that cannot answer delays a tab by at most
    CONFIRM_SECONDS and the tab still connects."""
    from channels.layers import get_channel_layer

    from meetings.consumers import MeetingHub
    from meetings.live import meeting_group_name

    path = f"/ws/meetings/{live_meeting.public_id}/"
    tab = await open_socket(owner, path)
    (hub,) = [h for (_, g), h in MeetingHub._hubs.items() if g == meeting_group_name(live_meeting.pk)]
    assert hub._confirmed.is_set()
    await tab.disconnect()

    layer = get_channel_layer()
    sent = []

    async def lost_send(group, message):
        sent.append(message["type"])  # never delivered: as if Redis dropped the PUBLISH

    monkeypatch.setattr(layer, "group_send", lost_send)
    monkeypatch.setattr(MeetingHub, "CONFIRM_SECONDS", 0.2)
    tab = await open_socket(owner, path)
    assert sent == [MeetingHub.PROBE_EVENT]
    (hub,) = [h for (_, g), h in MeetingHub._hubs.items() if g == meeting_group_name(live_meeting.pk)]
    assert not hub._confirmed.is_set()
    await tab.disconnect()


async def test_pruned_segments_are_removed_from_watching_pages(owner, live_meeting):
    """A Whisper partial whose final window was empty (or a replaced Whisper track) is deleted;
    every watching page gets an htmx delete for it, and only for it."""
    communicator = await open_socket(owner, f"/ws/meetings/{live_meeting.public_id}/")
    partial = await arecord_segment(
        live_meeting, "w:1:120", "It's...", 1000, source=TranscriptSegment.Source.WHISPER, is_final=False
    )
    kept = await arecord_segment(
        live_meeting, "w:1:1200", "Kept", 3000, source=TranscriptSegment.Source.WHISPER, is_final=False
    )
    for _ in range(2):
        await communicator.receive_from(timeout=TIMEOUT)

    deleted = await database_sync_to_async(transcript_track_prune)(
        meeting=live_meeting,
        source=TranscriptSegment.Source.WHISPER,
        key_prefixes=("w:1:120",),
        keep_source_keys={"w:1:1200"},
    )
    assert deleted == 1
    message = await communicator.receive_from(timeout=TIMEOUT)
    assert message == f'<article id="segment-{partial.pk}" hx-swap-oob="delete"></article>\n'
    assert f"segment-{kept.pk}" not in message
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()


async def test_an_edited_or_deleted_chat_message_replaces_the_pages_copy(owner, live_meeting):
    communicator = await open_socket(owner, f"/ws/meetings/{live_meeting.public_id}/")

    def record(**kwargs):
        return chat_message_record(
            meeting=live_meeting, source_key="zoom:m1", text="Budget is 10k", sent_at=timezone.now(), **kwargs
        )[0]

    message = await database_sync_to_async(record)()
    assert items(await communicator.receive_from(timeout=TIMEOUT)) == [(f"chat-{message.pk}", message.seq)]

    revise = database_sync_to_async(chat_message_revise)
    edited = await revise(meeting=live_meeting, source_key="zoom:m1", text="Budget is 12k")
    pushed = await communicator.receive_from(timeout=TIMEOUT)
    assert items(pushed) == [(f"chat-{message.pk}", edited.seq)]
    assert "Budget is 12k" in pushed

    deleted = await revise(meeting=live_meeting, source_key="zoom:m1", deleted=True)
    pushed = await communicator.receive_from(timeout=TIMEOUT)
    assert items(pushed) == [(f"chat-{message.pk}", deleted.seq)]
    assert "(deleted)" in pushed
    assert "Budget" not in pushed
    assert await revise(meeting=live_meeting, source_key="zoom:unknown", text="x") is None
    assert await communicator.receive_nothing(timeout=0.1)
    await communicator.disconnect()

"""WebSocket consumers: browsers receive server-rendered HTML for htmx-ext-ws.

* ``MeetingConsumer`` (``/ws/meetings/<public_id>/``): one tab watching one meeting, in group
  ``meeting.<pk>``. Each live fragment is forwarded as sent, prefixed with ``<!--seq:N-->`` when
  it carries a change number. The browser sends ``{"resume_after_seq": N}`` when the socket
  opens (first connect and every reconnect; one catch-up per connection); the consumer answers
  with everything after N in seq order (``fragments.render_changes_after``, in batches until
  complete) followed by ``<!--sync:S-->`` + the current panels:
  the page then holds every change up to S, and live fragments continue. The group is joined
  *before* the catch-up is read, so a change committed meanwhile arrives live (at worst twice;
  the page drops a copy whose ``data-seq`` it already has).
* ``MeetingListConsumer`` (``/ws/meetings/``): the meetings list, in group ``user.<pk>`` (and
  ``meetings.staff`` for staff); receives rows from ``fragments.push_meeting_row``.

Access goes through ``meetings.selectors``. A refused user is accepted, then closed with 4403
(htmx-ext-ws reconnects only on 1006/1011/1012/1013, so a refusal does not loop).

Both consumers skip Channels' per-message ``close_old_connections`` hop (:class:`NoDbDispatch`):
a live fragment is forwarded without touching the database, and that hop would queue every
viewer's copy of every fragment on the process's one thread-sensitive ORM thread.

Fan-out (:class:`MeetingHub`): the tabs watching one meeting in one server process share one
member of the meeting's group. The hub receives each fragment once from the channel layer and
hands it to every local tab in turn (in order, on the server's loop), instead of the layer
queueing a copy per tab and Channels waking one task per tab; the bytes reach the sockets in
the same loop iteration.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from meetings import fragments
from meetings.live import (
    ACCESS_CHANGED_EVENT,
    FRAGMENT_EVENT,
    STAFF_GROUP,
    meeting_group_name,
    user_group_name,
)
from meetings.selectors.access import meeting_get_for_user

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
MAX_CLIENT_MESSAGE_BYTES = 4096


def seq_comment(seq: int) -> str:
    return f"<!--seq:{int(seq)}-->"


def sync_comment(seq: int) -> str:
    return f"<!--sync:{int(seq)}-->"


class NoDbDispatch:
    """Dispatch without Channels' ``aclose_old_connections()`` before each handler.

    Channels 4.2+ runs ``close_old_connections`` through ``sync_to_async`` (the thread-sensitive
    thread, shared with all ORM work of the process) before *every* handler call, so one live
    fragment to 100 viewers costs 100 thread hops queued behind ingest writes. These consumers
    touch the database only through ``database_sync_to_async``, which closes stale connections
    itself before and after each call, so the extra hop protects nothing here.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class MeetingHub:
    """This process's one member of a meeting group, forwarding to the local tabs.

    Per event loop and group (:meth:`join` / :meth:`leave`). The first tab subscribes a channel
    of its own to the group, the last one unsubscribes it. A tab that fails to take a fragment
    (closing) is logged and skipped; the others still get it.

    The subscription is confirmed before the first tab goes on to its catch-up read: the hub
    sends a probe to its own group and waits until the probe comes back through the layer
    (Redis pub/sub's ``group_add`` returns once SUBSCRIBE is *written*, not when Redis has
    processed it). A change committed after the catch-up read is therefore published to a
    subscribed hub. Without an answer within ``CONFIRM_SECONDS`` (Redis unreachable) the tab
    goes on; it catches up again on its next reconnect.
    """

    RECEIVE_RETRY_SECONDS = 1.0
    CONFIRM_SECONDS = 2.0
    PROBE_EVENT = "meeting.hub_probe"
    _hubs: dict[tuple[asyncio.AbstractEventLoop, str], MeetingHub] = {}

    def __init__(self, layer, group: str) -> None:
        self.layer = layer
        self.group = group
        self.members: set[MeetingConsumer] = set()
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self._started = asyncio.Lock()
        self._probe_token = uuid.uuid4().hex
        self._confirmed = asyncio.Event()

    @classmethod
    async def join(cls, group: str, consumer: MeetingConsumer) -> None:
        key = (asyncio.get_running_loop(), group)
        hub = cls._hubs.get(key)
        if hub is None:
            hub = cls._hubs[key] = cls(consumer.channel_layer, group)
        hub.members.add(consumer)
        await hub._start()

    @classmethod
    async def leave(cls, group: str, consumer: MeetingConsumer) -> None:
        key = (asyncio.get_running_loop(), group)
        hub = cls._hubs.get(key)
        if hub is None:
            return
        hub.members.discard(consumer)
        if not hub.members:
            del cls._hubs[key]
            await hub._stop()

    async def _start(self) -> None:
        async with self._started:
            if self.channel is not None:
                return
            channel = await self.layer.new_channel("meeting-hub.")
            await self.layer.group_add(self.group, channel)
            self.channel = channel
            self.task = asyncio.create_task(self._forward(), name=f"hub-{self.group}")
            await self._confirm()

    async def _confirm(self) -> None:
        probe = {"type": self.PROBE_EVENT, "token": self._probe_token}
        try:
            await self.layer.group_send(self.group, probe)
            await asyncio.wait_for(self._confirmed.wait(), self.CONFIRM_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception:  # timeout or Redis unreachable: the tab catches up on reconnect
            logger.warning("group %s: subscription not confirmed", self.group, exc_info=True)

    async def _stop(self) -> None:
        async with self._started:
            if self.task is not None:
                self.task.cancel()
                await asyncio.gather(self.task, return_exceptions=True)
            if self.channel is not None:
                await self.layer.group_discard(self.group, self.channel)

    async def _forward(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer's backend is unreachable: try again
                logger.warning("group %s: channel layer receive failed", self.group, exc_info=True)
                await asyncio.sleep(self.RECEIVE_RETRY_SECONDS)
                continue
            if message.get("type") == ACCESS_CHANGED_EVENT:  # sharing revoked (issue 20)
                await self._recheck_access(message.get("user_id"))
                continue
            if message.get("type") != FRAGMENT_EVENT:
                if message.get("token") == self._probe_token:
                    self._confirmed.set()
                continue
            for consumer in list(self.members):
                try:
                    await consumer.meeting_fragment(message)
                except Exception:
                    logger.info("group %s: a tab did not take a fragment", self.group, exc_info=True)

    async def _recheck_access(self, user_id) -> None:
        """Close (4403) the local tabs of ``user_id`` that may no longer see the meeting."""
        tabs = [c for c in list(self.members) if getattr(c.scope.get("user"), "pk", None) == user_id]
        for consumer in tabs:
            try:
                if not await consumer.still_allowed():
                    await consumer.close(code=CLOSE_FORBIDDEN)
            except Exception:
                logger.warning("group %s: access re-check failed", self.group, exc_info=True)


class MeetingConsumer(NoDbDispatch, AsyncWebsocketConsumer):
    """One browser tab watching one meeting."""

    group_name: str | None = None
    meeting_id: int | None = None
    resumed = False

    async def connect(self) -> None:
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        meeting = await database_sync_to_async(meeting_get_for_user)(
            user=self.scope["user"], public_id=public_id
        )
        if meeting is None:
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.meeting_id = meeting.pk
        self.group_name = meeting_group_name(meeting.pk)
        # Joined before the socket opens: a browser that sees it open gets every later fragment.
        await MeetingHub.join(self.group_name, self)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group_name:
            await MeetingHub.leave(self.group_name, self)

    async def still_allowed(self) -> bool:
        """Whether this tab's user may still see its meeting (after a sharing change)."""
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        meeting = await database_sync_to_async(meeting_get_for_user)(
            user=self.scope["user"], public_id=public_id
        )
        return meeting is not None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Browser → server: only ``{"resume_after_seq": int}`` (htmx's ``HEADERS`` is ignored)."""
        if self.meeting_id is None or text_data is None or len(text_data) > MAX_CLIENT_MESSAGE_BYTES:
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            logger.info("meeting %s: ignored a non-JSON WebSocket message", self.meeting_id)
            return
        after_seq = content.get("resume_after_seq") if isinstance(content, dict) else None
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
            return
        if self.resumed:  # one catch-up per connection (the page sends one per socket open)
            return
        self.resumed = True
        through_seq, complete = after_seq, False
        while not complete:
            messages, through_seq, complete = await database_sync_to_async(fragments.render_changes_after)(
                meeting_id=self.meeting_id, after_seq=through_seq
            )
            for html in messages:
                await self.send(text_data=html)
        panels = await database_sync_to_async(fragments.render_meeting_panels)(meeting_id=self.meeting_id)
        await self.send(text_data=sync_comment(through_seq) + panels)

    async def meeting_fragment(self, event: dict[str, Any]) -> None:
        seq = event.get("seq") or 0
        await self.send(text_data=(seq_comment(seq) if seq else "") + event["html"])


class MeetingListConsumer(NoDbDispatch, AsyncWebsocketConsumer):
    """One browser tab on the meetings list: rows of the meetings this user may see."""

    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        groups = [STAFF_GROUP] if (user.is_staff or user.is_superuser) else [user_group_name(user.pk)]
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def meeting_fragment(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])

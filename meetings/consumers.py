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
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from meetings import fragments, selectors
from meetings.live import STAFF_GROUP, meeting_group_name, user_group_name

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
MAX_CLIENT_MESSAGE_BYTES = 4096


def seq_comment(seq: int) -> str:
    return f"<!--seq:{int(seq)}-->"


def sync_comment(seq: int) -> str:
    return f"<!--sync:{int(seq)}-->"


class MeetingConsumer(AsyncWebsocketConsumer):
    """One browser tab watching one meeting."""

    group_name: str | None = None
    meeting_id: int | None = None
    resumed = False

    async def connect(self) -> None:
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        meeting = await database_sync_to_async(selectors.meeting_get_for_user)(
            user=self.scope["user"], public_id=public_id
        )
        await self.accept()
        if meeting is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.meeting_id = meeting.pk
        self.group_name = meeting_group_name(meeting.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

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


class MeetingListConsumer(AsyncWebsocketConsumer):
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

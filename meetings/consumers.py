"""WebSocket consumers: browsers watching a meeting receive server-rendered HTML for htmx-ext-ws."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from meetings import selectors
from meetings.live import meeting_group_name

CLOSE_FORBIDDEN = 4403


class MeetingConsumer(AsyncWebsocketConsumer):
    """One browser tab watching one meeting. Denied users are accepted, then closed with 4403
    (htmx-ext-ws reconnects only on 1006/1012/1013, so a refusal does not loop)."""

    group_name: str | None = None

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

    async def meeting_fragment(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])

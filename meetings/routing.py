from __future__ import annotations

from django.urls import path

from meetings import consumers

websocket_urlpatterns = [
    path("ws/meetings/", consumers.MeetingListConsumer.as_asgi()),
    path("ws/meetings/<uuid:public_id>/", consumers.MeetingConsumer.as_asgi()),
]

from __future__ import annotations

from django.urls import path

from streams import webhooks

app_name = "streams"

urlpatterns = [
    path("webhooks/zoom/", webhooks.zoom_webhook, name="zoom-webhook"),
]

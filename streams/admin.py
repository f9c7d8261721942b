from __future__ import annotations

from django.contrib import admin

from streams.models import Stream, WebhookEvent


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = (
        "rtms_stream_id",
        "meeting",
        "state",
        "stop_reason",
        "lease_owner",
        "lease_expires_at",
        "reconnect_count",
        "retry_attempt",
        "retry_error",
        "retry_next_at",
        "audio_frames",
        "audio_frames_dropped",
        "last_frame_at",
    )
    list_filter = ("state", "has_zoom_transcript")
    search_fields = ("rtms_stream_id", "meeting__zoom_uuid", "meeting__topic", "lease_owner")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting",)
    readonly_fields = [f.name for f in Stream._meta.fields if f.name != "id"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("event", "rtms_stream_id", "event_ts", "received_at", "applied_at", "outcome")
    list_filter = ("event", "outcome")
    search_fields = ("rtms_stream_id", "body_sha256")
    readonly_fields = (
        "event",
        "event_ts",
        "rtms_stream_id",
        "body_sha256",
        "payload",
        "received_at",
        "applied_at",
        "outcome",
    )

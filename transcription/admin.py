from __future__ import annotations

from django.contrib import admin, messages

from meetings.admin import MeetingAdmin
from transcription.models import AudioWindow, Retranscription
from transcription.tasks import recording_retranscribe


@admin.register(AudioWindow)
class AudioWindowAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "recording",
        "participant",
        "start_ms",
        "end_ms",
        "is_final",
        "is_tentative",
        "status",
        "attempts",
        "engine",
        "queued_at",
        "done_at",
    )
    list_filter = ("status", "is_final", "engine")
    search_fields = ("source_key", "recording__path", "participant__display_name")
    list_select_related = ("recording", "participant")
    raw_id_fields = ("stream", "recording", "participant")
    readonly_fields = [f.name for f in AudioWindow._meta.fields if f.name != "id"]


@admin.register(Retranscription)
class RetranscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "meeting",
        "status",
        "audio_ms",
        "done_ms",
        "started_at",
        "updated_at",
        "finished_at",
    )
    list_filter = ("status",)
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting",)
    readonly_fields = [f.name for f in Retranscription._meta.fields if f.name != "id"]


@admin.action(description="Re-transcribe with Whisper (a Whisper track beside Zoom's)")
def retranscribe_with_whisper(modeladmin, request, queryset):
    """Enqueue ``transcription.tasks.recording_retranscribe`` per selected meeting (on commit)."""
    count = 0
    for meeting_id in queryset.values_list("pk", flat=True):
        recording_retranscribe.delay_on_commit(meeting_id)
        count += 1
    modeladmin.message_user(
        request, f"Whisper re-transcription queued for {count} meeting(s).", messages.SUCCESS
    )


# meetings/admin.py must not import transcription (dependency rule), so the action is attached here.
MeetingAdmin.actions = (*(MeetingAdmin.actions or ()), retranscribe_with_whisper)
